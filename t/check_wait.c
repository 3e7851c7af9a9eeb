/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_wait.c - child exits through SIGCHLD: pid 0 (every child),
 * several watchers per pid, one reap per child, ECHILD tolerated. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

#define RUN_UNTIL(loop, cond) \
    for (int i_ = 0; i_ < 100 && !(cond); i_++) evl_loop_run_once((loop), 100000000)

/* A child that exits with code once the gate's write end closes. */
static pid_t spawn_gated(int gate[2], int code)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char c;
        close(gate[1]);
        (void)!read(gate[0], &c, 1);
        _exit(code);
    }
    return pid;
}

#define NKIDS 50

struct seen {
    pid_t pid[NKIDS * 4];
    int status[NKIDS * 4];
    char tag[NKIDS * 4];
    int n;
};
static struct seen seen;

static void on_wait(evl_wait *wt, pid_t pid, int status)
{
    ck_assert_int_lt(seen.n, NKIDS * 4);
    seen.pid[seen.n] = pid;
    seen.status[seen.n] = status;
    seen.tag[seen.n] = wt->data ? *(char *)wt->data : '?';
    seen.n++;
}

START_TEST(test_wait_any_child_fifty_at_once)
{
    evl_loop *loop = new_reactor();
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kids[NKIDS];
    for (int i = 0; i < NKIDS; i++)
        kids[i] = spawn_gated(gate, i + 1);
    evl_wait any = { 0 };
    ck_assert_rc(evl_wait_start(loop, &any, 0, on_wait));
    close(gate[1]);   /* all of them exit now */
    RUN_UNTIL(loop, seen.n >= NKIDS);
    ck_assert_int_eq(seen.n, NKIDS);
    for (int i = 0; i < NKIDS; i++) {
        int found = 0;
        for (int j = 0; j < seen.n; j++) {
            if (seen.pid[j] != kids[i])
                continue;
            found++;
            ck_assert(WIFEXITED(seen.status[j]));
            ck_assert_int_eq(WEXITSTATUS(seen.status[j]), i + 1);
        }
        ck_assert_int_eq(found, 1);
    }
    /* Each reaped exactly once, by the loop. */
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert(evl_wait_is_active(&any));
    ck_assert_int_eq(evl_wait_stop(&any), 1);
    ck_assert_int_eq(evl_wait_stop(&any), 0);
    evl_loop_free(loop);
    close(gate[0]);
}
END_TEST

/* Every watcher of the pid and every pid-0 watcher, in subscription
 * order; pid watchers are one shot, pid-0 ones stay. */
START_TEST(test_wait_fan_out_in_subscription_order)
{
    evl_loop *loop = new_reactor();
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kid = spawn_gated(gate, 3);
    char ta = 'a', tb = 'b', tc = 'c', td = 'd';
    evl_wait a = { .data = &ta }, b = { .data = &tb }, c = { .data = &tc }, d = { .data = &td };
    ck_assert_rc(evl_wait_start(loop, &a, kid, on_wait));
    ck_assert_rc(evl_wait_start(loop, &b, 0, on_wait));
    ck_assert_rc(evl_wait_start(loop, &c, kid, on_wait));
    ck_assert_rc(evl_wait_start(loop, &d, 0, on_wait));
    close(gate[1]);
    RUN_UNTIL(loop, seen.n >= 4);
    ck_assert_int_eq(seen.n, 4);
    ck_assert(memcmp(seen.tag, "abcd", 4) == 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(seen.pid[i], kid);
        ck_assert(WIFEXITED(seen.status[i]) && WEXITSTATUS(seen.status[i]) == 3);
    }
    ck_assert(!evl_wait_is_active(&a) && !evl_wait_is_active(&c));
    ck_assert(evl_wait_is_active(&b) && evl_wait_is_active(&d));
    evl_wait_stop(&b);
    evl_wait_stop(&d);
    evl_loop_free(loop);
    close(gate[0]);
}
END_TEST

static evl_wait *victim;
static void on_wait_stop_victim(evl_wait *wt, pid_t pid, int status)
{
    on_wait(wt, pid, status);
    evl_wait_stop(victim);
}

