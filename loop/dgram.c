/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* dgram.c - evl_dgram: a datagram socket on a loop (see evloop.h).
 *
 * Receiving: one recvmmsg fills up to d->batch buffers of d->bufsize
 * bytes (struct evl__dgram_rx, allocated at the first read and reused),
 * and the datagrams are handed to on_recv one by one.  MSG_TRUNC in the
 * call's flags makes the kernel report each datagram's real size (UDP
 * and unix datagram sockets both honour it), so a cut datagram arrives
 * with its full_len and EVL_DGRAM_TRUNC.  A pause in the middle of a
 * batch keeps the rest (rx->next < rx->count); the resume starts a zero
 * timer (d->kick) that delivers them from the loop, because readiness
 * would not fire again for datagrams that already left the kernel.
 *
 * Sending: a send on an empty queue goes to the kernel at once; on EAGAIN
 * (the socket's send buffer is full) the datagram is copied into a queue
 * node, write interest goes on, and the writable callback flushes the
 * queue with sendmmsg, batch datagrams per call.  sendmmsg stops at the
 * first datagram that fails and reports how many went before it; the
 * next call then fails with that datagram's error, which drops it (a
 * datagram is all or nothing) and goes to on_error.
 * Replies gathered: a send made inside on_recv is queued even when the
 * queue is empty, and the end of the batch flushes the queue, so a
 * server answering each datagram makes one sendmmsg per batch instead
 * of one sendto per datagram (the write interest is only turned on for
 * what the socket refuses then).  on_drain marks the end of a backlog
 * (EVL__DGRAM_BACKLOG: the socket refused something), not the end of
 * every such flush.
 *
 * Errors.  UDP reports ICMP errors asynchronously: the kernel stores the
 * error on the socket (connected sockets only, unless IP_RECVERR) and
 * raises EPOLLERR; the next recv or send fails with it once and clears
 * it.  The watcher's error callback reads it with SO_ERROR (even while
 * reading is paused, since EPOLLERR is reported regardless of interest)
 * and hands it to on_error; the socket is not closed for it unless the
 * caller asked (EVL_DGRAM_CLOSE_ON_ERROR).  An error that does not go
 * away by being read (EBADF: the fd was closed under us, ENOMEM) stops
 * the watcher instead, so the loop cannot spin on it.
 *
 * Re-entrancy: the same guards as stream.c.  Every callback may close or
 * free the dgram; code that needs d after a callback brackets the call
 * with guard_enter/guard_leave, and evl_dgram_free clears the innermost
 * guard's flag, which guard_leave passes outwards.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "evl-guard.h"
#include "evl-internal.h"

#define EVL__DGRAM_READING 0x01     /* the caller wants datagrams */
#define EVL__DGRAM_CLOSED 0x02
#define EVL__DGRAM_HIGH 0x04        /* above the high watermark, low not reached yet */
#define EVL__DGRAM_DELIVERING 0x08  /* a batch is being handed out */
#define EVL__DGRAM_WATCHING 0x10    /* the watcher is started */
#define EVL__DGRAM_DEAD 0x20        /* a hard error stopped the watcher */
#define EVL__DGRAM_BACKLOG 0x40     /* the socket refused the queue: on_drain when it empties */

#define DEFAULT_BATCH 32
#define DEFAULT_BUFSIZE 65536
#define BUFSIZE_MAX ((size_t)16 << 20)
/* Batches read per readiness event: enough to empty a busy socket's
 * queue in one go, not so many that other fds starve. */
#define ROUNDS_PER_EVENT 8
/* The most datagrams one sendmmsg takes from the queue (the stack holds
 * the headers). */
#define SEND_BATCH_MAX 64

struct evl__dgram_rx {
    unsigned count;                 /* datagrams of the last recvmmsg */
    unsigned next;                  /* the next one to deliver */
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_storage *addr;
    char *mem;                      /* batch * bufsize bytes */
};

