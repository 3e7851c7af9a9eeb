/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_stream.c - evl_stream: write-behind, watermarks, close-after-drain,
 * EPIPE/ECONNRESET without SIGPIPE, EOF, raw and framed delivery, pause and
 * resume, limits, callbacks that free the stream, caller-driven use.
 *
 * Peers are socketpairs, pipes and a loopback TCP pair; everything is
 * synchronised through the loop or blocking reads, never by sleeping.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "evl-internal.h"   /* the loop's spare read buffer */
#include "evl-test.h"
#include "evloop.h"
#include "stream-harness.h"

/* ------------------------------------------------------------ helpers */

static size_t on_read_nothing(evl_stream *s, const char *p, size_t len)
{
    (void)p;
    (void)len;
    struct rec *r = s->data;
    r->n_read++;
    return 0;
}

/* Writes total pattern bytes in 64 KiB pieces; returns 0 or the error. */
static int write_pattern(evl_stream *s, size_t total)
{
    static char buf[65536];
    for (size_t off = 0; off < total; off += sizeof(buf)) {
        size_t n = total - off < sizeof(buf) ? total - off : sizeof(buf);
        fill_pattern(buf, off, n);
        int rc = evl_stream_write(s, buf, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ writing */

/* Write-behind must not copy what the kernel takes: an empty queue and
 * room in the socket means the bytes go straight through. */
START_TEST(test_stream_direct_write_queues_nothing_when_fd_has_room)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    ck_assert_rc(evl_stream_write(&s, "hello", 5));
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    /* The bytes are in the kernel before the loop ever ran. */
    char buf[8];
    ck_assert_int_eq(read(sv[1], buf, sizeof(buf)), 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    spin(loop);
    ck_assert_int_eq(r.n_drain, 0);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* 4 MiB cannot fit a 64 KiB send buffer, so most of it goes through the
 * queue in partial writes; the sink checks every byte's position. */
START_TEST(test_stream_write_behind_delivers_every_byte_in_order)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    const size_t total = 4 << 20;
    ck_assert_rc(write_pattern(&s, total));
    /* The socket cannot hold 4 MiB: the rest must be queued. */
    ck_assert_uint_gt(evl_stream_queued(&s), 0);
    ck_assert_uint_lt(evl_stream_queued(&s), total);

    struct sink k;
    sink_start(loop, &k, sv[1], 0);
    run_until(loop, &r.n_drain, 1);
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    /* Everything written is in the socket now; read the rest. */
    while (k.got < total)
        ck_assert_int_gt(evl_loop_run_once(loop, 5000000000LL), 0);
    ck_assert_uint_eq(k.got, total);
    ck_assert_uint_eq(k.mismatch, 0);
    evl_watcher_stop(&k.w);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* A full pipe refuses the whole writev, so all pieces (an empty one
 * among them) must be queued joined and in order. */
START_TEST(test_stream_writev_queues_the_unwritten_pieces_in_order)
{
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    size_t filled = fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
    ck_assert_rc(evl_stream_writev(&s, iov, 3));
    ck_assert_uint_eq(evl_stream_queued(&s), 6);
    /* Make room, flush, and find the pieces joined after the filler. */
    char buf[4096];
    size_t left = filled;
    while (left > 0) {
        ssize_t n = read(p[0], buf, left < sizeof(buf) ? left : sizeof(buf));
        ck_assert_int_gt(n, 0);
        left -= (size_t)n;
    }
    ck_assert_int_eq(evl_stream_flush(&s), 0);
    ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 6);
    ck_assert_int_eq(memcmp(buf, "abcdef", 6), 0);
    evl_stream_free(&s);
    close_pair(p);
    bytes_free(&r.data);
}
END_TEST

/* Netstring has a header and a trailer, so this goes through the
 * three-piece writev; an empty payload still frames. */
START_TEST(test_stream_write_message_frames_payload_with_encoder)
{
    int sv[2];
    make_socketpair(sv);
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0));
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, NULL));
    ck_assert_rc(evl_stream_set_framer(&s, &fr));
    ck_assert_rc(evl_stream_write_message(&s, "hello", 5));
    ck_assert_rc(evl_stream_write_message(&s, "", 0));
    char buf[32];
    ck_assert_int_eq(read(sv[1], buf, sizeof(buf)), 11);
    ck_assert_int_eq(memcmp(buf, "5:hello,0:,", 11), 0);
    evl_stream_free(&s);
    close_pair(sv);
}
END_TEST

/* ------------------------------------------------------------ watermarks */

/* The pipe is full before the stream exists, so every write queues in
 * full and the queue length is exact at each step. */
START_TEST(test_stream_high_water_fires_once_when_queue_passes_high)
{
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    ck_assert_rc(evl_stream_set_watermarks(&s, 300, 1000, 0));
    char chunk[100] = { 0 };
    for (int i = 0; i < 10; i++)
        ck_assert_rc(evl_stream_write(&s, chunk, sizeof(chunk)));
    /* Exactly at high is not past it. */
    ck_assert_uint_eq(evl_stream_queued(&s), 1000);
    ck_assert_int_eq(r.n_high, 0);
    ck_assert_rc(evl_stream_write(&s, chunk, sizeof(chunk)));
    ck_assert_int_eq(r.n_high, 1);
    ck_assert_uint_eq(r.queued_at_high, 1100);
    for (int i = 0; i < 5; i++)
        ck_assert_rc(evl_stream_write(&s, chunk, sizeof(chunk)));
    ck_assert_int_eq(r.n_high, 1);
    evl_stream_free(&s);
    close_pair(p);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_low_water_fires_once_when_queue_falls_to_low)
{
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    /* A full pipe takes one page per page read from it, so the queue
     * shrinks by exactly a page per flush and lands on low after two. */
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t total = 2 * page + page / 2, low = page / 2;
    ck_assert_rc(evl_stream_set_watermarks(&s, low, total - 1, 0));
    char *chunk = calloc(1, total);
    ck_assert_ptr_nonnull(chunk);
    ck_assert_rc(evl_stream_write(&s, chunk, total));
    ck_assert_int_eq(r.n_high, 1);

    int between = 0;
    while (evl_stream_queued(&s) > 0) {
        size_t before = evl_stream_queued(&s);
        ck_assert_int_eq(r.n_low, 0);
        discard(p[0], page);
        ssize_t left = evl_stream_flush(&s);
        ck_assert_int_ge(left, 0);
        ck_assert_uint_lt((size_t)left, before);
        if ((size_t)left > low) {
            between = 1;
            ck_assert_int_eq(r.n_low, 0);
        } else {
            /* Reaching low exactly counts ("falls to low"). */
            ck_assert_uint_eq((size_t)left, low);
            ck_assert_int_eq(r.n_low, 1);
            ck_assert_uint_eq(r.queued_at_low, low);
            break;
        }
    }
    ck_assert_msg(between, "no flush left the queue between low and high");
    ck_assert_int_eq(r.n_low, 1);
    /* Passing high again re-arms the pair. */
    ck_assert_rc(evl_stream_write(&s, chunk, total));
    ck_assert_int_eq(r.n_high, 2);
    free(chunk);
    evl_stream_free(&s);
    close_pair(p);
    bytes_free(&r.data);
}
END_TEST

