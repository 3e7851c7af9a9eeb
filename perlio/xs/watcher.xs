/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* watcher.xs - Linux::Event::Watcher: fd watchers of the reactor engine
 * (reactor-internal.h), and the engine's methods that make and drop them
 * (_watch, _unwatch_fd, _watcher_update, _watcher_cancel).
 *
 * A watcher's C state is a struct rx_watcher on the Watcher hash (ext
 * magic); the engine owns every active one.  Callbacks run through
 * evlxs_call; the hand-made-mask dispatch ($w->{_dispatch_cb}) calls
 * plainly, so a die propagates to its caller, as in the seed. */
#define PERL_NO_GET_CONTEXT
#include "reactor-internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "evl-internal.h"	/* evl__loop_ctl_count, for the tests */

/* ------------------------------------------------------------ watchers */

struct rx_watcher {
	evl_watcher w;
	struct rx_engine *eng;	/* while active */
	HV *hv;			/* the Watcher hash (the magic's owner) */
	SV *self_rv;		/* weak RV to hv: the callbacks' 3rd argument */
	SV *fh;			/* weak RV to the handle: their 2nd */
	SV *read_cb, *write_cb, *error_cb;
	SV *hangup_cb;		/* takes HUP from read when set */
	int fd;
	unsigned revents;	/* RX_* bits of the event being dispatched */
	unsigned char read_en, write_en, error_en, et, oneshot, active;
	unsigned char nofh;	/* watched by fd number: no handle, no guard */
	struct rx_watcher *next, *prev;	/* the engine's active list */
	PerlIO *fp;		/* the handle's PerlIO when its fileno was last fd */
};

static void rx_w_read(evl_watcher *w, unsigned revents);
static void rx_w_write(evl_watcher *w, unsigned revents);
static void rx_w_error(evl_watcher *w, unsigned revents);

static int rx_watcher_free(pTHX_ SV *sv, MAGIC *mg);
static int rx_watcher_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL rx_watcher_vtbl = { 0, 0, 0, 0, rx_watcher_free, 0, rx_watcher_dup, 0 };

/* A new thread's copy is not inert but inactive: no callbacks, no
 * engine, its fd kept, so that its accessors still answer. */
static int rx_watcher_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	struct rx_watcher *old = (struct rx_watcher *)mg->mg_ptr, *rw;

	PERL_UNUSED_ARG(param);
	Newxz(rw, 1, struct rx_watcher);
	rw->fd = old->fd;
	rw->fh = newSV(0);
	rw->hv = NULL;
	mg->mg_ptr = (char *)rw;
	return 0;
}

static struct rx_watcher *rx_watcher_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_magic(aTHX_ sv, &rx_watcher_vtbl);

	if (!mg)
		evlxs_croak(aTHX_ "not a Linux::Event::Watcher");
	return (struct rx_watcher *)mg->mg_ptr;
}

static unsigned rx_watcher_flags(const struct rx_watcher *rw)
{
	unsigned f = 0;

	if (rw->read_cb && rw->read_en)
		f |= EVL_READ;
	if (rw->write_cb && rw->write_en)
		f |= EVL_WRITE;
	if (rw->error_cb && rw->error_en)
		f |= EVL_ERROR;
	if (rw->et)
		f |= EVL_ET;
	if (rw->oneshot)
		f |= EVL_ONESHOT;
	return f;
}

/* The handle's fd: -1 if it is gone or closed, -2 if it cannot be told
 * without running Perl code (a tied handle), which the guard trusts. */
static int rx_fileno(pTHX_ SV *fh)
{
	SV *sv;
	IO *io = NULL;

	if (!fh || !SvOK(fh))
		return -1;
	sv = SvROK(fh) ? SvRV(fh) : fh;
	if (isGV_with_GP(sv))
		io = GvIO((GV *)sv);
	else if (SvTYPE(sv) == SVt_PVIO)
		io = (IO *)sv;
	else
		return -2;
	if (!io)
		return -1;
	if (SvRMAGICAL(io) && mg_find((SV *)io, PERL_MAGIC_tiedscalar))
		return -2;
	if (!IoIFP(io))
		return -1;
	return PerlIO_fileno(IoIFP(io));
}

