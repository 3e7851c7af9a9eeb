/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream-proactor.c - evl_stream's completion engine (EVL_PROACTOR loops).
 *
 * Same API, callbacks and bytes as the reactor engine in stream.c; only
 * the I/O differs.  By kind of fd (fstat at init):
 *   sockets        reads: one evl_op_recv into rbuf's free space;
 *                  writes: one evl_op_send (MSG_NOSIGNAL) of the queue.
 *   regular files  reads: read-ahead, below; writes: evl_op_write at -1.
 *   block devices  reads: evl_op_read at -1 into rbuf; writes: evl_op_write.
 *   pipes, FIFOs,  reads: evl_op_read at -1 into rbuf; writes: the
 *   ttys, chars    reactor's guarded write() (stream.c), see SIGPIPE.
 *
 * Buffer ownership.  A buffer handed to an op is the kernel's until the
 * op's callback runs, and nothing may move or free it meanwhile.
 *  - rbuf: the read targets [rd_off, rd_off + len) of rbuf's memory, and
 *    rbuf.cap is lowered to rd_off until the completion, so that room
 *    reported by evl_buf_space never overlaps the kernel's slice.  Callers
 *    consume while the read is in flight, and evl_buf_consume resets
 *    head = tail = 0 when the buffer empties; the completion therefore
 *    does not assume tail == rd_off but puts the new bytes back after
 *    whatever rbuf holds (in place if nothing was added, no copy; one
 *    memmove if something was).  Growing rbuf would free the memory under
 *    the kernel; evloop.h forbids it, and the completion reports -EFAULT
 *    rather than read the old memory if the base moved anyway.
 *  - wbuf: while a write is in flight the kernel reads wbuf's first
 *    bytes, so new writes go to px->wnext instead (evl_buf_append may
 *    realloc).  When wbuf empties, the two buffers swap: no copy.
 *  - file chunks: each chunk has its own buffer, copied into rbuf in file
 *    order, which is the one copy read-ahead costs.
 *
 * The graveyard.  evl_stream_free is synchronous, but the kernel lets go
 * of an op only when the loop reaps its completion, maybe iterations
 * later.  So everything an op touches lives in struct evl__stream_px, a
 * heap object of its own, never in the caller's evl_stream: the ops, the
 * chunks, and, after a free, rbuf's and wbuf's memory if a read or write
 * is still using it (dead_rbuf, dead_wbuf).  Free cancels what is in
 * flight, sets px->s = NULL and walks away; every completion enters
 * through op_settled, which sees the NULL and frees the graveyard with
 * the last one.  The fd is not the graveyard's, except when a close was
 * already waiting (close_wait): that close is carried out.  If the loop
 * is freed before those completions run, evl_loop_free marks the ops idle
 * without calling back and the graveyard leaks (see evloop.h); nothing in
 * this file can hear about it.
 *
 * Closing.  io_uring looks an SQE's fd up when the ring is entered, which
 * for an op queued during this iteration's callbacks is after we return;
 * close() before that would hand our read or write to whatever reuses
 * the fd number.  So the fd is closed only once no op of ours is in
 * flight: close cancels the reads and, if it must wait, the last
 * completion closes and calls on_close (settle_close).
 *
 * SIGPIPE.  An io_uring write to a pipe whose reader is gone fails with
 * EPIPE and the kernel sends SIGPIPE to the task that ran the write: our
 * thread, inside io_uring_enter, possibly iterations after the submit
 * when the write had to wait for room (verified on Linux 6.18: the
 * default disposition kills the process; blocked, the signal stays
 * pending).  Keeping SIGPIPE blocked from submit to completion would
 * change the thread's mask for as long as a reader stalls, and MSG_NOSIGNAL
 * exists only for sockets.  So pipe-like fds write exactly as on the
 * reactor: write() under stream.c's SIGPIPE guard, the loop's fd watcher
 * for EAGAIN.  Their reads (which never signal) are completions.
 *
 * Read-ahead (regular files).  Chunks of read_size bytes at consecutive
 * offsets, up to s->readahead of them in flight or done, wait in a list
 * in file order; the head is copied into rbuf when it is done, and the
 * list is topped up.  The offset starts at the fd's file position and the
 * position is moved past every byte that reaches rbuf, so the fd looks as
 * if read() had been used; a position that moved under us (a seek by the
 * caller) makes every chunk stale and reading resumes there.  A short
 * chunk makes the ones after it stale too (they were asked for at offsets
 * past it), and only a zero-byte read at exactly the next offset is EOF,
 * as with read().  A stale chunk in flight keeps its buffer until its
 * completion, which drops the result.
 *
 * Warm files.  A chunk read through the ring costs a submission, a
 * completion, a loop iteration and an lseek to move the position, for
 * bytes the page cache could hand over at once.  So before any chunk is
 * asked for, a file stream tries preadv2(RWF_NOWAIT) at the file
 * position (offset -1: the kernel moves the position, exactly as read()
 * does) straight into rbuf; only -EAGAIN (a page-cache miss) sends the
 * read to the ring, as read-ahead chunks, which then keep the cold file
 * streaming ahead of the consumer until the chunk list runs empty.  A
 * loop-driven stream reads at most INLINE_BUDGET chunks inline per
 * delivery round, then goes on at the next iteration (kop, a timeout op,
 * which is the loop's and not the ring's), so a big cached file cannot
 * keep one iteration (and every other fd) waiting.
 * A kernel or file system that refuses the flag gets chunks only.
 *
 * Multishot receive.  One submission serves every chunk the peer sends
 * until the stream stops reading: no SQE per read and no poll armed and
 * disarmed per read inside the kernel.  Each chunk lands in a buffer of
 * the loop's provided-buffer ring and is copied into rbuf (for lines and
 * small messages that copy is cheaper than the per-read submission it
 * replaces); the buffer goes back to the ring when mop_done returns.
 * rbuf itself is never the kernel's, so nothing is pinned.  Pausing,
 * closing or an error cancels the op; chunks the kernel produced before
 * the cancellation still arrive and are kept (in rbuf, for read_start).
 * A dry ring (-ENOBUFS) just re-arms.  During a delivery a callback may
 * hold a frame pointing into rbuf, and a nested loop run could call
 * mop_done: then the chunk goes to px->stash, which the delivery moves
 * into rbuf when its callbacks return (evl__stream_px_unstash).
 *
 * EAGAIN.  Kernels that honour O_NONBLOCK in io_uring (see
 * https://github.com/axboe/liburing/issues/364) may complete a read or
 * send with -EAGAIN instead of waiting.  Pollable fds then wait for the
 * loop's fd watcher (rd_poll, wr_poll) before asking again; files, which
 * epoll refuses, ask again at once.
 *
 * Sections: ops and the graveyard, reads into rbuf, read-ahead, writes,
 * entry points for stream.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stream-internal.h"

/* Inline (page-cache) reads per delivery round of a loop-driven file
 * stream: 16 x 64 KiB = 1 MiB before the loop gets its turn. */
#define INLINE_BUDGET 16u

#define CHUNK_INFLIGHT 1            /* the read is the kernel's */
#define CHUNK_READY 2               /* done; res holds the result */
#define CHUNK_STALE 3               /* in flight, result to be dropped */

/* One op never asks for more: io_uring's read/write length is 32 bits,
 * and the kernel stops at MAX_RW_COUNT (2 GiB - 4 KiB) anyway. */
#define OP_LEN_MAX ((size_t)1 << 30)

struct evl__stream_chunk {
    evl_op op;                      /* op.data points back here */
    struct evl__stream_px *px;
    struct evl__stream_chunk *next;
    char *buf;
    size_t cap;                     /* buf's size */
    int64_t off;                    /* file offset of buf[0] */
    size_t len;                     /* bytes asked for */
    size_t pos;                     /* bytes already moved into rbuf */
    int64_t res;                    /* the read's result, once READY */
    int state;                      /* CHUNK_* */
};

/* ------------------------------------------------------------ ops and the graveyard */

/* IDLE means the op's callback has run (or the loop was freed, which
 * leaves every op idle); anything else is the loop's or the kernel's. */
static inline int op_busy(const evl_op *op)
{
    return op->state != EVL_OP_IDLE;
}

static void cancel(evl_op *op)
{
    /* A settled op's callback is queued already; -EBUSY (ring full) only
     * means the op finishes on its own. */
    if (op->state == EVL_OP_PENDING)
        (void)evl_op_cancel(op);
}

static void chunks_free(struct evl__stream_chunk *c)
{
    while (c != NULL) {
        struct evl__stream_chunk *next = c->next;
        free(c->buf);
        free(c);
        c = next;
    }
}

static void px_destroy(struct evl__stream_px *px)
{
    if (px->close_wait && !px->noclose && px->fd >= 0)
        close(px->fd);
    free(px->dead_rbuf);
    free(px->dead_wbuf);
    free(px->cin);
    evl_buf_free(&px->wnext);
    evl_buf_free(&px->stash);
    chunks_free(px->ra_head);
    chunks_free(px->stale);
    chunks_free(px->idle);
    free(px);
}

/* Every completion enters here.  Returns the stream, or NULL when it was
 * freed: the op was the graveyard's, and the last one frees it. */
static evl_stream *op_settled(struct evl__stream_px *px)
{
    assert(px->inflight > 0);
    px->inflight--;
    if (px->s != NULL)
        return px->s;
    if (px->inflight == 0)
        px_destroy(px);
    return NULL;
}

/* After a completion: a close that waited for the kernel ends with the
 * last one.  Returns 0 if on_close freed s. */
static int settle_close(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    if (!px->close_wait || px->inflight > 0)
        return 1;
    px->close_wait = 0;
    evl__stream_close_fd(s);
    return evl__stream_call(s, s->cb.on_close);
}

static void cancel_reads(struct evl__stream_px *px)
{
    cancel(&px->kop);
    cancel(&px->rop);
    cancel(&px->mop);
    for (struct evl__stream_chunk *c = px->ra_head; c != NULL; c = c->next)
        cancel(&c->op);
    for (struct evl__stream_chunk *c = px->stale; c != NULL; c = c->next)
        cancel(&c->op);
}

/* ------------------------------------------------------------ reads into rbuf */

static void rop_done(evl_op *op);
static void mop_done(evl_op *op);

/* TLS: the ciphertext goes to px->cin, which only grows (to read_size
 * at most) and lives as long as the graveyard. */
static int rop_submit_tls(evl_stream *s, size_t want)
{
    struct evl__stream_px *px = s->px;
    if (px->cin_cap < want) {
        char *p = realloc(px->cin, want);
        if (p == NULL)
            return -ENOMEM;
        px->cin = p;
        px->cin_cap = want;
    }
    int rc = (px->kind & EVL__PX_SOCKET)
                 ? evl_op_recv(px->loop, &px->rop, s->fd, px->cin, want, 0, rop_done)
                 : evl_op_read(px->loop, &px->rop, s->fd, px->cin, want, -1, rop_done);
    if (rc < 0)
        return rc;
    px->inflight++;
    px->rd_tls = 1;
    px->rd_len = want;
    return 0;
}

/* Puts one read in flight into rbuf's free space, if reading is wanted
 * and none is.  Returns 0 or a negative errno (not reported). */
static int rop_submit(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    /* Inside a delivery, the frame a callback holds points into rbuf and
     * a reserve could move it; the delivery's caller submits afterwards. */
    if (op_busy(&px->rop) || op_busy(&px->mop) || px->rd_poll || !want_input(s) ||
        (s->state & EVL__STREAM_DELIVERING))
        return 0;
    evl_buf *b = &s->rbuf;
    /* An idle socket waits with a small buffer, not read_size (see
     * evl__stream_read_want). */
    evl__stream_rbuf_trim(s);
    size_t want = evl__stream_read_want(s, 1);
    if (want == 0)
        return -EMSGSIZE;
    if (want > OP_LEN_MAX)
        want = OP_LEN_MAX;
    if (s->tls != NULL)
        return rop_submit_tls(s, want);
    if ((px->kind & EVL__PX_SOCKET) && !px->ms_off) {
        int rc = evl_op_recv_multi(px->loop, &px->mop, s->fd, mop_done);
        if (rc == 0) {
            px->inflight++;
            px->n_mop_submits++;
            return 0;
        }
        if (rc != -EOPNOTSUPP)
            return rc;
        px->ms_off = 1;   /* for good: one-shot reads below */
    }
    char *p = evl__stream_rbuf_reserve(s, want);
    if (p == NULL)
        return -ENOMEM;
    int rc = (px->kind & EVL__PX_SOCKET)
                 ? evl_op_recv(px->loop, &px->rop, s->fd, p, want, 0, rop_done)
                 : evl_op_read(px->loop, &px->rop, s->fd, p, want, -1, rop_done);
    if (rc < 0)
        return rc;
    px->inflight++;
    px->rd_base = b->base;
    px->rd_off = b->tail;
    px->rd_cap = b->cap;
    px->rd_len = want;
    b->cap = b->tail;   /* hide the kernel's slice */
    return 0;
}

/* Gives rbuf back its layout and the read's n bytes. */
static int rbuf_settle(evl_stream *s, int64_t n)
{
    struct evl__stream_px *px = s->px;
    evl_buf *b = &s->rbuf;
    if (b->base != px->rd_base)
        return -EFAULT;
    b->cap = px->rd_cap;
    if (n <= 0)
        return 0;
    if (b->tail == px->rd_off) {
        b->tail += (size_t)n;
    } else if (b->head == b->tail) {
        /* Emptied (and reset to 0) meanwhile: the bytes stay where they are. */
        b->head = px->rd_off;
        b->tail = px->rd_off + (size_t)n;
    } else {
        /* Something was added below the slice meanwhile: join them. */
        memmove(b->base + b->tail, b->base + px->rd_off, (size_t)n);
        b->tail += (size_t)n;
    }
    return 0;
}

/* What a read's result means for s: bytes or EOF are delivered, an
 * error fails it, "nothing" (cancelled, EAGAIN, EINTR) waits for the
 * caller to ask again.  Returns 0 if s was freed. */
static int read_outcome(evl_stream *s, int64_t res)
{
    struct evl__stream_px *px = s->px;
    if (res == -EAGAIN && (px->kind & EVL__PX_POLLABLE) && want_input(s)) {
        px->rd_poll = 1;   /* see EAGAIN above */
        int rc = evl__stream_update_interest(s);
        if (rc < 0 && !evl__stream_fail(s, rc))
            return 0;
    } else if (res == -ECANCELED || res == -EAGAIN || res == -EINTR) {
        /* Nothing read: read_stop or close cancelled it (a cancel never
         * loses bytes: a read that had completed reports its count), or
         * an fd epoll cannot watch said EAGAIN: ask again. */
    } else if (res < 0) {
        if (!evl__stream_fail(s, (int)res))
            return 0;
    } else {
        if (res == 0)
            s->state |= EVL__STREAM_EOF;
        else
            evl__stream_note_rx(s);
        if (!evl__stream_deliver(s, res > 0))
            return 0;
    }
    return 1;
}

static void rop_done(evl_op *op)
{
    struct evl__stream_px *px = op->data;
    evl_stream *s = op_settled(px);
    if (s == NULL)
        return;
    int64_t res = op->res;
    int rc = 0;
    if (px->rd_tls) {
        px->rd_tls = 0;
        evl__stream_read_done(s, px->rd_len, (ssize_t)res);
        res = evl__tls_input(s, px->cin, (ssize_t)res);
    } else {
        rc = rbuf_settle(s, res);
        if (rc < 0)
            res = rc;
        evl__stream_read_done(s, px->rd_len, (ssize_t)res);
        if (s->tls != NULL && res > 0) {
            /* TLS started while this read was in flight: its bytes are
             * the first ciphertext.  They leave rbuf for TLS, which
             * copies them before it decrypts into the same place. */
            s->rbuf.tail -= (size_t)res;
            res = evl__tls_input(s, s->rbuf.base + s->rbuf.tail, (ssize_t)res);
        } else if (s->tls != NULL && res == -ECANCELED) {
            /* tls.c cancelled it to decrypt into rbuf (see tls_kick). */
            res = evl__tls_input(s, NULL, (ssize_t)res);
        }
    }
    if (!read_outcome(s, res))
        return;
    if (!settle_close(s))
        return;
    rc = rop_submit(s);
    if (rc < 0)
        evl__stream_fail(s, rc);
}

/* Room rbuf has below rmax (SIZE_MAX: no limit). */
static size_t rbuf_room(const evl_stream *s)
{
    if (s->rmax == 0)
        return SIZE_MAX;
    size_t len = evl_buf_len(&s->rbuf);
    return len < s->rmax ? s->rmax - len : 0;
}

/* A multishot chunk's n bytes: into rbuf, as far as rmax lets them and
 * no delivery holds rbuf; the rest waits in the stash, behind what is
 * there already.  Nothing is dropped: what rmax keeps out only fails the
 * stream (EMSGSIZE) if the callbacks never make room, as on the reactor,
 * which would leave it in the socket. */
static int chunk_in(evl_stream *s, const char *p, size_t n)
{
    struct evl__stream_px *px = s->px;
    size_t take = n;
    if ((s->state & EVL__STREAM_DELIVERING) || evl_buf_len(&px->stash) > 0)
        take = 0;
    else if (take > rbuf_room(s))
        take = rbuf_room(s);
    if (take > 0) {
        /* An empty rbuf gets a small exact buffer for a small chunk, kept
         * while the stream idles (as one-shot reads keep theirs). */
        char *dst = evl__buf_reserve_exact(&s->rbuf, take < EVL__STREAM_READ_SMALL
                                                         ? EVL__STREAM_READ_SMALL
                                                         : take);
        if (dst == NULL)
            return -ENOMEM;
        memcpy(dst, p, take);
        evl_buf_commit(&s->rbuf, take);
    }
    if (take < n && evl_buf_append(&px->stash, p + take, n - take) < 0)
        return -ENOMEM;
    return 0;
}

/* A multishot chunk, or the op's end. */
static void mop_done(evl_op *op)
{
    struct evl__stream_px *px = op->data;
    int more = evl_op_more(op);
    /* Until its last result the op is still in flight: only that one
     * counts as a settlement (and may free the graveyard). */
    evl_stream *s = more ? px->s : op_settled(px);
    if (s == NULL)
        return;   /* freed: the chunk is dropped with the stream */
    int64_t res = op->res;
    if (res > 0) {
        px->n_mop_chunks++;
        if (s->tls != NULL) {
            /* TLS started while the op was armed: this is ciphertext, and
             * reading goes on through rop (px->cin) from now on. */
            cancel(op);
            px->ms_off = 1;
            res = evl__tls_input(s, op->buf, (ssize_t)res);
        } else {
            int rc = chunk_in(s, op->buf, (size_t)res);
            if (rc < 0)
                res = rc;
            else if (s->state & EVL__STREAM_DELIVERING)
                return;   /* the running delivery takes it from the stash */
        }
    } else if (!more && (res == -EINVAL || res == -EOPNOTSUPP)) {
        /* A kernel with buffer rings but without multishot receive
         * (5.19): read one-shot from now on, which reports any real
         * EINVAL itself. */
        px->ms_off = 1;
        res = -EINTR;
    } else if (res == -ENOBUFS) {
        res = -EINTR;   /* the ring ran dry: every buffer is back now, re-arm */
    }
    if (!read_outcome(s, res))
        return;
    evl__stream_rbuf_trim(s);
    if (more) {
        if (!want_read(s))
            cancel(op);   /* paused, closing or failed */
        return;
    }
    if (!settle_close(s))
        return;
    int rc = rop_submit(s);
    if (rc < 0)
        evl__stream_fail(s, rc);
}

int evl__stream_px_unstash(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    size_t have = evl_buf_len(&px->stash);
    size_t n = have < rbuf_room(s) ? have : rbuf_room(s);
    if (n == 0)
        return 0;
    if (n == have) {
        int rc = evl__buf_move(&s->rbuf, &px->stash);   /* no copy into an empty rbuf */
        return rc < 0 ? rc : 1;
    }
    if (evl_buf_append(&s->rbuf, px->stash.base + px->stash.head, n) < 0)
        return -ENOMEM;
    evl_buf_consume(&px->stash, n);
    return 1;
}

/* ------------------------------------------------------------ read-ahead */

static void chunk_done(evl_op *op);

static struct evl__stream_chunk *chunk_get(struct evl__stream_px *px, size_t len)
{
    struct evl__stream_chunk *c = px->idle;
    if (c != NULL) {
        px->idle = c->next;
    } else {
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return NULL;
        c->px = px;
        c->op.data = c;
    }
    c->next = NULL;
    if (c->cap < len) {
        /* read_size grew; the old contents are worthless. */
        free(c->buf);
        c->cap = 0;
        c->buf = NULL;
        /* Cache-line aligned: on some CPUs (measured here, an AMD EPYC
         * VM) a copy into a buffer 8..32 bytes off the source's cache-line
         * offset, as malloc's are, runs at a twentieth of the speed, and
         * the kernel's copy into the chunk is such a copy. */
        if (posix_memalign((void **)&c->buf, 64, len) != 0)
            c->buf = NULL;
        if (c->buf == NULL) {
            c->next = px->idle;
            px->idle = c;
            return NULL;
        }
        c->cap = len;
    }
    return c;
}

static void chunk_put(struct evl__stream_px *px, struct evl__stream_chunk *c)
{
    c->state = 0;
    c->next = px->idle;
    px->idle = c;
}

static struct evl__stream_chunk *ra_pop(struct evl__stream_px *px)
{
    struct evl__stream_chunk *c = px->ra_head;
    px->ra_head = c->next;
    if (px->ra_head == NULL)
        px->ra_tail = NULL;
    px->ra_count--;
    c->next = NULL;
    return c;
}

/* Forgets every chunk (those in flight become stale) and makes off the
 * offset of the next one. */
static void ra_reset(struct evl__stream_px *px, int64_t off)
{
    struct evl__stream_chunk *c = px->ra_head;
    while (c != NULL) {
        struct evl__stream_chunk *next = c->next;
        if (c->state == CHUNK_READY) {
            chunk_put(px, c);
        } else {
            c->state = CHUNK_STALE;
            c->next = px->stale;
            px->stale = c;
        }
        c = next;
    }
    px->ra_head = px->ra_tail = NULL;
    px->ra_count = 0;
    px->ra_next = off;
    px->ra_short = 0;
}

/* Keeps readahead chunks asked for.  force: also while reading is not
 * started (evl_stream_fill).  Returns 0 or a negative errno (not
 * reported). */
static int top_up(evl_stream *s, int force)
{
    struct evl__stream_px *px = s->px;
    if (!(px->kind & EVL__PX_FILE) || s->err != 0 ||
        (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)))
        return 0;
    /* A kick is on its way (the start, or a pump that used its inline
     * budget): it pumps, then tops up. */
    if (!force && (!want_read(s) || op_busy(&px->kop)))
        return 0;
    if (!px->ra_started) {
        off_t pos = lseek(s->fd, 0, SEEK_CUR);
        px->ra_next = pos > 0 ? (int64_t)pos : 0;
        px->ra_started = 1;
    }
    size_t len = s->read_size < OP_LEN_MAX ? s->read_size : OP_LEN_MAX;
    while (px->ra_count < s->readahead && !px->ra_short) {
        struct evl__stream_chunk *c = chunk_get(px, len);
        if (c == NULL)
            return -ENOMEM;
        c->off = px->ra_next;
        c->len = len;
        c->pos = 0;
        c->res = 0;
        int rc = evl_op_read(px->loop, &c->op, s->fd, c->buf, len, c->off, chunk_done);
        if (rc < 0) {
            chunk_put(px, c);
            return rc;
        }
        px->n_chunk_ops++;
        c->state = CHUNK_INFLIGHT;
        px->inflight++;
        if (px->ra_tail != NULL)
            px->ra_tail->next = c;
        else
            px->ra_head = c;
        px->ra_tail = c;
        px->ra_count++;
        px->ra_next += (int64_t)len;
    }
    return 0;
}

