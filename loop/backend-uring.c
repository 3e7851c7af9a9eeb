/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* backend-uring.c - the proactor's io_uring backend.
 *
 * Kernel behaviours this file works around:
 * - The SQ can fill up between waits: get_sqe then returns NULL, and we
 *   submit what is queued and retry.  With IORING_FEAT_NODROP an
 *   overflowing CQ makes submit fail with EBUSY; we reap and retry.
 * - COOP_TASKRUN / SUBMIT_ALL (Linux 5.18/5.19) are asked for and dropped
 *   when an older kernel answers EINVAL.  SINGLE_ISSUER is not used: a
 *   loop may be created on one thread and run on another.
 * - Multishot accept (evl_op_accept_multi) takes every connection until
 *   cancelled, and holds its own file reference: a listener closed under
 *   it goes on accepting.  So it is never implied: evl_op_accept stays
 *   one-shot, and a multishot caller cancels before closing and bounds
 *   what it takes itself.
 * - Multishot receives pick buffers from one provided-buffer ring per
 *   loop (group 0), registered at the first one (Linux 5.19; older
 *   kernels: -EOPNOTSUPP, and callers read one-shot).  A buffer goes back
 *   to the ring after the callback that saw its bytes (op.c), so a ring
 *   runs dry only while that many chunks wait to be called back; the
 *   kernel then ends the op with -ENOBUFS and the caller resubmits.
 * - io_uring's length field is 32 bits; op.c caps lengths at MAX_RW_COUNT
 *   (0x7ffff000) as read(2) does, so a huge request is a short transfer
 *   rather than a wrapped one.
 * - The ring's memory is MAP_SHARED: a forked child would share it.  We
 *   mark it MADV_DONTFORK (io_uring_ring_dontfork) and never drive the
 *   ring from a process other than the creator: a child closes its copy
 *   of the ring fd (unmapping nothing: the range may be reused there)
 *   and makes a ring of its own (uring_fork).
 * - Teardown must not return while the kernel can still write into
 *   caller buffers: cancel everything (IORING_ASYNC_CANCEL_ANY, Linux
 *   5.19) and reap until nothing is in flight.
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
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evl-internal.h"

/* user_data values that are not ops (ops are pointers, never this small). */
#define UD_IGNORE 0               /* cancel requests */
#define UD_EPOLL 1                /* the poll on the epoll fd */

/* The provided-buffer ring (group BGID): the kernel's ring of buffer
 * descriptors (mmap'ed, page aligned) and the buffers themselves. */
#define BGID 0
struct bufring {
    struct io_uring_buf_ring *br;
    size_t br_bytes;             /* its mapping */
    char *mem;                   /* nbufs * size bytes */
    unsigned nbufs, size, mask;
    struct bufring *old;         /* the next on the retired list */
};

struct uring_state {
    struct io_uring ring;
    struct bufring *bufs;        /* NULL until the first multishot receive */
    int bufs_failed;             /* the kernel refused it: -errno, for good */
    struct bufring *retired;     /* a forked child's copies of its parent's (uring_fork) */
    int ring_ok;                  /* io_uring_queue_init succeeded */
    int epoll_armed;              /* UD_EPOLL is in the kernel */
    int epoll_ready;              /* its CQE arrived: run epoll_wait(0) */
    int defer_taskrun;
    size_t inflight;              /* CQEs still expected (ops, poll, cancels) */
    evl_op *kops;                 /* ops in the kernel (next/prev), for a fork */
    int sigpipe_risk;             /* a write that may hit a pipe awaits submission */
};

static struct uring_state *state_of(evl_loop *loop)
{
    return loop->backend_data;
}

/* Linked through knext/prev, not next: a multishot op is in the kernel
 * and in the callback queue (next) at once. */
static void kops_add(struct uring_state *us, evl_op *op)
{
    op->prev = NULL;
    op->knext = us->kops;
    if (us->kops != NULL)
        us->kops->prev = op;
    us->kops = op;
}

static void kops_del(struct uring_state *us, evl_op *op)
{
    if (op->prev != NULL)
        op->prev->knext = op->knext;
    else
        us->kops = op->knext;
    if (op->knext != NULL)
        op->knext->prev = op->prev;
    op->knext = op->prev = NULL;
}

static void bufring_free_mem(struct bufring *b)
{
    while (b != NULL) {
        struct bufring *old = b->old;
        if (b->br != NULL)
            munmap(b->br, b->br_bytes);
        free(b->mem);
        free(b);
        b = old;
    }
}

