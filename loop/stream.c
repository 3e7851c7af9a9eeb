/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream.c - evl_stream, the buffered stream over an fd: the API, what
 * both engines share, and the reactor engine.
 *
 * Reading: when the fd is readable, read() up to read_size bytes straight
 * into reserved space at the tail of rbuf, hand the buffered bytes to the
 * callbacks (raw on_read, or one on_message per frame), and repeat a
 * bounded number of times so one busy fd cannot starve the others.
 *
 * Writing: wbuf holds the queue.  A write on an empty queue goes to the
 * kernel directly (writev/sendmsg for several pieces), and only what the
 * kernel did not take is copied into wbuf; write interest is on exactly
 * while the queue is non-empty.
 *
 * Re-entrancy.  Every callback may stop reading, close, write, or free
 * the stream (and then its memory).  Code that calls back and then needs
 * the stream again brackets the call with guard_enter/guard_leave: the
 * guard lives on the caller's stack, s->alive points at the innermost
 * one, evl_stream_free clears it, and guard_leave passes the news to the
 * enclosing guard, so every frame learns that s is gone without reading
 * s.  Guards nest because callbacks nest: on_message may write, the write
 * may fail, and on_error may free the stream.
 *
 * Errors.  The first hard error is sticky (s->err): it stops the watcher
 * and is reported once through on_error, from whichever call found it
 * (the loop's dispatch, or evl_stream_write/fill/flush/close themselves).
 * An error in the input (framing, rmax) stops reading only: the queue
 * drains behind it (EVL__STREAM_INPUT_ERR, see evl__stream_fail).
 *
 * Resuming.  read_start has no timer to defer to (the struct has none),
 * so it delivers frames already buffered (and an EOF behind them) before
 * it returns.  When it is called from inside this stream's own delivery,
 * it only sets the flag and the delivery loop further up the stack
 * carries on, so frames never nest and never come out twice.
 *
 * Engines.  This file is the whole stream on a reactor loop or without
 * a loop.  On a proactor loop, stream-proactor.c does the I/O with
 * completions (s->px holds its state) and this file keeps what both
 * share: the state machine, delivery, errors, watermarks, closing.  The
 * public functions branch on s->px where the engines differ.
 *
 * Sections:
 *   guards      the dispatch guard behind s->alive (stream-internal.h)
 *   state       watcher interest, closing the fd, the sticky error
 *   syscalls    read, write/writev/send/sendmsg, the SIGPIPE guard
 *   delivery    frames and raw data to the callbacks, EOF, readiness
 *   writing     queue drain, watermarks, write-behind
 *   public API  evl_stream_* in the order of evloop.h
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "stream-internal.h"

#define READ_SIZE_DEFAULT EVL__STREAM_READ_SIZE_DEFAULT
#define BUF_KEEP EVL__STREAM_BUF_KEEP
/* Reads per readiness event: 16 x 64 KiB is 1 MiB before other fds get
 * their turn, about what libuv allows. */
#define READ_ROUNDS 16
/* close_fd's answer when a proactor has to wait for the kernel first. */
#define CLOSE_DEFERRED 1

#define FLAGS_VALID (EVL_STREAM_SOCKET | EVL_STREAM_NOCLOSE)

/* ------------------------------------------------------------ guards */

/* Calls cb (if set); returns 0 if the callback freed s. */
int evl__stream_call(evl_stream *s, evl_stream_cb cb)
{
    if (cb == NULL)
        return 1;
    struct evl__guard g;
    guard_enter(s, &g);
    cb(s);
    return guard_leave(s, &g);
}

/* ------------------------------------------------------------ state */

/* Whether writes go through the fd watcher: on a reactor, and on a
 * proactor for pipes and ttys (see stream-proactor.c on SIGPIPE). */
static inline int watcher_writes(const evl_stream *s)
{
    return s->px == NULL || !(s->px->kind & EVL__PX_OPWRITE);
}

/* Makes the watcher's interest match the stream.  With no interest at all
 * the watcher is stopped rather than left with empty flags: epoll reports
 * ERR and HUP regardless of interest, and nobody would consume them.  A
 * proactor reads (and writes sockets and files) through ops, and uses
 * the watcher only when an op said EAGAIN. */
int evl__stream_update_interest(evl_stream *s)
{
    if (s->loop == NULL)
        return 0;
    unsigned want = 0;
    if (want_input(s) && (s->px == NULL || s->px->rd_poll))
        want |= EVL_READ;
    if (queue_flows(s) && !(s->state & EVL__STREAM_CLOSED) && evl_buf_len(&s->wbuf) > 0 &&
        (watcher_writes(s) || s->px->wr_poll))
        want |= EVL_WRITE;
    if (want == 0) {
        evl_watcher_stop(&s->w);
        return 0;
    }
    if (!evl_watcher_is_active(&s->w))
        return evl_watcher_start(s->loop, &s->w, s->fd, want);
    if (s->w.flags == want)
        return 0;
    return evl_watcher_modify(&s->w, want);
}

/* Closes the fd (unless NOCLOSE) and drops the queue; on_close is the
 * caller's to call.  Returns close()'s error, if any. */
int evl__stream_close_fd(evl_stream *s)
{
    int rc = 0;
    evl_watcher_stop(&s->w);
    evl__stream_deadline_stop(s);
    if (s->tls != NULL)
        evl__tls_answer_close(s);
    if (s->fd >= 0 && !(s->flags & EVL_STREAM_NOCLOSE)) {
        /* Linux releases the descriptor even when close() fails, EINTR
         * included, so it is never retried. */
        if (close(s->fd) < 0 && errno != EINTR)
            rc = -errno;
    }
    s->fd = -1;
    s->state |= EVL__STREAM_CLOSED;
    evl_buf_free(&s->wbuf);
    if (s->px != NULL) {
        s->px->fd = -1;
        s->px->close_wait = 0;   /* whoever closed, the debt is paid */
        evl_buf_free(&s->px->wnext);
    }
    return rc;
}

/* As evl__stream_close_fd, unless a proactor's ops still name the fd:
 * then CLOSE_DEFERRED, and the last completion closes it and calls
 * on_close. */
static int close_fd(evl_stream *s)
{
    if (s->px != NULL && !evl__stream_px_release(s))
        return CLOSE_DEFERRED;
    return evl__stream_close_fd(s);
}

int evl__stream_finish_close(evl_stream *s)
{
    if (close_fd(s) == CLOSE_DEFERRED)
        return 1;
    return evl__stream_call(s, s->cb.on_close);
}

/* Stops a failed stream's I/O and calls on_error with err.  A stream
 * that was closing closes its fd before on_error, so that a callback
 * which frees the stream cannot leave the fd behind.  Returns 0 if s
 * was freed. */
static int stop_failed(evl_stream *s, int err)
{
    evl_watcher_stop(&s->w);
    evl__stream_deadline_stop(s);
    if (s->px != NULL)
        evl__stream_px_abort(s);
    int closing = (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)) == EVL__STREAM_CLOSING;
    /* A deferred close calls on_close from the last completion instead. */
    int closed = closing && close_fd(s) != CLOSE_DEFERRED;
    if (s->cb.on_error != NULL) {
        struct evl__guard g;
        guard_enter(s, &g);
        s->cb.on_error(s, err);
        if (!guard_leave(s, &g))
            return 0;
    }
    return closed ? evl__stream_call(s, s->cb.on_close) : 1;
}

