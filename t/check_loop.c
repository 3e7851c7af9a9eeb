/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_loop.c - loop creation, run / run_once / stop. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

static int count_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

START_TEST(test_loop_new_rejects_bad_model_and_flags)
{
    evl_loop *loop = (evl_loop *)1;
    ck_assert_int_eq(evl_loop_new(&loop, 0, 0), -EINVAL);
    ck_assert_ptr_null(loop);
    ck_assert_int_eq(evl_loop_new(&loop, 99, 0), -EINVAL);
    ck_assert_int_eq(evl_loop_new(&loop, EVL_REACTOR, 0x80), -EINVAL);
    ck_assert_int_eq(evl_loop_new(NULL, EVL_REACTOR, 0), -EINVAL);
    ck_assert_int_eq(evl_loop_run_once(NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_loop_run(NULL), -EINVAL);
    evl_loop_stop(NULL);
    evl_loop_free(NULL);
}
END_TEST

START_TEST(test_loop_free_closes_every_fd)
{
    int before = count_open_fds();
    for (int i = 0; i < 200; i++) {
        evl_loop *loop;
        ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
        ck_assert_str_eq(evl_loop_backend_name(loop), "epoll");
        ck_assert_int_eq(evl_loop_model(loop), EVL_REACTOR);
        ck_assert_int_ge(evl_loop_timer_fd(loop), 0);
        evl_loop_free(loop);
    }
    ck_assert_int_eq(count_open_fds(), before);
}
END_TEST

START_TEST(test_loop_run_once_zero_timeout_returns_at_once)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_loop_run_once_honours_timeout)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    uint64_t t0 = evl_time_ns();
    ck_assert_int_eq(evl_loop_run_once(loop, 20000000), 0);
    /* Never early; no upper bound (the machine may be loaded). */
    ck_assert_uint_ge(evl_time_ns() - t0, 20000000ull);
    evl_loop_free(loop);
}
END_TEST

struct stop_ctx {
    evl_loop *loop;
    int fired;
};

static void stop_from_timer(evl_timer *t)
{
    struct stop_ctx *c = t->data;
    c->fired++;
    evl_loop_stop(c->loop);
}

START_TEST(test_loop_stop_from_callback_prevents_next_wait)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    struct stop_ctx c = { .loop = loop };
    evl_timer t = { .data = &c };
    evl_timer_init(loop, &t);
    evl_timer_start(&t, stop_from_timer, 0, 0);
    /* The timer fires before the wait; the wait would block forever (no
     * other source), so returning at all proves it was skipped. */
    ck_assert_int_eq(evl_loop_run(loop), 0);
    ck_assert_int_eq(c.fired, 1);
    ck_assert_int_eq(evl_loop_stopped(loop), 1);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_loop_stop_before_run_is_forgotten)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    evl_loop_stop(loop);
    struct stop_ctx c = { .loop = loop };
    evl_timer t = { .data = &c };
    evl_timer_init(loop, &t);
    evl_timer_start(&t, stop_from_timer, 2000000, 0);
    /* run clears the earlier stop, so it returns only after the timer. */
    ck_assert_int_eq(evl_loop_run(loop), 0);
    ck_assert_int_eq(c.fired, 1);
    evl_loop_free(loop);
}
END_TEST

struct thread_ctx {
    evl_loop *loop;
    int ready_fd;
};

static void *stopper(void *arg)
{
    struct thread_ctx *c = arg;
    char b;
    /* Wait until the main thread is about to block in run. */
    if (read(c->ready_fd, &b, 1) != 1)
        return NULL;
    evl_loop_stop(c->loop);
    return NULL;
}

static void ready_timer(evl_timer *t)
{
    int fd = *(int *)t->data;
    ck_assert_int_eq(write(fd, "r", 1), 1);
}

