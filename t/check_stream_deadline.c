/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_stream_deadline.c - evl_stream's idle, read and write timeouts
 * on every engine (tcase_add_loop_test: 0 the reactor, 1 the fake
 * proactor, 2 io_uring where the kernel allows it; EVL_TEST_BACKEND=fake
 * or =uring narrows the proactor ones, as in check_stream_proactor.c).
 *
 * The deadlines run on the loop's real monotonic clock.  Nothing sleeps:
 * the test's own timers feed bytes or drain the peer while the loop
 * waits, and the ratios (a feed every 10 ms against a 150 ms timeout)
 * leave room for valgrind's slowness (test time runs 4x slower there).  "Data flowing resets it" is
 * checked by feeding for several timeout periods; "no re-arm per read"
 * by the loop's timer start counter (timer_seq, evl-internal.h), which
 * counts every heap insertion.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evl-internal.h"   /* loop->timer_seq */
#include "evl-test.h"
#include "evloop.h"
#include "stream-harness.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* A millisecond of test time: four under valgrind, whose slowness would
 * otherwise eat the margins (every period scales, so the ratios hold). */
static uint64_t MS = 1000000ull;

/* ------------------------------------------------------------ engines */

static int skip_uring;           /* the kernel refuses io_uring */

static evl_loop *new_loop(int engine)
{
    evl_loop *loop;
    if (engine == 0)
        ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    else
        ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR,
                                  engine == 1 ? EVL_BACKEND_FAKE : EVL_BACKEND_URING));
    return loop;
}

static int engine_skipped(int engine)
{
    return engine == 2 && skip_uring;
}

/* Runs the loop until *flag is set or until deadline_ns passes. */
static void run_until_or(evl_loop *loop, const int *flag, uint64_t deadline_ns)
{
    while (*flag == 0 && evl_loop_update_now(loop) < deadline_ns)
        ck_assert_int_ge(evl_loop_run_once(loop, 5 * (int64_t)MS), 0);
}

/* Runs the loop until *count reaches want (at most 10 s).  Not the
 * harness's run_until: a proactor's run_once does not count a timer that
 * fired after its wait, and deadlines are timers. */
static void wait_for(evl_loop *loop, const int *count, int want)
{
    uint64_t end = evl_loop_update_now(loop) + 10000 * MS;
    run_until_or(loop, count, end);
    while (*count < want && evl_loop_update_now(loop) < end)
        ck_assert_int_ge(evl_loop_run_once(loop, 5 * (int64_t)MS), 0);
    ck_assert_int_eq(*count, want);
}

/* ------------------------------------------------------------ feeders */

/* A periodic timer that acts on the peer fd: writes one byte into it, or
 * reads what it can from it, count times. */
struct feeder {
    evl_timer t;
    int fd;
    int left;
    int drain;                   /* 1: read from fd instead of writing */
    uint64_t last_ns;            /* loop time of the last action */
    int done;
};

static void feed(evl_timer *t)
{
    struct feeder *f = t->data;
    if (f->drain) {
        char buf[16384];
        ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
        ck_assert_msg(n > 0 || (n < 0 && errno == EAGAIN), "recv %zd errno %d", n, errno);
    } else {
        ck_assert_int_eq(write(f->fd, "x", 1), 1);
    }
    f->last_ns = evl_loop_now_ns(t->loop);
    if (--f->left == 0) {
        evl_timer_stop(t);
        f->done = 1;
    }
}

static void feeder_start(struct feeder *f, evl_loop *loop, int fd, int count, int drain)
{
    *f = (struct feeder){ .fd = fd, .left = count, .drain = drain };
    f->t.data = f;
    ck_assert_rc(evl_timer_init(loop, &f->t));
    ck_assert_rc(evl_timer_start(&f->t, feed, 10 * MS, 10 * MS));
}

/* A stream of sv[0] with the recording callbacks. */
static void stream_open(evl_stream *s, struct rec *r, evl_loop *loop, int sv[2],
                        const struct evl_stream_callbacks *cbs)
{
    make_socketpair(sv);
    memset(r, 0, sizeof(*r));
    memset(s, 0, sizeof(*s));
    s->data = r;
    ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, cbs));
}

/* ------------------------------------------------------------ read */

