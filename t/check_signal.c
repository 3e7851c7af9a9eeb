/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_signal.c - signalfd subscriptions and the process mask. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

struct sig_rec {
    int calls;
    int signo;
    unsigned count;
    char order[16];
    char tag;
    evl_signal *victim;
};

static void on_signal(evl_signal *s, int signo, unsigned count)
{
    struct sig_rec *r = s->data;
    r->calls++;
    r->signo = signo;
    r->count = count;
}

static char order_log[32];
static int order_n;

static void on_signal_log(evl_signal *s, int signo, unsigned count)
{
    (void)signo;
    (void)count;
    struct sig_rec *r = s->data;
    order_log[order_n++] = r->tag;
    if (r->victim)
        evl_signal_stop(r->victim);
}

static int is_blocked(int signo)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, signo);
}

/* Runs the loop until cond holds (bounded, each wait 100 ms at most). */
#define RUN_UNTIL(loop, cond) \
    for (int i_ = 0; i_ < 50 && !(cond); i_++) evl_loop_run_once((loop), 100000000)

START_TEST(test_signal_two_subscribers_both_called)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r1 = { 0 }, r2 = { 0 };
    evl_signal s1 = { .data = &r1 }, s2 = { .data = &r2 };
    ck_assert_rc(evl_signal_start(loop, &s1, SIGUSR1, on_signal));
    ck_assert_rc(evl_signal_start(loop, &s2, SIGUSR1, on_signal));
    ck_assert_rc(kill(getpid(), SIGUSR1));
    RUN_UNTIL(loop, r1.calls && r2.calls);
    ck_assert_int_eq(r1.calls, 1);
    ck_assert_int_eq(r2.calls, 1);
    ck_assert_int_eq(r1.signo, SIGUSR1);
    ck_assert_uint_eq(r1.count, 1);
    evl_signal_stop(&s1);
    evl_signal_stop(&s2);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_signal_dispatch_ascending_then_subscription_order)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec ra = { .tag = 'a' }, rb = { .tag = 'b' }, rc = { .tag = 'c' };
    evl_signal sa = { .data = &ra }, sb = { .data = &rb }, sc = { .data = &rc };
    order_n = 0;
    memset(order_log, 0, sizeof(order_log));
    ck_assert_rc(evl_signal_start(loop, &sa, SIGUSR2, on_signal_log));   /* 12 */
    ck_assert_rc(evl_signal_start(loop, &sb, SIGUSR1, on_signal_log));   /* 10 */
    ck_assert_rc(evl_signal_start(loop, &sc, SIGUSR2, on_signal_log));
    /* Both pending before the loop looks: one drain sees both. */
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    RUN_UNTIL(loop, order_n >= 3);
    ck_assert_str_eq(order_log, "bac");
    evl_signal_stop(&sa);
    evl_signal_stop(&sb);
    evl_signal_stop(&sc);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_signal_subscriber_stopping_next_one_in_callback)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec ra = { .tag = 'a' }, rb = { .tag = 'b' }, rc = { .tag = 'c' };
    evl_signal sa = { .data = &ra }, sb = { .data = &rb }, sc = { .data = &rc };
    ra.victim = &sb;
    order_n = 0;
    memset(order_log, 0, sizeof(order_log));
    evl_signal_start(loop, &sa, SIGUSR1, on_signal_log);
    evl_signal_start(loop, &sb, SIGUSR1, on_signal_log);
    evl_signal_start(loop, &sc, SIGUSR1, on_signal_log);
    kill(getpid(), SIGUSR1);
    RUN_UNTIL(loop, order_n >= 2);
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(order_log, "ac");
    ck_assert_int_eq(evl_signal_stop(&sb), 0);
    evl_signal_stop(&sa);
    evl_signal_stop(&sc);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_signal_mask_restored_when_last_subscriber_goes)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    ck_assert_int_eq(is_blocked(SIGUSR1), 0);
    struct sig_rec r = { 0 };
    evl_signal s1 = { .data = &r }, s2 = { .data = &r };
    evl_signal_start(loop, &s1, SIGUSR1, on_signal);
    evl_signal_start(loop, &s2, SIGUSR1, on_signal);
    ck_assert_int_eq(is_blocked(SIGUSR1), 1);
    ck_assert_int_eq(evl_signal_stop(&s1), 1);
    ck_assert_int_eq(is_blocked(SIGUSR1), 1);
    ck_assert_int_eq(evl_signal_stop(&s2), 1);
    ck_assert_int_eq(is_blocked(SIGUSR1), 0);
    ck_assert_int_eq(evl_signal_stop(&s2), 0);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_signal_already_blocked_stays_blocked)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &one, NULL);
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r = { 0 };
    evl_signal s = { .data = &r };
    evl_signal_start(loop, &s, SIGUSR2, on_signal);
    evl_signal_stop(&s);
    ck_assert_int_eq(is_blocked(SIGUSR2), 1);
    evl_loop_free(loop);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}
END_TEST

START_TEST(test_signal_loop_free_restores_mask)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r = { 0 };
    evl_signal s = { .data = &r };
    evl_signal_start(loop, &s, SIGHUP, on_signal);
    ck_assert_int_eq(is_blocked(SIGHUP), 1);
    evl_loop_free(loop);
    ck_assert_int_eq(is_blocked(SIGHUP), 0);
    ck_assert_int_eq(evl_signal_stop(&s), 0);
}
END_TEST

