/* watcher.c - fd watchers: start, modify, stop, and per-event dispatch.
 *
 * Each fd number has one slot in the loop's table holding the active
 * watcher and a generation.  The generation changes whenever the slot is
 * assigned or cleared, and it travels in the epoll key; dispatch drops an
 * event whose generation is not the slot's current one.  That one check
 * covers a watcher stopped or replaced by an earlier callback of the same
 * batch, and an fd closed and reopened under a new watcher.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>

#include "evl-internal.h"

#define WATCH_FLAGS (EVL_READ | EVL_WRITE | EVL_ERROR | EVL_ET | EVL_ONESHOT)

/* w->flags bit, never given by callers: the fd was taken out of epoll
 * because it reported ERR or HUP that no enabled callback handles.  epoll
 * reports those whatever the interest, so a level-triggered watcher would
 * otherwise wake every wait with nothing to do.  Any modify puts it back. */
#define PARKED 0x40000000u

static inline uint64_t make_key(int fd, uint32_t gen)
{
    return (uint64_t)(uint32_t)fd | (uint64_t)gen << 32;
}

/* The epoll interest for w: a direction counts only when its callback
 * exists.  ERR and HUP are always reported by the kernel. */
static uint32_t interest(const evl_watcher *w)
{
    uint32_t ev = 0;
    if ((w->flags & EVL_READ) && w->read_cb)
        ev |= EPOLLIN;
    if ((w->flags & EVL_WRITE) && w->write_cb)
        ev |= EPOLLOUT;
    if (w->flags & EVL_ET)
        ev |= EPOLLET;
    if (w->flags & EVL_ONESHOT)
        ev |= EPOLLONESHOT;
    return ev;
}

int evl_watcher_init(evl_watcher *w, evl_watcher_cb read_cb, evl_watcher_cb write_cb,
                     evl_watcher_cb error_cb)
{
    if (w == NULL)
        return -EINVAL;
    void *data = w->data;
    *w = (evl_watcher){ .data = data, .fd = -1 };
    w->read_cb = read_cb;
    w->write_cb = write_cb;
    w->error_cb = error_cb;
    return 0;
}

/* Clears the slot and bumps its generation so queued events die. */
static void slot_clear(evl_loop *loop, int fd)
{
    loop->slots[fd].w = NULL;
    loop->slots[fd].gen++;
}

int evl_watcher_stop(evl_watcher *w)
{
    if (w == NULL || !w->active)
        return 0;
    evl_loop *loop = w->loop;
    w->active = 0;
    w->loop = NULL;
    if (loop == NULL)    /* the loop was freed under it */
        return 1;
    if ((size_t)w->fd < loop->nslots && loop->slots[w->fd].w == w)
        slot_clear(loop, w->fd);
    /* ENOENT/EBADF: the fd was closed (or reused) behind our back, and the
     * kernel has already forgotten the registration. */
    (void)loop->backend->ctl(loop, EPOLL_CTL_DEL, w->fd, 0, 0);
    return 1;
}

int evl_watcher_start(evl_loop *loop, evl_watcher *w, int fd, unsigned flags)
{
    if (loop == NULL || w == NULL || w->active || (flags & ~WATCH_FLAGS))
        return -EINVAL;
    /* epoll_ctl reports a closed fd itself; only check before growing the
     * table for an fd number we have never seen, so a bogus huge fd cannot
     * make us allocate. */
    if (fd < 0 || ((size_t)fd >= loop->nslots && fcntl(fd, F_GETFD) < 0))
        return -EBADF;
    int rc = evl__loop_fd_slot_reserve(loop, fd);
    if (rc < 0)
        return rc;

    /* Replace: the old watcher on this fd number becomes inactive. */
    evl_watcher *old = loop->slots[fd].w;
    if (old != NULL)
        evl_watcher_stop(old);

    w->fd = fd;
    w->flags = flags;
    uint32_t gen = ++loop->slots[fd].gen;
    rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, fd, interest(w), make_key(fd, gen));
    if (rc == -EEXIST)   /* registered through a dup of this file: take it over */
        rc = loop->backend->ctl(loop, EPOLL_CTL_MOD, fd, interest(w), make_key(fd, gen));
    if (rc < 0)
        return rc;
    loop->slots[fd].w = w;
    w->gen = gen;
    w->loop = loop;
    w->active = 1;
    return 0;
}