START_TEST(test_read_timeout_expires_with_etimedout_and_closes)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    uint64_t start = evl_loop_update_now(loop);
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 30 * MS, 0));
    wait_for(loop, &r.n_close, 1);
    ck_assert_int_eq(r.n_err, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_str_eq(r.log, "ec");
    ck_assert_uint_ge(evl_loop_now_ns(loop) - start, 30 * MS);
    ck_assert(fd_is_closed(sv[0]));
    ck_assert_int_eq(evl_stream_error(&s), -ETIMEDOUT);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

START_TEST(test_read_timeout_flowing_data_resets_it)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 150 * MS, 0));
    /* 40 bytes 10 ms apart: 400 ms, over two timeout periods. */
    struct feeder f;
    feeder_start(&f, loop, sv[1], 40, 0);
    run_until_or(loop, &f.done, UINT64_MAX);
    ck_assert_int_eq(r.n_err, 0);
    wait_for(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_uint_eq(r.got, 40);
    /* Counted from the last byte, not from the start. */
    ck_assert_uint_ge(evl_loop_now_ns(loop) - f.last_ns, 150 * MS);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

START_TEST(test_read_timeout_paused_reading_does_not_trip_it)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 20 * MS, 0));
    ck_assert_rc(evl_stream_read_stop(&s));
    int never = 0;
    run_until_or(loop, &never, evl_loop_update_now(loop) + 120 * MS);
    ck_assert_int_eq(r.n_err, 0);
    /* Nothing is watched: the timer lapsed and holds no heap entry. */
    ck_assert(!evl_timer_is_active(&s.dl_timer));
    /* Resumed, the clock starts again from the resume. */
    uint64_t resumed = evl_loop_update_now(loop);
    ck_assert_rc(evl_stream_read_start(&s));
    wait_for(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_uint_ge(evl_loop_now_ns(loop) - resumed, 20 * MS);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

START_TEST(test_read_timeout_no_timer_rearm_per_read)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 60000 * MS, 60000 * MS, 60000 * MS));
    uint64_t before = loop->timer_seq;
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(write(sv[1], "ab", 2), 2);
        wait_for(loop, &r.n_read, i + 1);
        /* A reply keeps the write side busy too. */
        ck_assert_rc(evl_stream_write(&s, "ok", 2));
    }
    ck_assert_uint_eq(r.got, 400);
    /* 200 reads and 200 writes: not one timer operation. */
    ck_assert_uint_eq(loop->timer_seq - before, 0);
    ck_assert(evl_timer_is_active(&s.dl_timer));
    evl_stream_free(&s);
    ck_assert(!evl_timer_is_active(&s.dl_timer));
    close(sv[0]);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* A peer in another thread: one byte into fd after ns, while the loop
 * is blocked in its wait. */
struct late_byte {
    int fd;
    uint64_t ns;
};

static void *write_late(void *arg)
{
    struct late_byte *b = arg;
    struct timespec ts = { .tv_sec = (time_t)(b->ns / 1000000000u),
                           .tv_nsec = (long)(b->ns % 1000000000u) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    ck_assert_int_eq(write(b->fd, "x", 1), 1);
    return NULL;
}

/* A byte counts from when it is read, not from when the wait that saw
 * it began: the reactor dispatches inside its wait, and used to stamp
 * the byte with the time cached before the wait, so the deadline fired
 * as if the byte had come at the start (here at ~300 ms instead of
 * ~350).  The byte comes at 50 ms; the thread may be late by 250 ms. */
static void deadline_counts_bytes_when_read(int engine, int idle)
{
    evl_loop *loop = new_loop(engine);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    if (idle)
        ck_assert_rc(evl_stream_set_timeouts(&s, 300 * MS, 0, 0));
    else
        ck_assert_rc(evl_stream_set_timeouts(&s, 0, 300 * MS, 0));
    struct late_byte b = { .fd = sv[1], .ns = 50 * MS };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, write_late, &b), 0);
    /* One long wait: it ends with the byte. */
    while (r.n_read == 0 && r.n_err == 0)
        ck_assert_int_ge(evl_loop_run_once(loop, 5000 * (int64_t)MS), 0);
    uint64_t read_at = evl_loop_update_now(loop);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(r.n_read, 1);
    ck_assert_int_eq(r.n_err, 0);
    wait_for(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_uint_ge(evl_loop_now_ns(loop) - read_at, 300 * MS - 10 * MS);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}

