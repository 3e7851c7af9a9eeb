/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream-harness.c - see stream-harness.h. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evl-test.h"
#include "stream-harness.h"

/* ------------------------------------------------------------ bytes */

void bytes_add(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void bytes_free(struct bytes *b)
{
    free(b->p);
    *b = (struct bytes){ 0 };
}

/* ------------------------------------------------------------ recording callbacks */

void note(struct rec *r, char c)
{
    if (r->nlog < sizeof(r->log) - 1)
        r->log[r->nlog++] = c;
}

void free_stream(evl_stream *s)
{
    evl_stream_free(s);
    memset(s, 0xa5, sizeof(*s));
    free(s);
}

void on_message(evl_stream *s, const char *msg, size_t len)
{
    struct rec *r = s->data;
    note(r, 'm');
    r->n_msg++;
    bytes_add(&r->data, msg, len);
    bytes_add(&r->data, "|", 1);
    r->rbuf_in_msg = evl_buf_len(evl_stream_rbuf(s));
    switch (r->action) {
    case ACT_PAUSE_AT:
        if (r->n_msg == r->pause_at)
            ck_assert_int_eq(evl_stream_read_stop(s), 0);
        break;
    case ACT_PAUSE_RESUME:
        ck_assert_int_eq(evl_stream_read_stop(s), 0);
        ck_assert_int_eq(evl_stream_read_start(s), 0);
        break;
    case ACT_CLOSE_FIRST:
        if (r->n_msg == 1)
            evl_stream_close(s);
        break;
    case ACT_FREE:
        free_stream(s);
        break;
    case ACT_REPLY_WAIT: {
        /* A callback waiting for its peer (nested runs, up to 2 s): the
         * peer takes the reply (the message echoed) off the wire. */
        ck_assert_rc(evl_stream_write(s, msg, len));
        char got[256];
        size_t have = 0;
        ck_assert_uint_le(len, sizeof(got));
        for (int i = 0; i < 200 && have < len; i++) {
            ssize_t n = recv(r->wait_fd, got + have, len - have, MSG_DONTWAIT);
            if (n > 0)
                have += (size_t)n;
            else
                ck_assert_int_ge(evl_loop_run_once(r->wait_loop, 10 * 1000000LL), 0);
        }
        if (have == len && memcmp(got, msg, len) == 0)
            r->replies_seen++;
        break;
    }
    default:
        break;
    }
}

size_t on_read(evl_stream *s, const char *p, size_t len)
{
    struct rec *r = s->data;
    note(r, 'r');
    r->n_read++;
    if (r->check) {
        for (size_t i = 0; i < len && r->mismatch == 0; i++)
            if ((unsigned char)p[i] != pattern(r->got + i))
                r->mismatch = r->got + i + 1;
        r->got += len;
        return len;
    }
    switch (r->action) {
    case ACT_RECORDS:
        if (len < 4)
            return 0;
        bytes_add(&r->data, p, 4);
        bytes_add(&r->data, "|", 1);
        return 4;
    case ACT_KEEP:
        bytes_free(&r->data);
        bytes_add(&r->data, p, len);
        return 0;
    default:
        break;
    }
    bytes_add(&r->data, p, len);
    r->got += len;
    if (r->action == ACT_PAUSE_READ && r->n_read == 1)
        ck_assert_int_eq(evl_stream_read_stop(s), 0);
    return len;
}

void on_eof(evl_stream *s)
{
    struct rec *r = s->data;
    note(r, 'E');
    r->n_eof++;
}

void on_error(evl_stream *s, int err)
{
    struct rec *r = s->data;
    note(r, 'e');
    r->n_err++;
    r->err = err;
    if (r->action == ACT_FREE)
        free_stream(s);
}

void on_close(evl_stream *s)
{
    struct rec *r = s->data;
    note(r, 'c');
    r->n_close++;
}

void on_high(evl_stream *s)
{
    struct rec *r = s->data;
    note(r, 'h');
    r->n_high++;
    r->queued_at_high = evl_stream_queued(s);
}

void on_low(evl_stream *s)
{
    struct rec *r = s->data;
    note(r, 'l');
    r->n_low++;
    r->queued_at_low = evl_stream_queued(s);
}

void on_drain(evl_stream *s)
{
    struct rec *r = s->data;
    note(r, 'd');
    r->n_drain++;
    r->queued_at_drain = evl_stream_queued(s);
}

const struct evl_stream_callbacks raw_cbs = {
    .on_read = on_read, .on_eof = on_eof, .on_error = on_error,
    .on_high_water = on_high, .on_low_water = on_low, .on_drain = on_drain,
    .on_close = on_close,
};

const struct evl_stream_callbacks msg_cbs = {
    .on_message = on_message, .on_eof = on_eof, .on_error = on_error,
    .on_close = on_close,
};

const struct evl_stream_callbacks write_cbs = {
    .on_error = on_error, .on_high_water = on_high, .on_low_water = on_low,
    .on_drain = on_drain, .on_close = on_close,
};

/* ------------------------------------------------------------ loop pumps */

void run_until(evl_loop *loop, const int *count, int want)
{
    while (*count < want) {
        int n = evl_loop_run_once(loop, 5000000000LL);
        ck_assert_int_ge(n, 0);
        ck_assert_msg(n > 0 || *count >= want, "loop went idle before the event");
    }
    ck_assert_int_eq(*count, want);
}

void spin(evl_loop *loop)
{
    for (int i = 0; i < 5; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
}

void loop_settle(evl_loop *loop)
{
    for (int i = 0; evl_loop_pending_ops(loop) > 0; i++) {
        ck_assert_int_lt(i, 1000);
        ck_assert_int_ge(evl_loop_run_once(loop, 5000000000LL), 0);
    }
    evl_loop_drain(loop);
}

void loop_done(evl_loop *loop)
{
    loop_settle(loop);
    evl_loop_free(loop);
}

/* ------------------------------------------------------------ socketpair fixtures */

void pair_stream(evl_loop *loop, evl_stream *s, int sv[2], unsigned flags,
                 const struct evl_stream_callbacks *cb)
{
    make_socketpair(sv);
    ck_assert_rc(evl_stream_init(s, loop, sv[0], flags, cb));
}

void stream_pair_end(evl_loop *loop, evl_stream *s, const int sv[2], struct rec *r)
{
    evl_stream_free(s);
    close_pair(sv);
    evl_loop_free(loop);
    bytes_free(&r->data);
}

void stream_pair_done(evl_loop *loop, evl_stream *s, const int sv[2], struct rec *r)
{
    evl_stream_free(s);
    loop_settle(loop);
    close_pair(sv);
    bytes_free(&r->data);
    loop_done(loop);
}

/* ------------------------------------------------------------ pattern and sink */

unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + i / 4093);
}

