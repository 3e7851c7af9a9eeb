/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* layer-api.h - what the :evloop layer offers the XS (perlio/xs/) beyond
 * its public header: attaching a handle's stream to a loop and handing it
 * to a driver (Linux::Event::Stream).  Both sides include this file, so
 * the compiler checks every call against the one prototype.
 *
 * Include perl's headers (EXTERN.h, perl.h, perliol.h) first, with or
 * without PERL_NO_GET_CONTEXT: unlike layer-internal.h this header
 * defines neither that nor the layer's own names. */
#ifndef EVL_LAYER_API_H
#define EVL_LAYER_API_H

#include "evloop-perlio.h"

/* Puts the :evloop layer of f (f or below it) under loop: the fd
 * becomes non-blocking and the loop writes the queue out; buffered
 * bytes are kept.  keep, if not NULL, gets a reference held until the
 * stream goes (the object that owns loop).  Returns 0 or -errno: EINVAL
 * when f has no :evloop layer, EBADF when it is closed. */
int evl__pio_attach(pTHX_ PerlIO *f, evl_loop *loop, SV *keep);

/* Hands the shared stream of f's :evloop layer (f or below it) to a
 * driver such as Linux::Event::Stream: attaches it to loop as
 * evl__pio_attach does, then installs cb and data.  While bound the
 * layer keeps no reference on the loop (a keep from an earlier attach
 * is dropped): the driver holds the handle, so a keep would make a
 * cycle; the driver must take the stream off the loop
 * (evl__pio_loop_gone) before the loop goes.
 * Reading is not started: the caller sets its framer and limits first,
 * then calls evl_stream_read_start.  gone(data), if set, is called when
 * the handle's layer lets go of the stream while it is bound, after the
 * stream was freed (the callbacks are cleared before the layer's close
 * settles it); it must not run Perl code.  print and
 * the driver's writes then share one queue.  Returns 0 and the stream
 * in *out, or -errno: EINVAL (no :evloop layer), EBADF (closed), EBUSY
 * (bound already). */
int evl__pio_bind(pTHX_ PerlIO *f, evl_loop *loop,
                  const struct evl_stream_callbacks *cb, void *data,
                  void (*gone)(void *data), evl_stream **out);

/* Undoes evl__pio_bind on the stream it returned: reading stops, the
 * callbacks, framer, watermarks and read cap are cleared, and the layer
 * has the stream to itself again (still on the loop: what is queued is
 * written behind).  discard: also drop the queue and stop the stream
 * for good (the caller closes the handle next). */
void evl__pio_unbind(pTHX_ evl_stream *s, int discard);

/* After evl__pio_unbind without discard: the stream, still on its loop,
 * holds keep (the loop's owner) as evl__pio_attach's keep does, so the
 * loop lives while the handle writes behind.  keep NULL drops it. */
void evl__pio_keep(pTHX_ evl_stream *s, SV *keep);

/* After evl__pio_unbind: the loop of s is about to be freed, so s
 * leaves it and the handle is on no loop again (a proactor's operations
 * are settled first, by running the loop, except at global destruction,
 * where buffered bytes may be dropped instead). */
void evl__pio_loop_gone(pTHX_ evl_stream *s);

/* Whether a layer call on the handle is inside a call into s: a
 * callback of a bound driver must then not run Perl code or close the
 * handle (the layer would touch freed memory when it returns), and
 * defers that work to the loop instead. */
int evl__pio_busy(const evl_stream *s);

#endif