START_TEST(test_wait_stop_from_callback_skips_later_watcher)
{
    evl_loop *loop = new_reactor();
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kid = spawn_gated(gate, 0);
    char ta = 'a', tb = 'b';
    evl_wait a = { .data = &ta }, b = { .data = &tb };
    ck_assert_rc(evl_wait_start(loop, &a, kid, on_wait_stop_victim));
    ck_assert_rc(evl_wait_start(loop, &b, 0, on_wait));
    victim = &b;
    close(gate[1]);
    RUN_UNTIL(loop, seen.n >= 1);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(seen.n, 1);
    ck_assert_int_eq(seen.tag[0], 'a');
    evl_loop_free(loop);
    close(gate[0]);
}
END_TEST

static int pid_status = 12345;
static void on_pid(evl_pid *p, int status)
{
    (void)p;
    pid_status = status;
}

/* A pid-0 watcher reaps first; the evl_pid of that child still gets its
 * status (not ECHILD). */
START_TEST(test_wait_any_child_and_pid_both_get_status)
{
    evl_loop *loop = new_reactor();
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kid = spawn_gated(gate, 9);
    evl_pid p = { 0 };
    int rc = evl_pid_start(loop, &p, kid, 0, on_pid);
    if (rc == -ENOSYS) {   /* no pidfd (valgrind, old kernels) */
        close(gate[1]);
        waitpid(kid, NULL, 0);
        evl_loop_free(loop);
        return;
    }
    ck_assert_rc(rc);
    evl_wait any = { 0 };
    ck_assert_rc(evl_wait_start(loop, &any, 0, on_wait));
    close(gate[1]);
    RUN_UNTIL(loop, seen.n >= 1 && pid_status != 12345);
    ck_assert_int_eq(seen.n, 1);
    ck_assert(WIFEXITED(seen.status[0]) && WEXITSTATUS(seen.status[0]) == 9);
    ck_assert_int_eq(pid_status, seen.status[0]);
    evl_wait_stop(&any);
    evl_loop_free(loop);
    close(gate[0]);
}
END_TEST

/* Reaped by the caller before the loop looked: -ECHILD for the pid's
 * watcher, nothing for pid 0, and the loop does not spin afterwards. */
START_TEST(test_wait_reaped_elsewhere_gives_echild_without_spinning)
{
    evl_loop *loop = new_reactor();
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kid = spawn_gated(gate, 0);
    char ta = 'a', tb = 'b';
    evl_wait a = { .data = &ta }, b = { .data = &tb };
    ck_assert_rc(evl_wait_start(loop, &a, kid, on_wait));
    ck_assert_rc(evl_wait_start(loop, &b, 0, on_wait));
    close(gate[1]);
    ck_assert_int_eq(waitpid(kid, NULL, 0), kid);
    RUN_UNTIL(loop, seen.n >= 1);
    ck_assert_msg(seen.n == 1, "%d: %c %d %d / %c %d %d", seen.n, seen.tag[0], seen.pid[0], seen.status[0], seen.tag[1], seen.pid[1], seen.status[1]);
    ck_assert_int_eq(seen.tag[0], 'a');
    ck_assert_int_eq(seen.status[0], -ECHILD);
    /* Nothing left to report: waits time out instead of returning events. */
    int events = 0;
    for (int i = 0; i < 5; i++)
        events += evl_loop_run_once(loop, 10000000);
    ck_assert_int_eq(events, 0);
    ck_assert_int_eq(seen.n, 1);
    evl_wait_stop(&b);
    evl_loop_free(loop);
    close(gate[0]);
}
END_TEST

/* Exited (a zombie) before the watcher existed, its SIGCHLD long gone. */
START_TEST(test_wait_child_exited_before_start)
{
    evl_loop *loop = new_reactor();
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0)
        _exit(4);
    siginfo_t si = { 0 };
    ck_assert_rc(waitid(P_PID, (id_t)kid, &si, WEXITED | WNOWAIT));
    evl_wait w = { 0 };
    ck_assert_rc(evl_wait_start(loop, &w, kid, on_wait));
    RUN_UNTIL(loop, seen.n >= 1);
    ck_assert_int_eq(seen.n, 1);
    ck_assert(WIFEXITED(seen.status[0]) && WEXITSTATUS(seen.status[0]) == 4);
    evl_loop_free(loop);
}
END_TEST

/* Watching a child that is still running wakes nothing: the loop sent
 * itself a SIGCHLD on every start, so the next wait returned at once
 * with nothing done (IO::Async's loop_once(undef) after watch_process). */
