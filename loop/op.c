/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* op.c - proactor operations: submission, settlement, the callback queue.
 *
 * The rules in evloop.h live here, the same for every backend:
 * - an op moves IDLE -> PENDING (submit) -> SETTLED (evl__op_settle, once)
 *   -> IDLE (just before its callback runs, so it may be resubmitted);
 * - settling never calls back: it appends to the loop's FIFO, which only
 *   evl_loop_drain empties (from run_once or the caller);
 * - timeouts are loop timers (one heap, one armed kernel timeout), so
 *   they order by deadline and FIFO on both backends.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evl-internal.h"

static void cbq_append(evl_loop *loop, evl_op *op)
{
    op->next = NULL;
    if (loop->cbq_tail)
        loop->cbq_tail->next = op;
    else
        loop->cbq_head = op;
    loop->cbq_tail = op;
}

void evl__op_settle(evl_op *op, int64_t res)
{
    evl_loop *loop = op->loop;
    op->res = res;
    op->state = EVL_OP_SETTLED;
    op->internal &= ~(EVL__OP_IN_KERNEL | EVL__OP_SCRIPTED);
    cbq_append(loop, op);
    loop->pending_ops--;
}

/* A multishot op's results wait in a FIFO of their own: the op is in the
 * callback queue once (EVL__OP_QUEUED) however many it holds, and goes
 * back to the queue's tail after each callback while results remain, so
 * one busy op cannot starve the others. */
struct evl__op_result {
    int64_t res;
    void *buf;                   /* provided buffer, or NULL */
    unsigned bid;
    int more;
};

struct evl__op_results {
    size_t head, len, cap;
    struct evl__op_result r[];
};

static int results_push(evl_op *op, const struct evl__op_result *r)
{
    struct evl__op_results *q = op->results;
    if (q == NULL || q->head + q->len == q->cap) {
        size_t len = q ? q->len : 0;
        if (q != NULL && q->head > 0) {
            /* Room at the front: slide down rather than grow. */
            memmove(q->r, q->r + q->head, len * sizeof(q->r[0]));
            q->head = 0;
        } else {
            size_t cap = q ? q->cap * 2 : 8;
            struct evl__op_results *n = realloc(q, sizeof(*n) + cap * sizeof(n->r[0]));
            if (n == NULL)
                return -ENOMEM;
            if (q == NULL)
                n->head = n->len = 0;
            n->cap = cap;
            op->results = q = n;
        }
    }
    q->r[q->head + q->len++] = *r;
    return 0;
}

void evl__op_post(evl_op *op, int64_t res, void *buf, unsigned bid, int more)
{
    evl_loop *loop = op->loop;
    struct evl__op_result r = { res, buf, bid, more };
    if (op->internal & EVL__OP_LOST) {
        /* After a lost result the rest are dropped too (an fd closed, a
         * buffer given back), so the caller never sees a gap: the last
         * result says -ENOMEM instead. */
        if (res >= 0 && op->kind == EVL_OP_ACCEPT)
            close((int)res);
        if (buf != NULL)
            loop->backend->buf_recycle(loop, buf, bid);
        if (more)
            return;
        r.res = -ENOMEM;
        r.buf = NULL;
    }
    if (results_push(op, &r) < 0) {
        if (res >= 0 && op->kind == EVL_OP_ACCEPT)
            close((int)res);
        if (buf != NULL)
            loop->backend->buf_recycle(loop, buf, bid);
        op->internal |= EVL__OP_LOST;
        if (more) {
            (void)evl_op_cancel(op);
            return;
        }
        /* The last result must be kept: it reuses the slot of a dropped
         * one, or, with nothing queued at all, needs no memory. */
        struct evl__op_results *q = op->results;
        r.res = -ENOMEM;
        r.buf = NULL;
        if (q != NULL && q->len > 0) {
            struct evl__op_result *tail = &q->r[q->head + q->len - 1];
            if (tail->res >= 0 && op->kind == EVL_OP_ACCEPT)
                close((int)tail->res);
            if (tail->buf != NULL)
                loop->backend->buf_recycle(loop, tail->buf, tail->bid);
            *tail = r;
        } else {
            op->res = -ENOMEM;   /* delivered from op->res, see drain */
        }
    }
    if (!more) {
        op->state = EVL_OP_SETTLED;
        op->internal &= ~EVL__OP_IN_KERNEL;
        loop->pending_ops--;
    }
    if (!(op->internal & EVL__OP_QUEUED)) {
        op->internal |= EVL__OP_QUEUED;
        cbq_append(loop, op);
    }
}