/* Makes err sticky, stops reading, and reports it.  An error in the input
 * (-EMSGSIZE: a frame over max_len or rbuf at rmax; -EBADMSG: a malformed
 * frame) leaves the write side alone: what was queued before it still
 * drains (the replies to the frames before the bad one), and a close
 * after it is a close-after-drain, on every engine and whatever the read
 * split was.  Any other error stops everything and drops the queue; one
 * that comes while such a drain runs ends the drain and is reported too
 * (a second on_error, with the new error; evl_stream_error keeps the
 * first), since whoever waits for on_drain would otherwise wait forever.
 * Returns 0 if s was freed. */
int evl__stream_fail(evl_stream *s, int err)
{
    int input = err == -EMSGSIZE || err == -EBADMSG;
    if (s->err != 0) {
        /* Reported already: only the first error is news. */
        if (input || !(s->state & EVL__STREAM_INPUT_ERR))
            return 1;
        s->state &= ~EVL__STREAM_INPUT_ERR;
        return stop_failed(s, err);
    }
    s->err = err;
    if (input && !(s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED))) {
        s->state |= EVL__STREAM_INPUT_ERR;
        if (s->px != NULL)
            evl__stream_px_abort(s);   /* the reads only */
        if (evl__stream_update_interest(s) == 0) {
            struct evl__guard g;
            guard_enter(s, &g);
            if (s->cb.on_error != NULL)
                s->cb.on_error(s, err);
            return guard_leave(s, &g);
        }
        s->state &= ~EVL__STREAM_INPUT_ERR;   /* the queue cannot drain */
    }
    return stop_failed(s, err);
}

/* ------------------------------------------------------------ syscalls */

/* write/writev with SIGPIPE blocked (sigpipe.c), so that EPIPE on a pipe
 * is an error and not a death. */
static ssize_t write_guarded(int fd, const struct iovec *iov, int iovcnt)
{
    struct evl__sigpipe_guard guard;
    evl__sigpipe_block(&guard);
    ssize_t n = iovcnt == 1 ? write(fd, iov[0].iov_base, iov[0].iov_len)
                            : writev(fd, iov, iovcnt);
    int saved = errno;
    evl__sigpipe_unblock(&guard, n < 0 && saved == EPIPE);
    errno = saved;
    return n;
}

