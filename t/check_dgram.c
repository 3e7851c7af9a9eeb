/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_dgram.c - evl_dgram on every engine: reactor (0), the fake
 * proactor (1) and io_uring (2, when the kernel allows it). */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "evloop.h"
#include "evl-test.h"

static int end_engine = 3;

static evl_loop *new_loop(int engine)
{
    evl_loop *loop = NULL;
    int rc = engine == 0 ? evl_loop_new(&loop, EVL_REACTOR, 0)
           : engine == 1 ? evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_FAKE)
                         : evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_URING);
    ck_assert_int_eq(rc, 0);
    return loop;
}

/* A UDP socket bound to the loopback of family, port 0 (blocking). */
static int udp_bound(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *len = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)ss, *len) < 0 ||
        getsockname(fd, (struct sockaddr *)ss, len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* What the callbacks saw. */
struct seen {
    int count;
    char data[256][128];
    size_t len[256], full_len[256];
    unsigned flags[256];
    struct sockaddr_storage peer[256];
    uint32_t peer_len[256];
    int errors[16];
    int nerrors;
    int high, low, drain, closed;
    int stop_at;              /* on_recv: read_stop at this count */
    int close_at;             /* on_recv: close at this count */
    int free_at;              /* on_recv: free at this count */
};

static void on_recv(evl_dgram *d, const struct evl_dgram_msg *m)
{
    struct seen *s = d->data;
    int i = s->count++;
    if (i < 256) {
        size_t n = m->len < sizeof(s->data[i]) ? m->len : sizeof(s->data[i]);
        memcpy(s->data[i], m->data, n);
        s->len[i] = m->len;
        s->full_len[i] = m->full_len;
        s->flags[i] = m->flags;
        s->peer_len[i] = m->peer_len;
        if (m->peer != NULL)
            memcpy(&s->peer[i], m->peer, m->peer_len);
    }
    if (s->count == s->stop_at)
        ck_assert_rc(evl_dgram_read_stop(d));
    if (s->count == s->close_at)
        ck_assert_rc(evl_dgram_close(d));
    if (s->count == s->free_at)
        evl_dgram_free(d);
}

static void on_error(evl_dgram *d, int err)
{
    struct seen *s = d->data;
    if (s->nerrors < 16)
        s->errors[s->nerrors++] = err;
}

static void on_high(evl_dgram *d) { ((struct seen *)d->data)->high++; }
static void on_low(evl_dgram *d) { ((struct seen *)d->data)->low++; }
static void on_drain(evl_dgram *d) { ((struct seen *)d->data)->drain++; }
static void on_close(evl_dgram *d) { ((struct seen *)d->data)->closed++; }

static const struct evl_dgram_callbacks cbs = {
    .on_recv = on_recv, .on_error = on_error, .on_high_water = on_high,
    .on_low_water = on_low, .on_drain = on_drain, .on_close = on_close,
};

static void run_until(evl_loop *loop, int *counter, int want)
{
    for (int i = 0; i < 1000 && *counter < want; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 100000000), 0);
}

/* Echo over one family: datagrams in, the sender's address out, and a
 * reply with send_to that the sender receives. */
