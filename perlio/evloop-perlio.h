/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evloop-perlio.h - the :evloop and :evline PerlIO layers, for C code that
 * uses perl's PerlIO API (an embedding program, or another XS module).
 *
 * Include after EXTERN.h, perl.h and perliol.h: the functions take the
 * interpreter (pTHX_) like every perl API function.  Link with
 * libevloop-perlio (pkg-config evloop for libevloop itself); perl's own
 * symbols come from the embedding program.
 *
 * :evloop is a buffering layer over an evl_stream: the layer's read
 * buffer is the stream's read buffer and its writes are the stream's
 * write queue.  :evline, stacked above it, shows the buffer only up to
 * the end of the first complete line.  See PerlIO::evloop's POD for the
 * Perl-level behaviour.
 */
#ifndef EVLOOP_PERLIO_H
#define EVLOOP_PERLIO_H

#include "evloop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The layer tables; register them with PerlIO_define_layer (the XS
 * module does this at load time, evl_perlio_fdopen does it on demand). */
EVL_EXPORT extern PERLIO_FUNCS_DECL(PerlIOEvloop_funcs);
EVL_EXPORT extern PERLIO_FUNCS_DECL(PerlIOEvline_funcs);

/* Opens an :evloop PerlIO over fd, which it then owns (PerlIO_close
 * closes it).  mode is PerlIO_fdopen's: "r", "w", "a", "r+", ...
 * loop NULL: caller-driven, exactly like a Perl handle; a blocking fd
 * blocks in Fill/Flush, a non-blocking one returns EAGAIN from reads and
 * queues writes.  With a loop the fd is made non-blocking and the loop
 * writes the queue out whenever the fd is writable (write-behind); a
 * flush then only writes what the fd takes at once, and PerlIO_close
 * still waits for the queue (close-after-drain through the loop is not
 * offered here).  On a proactor loop (EVL_PROACTOR) a regular file reads
 * ahead through io_uring (the next chunks are in flight while perl
 * consumes the current one), socket and file writes are io_uring ops,
 * and a flush that must wait (close, a blocking-style flush point) runs
 * the loop until the queue is written; the bytes and results are those
 * of :perlio.  The loop must outlive the handle.  Returns NULL with
 * errno set (EBADF, EINVAL, ENOMEM, ...). */
EVL_EXPORT PerlIO *evl_perlio_fdopen(pTHX_ evl_loop *loop, int fd, const char *mode);

/* Puts the :evloop layer of an open PerlIO (f or below it) under loop,
 * as evl_perlio_fdopen does with a loop: the fd becomes non-blocking,
 * buffered input and queued output are kept, and the loop writes the
 * queue out from then on.  On a socket both of perl's PerlIOs follow
 * (they share the stream).  A regular file under a reactor stays as it
 * is (it is always ready).  Attaching to another loop first writes the
 * queue out.  The loop must outlive the handle.  Returns 0, -EINVAL (no
 * :evloop layer, or loop NULL), -EBADF (closed), or -errno from setting
 * the fd up. */
EVL_EXPORT int evl_perlio_attach(pTHX_ PerlIO *f, evl_loop *loop);

/* The evl_stream behind f's topmost :evloop layer (looking through
 * :evline and other layers above it), or NULL if f has none.  The stream
 * stays the layer's: C code may look at its buffers (evl_stream_rbuf),
 * queue bytes (evl_stream_write) or flush it, but must not free, close
 * or re-initialise it.  On a socket the handle's read and write PerlIOs
 * return the same stream. */
EVL_EXPORT evl_stream *evl_perlio_stream(pTHX_ PerlIO *f);

#ifdef __cplusplus
}
#endif
#endif
