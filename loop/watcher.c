/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
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
#include <stdlib.h>
#include <sys/epoll.h>

#include "evl-internal.h"

#define WATCH_FLAGS (EVL_READ | EVL_WRITE | EVL_ERROR | EVL_ET | EVL_ONESHOT | EVL_PRI | EVL_RDHUP)

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
    if ((w->flags & EVL_PRI) && w->read_cb)
        ev |= EPOLLPRI;
    if ((w->flags & EVL_RDHUP) && w->read_cb)
        ev |= EPOLLRDHUP;
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

/* Queues fd for the next flush. */
static int mark_dirty(evl_loop *loop, int fd)
{
    struct evl__fd_slot *sl = &loop->slots[fd];
    if (sl->dirty)
        return 0;
    if (loop->nchanges == loop->changes_cap) {
        size_t cap = loop->changes_cap ? loop->changes_cap * 2 : 64;
        int *c = realloc(loop->changes, cap * sizeof(*c));
        if (c == NULL)
            return -ENOMEM;
        loop->changes = c;
        loop->changes_cap = cap;
    }
    loop->changes[loop->nchanges++] = fd;
    sl->dirty = 1;
    return 0;
}

static int pollless_add(evl_loop *loop, int fd)
{
    if (loop->npollless == loop->pollless_cap) {
        size_t cap = loop->pollless_cap ? loop->pollless_cap * 2 : 8;
        int *p = realloc(loop->pollless, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        loop->pollless = p;
        loop->pollless_cap = cap;
    }
    loop->pollless[loop->npollless++] = fd;
    loop->slots[fd].kstate = EVL__KS_POLLLESS;
    return 0;
}

static void pollless_del(evl_loop *loop, int fd)
{
    /* A linear search: unpollable fds are few, and an index per slot
     * would grow the table every fd change walks. */
    for (size_t i = 0; i < loop->npollless; i++) {
        if (loop->pollless[i] == fd) {
            loop->pollless[i] = loop->pollless[--loop->npollless];
            break;
        }
    }
    loop->slots[fd].kstate = EVL__KS_NONE;
}

/* Clears the slot and bumps its generation; events of the current batch
 * for the fd die (touched), the kernel hears of it at the next flush. */
static void slot_clear(evl_loop *loop, int fd)
{
    struct evl__fd_slot *sl = &loop->slots[fd];
    sl->w = NULL;
    sl->gen++;
    sl->touched = loop->batch;
    if (sl->kstate == EVL__KS_POLLLESS)
        pollless_del(loop, fd);
    else if (sl->kstate == EVL__KS_REG)
        (void)mark_dirty(loop, fd);   /* ENOMEM: the registration lingers, and
                                         events for no watcher are dropped */
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
    loop->nwatchers--;
    if ((size_t)w->fd < loop->nslots && loop->slots[w->fd].w == w) {
        slot_clear(loop, w->fd);
        w->gen = loop->slots[w->fd].gen;   /* a restart stamp, see start */
    }
    return 1;
}

/* The watcher on a number that another file of ours takes stops, and
 * the binding hears of it (evl_loop_set_displaced_cb). */
static void displace(evl_loop *loop, evl_watcher *old)
{
    evl_watcher_stop(old);
    if (loop->displaced_cb != NULL)
        loop->displaced_cb(old, loop->displaced_arg);
}

/* The number could be reused only once its file was closed, and closing
 * the last reference took that file's registration out of the set
 * already.  (A dup elsewhere keeps it; its events carry an older key
 * and are dropped as stale, as for any fd closed behind the loop.)  A
 * watcher still on the number lost its fd behind the loop's back: it is
 * displaced, as by a start on the number, and its stop must not reach
 * the kernel, where the number names the loop's own file now. */
void evl__watchers_fd_taken(evl_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nslots)
        return;
    struct evl__fd_slot *sl = &loop->slots[fd];
    if (sl->kstate == EVL__KS_REG)
        sl->kstate = EVL__KS_NONE;
    if (sl->w != NULL)
        displace(loop, sl->w);
}

/* Makes the kernel hold what the slot wants: at most one epoll_ctl.
 * Returns 0 or the kernel's error (the slot then holds nothing). */