static void rx_watcher_link(struct rx_engine *eng, struct rx_watcher *rw)
{
	rw->prev = NULL;
	rw->next = eng->watchers;
	if (eng->watchers)
		eng->watchers->prev = rw;
	eng->watchers = rw;
}

static void rx_watcher_unlink(struct rx_engine *eng, struct rx_watcher *rw)
{
	if (rw->prev)
		rw->prev->next = rw->next;
	else if (eng->watchers == rw)
		eng->watchers = rw->next;
	if (rw->next)
		rw->next->prev = rw->prev;
	rw->next = rw->prev = NULL;
}

/* The Perl watcher whose C watcher w is, or NULL (none, or an internal
 * one such as the waker's drain watcher or a pidfd's). */
static struct rx_watcher *rx_watcher_from(evl_watcher *w)
{
	if (!w || w->read_cb != rx_w_read)
		return NULL;
	return rx_container_of(w, struct rx_watcher, w);
}

/* Makes rw inactive (its C watcher is stopped already): off the engine's
 * list, fh undef, and the engine's reference dropped, at once or, with
 * mortal, at the caller's next FREETMPS. */
static void rx_watcher_let_go(pTHX_ struct rx_watcher *rw, int mortal)
{
	rw->active = 0;
	if (rw->eng) {
		rx_watcher_unlink(rw->eng, rw);
		rw->eng = NULL;
	}
	/* Set in place, not freed: the old value may be on the Perl stack
	 * as the running callback's $_[1]. */
	sv_setsv(rw->fh, &PL_sv_undef);
	(void)hv_stores(rw->hv, "fh", newSV(0));
	if (mortal)
		sv_2mortal((SV *)rw->hv);
	else
		SvREFCNT_dec((SV *)rw->hv);
}

/* Makes rw inactive: out of the fd table and epoll (a DEL on a closed fd
 * fails with EBADF/ENOENT, which the core takes as done), fh undef, and
 * the engine's reference dropped (which may free rw: touch nothing after). */
int rx_watcher_cancel(pTHX_ struct rx_watcher *rw)
{
	if (!rw->active)
		return 0;
	evl_watcher_stop(&rw->w);
	rx_watcher_let_go(aTHX_ rw, 0);
	return 1;
}

/* The loop stopped rw's C watcher for another on the same fd number: its
 * handle was closed without unwatch, and a Stream, a Datagram or a pidfd
 * took the number.  rw is let go of as by cancel, but mortally: this
 * runs inside evl_watcher_start, under whoever started the new watcher,
 * and freeing rw's callbacks may run Perl code (DESTROY). */
void rx_watcher_displaced(evl_watcher *w, void *arg)
{
	struct rx_engine *eng = arg;
	struct rx_watcher *rw = rx_watcher_from(w);
	dEVLXS_THX(eng->base.perl);

	if (rw && rw->active)
		rx_watcher_let_go(aTHX_ rw, 1);
}

static void rx_watcher_modify(pTHX_ struct rx_watcher *rw)
{
	if (rw->active)
		(void)evl_watcher_modify(&rw->w, rx_watcher_flags(rw));
}

static int rx_watcher_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct rx_watcher *rw = (struct rx_watcher *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	/* Only reachable while active during global destruction, when perl
	 * frees objects whatever their reference counts. */
	if (rw->active) {
		rw->active = 0;
		evl_watcher_stop(&rw->w);
		if (rw->eng)
			rx_watcher_unlink(rw->eng, rw);
	}
	SvREFCNT_dec(rw->read_cb);
	SvREFCNT_dec(rw->write_cb);
	SvREFCNT_dec(rw->error_cb);
	SvREFCNT_dec(rw->hangup_cb);
	SvREFCNT_dec(rw->fh);
	SvREFCNT_dec(rw->self_rv);
	Safefree(rw);
	return 0;
}

/* One callback of the fast path: guard, then the call under G_EVAL with
 * references held on the watcher and the callback (the callback may
 * cancel, replace or drop either). */
/* The guard's fast path: the handle still has the PerlIO it had when its
 * fileno was checked (a close or reopen replaces or clears it). */