/* Moves the head chunk's bytes (as many as rmax allows) into rbuf.
 * Returns the count, 0 at EOF (state set), -EAGAIN if the head is not
 * there yet or the chunks were dropped for a moved file position,
 * -EMSGSIZE (rbuf at rmax), -ENOMEM, or the chunk's read error. */
static ssize_t take_chunk(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    struct evl__stream_chunk *c = px->ra_head;
    if (c == NULL || c->state != CHUNK_READY)
        return -EAGAIN;
    if (c->res < 0)
        return (ssize_t)c->res;
    size_t avail = (size_t)c->res - c->pos;
    off_t want = (off_t)(c->off + (int64_t)c->pos);
    if (avail == 0) {
        /* Zero bytes at the position read() would use is EOF; if the
         * position is elsewhere, the caller moved it. */
        off_t cur = lseek(s->fd, 0, SEEK_CUR);
        if (cur >= 0 && cur != want) {
            ra_reset(px, cur);
            return -EAGAIN;
        }
        chunk_put(px, ra_pop(px));
        ra_reset(px, want);   /* a later fill asks again here, as read() would */
        s->state |= EVL__STREAM_EOF;
        return 0;
    }
    size_t len = evl_buf_len(&s->rbuf), k = avail;
    if (s->rmax != 0) {
        if (len >= s->rmax)
            return -EMSGSIZE;
        if (k > s->rmax - len)
            k = s->rmax - len;
    }
    /* One lseek both moves the position past the bytes and tells whether
     * it still was where we left it. */
    off_t now = lseek(s->fd, (off_t)k, SEEK_CUR);
    if (now >= 0 && now - (off_t)k != want) {
        (void)lseek(s->fd, now - (off_t)k, SEEK_SET);
        ra_reset(px, now - (off_t)k);
        return -EAGAIN;
    }
    if (len == 0 && c->pos == 0 && k == avail) {
        /* The whole chunk into an empty buffer: swap the memory instead of
         * copying it.  The chunk keeps rbuf's old memory for its next read
         * if it is big enough and aligned, else gets fresh memory then. */
        size_t old_cap;
        char *old = evl__buf_steal(&s->rbuf, &old_cap);
        evl__buf_adopt(&s->rbuf, c->buf, c->cap, k);
        if (old != NULL && old_cap >= c->cap && ((uintptr_t)old & 63) == 0) {
            c->buf = old;
        } else {
            free(old);
            c->buf = NULL;
            c->cap = 0;
        }
    } else if (evl_buf_append(&s->rbuf, c->buf + c->pos, k) < 0) {
        if (now >= 0)
            (void)lseek(s->fd, want, SEEK_SET);
        return -ENOMEM;
    }
    c->pos += k;
    if (c->pos == (size_t)c->res) {
        int64_t end = c->off + c->res;
        int is_short = (size_t)c->res < c->len;
        chunk_put(px, ra_pop(px));
        /* The chunks behind a short one start past where the next byte
         * is: ask again at the exact offset (and a zero there is EOF). */
        if (is_short)
            ra_reset(px, end);
    }
    return (ssize_t)k;
}