int evl_watcher_modify(evl_watcher *w, unsigned flags)
{
    flags &= ~PARKED;   /* callers may pass w->flags back */
    if (w == NULL || !w->active || w->loop == NULL || (flags & ~WATCH_FLAGS))
        return -EINVAL;
    int op = (w->flags & PARKED) ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    w->flags = flags;
    return w->loop->backend->ctl(w->loop, op, w->fd, interest(w), make_key(w->fd, w->gen));
}

int evl_watcher_set_cb(evl_watcher *w, unsigned which, evl_watcher_cb cb)
{
    if (w == NULL)
        return -EINVAL;
    switch (which) {
    case EVL_READ: w->read_cb = cb; break;
    case EVL_WRITE: w->write_cb = cb; break;
    case EVL_ERROR: w->error_cb = cb; break;
    default: return -EINVAL;
    }
    /* The interest depends on which callbacks exist. */
    if (w->active && which != EVL_ERROR)
        return evl_watcher_modify(w, w->flags);
    return 0;
}

int evl_watcher_is_active(const evl_watcher *w)
{
    return w != NULL && w->active;
}

evl_watcher *evl_loop_watcher_for_fd(evl_loop *loop, int fd)
{
    if (loop == NULL || fd < 0 || (size_t)fd >= loop->nslots)
        return NULL;
    return loop->slots[fd].w;
}

int evl__watchers_fork(evl_loop *loop)
{
    int first_err = 0;
    for (size_t fd = 0; fd < loop->nslots; fd++) {
        evl_watcher *w = loop->slots[fd].w;
        if (w == NULL || evl__pid_fork_drop(w))
            continue;
        if (w->flags & PARKED)
            continue;   /* stays out until modified, as in the parent */
        int rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, (int)fd, interest(w),
                                    make_key((int)fd, w->gen));
        /* EBADF: closed behind the loop's back; it stays active and
         * silent, as it was in the parent.  Anything else is reported. */
        if (rc < 0 && rc != -EBADF && first_err == 0)
            first_err = rc;
    }
    return first_err;
}

/* True while w is still the watcher the event was meant for. */
static inline int still_current(evl_loop *loop, int fd, uint32_t gen, evl_watcher *w)
{
    return loop->slots[fd].gen == gen && loop->slots[fd].w == w;
}

void evl__watcher_dispatch(evl_loop *loop, uint64_t key, uint32_t ev)
{
    int fd = (int)(uint32_t)key;
    uint32_t gen = (uint32_t)(key >> 32);
    if ((size_t)fd >= loop->nslots)
        return;
    evl_watcher *w = loop->slots[fd].w;
    if (w == NULL || loop->slots[fd].gen != gen)
        return;   /* stale: stopped, replaced or reused since the wait */

    unsigned revents = 0;
    if (ev & EPOLLIN)
        revents |= EVL_READ;
    if (ev & EPOLLOUT)
        revents |= EVL_WRITE;
    if (ev & EPOLLERR)
        revents |= EVL_ERR;
    if (ev & EPOLLHUP)
        revents |= EVL_HUP | EVL_READ;

    if (revents & EVL_ERR) {
        if (w->error_cb && (w->flags & EVL_ERROR)) {
            w->error_cb(w, revents);
            return;
        }
        revents |= EVL_READ | EVL_WRITE;
    }
    int called = 0;
    if ((revents & EVL_READ) && w->read_cb && (w->flags & EVL_READ)) {
        w->read_cb(w, revents);
        /* The callback may have stopped, replaced or freed w. */
        if (!still_current(loop, fd, gen, w))
            return;
        called = 1;
    }
    if ((revents & EVL_WRITE) && w->write_cb && (w->flags & EVL_WRITE)) {
        w->write_cb(w, revents);
        called = 1;
    }
    /* ERR or HUP nobody takes (say, HUP on a watcher with only a write
     * callback): park the fd until the watcher changes (see PARKED). */
    if (!called && (revents & (EVL_ERR | EVL_HUP)) && !(w->flags & EVL_ET) &&
        loop->backend->ctl(loop, EPOLL_CTL_DEL, fd, 0, 0) == 0)
        w->flags |= PARKED;
}