/* One write of iov.  Returns the bytes taken, -EAGAIN, or -errno. */
static ssize_t write_iov(evl_stream *s, const struct iovec *iov, int iovcnt)
{
    for (;;) {
        ssize_t n;
        if (s->flags & EVL_STREAM_SOCKET) {
            /* MSG_DONTWAIT: evl_stream_flush never blocks, even on a
             * blocking socket (a PerlIO handle's), whose caller waits
             * for room itself. */
            if (iovcnt == 1) {
                n = send(s->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
            } else {
                struct msghdr mh = { .msg_iov = (struct iovec *)iov,
                                     .msg_iovlen = (size_t)iovcnt };
                n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            }
        } else if (s->state & EVL__STREAM_SIGPIPE) {
            n = write_guarded(s->fd, iov, iovcnt);
        } else {
            n = iovcnt == 1 ? write(s->fd, iov[0].iov_base, iov[0].iov_len)
                            : writev(s->fd, iov, iovcnt);
        }
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
}

/* The read buffer's memory.  An idle connection (nothing buffered, the
 * last read short) is the common case of a server with many clients,
 * and a read_size buffer each made 2,000 idle ones cost 140 MB.  So an
 * empty rbuf is not grown for a read: it reads into the memory it has,
 * or into a small first allocation; a read that fills its request marks
 * the stream BULK, and the reads after it ask for read_size.  When a
 * stream goes idle again with a big buffer, the buffer is given back
 * (evl__stream_rbuf_trim: the reactor at the end of a readiness event,
 * the proactor before it puts the next read in flight).  Only reads the
 * loop makes (idle_small) do this: a read the caller asks for
 * (evl_stream_fill, which the PerlIO layer's fill is) always asks for
 * read_size, as :perlio reads its buffer size. */
size_t evl__stream_read_want(const evl_stream *s, int idle_small)
{
    size_t len = evl_buf_len(&s->rbuf);
    size_t want = s->read_size;
    if (idle_small && len == 0 && !(s->state & EVL__STREAM_BULK)) {
        size_t have = evl_buf_space(&s->rbuf);
        size_t small = have > EVL__STREAM_READ_SMALL ? have : EVL__STREAM_READ_SMALL;
        if (want > small)
            want = small;
    }
    if (s->rmax != 0) {
        if (len >= s->rmax)
            return 0;
        if (want > s->rmax - len)
            want = s->rmax - len;
    }
    return want;
}

void evl__stream_read_done(evl_stream *s, size_t want, ssize_t n)
{
    if (n > 0 && (size_t)n == want)
        s->state |= EVL__STREAM_BULK;
    else if (n >= 0 || n == -EAGAIN)
        s->state &= ~EVL__STREAM_BULK;   /* the kernel had no more */
}

/* The spare slots.  A busy stream can flip between the small idle read
 * and a read_size one at every event (a peer that sends exactly the small
 * size each time fills the small read, so the next one asks for
 * read_size, which then finds nothing; that big buffer goes at the end of
 * the event, and the next event starts small again): two posix_memaligns
 * and two frees per event.  So the loop keeps aside one big buffer a
 * stream gave back and one small buffer a stream swapped for a big one,
 * and its streams' next reads take them back.  Idle streams still hold
 * at most a small buffer, and a loop at most one buffer of each size
 * more. */
void evl__stream_rbuf_trim(evl_stream *s)
{
    if (evl_buf_len(&s->rbuf) != 0 || (s->state & EVL__STREAM_BULK) ||
        s->rbuf.cap <= EVL__STREAM_READ_SMALL)
        return;
    evl_loop *loop = s->loop;
    if (loop != NULL && loop->rbuf_spare == NULL && s->rbuf.cap <= s->read_size)
        loop->rbuf_spare = evl__buf_steal(&s->rbuf, &loop->rbuf_spare_cap);
    else
        evl_buf_free(&s->rbuf);
}

char *evl__stream_rbuf_reserve(evl_stream *s, size_t want)
{
    evl_loop *loop = s->loop;
    if (loop == NULL || evl_buf_len(&s->rbuf) != 0 || want <= s->rbuf.cap)
        return evl__buf_reserve_exact(&s->rbuf, want);
    if (want > EVL__STREAM_READ_SMALL && loop->rbuf_spare != NULL &&
        loop->rbuf_spare_cap >= want) {
        /* A big read: the kept big buffer, the small one kept in turn. */
        if (loop->rbuf_spare_small == NULL && s->rbuf.base != NULL &&
            s->rbuf.cap <= EVL__STREAM_READ_SMALL)
            loop->rbuf_spare_small = evl__buf_steal(&s->rbuf, &loop->rbuf_spare_small_cap);
        else
            evl_buf_free(&s->rbuf);
        evl__buf_adopt(&s->rbuf, loop->rbuf_spare, loop->rbuf_spare_cap, 0);
        loop->rbuf_spare = NULL;
    } else if (want <= EVL__STREAM_READ_SMALL && s->rbuf.base == NULL &&
               loop->rbuf_spare_small != NULL && loop->rbuf_spare_small_cap >= want) {
        evl__buf_adopt(&s->rbuf, loop->rbuf_spare_small, loop->rbuf_spare_small_cap, 0);
        loop->rbuf_spare_small = NULL;
    }
    return evl__buf_reserve_exact(&s->rbuf, want);
}

/* One read() into the tail of rbuf, never past rmax.  Returns the bytes
 * read, 0 at EOF (and sets the EOF state), -EAGAIN, -EMSGSIZE (rbuf at
 * rmax), -ENOMEM, or -errno. */
ssize_t evl__stream_read_once(evl_stream *s, int idle_small)
{
    if (s->tls != NULL)
        return evl__tls_read(s, idle_small);   /* ciphertext in, plaintext out */
    size_t want = evl__stream_read_want(s, idle_small);
    if (want == 0)
        return -EMSGSIZE;
    char *p = idle_small ? evl__stream_rbuf_reserve(s, want)
                         : evl_buf_reserve(&s->rbuf, want);
    if (p == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t n = (s->flags & EVL_STREAM_SOCKET) ? recv(s->fd, p, want, 0)
                                                    : read(s->fd, p, want);
        evl__stream_read_done(s, want, n >= 0 ? n : -errno);   /* EAGAIN == EWOULDBLOCK */
        if (n > 0) {
            evl_buf_commit(&s->rbuf, (size_t)n);
            evl__stream_note_rx(s);
            return n;
        }
        if (n == 0) {
            s->state |= EVL__STREAM_EOF;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
}

/* ------------------------------------------------------------ delivery */

/* Frames out of rbuf, one on_message each, until the framer wants more
 * bytes or a callback pauses, closes or frees.  Each frame is consumed
 * before its callback runs, so whatever the callback does to the stream
 * it can never see the same frame twice.  At EOF, finish is asked
 * instead of next, which also yields a line framer's unterminated tail.
 * Stops early once g says s is gone. */
static void deliver_frames(evl_stream *s, struct evl__guard *g)
{
    while (delivering(s) && s->cb.on_message != NULL) {
        size_t len = evl_buf_len(&s->rbuf);
        if (len == 0)
            break;
        size_t off, plen, flen;
        const char *data = evl_buf_data(&s->rbuf);
        int rc = (s->state & EVL__STREAM_EOF)
                     ? evl_framer_finish(s->framer, data, len, &off, &plen, &flen)
                     : evl_framer_next(s->framer, data, len, &off, &plen, &flen);
        if (rc == 0)
            break;
        if (rc < 0) {
            evl__stream_fail(s, rc);   /* the frames before the bad one are out */
            return;
        }
        /* consume() keeps the bytes where they are; only a later reserve
         * moves them, and that is the callback's own doing. */
        evl_buf_consume(&s->rbuf, flen);
        s->cb.on_message(s, data + off, plen);
        if (!g->alive)
            return;
    }
}

/* Raw data: the whole buffer to on_read, again for as long as it takes
 * something and something is left, so a callback that eats one record
 * per call does not stall until the next read. */
static void deliver_raw(evl_stream *s, struct evl__guard *g)
{
    size_t len;
    while (delivering(s) && s->cb.on_read != NULL && (len = evl_buf_len(&s->rbuf)) > 0) {
        size_t used = s->cb.on_read(s, evl_buf_data(&s->rbuf), len);
        if (!g->alive)
            return;
        /* The callback may have consumed through evl_stream_rbuf too. */
        len = evl_buf_len(&s->rbuf);
        if (used > len)
            used = len;
        if (used == 0)
            break;
        evl_buf_consume(&s->rbuf, used);
    }
}

static ssize_t flush_now(evl_stream *s);

/* Sends what a delivery's callbacks wrote: in one write (or one send
 * op), instead of one per message (an echo of 8 lines per read made 8
 * syscalls on the reactor, and 2 sends on io_uring: the first line
 * alone, the other 7 after it).  Callbacks may free s. */
static void uncork(evl_stream *s)
{
    s->state &= ~EVL__STREAM_CORKED;
    if (watcher_writes(s))
        flush_now(s);
    else
        evl__stream_px_flush(s);
}

/* A delivery on the stack, in its loop's list (loop->deliveries). */
struct evl__stream_delivery {
    evl_stream *s;               /* NULL once evl_stream_free let go */
    struct evl__stream_delivery *prev;
};

/* A callback runs the loop again (to wait for a reply, say): what the
 * deliveries it is inside corked goes out first, or the peer it waits
 * for might never see the request. */
void evl__stream_uncork_all(evl_loop *loop)
{
    for (struct evl__stream_delivery *d = loop->deliveries; d != NULL; d = d->prev) {
        if (d->s != NULL && (d->s->state & EVL__STREAM_CORKED))
            uncork(d->s);   /* may free it: d itself lives on */
    }
}

/* Hands buffered input to the callbacks, then EOF once everything before
 * it was taken.  fresh: new bytes arrived (or reading resumed), so raw
 * mode has something to show.  Returns 0 if s was freed. */
int evl__stream_deliver(evl_stream *s, int fresh)
{
    if (s->state & EVL__STREAM_DELIVERING)
        return 1;   /* called from a callback: the outer loop continues */
    /* on_handshake comes before the first byte it protects. */
    if (s->tls != NULL && !evl__tls_report(s))
        return 0;
    struct evl__guard g;
    struct evl__stream_delivery d = { .s = s };
    evl_loop *loop = s->loop;
again:
    s->state |= EVL__STREAM_DELIVERING;
    guard_enter(s, &g);
    if (loop != NULL) {
        d.prev = loop->deliveries;
        loop->deliveries = &d;
    }
    if (s->framer != NULL)
        deliver_frames(s, &g);
    else if (fresh)
        deliver_raw(s, &g);
    if (loop != NULL)
        loop->deliveries = d.prev;
    /* Only if no callback freed s. */
    if (g.alive) {
        s->state &= ~EVL__STREAM_DELIVERING;
        if (s->state & EVL__STREAM_CORKED)
            uncork(s);
    }
    if (!guard_leave(s, &g))
        return 0;
    if (s->px != NULL) {
        /* Chunks a nested loop run received while the callbacks held
         * frames in rbuf (stream-proactor.c) come next. */
        int rc = evl__stream_px_unstash(s);
        if (rc < 0)
            return evl__stream_fail(s, rc);
        if (rc > 0) {
            fresh = 1;
            goto again;
        }
    }

    if (!delivering(s))
        return 1;   /* paused: the rest, EOF included, waits for read_start */
    if (s->state & EVL__STREAM_EOF) {
        if (s->state & EVL__STREAM_EOF_DONE)
            return 1;
        /* A partial frame the framer could not finish would have failed
         * above, so only raw leftovers can remain here. */
        s->state |= EVL__STREAM_EOF_DONE;
        return evl__stream_call(s, s->cb.on_eof);
    }
    size_t len = evl_buf_len(&s->rbuf);
    if (s->rmax != 0 && len >= s->rmax)
        return evl__stream_fail(s, -EMSGSIZE);
    /* Not while the kernel is reading into the buffer's memory. */
    if (len == 0 && s->rbuf.cap > BUF_KEEP && s->rbuf.cap > 2 * s->read_size &&
        (s->px == NULL || !evl__stream_px_rbuf_pinned(s)))
        evl_buf_free(&s->rbuf);
    return 1;
}

/* The watcher's read callback. */
static void on_readable(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_stream *s = evl__container_of(w, evl_stream, w);
    if (s->px != NULL) {
        evl__stream_px_readable(s);
        return;
    }
    for (int round = 0; round < READ_ROUNDS && want_input(s); round++) {
        /* Not reading, but a close waits for the TLS handshake: its
         * records only, never application data. */
        ssize_t n = want_read(s) ? evl__stream_read_once(s, 1) : evl__tls_read_handshake(s);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            evl__stream_fail(s, (int)n);
            return;
        }
        if (n == 0 || (s->state & EVL__STREAM_EOF)) {
            /* Level-triggered HUP would otherwise wake us forever (TLS:
             * close_notify may end a read that returned bytes). */
            int rc = evl__stream_update_interest(s);
            if (rc < 0) {
                evl__stream_fail(s, rc);
                return;
            }
        }
        if (!evl__stream_deliver(s, n > 0) || n == 0)
            return;
        /* A short read means the kernel had no more; skip the EAGAIN. */
        if (!(s->state & EVL__STREAM_BULK))
            break;
    }
    /* Idle until the next event: the buffer goes if it is empty. */
    evl__stream_rbuf_trim(s);
}

/* ------------------------------------------------------------ writing */

void evl__stream_forget_parents_queue(evl_stream *s)
{
    if (__builtin_expect(s->fork_gen != evl__forks, 0) && s->px == NULL) {
        s->fork_gen = evl__forks;
        evl_buf_consume(&s->wbuf, evl_buf_len(&s->wbuf));
    }
}

/* Writes the queue until it is empty or the fd is full.  No callbacks.
 * Returns the bytes still queued or -errno. */
static ssize_t drain(evl_stream *s)
{
    evl__stream_forget_parents_queue(s);
    size_t len;
    while ((len = evl_buf_len(&s->wbuf)) > 0) {
        struct iovec iov = { evl_buf_data(&s->wbuf), len };
        ssize_t n = write_iov(s, &iov, 1);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            return n;
        if (n > 0)
            evl__stream_note_tx(s);
        evl_buf_consume(&s->wbuf, (size_t)n);
        /* Non-blocking, a short write means the fd is full. */
        if ((size_t)n < len)
            break;
    }
    return (ssize_t)evl_buf_len(&s->wbuf);
}

int evl__stream_written(evl_stream *s, size_t before)
{
    size_t left = evl_stream_queued(s);
    if (left == before)
        return 1;
    struct evl__guard g;
    guard_enter(s, &g);
    if ((s->state & EVL__STREAM_HIGH) && left <= s->wlow) {
        s->state &= ~EVL__STREAM_HIGH;
        if (s->cb.on_low_water != NULL) {
            s->cb.on_low_water(s);
            if (!g.alive)
                goto gone;
        }
    }
    /* A callback may have queued more; drain means empty now. */
    if (left == 0 && evl_stream_queued(s) == 0 && queue_flows(s)) {
        if (s->cb.on_drain != NULL) {
            s->cb.on_drain(s);
            if (!g.alive)
                goto gone;
        }
        /* A deferred close (loop mode) ends here; a synchronous one is
         * finished by evl_stream_close itself, which wants close()'s
         * result. */
        if (s->loop != NULL && evl_stream_queued(s) == 0 &&
            (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)) == EVL__STREAM_CLOSING) {
            evl__stream_finish_close(s);
            if (!g.alive)
                goto gone;
        }
    }
    return guard_leave(s, &g);
gone:
    guard_leave(s, &g);
    return 0;
}

/* Writes what the fd takes now, then runs what follows from it: low
 * water, drain, and the end of a deferred close.  Returns the bytes
 * still queued, or -errno (reported); 0 if a callback freed s after the
 * queue emptied. */
static ssize_t flush_now(evl_stream *s)
{
    size_t before = evl_buf_len(&s->wbuf);
    ssize_t left = drain(s);
    if (left < 0) {
        evl__stream_fail(s, (int)left);
        return left;
    }
    if (left == 0 && s->wbuf.cap > BUF_KEEP)
        evl_buf_free(&s->wbuf);
    int rc = evl__stream_update_interest(s);
    if (rc < 0) {
        evl__stream_fail(s, rc);
        return rc;
    }
    if (!evl__stream_written(s, before))
        return left;
    return !queue_flows(s) ? s->err : (ssize_t)evl_buf_len(&s->wbuf);
}

/* The watcher's write callback. */
static void on_writable(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_stream *s = evl__container_of(w, evl_stream, w);
    if (!watcher_writes(s))
        evl__stream_px_writable(s);
    else
        flush_now(s);
}

/* The common refusals of every write. */
static int check_writable(const evl_stream *s)
{
    if (s->err != 0)
        return s->err;
    if (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED))
        return -ESHUTDOWN;
    if (s->fd < 0)
        return -EBADF;
    return 0;
}

/* Copies iov[] minus its first skip bytes to the end of the queue. */
int evl__stream_append_iov(evl_buf *b, const struct iovec *iov, int iovcnt, size_t skip,
                           size_t n)
{
    char *dst = evl_buf_reserve(b, n);
    if (dst == NULL)
        return -ENOMEM;
    for (int i = 0; i < iovcnt; i++) {
        size_t len = iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(dst, (const char *)iov[i].iov_base + skip, len - skip);
        dst += len - skip;
        skip = 0;
    }
    evl_buf_commit(b, n);
    return 0;
}

/* Write-behind for total bytes in iov[].  The wmax check counts all of
 * them, even those the kernel might take at once: a refused write must
 * leave nothing behind, and a write that got half way could not. */
static int queue_write_now(evl_stream *s, const struct iovec *iov, int iovcnt, size_t total,
                           int was_empty)
{
    if (!watcher_writes(s))
        return evl__stream_px_queue(s, iov, iovcnt, total, was_empty);
    evl__stream_forget_parents_queue(s);
    size_t queued = evl_buf_len(&s->wbuf);
    if (s->wmax != 0 && (queued > s->wmax || total > s->wmax - queued))
        return -ENOBUFS;

    size_t done = 0;
    /* Inside a delivery, batch small writes: the delivery's end flushes
     * (see evl__stream_deliver), and no interest change is needed
     * meanwhile.  A big write is better sent at once than copied. */
    int cork = evl__stream_cork(s, total);
    if (queued == 0 && !cork) {
        ssize_t n = write_iov(s, iov, iovcnt);
        if (n > 0)
            evl__stream_note_tx(s);
        if (n == (ssize_t)total)
            return 0;
        if (n >= 0) {
            done = (size_t)n;
        } else if (n != -EAGAIN) {
            evl__stream_fail(s, (int)n);
            return (int)n;
        }
    }
    int rc = evl__stream_append_iov(&s->wbuf, iov, iovcnt, done, total - done);
    if (rc < 0) {
        /* Part of the data went out and the rest cannot follow: the byte
         * stream has a hole, so the stream is broken for good. */
        if (done > 0)
            evl__stream_fail(s, rc);
        return rc;
    }
    rc = cork ? 0 : evl__stream_update_interest(s);
    if (rc < 0) {
        evl__stream_fail(s, rc);
        return rc;
    }
    evl__stream_queue_grew(s, was_empty);
    return 0;
}

void evl__stream_queue_grew(evl_stream *s, int was_empty)
{
    evl__stream_deadline_queue_started(s, was_empty);
    if (s->whigh != 0 && !(s->state & EVL__STREAM_HIGH) && evl_stream_queued(s) > s->whigh) {
        s->state |= EVL__STREAM_HIGH;
        evl__stream_call(s, s->cb.on_high_water);   /* may free s: nothing after it */
    }
}

/* queue_write_now, noting whether the queue was empty before, for the
 * write deadline's clock.  A TLS stream's ciphertext comes here too
 * (tls.c). */
int evl__stream_queue_raw(evl_stream *s, const struct iovec *iov, int iovcnt, size_t total)
{
    return queue_write_now(s, iov, iovcnt, total, evl_stream_queued(s) == 0);
}

/* A TLS stream encrypts first (tls.c), then comes back to queue_raw. */
static int queue_write(evl_stream *s, const struct iovec *iov, int iovcnt, size_t total)
{
    if (s->tls != NULL)
        return evl__tls_write(s, iov, iovcnt, total, 0);
    return evl__stream_queue_raw(s, iov, iovcnt, total);
}

int evl__stream_out(evl_stream *s, const void *p, size_t n)
{
    if (s->fd < 0 || (s->state & EVL__STREAM_CLOSED))
        return -EBADF;
    evl__stream_forget_parents_queue(s);
    int was_empty = evl_stream_queued(s) == 0;
    /* While a proactor write is in flight the kernel reads wbuf. */
    evl_buf *b = s->px != NULL && evl__stream_px_write_busy(s) ? &s->px->wnext : &s->wbuf;
    int rc = evl_buf_append(b, p, n);
    if (rc < 0)
        return rc;
    if (!watcher_writes(s)) {
        rc = evl__stream_px_write_kick(s);
    } else {
        /* Now rather than on the next iteration: a handshake flight is
         * latency, and an alert before a failure would otherwise be
         * dropped with the queue.  Without a loop, a non-blocking fd
         * keeps the rest for evl_stream_flush. */
        ssize_t left = drain(s);
        rc = left < 0 ? (int)left : evl__stream_update_interest(s);
    }
    /* Records left queued start the write deadline's clock, as any
     * bytes do: a write behind them finds the queue non-empty and
     * starts nothing (a proactor's send of the handshake's last flight
     * is still in flight when on_handshake writes). */
    if (rc == 0)
        evl__stream_deadline_queue_started(s, was_empty);
    return rc;
}

/* ------------------------------------------------------------ public API */

/* Makes fd non-blocking, as a loop needs. */
static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int evl_stream_init(evl_stream *s, evl_loop *loop, int fd, unsigned flags,
                    const struct evl_stream_callbacks *cb)
{
    if (s == NULL || (flags & ~FLAGS_VALID))
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;

    void *data = s->data;
    memset(s, 0, sizeof(*s));
    s->data = data;
    s->loop = loop;
    s->fd = fd;
    s->fork_gen = evl_fork_count();   /* (which starts the counting) */
    s->read_size = READ_SIZE_DEFAULT;
    s->readahead = EVL__STREAM_READAHEAD_DEFAULT;
    evl_buf_init(&s->rbuf);
    evl_buf_init(&s->wbuf);
    evl_watcher_init(&s->w, on_readable, on_writable, NULL);
    s->dl_timer.heap_idx = EVL__TIMER_IDLE;   /* not armed, whatever the loop */
    if (cb != NULL)
        s->cb = *cb;
    if (S_ISSOCK(st.st_mode))
        flags |= EVL_STREAM_SOCKET;
    /* Files and block devices cannot raise SIGPIPE; the guard costs two
     * syscalls per write, so only pipes, FIFOs and ttys pay for it. */
    if (!(flags & EVL_STREAM_SOCKET) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        s->state |= EVL__STREAM_SIGPIPE;
    s->flags = flags;

    if (loop != NULL) {
        int nb = set_nonblock(fd);
        if (nb < 0)
            return nb;
        if (evl_loop_model(loop) == EVL_PROACTOR) {
            int rc = evl__stream_px_init(s, &st);
            if (rc < 0)
                return rc;
        }
        evl__stream_deadline_attach(s);
        if (s->cb.on_read != NULL || s->cb.on_message != NULL) {
            s->state |= EVL__STREAM_READING;
            int rc = s->px != NULL ? evl__stream_px_start(s) : evl__stream_update_interest(s);
            if (rc < 0) {
                s->state &= ~EVL__STREAM_READING;
                if (s->px != NULL) {
                    evl_stream_free(s);   /* the engine's memory, and any op it got out */
                    s->data = data;
                }
                return rc;
            }
        }
    }
    return 0;
}

void evl_stream_free(evl_stream *s)
{
    if (s == NULL)
        return;
    if (s->alive != NULL)
        *s->alive = 0;
    s->alive = NULL;
    if ((s->state & EVL__STREAM_DELIVERING) && s->loop != NULL) {
        for (struct evl__stream_delivery *d = s->loop->deliveries; d != NULL; d = d->prev) {
            if (d->s == s)
                d->s = NULL;
        }
    }
    evl_watcher_stop(&s->w);
    evl__stream_deadline_stop(s);
    if (s->px != NULL)
        evl__stream_px_free(s);   /* it decides what the kernel still needs */
    if (s->tls != NULL)
        evl__tls_free(s);
    evl_buf_free(&s->rbuf);
    evl_buf_free(&s->wbuf);
    s->loop = NULL;
    s->fd = -1;
    s->state = EVL__STREAM_CLOSED;
}

/* set_loop's second half: s (on no loop, no engine) joins loop with
 * what reading and the queue need.  On failure s stays caller-driven. */
static int join_loop(evl_stream *s, evl_loop *loop, const struct stat *st)
{
    s->loop = loop;
    int rc = 0;
    if (evl_loop_model(loop) == EVL_PROACTOR)
        rc = evl__stream_px_init(s, st);
    if (rc == 0)
        rc = evl__stream_update_interest(s);
    if (rc == 0)
        evl__stream_deadline_attach(s);
    if (rc == 0 && s->tls != NULL)
        rc = evl__tls_joined(s);
    /* A proactor starts reading, and a write of the queue, on the loop's
     * next iteration, as after init. */
    if (rc == 0 && s->px != NULL &&
        (want_input(s) || (evl_buf_len(&s->wbuf) > 0 && !watcher_writes(s) && queue_flows(s))))
        rc = evl__stream_px_start(s);
    if (rc < 0) {
        evl_watcher_stop(&s->w);
        evl__stream_deadline_stop(s);
        if (s->px != NULL)
            evl__stream_px_free(s);   /* nothing of it in flight: freed at once */
        s->loop = NULL;
    }
    return rc;
}

int evl_stream_set_loop(evl_stream *s, evl_loop *loop)
{
    if (s == NULL)
        return -EINVAL;
    if (s->fd < 0 || (s->state & EVL__STREAM_CLOSED))
        return -EBADF;
    if (s->state & EVL__STREAM_CLOSING)
        return -ESHUTDOWN;
    if (s->loop == loop)
        return 0;
    /* A callback of s is running: the engine it returns into must stay. */
    if (s->alive != NULL)
        return -EBUSY;
    if (s->px != NULL && evl__stream_px_busy(s))
        return -EBUSY;
    if (s->tls != NULL && evl__tls_busy(s))
        return -EBUSY;
    struct stat st;
    if (loop != NULL) {
        if (fstat(s->fd, &st) < 0)
            return -errno;
        int rc = set_nonblock(s->fd);
        if (rc < 0)
            return rc;
    }
    if (s->px != NULL) {
        int rc = evl__stream_px_detach(s);
        if (rc < 0)
            return rc;
    }
    evl_watcher_stop(&s->w);
    evl__stream_deadline_stop(s);
    s->loop = NULL;
    return loop != NULL ? join_loop(s, loop, &st) : 0;
}

int evl_stream_read_start(evl_stream *s)
{
    if (s == NULL || s->loop == NULL)
        return -EINVAL;
    if (s->err != 0)
        return s->err;
    if (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED))
        return -ESHUTDOWN;
    if (s->cb.on_read == NULL && s->cb.on_message == NULL)
        return -EINVAL;
    if (s->state & EVL__STREAM_READING)
        return 0;
    s->state |= EVL__STREAM_READING;
    int rc = evl__stream_update_interest(s);
    if (rc < 0) {
        s->state &= ~EVL__STREAM_READING;
        return rc;
    }
    evl__stream_deadline_read_started(s);
    /* Buffered frames (and an EOF behind them) would otherwise wait for
     * bytes that may never come. */
    if (evl_buf_len(&s->rbuf) > 0 ||
        (s->state & (EVL__STREAM_EOF | EVL__STREAM_EOF_DONE)) == EVL__STREAM_EOF) {
        if (!evl__stream_deliver(s, 1))
            return 0;
    }
    /* A proactor also has to ask the kernel for more (or hand over the
     * chunks that arrived while paused). */
    if (s->px != NULL) {
        struct evl__guard g;
        guard_enter(s, &g);
        rc = evl__stream_px_kick(s);
        if (!guard_leave(s, &g))
            return 0;
        if (rc < 0) {
            s->state &= ~EVL__STREAM_READING;
            return rc;
        }
    }
    return 0;
}

int evl_stream_read_stop(evl_stream *s)
{
    if (s == NULL)
        return -EINVAL;
    if (!(s->state & EVL__STREAM_READING))
        return 0;
    s->state &= ~EVL__STREAM_READING;
    /* A TLS handshake a close waits for keeps its read (want_input). */
    if (s->px != NULL && !want_input(s))
        evl__stream_px_read_stop(s);
    return evl__stream_update_interest(s);
}

int evl_stream_set_watermarks(evl_stream *s, size_t low, size_t high, size_t wmax)
{
    if (s == NULL || low > high)
        return -EINVAL;
    s->wlow = low;
    s->whigh = high;
    s->wmax = wmax;
    return 0;
}

int evl_stream_set_read_limits(evl_stream *s, size_t rmax, size_t read_size)
{
    if (s == NULL || read_size > SSIZE_MAX)
        return -EINVAL;
    s->rmax = rmax;
    s->read_size = read_size != 0 ? read_size : READ_SIZE_DEFAULT;
    return 0;
}

int evl_stream_set_readahead(evl_stream *s, unsigned depth)
{
    if (s == NULL || depth == 0 || depth > EVL__STREAM_READAHEAD_MAX)
        return -EINVAL;
    s->readahead = depth;
    return 0;
}

int evl_stream_set_framer(evl_stream *s, evl_framer *fr)
{
    if (s == NULL)
        return -EINVAL;
    /* Scan state from another buffer would point at the wrong bytes. */
    if (fr != NULL)
        evl_framer_reset(fr);
    s->framer = fr;
    return 0;
}

int evl_stream_write(evl_stream *s, const void *p, size_t n)
{
    if (s == NULL || (p == NULL && n > 0))
        return -EINVAL;
    int rc = check_writable(s);
    if (rc != 0 || n == 0)
        return rc;
    struct iovec iov = { (void *)p, n };
    return queue_write(s, &iov, 1, n);
}

int evl_stream_writev(evl_stream *s, const struct iovec *iov, int iovcnt)
{
    if (s == NULL || iovcnt < 0 || iovcnt > IOV_MAX || (iov == NULL && iovcnt > 0))
        return -EINVAL;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_base == NULL && iov[i].iov_len > 0)
            return -EINVAL;
        if (iov[i].iov_len > SSIZE_MAX - total)
            return -EINVAL;
        total += iov[i].iov_len;
    }
    int rc = check_writable(s);
    if (rc != 0 || total == 0)
        return rc;
    return queue_write(s, iov, iovcnt, total);
}

