/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream.xs - Linux::Event::Stream over the :evloop layer's evl_stream.
 *
 * The Perl object is a blessed hash (Stream.pm validates the options)
 * carrying ext magic that points to a struct evlxs_stream.  The handle
 * gets the :evloop layer (pushed if it has none), and the Stream binds
 * the layer's own evl_stream (evl__pio_bind): reads land in the layer's
 * buffer, and `print $fh` and write() share one queue, in order.
 * Reads, framing (the C line/netstring/u32be framers), write-behind and
 * the watermarks are the C stream's; the Perl callbacks are called from
 * its callbacks.  A codec that is not one of the built-in classes is run
 * in Perl: its decode gets the input buffer by reference, as in the seed.
 *
 * The stream belongs to the handle, so it is never closed here: closing
 * after a drain waits for on_drain, and the Stream lets go of the
 * stream (evl__pio_unbind) before it closes the handle.  A print, flush
 * or close on the handle calls into the stream too; a callback that
 * comes from there (an error, the drain) must not run Perl code or close
 * the handle under the layer, so it is deferred to a zero timer on the
 * loop (evl__pio_busy).  A handle closed behind the Stream's back lets
 * it know (gone): the Stream then fails with io:EBADF and closes.
 *
 * Lifetime: while open, the stream holds itself (self_strong), so a
 * Stream nobody stored keeps serving, as in the seed; the close sequence
 * drops that reference after on_close, which breaks the cycle the seed
 * leaked.  The loop is held weakly (engine), and the layer keeps no
 * reference on it while bound: an open Stream reachable from nothing
 * but itself must not keep its loop alive, or dropping both would leak
 * the loop's fds and the Stream for ever.  Instead the Stream is one of
 * the engine's dependants (dep): when the loop goes, the Stream closes
 * without callbacks (stream_loop_gone) and lets go of itself. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"
#include "perliol.h"
#include "layer-api.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/uio.h>
#include <stdio.h>

enum {
	ST_CLOSED = 0x01,
	ST_CLOSING = 0x02,
	ST_PAUSED = 0x04,
	ST_BLOCKED = 0x08,
	ST_CLOSE_CALLED = 0x10,	/* on_close ran (or is running) */
	ST_IN_INIT = 0x20,
	ST_FAILED = 0x40,	/* on_error ran (or is running) */
};

/* Work deferred to the zero timer (see the top). */
enum {
	PEND_ERROR = 0x01,	/* pend_code, pend_msg */
	PEND_DRAIN = 0x02,	/* the queue emptied while closing */
	PEND_GONE = 0x04,	/* the handle let go of the stream */
};

enum codec_mode { CODEC_RAW, CODEC_C, CODEC_PERL };

struct evlxs_stream {
	struct evlxs_dep dep;	/* on eng's list while self_strong is held */
	evl_stream *s;		/* the layer's, while bound; else NULL */
	evl_framer fr;
	evl_timer defer;
	unsigned pending;	/* PEND_* */
	int pend_code;
	SV *pend_msg;
	struct evlxs_engine *eng;	/* NULL once the loop went */
	SV *engine;		/* weak RV to the loop object (see the top) */
	SV *self;		/* weak RV to the Perl object, for callbacks */
	SV *self_strong;	/* strong RV while open (see above) */
	SV *fh;
	SV *on_read, *on_message, *on_error, *on_close, *data;
	SV *on_handshake;	/* TLS (tls.xs started it on the layer's stream) */
	size_t in_read;		/* raw mode: the chunk on_read holds (start_tls consumes it) */
	SV *codec;		/* codec hash (C or Perl) */
	SV *inbuf;		/* CODEC_PERL: undecoded bytes */
	SV *last_error;
	int mode;
	int codec_kind;		/* EVL_FRAMER_* for CODEC_C */
	int chomp;		/* line: 0 keeps the "\n" */
	int append_newline;	/* line: encode adds a missing "\n" */
	IV max_line;		/* line: -1 undef (counts the "\n") */
	IV max_frame;		/* netstring/u32be: -1 undef */
	size_t max_inbuf;
	size_t low, high;
	int close_fh;
	unsigned state;
	int write_only;		/* O_WRONLY fd (a pipe's write end): never read */
	SV *spare;		/* the last message's SV, nobody else's: the next one's */
};

static int stream_mg_free(pTHX_ SV *sv, MAGIC *mg);
/* ithreads: the C stream, its callbacks and its SVs belong to the thread
 * that made it.  A new thread's copy of the object is inert (it would
 * otherwise free the parent's state a second time when it goes). */
static MGVTBL stream_vtbl = { NULL, NULL, NULL, NULL, stream_mg_free, NULL, evlxs_dup_inert, NULL };

static struct evlxs_stream *stream_of(pTHX_ SV *obj)
{
	MAGIC *mg;

	if (!SvROK(obj) || SvTYPE(SvRV(obj)) != SVt_PVHV)
		evlxs_croak(aTHX_ "not a Linux::Event::Stream object");
	mg = evlxs_magic(aTHX_ obj, &stream_vtbl);
	if (!mg)
		evlxs_croak(aTHX_ "Linux::Event::Stream object is not initialised");
	if (mg->mg_ptr == NULL)
		evlxs_croak(aTHX_ "Linux::Event::Stream: a thread's copy of a stream "
		      "cannot be used (streams stay with the thread that made them)");
	return (struct evlxs_stream *)mg->mg_ptr;
}

static void set_error(pTHX_ struct evlxs_stream *x, SV *msg)
{
	if (x->last_error)
		SvREFCNT_dec(x->last_error);
	x->last_error = msg;
}