static int reify(evl_loop *loop, int fd)
{
    struct evl__fd_slot *sl = &loop->slots[fd];
    evl_watcher *w = sl->w;
    int want = w != NULL && !(w->flags & PARKED) && sl->kstate != EVL__KS_POLLLESS;
    uint32_t mask = want ? interest(w) : 0;
    int rc = 0;
    if (!want) {
        /* ENOENT/EBADF: the fd was closed (or reused) behind our back, and
         * the kernel has already forgotten the registration. */
        if (sl->kstate == EVL__KS_REG) {
            (void)loop->backend->ctl(loop, EPOLL_CTL_DEL, fd, 0, 0);
            sl->kstate = EVL__KS_NONE;
        }
    } else if (sl->kstate == EVL__KS_REG && mask != sl->kmask) {
        rc = loop->backend->ctl(loop, EPOLL_CTL_MOD, fd, mask, make_key(fd, sl->kgen));
        if (rc == -ENOENT) {   /* the number now names another file */
            sl->kstate = EVL__KS_NONE;
            rc = 0;
        }
    }
    if (want && sl->kstate == EVL__KS_NONE) {
        uint32_t kgen = sl->kgen + 1;   /* events of an older registration are stale */
        rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, fd, mask, make_key(fd, kgen));
        if (rc == -EEXIST)   /* registered through a dup of this file: take it over */
            rc = loop->backend->ctl(loop, EPOLL_CTL_MOD, fd, mask, make_key(fd, kgen));
        if (rc == 0) {
            sl->kgen = kgen;
            sl->kstate = EVL__KS_REG;
        }
    }
    sl->kmask = mask;
    return rc;
}

/* Whether a registration for kmask may stay when the watcher wants
 * `want`: exactly it, or (libev's lazy narrowing) more directions than
 * wanted on a level-triggered, persistent watcher.  A direction disabled
 * this way costs no epoll_ctl; if the kernel does report it, dispatch
 * narrows the registration then (see evl__watcher_dispatch).  Edge-
 * triggered and oneshot watchers are kept exact: their MOD re-arms. */
static inline int kmask_covers(uint32_t kmask, uint32_t want)
{
    if (kmask == want)
        return 1;
    if (kmask == EVL__KMASK_STALE || (want & ~kmask) != 0)
        return 0;
    return ((kmask | want) & (EPOLLET | EPOLLONESHOT)) == 0;
}

void evl__watchers_flush(evl_loop *loop)
{
    for (size_t i = 0; i < loop->nchanges; i++) {
        int fd = loop->changes[i];
        struct evl__fd_slot *sl = &loop->slots[fd];
        sl->dirty = 0;
        /* The common case (a watcher stopped and started again, or
         * toggled): the kernel already holds this, or more. */
        evl_watcher *w = sl->w;
        if (w != NULL && sl->kstate == EVL__KS_REG && !(w->flags & PARKED) &&
            kmask_covers(sl->kmask, interest(w)))
            continue;
        if (reify(loop, fd) == -EPERM && loop->slots[fd].w != NULL)
            (void)pollless_add(loop, fd);   /* the fd became unpollable (dup2) */
    }
    loop->nchanges = 0;
}

