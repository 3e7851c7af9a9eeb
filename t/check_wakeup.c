/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_wakeup.c - eventfd wakeups from threads and forked children. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

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

static Suite *wakeup_suite(void)
{
    Suite *s = suite_create("wakeup");
    TCase *tc = tcase_create("wakeup");
    tcase_add_test(tc, test_wakeup_from_thread_sums_counts);
    tcase_add_test(tc, test_wakeup_from_forked_child);
    tcase_add_test(tc, test_wakeup_drain_without_callback);
    tcase_add_test(tc, test_wakeup_bad_arguments);
    tcase_add_test(tc, test_wakeup_fd_can_be_rewatched_by_user);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(wakeup_suite());
}