/* The socket is filled behind the stream's back, so its first write
 * queues; on_drain must wait for the peer to make room. */
START_TEST(test_stream_drain_fires_once_when_queue_empties)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    set_nonblock(sv[0]);
    size_t filled = fill_fd(sv[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &write_cbs));
    ck_assert_rc(evl_stream_set_watermarks(&s, 10, 20, 0));
    ck_assert_rc(evl_stream_write(&s, "0123456789abcdefghijklmnopqrstuv", 32));
    ck_assert_uint_eq(evl_stream_queued(&s), 32);
    spin(loop);
    ck_assert_int_eq(r.n_drain, 0);

    discard(sv[1], filled);
    run_until(loop, &r.n_drain, 1);
    ck_assert_uint_eq(r.queued_at_drain, 0);
    /* Order: high when queued, then low, then drain. */
    ck_assert_str_eq(r.log, "hld");
    /* Write interest is off again: an idle poll reports nothing. */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(r.n_drain, 1);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* wmax is a hard cap: a refused write queues nothing at all. */
START_TEST(test_stream_wmax_refuses_writes_that_would_exceed_it)
{
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    ck_assert_rc(evl_stream_set_watermarks(&s, 0, 0, 1000));
    char chunk[600] = { 0 };
    ck_assert_rc(evl_stream_write(&s, chunk, 600));
    ck_assert_int_eq(evl_stream_write(&s, chunk, 500), -ENOBUFS);
    ck_assert_uint_eq(evl_stream_queued(&s), 600);
    ck_assert_rc(evl_stream_write(&s, chunk, 400));
    ck_assert_uint_eq(evl_stream_queued(&s), 1000);
    ck_assert_int_eq(evl_stream_write(&s, chunk, 1), -ENOBUFS);
    /* A refusal is not an error of the stream. */
    ck_assert_int_eq(evl_stream_error(&s), 0);
    ck_assert_int_eq(r.n_err, 0);
    evl_stream_free(&s);
    close_pair(p);
    bytes_free(&r.data);
}
END_TEST

/* ------------------------------------------------------------ close */

/* The reader takes 4 KiB per wakeup, so the close has to wait through
 * hundreds of partial writes before it may close the fd. */
START_TEST(test_stream_close_after_drain_with_slow_reader)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    const size_t total = (3 << 20) / 2;
    ck_assert_rc(write_pattern(&s, total));
    ck_assert_uint_gt(evl_stream_queued(&s), 1 << 20);
    ck_assert_int_eq(evl_stream_close(&s), 1);
    ck_assert_int_eq(r.n_close, 0);
    ck_assert(!fd_is_closed(sv[0]));

    struct sink k;
    sink_start(loop, &k, sv[1], 4096);
    run_until_sink_eof(loop, &k);
    ck_assert_uint_eq(k.got, total);
    ck_assert_uint_eq(k.mismatch, 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert_int_eq(r.n_err, 0);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_stream_fd(&s), -1);
    evl_stream_free(&s);
    close(sv[1]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_close_with_empty_queue_closes_at_once)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &raw_cbs);
    ck_assert_int_eq(evl_stream_close(&s), 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert(fd_is_closed(sv[0]));
    /* The peer sees EOF; a second close is refused. */
    char c;
    ck_assert_int_eq(read(sv[1], &c, 1), 0);
    ck_assert_int_eq(evl_stream_close(&s), -EBADF);
    ck_assert_int_eq(r.n_close, 1);
    evl_stream_free(&s);
    close(sv[1]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* NOCLOSE hands the fd back to the caller after the drain. */
START_TEST(test_stream_close_noclose_leaves_fd_open)
{
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], EVL_STREAM_NOCLOSE, &write_cbs));
    ck_assert_rc(evl_stream_write(&s, "x", 1));
    ck_assert_int_eq(evl_stream_close(&s), 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert(!fd_is_closed(sv[0]));
    evl_stream_free(&s);
    close_pair(sv);
    bytes_free(&r.data);
}
END_TEST

/* abort: the queue behind a full socket is dropped, the fd closed at
 * once, on_close called; a second abort is -EBADF. */
START_TEST(test_stream_abort_drops_queue_and_closes_now)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    set_nonblock(sv[0]);
    fill_fd(sv[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &write_cbs));
    ck_assert_rc(evl_stream_write(&s, "abc", 3));
    ck_assert_uint_eq(evl_stream_queued(&s), 3);
    ck_assert_int_eq(evl_stream_abort(&s), 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_stream_abort(&s), -EBADF);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert_int_eq(evl_stream_abort(NULL), -EINVAL);
    evl_stream_free(&s);
    close(sv[1]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_write_after_close_gives_eshutdown)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    set_nonblock(sv[0]);
    fill_fd(sv[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &write_cbs));
    ck_assert_rc(evl_stream_write(&s, "abc", 3));
    ck_assert_int_eq(evl_stream_close(&s), 1);
    ck_assert_int_eq(evl_stream_write(&s, "d", 1), -ESHUTDOWN);
    ck_assert_uint_eq(evl_stream_queued(&s), 3);
    ck_assert_int_eq(evl_stream_close(&s), 1);   /* still pending */
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* The far end of a synchronous close: a thread that reads to EOF. */
struct reader_arg {
    int fd;
    size_t got;
    size_t mismatch;
};

