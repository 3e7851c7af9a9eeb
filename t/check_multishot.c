/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_multishot.c - evl_op_recv_multi and evl_op_accept_multi.
 *
 * On io_uring: results arrive in order with evl_op_more set until the
 * last; bytes come through the loop's provided-buffer ring and are exact
 * across many more chunks than the ring has buffers (each goes back after
 * its callback); a dry ring ends the op with -ENOBUFS and a resubmit goes
 * on; cancel reports what was produced, then -ECANCELED; EOF ends it;
 * accepted fds are real connections; undelivered fds are closed when the
 * loop is freed; a forked child's loop cancels the parent's ops and gets
 * a ring of its own.  Fake and reactor loops say -EOPNOTSUPP (callers
 * fall back to one-shot ops).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-internal.h"   /* backend->poll: reap without calling back */
#include "evl-test.h"
#include "evloop.h"

#define MS 1000000ll

static int have_uring;

static evl_loop *uring_loop(unsigned nbufs, unsigned size)
{
    evl_loop_options o = { .model = EVL_PROACTOR, .flags = EVL_BACKEND_URING,
                           .recv_buffers = nbufs, .recv_buffer_size = size };
    evl_loop *loop = NULL;
    ck_assert_rc(evl_loop_new_ex(&loop, &o));
    return loop;
}

/* What a multishot callback saw. */
struct seen {
    char data[1 << 20];
    size_t len;
    int results, more_results, last_seen;
    int64_t last_res;
    size_t max_chunk;
    int enobufs;
    int fds[64];
    int nfds;
    int resubmit;                /* on -ENOBUFS, submit again */
    int cancel_after;            /* cancel once this many results came (0: never) */
};

static void recv_cb(evl_op *op)
{
    struct seen *w = op->data;
    w->results++;
    int more = evl_op_more(op);
    if (more)
        w->more_results++;
    if (op->res > 0) {
        ck_assert_ptr_nonnull(op->buf);
        ck_assert_uint_le(w->len + (size_t)op->res, sizeof(w->data));
        memcpy(w->data + w->len, op->buf, (size_t)op->res);
        w->len += (size_t)op->res;
        if ((size_t)op->res > w->max_chunk)
            w->max_chunk = (size_t)op->res;
        /* Scribble over the buffer: it is ours only during the call. */
        memset(op->buf, 'X', (size_t)op->res);
    }
    if (w->cancel_after && w->results == w->cancel_after)
        ck_assert_rc(evl_op_cancel(op));
    if (!more) {
        ck_assert_int_eq(op->state, EVL_OP_IDLE);
        w->last_seen++;
        w->last_res = op->res;
        if (op->res == -ENOBUFS) {
            w->enobufs++;
            if (w->resubmit) {
                w->last_seen--;
                ck_assert_rc(evl_op_recv_multi(op->loop, op, op->fd, recv_cb));
            }
        }
    } else {
        /* Pending, or settled when its last result is already reaped. */
        ck_assert_int_ne(op->state, EVL_OP_IDLE);
    }
}

static void accept_cb(evl_op *op)
{
    struct seen *w = op->data;
    w->results++;
    if (evl_op_more(op)) {
        w->more_results++;
        ck_assert_int_ge(op->res, 0);
        ck_assert_int_lt(w->nfds, 64);
        w->fds[w->nfds++] = (int)op->res;
        if (w->cancel_after && w->nfds == w->cancel_after)
            ck_assert_rc(evl_op_cancel(op));
    } else {
        w->last_seen++;
        w->last_res = op->res;
        if (op->res >= 0)
            w->fds[w->nfds++] = (int)op->res;
    }
}

static void run_until(evl_loop *loop, const int *flag, int want)
{
    for (int i = 0; i < 2000 && *flag < want; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 50 * MS), 0);
    ck_assert_int_ge(*flag, want);
}

