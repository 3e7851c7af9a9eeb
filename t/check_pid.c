/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_pid.c - child exit through pidfd. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

struct pid_rec {
    int calls;
    int status;
    pid_t pid;
};

static void on_exit_cb(evl_pid *p, int status)
{
    struct pid_rec *r = p->data;
    r->calls++;
    r->status = status;
    r->pid = evl_pid_pid(p);
}

static pid_t spawn_exit(int code, int sig)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (sig) {
            signal(sig, SIG_DFL);
            raise(sig);
        }
        _exit(code);
    }
    return pid;
}

START_TEST(test_pid_exit_status_as_waitpid)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct pid_rec r = { 0 };
    evl_pid p = { .data = &r };
    pid_t pid = spawn_exit(42, 0);
    ck_assert_int_gt(pid, 0);
    ck_assert_rc(evl_pid_start(loop, &p, pid, 0, on_exit_cb));
    while (r.calls == 0)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.pid, pid);
    ck_assert(WIFEXITED(r.status));
    ck_assert_int_eq(WEXITSTATUS(r.status), 42);
    /* Reaped: nothing left to wait for. */
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
    ck_assert_int_eq(evl_pid_stop(&p), 0);   /* one shot: already inactive */
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_pid_killed_by_signal_status)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct pid_rec r = { 0 };
    evl_pid p = { .data = &r };
    pid_t pid = spawn_exit(0, SIGTERM);
    ck_assert_rc(evl_pid_start(loop, &p, pid, 0, on_exit_cb));
    while (r.calls == 0)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    ck_assert(WIFSIGNALED(r.status));
    ck_assert_int_eq(WTERMSIG(r.status), SIGTERM);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_pid_noreap_leaves_zombie_for_caller)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct pid_rec r = { 0 };
    evl_pid p = { .data = &r };
    pid_t pid = spawn_exit(7, 0);
    ck_assert_rc(evl_pid_start(loop, &p, pid, EVL_PID_NOREAP, on_exit_cb));
    while (r.calls == 0)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    ck_assert_int_eq(WEXITSTATUS(r.status), 7);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 7);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_pid_stop_before_exit_closes_and_never_calls)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    int p2[2];
    ck_assert_rc(pipe(p2));
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(p2[1]);
        (void)!read(p2[0], &c, 1);   /* exits when the parent closes its end */
        _exit(0);
    }
    close(p2[0]);
    struct pid_rec r = { 0 };
    evl_pid p = { .data = &r };
    ck_assert_rc(evl_pid_start(loop, &p, pid, 0, on_exit_cb));
    ck_assert_int_eq(evl_pid_stop(&p), 1);
    close(p2[1]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r.calls, 0);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_pid_bad_arguments)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_pid p = { 0 };
    ck_assert_int_eq(evl_pid_start(loop, &p, 0, 0, on_exit_cb), -EINVAL);
    ck_assert_int_eq(evl_pid_start(loop, &p, -5, 0, on_exit_cb), -EINVAL);
    ck_assert_int_eq(evl_pid_start(loop, &p, getpid(), 0, NULL), -EINVAL);
    ck_assert_int_eq(evl_pid_start(loop, &p, getpid(), 0x40, on_exit_cb), -EINVAL);
    /* A pid that does not exist (the max is far above what is in use). */
    ck_assert_int_eq(evl_pid_start(loop, &p, 0x3ffffff, 0, on_exit_cb), -ESRCH);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_pid_not_our_child_reports_echild)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    /* A grandchild: exits, but waitid is not ours to call.  report carries
     * its pid up; hold keeps it alive until we watch it. */
    int report[2], hold[2];
    ck_assert_rc(pipe(report));
    ck_assert_rc(pipe(hold));
    pid_t mid = fork();
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) {
            char c;
            close(hold[1]);
            (void)!read(hold[0], &c, 1);
            _exit(0);
        }
        (void)!write(report[1], &g, sizeof(g));
        _exit(0);
    }
    pid_t g;
    ck_assert_int_eq(read(report[0], &g, sizeof(g)), sizeof(g));
    waitpid(mid, NULL, 0);
    struct pid_rec r = { 0 };
    evl_pid p = { .data = &r };
    ck_assert_rc(evl_pid_start(loop, &p, g, 0, on_exit_cb));
    close(hold[1]);
    close(hold[0]);
    close(report[0]);
    close(report[1]);
    while (r.calls == 0)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    ck_assert_int_eq(r.status, -ECHILD);
    evl_loop_free(loop);
}
END_TEST