static int rx_same_fp(struct rx_watcher *rw)
{
	SV *sv;
	IO *io;

	if (!rw->fp || !SvROK(rw->fh))
		return 0;
	sv = SvRV(rw->fh);
	if (!isGV_with_GP(sv) || !(io = GvIOp((GV *)sv)) || SvRMAGICAL(io))
		return 0;
	return IoIFP(io) == rw->fp;
}

static void rx_remember_fp(pTHX_ struct rx_watcher *rw)
{
	SV *sv = SvROK(rw->fh) ? SvRV(rw->fh) : NULL;
	IO *io = sv && isGV_with_GP(sv) ? GvIOp((GV *)sv) : NULL;

	rw->fp = io && !SvRMAGICAL(io) ? IoIFP(io) : NULL;
}

/* libevloop's revents as the seed's mask bits (READABLE ... HUP). */
static unsigned rx_revents(unsigned ev)
{
	unsigned m = 0;

	if (ev & EVL_READ)
		m |= RX_READABLE;
	if (ev & EVL_WRITE)
		m |= RX_WRITABLE;
	if (ev & EVL_PRI)
		m |= RX_PRIO;
	if (ev & EVL_RDHUP)
		m |= RX_RDHUP;
	if (ev & EVL_ERR)
		m |= RX_ERR;
	if (ev & EVL_HUP)
		m |= RX_HUP;
	return m;
}

/* which: EVL_READ, EVL_WRITE, EVL_ERROR, or EVL_HUP (the hangup
 * callback). */
static void rx_w_call(evl_watcher *w, int which, unsigned revents)
{
	struct rx_watcher *rw = rx_container_of(w, struct rx_watcher, w);
	struct rx_engine *eng = rw->eng;
	dEVLXS_THX(eng->base.perl);
	SV *cb, *args[3];
	int fd;

	rw->revents = rx_revents(revents);
	if (rw->nofh)
		fd = rw->fd;	/* the caller owns the fd: no handle to check */
	else if (LIKELY(rx_same_fp(rw)))
		fd = rw->fd;
	else if ((fd = rx_fileno(aTHX_ rw->fh)) == rw->fd)
		rx_remember_fp(aTHX_ rw);
	if (fd != rw->fd && fd != -2) {
		/* Closed, dropped, or its number now names another file. */
		rx_watcher_cancel(aTHX_ rw);
		return;
	}
	cb = which == EVL_READ ? rw->read_cb :
	     which == EVL_WRITE ? rw->write_cb :
	     which == EVL_HUP ? rw->hangup_cb : rw->error_cb;
	if (!cb)
		return;
	args[0] = eng->loop_sv;
	args[1] = rw->fh;
	args[2] = rw->self_rv;
	SvREFCNT_inc_simple_void_NN((SV *)rw->hv);
	SvREFCNT_inc_simple_void_NN(cb);
	evlxs_call(aTHX_ &eng->base, cb, args, 3);
	SvREFCNT_dec(cb);
	SvREFCNT_dec((SV *)rw->hv);
}

/* HUP reaches the read callback (libevloop's rule) unless a hangup
 * callback takes it: then read runs only for what else was reported
 * (data before the hangup), and hangup after it, if read left the
 * watcher in place. */
static void rx_w_read(evl_watcher *w, unsigned revents)
{
	struct rx_watcher *rw = rx_container_of(w, struct rx_watcher, w);
	struct rx_engine *eng;
	HV *hv;

	if (LIKELY(!(revents & EVL_HUP) || !rw->hangup_cb)) {
		rx_w_call(w, EVL_READ, revents);
		return;
	}
	if (!(revents & (EVL_READ | EVL_PRI | EVL_RDHUP | EVL_ERR))) {
		rx_w_call(w, EVL_HUP, revents);
		return;
	}
	eng = rw->eng;
	{
		dEVLXS_THX(eng->base.perl);
		hv = rw->hv;
		SvREFCNT_inc_simple_void_NN((SV *)hv);
		rx_w_call(w, EVL_READ, revents);
		if (rw->active && rw->hangup_cb && !eng->base.error &&
		    evl_loop_watcher_for_fd(eng->base.loop, rw->fd) == &rw->w)
			rx_w_call(w, EVL_HUP, revents);
		SvREFCNT_dec((SV *)hv);
	}
}