static void call_cb(pTHX_ struct evlxs_stream *x, SV *cb, SV *a1, int with_a1)
{
	SV *args[3];
	int n = 0;

	args[n++] = x->self;
	if (with_a1)
		args[n++] = a1;
	args[n++] = x->data ? x->data : &PL_sv_undef;
	evlxs_call(aTHX_ x->eng, cb, args, n);
}

/* Each C callback holds the Perl object for its duration: a callback may
 * close the stream, whose close drops the object's last reference; the
 * object (and x) must then go only when the callback is done with x.
 * Closing the handle from inside a callback frees the layer's evl_stream;
 * stream.c's dispatch guard sees that (evl_stream_free clears it). */
#define HOLD(x, hold) SV *hold = SvROK((x)->self) ? SvREFCNT_inc_simple_NN(SvRV((x)->self)) : NULL
#define UNHOLD(hold) do { if (hold) SvREFCNT_dec(hold); } while (0)

/* The close sequence: closed, stop the C stream, close the fh if asked,
 * on_close once, then let go of ourselves.  loop_gone: the loop is being
 * freed (stream_loop_gone): the handle leaves it, and no callback runs. */
static void close_stream(pTHX_ struct evlxs_stream *x, int loop_gone)
{
	SV *hold;
	evl_stream *s = x->s;

	if (x->state & ST_CLOSE_CALLED)
		return;
	x->state |= ST_CLOSED | ST_CLOSE_CALLED;
	x->state &= ~ST_CLOSING;
	x->pending = 0;
	if (evl_timer_is_active(&x->defer))	/* the loop may be gone (global destruction) */
		evl_timer_stop(&x->defer);
	/* The handle gets its stream back.  When the handle closes next,
	 * what is queued goes (close drops it), or the close would wait
	 * for a peer that may never read; else the layer writes it, on the
	 * loop, which the handle then keeps alive (unless it is going). */
	x->s = NULL;
	if (s) {
		/* The handle keeps the stream (close_fh 0): no deadline of ours
		 * may close its fd later. */
		evl_stream_set_timeouts(s, 0, 0, 0);
		evl__pio_unbind(aTHX_ s, x->close_fh);
		if (!x->close_fh && loop_gone)
			evl__pio_loop_gone(aTHX_ s);
		else if (!x->close_fh && x->engine && SvROK(x->engine))
			evl__pio_keep(aTHX_ s, SvRV(x->engine));
	}
	if (x->close_fh && x->fh) {
		IO *io = sv_2io(x->fh);
		if (io && IoIFP(io))
			do_close((GV *)SvRV(x->fh), FALSE);
	}
	if (x->self_strong && x->eng && !loop_gone)
		evlxs_dep_remove(x->eng, &x->dep);
	hold = x->self_strong;	/* keeps x alive through on_close */
	x->self_strong = NULL;
	if (x->on_close && !loop_gone)
		call_cb(aTHX_ x, x->on_close, NULL, 0);
	if (hold)
		SvREFCNT_dec(hold);
}

static void finish_close(pTHX_ struct evlxs_stream *x)
{
	close_stream(aTHX_ x, 0);
}

/* The engine is being freed (evlxs_engine_deps_gone, which unlinked
 * dep): an open Stream closes without callbacks, its handle leaves the
 * loop, and the Stream lets go of itself. */
static void stream_loop_gone(pTHX_ struct evlxs_dep *d)
{
	struct evlxs_stream *x = (struct evlxs_stream *)((char *)d -
		offsetof(struct evlxs_stream, dep));

	x->eng = NULL;			/* nothing calls back any more */
	close_stream(aTHX_ x, 1);	/* may free x */
}

/* An error: on_error once, then the close.  err 0 is a codec or buffer
 * error, bad input that does not make the output wrong: what was written
 * before it (the replies to the messages before the bad one) still goes
 * out, and the close waits for the queue (cb_drain), as
 * close_after_drain does.  An I/O error closes at once. */
static void fail(pTHX_ struct evlxs_stream *x, int err, SV *msg)
{
	if (x->state & ST_CLOSED) {
		SvREFCNT_dec(msg);
		return;
	}
	if (x->state & ST_FAILED) {
		/* The drain after a codec error failed: reported already. */
		SvREFCNT_dec(msg);
		x->state |= ST_CLOSED;
		finish_close(aTHX_ x);
		return;
	}
	set_error(aTHX_ x, msg);
	x->state |= ST_FAILED | (err == 0 ? ST_CLOSING | ST_PAUSED : ST_CLOSED);
	if (x->s)
		evl_stream_read_stop(x->s);
	if (x->on_error) {
		/* Not mortal: no FREETMPS runs while the loop does. */
		SV *e = newSViv(err);
		call_cb(aTHX_ x, x->on_error, e, 1);
		SvREFCNT_dec(e);
	}
	if (!(x->state & ST_CLOSED) && x->s && evl_stream_queued(x->s) > 0)
		return;	/* cb_drain (or an error while draining) finishes */
	finish_close(aTHX_ x);
}

