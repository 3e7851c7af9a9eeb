/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_loop_fork.c - a loop used in a forked child: rebuilt at first use,
 * the parent's kernel objects untouched, the parent's ops and children
 * settled by the rule in evloop.h. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "evl-test.h"
#include "evloop.h"

/* Inside the forked child: libcheck's asserts belong to the parent, so a
 * failed check is an exit code the parent reports. */
#define CHILD_CHECK(cond, code) \
    do { if (!(cond)) _exit(code); } while (0)

static int child_status(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "child died (status %#x)", status);
    return WEXITSTATUS(status);
}

static int hits;
static unsigned last_revents;
static void on_read_count(evl_watcher *w, unsigned revents)
{
    char buf[64];
    (void)!read(w->fd, buf, sizeof(buf));
    last_revents = revents;
    hits++;
}

static int fired;
static void on_timer(evl_timer *t)
{
    (void)t;
    fired++;
}

/* Regression: a child's new watch used to be accepted and never fire
 * (the child's changes went nowhere, to protect the parent's set). */
START_TEST(test_fork_child_watch_on_new_pipe_fires)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    int p0[2];
    ck_assert_rc(pipe(p0));
    evl_watcher w0;
    evl_watcher_init(&w0, on_read_count, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w0, p0[0], EVL_READ));

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int p[2];
        CHILD_CHECK(pipe(p) == 0, 2);
        evl_watcher w;
        evl_watcher_init(&w, on_read_count, NULL, NULL);
        CHILD_CHECK(evl_watcher_start(loop, &w, p[0], EVL_READ) == 0, 3);
        CHILD_CHECK(write(p[1], "x", 1) == 1, 4);
        hits = 0;
        for (int i = 0; i < 20 && hits == 0; i++)
            CHILD_CHECK(evl_loop_run_once(loop, 100000000) >= 0, 5);
        CHILD_CHECK(hits == 1, 6);
        /* The inherited watcher works in the child too. */
        CHILD_CHECK(write(p0[1], "y", 1) == 1, 7);
        hits = 0;
        for (int i = 0; i < 20 && hits == 0; i++)
            CHILD_CHECK(evl_loop_run_once(loop, 100000000) >= 0, 8);
        CHILD_CHECK(hits == 1, 9);
        evl_loop_free(loop);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    /* The parent's set still holds its watcher. */
    hits = 0;
    ck_assert_int_eq(write(p0[1], "z", 1), 1);
    ck_assert_int_ge(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(hits, 1);
    evl_loop_free(loop);
    close(p0[0]);
    close(p0[1]);
}
END_TEST

/* Regression: the timerfd was shared, so a child re-arming its copy of a
 * timer moved the parent's wakeup (the parent's 0.3 s timer fired at 5 s
 * or never). */
START_TEST(test_fork_child_timer_rearm_leaves_parent_timer)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_timer t;
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_rc(evl_timer_start(&t, on_timer, 200000000, 0));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);   /* arms the timerfd */
    int sync[2];
    ck_assert_rc(pipe(sync));

    uint64_t start = evl_time_ns();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        evl_timer_stop(&t);
        CHILD_CHECK(evl_timer_start(&t, on_timer, 5000000000u, 0) == 0, 2);
        CHILD_CHECK(evl_loop_run_once(loop, 0) >= 0, 3);
        CHILD_CHECK(fired == 0, 4);
        CHILD_CHECK(write(sync[1], "d", 1) == 1, 5);
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(sync[0], &c, 1), 1);
    ck_assert_int_eq(child_status(pid), 0);
    /* One wait: the timerfd must wake it at 0.2 s, not the 3 s timeout. */
    while (fired == 0 && evl_time_ns() - start < 3000000000u)
        ck_assert_int_ge(evl_loop_run_once(loop, 3000000000), 0);
    ck_assert_int_eq(fired, 1);
    ck_assert_uint_lt(evl_time_ns() - start, 1500000000u);
    evl_loop_free(loop);
    close(sync[0]);
    close(sync[1]);
}
END_TEST

/* Timers pending at the fork keep running in the child, on its own
 * timerfd. */
START_TEST(test_fork_child_runs_inherited_timer)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_timer t;
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_rc(evl_timer_start(&t, on_timer, 20000000, 0));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 10 && fired == 0; i++)
            CHILD_CHECK(evl_loop_run_once(loop, 1000000000) >= 0, 2);
        CHILD_CHECK(fired == 1, 3);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    for (int i = 0; i < 10 && fired == 0; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 1000000000), 0);
    ck_assert_int_eq(fired, 1);
    evl_loop_free(loop);
}
END_TEST

