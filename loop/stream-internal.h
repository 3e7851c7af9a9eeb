/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream-internal.h - what the two halves of evl_stream share: stream.c
 * (the API, the common state machine and the reactor engine) and
 * stream-proactor.c (the completion engine). */
#ifndef EVL_STREAM_INTERNAL_H
#define EVL_STREAM_INTERNAL_H

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "evl-guard.h"
#include "evl-internal.h"

/* evl_stream.state bits. */
#define EVL__STREAM_READING 0x01      /* delivery wanted (read_start) */
#define EVL__STREAM_EOF 0x02          /* read() returned 0 */
#define EVL__STREAM_EOF_DONE 0x04     /* on_eof was called */
#define EVL__STREAM_HIGH 0x08         /* above whigh, waiting for wlow */
#define EVL__STREAM_CLOSING 0x10      /* evl_stream_close began */
#define EVL__STREAM_CLOSED 0x20       /* fd closed (or given up, NOCLOSE) */
#define EVL__STREAM_DELIVERING 0x40   /* a delivery loop is on the stack */
#define EVL__STREAM_SIGPIPE 0x80      /* writes need the SIGPIPE guard */
#define EVL__STREAM_CORKED 0x100      /* writes made during delivery wait for its end */
#define EVL__STREAM_INPUT_ERR 0x200   /* err is the input's (framing, rmax): the queue still drains */
#define EVL__STREAM_BULK 0x400        /* the last read filled what it asked for */
#define EVL__STREAM_DROPPED 0x800     /* an abort dropped queued bytes: no clean TLS end */

#define EVL__STREAM_READ_SIZE_DEFAULT ((size_t)64 * 1024)
/* A buffer that grew past this is released when it empties, so one
 * burst does not pin memory for the lifetime of the stream. */
#define EVL__STREAM_BUF_KEEP ((size_t)256 * 1024)
/* An idle stream's read buffer: the first read into an empty rbuf with
 * no memory asks for this much, and a bigger buffer is given back when
 * the stream goes idle (see evl__stream_read_want). */
#define EVL__STREAM_READ_SMALL ((size_t)512)
#define EVL__STREAM_READAHEAD_DEFAULT 2u
#define EVL__STREAM_READAHEAD_MAX 64u

/* Writes below this made during a delivery are batched (copied) and go
 * out at the delivery's end (evl__stream_deliver); bigger ones go to the
 * kernel at once.  Both engines ask here: 1 if this write waits (s is
 * then CORKED). */
#define EVL__STREAM_CORK_MAX ((size_t)16 * 1024)
static inline int evl__stream_cork(evl_stream *s, size_t total)
{
    if (!(s->state & EVL__STREAM_DELIVERING) || total >= EVL__STREAM_CORK_MAX)
        return 0;
    s->state |= EVL__STREAM_CORKED;
    return 1;
}

/* evl__stream_px.kind bits. */
#define EVL__PX_SOCKET 0x1            /* recv/send */
#define EVL__PX_FILE 0x2              /* regular file: read-ahead at explicit offsets */
#define EVL__PX_OPWRITE 0x4           /* writes are ops (else the reactor's guarded write) */
#define EVL__PX_POLLABLE 0x8          /* epoll takes it: EAGAIN can wait for the watcher */

struct evl__stream_chunk;

/* The proactor engine's state.  It is heap memory of its own because the
 * kernel may hold its ops (and the buffers they name) after the caller's
 * evl_stream is gone: see "The graveyard" in stream-proactor.c. */
struct evl__stream_px {
    evl_stream *s;               /* owner; NULL once evl_stream_free let go */
    evl_loop *loop;
    int fd;                      /* s->fd, kept for a close the graveyard owes */
    unsigned kind;               /* EVL__PX_* */
    unsigned inflight;           /* ops whose callback has not run yet */
    int close_wait;              /* close the fd once inflight reaches 0 */
    int noclose;                 /* EVL_STREAM_NOCLOSE: "close" only gives up the fd */