/* The zero timer: what a callback could not do inside a layer call. */
static void cb_defer(evl_timer *t)
{
	struct evlxs_stream *x = (struct evlxs_stream *)t->data;
	dEVLXS_THX(x->eng->perl);
	unsigned pending = x->pending;
	HOLD(x, hold);

	/* A layer call that runs the loop (a proactor's flush waits
	 * through completions) is still going: later. */
	if (x->s && evl__pio_busy(x->s)) {
		evl_timer_start(&x->defer, cb_defer, 1000000, 0);
		UNHOLD(hold);
		return;
	}
	x->pending = 0;
	if (pending & PEND_ERROR) {
		SV *msg = x->pend_msg;
		x->pend_msg = NULL;
		fail(aTHX_ x, x->pend_code, msg);
	} else if (pending & PEND_GONE) {
		fail(aTHX_ x, EBADF, newSVpvf("io:%d", EBADF));
	} else if ((pending & PEND_DRAIN) && (x->state & ST_CLOSING) &&
		   (!x->s || evl_stream_queued(x->s) == 0)) {
		finish_close(aTHX_ x);
	}
	UNHOLD(hold);
}

static void defer(pTHX_ struct evlxs_stream *x, unsigned what)
{
	x->pending |= what;
	if (PL_phase != PERL_PHASE_DESTRUCT && !evl_timer_is_active(&x->defer))
		evl_timer_start(&x->defer, cb_defer, 0, 0);
}

/* The layer is about to free the stream (its handle was closed or
 * popped): no Perl code here, the timer reports it. */
static void cb_gone(void *data)
{
	struct evlxs_stream *x = (struct evlxs_stream *)data;
	dEVLXS_THX(x->eng->perl);

	x->s = NULL;
	if (!(x->state & ST_CLOSE_CALLED))
		defer(aTHX_ x, PEND_GONE);
}

static struct evlxs_stream *from_c(evl_stream *s)
{
	return (struct evlxs_stream *)s->data;
}

/* ------------------------------------------------------------ C callbacks */


static size_t read_body(pTHX_ struct evlxs_stream *x, const char *p, size_t len, int held);

static size_t cb_read(evl_stream *s, const char *p, size_t len)
{
	struct evlxs_stream *x = from_c(s);
	dEVLXS_THX(x->eng->perl);
	size_t used;

	if (x->state & (ST_CLOSED | ST_CLOSING | ST_PAUSED))
		return 0;
	HOLD(x, hold);
	x->in_read = len;
	used = read_body(aTHX_ x, p, len, hold != NULL);
	x->in_read = 0;
	UNHOLD(hold);
	return used;
}

/* Calls the codec's decode(codec, \$inbuf, \@out) in the caller's
 * scope.  Returns 1 when it asked for more bytes, 0 on a decode error
 * (*errmsg: its text, a new SV, or NULL), -1 when it died (kept as the
 * loop's error by evlxs_call's rule). */
static int call_decode(pTHX_ struct evlxs_stream *x, AV *out, SV **errmsg)
{
	dSP;
	SV **decode = hv_fetchs((HV *)SvRV(x->codec), "decode", 0);
	int count, ok = 0;

	*errmsg = NULL;
	PUSHMARK(SP);
	XPUSHs(x->codec);
	XPUSHs(sv_2mortal(newRV_inc(x->inbuf)));
	XPUSHs(sv_2mortal(newRV_inc((SV *)out)));
	PUTBACK;
	count = call_sv(decode ? *decode : &PL_sv_undef, G_LIST | G_EVAL);
	SPAGAIN;
	if (SvTRUE(ERRSV)) {
		SP -= count;
		PUTBACK;
		evlxs_keep_error(aTHX_ x->eng);
		return -1;
	}
	if (count >= 1) {
		SV **base = SP - count + 1;
		ok = SvTRUE(base[0]);
		if (!ok && count >= 2 && SvOK(base[1]))
			*errmsg = newSVpvf("codec:%" SVf, SVfARG(base[1]));
	}
	SP -= count;
	PUTBACK;
	return ok;
}

/* A codec run in Perl: its decode consumes from our buffer; the
 * messages decoded before an error are delivered first. */
static void decode_in_perl(pTHX_ struct evlxs_stream *x)
{
	AV *out;
	SV *errmsg;
	SSize_t i, n;
	int ok;

	/* Every temporary inside this scope: the loop runs no FREETMPS. */
	ENTER;
	SAVETMPS;
	out = (AV *)sv_2mortal((SV *)newAV());
	ok = call_decode(aTHX_ x, out, &errmsg);
	if (ok < 0) {
		FREETMPS;
		LEAVE;
		return;
	}
	n = av_len(out) + 1;
	for (i = 0; i < n; i++) {
		SV **m = av_fetch(out, i, 0);
		if (x->state & ST_CLOSED)
			break;
		if (x->on_message)
			call_cb(aTHX_ x, x->on_message, m ? *m : &PL_sv_undef, 1);
	}
	FREETMPS;
	LEAVE;
	if (!ok) {
		fail(aTHX_ x, 0, errmsg ? errmsg : newSVpvs("codec:decode error"));
		return;
	}
	if (errmsg)
		SvREFCNT_dec(errmsg);
	if (x->max_inbuf && SvCUR(x->inbuf) > x->max_inbuf)
		fail(aTHX_ x, 0, newSVpvf("codec:max_inbuf_exceeded:%lu",
					  (unsigned long)x->max_inbuf));
}

/* Message SVs.  A new SV per message and its free were a tenth of the
 * per-message cost of an echo, so the SV handed to on_message (or
 * on_read) is used again for the next one when the callback left
 * nothing holding it: no other reference, no magic (a weak reference
 * is magic), still a plain string.  A buffer a copy still shares (copy
 * on write: a signature's $line, or a global it was stored in) is
 * dropped rather than written over.  Not mortal: no FREETMPS runs while
 * the loop does, so a mortal per message would pile up until run
 * returns.  Returns an SV holding p[0..len) plus, if nl, a "\n". */
#define EVLXS_SPARE_MAX 65536	/* a bigger buffer is not kept */