static void rx_w_write(evl_watcher *w, unsigned revents)
{
	rx_w_call(w, EVL_WRITE, revents);
}

static void rx_w_error(evl_watcher *w, unsigned revents)
{
	rx_w_call(w, EVL_ERROR, revents);
}

/* The active Perl watcher for fd on eng, or NULL (none, or an internal
 * one such as the waker's drain watcher or a pidfd's). */
static struct rx_watcher *rx_watcher_for_fd(struct rx_engine *eng, int fd)
{
	return rx_watcher_from(evl_loop_watcher_for_fd(eng->base.loop, fd));
}

/* A plain (non-eval) call for the _dispatch_cb path: a die propagates to
 * the program that called _dispatch_cb, as in the seed. */
static void rx_call_direct(pTHX_ SV *cb, SV **args, int n)
{
	dSP;
	int i;

	PUSHMARK(SP);
	EXTEND(SP, n);
	for (i = 0; i < n; i++)
		PUSHs(args[i]);
	PUTBACK;
	call_sv(cb, G_VOID | G_DISCARD);
}

/* $watcher->{_dispatch_cb}->($loop, $fh, $fd, $mask, $tag): the whole
 * dispatch contract for a hand-made mask.  One CV per engine; the fd
 * picks the watcher, as the seed's closure did. */
XS_EXTERNAL(rx_dispatch_xsub)
{
	dXSARGS;
	struct rx_engine *eng = (struct rx_engine *)CvXSUBANY(cv).any_ptr;
	struct rx_watcher *rw;
	int fd, now_fd, rd, wr;
	UV mask;
	SV *args[3];

	if (!eng || items < 4 || !eng->base.loop)
		XSRETURN_EMPTY;
#ifdef MULTIPLICITY
	if (eng->base.perl != aTHX)
		XSRETURN_EMPTY;	/* a thread's copy of the CV: not its loop */
#endif
	fd = (int)SvIV(ST(2));
	mask = SvUV(ST(3));
	rw = rx_watcher_for_fd(eng, fd);
	if (!rw)
		XSRETURN_EMPTY;
	ENTER;
	SAVETMPS;
	SvREFCNT_inc_simple_void_NN((SV *)rw->hv);
	SAVEFREESV((SV *)rw->hv);
	now_fd = rx_fileno(aTHX_ rw->fh);
	if (now_fd != rw->fd && now_fd != -2) {
		rx_watcher_cancel(aTHX_ rw);
		goto out;
	}
	args[0] = eng->loop_sv;
	args[1] = sv_2mortal(newSVsv(rw->fh));
	args[2] = sv_2mortal(newSVsv(rw->self_rv));
	rw->revents = (unsigned)mask;
	rd = (mask & RX_READABLE) != 0;
	wr = (mask & RX_WRITABLE) != 0;
	if (mask & RX_ERR) {
		if (rw->error_cb && rw->error_en) {
			SV *cb = sv_2mortal(SvREFCNT_inc_simple_NN(rw->error_cb));
			rx_call_direct(aTHX_ cb, args, 3);
			goto out;
		}
		rd = wr = 1;
	}
	if (mask & RX_HUP)
		rd = 1;
	if (rd && rw->read_cb && rw->read_en) {
		SV *cb = sv_2mortal(SvREFCNT_inc_simple_NN(rw->read_cb));
		rx_call_direct(aTHX_ cb, args, 3);
	}
	/* The mutation rule: nothing more if the read callback cancelled,
	 * unwatched or replaced this watcher. */
	if (!rw->active || rx_watcher_for_fd(eng, fd) != rw)
		goto out;
	if (wr && rw->write_cb && rw->write_en) {
		SV *cb = sv_2mortal(SvREFCNT_inc_simple_NN(rw->write_cb));
		rx_call_direct(aTHX_ cb, args, 3);
	}
out:
	FREETMPS;
	LEAVE;
	XSRETURN_EMPTY;
}