    /* Reading that init asks for starts on the loop's next iteration, as
     * on the reactor, so that setters called after init still apply. */
    evl_op kop;

    /* One read into rbuf's free space (sockets, pipes, ttys). */
    evl_op rop;
    char *rd_base;               /* rbuf.base when rop was submitted */
    size_t rd_off;               /* where in rd_base the kernel writes */
    size_t rd_cap;               /* rbuf.cap to restore (lowered to rd_off meanwhile) */
    size_t rd_len;               /* bytes the read asked for */
    int rd_poll;                 /* a read said EAGAIN: wait for the watcher first */

    /* Sockets on io_uring (not TLS): one multishot receive armed while
     * the stream reads instead of rop, its chunks copied from the loop's
     * provided buffers into rbuf, or into stash while a delivery holds a
     * frame in rbuf (see mop_done). */
    evl_op mop;
    int ms_off;                  /* multishot refused (fake loop, old kernel): rop only */
    evl_buf stash;
    uint64_t n_mop_chunks;       /* chunks it delivered (tests) */
    uint64_t n_mop_submits;      /* times it was armed (tests) */

    /* One write of wbuf's first bytes (sockets, regular files, block devices). */
    evl_op wop;
    evl_buf wnext;               /* bytes queued while wop is in flight */
    uint64_t n_wop_submits;      /* writes put in flight (tests) */
    int wr_poll;                 /* a write said EAGAIN: wait for the watcher first */

    /* Read-ahead (regular files): chunks in file order. */
    struct evl__stream_chunk *ra_head, *ra_tail;
    unsigned ra_count;           /* chunks in the list (in flight or done) */
    struct evl__stream_chunk *stale;   /* in flight, result to be dropped */
    struct evl__stream_chunk *idle;    /* free for reuse */
    int64_t ra_next;             /* file offset of the next chunk to submit */
    int ra_started;              /* ra_next has been taken from the fd */
    int ra_short;                /* a chunk came back short: submit nothing more */
    int nowait_off;              /* preadv2(RWF_NOWAIT) refused (or a test): chunks only */
    uint64_t n_inline;           /* reads served inline from the page cache (tests) */
    uint64_t n_chunk_ops;        /* chunk reads submitted to the loop (tests) */

    /* Graveyard: buffers the kernel may still use after the stream went. */
    char *dead_rbuf, *dead_wbuf;

    /* TLS (s->tls): ciphertext is read into a buffer of the engine's own,
     * so that rbuf is never the kernel's and decryption may add to it at
     * any time (see tls.c). */
    char *cin;
    size_t cin_cap;
    int rd_tls;                  /* the read in flight targets cin */
};

/* The dispatch guard on s (evl-internal.h). */
static inline void guard_enter(evl_stream *s, struct evl__guard *g)
{
    evl__guard_enter(&s->alive, g);
}

static inline int guard_leave(evl_stream *s, struct evl__guard *g)
{
    return evl__guard_leave(&s->alive, g);
}

static inline int want_read(const evl_stream *s)
{
    unsigned st = s->state & (EVL__STREAM_READING | EVL__STREAM_EOF | EVL__STREAM_CLOSING |
                              EVL__STREAM_CLOSED);
    return st == EVL__STREAM_READING && s->err == 0;
}

/* tls.c: whether s is a TLS stream with a close waiting for its
 * unfinished handshake (evl_stream_tls_shutdown, or evl_stream_close with
 * plaintext queued), which can still finish (no error, no EOF). */
EVL__HIDDEN int evl__tls_close_waits(const evl_stream *s);

/* Whether the fd is to be read: for delivery, or for the handshake a
 * close waits for.  A close-after-drain stops reading first (the Perl
 * Stream's, the layer's), and the handshake needs the peer's records:
 * without them the close, and the plaintext queued before it, would wait
 * for ever.  A mere pause leaves the handshake paused too: a STARTTLS
 * client may read the server's plaintext answer by hand meanwhile. */