struct evl__dgram_out {
    struct evl__dgram_out *next;
    size_t len;
    uint32_t addrlen;               /* 0: the connected peer */
    struct sockaddr_storage addr;
    char data[];
};

/* ------------------------------------------------------------ guards */

/* The dispatch guard on d (evl-internal.h). */
static inline void guard_enter(evl_dgram *d, struct evl__guard *g)
{
    evl__guard_enter(&d->alive, g);
}

static inline int guard_leave(evl_dgram *d, struct evl__guard *g)
{
    return evl__guard_leave(&d->alive, g);
}

/* ------------------------------------------------------------ helpers */

/* Errors a datagram socket reports and then forgets: the ICMP family
 * (RFC 1122 soft errors and the port unreachable of a connected socket)
 * and a refused datagram.  Any other error of recv/send is taken as the
 * socket being unusable. */
static int soft_error(int err)
{
    switch (err) {
    case ECONNREFUSED: case EHOSTUNREACH: case ENETUNREACH: case EHOSTDOWN:
    case ENETDOWN: case EPROTO: case EMSGSIZE: case ETIMEDOUT: case ENOPROTOOPT:
    case EACCES: case EPERM: case EINVAL: case EDESTADDRREQ: case EAFNOSUPPORT:
    case ENOBUFS: case ECONNRESET: case EPIPE: case ENOTCONN: case EADDRNOTAVAIL:
        return 1;
    default:
        return 0;
    }
}

static unsigned interest(const evl_dgram *d)
{
    unsigned fl = EVL_ERROR;
    if ((d->state & EVL__DGRAM_READING) && d->cb.on_recv != NULL)
        fl |= EVL_READ | EVL_RDHUP;
    if (d->qhead != NULL)
        fl |= EVL_WRITE;
    return fl;
}

static int rearm(evl_dgram *d)
{
    if (d->state & (EVL__DGRAM_CLOSED | EVL__DGRAM_DEAD))
        return 0;
    return evl_watcher_modify(&d->w, interest(d));
}

static void rx_free(struct evl__dgram_rx *rx)
{
    if (rx == NULL)
        return;
    free(rx->msgs);
    free(rx->iov);
    free(rx->addr);
    free(rx->mem);
    free(rx);
}

static struct evl__dgram_rx *rx_new(unsigned batch, size_t bufsize)
{
    struct evl__dgram_rx *rx = calloc(1, sizeof(*rx));
    if (rx == NULL)
        return NULL;
    rx->msgs = calloc(batch, sizeof(*rx->msgs));
    rx->iov = calloc(batch, sizeof(*rx->iov));
    rx->addr = calloc(batch, sizeof(*rx->addr));
    rx->mem = malloc(batch * bufsize);
    if (rx->msgs == NULL || rx->iov == NULL || rx->addr == NULL || rx->mem == NULL) {
        rx_free(rx);
        return NULL;
    }
    for (unsigned i = 0; i < batch; i++) {
        rx->iov[i].iov_base = rx->mem + (size_t)i * bufsize;
        rx->iov[i].iov_len = bufsize;
        rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
        rx->msgs[i].msg_hdr.msg_iovlen = 1;
        rx->msgs[i].msg_hdr.msg_name = &rx->addr[i];
    }
    return rx;
}

static void queue_drop_all(evl_dgram *d)
{
    struct evl__dgram_out *o = d->qhead;
    while (o != NULL) {
        struct evl__dgram_out *next = o->next;
        free(o);
        o = next;
    }
    d->qhead = d->qtail = NULL;
    d->qcount = 0;
    d->queued = 0;
}

/* Calls on_error (if set); returns 1 if d still exists.  With
 * EVL_DGRAM_CLOSE_ON_ERROR, or for a hard error, the dgram is closed or
 * stopped first. */
