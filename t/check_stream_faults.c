/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_stream_faults.c - evl_stream under injected syscall failures
 * (t/stream-faults.c): read and write errors with a chosen errno, short
 * writes, EINTR and EAGAIN storms.  Checked: an error reaches on_error
 * exactly once with its errno and the stream stops touching the fd;
 * bytes written before a write error are the pattern's prefix at the
 * peer; short writes and EINTR lose, repeat or reorder nothing and are
 * no error; an EAGAIN storm is not a busy loop (syscalls per loop
 * iteration stay bounded, and none are made while the loop is idle).
 * make check-valgrind runs this suite too (leaks, bad reads).
 *
 * Every test runs on the reactor (_i 0) and the fake proactor backend
 * (_i 1); io_uring does its I/O in the kernel, where the shim cannot
 * reach.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"
#include "stream-harness.h"

/* ------------------------------------------------------------ loops */

static evl_loop *new_engine(int engine)
{
    evl_loop *loop;
    if (engine == 0)
        ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    else
        ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_FAKE));
    return loop;
}

/* Runs the loop (never blocking) n times; returns the shim's hits. */
static long idle_turns(evl_loop *loop, int n)
{
    long before = fault_hits();
    for (int i = 0; i < n; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    return fault_hits() - before;
}

/* Writes total pattern bytes in 16 KiB pieces; returns 0 or the error. */
static int write_pattern(evl_stream *s, size_t off, size_t total)
{
    static char buf[16384];
    for (size_t done = 0; done < total;) {
        size_t n = total - done < sizeof(buf) ? total - done : sizeof(buf);
        fill_pattern(buf, off + done, n);
        int rc = evl_stream_write(s, buf, n);
        if (rc != 0)
            return rc;
        done += n;
    }
    return 0;
}

/* Reads what is in the (non-blocking) peer now; checks it against the
 * pattern from *got on. */
static void drain_peer(int fd, size_t *got)
{
    char buf[16384];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            ck_assert_msg((unsigned char)buf[i] == pattern(*got + (size_t)i),
                          "byte %zu at the peer is not the pattern's", *got + (size_t)i);
        *got += (size_t)n;
    }
}

/* ------------------------------------------------------------ read errors */

/* EIO (_i 0, 1) and ECONNRESET (_i 2, 3) from every read: one on_error
 * with that errno, nothing delivered, and no further read. */
START_TEST(test_faults_read_error_reaches_on_error_once)
{
    int engine = _i % 2, err = _i < 2 ? EIO : ECONNRESET;
    evl_loop *loop = new_engine(engine);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    fault_fail(sv[0], FAULT_READ, err, -1);
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &raw_cbs));
    ck_assert_int_eq(write(sv[1], "hello", 5), 5);
    run_until(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -err);
    ck_assert_int_eq(evl_stream_error(&s), -err);
    ck_assert_int_eq(r.n_read, 0);
    /* Stopped: more input and more turns make no read and no report,
     * and the loop sleeps (the readable fd is not watched any more). */
    ck_assert_int_eq(write(sv[1], "again", 5), 5);
    ck_assert_int_eq(idle_turns(loop, 20), 0);
    ck_assert_int_eq(evl_loop_run_once(loop, 20000000), 0);
    ck_assert_int_eq(r.n_err, 1);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* EINTR is retried inside the library: three interrupted reads, then
 * every byte arrives and nothing is an error. */
START_TEST(test_faults_read_eintr_is_retried)
{
    evl_loop *loop = new_engine(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    r.check = 1;
    fault_fail(sv[0], FAULT_READ, EINTR, 3);
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &raw_cbs));
    char buf[1000];
    fill_pattern(buf, 0, sizeof buf);
    ck_assert_int_eq(write(sv[1], buf, sizeof buf), (ssize_t)sizeof buf);
    for (int i = 0; r.got < sizeof buf; i++) {
        ck_assert_int_lt(i, 100);
        ck_assert_int_ge(evl_loop_run_once(loop, 5000000000LL), 0);
    }
    ck_assert_uint_eq(r.got, sizeof buf);
    ck_assert_uint_eq(r.mismatch, 0);
    ck_assert_int_eq(r.n_err, 0);
    ck_assert_int_eq(fault_hits(), 3);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* A storm of EAGAIN from reads (the fd readable all along) is not a busy
 * loop: the reactor waits for the next edge, the fake backend retries
 * once per turn; when the storm ends, every byte arrives in order. */