int evl_stream_queue(evl_stream *s, const void *p, size_t n)
{
    if (s == NULL || (p == NULL && n > 0))
        return -EINVAL;
    int rc = check_writable(s);
    if (rc != 0 || n == 0)
        return rc;
    if (s->tls != NULL) {
        struct iovec iov = { (void *)p, n };
        return evl__tls_write(s, &iov, 1, n, 1);
    }
    evl__stream_forget_parents_queue(s);
    size_t queued = evl_stream_queued(s);
    if (s->wmax != 0 && (queued > s->wmax || n > s->wmax - queued))
        return -ENOBUFS;
    /* While a proactor write is in flight the kernel reads wbuf, which an
     * append could move: new bytes go behind it, as px_queue does. */
    evl_buf *b = s->px != NULL && evl__stream_px_write_busy(s) ? &s->px->wnext : &s->wbuf;
    rc = evl_buf_append(b, p, n);
    if (rc == 0)
        evl__stream_deadline_queue_started(s, queued == 0);
    return rc;
}

int evl_stream_write_message(evl_stream *s, const void *p, size_t n)
{
    if (s == NULL || (p == NULL && n > 0) || s->framer == NULL)
        return -EINVAL;
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t head_len = 0, tail_len = 0;
    int rc = evl_framer_encode(s->framer, n, head, &head_len, tail, &tail_len);
    if (rc < 0)
        return rc;
    /* Header, payload and trailer leave in one writev, with no copy of
     * the payload unless the kernel refuses part of it. */
    struct iovec iov[3];
    int cnt = 0;
    if (head_len > 0)
        iov[cnt++] = (struct iovec){ head, head_len };
    if (n > 0)
        iov[cnt++] = (struct iovec){ (void *)p, n };
    if (tail_len > 0)
        iov[cnt++] = (struct iovec){ tail, tail_len };
    return evl_stream_writev(s, iov, cnt);
}