/* A child that exits when the read end of *gate sees EOF; it inherits
 * every other fd the parent has (but other), pidfds of earlier children
 * included. */
static pid_t spawn_gated(int gate[2], int other)
{
    ck_assert_rc(pipe(gate));
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(gate[1]);
        if (other >= 0)
            close(other);   /* an earlier child's gate: not ours to hold */
        (void)read(gate[0], &c, 1);
        _exit(0);
    }
    close(gate[0]);
    return pid;
}

/* The second child inherits the first one's pidfd.  Once the first has
 * exited and its watcher closed that pidfd, the second child's copy keeps
 * the registration in the epoll set, and its events make the loop build a
 * new set.  That rebuild must keep the second child's watcher: it is the
 * same process, not a fork (it used to drop every pid watcher, so the
 * second exit was never reported). */
START_TEST(test_pid_watcher_survives_an_epoll_set_rebuild)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct pid_rec r1 = { 0 }, r2 = { 0 };
    evl_pid p1 = { .data = &r1 }, p2 = { .data = &r2 };
    int g1[2], g2[2];
    pid_t c1 = spawn_gated(g1, -1);
    ck_assert_rc(evl_pid_start(loop, &p1, c1, 0, on_exit_cb));
    pid_t c2 = spawn_gated(g2, g1[1]);
    ck_assert_rc(evl_pid_start(loop, &p2, c2, 0, on_exit_cb));
    close(g1[1]);
    while (r1.calls == 0)
        ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
    /* The stale registration fires (its process is reaped: readable for
     * good) and the set is rebuilt. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    close(g2[1]);
    for (int i = 0; i < 40 && r2.calls == 0; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 50000000), 0);
    ck_assert_int_eq(r2.calls, 1);
    ck_assert_int_eq(r2.pid, c2);
    ck_assert_int_eq(waitpid(c2, NULL, WNOHANG), -1);   /* reaped by the watcher */
    evl_loop_free(loop);
}
END_TEST

static Suite *pid_suite(void)
{
    Suite *s = suite_create("pid");
    TCase *tc = tcase_create("pid");
    tcase_add_test(tc, test_pid_exit_status_as_waitpid);
    tcase_add_test(tc, test_pid_killed_by_signal_status);
    tcase_add_test(tc, test_pid_noreap_leaves_zombie_for_caller);
    tcase_add_test(tc, test_pid_stop_before_exit_closes_and_never_calls);
    tcase_add_test(tc, test_pid_bad_arguments);
    tcase_add_test(tc, test_pid_not_our_child_reports_echild);
    tcase_add_test(tc, test_pid_watcher_survives_an_epoll_set_rebuild);
    suite_add_tcase(s, tc);
    return s;
}

/* Kernels (and valgrind releases) without pidfd_open: skip, as automake
 * understands exit status 77. */
static int pidfd_supported(void)
{
    evl_loop *loop;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0)
        return 0;
    evl_pid p = { 0 };
    int rc = evl_pid_start(loop, &p, getpid(), 0, on_exit_cb);
    evl_pid_stop(&p);
    evl_loop_free(loop);
    return rc != -ENOSYS;
}

int main(void)
{
    if (!pidfd_supported())
        return 77;
    return evl_test_run(pid_suite());
}
