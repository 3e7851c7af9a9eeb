/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* backend-fake.c - the deterministic proactor backend, for tests.
 *
 * Submitted ops wait in a FIFO.  Each run_once performs them in
 * submission order with the real syscall, synchronously, and settles
 * them; their callbacks then run from the loop's queue like any
 * completion.  A test may script an op's result first
 * (evl_op_fake_script): a short count caps the syscall, -EAGAIN makes
 * one attempt see EAGAIN, any other errno settles the op with it.  A
 * syscall that returns EAGAIN (or EINPROGRESS for connect) leaves the op
 * queued for the next run_once, in its place.  With EVL_FAKE_MANUAL
 * nothing is ever performed: only evl_op_fake_complete settles.
 *
 * fd watchers, signals, wakeups and pidfds use the loop's epoll set, as
 * on the reactor.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evl-internal.h"

#define EVL__OP_CONNECTING 0x100   /* connect answered EINPROGRESS once */

struct fake_state {
    evl_op *head, *tail;       /* submitted, not yet performed */
};

static struct fake_state *state_of(evl_loop *loop)
{
    return loop->backend_data;
}

static int fake_init(evl_loop *loop)
{
    loop->backend_data = calloc(1, sizeof(struct fake_state));
    if (loop->backend_data == NULL)
        return -ENOMEM;
    return evl__epoll_init(loop);
}

static void fake_free(evl_loop *loop)
{
    free(loop->backend_data);
    loop->backend_data = NULL;
    evl__epoll_free(loop);
}

/* The fd a fake op may block on, for ops that can block once ready
 * (a write bigger than the pipe's or socket's free space), or -1. */
static int blocking_target(const evl_op *op)
{
    switch (op->kind) {
    case EVL_OP_WRITE: return op->fd;
    case EVL_OP_SPLICE: return op->fd_out;
    default: return -1;
    }
}