/* The refusals evl_stream_flush and evl_stream_flush_wait share. */
static int check_flushable(const evl_stream *s)
{
    if (s == NULL)
        return -EINVAL;
    if (!queue_flows(s))
        return s->err;
    return s->fd < 0 ? -EBADF : 0;
}

ssize_t evl_stream_flush(evl_stream *s)
{
    int rc = check_flushable(s);
    if (rc < 0)
        return rc;
    if (!watcher_writes(s))
        return evl__stream_px_flush(s);
    return flush_now(s);
}

/* The blocking drain behind evl_stream_flush_wait and a close without a
 * loop.  poll() serves blocking and non-blocking fds alike: on a blocking
 * fd the write itself waits and poll is never reached. */
static int flush_wait(evl_stream *s)
{
    struct evl__guard g;
    int rc;
    guard_enter(s, &g);
    for (;;) {
        ssize_t left = flush_now(s);
        if (!g.alive || left <= 0 || s->fd < 0) {
            rc = left < 0 ? (int)left : 0;
            break;
        }
        struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
        int n = poll(&pfd, 1, -1);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            evl__stream_fail(s, rc);
            break;
        }
        /* POLLERR/POLLHUP: the next write fetches the real error. */
        if (n > 0 && (pfd.revents & POLLNVAL)) {
            rc = -EBADF;
            evl__stream_fail(s, rc);
            break;
        }
    }
    guard_leave(s, &g);
    return rc;
}