static void *reader_thread(void *p)
{
    struct reader_arg *a = p;
    char buf[4096];
    ssize_t n;
    while ((n = read(a->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n && a->mismatch == 0; i++)
            if ((unsigned char)buf[i] != pattern(a->got + (size_t)i))
                a->mismatch = a->got + (size_t)i + 1;
        a->got += (size_t)n;
    }
    return NULL;
}

/* Without a loop, close blocks in poll() until a reader on another
 * thread has taken everything, then closes. */
START_TEST(test_stream_close_without_loop_drains_synchronously)
{
    int sv[2];
    make_socketpair(sv);
    /* Non-blocking, so that the drain has to poll for POLLOUT. */
    set_nonblock(sv[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, &write_cbs));
    const size_t total = 1 << 20;
    ck_assert_rc(write_pattern(&s, total));
    ck_assert_uint_gt(evl_stream_queued(&s), 0);

    struct reader_arg a = { .fd = sv[1] };
    pthread_t th;
    ck_assert_rc(pthread_create(&th, NULL, reader_thread, &a));
    ck_assert_int_eq(evl_stream_close(&s), 0);
    ck_assert_rc(pthread_join(th, NULL));
    ck_assert_uint_eq(a.got, total);
    ck_assert_uint_eq(a.mismatch, 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert_int_eq(r.n_drain, 1);
    ck_assert(fd_is_closed(sv[0]));
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
}
END_TEST

/* A drain that cannot finish still closes the fd: on_error first, then
 * on_close, and close returns the error. */
START_TEST(test_stream_close_without_loop_reports_epipe_and_closes_fd)
{
    sigpipe_default();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    ck_assert_rc(evl_stream_write(&s, "queued", 6));
    close(p[0]);
    ck_assert_int_eq(evl_stream_close(&s), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert_str_eq(r.log, "ec");
    ck_assert(fd_is_closed(p[1]));
    ck_assert(!sigpipe_pending());
    evl_stream_free(&s);
    bytes_free(&r.data);
}
END_TEST

/* ------------------------------------------------------------ EPIPE, ECONNRESET */

/* SIGPIPE keeps its default (fatal) disposition here: surviving the
 * write is the point, MSG_NOSIGNAL is what makes it so. */
START_TEST(test_stream_write_to_closed_socket_gives_epipe_not_sigpipe)
{
    sigpipe_default();
    int sv[2];
    make_socketpair(sv);
    close(sv[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, &write_cbs));
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    /* Sticky, and reported once. */
    ck_assert_int_eq(evl_stream_write(&s, "y", 1), -EPIPE);
    ck_assert_int_eq(evl_stream_error(&s), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    evl_stream_free(&s);
    close(sv[0]);
    bytes_free(&r.data);
}
END_TEST

/* Pipes cannot use MSG_NOSIGNAL; the SIGPIPE guard has to do it. */
START_TEST(test_stream_write_to_closed_pipe_gives_epipe_not_sigpipe)
{
    sigpipe_default();
    int p[2];
    ck_assert_rc(pipe(p));
    close(p[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    ck_assert_int_eq(evl_stream_write(&s, "y", 1), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    evl_stream_free(&s);
    close(p[1]);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_pipe_epipe_leaves_mask_and_pending_set_clean)
{
    sigpipe_default();
    ck_assert(!sigpipe_blocked());
    int p[2];
    ck_assert_rc(pipe(p));
    close(p[0]);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, NULL));
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert(!sigpipe_blocked());
    ck_assert(!sigpipe_pending());
    evl_stream_free(&s);
    close(p[1]);
}
END_TEST

START_TEST(test_stream_pipe_epipe_keeps_a_sigpipe_that_was_already_pending)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ck_assert_rc(pthread_sigmask(SIG_BLOCK, &set, &old));
    int p[2];
    ck_assert_rc(pipe(p));
    close(p[0]);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, NULL));

    /* Blocked but not pending: the write's own SIGPIPE is consumed. */
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert(!sigpipe_pending());
    ck_assert(sigpipe_blocked());

    /* Pending before the write: it belongs to someone else and stays. */
    evl_stream_free(&s);
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, NULL));
    ck_assert_rc(raise(SIGPIPE));
    ck_assert(sigpipe_pending());
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert(sigpipe_pending());

    struct timespec zero = { 0, 0 };
    ck_assert_int_eq(sigtimedwait(&set, NULL, &zero), SIGPIPE);
    ck_assert_rc(pthread_sigmask(SIG_SETMASK, &old, NULL));
    evl_stream_free(&s);
    close(p[1]);
}
END_TEST

/* The same EPIPE found by the loop's writable callback instead of by
 * evl_stream_write, for queued data. */
START_TEST(test_stream_queued_write_to_closed_pipe_reports_epipe_from_loop)
{
    sigpipe_default();
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, p[1], 0, &write_cbs));
    ck_assert_rc(evl_stream_write(&s, "queued", 6));
    ck_assert_uint_eq(evl_stream_queued(&s), 6);
    close(p[0]);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert(!sigpipe_pending());
    /* The stream stopped watching: the dead pipe no longer wakes the loop. */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    evl_stream_free(&s);
    close(p[1]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* A reset (not a FIN) from the peer is an error, not an EOF. */
START_TEST(test_stream_peer_reset_reports_econnreset)
{
    sigpipe_default();
    evl_loop *loop = new_reactor();
    int c, sfd;
    tcp_pair(&c, &sfd);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, c, 0, &raw_cbs));
    reset_close(sfd);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -ECONNRESET);
    ck_assert_int_eq(r.n_eof, 0);
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -ECONNRESET);
    ck_assert_int_eq(r.n_err, 1);
    evl_stream_free(&s);
    close(c);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* ------------------------------------------------------------ reading */

START_TEST(test_stream_eof_is_delivered_after_the_data)
{
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe(p));
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    close(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, p[0], 0, &raw_cbs));
    ck_assert_int_eq(evl_stream_at_eof(&s), 0);
    run_until(loop, &r.n_eof, 1);
    ck_assert_str_eq(r.log, "rE");
    ck_assert_uint_eq(r.data.len, 3);
    ck_assert_int_eq(memcmp(r.data.p, "abc", 3), 0);
    ck_assert_int_eq(evl_stream_at_eof(&s), 1);
    /* Reading stopped: the hung-up pipe does not wake the loop again. */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(r.n_eof, 1);
    evl_stream_free(&s);
    close(p[0]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_init_with_loop_sets_nonblocking)
{
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe(p));
    evl_stream a = { 0 }, b = { 0 };
    ck_assert_rc(evl_stream_init(&a, NULL, p[0], 0, NULL));
    ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    ck_assert_rc(evl_stream_init(&b, loop, p[1], 0, NULL));
    ck_assert_int_ne(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
    evl_stream_free(&a);
    evl_stream_free(&b);
    close_pair(p);
    evl_loop_free(loop);
}
END_TEST

/* on_read takes one 4-byte record per call; the tail that is not a
 * record yet must wait for more bytes, not be dropped or repeated. */
START_TEST(test_stream_raw_read_keeps_unconsumed_bytes)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    struct rec r = { .action = ACT_RECORDS };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &raw_cbs);
    ck_assert_int_eq(write(sv[1], "aaaabbbbcc", 10), 10);
    run_until(loop, &r.n_read, 3);
    /* One record per call, called again while it consumes; the third
     * call took nothing. */
    ck_assert_str_eq(r.data.p, "aaaa|bbbb|");
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), 2);
    ck_assert_int_eq(write(sv[1], "cc", 2), 2);
    run_until(loop, &r.n_read, 4);
    ck_assert_str_eq(r.data.p, "aaaa|bbbb|cccc|");
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), 0);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* A consumer that never consumes must not grow the buffer forever. */
START_TEST(test_stream_rmax_overflow_gives_emsgsize)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    struct evl_stream_callbacks cbs = { .on_read = on_read_nothing, .on_error = on_error };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_stream_set_read_limits(&s, 10, 0));
    /* Exactly rmax: the error must come without waiting for more. */
    ck_assert_int_eq(write(sv[1], "0123456789", 10), 10);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EMSGSIZE);
    /* Never read past the cap. */
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), 10);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ framing */