int evl_watcher_start(evl_loop *loop, evl_watcher *w, int fd, unsigned flags)
{
    if (loop == NULL || w == NULL || w->active || (flags & ~WATCH_FLAGS))
        return -EINVAL;
    /* Fast path, the restart described below: only bookkeeping (the stop
     * that left the registration in place also queued the fd). */
    if (fd >= 0 && (size_t)fd < loop->nslots) {
        struct evl__fd_slot *sl = &loop->slots[fd];
        if (sl->w == NULL && sl->kstate == EVL__KS_REG && sl->dirty && w->fd == fd &&
            (uint16_t)w->gen == sl->gen &&
            loop->fork_gen == evl__forks) {
            w->fd = fd;
            w->flags = flags;
            sl->w = w;
            sl->touched = loop->batch;
            w->gen = ++sl->gen;
            w->loop = loop;
            w->active = 1;
            loop->nwatchers++;
            /* Back to what the kernel holds, and the stop was the last
             * change queued: take it back, leaving the flush nothing. */
            if (loop->changes[loop->nchanges - 1] == fd &&
                interest(w) == sl->kmask) {
                loop->nchanges--;
                sl->dirty = 0;
            }
            return 0;
        }
    }
    /* Only check an fd number we have never seen before growing the table
     * for it, so a bogus huge fd cannot make us allocate. */
    if (fd < 0 || ((size_t)fd >= loop->nslots && fcntl(fd, F_GETFD) < 0))
        return -EBADF;
    int rc = evl__loop_fd_slot_reserve(loop, fd);
    if (rc < 0)
        return rc;
    rc = evl__loop_own(loop);   /* a forked child registers in its own set */
    if (rc < 0)
        return rc;

    struct evl__fd_slot *sl = &loop->slots[fd];
    /* The same watcher back on its fd, nothing else on the slot since its
     * stop, before the kernel heard of the stop (no wait between), and not
     * initialised again: its registration is still right (or one MOD
     * away).  As with libev, a caller that closes the fd and reopens the
     * number meanwhile must evl_watcher_init the watcher (see evloop.h). */
    int restart = sl->kstate == EVL__KS_REG && sl->w == NULL && w->fd == fd &&
                  (uint16_t)w->gen == sl->gen;

    /* Replace: the old watcher on this fd number becomes inactive. */
    if (sl->w != NULL)
        displace(loop, sl->w);

    w->fd = fd;
    w->flags = flags;
    sl->w = w;
    sl->touched = loop->batch;
    w->gen = ++sl->gen;
    if (restart) {
        rc = mark_dirty(loop, fd);
    } else {
        /* New to the kernel: tell it now, so a bad fd fails here.  A
         * registration still held for the number may be for another file
         * (closed and reopened since): MOD finds out (ENOENT), even when
         * the watcher's memory is the previous one's. */
        sl->kmask = EVL__KMASK_STALE;
        rc = reify(loop, fd);
        if (rc == -EPERM)
            rc = pollless_add(loop, fd);
    }
    if (rc < 0) {
        sl->w = NULL;
        sl->gen++;
        if (sl->kstate == EVL__KS_REG)
            (void)mark_dirty(loop, fd);   /* the flush drops what is left */
        return rc;
    }
    w->loop = loop;
    w->active = 1;
    loop->nwatchers++;
    return 0;
}

