/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_wakeup.c - eventfd wakeups from threads and forked children. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"
#include "evl-internal.h"   /* evl__wakeup_write_count, loop->polling */

struct wake_rec {
    int calls;
    uint64_t sum;
};

static void on_wake(evl_wakeup *wk, uint64_t count)
{
    struct wake_rec *r = wk->data;
    r->calls++;
    r->sum += count;
}

static void *signal_from_thread(void *arg)
{
    evl_wakeup *wk = arg;
    for (int i = 0; i < 1000; i++)
        if (evl_wakeup_signal(wk, 1) != 0)
            return (void *)1;
    return NULL;
}

START_TEST(test_wakeup_from_thread_sums_counts)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_rc(pthread_create(&th[i], NULL, signal_from_thread, &wk));
    /* Blocking waits: only the threads' signals can wake us. */
    while (r.sum < 2000)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    for (int i = 0; i < 2; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        ck_assert_ptr_null(ret);
    }
    ck_assert_uint_eq(r.sum, 2000);
    ck_assert_int_ge(r.calls, 1);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_wakeup_from_forked_child)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(evl_wakeup_signal(&wk, 7) == 0 ? 0 : 1);
    while (r.sum < 7)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(r.sum, 7);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_wakeup_drain_without_callback)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_wakeup wk = { 0 };
    ck_assert_rc(evl_wakeup_init(loop, &wk, NULL));
    ck_assert_int_eq(evl_wakeup_drain(&wk), 0);
    ck_assert_rc(evl_wakeup_signal(&wk, 3));
    ck_assert_int_eq(evl_wakeup_drain(&wk), 3);
    ck_assert_int_eq(evl_wakeup_drain(&wk), 0);
    ck_assert_int_ge(evl_wakeup_fd(&wk), 0);
    evl_wakeup_close(&wk);
    ck_assert_int_eq(evl_wakeup_fd(&wk), -1);
    evl_wakeup_close(&wk);   /* idempotent */
    ck_assert_int_eq(evl_wakeup_signal(&wk, 1), -EBADF);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_wakeup_bad_arguments)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_wakeup wk = { 0 };
    ck_assert_int_eq(evl_wakeup_init(NULL, &wk, NULL), -EINVAL);
    ck_assert_int_eq(evl_wakeup_init(loop, NULL, NULL), -EINVAL);
    ck_assert_rc(evl_wakeup_init(loop, &wk, NULL));
    ck_assert_int_eq(evl_wakeup_signal(&wk, 0), -EINVAL);
    ck_assert_int_eq(evl_wakeup_signal(&wk, UINT64_MAX), -EINVAL);
    ck_assert_int_eq(evl_wakeup_signal(NULL, 1), -EINVAL);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* A count past what a drain returns whole is refused, for a bound
 * wakeup (its pending counter wrapped: 2^64-3 then 10 arrived as 7) and
 * an unbound one (the eventfd's own overflow came back as -EAGAIN); what
 * was accepted is delivered exactly. */
START_TEST(test_wakeup_signal_refuses_a_count_a_drain_cannot_return)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup bound = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &bound, on_wake));
    ck_assert_int_eq(evl_wakeup_signal(&bound, UINT64_MAX - 2), -EINVAL);
    ck_assert_int_eq(evl_wakeup_signal(&bound, (uint64_t)INT64_MAX + 1), -EINVAL);
    ck_assert_rc(evl_wakeup_signal(&bound, (uint64_t)INT64_MAX - 5));
    ck_assert_int_eq(evl_wakeup_signal(&bound, 10), -EINVAL);
    ck_assert_rc(evl_wakeup_signal(&bound, 5));
    ck_assert_int_eq(evl_wakeup_signal(&bound, 1), -EINVAL);
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_uint_eq(r.sum, (uint64_t)INT64_MAX);
    ck_assert_rc(evl_wakeup_signal(&bound, 3));   /* drained: room again */
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_uint_eq(r.sum, (uint64_t)INT64_MAX + 3);
    evl_wakeup_close(&bound);

    evl_wakeup unbound = { 0 };
    ck_assert_rc(evl_wakeup_init(loop, &unbound, NULL));
    ck_assert_rc(evl_wakeup_signal(&unbound, (uint64_t)INT64_MAX));
    ck_assert_rc(evl_wakeup_signal(&unbound, (uint64_t)INT64_MAX));
    /* The eventfd now holds 2^64-2, its most. */
    ck_assert_int_eq(evl_wakeup_signal(&unbound, 1), -EINVAL);
    evl_wakeup_close(&unbound);
    evl_loop_free(loop);
}
END_TEST

/* A user watcher on the wakeup's fd replaces the internal one. */
static void user_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    evl_wakeup *wk = w->data;
    int64_t *got = wk->data;
    *got += evl_wakeup_drain(wk);
}