/* A stream over sv[0] with a line framer (max_len 0 = default). */
static void framed_stream(evl_loop *loop, evl_stream *s, evl_framer *fr, int fd, size_t max)
{
    ck_assert_rc(evl_framer_init(fr, EVL_FRAMER_LINE, 0, max, NULL, 0));
    ck_assert_rc(evl_stream_init(s, loop, fd, 0, &msg_cbs));
    ck_assert_rc(evl_stream_set_framer(s, fr));
}

/* Frames do not care how the bytes were cut into writes. */
START_TEST(test_stream_line_framer_joins_split_writes)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "hel", 3), 3);
    ck_assert_int_eq(evl_loop_run_once(loop, 5000000000LL), 1);
    ck_assert_int_eq(r.n_msg, 0);
    ck_assert_int_eq(write(sv[1], "lo\nwor", 6), 6);
    run_until(loop, &r.n_msg, 1);
    ck_assert_str_eq(r.data.p, "hello|");
    ck_assert_int_eq(write(sv[1], "ld\n", 3), 3);
    run_until(loop, &r.n_msg, 2);
    ck_assert_str_eq(r.data.p, "hello|world|");
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* A callback that writes a reply and then runs the loop until its peer
 * has it (a nested run, as a blocking-style client does): the reply is
 * corked inside the delivery, so the nested run sends it first. */
START_TEST(test_stream_callback_running_the_loop_gets_its_corked_reply_sent)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_REPLY_WAIT, .wait_loop = loop, .wait_fd = sv[1] };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    write_all(sv[1], "ping\npong\n", 10);
    run_until(loop, &r.n_msg, 2);
    ck_assert_int_eq(r.replies_seen, 2);
    stream_pair_end(loop, &s, sv, &r);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_line_framer_delivers_unterminated_tail_at_eof)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nbc", 4), 4);
    close(sv[1]);
    run_until(loop, &r.n_eof, 1);
    ck_assert_str_eq(r.data.p, "a|bc|");
    ck_assert_str_eq(r.log, "mmE");
    evl_stream_free(&s);
    close(sv[0]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_framing_error_after_good_frames_delivers_them_first)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 4);
    const char in[] = "ab\ncd\nxxxxxxxxxx\nef\n";
    ck_assert_int_eq(write(sv[1], in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
    run_until(loop, &r.n_err, 1);
    ck_assert_str_eq(r.data.p, "ab|cd|");
    ck_assert_str_eq(r.log, "mme");
    ck_assert_int_eq(r.err, -EMSGSIZE);
    /* Nothing from the bad frame on was thrown away. */
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), strlen("xxxxxxxxxx\nef\n"));
    ck_assert_int_eq(evl_stream_error(&s), -EMSGSIZE);
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EMSGSIZE);
    /* Stopped: nothing more is read or reported. */
    ck_assert_int_eq(write(sv[1], "gh\n", 3), 3);
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(r.n_msg, 2);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

START_TEST(test_stream_frame_is_consumed_before_its_callback)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "one\ntwo\n", 8), 8);
    run_until(loop, &r.n_msg, 2);
    /* Inside the last callback only bytes after its frame were left. */
    ck_assert_uint_eq(r.rbuf_in_msg, 0);
    ck_assert_str_eq(r.data.p, "one|two|");
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ pause and resume */

/* Frames after the pause stay buffered, and new bytes stay in the
 * kernel, until reading resumes. */
START_TEST(test_stream_read_stop_in_on_message_holds_later_frames)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_AT, .pause_at = 1 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 1);
    ck_assert_int_eq(write(sv[1], "d\n", 2), 2);
    spin(loop);
    ck_assert_str_eq(r.data.p, "a|");
    /* Buffered, not lost. */
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), 4);
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

START_TEST(test_stream_read_start_delivers_buffered_frames_without_new_data)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_AT, .pause_at = 1 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 1);
    ck_assert_int_eq(write(sv[1], "d\n", 2), 2);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 1);
    /* Outside dispatch, resume delivers what is buffered before it
     * returns; "d" is still in the kernel and comes with the loop. */
    ck_assert_rc(evl_stream_read_start(&s));
    ck_assert_str_eq(r.data.p, "a|b|c|");
    run_until(loop, &r.n_msg, 4);
    ck_assert_str_eq(r.data.p, "a|b|c|d|");
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

struct resume {
    evl_stream *s;
    evl_loop *loop;
};

/* Resumes, then stops the loop so run_once returns without a wait: no
 * new bytes arrive, so only the resume itself can deliver. */
static void resume_timer(evl_timer *t)
{
    struct resume *rs = t->data;
    ck_assert_rc(evl_stream_read_start(rs->s));
    evl_loop_stop(rs->loop);
}

START_TEST(test_stream_eof_waits_while_paused_and_follows_resume)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_AT, .pause_at = 2 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb", 3), 3);
    run_until(loop, &r.n_msg, 1);
    /* EOF makes "b" a final frame; its callback pauses, so EOF waits. */
    close(sv[1]);
    run_until(loop, &r.n_msg, 2);
    spin(loop);
    ck_assert_int_eq(r.n_eof, 0);
    ck_assert_rc(evl_stream_read_start(&s));
    ck_assert_str_eq(r.log, "mmE");
    ck_assert_str_eq(r.data.p, "a|b|");
    evl_stream_free(&s);
    close(sv[0]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_read_start_from_timer_resumes_buffered_frames)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_AT, .pause_at = 1 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 1);
    struct resume rs = { &s, loop };
    evl_timer t = { .data = &rs };
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_rc(evl_timer_start(&t, resume_timer, 0, 0));
    run_until(loop, &r.n_msg, 3);
    ck_assert_str_eq(r.data.p, "a|b|c|");
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* A resume nested in the delivery loop must not start a second loop. */
START_TEST(test_stream_read_stop_then_start_in_on_message_keeps_delivering)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_RESUME };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 3);
    ck_assert_str_eq(r.data.p, "a|b|c|");
    /* Each frame once: the nested read_start did not deliver again. */
    ck_assert_str_eq(r.log, "mmm");
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

