/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_stream_proactor.c - evl_stream on a proactor loop: the same API
 * and bytes as the reactor engine, driven by completions.
 *
 * Every test runs on both proactor backends (tcase_add_loop_test: 0 is
 * io_uring, 1 the fake backend; io_uring is skipped where the kernel
 * refuses it, and EVL_TEST_BACKEND=fake or =uring picks one: valgrind
 * 3.19 neither sees what io_uring writes into buffers nor treats
 * io_uring_enter as blocking).  Peers are socketpairs, pipes, a loopback TCP pair and
 * unlinked temporary files; everything synchronises through the loop or
 * blocking calls, never by sleeping.  Streams that are freed with
 * operations in flight leave them to the loop, so every test ends with
 * loop_done(), which reaps those before freeing the loop.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"
#include "stream-harness.h"
#include "stream-internal.h"   /* evl__stream_px_file_stats, evl__stream_px_set_nowait */

/* ------------------------------------------------------------ loops */

static const unsigned backend_flags[] = { EVL_BACKEND_URING, EVL_BACKEND_FAKE };
static int first_backend;        /* 1 when the kernel refuses io_uring */
static int end_backend = 2;      /* one past the last backend to run */

static evl_loop *new_loop(int backend)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR, backend_flags[backend]));
    return loop;
}

static void run_until_size(evl_loop *loop, const size_t *count, size_t want)
{
    while (*count < want) {
        int n = evl_loop_run_once(loop, 5000000000LL);
        ck_assert_int_ge(n, 0);
        ck_assert_msg(n > 0 || *count >= want, "loop went idle before the bytes");
    }
    ck_assert_uint_eq(*count, want);
}

/* ------------------------------------------------------------ data */

/* xorshift32: reproducible "random" sizes. */
static uint32_t rnd(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static size_t rnd_between(uint32_t *state, size_t lo, size_t hi)
{
    return lo + rnd(state) % (hi - lo + 1);
}

/* Lines of random length and content (printable, never '\n' inside). */
static char *make_lines(uint32_t seed, size_t nlines, size_t *len_out)
{
    size_t cap = nlines * 202 + 1, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < nlines; i++) {
        size_t n = rnd_between(&seed, 0, 200);
        for (size_t j = 0; j < n; j++)
            buf[len++] = (char)('!' + rnd(&seed) % 90);
        buf[len++] = '\n';
    }
    *len_out = len;
    return buf;
}

/* ------------------------------------------------------------ fds */

/* An unlinked temporary file holding content[0..len), position 0. */
static int make_file(const char *content, size_t len)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/evl-stream-px-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_rc(unlink(path));
    write_all(fd, content, len);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static char *pattern_buf(size_t off, size_t n)
{
    char *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    fill_pattern(p, off, n);
    return p;
}

/* Writes total pattern bytes in pieces of random size. */
static int write_pattern_random(evl_stream *s, size_t total, uint32_t seed)
{
    static char buf[70000];
    size_t off = 0;
    while (off < total) {
        size_t n = rnd_between(&seed, 1, sizeof(buf));
        if (n > total - off)
            n = total - off;
        fill_pattern(buf, off, n);
        int rc = evl_stream_write(s, buf, n);
        if (rc != 0)
            return rc;
        off += n;
    }
    return 0;
}

/* ------------------------------------------------------------ echo, write-behind */

/* The server echoes whatever it reads; the client writes 2 MiB in random
 * pieces and checks every byte that comes back.  Random read sizes on
 * both ends cut the stream at different places each way. */
static size_t echo_read(evl_stream *s, const char *p, size_t len)
{
    ck_assert_int_eq(evl_stream_write(s, p, len), 0);
    return len;
}

START_TEST(test_px_echo_over_socketpair_returns_identical_bytes)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    uint32_t seed = 0x9e3779b9u;
    struct evl_stream_callbacks echo_cbs = { .on_read = echo_read, .on_error = on_error };
    struct rec rs = { 0 }, rc = { .check = 1 };
    evl_stream server = { .data = &rs }, client = { .data = &rc };
    ck_assert_rc(evl_stream_init(&server, loop, sv[0], 0, &echo_cbs));
    ck_assert_rc(evl_stream_init(&client, loop, sv[1], 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_read_limits(&server, 0, rnd_between(&seed, 1, 100000)));
    ck_assert_rc(evl_stream_set_read_limits(&client, 0, rnd_between(&seed, 1, 100000)));
    const size_t total = 2 << 20;
    ck_assert_rc(write_pattern_random(&client, total, seed));
    run_until_size(loop, &rc.got, total);
    ck_assert_uint_eq(rc.mismatch, 0);
    ck_assert_int_eq(rs.n_err + rc.n_err, 0);
    evl_stream_free(&server);
    evl_stream_free(&client);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* 1 MiB cannot fit a 64 KiB send buffer: sends complete short, and what
 * the stream is asked to write meanwhile must queue behind the one in
 * flight.  The sink takes 4 KiB per wakeup and checks every position. */
START_TEST(test_px_write_behind_to_slow_reader_delivers_every_byte_in_order)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    const size_t total = 1 << 20;
    ck_assert_rc(write_pattern_random(&s, total, 12345));
    /* Every write queues on a proactor; the loop sends it. */
    ck_assert_uint_eq(evl_stream_queued(&s), total);
    struct sink k;
    sink_start(loop, &k, sv[1], 4096);
    run_until(loop, &r.n_drain, 1);
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    run_until_size(loop, &k.got, total);
    ck_assert_uint_eq(k.mismatch, 0);
    ck_assert_int_eq(r.n_err, 0);
    evl_watcher_stop(&k.w);
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* Writes issued from on_drain go out too (they land in the buffer the
 * completion just emptied). */
static void drain_writes_more(evl_stream *s)
{
    struct rec *r = s->data;
    r->n_drain++;
    if (r->n_drain < 4) {
        char buf[1000];
        fill_pattern(buf, (size_t)r->n_drain * sizeof(buf), sizeof(buf));
        ck_assert_rc(evl_stream_write(s, buf, sizeof(buf)));
    }
}

START_TEST(test_px_write_from_on_drain_is_sent)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    struct evl_stream_callbacks cbs = { .on_drain = drain_writes_more, .on_error = on_error };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    char buf[1000];
    fill_pattern(buf, 0, sizeof(buf));
    ck_assert_rc(evl_stream_write(&s, buf, sizeof(buf)));
    run_until(loop, &r.n_drain, 4);
    struct sink k;
    sink_start(loop, &k, sv[1], 0);
    run_until_size(loop, &k.got, 4000);
    ck_assert_uint_eq(k.mismatch, 0);
    evl_watcher_stop(&k.w);
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ watermarks */

/* The socket is full before the stream exists, so the first send cannot
 * complete; on_drain must wait for the peer to make room. */
START_TEST(test_px_watermarks_fire_high_then_low_then_drain)
{
    evl_loop *loop = new_loop(_i);
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
    ck_assert_int_eq(r.n_high, 1);
    spin(loop);
    ck_assert_int_eq(r.n_drain, 0);
    discard(sv[1], filled);
    run_until(loop, &r.n_drain, 1);
    ck_assert_str_eq(r.log, "hld");
    char buf[64];
    ck_assert_int_eq(read(sv[1], buf, sizeof(buf)), 32);
    ck_assert_int_eq(memcmp(buf, "0123456789abcdefghijklmnopqrstuv", 32), 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* wmax counts the bytes in flight and the ones queued behind them. */
START_TEST(test_px_wmax_counts_bytes_in_flight)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    set_nonblock(sv[0]);
    fill_fd(sv[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &write_cbs));
    ck_assert_rc(evl_stream_set_watermarks(&s, 0, 0, 1000));
    char chunk[600] = { 0 };
    ck_assert_rc(evl_stream_write(&s, chunk, 600));
    spin(loop);   /* the send is in flight now */
    ck_assert_int_eq(evl_stream_write(&s, chunk, 500), -ENOBUFS);
    ck_assert_rc(evl_stream_write(&s, chunk, 400));
    ck_assert_uint_eq(evl_stream_queued(&s), 1000);
    ck_assert_int_eq(evl_stream_write(&s, chunk, 1), -ENOBUFS);
    ck_assert_int_eq(evl_stream_error(&s), 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ close */

/* The reader takes 4 KiB per wakeup, so the close waits through hundreds
 * of short sends before it may close the fd. */
START_TEST(test_px_close_after_drain_closes_fd_after_last_byte)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    const size_t total = (3 << 20) / 2;
    ck_assert_rc(write_pattern_random(&s, total, 777));
    ck_assert_int_eq(evl_stream_close(&s), 1);
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -ESHUTDOWN);
    ck_assert_int_eq(r.n_close, 0);
    ck_assert(!fd_is_closed(sv[0]));
    struct sink k;
    sink_start(loop, &k, sv[1], 4096);
    run_until(loop, &k.eof, 1);
    ck_assert_uint_eq(k.got, total);
    ck_assert_uint_eq(k.mismatch, 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert_int_eq(r.n_err, 0);
    ck_assert_str_eq(r.log, "dc");
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_stream_fd(&s), -1);
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[1]);
    loop_done(loop);
}
END_TEST

/* Nothing in flight, nothing queued: the close is immediate. */
START_TEST(test_px_close_of_idle_writer_closes_at_once)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    ck_assert_int_eq(evl_stream_close(&s), 0);
    ck_assert_int_eq(r.n_close, 1);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_stream_close(&s), -EBADF);
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[1]);
    loop_done(loop);
}
END_TEST