static void echo_family(int engine, int family)
{
    struct sockaddr_storage a_addr, b_addr;
    socklen_t a_len, b_len;
    int a = udp_bound(family, &a_addr, &a_len);
    if (a < 0 && family == AF_INET6)
        return;   /* no ::1 on this host */
    ck_assert_int_ge(a, 0);
    int b = udp_bound(family, &b_addr, &b_len);
    ck_assert_int_ge(b, 0);

    evl_loop *loop = new_loop(engine);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, a, 0, &cbs));
    ck_assert_int_eq(sendto(b, "hello", 5, 0, (struct sockaddr *)&a_addr, a_len), 5);
    ck_assert_int_eq(sendto(b, "", 0, 0, (struct sockaddr *)&a_addr, a_len), 0);
    run_until(loop, &s.count, 2);
    ck_assert_int_eq(s.count, 2);
    ck_assert_uint_eq(s.len[0], 5);
    ck_assert(memcmp(s.data[0], "hello", 5) == 0);
    ck_assert_uint_eq(s.flags[0], 0);
    ck_assert_uint_eq(s.len[1], 0);   /* an empty datagram is a datagram */
    ck_assert_uint_eq(s.peer_len[0], b_len);
    ck_assert(memcmp(&s.peer[0], &b_addr, b_len) == 0);

    ck_assert_rc(evl_dgram_send_to(&d, "back", 4, (struct sockaddr *)&s.peer[0],
                                   s.peer_len[0]));
    char buf[16];
    ck_assert_int_eq(recv(b, buf, sizeof(buf), 0), 4);
    ck_assert(memcmp(buf, "back", 4) == 0);
    ck_assert_int_eq(evl_dgram_fd(&d), a);

    ck_assert_rc(evl_dgram_close(&d));
    ck_assert_int_eq(s.closed, 1);
    ck_assert(fd_is_closed(a));
    evl_dgram_free(&d);
    close(b);
    evl_loop_free(loop);
}

START_TEST(test_dgram_udp4_delivers_datagrams_with_sender_and_replies)
{
    echo_family(_i, AF_INET);
}
END_TEST

START_TEST(test_dgram_udp6_delivers_datagrams_with_sender_and_replies)
{
    echo_family(_i, AF_INET6);
}
END_TEST

START_TEST(test_dgram_unix_socketpair_send_without_address)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], EVL_DGRAM_NOCLOSE, &cbs));
    ck_assert_int_eq(send(sv[1], "abc", 3, 0), 3);
    run_until(loop, &s.count, 1);
    ck_assert_int_eq(s.count, 1);
    ck_assert_uint_eq(s.len[0], 3);
    ck_assert_uint_eq(s.peer_len[0], 0);   /* an unnamed peer */
    ck_assert_rc(evl_dgram_send(&d, "xyz", 3));
    char buf[8];
    ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 3);
    ck_assert_rc(evl_dgram_close(&d));
    ck_assert(!fd_is_closed(sv[0]));       /* NOCLOSE */
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_many_datagrams_arrive_in_order_across_batches)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    set_nonblock(sv[1]);
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_dgram_set_batch(&d, 8, 64));
    int sent = 0;
    /* What the receive queue holds (net.unix.max_dgram_qlen may be small). */
    for (; sent < 200; sent++) {
        char msg[16];
        int n = snprintf(msg, sizeof(msg), "%d", sent);
        if (send(sv[1], msg, (size_t)n, 0) < 0)
            break;
    }
    ck_assert_int_ge(sent, 9);   /* more than one batch */
    run_until(loop, &s.count, sent);
    ck_assert_int_eq(s.count, sent);
    for (int i = 0; i < sent; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof(msg), "%d", i);
        ck_assert_uint_eq(s.len[i], (size_t)n);
        ck_assert(memcmp(s.data[i], msg, (size_t)n) == 0);
    }
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_datagram_larger_than_buffer_is_flagged_truncated)
{
    struct sockaddr_storage a_addr, b_addr;
    socklen_t a_len, b_len;
    int a = udp_bound(AF_INET, &a_addr, &a_len);
    int b = udp_bound(AF_INET, &b_addr, &b_len);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, a, 0, &cbs));
    ck_assert_rc(evl_dgram_set_batch(&d, 4, 16));
    char big[100];
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(sendto(b, big, sizeof(big), 0, (struct sockaddr *)&a_addr, a_len), 100);
    ck_assert_int_eq(sendto(b, "small", 5, 0, (struct sockaddr *)&a_addr, a_len), 5);
    run_until(loop, &s.count, 2);
    ck_assert_int_eq(s.count, 2);
    ck_assert_uint_eq(s.flags[0], EVL_DGRAM_TRUNC);
    ck_assert_uint_eq(s.len[0], 16);
    ck_assert_uint_eq(s.full_len[0], 100);
    ck_assert_uint_eq(s.flags[1], 0);
    ck_assert_uint_eq(s.len[1], 5);
    ck_assert_uint_eq(s.full_len[1], 5);
    evl_dgram_free(&d);
    close(a);
    close(b);
    evl_loop_free(loop);
}
END_TEST