void evl__op_discard(evl_op *op)
{
    struct evl__op_results *q = op->results;
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->len; i++) {
        const struct evl__op_result *r = &q->r[q->head + i];
        if (r->res >= 0 && op->kind == EVL_OP_ACCEPT)
            close((int)r->res);
    }
    free(q);
    op->results = NULL;
    op->internal &= ~(EVL__OP_QUEUED | EVL__OP_MORE);
}

/* Calls a multishot op back with its oldest result. */
static void drain_multi(evl_loop *loop, evl_op *op)
{
    struct evl__op_results *q = op->results;
    struct evl__op_result r;
    if (q == NULL || q->len == 0) {
        /* Only the last result, kept without memory (ENOMEM). */
        r = (struct evl__op_result){ op->res, NULL, 0, 0 };
    } else {
        r = q->r[q->head++];
        q->len--;
    }
    if (q != NULL && q->len > 0) {
        cbq_append(loop, op);   /* still queued: the rest after the others */
    } else {
        op->internal &= ~EVL__OP_QUEUED;
    }
    op->res = r.res;
    op->buf = r.buf;
    if (r.more) {
        op->internal |= EVL__OP_MORE;
    } else {
        /* The last one: op is the caller's again once its callback starts. */
        free(op->results);
        op->results = NULL;
        op->internal &= ~(EVL__OP_MORE | EVL__OP_MULTI | EVL__OP_QUEUED | EVL__OP_LOST);
        op->state = EVL_OP_IDLE;
    }
    op->cb(op);   /* the last may free or resubmit op */
    if (r.buf != NULL)
        loop->backend->buf_recycle(loop, r.buf, r.bid);
}

int evl_loop_drain(evl_loop *loop)
{
    if (loop == NULL)
        return -EINVAL;
    int n = 0;
    /* Pop one at a time: entries appended by a callback run in this same
     * drain, after those already queued. */
    while (loop->cbq_head != NULL) {
        evl_op *op = loop->cbq_head;
        loop->cbq_head = op->next;
        if (loop->cbq_head == NULL)
            loop->cbq_tail = NULL;
        op->next = NULL;
        n++;
        if (op->internal & EVL__OP_MULTI) {
            drain_multi(loop, op);
            continue;
        }
        op->state = EVL_OP_IDLE;
        op->cb(op);   /* may resubmit or free op */
    }
    return n;
}

int evl_op_more(const evl_op *op)
{
    return op != NULL && (op->internal & EVL__OP_MORE) != 0;
}

size_t evl_loop_pending_ops(const evl_loop *loop)
{
    return loop ? loop->pending_ops : 0;
}

static void timeout_fired(evl_timer *t);

int evl__timer_is_op(const evl_timer *t)
{
    return t->cb == timeout_fired;
}

static void timeout_fired(evl_timer *t)
{
    evl_op *op = evl__container_of(t, evl_op, timer);
    evl__op_settle(op, 0);
}

/* Common front half of every submit: checks and resets op. */
static int op_begin(evl_loop *loop, evl_op *op, int kind, evl_op_cb cb)
{
    if (loop == NULL || op == NULL || cb == NULL)
        return -EINVAL;
    if (loop->model != EVL_PROACTOR)
        return -EOPNOTSUPP;
    if (op->state == EVL_OP_PENDING || op->state == EVL_OP_SETTLED)
        return -EINVAL;   /* still the loop's */
    int rc = evl__loop_own(loop);   /* a forked child submits to its own ring */
    if (rc < 0)
        return rc;
    op->loop = loop;
    op->cb = cb;
    op->kind = kind;
    op->res = 0;
    op->internal = 0;
    op->scripted = 0;
    op->fd = op->fd_out = -1;
    op->buf = NULL;
    op->len = 0;
    op->off = op->off_out = -1;
    op->flags = 0;
    op->next = NULL;
    op->results = NULL;
    op->addr.len = 0;
    return 0;
}

