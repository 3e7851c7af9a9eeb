/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_fdchanges.c - watcher changes batched per iteration (at most one
 * epoll_ctl per fd before each wait), fds epoll refuses, revents as the
 * kernel gave them, registrations that outlive their fd. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"
#include "evl-internal.h"   /* evl__loop_ctl_count */

static int calls;
static unsigned last_revents;

static void on_ev(evl_watcher *w, unsigned revents)
{
    (void)w;
    calls++;
    last_revents = revents;
}

/* 100k enable/disable toggles, 10 per iteration: at most one epoll_ctl
 * per iteration reaches the kernel. */
START_TEST(test_fdchanges_100k_toggles_at_most_one_ctl_per_iteration)
{
    evl_loop *loop = new_reactor();
    int p[2];
    evl_watcher w;
    watch_pipe(loop, &w, p, on_ev);
    uint64_t before = evl__loop_ctl_count(loop);
    enum { TOGGLES = 100000, PER_ITER = 10 };
    for (int i = 0; i < TOGGLES / PER_ITER; i++) {
        for (int j = 0; j < PER_ITER; j += 2) {
            ck_assert_rc(evl_watcher_modify(&w, 0));
            ck_assert_rc(evl_watcher_modify(&w, EVL_READ));
        }
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    }
    uint64_t ctls = evl__loop_ctl_count(loop) - before;
    ck_assert_uint_le(ctls, TOGGLES / PER_ITER);
    /* And the watcher still works. */
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(calls, 1);
    evl_watcher_stop(&w);
    evl_loop_free(loop);
    close_pair(p);
}
END_TEST

/* Stop + start of the same watcher on its fd (the bench's "fd rearm"):
 * the registration is already right, so nothing reaches the kernel. */
START_TEST(test_fdchanges_stop_start_same_watcher_costs_no_ctl)
{
    evl_loop *loop = new_reactor();
    int p[2];
    evl_watcher w;
    watch_pipe(loop, &w, p, on_ev);
    uint64_t before = evl__loop_ctl_count(loop);
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(evl_watcher_stop(&w), 1);
        ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    }
    ck_assert_uint_eq(evl__loop_ctl_count(loop) - before, 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(calls, 1);
    /* A stop that stays a stop is one DEL at the next wait. */
    evl_watcher_stop(&w);
    before = evl__loop_ctl_count(loop);
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);   /* the byte is unread: no event */
    ck_assert_uint_eq(evl__loop_ctl_count(loop) - before, 1);
    evl_loop_free(loop);
    close_pair(p);
}
END_TEST

/* Toggles that outlive a wait (disable, wait, enable, wait): the kernel
 * keeps the wider registration (libev's lazy narrowing), so nothing
 * reaches it; when the disabled direction does fire, the callback is not
 * called and the registration is narrowed once. */
START_TEST(test_fdchanges_disable_across_waits_is_lazy_and_narrows_on_event)
{
    evl_loop *loop = new_reactor();
    int p[2];
    evl_watcher w;
    calls = 0;
    watch_pipe(loop, &w, p, on_ev);
    uint64_t before = evl__loop_ctl_count(loop);
    for (int i = 0; i < 1000; i++) {
        ck_assert_rc(evl_watcher_modify(&w, 0));
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
        ck_assert_rc(evl_watcher_modify(&w, EVL_READ));
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    }
    ck_assert_uint_eq(evl__loop_ctl_count(loop) - before, 0);
    ck_assert_int_eq(calls, 0);

    /* Disabled, and the data comes: no callback, one MOD, then quiet. */
    ck_assert_rc(evl_watcher_modify(&w, 0));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    before = evl__loop_ctl_count(loop);
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);   /* the event: narrowed */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);   /* the MOD; no event now */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_uint_eq(evl__loop_ctl_count(loop) - before, 1);
    ck_assert_int_eq(calls, 0);
    /* Enabled again: the byte still waiting is reported. */
    ck_assert_rc(evl_watcher_modify(&w, EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(calls, 1);
    evl_watcher_stop(&w);
    evl_loop_free(loop);
    close_pair(p);
}
END_TEST

/* A regular file (epoll says EPERM) is accepted and ready for every
 * enabled direction on each iteration, without blocking the wait. */
START_TEST(test_fdchanges_regular_file_always_ready)
{
    evl_loop *loop = new_reactor();
    char path[] = "/tmp/evl-fdchanges-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    evl_watcher w;
    evl_watcher_init(&w, on_ev, on_ev, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, fd, EVL_READ));
    uint64_t t0 = evl_time_ns();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(evl_loop_run_once(loop, 5000000000), 1);
    ck_assert_uint_lt(evl_time_ns() - t0, 1000000000u);
    ck_assert_int_eq(calls, 3);
    ck_assert_uint_eq(last_revents, EVL_READ);
    /* Both directions: one event, read then write callback. */
    ck_assert_rc(evl_watcher_modify(&w, EVL_READ | EVL_WRITE));
    calls = 0;
    ck_assert_int_eq(evl_loop_run_once(loop, 5000000000), 1);
    ck_assert_int_eq(calls, 2);
    ck_assert_uint_eq(last_revents, EVL_READ | EVL_WRITE);
    /* Nothing enabled: the wait blocks again (for its timeout). */
    ck_assert_rc(evl_watcher_modify(&w, 0));
    calls = 0;
    t0 = evl_time_ns();
    ck_assert_int_eq(evl_loop_run_once(loop, 30000000), 0);
    ck_assert_uint_ge(evl_time_ns() - t0, 25000000u);
    ck_assert_int_eq(calls, 0);
    ck_assert_int_eq(evl_watcher_stop(&w), 1);
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(calls, 0);
    close(fd);
    evl_loop_free(loop);
}
END_TEST