/* Makes and starts a watcher (the checks are the caller's: Reactor.pm's
 * watch, or rx_do_watch); fh undef means "by fd number".  Returns a new
 * reference to it. */
static SV *rx_watch_new(pTHX_ struct rx_engine *eng, SV *fh, int fd, SV *rcb, SV *wcb, SV *ecb,
			SV *data, int et, int oneshot, SV *hcb)
{
	struct rx_watcher *rw, *old;
	HV *hv;
	SV *rv;
	int rc;

	/* Replacement: the old watcher of this fd number goes first. */
	old = rx_watcher_for_fd(eng, fd);
	if (old)
		rx_watcher_cancel(aTHX_ old);
	hv = newHV();
	rv = newRV_noinc((SV *)hv);
	sv_bless(rv, gv_stashpvs("Linux::Event::Watcher", GV_ADD));
	Newxz(rw, 1, struct rx_watcher);
	evlxs_magic_attach(aTHX_ (SV *)hv, &rx_watcher_vtbl, rw);
	rw->hv = hv;
	rw->fd = fd;
	rw->self_rv = newRV_inc((SV *)hv);
	sv_rvweaken(rw->self_rv);
	if (!SvOK(fh)) {
		/* By fd number: the callbacks get the number, nothing is
		 * owned or checked (Reactor.pm checked it is an integer). */
		rw->nofh = 1;
		rw->fh = newSViv(fd);
	} else if (SvROK(fh)) {
		rw->fh = newSVsv(fh);
		sv_rvweaken(rw->fh);
	} else {
		rw->fh = newSVsv(fh);	/* a bare glob: a copy, it cannot be weak */
	}
	rw->read_cb = SvOK(rcb) ? newSVsv(rcb) : NULL;
	rw->write_cb = SvOK(wcb) ? newSVsv(wcb) : NULL;
	rw->error_cb = SvOK(ecb) ? newSVsv(ecb) : NULL;
	rw->hangup_cb = SvOK(hcb) ? newSVsv(hcb) : NULL;
	rw->read_en = rw->read_cb != NULL;
	rw->write_en = rw->write_cb != NULL;
	rw->error_en = rw->error_cb != NULL;
	rw->et = et ? 1 : 0;
	rw->oneshot = oneshot ? 1 : 0;
	{
		SV *l = newSVsv(eng->loop_sv);
		SV *f = rw->nofh ? newSV(0) : newSVsv(rw->fh);
		if (SvROK(l))
			sv_rvweaken(l);
		if (SvROK(f))
			sv_rvweaken(f);
		(void)hv_stores(hv, "loop", l);
		(void)hv_stores(hv, "fh", f);
	}
	(void)hv_stores(hv, "fd", newSViv(fd));
	(void)hv_stores(hv, "data", newSVsv(data));
	(void)hv_stores(hv, "_dispatch_cb", newRV_inc((SV *)eng->dispatch_cv));
	evl_watcher_init(&rw->w, rx_w_read, rx_w_write, rx_w_error);
	rc = evl_watcher_start(eng->base.loop, &rw->w, fd, rx_watcher_flags(rw));
	if (rc < 0) {
		int nofh = rw->nofh;

		SvREFCNT_dec(rv);	/* frees rw */
		if (nofh && rc == -EBADF)
			evlxs_croak(aTHX_ "Linux::Event::Loop::watch: fd %d is not an open file descriptor", fd);
		evlxs_croak(aTHX_ "Couldn't add filehandle to epoll set: %s", strerror(-rc));
	}
	rw->active = 1;
	rw->eng = eng;
	if (!rw->nofh && rx_fileno(aTHX_ rw->fh) == fd)
		rx_remember_fp(aTHX_ rw);
	rx_watcher_link(eng, rw);
	SvREFCNT_inc_simple_void_NN((SV *)hv);	/* the engine's reference */
	return rv;
}

/* The facade's fast path for watch($fh_or_fd, %spec) (loop.xs): the
 * common calls (a glob, a glob or IO reference with an open PerlIO, or a
 * plain non-negative integer; known keys with valid values) are made
 * here, without Reactor.pm's watch.  Anything else returns NULL, and the
 * caller takes the Perl path, which croaks with the contract's words. */
