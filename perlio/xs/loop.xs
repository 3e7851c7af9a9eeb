/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* loop.xs - Linux::Event::Loop, the facade: its delegated methods.
 *
 * Every method the facade forwards to its engine (reactor or proactor),
 * the proactor's op methods ($loop->read, ->write, ...) included, is an
 * XSUB installed here at boot.  The generic one replaces the facade by
 * its impl on the stack and calls the engine's method with the caller's
 * arguments and context; after, at, cancel, stop, is_running, run_once
 * and the common calls of watch go straight to the reactor engine's C
 * (reactor-internal.h) when the impl is a reactor.  The constructor and the rest are Perl (Loop.pm). */
#define PERL_NO_GET_CONTEXT
#include "reactor-internal.h"

#include <stdio.h>
#include <string.h>

/* The facade's reactor engine, if its impl is one usable in this thread
 * (else the generic path delegates, and the engine's method croaks). */
static struct rx_engine *rx_facade_engine(pTHX_ SV *facade)
{
	MAGIC *mg = evlxs_impl_magic(aTHX_ facade, &rx_engine_vtbl);

	return mg ? (struct rx_engine *)mg->mg_ptr : NULL;
}

/* Calls impl->name(args...) in the XSUB's own stack frame; returns the
 * number of results, left at ST(0).  ax and items are the XSUB's. */
static int rx_delegate(pTHX_ I32 ax, I32 items, SV *name)
{
	SV **mark = PL_stack_base + ax - 1;
	SV *self, **impl, **model;
	GV *gv = NULL;
	HV *hv;

	if (items < 1)
		evlxs_croak(aTHX_ "Linux::Event::Loop::%" SVf ": no loop", SVfARG(name));
	self = ST(0);
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		evlxs_croak(aTHX_ "Linux::Event::Loop::%" SVf ": not a loop", SVfARG(name));
	hv = (HV *)SvRV(self);
	impl = hv_fetchs(hv, "impl", 0);
	if (impl && SvROK(*impl) && SvOBJECT(SvRV(*impl)))
		gv = gv_fetchmethod_sv_flags(SvSTASH(SvRV(*impl)), name, 0);
	if (!gv || !isGV(gv) || !GvCV(gv)) {
		model = hv_fetchs(hv, "model", 0);
		evlxs_croak(aTHX_ "loop model '%" SVf "' does not support %" SVf "()",
		      SVfARG(model ? *model : &PL_sv_undef), SVfARG(name));
	}
	ST(0) = *impl;
	PUSHMARK(mark);
	return call_sv((SV *)GvCV(gv), GIMME_V);
}

XS_INTERNAL(rx_facade_generic)
{
	dXSARGS;
	int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
	XSRETURN(n);
}

XS_INTERNAL(rx_facade_after)
{
	dXSARGS;
	struct rx_engine *eng = items == 3 ? rx_facade_engine(aTHX_ ST(0)) : NULL;

	if (!eng) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	ST(0) = sv_2mortal(newSVuv(rx_do_after(aTHX_ eng, ST(1), ST(2))));
	XSRETURN(1);
}

XS_INTERNAL(rx_facade_at)
{
	dXSARGS;
	struct rx_engine *eng = items == 3 ? rx_facade_engine(aTHX_ ST(0)) : NULL;

	if (!eng) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	ST(0) = sv_2mortal(newSVuv(rx_do_at(aTHX_ eng, ST(1), ST(2))));
	XSRETURN(1);
}

XS_INTERNAL(rx_facade_cancel)
{
	dXSARGS;
	struct rx_engine *eng = items == 2 ? rx_facade_engine(aTHX_ ST(0)) : NULL;

	if (!eng) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	ST(0) = sv_2mortal(newSViv(rx_do_cancel(aTHX_ eng, ST(1))));
	XSRETURN(1);
}

XS_INTERNAL(rx_facade_stop)
{
	dXSARGS;
	struct rx_engine *eng = items == 1 ? rx_facade_engine(aTHX_ ST(0)) : NULL;

	if (!eng) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	rx_do_stop(aTHX_ eng);
	XSRETURN_EMPTY;
}

XS_INTERNAL(rx_facade_is_running)
{
	dXSARGS;
	struct rx_engine *eng = items == 1 ? rx_facade_engine(aTHX_ ST(0)) : NULL;

	if (!eng) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	ST(0) = sv_2mortal(newSViv(eng->running ? 1 : 0));
	XSRETURN(1);
}

XS_INTERNAL(rx_facade_run_once)
{
	dXSARGS;
	struct rx_engine *eng = items <= 2 ? rx_facade_engine(aTHX_ ST(0)) : NULL;
	SV **impl;
	int rc;

	if (!eng) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	impl = hv_fetchs((HV *)SvRV(ST(0)), "impl", 0);
	rc = rx_do_run_once(aTHX_ eng, SvRV(*impl), items > 1 ? ST(1) : &PL_sv_undef);
	ST(0) = sv_2mortal(newSViv(rc));
	XSRETURN(1);
}

XS_INTERNAL(rx_facade_watch)
{
	dXSARGS;
	struct rx_engine *eng = items >= 2 ? rx_facade_engine(aTHX_ ST(0)) : NULL;
	SV *w = eng ? rx_do_watch(aTHX_ eng, &ST(1), items - 1) : NULL;

	if (!w) {
		int n = rx_delegate(aTHX_ ax, items, (SV *)CvXSUBANY(cv).any_ptr);
		XSRETURN(n);
	}
	ST(0) = sv_2mortal(w);
	XSRETURN(1);
}

static void rx_install_facade(pTHX)
{
	static const char *const generic[] = {
		"backend_name", "clock", "run",
		"timer", "backend", "sched", "signal", "waker", "pid", "unwatch",
		"read", "write", "recv", "send", "accept", "connect", "shutdown", "close",
		"splice", "live_op_count", "drain_callbacks",
		"_watcher_update", "_watcher_cancel",
		"every", "signal_subscribe", "child", "idle", "prepare", "check",
		"now", "time", "update_time", "alive", "after_fork", NULL
	};
	static const struct { const char *name; XSUBADDR_t fn; } fast[] = {
		{ "after", rx_facade_after }, { "at", rx_facade_at },
		{ "cancel", rx_facade_cancel }, { "stop", rx_facade_stop },
		{ "is_running", rx_facade_is_running }, { "run_once", rx_facade_run_once },
		{ "watch", rx_facade_watch }, { NULL, NULL }
	};
	char full[128];
	CV *cv;
	int i;

	for (i = 0; generic[i]; i++) {
		snprintf(full, sizeof(full), "Linux::Event::Loop::%s", generic[i]);
		cv = newXS(full, rx_facade_generic, __FILE__);
		CvXSUBANY(cv).any_ptr = newSVpvn_share(generic[i], (I32)strlen(generic[i]), 0);
	}
	for (i = 0; fast[i].name; i++) {
		snprintf(full, sizeof(full), "Linux::Event::Loop::%s", fast[i].name);
		cv = newXS(full, fast[i].fn, __FILE__);
		CvXSUBANY(cv).any_ptr = newSVpvn_share(fast[i].name, (I32)strlen(fast[i].name), 0);
	}
}

MODULE = Linux::Event::Loop	PACKAGE = Linux::Event::Loop

PROTOTYPES: DISABLE

BOOT:
	rx_install_facade(aTHX);
