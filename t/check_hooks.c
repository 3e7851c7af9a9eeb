/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_hooks.c - iteration hooks (idle, prepare, check), drift-free
 * periodic timers, the wall clock and evl_loop_alive, on both models. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static char log_buf[256];
static int log_n;

static void note(char c)
{
    if (log_n < (int)sizeof(log_buf) - 1)
        log_buf[log_n++] = c;
}

static void on_idle(evl_hook *h) { (void)h; note('i'); }
static void on_prepare(evl_hook *h) { (void)h; note('p'); }
static void on_check(evl_hook *h) { (void)h; note('c'); }
static void on_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    char b[16];
    (void)!read(w->fd, b, sizeof(b));
    note('r');
}
static void on_timer(evl_timer *t) { (void)t; note('t'); }

/* _i: 0 reactor, 1 the fake proactor (hooks and timers are the loop's,
 * the same on every model). */
static evl_loop *new_loop(int i)
{
    evl_loop *loop;
    if (i == 0)
        ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    else
        ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_FAKE));
    return loop;
}

static void busy_wait_ns(uint64_t ns)
{
    uint64_t end = evl_time_ns() + ns;
    while (evl_time_ns() < end)
        ;
}

/* Deadlines stay on the start + k * every grid, and the ticks missed
 * while the loop was busy make one call. */