void fill_pattern(char *buf, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)pattern(off + i);
}

static void sink_read(evl_watcher *w, unsigned revents)
{
    (void)revents;
    struct sink *k = w->data;
    char buf[65536];
    size_t want = k->chunk ? k->chunk : sizeof(buf);
    ssize_t n = read(w->fd, buf, want);
    if (n == 0) {
        k->eof = 1;
        evl_watcher_stop(w);
        return;
    }
    ck_assert_int_gt(n, 0);
    for (ssize_t i = 0; i < n && k->mismatch == 0; i++)
        if ((unsigned char)buf[i] != pattern(k->got + (size_t)i))
            k->mismatch = k->got + (size_t)i + 1;
    k->got += (size_t)n;
}

void sink_start(evl_loop *loop, struct sink *k, int fd, size_t chunk)
{
    memset(k, 0, sizeof(*k));
    k->chunk = chunk;
    k->w.data = k;
    set_nonblock(fd);
    evl_watcher_init(&k->w, sink_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &k->w, fd, EVL_READ));
}

void run_until_sink_eof(evl_loop *loop, struct sink *k)
{
    run_until(loop, &k->eof, 1);
}

/* ------------------------------------------------------------ peers and signals */

void tcp_pair(int *client, int *server)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_rc(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
    ck_assert_rc(listen(lfd, 1));
    socklen_t len = sizeof(sa);
    ck_assert_rc(getsockname(lfd, (struct sockaddr *)&sa, &len));
    *client = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(*client, 0);
    ck_assert_rc(connect(*client, (struct sockaddr *)&sa, sizeof(sa)));
    *server = accept(lfd, NULL, NULL);
    ck_assert_int_ge(*server, 0);
    close(lfd);
}

void reset_close(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    ck_assert_rc(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
    close(fd);
}

void sigpipe_default(void)
{
    ck_assert(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
}

int sigpipe_pending(void)
{
    sigset_t set;
    ck_assert_rc(sigpending(&set));
    return sigismember(&set, SIGPIPE);
}

int sigpipe_blocked(void)
{
    sigset_t set;
    ck_assert_rc(pthread_sigmask(SIG_BLOCK, NULL, &set));
    return sigismember(&set, SIGPIPE);
}