static SV *msg_new(pTHX_ struct evlxs_stream *x, const char *p, size_t len, int nl)
{
	SV *msg = x->spare;
	char *d;

	x->spare = NULL;
	if (msg) {
		if (SvIsCOW(msg))
			sv_force_normal_flags(msg, SV_COW_DROP_PV);
		SvPOK_only(msg);	/* no UTF8, no numeric value */
		d = SvGROW(msg, len + 2);
	} else {
		msg = newSV(len + 2);
		SvPOK_on(msg);
		d = SvPVX(msg);
	}
	memcpy(d, p, len);
	if (nl)
		d[len++] = '\n';
	d[len] = '\0';
	SvCUR_set(msg, len);
	return msg;
}

static void msg_done(pTHX_ struct evlxs_stream *x, SV *msg, int x_alive)
{
	if (x_alive && !x->spare && SvREFCNT(msg) == 1 && SvTYPE(msg) == SVt_PV && !SvMAGICAL(msg) &&
	    !SvREADONLY(msg) && !SvROK(msg) && SvLEN(msg) <= EVLXS_SPARE_MAX) {
		x->spare = msg;
		return;
	}
	SvREFCNT_dec(msg);
}

/* held: the caller holds the object, so x outlives the callback. */
static size_t read_body(pTHX_ struct evlxs_stream *x, const char *p, size_t len, int held)
{
	if (x->mode == CODEC_RAW) {
		if (x->on_read) {
			SV *chunk = msg_new(aTHX_ x, p, len, 0);
			call_cb(aTHX_ x, x->on_read, chunk, 1);
			msg_done(aTHX_ x, chunk, held);
		}
		return len;
	}
	sv_catpvn(x->inbuf, p, len);
	decode_in_perl(aTHX_ x);
	return len;
}

static void cb_message(evl_stream *s, const char *p, size_t len)
{
	struct evlxs_stream *x = from_c(s);
	dEVLXS_THX(x->eng->perl);
	SV *msg;

	if (x->state & ST_CLOSED)
		return;
	msg = msg_new(aTHX_ x, p, len, x->codec_kind == EVL_FRAMER_LINE && !x->chomp);
	if (x->on_message) {
		HOLD(x, hold);
		call_cb(aTHX_ x, x->on_message, msg, 1);
		/* x lives while hold does; without one it may be gone. */
		msg_done(aTHX_ x, msg, hold != NULL);
		UNHOLD(hold);
		return;
	}
	msg_done(aTHX_ x, msg, 1);
}

static void cb_eof(evl_stream *s)
{
	struct evlxs_stream *x = from_c(s);
	dEVLXS_THX(x->eng->perl);

	if (x->state & ST_CLOSED)
		return;
	/* The peer is done sending: what we queued still goes out, then the
	 * stream closes (the seed closed at once and lost it). */
	x->state |= ST_CLOSING;
	if (evl_stream_queued(s) == 0) {
		HOLD(x, hold);
		finish_close(aTHX_ x);
		UNHOLD(hold);
	}	/* else cb_drain finishes */
}

static void cb_drain(evl_stream *s)
{
	struct evlxs_stream *x = from_c(s);
	dEVLXS_THX(x->eng->perl);

	if ((x->state & (ST_CLOSED | ST_CLOSING)) != ST_CLOSING)
		return;
	if (evl__pio_busy(s)) {
		defer(aTHX_ x, PEND_DRAIN);
		return;
	}
	{
		HOLD(x, hold);
		finish_close(aTHX_ x);
		UNHOLD(hold);
	}
}

/* Why the framer stopped, in the seed's words. */
static SV *framer_error_text(pTHX_ struct evlxs_stream *x, evl_stream *s, int err)
{
	evl_buf *rb = evl_stream_rbuf(s);
	const char *p = evl_buf_data(rb);
	size_t len = evl_buf_len(rb);

	switch (x->codec_kind) {
	case EVL_FRAMER_LINE:
		/* A line over max_line (ended, or already longer than that
		 * without its end: the framer fails it at once), or input over
		 * max_inbuf (which also bounds the framer) that holds no line
		 * end yet. */
		if (x->max_line >= 0 && (memchr(p, '\n', len) || len > (size_t)x->max_line))
			return newSVpvf("codec:line too long (>%" IVdf " bytes)", x->max_line);
		break;
	case EVL_FRAMER_NETSTRING:
	case EVL_FRAMER_U32BE:
		/* Malformed, or (u32be) cut off by EOF: the framer's words. */
		if (err == -EBADMSG && evl_framer_strerror(&x->fr))
			return newSVpvf("codec:%s", evl_framer_strerror(&x->fr));
		if (x->max_frame >= 0)
			return newSVpvf("codec:frame too large (>%" IVdf " bytes)", x->max_frame);
		break;
	case EVL_FRAMER_DELIMITER:
	case EVL_FRAMER_FIXED:
	case EVL_FRAMER_LENGTH_PREFIX:
	case EVL_FRAMER_VARINT:
		/* The framer's own words: truncated record, invalid length,
		 * invalid varint, or a frame over its limit.  Without them the
		 * limit was the Stream's (input over max_inbuf). */
		if (err == -EMSGSIZE && evl_framer_strerror(&x->fr))
			return newSVpvf("codec:frame too large (>%" IVdf " bytes)", x->max_frame);
		if (evl_framer_strerror(&x->fr))
			return newSVpvf("codec:%s", evl_framer_strerror(&x->fr));
		break;
	}
	return newSVpvf("codec:max_inbuf_exceeded:%lu", (unsigned long)x->max_inbuf);
}