/* close stops reading at once, even between frames of one read. */
START_TEST(test_stream_close_in_on_message_stops_delivery)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_CLOSE_FIRST };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_close, 1);
    spin(loop);
    ck_assert_str_eq(r.data.p, "a|");
    ck_assert_str_eq(r.log, "mc");
    ck_assert(fd_is_closed(sv[0]));
    evl_stream_free(&s);
    close(sv[1]);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* ------------------------------------------------------------ freeing from callbacks */

/* The stream's memory is gone when on_message returns; the remaining
 * frames must not be delivered from freed memory (valgrind checks the
 * rest). */
START_TEST(test_stream_free_inside_on_message)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    evl_framer fr;
    framed_stream(loop, s, &fr, sv[0], 0);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 1);
    ck_assert_int_eq(write(sv[1], "d\n", 2), 2);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 1);
    ck_assert_ptr_null(evl_loop_watcher_for_fd(loop, sv[0]));
    close_pair(sv);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* As above, for on_error raised by a framing error in dispatch. */
START_TEST(test_stream_free_inside_on_error_from_dispatch)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    evl_framer fr;
    framed_stream(loop, s, &fr, sv[0], 2);
    ck_assert_int_eq(write(sv[1], "abcdef\n", 7), 7);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EMSGSIZE);
    spin(loop);
    ck_assert_int_eq(r.n_err, 1);
    close_pair(sv);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* As above, for on_error raised inside evl_stream_write itself. */
START_TEST(test_stream_free_inside_on_error_from_write)
{
    sigpipe_default();
    int sv[2];
    make_socketpair(sv);
    close(sv[1]);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, NULL, sv[0], 0, &write_cbs));
    /* on_error frees s inside the write; the write must not touch it. */
    ck_assert_int_eq(evl_stream_write(s, "x", 1), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    close(sv[0]);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_free_inside_on_error_during_close_still_closes_fd)
{
    sigpipe_default();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    fill_fd(p[1]);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, NULL, p[1], 0, &write_cbs));
    ck_assert_rc(evl_stream_write(s, "queued", 6));
    close(p[0]);
    /* The fd goes before on_error runs, so freeing there cannot leak it;
     * on_close is not called on a stream that no longer exists. */
    ck_assert_int_eq(evl_stream_close(s), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.n_close, 0);
    ck_assert(fd_is_closed(p[1]));
    bytes_free(&r.data);
}
END_TEST

/* on_message writes a reply to a dead peer and flushes it at once (a
 * write alone is batched until the delivery ends); the nested on_error
 * frees the stream two callbacks deep. */
static void echo_into_dead_peer(evl_stream *s, const char *msg, size_t len)
{
    struct rec *r = s->data;
    r->n_msg++;
    ck_assert_int_eq(evl_stream_write(s, msg, len), 0);
    ck_assert_int_eq(evl_stream_flush(s), -EPIPE);
}

/* Replies written by on_message leave together after the delivery: while
 * the second line is handled, the peer has not seen the first reply. */
struct batch_rec {
    int peer;
    int n_msg;
    int peer_saw_early;
};

static void echo_and_peek(evl_stream *s, const char *msg, size_t len)
{
    struct batch_rec *b = s->data;
    char c;
    if (b->n_msg++ > 0 && recv(b->peer, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        b->peer_saw_early = 1;
    ck_assert_int_eq(evl_stream_write(s, msg, len), 0);
    ck_assert_int_eq(evl_stream_write(s, "\n", 1), 0);
}

START_TEST(test_stream_writes_during_delivery_leave_in_one_batch)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct batch_rec b = { .peer = sv[1] };
    evl_stream s = { .data = &b };
    struct evl_stream_callbacks cbs = { .on_message = echo_and_peek };
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_stream_set_framer(&s, &fr));
    ck_assert_int_eq(write(sv[1], "one\ntwo\nthree\n", 14), 14);
    run_until(loop, &b.n_msg, 3);
    ck_assert_int_eq(b.peer_saw_early, 0);
    /* And all of it arrived, in order, right after the delivery. */
    char buf[64];
    ck_assert_int_eq(read(sv[1], buf, sizeof(buf)), 14);
    ck_assert_mem_eq(buf, "one\ntwo\nthree\n", 14);
    ck_assert_int_eq(evl_stream_queued(&s), 0);
    evl_stream_free(&s);
    close_pair(sv);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_stream_free_in_nested_on_error_stops_outer_delivery)
{
    sigpipe_default();
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    struct evl_stream_callbacks cbs = { .on_message = echo_into_dead_peer,
                                        .on_error = on_error };
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
    ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_stream_set_framer(s, &fr));
    ck_assert_int_eq(write(sv[1], "a\nb\n", 4), 4);
    ck_assert_rc(shutdown(sv[1], SHUT_RD));
    run_until(loop, &r.n_err, 1);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 1);
    ck_assert_int_eq(r.n_err, 1);
    close_pair(sv);
    evl_loop_free(loop);
    bytes_free(&r.data);
}
END_TEST

/* ------------------------------------------------------------ caller-driven */

/* The caller-driven read path a blocking PerlIO handle uses. */
START_TEST(test_stream_fill_without_loop_reads_and_reports_eof)
{
    int p[2];
    ck_assert_rc(pipe(p));
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, p[0], 0, NULL));
    ck_assert_int_eq(write(p[1], "hello", 5), 5);
    ck_assert_int_eq(evl_stream_fill(&s), 5);
    evl_buf *b = evl_stream_rbuf(&s);
    ck_assert_uint_eq(evl_buf_len(b), 5);
    ck_assert_int_eq(memcmp(evl_buf_data(b), "hello", 5), 0);
    evl_buf_consume(b, 5);
    set_nonblock(p[0]);
    ck_assert_int_eq(evl_stream_fill(&s), -EAGAIN);
    ck_assert_int_eq(evl_stream_at_eof(&s), 0);
    close(p[1]);
    ck_assert_int_eq(evl_stream_fill(&s), 0);
    ck_assert_int_eq(evl_stream_at_eof(&s), 1);
    evl_stream_free(&s);
    close(p[0]);
}
END_TEST

START_TEST(test_stream_fill_stops_at_rmax)
{
    int p[2];
    ck_assert_rc(pipe(p));
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, p[0], 0, NULL));
    ck_assert_rc(evl_stream_set_read_limits(&s, 4, 0));
    ck_assert_int_eq(write(p[1], "abcdef", 6), 6);
    ck_assert_int_eq(evl_stream_fill(&s), 4);
    ck_assert_int_eq(evl_stream_fill(&s), -EMSGSIZE);
    /* Not sticky: consuming makes room again. */
    evl_buf_consume(evl_stream_rbuf(&s), 4);
    ck_assert_int_eq(evl_stream_fill(&s), 2);
    ck_assert_int_eq(evl_stream_error(&s), 0);
    evl_stream_free(&s);
    close_pair(p);
}
END_TEST