START_TEST(test_signal_coalesced_count)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r = { 0 };
    evl_signal s = { .data = &r };
    int rt = SIGRTMIN + 1;
    evl_signal_start(loop, &s, rt, on_signal);
    /* Real-time signals queue: three sends, one drain, count 3. */
    union sigval v = { 0 };
    for (int i = 0; i < 3; i++)
        ck_assert_rc(sigqueue(getpid(), rt, v));
    RUN_UNTIL(loop, r.calls);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_uint_eq(r.count, 3);
    evl_signal_stop(&s);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_signal_bad_arguments)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_signal s = { 0 };
    ck_assert_int_eq(evl_signal_start(loop, &s, 0, on_signal), -EINVAL);
    ck_assert_int_eq(evl_signal_start(loop, &s, 65, on_signal), -EINVAL);
    ck_assert_int_eq(evl_signal_start(loop, &s, SIGKILL, on_signal), -EINVAL);
    ck_assert_int_eq(evl_signal_start(loop, &s, SIGSTOP, on_signal), -EINVAL);
    ck_assert_int_eq(evl_signal_start(loop, &s, SIGUSR1, NULL), -EINVAL);
    ck_assert_int_eq(evl_signal_start(NULL, &s, SIGUSR1, on_signal), -EINVAL);
    ck_assert_rc(evl_signal_start(loop, &s, SIGUSR1, on_signal));
    ck_assert_int_eq(evl_signal_start(loop, &s, SIGUSR1, on_signal), -EINVAL);
    evl_signal_stop(&s);
    evl_loop_free(loop);
}
END_TEST

/* A forked child starts with the mask the program had before any loop
 * blocked a signal: the loop's signals are unblocked there, a signal the
 * program had blocked itself stays blocked. */
START_TEST(test_signal_fork_child_starts_with_pre_loop_mask)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &one, NULL);
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r = { 0 };
    evl_signal s1 = { .data = &r }, s2 = { .data = &r };
    ck_assert_rc(evl_signal_start(loop, &s1, SIGUSR1, on_signal));
    ck_assert_rc(evl_signal_start(loop, &s2, SIGUSR2, on_signal));
    ck_assert_int_eq(is_blocked(SIGUSR1), 1);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(is_blocked(SIGUSR1) == 0 && is_blocked(SIGUSR2) == 1 ? 0 : 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(is_blocked(SIGUSR1), 1);   /* the parent keeps its mask */
    evl_signal_stop(&s1);
    evl_signal_stop(&s2);
    evl_loop_free(loop);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}
END_TEST

/* What fork+exec runs (perl's system and backticks): the new program's
 * /proc status shows no signal of the loop's blocked (the issue saw
 * SigBlk: 0xa00).  grep is exec'd directly: a shell may clear its mask
 * itself and hide the inheritance.  (posix_spawn, behind glibc's own
 * system() and popen(), runs no atfork handler: see evloop.h.) */
START_TEST(test_signal_exec_child_sees_no_loop_blocked_signal)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r = { 0 };
    evl_signal s1 = { .data = &r }, s2 = { .data = &r };
    ck_assert_rc(evl_signal_start(loop, &s1, SIGUSR1, on_signal));
    ck_assert_rc(evl_signal_start(loop, &s2, SIGTERM, on_signal));
    int p[2];
    ck_assert_rc(pipe(p));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], 1);
        execlp("grep", "grep", "SigBlk", "/proc/self/status", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[128] = "";
    ssize_t n = read(p[0], line, sizeof(line) - 1);
    ck_assert_int_gt(n, 0);
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unsigned long long blk = 0;
    ck_assert_int_eq(sscanf(line, "SigBlk: %llx", &blk), 1);
    ck_assert_msg((blk & (1ull << (SIGUSR1 - 1))) == 0, "%s", line);
    ck_assert_msg((blk & (1ull << (SIGTERM - 1))) == 0, "%s", line);
    evl_signal_stop(&s1);
    evl_signal_stop(&s2);
    evl_loop_free(loop);
}
END_TEST

/* The loop never changes a disposition: what the program had before the
 * first subscription is what it has after the last. */
START_TEST(test_signal_disposition_untouched)
{
    struct sigaction before, during, after;
    ck_assert_rc(sigaction(SIGUSR1, NULL, &before));
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct sig_rec r = { 0 };
    evl_signal s = { .data = &r };
    ck_assert_rc(evl_signal_start(loop, &s, SIGUSR1, on_signal));
    ck_assert_rc(sigaction(SIGUSR1, NULL, &during));
    evl_signal_stop(&s);
    ck_assert_rc(sigaction(SIGUSR1, NULL, &after));
    ck_assert(before.sa_handler == during.sa_handler);
    ck_assert(before.sa_handler == after.sa_handler);
    ck_assert_int_eq(before.sa_flags, after.sa_flags);
    ck_assert_int_eq(is_blocked(SIGUSR1), 0);
    evl_loop_free(loop);
}
END_TEST

static Suite *signal_suite(void)
{
    Suite *s = suite_create("signal");
    TCase *tc = tcase_create("dispatch");
    tcase_add_test(tc, test_signal_two_subscribers_both_called);
    tcase_add_test(tc, test_signal_dispatch_ascending_then_subscription_order);
    tcase_add_test(tc, test_signal_subscriber_stopping_next_one_in_callback);
    tcase_add_test(tc, test_signal_coalesced_count);
    suite_add_tcase(s, tc);
    tc = tcase_create("mask");
    tcase_add_test(tc, test_signal_mask_restored_when_last_subscriber_goes);
    tcase_add_test(tc, test_signal_already_blocked_stays_blocked);
    tcase_add_test(tc, test_signal_loop_free_restores_mask);
    tcase_add_test(tc, test_signal_bad_arguments);
    tcase_add_test(tc, test_signal_fork_child_starts_with_pre_loop_mask);
    tcase_add_test(tc, test_signal_exec_child_sees_no_loop_blocked_signal);
    tcase_add_test(tc, test_signal_disposition_untouched);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(signal_suite());
}