START_TEST(test_read_timeout_counts_a_byte_from_when_it_is_read)
{
    if (engine_skipped(_i))
        return;
    deadline_counts_bytes_when_read(_i, 0);
}
END_TEST

START_TEST(test_idle_timeout_counts_a_byte_from_when_it_is_read)
{
    if (engine_skipped(_i))
        return;
    deadline_counts_bytes_when_read(_i, 1);
}
END_TEST

/* ------------------------------------------------------------ write */

/* Queues more than the peer's socket holds (make_socketpair's 64 KiB
 * send buffer plus the receiver's). */
static void queue_lots(evl_stream *s, size_t total)
{
    static char chunk[65536];
    for (size_t done = 0; done < total; done += sizeof(chunk))
        ck_assert_rc(evl_stream_write(s, chunk, sizeof(chunk)));
}

START_TEST(test_write_timeout_stalled_queue_expires)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &write_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 0, 30 * MS));
    /* The clock starts at the loop's cached time, as a timer's would. */
    uint64_t start = evl_loop_update_now(loop);
    queue_lots(&s, 4 << 20);
    wait_for(loop, &r.n_close, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_uint_ge(evl_loop_now_ns(loop) - start, 30 * MS);
    ck_assert(fd_is_closed(sv[0]));
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

START_TEST(test_write_timeout_progress_resets_it_and_empty_queue_never_trips)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &write_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 0, 300 * MS));
    /* Nothing queued: no write deadline, no timer. */
    ck_assert(!evl_timer_is_active(&s.dl_timer));
    /* 1 MiB drained 16 KiB per 10 ms takes 640 ms, over two periods. */
    queue_lots(&s, 1 << 20);
    struct feeder f;
    feeder_start(&f, loop, sv[1], 1000, 1);
    wait_for(loop, &r.n_drain, 1);
    ck_assert_int_eq(r.n_err, 0);
    evl_timer_stop(&f.t);
    int never = 0;
    run_until_or(loop, &never, evl_loop_update_now(loop) + 300 * MS);
    ck_assert_int_eq(r.n_err, 0);
    ck_assert(!evl_timer_is_active(&s.dl_timer));
    evl_stream_free(&s);
    close(sv[0]);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ idle */

START_TEST(test_idle_timeout_counts_bytes_either_way)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 150 * MS, 0, 0));
    /* Incoming bytes keep it alive... */
    struct feeder f;
    feeder_start(&f, loop, sv[1], 30, 0);
    run_until_or(loop, &f.done, UINT64_MAX);
    ck_assert_int_eq(r.n_err, 0);
    /* ... and so do outgoing ones, with reading paused (idle does not
     * care whether reading is wanted). */
    ck_assert_rc(evl_stream_read_stop(&s));
    for (int i = 0; i < 30; i++) {
        int never = 0;
        run_until_or(loop, &never, evl_loop_update_now(loop) + 10 * MS);
        ck_assert_rc(evl_stream_write(&s, "y", 1));
    }
    ck_assert_int_eq(r.n_err, 0);
    uint64_t last = evl_loop_update_now(loop);
    wait_for(loop, &r.n_close, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_uint_ge(evl_loop_now_ns(loop) - last, 150 * MS - 10 * MS);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ api */

START_TEST(test_timeouts_cleared_stop_the_timer)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 20 * MS, 20 * MS, 20 * MS));
    ck_assert(evl_timer_is_active(&s.dl_timer));
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 0, 0));
    ck_assert(!evl_timer_is_active(&s.dl_timer));
    int never = 0;
    run_until_or(loop, &never, evl_loop_update_now(loop) + 60 * MS);
    ck_assert_int_eq(r.n_err, 0);
    ck_assert_int_eq(evl_stream_set_timeouts(NULL, 0, 0, 0), -EINVAL);
    evl_stream_free(&s);
    close(sv[0]);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