/* A read in flight names the fd: the close waits for its cancellation,
 * and only then closes and calls on_close. */
START_TEST(test_px_close_while_reading_waits_for_the_cancelled_read)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &raw_cbs);
    spin(loop);
    ck_assert_int_eq(evl_stream_close(&s), 1);
    ck_assert_int_eq(r.n_close, 0);
    run_until(loop, &r.n_close, 1);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_loop_pending_ops(loop), 0);
    char c;
    ck_assert_int_eq(read(sv[1], &c, 1), 0);
    ck_assert_int_eq(r.n_read + r.n_err, 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[1]);
    loop_done(loop);
}
END_TEST

START_TEST(test_px_close_noclose_leaves_fd_open)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, EVL_STREAM_NOCLOSE, &raw_cbs);
    ck_assert_rc(evl_stream_write(&s, "x", 1));
    ck_assert_int_eq(evl_stream_close(&s), 1);
    run_until(loop, &r.n_close, 1);
    ck_assert(!fd_is_closed(sv[0]));
    char c;
    ck_assert_int_eq(read(sv[1], &c, 1), 1);
    ck_assert_int_eq(c, 'x');
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ errors */

/* SIGPIPE keeps its default (fatal) disposition: surviving is the point. */
START_TEST(test_px_socket_epipe_is_reported_not_raised)
{
    sigpipe_default();
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    close(sv[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &write_cbs));
    ck_assert_rc(evl_stream_write(&s, "x", 1));
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    ck_assert_int_eq(evl_stream_write(&s, "y", 1), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert(!sigpipe_pending());
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[0]);
    loop_done(loop);
}
END_TEST

/* Pipes write through the SIGPIPE guard, even on a proactor. */
START_TEST(test_px_pipe_epipe_is_reported_not_raised)
{
    sigpipe_default();
    evl_loop *loop = new_loop(_i);
    int p[2];
    ck_assert_rc(pipe(p));
    close(p[0]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, p[1], 0, &write_cbs));
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -EPIPE);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    ck_assert(!sigpipe_pending());
    ck_assert(!sigpipe_blocked());
    evl_stream_free(&s);
    loop_settle(loop);
    close(p[1]);
    loop_done(loop);
}
END_TEST

/* The same, for bytes queued behind a full pipe whose reader then goes:
 * the loop finds the EPIPE. */
START_TEST(test_px_queued_pipe_write_reports_epipe_from_loop)
{
    sigpipe_default();
    evl_loop *loop = new_loop(_i);
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
    ck_assert(!sigpipe_pending());
    ck_assert(!sigpipe_blocked());
    evl_stream_free(&s);
    loop_settle(loop);
    close(p[1]);
    loop_done(loop);
}
END_TEST

/* A reset (not a FIN) from the peer is an error, not an EOF. */
START_TEST(test_px_peer_reset_reports_econnreset)
{
    sigpipe_default();
    evl_loop *loop = new_loop(_i);
    int c, sfd;
    tcp_pair(&c, &sfd);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, c, 0, &raw_cbs));
    spin(loop);
    reset_close(sfd);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -ECONNRESET);
    ck_assert_int_eq(r.n_eof, 0);
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -ECONNRESET);
    ck_assert_int_eq(r.n_err, 1);
    evl_stream_free(&s);
    loop_settle(loop);
    close(c);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ reading */

START_TEST(test_px_pipe_eof_is_delivered_after_the_data)
{
    evl_loop *loop = new_loop(_i);
    int p[2];
    ck_assert_rc(pipe(p));
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    close(p[1]);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, p[0], 0, &raw_cbs));
    run_until(loop, &r.n_eof, 1);
    ck_assert_str_eq(r.log, "rE");
    ck_assert_uint_eq(r.data.len, 3);
    ck_assert_int_eq(memcmp(r.data.p, "abc", 3), 0);
    ck_assert_int_eq(evl_stream_at_eof(&s), 1);
    /* Nothing is asked of the kernel after EOF. */
    ck_assert_uint_eq(evl_loop_pending_ops(loop), 0);
    spin(loop);
    ck_assert_int_eq(r.n_eof, 1);
    evl_stream_free(&s);
    loop_settle(loop);
    close(p[0]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* A read is in flight into rbuf while the caller empties it (head and
 * tail reset to 0) or adds to it within its space: the next bytes still
 * land after whatever the buffer holds. */
START_TEST(test_px_rbuf_changed_under_a_read_in_flight_keeps_byte_order)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { .action = ACT_KEEP };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &raw_cbs);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    run_until(loop, &r.n_read, 1);
    evl_buf *b = evl_stream_rbuf(&s);
    ck_assert_uint_eq(evl_buf_len(b), 3);
    spin(loop);   /* the next read is in flight */
    evl_buf_consume(b, 3);
    ck_assert_int_eq(write(sv[1], "def", 3), 3);
    run_until(loop, &r.n_read, 2);
    ck_assert_uint_eq(r.data.len, 3);
    ck_assert_int_eq(memcmp(r.data.p, "def", 3), 0);

    spin(loop);
    evl_buf_consume(b, 3);
    ck_assert_uint_ge(evl_buf_space(b), 1);
    ck_assert_rc(evl_buf_append(b, "X", 1));
    ck_assert_int_eq(write(sv[1], "ghi", 3), 3);
    run_until(loop, &r.n_read, 3);
    ck_assert_uint_eq(r.data.len, 4);
    ck_assert_int_eq(memcmp(r.data.p, "Xghi", 4), 0);
    ck_assert_int_eq(r.n_err, 0);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* A consumer that never consumes must not grow the buffer forever, and
 * nothing is read past the cap. */
static size_t on_read_nothing(evl_stream *s, const char *p, size_t len)
{
    (void)p;
    (void)len;
    struct rec *r = s->data;
    r->n_read++;
    return 0;
}

START_TEST(test_px_rmax_overflow_gives_emsgsize)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    struct evl_stream_callbacks cbs = { .on_read = on_read_nothing, .on_error = on_error };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    /* Set after init, yet it governs the first read: reading starts on
     * the loop's first iteration, as on the reactor. */
    ck_assert_rc(evl_stream_set_read_limits(&s, 10, 0));
    ck_assert_int_eq(write(sv[1], "0123456789abcdefghij", 20), 20);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EMSGSIZE);
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), 10);
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* Caller-driven: with reading not started, fill reads at once. */
START_TEST(test_px_fill_on_socket_reads_without_the_loop)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, NULL));
    ck_assert_int_eq(evl_stream_fill(&s), -EAGAIN);
    ck_assert_int_eq(write(sv[1], "hello", 5), 5);
    ck_assert_int_eq(evl_stream_fill(&s), 5);
    evl_buf *b = evl_stream_rbuf(&s);
    ck_assert_int_eq(memcmp(evl_buf_data(b), "hello", 5), 0);
    close(sv[1]);
    ck_assert_int_eq(evl_stream_fill(&s), 0);
    ck_assert_int_eq(evl_stream_at_eof(&s), 1);
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[0]);
    loop_done(loop);
}
END_TEST

/* While the loop's read is in flight, its bytes come first: fill must
 * not read past them. */
START_TEST(test_px_fill_on_socket_while_loop_reads_is_eagain)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &raw_cbs);
    ck_assert_int_eq(evl_stream_fill(&s), -EAGAIN);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    run_until(loop, &r.n_read, 1);
    ck_assert_uint_eq(r.data.len, 3);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ framing */

static void framed_stream(evl_loop *loop, evl_stream *s, evl_framer *fr, int fd)
{
    ck_assert_rc(evl_framer_init(fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
    ck_assert_rc(evl_stream_init(s, loop, fd, 0, &msg_cbs));
    ck_assert_rc(evl_stream_set_framer(s, fr));
}

START_TEST(test_px_line_framer_joins_split_writes)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0]);
    ck_assert_int_eq(write(sv[1], "hel", 3), 3);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 0);
    ck_assert_int_eq(write(sv[1], "lo\nwor", 6), 6);
    run_until(loop, &r.n_msg, 1);
    ck_assert_int_eq(write(sv[1], "ld\ntail", 7), 7);
    run_until(loop, &r.n_msg, 2);
    ck_assert_rc(shutdown(sv[1], SHUT_WR));
    run_until(loop, &r.n_eof, 1);
    bytes_add(&r.data, "", 1);
    ck_assert_str_eq(r.data.p, "hello|world|tail|");
    ck_assert_str_eq(r.log, "mmmE");
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ pause */

START_TEST(test_px_read_stop_in_on_message_holds_later_frames)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_AT, .pause_at = 1 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0]);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 1);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 1);
    ck_assert_rc(evl_stream_read_start(&s));
    ck_assert_int_eq(r.n_msg, 3);
    bytes_add(&r.data, "", 1);
    ck_assert_str_eq(r.data.p, "a|b|c|");
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

