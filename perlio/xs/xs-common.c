/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* xs-common.c - the XS packages' shared idioms (xs-internal.h): magic
 * lookup, inert thread copies, engine lookup, safe callback calls. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

MAGIC *evlxs_magic(pTHX_ SV *rv, const MGVTBL *vtbl)
{
	SV *sv;

	if (!rv || !SvROK(rv))
		return NULL;
	sv = SvRV(rv);
	/* mg_findext reads SvMAGIC, which only an SVt_PVMG or above has. */
	if (SvTYPE(sv) < SVt_PVMG)
		return NULL;
	/* Ours is usually the only magic: skip mg_findext's call and loop. */
	if (LIKELY(SvMAGIC(sv) && SvMAGIC(sv)->mg_type == PERL_MAGIC_ext &&
		   SvMAGIC(sv)->mg_virtual == vtbl))
		return SvMAGIC(sv);
	return mg_findext(sv, PERL_MAGIC_ext, vtbl);
}

MAGIC *evlxs_magic_attach(pTHX_ SV *sv, MGVTBL *vtbl, void *ptr)
{
	MAGIC *mg = sv_magicext(sv, NULL, PERL_MAGIC_ext, vtbl, (const char *)ptr, 0);

	mg->mg_flags |= MGf_DUP;
	return mg;
}

int evlxs_dup_inert(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	PERL_UNUSED_ARG(param);
	mg->mg_ptr = NULL;
	return 0;
}

MAGIC *evlxs_impl_magic(pTHX_ SV *facade, const MGVTBL *vtbl)
{
	SV **impl;

	if (!facade || !SvROK(facade) || SvTYPE(SvRV(facade)) != SVt_PVHV)
		return NULL;
	impl = hv_fetchs((HV *)SvRV(facade), "impl", 0);
	if (!impl || !SvROK(*impl) || SvTYPE(SvRV(*impl)) != SVt_PVHV)
		return NULL;
	return mg_findext(SvRV(*impl), PERL_MAGIC_ext, vtbl);
}

MAGIC *evlxs_engine_magic(pTHX_ SV *sv, const MGVTBL *vtbl)
{
	if (!sv || !SvROK(sv) || SvTYPE(SvRV(sv)) != SVt_PVHV)
		return NULL;
	MAGIC *mg = mg_findext(SvRV(sv), PERL_MAGIC_ext, vtbl);
	return mg ? mg : evlxs_impl_magic(aTHX_ sv, vtbl);
}

struct evlxs_engine *evlxs_engine_from_sv(pTHX_ SV *sv)
{
	static const MGVTBL *const kinds[] = { &rx_engine_vtbl, &px_engine_vtbl };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		MAGIC *mg = evlxs_engine_magic(aTHX_ sv, kinds[i]);
		if (mg)
			return (struct evlxs_engine *)mg->mg_ptr;
	}
	return NULL;
}

evl_loop *evlxs_loop_from_sv(pTHX_ SV *sv)
{
	struct evlxs_engine *eng = evlxs_engine_from_sv(aTHX_ sv);

	return eng ? eng->loop : NULL;
}

void evlxs_engine_attach(pTHX_ SV *hv, struct evlxs_engine *eng, MGVTBL *vtbl)
{
#ifdef MULTIPLICITY
	eng->perl = aTHX;
#endif
	evlxs_magic_attach(aTHX_ hv, vtbl, eng);
}

void evlxs_dep_add(struct evlxs_engine *eng, struct evlxs_dep *d)
{
	d->prev = NULL;
	d->next = eng->deps;
	if (eng->deps)
		eng->deps->prev = d;
	eng->deps = d;
}

void evlxs_dep_remove(struct evlxs_engine *eng, struct evlxs_dep *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else if (eng->deps == d)
		eng->deps = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->next = d->prev = NULL;
}

void evlxs_engine_deps_gone(pTHX_ struct evlxs_engine *eng)
{
	/* gone() may free other dependants (closing a Stream frees its
	 * handle, whose layer may run the loop): take them one at a time. */
	while (eng->deps) {
		struct evlxs_dep *d = eng->deps;
		evlxs_dep_remove(eng, d);
		d->gone(aTHX_ d);
	}
}

