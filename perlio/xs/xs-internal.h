/* xs-internal.h - what the XS files of the one shared object share.
 *
 * Everything perl-facing is one shared object, auto/PerlIO/evloop/evloop.so:
 * the layers, and the Linux::Event::* XS packages, whose boot functions
 * PerlIO::evloop's BOOT calls.  One object means one copy of libevloop and
 * of the layer vtables, so a handle, a loop and a stream made by different
 * packages are the same C things.
 *
 * Engines: a Linux::Event::Reactor or Linux::Event::Proactor object is a
 * blessed hash carrying PERL_MAGIC_ext magic with mg_private ==
 * EVLXS_ENGINE_MAGIC, whose mg_ptr points to a struct evlxs_engine (or to a
 * larger struct that starts with one).  evlxs_loop_from_sv finds it from
 * the engine, from the Linux::Event::Loop facade (through its "impl" key),
 * or from a reference to either. */
#ifndef EVLOOP_XS_INTERNAL_H
#define EVLOOP_XS_INTERNAL_H

#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "evloop.h"

#define EVLXS_ENGINE_MAGIC 0x4576	/* "Ev" */

struct evlxs_engine {
	evl_loop *loop;
#ifdef MULTIPLICITY
	PerlInterpreter *perl;	/* the interpreter callbacks run in */
#endif
	SV *error;		/* first exception a callback threw, or NULL */
};

/* The engine behind an engine object, a facade or a reference to either;
 * NULL when sv is none of these. */
struct evlxs_engine *evlxs_engine_from_sv(pTHX_ SV *sv);
evl_loop *evlxs_loop_from_sv(pTHX_ SV *sv);

/* Attaches eng to the hash hv as its engine magic (the magic does not own
 * eng: free it from your own vtbl's svt_free, passed as vtbl). */
void evlxs_engine_attach(pTHX_ SV *hv, struct evlxs_engine *eng, MGVTBL *vtbl);

/* Calls cb in void context with args[0..n-1] under G_EVAL, so that a die
 * never unwinds through libevloop.  The first exception is kept in
 * eng->error (later ones are warned about) and evl_loop_stop is called;
 * the XS run/run_once entry points call evlxs_rethrow when the C loop has
 * returned.  It opens no scope of its own (the per-event path): args
 * must not be mortals, since no FREETMPS runs while the loop does. */
void evlxs_call(pTHX_ struct evlxs_engine *eng, SV *cb, SV **args, int n);

/* Croaks with the kept exception, if any, clearing it. */
void evlxs_rethrow(pTHX_ struct evlxs_engine *eng);

/* Boots of the Linux::Event XS packages, called from PerlIO::evloop's
 * BOOT with its own arguments (the pattern Glib uses). */
void evlxs_call_boot(pTHX_ void (*boot)(pTHX_ CV *), CV *cv, SV **mark);
#define EVLXS_CALL_BOOT(name) do {				\
		extern XS_EXTERNAL(name);			\
		evlxs_call_boot(aTHX_ name, cv, mark);		\
	} while (0)

#endif