START_TEST(test_wait_start_on_a_running_child_wakes_nothing)
{
    evl_loop *loop = new_reactor();
    int gate[2];
    ck_assert_rc(pipe(gate));
    pid_t kid = spawn_gated(gate, 6);
    close(gate[0]);
    evl_wait w = { 0 };
    seen.n = 0;
    ck_assert_rc(evl_wait_start(loop, &w, kid, on_wait));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(seen.n, 0);
    close(gate[1]);
    RUN_UNTIL(loop, seen.n >= 1);
    ck_assert_int_eq(seen.n, 1);
    ck_assert(WIFEXITED(seen.status[0]) && WEXITSTATUS(seen.status[0]) == 6);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_wait_bad_arguments)
{
    evl_loop *loop = new_reactor();
    evl_wait w = { 0 };
    ck_assert_int_eq(evl_wait_start(loop, &w, -1, on_wait), -EINVAL);
    ck_assert_int_eq(evl_wait_start(loop, &w, -getpid(), on_wait), -EINVAL);
    ck_assert_int_eq(evl_wait_start(loop, &w, 0, NULL), -EINVAL);
    ck_assert_int_eq(evl_wait_start(NULL, &w, 0, on_wait), -EINVAL);
    ck_assert_int_eq(evl_wait_start(loop, NULL, 0, on_wait), -EINVAL);
    ck_assert_int_eq(evl_wait_start(loop, &w, getppid(), on_wait), -ECHILD);
    ck_assert_rc(evl_wait_start(loop, &w, 0, on_wait));
    ck_assert_int_eq(evl_wait_start(loop, &w, 0, on_wait), -EINVAL);
    evl_wait_stop(&w);
    ck_assert_int_eq(evl_wait_stop(NULL), 0);
    evl_loop_free(loop);
}
END_TEST

/* The SIGCHLD subscription goes with the last watcher: mask restored. */
START_TEST(test_wait_last_stop_unblocks_sigchld)
{
    evl_loop *loop = new_reactor();
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert_int_eq(sigismember(&cur, SIGCHLD), 0);
    evl_wait a = { 0 }, b = { 0 };
    ck_assert_rc(evl_wait_start(loop, &a, 0, on_wait));
    ck_assert_rc(evl_wait_start(loop, &b, 0, on_wait));
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert_int_eq(sigismember(&cur, SIGCHLD), 1);
    evl_wait_stop(&a);
    evl_wait_stop(&b);
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert_int_eq(sigismember(&cur, SIGCHLD), 0);
    evl_loop_free(loop);
}
END_TEST

/* The rule of evl_loop_fork: the parent's watchers are dropped in a
 * forked child, and stay with the parent. */
START_TEST(test_wait_dropped_in_forked_child)
{
    evl_loop *loop = new_reactor();
    evl_wait any = { 0 };
    ck_assert_rc(evl_wait_start(loop, &any, 0, on_wait));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (evl_loop_fork(loop) != 0 || evl_wait_is_active(&any))
            _exit(2);
        _exit(0);
    }
    RUN_UNTIL(loop, seen.n >= 1);
    ck_assert_int_eq(seen.n, 1);
    ck_assert_int_eq(seen.pid[0], pid);
    ck_assert(WIFEXITED(seen.status[0]) && WEXITSTATUS(seen.status[0]) == 0);
    evl_wait_stop(&any);
    evl_loop_free(loop);
}
END_TEST

static Suite *wait_suite(void)
{
    Suite *s = suite_create("wait");
    TCase *tc = tcase_create("wait");
    tcase_add_test(tc, test_wait_any_child_fifty_at_once);
    tcase_add_test(tc, test_wait_fan_out_in_subscription_order);
    tcase_add_test(tc, test_wait_stop_from_callback_skips_later_watcher);
    tcase_add_test(tc, test_wait_any_child_and_pid_both_get_status);
    tcase_add_test(tc, test_wait_reaped_elsewhere_gives_echild_without_spinning);
    tcase_add_test(tc, test_wait_child_exited_before_start);
    tcase_add_test(tc, test_wait_start_on_a_running_child_wakes_nothing);
    tcase_add_test(tc, test_wait_bad_arguments);
    tcase_add_test(tc, test_wait_last_stop_unblocks_sigchld);
    tcase_add_test(tc, test_wait_dropped_in_forked_child);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(wait_suite());
}
