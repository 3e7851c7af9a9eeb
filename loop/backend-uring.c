/* backend-uring.c - the proactor's io_uring backend.
 *
 * Kernel behaviours this file works around:
 * - The SQ can fill up between waits: get_sqe then returns NULL, and we
 *   submit what is queued and retry.  With IORING_FEAT_NODROP an
 *   overflowing CQ makes submit fail with EBUSY; we reap and retry.
 * - IORING_SETUP_SINGLE_ISSUER / DEFER_TASKRUN (Linux 6.0 / 6.1) cut
 *   task-work overhead; older kernels reject them with EINVAL and we
 *   retry with COOP_TASKRUN, then with no flags.  With DEFER_TASKRUN,
 *   completions are only posted when we enter the kernel to get events,
 *   so a zero-timeout poll uses io_uring_submit_and_get_events.
 * - The ring's memory is MAP_SHARED: a forked child would share it.  We
 *   mark it MADV_DONTFORK (io_uring_ring_dontfork) and never drive the
 *   ring from a process other than the creator; a child may only free it.
 * - Teardown must not return while the kernel can still write into
 *   caller buffers: cancel everything (IORING_ASYNC_CANCEL_ANY, Linux
 *   5.19) and reap until nothing is in flight.
 *
 * - Multishot accept (Linux 5.19) keeps one SQE armed per listening fd and
 *   posts a CQE per connection.  Accept ops queue as waiters on that
 *   source; connections nobody waits for are kept for the next accept op.
 *   The shared addr buffer would race between CQEs, so the peer address
 *   comes from getpeername.  A kernel that answers EINVAL gets one-shot
 *   accepts instead.
 *
 * Fd watchers, signals, wakeups and pidfds stay on the loop's epoll set;
 * the ring holds one poll request on the epoll fd, re-armed before each
 * wait (a one-shot poll sees the current readiness when armed, so a
 * still-ready level-triggered watcher is never missed).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evl-internal.h"

/* user_data values that are not ops (ops are pointers, never this small). */
#define UD_IGNORE 0               /* cancel requests */
#define UD_EPOLL 1                /* the poll on the epoll fd */
#define UD_SOURCE_TAG 2           /* low bits of an accept source's user_data */

#define EVL__OP_ACCEPT_WAITER 0x200   /* op waits on an accept source */

/* One multishot accept per listening fd, shared by every accept op on it. */
struct accept_source {
    int fd;
    int armed;                    /* a multishot accept is in the kernel */
    int cancelling;               /* and we asked for it to stop */
    evl_op *wait_head, *wait_tail;
    int *ready;                   /* accepted fds no op has taken yet */
    size_t nready, ready_cap;
    struct accept_source *next;
};

struct uring_state {
    struct io_uring ring;
    int ring_ok;                  /* io_uring_queue_init succeeded */
    int epoll_armed;              /* UD_EPOLL is in the kernel */
    int epoll_ready;              /* its CQE arrived: run epoll_wait(0) */
    int defer_taskrun;
    int no_multishot;             /* the kernel refused multishot accept */
    int closing;                  /* teardown: re-arm nothing */
    size_t inflight;              /* CQEs still expected (ops, poll, cancels) */
    struct accept_source *sources;
};

static struct uring_state *state_of(evl_loop *loop)
{
    return loop->backend_data;
}

static int uring_init(evl_loop *loop)
{
    struct uring_state *us = calloc(1, sizeof(*us));
    if (us == NULL)
        return -ENOMEM;
    loop->backend_data = us;
    unsigned entries = loop->ring_entries ? loop->ring_entries : 256;
    static const unsigned tries[] = {
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        rc = io_uring_queue_init(entries, &us->ring, tries[i]);
        if (rc != -EINVAL) {
            us->defer_taskrun = (tries[i] & IORING_SETUP_DEFER_TASKRUN) != 0;
            break;
        }
    }
    if (rc < 0)
        return rc;   /* ENOSYS, EPERM (io_uring_disabled), ENOMEM, ... */
    us->ring_ok = 1;
    (void)io_uring_ring_dontfork(&us->ring);
    return evl__epoll_init(loop);
}

static struct io_uring_sqe *get_sqe(struct uring_state *us);
static int submit_oneshot(struct uring_state *us, evl_op *op);