/* flush never blocks: it returns what is still queued. */
START_TEST(test_stream_flush_without_loop_writes_what_fits)
{
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    size_t filled = fill_fd(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, &write_cbs));
    static char out[10000];
    fill_pattern(out, 0, sizeof(out));
    ck_assert_rc(evl_stream_write(&s, out, sizeof(out)));
    ck_assert_int_eq(evl_stream_flush(&s), (ssize_t)sizeof(out));
    discard(p[0], filled);
    ck_assert_int_eq(evl_stream_flush(&s), 0);
    ck_assert_int_eq(r.n_drain, 1);
    /* Flushing an empty queue drains nothing. */
    ck_assert_int_eq(evl_stream_flush(&s), 0);
    ck_assert_int_eq(r.n_drain, 1);
    static char in[10000];
    ck_assert_int_eq(read(p[0], in, sizeof(in)), (ssize_t)sizeof(in));
    ck_assert_int_eq(memcmp(in, out, sizeof(in)), 0);
    evl_stream_free(&s);
    close_pair(p);
    bytes_free(&r.data);
}
END_TEST

/* flush_wait with a thread reading sv[1]: every byte of the pattern
 * arrives; then s is freed and the pair closed. */
static void flush_wait_to_reader(evl_stream *s, int sv[2], size_t total)
{
    struct reader_arg a = { .fd = sv[1] };
    pthread_t th;
    ck_assert_rc(pthread_create(&th, NULL, reader_thread, &a));
    ck_assert_rc(evl_stream_flush_wait(s));
    ck_assert_uint_eq(evl_stream_queued(s), 0);
    ck_assert_rc(shutdown(sv[0], SHUT_WR));
    ck_assert_rc(pthread_join(th, NULL));
    ck_assert_uint_eq(a.got, total);
    ck_assert_uint_eq(a.mismatch, 0);
    evl_stream_free(s);
    close_pair(sv);
}

/* On a blocking socket too (a PerlIO handle's): the kernel takes what it
 * has room for, the rest stays queued, and flush_wait then waits. */
START_TEST(test_stream_flush_on_blocking_socket_never_blocks)
{
    int sv[2];
    make_socketpair(sv);   /* both ends blocking */
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, NULL));
    const size_t total = 4 << 20;   /* far beyond a socketpair's buffer */
    ck_assert_rc(write_pattern(&s, total));
    ssize_t left = evl_stream_flush(&s);
    ck_assert_int_gt(left, 0);
    ck_assert_int_lt(left, (ssize_t)total);
    ck_assert_int_eq(evl_stream_error(&s), 0);
    flush_wait_to_reader(&s, sv, total);
}
END_TEST

/* flush_wait blocks until the queue is empty, whatever the fd mode. */
START_TEST(test_stream_flush_wait_blocks_until_written)
{
    int sv[2];
    make_socketpair(sv);
    set_nonblock(sv[0]);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, NULL));
    const size_t total = 1 << 20;
    ck_assert_rc(write_pattern(&s, total));
    ck_assert_uint_gt(evl_stream_queued(&s), 0);
    flush_wait_to_reader(&s, sv, total);
}
END_TEST

/* ------------------------------------------------------------ arguments */

START_TEST(test_stream_bad_arguments)
{
    int p[2];
    ck_assert_rc(pipe(p));
    evl_stream s = { 0 };
    ck_assert_int_eq(evl_stream_init(NULL, NULL, p[0], 0, NULL), -EINVAL);
    ck_assert_int_eq(evl_stream_init(&s, NULL, -1, 0, NULL), -EBADF);
    ck_assert_int_eq(evl_stream_init(&s, NULL, p[0], 0x100, NULL), -EINVAL);
    int dead = dup(p[0]);
    close(dead);
    ck_assert_int_eq(evl_stream_init(&s, NULL, dead, 0, NULL), -EBADF);

    ck_assert_rc(evl_stream_init(&s, NULL, p[1], 0, NULL));
    ck_assert_int_eq(evl_stream_write(NULL, "x", 1), -EINVAL);
    ck_assert_int_eq(evl_stream_write(&s, NULL, 1), -EINVAL);
    ck_assert_int_eq(evl_stream_writev(&s, NULL, 1), -EINVAL);
    struct iovec iov = { "x", 1 };
    ck_assert_int_eq(evl_stream_writev(&s, &iov, -1), -EINVAL);
    ck_assert_int_eq(evl_stream_write_message(&s, "x", 1), -EINVAL);   /* no framer */
    ck_assert_int_eq(evl_stream_set_watermarks(&s, 10, 5, 0), -EINVAL);
    ck_assert_int_eq(evl_stream_read_start(&s), -EINVAL);              /* no loop */
    ck_assert_int_eq(evl_stream_fill(NULL), -EINVAL);
    ck_assert_int_eq(evl_stream_flush(NULL), -EINVAL);
    ck_assert_int_eq(evl_stream_flush_wait(NULL), -EINVAL);
    ck_assert_int_eq(evl_stream_close(NULL), -EINVAL);
    ck_assert_int_eq(evl_stream_error(NULL), -EINVAL);
    ck_assert_int_eq(evl_stream_fd(NULL), -EINVAL);

    ck_assert_int_eq(evl_stream_close(&s), 0);
    ck_assert_int_eq(evl_stream_fill(&s), -EBADF);
    ck_assert_int_eq(evl_stream_flush(&s), -EBADF);
    ck_assert_int_eq(evl_stream_close(&s), -EBADF);
    evl_stream_free(&s);
    close(p[0]);
}
END_TEST

START_TEST(test_stream_read_start_without_consumer_is_einval)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    make_socketpair(sv);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &write_cbs));
    ck_assert_int_eq(evl_stream_read_start(&s), -EINVAL);
    evl_stream_free(&s);
    close_pair(sv);
    evl_loop_free(loop);
}
END_TEST

/* ------------------------------------------------------------ set_loop */