START_TEST(test_px_read_stop_then_start_in_on_message_delivers_each_frame_once)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_PAUSE_RESUME };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0]);
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 3);
    ck_assert_int_eq(write(sv[1], "d\n", 2), 2);
    run_until(loop, &r.n_msg, 4);
    bytes_add(&r.data, "", 1);
    ck_assert_str_eq(r.data.p, "a|b|c|d|");
    ck_assert_str_eq(r.log, "mmmm");
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* read_stop from outside a callback, with a read in flight and bytes
 * arriving around it, again and again: whatever the cancel raced with,
 * every line comes out once and in order, and nothing is delivered while
 * paused. */
START_TEST(test_px_pause_resume_with_read_in_flight_never_loses_bytes)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0]);
    ck_assert_rc(evl_stream_set_read_limits(&s, 0, 97));
    size_t len;
    char *input = make_lines(4242, 800, &len);
    uint32_t seed = 99;
    size_t off = 0;
    while (off < len) {
        size_t n = rnd_between(&seed, 1, 400);
        if (n > len - off)
            n = len - off;
        write_all(sv[1], input + off, n);
        off += n;
        switch (rnd(&seed) % 3) {
        case 0:
            spin(loop);
            break;
        case 1: {
            /* The read is (or was just) in flight: stop it cold. */
            ck_assert_rc(evl_stream_read_stop(&s));
            int before = r.n_msg;
            spin(loop);
            ck_assert_int_eq(r.n_msg, before);
            ck_assert_rc(evl_stream_read_start(&s));
            break;
        }
        default:
            ck_assert_rc(evl_stream_read_stop(&s));
            ck_assert_rc(evl_stream_read_start(&s));
            break;
        }
    }
    ck_assert_rc(shutdown(sv[1], SHUT_WR));
    run_until(loop, &r.n_eof, 1);
    /* Messages joined with '|' are the input with '\n' replaced. */
    ck_assert_uint_eq(r.data.len, len);
    for (size_t i = 0; i < len; i++)
        if (input[i] == '\n')
            input[i] = '|';
    ck_assert_int_eq(memcmp(r.data.p, input, len), 0);
    ck_assert_int_eq(r.n_err, 0);
    free(input);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ free */

/* A read and a stuck 4 MiB send are in flight when the stream (and its
 * memory) goes; the kernel's buffers must outlive it (valgrind/ASan). */
START_TEST(test_px_free_with_read_and_write_in_flight)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, &raw_cbs));
    ck_assert_rc(write_pattern_random(s, 4 << 20, 5));
    spin(loop);
    ck_assert_uint_gt(evl_loop_pending_ops(loop), 0);
    free_stream(s);
    loop_settle(loop);
    /* The peer may read what had been sent; the rest is simply gone. */
    set_nonblock(sv[1]);
    char buf[4096];
    while (read(sv[1], buf, sizeof(buf)) > 0)
        ;
    ck_assert(!fd_is_closed(sv[0]));   /* free does not close */
    close_pair(sv);
    loop_done(loop);
    ck_assert_int_eq(r.n_err + r.n_close, 0);
}
END_TEST

/* on_message frees the stream while a send is stuck in flight. */
START_TEST(test_px_free_inside_on_message_with_send_in_flight)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    set_nonblock(sv[0]);
    fill_fd(sv[0]);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    evl_framer fr;
    framed_stream(loop, s, &fr, sv[0]);
    ck_assert_rc(evl_stream_write(s, "stuck", 5));
    ck_assert_int_eq(write(sv[1], "a\nb\nc\n", 6), 6);
    run_until(loop, &r.n_msg, 1);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 1);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
    bytes_free(&r.data);
}
END_TEST

/* on_error (EPIPE from a send) frees the stream inside the completion. */
START_TEST(test_px_free_inside_on_error_from_send)
{
    sigpipe_default();
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    close(sv[1]);
    struct rec r = { .action = ACT_FREE };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, &raw_cbs));
    ck_assert_rc(evl_stream_write(s, "x", 1));
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    loop_settle(loop);
    close(sv[0]);
    loop_done(loop);
}
END_TEST

/* A close waiting for the kernel, then a free: the graveyard still
 * closes the fd once the read's cancellation is in. */
START_TEST(test_px_free_during_deferred_close_still_closes_fd)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, &raw_cbs));
    ck_assert_int_eq(evl_stream_close(s), 1);
    free_stream(s);
    loop_done(loop);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(r.n_close, 0);   /* the stream is gone: no callback */
    close(sv[1]);
}
END_TEST

/* Read-ahead chunks in flight when a file stream is freed. */
START_TEST(test_px_free_with_readahead_chunks_in_flight)
{
    evl_loop *loop = new_loop(_i);
    char *content = pattern_buf(0, 300000);
    int fd = make_file(content, 300000);
    struct rec r = { 0 };
    evl_stream *s = calloc(1, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, loop, fd, 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_readahead(s, 4));
    ck_assert_uint_gt(evl_loop_pending_ops(loop), 0);
    free_stream(s);
    loop_settle(loop);
    ck_assert_int_eq(r.n_read, 0);
    close(fd);
    loop_done(loop);
    free(content);
}
END_TEST

/* ------------------------------------------------------------ read-ahead */

static const size_t ra_chunk = 64 * 1024;

static size_t ra_size(int i)
{
    const size_t sizes[] = { 0, 1, ra_chunk - 1, ra_chunk, ra_chunk + 1, 3 * ra_chunk + 7 };
    return sizes[i];
}

/* Loop-driven: every size around the chunk boundaries, every depth; the
 * bytes must be the file's, EOF once, and the fd's position at the end
 * as read() would leave it. */
START_TEST(test_px_readahead_delivers_files_of_every_size_in_order)
{
    static const unsigned depths[] = { 1, 2, 4 };
    for (int k = 0; k < 6 * 3 * 2; k++) {
        int si = k % 6, di = k / 6 % 3, warm = k / 18;
        {
            size_t size = ra_size(si);
            evl_loop *loop = new_loop(_i);
            char *content = pattern_buf((size_t)si * 1000, size);
            int fd = make_file(content, size);
            struct rec r = { 0 };
            evl_stream s = { .data = &r };
            ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
            evl__stream_px_set_nowait(&s, warm);   /* 0: every read a chunk, as when cold */
            ck_assert_rc(evl_stream_set_readahead(&s, depths[di]));
            run_until(loop, &r.n_eof, 1);
            ck_assert_msg(r.data.len == size, "size %zu depth %u: got %zu bytes", size,
                          depths[di], r.data.len);
            ck_assert_msg(size == 0 || memcmp(r.data.p, content, size) == 0,
                          "size %zu depth %u: bytes differ", size, depths[di]);
            ck_assert_int_eq(r.n_err, 0);
            ck_assert_int_eq(evl_stream_at_eof(&s), 1);
            ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)size);
            spin(loop);
            ck_assert_int_eq(r.n_eof, 1);
            evl_stream_free(&s);
            loop_settle(loop);
            close(fd);
            free(content);
            bytes_free(&r.data);
            loop_done(loop);
        }
    }
}
END_TEST

/* Caller-driven: fill takes one chunk per call, for the same sizes and
 * depths. */
START_TEST(test_px_fill_reads_files_of_every_size_in_order)
{
    static const unsigned depths[] = { 1, 2, 4 };
    for (int k = 0; k < 6 * 3 * 2; k++) {
        int si = k % 6, di = k / 6 % 3, warm = k / 18;
        {
            size_t size = ra_size(si);
            evl_loop *loop = new_loop(_i);
            char *content = pattern_buf((size_t)si * 333, size);
            int fd = make_file(content, size);
            evl_stream s = { 0 };
            ck_assert_rc(evl_stream_init(&s, loop, fd, 0, NULL));
            evl__stream_px_set_nowait(&s, warm);   /* 0: every read a chunk, as when cold */
            ck_assert_rc(evl_stream_set_readahead(&s, depths[di]));
            struct bytes got = { 0 };
            evl_buf *b = evl_stream_rbuf(&s);
            ssize_t n;
            while ((n = evl_stream_fill(&s)) > 0) {
                ck_assert_uint_le((size_t)n, ra_chunk);
                bytes_add(&got, evl_buf_data(b), evl_buf_len(b));
                evl_buf_consume(b, evl_buf_len(b));
            }
            ck_assert_int_eq(n, 0);
            ck_assert_int_eq(evl_stream_at_eof(&s), 1);
            ck_assert_msg(got.len == size, "size %zu depth %u: got %zu", size, depths[di],
                          got.len);
            ck_assert(size == 0 || memcmp(got.p, content, size) == 0);
            /* Again at EOF: still EOF, as read() would say. */
            ck_assert_int_eq(evl_stream_fill(&s), 0);
            evl_stream_free(&s);
            loop_settle(loop);
            close(fd);
            free(content);
            bytes_free(&got);
            loop_done(loop);
        }
    }
}
END_TEST

/* Read-ahead means the next chunk is asked for before the caller is done
 * with the current one (on a cold file: inline reads off). */
START_TEST(test_px_fill_leaves_next_chunks_in_flight)
{
    evl_loop *loop = new_loop(_i);
    size_t size = 10 * ra_chunk;
    char *content = pattern_buf(0, size);
    int fd = make_file(content, size);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, NULL));
    evl__stream_px_set_nowait(&s, 0);
    ck_assert_rc(evl_stream_set_readahead(&s, 3));
    ck_assert_int_eq(evl_stream_fill(&s), (ssize_t)ra_chunk);
    ck_assert_uint_ge(evl_loop_pending_ops(loop), 1);
    ck_assert_uint_le(evl_loop_pending_ops(loop), 3);
    evl_stream_free(&s);
    loop_settle(loop);
    close(fd);
    free(content);
    loop_done(loop);
}
END_TEST

