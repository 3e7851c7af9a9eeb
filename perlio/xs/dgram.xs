/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* dgram.xs - Linux::Event::Datagram over libevloop's evl_dgram.
 *
 * The Perl object is a blessed hash (Datagram.pm checks the options,
 * makes and binds the socket, and keeps the handle in $self->{fh})
 * carrying ext magic that points to a struct evlxs_dgram, which holds
 * the evl_dgram.  The fd is the handle's: the evl_dgram never closes it
 * (EVL_DGRAM_NOCLOSE), and Datagram.pm closes the handle.
 *
 * Lifetime: unlike an open Stream, a Datagram does not hold itself.
 * Dropping the last reference frees it (the magic's svt_free stops the
 * watcher and frees the buffers and the queue) and then the hash lets go
 * of the handle, which closes the socket.  The loop is not held either:
 * the Datagram is one of the engine's dependants, and when the loop goes
 * the evl_dgram is freed first (dgram_loop_gone), without callbacks.
 * Every C callback holds the object while it calls Perl, so a callback
 * that drops the last reference frees it only when the callback is done
 * with it; evl_dgram's own guards cover a close or free from inside. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

enum {
	DG_OPEN = 0x01,		/* x->d is initialised and not freed */
	DG_BLOCKED = 0x02,	/* above high_watermark, low not reached */
	DG_CLOSED = 0x04,	/* closed (by close, a failed start or the loop's end) */
	DG_PAUSED = 0x08,	/* pause() before the start: apply it there */
};

struct evlxs_dgram {
	struct evlxs_dep dep;	/* on eng's list while DG_OPEN */
	evl_dgram d;
	struct evlxs_engine *eng;	/* NULL once the loop went */
	SV *self;		/* weak RV to the Perl object, for callbacks */
	SV *on_datagram, *on_error, *on_drain;
	AV *pending;		/* sends made before the start: [bytes, addr|undef] */
	size_t bufsize;
	unsigned batch;
	size_t low, high, wmax;
	unsigned state;
};

static int dgram_mg_free(pTHX_ SV *sv, MAGIC *mg);
/* ithreads: the C state stays with the thread that made it. */
static MGVTBL dgram_vtbl = { NULL, NULL, NULL, NULL, dgram_mg_free, NULL, evlxs_dup_inert, NULL };

static struct evlxs_dgram *dgram_of(pTHX_ SV *obj, const char *method)
{
	MAGIC *mg;

	if (!SvROK(obj) || SvTYPE(SvRV(obj)) != SVt_PVHV ||
	    !(mg = evlxs_magic(aTHX_ obj, &dgram_vtbl)))
		evlxs_croak(aTHX_ "%s(): not a Linux::Event::Datagram object", method);
	if (mg->mg_ptr == NULL)
		evlxs_croak(aTHX_ "%s(): a thread's copy of a Linux::Event::Datagram cannot be "
			    "used (datagrams stay with the thread that made them)", method);
	return (struct evlxs_dgram *)mg->mg_ptr;
}

/* Ends the C side: stop watching, free buffers and queue, leave the
 * engine's list.  No callback runs. */
static void dgram_shut(pTHX_ struct evlxs_dgram *x)
{
	if (x->state & DG_CLOSED)
		return;
	if (x->state & DG_OPEN)
		evl_dgram_free(&x->d);
	x->state = (x->state & ~DG_OPEN) | DG_CLOSED;
	if (x->eng)
		evlxs_dep_remove(x->eng, &x->dep);
	if (x->pending)
		av_clear(x->pending);
}

static void dgram_loop_gone(pTHX_ struct evlxs_dep *d)
{
	struct evlxs_dgram *x = (struct evlxs_dgram *)((char *)d -
		offsetof(struct evlxs_dgram, dep));

	/* dep is unlinked already. */
	x->eng = NULL;
	if (x->state & DG_OPEN)
		evl_dgram_free(&x->d);
	x->state = (x->state & ~DG_OPEN) | DG_CLOSED;
}

static int dgram_mg_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct evlxs_dgram *x = (struct evlxs_dgram *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (x) {
		dgram_shut(aTHX_ x);
		SvREFCNT_dec(x->self);
		SvREFCNT_dec(x->on_datagram);
		SvREFCNT_dec(x->on_error);
		SvREFCNT_dec(x->on_drain);
		SvREFCNT_dec((SV *)x->pending);
		Safefree(x);
	}
	mg->mg_ptr = NULL;
	return 0;
}