SV *rx_do_watch(pTHX_ struct rx_engine *eng, SV **args, I32 n)
{
	SV *fh = args[0], *rcb = &PL_sv_undef, *wcb = &PL_sv_undef, *ecb = &PL_sv_undef;
	SV *hcb = &PL_sv_undef, *data = &PL_sv_undef;
	int et = 0, oneshot = 0, fd;
	I32 i;

	if (n < 1 || !(n & 1))
		return NULL;
	for (i = 1; i < n; i += 2) {
		STRLEN len;
		const char *k;
		SV *v = args[i + 1];

		if (SvROK(args[i]) || SvGMAGICAL(args[i]))
			return NULL;
		k = SvPV_nomg(args[i], len);
		if (len == 4 && memEQ(k, "data", 4)) {
			data = v;
			continue;
		}
		if (len == 14 && memEQ(k, "edge_triggered", 14)) {
			et = SvTRUE(v);
			continue;
		}
		if (len == 7 && memEQ(k, "oneshot", 7)) {
			oneshot = SvTRUE(v);
			continue;
		}
		if (SvOK(v) && !evlxs_is_code(v))
			return NULL;
		if (len == 4 && memEQ(k, "read", 4))
			rcb = v;
		else if (len == 5 && memEQ(k, "write", 5))
			wcb = v;
		else if (len == 5 && memEQ(k, "error", 5))
			ecb = v;
		else if (len == 6 && memEQ(k, "hangup", 6))
			hcb = v;
		else
			return NULL;
	}
	if (SvGMAGICAL(fh))
		return NULL;
	if (!SvROK(fh) && SvIOK(fh) && !SvNOK(fh) && !SvPOK(fh)) {
		if (SvIVX(fh) < 0 || SvIVX(fh) > INT_MAX)
			return NULL;
		return rx_watch_new(aTHX_ eng, &PL_sv_undef, (int)SvIVX(fh), rcb, wcb, ecb, data,
				    et, oneshot, hcb);
	}
	if (!(SvROK(fh) ? (isGV_with_GP(SvRV(fh)) || SvTYPE(SvRV(fh)) == SVt_PVIO) : isGV_with_GP(fh)))
		return NULL;
	fd = rx_fileno(aTHX_ fh);
	if (fd < 0)
		return NULL;
	return rx_watch_new(aTHX_ eng, fh, fd, rcb, wcb, ecb, data, et, oneshot, hcb);
}

MODULE = Linux::Event::Watcher	PACKAGE = Linux::Event::Reactor

PROTOTYPES: DISABLE

SV *
_watch(SV *self, SV *fh, int fd, SV *rcb, SV *wcb, SV *ecb, SV *data, int et, int oneshot, SV *hcb = &PL_sv_undef)
    CODE:
	RETVAL = rx_watch_new(aTHX_ rx_engine_of(aTHX_ self), fh, fd, rcb, wcb, ecb, data, et,
			      oneshot, hcb);
    OUTPUT:
	RETVAL

int
_unwatch_fd(SV *self, int fd)
    PREINIT:
	struct rx_watcher *rw;
    CODE:
	rw = rx_watcher_for_fd(rx_engine_of(aTHX_ self), fd);
	RETVAL = rw ? rx_watcher_cancel(aTHX_ rw) : 0;
    OUTPUT:
	RETVAL

int
_watcher_update(SV *self, SV *w)
    PREINIT:
	struct rx_watcher *rw;
    CODE:
	PERL_UNUSED_VAR(self);
	rw = rx_watcher_of(aTHX_ w);
	RETVAL = 0;
	if (rw->active) {
		rx_watcher_modify(aTHX_ rw);
		RETVAL = 1;
	}
    OUTPUT:
	RETVAL

int
_watcher_cancel(SV *self, SV *w)
    CODE:
	PERL_UNUSED_VAR(self);
	RETVAL = SvOK(w) ? rx_watcher_cancel(aTHX_ rx_watcher_of(aTHX_ w)) : 0;
    OUTPUT:
	RETVAL

UV
_epoll_ctl_count(SV *self)
    CODE:
	/* Tests: how many epoll_ctl calls the loop has made. */
	RETVAL = (UV)evl__loop_ctl_count(rx_engine_of(aTHX_ self)->base.loop);
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Watcher	PACKAGE = Linux::Event::Watcher