START_TEST(test_periodic_timer_drift_free_and_coalesced)
{
    evl_loop *loop = new_loop(_i);
    evl_timer t;
    ck_assert_rc(evl_timer_init(loop, &t));
    /* Under valgrind one iteration can outlast half a 20 ms period, and
     * the next tick would then fall due inside the same run_once. */
    const uint64_t every = RUNNING_ON_VALGRIND ? 200000000 : 20000000;
    uint64_t t0 = evl_loop_update_now(loop);
    ck_assert_rc(evl_timer_start(&t, on_timer, every, every));
    for (int i = 0; i < 50 && log_n < 1; i++)
        evl_loop_run_once(loop, 1000000000);
    ck_assert_int_eq(log_n, 1);
    busy_wait_ns(3 * every + every / 2);   /* three ticks missed */
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(log_n, 2);            /* one call for all of them */
    uint64_t next = evl_loop_next_deadline_ns(loop);
    ck_assert_uint_eq((next - t0) % every, 0);
    ck_assert_uint_gt(next, evl_loop_now_ns(loop));
    ck_assert_uint_le(next, evl_loop_now_ns(loop) + every);
    evl_timer_stop(&t);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_idle_runs_when_nothing_else_and_keeps_wait_short)
{
    evl_loop *loop = new_loop(_i);
    evl_hook idle = { 0 };
    ck_assert_rc(evl_hook_start(loop, &idle, EVL_HOOK_IDLE, on_idle));
    uint64_t t0 = evl_time_ns();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(evl_loop_run_once(loop, 5000000000), 0);
    ck_assert_uint_lt(evl_time_ns() - t0, 1000000000u);
    ck_assert_str_eq(log_buf, "iii");
    /* An iteration with an event is not idle. */
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher w;
    evl_watcher_init(&w, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_ge(evl_loop_run_once(loop, 5000000000), 1);
    ck_assert_str_eq(log_buf, "iiir");
    /* Stopped: the wait blocks for its timeout again. */
    ck_assert_int_eq(evl_hook_stop(&idle), 1);
    ck_assert_int_eq(evl_hook_stop(&idle), 0);
    t0 = evl_time_ns();
    ck_assert_int_eq(evl_loop_run_once(loop, 30000000), 0);
    ck_assert_uint_ge(evl_time_ns() - t0, 25000000u);
    ck_assert_str_eq(log_buf, "iiir");
    evl_watcher_stop(&w);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

static evl_timer *prep_timer;
static void on_prepare_start_timer(evl_hook *h)
{
    note('p');
    if (!evl_timer_is_active(prep_timer) && log_n < 2)
        ck_assert_rc(evl_timer_start(prep_timer, on_timer, 10000000, 0));
    (void)h;
}

/* prepare before the wait (a timer it starts bounds that wait), check
 * after the dispatch. */
START_TEST(test_prepare_and_check_surround_each_wait)
{
    evl_loop *loop = new_loop(_i);
    evl_hook prep = { 0 }, chk = { 0 };
    evl_timer t;
    ck_assert_rc(evl_timer_init(loop, &t));
    prep_timer = &t;
    ck_assert_rc(evl_hook_start(loop, &prep, EVL_HOOK_PREPARE, on_prepare_start_timer));
    ck_assert_rc(evl_hook_start(loop, &chk, EVL_HOOK_CHECK, on_check));
    uint64_t t0 = evl_time_ns();
    evl_loop_run_once(loop, 5000000000);
    ck_assert_uint_lt(evl_time_ns() - t0, 2000000000u);
    ck_assert_str_eq(log_buf, "ptc");
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher w;
    evl_watcher_init(&w, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    evl_loop_run_once(loop, 5000000000);
    ck_assert_str_eq(log_buf, "ptcprc");
    evl_hook_stop(&prep);
    evl_hook_stop(&chk);
    evl_watcher_stop(&w);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

static evl_hook *victim;
static void on_idle_stop_victim(evl_hook *h)
{
    note('a');
    evl_hook_stop(victim);
    evl_hook_stop(h);
}

START_TEST(test_hooks_stop_from_callback_in_start_order)
{
    evl_loop *loop = new_loop(_i);
    evl_hook a = { 0 }, b = { 0 }, c = { 0 };
    ck_assert_rc(evl_hook_start(loop, &a, EVL_HOOK_CHECK, on_idle_stop_victim));
    ck_assert_rc(evl_hook_start(loop, &b, EVL_HOOK_CHECK, on_check));
    ck_assert_rc(evl_hook_start(loop, &c, EVL_HOOK_CHECK, on_prepare));
    victim = &b;
    evl_loop_run_once(loop, 0);
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(log_buf, "app");
    ck_assert(!evl_hook_is_active(&a) && !evl_hook_is_active(&b) && evl_hook_is_active(&c));
    evl_loop_free(loop);
    ck_assert(!evl_hook_is_active(&c));
    ck_assert_int_eq(evl_hook_stop(&c), 0);
}
END_TEST

/* A hook that runs the loop again nests a pass; a hook stopped by the
 * inner pass is skipped by the outer one, which goes on with the next. */
static evl_loop *nest_loop;
static evl_hook *nest_b;
static int nest_depth;
static void on_nest_a(evl_hook *h)
{
    (void)h;
    if (nest_depth++ == 0)
        evl_loop_run_once(nest_loop, 0);
    nest_depth--;
}
static void on_nest_b(evl_hook *h) { (void)h; note('b'); }
static void on_nest_c(evl_hook *h)
{
    (void)h;
    note('c');
    if (nest_b != NULL) {
        evl_hook_stop(nest_b);
        free(nest_b);   /* stop is synchronous: the memory may go at once */
        nest_b = NULL;
    }
}

START_TEST(test_hooks_nested_pass_survives_stop)
{
    evl_loop *loop = new_loop(_i);
    nest_loop = loop;
    evl_hook a = { 0 }, c = { 0 };
    evl_hook *b = calloc(1, sizeof(*b));
    nest_b = b;
    ck_assert_rc(evl_hook_start(loop, &a, EVL_HOOK_CHECK, on_nest_a));
    ck_assert_rc(evl_hook_start(loop, b, EVL_HOOK_CHECK, on_nest_b));
    ck_assert_rc(evl_hook_start(loop, &c, EVL_HOOK_CHECK, on_nest_c));
    /* the inner pass: a (no nesting), b, c stops b (and b is freed);
     * the outer pass goes on with c. */
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(log_buf, "bcc");
    evl_hook_stop(&a);
    evl_hook_stop(&c);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_loop_wall_clock_once_per_iteration)
{
    evl_loop *loop = new_loop(_i);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t real = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t w1 = evl_loop_time_ns(loop);
    ck_assert_uint_lt(w1 > real ? w1 - real : real - w1, 1000000000u);
    busy_wait_ns(2000000);
    ck_assert_uint_eq(evl_loop_time_ns(loop), w1);   /* same iteration */
    uint64_t m1 = evl_loop_now_ns(loop);
    ck_assert_uint_gt(evl_loop_update_time(loop), m1);
    ck_assert_uint_gt(evl_loop_time_ns(loop), w1);
    uint64_t w2 = evl_loop_time_ns(loop);
    busy_wait_ns(2000000);
    evl_loop_run_once(loop, 0);
    ck_assert_uint_gt(evl_loop_time_ns(loop), w2);   /* a new iteration */
    ck_assert_uint_eq(evl_loop_time_ns(NULL), 0);
    evl_loop_free(loop);
}
END_TEST

static void on_sig(evl_signal *s, int signo, unsigned count)
{
    (void)s; (void)signo; (void)count;
}
static void on_wait(evl_wait *wt, pid_t pid, int status)
{
    (void)wt; (void)pid; (void)status;
}
static void on_op(evl_op *op) { (void)op; }

START_TEST(test_loop_alive_counts_what_keeps_it_busy)
{
    evl_loop *loop = new_loop(_i);
    ck_assert_uint_eq(evl_loop_alive(loop), 0);
    ck_assert_uint_eq(evl_loop_alive(NULL), 0);
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher w;
    evl_watcher_init(&w, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_uint_eq(evl_loop_alive(loop), 1);
    evl_timer t1, t2;
    evl_timer_init(loop, &t1);
    evl_timer_init(loop, &t2);
    ck_assert_rc(evl_timer_start(&t1, on_timer, 1000000000, 0));
    ck_assert_rc(evl_timer_start(&t2, on_timer, 1000000000, 0));   /* same bucket */
    ck_assert_uint_eq(evl_loop_alive(loop), 3);
    evl_hook idle = { 0 }, chk = { 0 };
    ck_assert_rc(evl_hook_start(loop, &idle, EVL_HOOK_IDLE, on_idle));
    ck_assert_rc(evl_hook_start(loop, &chk, EVL_HOOK_CHECK, on_check));   /* not counted */
    ck_assert_uint_eq(evl_loop_alive(loop), 4);
    evl_signal s = { 0 };
    ck_assert_rc(evl_signal_start(loop, &s, SIGUSR2, on_sig));
    ck_assert_uint_eq(evl_loop_alive(loop), 5);
    evl_wait wt = { 0 };
    ck_assert_rc(evl_wait_start(loop, &wt, 0, on_wait));
    ck_assert_uint_eq(evl_loop_alive(loop), 6);
    evl_op op = { 0 }, to = { 0 };
    char buf[4];
    if (_i == 1) {
        ck_assert_rc(evl_op_read(loop, &op, p[0], buf, sizeof(buf), -1, on_op));
        ck_assert_rc(evl_op_timeout(loop, &to, evl_time_ns() + 1000000000u, on_op));
        ck_assert_uint_eq(evl_loop_alive(loop), 8);   /* a timeout counts once */
        ck_assert_rc(evl_op_cancel(&op));
        ck_assert_rc(evl_op_cancel(&to));
        ck_assert_uint_eq(evl_loop_alive(loop), 8);   /* callbacks still to run */
        ck_assert_int_eq(evl_loop_drain(loop), 2);
    }
    ck_assert_uint_eq(evl_loop_alive(loop), 6);
    evl_wait_stop(&wt);
    evl_signal_stop(&s);
    evl_hook_stop(&idle);
    evl_timer_stop(&t1);
    ck_assert_uint_eq(evl_loop_alive(loop), 2);
    /* A fired timer no longer counts; a periodic one does. */
    ck_assert_rc(evl_timer_start(&t2, on_timer, 0, 0));
    evl_loop_run_once(loop, 0);
    ck_assert_uint_eq(evl_loop_alive(loop), 1);
    ck_assert_rc(evl_timer_start(&t2, on_timer, 0, 1000000));
    evl_loop_run_once(loop, 0);
    ck_assert_uint_eq(evl_loop_alive(loop), 2);
    evl_timer_stop(&t2);
    evl_watcher_stop(&w);
    ck_assert_uint_eq(evl_loop_alive(loop), 0);
    evl_hook_stop(&chk);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_hook_bad_arguments)
{
    evl_loop *loop = new_loop(_i);
    evl_hook h = { 0 };
    ck_assert_int_eq(evl_hook_start(NULL, &h, EVL_HOOK_IDLE, on_idle), -EINVAL);
    ck_assert_int_eq(evl_hook_start(loop, NULL, EVL_HOOK_IDLE, on_idle), -EINVAL);
    ck_assert_int_eq(evl_hook_start(loop, &h, EVL_HOOK_IDLE, NULL), -EINVAL);
    ck_assert_int_eq(evl_hook_start(loop, &h, 0, on_idle), -EINVAL);
    ck_assert_int_eq(evl_hook_start(loop, &h, 4, on_idle), -EINVAL);
    ck_assert_rc(evl_hook_start(loop, &h, EVL_HOOK_PREPARE, on_prepare));
    ck_assert_int_eq(evl_hook_start(loop, &h, EVL_HOOK_PREPARE, on_prepare), -EINVAL);
    ck_assert_int_eq(evl_hook_stop(NULL), 0);
    evl_hook_stop(&h);
    evl_loop_free(loop);
}
END_TEST

static Suite *hooks_suite(void)
{
    Suite *s = suite_create("hooks");
    TCase *tc = tcase_create("hooks");
    tcase_add_loop_test(tc, test_periodic_timer_drift_free_and_coalesced, 0, 2);
    tcase_add_loop_test(tc, test_idle_runs_when_nothing_else_and_keeps_wait_short, 0, 2);
    tcase_add_loop_test(tc, test_prepare_and_check_surround_each_wait, 0, 2);
    tcase_add_loop_test(tc, test_hooks_stop_from_callback_in_start_order, 0, 2);
    tcase_add_loop_test(tc, test_hooks_nested_pass_survives_stop, 0, 2);
    tcase_add_loop_test(tc, test_loop_wall_clock_once_per_iteration, 0, 2);
    tcase_add_loop_test(tc, test_loop_alive_counts_what_keeps_it_busy, 0, 2);
    tcase_add_loop_test(tc, test_hook_bad_arguments, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(hooks_suite());
}