/* See "Warm files" above: one read at the file position, without
 * waiting, into rbuf.  Only when no chunk is ahead (their bytes come
 * first) and no write is in flight (it moves the position when the
 * kernel gets to it).  Returns the count, 0 at EOF (state set), -EAGAIN
 * (not cached, refused, or not now: use chunks), -EMSGSIZE (rbuf at
 * rmax), -ENOMEM or the read's error. */
static ssize_t read_inline(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    if (px->nowait_off || px->ra_head != NULL || op_busy(&px->wop))
        return -EAGAIN;
    size_t want = evl__stream_read_want(s, 0);
    if (want == 0)
        return -EMSGSIZE;
    if (want > OP_LEN_MAX)
        want = OP_LEN_MAX;
    char *p = evl__buf_reserve_exact(&s->rbuf, want);
    if (p == NULL)
        return -ENOMEM;
    struct iovec iov = { .iov_base = p, .iov_len = want };
    ssize_t n = preadv2(s->fd, &iov, 1, -1, RWF_NOWAIT);
    if (n < 0) {
        int err = errno;
        if (err == EOPNOTSUPP || err == EINVAL || err == ENOSYS) {
            px->nowait_off = 1;   /* no RWF_NOWAIT here: never ask again */
            return -EAGAIN;
        }
        if (err == EAGAIN || err == EINTR)
            return -EAGAIN;
        return -err;
    }
    px->n_inline++;
    /* The position moved without us: chunks, when they come, start from
     * wherever it is then. */
    px->ra_started = 0;
    evl__stream_read_done(s, want, n);
    if (n == 0) {
        s->state |= EVL__STREAM_EOF;
        return 0;
    }
    evl_buf_commit(&s->rbuf, (size_t)n);
    return n;
}