static inline int want_input(const evl_stream *s)
{
    return want_read(s) || (s->tls != NULL && evl__tls_close_waits(s));
}

/* Whether queued bytes may still go out: no error, or only one in the
 * input (a framing error or rmax), which does not make what was written
 * before it wrong.  New writes are refused either way. */
static inline int queue_flows(const evl_stream *s)
{
    return s->err == 0 || (s->state & EVL__STREAM_INPUT_ERR);
}

/* Whether a callback left the stream willing to take more input. */
static inline int delivering(const evl_stream *s)
{
    return (s->state & (EVL__STREAM_READING | EVL__STREAM_CLOSING)) == EVL__STREAM_READING &&
           s->err == 0;
}

/* Deadline bookkeeping on I/O: a store of the loop's cached time, no
 * syscall and no timer operation (see stream-deadline.c). */
static inline void evl__stream_note_rx(evl_stream *s)
{
    if (s->loop != NULL)
        s->rx_ns = s->loop->now_ns;
}

static inline void evl__stream_note_tx(evl_stream *s)
{
    if (s->loop != NULL)
        s->tx_ns = s->loop->now_ns;
}

/* stream-deadline.c */
/* The stream joined s->loop (init, set_loop): arms what is set. */
EVL__HIDDEN void evl__stream_deadline_attach(evl_stream *s);
/* The stream leaves its loop, closes or fails: no deadline any more. */
EVL__HIDDEN void evl__stream_deadline_stop(evl_stream *s);
/* Reading started, or bytes were queued on a queue that was empty
 * (was_empty; nothing if the kernel took them all): that clock starts
 * now, and the timer is armed if it was idle. */
EVL__HIDDEN void evl__stream_deadline_read_started(evl_stream *s);
EVL__HIDDEN void evl__stream_deadline_queue_started(evl_stream *s, int was_empty);

/* stream.c.  Those returning int return 0 when a callback freed s. */
EVL__HIDDEN int evl__stream_call(evl_stream *s, evl_stream_cb cb);
EVL__HIDDEN int evl__stream_fail(evl_stream *s, int err);
EVL__HIDDEN int evl__stream_deliver(evl_stream *s, int fresh);
/* Makes the fd watcher's interest match the stream; 0 or -errno. */
EVL__HIDDEN int evl__stream_update_interest(evl_stream *s);
/* Closes the fd now (no waiting, no callback); returns close()'s error. */
EVL__HIDDEN int evl__stream_close_fd(evl_stream *s);
/* The end of close-after-drain: closes (or, on a proactor, arranges to
 * close once the kernel lets go) and calls on_close. */
EVL__HIDDEN int evl__stream_finish_close(evl_stream *s);
/* After the queue shrank from before to its current length: on_low_water,
 * on_drain and a deferred close, as they fall due. */
EVL__HIDDEN int evl__stream_written(evl_stream *s, size_t before);
/* idle_small: a read of the loop's, which an idle stream makes into a
 * small buffer (see evl__stream_read_want). */
EVL__HIDDEN ssize_t evl__stream_read_once(evl_stream *s, int idle_small);
/* The size of the next read into rbuf (0: rbuf is at rmax). */
EVL__HIDDEN size_t evl__stream_read_want(const evl_stream *s, int idle_small);
/* Records how a read of want bytes went (EVL__STREAM_BULK): n is its
 * count or -errno. */
EVL__HIDDEN void evl__stream_read_done(evl_stream *s, size_t want, ssize_t n);
/* Gives back an idle stream's read buffer (to the loop's spare slot, or
 * to malloc); no read may be in flight into it. */
EVL__HIDDEN void evl__stream_rbuf_trim(evl_stream *s);
/* Room for a read of want bytes the loop makes (idle_small reads): an
 * exact buffer, or the loop's spare when want is a big read.  NULL:
 * -ENOMEM. */