static int64_t op_res;
static int op_calls;
static void on_op(evl_op *op)
{
    op_res = op->res;
    op_calls++;
}

/* Regression: run_once on a uring loop's copy in a child touched the ring
 * (MADV_DONTFORK: not mapped there) and died with SIGSEGV.  Now the
 * parent's op settles -ECANCELED in the child, a new op works there, and
 * the parent's op is still the parent's. */
START_TEST(test_fork_uring_child_rebuilds_ring)
{
    /* valgrind does not know MADV_DONTFORK: in the child it still maps
     * the parent's ring and aborts when the kernel reuses that range. */
    if (RUNNING_ON_VALGRIND)
        return;
    evl_loop *loop;
    evl_loop_options opt = { .model = EVL_PROACTOR, .flags = EVL_BACKEND_URING };
    int rc = evl_loop_new_ex(&loop, &opt);
    if (rc == -ENOSYS || rc == -EPERM) {
        fprintf(stderr, "io_uring unavailable (%d): skipped\n", rc);
        return;
    }
    ck_assert_rc(rc);
    int p[2];
    ck_assert_rc(pipe(p));
    char buf[8];
    evl_op op = { 0 };
    ck_assert_rc(evl_op_read(loop, &op, p[0], buf, sizeof(buf), -1, on_op));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);   /* in the kernel now */
    ck_assert_uint_eq(evl_loop_pending_ops(loop), 1);

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CHILD_CHECK(evl_loop_run_once(loop, 0) >= 0, 2);
        CHILD_CHECK(op_calls == 1 && op_res == -ECANCELED, 3);
        CHILD_CHECK(evl_loop_pending_ops(loop) == 0, 4);
        int q[2];
        CHILD_CHECK(pipe(q) == 0, 5);
        char cbuf[8];
        evl_op cop = { 0 };
        CHILD_CHECK(evl_op_read(loop, &cop, q[0], cbuf, sizeof(cbuf), -1, on_op) == 0, 6);
        CHILD_CHECK(write(q[1], "ab", 2) == 2, 7);
        for (int i = 0; i < 20 && op_calls < 2; i++)
            CHILD_CHECK(evl_loop_run_once(loop, 100000000) >= 0, 8);
        CHILD_CHECK(op_calls == 2 && op_res == 2, 9);
        evl_loop_free(loop);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    ck_assert_int_eq(op_calls, 0);
    ck_assert_int_eq(write(p[1], "xyz", 3), 3);
    for (int i = 0; i < 20 && op_calls == 0; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 100000000), 0);
    ck_assert_int_eq(op_calls, 1);
    ck_assert_int_eq(op_res, 3);
    evl_loop_free(loop);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The fake backend follows the same rule: pending at the fork means
 * -ECANCELED in the child; timeouts too. */
START_TEST(test_fork_fake_pending_ops_cancelled_in_child)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_FAKE | EVL_FAKE_MANUAL));
    evl_op op = { 0 }, to = { 0 };
    char buf[4];
    int p[2];
    ck_assert_rc(pipe(p));
    ck_assert_rc(evl_op_read(loop, &op, p[0], buf, sizeof(buf), -1, on_op));
    ck_assert_rc(evl_op_timeout(loop, &to, evl_time_ns() + 10000000000u, on_op));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CHILD_CHECK(evl_op_cancel(&op) == -EALREADY, 2);   /* settled by the rebuild */
        CHILD_CHECK(evl_loop_run_once(loop, 0) >= 0, 3);
        CHILD_CHECK(op_calls == 2 && op_res == -ECANCELED, 4);
        CHILD_CHECK(evl_loop_pending_ops(loop) == 0, 5);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    ck_assert_uint_eq(evl_loop_pending_ops(loop), 2);
    ck_assert_rc(evl_op_cancel(&op));
    ck_assert_rc(evl_op_cancel(&to));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(op_calls, 2);
    evl_loop_free(loop);
    close(p[0]);
    close(p[1]);
}
END_TEST

static int pid_calls;
static void on_pid(evl_pid *p, int status)
{
    (void)p;
    (void)status;
    pid_calls++;
}

/* The parent's children are not the child's: their evl_pid are dropped
 * there (no callback), and stay with the parent. */