/* Loop-driven reading: hands done chunks (or inline reads, within the
 * budget) to the callbacks in file order while reading is wanted.
 * Returns 0 if s was freed. */
static int pump_file(evl_stream *s)
{
    if (s->state & EVL__STREAM_DELIVERING)
        return 1;   /* called from a callback: the outer pump continues */
    unsigned budget = INLINE_BUDGET;
    while (want_read(s)) {
        ssize_t n = take_chunk(s);
        if (n == -EAGAIN) {
            if (budget == 0) {
                /* The loop's turn; the next iteration's kick goes on
                 * (reading inline again), and top_up leaves the ring
                 * alone until then.  If the kick cannot be had, chunks. */
                if (s->px->ra_head == NULL && !s->px->nowait_off && !op_busy(&s->px->kop))
                    (void)evl__stream_px_start(s);
                break;
            }
            budget--;
            n = read_inline(s);
            if (n == -EAGAIN)
                break;   /* top_up asks the ring */
        }
        if (n < 0)
            return evl__stream_fail(s, (int)n);
        if (!evl__stream_deliver(s, n > 0))
            return 0;
        if (n == 0)
            break;
    }
    return 1;
}

static void stale_unlink(struct evl__stream_px *px, struct evl__stream_chunk *c)
{
    struct evl__stream_chunk **pp = &px->stale;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    c->next = NULL;
}