static void cb_error(evl_stream *s, int err)
{
	struct evlxs_stream *x = from_c(s);
	dEVLXS_THX(x->eng->perl);
	SV *msg;
	int code = -err;

	if (x->state & ST_CLOSED)
		return;
	if (x->mode == CODEC_C && (err == -EMSGSIZE || err == -EBADMSG)) {
		msg = framer_error_text(aTHX_ x, s, err);
		code = 0;
	} else if (err == -EMSGSIZE) {
		msg = newSVpvf("codec:max_inbuf_exceeded:%lu", (unsigned long)x->max_inbuf);
		code = 0;
	} else if (evl_stream_tls_error(s) && (err == -EVL_ETLS || err == -ETIMEDOUT)) {
		msg = newSVpvf("tls:%s", evl_stream_tls_error(s));
	} else {
		msg = newSVpvf("io:%d", code);
	}
	if (evl__pio_busy(s)) {
		/* First error only: stream.c reports one. */
		if (!(x->pending & PEND_ERROR)) {
			x->pend_code = code;
			x->pend_msg = msg;
			defer(aTHX_ x, PEND_ERROR);
		} else {
			SvREFCNT_dec(msg);
		}
		return;
	}
	{
		HOLD(x, hold);
		fail(aTHX_ x, code, msg);
		UNHOLD(hold);
	}
}

/* TLS: on_handshake($stream, \%info, $data). */
static void cb_handshake(evl_stream *s)
{
	struct evlxs_stream *x = from_c(s);
	dEVLXS_THX(x->eng->perl);
	SV *info;

	if ((x->state & ST_CLOSED) || !x->on_handshake)
		return;
	info = evlxs_tls_info(aTHX_ s);
	{
		HOLD(x, hold);
		call_cb(aTHX_ x, x->on_handshake, info, 1);
		UNHOLD(hold);
	}
	SvREFCNT_dec(info);
}

static void cb_high(evl_stream *s)
{
	from_c(s)->state |= ST_BLOCKED;
}

static void cb_low(evl_stream *s)
{
	from_c(s)->state &= ~ST_BLOCKED;
}

static const struct evl_stream_callbacks stream_cbs = {
	.on_read = cb_read,
	.on_message = cb_message,
	.on_eof = cb_eof,
	.on_error = cb_error,
	.on_high_water = cb_high,
	.on_low_water = cb_low,
	.on_drain = cb_drain,
};

/* ------------------------------------------------------------ lifetime */

static void stream_release(pTHX_ struct evlxs_stream *x)
{
	if (x->self_strong && x->eng)	/* global destruction */
		evlxs_dep_remove(x->eng, &x->dep);
	x->state |= ST_CLOSED | ST_CLOSE_CALLED;
	if (evl_timer_is_active(&x->defer))	/* the loop may be gone (global destruction) */
		evl_timer_stop(&x->defer);
	if (x->s) {
		/* Freed while bound (global destruction): the handle keeps
		 * its stream. */
		evl_stream *s = x->s;
		x->s = NULL;
		evl__pio_unbind(aTHX_ s, 0);
	}
	SvREFCNT_dec(x->pend_msg);
	SvREFCNT_dec(x->engine);
	SvREFCNT_dec(x->self);
	SvREFCNT_dec(x->fh);
	SvREFCNT_dec(x->on_read);
	SvREFCNT_dec(x->on_message);
	SvREFCNT_dec(x->on_error);
	SvREFCNT_dec(x->on_close);
	SvREFCNT_dec(x->on_handshake);
	SvREFCNT_dec(x->data);
	SvREFCNT_dec(x->codec);
	SvREFCNT_dec(x->inbuf);
	SvREFCNT_dec(x->last_error);
	SvREFCNT_dec(x->spare);
	Safefree(x);
}

static int stream_mg_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct evlxs_stream *x = (struct evlxs_stream *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (x)
		stream_release(aTHX_ x);
	mg->mg_ptr = NULL;
	return 0;
}

static SV *opt(pTHX_ HV *o, const char *key)
{
	SV **v = hv_fetch(o, key, strlen(key), 0);

	return (v && SvOK(*v)) ? *v : NULL;
}

static SV *cb_opt(pTHX_ HV *o, const char *key)
{
	SV *v = opt(aTHX_ o, key);

	return v ? newSVsv(v) : NULL;
}

/* binmode($fh, ':evloop') on both of a socket's PerlIOs, unless they
 * have it: they then share the stream we bind. */
static void stream_push_layer(pTHX_ IO *io)
{
	PerlIO *fps[2];
	int i;

	fps[0] = IoIFP(io);
	fps[1] = IoOFP(io) != IoIFP(io) ? IoOFP(io) : NULL;
	for (i = 0; i < 2; i++) {
		if (!fps[i] || evl_perlio_stream(aTHX_ fps[i]))
			continue;
		if (PerlIO_apply_layers(aTHX_ fps[i], NULL, ":evloop") != 0 ||
		    !evl_perlio_stream(aTHX_ fps[i]))
			evlxs_croak(aTHX_ "new(): fh cannot take the :evloop layer: %s",
			      strerror(errno ? errno : EINVAL));
	}
}