START_TEST(test_timeout_free_from_on_error)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream *s = calloc(1, sizeof(*s));
    struct rec r = { .action = ACT_FREE };
    int sv[2];
    make_socketpair(sv);
    s->data = &r;
    ck_assert_rc(evl_stream_init(s, loop, sv[0], 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_timeouts(s, 10 * MS, 0, 0));
    wait_for(loop, &r.n_err, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    ck_assert_int_eq(r.n_close, 0);   /* freed in on_error: nothing after it */
    int never = 0;
    run_until_or(loop, &never, evl_loop_update_now(loop) + 30 * MS);
    loop_done(loop);
    close(sv[0]);
    close(sv[1]);
    bytes_free(&r.data);
}
END_TEST

START_TEST(test_timeouts_follow_set_loop)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    make_socketpair(sv);
    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    s.data = &r;
    /* Stored without a loop, applied on joining one. */
    ck_assert_rc(evl_stream_init(&s, NULL, sv[0], 0, &raw_cbs));
    ck_assert_rc(evl_stream_set_timeouts(&s, 0, 20 * MS, 0));
    ck_assert(!evl_timer_is_active(&s.dl_timer));
    ck_assert_rc(evl_stream_set_loop(&s, loop));
    ck_assert_rc(evl_stream_read_start(&s));
    wait_for(loop, &r.n_close, 1);
    ck_assert_int_eq(r.err, -ETIMEDOUT);
    evl_stream_free(&s);
    close(sv[1]);
    bytes_free(&r.data);
    loop_done(loop);
}
END_TEST

/* A stream that left its loop (as a layer's stream does when its loop
 * object goes) keeps no pointer to it: the loop can be freed first and the
 * stream's free must not touch it (it did, in evl_timer_stop). */
START_TEST(test_timeouts_leave_no_pointer_to_a_left_loop)
{
    if (engine_skipped(_i))
        return;
    evl_loop *loop = new_loop(_i);
    evl_stream s;
    struct rec r;
    int sv[2];
    stream_open(&s, &r, loop, sv, &raw_cbs);
    ck_assert_rc(evl_stream_set_timeouts(&s, 60000 * MS, 60000 * MS, 60000 * MS));
    ck_assert(evl_timer_is_active(&s.dl_timer));
    /* A proactor's read in flight holds the stream on the loop until it
     * comes back. */
    ck_assert_rc(evl_stream_read_stop(&s));
    int rc;
    for (int k = 0; (rc = evl_stream_set_loop(&s, NULL)) == -EBUSY; k++) {
        ck_assert_int_lt(k, 1000);
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    }
    ck_assert_rc(rc);
    ck_assert_ptr_null(s.dl_timer.loop);
    loop_done(loop);
    evl_stream_free(&s);   /* after the loop: valgrind and ASan watch this */
    close(sv[1]);
    bytes_free(&r.data);
}
END_TEST

static Suite *deadline_suite(void)
{
    Suite *s = suite_create("stream_deadline");
    TCase *tc = tcase_create("read");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_read_timeout_expires_with_etimedout_and_closes, 0, 3);
    tcase_add_loop_test(tc, test_read_timeout_flowing_data_resets_it, 0, 3);
    tcase_add_loop_test(tc, test_read_timeout_paused_reading_does_not_trip_it, 0, 3);
    tcase_add_loop_test(tc, test_read_timeout_no_timer_rearm_per_read, 0, 3);
    tcase_add_loop_test(tc, test_read_timeout_counts_a_byte_from_when_it_is_read, 0, 3);
    tcase_add_loop_test(tc, test_idle_timeout_counts_a_byte_from_when_it_is_read, 0, 3);
    suite_add_tcase(s, tc);

    tc = tcase_create("write");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_write_timeout_stalled_queue_expires, 0, 3);
    tcase_add_loop_test(tc, test_write_timeout_progress_resets_it_and_empty_queue_never_trips,
                        0, 3);
    suite_add_tcase(s, tc);

    tc = tcase_create("idle");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_idle_timeout_counts_bytes_either_way, 0, 3);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_timeouts_cleared_stop_the_timer, 0, 3);
    tcase_add_loop_test(tc, test_timeout_free_from_on_error, 0, 3);
    tcase_add_loop_test(tc, test_timeouts_follow_set_loop, 0, 3);
    tcase_add_loop_test(tc, test_timeouts_leave_no_pointer_to_a_left_loop, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (RUNNING_ON_VALGRIND)
        MS *= 4;
    evl_loop *probe;
    if (evl_loop_new(&probe, EVL_PROACTOR, EVL_BACKEND_URING) == 0)
        evl_loop_free(probe);
    else
        skip_uring = 1;
    /* valgrind runs set this (see check_stream_proactor.c): the reactor
     * always runs, the proactor backend named. */
    const char *only = getenv("EVL_TEST_BACKEND");
    if (only != NULL && strcmp(only, "fake") == 0)
        skip_uring = 1;
    return evl_test_run(deadline_suite());
}