/* Hands an accepted fd to op: the flags it asked for, its peer address. */
static void accept_deliver(evl_op *op, int fd)
{
    if (op->flags & SOCK_NONBLOCK) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    socklen_t alen = sizeof(op->addr.storage);
    if (getpeername(fd, (struct sockaddr *)op->addr.storage, &alen) == 0)
        op->addr.len = alen;
    else
        op->addr.len = 0;
    evl__op_settle(op, fd);
}

static evl_op *source_pop_waiter(struct accept_source *src)
{
    evl_op *op = src->wait_head;
    if (op == NULL)
        return NULL;
    src->wait_head = op->next;
    if (src->wait_head == NULL)
        src->wait_tail = NULL;
    op->next = NULL;
    op->internal &= ~EVL__OP_ACCEPT_WAITER;
    return op;
}

static int source_arm(struct uring_state *us, struct accept_source *src)
{
    struct io_uring_sqe *sqe = get_sqe(us);
    if (sqe == NULL)
        return -EBUSY;
    io_uring_prep_multishot_accept(sqe, src->fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)src | UD_SOURCE_TAG);
    src->armed = 1;
    us->inflight++;
    return 0;
}

/* Keeps an accepted fd for a later accept op. */
static int source_keep(struct accept_source *src, int fd)
{
    if (src->nready == src->ready_cap) {
        size_t cap = src->ready_cap ? src->ready_cap * 2 : 8;
        int *r = realloc(src->ready, cap * sizeof(int));
        if (r == NULL)
            return -ENOMEM;
        src->ready = r;
        src->ready_cap = cap;
    }
    src->ready[src->nready++] = fd;
    return 0;
}

static void source_cqe(struct uring_state *us, struct accept_source *src, int res,
                       unsigned flags)
{
    if (res >= 0) {
        evl_op *op = source_pop_waiter(src);
        if (op != NULL)
            accept_deliver(op, res);
        else if (source_keep(src, res) < 0)
            close(res);   /* out of memory: the peer sees a reset; we leak nothing */
    }
    if (flags & IORING_CQE_F_MORE)
        return;
    /* The multishot ended: cancelled, failed, or the kernel stopped it. */
    src->armed = 0;
    src->cancelling = 0;
    if (res == -EINVAL && !us->no_multishot) {
        /* No multishot accept here: every waiter becomes a one-shot op. */
        us->no_multishot = 1;
        evl_op *op;
        while ((op = source_pop_waiter(src)) != NULL)
            if (submit_oneshot(us, op) < 0)
                evl__op_settle(op, -EBUSY);
        return;
    }
    if (res < 0 && res != -ECANCELED) {
        evl_op *op = source_pop_waiter(src);
        if (op != NULL)
            evl__op_settle(op, res);
    }
    if (src->wait_head != NULL && !us->closing && source_arm(us, src) < 0) {
        evl_op *op;
        while ((op = source_pop_waiter(src)) != NULL)
            evl__op_settle(op, -EBUSY);
    }
}

static struct accept_source *source_for(struct uring_state *us, int fd)
{
    for (struct accept_source *src = us->sources; src != NULL; src = src->next)
        if (src->fd == fd)
            return src;
    struct accept_source *src = calloc(1, sizeof(*src));
    if (src == NULL)
        return NULL;
    src->fd = fd;
    src->next = us->sources;
    us->sources = src;
    return src;
}

static int accept_submit(struct uring_state *us, evl_op *op)
{
    struct accept_source *src = source_for(us, op->fd);
    if (src == NULL)
        return -ENOMEM;
    if (src->nready > 0) {
        /* A connection is already waiting: settle now (queued, not inline). */
        int fd = src->ready[0];
        memmove(src->ready, src->ready + 1, --src->nready * sizeof(int));
        accept_deliver(op, fd);
        return 0;
    }
    if (!src->armed) {
        int rc = source_arm(us, src);
        if (rc < 0)
            return rc;
    }
    op->next = NULL;
    op->internal |= EVL__OP_ACCEPT_WAITER;
    if (src->wait_tail)
        src->wait_tail->next = op;
    else
        src->wait_head = op;
    src->wait_tail = op;
    return 0;
}