static int report(evl_dgram *d, int err)
{
    struct evl__guard g;

    if (!soft_error(-err)) {
        /* Reading it again would fail again: stop watching. */
        d->state |= EVL__DGRAM_DEAD;
        if (d->state & EVL__DGRAM_WATCHING) {
            evl_watcher_stop(&d->w);
            d->state &= ~EVL__DGRAM_WATCHING;
        }
    }
    if (d->cb.on_error != NULL) {
        guard_enter(d, &g);
        d->cb.on_error(d, err);
        if (!guard_leave(d, &g))
            return 0;
    }
    if ((d->flags & EVL_DGRAM_CLOSE_ON_ERROR) && !(d->state & EVL__DGRAM_CLOSED)) {
        guard_enter(d, &g);
        (void)evl_dgram_close(d);
        if (!guard_leave(d, &g))
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ receiving */

/* Hands out the rest of the current batch.  Returns 1 if d exists and
 * wants more, 0 if it is gone, paused or closed. */
static int deliver(evl_dgram *d)
{
    struct evl__dgram_rx *rx = d->rx;
    struct evl__guard g;

    d->state |= EVL__DGRAM_DELIVERING;
    while (rx->next < rx->count) {
        if (!(d->state & EVL__DGRAM_READING) || (d->state & EVL__DGRAM_CLOSED))
            break;
        unsigned i = rx->next++;
        struct mmsghdr *mm = &rx->msgs[i];
        struct evl_dgram_msg m;
        m.data = rx->iov[i].iov_base;
        m.full_len = mm->msg_len;
        m.len = mm->msg_len < d->bufsize ? mm->msg_len : d->bufsize;
        m.flags = (mm->msg_hdr.msg_flags & MSG_TRUNC) || mm->msg_len > d->bufsize
                  ? EVL_DGRAM_TRUNC : 0;
        /* An unnamed unix socket sends with an empty address (just the
         * family, or nothing). */
        if (mm->msg_hdr.msg_namelen > sizeof(sa_family_t)) {
            m.peer = (const struct sockaddr *)&rx->addr[i];
            m.peer_len = mm->msg_hdr.msg_namelen;
        } else {
            m.peer = NULL;
            m.peer_len = 0;
        }
        guard_enter(d, &g);
        d->cb.on_recv(d, &m);
        if (!guard_leave(d, &g))
            return 0;
    }
    d->state &= ~EVL__DGRAM_DELIVERING;
    return rx->next >= rx->count && (d->state & EVL__DGRAM_READING) &&
           !(d->state & EVL__DGRAM_CLOSED);
}

static int flush_queue(evl_dgram *d);

/* The replies a batch's callbacks gathered go out now, with write
 * interest only for what the socket refuses.  Returns 1 if d exists. */
static int flush_gathered(evl_dgram *d)
{
    if (d->qhead == NULL || (d->state & (EVL__DGRAM_CLOSED | EVL__DGRAM_DEAD)))
        return 1;
    struct evl__guard g;
    guard_enter(d, &g);
    int ok = flush_queue(d);
    if (!guard_leave(d, &g) || !ok)
        return 0;
    if (d->qhead != NULL)
        (void)rearm(d);
    return 1;
}

/* Reads and delivers up to ROUNDS_PER_EVENT batches.  Returns 1 if d
 * still exists. */
static int read_some(evl_dgram *d)
{
    if (d->rx == NULL) {
        d->rx = rx_new(d->batch, d->bufsize);
        if (d->rx == NULL)
            return report(d, -ENOMEM);
    }
    struct evl__dgram_rx *rx = d->rx;
    struct evl__guard g;
    if (rx->next < rx->count) {
        guard_enter(d, &g);
        int more = deliver(d);
        if (!guard_leave(d, &g))
            return 0;
        if (!flush_gathered(d))
            return 0;
        if (!more)
            return 1;
    }
    for (int round = 0; round < ROUNDS_PER_EVENT; round++) {
        for (unsigned i = 0; i < d->batch; i++) {
            rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->addr[i]);
            rx->msgs[i].msg_hdr.msg_flags = 0;
            rx->msgs[i].msg_len = 0;
        }
        int n = recvmmsg(d->fd, rx->msgs, d->batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (n < 0) {
            int err = errno;
            if (err == EINTR)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return 1;
            if (!report(d, -err))
                return 0;
            if (d->state & (EVL__DGRAM_CLOSED | EVL__DGRAM_DEAD))
                return 1;
            continue;   /* the error was cleared by reading it */
        }
        rx->count = (unsigned)n;
        rx->next = 0;
        guard_enter(d, &g);
        int more = deliver(d);
        if (!guard_leave(d, &g))
            return 0;
        if (!flush_gathered(d))
            return 0;
        if (!more || (unsigned)n < d->batch)
            return 1;
    }
    return 1;
}

/* ------------------------------------------------------------ sending */

static void after_dequeue(evl_dgram *d, struct evl__guard *g, int *gone)
{
    *gone = 0;
    if ((d->state & EVL__DGRAM_HIGH) && d->queued <= d->wlow) {
        d->state &= ~EVL__DGRAM_HIGH;
        if (d->cb.on_low_water != NULL) {
            guard_enter(d, g);
            d->cb.on_low_water(d);
            if (!guard_leave(d, g)) {
                *gone = 1;
                return;
            }
        }
    }
    if (d->qhead == NULL && !(d->state & EVL__DGRAM_CLOSED)) {
        (void)rearm(d);
        /* Only a queue that had to wait for the socket drains: replies
         * gathered during a batch and sent at its end do not count. */
        int waited = (d->state & EVL__DGRAM_BACKLOG) != 0;
        d->state &= ~EVL__DGRAM_BACKLOG;
        if (waited && d->cb.on_drain != NULL) {
            guard_enter(d, g);
            d->cb.on_drain(d);
            if (!guard_leave(d, g))
                *gone = 1;
        }
    }
}

static void pop_head(evl_dgram *d)
{
    struct evl__dgram_out *o = d->qhead;
    d->qhead = o->next;
    if (d->qhead == NULL)
        d->qtail = NULL;
    d->qcount--;
    d->queued -= o->len;
    free(o);
}

/* Sends what the socket takes.  Returns 1 if d still exists. */
static int flush_queue(evl_dgram *d)
{
    struct mmsghdr msgs[SEND_BATCH_MAX];
    struct iovec iov[SEND_BATCH_MAX];
    struct evl__guard g;
    int gone;

    while (d->qhead != NULL && !(d->state & EVL__DGRAM_CLOSED)) {
        unsigned n = 0, max = d->batch < SEND_BATCH_MAX ? d->batch : SEND_BATCH_MAX;
        for (struct evl__dgram_out *o = d->qhead; o != NULL && n < max; o = o->next, n++) {
            iov[n].iov_base = o->data;
            iov[n].iov_len = o->len;
            memset(&msgs[n], 0, sizeof(msgs[n]));
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            if (o->addrlen > 0) {
                msgs[n].msg_hdr.msg_name = &o->addr;
                msgs[n].msg_hdr.msg_namelen = o->addrlen;
            }
        }
        int sent = sendmmsg(d->fd, msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0) {
            int err = errno;
            if (err == EINTR)
                continue;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                d->state |= EVL__DGRAM_BACKLOG;
                break;
            }
            /* The head datagram was refused: drop it, say so, go on. */
            pop_head(d);
            if (!report(d, -err))
                return 0;
            if (d->state & (EVL__DGRAM_CLOSED | EVL__DGRAM_DEAD))
                return 1;
            after_dequeue(d, &g, &gone);
            if (gone)
                return 0;
            continue;
        }
        for (int i = 0; i < sent; i++)
            pop_head(d);
        after_dequeue(d, &g, &gone);
        if (gone)
            return 0;
    }
    return 1;
}

static int enqueue(evl_dgram *d, const void *buf, size_t len, const struct sockaddr *addr,
                   uint32_t addrlen)
{
    struct evl__dgram_out *o = malloc(sizeof(*o) + len);
    if (o == NULL)
        return -ENOMEM;
    o->next = NULL;
    o->len = len;
    o->addrlen = addrlen;
    if (addrlen > 0)
        memcpy(&o->addr, addr, addrlen);
    if (len > 0)
        memcpy(o->data, buf, len);
    if (d->qtail != NULL)
        d->qtail->next = o;
    else
        d->qhead = o;
    d->qtail = o;
    d->qcount++;
    d->queued += len;
    if (!(d->state & EVL__DGRAM_DELIVERING)) {
        int rc = rearm(d);
        if (rc < 0)
            return rc;
    }
    if (d->whigh > 0 && d->queued > d->whigh && !(d->state & EVL__DGRAM_HIGH)) {
        d->state |= EVL__DGRAM_HIGH;
        if (d->cb.on_high_water != NULL)
            d->cb.on_high_water(d);
    }
    return 0;
}

static int send_one(evl_dgram *d, const void *buf, size_t len, const struct sockaddr *addr,
                    uint32_t addrlen)
{
    if (d == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    if (addrlen > sizeof(struct sockaddr_storage) || (addrlen > 0 && addr == NULL))
        return -EINVAL;
    if (d->wmax > 0 && d->queued + len > d->wmax && d->qhead != NULL)
        return -ENOBUFS;
    /* Inside on_recv the send waits for the end of the batch, which sends
     * the replies together with one sendmmsg (see the top). */
    if (d->qhead == NULL && !(d->state & EVL__DGRAM_DELIVERING)) {
        for (;;) {
            ssize_t n = sendto(d->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addrlen);
            if (n >= 0)
                return 0;
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                d->state |= EVL__DGRAM_BACKLOG;
                break;
            }
            return -errno;
        }
    }
    return enqueue(d, buf, len, addr, addrlen);
}

int evl_dgram_send(evl_dgram *d, const void *buf, size_t len)
{
    return send_one(d, buf, len, NULL, 0);
}

int evl_dgram_send_to(evl_dgram *d, const void *buf, size_t len, const struct sockaddr *addr,
                      uint32_t addrlen)
{
    if (addr == NULL || addrlen == 0)
        return -EINVAL;
    return send_one(d, buf, len, addr, addrlen);
}

ssize_t evl_dgram_flush(evl_dgram *d)
{
    if (d == NULL)
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    struct evl__guard g;
    guard_enter(d, &g);
    int ok = flush_queue(d);
    if (!guard_leave(d, &g) || !ok)
        return 0;
    return (ssize_t)d->qcount;
}

size_t evl_dgram_queued(const evl_dgram *d)
{
    return d != NULL ? d->queued : 0;
}

size_t evl_dgram_queued_count(const evl_dgram *d)
{
    return d != NULL ? d->qcount : 0;
}

/* ------------------------------------------------------------ the watcher */

static void on_readable(evl_watcher *w, unsigned revents)
{
    evl_dgram *d = evl__container_of(w, evl_dgram, w);
    /* Shut down for reading (shutdown(2) on the fd): the kernel then
     * reports the socket readable for ever and recvmmsg fills whole
     * batches with empty messages, indistinguishable from empty
     * datagrams.  EPOLLRDHUP tells the two apart: stop, report once. */
    if (revents & (EVL_RDHUP | EVL_HUP)) {
        (void)report(d, -ESHUTDOWN);
        return;
    }
    struct evl__guard g;
    guard_enter(d, &g);
    (void)read_some(d);
    (void)guard_leave(d, &g);
}

static void on_writable(evl_watcher *w, unsigned revents)
{
    evl_dgram *d = evl__container_of(w, evl_dgram, w);
    (void)revents;
    struct evl__guard g;
    guard_enter(d, &g);
    (void)flush_queue(d);
    (void)guard_leave(d, &g);
}

/* EPOLLERR: the socket holds an asynchronous error (see the top). */
static void on_error_event(evl_watcher *w, unsigned revents)
{
    evl_dgram *d = evl__container_of(w, evl_dgram, w);
    (void)revents;
    struct evl__guard g;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    guard_enter(d, &g);
    if (soerr != 0) {
        if (!report(d, -soerr)) {
            (void)guard_leave(d, &g);
            return;
        }
    } else {
        /* EPOLLERR without a pending error: an error queue someone
         * asked for (IP_RECVERR).  Drop one entry so the loop does not
         * spin on it. */
        char c;
        struct iovec iov = { &c, 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        (void)recvmsg(d->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
    }
    /* Datagrams and queue room may have come with the error. */
    if (!(d->state & (EVL__DGRAM_CLOSED | EVL__DGRAM_DEAD)) &&
        (d->state & EVL__DGRAM_READING) && d->cb.on_recv != NULL && !read_some(d)) {
        (void)guard_leave(d, &g);
        return;
    }
    if (!(d->state & (EVL__DGRAM_CLOSED | EVL__DGRAM_DEAD)) && d->qhead != NULL)
        (void)flush_queue(d);
    (void)guard_leave(d, &g);
}

/* The zero timer of a resume: the rest of a paused batch. */
static void on_kick(evl_timer *t)
{
    evl_dgram *d = t->data;
    struct evl__guard g;
    guard_enter(d, &g);
    if (d->rx != NULL && d->rx->next < d->rx->count && (d->state & EVL__DGRAM_READING))
        (void)read_some(d);
    (void)guard_leave(d, &g);
}

/* ------------------------------------------------------------ lifecycle */

int evl_dgram_init(evl_dgram *d, evl_loop *loop, int fd, unsigned flags,
                   const struct evl_dgram_callbacks *cb)
{
    if (d == NULL || loop == NULL || cb == NULL ||
        (flags & ~(unsigned)(EVL_DGRAM_NOCLOSE | EVL_DGRAM_CLOSE_ON_ERROR)))
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    int type = 0;
    socklen_t tl = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
        return -errno;
    if (type != SOCK_DGRAM)
        return -EPROTOTYPE;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;

    memset(&d->loop, 0, sizeof(*d) - offsetof(evl_dgram, loop));
    d->loop = loop;
    d->fd = fd;
    d->flags = flags;
    d->cb = *cb;
    d->batch = DEFAULT_BATCH;
    d->bufsize = DEFAULT_BUFSIZE;
    evl_timer_init(loop, &d->kick);
    d->kick.data = d;
    evl_watcher_init(&d->w, on_readable, on_writable, on_error_event);
    if (cb->on_recv != NULL)
        d->state |= EVL__DGRAM_READING;
    int rc = evl_watcher_start(loop, &d->w, fd, interest(d));
    if (rc < 0)
        return rc;
    d->state |= EVL__DGRAM_WATCHING;
    return 0;
}

static void stop_all(evl_dgram *d)
{
    if (d->state & EVL__DGRAM_WATCHING)
        evl_watcher_stop(&d->w);
    d->state &= ~EVL__DGRAM_WATCHING;
    if (d->loop != NULL)
        evl_timer_stop(&d->kick);
}

void evl_dgram_free(evl_dgram *d)
{
    if (d == NULL || d->loop == NULL)
        return;
    stop_all(d);
    rx_free(d->rx);
    d->rx = NULL;
    queue_drop_all(d);
    if (d->alive != NULL)
        *d->alive = 0;
    d->alive = NULL;
    d->loop = NULL;
}

int evl_dgram_close(evl_dgram *d)
{
    if (d == NULL || d->loop == NULL)
        return d == NULL ? -EINVAL : -EBADF;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    d->state |= EVL__DGRAM_CLOSED;
    d->state &= ~EVL__DGRAM_READING;
    stop_all(d);
    queue_drop_all(d);
    /* A batch being delivered keeps its memory until deliver returns. */
    if (!(d->state & EVL__DGRAM_DELIVERING)) {
        rx_free(d->rx);
        d->rx = NULL;
    } else {
        d->rx->next = d->rx->count;
    }
    if (!(d->flags & EVL_DGRAM_NOCLOSE))
        close(d->fd);
    d->fd = -1;
    if (d->cb.on_close != NULL)
        d->cb.on_close(d);
    return 0;
}

int evl_dgram_set_batch(evl_dgram *d, unsigned batch, size_t bufsize)
{
    if (d == NULL || batch < 1 || batch > EVL_DGRAM_BATCH_MAX || bufsize < 1 ||
        bufsize > BUFSIZE_MAX)
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    if ((d->state & EVL__DGRAM_DELIVERING) || (d->rx != NULL && d->rx->next < d->rx->count))
        return -EBUSY;
    rx_free(d->rx);
    d->rx = NULL;
    d->batch = batch;
    d->bufsize = bufsize;
    return 0;
}

int evl_dgram_read_start(evl_dgram *d)
{
    if (d == NULL || d->cb.on_recv == NULL)
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    if (d->state & EVL__DGRAM_READING)
        return 0;
    d->state |= EVL__DGRAM_READING;
    if (d->rx != NULL && d->rx->next < d->rx->count) {
        int rc = evl_timer_start(&d->kick, on_kick, 0, 0);
        if (rc < 0)
            return rc;
    }
    return rearm(d);
}

int evl_dgram_read_stop(evl_dgram *d)
{
    if (d == NULL)
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    if (!(d->state & EVL__DGRAM_READING))
        return 0;
    d->state &= ~EVL__DGRAM_READING;
    evl_timer_stop(&d->kick);
    return rearm(d);
}

int evl_dgram_set_watermarks(evl_dgram *d, size_t low, size_t high, size_t wmax)
{
    if (d == NULL || (high > 0 && low > high))
        return -EINVAL;
    d->wlow = low;
    d->whigh = high;
    d->wmax = wmax;
    return 0;
}

int evl_dgram_set_broadcast(evl_dgram *d, int on)
{
    if (d == NULL)
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    int v = on ? 1 : 0;
    if (setsockopt(d->fd, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v)) < 0)
        return -errno;
    return 0;
}

int evl_dgram_multicast(evl_dgram *d, const struct sockaddr *group, uint32_t addrlen,
                        unsigned ifindex, int join)
{
    if (d == NULL || group == NULL)
        return -EINVAL;
    if (d->state & EVL__DGRAM_CLOSED)
        return -EBADF;
    if (group->sa_family == AF_INET) {
        if (addrlen < sizeof(struct sockaddr_in))
            return -EINVAL;
        struct ip_mreqn mr;
        memset(&mr, 0, sizeof(mr));
        mr.imr_multiaddr = ((const struct sockaddr_in *)group)->sin_addr;
        mr.imr_ifindex = (int)ifindex;
        if (setsockopt(d->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                       &mr, sizeof(mr)) < 0)
            return -errno;
        return 0;
    }
    if (group->sa_family == AF_INET6) {
        if (addrlen < sizeof(struct sockaddr_in6))
            return -EINVAL;
        struct ipv6_mreq mr;
        memset(&mr, 0, sizeof(mr));
        mr.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)group)->sin6_addr;
        mr.ipv6mr_interface = ifindex;
        if (setsockopt(d->fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
                       &mr, sizeof(mr)) < 0)
            return -errno;
        return 0;
    }
    return -EINVAL;
}

int evl_dgram_fd(const evl_dgram *d)
{
    return d != NULL && !(d->state & EVL__DGRAM_CLOSED) ? d->fd : -1;
}

int evl_dgram_is_closed(const evl_dgram *d)
{
    return d == NULL || (d->state & EVL__DGRAM_CLOSED) ? 1 : 0;
}