#define HOLD(x, hold) SV *hold = SvROK((x)->self) ? SvREFCNT_inc_simple_NN(SvRV((x)->self)) : NULL
#define UNHOLD(hold) do { if (hold) SvREFCNT_dec(hold); } while (0)

static struct evlxs_dgram *from_c(evl_dgram *d)
{
	return (struct evlxs_dgram *)d->data;
}

/* on_error($dgram, $errno, $message); without on_error, a warning. */
static void report(pTHX_ struct evlxs_dgram *x, int err, SV *msg)
{
	SV *args[3];

	if (!x->on_error || !x->eng) {
		if (x->eng)
			Perl_warn(aTHX_ "Linux::Event::Datagram: %" SVf, SVfARG(msg));
		SvREFCNT_dec(msg);
		return;
	}
	args[0] = x->self;
	args[1] = newSViv(err);
	args[2] = msg;
	evlxs_call(aTHX_ x->eng, x->on_error, args, 3);
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec(msg);
}

/* ------------------------------------------------------------ C callbacks */

static void cb_recv(evl_dgram *d, const struct evl_dgram_msg *m)
{
	struct evlxs_dgram *x = from_c(d);
	dEVLXS_THX(x->eng->perl);
	SV *args[3];
	HOLD(x, hold);

	if (m->flags & EVL_DGRAM_TRUNC) {
		report(aTHX_ x, EMSGSIZE, newSVpvf("datagram of %lu bytes truncated to "
			"buffer_size %lu: dropped", (unsigned long)m->full_len,
			(unsigned long)x->bufsize));
	} else if (x->on_datagram) {
		args[0] = x->self;
		args[1] = newSVpvn(m->data, m->len);
		args[2] = m->peer ? newSVpvn((const char *)m->peer, m->peer_len) : newSV(0);
		evlxs_call(aTHX_ x->eng, x->on_datagram, args, 3);
		SvREFCNT_dec(args[1]);
		SvREFCNT_dec(args[2]);
	}
	UNHOLD(hold);
}

static void cb_error(evl_dgram *d, int err)
{
	struct evlxs_dgram *x = from_c(d);
	dEVLXS_THX(x->eng->perl);
	HOLD(x, hold);

	report(aTHX_ x, -err, newSVpv(strerror(-err), 0));
	UNHOLD(hold);
}

static void cb_high(evl_dgram *d)
{
	from_c(d)->state |= DG_BLOCKED;
}

static void cb_low(evl_dgram *d)
{
	from_c(d)->state &= ~DG_BLOCKED;
}

static void cb_drain(evl_dgram *d)
{
	struct evlxs_dgram *x = from_c(d);
	dEVLXS_THX(x->eng->perl);
	SV *args[1];

	x->state &= ~DG_BLOCKED;
	if (!x->on_drain)
		return;
	HOLD(x, hold);
	args[0] = x->self;
	evlxs_call(aTHX_ x->eng, x->on_drain, args, 1);
	UNHOLD(hold);
}

static const struct evl_dgram_callbacks dgram_cbs = {
	.on_recv = cb_recv, .on_error = cb_error, .on_high_water = cb_high,
	.on_low_water = cb_low, .on_drain = cb_drain, .on_close = NULL,
};

/* ------------------------------------------------------------ helpers */

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

/* The bytes of a send: a byte string (wide characters croak). */
static const char *bytes_of(pTHX_ SV *sv, STRLEN *len, const char *method)
{
	if (!SvOK(sv))
		evlxs_croak(aTHX_ "%s(): bytes must be defined", method);
	if (SvUTF8(sv)) {
		SV *copy = sv_2mortal(newSVsv(sv));
		if (!sv_utf8_downgrade(copy, TRUE))
			evlxs_croak(aTHX_ "%s(): bytes must be a byte string (wide character)",
				    method);
		return SvPV(copy, *len);
	}
	return SvPV(sv, *len);
}

/* A failed send: false with $! set. */
static SV *send_result(pTHX_ int rc)
{
	if (rc >= 0)
		return &PL_sv_yes;
	SETERRNO(-rc, 0);
	return &PL_sv_no;
}

/* A send before the socket exists (its name is being resolved): kept,
 * in order, for _start. */