/* Performs op's syscall now; returns the result or -errno. */
static int64_t fake_syscall(evl_op *op, size_t len_cap)
{
    size_t len = op->len < len_cap ? op->len : len_cap;
    ssize_t n;
    socklen_t alen;
    /* The fake backend must never block, whatever the fd's mode: sockets
     * get MSG_DONTWAIT and splice SPLICE_F_NONBLOCK; a write or splice
     * into a blocking pipe or socket runs with O_NONBLOCK set for the one
     * call (the flag is per open file description, so another process
     * sharing it could see it for that instant: acceptable for a test
     * backend, and there is no per-call flag for write(2)). */
    int target = blocking_target(op), restore = -1;
    struct evl__sigpipe_guard guard;
    if (target >= 0)
        evl__sigpipe_block(&guard);   /* a pipe whose reader is gone */
    if (target >= 0) {
        int fl = fcntl(target, F_GETFL);
        struct stat st;
        if (fl >= 0 && !(fl & O_NONBLOCK) && fstat(target, &st) == 0 && !S_ISREG(st.st_mode) &&
            fcntl(target, F_SETFL, fl | O_NONBLOCK) == 0)
            restore = fl;
    }
    switch (op->kind) {
    case EVL_OP_READ:
        n = op->off < 0 ? read(op->fd, op->buf, len) : pread(op->fd, op->buf, len, op->off);
        break;
    case EVL_OP_WRITE:
        if (op->internal & EVL__OP_SOCKET)
            n = send(op->fd, op->buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        else
            n = op->off < 0 ? write(op->fd, op->buf, len) : pwrite(op->fd, op->buf, len, op->off);
        break;
    case EVL_OP_RECV:
        n = recv(op->fd, op->buf, len, (int)op->flags | MSG_DONTWAIT);
        break;
    case EVL_OP_SEND:
        n = send(op->fd, op->buf, len, (int)op->flags | MSG_DONTWAIT);
        break;
    case EVL_OP_ACCEPT:
        alen = sizeof(op->addr.storage);
        n = accept4(op->fd, (struct sockaddr *)op->addr.storage, &alen, (int)op->flags);
        op->addr.len = n >= 0 ? alen : 0;
        break;
    case EVL_OP_CONNECT:
        n = connect(op->fd, (const struct sockaddr *)op->addr.storage, op->addr.len);
        break;
    case EVL_OP_SHUTDOWN:
        n = shutdown(op->fd, (int)op->flags);
        break;
    case EVL_OP_CLOSE:
        n = close(op->fd);
        break;
    case EVL_OP_SPLICE: {
        loff_t in = op->off, out = op->off_out;
        n = splice(op->fd, op->off < 0 ? NULL : &in, op->fd_out,
                   op->off_out < 0 ? NULL : &out, len, op->flags | SPLICE_F_NONBLOCK);
        break;
    }
    default:
        return -EINVAL;
    }
    int64_t res = n < 0 ? -errno : n;
    if (restore >= 0)
        (void)fcntl(target, F_SETFL, restore);
    if (target >= 0)
        evl__sigpipe_unblock(&guard, res == -EPIPE);
    return res;
}

static void unlink_op(struct fake_state *fs, evl_op *op, evl_op *prev)
{
    if (prev)
        prev->next = op->next;
    else
        fs->head = op->next;
    if (fs->tail == op)
        fs->tail = prev;
    op->next = NULL;
}

static int fake_submit(evl_loop *loop, evl_op *op)
{
    struct fake_state *fs = state_of(loop);
    op->next = NULL;
    if (fs->tail)
        fs->tail->next = op;
    else
        fs->head = op;
    fs->tail = op;
    return 0;
}

/* Takes op out of the queue; returns 0, or -EINVAL if it is not there. */
static int fake_take(struct fake_state *fs, evl_op *op)
{
    evl_op *prev = NULL;
    for (evl_op *it = fs->head; it != NULL; prev = it, it = it->next) {
        if (it == op) {
            unlink_op(fs, op, prev);
            return 0;
        }
    }
    return -EINVAL;
}

static int fake_cancel(evl_loop *loop, evl_op *op)
{
    int rc = fake_take(state_of(loop), op);
    if (rc == 0)
        evl__op_settle(op, -ECANCELED);
    return rc;   /* -EINVAL: not ours, cannot happen for a pending op */
}

/* Whether op's syscall would proceed without blocking.  The fake must
 * never block (its fds may be in blocking mode), so an op whose fd is not
 * ready yet simply stays queued, as if the kernel had not answered. */
static int ready(const evl_op *op)
{
    short want;
    switch (op->kind) {
    case EVL_OP_READ: case EVL_OP_RECV: case EVL_OP_ACCEPT: case EVL_OP_SPLICE:
        want = POLLIN;
        break;
    case EVL_OP_WRITE: case EVL_OP_SEND:
        want = POLLOUT;
        break;
    default:
        return 1;
    }
    struct pollfd p = { .fd = op->fd, .events = want };
    if (poll(&p, 1, 0) < 0)
        return 1;   /* let the syscall report the problem */
    /* POLLNVAL/ERR/HUP: the syscall will not block; it reports. */
    return p.revents != 0;
}

/* One attempt at op.  Returns 1 if it settled, 0 if it stays queued. */
static int attempt(evl_op *op)
{
    int64_t res;
    if (!ready(op) && !((op->internal & EVL__OP_SCRIPTED) && op->scripted < 0))
        return 0;
    if (op->internal & EVL__OP_SCRIPTED) {
        int64_t s = op->scripted;
        if (s == -EAGAIN) {   /* one EAGAIN, then the real thing */
            op->internal &= ~EVL__OP_SCRIPTED;
            return 0;
        }
        if (s < 0) {
            evl__op_settle(op, s);
            return 1;
        }
        res = fake_syscall(op, (size_t)s);
    } else {
        res = fake_syscall(op, SIZE_MAX);
    }
    if (op->kind == EVL_OP_CONNECT) {
        if (res == -EINPROGRESS || res == -EALREADY) {
            op->internal |= EVL__OP_CONNECTING;
            return 0;
        }
        if (res == -EISCONN && (op->internal & EVL__OP_CONNECTING))
            res = 0;
    }
    if (res == -EAGAIN || res == -EINTR)
        return 0;
    evl__op_settle(op, res);
    return 1;
}

static int fake_poll(evl_loop *loop, int64_t timeout_ns)
{
    struct fake_state *fs = state_of(loop);
    int manual = (loop->flags & EVL_FAKE_MANUAL) != 0;
    int settled = 0;

    /* Perform what is queued, in submission order.  Ops submitted by
     * callbacks during this pass wait for the next one. */
    if (!manual) {
        evl_op *end = fs->tail, *prev = NULL, *op = fs->head;
        while (op != NULL) {
            evl_op *next = op->next;
            int last = op == end;
            if (attempt(op)) {
                /* Settling relinked op->next into the callback queue, so
                 * unlink_op cannot be used: splice with what we saved. */
                if (prev)
                    prev->next = next;
                else
                    fs->head = next;
                if (fs->tail == op)
                    fs->tail = prev;
                settled++;
            } else {
                prev = op;
            }
            if (last)
                break;
            op = next;
        }
    }
    /* Settled work or ops still retrying must not wait behind a block;
     * retrying ops are polled once per millisecond at most. */
    if (settled > 0 || loop->cbq_head != NULL)
        timeout_ns = 0;
    else if (!manual && fs->head != NULL && (timeout_ns < 0 || timeout_ns > 1000000))
        timeout_ns = 1000000;
    int n = evl__epoll_poll(loop, timeout_ns);
    if (n == -EINTR && settled > 0)
        n = 0;
    return n < 0 ? n : n + settled;
}

static void fake_teardown(evl_loop *loop)
{
    struct fake_state *fs = state_of(loop);
    while (fs->head != NULL) {
        evl_op *op = fs->head;
        fs->head = op->next;
        op->next = NULL;
        op->res = -ECANCELED;
        op->state = EVL_OP_IDLE;
        loop->pending_ops--;
    }
    fs->tail = NULL;
}

/* Forked child: the same rule as the ring's, though nothing here is the
 * kernel's: ops pending at the fork settle with -ECANCELED. */
static int fake_fork(evl_loop *loop)
{
    struct fake_state *fs = state_of(loop);
    while (fs->head != NULL) {
        evl_op *op = fs->head;
        unlink_op(fs, op, NULL);
        evl__op_settle(op, -ECANCELED);
    }
    return 0;
}

int evl_op_fake_complete(evl_op *op, int64_t res)
{
    /* State first: an idle op's loop may already be freed. */
    if (op == NULL || op->state != EVL_OP_PENDING || op->loop == NULL)
        return -EINVAL;
    evl_loop *loop = op->loop;
    if (loop->backend != &evl__backend_fake)
        return -EOPNOTSUPP;
    if (op->kind == EVL_OP_TIMEOUT) {
        evl_timer_stop(&op->timer);
        evl__op_settle(op, res);
        return 0;
    }
    int rc = fake_take(state_of(loop), op);
    if (rc == 0)
        evl__op_settle(op, res);
    return rc;
}

const struct evl_backend_ops evl__backend_fake = {
    .name = "fake",
    .init = fake_init,
    .free = fake_free,
    .ctl = evl__epoll_ctl,
    .poll = fake_poll,
    .submit = fake_submit,
    .cancel = fake_cancel,
    .teardown = fake_teardown,
    .fork = fake_fork,
};