static void chunk_done(evl_op *op)
{
    struct evl__stream_chunk *c = op->data;
    struct evl__stream_px *px = c->px;
    evl_stream *s = op_settled(px);
    if (s == NULL)
        return;
    if (c->state == CHUNK_STALE) {
        stale_unlink(px, c);
        chunk_put(px, c);
    } else if ((op->res == -EAGAIN || op->res == -EINTR) &&
               (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)) == 0) {
        /* See EAGAIN above: the attempt started the I/O; ask again. */
        int rc = evl_op_read(px->loop, &c->op, s->fd, c->buf, c->len, c->off, chunk_done);
        if (rc == 0) {
            px->inflight++;
            return;
        }
        c->res = rc;
        c->state = CHUNK_READY;
    } else {
        c->res = op->res;
        c->state = CHUNK_READY;
        if (c->res >= 0 && (size_t)c->res < c->len)
            px->ra_short = 1;   /* nothing past it until it is taken */
    }
    if (!settle_close(s) || !pump_file(s))
        return;
    int rc = top_up(s, 0);
    if (rc < 0)
        evl__stream_fail(s, rc);
}

/* evl_stream_fill on a file: the next chunk, waiting for it by running
 * the loop, with the following ones asked for before returning. */
static ssize_t fill_file(evl_stream *s)
{
    if (s->state & EVL__STREAM_READING)
        return -EBUSY;
    if (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED))
        return -ESHUTDOWN;
    ssize_t n = read_inline(s);
    if (n != -EAGAIN) {
        if (n < 0 && n != -EMSGSIZE && n != -ENOMEM)
            evl__stream_fail(s, (int)n);
        return n;
    }
    struct evl__guard g;
    guard_enter(s, &g);
    int hard = 0;   /* the chunk's own read failed: a stream error */
    for (;;) {
        n = take_chunk(s);
        if (n != -EAGAIN) {
            hard = n < 0 && n != -EMSGSIZE && n != -ENOMEM;
            break;
        }
        int rc = top_up(s, 1);
        if (rc < 0) {
            n = rc;
            break;
        }
        rc = evl_loop_run_once(s->px->loop, -1);
        if (!g.alive) {
            guard_leave(s, &g);
            return -ECANCELED;   /* a callback freed the stream */
        }
        if (rc < 0) {
            n = rc;
            break;
        }
        if (s->err != 0) {
            n = s->err;
            break;
        }
        if (s->state & EVL__STREAM_READING) {
            n = -EBUSY;
            break;
        }
        if (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)) {
            n = -ESHUTDOWN;
            break;
        }
    }
    /* The next chunks travel while the caller consumes this one; a
     * failure to ask shows at the next fill.  Not after EOF: a chunk read
     * now could say EOF again after the file grew (or we wrote to it). */
    if (n > 0)
        (void)top_up(s, 1);
    guard_leave(s, &g);
    if (hard)
        evl__stream_fail(s, (int)n);
    return n;
}