static void bufring_put(struct bufring *b, void *buf, unsigned bid)
{
    io_uring_buf_ring_add(b->br, buf, b->size, (unsigned short)bid, b->mask, 0);
    io_uring_buf_ring_advance(b->br, 1);
}

/* The loop's provided-buffer ring, registered on first use.  Returns 0
 * or -errno (-EOPNOTSUPP: this kernel has no buffer rings). */
static int bufring_get(evl_loop *loop, struct uring_state *us)
{
    if (us->bufs != NULL)
        return 0;
    if (us->bufs_failed)
        return us->bufs_failed;
    unsigned n = loop->recv_buffers ? loop->recv_buffers : 128;
    unsigned size = loop->recv_buffer_size ? loop->recv_buffer_size : 16384;
    unsigned p2 = 1;
    while (p2 < n)
        p2 <<= 1;
    struct bufring *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->nbufs = p2;
    b->size = size;
    b->mask = io_uring_buf_ring_mask(p2);
    b->br_bytes = (size_t)p2 * sizeof(struct io_uring_buf);
    void *map = mmap(NULL, b->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                     -1, 0);
    b->mem = malloc((size_t)p2 * size);
    if (map == MAP_FAILED || b->mem == NULL) {
        if (map != MAP_FAILED)
            munmap(map, b->br_bytes);
        free(b->mem);
        free(b);
        return -ENOMEM;
    }
    b->br = map;
    io_uring_buf_ring_init(b->br);
    struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)map, .ring_entries = p2,
                                    .bgid = BGID };
    int rc = io_uring_register_buf_ring(&us->ring, &reg, 0);
    if (rc < 0) {
        bufring_free_mem(b);
        /* EINVAL/ENOSYS: a kernel before 5.19.  Anything else may pass. */
        if (rc == -EINVAL || rc == -ENOSYS || rc == -EOPNOTSUPP) {
            us->bufs_failed = -EOPNOTSUPP;
            return -EOPNOTSUPP;
        }
        return rc;
    }
    for (unsigned i = 0; i < p2; i++)
        io_uring_buf_ring_add(b->br, b->mem + (size_t)i * size, size, (unsigned short)i,
                              b->mask, (int)i);
    io_uring_buf_ring_advance(b->br, (int)p2);
    us->bufs = b;
    return 0;
}

static void uring_buf_recycle(evl_loop *loop, void *buf, unsigned bid)
{
    struct uring_state *us = state_of(loop);
    struct bufring *b = us->bufs;
    /* A buffer of a ring a fork left behind stays where it is. */
    if (b != NULL && (char *)buf >= b->mem && (char *)buf < b->mem + (size_t)b->nbufs * b->size)
        bufring_put(b, buf, bid);
}

