/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* wakeup.c - an eventfd the loop watches, signalled from anywhere.
 *
 * A wakeup bound to a loop (made with a callback, or started on one)
 * takes signals from its own process without a syscall while the loop
 * is not blocked: libev's ev_async.  The signaller adds to wk->pending,
 * raises loop->wake_pending, and only if the loop is blocked in its wait
 * (loop->polling) writes the loop's internal eventfd, once per batch of
 * signals (loop->wakefd_written).  The loop sets polling before it looks
 * at wake_pending and the signaller raises wake_pending before it looks
 * at polling, all seq_cst: at least one of them sees the other, so
 * either the loop does not block or it is woken (Dekker).  After each
 * wait the loop dispatches the watcher on the fd of every wakeup with a
 * pending count as if the fd were readable (evl__wakeups_run).  With
 * counts pending a reactor's wait would not block: every other such
 * iteration skips it (loop.c), which halves the syscalls of a wakeup
 * chain and delays a ready fd by one iteration at most.
 *
 * Forked children and unbound wakeups write the wakeup's own eventfd:
 * eventfd writes are atomic additions to a kernel counter, so anyone
 * holding the fd may signal without locks.  A drain takes both.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evl-internal.h"

atomic_uint_fast64_t evl__wakeup_writes;

static void wakeup_readable(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_wakeup *wk = evl__container_of(w, evl_wakeup, w);
    int64_t sum = evl_wakeup_drain(wk);
    if (sum > 0 && wk->cb)
        wk->cb(wk, (uint64_t)sum);
}

static int write_counter(int fd, uint64_t n)
{
    for (;;) {
        ssize_t r = write(fd, &n, sizeof(n));
        if (r == sizeof(n)) {
            atomic_fetch_add_explicit(&evl__wakeup_writes, 1, memory_order_relaxed);
            return 0;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* EAGAIN: the counter would pass 2^64-2; the reader is far behind. */
        return r < 0 ? -errno : -EIO;
    }
}

/* Whether signals may go through wk->pending: bound, and still in the
 * process that bound it (a forked child's pending is a copy nobody reads). */
static inline int bound_here(const evl_wakeup *wk)
{
    return wk->loop != NULL && wk->fork_gen == evl__forks;
}

int evl_wakeup_start(evl_loop *loop, evl_wakeup *wk, evl_wakeup_cb cb)
{
    if (loop == NULL || wk == NULL)
        return -EINVAL;
    if (wk->fd < 0)
        return -EBADF;
    evl_wakeup_stop(wk);
    wk->cb = cb;
    evl_watcher_init(&wk->w, wakeup_readable, NULL, NULL);
    int rc = evl_watcher_start(loop, &wk->w, wk->fd, EVL_READ);
    if (rc < 0)
        return rc;
    wk->fork_gen = evl_fork_count();
    wk->loop = loop;
    wk->prev = NULL;
    wk->next = loop->wakeups;
    if (wk->next != NULL)
        wk->next->prev = wk;
    loop->wakeups = wk;
    /* Counts signalled before the binding were written to the fd; any
     * left in pending (an earlier binding) are the new loop's now. */
    if (atomic_load(&wk->pending) != 0)
        atomic_store(&loop->wake_pending, 1);
    return 0;
}

int evl_wakeup_init(evl_loop *loop, evl_wakeup *wk, evl_wakeup_cb cb)
{
    if (loop == NULL || wk == NULL)
        return -EINVAL;
    wk->cb = cb;
    wk->loop = NULL;
    wk->next = wk->prev = NULL;
    wk->fork_gen = evl_fork_count();
    atomic_init(&wk->pending, 0);
    evl_watcher_init(&wk->w, wakeup_readable, NULL, NULL);
    wk->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wk->fd < 0)
        return -errno;
    if (cb != NULL) {
        int rc = evl_wakeup_start(loop, wk, cb);
        if (rc < 0) {
            close(wk->fd);
            wk->fd = -1;
            return rc;
        }
    }
    return 0;
}

/* A count a drain can return whole is at most INT64_MAX (it returns an
 * int64_t): a signal that would take the pending count past it, or the
 * eventfd's past the kernel's 2^64-2, is refused, not wrapped or cut. */