/* ------------------------------------------------------------ writes */

static void wop_done(evl_op *op);

/* Puts one write of wbuf's head in flight, if there is something and
 * none is.  Returns 0 or a negative errno (not reported). */
static int wop_submit(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    if (op_busy(&px->wop) || px->wr_poll || !queue_flows(s) || (s->state & EVL__STREAM_CLOSED))
        return 0;
    if (evl_buf_len(&s->wbuf) == 0) {
        if (evl_buf_len(&px->wnext) == 0)
            return 0;
        evl__buf_swap(&s->wbuf, &px->wnext);
    }
    size_t len = evl_buf_len(&s->wbuf);
    if (len > OP_LEN_MAX)
        len = OP_LEN_MAX;
    const char *p = evl_buf_data(&s->wbuf);
    int rc = (px->kind & EVL__PX_SOCKET)
                 ? evl_op_send(px->loop, &px->wop, s->fd, p, len, 0, wop_done)
                 : evl_op_write(px->loop, &px->wop, s->fd, p, len, -1, wop_done);
    if (rc < 0)
        return rc;
    px->inflight++;
    px->n_wop_submits++;
    /* Chunks read ahead of the write (done, or still in flight) may hold
     * the bytes it replaces: drop them, and let the next fill start over
     * from the fd's position, as read() after write() would. */
    if (px->kind & EVL__PX_FILE) {
        ra_reset(px, 0);
        px->ra_started = 0;
    }
    return 0;
}