/* A connected socket to a port nobody listens on: the ICMP port
 * unreachable comes back as ECONNREFUSED through on_error, and the
 * socket stays usable (or closes, when asked). */
static void refused(int engine, unsigned flags)
{
    struct sockaddr_storage gone_addr, a_addr;
    socklen_t gone_len, a_len;
    int gone = udp_bound(AF_INET, &gone_addr, &gone_len);
    ck_assert_int_ge(gone, 0);
    close(gone);   /* the port is now closed */
    int a = udp_bound(AF_INET, &a_addr, &a_len);
    ck_assert_int_ge(a, 0);
    ck_assert_rc(connect(a, (struct sockaddr *)&gone_addr, gone_len));
    evl_loop *loop = new_loop(engine);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, a, flags, &cbs));
    ck_assert_rc(evl_dgram_send(&d, "ping", 4));
    run_until(loop, &s.nerrors, 1);
    ck_assert_int_eq(s.nerrors, 1);
    ck_assert_int_eq(s.errors[0], -ECONNREFUSED);
    if (flags & EVL_DGRAM_CLOSE_ON_ERROR) {
        ck_assert(evl_dgram_is_closed(&d));
        ck_assert_int_eq(s.closed, 1);
    } else {
        ck_assert(!evl_dgram_is_closed(&d));
        /* The error was consumed: nothing spins, the loop goes on. */
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
        ck_assert_int_eq(s.nerrors, 1);
        ck_assert_rc(evl_dgram_close(&d));
    }
    evl_dgram_free(&d);
    evl_loop_free(loop);
}

START_TEST(test_dgram_connected_to_closed_port_reports_econnrefused_and_stays_open)
{
    refused(_i, 0);
}
END_TEST

START_TEST(test_dgram_close_on_error_closes_after_econnrefused)
{
    refused(_i, EVL_DGRAM_CLOSE_ON_ERROR);
}
END_TEST

/* The reader does not read: the socket refuses, sends queue behind, the
 * watermarks fire, and once the reader reads everything arrives in
 * order and on_drain says the queue is empty. */
START_TEST(test_dgram_write_behind_queues_in_order_with_watermarks_and_drain)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    int sz = 4096;
    ck_assert_rc(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
    set_nonblock(sv[1]);
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    struct evl_dgram_callbacks c = cbs;
    c.on_recv = NULL;   /* write only */
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &c));
    ck_assert_rc(evl_dgram_set_watermarks(&d, 2000, 8000, 0));
    enum { N = 600 };
    char msg[200];
    for (int i = 0; i < N; i++) {
        memset(msg, 'a' + i % 26, sizeof(msg));
        memcpy(msg, &i, sizeof(i));
        ck_assert_rc(evl_dgram_send(&d, msg, sizeof(msg)));
    }
    ck_assert_uint_gt(evl_dgram_queued_count(&d), 0);
    ck_assert_uint_eq(evl_dgram_queued(&d), evl_dgram_queued_count(&d) * sizeof(msg));
    ck_assert_int_eq(s.high, 1);
    ck_assert_int_eq(s.drain, 0);
    int got = 0;
    for (int spins = 0; spins < 100000 && got < N; spins++) {
        char buf[256];
        ssize_t n = recv(sv[1], buf, sizeof(buf), 0);
        if (n < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            ck_assert_int_ge(evl_loop_run_once(loop, 10000000), 0);
            continue;
        }
        ck_assert_int_eq(n, sizeof(msg));
        int seq;
        memcpy(&seq, buf, sizeof(seq));
        ck_assert_int_eq(seq, got);
        got++;
    }
    ck_assert_int_eq(got, N);
    ck_assert_uint_eq(evl_dgram_queued(&d), 0);
    ck_assert_int_eq(s.low, 1);
    ck_assert_int_ge(s.drain, 1);
    ck_assert_int_eq(s.nerrors, 0);
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_wmax_refuses_sends_over_the_cap)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    int sz = 4096;
    ck_assert_rc(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_dgram_set_watermarks(&d, 0, 0, 1000));
    char msg[100] = { 0 };
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = evl_dgram_send(&d, msg, sizeof(msg));
    ck_assert_int_eq(rc, -ENOBUFS);
    ck_assert_uint_le(evl_dgram_queued(&d), 1000);
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

