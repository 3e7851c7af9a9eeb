/* xs-common.c - engine lookup and safe callback calls for the XS packages. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

static struct evlxs_engine *engine_of_hv(pTHX_ SV *hv)
{
	MAGIC *mg;

	if (SvTYPE(hv) < SVt_PVMG)
		return NULL;
	for (mg = SvMAGIC(hv); mg; mg = mg->mg_moremagic)
		if (mg->mg_type == PERL_MAGIC_ext &&
		    mg->mg_private == EVLXS_ENGINE_MAGIC)
			return (struct evlxs_engine *)mg->mg_ptr;
	return NULL;
}

struct evlxs_engine *evlxs_engine_from_sv(pTHX_ SV *sv)
{
	struct evlxs_engine *eng;
	SV **impl;

	if (!sv || !SvROK(sv))
		return NULL;
	sv = SvRV(sv);
	if (SvTYPE(sv) != SVt_PVHV)
		return NULL;
	eng = engine_of_hv(aTHX_ sv);
	if (eng)
		return eng;
	/* The facade: Linux::Event::Loop keeps its engine under "impl". */
	impl = hv_fetchs((HV *)sv, "impl", 0);
	if (impl && SvROK(*impl) && SvTYPE(SvRV(*impl)) == SVt_PVHV)
		return engine_of_hv(aTHX_ SvRV(*impl));
	return NULL;
}

evl_loop *evlxs_loop_from_sv(pTHX_ SV *sv)
{
	struct evlxs_engine *eng = evlxs_engine_from_sv(aTHX_ sv);

	return eng ? eng->loop : NULL;
}

void evlxs_engine_attach(pTHX_ SV *hv, struct evlxs_engine *eng, MGVTBL *vtbl)
{
	MAGIC *mg;

#ifdef MULTIPLICITY
	eng->perl = aTHX;
#endif
	mg = sv_magicext(hv, NULL, PERL_MAGIC_ext, vtbl, (const char *)eng, 0);
	mg->mg_private = EVLXS_ENGINE_MAGIC;
}

void evlxs_call(pTHX_ struct evlxs_engine *eng, SV *cb, SV **args, int n)
{
	dSP;
	int i;

	/* No scope of our own: with G_DISCARD call_sv opens and frees one
	 * for the callee's temporaries, and this is the per-event path.
	 * (Callers must not pass mortals: the loop runs no FREETMPS.) */
	PUSHMARK(SP);
	EXTEND(SP, n);
	for (i = 0; i < n; i++)
		PUSHs(args[i]);
	PUTBACK;
	call_sv(cb, G_VOID | G_DISCARD | G_EVAL);
	if (UNLIKELY(SvTRUE(ERRSV))) {
		if (!eng->error) {
			eng->error = newSVsv(ERRSV);
			if (eng->loop)
				evl_loop_stop(eng->loop);
		} else {
			warn("evloop: a second callback died in the same "
			     "iteration: %" SVf, SVfARG(ERRSV));
		}
	}
}

void evlxs_rethrow(pTHX_ struct evlxs_engine *eng)
{
	SV *err = eng->error;

	if (!err)
		return;
	eng->error = NULL;
	sv_2mortal(err);
	croak_sv(err);
}

void evlxs_call_boot(pTHX_ void (*boot)(pTHX_ CV *), CV *cv, SV **mark)
{
	dSP;

	PUSHMARK(mark);
	boot(aTHX_ cv);
	PUTBACK;	/* forget what the boot returned */
}