/* The callbacks and limits of the options Stream.pm checked. */
static void stream_options(pTHX_ struct evlxs_stream *x, HV *o)
{
	SV *v;

	x->on_read = cb_opt(aTHX_ o, "on_read");
	x->on_message = cb_opt(aTHX_ o, "on_message");
	x->on_error = cb_opt(aTHX_ o, "on_error");
	x->on_close = cb_opt(aTHX_ o, "on_close");
	x->data = cb_opt(aTHX_ o, "data");
	x->codec = cb_opt(aTHX_ o, "codec");
	x->close_fh = (v = opt(aTHX_ o, "close_fh")) ? SvTRUE(v) : 1;
	x->high = (v = opt(aTHX_ o, "high_watermark")) ? SvUV(v) : 1048576;
	x->low = (v = opt(aTHX_ o, "low_watermark")) ? SvUV(v) : 262144;
	if (x->low > x->high)
		x->low = x->high;
	x->max_inbuf = (v = opt(aTHX_ o, "max_inbuf")) ? SvUV(v) : 1048576;
}

/* How input is framed: raw (no on_message), a C framer (kind, from
 * Stream.pm: a built-in codec with its own subs, whose options are read
 * from the codec object), or the codec's Perl subs. */
static void stream_codec(pTHX_ struct evlxs_stream *x, const char *kind)
{
	HV *c;
	SV *v;
	size_t max;
	int rc;

	x->mode = CODEC_RAW;
	if (!x->on_message)
		return;
	if (!kind) {
		x->mode = CODEC_PERL;
		x->inbuf = newSVpvs("");
		return;
	}
	x->mode = CODEC_C;
	c = (HV *)SvRV(x->codec);
	x->chomp = (v = opt(aTHX_ c, "chomp")) ? SvTRUE(v) : 1;
	x->append_newline = (v = opt(aTHX_ c, "append_newline")) ? SvTRUE(v) : 1;
	x->max_line = (v = opt(aTHX_ c, "max_line")) ? SvIV(v) : -1;
	x->max_frame = (v = opt(aTHX_ c, "max_frame")) ? SvIV(v) : -1;
	/* The framer's limit: the codec's, within max_inbuf. */
	max = x->max_inbuf;
	if (strEQ(kind, "delimiter") || strEQ(kind, "fixed") || strEQ(kind, "length_prefix") ||
	    strEQ(kind, "varint")) {
		/* The protocol framers: their codec hash has the options. */
		rc = evlxs_framer_setup(aTHX_ x->codec, kind, max, &x->fr);
		x->codec_kind = x->fr.kind;
		if (x->codec_kind == EVL_FRAMER_FIXED)
			x->max_frame = (IV)x->fr.record_len;
		else
			x->max_frame = (IV)x->fr.max_len;
	} else if (strEQ(kind, "line")) {
		x->codec_kind = EVL_FRAMER_LINE;
		if (x->max_line >= 1 && (size_t)(x->max_line - 1) < max)
			max = x->max_line - 1;
		rc = evl_framer_init(&x->fr, EVL_FRAMER_LINE, 0, max ? max : 1, NULL, 0);
	} else {
		x->codec_kind = strEQ(kind, "netstring") ? EVL_FRAMER_NETSTRING
							 : EVL_FRAMER_U32BE;
		if (x->max_frame >= 0 && (size_t)x->max_frame < max)
			max = x->max_frame;
		rc = evl_framer_init(&x->fr, x->codec_kind,
				     x->codec_kind == EVL_FRAMER_NETSTRING ?
				     EVL_FRAMER_LEADING_ZEROS : 0,
				     max ? max : 1, NULL, 0);
	}
	if (rc < 0)
		evlxs_croak(aTHX_ "new(): codec setup failed: %s", strerror(-rc));
}

/* Binds the layer's stream of io to x and sets it up; on failure x is
 * closed (its magic frees it) and this croaks. */
static void stream_bind(pTHX_ struct evlxs_stream *x, SV *loop, IO *io, HV *o)
{
	SV *v;
	size_t rs, rmax;
	int rc;

	evl_timer_init(x->eng->loop, &x->defer);
	x->defer.data = x;
	/* Bound, the layer keeps no reference on the loop (see the top);
	 * close_stream gives it one back when write-behind outlives the
	 * Stream (close_fh 0). */
	PERL_UNUSED_ARG(loop);
	rc = evl__pio_bind(aTHX_ IoIFP(io), x->eng->loop, &stream_cbs, x, cb_gone, &x->s);
	if (rc < 0) {
		x->s = NULL;
		x->state |= ST_CLOSED | ST_CLOSE_CALLED;
		evlxs_croak(aTHX_ "new(): %s", strerror(-rc));
	}
	if (x->mode == CODEC_C)
		evl_stream_set_framer(x->s, &x->fr);
	evl_stream_set_watermarks(x->s, x->low, x->high, 0);
	rs = (v = opt(aTHX_ o, "read_size")) ? SvUV(v) : 0;
	rmax = x->mode == CODEC_RAW ? 0 : x->max_inbuf;
	evl_stream_set_read_limits(x->s, rmax, rs ? rs : 65536);
}

/* Open: x holds its object, and reading starts (input the layer
 * buffered already is delivered now).  A write-only fd is never read:
 * a proactor's read on it would fail with EBADF. */
static void stream_start(pTHX_ struct evlxs_stream *x, SV *self, int fd)
{
	int fl, rc;

	x->self_strong = newRV_inc(SvRV(self));
	x->dep.gone = stream_loop_gone;
	evlxs_dep_add(x->eng, &x->dep);
	fl = fcntl(fd, F_GETFL);
	x->write_only = fl >= 0 && (fl & O_ACCMODE) == O_WRONLY;
	rc = x->write_only ? 0 : evl_stream_read_start(x->s);
	if (rc < 0 && !(x->state & ST_CLOSED))
		fail(aTHX_ x, -rc, newSVpvf("io:%d", -rc));
}