int evl_stream_flush_wait(evl_stream *s)
{
    int rc = check_flushable(s);
    if (rc < 0)
        return rc;
    if (!watcher_writes(s))
        return evl__stream_px_flush_wait(s);
    return flush_wait(s);
}

size_t evl_stream_queued(const evl_stream *s)
{
    if (s == NULL)
        return 0;
    /* A proactor's queue has a second part while a write is in flight,
     * and a TLS stream a third: plaintext waiting for the handshake. */
    return evl_buf_len(&s->wbuf) + (s->px != NULL ? evl_buf_len(&s->px->wnext) : 0) +
           (s->tls != NULL ? evl__tls_pending(s) : 0);
}

ssize_t evl_stream_fill(evl_stream *s)
{
    if (s == NULL)
        return -EINVAL;
    if (s->err != 0)
        return s->err;
    if (s->fd < 0)
        return -EBADF;
    if (s->px != NULL)
        return evl__stream_px_fill(s);
    ssize_t n = evl__stream_read_once(s, 0);
    /* A full buffer or a failed allocation is the caller's to resolve
     * (consume, then retry); neither breaks the stream. */
    if (n >= 0 || n == -EAGAIN || n == -EMSGSIZE || n == -ENOMEM)
        return n;
    evl__stream_fail(s, (int)n);
    return n;
}