/* A seek by the caller between fills is followed, as with read(). */
START_TEST(test_px_fill_follows_a_seek_of_the_fd)
{
    evl_loop *loop = new_loop(_i);
    size_t size = 5 * ra_chunk + 3;
    char *content = pattern_buf(7, size);
    int fd = make_file(content, size);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, NULL));
    ck_assert_rc(evl_stream_set_readahead(&s, 4));
    evl_buf *b = evl_stream_rbuf(&s);
    ck_assert_int_eq(evl_stream_fill(&s), (ssize_t)ra_chunk);
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)ra_chunk);
    evl_buf_consume(b, evl_buf_len(b));
    const off_t to = (off_t)(3 * ra_chunk + 100);
    ck_assert_int_eq(lseek(fd, to, SEEK_SET), to);
    struct bytes got = { 0 };
    ssize_t n;
    while ((n = evl_stream_fill(&s)) > 0) {
        bytes_add(&got, evl_buf_data(b), evl_buf_len(b));
        evl_buf_consume(b, evl_buf_len(b));
    }
    ck_assert_int_eq(n, 0);
    ck_assert_uint_eq(got.len, size - (size_t)to);
    ck_assert_int_eq(memcmp(got.p, content + to, got.len), 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close(fd);
    free(content);
    bytes_free(&got);
    loop_done(loop);
}
END_TEST

/* rmax below the chunk size: chunks reach rbuf in pieces, and a consumer
 * that keeps up still sees every byte in order. */
START_TEST(test_px_readahead_with_rmax_below_chunk_delivers_everything)
{
    evl_loop *loop = new_loop(_i);
    size_t size = 3 * 4096 + 77;
    char *content = pattern_buf(0, size);
    int fd = make_file(content, size);
    struct rec r = { .check = 1 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_read_limits(&s, 1000, 4096));
    run_until(loop, &r.n_eof, 1);
    ck_assert_uint_eq(r.got, size);
    ck_assert_uint_eq(r.mismatch, 0);
    ck_assert_int_eq(r.n_err, 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close(fd);
    free(content);
    loop_done(loop);
}
END_TEST

/* Paused after the first chunk: the chunks that complete meanwhile wait,
 * and read_start hands over the rest, in order. */
START_TEST(test_px_readahead_paused_keeps_chunks_and_resumes_in_order)
{
    evl_loop *loop = new_loop(_i);
    size_t size = 6 * 4096 + 5;
    char *content = pattern_buf(3, size);
    int fd = make_file(content, size);
    struct rec r = { .action = ACT_PAUSE_READ };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_read_limits(&s, 0, 4096));
    ck_assert_rc(evl_stream_set_readahead(&s, 3));
    run_until(loop, &r.n_read, 1);
    for (int i = 0; i < 20 && evl_loop_pending_ops(loop) > 0; i++)
        spin(loop);
    ck_assert_uint_eq(evl_loop_pending_ops(loop), 0);
    ck_assert_int_eq(r.n_read, 1);
    ck_assert_uint_eq(r.data.len, 4096);
    ck_assert_rc(evl_stream_read_start(&s));
    run_until(loop, &r.n_eof, 1);
    ck_assert_uint_eq(r.data.len, size);
    ck_assert_int_eq(memcmp(r.data.p, content, size), 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close(fd);
    free(content);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

START_TEST(test_px_fill_on_file_while_reading_is_ebusy)
{
    evl_loop *loop = new_loop(_i);
    char *content = pattern_buf(0, 100);
    int fd = make_file(content, 100);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
    ck_assert_int_eq(evl_stream_fill(&s), -EBUSY);
    run_until(loop, &r.n_eof, 1);
    ck_assert_uint_eq(r.data.len, 100);
    evl_stream_free(&s);
    loop_settle(loop);
    close(fd);
    free(content);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* Whether this file system takes RWF_NOWAIT reads (tmpfs on older
 * kernels does not: those streams read chunks only). */
static int nowait_supported(int fd)
{
    char c;
    struct iovec iov = { .iov_base = &c, .iov_len = 1 };
    ssize_t n = preadv2(fd, &iov, 1, 0, RWF_NOWAIT);
    return n >= 0 || errno == EAGAIN;
}

/* A file in the page cache (just written) is read inline: no chunk read
 * goes to the ring, caller-driven or loop-driven, and the bytes, EOF and
 * the fd's position are what read() gives. */
START_TEST(test_px_warm_file_reads_inline_without_ring_reads)
{
    size_t size = 10 * ra_chunk + 3;
    char *content = pattern_buf(11, size);
    for (int driven = 0; driven < 2; driven++) {
        evl_loop *loop = new_loop(_i);
        int fd = make_file(content, size);
        int inline_ok = nowait_supported(fd);
        struct rec r = { 0 };
        evl_stream s = { .data = &r };
        struct bytes got = { 0 };
        if (driven) {
            ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
            run_until(loop, &r.n_eof, 1);
            bytes_add(&got, r.data.p, r.data.len);
        } else {
            ck_assert_rc(evl_stream_init(&s, loop, fd, 0, NULL));
            evl_buf *b = evl_stream_rbuf(&s);
            ssize_t n;
            while ((n = evl_stream_fill(&s)) > 0) {
                bytes_add(&got, evl_buf_data(b), evl_buf_len(b));
                evl_buf_consume(b, evl_buf_len(b));
            }
            ck_assert_int_eq(n, 0);
        }
        ck_assert_uint_eq(got.len, size);
        ck_assert(memcmp(got.p, content, size) == 0);
        ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)size);
        uint64_t inl, ops;
        evl__stream_px_file_stats(&s, &inl, &ops);
        if (inline_ok) {
            ck_assert_msg(ops == 0, "driven %d: %llu chunk reads for a cached file", driven,
                          (unsigned long long)ops);
            ck_assert_uint_eq(inl, 12);   /* 11 reads with bytes, one that says EOF */
        }
        evl_stream_free(&s);
        loop_settle(loop);
        close(fd);
        bytes_free(&got);
        bytes_free(&r.data);
        loop_done(loop);
    }
    free(content);
}
END_TEST

/* A loop-driven stream over a big cached file reads at most a budget of
 * chunks inline per round and lets the loop run between rounds: the
 * iteration that first delivers does not deliver the whole file. */
START_TEST(test_px_warm_file_inline_reads_yield_to_the_loop)
{
    size_t size = 64 * ra_chunk;
    char *content = pattern_buf(0, size);   /* rec.check compares from offset 0 */
    evl_loop *loop = new_loop(_i);
    int fd = make_file(content, size);
    struct rec r = { .check = 1 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
    for (int i = 0; r.got == 0; i++) {
        ck_assert_int_lt(i, 100);
        ck_assert_int_ge(evl_loop_run_once(loop, 1000000000LL), 0);
    }
    ck_assert_uint_le(r.got, size / 2);
    run_until(loop, &r.n_eof, 1);
    ck_assert_uint_eq(r.got, size);
    ck_assert_uint_eq(r.mismatch, 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close(fd);
    free(content);
    loop_done(loop);
}
END_TEST

/* A file whose pages were dropped (POSIX_FADV_DONTNEED after a sync)
 * reads byte-exact on both paths; where the drop took, the first read
 * missed the cache and chunks carried the file. */
START_TEST(test_px_cold_file_reads_byte_exact)
{
    size_t size = 8 * ra_chunk + 99;
    char *content = pattern_buf(0, size);   /* rec.check compares from offset 0 */
    for (int driven = 0; driven < 2; driven++) {
        evl_loop *loop = new_loop(_i);
        int fd = make_file(content, size);
        ck_assert_rc(fdatasync(fd));
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        struct rec r = { .check = 1 };
        evl_stream s = { .data = &r };
        if (driven) {
            ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
            run_until(loop, &r.n_eof, 1);
            ck_assert_uint_eq(r.got, size);
            ck_assert_uint_eq(r.mismatch, 0);
        } else {
            ck_assert_rc(evl_stream_init(&s, loop, fd, 0, NULL));
            struct bytes got = { 0 };
            evl_buf *b = evl_stream_rbuf(&s);
            ssize_t n;
            while ((n = evl_stream_fill(&s)) > 0) {
                bytes_add(&got, evl_buf_data(b), evl_buf_len(b));
                evl_buf_consume(b, evl_buf_len(b));
            }
            ck_assert_int_eq(n, 0);
            ck_assert_uint_eq(got.len, size);
            ck_assert(memcmp(got.p, content, size) == 0);
            bytes_free(&got);
        }
        uint64_t inl, ops;
        evl__stream_px_file_stats(&s, &inl, &ops);
        ck_assert_uint_gt(inl + ops, 0);
        evl_stream_free(&s);
        loop_settle(loop);
        close(fd);
        loop_done(loop);
    }
    free(content);
}
END_TEST

START_TEST(test_px_set_readahead_rejects_zero_and_too_deep)
{
    evl_stream s = { 0 };
    int p[2];
    ck_assert_rc(pipe(p));
    ck_assert_rc(evl_stream_init(&s, NULL, p[0], 0, NULL));
    ck_assert_int_eq(evl_stream_set_readahead(NULL, 2), -EINVAL);
    ck_assert_int_eq(evl_stream_set_readahead(&s, 0), -EINVAL);
    ck_assert_int_eq(evl_stream_set_readahead(&s, 65), -EINVAL);
    ck_assert_rc(evl_stream_set_readahead(&s, 1));
    ck_assert_rc(evl_stream_set_readahead(&s, 64));
    evl_stream_free(&s);
    close_pair(p);
}
END_TEST

/* ------------------------------------------------------------ reactor vs proactor */

/* The same file through the reactor engine (caller-driven: epoll cannot
 * watch files), the proactor loop-driven and the proactor fill-driven,
 * with an odd chunk size: three identical copies of the file. */
START_TEST(test_px_file_bytes_identical_to_reactor_engine)
{
    size_t size = (1 << 20) + 12345;
    char *content = malloc(size);
    ck_assert_ptr_nonnull(content);
    uint32_t seed = 2024;
    for (size_t i = 0; i < size; i++)
        content[i] = (char)rnd(&seed);
    int fd = make_file(content, size);
    const size_t rsize = 10007;

    struct bytes reactor = { 0 };
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, NULL, fd, 0, NULL));
    ck_assert_rc(evl_stream_set_read_limits(&s, 0, rsize));
    evl_buf *b = evl_stream_rbuf(&s);
    ssize_t n;
    while ((n = evl_stream_fill(&s)) > 0) {
        bytes_add(&reactor, evl_buf_data(b), evl_buf_len(b));
        evl_buf_consume(b, evl_buf_len(b));
    }
    ck_assert_int_eq(n, 0);
    evl_stream_free(&s);

    evl_loop *loop = new_loop(_i);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    struct rec r = { 0 };
    s = (evl_stream){ .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_read_limits(&s, 0, rsize));
    ck_assert_rc(evl_stream_set_readahead(&s, 3));
    run_until(loop, &r.n_eof, 1);
    evl_stream_free(&s);
    loop_settle(loop);

    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    struct bytes filled = { 0 };
    s = (evl_stream){ 0 };
    ck_assert_rc(evl_stream_init(&s, loop, fd, 0, NULL));
    ck_assert_rc(evl_stream_set_read_limits(&s, 0, rsize));
    b = evl_stream_rbuf(&s);
    while ((n = evl_stream_fill(&s)) > 0) {
        bytes_add(&filled, evl_buf_data(b), evl_buf_len(b));
        evl_buf_consume(b, evl_buf_len(b));
    }
    ck_assert_int_eq(n, 0);
    evl_stream_free(&s);
    loop_settle(loop);

    ck_assert_uint_eq(reactor.len, size);
    ck_assert_int_eq(memcmp(reactor.p, content, size), 0);
    ck_assert_uint_eq(r.data.len, reactor.len);
    ck_assert_int_eq(memcmp(r.data.p, reactor.p, size), 0);
    ck_assert_uint_eq(filled.len, reactor.len);
    ck_assert_int_eq(memcmp(filled.p, reactor.p, size), 0);
    close(fd);
    free(content);
    bytes_free(&reactor);
    bytes_free(&filled);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* One run of the feed: a writer stream pushes input through a pipe or a
 * socketpair in random pieces and closes after the drain; a line-framed
 * reader stream on the same loop records every message and the EOF. */
static void feed_through(evl_loop *loop, int use_socket, const char *input, size_t len,
                         struct bytes *out)
{
    int fds[2];
    if (use_socket)
        make_socketpair(fds);
    else
        ck_assert_rc(pipe(fds));
    int rfd = use_socket ? fds[1] : fds[0], wfd = use_socket ? fds[0] : fds[1];
    struct rec rr = { 0 }, rw = { 0 };
    evl_stream reader = { .data = &rr }, writer = { .data = &rw };
    evl_framer fr;
    framed_stream(loop, &reader, &fr, rfd);
    ck_assert_rc(evl_stream_set_read_limits(&reader, 0, 777));
    ck_assert_rc(evl_stream_init(&writer, loop, wfd, 0, &write_cbs));
    uint32_t seed = 31337;
    for (size_t off = 0; off < len;) {
        size_t n = rnd_between(&seed, 1, 5000);
        if (n > len - off)
            n = len - off;
        ck_assert_rc(evl_stream_write(&writer, input + off, n));
        off += n;
    }
    int rc = evl_stream_close(&writer);
    ck_assert(rc == 0 || rc == 1);
    run_until(loop, &rr.n_eof, 1);
    run_until(loop, &rw.n_close, 1);
    ck_assert_int_eq(rr.n_err + rw.n_err, 0);
    bytes_add(out, rr.data.p, rr.data.len);
    bytes_add(out, "<EOF>", 5);
    evl_stream_free(&reader);
    evl_stream_free(&writer);
    loop_settle(loop);
    close(rfd);
    bytes_free(&rr.data);
}

/* The same lines through a reactor loop and through the proactor
 * backend under test, over a pipe and over a socketpair: the message
 * sequences must be byte-identical (and equal to the input). */
START_TEST(test_px_streamed_frames_identical_to_reactor_engine)
{
    size_t len;
    char *input = make_lines(777, 3000, &len);
    for (int use_socket = 0; use_socket < 2; use_socket++) {
        struct bytes want = { 0 }, got = { 0 };
        evl_loop *reactor;
        ck_assert_rc(evl_loop_new(&reactor, EVL_REACTOR, 0));
        feed_through(reactor, use_socket, input, len, &want);
        evl_loop_free(reactor);
        evl_loop *loop = new_loop(_i);
        feed_through(loop, use_socket, input, len, &got);
        loop_done(loop);
        ck_assert_uint_eq(got.len, want.len);
        ck_assert_int_eq(memcmp(got.p, want.p, want.len), 0);
        ck_assert_uint_eq(want.len, len + 5);
        for (size_t i = 0; i < len; i++)
            ck_assert(want.p[i] == (input[i] == '\n' ? '|' : input[i]));
        bytes_free(&want);
        bytes_free(&got);
    }
    free(input);
}
END_TEST

/* ------------------------------------------------------------ flush_wait */

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

START_TEST(test_px_flush_wait_runs_the_loop_until_written)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, NULL));
    const size_t total = 1 << 20;
    ck_assert_rc(write_pattern_random(&s, total, 1));
    struct reader_arg a = { .fd = sv[1] };
    pthread_t th;
    ck_assert_rc(pthread_create(&th, NULL, reader_thread, &a));
    ck_assert_rc(evl_stream_flush_wait(&s));
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    ck_assert_rc(shutdown(sv[0], SHUT_WR));
    ck_assert_rc(pthread_join(th, NULL));
    ck_assert_uint_eq(a.got, total);
    ck_assert_uint_eq(a.mismatch, 0);
    evl_stream_free(&s);
    loop_settle(loop);
    close_pair(sv);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ set_loop */