static char pattern_byte(size_t i)
{
    return (char)('a' + (i * 7 + i / 251) % 26);
}

static int tcp_listener(struct sockaddr_in *sa)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    *sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = 0 };
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_rc(bind(lfd, (struct sockaddr *)sa, sizeof(*sa)));
    ck_assert_rc(listen(lfd, 64));
    socklen_t len = sizeof(*sa);
    ck_assert_rc(getsockname(lfd, (struct sockaddr *)sa, &len));
    return lfd;
}

static int tcp_connect(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_rc(connect(fd, (const struct sockaddr *)sa, sizeof(*sa)));
    return fd;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ recv */

/* A uring loop with a recv_multi armed on sv[0] of a socketpair. */
struct recv_fix {
    evl_loop *loop;
    int sv[2];
    evl_op op;
};

static struct seen rw;   /* what the fixture's op saw */

static void recv_fix_start(struct recv_fix *f, unsigned nbufs, unsigned size)
{
    f->loop = uring_loop(nbufs, size);
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv));
    memset(&rw, 0, sizeof(rw));
    f->op.data = &rw;
    ck_assert_rc(evl_op_recv_multi(f->loop, &f->op, f->sv[0], recv_cb));
}

static void recv_fix_done(struct recv_fix *f)
{
    close(f->sv[0]);
    if (f->sv[1] >= 0)
        close(f->sv[1]);
    evl_loop_free(f->loop);
}

START_TEST(test_recv_multi_delivers_every_chunk_in_order_with_more_set)
{
    if (!have_uring)
        return;
    struct recv_fix f = { 0 };
    recv_fix_start(&f, 0, 0);
    ck_assert_uint_eq(evl_loop_pending_ops(f.loop), 1);
    /* Ten separate sends, each waited for: ten results, all "more". */
    for (int i = 0; i < 10; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof(msg), "msg%d;", i);
        write_all(f.sv[1], msg, (size_t)n);
        int before = rw.results;
        run_until(f.loop, &rw.results, before + 1);
    }
    ck_assert_int_eq(rw.more_results, rw.results);
    ck_assert_int_eq(rw.last_seen, 0);
    rw.data[rw.len] = '\0';
    ck_assert_str_eq(rw.data, "msg0;msg1;msg2;msg3;msg4;msg5;msg6;msg7;msg8;msg9;");
    /* EOF is the last result, 0, and the op is idle in it. */
    close(f.sv[1]);
    f.sv[1] = -1;
    run_until(f.loop, &rw.last_seen, 1);
    ck_assert_int_eq(rw.last_res, 0);
    ck_assert_uint_eq(evl_loop_pending_ops(f.loop), 0);
    ck_assert_int_eq(f.op.state, EVL_OP_IDLE);
    recv_fix_done(&f);
}
END_TEST

START_TEST(test_recv_multi_small_ring_keeps_bytes_exact_and_resubmits_after_enobufs)
{
    if (!have_uring)
        return;
    /* Two buffers of 64 bytes: a 200 kB burst needs thousands of
     * chunks, and the ring runs dry whenever more than two wait. */
    struct recv_fix f = { 0 };
    recv_fix_start(&f, 2, 64);
    rw.resubmit = 1;
    size_t total = 200000;
    char *src = malloc(total);
    ck_assert_ptr_nonnull(src);
    for (size_t i = 0; i < total; i++)
        src[i] = pattern_byte(i);
    set_nonblock(f.sv[1]);
    size_t sent = 0;
    while (sent < total) {
        ssize_t n = write(f.sv[1], src + sent, total - sent);
        if (n > 0)
            sent += (size_t)n;
        else
            ck_assert_int_eq(errno, EAGAIN);
        ck_assert_int_ge(evl_loop_run_once(f.loop, n > 0 ? 0 : 50 * MS), 0);
    }
    close(f.sv[1]);
    f.sv[1] = -1;
    run_until(f.loop, &rw.last_seen, 1);
    ck_assert_int_eq(rw.last_res, 0);
    ck_assert_uint_eq(rw.len, total);
    ck_assert_int_eq(memcmp(rw.data, src, total), 0);
    ck_assert_uint_le(rw.max_chunk, 64);
    ck_assert_int_gt(rw.enobufs, 0);
    free(src);
    recv_fix_done(&f);
}
END_TEST