/* A pause inside on_recv keeps the rest of the batch; the resume
 * delivers it from the loop, in order, each datagram once. */
START_TEST(test_dgram_pause_mid_batch_keeps_the_rest_for_the_resume)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    s.stop_at = 3;
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &cbs));
    for (int i = 0; i < 10; i++) {
        char c = (char)('0' + i);
        ck_assert_int_eq(send(sv[1], &c, 1, 0), 1);
    }
    run_until(loop, &s.count, 3);
    for (int i = 0; i < 5; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(s.count, 3);
    ck_assert_int_eq(evl_dgram_set_batch(&d, 4, 64), -EBUSY);   /* the rest waits */
    ck_assert_rc(evl_dgram_read_start(&d));
    ck_assert_int_eq(s.count, 3);   /* never inside the call */
    run_until(loop, &s.count, 10);
    ck_assert_int_eq(s.count, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(s.data[i][0], '0' + i);
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_close_inside_on_recv_stops_the_batch)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    s.close_at = 2;
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &cbs));
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(send(sv[1], "x", 1, 0), 1);
    run_until(loop, &s.count, 2);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(s.count, 2);
    ck_assert_int_eq(s.closed, 1);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_dgram_send(&d, "x", 1), -EBADF);
    ck_assert_int_eq(evl_dgram_close(&d), -EBADF);
    evl_dgram_free(&d);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_free_inside_on_recv_with_queue_and_batch)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    s.free_at = 1;
    evl_dgram *d = malloc(sizeof(*d));
    d->data = &s;
    ck_assert_rc(evl_dgram_init(d, loop, sv[0], EVL_DGRAM_NOCLOSE, &cbs));
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(send(sv[1], "x", 1, 0), 1);
    run_until(loop, &s.count, 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(s.count, 1);
    ck_assert_uint_eq(evl_loop_alive(loop), 0);
    free(d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_broadcast_and_multicast_options)
{
    struct sockaddr_storage a_addr;
    socklen_t a_len;
    int a = udp_bound(AF_INET, &a_addr, &a_len);
    ck_assert_int_ge(a, 0);
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, a, 0, &cbs));
    ck_assert_rc(evl_dgram_set_broadcast(&d, 1));
    int v = 0;
    socklen_t vl = sizeof(v);
    ck_assert_rc(getsockopt(a, SOL_SOCKET, SO_BROADCAST, &v, &vl));
    ck_assert_int_eq(v, 1);

    struct sockaddr_in g = { .sin_family = AF_INET };
    inet_pton(AF_INET, "239.255.42.99", &g.sin_addr);
    unsigned lo = if_nametoindex("lo");
    int rc = evl_dgram_multicast(&d, (struct sockaddr *)&g, sizeof(g), lo, 1);
    if (rc == 0) {
        ck_assert_int_eq(evl_dgram_multicast(&d, (struct sockaddr *)&g, sizeof(g), lo, 1),
                         -EADDRINUSE);
        ck_assert_rc(evl_dgram_multicast(&d, (struct sockaddr *)&g, sizeof(g), lo, 0));
        ck_assert_int_eq(evl_dgram_multicast(&d, (struct sockaddr *)&g, sizeof(g), lo, 0),
                         -EADDRNOTAVAIL);
    } else {
        /* A host without multicast on lo: the kernel's refusal, no crash. */
        ck_assert_int_lt(rc, 0);
    }
    ck_assert_int_eq(evl_dgram_multicast(&d, (struct sockaddr *)&g, 4, 0, 1), -EINVAL);
    evl_dgram_free(&d);
    close(a);

    /* IPv6, where ::1 exists. */
    a = udp_bound(AF_INET6, &a_addr, &a_len);
    if (a >= 0) {
        ck_assert_rc(evl_dgram_init(&d, loop, a, 0, &cbs));
        struct sockaddr_in6 g6 = { .sin6_family = AF_INET6 };
        inet_pton(AF_INET6, "ff02::4242", &g6.sin6_addr);
        rc = evl_dgram_multicast(&d, (struct sockaddr *)&g6, sizeof(g6), lo, 1);
        if (rc == 0) {
            ck_assert_rc(evl_dgram_multicast(&d, (struct sockaddr *)&g6, sizeof(g6), lo, 0));
            ck_assert_int_lt(evl_dgram_multicast(&d, (struct sockaddr *)&g6, sizeof(g6), lo, 0),
                             0);
        } else {
            ck_assert_int_lt(rc, 0);
        }
        ck_assert_int_eq(evl_dgram_multicast(&d, (struct sockaddr *)&g6, 8, 0, 1), -EINVAL);
    } else {
        ck_assert_rc(evl_dgram_init(&d, loop, socket(AF_INET, SOCK_DGRAM, 0), 0, &cbs));
        a = evl_dgram_fd(&d);
    }
    struct sockaddr un = { .sa_family = AF_UNIX };
    ck_assert_int_eq(evl_dgram_multicast(&d, &un, sizeof(un), 0, 1), -EINVAL);
    evl_dgram_free(&d);
    close(a);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_dgram_bad_arguments)
{
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    int sv[2];
    ck_assert_int_eq(evl_dgram_init(NULL, loop, 0, 0, &cbs), -EINVAL);
    ck_assert_int_eq(evl_dgram_init(&d, NULL, 0, 0, &cbs), -EINVAL);
    ck_assert_int_eq(evl_dgram_init(&d, loop, 0, 0, NULL), -EINVAL);
    ck_assert_int_eq(evl_dgram_init(&d, loop, -1, 0, &cbs), -EBADF);
    ck_assert_int_eq(evl_dgram_init(&d, loop, 0, 0x100, &cbs), -EINVAL);
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    ck_assert_int_eq(evl_dgram_init(&d, loop, sv[0], 0, &cbs), -EPROTOTYPE);
    close(sv[0]);
    close(sv[1]);
    ck_assert_rc(pipe(sv));
    ck_assert_int_eq(evl_dgram_init(&d, loop, sv[0], 0, &cbs), -ENOTSOCK);
    close(sv[0]);
    close(sv[1]);

    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &cbs));
    ck_assert_int_eq(evl_dgram_set_batch(&d, 0, 100), -EINVAL);
    ck_assert_int_eq(evl_dgram_set_batch(&d, EVL_DGRAM_BATCH_MAX + 1, 100), -EINVAL);
    ck_assert_int_eq(evl_dgram_set_batch(&d, 4, 0), -EINVAL);
    ck_assert_int_eq(evl_dgram_set_watermarks(&d, 10, 5, 0), -EINVAL);
    struct sockaddr_storage big = { 0 };
    ck_assert_int_eq(evl_dgram_send_to(&d, "x", 1, (struct sockaddr *)&big, 200), -EINVAL);
    ck_assert_int_eq(evl_dgram_send_to(&d, "x", 1, NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_dgram_send(&d, NULL, 1), -EINVAL);
    ck_assert_rc(evl_dgram_close(&d));
    ck_assert_int_eq(s.closed, 1);
    ck_assert_int_eq(evl_dgram_read_start(&d), -EBADF);
    ck_assert_int_eq(evl_dgram_flush(&d), -EBADF);
    ck_assert_int_eq(evl_dgram_fd(&d), -1);
    evl_dgram_free(&d);
    evl_dgram_free(&d);   /* twice is harmless */
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

/* Replies sent inside on_recv are gathered and leave together after the
 * batch (one sendmmsg), in order; that flush is no "drain". */
static int gather_peer = -1;
static int gather_seen_inside = -1;

static void on_recv_reply(evl_dgram *d, const struct evl_dgram_msg *m)
{
    struct seen *s = d->data;
    s->count++;
    ck_assert_rc(evl_dgram_send(d, m->data, m->len));
    char c;
    /* Not yet at the peer while the batch is being delivered. */
    if (recv(gather_peer, &c, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN)
        gather_seen_inside = 0;
    else
        gather_seen_inside = 1;
    ck_assert_uint_eq(evl_dgram_queued_count(d), (size_t)s->count);
}

START_TEST(test_dgram_replies_inside_on_recv_leave_together_after_the_batch)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    struct evl_dgram_callbacks c = cbs;
    c.on_recv = on_recv_reply;
    gather_peer = sv[1];
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &c));
    for (int i = 0; i < 5; i++) {
        char b = (char)('a' + i);
        ck_assert_int_eq(send(sv[1], &b, 1, 0), 1);
    }
    run_until(loop, &s.count, 5);
    ck_assert_int_eq(s.count, 5);
    ck_assert_int_eq(gather_seen_inside, 0);
    ck_assert_uint_eq(evl_dgram_queued(&d), 0);
    ck_assert_int_eq(s.drain, 0);
    for (int i = 0; i < 5; i++) {
        char b;
        ck_assert_int_eq(recv(sv[1], &b, 1, MSG_DONTWAIT), 1);
        ck_assert_int_eq(b, 'a' + i);
    }
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