static int ring_open(evl_loop *loop, struct uring_state *us)
{
    unsigned entries = loop->ring_entries ? loop->ring_entries : 256;
    /* No SINGLE_ISSUER / DEFER_TASKRUN: a loop may be created on one thread
     * and run on another, which those flags forbid (EEXIST). */
    static const unsigned tries[] = {
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
    return 0;
}

static int uring_init(evl_loop *loop)
{
    struct uring_state *us = calloc(1, sizeof(*us));
    if (us == NULL)
        return -ENOMEM;
    loop->backend_data = us;
    int rc = ring_open(loop, us);
    if (rc < 0)
        return rc;
    return evl__epoll_init(loop);
}

/* In a forked child the ring's memory is gone (MADV_DONTFORK), and its
 * address range may since have been given to another mapping: only the
 * child's copy of the ring fd is closed, nothing is unmapped. */
static void ring_forget(struct uring_state *us)
{
    if (us->ring_ok && us->ring.ring_fd >= 0)
        close(us->ring.ring_fd);
    us->ring_ok = 0;
}

/* Forked child: the parent's ops belong to the parent's ring; here they
 * settle with -ECANCELED (their callbacks run from the child's loop),
 * and a fresh ring takes the child's own. */
static int uring_fork(evl_loop *loop)
{
    struct uring_state *us = state_of(loop);
    while (us->kops != NULL) {
        evl_op *op = us->kops;
        kops_del(us, op);
        if (op->internal & EVL__OP_MULTI)
            evl__op_post(op, -ECANCELED, NULL, 0, 0);
        else
            evl__op_settle(op, -ECANCELED);
    }
    /* Results already reaped may still point into the parent's buffers
     * (this process's copy of them): they stay until the loop is freed,
     * and the child's ring gets buffers of its own when first needed. */
    if (us->bufs != NULL) {
        us->bufs->old = us->retired;
        us->retired = us->bufs;
        us->bufs = NULL;
    }
    us->bufs_failed = 0;
    ring_forget(us);
    us->epoll_armed = us->epoll_ready = 0;
    us->inflight = 0;
    us->sigpipe_risk = 0;
    return ring_open(loop, us);
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
    evl_op *op = (evl_op *)(uintptr_t)ud;
    if (!(flags & IORING_CQE_F_MORE) && (op->internal & EVL__OP_IN_KERNEL))
        kops_del(us, op);
    /* A cancelled request that was blocked in an io-wq worker (a splice
     * into a full blocking pipe, say) can come back with the kernel's
     * internal restart codes (ERESTARTSYS 512 .. ERESTART_RESTARTBLOCK
     * 516), which must never reach a caller. */
    if (res <= -512 && res >= -516)
        res = (op->internal & EVL__OP_CANCEL_REQ) ? -ECANCELED : -EINTR;
    if (op->state != EVL_OP_PENDING) {
        if ((flags & IORING_CQE_F_BUFFER) && us->bufs != NULL)
            bufring_put(us->bufs, us->bufs->mem + (size_t)(flags >> IORING_CQE_BUFFER_SHIFT) *
                                                      us->bufs->size,
                        flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    if (op->internal & EVL__OP_MULTI) {
        void *buf = NULL;
        unsigned bid = 0;
        if ((flags & IORING_CQE_F_BUFFER) && us->bufs != NULL) {
            bid = flags >> IORING_CQE_BUFFER_SHIFT;
            buf = us->bufs->mem + (size_t)bid * us->bufs->size;
        }
        evl__op_post(op, res, buf, bid, (flags & IORING_CQE_F_MORE) != 0);
        return;
    }
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
    if (op->kind == EVL_OP_RECV && (op->internal & EVL__OP_MULTI)) {
        int rc = bufring_get(loop, us);
        if (rc < 0)
            return rc;
    }
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
        /* op.c marked socket writes: send(MSG_NOSIGNAL).  Pipes have no
         * such flag; their inline writes are guarded in uring_poll. */
        if (op->internal & EVL__OP_SOCKET) {
            io_uring_prep_send(sqe, op->fd, op->buf, op->len, MSG_NOSIGNAL);
        } else {
            io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, off);
            us->sigpipe_risk = 1;
        }
        break;
    case EVL_OP_RECV:
        if (op->internal & EVL__OP_MULTI) {
            io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT;
            sqe->buf_group = BGID;
            break;
        }
        io_uring_prep_recv(sqe, op->fd, op->buf, op->len, (int)op->flags);
        break;
    case EVL_OP_SEND:
        io_uring_prep_send(sqe, op->fd, op->buf, op->len, (int)op->flags);
        break;
    case EVL_OP_ACCEPT:
        if (op->internal & EVL__OP_MULTI) {
            io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL, (int)op->flags);
            break;
        }
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
    kops_add(us, op);
    us->inflight++;
    return 0;
}

static int uring_cancel(evl_loop *loop, evl_op *op)
{
    struct uring_state *us = state_of(loop);
    struct io_uring_sqe *sqe = get_sqe(us);
    if (sqe == NULL)
        return -EBUSY;
    /* The op settles when its own CQE comes back: -ECANCELED, or its real
     * result if it completed first. */
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
    us->inflight++;
    /* Submit now: io_uring resolves an SQE's fd only when the ring is
     * entered, so an op whose SQE still waits in the ring would otherwise
     * act on whatever file next takes its fd number once the caller
     * closes it after cancelling. */
    (void)io_uring_submit(&us->ring);
    return 0;
}

/* Publishes the SQEs io_uring_get_sqe handed out, as liburing's own
 * submit does (it does not export that step): liburing maps SQ slots to
 * SQEs one to one at setup.  Returns how many wait for the kernel. */
static unsigned sq_flush(struct io_uring *ring)
{
    struct io_uring_sq *sq = &ring->sq;
    unsigned tail = sq->sqe_tail;
    if (sq->sqe_head != tail) {
        sq->sqe_head = tail;
        io_uring_smp_store_release(sq->ktail, tail);
    }
    return tail - io_uring_smp_load_acquire(sq->khead);
}

/* Submits what is queued and waits for a completion in one io_uring_enter
 * (the timeout through IORING_ENTER_EXT_ARG, Linux 5.11).  liburing's
 * submit_and_wait_timeout would enter a second time when a signal ends
 * the wait after a submission (the kernel then returns the submitted
 * count, not EINTR), so a %SIG handler would wait for a completion: here
 * an enter that brought no completion is reported as -EINTR, which
 * poll_resuming (loop.c) turns into a return at the timeout or a wait for
 * the time left, after the interrupt callback had its say. */
static int submit_and_wait(struct uring_state *us, int64_t timeout_ns)
{
    unsigned submit = sq_flush(&us->ring);
    if (io_uring_cq_ready(&us->ring) > 0)
        return submit > 0 ? io_uring_enter(us->ring.ring_fd, submit, 0, 0, NULL) : 0;
    struct __kernel_timespec ts;
    struct io_uring_getevents_arg arg = { .sigmask_sz = _NSIG / 8 };
    if (timeout_ns > 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        arg.ts = (uint64_t)(uintptr_t)&ts;
    }
    int rc = io_uring_enter2(us->ring.ring_fd, submit, 1,
                             IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                             (sigset_t *)(void *)&arg, sizeof(arg));
    if (rc >= 0 && io_uring_cq_ready(&us->ring) == 0)
        return -EINTR;   /* a signal, or the timeout: see above */
    return rc;
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

    /* Writes issued inline by this enter may raise SIGPIPE in our thread. */
    struct evl__sigpipe_guard guard;
    int guarded = us->sigpipe_risk;
    if (guarded)
        evl__sigpipe_block(&guard);
    us->sigpipe_risk = 0;
    int rc;
    if (timeout_ns == 0) {
        rc = us->defer_taskrun ? io_uring_submit_and_get_events(&us->ring)
                               : io_uring_submit(&us->ring);
    } else if (us->ring.features & IORING_FEAT_EXT_ARG) {
        rc = submit_and_wait(us, timeout_ns);
    } else {
        /* A signal that lands while the kernel waits after submitting
         * makes io_uring_enter return the count it submitted, not EINTR,
         * and liburing then enters again to wait: a %SIG handler (or any
         * interrupt_cb) would not run until some completion came.  So
         * pending SQEs go out first, and the wait, if still needed, is an
         * enter with nothing to submit, which a signal ends with EINTR.
         * The extra syscall is paid only when the loop is about to sleep
         * (kernels before 5.11; see submit_and_wait for the others). */
        rc = 0;
        if (io_uring_sq_ready(&us->ring) > 0)
            rc = us->defer_taskrun ? io_uring_submit_and_get_events(&us->ring)
                                   : io_uring_submit(&us->ring);
        if (rc >= 0 && io_uring_cq_ready(&us->ring) == 0) {
            struct io_uring_cqe *cqe;
            struct __kernel_timespec ts, *tsp = NULL;
            if (timeout_ns > 0) {
                ts.tv_sec = timeout_ns / 1000000000;
                ts.tv_nsec = timeout_ns % 1000000000;
                tsp = &ts;
            }
            rc = io_uring_submit_and_wait_timeout(&us->ring, &cqe, 1, tsp, NULL);
        }
    }
    if (guarded)
        evl__sigpipe_unblock(&guard, 1);   /* outcomes are in CQEs not yet read */
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
        return rc;

    int n = reap(us);
    if (n == 0 && rc == -EINTR && !us->epoll_ready)
        return -EINTR;   /* the loop decides whether to wait on */
    if (us->epoll_ready) {
        us->epoll_ready = 0;
        n--;   /* the poll CQE itself is not an event */
        int e = evl__epoll_poll(loop, 0);
        if (e > 0)
            n += e;
    }
    return n;
}

/* The epoll fd was replaced: the poll armed on the old set would never
 * report the new one.  Its cancellation comes back as a UD_EPOLL CQE,
 * which only causes one extra epoll_wait(0). */
static void uring_epoll_reset(evl_loop *loop)
{
    struct uring_state *us = state_of(loop);
    if (!us->epoll_armed)
        return;
    struct io_uring_sqe *sqe = get_sqe(us);
    if (sqe == NULL)
        return;
    io_uring_prep_cancel64(sqe, UD_EPOLL, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
    us->inflight++;
    us->epoll_armed = 0;
}

static void uring_teardown(evl_loop *loop)
{
    struct uring_state *us = state_of(loop);
    if (us == NULL || !us->ring_ok || loop->fork_gen != evl__forks)
        return;   /* not ours to drive (forked child): just let free unmap */
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
    if (us != NULL && loop->fork_gen != evl__forks)
        ring_forget(us);   /* a forked child's copy, never rebuilt */
    if (us != NULL && us->ring_ok)
        io_uring_queue_exit(&us->ring);   /* unregisters the buffer ring too */
    if (us != NULL) {
        bufring_free_mem(us->bufs);
        bufring_free_mem(us->retired);
    }
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
    .fork = uring_fork,
    .epoll_reset = uring_epoll_reset,
    .buf_recycle = uring_buf_recycle,
};
