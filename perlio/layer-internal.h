/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* layer-internal.h - private declarations shared by the layer files. */
#ifndef EVL_LAYER_INTERNAL_H
#define EVL_LAYER_INTERNAL_H

#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "perliol.h"

#include "evloop-perlio.h"
#include "layer-api.h"
#include "evl-internal.h"        /* evl__buf_consume */

#include <sys/types.h>

/* One evl_stream per fd (see "Sharing" in layer-evloop.c). */
typedef struct evl_pio_shared {
    evl_stream s;
    void *owner;                 /* interpreter: a thread clone gets its own stream */
    int fd;
    dev_t dev;
    ino_t ino;
    unsigned refcnt;             /* :evloop layers using s */
    int regular;                 /* S_ISREG: never polled, never shared */
    int registered;              /* in the registry (sockets, pipes, ttys) */
    evl_loop *loop;              /* non-NULL: the loop drains the queue */
    int px_closed;               /* settle(): the proactor let go of the stream */
    /* What keeps loop alive (the Perl loop object behind attach), or
     * NULL; dropped with the stream.  keep_owner is its interpreter. */
    SV *keep;
    void *keep_owner;
    /* evl__pio_bind: a Linux::Event::Stream drives s with its own
     * callbacks.  gone(bound_data) tells it that s was freed
     * (the handle was closed or popped under it). */
    int bound;
    void (*gone)(void *data);
    void *bound_data;
    /* Non-zero while a layer call (print, flush, read, close) is inside
     * an evl_stream call: see evl__pio_busy. */
    unsigned busy;
    struct evl_pio_shared *next; /* registry bucket chain */
} evl_pio_shared;

/* The :evloop layer.  :evline reads it directly (it refuses to sit on
 * anything else), so that its fast-gets slots cost no more calls than
 * :perlio's. */
typedef struct {
    struct _PerlIO base;
    evl_pio_shared *sh;          /* NULL once closed or popped */
    /* PerlIOBuf's posn: the file offset at the end of the buffered input
     * (reading) or at the start of the queued output (writing); tell is
     * posn - buffered input + queued output.  Like :perlio on a pipe it
     * counts bytes, so tell agrees there too. */
    Off_t posn;
    size_t bufsiz;               /* read size, and the write flush threshold */
    /* Read size where nobody else can see how far ahead we read: on a
     * non-blocking fd, and on a regular file (whose read-ahead perl makes
     * us give back before a fork, exec, dup or seek).  Bigger than
     * bufsiz by default: fewer syscalls.  A blocking pipe or socket reads
     * bufsiz, as :perlio does, since a dup or a child reading the same
     * fd would see the difference. */
    size_t big_read;
    size_t wmax;                 /* queue limit (ENOBUFS), 0 = none */
    /* PerlIOBuf's room for unread: ptr - buf while its RDBUF flag is
     * up.  :perlio hands what does not fit to a :pending layer (which a
     * flush then discards); doing the same keeps ungetc identical. */
    size_t rd_room;
    unsigned state;              /* ST_* */
    /* Bumped whenever bytes are added to the read buffer or moved in it
     * (a fill, an unread); consuming leaves it.  :evline keeps what it
     * found in the buffer for as long as this stays the same. */
    unsigned rgen;
} PerlIOEvloop;

/* PerlIOEvloop.state bits. */
#define ST_PHANTOM 0x04          /* eof() was handed a stand-in byte (see PerlIOEvloop_read) */
#define ST_CLOSING 0x08
#define ST_RDBUF 0x10            /* PerlIOBuf's PERLIO_F_RDBUF, see rd_room */
#define ST_AGAIN 0x20            /* the last fill met EAGAIN (see PerlIOEvloop_error) */

/* The read buffer (the handle must be open: e->sh != NULL). */
/* The process's fork count, for the layer's per-call fork check.  In the
 * XS module the loop is linked into the same object, so the counter is
 * read directly; libevloop-perlio.so links libevloop.so, whose counter is
 * internal, and is built with EVL_PERLIO_SHARED to ask its function. */
static inline unsigned evl__pio_forks(void)
{
#ifdef EVL_PERLIO_SHARED
    return evl_fork_count();
#else
    return evl__forks;
#endif
}