/* A socket shut down under the dgram: reported once as ESHUTDOWN, the
 * watcher goes, and the loop does not spin on the lasting EPOLLHUP. */
START_TEST(test_dgram_shutdown_socket_is_reported_and_does_not_spin)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *loop = new_loop(_i);
    static struct seen s;
    memset(&s, 0, sizeof(s));
    evl_dgram d;
    d.data = &s;
    ck_assert_rc(evl_dgram_init(&d, loop, sv[0], 0, &cbs));
    ck_assert_rc(shutdown(sv[0], SHUT_RDWR));
    run_until(loop, &s.nerrors, 1);
    ck_assert_int_eq(s.nerrors, 1);
    ck_assert_int_eq(s.errors[0], -ESHUTDOWN);
    ck_assert_uint_eq(evl_loop_alive(loop), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(s.nerrors, 1);
    evl_dgram_free(&d);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

static void add(TCase *tc, const TTest *t)
{
    tcase_add_loop_test(tc, t, 0, end_engine);
}

static Suite *dgram_suite(void)
{
    Suite *s = suite_create("dgram");
    TCase *tc = tcase_create("receive");
    add(tc, test_dgram_udp4_delivers_datagrams_with_sender_and_replies);
    add(tc, test_dgram_udp6_delivers_datagrams_with_sender_and_replies);
    add(tc, test_dgram_unix_socketpair_send_without_address);
    add(tc, test_dgram_many_datagrams_arrive_in_order_across_batches);
    add(tc, test_dgram_datagram_larger_than_buffer_is_flagged_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    add(tc, test_dgram_connected_to_closed_port_reports_econnrefused_and_stays_open);
    add(tc, test_dgram_close_on_error_closes_after_econnrefused);
    add(tc, test_dgram_bad_arguments);
    add(tc, test_dgram_shutdown_socket_is_reported_and_does_not_spin);
    suite_add_tcase(s, tc);

    tc = tcase_create("send");
    add(tc, test_dgram_write_behind_queues_in_order_with_watermarks_and_drain);
    add(tc, test_dgram_wmax_refuses_sends_over_the_cap);
    add(tc, test_dgram_replies_inside_on_recv_leave_together_after_the_batch);
    suite_add_tcase(s, tc);

    tc = tcase_create("control");
    add(tc, test_dgram_pause_mid_batch_keeps_the_rest_for_the_resume);
    add(tc, test_dgram_close_inside_on_recv_stops_the_batch);
    add(tc, test_dgram_free_inside_on_recv_with_queue_and_batch);
    add(tc, test_dgram_broadcast_and_multicast_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int uring = uring_available();
    if (uring < 0)
        return EXIT_FAILURE;
    if (uring == 0)
        end_engine = 2;   /* engine 2 is io_uring */
    return evl_test_run(dgram_suite());
}