/* Read-ahead chunks in flight keep a file stream on its loop; once they
 * are done it moves, and the chunks it dropped are read again. */
START_TEST(test_px_set_loop_waits_for_chunks_and_loses_no_byte)
{
    evl_loop *a = new_loop(_i), *b = new_loop(_i);
    size_t size = 10 * ra_chunk;
    char *content = pattern_buf(0, size);
    int fd = make_file(content, size);
    evl_stream s = { 0 };
    ck_assert_rc(evl_stream_init(&s, a, fd, 0, NULL));
    evl__stream_px_set_nowait(&s, 0);   /* chunks, as on a cold file */
    ck_assert_rc(evl_stream_set_readahead(&s, 3));
    ck_assert_int_eq(evl_stream_fill(&s), (ssize_t)ra_chunk);
    ck_assert_uint_ge(evl_loop_pending_ops(a), 1);
    ck_assert_int_eq(evl_stream_set_loop(&s, b), -EBUSY);
    loop_settle(a);
    ck_assert_rc(evl_stream_set_loop(&s, b));
    ssize_t n;
    while ((n = evl_stream_fill(&s)) > 0)
        ck_assert_uint_eq(evl_loop_pending_ops(a), 0);   /* b reads now */
    ck_assert_int_eq(n, 0);
    evl_buf *rb = evl_stream_rbuf(&s);
    ck_assert_uint_eq(evl_buf_len(rb), size);
    ck_assert(memcmp(evl_buf_data(rb), content, size) == 0);
    evl_stream_free(&s);
    loop_settle(b);
    close(fd);
    free(content);
    loop_done(a);
    loop_done(b);
}
END_TEST

/* A socket that reads has a read in flight (first the start of reading,
 * then a recv): it moves after read_stop and a settled loop. */
START_TEST(test_px_set_loop_socket_moves_after_read_stop)
{
    evl_loop *a = new_loop(_i), *b = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, a, sv[0], 0, &raw_cbs));
    ck_assert_int_eq(evl_stream_set_loop(&s, b), -EBUSY);   /* reading starts next */
    spin(a);
    ck_assert_int_eq(evl_stream_set_loop(&s, b), -EBUSY);   /* a recv in flight */
    ck_assert_int_eq(write(sv[1], "a", 1), 1);
    run_until(a, &r.n_read, 1);
    ck_assert_rc(evl_stream_read_stop(&s));
    loop_settle(a);
    ck_assert_rc(evl_stream_set_loop(&s, b));
    ck_assert_rc(evl_stream_read_start(&s));
    ck_assert_int_eq(write(sv[1], "b", 1), 1);
    spin(a);
    ck_assert_int_eq(r.n_read, 1);
    run_until(b, &r.n_read, 2);
    ck_assert_uint_eq(r.data.len, 2);
    ck_assert(memcmp(r.data.p, "ab", 2) == 0);
    evl_stream_free(&s);
    loop_settle(b);
    close_pair(sv);
    bytes_free(&r.data);
    loop_done(a);
    loop_done(b);
}
END_TEST

