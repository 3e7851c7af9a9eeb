/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* wakeup.c - an eventfd the loop watches, signalled from anywhere.
 *
 * eventfd writes are atomic additions to a kernel counter, so any thread,
 * or a forked child holding the fd, may signal without locks.  The read
 * side drains the counter and hands the sum to the callback.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evl-internal.h"

static void wakeup_readable(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_wakeup *wk = evl__container_of(w, evl_wakeup, w);
    int64_t sum = evl_wakeup_drain(wk);
    if (sum > 0 && wk->cb)
        wk->cb(wk, (uint64_t)sum);
}

int evl_wakeup_init(evl_loop *loop, evl_wakeup *wk, evl_wakeup_cb cb)
{
    if (loop == NULL || wk == NULL)
        return -EINVAL;
    wk->cb = cb;
    wk->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wk->fd < 0)
        return -errno;
    evl_watcher_init(&wk->w, wakeup_readable, NULL, NULL);
    if (cb != NULL) {
        int rc = evl_watcher_start(loop, &wk->w, wk->fd, EVL_READ);
        if (rc < 0) {
            close(wk->fd);
            wk->fd = -1;
            return rc;
        }
    }
    return 0;
}

int evl_wakeup_signal(evl_wakeup *wk, uint64_t n)
{
    if (wk == NULL || n == 0 || n >= UINT64_MAX - 1)
        return -EINVAL;
    if (wk->fd < 0)
        return -EBADF;
    for (;;) {
        ssize_t r = write(wk->fd, &n, sizeof(n));
        if (r == sizeof(n))
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        /* EAGAIN: the counter would pass 2^64-2; the reader is far behind. */
        return r < 0 ? -errno : -EIO;
    }
}

int64_t evl_wakeup_drain(evl_wakeup *wk)
{
    if (wk == NULL)
        return -EINVAL;
    if (wk->fd < 0)
        return -EBADF;
    uint64_t sum = 0, v;
    for (;;) {
        ssize_t r = read(wk->fd, &v, sizeof(v));
        if (r == sizeof(v)) {
            sum += v;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EAGAIN)
            return -errno;
        break;
    }
    return sum > INT64_MAX ? INT64_MAX : (int64_t)sum;
}

int evl_wakeup_fd(const evl_wakeup *wk)
{
    return wk ? wk->fd : -EINVAL;
}

void evl_wakeup_close(evl_wakeup *wk)
{
    if (wk == NULL)
        return;
    evl_watcher_stop(&wk->w);
    if (wk->fd >= 0)
        close(wk->fd);
    wk->fd = -1;
}