START_TEST(test_recv_multi_cancel_reports_what_came_then_ecanceled)
{
    if (!have_uring)
        return;
    struct recv_fix f = { 0 };
    recv_fix_start(&f, 0, 0);
    rw.cancel_after = 1;
    write_all(f.sv[1], "first", 5);
    run_until(f.loop, &rw.last_seen, 1);
    ck_assert_int_eq(rw.last_res, -ECANCELED);
    rw.data[rw.len] = '\0';
    ck_assert_str_eq(rw.data, "first");
    /* Bytes sent after the cancel stay in the socket for the next reader. */
    write_all(f.sv[1], "second", 6);
    char buf[16];
    ssize_t n = recv(f.sv[0], buf, sizeof(buf), 0);
    ck_assert_int_eq(n, 6);
    ck_assert_int_eq(memcmp(buf, "second", 6), 0);
    ck_assert_uint_eq(evl_loop_pending_ops(f.loop), 0);
    recv_fix_done(&f);
}
END_TEST

START_TEST(test_recv_multi_error_ends_the_op_with_the_errno)
{
    if (!have_uring)
        return;
    evl_loop *loop = uring_loop(0, 0);
    int c, s;
    struct sockaddr_in sa;
    int lfd = tcp_listener(&sa);
    c = tcp_connect(&sa);
    s = accept(lfd, NULL, NULL);
    ck_assert_int_ge(s, 0);
    static struct seen w;
    memset(&w, 0, sizeof(w));
    evl_op op = { 0 };
    op.data = &w;
    ck_assert_rc(evl_op_recv_multi(loop, &op, s, recv_cb));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    ck_assert_rc(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
    close(c);   /* RST */
    run_until(loop, &w.last_seen, 1);
    ck_assert_int_eq(w.last_res, -ECONNRESET);
    close(s);
    close(lfd);
    evl_loop_free(loop);
}
END_TEST

/* ------------------------------------------------------------ accept */

START_TEST(test_accept_multi_takes_each_connection_until_cancelled)
{
    if (!have_uring)
        return;
    evl_loop *loop = uring_loop(0, 0);
    struct sockaddr_in sa;
    int lfd = tcp_listener(&sa);
    static struct seen w;
    memset(&w, 0, sizeof(w));
    w.cancel_after = 3;
    evl_op op = { 0 };
    op.data = &w;
    ck_assert_rc(evl_op_accept_multi(loop, &op, lfd, SOCK_NONBLOCK, accept_cb));
    int cl[3];
    for (int i = 0; i < 3; i++) {
        cl[i] = tcp_connect(&sa);
        run_until(loop, &w.nfds, i + 1);
    }
    run_until(loop, &w.last_seen, 1);
    ck_assert_int_eq(w.last_res, -ECANCELED);
    ck_assert_int_eq(w.nfds, 3);
    for (int i = 0; i < 3; i++) {
        /* Each fd is the server end of cl[i], non-blocking, close-on-exec. */
        struct sockaddr_in peer, mine;
        socklen_t l1 = sizeof(peer), l2 = sizeof(mine);
        ck_assert_rc(getpeername(w.fds[i], (struct sockaddr *)&peer, &l1));
        ck_assert_rc(getsockname(cl[i], (struct sockaddr *)&mine, &l2));
        ck_assert_int_eq(peer.sin_port, mine.sin_port);
        ck_assert(fcntl(w.fds[i], F_GETFL) & O_NONBLOCK);
        ck_assert(fcntl(w.fds[i], F_GETFD) & FD_CLOEXEC);
        write_all(cl[i], "x", 1);
        char ch;
        for (int t = 0; t < 200 && recv(w.fds[i], &ch, 1, 0) != 1; t++)
            usleep(1000);
        ck_assert_int_eq(ch, 'x');
    }
    /* After the cancel, a new connection waits in the backlog. */
    int late = tcp_connect(&sa);
    ck_assert_int_ge(evl_loop_run_once(loop, 10 * MS), 0);
    ck_assert_int_eq(w.nfds, 3);
    int got = accept(lfd, NULL, NULL);
    ck_assert_int_ge(got, 0);
    close(got);
    close(late);
    for (int i = 0; i < 3; i++) {
        close(cl[i]);
        close(w.fds[i]);
    }
    close(lfd);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_accept_multi_undelivered_fds_are_closed_when_the_loop_is_freed)
{
    if (!have_uring)
        return;
    struct sockaddr_in sa;
    int lfd = tcp_listener(&sa);
    int base = open_fds();
    evl_loop *loop = uring_loop(0, 0);
    static struct seen w;
    memset(&w, 0, sizeof(w));
    evl_op op = { 0 };
    op.data = &w;
    ck_assert_rc(evl_op_accept_multi(loop, &op, lfd, 0, accept_cb));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);   /* armed */
    int cl[4];
    for (int i = 0; i < 4; i++)
        cl[i] = tcp_connect(&sa);
    /* Reap without calling back (the backend's poll, not run_once): the
     * four fds wait in the op's results. */
    int fds_then = 0;
    for (int i = 0; i < 200 && fds_then < base + 8; i++) {
        ck_assert_int_ge(loop->backend->poll(loop, 10 * MS), 0);
        fds_then = open_fds() - 1;   /* the ring's own fd */
    }
    ck_assert_int_ge(fds_then, base + 8);
    evl_loop_free(loop);
    ck_assert_int_eq(w.results, 0);
    /* Only the four clients are new; every accepted fd was closed. */
    ck_assert_int_eq(open_fds(), base + 4);
    for (int i = 0; i < 4; i++)
        close(cl[i]);
    close(lfd);
}
END_TEST