int evl_wakeup_signal(evl_wakeup *wk, uint64_t n)
{
    if (wk == NULL || n == 0 || n > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (wk->fd < 0)
        return -EBADF;
    if (!bound_here(wk)) {
        int rc = write_counter(wk->fd, n);
        return rc == -EAGAIN ? -EINVAL : rc;
    }
    evl_loop *loop = wk->loop;
    uint64_t old = atomic_load_explicit(&wk->pending, memory_order_relaxed);
    do {
        if (n > (uint64_t)INT64_MAX - old)
            return -EINVAL;
    } while (!atomic_compare_exchange_weak(&wk->pending, &old, old + n));
    /* Already raised: whoever raised it wakes the loop if it must. */
    if (atomic_exchange(&loop->wake_pending, 1))
        return 0;
    /* The loop runs (this thread's callbacks included): it looks at
     * wake_pending before its next wait. */
    if (!atomic_load(&loop->polling))
        return 0;
    if (atomic_exchange(&loop->wakefd_written, 1))
        return 0;   /* a token is on its way */
    int rc = write_counter(loop->wakefd, 1);
    return rc == -EAGAIN ? 0 : rc;   /* EAGAIN: the loop's counter is full, it is awake */
}

int64_t evl_wakeup_drain(evl_wakeup *wk)
{
    if (wk == NULL)
        return -EINVAL;
    if (wk->fd < 0)
        return -EBADF;
    uint64_t sum = 0;
    /* pending is this process's (a forked child's copy is the parent's). */
    if (wk->fork_gen == evl__forks)
        sum = atomic_exchange(&wk->pending, 0);
    /* The loop feeding the watcher for pending counts: the fd was not
     * reported readable, so a read would only find EAGAIN.  Writes by a
     * forked child make the kernel report it, and that dispatch reads. */
    if (bound_here(wk) && wk->loop->wake_feeding_fd == wk->fd)
        return sum > INT64_MAX ? INT64_MAX : (int64_t)sum;
    /* One read takes the whole counter (not a semaphore eventfd). */
    uint64_t v;
    ssize_t r;
    do
        r = read(wk->fd, &v, sizeof(v));
    while (r < 0 && errno == EINTR);
    if (r == sizeof(v))
        sum += v;
    else if (r < 0 && errno != EAGAIN)
        return -errno;
    return sum > INT64_MAX ? INT64_MAX : (int64_t)sum;
}

int evl_wakeup_fd(const evl_wakeup *wk)
{
    return wk ? wk->fd : -EINVAL;
}

void evl_wakeup_stop(evl_wakeup *wk)
{
    if (wk == NULL)
        return;
    evl_watcher_stop(&wk->w);
    evl_loop *loop = wk->loop;
    if (loop == NULL)
        return;
    wk->loop = NULL;
    for (struct evl__wakeup_pass *p = loop->wake_pass; p != NULL; p = p->up)
        if (p->cursor == wk)
            p->cursor = wk->next;
    if (wk->prev != NULL)
        wk->prev->next = wk->next;
    else if (loop->wakeups == wk)
        loop->wakeups = wk->next;
    if (wk->next != NULL)
        wk->next->prev = wk->prev;
    wk->next = wk->prev = NULL;
    /* Counts nobody drained stay in pending for evl_wakeup_drain (not
     * written to the fd: its number may be someone else's by now). */
}

void evl_wakeup_close(evl_wakeup *wk)
{
    if (wk == NULL)
        return;
    evl_wakeup_stop(wk);
    atomic_store(&wk->pending, 0);   /* the wakeup goes: nothing to keep */
    if (wk->fd >= 0)
        close(wk->fd);
    wk->fd = -1;
}

/* Hands a wakeup's pending count to the watcher on its fd, as a read
 * event.  Returns 1 if a callback ran. */
static int feed(evl_loop *loop, evl_wakeup *wk)
{
    int fd = wk->fd;
    evl_watcher *w = evl_loop_watcher_for_fd(loop, fd);
    if (w == NULL || !(w->flags & EVL_READ) || w->read_cb == NULL ||
        loop->slots[fd].touched == loop->batch) {
        /* Nobody reads it here now: the count goes to the fd, where a
         * watcher enabled later (or any other reader) finds it. */
        uint64_t left = atomic_exchange(&wk->pending, 0);
        if (left != 0)
            (void)write_counter(fd, left);
        return 0;
    }
    int outer = loop->wake_feeding_fd;
    loop->wake_feeding_fd = fd;
    w->read_cb(w, EVL_READ);
    loop->wake_feeding_fd = outer;
    return 1;
}

int evl__wakeups_run(evl_loop *loop)
{
    /* The token, if one was written: a single read empties the counter.
     * Reset before the read, so that a token written after it is read
     * at the next wait (which then does not block). */
    if (atomic_load_explicit(&loop->wakefd_written, memory_order_relaxed) &&
        atomic_exchange(&loop->wakefd_written, 0)) {
        uint64_t v;
        ssize_t r = read(loop->wakefd, &v, sizeof(v));
        (void)r;
    }
    if (!loop->wake_taken)   /* a wait that dispatched nothing of the epoll half */
        evl__wakeups_take(loop);
    loop->wake_taken = 0;
    if (!loop->wake_due)
        return 0;
    loop->wake_due = 0;
    /* A fresh batch: a watcher changed by an earlier callback of the
     * wait's batch is the caller's current one again. */
    evl__loop_next_batch(loop);
    int n = 0;
    struct evl__wakeup_pass pass = { loop->wakeups, loop->wake_pass };
    loop->wake_pass = &pass;
    while (pass.cursor != NULL) {
        evl_wakeup *wk = pass.cursor;
        pass.cursor = wk->next;
        if (atomic_load(&wk->pending) != 0)
            n += feed(loop, wk);
    }
    loop->wake_pass = pass.up;
    /* A count a callback left undrained keeps the fd "readable": the
     * next wait does not block, as level-triggered epoll would not. */
    for (evl_wakeup *wk = loop->wakeups; wk != NULL; wk = wk->next) {
        if (atomic_load(&wk->pending) != 0) {
            atomic_store(&loop->wake_pending, 1);
            break;
        }
    }
    return n;
}

void evl__wakeups_fork(evl_loop *loop)
{
    /* Counts signalled in the parent are the parent's to deliver. */
    atomic_store(&loop->wake_pending, 0);
    atomic_store(&loop->wakefd_written, 0);
    for (evl_wakeup *wk = loop->wakeups; wk != NULL; wk = wk->next)
        atomic_store(&wk->pending, 0);
}

void evl__wakeups_free(evl_loop *loop)
{
    while (loop->wakeups != NULL) {
        evl_wakeup *wk = loop->wakeups;
        loop->wakeups = wk->next;
        wk->next = wk->prev = NULL;
        wk->loop = NULL;   /* pending stays for evl_wakeup_drain */
    }
}

uint64_t evl__wakeup_write_count(void)
{
    return atomic_load(&evl__wakeup_writes);
}