evl_buf *evl_stream_rbuf(evl_stream *s)
{
    return s != NULL ? &s->rbuf : NULL;
}

size_t evl_stream_rbuf_capacity(const evl_stream *s)
{
    if (s == NULL)
        return 0;
    /* A read in flight hides its slice (stream-proactor.c). */
    if (s->px != NULL && evl__stream_px_rbuf_pinned(s))
        return s->px->rd_cap;
    return s->rbuf.cap;
}

int evl_stream_close(evl_stream *s)
{
    if (s == NULL)
        return -EINVAL;
    if (s->state & EVL__STREAM_CLOSED)
        return -EBADF;
    if (s->state & EVL__STREAM_CLOSING)
        return 1;
    if (s->tls != NULL) {
        /* close_notify joins the queue, or the close waits for the
         * handshake that the queued plaintext needs. */
        int rc = evl__tls_close(s);
        if (rc != 0)
            return rc;
    }
    s->state |= EVL__STREAM_CLOSING;
    /* A read in flight would hold the close up until the peer sent more. */
    if (s->px != NULL)
        evl__stream_px_read_stop(s);

    if (queue_flows(s) && evl_stream_queued(s) > 0) {
        if (s->loop != NULL) {
            /* Reading off, writing on; the write that empties the queue
             * finishes the close. */
            if (!watcher_writes(s)) {
                ssize_t left = evl__stream_px_flush(s);
                return left >= 0 ? 1 : (int)left;   /* px_flush reported it */
            }
            int rc = evl__stream_update_interest(s);
            if (rc == 0)
                return 1;
            evl__stream_fail(s, rc);
            return rc;
        }
        struct evl__guard g;
        guard_enter(s, &g);
        int rc = flush_wait(s);
        if (!guard_leave(s, &g) || rc < 0)
            return rc;   /* on failure, fail() closed and reported */
        if (s->state & EVL__STREAM_CLOSED)
            return s->err;
    }
    /* Anything still queued here is behind a sticky error: dropped. */
    int rc = close_fd(s);
    if (rc == CLOSE_DEFERRED)
        return 1;
    if (s->err != 0)
        rc = s->err;
    evl__stream_call(s, s->cb.on_close);
    return rc;
}

int evl_stream_abort(evl_stream *s)
{
    if (s == NULL)
        return -EINVAL;
    if (s->state & EVL__STREAM_CLOSED)
        return -EBADF;
    s->state |= EVL__STREAM_CLOSING;
    /* Nothing drains any more, so a write in flight is cancelled. */
    s->state &= ~EVL__STREAM_INPUT_ERR;
    if (s->px != NULL)
        evl__stream_px_read_stop(s);
    if (evl_stream_queued(s) > 0)
        s->state |= EVL__STREAM_DROPPED;
    evl_buf_consume(&s->wbuf, evl_buf_len(&s->wbuf));
    if (close_fd(s) == CLOSE_DEFERRED)
        return 1;
    evl__stream_call(s, s->cb.on_close);
    return 0;
}

int evl_stream_fd(const evl_stream *s)
{
    return s != NULL ? s->fd : -EINVAL;
}

int evl_stream_error(const evl_stream *s)
{
    return s != NULL ? s->err : -EINVAL;
}

int evl_stream_at_eof(const evl_stream *s)
{
    return s != NULL && (s->state & EVL__STREAM_EOF) ? 1 : 0;
}