START_TEST(test_wakeup_fd_can_be_rewatched_by_user)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    int64_t got = 0;
    evl_wakeup wk = { 0 };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    wk.data = &got;
    evl_watcher w = { .data = &wk };
    evl_watcher_init(&w, user_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, evl_wakeup_fd(&wk), EVL_READ));
    evl_wakeup_signal(&wk, 5);
    evl_loop_run_once(loop, 100000000);
    ck_assert_int_eq(got, 5);
    ck_assert_int_eq(r.calls, 0);
    evl_watcher_stop(&w);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* Signals from the loop's own thread while it is not blocked cost no
 * eventfd write, and the loop hands them out in one drain. */
START_TEST(test_wakeup_own_thread_no_write)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    uint64_t w0 = evl__wakeup_write_count();
    ck_assert_rc(evl_wakeup_signal(&wk, 1));
    ck_assert_rc(evl_wakeup_signal(&wk, 2));
    ck_assert_rc(evl_wakeup_signal(&wk, 3));
    ck_assert_uint_eq(evl__wakeup_write_count(), w0);
    /* A blocking wait must not block: the counts are pending. */
    ck_assert_int_eq(evl_loop_run_once(loop, -1), 1);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_uint_eq(r.sum, 6);
    ck_assert_uint_eq(evl__wakeup_write_count(), w0);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* A callback that signals its own wakeup: each signal is delivered at
 * the next wait (never in the batch that raised it), without a write. */
static void on_wake_again(evl_wakeup *wk, uint64_t count)
{
    struct wake_rec *r = wk->data;
    r->calls++;
    r->sum += count;
    if (r->calls < 100)
        evl_wakeup_signal(wk, 1);
}

START_TEST(test_wakeup_from_own_callback_no_write)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake_again));
    uint64_t w0 = evl__wakeup_write_count();
    ck_assert_rc(evl_wakeup_signal(&wk, 1));
    for (int i = 1; i <= 100; i++) {
        ck_assert_int_eq(evl_loop_run_once(loop, -1), 1);
        ck_assert_int_eq(r.calls, i);
    }
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_uint_eq(r.sum, 100);
    ck_assert_uint_eq(evl__wakeup_write_count(), w0);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* A signal from another thread while the loop is blocked wakes it with
 * exactly one write (the loop's token). */
static void *signal_when_polling(void *arg)
{
    evl_wakeup *wk = arg;
    while (!atomic_load(&wk->loop->polling))
        ;
    return (void *)(intptr_t)evl_wakeup_signal(wk, 4);
}

START_TEST(test_wakeup_blocked_loop_one_write)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    uint64_t w0 = evl__wakeup_write_count();
    pthread_t th;
    ck_assert_rc(pthread_create(&th, NULL, signal_when_polling, &wk));
    while (r.sum < 4)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    void *ret;
    pthread_join(th, &ret);
    ck_assert_ptr_null(ret);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_uint_eq(evl__wakeup_write_count() - w0, 1);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* N threads x M signals against a loop that blocks whenever it can:
 * every signal is seen (no lost wakeup), and there are never more
 * writes than signals. */
#define STRESS_THREADS 4
#define STRESS_SIGNALS 20000

static void *stress_signaller(void *arg)
{
    evl_wakeup *wk = arg;
    for (int i = 0; i < STRESS_SIGNALS; i++) {
        if (evl_wakeup_signal(wk, 1) != 0)
            return (void *)1;
        if (i % 64 == 0)
            sched_yield();   /* let the loop block now and then */
    }
    return NULL;
}

START_TEST(test_wakeup_stress_no_lost_wakeup)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    uint64_t w0 = evl__wakeup_write_count();
    pthread_t th[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++)
        ck_assert_rc(pthread_create(&th[i], NULL, stress_signaller, &wk));
    /* Blocking waits only: a lost wakeup hangs here (the suite's timeout). */
    while (r.sum < (uint64_t)STRESS_THREADS * STRESS_SIGNALS)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    for (int i = 0; i < STRESS_THREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        ck_assert_ptr_null(ret);
    }
    ck_assert_uint_eq(r.sum, (uint64_t)STRESS_THREADS * STRESS_SIGNALS);
    ck_assert_uint_le(evl__wakeup_write_count() - w0, (uint64_t)r.calls + STRESS_THREADS);
    /* Nothing left over: a last wait finds nothing. */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* A count pending in memory at a fork is the parent's: the child's loop
 * does not deliver it, the parent's does. */
START_TEST(test_wakeup_pending_at_fork_stays_with_parent)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct wake_rec r = { 0 };
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    ck_assert_rc(evl_wakeup_signal(&wk, 3));   /* pending, no write */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = 0;
        for (int i = 0; i < 3; i++)
            if (evl_loop_run_once(loop, 0) < 0)
                bad = 1;
        if (r.calls != 0 || evl_wakeup_drain(&wk) != 0)
            bad = 1;
        _exit(bad);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(evl_loop_run_once(loop, -1), 1);
    ck_assert_uint_eq(r.sum, 3);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* A user watcher that does not drain is called again at every wait,
 * as on a level-triggered eventfd. */
static void user_peek(evl_watcher *w, unsigned ev)
{
    (void)ev;
    (*(int *)w->data)++;
}

START_TEST(test_wakeup_undrained_count_fires_again)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_wakeup wk = { 0 };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    int calls = 0;
    evl_watcher w = { .data = &calls };
    evl_watcher_init(&w, user_peek, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, evl_wakeup_fd(&wk), EVL_READ));
    ck_assert_rc(evl_wakeup_signal(&wk, 2));
    evl_loop_run_once(loop, -1);
    evl_loop_run_once(loop, -1);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(evl_wakeup_drain(&wk), 2);
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(calls, 2);
    evl_watcher_stop(&w);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* With no watcher on the fd, a pending count goes to the eventfd. */