/* A caller-driven stream's queue goes out from the loop it joins, on the
 * loop's next iteration. */
START_TEST(test_px_set_loop_writes_the_queue_from_the_new_loop)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, &write_cbs));
    const size_t total = 256 * 1024;
    char *p = pattern_buf(0, total);
    ck_assert_rc(evl_stream_queue(&s, p, total));
    ck_assert_rc(evl_stream_set_loop(&s, loop));
    ck_assert_uint_eq(evl_stream_queued(&s), total);
    struct sink k;
    sink_start(loop, &k, sv[1], 0);
    run_until(loop, &r.n_drain, 1);
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[0]);
    run_until(loop, &k.eof, 1);
    ck_assert_uint_eq(k.got, total);
    ck_assert_uint_eq(k.mismatch, 0);
    close(sv[1]);
    free(p);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* The engine follows the loop's model. */
START_TEST(test_px_set_loop_between_reactor_and_proactor)
{
    evl_loop *px = new_loop(_i), *re;
    ck_assert_rc(evl_loop_new(&re, EVL_REACTOR, 0));
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, re, sv[0], 0, &raw_cbs));
    ck_assert_int_eq(write(sv[1], "a", 1), 1);
    run_until(re, &r.n_read, 1);
    ck_assert_rc(evl_stream_set_loop(&s, px));
    ck_assert_int_eq(write(sv[1], "b", 1), 1);
    run_until(px, &r.n_read, 2);
    ck_assert_rc(evl_stream_read_stop(&s));
    loop_settle(px);
    ck_assert_rc(evl_stream_set_loop(&s, re));
    ck_assert_rc(evl_stream_read_start(&s));
    ck_assert_int_eq(write(sv[1], "c", 1), 1);
    run_until(re, &r.n_read, 3);
    ck_assert_uint_eq(r.data.len, 3);
    ck_assert(memcmp(r.data.p, "abc", 3) == 0);
    evl_stream_free(&s);
    close_pair(sv);
    bytes_free(&r.data);
    evl_loop_free(re);
    loop_done(px);
}
END_TEST

/* ------------------------------------------------------------ all three engines */

/* Tests added with add_engines run with _i 0 (io_uring), 1 (fake) and 2
 * (the reactor): the engine must not change the bytes. */
static evl_loop *new_engine_loop(int engine)
{
    if (engine < 2)
        return new_loop(engine);
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    return loop;
}

/* Whether engine is one this run covers (the reactor always is). */
static int engine_runs(int engine)
{
    return engine == 2 || (engine >= first_backend && engine < end_backend);
}

/* on_message answers each frame with an empty frame; on_error closes. */
static void on_message_echo(evl_stream *s, const char *msg, size_t len)
{
    on_message(s, msg, len);
    ck_assert_rc(evl_stream_write_message(s, "", 0));
}

static void on_error_close(evl_stream *s, int err)
{
    on_error(s, err);
    /* New writes are refused; the close waits for the earlier ones
     * (1), or closes at once if they are out already (the error). */
    ck_assert_int_eq(evl_stream_write_message(s, "", 0), err);
    int rc = evl_stream_close(s);
    ck_assert(rc == 1 || rc == err);
}

/* Issue 17, defect 1: two empty u32be frames and one over max_len, in
 * one write or cut anywhere: both replies reach the peer, then EOF (the
 * reactor sent 8 bytes, io_uring 4 and the fake backend none). */
START_TEST(test_engines_replies_before_a_framing_error_are_flushed)
{
    if (!engine_runs(_i))
        return;
    static const char in[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
    static const struct evl_stream_callbacks cbs = {
        .on_message = on_message_echo, .on_eof = on_eof, .on_error = on_error_close,
        .on_close = on_close,
    };
    /* cut 0: one write; else the bytes in two writes, cut after byte cut. */
    for (size_t cut = 0; cut < sizeof(in); cut++) {
        evl_loop *loop = new_engine_loop(_i);
        int sv[2];
        make_socketpair(sv);
        struct rec r = { 0 };
        evl_stream s = { .data = &r };
        evl_framer fr;
        ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_U32BE, 0, 4, NULL, 0));
        ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
        ck_assert_rc(evl_stream_set_framer(&s, &fr));
        if (cut > 0) {
            write_all(sv[1], in, cut);
            while (r.n_msg < (int)(cut / 4))
                ck_assert_int_ge(evl_loop_run_once(loop, 5000000000LL), 0);
            spin(loop);
        }
        write_all(sv[1], in + cut, sizeof(in) - cut);
        run_until(loop, &r.n_close, 1);
        ck_assert_str_eq(r.log, "mmec");
        ck_assert_int_eq(r.err, -EMSGSIZE);
        ck_assert_int_eq(evl_stream_error(&s), -EMSGSIZE);
        char out[16];
        size_t got = 0;
        ssize_t n;
        while ((n = read(sv[1], out + got, sizeof(out) - got)) > 0)
            got += (size_t)n;
        ck_assert_int_eq(n, 0);   /* EOF: the fd was closed after the replies */
        ck_assert_uint_eq(got, 8);
        ck_assert(memcmp(out, in, 8) == 0);
        evl_stream_free(&s);
        close(sv[1]);
        bytes_free(&r.data);
        loop_done(loop);
    }
}
END_TEST

/* The same without a close: the replies still go out. */
START_TEST(test_engines_replies_drain_after_a_framing_error_without_close)
{
    if (!engine_runs(_i))
        return;
    static const char in[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
    static const struct evl_stream_callbacks cbs = {
        .on_message = on_message_echo, .on_eof = on_eof, .on_error = on_error,
        .on_drain = on_drain, .on_close = on_close,
    };
    evl_loop *loop = new_engine_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_U32BE, 0, 4, NULL, 0));
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_stream_set_framer(&s, &fr));
    write_all(sv[1], in, sizeof(in));
    run_until(loop, &r.n_drain, 1);
    ck_assert_str_eq(r.log, "mmed");
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    char out[16];
    ck_assert_int_eq(read(sv[1], out, sizeof(out)), 8);
    /* Nothing more is read or reported. */
    write_all(sv[1], "\0\0\0\0", 4);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 2);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(evl_stream_close(&s), -EMSGSIZE);
    ck_assert_int_eq(r.n_close, 1);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

static void on_message_big(evl_stream *s, const char *msg, size_t len)
{
    static char big[1 << 20];
    on_message(s, msg, len);
    ck_assert_rc(evl_stream_write(s, big, sizeof(big)));
}

/* A write error while the queue drains behind a framing error ends the
 * drain, and on_error says so (whoever waits for on_drain would wait
 * forever); evl_stream_error keeps the first error. */
START_TEST(test_engines_write_error_during_drain_after_framing_error_is_reported)
{
    if (!engine_runs(_i))
        return;
    static const char in[8] = { 0, 0, 0, 0, 0, 0, 0, 5 };
    static const struct evl_stream_callbacks cbs = {
        .on_message = on_message_big, .on_error = on_error, .on_drain = on_drain,
        .on_close = on_close,
    };
    evl_loop *loop = new_engine_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_U32BE, 0, 4, NULL, 0));
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_stream_set_framer(&s, &fr));
    write_all(sv[1], in, sizeof(in));
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -EMSGSIZE);
    spin(loop);
    ck_assert_uint_gt(evl_stream_queued(&s), 0);
    close(sv[1]);
    run_until(loop, &r.n_err, 2);
    ck_assert_msg(r.err == -EPIPE || r.err == -ECONNRESET, "err %d", r.err);
    ck_assert_int_eq(evl_stream_error(&s), -EMSGSIZE);
    ck_assert_int_eq(r.n_drain, 0);
    spin(loop);
    ck_assert_int_eq(r.n_err, 2);
    ck_assert_int_eq(evl_stream_close(&s), -EMSGSIZE);
    ck_assert_int_eq(r.n_close, 1);
    evl_stream_free(&s);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* Issue 17, defect 6: an idle stream holds no read_size buffer (it held
 * 64 KiB each): before any data, after a few bytes were delivered, and
 * after a burst of several buffers' worth was drained. */