static int accept_cancel(struct uring_state *us, evl_op *op)
{
    struct accept_source *src = source_for(us, op->fd);
    if (src == NULL)
        return -ENOMEM;
    evl_op *prev = NULL;
    for (evl_op *it = src->wait_head; it != NULL; prev = it, it = it->next) {
        if (it != op)
            continue;
        if (prev)
            prev->next = op->next;
        else
            src->wait_head = op->next;
        if (src->wait_tail == op)
            src->wait_tail = prev;
        op->next = NULL;
        op->internal &= ~EVL__OP_ACCEPT_WAITER;
        evl__op_settle(op, -ECANCELED);
        break;
    }
    /* Nobody waits: stop the kernel accepting on our behalf. */
    if (src->wait_head == NULL && src->armed && !src->cancelling) {
        struct io_uring_sqe *sqe = get_sqe(us);
        if (sqe != NULL) {
            io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)src | UD_SOURCE_TAG, 0);
            io_uring_sqe_set_data64(sqe, UD_IGNORE);
            us->inflight++;
            src->cancelling = 1;
        }
    }
    return 0;
}

static void sources_free(struct uring_state *us)
{
    while (us->sources != NULL) {
        struct accept_source *src = us->sources;
        us->sources = src->next;
        for (size_t i = 0; i < src->nready; i++)
            close(src->ready[i]);
        evl_op *op;
        while ((op = source_pop_waiter(src)) != NULL) {
            op->res = -ECANCELED;
            op->state = EVL_OP_IDLE;
        }
        free(src->ready);
        free(src);
    }
}

/* Takes one CQE's worth of meaning. */
static void handle_cqe(struct uring_state *us, uint64_t ud, int res,
                       unsigned flags)
{
    if (!(flags & IORING_CQE_F_MORE))
        us->inflight--;
    if (ud == UD_IGNORE)
        return;
    if (ud == UD_EPOLL) {
        us->epoll_armed = 0;
        us->epoll_ready = 1;
        return;
    }
    if ((ud & 7) == UD_SOURCE_TAG) {
        source_cqe(us, (struct accept_source *)(uintptr_t)(ud & ~(uint64_t)7), res, flags);
        return;
    }
    evl_op *op = (evl_op *)(uintptr_t)ud;
    if (op->state == EVL_OP_PENDING)
        evl__op_settle(op, res);
}

/* Moves every available CQE into settlements.  Returns how many. */
static int reap(struct uring_state *us)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&us->ring, head, cqe) {
        handle_cqe(us, cqe->user_data, cqe->res, cqe->flags);
        n++;
    }
    io_uring_cq_advance(&us->ring, n);
    return (int)n;
}

/* An SQE, submitting (and reaping, if the CQ overflowed) to make room. */
static struct io_uring_sqe *get_sqe(struct uring_state *us)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&us->ring);
        if (sqe != NULL)
            return sqe;
        int rc = io_uring_submit(&us->ring);
        if (rc == -EBUSY || rc == -EAGAIN) {
            if (us->defer_taskrun)
                io_uring_get_events(&us->ring);
            reap(us);
        }
    }
    return NULL;
}

static int uring_submit(evl_loop *loop, evl_op *op)
{
    struct uring_state *us = state_of(loop);
    if (op->kind == EVL_OP_ACCEPT && !us->no_multishot)
        return accept_submit(us, op);
    return submit_oneshot(us, op);
}

static int submit_oneshot(struct uring_state *us, evl_op *op)
{
    struct io_uring_sqe *sqe = get_sqe(us);
    if (sqe == NULL)
        return -EBUSY;
    /* -1 as a 64-bit offset means "the file position" to io_uring. */
    uint64_t off = op->off < 0 ? (uint64_t)-1 : (uint64_t)op->off;
    switch (op->kind) {
    case EVL_OP_READ:
        io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, off);
        break;
    case EVL_OP_WRITE:
        io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, off);
        break;
    case EVL_OP_RECV:
        io_uring_prep_recv(sqe, op->fd, op->buf, op->len, (int)op->flags);
        break;
    case EVL_OP_SEND:
        io_uring_prep_send(sqe, op->fd, op->buf, op->len, (int)op->flags);
        break;
    case EVL_OP_ACCEPT:
        op->addr.len = sizeof(op->addr.storage);
        io_uring_prep_accept(sqe, op->fd, (struct sockaddr *)op->addr.storage,
                             (socklen_t *)&op->addr.len, (int)op->flags);
        break;
    case EVL_OP_CONNECT:
        io_uring_prep_connect(sqe, op->fd, (const struct sockaddr *)op->addr.storage,
                              op->addr.len);
        break;
    case EVL_OP_SHUTDOWN:
        io_uring_prep_shutdown(sqe, op->fd, (int)op->flags);
        break;
    case EVL_OP_CLOSE:
        io_uring_prep_close(sqe, op->fd);
        break;
    case EVL_OP_SPLICE:
        io_uring_prep_splice(sqe, op->fd, op->off, op->fd_out, op->off_out,
                             (unsigned)op->len, op->flags);
        break;
    default:
        return -EINVAL;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
    op->internal |= EVL__OP_IN_KERNEL;
    us->inflight++;
    return 0;
}

