/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* anyevent.xs - AnyEvent::Impl::LinuxEvent's hottest path: AE::timer's
 * one-shot timers.  Creating one and dropping its guard is what AnyEvent
 * code does most (timeouts re-armed per read); here both are the loop's C
 * timer calls with no Perl frame, as EV does them.  Interval timers and
 * callbacks that are not code refs go to the Perl implementation
 * (_ae_timer_pl).
 *
 * The loop is the engine in $AnyEvent::Impl::LinuxEvent::ENGINE (the
 * default loop's, set when the module loads): a package variable, so a
 * new ithread sees its own (inert) copy. */
#define PERL_NO_GET_CONTEXT
#include "reactor-internal.h"

#define AE_TIMER_CLASS "AnyEvent::Impl::LinuxEvent::timer1"

/* The engine, looked up once per interpreter: the default loop lives
 * until global destruction, when nothing here runs.  NULL when the
 * variable is not set. */
static struct rx_engine *ae_eng;
static const void *ae_owner;

static struct rx_engine *ae_engine(pTHX)
{
	const void *me = PERL_GET_THX;
	SV *sv;

	if (ae_eng && ae_owner == me)
		return ae_eng;
	sv = get_sv("AnyEvent::Impl::LinuxEvent::ENGINE", 0);
	if (!sv || !SvROK(sv))
		return NULL;
	ae_eng = rx_engine_of(aTHX_ sv);
	ae_owner = me;
	return ae_eng;
}

MODULE = AnyEvent::Impl::LinuxEvent	PACKAGE = AnyEvent::Impl::LinuxEvent

PROTOTYPES: ENABLE

void
_ae_timer(SV *after, SV *interval, SV *cb)
    PROTOTYPE: $$$
    PREINIT:
	struct rx_engine *eng;
	UV id;
    PPCODE:
	if (!SvOK(after) || SvTRUE(interval) || !evlxs_is_code(cb) || !(eng = ae_engine(aTHX))) {
		/* The Perl implementation, with our three arguments. */
		int n;
		PUSHMARK(SP);
		XPUSHs(after);
		XPUSHs(interval);
		XPUSHs(cb);
		PUTBACK;
		n = call_pv("AnyEvent::Impl::LinuxEvent::_ae_timer_pl", G_SCALAR);
		SPAGAIN;
		if (n != 1)
			croak("AnyEvent::Impl::LinuxEvent: timer returned %d values", n);
		XSRETURN(1);
	}
	id = rx_do_after(aTHX_ eng, after, cb);
	ST(0) = sv_2mortal(sv_bless(newRV_noinc(newSVuv(id)),
				    gv_stashpvs(AE_TIMER_CLASS, GV_ADD)));
	XSRETURN(1);

MODULE = AnyEvent::Impl::LinuxEvent	PACKAGE = AnyEvent::Impl::LinuxEvent::timer1

PROTOTYPES: DISABLE

void
DESTROY(SV *self)
    PREINIT:
	struct rx_engine *eng;
    CODE:
	/* The id of a timer that fired is no longer pending: cancel is 0. */
	if (PL_phase != PERL_PHASE_DESTRUCT && SvROK(self) && (eng = ae_engine(aTHX)))
		rx_do_cancel(aTHX_ eng, SvRV(self));

MODULE = AnyEvent::Impl::LinuxEvent	PACKAGE = AnyEvent::Impl::LinuxEvent

PROTOTYPES: ENABLE

NV
_ae_now()
    PROTOTYPE:
    ALIAS:
	_ae_now_update = 1
    PREINIT:
	struct rx_engine *eng;
    CODE:
	/* AE::now: the loop's wall clock of this iteration (EV::now), read
	 * by AnyEvent::Handle on every read and write. */
	eng = ae_engine(aTHX);
	if (!eng)
		croak("AnyEvent::Impl::LinuxEvent: no loop");
	if (ix == 1)
		(void)evl_loop_update_time(eng->base.loop);
	RETVAL = (NV)evl_loop_time_ns(eng->base.loop) / 1e9;
    OUTPUT:
	RETVAL