static inline evl_buf *evl__pio_rbuf(const PerlIOEvloop *e)
{
    return &e->sh->s.rbuf;
}

/* Input that belongs to f: the write half of a socket sees none of the
 * shared read buffer. */
static inline size_t evl__pio_rlen(PerlIO *f, const PerlIOEvloop *e)
{
    if (e->sh == NULL || !(PerlIOBase(f)->flags & PERLIO_F_CANREAD))
        return 0;
    const evl_buf *b = &e->sh->s.rbuf;
    return b->tail - b->head;
}

/* Bytes queued to write on f, an :evloop (0 if it cannot write). */
static inline size_t evl__pio_wlen(PerlIO *f, const PerlIOEvloop *e)
{
    if (e->sh == NULL || !(PerlIOBase(f)->flags & PERLIO_F_CANWRITE))
        return 0;
    return evl_stream_queued(&e->sh->s);
}

/* How many bytes PerlIOEvloop_unread takes into the buffer, as
 * PerlIOBuf_unread: it flushes queued writes first, which leaves the
 * buffer idle, and an idle buffer offers all of bufsiz; a read buffer
 * offers the room in front of what is still unread. */
static inline size_t evl__pio_unread_room(PerlIO *f, const PerlIOEvloop *e)
{
    if (evl__pio_wlen(f, e) > 0 || !(e->state & ST_RDBUF))
        return e->bufsiz;
    return e->rd_room;
}

/* Internal results of the layer's fill and flush, beyond 0 and -1.
 * EVL__PIO_AGAIN: a non-blocking fd had nothing (errno EAGAIN, no error
 * flag).  EVL__PIO_GONE: a %SIG handler that ran while we waited closed
 * or popped the handle; the caller must return at once without touching
 * its layer struct, which may have been freed. */
#define EVL__PIO_AGAIN (-2)
#define EVL__PIO_GONE (-3)

/* The handle lock of perlio.c (PerlIO_lockcnt, private there): the
 * handle's table slot keeps a count in its flags word.  While it is
 * non-zero PerlIO_pop only marks layers PERLIO_F_CLEARED instead of
 * freeing them, which is what makes running Perl code in the middle of
 * a layer call survivable.  Introduced in perl 5.14 ("Make PerlIO
 * marginally reentrant", abf9167d3f); t/perlio-signals.t pins it. */
#define EVL__PIO_LOCKCNT(f) (((PerlIOl *)(void *)(f))->head->flags)

/* Takes the handle lock around code that may run Perl (a %SIG handler);
 * a die unwinds it.  Returns the slot to hand to evl__pio_unlock. */
PerlIOl *evl__pio_lock(pTHX_ PerlIO *f);
/* Drops the lock.  Returns 1 if f's layer was cleared meanwhile; when
 * the lock count reached zero, the cleared layers have then been freed,
 * f's included.  Returns 0 if f is intact. */
int evl__pio_unlock(pTHX_ PerlIO *f, PerlIOl *head);

/* Whether f's layer is :evloop (either copy of the code: the XS module
 * and libevloop-perlio may both be loaded in an embedding program). */
int evl__pio_is_evloop(PerlIO *f);

/* Whether the running op is eof(): see PerlIOEvloop_read. */
int evl__pio_in_eof_op(pTHX);

/* Warns in the "layer" category, as perl does for unknown layers. */
void evl__pio_warn(pTHX_ const char *fmt, const char *a, const char *b);

/* Set_ptrcnt's work, shared by both layers' fast gets: the reader is
 * done with the bytes up to offset to (head <= to <= tail) of the read
 * buffer of f, an open :evloop. */
static inline void evl__pio_advance(PerlIO *f, PerlIOEvloop *e, size_t to)
{
    evl_buf *rb = &e->sh->s.rbuf;
    size_t tail = rb->tail;
    e->rd_room += to - rb->head;
    if (to >= tail)
        to = tail = 0;   /* empty: the next fill starts at the front */
    rb->head = to;
    rb->tail = tail;
    e->state |= ST_RDBUF;
    PerlIOBase(f)->flags |= PERLIO_F_RDBUF;
}

#endif