/* Releases queue memory a burst left behind (never the kernel's). */
static void trim_wbufs(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    if (evl_buf_len(&px->wnext) == 0 && px->wnext.cap > EVL__STREAM_BUF_KEEP)
        evl_buf_free(&px->wnext);
    if (!op_busy(&px->wop) && evl_buf_len(&s->wbuf) == 0 && s->wbuf.cap > EVL__STREAM_BUF_KEEP)
        evl_buf_free(&s->wbuf);
}

static void wop_done(evl_op *op)
{
    struct evl__stream_px *px = op->data;
    evl_stream *s = op_settled(px);
    if (s == NULL)
        return;
    int64_t res = op->res;
    if (res == -EAGAIN && (px->kind & EVL__PX_POLLABLE) && queue_flows(s)) {
        px->wr_poll = 1;   /* see EAGAIN above */
        int rc = evl__stream_update_interest(s);
        if (rc < 0 && !evl__stream_fail(s, rc))
            return;
        settle_close(s);
        return;
    }
    if (res == -EAGAIN || res == -EINTR)
        res = 0;
    if (res < 0 || !queue_flows(s)) {
        /* -EPIPE/-ECONNRESET from the peer, or -ECANCELED after a failure
         * elsewhere (reported already). */
        if (res < 0 && !evl__stream_fail(s, (int)res))
            return;
        settle_close(s);
        return;
    }
    size_t before = evl_stream_queued(s);
    if (res > 0)
        evl__stream_note_tx(s);
    evl_buf_consume(&s->wbuf, (size_t)res);
    int rc = wop_submit(s);
    trim_wbufs(s);
    if (rc < 0) {
        if (evl__stream_fail(s, rc))
            settle_close(s);
        return;
    }
    if (!evl__stream_written(s, before))
        return;
    settle_close(s);
}

/* ------------------------------------------------------------ entry points for stream.c */

int evl__stream_px_init(evl_stream *s, const struct stat *st)
{
    struct evl__stream_px *px = calloc(1, sizeof(*px));
    if (px == NULL)
        return -ENOMEM;
    px->s = s;
    px->loop = s->loop;
    px->fd = s->fd;
    px->noclose = (s->flags & EVL_STREAM_NOCLOSE) != 0;
    if (s->flags & EVL_STREAM_SOCKET)
        px->kind = EVL__PX_SOCKET | EVL__PX_OPWRITE | EVL__PX_POLLABLE;
    else if (S_ISREG(st->st_mode))
        px->kind = EVL__PX_FILE | EVL__PX_OPWRITE;
    else if (S_ISBLK(st->st_mode))
        px->kind = EVL__PX_OPWRITE;
    else
        px->kind = EVL__PX_POLLABLE;   /* pipe-like: writes can raise SIGPIPE */
    evl_buf_init(&px->wnext);
    px->kop.data = px;
    px->rop.data = px;
    px->mop.data = px;
    px->wop.data = px;
    evl_buf_init(&px->stash);
    s->px = px;
    return 0;
}

/* How many of px's ops are the loop's or the kernel's. */
static unsigned ops_busy(const struct evl__stream_px *px)
{
    unsigned busy = (unsigned)op_busy(&px->kop) + (unsigned)op_busy(&px->rop) +
                    (unsigned)op_busy(&px->mop) + (unsigned)op_busy(&px->wop);
    for (const struct evl__stream_chunk *c = px->ra_head; c != NULL; c = c->next)
        busy += (unsigned)op_busy(&c->op);
    for (const struct evl__stream_chunk *c = px->stale; c != NULL; c = c->next)
        busy += (unsigned)op_busy(&c->op);
    return busy;
}

void evl__stream_px_free(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    s->px = NULL;
    unsigned busy = ops_busy(px);
    if (busy == 0) {
        /* Nothing is the kernel's (the loop may even be gone: its
         * teardown reaped everything and left the ops idle).  rbuf and
         * wbuf are stream.c's to free. */
        px_destroy(px);
        return;
    }
    cancel_reads(px);
    cancel(&px->wop);
    px->s = NULL;
    px->inflight = busy;
    if (op_busy(&px->rop))
        px->dead_rbuf = evl__buf_steal(&s->rbuf, NULL);
    if (op_busy(&px->wop))
        px->dead_wbuf = evl__buf_steal(&s->wbuf, NULL);
}

int evl__stream_px_busy(const evl_stream *s)
{
    return ops_busy(s->px) > 0;
}

int evl__stream_px_detach(evl_stream *s)
{
    assert(ops_busy(s->px) == 0);
    /* wnext only holds bytes while wop is busy, or after a write said
     * EAGAIN (wr_poll): they follow wbuf's. */
    int rc = evl__buf_move(&s->wbuf, &s->px->wnext);
    if (rc < 0)
        return rc;
    evl__stream_px_free(s);   /* nothing in flight: freed at once */
    return 0;
}

int evl__stream_px_kick(evl_stream *s)
{
    if (s->px->kind & EVL__PX_FILE) {
        if (!pump_file(s))
            return 0;   /* freed: the caller's guard knows */
        return top_up(s, 0);
    }
    int rc = rop_submit(s);
    if (rc == 0 && s->px->rd_poll)
        rc = evl__stream_update_interest(s);
    return rc;
}