static int uring_cancel(evl_loop *loop, evl_op *op)
{
    struct uring_state *us = state_of(loop);
    if (op->internal & EVL__OP_ACCEPT_WAITER)
        return accept_cancel(us, op);
    struct io_uring_sqe *sqe = get_sqe(us);
    if (sqe == NULL)
        return -EBUSY;
    /* The op settles when its own CQE comes back: -ECANCELED, or its real
     * result if it completed first. */
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
    us->inflight++;
    return 0;
}

static int uring_poll(evl_loop *loop, int64_t timeout_ns)
{
    struct uring_state *us = state_of(loop);
    if (!us->epoll_armed) {
        struct io_uring_sqe *sqe = get_sqe(us);
        if (sqe == NULL)
            return -EBUSY;
        io_uring_prep_poll_add(sqe, loop->epfd, POLLIN);
        io_uring_sqe_set_data64(sqe, UD_EPOLL);
        us->epoll_armed = 1;
        us->inflight++;
    }
    if (loop->cbq_head != NULL || us->epoll_ready)
        timeout_ns = 0;

    int rc;
    if (timeout_ns == 0) {
        rc = us->defer_taskrun ? io_uring_submit_and_get_events(&us->ring)
                               : io_uring_submit(&us->ring);
    } else {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts, *tsp = NULL;
        if (timeout_ns > 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            tsp = &ts;
        }
        rc = io_uring_submit_and_wait_timeout(&us->ring, &cqe, 1, tsp, NULL);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
        return rc;

    int n = reap(us);
    if (us->epoll_ready) {
        us->epoll_ready = 0;
        n--;   /* the poll CQE itself is not an event */
        int e = evl__epoll_poll(loop, 0);
        if (e > 0)
            n += e;
    }
    return n;
}

static void uring_teardown(evl_loop *loop)
{
    struct uring_state *us = state_of(loop);
    if (us == NULL || !us->ring_ok || getpid() != loop->owner_pid)
        return;   /* not ours to drive (forked child): just let free unmap */
    us->closing = 1;
    if (us->inflight > 0) {
        struct io_uring_sqe *sqe = get_sqe(us);
        if (sqe != NULL) {
            io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
            io_uring_sqe_set_data64(sqe, UD_IGNORE);
            us->inflight++;
        }
    }
    /* Reap until the kernel holds nothing of ours.  Settled ops are
     * marked idle without callbacks: the loop is going away. */
    while (us->inflight > 0) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_submit_and_wait(&us->ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -ETIME)
            break;
        unsigned head, n = 0;
        io_uring_for_each_cqe(&us->ring, head, cqe) {
            handle_cqe(us, cqe->user_data, cqe->res, cqe->flags);
            n++;
        }
        io_uring_cq_advance(&us->ring, n);
    }
}

static void uring_free(evl_loop *loop)
{
    struct uring_state *us = state_of(loop);
    if (us != NULL)
        sources_free(us);
    if (us != NULL && us->ring_ok)
        io_uring_queue_exit(&us->ring);
    free(us);
    loop->backend_data = NULL;
    evl__epoll_free(loop);
}

const struct evl_backend_ops evl__backend_uring = {
    .name = "uring",
    .init = uring_init,
    .free = uring_free,
    .ctl = evl__epoll_ctl,
    .poll = uring_poll,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .teardown = uring_teardown,
};