void evlxs_call(pTHX_ struct evlxs_engine *eng, SV *cb, SV **args, int n)
{
	dSP;
	SSize_t base = SP - PL_stack_base;
	int i;

	PUSHMARK(SP);
	EXTEND(SP, n);
	for (i = 0; i < n; i++)
		PUSHs(args[i]);
	PUTBACK;
	if (LIKELY(PL_tmps_ix <= PL_tmps_floor)) {
		/* No temporary above the floor is anyone else's (the loop's run
		 * and run_once open a scope of their own), so FREETMPS takes
		 * the callback's temporaries and nothing more: the per-event
		 * ENTER/SAVETMPS/LEAVE of G_DISCARD is not needed.  They are
		 * freed before the next event's callback, as with G_DISCARD.
		 * call_sv saves PL_op on the save stack for its caller's scope
		 * to restore: LEAVE_SCOPE does that now (and keeps the save
		 * stack from growing by an entry per event). */
		I32 ss = PL_savestack_ix;

		call_sv(cb, G_VOID | G_EVAL);
		PL_stack_sp = PL_stack_base + base;
		LEAVE_SCOPE(ss);
		FREETMPS;
	} else {
		/* Called with live temporaries (a callback run from inside
		 * Perl code): a scope of its own keeps them. */
		call_sv(cb, G_VOID | G_DISCARD | G_EVAL);
	}
	if (UNLIKELY(SvTRUE(ERRSV)))
		evlxs_keep_error(aTHX_ eng);
}

void evlxs_keep_error(pTHX_ struct evlxs_engine *eng)
{
	if (!eng->error) {
		eng->error = newSVsv(ERRSV);
		if (eng->loop)
			evl_loop_stop(eng->loop);
	} else {
		if (!eng->more_errors)
			eng->more_errors = newAV();
		av_push(eng->more_errors, newSVsv(ERRSV));
	}
}

void evlxs_rethrow(pTHX_ struct evlxs_engine *eng)
{
	SV *err = eng->error;

	if (!err)
		return;
	eng->error = eng->more_errors && AvFILLp(eng->more_errors) >= 0 ?
		av_shift(eng->more_errors) : NULL;
	sv_2mortal(err);
	croak_sv(err);
}

void evlxs_errors_free(pTHX_ struct evlxs_engine *eng)
{
	SvREFCNT_dec(eng->error);
	eng->error = NULL;
	SvREFCNT_dec((SV *)eng->more_errors);
	eng->more_errors = NULL;
}

void evlxs_call_boot(pTHX_ void (*boot)(pTHX_ CV *), CV *cv, SV **mark)
{
	dSP;

	PUSHMARK(mark);
	boot(aTHX_ cv);
	PUTBACK;	/* forget what the boot returned */
}

/* Our packages: Linux::Event, Linux::Event::*, PerlIO::evloop. */
static int is_our_package(const char *name)
{
	return strEQ(name, "PerlIO::evloop") || strEQ(name, "Linux::Event")
	       || strnEQ(name, "Linux::Event::", 14);
}

void evlxs_croak(pTHX_ const char *fmt, ...)
{
	HV *stash = CopSTASH(PL_curcop);
	const char *pkg = stash ? HvNAME_get(stash) : NULL;
	va_list ap;
	SV *msg;

	va_start(ap, fmt);
	msg = sv_2mortal(vnewSVpvf(fmt, &ap));
	va_end(ap);
	if (pkg && is_our_package(pkg)) {
		dSP;

		load_module(PERL_LOADMOD_NOIMPORT, newSVpvs("Carp"), NULL);
		PUSHMARK(SP);
		XPUSHs(msg);
		PUTBACK;
		call_pv("Carp::croak", G_VOID | G_DISCARD);
	}
	croak_sv(msg);
}

void evlxs_croak_usage(pTHX_ const CV *cv, const char *params, I32 items)
{
	SV *name = sv_newmortal();
	const char *p = params;
	I32 n = 0, opt = 0;
	int slurpy = 0;

	gv_efullname4(name, CvGV(cv), NULL, TRUE);
	/* params: "self, seconds= &PL_sv_undef, cb= &PL_sv_undef" or with
	 * "..." last; a default makes a parameter optional. */
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (memchr(p, '=', len))
			opt++;
		else if (memmem(p, len, "...", 3))
			slurpy = 1;
		if (!memmem(p, len, "...", 3))
			n++;
		p += len;
		while (*p == ',' || *p == ' ')
			p++;
	}
	if (items > n && !slurpy)
		evlxs_croak(aTHX_ "Too many arguments for subroutine '%" SVf
			    "' (got %" IVdf "; expected %s%" IVdf ")", SVfARG(name),
			    (IV)items, opt ? "at most " : "", (IV)n);
	evlxs_croak(aTHX_ "Too few arguments for subroutine '%" SVf
		    "' (got %" IVdf "; expected %s%" IVdf ")", SVfARG(name),
		    (IV)items, opt || slurpy ? "at least " : "", (IV)(n - opt));
}