static int op_submit(evl_op *op)
{
    evl_loop *loop = op->loop;
    op->state = EVL_OP_PENDING;
    loop->pending_ops++;
    if (op->kind == EVL_OP_TIMEOUT) {
        evl_timer_init(loop, &op->timer);
        int rc = evl_timer_start_at(&op->timer, timeout_fired, op->deadline_ns, 0);
        if (rc == 0)
            return 0;
        op->state = EVL_OP_IDLE;
        loop->pending_ops--;
        return rc;
    }
    int rc = loop->backend->submit(loop, op);
    if (rc < 0) {
        op->state = EVL_OP_IDLE;
        loop->pending_ops--;
    }
    return rc;
}

static int fd_ok(int fd)
{
    return fd >= 0;
}

/* The kernel's own per-call cap (MAX_RW_COUNT): larger requests become
 * short transfers, as with read(2), instead of wrapping io_uring's 32-bit
 * length. */
static size_t cap_len(size_t len)
{
    return len > 0x7ffff000u ? 0x7ffff000u : len;
}

int evl_op_read(evl_loop *loop, evl_op *op, int fd, void *buf, size_t len, int64_t off,
                evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_READ, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || (buf == NULL && len > 0) || off < -1)
        return -EINVAL;
    op->fd = fd;
    op->buf = buf;
    op->len = cap_len(len);
    op->off = off;
    return op_submit(op);
}

int evl_op_write(evl_loop *loop, evl_op *op, int fd, const void *buf, size_t len,
                 int64_t off, evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_WRITE, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || (buf == NULL && len > 0) || off < -1)
        return -EINVAL;
    op->fd = fd;
    op->buf = (void *)buf;
    op->len = cap_len(len);
    op->off = off;
    /* Decided once here for every backend: a write op on a socket goes out
     * as send(MSG_NOSIGNAL), so a vanished peer is -EPIPE and never a
     * SIGPIPE (io_uring may even retry it later as task work, outside any
     * signal guard). */
    struct stat st;
    if (off < 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
        op->internal |= EVL__OP_SOCKET;
    return op_submit(op);
}

int evl_op_recv(evl_loop *loop, evl_op *op, int fd, void *buf, size_t len, int flags,
                evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_RECV, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || (buf == NULL && len > 0) || flags < 0)
        return -EINVAL;
    op->fd = fd;
    op->buf = buf;
    op->len = cap_len(len);
    op->flags = (unsigned)flags;
    return op_submit(op);
}

int evl_op_send(evl_loop *loop, evl_op *op, int fd, const void *buf, size_t len, int flags,
                evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_SEND, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || (buf == NULL && len > 0) || flags < 0)
        return -EINVAL;
    op->fd = fd;
    op->buf = (void *)buf;
    op->len = cap_len(len);
    op->flags = (unsigned)flags | MSG_NOSIGNAL;
    return op_submit(op);
}

/* One-shot and multishot accept: the same checks and flags. */
static int accept_submit(evl_loop *loop, evl_op *op, int fd, int flags, evl_op_cb cb, int multi)
{
    int rc = op_begin(loop, op, EVL_OP_ACCEPT, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || (flags & ~SOCK_NONBLOCK))
        return -EINVAL;
    if (multi && loop->backend->buf_recycle == NULL)
        return -EOPNOTSUPP;
    op->fd = fd;
    op->flags = (unsigned)flags | SOCK_CLOEXEC;
    if (multi)
        op->internal = EVL__OP_MULTI;   /* no peer address: one buffer for every result */
    else
        op->addr.len = sizeof(op->addr.storage);
    return op_submit(op);
}

