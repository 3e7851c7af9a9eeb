/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* xs-internal.h - what the XS files of the one shared object share.
 *
 * Everything perl-facing is one shared object, auto/PerlIO/evloop/evloop.so:
 * the layers, and the Linux::Event::* XS packages, whose boot functions
 * PerlIO::evloop's BOOT calls.  One object means one copy of libevloop and
 * of the layer vtables, so a handle, a loop and a stream made by different
 * packages are the same C things.
 *
 * One idiom set for every XS file:
 *  - C state hangs off a Perl object as PERL_MAGIC_ext magic with one
 *    MGVTBL per C type, attached by evlxs_magic_attach; evlxs_magic finds
 *    it (mg_findext) and each type has one lookup helper over it.
 *  - A thread's copy of an object whose C state belongs to the thread
 *    that made it is inert: its svt_dup is evlxs_dup_inert, which clears
 *    the pointer (the type's lookup then croaks or does nothing, its
 *    svt_free ignores it).  (Not CLONE_SKIP: weak references to a skipped
 *    object break perl's backref bookkeeping.)  Three types give a thread
 *    a record of its own instead, because their methods must still answer
 *    there: Watcher (inactive), Wakeup (the same eventfd) and the raw
 *    epoll backend (empty); their svt_dup says so.
 *  - C callbacks from libevloop declare the interpreter their record
 *    stored with dEVLXS_THX; everything else uses pTHX_/aTHX_.
 *  - Engines: a Linux::Event::Reactor or Linux::Event::Proactor object is
 *    a blessed hash carrying engine magic (rx_engine_vtbl, px_engine_vtbl)
 *    whose mg_ptr points to a struct evlxs_engine (or to a larger struct
 *    that starts with one).  evlxs_engine_magic finds it from the engine
 *    or from the Linux::Event::Loop facade (through its "impl" key). */
#ifndef EVLOOP_XS_INTERNAL_H
#define EVLOOP_XS_INTERNAL_H

#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include "evloop.h"

/* The interpreter a C callback runs in: the one that made its record
 * (each record stores it under MULTIPLICITY). */
#define dEVLXS_THX(interp) dTHXa(interp)

/* The magic with vtbl on the referent of rv, or NULL (rv not a reference
 * to an object carrying it). */
MAGIC *evlxs_magic(pTHX_ SV *rv, const MGVTBL *vtbl);

/* Hangs ptr on sv as its ext magic of type vtbl, copied to thread
 * clones through vtbl's svt_dup (MGf_DUP). */
MAGIC *evlxs_magic_attach(pTHX_ SV *sv, MGVTBL *vtbl, void *ptr);

/* An SV is a code reference. */
static inline int evlxs_is_code(SV *sv)
{
	return sv && SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVCV;
}

/* Croaks with the printf-style message at the caller's file and line.
 * perl's croak names the statement running when the XSUB was called: the
 * program's own line when the program called it, but a line of our .pm
 * when a method written in Perl called it.  In that case the message goes
 * through Carp::croak, whose @CARP_NOT (set in every module) skips the
 * frames of our packages up to the program's call. */
void evlxs_croak(pTHX_ const char *fmt, ...)
	__attribute__noreturn__ __attribute__format__(__printf__, pTHX_1, pTHX_2);

/* xsubpp's argument-count failure in the words of 0.010's signatures
 * ("Too many arguments for subroutine 'Linux::Event::Reactor::stop' (got
 * 2; expected 1)") and, like evlxs_croak, at the caller's line, instead
 * of xsubpp's "Usage: ..." line.  xsubpp calls croak_xs_usage only inside
 * XSUBs, where items is in scope. */
void evlxs_croak_usage(pTHX_ const CV *cv, const char *params, I32 items)
	__attribute__noreturn__;
#undef croak_xs_usage
#define croak_xs_usage(cv, params) evlxs_croak_usage(aTHX_ (cv), (params), items)

/* tls.xs: a stream's negotiated TLS parameters as a hash reference
 * (protocol, cipher, alpn, peer_subject, servername, resumed, verified),
 * or undef before the handshake is done.  A new SV. */
SV *evlxs_tls_info(pTHX_ evl_stream *s);

/* svt_dup of a type whose C state stays with its thread: the new
 * thread's copy gets a NULL pointer (see above). */
int evlxs_dup_inert(pTHX_ MAGIC *mg, CLONE_PARAMS *param);

struct evlxs_dep;

struct evlxs_engine {
	evl_loop *loop;
#ifdef MULTIPLICITY
	PerlInterpreter *perl;	/* the interpreter callbacks run in */
#endif
	SV *error;		/* first exception a callback threw, or NULL */
	AV *more_errors;	/* later ones of the same iteration, or NULL */
	struct evlxs_subs *subs;	/* subscribe.xs: subscriptions, %SIG fallbacks */
	struct evlxs_dep *deps;	/* told when the engine goes (open Streams) */
};

/* Something on a loop that holds the loop only weakly, so that dropping
 * the last reference to the loop frees it (an open Stream holds itself,
 * and a strong reference from it would keep an unreachable loop alive
 * for ever).  The engine calls gone() before it frees its evl_loop,
 * with d already unlinked; gone must not run Perl callbacks. */
struct evlxs_dep {
	struct evlxs_dep *next, *prev;
	void (*gone)(pTHX_ struct evlxs_dep *d);
};

void evlxs_dep_add(struct evlxs_engine *eng, struct evlxs_dep *d);
void evlxs_dep_remove(struct evlxs_engine *eng, struct evlxs_dep *d);
/* The start of an engine's free: tells every dependant, while the
 * evl_loop still exists. */
void evlxs_engine_deps_gone(pTHX_ struct evlxs_engine *eng);

/* The engines' magic vtables (reactor.xs, proactor.xs). */
extern MGVTBL rx_engine_vtbl;
extern MGVTBL px_engine_vtbl;

/* The engine magic (vtbl) of a Linux::Event::Loop facade's impl, or NULL. */
MAGIC *evlxs_impl_magic(pTHX_ SV *facade, const MGVTBL *vtbl);
/* The engine magic (vtbl) of an engine object or of a facade's impl. */
MAGIC *evlxs_engine_magic(pTHX_ SV *sv, const MGVTBL *vtbl);

/* The engine (of either kind) behind an engine object or a facade; NULL
 * when sv is none of these or is a thread's inert copy. */
struct evlxs_engine *evlxs_engine_from_sv(pTHX_ SV *sv);
evl_loop *evlxs_loop_from_sv(pTHX_ SV *sv);

/* Attaches eng to the hash hv as its engine magic, vtbl being its
 * kind's (whose svt_free frees eng, and whose svt_dup runs on thread
 * clones: MGf_DUP is set). */
void evlxs_engine_attach(pTHX_ SV *hv, struct evlxs_engine *eng, MGVTBL *vtbl);

/* Calls cb in void context with args[0..n-1] under G_EVAL, so that a die
 * never unwinds through libevloop.  The first exception is kept in
 * eng->error (later ones in eng->more_errors) and evl_loop_stop is called;
 * the XS run/run_once entry points call evlxs_rethrow when the C loop has
 * returned.  It opens no scope of its own (the per-event path): args
 * must not be mortals, since no FREETMPS runs while the loop does. */
void evlxs_call(pTHX_ struct evlxs_engine *eng, SV *cb, SV **args, int n);

/* evlxs_call's rule for the exception in ERRSV, for callers that make
 * their own G_EVAL call: the first one is kept and stops the loop, later
 * ones wait in line behind it. */
void evlxs_keep_error(pTHX_ struct evlxs_engine *eng);

/* Croaks with the kept exception, if any; the next in line (a second
 * callback that died in the same iteration) is then kept for the next
 * entry into the loop, which throws it before it runs anything: each
 * exception comes out of one run or run_once, as under IO::Async's and
 * AnyEvent's own loops, where the second callback runs (and dies) in the
 * next iteration. */
void evlxs_rethrow(pTHX_ struct evlxs_engine *eng);

/* Frees the kept exceptions (the engine is going). */
void evlxs_errors_free(pTHX_ struct evlxs_engine *eng);

/* subscribe.xs.  A Perl subscriber of signo (signal()'s handler) is
 * starting: make sure the loop's %SIG fallback for signo runs first and
 * counts the subscriber (0, or the evl_signal_start error: -EINVAL for
 * SIGKILL/SIGSTOP); release when it ends.  evlxs_subs_free ends every
 * subscription of an engine (its svt_free calls it before
 * evl_loop_free). */
struct evlxs_subs;
int evlxs_sig_hold(pTHX_ struct evlxs_engine *eng, int signo);
void evlxs_sig_release(struct evlxs_engine *eng, int signo);
void evlxs_subs_free(pTHX_ struct evlxs_engine *eng);

/* codec.xs.  The protocol framers' codecs (Linux::Event::Stream::Codec::
 * Delimiter, Fixed, LengthPrefix, Varint; kind "delimiter", "fixed",
 * "length_prefix", "varint"): the options of the codec hash (checked by
 * its .pm) as an evl_framer whose max_len is max_frame, within cap (a
 * Stream's max_inbuf; 0: no cap).  Returns 0 or -EINVAL. */
int evlxs_framer_setup(pTHX_ SV *codec, const char *kind, size_t cap, evl_framer *fr);

/* Boots of the Linux::Event XS packages, called from PerlIO::evloop's
 * BOOT with its own arguments (the pattern Glib uses). */
void evlxs_call_boot(pTHX_ void (*boot)(pTHX_ CV *), CV *cv, SV **mark);
#define EVLXS_CALL_BOOT(name) do {				\
		extern XS_EXTERNAL(name);			\
		evlxs_call_boot(aTHX_ name, cv, mark);		\
	} while (0)

#endif