/* ------------------------------------------------------------ fork, other loops */

START_TEST(test_multishot_in_a_forked_child_cancels_the_parents_and_works_anew)
{
    if (!have_uring)
        return;
    evl_loop *loop = uring_loop(4, 256);
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    static struct seen w;
    memset(&w, 0, sizeof(w));
    evl_op op = { 0 };
    op.data = &w;
    ck_assert_rc(evl_op_recv_multi(loop, &op, sv[0], recv_cb));
    write_all(sv[1], "before", 6);
    run_until(loop, &w.results, 1);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The parent's op ends here with -ECANCELED; a new one reads. */
        int ok = 1;
        for (int i = 0; i < 100 && w.last_seen == 0; i++)
            if (evl_loop_run_once(loop, 10 * MS) < 0)
                ok = 0;
        ok = ok && w.last_res == -ECANCELED;
        memset(&w, 0, sizeof(w));
        int sv2[2];
        ok = ok && socketpair(AF_UNIX, SOCK_STREAM, 0, sv2) == 0;
        evl_op op2 = { 0 };
        op2.data = &w;
        ok = ok && evl_op_recv_multi(loop, &op2, sv2[0], recv_cb) == 0;
        ok = ok && write(sv2[1], "child", 5) == 5;
        for (int i = 0; i < 100 && w.len < 5; i++)
            if (evl_loop_run_once(loop, 10 * MS) < 0)
                ok = 0;
        ok = ok && w.len == 5 && memcmp(w.data, "child", 5) == 0;
        close(sv2[1]);
        for (int i = 0; i < 100 && w.last_seen == 0; i++)
            (void)evl_loop_run_once(loop, 10 * MS);
        ok = ok && w.last_res == 0;
        evl_loop_free(loop);
        _exit(ok ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* The parent's op is untouched by the child's. */
    write_all(sv[1], "after", 5);
    run_until(loop, &w.results, 2);
    w.data[w.len] = '\0';
    ck_assert_str_eq(w.data, "beforeafter");
    ck_assert_int_eq(w.last_seen, 0);
    close(sv[1]);
    run_until(loop, &w.last_seen, 1);
    close(sv[0]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_multishot_is_eopnotsupp_on_fake_and_reactor_loops)
{
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    evl_loop *fake, *reactor;
    ck_assert_rc(evl_loop_new(&fake, EVL_PROACTOR, EVL_BACKEND_FAKE));
    ck_assert_rc(evl_loop_new(&reactor, EVL_REACTOR, 0));
    evl_op op = { 0 };
    ck_assert_int_eq(evl_op_recv_multi(fake, &op, sv[0], recv_cb), -EOPNOTSUPP);
    ck_assert_int_eq(evl_op_accept_multi(fake, &op, sv[0], 0, accept_cb), -EOPNOTSUPP);
    ck_assert_int_eq(evl_op_recv_multi(reactor, &op, sv[0], recv_cb), -EOPNOTSUPP);
    ck_assert_int_eq(evl_op_accept_multi(reactor, &op, sv[0], 0, accept_cb), -EOPNOTSUPP);
    ck_assert_uint_eq(evl_loop_pending_ops(fake), 0);
    ck_assert_int_eq(evl_op_more(&op), 0);
    /* Bad arguments as the one-shot forms. */
    ck_assert_int_eq(evl_op_recv_multi(fake, &op, -1, recv_cb), -EINVAL);
    ck_assert_int_eq(evl_op_accept_multi(fake, &op, sv[0], 0x7fff0000, accept_cb), -EINVAL);
    ck_assert_int_eq(evl_op_recv_multi(fake, &op, sv[0], NULL), -EINVAL);
    evl_loop_free(fake);
    evl_loop_free(reactor);
    /* Loop options: the buffer ring's limits. */
    evl_loop_options o = { .model = EVL_PROACTOR, .flags = EVL_BACKEND_URING,
                           .recv_buffers = 32769 };
    evl_loop *bad = NULL;
    ck_assert_int_eq(evl_loop_new_ex(&bad, &o), -EINVAL);
    o.recv_buffers = 0;
    o.recv_buffer_size = (1u << 24) + 1;
    ck_assert_int_eq(evl_loop_new_ex(&bad, &o), -EINVAL);
    o = (evl_loop_options){ .model = EVL_REACTOR, .recv_buffers = 4 };
    ck_assert_int_eq(evl_loop_new_ex(&bad, &o), -EINVAL);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *multishot_suite(void)
{
    Suite *s = suite_create("multishot");
    TCase *tc = tcase_create("recv");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_recv_multi_delivers_every_chunk_in_order_with_more_set);
    tcase_add_test(tc, test_recv_multi_small_ring_keeps_bytes_exact_and_resubmits_after_enobufs);
    tcase_add_test(tc, test_recv_multi_cancel_reports_what_came_then_ecanceled);
    tcase_add_test(tc, test_recv_multi_error_ends_the_op_with_the_errno);
    suite_add_tcase(s, tc);
    tc = tcase_create("accept");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_accept_multi_takes_each_connection_until_cancelled);
    tcase_add_test(tc, test_accept_multi_undelivered_fds_are_closed_when_the_loop_is_freed);
    suite_add_tcase(s, tc);
    tc = tcase_create("other");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_multishot_in_a_forked_child_cancels_the_parents_and_works_anew);
    tcase_add_test(tc, test_multishot_is_eopnotsupp_on_fake_and_reactor_loops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    have_uring = uring_available();
    if (have_uring < 0)
        return EXIT_FAILURE;
    return evl_test_run(multishot_suite());
}