int evl_watcher_modify(evl_watcher *w, unsigned flags)
{
    flags &= ~PARKED;   /* callers may pass w->flags back */
    if (w == NULL || !w->active || w->loop == NULL || (flags & ~WATCH_FLAGS))
        return -EINVAL;
    evl_loop *loop = w->loop;
    w->flags = flags;
    if (flags & EVL_ONESHOT)   /* a MOD even with the same flags: it re-arms */
        loop->slots[w->fd].kmask = EVL__KMASK_STALE;
    return mark_dirty(loop, w->fd);
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

int evl__watchers_fork(evl_loop *loop, int forked)
{
    int first_err = 0;
    loop->nchanges = 0;
    for (size_t fd = 0; fd < loop->nslots; fd++) {
        struct evl__fd_slot *sl = &loop->slots[fd];
        if (sl->kstate == EVL__KS_REG)
            sl->kstate = EVL__KS_NONE;
        sl->dirty = 0;
        if (sl->w == NULL || (forked && evl__pid_fork_drop(sl->w)))
            continue;
        int rc = reify(loop, (int)fd);
        /* EBADF: closed behind the loop's back; it stays active and
         * silent, as it was before.  Anything else is reported. */
        if (rc < 0 && rc != -EBADF && rc != -EPERM && first_err == 0)
            first_err = rc;
    }
    return first_err;
}

/* True while w is still the watcher the event was meant for. */
static inline int still_current(evl_loop *loop, int fd, evl_watcher *w)
{
    return loop->slots[fd].w == w && loop->slots[fd].touched != loop->batch;
}

/* Calls w's callbacks for revents (EVL_* bits as the kernel gave them). */
static void dispatch(evl_loop *loop, int fd, evl_watcher *w, unsigned revents)
{
    /* Routing: ERR goes to the error callback alone when it is enabled,
     * else counts as readable and writable; HUP and RDHUP count as
     * readable (so EOF is seen).  revents itself stays what the kernel
     * said. */
    unsigned route = revents;
    if (revents & EVL_ERR) {
        if (w->error_cb && (w->flags & EVL_ERROR)) {
            w->error_cb(w, revents);
            return;
        }
        route |= EVL_READ | EVL_WRITE;
    }
    if (revents & (EVL_HUP | EVL_RDHUP | EVL_PRI))
        route |= EVL_READ;
    int called = 0;
    if ((route & EVL_READ) && w->read_cb && (w->flags & EVL_READ)) {
        w->read_cb(w, revents);
        /* The callback may have stopped, replaced or freed w. */
        if (!still_current(loop, fd, w))
            return;
        called = 1;
    }
    if ((route & EVL_WRITE) && w->write_cb && (w->flags & EVL_WRITE)) {
        w->write_cb(w, revents);
        called = 1;
    }
    /* ERR or HUP nobody takes (say, HUP on a watcher with only a write
     * callback): park the fd until the watcher changes (see PARKED). */
    if (!called && (revents & (EVL_ERR | EVL_HUP)) && !(w->flags & EVL_ET) &&
        still_current(loop, fd, w) && mark_dirty(loop, fd) == 0)
        w->flags |= PARKED;
}

int evl__watcher_dispatch(evl_loop *loop, uint64_t key, uint32_t ev)
{
    int fd = (int)(uint32_t)key;
    uint32_t kgen = (uint32_t)(key >> 32);
    if ((size_t)fd >= loop->nslots)
        return 1;
    struct evl__fd_slot *sl = &loop->slots[fd];
    if (sl->kstate != EVL__KS_REG || sl->kgen != kgen) {
        /* A registration we no longer know: the fd was closed while its
         * file lived on (a dup, a forked child), so it cannot be deleted
         * by number.  Only a new epoll set gets rid of it (libev does the
         * same); until then, drop its events. */
        loop->epoll_stale = 1;
        return 1;
    }
    evl_watcher *w = sl->w;
    if (w == NULL) {
        (void)mark_dirty(loop, fd);   /* nobody wants it: the flush deletes it */
        return 1;
    }
    if (sl->touched == loop->batch)
        return 1;   /* stale: stopped, replaced or reused since the wait */
    /* A direction left registered by lazy narrowing fired: narrow the
     * registration now (one MOD at the next flush), and report only what
     * the watcher wants.  ERR and HUP always pass. */
    uint32_t want = interest(w);
    uint32_t unwanted = ev & ~want & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
    if (unwanted != 0) {
        sl->kmask = EVL__KMASK_STALE;
        (void)mark_dirty(loop, fd);
        ev &= ~unwanted;
        if (ev == 0)
            return 0;   /* not an event for the caller: uncounted */
    }

    unsigned revents = 0;
    if (ev & EPOLLIN)
        revents |= EVL_READ;
    if (ev & EPOLLOUT)
        revents |= EVL_WRITE;
    if (ev & EPOLLERR)
        revents |= EVL_ERR;
    if (ev & EPOLLHUP)
        revents |= EVL_HUP;
    if (ev & EPOLLRDHUP)
        revents |= EVL_RDHUP;
    if (ev & EPOLLPRI)
        revents |= EVL_PRI;
    dispatch(loop, fd, w, revents);
    return 1;
}

int evl__watchers_pollless(evl_loop *loop)
{
    int n = 0;
    /* By index from the end: a callback may stop (swap-remove) any entry
     * or add new ones, which wait for the next iteration. */
    for (size_t i = loop->npollless; i-- > 0;) {
        if (i >= loop->npollless)
            continue;
        int fd = loop->pollless[i];
        evl_watcher *w = loop->slots[fd].w;
        if (w == NULL || loop->slots[fd].touched == loop->batch)
            continue;
        unsigned revents = 0;
        if ((w->flags & EVL_READ) && w->read_cb)
            revents |= EVL_READ;
        if ((w->flags & EVL_WRITE) && w->write_cb)
            revents |= EVL_WRITE;
        if (revents == 0)
            continue;
        n++;
        dispatch(loop, fd, w, revents);
    }
    return n;
}

/* Whether a pollless watcher wants a callback now (the wait must not block). */
int evl__watchers_pollless_due(const evl_loop *loop)
{
    for (size_t i = 0; i < loop->npollless; i++) {
        const evl_watcher *w = loop->slots[loop->pollless[i]].w;
        if (w != NULL && (((w->flags & EVL_READ) && w->read_cb) ||
                          ((w->flags & EVL_WRITE) && w->write_cb)))
            return 1;
    }
    return 0;
}

void evl__loop_next_batch(evl_loop *loop)
{
    /* touched == batch must mean "changed in this batch" only: when the
     * counter wraps, no slot may keep an old value that it meets again. */
    if (++loop->batch == 0) {
        loop->batch = 1;
        for (size_t fd = 0; fd < loop->nslots; fd++)
            loop->slots[fd].touched = 0;
    }
}

uint64_t evl__loop_ctl_count(const evl_loop *loop)
{
    return loop->ctl_count;
}