MODULE = Linux::Event::Stream	PACKAGE = Linux::Event::Stream

PROTOTYPES: DISABLE

void
_init(SV *self, SV *loop, SV *fh, HV *o)
    PREINIT:
	struct evlxs_stream *x;
	struct evlxs_engine *eng;
	SV *v;
	IO *io;
	int fd;
    CODE:
	eng = evlxs_engine_from_sv(aTHX_ loop);
	if (!eng || !eng->loop)
		evlxs_croak(aTHX_ "new(): loop is not a Linux::Event loop");
	io = sv_2io(fh);
	if (!io || !IoIFP(io) || (fd = PerlIO_fileno(IoIFP(io))) < 0)
		evlxs_croak(aTHX_ "new(): fh has no fileno");
	stream_push_layer(aTHX_ io);
	Newxz(x, 1, struct evlxs_stream);
	x->eng = eng;
	/* Weak: the loop owns its open Streams, not the other way round. */
	x->engine = newSVsv(loop);
	if (SvROK(x->engine))
		sv_rvweaken(x->engine);
	x->self = newRV_inc(SvRV(self));
	sv_rvweaken(x->self);
	x->fh = newSVsv(fh);
	stream_options(aTHX_ x, o);
	stream_codec(aTHX_ x, (v = opt(aTHX_ o, "_c_codec")) ? SvPV_nolen(v) : NULL);
	/* Nothing reads or calls back until the magic is in place. */
	evlxs_magic_attach(aTHX_ SvRV(self), &stream_vtbl, x);
	stream_bind(aTHX_ x, loop, io, o);
	stream_start(aTHX_ x, self, fd);

SV *
fh(SV *self)
    CODE:
	RETVAL = newSVsv(stream_of(aTHX_ self)->fh);
    OUTPUT:
	RETVAL

SV *
is_closed(SV *self)
    ALIAS:
	is_closing = 1
	is_write_blocked = 2
    PREINIT:
	struct evlxs_stream *x;
	unsigned bit;
    CODE:
	x = stream_of(aTHX_ self);
	bit = ix == 0 ? ST_CLOSED : ix == 1 ? ST_CLOSING : ST_BLOCKED;
	RETVAL = (x->state & bit) ? &PL_sv_yes : &PL_sv_no;
	/* A print queues without the high-water check that write() makes:
	 * above high_watermark counts as blocked whoever queued it. */
	if (ix == 2 && !(x->state & ST_CLOSED) && x->s && x->high &&
	    evl_stream_queued(x->s) > x->high)
		RETVAL = &PL_sv_yes;
    OUTPUT:
	RETVAL