SV *
fh(SV *self)
    PREINIT:
	struct rx_watcher *rw;
    CODE:
	rw = rx_watcher_of(aTHX_ self);
	RETVAL = rw->active && !rw->nofh ? newSVsv(rw->fh) : newSV(0);
    OUTPUT:
	RETVAL

UV
revents(SV *self)
    CODE:
	RETVAL = rx_watcher_of(aTHX_ self)->revents;
    OUTPUT:
	RETVAL

int
fd(SV *self)
    CODE:
	RETVAL = rx_watcher_of(aTHX_ self)->fd;
    OUTPUT:
	RETVAL

int
is_active(SV *self)
    CODE:
	RETVAL = rx_watcher_of(aTHX_ self)->active ? 1 : 0;
    OUTPUT:
	RETVAL

int
cancel(SV *self)
    CODE:
	RETVAL = rx_watcher_cancel(aTHX_ rx_watcher_of(aTHX_ self));
    OUTPUT:
	RETVAL

int
edge_triggered(SV *self, ...)
    ALIAS:
	oneshot = 1
    PREINIT:
	struct rx_watcher *rw;
	unsigned char *slot;
    CODE:
	rw = rx_watcher_of(aTHX_ self);
	slot = ix ? &rw->oneshot : &rw->et;
	if (items > 1) {
		*slot = SvTRUE(ST(1)) ? 1 : 0;
		rx_watcher_modify(aTHX_ rw);
	}
	RETVAL = *slot;
    OUTPUT:
	RETVAL

int
read_enabled(SV *self)
    ALIAS:
	write_enabled = 1
	error_enabled = 2
    PREINIT:
	struct rx_watcher *rw;
    CODE:
	rw = rx_watcher_of(aTHX_ self);
	RETVAL = ix == 0 ? rw->read_en : ix == 1 ? rw->write_en : rw->error_en;
    OUTPUT:
	RETVAL

SV *
enable_read(SV *self)
    ALIAS:
	disable_read = 1
	enable_write = 2
	disable_write = 3
	enable_error = 4
	disable_error = 5
    PREINIT:
	struct rx_watcher *rw;
	unsigned char v;
    CODE:
	rw = rx_watcher_of(aTHX_ self);
	v = (ix & 1) ? 0 : 1;
	if (ix < 2)
		rw->read_en = v;
	else if (ix < 4)
		rw->write_en = v;
	else
		rw->error_en = v;
	/* Always a MOD, even when nothing changed: that re-arms ONESHOT. */
	rx_watcher_modify(aTHX_ rw);
	/* The watcher, for chaining; nothing to copy in void context (the
	 * hot toggle of framework adapters). */
	if (GIMME_V == G_VOID)
		XSRETURN_EMPTY;
	RETVAL = newSVsv(self);
    OUTPUT:
	RETVAL

SV *
on_read(SV *self, SV *cb = &PL_sv_undef)
    ALIAS:
	on_write = 1
	on_error = 2
    PREINIT:
	struct rx_watcher *rw;
	SV **slot;
	unsigned char *en;
    CODE:
	if (SvOK(cb) && !evlxs_is_code(cb))
		evlxs_croak(aTHX_ "%s handler must be a coderef or undef",
		      ix == 0 ? "read" : ix == 1 ? "write" : "error");
	rw = rx_watcher_of(aTHX_ self);
	slot = ix == 0 ? &rw->read_cb : ix == 1 ? &rw->write_cb : &rw->error_cb;
	en = ix == 0 ? &rw->read_en : ix == 1 ? &rw->write_en : &rw->error_en;
	{
		/* Freed later: the old handler may be the running callback. */
		SV *old = *slot;
		*slot = SvOK(cb) ? newSVsv(cb) : NULL;
		if (old)
			sv_2mortal(old);
	}
	/* Installing does not enable; removing disables. */
	if (!SvOK(cb))
		*en = 0;
	rx_watcher_modify(aTHX_ rw);
	RETVAL = newSVsv(self);
    OUTPUT:
	RETVAL