static SV *hold_send(pTHX_ struct evlxs_dgram *x, const char *p, STRLEN len,
		     const char *addr, STRLEN alen)
{
	AV *pair = newAV();

	av_push(pair, newSVpvn(p, len));
	av_push(pair, addr ? newSVpvn(addr, alen) : newSV(0));
	av_push(x->pending, newRV_noinc((SV *)pair));
	return &PL_sv_yes;
}

MODULE = Linux::Event::Datagram	PACKAGE = Linux::Event::Datagram

PROTOTYPES: DISABLE

void
_attach(SV *self, SV *loop, HV *o)
    PREINIT:
	struct evlxs_dgram *x;
	struct evlxs_engine *eng;
	SV *v;
    CODE:
	eng = evlxs_engine_from_sv(aTHX_ loop);
	if (!eng || !eng->loop)
		evlxs_croak(aTHX_ "new(): loop is not a Linux::Event loop");
	Newxz(x, 1, struct evlxs_dgram);
	x->eng = eng;
	x->self = newRV_inc(SvRV(self));
	sv_rvweaken(x->self);
	x->on_datagram = cb_opt(aTHX_ o, "on_datagram");
	x->on_error = cb_opt(aTHX_ o, "on_error");
	x->on_drain = cb_opt(aTHX_ o, "on_drain");
	x->pending = newAV();
	x->high = (v = opt(aTHX_ o, "high_watermark")) ? SvUV(v) : 1048576;
	x->low = (v = opt(aTHX_ o, "low_watermark")) ? SvUV(v) : 262144;
	x->wmax = (v = opt(aTHX_ o, "max_queue")) ? SvUV(v) : 0;
	if (x->low > x->high)
		x->low = x->high;
	x->batch = (v = opt(aTHX_ o, "batch")) ? (unsigned)SvUV(v) : 32;
	x->bufsize = (v = opt(aTHX_ o, "buffer_size")) ? SvUV(v) : 65536;
	evlxs_magic_attach(aTHX_ SvRV(self), &dgram_vtbl, x);
	x->dep.gone = dgram_loop_gone;
	evlxs_dep_add(eng, &x->dep);

void
_start(SV *self, int fd)
    PREINIT:
	struct evlxs_dgram *x;
	int rc;
	SSize_t i;
    CODE:
	x = dgram_of(aTHX_ self, "new");
	if (x->state & (DG_OPEN | DG_CLOSED))
		evlxs_croak(aTHX_ "new(): %s", strerror(EBADF));
	x->d.data = x;
	/* Reading starts at once (a pause made before is applied below,
	 * before the loop can call back). */
	rc = evl_dgram_init(&x->d, x->eng->loop, fd, EVL_DGRAM_NOCLOSE, &dgram_cbs);
	if (rc < 0)
		evlxs_croak(aTHX_ "new(): %s", strerror(-rc));
	x->state |= DG_OPEN;
	if (x->state & DG_PAUSED)
		evl_dgram_read_stop(&x->d);
	rc = evl_dgram_set_batch(&x->d, x->batch, x->bufsize);
	if (rc == 0)
		rc = evl_dgram_set_watermarks(&x->d, x->low, x->high, x->wmax);
	if (rc < 0)
		evlxs_croak(aTHX_ "new(): %s", strerror(-rc));
	/* What was sent while the socket was being made, in order. */
	for (i = 0; i <= av_len(x->pending); i++) {
		SV **e = av_fetch(x->pending, i, 0);
		AV *pair = (AV *)SvRV(*e);
		SV *b = *av_fetch(pair, 0, 0), *a = *av_fetch(pair, 1, 0);
		STRLEN len, alen;
		const char *p = SvPV(b, len);
		if (SvOK(a)) {
			const char *ap = SvPV(a, alen);
			rc = evl_dgram_send_to(&x->d, p, len, (const struct sockaddr *)ap,
					       (uint32_t)alen);
		} else {
			rc = evl_dgram_send(&x->d, p, len);
		}
		if (rc < 0)
			report(aTHX_ x, -rc, newSVpv(strerror(-rc), 0));
		if (!(x->state & DG_OPEN))
			break;
	}
	av_clear(x->pending);