START_TEST(test_stream_set_loop_moves_reading_to_the_new_loop)
{
    evl_loop *a = new_reactor(), *b = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s;
    s.data = &r;
    ck_assert_rc(evl_stream_init(&s, a, sv[0], 0, &raw_cbs));
    ck_assert_int_eq(write(sv[1], "one", 3), 3);
    run_until(a, &r.n_read, 1);
    ck_assert_rc(evl_stream_set_loop(&s, b));
    ck_assert_rc(evl_stream_set_loop(&s, b));   /* already there: nothing to do */
    ck_assert_int_eq(write(sv[1], "two", 3), 3);
    /* The old loop no longer watches the fd. */
    ck_assert_int_eq(evl_loop_run_once(a, 0), 0);
    ck_assert_int_eq(r.n_read, 1);
    run_until(b, &r.n_read, 2);
    ck_assert_int_eq(r.data.len, 6);
    ck_assert(memcmp(r.data.p, "onetwo", 6) == 0);
    evl_stream_free(&s);
    close_pair(sv);
    evl_loop_free(a);
    evl_loop_free(b);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_set_loop_keeps_the_queue_and_writes_behind_on_the_new_loop)
{
    evl_loop *a = new_reactor(), *b = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s;
    s.data = &r;
    ck_assert_rc(evl_stream_init(&s, a, sv[0], 0, &write_cbs));
    const size_t total = 1024 * 1024;
    ck_assert_rc(write_pattern(&s, total));
    size_t queued = evl_stream_queued(&s);
    ck_assert_uint_gt(queued, 0);
    ck_assert_rc(evl_stream_set_loop(&s, b));
    ck_assert_uint_eq(evl_stream_queued(&s), queued);
    struct sink k;
    sink_start(b, &k, sv[1], 0);
    spin(a);
    ck_assert_int_eq(r.n_drain, 0);   /* nothing is written from the old loop */
    run_until(b, &r.n_drain, 1);
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    evl_stream_free(&s);
    close(sv[0]);
    run_until_sink_eof(b, &k);
    ck_assert_uint_eq(k.got, total);
    ck_assert_uint_eq(k.mismatch, 0);
    close(sv[1]);
    evl_loop_free(a);
    evl_loop_free(b);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_stream_set_loop_null_makes_it_caller_driven_and_back)
{
    evl_loop *a = new_reactor(), *b = new_reactor();
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s;
    s.data = &r;
    ck_assert_rc(evl_stream_init(&s, a, sv[0], 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_loop(&s, NULL));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_int_eq(evl_loop_run_once(a, 0), 0);
    ck_assert_int_eq(r.n_read, 0);
    /* Caller-driven: fill reads, nothing is delivered. */
    ck_assert_int_eq(evl_stream_fill(&s), 1);
    ck_assert_int_eq(evl_buf_len(evl_stream_rbuf(&s)), 1);
    /* Reading is still started: on b the buffered byte comes out with
     * the next ones, no callback runs inside set_loop. */
    ck_assert_rc(evl_stream_set_loop(&s, b));
    ck_assert_int_eq(r.n_read, 0);
    ck_assert_int_eq(write(sv[1], "y", 1), 1);
    run_until(b, &r.n_read, 1);
    ck_assert_int_eq(r.data.len, 2);
    ck_assert(memcmp(r.data.p, "xy", 2) == 0);
    evl_stream_free(&s);
    close_pair(sv);
    evl_loop_free(a);
    evl_loop_free(b);
    bytes_free(&r.data);
}
END_TEST

static int set_loop_rc_in_cb = 1;
static evl_loop *set_loop_target;

static size_t on_read_set_loop(evl_stream *s, const char *p, size_t len)
{
    (void)p;
    set_loop_rc_in_cb = evl_stream_set_loop(s, set_loop_target);
    return len;
}

START_TEST(test_stream_set_loop_refusals_leave_the_stream_where_it_is)
{
    evl_loop *a = new_reactor(), *b = new_reactor();
    ck_assert_int_eq(evl_stream_set_loop(NULL, a), -EINVAL);

    /* From one of its own callbacks. */
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s;
    s.data = &r;
    struct evl_stream_callbacks cb = { .on_read = on_read_set_loop };
    set_loop_target = b;
    ck_assert_rc(evl_stream_init(&s, a, sv[0], 0, &cb));
    ck_assert_int_eq(write(sv[1], "z", 1), 1);
    ck_assert_int_ge(evl_loop_run_once(a, 5000000000LL), 1);
    ck_assert_int_eq(set_loop_rc_in_cb, -EBUSY);
    evl_stream_free(&s);

    /* Closing (the close waits for the queue), then closed. */
    s.data = &r;
    ck_assert_rc(evl_stream_init(&s, a, sv[0], EVL_STREAM_NOCLOSE, &write_cbs));
    ck_assert_rc(write_pattern(&s, 1024 * 1024));
    ck_assert_int_eq(evl_stream_close(&s), 1);
    ck_assert_int_eq(evl_stream_set_loop(&s, b), -ESHUTDOWN);
    ck_assert_int_eq(evl_stream_abort(&s), 0);
    ck_assert_int_eq(evl_stream_set_loop(&s, b), -EBADF);
    evl_stream_free(&s);
    ck_assert_int_eq(evl_stream_set_loop(&s, b), -EBADF);
    close_pair(sv);
    evl_loop_free(a);
    evl_loop_free(b);
    bytes_free(&r.data);
}
END_TEST

/* epoll refuses a regular file (EPERM), and the loop takes such an fd as
 * always ready: a caller-driven stream with bytes queued joins a reactor,
 * and the loop writes its queue out. */
START_TEST(test_stream_set_loop_regular_file_joins_reactor_and_drains)
{
    evl_loop *a = new_reactor();
    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    int fd = fileno(tmp);
    evl_stream s;
    ck_assert_rc(evl_stream_init(&s, NULL, fd, EVL_STREAM_NOCLOSE, NULL));
    ck_assert_rc(evl_stream_queue(&s, "abc", 3));
    ck_assert_rc(evl_stream_set_loop(&s, a));
    for (int i = 0; i < 10 && evl_stream_queued(&s) > 0; i++)
        ck_assert_int_ge(evl_loop_run_once(a, 0), 0);
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    char buf[4] = { 0 };
    ck_assert_int_eq(pread(fd, buf, 3, 0), 3);
    ck_assert_str_eq(buf, "abc");
    evl_stream_free(&s);
    fclose(tmp);
    evl_loop_free(a);
}
END_TEST

/* ------------------------------------------------------------ suite */


/* A peer that sends exactly the small idle read's size each time makes
 * the stream alternate between the small read and a read_size one (the
 * small read came back full, so the next one asks for read_size, which
 * then finds little or nothing).  The read_size buffer such a read gives
 * back, and the small one it replaced, wait in the loop's spare slots,
 * and the next reads (of any stream of the loop) take them back instead
 * of a posix_memalign and a free each per event; the idle stream itself
 * keeps at most a small buffer. */
static const char *seen_base, *seen_small;
static int tail_fd = -1;

static size_t on_read_note_base(evl_stream *s, const char *p, size_t len)
{
    (void)p;
    if (len == 512) {
        seen_small = evl_stream_rbuf(s)->base;
        /* The follow-up read_size read will find these 100 bytes. */
        static const char tail[100];
        write_all(tail_fd, tail, sizeof(tail));
    } else if (len == 100) {
        seen_base = evl_stream_rbuf(s)->base;
    }
    return len;
}

START_TEST(test_stream_big_read_reuses_the_buffer_the_loop_kept)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    struct rec r = { 0 };
    static const struct evl_stream_callbacks cbs = { .on_read = on_read_note_base };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &cbs);
    tail_fd = sv[1];
    static const char small[512];
    const char *kept = NULL, *kept_small = NULL;
    for (int round = 0; round < 4; round++) {
        seen_base = NULL;
        write_all(sv[1], small, sizeof(small));
        for (int i = 0; i < 100 && seen_base == NULL; i++)
            ck_assert_int_ge(evl_loop_run_once(loop, 10 * 1000000ll), 0);
        ck_assert_ptr_nonnull(seen_base);
        spin(loop);
        ck_assert_uint_le(evl_stream_rbuf_capacity(&s), 512);
        ck_assert_ptr_nonnull(loop->rbuf_spare);
        /* From the second round the big read takes the kept big buffer
         * and keeps the small one; from the third the small read takes
         * that back. */
        if (kept != NULL)
            ck_assert_ptr_eq(seen_base, kept);
        if (kept_small != NULL)
            ck_assert_ptr_eq(seen_small, kept_small);
        kept = loop->rbuf_spare;
        kept_small = loop->rbuf_spare_small;
        if (round > 0)
            ck_assert_ptr_nonnull(kept_small);
    }
    stream_pair_end(loop, &s, sv, &r);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("write");
    tcase_add_test(tc, test_stream_direct_write_queues_nothing_when_fd_has_room);
    tcase_add_test(tc, test_stream_write_behind_delivers_every_byte_in_order);
    tcase_add_test(tc, test_stream_writev_queues_the_unwritten_pieces_in_order);
    tcase_add_test(tc, test_stream_write_message_frames_payload_with_encoder);
    suite_add_tcase(s, tc);

    tc = tcase_create("watermarks");
    tcase_add_test(tc, test_stream_high_water_fires_once_when_queue_passes_high);
    tcase_add_test(tc, test_stream_low_water_fires_once_when_queue_falls_to_low);
    tcase_add_test(tc, test_stream_drain_fires_once_when_queue_empties);
    tcase_add_test(tc, test_stream_wmax_refuses_writes_that_would_exceed_it);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    tcase_add_test(tc, test_stream_close_after_drain_with_slow_reader);
    tcase_add_test(tc, test_stream_close_with_empty_queue_closes_at_once);
    tcase_add_test(tc, test_stream_close_noclose_leaves_fd_open);
    tcase_add_test(tc, test_stream_abort_drops_queue_and_closes_now);
    tcase_add_test(tc, test_stream_write_after_close_gives_eshutdown);
    tcase_add_test(tc, test_stream_close_without_loop_drains_synchronously);
    tcase_add_test(tc, test_stream_close_without_loop_reports_epipe_and_closes_fd);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_stream_write_to_closed_socket_gives_epipe_not_sigpipe);
    tcase_add_test(tc, test_stream_write_to_closed_pipe_gives_epipe_not_sigpipe);
    tcase_add_test(tc, test_stream_pipe_epipe_leaves_mask_and_pending_set_clean);
    tcase_add_test(tc, test_stream_pipe_epipe_keeps_a_sigpipe_that_was_already_pending);
    tcase_add_test(tc, test_stream_queued_write_to_closed_pipe_reports_epipe_from_loop);
    tcase_add_test(tc, test_stream_peer_reset_reports_econnreset);
    suite_add_tcase(s, tc);

    tc = tcase_create("read");
    tcase_add_test(tc, test_stream_eof_is_delivered_after_the_data);
    tcase_add_test(tc, test_stream_init_with_loop_sets_nonblocking);
    tcase_add_test(tc, test_stream_raw_read_keeps_unconsumed_bytes);
    tcase_add_test(tc, test_stream_rmax_overflow_gives_emsgsize);
    tcase_add_test(tc, test_stream_big_read_reuses_the_buffer_the_loop_kept);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_test(tc, test_stream_line_framer_joins_split_writes);
    tcase_add_test(tc, test_stream_callback_running_the_loop_gets_its_corked_reply_sent);
    tcase_add_test(tc, test_stream_line_framer_delivers_unterminated_tail_at_eof);
    tcase_add_test(tc, test_stream_framing_error_after_good_frames_delivers_them_first);
    tcase_add_test(tc, test_stream_frame_is_consumed_before_its_callback);
    suite_add_tcase(s, tc);

    tc = tcase_create("pause");
    tcase_add_test(tc, test_stream_read_stop_in_on_message_holds_later_frames);
    tcase_add_test(tc, test_stream_read_start_delivers_buffered_frames_without_new_data);
    tcase_add_test(tc, test_stream_read_start_from_timer_resumes_buffered_frames);
    tcase_add_test(tc, test_stream_eof_waits_while_paused_and_follows_resume);
    tcase_add_test(tc, test_stream_read_stop_then_start_in_on_message_keeps_delivering);
    tcase_add_test(tc, test_stream_close_in_on_message_stops_delivery);
    suite_add_tcase(s, tc);

    tc = tcase_create("free");
    tcase_add_test(tc, test_stream_free_inside_on_message);
    tcase_add_test(tc, test_stream_free_inside_on_error_from_dispatch);
    tcase_add_test(tc, test_stream_free_inside_on_error_from_write);
    tcase_add_test(tc, test_stream_free_inside_on_error_during_close_still_closes_fd);
    tcase_add_test(tc, test_stream_free_in_nested_on_error_stops_outer_delivery);
    tcase_add_test(tc, test_stream_writes_during_delivery_leave_in_one_batch);
    suite_add_tcase(s, tc);

    tc = tcase_create("caller-driven");
    tcase_add_test(tc, test_stream_fill_without_loop_reads_and_reports_eof);
    tcase_add_test(tc, test_stream_fill_stops_at_rmax);
    tcase_add_test(tc, test_stream_flush_without_loop_writes_what_fits);
    tcase_add_test(tc, test_stream_flush_on_blocking_socket_never_blocks);
    tcase_add_test(tc, test_stream_flush_wait_blocks_until_written);
    tcase_add_test(tc, test_stream_bad_arguments);
    tcase_add_test(tc, test_stream_read_start_without_consumer_is_einval);
    suite_add_tcase(s, tc);

    tc = tcase_create("set_loop");
    tcase_add_test(tc, test_stream_set_loop_moves_reading_to_the_new_loop);
    tcase_add_test(tc, test_stream_set_loop_keeps_the_queue_and_writes_behind_on_the_new_loop);
    tcase_add_test(tc, test_stream_set_loop_null_makes_it_caller_driven_and_back);
    tcase_add_test(tc, test_stream_set_loop_refusals_leave_the_stream_where_it_is);
    tcase_add_test(tc, test_stream_set_loop_regular_file_joins_reactor_and_drains);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(stream_suite());
}