EVL__HIDDEN char *evl__stream_rbuf_reserve(evl_stream *s, size_t want);
EVL__HIDDEN int evl__stream_append_iov(evl_buf *b, const struct iovec *iov, int iovcnt,
                                       size_t skip, size_t n);
/* The write path below TLS: write-behind of bytes as they go to the fd
 * (wmax, high water, the direct write on an empty queue).  May call
 * on_high_water and on_error. */
EVL__HIDDEN int evl__stream_queue_raw(evl_stream *s, const struct iovec *iov, int iovcnt,
                                      size_t total);
/* A forked child's copy of a stream shares the parent's fd, and its
 * queue is a copy of bytes the parent still holds and sends itself: every
 * path that appends to wbuf or writes it calls this first, and in a child
 * the copy is dropped instead of going on the wire twice (s->fork_gen;
 * perlio/layer-evloop.c checks the same field before its own appends).
 * Not for a proactor's queue, which a forked child never sends: its
 * operations complete there as cancelled. */
EVL__HIDDEN void evl__stream_forget_parents_queue(evl_stream *s);
/* The end of every path that queued bytes: the write deadline's clock
 * when the queue went from empty to holding bytes (not when the kernel
 * took them all), then on_high_water once it holds more than whigh.
 * on_high_water may free s, so the caller touches s no more. */
EVL__HIDDEN void evl__stream_queue_grew(evl_stream *s, int was_empty);
/* Appends bytes for the fd to the queue and has them sent, calling back
 * nothing (TLS handshake records, close_notify).  Without a loop it
 * writes what the fd takes now.  Returns 0 or -errno (not reported). */
EVL__HIDDEN int evl__stream_out(evl_stream *s, const void *p, size_t n);

/* stream-proactor.c */
EVL__HIDDEN int evl__stream_px_init(evl_stream *s, const struct stat *st);
EVL__HIDDEN void evl__stream_px_free(evl_stream *s);
/* Starts what reading needs (a read, chunks) at read_start; may deliver
 * (use a guard).  Returns 0 or -errno (not reported). */
EVL__HIDDEN int evl__stream_px_kick(evl_stream *s);
/* The same, from init or set_loop: on the loop's next iteration, which
 * also submits a write of what is queued. */
EVL__HIDDEN int evl__stream_px_start(evl_stream *s);
/* Whether an op of s is the loop's or the kernel's (its callback has not
 * run): set_loop must wait. */
EVL__HIDDEN int evl__stream_px_busy(const evl_stream *s);
/* set_loop: frees the engine (no op may be busy), keeping every queued
 * byte in wbuf.  Returns 0, or -ENOMEM with nothing changed. */
EVL__HIDDEN int evl__stream_px_detach(evl_stream *s);
EVL__HIDDEN void evl__stream_px_read_stop(evl_stream *s);
/* Cancels every op (the stream failed), or only the reads when the
 * error was the input's (the queue still drains). */
EVL__HIDDEN void evl__stream_px_abort(evl_stream *s);
/* Closing: cancels reads; returns 1 if the fd may be closed now, 0 if the
 * close has to wait for completions (the last one finishes it). */
EVL__HIDDEN int evl__stream_px_release(evl_stream *s);
EVL__HIDDEN int evl__stream_px_rbuf_pinned(const evl_stream *s);
/* End of a delivery: moves the chunks a nested run received meanwhile
 * (px->stash) into rbuf.  Returns 1 if there were any, 0, or -ENOMEM. */
EVL__HIDDEN int evl__stream_px_unstash(evl_stream *s);
/* was_empty: the queue held nothing before (see evl__stream_queue_grew). */
EVL__HIDDEN int evl__stream_px_queue(evl_stream *s, const struct iovec *iov, int iovcnt,
                                     size_t total, int was_empty);