static void kop_done(evl_op *op)
{
    struct evl__stream_px *px = op->data;
    evl_stream *s = op_settled(px);
    if (s == NULL || !settle_close(s) || op->res < 0)
        return;
    struct evl__guard g;
    guard_enter(s, &g);
    int rc = evl__stream_px_kick(s);
    if (!guard_leave(s, &g))
        return;
    /* Bytes queued before evl_stream_set_loop brought s here go out now
     * (a write in flight already, or nothing queued: no-op). */
    if (rc == 0 && (s->px->kind & EVL__PX_OPWRITE))
        rc = wop_submit(s);
    if (rc < 0)
        evl__stream_fail(s, rc);
}

int evl__stream_px_start(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    /* A deadline in the past settles on the next run_once, never inline. */
    int rc = evl_op_timeout(px->loop, &px->kop, 0, kop_done);
    if (rc == 0)
        px->inflight++;
    return rc;
}

void evl__stream_px_read_stop(evl_stream *s)
{
    /* A socket read could wait forever; a file chunk completes soon and
     * is kept for read_start. */
    cancel(&s->px->rop);
    cancel(&s->px->mop);
}

void evl__stream_px_abort(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    px->rd_poll = 0;
    if (s->state & EVL__STREAM_INPUT_ERR) {
        /* The queue still drains: the write, and the start op that may
         * owe its first submission, stay. */
        cancel(&px->rop);
        cancel(&px->mop);
        for (struct evl__stream_chunk *c = px->ra_head; c != NULL; c = c->next)
            cancel(&c->op);
        return;
    }
    cancel_reads(px);
    cancel(&px->wop);
    px->wr_poll = 0;
}

int evl__stream_px_release(evl_stream *s)
{
    struct evl__stream_px *px = s->px;
    cancel_reads(px);
    if (!queue_flows(s))
        cancel(&px->wop);
    px->rd_poll = px->wr_poll = 0;
    if (px->inflight == 0)
        return 1;
    px->close_wait = 1;
    return 0;
}

int evl__stream_px_rbuf_pinned(const evl_stream *s)
{
    return op_busy(&s->px->rop) && !s->px->rd_tls;
}

int evl__stream_px_write_kick(evl_stream *s)
{
    return wop_submit(s);
}

int evl__stream_px_write_busy(const evl_stream *s)
{
    return op_busy(&s->px->wop);
}

int evl__stream_px_queue(evl_stream *s, const struct iovec *iov, int iovcnt, size_t total,
                         int was_empty)
{
    struct evl__stream_px *px = s->px;
    size_t queued = evl_stream_queued(s);
    if (s->wmax != 0 && (queued > s->wmax || total > s->wmax - queued))
        return -ENOBUFS;
    evl_buf *b = op_busy(&px->wop) ? &px->wnext : &s->wbuf;
    int rc = evl__stream_append_iov(b, iov, iovcnt, 0, total);
    if (rc < 0)
        return rc;
    /* Inside a delivery the send waits for its end (evl__stream_deliver),
     * so a batch of small writes is one op, not one for the first and one
     * for the rest. */
    if (!evl__stream_cork(s, total))
        rc = wop_submit(s);
    if (rc < 0) {
        evl__stream_fail(s, rc);
        return rc;
    }
    evl__stream_queue_grew(s, was_empty);
    return 0;
}

ssize_t evl__stream_px_flush(evl_stream *s)
{
    int rc = wop_submit(s);
    if (rc < 0) {
        evl__stream_fail(s, rc);
        return rc;
    }
    return (ssize_t)evl_stream_queued(s);
}

int evl__stream_px_flush_wait(evl_stream *s)
{
    struct evl__guard g;
    guard_enter(s, &g);
    int rc = 0;
    ssize_t left = evl__stream_px_flush(s);
    while (g.alive && left > 0 && queue_flows(s)) {
        rc = evl_loop_run_once(s->px->loop, -1);
        if (!g.alive || rc < 0)
            break;
        left = (ssize_t)evl_stream_queued(s);
    }
    if (!guard_leave(s, &g))
        return rc < 0 ? rc : -ECANCELED;
    if (rc < 0)
        return rc;
    return queue_flows(s) ? 0 : s->err;
}

ssize_t evl__stream_px_fill(evl_stream *s)
{
    if (s->px->kind & EVL__PX_FILE)
        return fill_file(s);
    /* Bytes of an in-flight read come first; a read of our own now could
     * overtake them. */
    if (op_busy(&s->px->rop))
        return -EAGAIN;
    ssize_t n = evl__stream_read_once(s, 0);
    if (n >= 0 || n == -EAGAIN || n == -EMSGSIZE || n == -ENOMEM)
        return n;
    evl__stream_fail(s, (int)n);
    return n;
}

void evl__stream_px_readable(evl_stream *s)
{
    s->px->rd_poll = 0;
    int rc = evl__stream_update_interest(s);
    if (rc == 0)
        rc = rop_submit(s);
    if (rc < 0)
        evl__stream_fail(s, rc);
}

void evl__stream_px_writable(evl_stream *s)
{
    s->px->wr_poll = 0;
    int rc = evl__stream_update_interest(s);
    if (rc == 0)
        rc = wop_submit(s);
    if (rc < 0)
        evl__stream_fail(s, rc);
}

void evl__stream_px_recv_stats(const evl_stream *s, uint64_t *chunks, uint64_t *arms)
{
    *chunks = s->px->n_mop_chunks;
    *arms = s->px->n_mop_submits;
}

uint64_t evl__stream_px_write_ops(const evl_stream *s)
{
    return s->px->n_wop_submits;
}

void evl__stream_px_file_stats(const evl_stream *s, uint64_t *inline_reads, uint64_t *chunk_ops)
{
    *inline_reads = s->px != NULL ? s->px->n_inline : 0;
    *chunk_ops = s->px != NULL ? s->px->n_chunk_ops : 0;
}

void evl__stream_px_set_nowait(evl_stream *s, int on)
{
    if (s->px != NULL)
        s->px->nowait_off = !on;
}