START_TEST(test_faults_read_eagain_storm_does_not_spin)
{
    evl_loop *loop = new_engine(_i);
    int sv[2];
    make_socketpair(sv);
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    r.check = 1;
    fault_fail(sv[0], FAULT_READ, EAGAIN, -1);
    ck_assert_rc(evl_stream_init(&s, loop, sv[0], 0, &raw_cbs));
    char buf[3000];
    fill_pattern(buf, 0, 1000);
    ck_assert_int_eq(write(sv[1], buf, 1000), 1000);
    /* The fd stays readable (the kernel has the bytes), so each turn may
     * try once, but no more: the bound is per turn, not per byte. */
    long hits = idle_turns(loop, 100);
    ck_assert_int_le(hits, 101);
    ck_assert_int_eq(r.n_read, 0);
    ck_assert_int_eq(r.n_err, 0);
    fault_clear();
    fill_pattern(buf, 1000, 2000);
    ck_assert_int_eq(write(sv[1], buf, 2000), 2000);   /* a new edge */
    for (int i = 0; r.got < 3000; i++) {
        ck_assert_int_lt(i, 100);
        ck_assert_int_ge(evl_loop_run_once(loop, 5000000000LL), 0);
    }
    ck_assert_uint_eq(r.got, 3000);
    ck_assert_uint_eq(r.mismatch, 0);
    ck_assert_int_eq(r.n_err, 0);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ write errors */

/* A queue of 256 KiB drains through writes cut to 700 bytes, then the
 * 40th write fails with EPIPE (_i 0, 1) or ECONNRESET (_i 2, 3): one
 * on_error with that errno; what reached the peer is exactly the
 * pattern's first bytes, every byte the writes before the error took;
 * later writes are refused with the sticky error; no further syscall. */
START_TEST(test_faults_write_error_after_partial_writes_keeps_the_prefix)
{
    int engine = _i % 2, err = _i < 2 ? EPIPE : ECONNRESET;
    evl_loop *loop = new_engine(engine);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    fault_short(sv[0], FAULT_WRITE, 700, 39);
    fault_fail(sv[0], FAULT_WRITE, err, -1);
    const size_t total = 256 * 1024;
    ck_assert_rc(write_pattern(&s, 0, total));
    size_t got = 0;
    for (int i = 0; r.n_err == 0; i++) {
        ck_assert_int_lt(i, 10000);
        ck_assert_int_ge(evl_loop_run_once(loop, 1000000000LL), 0);
        drain_peer(sv[1], &got);
    }
    drain_peer(sv[1], &got);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -err);
    /* 39 capped writes went through, then the error: every byte they
     * took is at the peer (a proactor's sends end at the pieces' edges,
     * so some took less than 700). */
    ck_assert_uint_eq(got, fault_moved());
    ck_assert_uint_gt(got, 38 * 700 / 2);
    ck_assert_uint_le(got, 39 * 700);
    ck_assert_int_eq(evl_stream_write(&s, "x", 1), -err);
    ck_assert_int_eq(idle_turns(loop, 20), 0);
    ck_assert_int_eq(evl_loop_run_once(loop, 20000000), 0);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.n_drain, 0);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* The same error on the very first write (nothing queued yet): on_error
 * reports it once, whether the write found it (and returned it too,
 * stream.c: "reported once through on_error, from whichever call found
 * it") or the loop did; no write is tried again. */
START_TEST(test_faults_write_error_on_first_write_is_reported_once)
{
    evl_loop *loop = new_engine(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    fault_fail(sv[0], FAULT_WRITE, EPIPE, -1);
    int rc = evl_stream_write(&s, "hello", 5);
    ck_assert(rc == 0 || rc == -EPIPE);
    for (int i = 0; i < 20; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -EPIPE);
    ck_assert_int_eq(evl_stream_error(&s), -EPIPE);
    ck_assert_int_le(fault_hits(), 1);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* Short writes (one byte, then 1..4096 byte caps) and EINTR between
 * them: every byte arrives once and in order, on_drain once, no error. */
START_TEST(test_faults_short_writes_and_eintr_lose_nothing)
{
    evl_loop *loop = new_engine(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    fault_short(sv[0], FAULT_WRITE, 1, 5);
    fault_fail(sv[0], FAULT_WRITE, EINTR, 3);
    fault_short(sv[0], FAULT_WRITE, 4096, 20);
    fault_fail(sv[0], FAULT_WRITE, EINTR, 2);
    fault_short(sv[0], FAULT_WRITE, 333, 30);
    const size_t total = 200 * 1024;
    ck_assert_rc(write_pattern(&s, 0, total));
    size_t got = 0;
    for (int i = 0; got < total; i++) {
        ck_assert_int_lt(i, 10000);
        ck_assert_int_ge(evl_loop_run_once(loop, 1000000000LL), 0);
        drain_peer(sv[1], &got);
    }
    ck_assert_uint_eq(got, total);
    spin(loop);
    ck_assert_int_eq(r.n_err, 0);
    ck_assert_int_eq(r.n_drain, 1);
    ck_assert_int_eq(fault_hits(), 5 + 3 + 20 + 2 + 30);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* An EAGAIN storm on writes while the socket has room: the queue waits
 * without a busy loop (a bounded number of write attempts), then drains
 * completely once the storm ends. */
START_TEST(test_faults_write_eagain_storm_does_not_spin)
{
    evl_loop *loop = new_engine(_i);
    int sv[2];
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    pair_stream(loop, &s, sv, 0, &write_cbs);
    fault_fail(sv[0], FAULT_WRITE, EAGAIN, -1);
    ck_assert_rc(write_pattern(&s, 0, 5000));
    ck_assert_uint_eq(evl_stream_queued(&s), 5000);
    long hits = idle_turns(loop, 100);
    ck_assert_int_le(hits, 102);
    ck_assert_int_eq(r.n_err, 0);
    fault_clear();
    size_t got = 0;
    /* The writes go on once the fd is writable again: a write of the
     * peer's makes no difference to a socket with room, so the loop has
     * to find it by itself. */
    for (int i = 0; got < 5000; i++) {
        ck_assert_int_lt(i, 200);
        ck_assert_int_ge(evl_loop_run_once(loop, 100000000LL), 0);
        drain_peer(sv[1], &got);
    }
    ck_assert_uint_eq(got, 5000);
    ck_assert_uint_eq(evl_stream_queued(&s), 0);
    ck_assert_int_eq(r.n_err, 0);
    stream_pair_done(loop, &s, sv, &r);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *stream_faults_suite(void)
{
    Suite *s = suite_create("stream_faults");
    TCase *tc = tcase_create("read");
    tcase_add_loop_test(tc, test_faults_read_error_reaches_on_error_once, 0, 4);
    tcase_add_loop_test(tc, test_faults_read_eintr_is_retried, 0, 2);
    tcase_add_loop_test(tc, test_faults_read_eagain_storm_does_not_spin, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("write");
    tcase_add_loop_test(tc, test_faults_write_error_after_partial_writes_keeps_the_prefix, 0, 4);
    tcase_add_loop_test(tc, test_faults_write_error_on_first_write_is_reported_once, 0, 2);
    tcase_add_loop_test(tc, test_faults_short_writes_and_eintr_lose_nothing, 0, 2);
    tcase_add_loop_test(tc, test_faults_write_eagain_storm_does_not_spin, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

/* Whether the shim sees the library's reads (a _FORTIFY_SOURCE build may
 * route them past it): a stream over a socketpair with one EIO armed. */
static int shim_works(void)
{
    evl_loop *loop;
    int sv[2];
    if (evl_loop_new(&loop, EVL_REACTOR, 0) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    struct rec r = { 0 };
    evl_stream s = { .data = &r };
    fault_fail(sv[0], FAULT_READ, EIO, 1);
    int ok = evl_stream_init(&s, loop, sv[0], 0, &raw_cbs) == 0 && write(sv[1], "x", 1) == 1;
    for (int i = 0; ok && i < 10 && r.n_err == 0 && r.n_read == 0; i++)
        evl_loop_run_once(loop, 1000000000LL);
    ok = ok && r.n_err == 1 && r.err == -EIO;
    stream_pair_end(loop, &s, sv, &r);
    fault_clear();
    return ok;
}

int main(void)
{
    if (!shim_works()) {
        fprintf(stderr, "check_stream_faults: the syscall shim does not see libevloop's reads\n");
        return 77;
    }
    return evl_test_run(stream_faults_suite());
}