EVL__HIDDEN ssize_t evl__stream_px_flush(evl_stream *s);
/* Whether a write op is in flight (the kernel reads wbuf's head). */
EVL__HIDDEN int evl__stream_px_write_busy(const evl_stream *s);
EVL__HIDDEN int evl__stream_px_flush_wait(evl_stream *s);
EVL__HIDDEN ssize_t evl__stream_px_fill(evl_stream *s);
/* Test hooks: the file reads served inline and the chunk reads
 * submitted so far, and whether inline reads are tried at all (off: every
 * read is a chunk, as on a kernel without RWF_NOWAIT). */
EVL__HIDDEN void evl__stream_px_file_stats(const evl_stream *s, uint64_t *inline_reads,
                                           uint64_t *chunk_ops);
/* Test hook: socket chunks the multishot receive delivered, and how many
 * times it was armed (both 0 where reads are one-shot). */
EVL__HIDDEN void evl__stream_px_recv_stats(const evl_stream *s, uint64_t *chunks,
                                           uint64_t *arms);
/* Test hook: writes (send or write ops) put in flight so far. */
EVL__HIDDEN uint64_t evl__stream_px_write_ops(const evl_stream *s);
EVL__HIDDEN void evl__stream_px_set_nowait(evl_stream *s, int on);
/* The fd watcher saw readiness a read or write that said EAGAIN waits for. */
EVL__HIDDEN void evl__stream_px_readable(evl_stream *s);
EVL__HIDDEN void evl__stream_px_writable(evl_stream *s);
/* Puts a write of the queue in flight if none is; 0 or -errno (not reported). */
EVL__HIDDEN int evl__stream_px_write_kick(evl_stream *s);

/* tls.c: called only when s->tls != NULL. */
/* A read of the reactor's (or a caller's fill) on a TLS stream: reads
 * ciphertext, runs the handshake, decrypts into rbuf.  Returns plaintext
 * bytes added, 0 at EOF (EOF state set), -EAGAIN, -EMSGSIZE, or -errno.
 * Calls back nothing, except on_handshake on a stream without a loop. */
EVL__HIDDEN ssize_t evl__tls_read(evl_stream *s, int idle_small);
/* The reactor's read while only the handshake wants input (see
 * want_input): reads and runs the handshake, never decrypts.  Returns
 * -EAGAIN (nothing more to read, or the handshake is done) or -errno. */
EVL__HIDDEN ssize_t evl__tls_read_handshake(evl_stream *s);
/* A proactor read completed with res (n bytes of ciphertext at p, or
 * -errno).  Returns plaintext bytes added to rbuf, 0 at EOF, -EINTR
 * when there is nothing yet (ask again), or -errno.  Calls back nothing. */
EVL__HIDDEN ssize_t evl__tls_input(evl_stream *s, const char *p, ssize_t res);
/* Write path above the engines: encrypts (or, before the handshake is
 * reported, holds the plaintext).  queue_only: append, do not send. */
EVL__HIDDEN int evl__tls_write(evl_stream *s, const struct iovec *iov, int iovcnt,
                               size_t total, int queue_only);
/* From evl__stream_deliver: calls on_handshake (and writes what waited
 * for it) once, before the first delivery.  Returns 0 if s was freed. */
EVL__HIDDEN int evl__tls_report(evl_stream *s);
/* evl_stream_close: queues close_notify.  Returns 0 (go on closing), 1
 * (the close waits for the handshake), or -errno. */
EVL__HIDDEN int evl__tls_close(evl_stream *s);
/* The fd is about to close: answers the peer's close_notify if the
 * queue went out whole (best effort, never reported). */
EVL__HIDDEN void evl__tls_answer_close(evl_stream *s);
/* set_loop brought s to a loop: the loop drives what is left of the
 * handshake.  Returns 0 or -errno. */
EVL__HIDDEN int evl__tls_joined(evl_stream *s);
/* Whether set_loop must refuse: timers of the handshake are running. */
EVL__HIDDEN int evl__tls_busy(const evl_stream *s);
EVL__HIDDEN void evl__tls_free(evl_stream *s);
/* Plaintext bytes held until the handshake is reported. */
EVL__HIDDEN size_t evl__tls_pending(const evl_stream *s);

#endif