/* revents is what the kernel said: a hangup without data is EVL_HUP
 * alone (though the read callback takes it). */
START_TEST(test_fdchanges_revents_hup_is_not_readable)
{
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    close(p[1]);
    evl_watcher w;
    evl_watcher_init(&w, on_ev, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 1);
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(last_revents, EVL_HUP);
    evl_watcher_stop(&w);
    close(p[0]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_fdchanges_revents_rdhup_and_data)
{
    evl_loop *loop = new_reactor();
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    evl_watcher w;
    evl_watcher_init(&w, on_ev, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, sv[0], EVL_READ | EVL_RDHUP));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_rc(shutdown(sv[1], SHUT_WR));
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_uint_eq(last_revents, EVL_READ | EVL_RDHUP);
    evl_watcher_stop(&w);
    close_pair(sv);
    evl_loop_free(loop);
}
END_TEST

/* Stopped, then closed before the loop told the kernel, while a dup
 * keeps the file alive: the registration can no longer be deleted by
 * number.  The loop must notice (an event of a registration it does not
 * know) and rebuild its set instead of waking up for it forever. */
START_TEST(test_fdchanges_registration_outliving_fd_does_not_spin)
{
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    int keep = dup(p[0]);
    ck_assert_int_ge(keep, 0);
    evl_watcher w;
    evl_watcher_init(&w, on_ev, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    evl_watcher_stop(&w);
    close(p[0]);
    ck_assert_int_eq(write(p[1], "x", 1), 1);   /* the orphan registration is ready */
    int events = 0;
    for (int i = 0; i < 6; i++)
        events += evl_loop_run_once(loop, 0);
    ck_assert_int_le(events, 1);
    ck_assert_int_eq(calls, 0);
    /* The loop still works after the rebuild. */
    int q[2];
    ck_assert_rc(pipe2(q, O_NONBLOCK));
    ck_assert_rc(evl_watcher_start(loop, &w, q[0], EVL_READ));
    ck_assert_int_eq(write(q[1], "y", 1), 1);
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(calls, 1);
    evl_watcher_stop(&w);
    close(keep);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    evl_loop_free(loop);
}
END_TEST

/* A new watcher on an fd whose old watcher's DEL is still pending, after
 * the number was closed and reused: the new file is registered. */
START_TEST(test_fdchanges_new_watcher_on_reused_number_registers)
{
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher w1, w2;
    evl_watcher_init(&w1, on_ev, NULL, NULL);
    evl_watcher_init(&w2, on_ev, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w1, p[0], EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    int num = p[0];
    evl_watcher_stop(&w1);
    close_pair(p);
    int q[2];
    ck_assert_rc(pipe2(q, O_NONBLOCK));
    if (q[0] != num) {
        ck_assert_int_eq(dup2(q[0], num), num);
        close(q[0]);
    }
    ck_assert_rc(evl_watcher_start(loop, &w2, num, EVL_READ));
    ck_assert_int_eq(write(q[1], "z", 1), 1);
    ck_assert_int_eq(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_int_eq(calls, 1);
    evl_watcher_stop(&w2);
    close(num);
    close(q[1]);
    evl_loop_free(loop);
}
END_TEST

static int sig_calls;

static void on_sig(evl_signal *s, int signo, unsigned count)
{
    (void)s;
    (void)signo;
    sig_calls += (int)count;
}

/* The loop's first signal watcher: its signalfd must take num, the
 * number just freed (else the case under test did not arise). */
static void signal_on_freed_number(evl_loop *loop, evl_signal *sig, int num)
{
    *sig = (evl_signal){ 0 };
    sig_calls = 0;
    ck_assert_rc(evl_signal_start(loop, sig, SIGUSR1, on_sig));
    ck_assert_msg(loop->sigfd == num, "the signalfd took fd %d, not the freed %d: the case did "
                  "not arise", loop->sigfd, num);
}

/* SIGUSR1 reaches the loop's signal watcher. */
static void signal_arrives(evl_loop *loop)
{
    ck_assert_int_eq(raise(SIGUSR1), 0);
    ck_assert_int_eq(evl_loop_run_once(loop, 2000000000), 1);
    ck_assert_int_eq(sig_calls, 1);
}

/* A watcher stopped and its fd closed before the loop ran again, then the
 * loop's first signal: the new signalfd gets that number, and the stopped
 * watcher's pending delete must not take it out of the epoll set (the
 * signal was never delivered: AnyEvent's and IO::Async's programs drop a
 * watcher, close, then watch a signal or a child). */
START_TEST(test_fdchanges_pending_delete_spares_the_loops_new_signalfd)
{
    evl_loop *loop = new_reactor();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher w;
    evl_watcher_init(&w, on_ev, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    int num = p[0];
    evl_watcher_stop(&w);
    close_pair(p);

    evl_signal sig;
    signal_on_freed_number(loop, &sig, num);
    signal_arrives(loop);
    evl_signal_stop(&sig);
    evl_loop_free(loop);
}
END_TEST

static evl_watcher *displaced[4];
static int ndisplaced;

static void on_displaced(evl_watcher *old, void *arg)
{
    ck_assert_ptr_eq(arg, &ndisplaced);
    ck_assert(!evl_watcher_is_active(old));   /* stopped before the call */
    ck_assert_int_lt(ndisplaced, 4);
    displaced[ndisplaced++] = old;
}

/* The displaced callback hears of a watcher that a start on its fd
 * number replaced, and of one whose fd was closed behind the loop's back
 * when the loop's signalfd took the number; that one's stop then leaves
 * the signalfd in the set (it used to delete it: no signal was seen). */
START_TEST(test_fdchanges_displaced_watchers_are_reported)
{
    evl_loop *loop = new_reactor();
    ndisplaced = 0;
    evl_loop_set_displaced_cb(loop, on_displaced, &ndisplaced);
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher a, b;
    evl_watcher_init(&a, on_ev, NULL, NULL);
    evl_watcher_init(&b, on_ev, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &a, p[0], EVL_READ));
    ck_assert_rc(evl_watcher_start(loop, &b, p[0], EVL_READ));
    ck_assert_int_eq(ndisplaced, 1);
    ck_assert_ptr_eq(displaced[0], &a);

    /* b's fd closes behind the loop's back; the signalfd takes it. */
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    int num = p[0];
    close_pair(p);
    evl_signal sig;
    signal_on_freed_number(loop, &sig, num);
    ck_assert_int_eq(ndisplaced, 2);
    ck_assert_ptr_eq(displaced[1], &b);
    ck_assert_int_eq(evl_watcher_stop(&b), 0);   /* already stopped */
    signal_arrives(loop);

    /* Without a callback a replacement is silent, as before. */
    evl_loop_set_displaced_cb(loop, NULL, NULL);
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    ck_assert_rc(evl_watcher_start(loop, &a, p[0], EVL_READ));
    ck_assert_rc(evl_watcher_start(loop, &b, p[0], EVL_READ));
    ck_assert_int_eq(ndisplaced, 2);
    ck_assert(!evl_watcher_is_active(&a));
    evl_watcher_stop(&b);
    close_pair(p);
    evl_signal_stop(&sig);
    evl_loop_free(loop);
}
END_TEST

static Suite *fdchanges_suite(void)
{
    Suite *s = suite_create("fdchanges");
    TCase *tc = tcase_create("fdchanges");
    tcase_add_test(tc, test_fdchanges_100k_toggles_at_most_one_ctl_per_iteration);
    tcase_add_test(tc, test_fdchanges_stop_start_same_watcher_costs_no_ctl);
    tcase_add_test(tc, test_fdchanges_disable_across_waits_is_lazy_and_narrows_on_event);
    tcase_add_test(tc, test_fdchanges_regular_file_always_ready);
    tcase_add_test(tc, test_fdchanges_revents_hup_is_not_readable);
    tcase_add_test(tc, test_fdchanges_revents_rdhup_and_data);
    tcase_add_test(tc, test_fdchanges_registration_outliving_fd_does_not_spin);
    tcase_add_test(tc, test_fdchanges_new_watcher_on_reused_number_registers);
    tcase_add_test(tc, test_fdchanges_pending_delete_spares_the_loops_new_signalfd);
    tcase_add_test(tc, test_fdchanges_displaced_watchers_are_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(fdchanges_suite());
}