START_TEST(test_wakeup_unwatched_count_goes_to_fd)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_wakeup wk = { 0 };
    ck_assert_rc(evl_wakeup_init(loop, &wk, on_wake));
    evl_watcher_stop(&wk.w);
    ck_assert_rc(evl_wakeup_signal(&wk, 5));
    evl_loop_run_once(loop, 0);
    uint64_t v = 0;
    ck_assert_int_eq(read(evl_wakeup_fd(&wk), &v, sizeof(v)), (int)sizeof(v));
    ck_assert_uint_eq(v, 5);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

/* A wakeup chain (each callback signals the next) inside evl_loop_run
 * skips every other non-blocking wait: a pipe already readable is not
 * seen by the first iteration, which only runs the pending wakeup, but
 * by the second, whose wait finds it.  evl_loop_run_once always waits. */
struct chain_rec {
    int wakes;
    int reads;
    int read_at;                 /* wakes when the pipe was read */
    int rfd;
};

static void chain_wake(evl_wakeup *wk, uint64_t count)
{
    (void)count;
    struct chain_rec *r = wk->data;
    if (++r->wakes == 4)
        evl_loop_stop(wk->loop);
    else
        ck_assert_rc(evl_wakeup_signal(wk, 1));
}

static void chain_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    struct chain_rec *r = w->data;
    char c;
    ck_assert_int_eq(read(r->rfd, &c, 1), 1);
    r->reads++;
    r->read_at = r->wakes;
}

START_TEST(test_wakeup_chain_waits_every_other_iteration)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct chain_rec r = { 0 };
    int p[2];
    evl_watcher w;
    watch_pipe(loop, &w, p, chain_read);   /* its idle turn waited */
    w.data = &r;
    r.rfd = p[0];
    evl_wakeup wk = { .data = &r };
    ck_assert_rc(evl_wakeup_init(loop, &wk, chain_wake));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_rc(evl_wakeup_signal(&wk, 1));
    ck_assert_rc(evl_loop_run(loop));
    ck_assert_int_eq(r.wakes, 4);
    ck_assert_int_eq(r.reads, 1);
    ck_assert_int_eq(r.read_at, 1);   /* after the first wakeup, not before */

    /* run_once: the wait every time, fd before wakeup. */
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_rc(evl_wakeup_signal(&wk, 1));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 1);
    ck_assert_int_eq(r.reads, 2);
    ck_assert_int_eq(r.read_at, 4);
    ck_assert_int_eq(r.wakes, 5);
    evl_watcher_stop(&w);
    close_pair(p);
    evl_wakeup_close(&wk);
    evl_loop_free(loop);
}
END_TEST

static Suite *wakeup_suite(void)
{
    Suite *s = suite_create("wakeup");
    TCase *tc = tcase_create("wakeup");
    tcase_add_test(tc, test_wakeup_from_thread_sums_counts);
    tcase_add_test(tc, test_wakeup_from_forked_child);
    tcase_add_test(tc, test_wakeup_drain_without_callback);
    tcase_add_test(tc, test_wakeup_bad_arguments);
    tcase_add_test(tc, test_wakeup_fd_can_be_rewatched_by_user);
    tcase_add_test(tc, test_wakeup_own_thread_no_write);
    tcase_add_test(tc, test_wakeup_from_own_callback_no_write);
    tcase_add_test(tc, test_wakeup_blocked_loop_one_write);
    tcase_add_test(tc, test_wakeup_stress_no_lost_wakeup);
    tcase_add_test(tc, test_wakeup_pending_at_fork_stays_with_parent);
    tcase_add_test(tc, test_wakeup_undrained_count_fires_again);
    tcase_add_test(tc, test_wakeup_unwatched_count_goes_to_fd);
    tcase_add_test(tc, test_wakeup_chain_waits_every_other_iteration);
    tcase_add_test(tc, test_wakeup_signal_refuses_a_count_a_drain_cannot_return);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(wakeup_suite());
}