UV
buffered_bytes(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	RETVAL = (x->state & ST_CLOSED) || !x->s ? 0 : evl_stream_queued(x->s);
    OUTPUT:
	RETVAL

SV *
last_error(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	RETVAL = x->last_error ? newSVsv(x->last_error) : &PL_sv_undef;
    OUTPUT:
	RETVAL

int
write(SV *self, SV *bytes = &PL_sv_undef)
    PREINIT:
	struct evlxs_stream *x;
	const char *p;
	STRLEN n;
	int rc;
    CODE:
	x = stream_of(aTHX_ self);
	if ((x->state & (ST_CLOSED | ST_CLOSING)) || !x->s)
		XSRETURN_IV(0);
	if (!SvOK(bytes))
		XSRETURN_IV(1);
	p = SvPVbyte(bytes, n);
	if (n == 0)
		XSRETURN_IV(1);
	rc = evl_stream_write(x->s, p, n);
	if (rc < 0) {
		/* The C stream reported it through cb_error already when it
		 * was an I/O error; anything else is ours to report. */
		if (!(x->state & ST_CLOSED))
			fail(aTHX_ x, -rc, newSVpvf("io:%d", -rc));
		evlxs_rethrow(aTHX_ x->eng);
		XSRETURN_IV(0);
	}
	evlxs_rethrow(aTHX_ x->eng);
	RETVAL = 1;
    OUTPUT:
	RETVAL

int
write_message(SV *self, SV *msg = &PL_sv_undef)
    PREINIT:
	struct evlxs_stream *x;
	const char *p;
	STRLEN n;
	int rc;
    CODE:
	x = stream_of(aTHX_ self);
	if ((x->state & (ST_CLOSED | ST_CLOSING)) || !x->s)
		XSRETURN_IV(0);
	if (x->mode != CODEC_C) {
		/* A codec in Perl (or none): Stream.pm encodes and writes. */
		int count;
		SV *ret;
		PUSHMARK(SP);
		XPUSHs(self);
		XPUSHs(msg);
		PUTBACK;
		count = call_method("_write_message_perl", G_SCALAR);
		SPAGAIN;
		ret = count ? POPs : &PL_sv_undef;
		RETVAL = SvTRUE(ret) ? 1 : 0;
		PUTBACK;
		XSRETURN_IV(RETVAL);
	}
	p = SvOK(msg) ? SvPVbyte(msg, n) : (n = 0, "");
	{
		char head[EVL_FRAMER_HEAD_MAX];
		struct iovec iov[3];
		int cnt = 0;

		if (x->codec_kind >= EVL_FRAMER_DELIMITER) {
			/* The protocol framers encode themselves. */
			char tail[EVL_FRAMER_TAIL_MAX];
			size_t hl = 0, tl = 0;

			if (evl_framer_encode(&x->fr, n, head, &hl, tail, &tl) < 0)
				evlxs_croak(aTHX_ "write_message(): a message of %lu bytes does not "
					    "fit the codec (over max_frame, beyond what the length "
					    "field holds, or not the record size)", (unsigned long)n);
			if (hl)
				iov[cnt++] = (struct iovec){ head, hl };
			iov[cnt++] = (struct iovec){ (void *)p, n };
			if (tl)
				iov[cnt++] = (struct iovec){ tail, tl };
			rc = evl_stream_writev(x->s, iov, cnt);
			goto written;
		} else if (x->codec_kind == EVL_FRAMER_NETSTRING) {
			iov[cnt++] = (struct iovec){ head, (size_t)snprintf(head, sizeof head, "%lu:", (unsigned long)n) };
			iov[cnt++] = (struct iovec){ (void *)p, n };
			iov[cnt++] = (struct iovec){ (void *)",", 1 };
		} else if (x->codec_kind == EVL_FRAMER_U32BE) {
			uint32_t be = htonl((uint32_t)n);
			memcpy(head, &be, 4);
			iov[cnt++] = (struct iovec){ head, 4 };
			iov[cnt++] = (struct iovec){ (void *)p, n };
		} else {
			iov[cnt++] = (struct iovec){ (void *)p, n };
			if (x->append_newline && (n == 0 || p[n - 1] != '\n'))
				iov[cnt++] = (struct iovec){ (void *)"\n", 1 };
		}
		rc = evl_stream_writev(x->s, iov, cnt);
	}
written:
	if (rc < 0) {
		if (!(x->state & ST_CLOSED))
			fail(aTHX_ x, rc == -EMSGSIZE ? 0 : -rc, newSVpvf("io:%d", -rc));
		evlxs_rethrow(aTHX_ x->eng);
		XSRETURN_IV(0);
	}
	evlxs_rethrow(aTHX_ x->eng);
	RETVAL = 1;
    OUTPUT:
	RETVAL

SV *
pause_read(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	if (!(x->state & (ST_CLOSED | ST_PAUSED))) {
		x->state |= ST_PAUSED;
		if (x->s)
			evl_stream_read_stop(x->s);
	}
	RETVAL = newSVsv(self);
    OUTPUT:
	RETVAL

SV *
resume_read(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	if ((x->state & ST_PAUSED) && !(x->state & (ST_CLOSED | ST_CLOSING))) {
		x->state &= ~ST_PAUSED;
		if (x->s && !x->write_only)
			evl_stream_read_start(x->s);
	}
	RETVAL = newSVsv(self);
    OUTPUT:
	RETVAL

SV *
close_after_drain(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	RETVAL = newSVsv(self);
	if (!(x->state & (ST_CLOSED | ST_CLOSING))) {
		x->state |= ST_CLOSING | ST_PAUSED;
		if (x->s) {
			evl_stream_read_stop(x->s);
			/* TLS: close_notify goes out with the queue. */
			(void)evl_stream_tls_shutdown(x->s);
		}
		/* Now if nothing is queued, else cb_drain. */
		if (!x->s || evl_stream_queued(x->s) == 0)
			finish_close(aTHX_ x);
		evlxs_rethrow(aTHX_ x->eng);
	}
    OUTPUT:
	RETVAL

void
_set_timeouts(SV *self, NV idle, NV rd, NV wr)
    PREINIT:
	struct evlxs_stream *x;
	NV secs[3];
	uint64_t ns[3];
	int i, rc;
    CODE:
	x = stream_of(aTHX_ self);
	if ((x->state & ST_CLOSED) || !x->s)
		XSRETURN_EMPTY;
	secs[0] = idle;
	secs[1] = rd;
	secs[2] = wr;
	for (i = 0; i < 3; i++) {
		NV v = secs[i] * 1e9;	/* Stream.pm checked >= 0 */
		ns[i] = v >= 18e18 ? (uint64_t)18e18 : (uint64_t)v;
		if (secs[i] > 0 && ns[i] == 0)
			ns[i] = 1;	/* a positive timeout is never "none" */
	}
	rc = evl_stream_set_timeouts(x->s, ns[0], ns[1], ns[2]);
	if (rc < 0)
		evlxs_croak(aTHX_ "set_timeouts: %s", strerror(-rc));

SV *
close(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	RETVAL = newSVsv(self);
	if (!(x->state & ST_CLOSE_CALLED)) {
		x->state |= ST_CLOSED;
		/* Immediate: with close_fh what is queued is dropped, as the
		 * seed does; without, it is the handle's (see finish_close). */
		finish_close(aTHX_ x);
		evlxs_rethrow(aTHX_ x->eng);
	}
    OUTPUT:
	RETVAL

void
_tls_attach(SV *self, SV *on_handshake = &PL_sv_undef)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	if (!x->s || (x->state & ST_CLOSED))
		evlxs_croak(aTHX_ "start_tls(): the stream is closed");
	SvREFCNT_dec(x->on_handshake);
	x->on_handshake = SvOK(on_handshake) ? newSVsv(on_handshake) : NULL;
	evl_stream_tls_on_handshake(x->s, cb_handshake);

void
_tls_prepare(SV *self)
    PREINIT:
	struct evlxs_stream *x;
    CODE:
	x = stream_of(aTHX_ self);
	/* STARTTLS from on_read: the chunk it holds was plaintext; what
	 * follows it in the buffer is the first ciphertext.  (stream.c
	 * consumes what on_read used afterwards, from what is left: none.) */
	if (x->s && x->in_read > 0 && x->mode == CODEC_RAW) {
		evl_buf *rb = evl_stream_rbuf(x->s);
		evl_buf_consume(rb, x->in_read < evl_buf_len(rb) ? x->in_read : evl_buf_len(rb));
		x->in_read = 0;
	}