SV *
send(SV *self, SV *bytes = &PL_sv_undef)
    PREINIT:
	struct evlxs_dgram *x;
	const char *p;
	STRLEN len;
    CODE:
	x = dgram_of(aTHX_ self, "send");
	p = bytes_of(aTHX_ bytes, &len, "send");
	if (!(x->state & (DG_OPEN | DG_CLOSED)))
		RETVAL = hold_send(aTHX_ x, p, len, NULL, 0);
	else if (!(x->state & DG_OPEN))
		RETVAL = send_result(aTHX_ -EBADF);
	else
		RETVAL = send_result(aTHX_ evl_dgram_send(&x->d, p, len));
    OUTPUT:
	RETVAL

SV *
send_to(SV *self, SV *bytes = &PL_sv_undef, SV *addr = &PL_sv_undef)
    PREINIT:
	struct evlxs_dgram *x;
	const char *p, *a;
	STRLEN len, alen;
    CODE:
	x = dgram_of(aTHX_ self, "send_to");
	p = bytes_of(aTHX_ bytes, &len, "send_to");
	if (!SvOK(addr))
		evlxs_croak(aTHX_ "send_to(): peer_addr must be a packed sockaddr");
	a = SvPVbyte(addr, alen);
	if (alen < sizeof(sa_family_t) || alen > 128)
		evlxs_croak(aTHX_ "send_to(): peer_addr must be a packed sockaddr (got %lu bytes)",
			    (unsigned long)alen);
	if (!(x->state & (DG_OPEN | DG_CLOSED)))
		RETVAL = hold_send(aTHX_ x, p, len, a, alen);
	else if (!(x->state & DG_OPEN))
		RETVAL = send_result(aTHX_ -EBADF);
	else
		RETVAL = send_result(aTHX_ evl_dgram_send_to(&x->d, p, len,
				     (const struct sockaddr *)a, (uint32_t)alen));
    OUTPUT:
	RETVAL

void
pause(SV *self)
    ALIAS:
	resume = 1
    PREINIT:
	struct evlxs_dgram *x;
    CODE:
	x = dgram_of(aTHX_ self, ix ? "resume" : "pause");
	if (ix)
		x->state &= ~DG_PAUSED;
	else
		x->state |= DG_PAUSED;
	if (x->state & DG_OPEN)
		(void)(ix ? evl_dgram_read_start(&x->d) : evl_dgram_read_stop(&x->d));

void
_close(SV *self)
    PREINIT:
	struct evlxs_dgram *x;
    CODE:
	x = dgram_of(aTHX_ self, "close");
	dgram_shut(aTHX_ x);

SV *
is_closed(SV *self)
    ALIAS:
	is_write_blocked = 1
    PREINIT:
	struct evlxs_dgram *x;
    CODE:
	x = dgram_of(aTHX_ self, ix ? "is_write_blocked" : "is_closed");
	if (ix == 0)
		RETVAL = (x->state & DG_CLOSED) ? &PL_sv_yes : &PL_sv_no;
	else
		RETVAL = (x->state & DG_OPEN) && (x->state & DG_BLOCKED) ? &PL_sv_yes : &PL_sv_no;
    OUTPUT:
	RETVAL

UV
queued_bytes(SV *self)
    ALIAS:
	queued_count = 1
    PREINIT:
	struct evlxs_dgram *x;
    CODE:
	x = dgram_of(aTHX_ self, ix ? "queued_count" : "queued_bytes");
	if (!(x->state & DG_OPEN))
		RETVAL = 0;
	else
		RETVAL = ix ? evl_dgram_queued_count(&x->d) : evl_dgram_queued(&x->d);
    OUTPUT:
	RETVAL

SV *
_multicast(SV *self, SV *group, UV ifindex, int join)
    PREINIT:
	struct evlxs_dgram *x;
	const char *g;
	STRLEN glen;
    CODE:
	x = dgram_of(aTHX_ self, join ? "join_multicast" : "leave_multicast");
	g = SvPVbyte(group, glen);
	RETVAL = send_result(aTHX_ (x->state & DG_OPEN) ?
		evl_dgram_multicast(&x->d, (const struct sockaddr *)g, (uint32_t)glen,
				    (unsigned)ifindex, join) : -EBADF);
    OUTPUT:
	RETVAL

SV *
_broadcast(SV *self, int on)
    PREINIT:
	struct evlxs_dgram *x;
    CODE:
	x = dgram_of(aTHX_ self, "new");
	RETVAL = send_result(aTHX_ (x->state & DG_OPEN) ?
		evl_dgram_set_broadcast(&x->d, on) : -EBADF);
    OUTPUT:
	RETVAL