START_TEST(test_engines_idle_stream_gives_its_read_buffer_back)
{
    if (!engine_runs(_i))
        return;
    const size_t small = 512;
    evl_loop *loop = new_engine_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &msg_cbs));
    ck_assert_rc(evl_stream_set_framer(&s, &fr));
    spin(loop);
    ck_assert_uint_le(evl_stream_rbuf_capacity(&s), small);

    write_all(sv[1], "hello\n", 6);
    run_until(loop, &r.n_msg, 1);
    spin(loop);
    ck_assert_uint_le(evl_stream_rbuf_capacity(&s), small);

    /* A burst: 8 x 32 KiB of 64-byte lines, each written while the loop
     * reads, so reads fill read_size buffers. */
    char chunk[32 * 1024];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
    int want = 1;
    for (int k = 0; k < 8; k++) {
        write_all(sv[1], chunk, sizeof(chunk));
        want += (int)(sizeof(chunk) / 64);
        run_until(loop, &r.n_msg, want);
    }
    spin(loop);
    ck_assert_uint_eq(evl_buf_len(evl_stream_rbuf(&s)), 0);
    ck_assert_uint_le(evl_stream_rbuf_capacity(&s), small);

    /* And the next bytes still arrive, whole. */
    write_all(sv[1], "again\n", 6);
    run_until(loop, &r.n_msg, want + 1);
    ck_assert(r.data.len >= 6 && memcmp(r.data.p + r.data.len - 6, "again|", 6) == 0);
    evl_stream_free(&s);
    close_pair(sv);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ suite */


/* ------------------------------------------------------------ multishot receive */

/* On io_uring a socket stream arms one multishot receive for as long as
 * it reads: 200 lines sent one by one, each waited for, take 200 chunks
 * and one arming (a one-shot read per chunk would be 200 submissions).
 * The fake backend has none and reads one-shot. */
START_TEST(test_px_socket_reads_are_one_multishot_receive_on_uring)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0]);
    char want[200 * 8 + 1] = "";
    size_t wl = 0;
    for (int i = 0; i < 200; i++) {
        char line[16];
        int n = snprintf(line, sizeof(line), "l%d\n", i);
        write_all(sv[1], line, (size_t)n);
        wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "l%d|", i);
        run_until(loop, &r.n_msg, i + 1);
    }
    bytes_add(&r.data, "", 1);
    ck_assert_str_eq(r.data.p, want);
    uint64_t chunks, arms;
    evl__stream_px_recv_stats(&s, &chunks, &arms);
    if (backend_flags[_i] == EVL_BACKEND_URING) {
        ck_assert_uint_eq(chunks, 200);
        ck_assert_uint_eq(arms, 1);
    } else {
        ck_assert_uint_eq(chunks, 0);
        ck_assert_uint_eq(arms, 0);
    }
    /* Paused, it takes nothing from the socket once the cancel is in:
     * what arrives afterwards stays there, and read_start re-arms. */
    ck_assert_rc(evl_stream_read_stop(&s));
    spin(loop);
    write_all(sv[1], "late\n", 5);
    spin(loop);
    ck_assert_int_eq(r.n_msg, 200);
    int queued = 0;
    ck_assert_rc(ioctl(sv[0], FIONREAD, &queued));
    ck_assert_int_eq(queued, 5);
    ck_assert_rc(evl_stream_read_start(&s));
    run_until(loop, &r.n_msg, 201);
    evl__stream_px_recv_stats(&s, &chunks, &arms);
    if (backend_flags[_i] == EVL_BACKEND_URING)
        ck_assert_uint_eq(arms, 2);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* A callback that runs the loop while it holds a frame (which points into
 * rbuf): chunks the nested run receives wait in the stash, the frame is
 * intact after it, and every line comes out once and in order. */
struct nest {
    evl_loop *loop;
    int fd;
    int depth;
    int nested_runs;
};
static struct nest nest_state;

static void on_message_nesting(evl_stream *s, const char *msg, size_t len)
{
    struct rec *r = s->data;
    struct nest *n = &nest_state;
    char copy[8192];
    ck_assert_uint_lt(len, sizeof(copy));
    memcpy(copy, msg, len);
    r->n_msg++;
    bytes_add(&r->data, msg, len > 8 ? 8 : len);
    bytes_add(&r->data, "|", 1);
    if (n->depth == 0 && r->n_msg % 10 == 1) {
        n->depth++;
        /* Big enough that rbuf (a small buffer now) would have to move. */
        static char more[4096];
        memset(more, 'y', sizeof(more));
        int k = snprintf(more, sizeof(more), "x%d", r->n_msg);
        more[k] = 'y';
        more[sizeof(more) - 1] = '\n';
        write_all(n->fd, more, sizeof(more));
        for (int i = 0; i < 5; i++)
            ck_assert_int_ge(evl_loop_run_once(n->loop, 2 * 1000000ll), 0);
        n->nested_runs++;
        n->depth--;
        ck_assert_int_eq(memcmp(copy, msg, len), 0);   /* still the same bytes */
    }
}

START_TEST(test_px_nested_run_in_on_message_keeps_frames_and_order)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    struct nest *n = &nest_state;
    *n = (struct nest){ .loop = loop, .fd = sv[1] };
    static const struct evl_stream_callbacks cbs = { .on_message = on_message_nesting,
                                                     .on_error = on_error };
    evl_stream s = { .data = &r };
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    ck_assert_rc(evl_stream_set_framer(&s, &fr));
    write_all(sv[1], "a\nb\nc\n", 6);
    run_until(loop, &r.n_msg, 4);
    /* a starts a nested run that receives x1, which waits until b and c
     * are delivered. */
    bytes_add(&r.data, "", 1);
    ck_assert_str_eq(r.data.p, "a|b|c|x1yyyyyy|");
    ck_assert_int_eq(n->nested_runs, 1);
    ck_assert_int_eq(r.n_err, 0);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* A provided-buffer ring much smaller than the traffic: the stream re-arms
 * after each -ENOBUFS and every byte arrives in order. */
START_TEST(test_px_small_buffer_ring_keeps_socket_bytes_exact)
{
    evl_loop_options o = { .model = EVL_PROACTOR, .flags = backend_flags[_i],
                           .recv_buffers = 2, .recv_buffer_size = 100 };
    evl_loop *loop = NULL;
    ck_assert_rc(evl_loop_new_ex(&loop, &o));
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .check = 1 };
    static const struct evl_stream_callbacks cbs = { .on_read = on_read, .on_error = on_error };
    evl_stream s = { .data = &r };
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &cbs));
    size_t total = 300000;
    char *src = pattern_buf(0, total);
    set_nonblock(sv[1]);
    size_t sent = 0;
    while (sent < total) {
        ssize_t k = write(sv[1], src + sent, total - sent);
        if (k > 0)
            sent += (size_t)k;
        ck_assert_int_ge(evl_loop_run_once(loop, k > 0 ? 0 : 10 * 1000000ll), 0);
    }
    run_until_size(loop, &r.got, total);
    ck_assert_uint_eq(r.got, total);
    ck_assert_uint_eq(r.mismatch, 0);
    uint64_t chunks, arms;
    evl__stream_px_recv_stats(&s, &chunks, &arms);
    if (backend_flags[_i] == EVL_BACKEND_URING) {
        ck_assert_uint_ge(chunks, total / 100);
        ck_assert_uint_gt(arms, 1);   /* re-armed after the ring ran dry */
    }
    free(src);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ corked replies */

/* An echo server's callbacks reply once per message; replies written
 * during one delivery go out as one send op at its end, as the reactor
 * makes them one write().  (Without the cork the first reply went alone
 * and the other seven in a second op after it.) */
static void on_message_reply(evl_stream *s, const char *msg, size_t len)
{
    struct rec *r = s->data;
    r->n_msg++;
    ck_assert_rc(evl_stream_write(s, msg, len));
    ck_assert_rc(evl_stream_write(s, "\n", 1));
    if (r->action == ACT_CLOSE_FIRST && r->n_msg == 8)
        ck_assert_int_ge(evl_stream_close(s), 0);
}

/* Reads want bytes from the non-blocking peer fd, running the loop while
 * they are not there yet (the send goes to the kernel at its next wait). */
static void read_peer_until(evl_loop *loop, int fd, char *buf, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EAGAIN) {
            ck_assert_int_ge(evl_loop_run_once(loop, 1000000000LL), 0);
            continue;
        }
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
}

/* A line stream on fd whose callback replies to every line. */
static void reply_stream(evl_loop *loop, evl_stream *s, evl_framer *fr, int fd)
{
    static const struct evl_stream_callbacks cbs = { .on_message = on_message_reply,
                                                     .on_error = on_error };
    ck_assert_rc(evl_framer_init(fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
    ck_assert_rc(evl_stream_init(s, loop, fd, 0, &cbs));
    ck_assert_rc(evl_stream_set_framer(s, fr));
}

static const char lines[] = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n";

START_TEST(test_px_replies_written_in_one_delivery_are_one_send)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    evl_framer fr;
    reply_stream(loop, &s, &fr, sv[0]);
    set_nonblock(sv[1]);
    for (int round = 1; round <= 3; round++) {
        write_all(sv[1], lines, sizeof(lines) - 1);
        run_until(loop, &r.n_msg, 8 * round);
        char back[sizeof(lines)] = "";
        read_peer_until(loop, sv[1], back, sizeof(lines) - 1);
        ck_assert_str_eq(back, lines);
        ck_assert_uint_eq(evl__stream_px_write_ops(&s), (uint64_t)round);
    }
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* evl_stream_close (after drain) in the callback that wrote the last
 * corked reply: the replies still go out, then the fd closes. */
START_TEST(test_px_close_after_drain_in_on_message_sends_corked_replies)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_CLOSE_FIRST };
    evl_stream s = { .data = &r };
    evl_framer fr;
    reply_stream(loop, &s, &fr, sv[0]);
    write_all(sv[1], lines, sizeof(lines) - 1);
    set_nonblock(sv[1]);
    run_until(loop, &r.n_msg, 8);
    loop_settle(loop);
    char back[sizeof(lines) + 8] = "";
    read_peer_until(loop, sv[1], back, sizeof(lines) - 1);
    ck_assert_str_eq(back, lines);
    ck_assert_int_eq(read(sv[1], back, sizeof(back)), 0);   /* then EOF */
    ck_assert_int_eq(r.n_err, 0);
    ck_assert(fd_is_closed(sv[0]));
    evl_stream_free(&s);
    loop_settle(loop);
    close(sv[1]);
    loop_done(loop);
    bytes_free(&r.data);
}
END_TEST