START_TEST(test_fork_pid_subscriptions_dropped_in_child)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        char c;
        close(gate[1]);
        (void)!read(gate[0], &c, 1);
        _exit(7);
    }
    evl_pid p = { 0 };
    int rc = evl_pid_start(loop, &p, kid, 0, on_pid);
    if (rc == -ENOSYS) {
        close(gate[1]);
        waitpid(kid, NULL, 0);
        evl_loop_free(loop);
        return;
    }
    ck_assert_rc(rc);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CHILD_CHECK(evl_loop_fork(loop) == 0, 2);
        CHILD_CHECK(!evl_watcher_is_active(&p.w), 3);
        CHILD_CHECK(evl_pid_stop(&p) == 0, 4);
        CHILD_CHECK(evl_loop_run_once(loop, 0) >= 0, 5);
        CHILD_CHECK(pid_calls == 0, 6);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    close(gate[1]);   /* lets kid exit */
    for (int i = 0; i < 20 && pid_calls == 0; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 100000000), 0);
    ck_assert_int_eq(pid_calls, 1);
    evl_loop_free(loop);
    close(gate[0]);
}
END_TEST

static int sig_calls;
static void on_sig(evl_signal *s, int signo, unsigned count)
{
    (void)s;
    (void)signo;
    sig_calls += (int)count;
}

/* A child keeps receiving its signals through a signalfd of its own,
 * with the signal blocked again there; the parent's subscription stays. */
START_TEST(test_fork_child_signals_on_own_signalfd)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_signal s = { 0 };
    ck_assert_rc(evl_signal_start(loop, &s, SIGUSR1, on_sig));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CHILD_CHECK(evl_loop_fork(loop) == 0, 2);
        sigset_t cur;
        pthread_sigmask(SIG_BLOCK, NULL, &cur);
        CHILD_CHECK(sigismember(&cur, SIGUSR1) == 1, 3);
        CHILD_CHECK(kill(getpid(), SIGUSR1) == 0, 4);
        for (int i = 0; i < 20 && sig_calls == 0; i++)
            CHILD_CHECK(evl_loop_run_once(loop, 100000000) >= 0, 5);
        CHILD_CHECK(sig_calls == 1, 6);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    ck_assert_int_eq(sig_calls, 0);
    ck_assert_rc(kill(getpid(), SIGUSR1));
    for (int i = 0; i < 20 && sig_calls == 0; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 100000000), 0);
    ck_assert_int_eq(sig_calls, 1);
    evl_signal_stop(&s);
    evl_loop_free(loop);
}
END_TEST

/* evl_loop_fork: nothing to do in the loop's own process; a child made
 * by a raw clone (no atfork handlers, so no fork count) is recognised by
 * its pid and rebuilt. */
START_TEST(test_fork_explicit_after_raw_clone)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    ck_assert_int_eq(evl_loop_fork(loop), 0);
    ck_assert_int_eq(evl_loop_fork(NULL), -EINVAL);
    unsigned count = evl_fork_count();
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CHILD_CHECK(evl_fork_count() == count, 2);
        CHILD_CHECK(evl_loop_fork(loop) == 0, 3);
        int p[2];
        CHILD_CHECK(pipe(p) == 0, 4);
        evl_watcher w;
        evl_watcher_init(&w, on_read_count, NULL, NULL);
        CHILD_CHECK(evl_watcher_start(loop, &w, p[0], EVL_READ) == 0, 5);
        CHILD_CHECK(write(p[1], "x", 1) == 1, 6);
        CHILD_CHECK(evl_loop_run_once(loop, 1000000000) == 1 && hits == 1, 7);
        _exit(0);
    }
    ck_assert_int_eq(child_status(pid), 0);
    evl_loop_free(loop);
}
END_TEST

static Suite *loop_fork_suite(void)
{
    Suite *s = suite_create("loop_fork");
    TCase *tc = tcase_create("reactor");
    tcase_add_test(tc, test_fork_child_watch_on_new_pipe_fires);
    tcase_add_test(tc, test_fork_child_timer_rearm_leaves_parent_timer);
    tcase_add_test(tc, test_fork_child_runs_inherited_timer);
    tcase_add_test(tc, test_fork_pid_subscriptions_dropped_in_child);
    tcase_add_test(tc, test_fork_child_signals_on_own_signalfd);
    tcase_add_test(tc, test_fork_explicit_after_raw_clone);
    suite_add_tcase(s, tc);
    tc = tcase_create("proactor");
    tcase_add_test(tc, test_fork_uring_child_rebuilds_ring);
    tcase_add_test(tc, test_fork_fake_pending_ops_cancelled_in_child);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(loop_fork_suite());
}