START_TEST(test_loop_stop_from_thread_wakes_blocked_wait)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    int p[2];
    ck_assert_rc(pipe(p));
    struct thread_ctx c = { .loop = loop, .ready_fd = p[0] };
    pthread_t th;
    ck_assert_rc(pthread_create(&th, NULL, stopper, &c));
    /* The timer tells the thread to stop us once run is under way; after
     * it nothing else can wake the wait. */
    evl_timer t = { .data = &p[1] };
    evl_timer_init(loop, &t);
    evl_timer_start(&t, ready_timer, 0, 0);
    ck_assert_int_eq(evl_loop_run(loop), 0);
    pthread_join(th, NULL);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_loop_free_with_active_objects_forgets_them)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    int p[2];
    ck_assert_rc(pipe(p));
    evl_watcher w;
    evl_watcher_init(&w, NULL, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    evl_timer t;
    evl_timer_init(loop, &t);
    evl_timer_start(&t, stop_from_timer, 1000000000, 0);
    evl_loop_free(loop);
    ck_assert_int_eq(evl_watcher_is_active(&w), 0);
    ck_assert_int_eq(evl_watcher_stop(&w), 0);
    ck_assert_int_eq(evl_timer_is_active(&t), 0);
    ck_assert_int_eq(evl_timer_stop(&t), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

static void stop_timer_cb(evl_timer *t)
{
    evl_loop_stop((evl_loop *)t->data);
}

/* The reactor's run_once counts kernel events only: when a due timer's
 * stop keeps it from waiting, it returns 0, not the timers it ran. */
START_TEST(test_loop_run_once_stop_before_wait_returns_zero)
{
    evl_loop *loop;
    evl_timer t = { 0 };
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    t.data = loop;
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_rc(evl_timer_start(&t, stop_timer_cb, 0, 0));
    uint64_t t0 = evl_time_ns();
    ck_assert_int_eq(evl_loop_run_once(loop, 5000000000LL), 0);
    ck_assert_uint_lt(evl_time_ns() - t0, 2000000000ull);
    evl_loop_free(loop);
}
END_TEST

static void stop_read_cb(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_loop_stop(w->loop);
}

/* A stop from a callback dispatched by the wait must not poke the
 * internal eventfd: the next run_once would report a spurious event. */
START_TEST(test_loop_stop_from_io_callback_leaves_no_spurious_event)
{
    evl_loop *loop;
    evl_watcher w = { 0 };
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    ck_assert_rc(evl_watcher_init(&w, stop_read_cb, NULL, NULL));
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(evl_loop_run_once(loop, -1), 1);
    evl_watcher_stop(&w);
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    evl_loop_free(loop);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The fork counter moves in a child, and only there. */
START_TEST(test_fork_count_moves_in_the_child_only)
{
    unsigned before = evl_fork_count();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(evl_fork_count() == before + 1 ? 0 : 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(evl_fork_count(), before);
}
END_TEST

static Suite *loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_test(tc, test_loop_new_rejects_bad_model_and_flags);
    tcase_add_test(tc, test_loop_free_closes_every_fd);
    tcase_add_test(tc, test_fork_count_moves_in_the_child_only);
    tcase_add_test(tc, test_loop_free_with_active_objects_forgets_them);
    suite_add_tcase(s, tc);
    tc = tcase_create("run");
    tcase_add_test(tc, test_loop_run_once_zero_timeout_returns_at_once);
    tcase_add_test(tc, test_loop_run_once_honours_timeout);
    tcase_add_test(tc, test_loop_stop_from_callback_prevents_next_wait);
    tcase_add_test(tc, test_loop_stop_before_run_is_forgotten);
    tcase_add_test(tc, test_loop_stop_from_thread_wakes_blocked_wait);
    tcase_add_test(tc, test_loop_run_once_stop_before_wait_returns_zero);
    tcase_add_test(tc, test_loop_stop_from_io_callback_leaves_no_spurious_event);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(loop_suite());
}