/* A callback that writes a reply and then runs the loop until its peer
 * has it: the nested run sends the corked reply first. */
START_TEST(test_px_callback_running_the_loop_gets_its_corked_reply_sent)
{
    evl_loop *loop = new_loop(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { .action = ACT_REPLY_WAIT, .wait_loop = loop, .wait_fd = sv[1] };
    evl_stream s = { .data = &r };
    evl_framer fr;
    framed_stream(loop, &s, &fr, sv[0]);
    write_all(sv[1], "ping\npong\n", 10);
    run_until(loop, &r.n_msg, 2);
    ck_assert_int_eq(r.replies_seen, 2);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* on_high_water may free the stream and reuse its memory: the write
 * that called it returns without touching it.  The callback scribbles
 * over the storage, so a read of it afterwards (evl__stream_queue_raw
 * asked the freed stream for its queue length) crashes even without a
 * sanitizer.  write, writev and write_message, on every engine. */
static void free_and_scribble(evl_stream *s)
{
    evl_stream_free(s);
    memset(s, 0xa5, sizeof(*s));
}

START_TEST(test_engines_stream_freed_in_on_high_water_is_left_alone_by_the_write)
{
    if (!engine_runs(_i))
        return;
    evl_loop *loop = new_engine_loop(_i);
    int sv[2];
    make_socketpair(sv);
    static char big[1 << 20];
    memset(big, 'x', sizeof(big));
    const struct evl_stream_callbacks cbs = { .on_high_water = free_and_scribble };
    for (int api = 0; api < 3; api++) {
        evl_stream *s = malloc(sizeof(*s));
        ck_assert_ptr_nonnull(s);
        memset(s, 0, sizeof(*s));
        evl_framer fr;
        ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0));
        ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, &cbs));
        ck_assert_rc(evl_stream_set_framer(s, &fr));
        ck_assert_rc(evl_stream_set_watermarks(s, 0, 1000, 0));
        struct iovec iov[2] = { { big, sizeof(big) / 2 }, { big, sizeof(big) / 2 } };
        int rc = api == 0 ? evl_stream_write(s, big, sizeof(big))
                 : api == 1 ? evl_stream_writev(s, iov, 2)
                            : evl_stream_write_message(s, big, sizeof(big));
        ck_assert_int_eq(rc, 0);
        free(s);
        loop_settle(loop);   /* a proactor's cancelled send lets go */
    }
    close_pair(sv);
    loop_done(loop);
}
END_TEST

static void add(TCase *tc, const TTest *t)
{
    tcase_add_loop_test(tc, t, first_backend, end_backend);
}

static void add_engines(TCase *tc, const TTest *t)
{
    tcase_add_loop_test(tc, t, 0, 3);
}

static Suite *stream_proactor_suite(void)
{
    Suite *s = suite_create("stream_proactor");
    TCase *tc = tcase_create("write");
    add(tc, test_px_echo_over_socketpair_returns_identical_bytes);
    add(tc, test_px_write_behind_to_slow_reader_delivers_every_byte_in_order);
    add(tc, test_px_write_from_on_drain_is_sent);
    add(tc, test_px_watermarks_fire_high_then_low_then_drain);
    add(tc, test_px_wmax_counts_bytes_in_flight);
    suite_add_tcase(s, tc);

    /* Its own case, tagged: a reader thread plus io_uring deadlocks under
     * valgrind 3.19 (run it with CK_EXCLUDE_TAGS=thread there). */
    tc = tcase_create("flush");
    tcase_set_tags(tc, "thread");
    add(tc, test_px_flush_wait_runs_the_loop_until_written);
    suite_add_tcase(s, tc);

    tc = tcase_create("cork");
    add(tc, test_px_replies_written_in_one_delivery_are_one_send);
    add(tc, test_px_close_after_drain_in_on_message_sends_corked_replies);
    add(tc, test_px_callback_running_the_loop_gets_its_corked_reply_sent);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    add(tc, test_px_close_after_drain_closes_fd_after_last_byte);
    add(tc, test_px_close_of_idle_writer_closes_at_once);
    add(tc, test_px_close_while_reading_waits_for_the_cancelled_read);
    add(tc, test_px_close_noclose_leaves_fd_open);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    add(tc, test_px_socket_epipe_is_reported_not_raised);
    add(tc, test_px_pipe_epipe_is_reported_not_raised);
    add(tc, test_px_queued_pipe_write_reports_epipe_from_loop);
    add(tc, test_px_peer_reset_reports_econnreset);
    suite_add_tcase(s, tc);

    tc = tcase_create("read");
    add(tc, test_px_pipe_eof_is_delivered_after_the_data);
    add(tc, test_px_rbuf_changed_under_a_read_in_flight_keeps_byte_order);
    add(tc, test_px_rmax_overflow_gives_emsgsize);
    add(tc, test_px_fill_on_socket_reads_without_the_loop);
    add(tc, test_px_fill_on_socket_while_loop_reads_is_eagain);
    add(tc, test_px_line_framer_joins_split_writes);
    suite_add_tcase(s, tc);

    tc = tcase_create("pause");
    add(tc, test_px_read_stop_in_on_message_holds_later_frames);
    add(tc, test_px_read_stop_then_start_in_on_message_delivers_each_frame_once);
    add(tc, test_px_pause_resume_with_read_in_flight_never_loses_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("multishot");
    add(tc, test_px_socket_reads_are_one_multishot_receive_on_uring);
    add(tc, test_px_nested_run_in_on_message_keeps_frames_and_order);
    add(tc, test_px_small_buffer_ring_keeps_socket_bytes_exact);
    suite_add_tcase(s, tc);

    tc = tcase_create("free");
    add(tc, test_px_free_with_read_and_write_in_flight);
    add(tc, test_px_free_inside_on_message_with_send_in_flight);
    add(tc, test_px_free_inside_on_error_from_send);
    add(tc, test_px_free_during_deferred_close_still_closes_fd);
    add(tc, test_px_free_with_readahead_chunks_in_flight);
    suite_add_tcase(s, tc);

    tc = tcase_create("readahead");
    add(tc, test_px_readahead_delivers_files_of_every_size_in_order);
    add(tc, test_px_fill_reads_files_of_every_size_in_order);
    add(tc, test_px_fill_leaves_next_chunks_in_flight);
    add(tc, test_px_fill_follows_a_seek_of_the_fd);
    add(tc, test_px_readahead_with_rmax_below_chunk_delivers_everything);
    add(tc, test_px_readahead_paused_keeps_chunks_and_resumes_in_order);
    add(tc, test_px_fill_on_file_while_reading_is_ebusy);
    add(tc, test_px_warm_file_reads_inline_without_ring_reads);
    add(tc, test_px_warm_file_inline_reads_yield_to_the_loop);
    add(tc, test_px_cold_file_reads_byte_exact);
    tcase_add_test(tc, test_px_set_readahead_rejects_zero_and_too_deep);
    suite_add_tcase(s, tc);

    tc = tcase_create("set_loop");
    add(tc, test_px_set_loop_waits_for_chunks_and_loses_no_byte);
    add(tc, test_px_set_loop_socket_moves_after_read_stop);
    add(tc, test_px_set_loop_writes_the_queue_from_the_new_loop);
    add(tc, test_px_set_loop_between_reactor_and_proactor);
    suite_add_tcase(s, tc);

    tc = tcase_create("differential");
    add(tc, test_px_file_bytes_identical_to_reactor_engine);
    add(tc, test_px_streamed_frames_identical_to_reactor_engine);
    add_engines(tc, test_engines_replies_before_a_framing_error_are_flushed);
    add_engines(tc, test_engines_replies_drain_after_a_framing_error_without_close);
    add_engines(tc, test_engines_write_error_during_drain_after_framing_error_is_reported);
    add_engines(tc, test_engines_idle_stream_gives_its_read_buffer_back);
    add_engines(tc, test_engines_stream_freed_in_on_high_water_is_left_alone_by_the_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* io_uring may be missing or forbidden (ENOSYS, EPERM,
     * io_uring_disabled): then only the fake backend runs. */
    evl_loop *probe;
    if (evl_loop_new(&probe, EVL_PROACTOR, EVL_BACKEND_URING) == 0)
        evl_loop_free(probe);
    else
        first_backend = 1;
    const char *only = getenv("EVL_TEST_BACKEND");
    if (only != NULL && strcmp(only, "fake") == 0)
        first_backend = 1;
    else if (only != NULL && strcmp(only, "uring") == 0)
        end_backend = 1;
    if (first_backend >= end_backend)
        return 77;   /* SKIP: the backend asked for is not available */
    return evl_test_run(stream_proactor_suite());
}