int evl_op_accept(evl_loop *loop, evl_op *op, int fd, int flags, evl_op_cb cb)
{
    return accept_submit(loop, op, fd, flags, cb, 0);
}

int evl_op_accept_multi(evl_loop *loop, evl_op *op, int fd, int flags, evl_op_cb cb)
{
    return accept_submit(loop, op, fd, flags, cb, 1);
}

int evl_op_recv_multi(evl_loop *loop, evl_op *op, int fd, evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_RECV, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd))
        return -EINVAL;
    if (loop->backend->buf_recycle == NULL)
        return -EOPNOTSUPP;
    op->fd = fd;
    op->internal = EVL__OP_MULTI;
    return op_submit(op);
}

int evl_op_connect(evl_loop *loop, evl_op *op, int fd, const void *addr, uint32_t addrlen,
                   evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_CONNECT, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || addr == NULL || addrlen == 0 || addrlen > sizeof(op->addr.storage))
        return -EINVAL;
    op->fd = fd;
    memcpy(op->addr.storage, addr, addrlen);
    op->addr.len = addrlen;
    return op_submit(op);
}

int evl_op_shutdown(evl_loop *loop, evl_op *op, int fd, int how, evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_SHUTDOWN, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd) || (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR))
        return -EINVAL;
    op->fd = fd;
    op->flags = (unsigned)how;
    return op_submit(op);
}

int evl_op_close(evl_loop *loop, evl_op *op, int fd, evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_CLOSE, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd))
        return -EINVAL;
    op->fd = fd;
    return op_submit(op);
}

int evl_op_splice(evl_loop *loop, evl_op *op, int fd_in, int64_t off_in, int fd_out,
                  int64_t off_out, size_t len, unsigned flags, evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_SPLICE, cb);
    if (rc < 0)
        return rc;
    if (!fd_ok(fd_in) || !fd_ok(fd_out) || off_in < -1 || off_out < -1)
        return -EINVAL;
    op->fd = fd_in;
    op->off = off_in;
    op->fd_out = fd_out;
    op->off_out = off_out;
    op->len = cap_len(len);
    op->flags = flags;
    return op_submit(op);
}

int evl_op_timeout(evl_loop *loop, evl_op *op, uint64_t deadline_ns, evl_op_cb cb)
{
    int rc = op_begin(loop, op, EVL_OP_TIMEOUT, cb);
    if (rc < 0)
        return rc;
    op->deadline_ns = deadline_ns;
    return op_submit(op);
}

int evl_op_cancel(evl_op *op)
{
    if (op == NULL || op->loop == NULL)
        return -EINVAL;
    if (op->state == EVL_OP_PENDING) {
        int rc = evl__loop_own(op->loop);   /* a forked child settles the parent's ops */
        if (rc < 0)
            return rc;
    }
    if (op->state == EVL_OP_SETTLED)
        return -EALREADY;
    if (op->state != EVL_OP_PENDING)
        return -EINVAL;
    if (op->internal & EVL__OP_CANCEL_REQ)
        return 0;   /* already asked; the answer is on its way */
    op->internal |= EVL__OP_CANCEL_REQ;
    if (op->kind == EVL_OP_TIMEOUT) {
        evl_timer_stop(&op->timer);
        evl__op_settle(op, -ECANCELED);
        return 0;
    }
    return op->loop->backend->cancel(op->loop, op);
}

int evl_op_fake_script(evl_op *op, int64_t res)
{
    /* State first: an idle op's loop may already be freed. */
    if (op == NULL || op->state != EVL_OP_PENDING || op->loop == NULL)
        return -EINVAL;
    if (op->loop->backend != &evl__backend_fake)
        return -EOPNOTSUPP;
    if (op->state != EVL_OP_PENDING || op->kind == EVL_OP_TIMEOUT)
        return -EINVAL;
    op->scripted = res;
    op->internal |= EVL__OP_SCRIPTED;
    return 0;
}

