/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* backend-epoll.c - the reactor's readiness backend.
 *
 * Kernel behaviours this file works around:
 * - epoll registers (file description, fd) pairs.  Closing an fd drops the
 *   registration only when no other descriptor refers to the file, and a
 *   reused fd number gives ENOENT on MOD/DEL.  Keys carry the fd slot's
 *   generation (fd | gen << 32, as libev does) so that an event queued
 *   for an fd whose watcher changed is recognised and dropped.
 * - epoll_wait takes milliseconds; epoll_pwait2 (Linux 5.11, glibc 2.35)
 *   takes a timespec.  We use the latter when it exists and fall back to
 *   rounding up to whole milliseconds, so a wait never ends early.
 * - EINTR from the wait goes back to the loop, which resumes the wait for
 *   the time left unless its interrupt callback says otherwise.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "evl-internal.h"

#define EPOLL_BATCH 256        /* events one wait returns at first */
#define EPOLL_BATCH_MAX 8192   /* what a full batch may grow it to */

int evl__epoll_init(evl_loop *loop)
{
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    loop->events = calloc(EPOLL_BATCH, sizeof(*loop->events));
    if (loop->events == NULL)
        return -ENOMEM;
    loop->nevents = EPOLL_BATCH;
    return 0;
}

void evl__epoll_free(evl_loop *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = -1;
    free(loop->events);
    loop->events = NULL;
}

int evl__epoll_ctl(evl_loop *loop, int op, int fd, uint32_t events, uint64_t key)
{
    struct epoll_event ev = { .events = events, .data.u64 = key };
    /* A forked child's copy of the loop shares the parent's epoll set
     * until it has one of its own: a stop in the child must not take the
     * parent's fds out of it, and a watch must land in the child's. */
    int rc = evl__loop_own(loop);
    if (rc < 0)
        return rc;
    loop->ctl_count++;
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0)
        return -errno;
    return 0;
}

static int epoll_wait_ns(evl_loop *loop, int64_t timeout_ns)
{
    int n;
#ifdef HAVE_EPOLL_PWAIT2
    static int no_pwait2;
    if (!no_pwait2) {
        struct timespec ts, *tsp = NULL;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            tsp = &ts;
        }
        n = epoll_pwait2(loop->epfd, loop->events, loop->nevents, tsp, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        no_pwait2 = 1;
    }
#endif
    int ms = -1;
    if (timeout_ns >= 0) {
        int64_t m = (timeout_ns + 999999) / 1000000;
        ms = m > 0x7fffffff ? 0x7fffffff : (int)m;
    }
    n = epoll_wait(loop->epfd, loop->events, loop->nevents, ms);
    return n;
}

int evl__epoll_poll(evl_loop *loop, int64_t timeout_ns)
{
    int n = epoll_wait_ns(loop, timeout_ns);
    /* Events to dispatch: no longer blocked, so a stop from a callback
     * below needs no wakeup (it would leave a spurious event for the next
     * wait).  After EINTR the wait may resume: polling stays set. */
    if (n > 0)
        atomic_store(&loop->polling, 0);
    if (n < 0)
        return -errno;   /* EINTR included: the loop decides whether to wait on */
    /* The callbacks below run inside the wait: they must see the time it
     * ended, not the one cached before it (a stream stamps its I/O with
     * it, and its deadlines count from there). */
    if (n > 0)
        loop->now_ns = evl_time_ns();
    evl__wakeups_take(loop);
    /* A new batch: changes made by its callbacks mark their slots with it,
     * and later events of the batch for those fds are dropped. */
    evl__loop_next_batch(loop);
    int counted = n;
    loop->epoll_depth++;
    for (int i = 0; i < n; i++) {
        uint64_t key = loop->events[i].data.u64;
        uint32_t ev = loop->events[i].events;
        if (key >= EVL__KEY_TIMERFD)
            evl__loop_internal_event(loop, key);
        else
            counted -= !evl__watcher_dispatch(loop, key, ev);
    }
    loop->epoll_depth--;
    /* A full batch: more fds were probably ready.  Grow the array, as
     * libev does, so that thousands of busy fds cost one wait (and one
     * iteration of the loop's bookkeeping) per round rather than one per
     * EPOLL_BATCH events.  Never under a wait that is still reading it
     * (a callback ran the loop again). */
    if (n == loop->nevents && loop->nevents < EPOLL_BATCH_MAX && loop->epoll_depth == 0) {
        struct epoll_event *bigger = realloc(loop->events, 2 * (size_t)loop->nevents *
                                                               sizeof(*loop->events));
        if (bigger != NULL) {   /* ENOMEM: keep the batch size */
            loop->events = bigger;
            loop->nevents *= 2;
        }
    }
    return counted;
}

const struct evl_backend_ops evl__backend_epoll = {
    .name = "epoll",
    .init = evl__epoll_init,
    .free = evl__epoll_free,
    .ctl = evl__epoll_ctl,
    .poll = evl__epoll_poll,
};
