/* reactor.xs - the Linux::Event reactor packages over libevloop.
 *
 * Packages here (one MODULE, several PACKAGEs):
 *   Linux::Event::Loop                  the facade's delegating methods
 *   Linux::Event::Reactor               the engine: an evl_loop (EVL_REACTOR)
 *                                       attached to a blessed hash as magic;
 *                                       timers, watchers, signals, pids, run
 *   Linux::Event::Watcher               fd watchers (C state on the hash)
 *   Linux::Event::Wakeup                eventfd wakeups (evl_wakeup)
 *   Linux::Event::Clock                 cached CLOCK_MONOTONIC reader
 *   Linux::Event::Timer                 timerfd helpers (the .pm is the API)
 *   Linux::Event::Reactor::Backend::Epoll  a standalone epoll backend
 *
 * Callbacks.  Everything the C core dispatches (timer expiry, fd
 * readiness, signals, child exits) lands in a trampoline here that calls
 * the Perl callback through evlxs_call (xs-common.c), whose rules are
 * (G_EVAL: a die never unwinds through libevloop; the first exception
 * is kept, the loop is stopped, and run/run_once croak with it once the
 * C loop has returned).  The
 * first callback argument is the loop the program sees: the
 * Linux::Event::Loop facade, held weakly so that the facade, the engine
 * and the watchers never form a cycle.
 *
 * Ownership.  The engine owns every active watcher (a reference on the
 * Watcher hash), every pending timer, every signal handler and pid
 * subscription.  Watchers hold their handle and their loop weakly.
 * Dropping the last reference to the loop frees the engine: all of the
 * above are released and evl_loop_free closes the epoll fd, timerfd and
 * signalfd.
 *
 * Sections: calls, engine, timers, watchers, signals, pids, wakeup,
 * engine free, clock, epoll backend, methods, facade, XSUBs.
 */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define rx_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* The seed's mask bits (Linux::Event::Loop's READABLE etc.). */
#define RX_READABLE 0x01
#define RX_WRITABLE 0x02
#define RX_PRIO 0x04
#define RX_RDHUP 0x08
#define RX_ET 0x10
#define RX_ONESHOT 0x20
#define RX_ERR 0x40
#define RX_HUP 0x80

#ifdef MULTIPLICITY
#define dENG_THX(e) dTHXa((e)->base.perl)
#else
#define dENG_THX(e) dNOOP
#endif

#define RX_NSIG 65

struct rx_timer;
struct rx_watcher;
struct rx_sig;
struct rx_pid;
struct rx_wakeup;

struct rx_engine {
	struct evlxs_engine base;	/* must be first (xs-internal.h) */
	SV *loop_sv;		/* weak RV to the facade (or the engine):
				   every callback's first argument */
	CV *dispatch_cv;	/* the watchers' shared _dispatch_cb */
	int running;		/* is_running: inside run() */
	int want_stop;		/* stop() was called since run() began */

	/* Timers by id: a chained hash (ids are sequential, so id & mask
	 * spreads them perfectly), plus a free list of timer records. */
	struct rx_timer **tmap;
	size_t tmap_mask;
	size_t tcount;
	UV next_id;
	struct rx_timer *tfree;
	size_t tfree_len;

	struct rx_watcher *watchers;	/* active ones */
	struct rx_sig *sig[RX_NSIG];
	struct rx_pid *pids;		/* active pid subscriptions */
	evl_wakeup *waker;		/* $loop->waker's, once made (borrowed) */
	struct rx_wakeup *waker_rk;
};

/* ------------------------------------------------------------ calls */

/* ------------------------------------------------------------ engine */

static int rx_engine_free(pTHX_ SV *sv, MAGIC *mg);
static int rx_engine_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL rx_engine_vtbl = { 0, 0, 0, 0, rx_engine_free, 0, rx_engine_dup, 0 };

/* ithreads.  The C state of a loop (its evl_loop, watchers, timers)
 * belongs to the thread that made it.  A new thread's copies of the
 * engine, its watchers and an epoll backend are inert: their records are
 * empty, and methods that need the loop croak.  (Not CLONE_SKIP: weak
 * references to a skipped object break perl's backref bookkeeping.) */
static int rx_engine_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	struct rx_engine *eng;

	PERL_UNUSED_ARG(param);
	Newxz(eng, 1, struct rx_engine);
#ifdef MULTIPLICITY
	eng->base.perl = aTHX;
#endif
	mg->mg_ptr = (char *)eng;
	return 0;
}

static struct rx_engine *rx_engine_of(pTHX_ SV *sv)
{
	struct evlxs_engine *e = evlxs_engine_from_sv(aTHX_ sv);
	MAGIC *mg;

	if (!e)
		croak("Linux::Event::Reactor: not a reactor engine");
	/* Only ours: the proactor attaches the same kind of magic. */
	for (mg = SvMAGIC(SvRV(sv)); mg; mg = mg->mg_moremagic)
		if (mg->mg_type == PERL_MAGIC_ext && mg->mg_virtual == &rx_engine_vtbl) {
			if (!e->loop)
				croak("Linux::Event::Reactor: this loop belongs to another thread");
			return (struct rx_engine *)e;
		}
	croak("Linux::Event::Reactor: not a reactor engine");
	return NULL;
}

/* The interrupt hook of the C loop: a signal with a %SIG handler landed
 * during the wait.  Return to XS, which runs the handler (it may die). */
static int rx_interrupt(evl_loop *loop, void *arg)
{
	struct rx_engine *eng = (struct rx_engine *)arg;
	dENG_THX(eng);

	if (PL_sig_pending) {
		evl_loop_stop(loop);	/* so that evl_loop_run returns too */
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ timers */

struct rx_timer {
	evl_timer t;
	struct rx_engine *eng;
	SV *cb;			/* the CV */
	UV id;
	struct rx_timer *hnext;	/* hash chain, or free list */
};

#define RX_TFREE_MAX 65536	/* ~7 MiB of spare timer records at most */

static void tmap_grow(struct rx_engine *eng)
{
	size_t n = eng->tmap_mask ? (eng->tmap_mask + 1) * 2 : 64;
	struct rx_timer **nb;
	size_t i;

	Newxz(nb, n, struct rx_timer *);
	if (eng->tmap) {
		for (i = 0; i <= eng->tmap_mask; i++) {
			struct rx_timer *rt = eng->tmap[i];
			while (rt) {
				struct rx_timer *next = rt->hnext;
				size_t b = rt->id & (n - 1);
				rt->hnext = nb[b];
				nb[b] = rt;
				rt = next;
			}
		}
		Safefree(eng->tmap);
	}
	eng->tmap = nb;
	eng->tmap_mask = n - 1;
}

static void tmap_insert(struct rx_engine *eng, struct rx_timer *rt)
{
	size_t b;

	if (!eng->tmap || eng->tcount > eng->tmap_mask)
		tmap_grow(eng);
	b = rt->id & eng->tmap_mask;
	rt->hnext = eng->tmap[b];
	eng->tmap[b] = rt;
	eng->tcount++;
}

static struct rx_timer *tmap_find(struct rx_engine *eng, UV id)
{
	struct rx_timer *rt;

	if (!eng->tmap)
		return NULL;
	for (rt = eng->tmap[id & eng->tmap_mask]; rt; rt = rt->hnext)
		if (rt->id == id)
			return rt;
	return NULL;
}

static void tmap_remove(struct rx_engine *eng, struct rx_timer *rt)
{
	struct rx_timer **pp = &eng->tmap[rt->id & eng->tmap_mask];

	while (*pp && *pp != rt)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = rt->hnext;
		eng->tcount--;
	}
	rt->hnext = NULL;
}

static struct rx_timer *rt_alloc(struct rx_engine *eng)
{
	struct rx_timer *rt = eng->tfree;

	if (rt) {
		eng->tfree = rt->hnext;
		eng->tfree_len--;
	} else {
		Newx(rt, 1, struct rx_timer);
	}
	memset(rt, 0, sizeof(*rt));
	return rt;
}

static void rt_release(struct rx_engine *eng, struct rx_timer *rt)
{
	if (eng->tfree_len >= RX_TFREE_MAX) {
		Safefree(rt);
		return;
	}
	rt->hnext = eng->tfree;
	eng->tfree = rt;
	eng->tfree_len++;
}

static void rx_timer_fire(evl_timer *t)
{
	struct rx_timer *rt = rx_container_of(t, struct rx_timer, t);
	struct rx_engine *eng = rt->eng;
	dENG_THX(eng);
	SV *cb = rt->cb;

	/* Gone before the call: cancel($id) from the callback returns 0. */
	tmap_remove(eng, rt);
	rt_release(eng, rt);
	evlxs_call(aTHX_ &eng->base, cb, &eng->loop_sv, 1);
	SvREFCNT_dec(cb);
}

static int is_coderef(SV *sv)
{
	return sv && SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVCV;
}

/* Seconds (an NV) to nanoseconds, truncated as int($s * 1e9) is, with
 * negatives clamped to 0 and huge values to "never" (still finite). */
static uint64_t secs_to_ns(NV s)
{
	NV ns = s * 1e9;

	if (!(ns > 0))		/* negative, zero or NaN */
		return 0;
	if (ns >= 4.0e18)
		return UINT64_C(4000000000000000000);
	return (uint64_t)ns;
}

/* Schedules cb at an absolute deadline; returns the new id. */
static UV rx_timer_add(pTHX_ struct rx_engine *eng, uint64_t deadline_ns, SV *cb)
{
	struct rx_timer *rt = rt_alloc(eng);
	int rc;

	rt->eng = eng;
	evl_timer_init(eng->base.loop, &rt->t);
	rc = evl_timer_start_at(&rt->t, rx_timer_fire, deadline_ns, 0);
	if (rc < 0) {
		rt_release(eng, rt);
		croak("timer: %s", strerror(-rc));
	}
	rt->cb = SvREFCNT_inc_simple_NN(SvRV(cb));	/* the CV itself */
	rt->id = ++eng->next_id;
	tmap_insert(eng, rt);
	return rt->id;
}

static int rx_timer_cancel(pTHX_ struct rx_engine *eng, UV id)
{
	struct rx_timer *rt = tmap_find(eng, id);

	if (!rt)
		return 0;
	evl_timer_stop(&rt->t);
	tmap_remove(eng, rt);
	SvREFCNT_dec(rt->cb);
	rt_release(eng, rt);
	return 1;
}

static int rt_cmp(const void *a, const void *b)
{
	const struct rx_timer *x = *(struct rx_timer *const *)a;
	const struct rx_timer *y = *(struct rx_timer *const *)b;

	if (x->t.due_ns != y->t.due_ns)
		return x->t.due_ns < y->t.due_ns ? -1 : 1;
	return x->t.seq < y->t.seq ? -1 : x->t.seq > y->t.seq;
}

static void rx_timers_free(pTHX_ struct rx_engine *eng)
{
	size_t i;

	if (eng->tmap) {
		for (i = 0; i <= eng->tmap_mask; i++) {
			struct rx_timer *rt = eng->tmap[i];
			while (rt) {
				struct rx_timer *next = rt->hnext;
				evl_timer_stop(&rt->t);
				SvREFCNT_dec(rt->cb);
				Safefree(rt);
				rt = next;
			}
		}
		Safefree(eng->tmap);
		eng->tmap = NULL;
	}
	eng->tcount = 0;
	while (eng->tfree) {
		struct rx_timer *rt = eng->tfree;
		eng->tfree = rt->hnext;
		Safefree(rt);
	}
	eng->tfree_len = 0;
}

/* ------------------------------------------------------------ watchers */

struct rx_watcher {
	evl_watcher w;
	struct rx_engine *eng;	/* while active */
	HV *hv;			/* the Watcher hash (the magic's owner) */
	SV *self_rv;		/* weak RV to hv: the callbacks' 3rd argument */
	SV *fh;			/* weak RV to the handle: their 2nd */
	SV *read_cb, *write_cb, *error_cb;
	int fd;
	unsigned char read_en, write_en, error_en, et, oneshot, active;
	struct rx_watcher *next, *prev;	/* the engine's active list */
	PerlIO *fp;		/* the handle's PerlIO when its fileno was last fd */
};

static void rx_w_read(evl_watcher *w, unsigned revents);
static void rx_w_write(evl_watcher *w, unsigned revents);
static void rx_w_error(evl_watcher *w, unsigned revents);

static int rx_watcher_free(pTHX_ SV *sv, MAGIC *mg);
static int rx_watcher_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL rx_watcher_vtbl = { 0, 0, 0, 0, rx_watcher_free, 0, rx_watcher_dup, 0 };

/* A new thread's copy: inactive, no callbacks (see rx_engine_dup). */
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
	MAGIC *mg;

	if (SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVHV && SvMAGICAL(SvRV(sv)))
		for (mg = SvMAGIC(SvRV(sv)); mg; mg = mg->mg_moremagic)
			if (mg->mg_type == PERL_MAGIC_ext &&
			    mg->mg_virtual == &rx_watcher_vtbl)
				return (struct rx_watcher *)mg->mg_ptr;
	croak("not a Linux::Event::Watcher");
	return NULL;
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

/* Makes rw inactive: out of the fd table and epoll (a DEL on a closed fd
 * fails with EBADF/ENOENT, which the core takes as done), fh undef, and
 * the engine's reference dropped (which may free rw: touch nothing after). */
static int rx_watcher_cancel(pTHX_ struct rx_watcher *rw)
{
	if (!rw->active)
		return 0;
	rw->active = 0;
	evl_watcher_stop(&rw->w);
	if (rw->eng) {
		rx_watcher_unlink(rw->eng, rw);
		rw->eng = NULL;
	}
	/* Set in place, not freed: the old value may be on the Perl stack
	 * as the running callback's $_[1]. */
	sv_setsv(rw->fh, &PL_sv_undef);
	(void)hv_stores(rw->hv, "fh", newSV(0));
	SvREFCNT_dec((SV *)rw->hv);
	return 1;
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

static void rx_w_call(evl_watcher *w, int which)
{
	struct rx_watcher *rw = rx_container_of(w, struct rx_watcher, w);
	struct rx_engine *eng = rw->eng;
	dENG_THX(eng);
	SV *cb, *args[3];
	int fd;

	if (LIKELY(rx_same_fp(rw)))
		fd = rw->fd;
	else if ((fd = rx_fileno(aTHX_ rw->fh)) == rw->fd)
		rx_remember_fp(aTHX_ rw);
	if (fd != rw->fd && fd != -2) {
		/* Closed, dropped, or its number now names another file. */
		rx_watcher_cancel(aTHX_ rw);
		return;
	}
	cb = which == EVL_READ ? rw->read_cb :
	     which == EVL_WRITE ? rw->write_cb : rw->error_cb;
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

static void rx_w_read(evl_watcher *w, unsigned revents)
{
	PERL_UNUSED_ARG(revents);
	rx_w_call(w, EVL_READ);
}

static void rx_w_write(evl_watcher *w, unsigned revents)
{
	PERL_UNUSED_ARG(revents);
	rx_w_call(w, EVL_WRITE);
}

static void rx_w_error(evl_watcher *w, unsigned revents)
{
	PERL_UNUSED_ARG(revents);
	rx_w_call(w, EVL_ERROR);
}

/* The active Perl watcher for fd on eng, or NULL (none, or an internal
 * one such as the waker's drain watcher or a pidfd's). */
static struct rx_watcher *rx_watcher_for_fd(struct rx_engine *eng, int fd)
{
	evl_watcher *w = evl_loop_watcher_for_fd(eng->base.loop, fd);

	if (!w || w->read_cb != rx_w_read)
		return NULL;
	return rx_container_of(w, struct rx_watcher, w);
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
XS_INTERNAL(rx_dispatch_xsub)
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

/* ------------------------------------------------------------ signals */

struct rx_sig {
	evl_signal s;
	struct rx_engine *eng;
	SV *cb;			/* NULL: no handler (swallowed) */
	SV *data;
	UV token;		/* the Subscription that installed cb */
};

static void rx_sig_fire(evl_signal *s, int signo, unsigned count)
{
	struct rx_sig *rs = rx_container_of(s, struct rx_sig, s);
	struct rx_engine *eng = rs->eng;
	dENG_THX(eng);
	SV *args[4], *cb, *data;

	if (!rs->cb)
		return;	/* cancelled: stays blocked, read and dropped */
	cb = SvREFCNT_inc_simple_NN(rs->cb);
	data = rs->data ? SvREFCNT_inc_simple_NN(rs->data) : newSV(0);
	args[0] = eng->loop_sv;
	args[1] = newSViv(signo);
	args[2] = newSVuv(count);
	args[3] = data;
	evlxs_call(aTHX_ &eng->base, cb, args, 4);
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec(args[2]);
	SvREFCNT_dec(data);
	SvREFCNT_dec(cb);
}

static void rx_sigs_free(pTHX_ struct rx_engine *eng)
{
	int i;

	for (i = 0; i < RX_NSIG; i++) {
		struct rx_sig *rs = eng->sig[i];
		if (!rs)
			continue;
		evl_signal_stop(&rs->s);
		SvREFCNT_dec(rs->cb);
		SvREFCNT_dec(rs->data);
		Safefree(rs);
		eng->sig[i] = NULL;
	}
}

/* ------------------------------------------------------------ pids */

struct rx_pid {
	evl_pid p;
	struct rx_engine *eng;
	SV *cb, *data;
	UV token;
	int reap;
	struct rx_pid *next;
};

static void rx_pid_unlink(struct rx_engine *eng, struct rx_pid *rp)
{
	struct rx_pid **pp = &eng->pids;

	while (*pp && *pp != rp)
		pp = &(*pp)->next;
	if (*pp)
		*pp = rp->next;
	rp->next = NULL;
}

static void rx_pid_destroy(pTHX_ struct rx_pid *rp)
{
	evl_pid_stop(&rp->p);
	SvREFCNT_dec(rp->cb);
	SvREFCNT_dec(rp->data);
	Safefree(rp);
}

static void rx_pid_fire(evl_pid *p, int status)
{
	struct rx_pid *rp = rx_container_of(p, struct rx_pid, p);
	struct rx_engine *eng = rp->eng;
	dENG_THX(eng);
	SV *args[4];

	/* One shot: the subscription is over before the callback runs.  A
	 * status the kernel would not give us (not our child, already
	 * reaped) is reported as undef rather than dying in dispatch. */
	rx_pid_unlink(eng, rp);
	args[0] = eng->loop_sv;
	args[1] = newSViv(rp->p.pid);
	args[2] = (rp->reap && status >= 0) ? newSViv(status) : newSV(0);
	args[3] = rp->data ? rp->data : newSV(0);
	rp->data = NULL;
	if (status < 0)
		SETERRNO(-status, 0);
	evlxs_call(aTHX_ &eng->base, rp->cb, args, 4);
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec(args[2]);
	SvREFCNT_dec(args[3]);
	rx_pid_destroy(aTHX_ rp);
}

/* ------------------------------------------------------------ wakeup */

struct rx_wakeup {
	evl_wakeup wk;		/* fd, and the drain watcher w */
	struct rx_engine *eng;	/* the engine whose waker this is, or NULL */
};

static int rx_wakeup_free(pTHX_ SV *sv, MAGIC *mg);
static int rx_wakeup_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL rx_wakeup_vtbl = { 0, 0, 0, 0, rx_wakeup_free, 0, rx_wakeup_dup, 0 };

static struct rx_wakeup *rx_wakeup_of(pTHX_ SV *sv)
{
	MAGIC *mg;

	if (SvROK(sv) && SvMAGICAL(SvRV(sv)))
		for (mg = SvMAGIC(SvRV(sv)); mg; mg = mg->mg_moremagic)
			if (mg->mg_type == PERL_MAGIC_ext &&
			    mg->mg_virtual == &rx_wakeup_vtbl)
				return (struct rx_wakeup *)mg->mg_ptr;
	croak("not a Linux::Event::Wakeup");
	return NULL;
}

/* A new ithread gets its own record on the same eventfd (its copy of the
 * Perl handle shares the fd): it can signal and drain, and owns no drain
 * watcher.  Examples wake a loop from a thread this way. */
static int rx_wakeup_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	struct rx_wakeup *old = (struct rx_wakeup *)mg->mg_ptr, *rk;

	PERL_UNUSED_ARG(param);
	Newxz(rk, 1, struct rx_wakeup);
	evl_watcher_init(&rk->wk.w, NULL, NULL, NULL);
	rk->wk.fd = old->wk.fd;
	mg->mg_ptr = (char *)rk;
	return 0;
}

static int rx_wakeup_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct rx_wakeup *rk = (struct rx_wakeup *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	/* Stop the drain watcher (a no-op once the loop is gone or a user
	 * watcher replaced it); the fd belongs to the Perl handle. */
	evl_watcher_stop(&rk->wk.w);
	if (rk->eng && rk->eng->waker_rk == rk) {
		rk->eng->waker = NULL;
		rk->eng->waker_rk = NULL;
	}
	Safefree(rk);
	return 0;
}

/* The loop's internal drain watcher on its waker (replaced by any user
 * watcher on the waker's fh, as in the seed). */
static void rx_wakeup_read(evl_watcher *w, unsigned revents)
{
	evl_wakeup *wk = rx_container_of(w, evl_wakeup, w);

	uint64_t v;
	ssize_t r;

	PERL_UNUSED_ARG(revents);
	do
		r = read(wk->fd, &v, sizeof(v));
	while (r < 0 && errno == EINTR);
}

/* ------------------------------------------------------------ engine free */

static int rx_engine_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct rx_engine *eng = (struct rx_engine *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	while (eng->watchers)
		rx_watcher_cancel(aTHX_ eng->watchers);
	rx_timers_free(aTHX_ eng);
	rx_sigs_free(aTHX_ eng);
	while (eng->pids) {
		struct rx_pid *rp = eng->pids;
		eng->pids = rp->next;
		rx_pid_destroy(aTHX_ rp);
	}
	if (eng->waker_rk) {
		eng->waker_rk->eng = NULL;
		eng->waker_rk = NULL;
		eng->waker = NULL;
	}
	if (eng->dispatch_cv) {
		CvXSUBANY(eng->dispatch_cv).any_ptr = NULL;
		SvREFCNT_dec((SV *)eng->dispatch_cv);
	}
	/* Closes the epoll fd, timerfd and signalfd, and restores the
	 * signal mask for the signals this loop had blocked. */
	evl_loop_free(eng->base.loop);
	eng->base.loop = NULL;
	SvREFCNT_dec(eng->loop_sv);
	SvREFCNT_dec(eng->base.error);
	Safefree(eng);
	return 0;
}

/* Runs pending %SIG handlers (they may die: only ever called from XS,
 * with the C loop not on the stack). */
static void rx_async_check(pTHX)
{
	if (PL_sig_pending)
		PERL_ASYNC_CHECK();
}

/* ------------------------------------------------------------ clock */

static uint64_t rx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct rx_clock {
	IV now_ns;
	UV gen;
};

static struct rx_clock *rx_clock_of(pTHX_ SV *sv)
{
	if (SvROK(sv) && SvPOK(SvRV(sv)) && SvCUR(SvRV(sv)) == sizeof(struct rx_clock))
		return (struct rx_clock *)SvPVX(SvRV(sv));
	croak("not a Linux::Event::Clock");
	return NULL;
}

/* a + b where b may be fractional: integer when both are integers. */
static SV *rx_add_ns(pTHX_ IV now, SV *delta, NV scale)
{
	if (SvIOK(delta) && !SvNOK(delta) && scale == 1.0)
		return newSViv(now + SvIV(delta));
	{
		NV v = (NV)now + SvNV(delta) * scale;
		if (v == (NV)(IV)v)
			return newSViv((IV)v);
		return newSVnv(v);
	}
}

/* ------------------------------------------------------------ epoll backend */

struct be_entry {
	SV *fh, *cb, *tag, *loop;
	UV mask;
	uint32_t gen;
	int used;
};

struct be_epoll {
	int epfd;
	int edge, oneshot;	/* defaults OR-ed into every registration */
	struct be_entry *ents;
	size_t nents;
	uint32_t gen;
};

static int be_free(pTHX_ SV *sv, MAGIC *mg);
static int be_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL be_vtbl = { 0, 0, 0, 0, be_free, 0, be_dup, 0 };

/* A new thread's copy watches nothing and has no epoll fd. */
static int be_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	struct be_epoll *be;

	PERL_UNUSED_ARG(param);
	Newxz(be, 1, struct be_epoll);
	be->epfd = -1;
	mg->mg_ptr = (char *)be;
	return 0;
}

static struct be_epoll *be_of(pTHX_ SV *sv)
{
	MAGIC *mg;

	if (SvROK(sv) && SvMAGICAL(SvRV(sv)))
		for (mg = SvMAGIC(SvRV(sv)); mg; mg = mg->mg_moremagic)
			if (mg->mg_type == PERL_MAGIC_ext && mg->mg_virtual == &be_vtbl)
				return (struct be_epoll *)mg->mg_ptr;
	croak("not a Linux::Event::Reactor::Backend::Epoll");
	return NULL;
}

static void be_entry_clear(pTHX_ struct be_entry *e)
{
	SvREFCNT_dec(e->fh);
	SvREFCNT_dec(e->cb);
	SvREFCNT_dec(e->tag);
	SvREFCNT_dec(e->loop);
	e->fh = e->cb = e->tag = e->loop = NULL;
	e->used = 0;
}

static int be_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct be_epoll *be = (struct be_epoll *)mg->mg_ptr;
	size_t i;

	PERL_UNUSED_ARG(sv);
	for (i = 0; i < be->nents; i++)
		if (be->ents[i].used)
			be_entry_clear(aTHX_ &be->ents[i]);
	Safefree(be->ents);
	if (be->epfd >= 0)
		close(be->epfd);
	Safefree(be);
	return 0;
}

static uint32_t be_events(struct be_epoll *be, UV mask)
{
	uint32_t ev = 0;

	if (mask & RX_READABLE)
		ev |= EPOLLIN;
	if (mask & RX_WRITABLE)
		ev |= EPOLLOUT;
	if (mask & RX_PRIO)
		ev |= EPOLLPRI;
	if (mask & RX_RDHUP)
		ev |= EPOLLRDHUP;
	if ((mask & RX_ET) || be->edge)
		ev |= EPOLLET;
	if ((mask & RX_ONESHOT) || be->oneshot)
		ev |= EPOLLONESHOT;
	return ev;
}

static UV be_mask(uint32_t ev)
{
	UV m = 0;

	if (ev & EPOLLIN)
		m |= RX_READABLE;
	if (ev & EPOLLOUT)
		m |= RX_WRITABLE;
	if (ev & EPOLLPRI)
		m |= RX_PRIO;
	if (ev & EPOLLRDHUP)
		m |= RX_RDHUP;
	if (ev & EPOLLERR)
		m |= RX_ERR;
	if (ev & EPOLLHUP)
		m |= RX_HUP;
	return m;
}

static struct be_entry *be_entry_for(struct be_epoll *be, IV fd)
{
	if (fd < 0 || (size_t)fd >= be->nents || !be->ents[fd].used)
		return NULL;
	return &be->ents[fd];
}

/* ------------------------------------------------------------ methods
 *
 * The bodies of the hot engine methods, shared by the engine's XSUBs and
 * the facade's fast path (Linux::Event::Loop calls them directly when its
 * impl is a reactor). */

static UV rx_do_after(pTHX_ struct rx_engine *eng, SV *seconds, SV *cb)
{
	if (!SvOK(seconds))
		croak("seconds is required");
	if (!SvTRUE(cb))
		croak("cb is required");
	if (!is_coderef(cb))
		croak("cb must be a coderef");
	uint64_t delta = secs_to_ns(SvNV(seconds));

	/* A delay counts from now, not from the start of the iteration (the
	 * seed ticks its clock first), so it never fires early.  after(0)
	 * only means "next iteration": the iteration's cached time will do,
	 * and a burst of them then shares one deadline (one heap entry). */
	if (delta == 0)
		return rx_timer_add(aTHX_ eng, evl_loop_now_ns(eng->base.loop), cb);
	return rx_timer_add(aTHX_ eng, evl_loop_update_now(eng->base.loop) + delta, cb);
}

static UV rx_do_at(pTHX_ struct rx_engine *eng, SV *deadline, SV *cb)
{
	if (!SvOK(deadline))
		croak("deadline_seconds is required");
	if (!SvTRUE(cb))
		croak("cb is required");
	if (!is_coderef(cb))
		croak("cb must be a coderef");
	return rx_timer_add(aTHX_ eng, secs_to_ns(SvNV(deadline)), cb);
}

static int rx_do_cancel(pTHX_ struct rx_engine *eng, SV *id)
{
	if (SvOK(id) && !SvROK(id) && looks_like_number(id) && SvNV(id) >= 1)
		return rx_timer_cancel(aTHX_ eng, SvUV(id));
	return 0;
}

static void rx_do_stop(pTHX_ struct rx_engine *eng)
{
	eng->running = 0;
	eng->want_stop = 1;
	evl_loop_stop(eng->base.loop);
	/* As the seed: an existing waker is poked too (a user watcher on
	 * its fh sees it); none is created here. */
	if (eng->waker)
		(void)evl_wakeup_signal(eng->waker, 1);
}

/* ------------------------------------------------------------ facade
 *
 * Linux::Event::Loop's delegated methods are XSUBs: the generic one
 * replaces the facade by its impl on the stack and calls the engine's
 * method with the caller's arguments and context; after, at, cancel,
 * stop and is_running go straight to the C above when the impl is a
 * reactor. */

static struct rx_engine *rx_facade_engine(pTHX_ SV *facade)
{
	SV **impl;
	SV *e;
	MAGIC *mg;

	if (!SvROK(facade) || SvTYPE(SvRV(facade)) != SVt_PVHV)
		return NULL;
	impl = hv_fetchs((HV *)SvRV(facade), "impl", 0);
	if (!impl || !SvROK(*impl))
		return NULL;
	e = SvRV(*impl);
	if (!SvMAGICAL(e))
		return NULL;
	for (mg = SvMAGIC(e); mg; mg = mg->mg_moremagic)
		if (mg->mg_type == PERL_MAGIC_ext && mg->mg_virtual == &rx_engine_vtbl)
			return ((struct rx_engine *)mg->mg_ptr)->base.loop ?
			       (struct rx_engine *)mg->mg_ptr : NULL;
	return NULL;
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
		croak("Linux::Event::Loop::%" SVf ": no loop", SVfARG(name));
	self = ST(0);
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		croak("Linux::Event::Loop::%" SVf ": not a loop", SVfARG(name));
	hv = (HV *)SvRV(self);
	impl = hv_fetchs(hv, "impl", 0);
	if (impl && SvROK(*impl) && SvOBJECT(SvRV(*impl)))
		gv = gv_fetchmethod_sv_flags(SvSTASH(SvRV(*impl)), name, 0);
	if (!gv || !isGV(gv) || !GvCV(gv)) {
		model = hv_fetchs(hv, "model", 0);
		croak("loop model '%" SVf "' does not support %" SVf "()",
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

static void rx_install_facade(pTHX)
{
	static const char *const generic[] = {
		"backend_name", "clock", "run", "run_once",
		"timer", "backend", "sched", "signal", "waker", "pid", "watch", "unwatch",
		"read", "write", "recv", "send", "accept", "connect", "shutdown", "close",
		"splice", "live_op_count", "drain_callbacks",
		"_watcher_update", "_watcher_cancel", NULL
	};
	static const struct { const char *name; XSUBADDR_t fn; } fast[] = {
		{ "after", rx_facade_after }, { "at", rx_facade_at },
		{ "cancel", rx_facade_cancel }, { "stop", rx_facade_stop },
		{ "is_running", rx_facade_is_running }, { NULL, NULL }
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

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Reactor

PROTOTYPES: DISABLE

BOOT:
	rx_install_facade(aTHX);

void
_init(SV *self, SV *loop)
    PREINIT:
	struct rx_engine *eng;
	evl_loop *l;
	int rc;
	CV *dcv;
    CODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		croak("Linux::Event::Reactor::_init: not a hash");
	rc = evl_loop_new(&l, EVL_REACTOR, 0);
	if (rc < 0)
		croak("Linux::Event::Reactor: cannot create the loop: %s", strerror(-rc));
	Newxz(eng, 1, struct rx_engine);
	eng->base.loop = l;
	evlxs_engine_attach(aTHX_ SvRV(self), &eng->base, &rx_engine_vtbl);
	{
		MAGIC *emg = mg_findext(SvRV(self), PERL_MAGIC_ext, &rx_engine_vtbl);
		if (emg)
			emg->mg_flags |= MGf_DUP;
	}
	evl_loop_set_interrupt_cb(l, rx_interrupt, eng);
	/* Callbacks get the facade when there is one, else the engine;
	 * weak either way (the facade owns the engine). */
	eng->loop_sv = newSVsv(SvROK(loop) ? loop : self);
	sv_rvweaken(eng->loop_sv);
	dcv = newXS(NULL, rx_dispatch_xsub, __FILE__);
	CvXSUBANY(dcv).any_ptr = eng;
	eng->dispatch_cv = dcv;

UV
after(SV *self, SV *seconds, SV *cb)
    CODE:
	RETVAL = rx_do_after(aTHX_ rx_engine_of(aTHX_ self), seconds, cb);
    OUTPUT:
	RETVAL

UV
at(SV *self, SV *deadline, SV *cb)
    CODE:
	RETVAL = rx_do_at(aTHX_ rx_engine_of(aTHX_ self), deadline, cb);
    OUTPUT:
	RETVAL

int
cancel(SV *self, SV *id = &PL_sv_undef)
    CODE:
	RETVAL = rx_do_cancel(aTHX_ rx_engine_of(aTHX_ self), id);
    OUTPUT:
	RETVAL

UV
_sched_at_ns(SV *self, SV *deadline_ns, SV *cb)
    PREINIT:
	struct rx_engine *eng;
	NV d;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	d = SvNV(deadline_ns);
	RETVAL = rx_timer_add(aTHX_ eng, d > 0 ? (uint64_t)d : 0, cb);
    OUTPUT:
	RETVAL

UV
_sched_after_ns(SV *self, SV *delta_ns, SV *cb)
    PREINIT:
	struct rx_engine *eng;
	NV d;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	d = SvNV(delta_ns);
	/* The Scheduler's rule: from the clock's cached time, no tick. */
	RETVAL = rx_timer_add(aTHX_ eng, evl_loop_now_ns(eng->base.loop) + (d > 0 ? (uint64_t)d : 0), cb);
    OUTPUT:
	RETVAL

SV *
_sched_next_deadline_ns(SV *self)
    PREINIT:
	struct rx_engine *eng;
	uint64_t d;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	d = evl_loop_next_deadline_ns(eng->base.loop);
	RETVAL = d ? newSVuv(d) : newSV(0);
    OUTPUT:
	RETVAL

void
_sched_pop_expired(SV *self)
    PREINIT:
	struct rx_engine *eng;
	uint64_t now;
	size_t i, n = 0, cap = 16;
	struct rx_timer **due;
    PPCODE:
	/* Introspection, not the dispatch path: a scan of the live timers,
	 * returned in firing order (deadline, then start order). */
	eng = rx_engine_of(aTHX_ self);
	now = evl_loop_now_ns(eng->base.loop);
	Newx(due, cap, struct rx_timer *);
	if (eng->tmap)
		for (i = 0; i <= eng->tmap_mask; i++) {
			struct rx_timer *rt;
			for (rt = eng->tmap[i]; rt; rt = rt->hnext) {
				if (rt->t.due_ns > now)
					continue;
				if (n == cap) {
					cap *= 2;
					Renew(due, cap, struct rx_timer *);
				}
				due[n++] = rt;
			}
		}
	qsort(due, n, sizeof(*due), rt_cmp);
	EXTEND(SP, (SSize_t)n);
	for (i = 0; i < n; i++) {
		struct rx_timer *rt = due[i];
		AV *av = newAV();
		av_push(av, newSVuv(rt->id));
		av_push(av, newRV_noinc(rt->cb));	/* takes our reference */
		av_push(av, newSVuv(rt->t.due_ns));
		evl_timer_stop(&rt->t);
		tmap_remove(eng, rt);
		rt_release(eng, rt);
		PUSHs(sv_2mortal(newRV_noinc((SV *)av)));
	}
	Safefree(due);

void
run(SV *self)
    PREINIT:
	struct rx_engine *eng;
	int rc;
    PPCODE:
	eng = rx_engine_of(aTHX_ self);
	ENTER;
	/* The engine must outlive this call even if a callback drops the
	 * last reference to the loop. */
	SvREFCNT_inc_simple_void_NN(SvRV(self));
	SAVEFREESV(SvRV(self));
	SAVEINT(eng->running);	/* 0 again however run ends (1 if nested) */
	eng->running = 1;
	eng->want_stop = 0;
	for (;;) {
		rx_async_check(aTHX);
		if (eng->want_stop || eng->base.error)
			break;
		rc = evl_loop_run(eng->base.loop);
		if (rc < 0)
			croak("run: %s", strerror(-rc));
		if (eng->base.error || eng->want_stop)
			break;
		/* Otherwise the interrupt hook stopped it for a %SIG handler. */
	}
	eng->running = 0;
	/* Before LEAVE: that may drop the engine's last reference (a
	 * callback let go of the loop), and a croak unwinds it anyway. */
	evlxs_rethrow(aTHX_ &eng->base);
	LEAVE;
	XSRETURN_EMPTY;

int
run_once(SV *self, SV *timeout = &PL_sv_undef)
    PREINIT:
	struct rx_engine *eng;
	int64_t tmo = -1;
	int rc;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	if (SvOK(timeout)) {
		NV t = SvNV(timeout) * 1e9;
		tmo = t > 0 ? (t >= 9.0e18 ? INT64_MAX : (int64_t)t) : 0;
	}
	ENTER;
	SvREFCNT_inc_simple_void_NN(SvRV(self));
	SAVEFREESV(SvRV(self));
	rx_async_check(aTHX);
	rc = evl_loop_run_once(eng->base.loop, tmo);
	/* Before LEAVE, which may free the engine (see run). */
	evlxs_rethrow(aTHX_ &eng->base);
	rx_async_check(aTHX);
	LEAVE;
	if (rc < 0)
		croak("run_once: %s", strerror(-rc));
	RETVAL = rc;
    OUTPUT:
	RETVAL

void
stop(SV *self)
    PPCODE:
	rx_do_stop(aTHX_ rx_engine_of(aTHX_ self));
	XSRETURN_EMPTY;

int
is_running(SV *self)
    CODE:
	RETVAL = rx_engine_of(aTHX_ self)->running ? 1 : 0;
    OUTPUT:
	RETVAL

SV *
_loop(SV *self)
    CODE:
	RETVAL = newSVsv(rx_engine_of(aTHX_ self)->loop_sv);
    OUTPUT:
	RETVAL

SV *
_watch(SV *self, SV *fh, int fd, SV *rcb, SV *wcb, SV *ecb, SV *data, int et, int oneshot)
    PREINIT:
	struct rx_engine *eng;
	struct rx_watcher *rw, *old;
	HV *hv;
	SV *rv;
	MAGIC *mg;
	int rc;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	/* Replacement: the old watcher of this fd number goes first. */
	old = rx_watcher_for_fd(eng, fd);
	if (old)
		rx_watcher_cancel(aTHX_ old);
	hv = newHV();
	rv = newRV_noinc((SV *)hv);
	sv_bless(rv, gv_stashpvs("Linux::Event::Watcher", GV_ADD));
	Newxz(rw, 1, struct rx_watcher);
	mg = sv_magicext((SV *)hv, NULL, PERL_MAGIC_ext, &rx_watcher_vtbl, (const char *)rw, 0);
	mg->mg_flags |= MGf_DUP;
	rw->hv = hv;
	rw->fd = fd;
	rw->self_rv = newRV_inc((SV *)hv);
	sv_rvweaken(rw->self_rv);
	if (SvROK(fh)) {
		rw->fh = newSVsv(fh);
		sv_rvweaken(rw->fh);
	} else {
		rw->fh = newSVsv(fh);	/* a bare glob: a copy, it cannot be weak */
	}
	rw->read_cb = SvOK(rcb) ? newSVsv(rcb) : NULL;
	rw->write_cb = SvOK(wcb) ? newSVsv(wcb) : NULL;
	rw->error_cb = SvOK(ecb) ? newSVsv(ecb) : NULL;
	rw->read_en = rw->read_cb != NULL;
	rw->write_en = rw->write_cb != NULL;
	rw->error_en = rw->error_cb != NULL;
	rw->et = et ? 1 : 0;
	rw->oneshot = oneshot ? 1 : 0;
	{
		SV *l = newSVsv(eng->loop_sv);
		SV *f = newSVsv(rw->fh);
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
		SvREFCNT_dec(rv);
		croak("Couldn't add filehandle from epoll set: %s", strerror(-rc));
	}
	rw->active = 1;
	rw->eng = eng;
	if (rx_fileno(aTHX_ rw->fh) == fd)
		rx_remember_fp(aTHX_ rw);
	rx_watcher_link(eng, rw);
	SvREFCNT_inc_simple_void_NN((SV *)hv);	/* the engine's reference */
	RETVAL = rv;
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

void
_sig_set(SV *self, int signo, SV *cb, SV *data, UV token)
    PREINIT:
	struct rx_engine *eng;
	struct rx_sig *rs;
	int rc;
    PPCODE:
	eng = rx_engine_of(aTHX_ self);
	if (signo < 1 || signo >= RX_NSIG)
		XSRETURN_EMPTY;	/* accepted, never deliverable (as the seed) */
	rs = eng->sig[signo];
	if (!rs) {
		Newxz(rs, 1, struct rx_sig);
		rs->eng = eng;
		rc = evl_signal_start(eng->base.loop, &rs->s, signo, rx_sig_fire);
		if (rc == -EINVAL) {
			/* SIGKILL, SIGSTOP, beyond SIGRTMAX: the kernel would
			 * never route them to a signalfd. */
			Safefree(rs);
			XSRETURN_EMPTY;
		}
		if (rc < 0) {
			Safefree(rs);
			croak("signal(): cannot subscribe to signal %d: %s", signo, strerror(-rc));
		}
		eng->sig[signo] = rs;
	}
	/* One handler per signal: the last registration wins. */
	SvREFCNT_dec(rs->cb);
	SvREFCNT_dec(rs->data);
	rs->cb = newSVsv(cb);
	rs->data = newSVsv(data);
	rs->token = token;
	XSRETURN_EMPTY;

int
_sig_clear(SV *self, int signo, UV token)
    PREINIT:
	struct rx_engine *eng;
	struct rx_sig *rs;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	RETVAL = 0;
	rs = signo >= 1 && signo < RX_NSIG ? eng->sig[signo] : NULL;
	/* Only if this subscription still owns the signal.  The signal stays
	 * blocked and read (and dropped) until the loop goes. */
	if (rs && rs->cb && rs->token == token) {
		SV *cb = rs->cb, *data = rs->data;
		rs->cb = rs->data = NULL;
		SvREFCNT_dec(cb);
		SvREFCNT_dec(data);
		RETVAL = 1;
	}
    OUTPUT:
	RETVAL

void
_pid_start(SV *self, IV pid, SV *cb, SV *data, int reap, UV token)
    PREINIT:
	struct rx_engine *eng;
	struct rx_pid *rp, *it;
	int rc;
    PPCODE:
	eng = rx_engine_of(aTHX_ self);
	/* Replacement per pid. */
	for (it = eng->pids; it; it = it->next)
		if (it->p.pid == pid) {
			rx_pid_unlink(eng, it);
			rx_pid_destroy(aTHX_ it);
			break;
		}
	Newxz(rp, 1, struct rx_pid);
	rp->eng = eng;
	rp->reap = reap;
	rp->token = token;
	rc = evl_pid_start(eng->base.loop, &rp->p, (pid_t)pid, reap ? 0 : EVL_PID_NOREAP, rx_pid_fire);
	if (rc < 0) {
		Safefree(rp);
		SETERRNO(-rc, 0);
		croak("pid(): cannot watch pid %" IVdf ": %s", pid, strerror(-rc));
	}
	rp->cb = newSVsv(cb);
	rp->data = newSVsv(data);
	rp->next = eng->pids;
	eng->pids = rp;
	XSRETURN_EMPTY;

int
_pid_cancel(SV *self, IV pid, UV token)
    PREINIT:
	struct rx_engine *eng;
	struct rx_pid *it;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	RETVAL = 0;
	for (it = eng->pids; it; it = it->next)
		if (it->p.pid == pid && it->token == token) {
			rx_pid_unlink(eng, it);
			rx_pid_destroy(aTHX_ it);
			RETVAL = 1;
			break;
		}
    OUTPUT:
	RETVAL

int
_pid_active(SV *self, IV pid, UV token)
    PREINIT:
	struct rx_engine *eng;
	struct rx_pid *it;
    CODE:
	eng = rx_engine_of(aTHX_ self);
	RETVAL = 0;
	for (it = eng->pids; it; it = it->next)
		if (it->p.pid == pid && it->token == token)
			RETVAL = 1;
    OUTPUT:
	RETVAL

void
_waker_attach(SV *self, SV *waker)
    PREINIT:
	struct rx_engine *eng;
	struct rx_wakeup *rk;
	int rc;
    PPCODE:
	eng = rx_engine_of(aTHX_ self);
	rk = rx_wakeup_of(aTHX_ waker);
	/* The internal drain watcher, in the fd table like any other: a
	 * user watch() on the waker's fh replaces it. */
	evl_watcher_stop(&rk->wk.w);
	evl_watcher_init(&rk->wk.w, rx_wakeup_read, NULL, NULL);
	rc = evl_watcher_start(eng->base.loop, &rk->wk.w, rk->wk.fd, EVL_READ);
	if (rc < 0)
		croak("waker: cannot watch the eventfd: %s", strerror(-rc));
	rk->eng = eng;
	eng->waker = &rk->wk;
	eng->waker_rk = rk;
	XSRETURN_EMPTY;

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Watcher

SV *
fh(SV *self)
    PREINIT:
	struct rx_watcher *rw;
    CODE:
	rw = rx_watcher_of(aTHX_ self);
	RETVAL = rw->active ? newSVsv(rw->fh) : newSV(0);
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
	if (SvOK(cb) && !is_coderef(cb))
		croak("%s handler must be a coderef or undef",
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

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Wakeup

void
_init(SV *self)
    PREINIT:
	struct rx_wakeup *rk;
    PPCODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		croak("Linux::Event::Wakeup::_init: not a hash");
	Newxz(rk, 1, struct rx_wakeup);
	evl_watcher_init(&rk->wk.w, NULL, NULL, NULL);
	rk->wk.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rk->wk.fd < 0) {
		int e = errno;
		Safefree(rk);
		SETERRNO(e, 0);
		croak("eventfd failed: %s", strerror(e));
	}
	{
		MAGIC *mg = sv_magicext(SvRV(self), NULL, PERL_MAGIC_ext, &rx_wakeup_vtbl,
					(const char *)rk, 0);
		mg->mg_flags |= MGf_DUP;
	}
	XSRETURN_EMPTY;

int
_fd(SV *self)
    CODE:
	RETVAL = rx_wakeup_of(aTHX_ self)->wk.fd;
    OUTPUT:
	RETVAL

int
signal(SV *self, SV *n = NULL)
    PREINIT:
	UV v = 1;
	int rc;
    CODE:
	if (n) {
		/* /\A\d+\z/ and >= 1, as the seed checks it. */
		STRLEN len, i;
		const char *p;
		if (!SvOK(n) || SvROK(n))
			croak("signal() increment must be a positive integer");
		if (SvIOK(n) && !SvNOK(n) && !SvPOK(n)) {
			if (SvIV(n) < 1)
				croak("signal() increment must be a positive integer");
			v = SvUV(n);
		} else {
			p = SvPV(n, len);
			for (i = 0; i < len; i++)
				if (p[i] < '0' || p[i] > '9')
					break;
			if (len == 0 || i < len || (len > 0 && p[len - 1] == '\n'))
				croak("signal() increment must be a positive integer");
			v = SvUV(n);
			if (v < 1)
				croak("signal() increment must be a positive integer");
		}
	}
	rc = evl_wakeup_signal(&rx_wakeup_of(aTHX_ self)->wk, v);
	if (rc < 0) {
		SETERRNO(-rc, 0);
		croak("eventfd add failed: %s", strerror(-rc));
	}
	RETVAL = 1;
    OUTPUT:
	RETVAL

SV *
drain(SV *self)
    PREINIT:
	struct rx_wakeup *rk;
	uint64_t v = 0;
	ssize_t r;
    CODE:
	rk = rx_wakeup_of(aTHX_ self);
	/* One read takes the whole counter (and zeroes it); a signal racing
	 * in after it leaves the fd readable for the next drain. */
	do
		r = read(rk->wk.fd, &v, sizeof(v));
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EAGAIN) {
		int e = errno;
		SETERRNO(e, 0);
		croak("eventfd read failed: %s", strerror(e));
	}
	RETVAL = newSVuv(r == sizeof(v) ? (UV)v : 0);
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Clock

SV *
_new(const char *class)
    PREINIT:
	struct rx_clock c;
	SV *body;
    CODE:
	c.now_ns = (IV)rx_now_ns();
	c.gen = 1;
	body = newSVpvn((const char *)&c, sizeof(c));
	RETVAL = sv_bless(newRV_noinc(body), gv_stashpv(class, GV_ADD));
    OUTPUT:
	RETVAL

IV
tick(SV *self)
    PREINIT:
	struct rx_clock *c;
    CODE:
	c = rx_clock_of(aTHX_ self);
	c->now_ns = (IV)rx_now_ns();
	c->gen++;
	RETVAL = c->now_ns;
    OUTPUT:
	RETVAL

UV
generation(SV *self)
    CODE:
	RETVAL = rx_clock_of(aTHX_ self)->gen;
    OUTPUT:
	RETVAL

IV
now_ns(SV *self)
    CODE:
	RETVAL = rx_clock_of(aTHX_ self)->now_ns;
    OUTPUT:
	RETVAL

NV
now_s(SV *self)
    CODE:
	RETVAL = (NV)rx_clock_of(aTHX_ self)->now_ns / 1e9;
    OUTPUT:
	RETVAL

IV
monotonic_ns(SV *self)
    CODE:
	PERL_UNUSED_VAR(self);
	RETVAL = (IV)rx_now_ns();
    OUTPUT:
	RETVAL

SV *
deadline_after(SV *self, SV *v = &PL_sv_undef)
    ALIAS:
	deadline_after_ms = 1
	deadline_after_us = 2
	deadline_in_ns = 3
    PREINIT:
	struct rx_clock *c;
    CODE:
	c = rx_clock_of(aTHX_ self);
	if (!SvOK(v))
		croak("%s requires %s",
		      ix == 0 ? "deadline_after" : ix == 1 ? "deadline_after_ms" :
		      ix == 2 ? "deadline_after_us" : "deadline_in_ns",
		      ix == 0 ? "seconds" : ix == 1 ? "ms" : ix == 2 ? "us" : "delta_ns");
	if (ix == 0)
		RETVAL = newSViv(c->now_ns + (IV)(SvNV(v) * 1e9));
	else
		RETVAL = rx_add_ns(aTHX_ c->now_ns, v, ix == 1 ? 1e6 : ix == 2 ? 1e3 : 1.0);
    OUTPUT:
	RETVAL

SV *
expired_ns(SV *self, SV *d = &PL_sv_undef)
    ALIAS:
	remaining_ns = 1
    PREINIT:
	struct rx_clock *c;
    CODE:
	c = rx_clock_of(aTHX_ self);
	if (!SvOK(d))
		croak("%s requires deadline_ns", ix ? "remaining_ns" : "expired_ns");
	if (ix == 0) {
		RETVAL = newSViv(SvNV(d) <= (NV)c->now_ns ? 1 : 0);
	} else if (SvIOK(d) && !SvNOK(d)) {
		IV r = SvIV(d) - c->now_ns;
		RETVAL = newSViv(r > 0 ? r : 0);
	} else {
		NV r = SvNV(d) - (NV)c->now_ns;
		RETVAL = r > 0 ? newSVnv(r) : newSViv(0);
	}
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Timer

int
_timerfd_create(int clockid, int nonblocking, int cloexec)
    CODE:
	RETVAL = timerfd_create(clockid, (nonblocking ? TFD_NONBLOCK : 0) |
					  (cloexec ? TFD_CLOEXEC : 0));
	if (RETVAL < 0)
		croak("timerfd_create failed: %s", strerror(errno));
    OUTPUT:
	RETVAL

void
_timerfd_settime(int fd, NV value, NV interval)
    PREINIT:
	struct itimerspec its;
    PPCODE:
	if (value < 0)
		value = 0;
	if (interval < 0)
		interval = 0;
	its.it_value.tv_sec = (time_t)value;
	its.it_value.tv_nsec = (long)((value - (NV)its.it_value.tv_sec) * 1e9);
	its.it_interval.tv_sec = (time_t)interval;
	its.it_interval.tv_nsec = (long)((interval - (NV)its.it_interval.tv_sec) * 1e9);
	/* A positive value that rounds to nothing would disarm: 1 ns. */
	if (value > 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		croak("timerfd_settime failed: %s", strerror(errno));
	XSRETURN_EMPTY;

UV
_timerfd_read(int fd)
    PREINIT:
	uint64_t ticks = 0;
	ssize_t n;
    CODE:
	do
		n = read(fd, &ticks, sizeof(ticks));
	while (n < 0 && errno == EINTR);
	RETVAL = n == sizeof(ticks) ? (UV)ticks : 0;
    OUTPUT:
	RETVAL

int
CLOCK_MONOTONIC()
    ALIAS:
	CLOCK_REALTIME = 1
	CLOCK_BOOTTIME = 2
    CODE:
	RETVAL = ix == 0 ? CLOCK_MONOTONIC : ix == 1 ? CLOCK_REALTIME : CLOCK_BOOTTIME;
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Reactor::Backend::Epoll

void
_init(SV *self, int edge, int oneshot)
    PREINIT:
	struct be_epoll *be;
	int fd;
    PPCODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		croak("Linux::Event::Reactor::Backend::Epoll::_init: not a hash");
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		croak("epoll_create1 failed: %s", strerror(errno));
	Newxz(be, 1, struct be_epoll);
	be->epfd = fd;
	be->edge = edge;
	be->oneshot = oneshot;
	{
		MAGIC *bmg = sv_magicext(SvRV(self), NULL, PERL_MAGIC_ext, &be_vtbl, (const char *)be, 0);
		bmg->mg_flags |= MGf_DUP;
	}
	XSRETURN_EMPTY;

int
_exists(SV *self, IV fd)
    CODE:
	RETVAL = be_entry_for(be_of(aTHX_ self), fd) != NULL;
    OUTPUT:
	RETVAL

void
_add(SV *self, SV *fh, IV fd, UV mask, SV *cb, SV *loop, SV *tag)
    PREINIT:
	struct be_epoll *be;
	struct be_entry *e;
	struct epoll_event ev;
    PPCODE:
	be = be_of(aTHX_ self);
	if (fd < 0 || fd > 0x7fffffff)
		croak("fh has no fileno");
	if ((size_t)fd >= be->nents) {
		size_t n = be->nents ? be->nents : 64;
		while (n <= (size_t)fd)
			n *= 2;
		Renew(be->ents, n, struct be_entry);
		memset(be->ents + be->nents, 0, (n - be->nents) * sizeof(*be->ents));
		be->nents = n;
	}
	e = &be->ents[fd];
	e->gen = ++be->gen;
	memset(&ev, 0, sizeof(ev));
	ev.events = be_events(be, mask);
	ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)e->gen << 32;
	if (epoll_ctl(be->epfd, EPOLL_CTL_ADD, (int)fd, &ev) < 0)
		croak("Couldn't add filehandle from epoll set: %s", strerror(errno));
	e->fh = newSVsv(fh);
	e->cb = newSVsv(cb);
	e->loop = newSVsv(loop);
	e->tag = newSVsv(tag);
	e->mask = mask;
	e->used = 1;
	XSRETURN_EMPTY;

int
_mod(SV *self, IV fd, UV mask, int has_loop, SV *loop, int has_tag, SV *tag)
    PREINIT:
	struct be_epoll *be;
	struct be_entry *e;
	struct epoll_event ev;
    CODE:
	be = be_of(aTHX_ self);
	e = be_entry_for(be, fd);
	RETVAL = 0;
	if (e) {
		if (has_loop)
			sv_setsv(e->loop, loop);
		if (has_tag)
			sv_setsv(e->tag, tag);
		e->mask = mask;
		memset(&ev, 0, sizeof(ev));
		ev.events = be_events(be, mask);
		ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)e->gen << 32;
		/* Always a MOD, even for an unchanged mask: it re-arms ONESHOT. */
		if (epoll_ctl(be->epfd, EPOLL_CTL_MOD, (int)fd, &ev) < 0)
			croak("Couldn't modify filehandle in epoll set: %s", strerror(errno));
		RETVAL = 1;
	}
    OUTPUT:
	RETVAL

int
_del(SV *self, IV fd)
    PREINIT:
	struct be_epoll *be;
	struct be_entry *e;
    CODE:
	be = be_of(aTHX_ self);
	e = be_entry_for(be, fd);
	RETVAL = 0;
	if (e) {
		/* EBADF/ENOENT: closed behind our back, already gone. */
		(void)epoll_ctl(be->epfd, EPOLL_CTL_DEL, (int)fd, NULL);
		be_entry_clear(aTHX_ e);
		be->gen++;
		RETVAL = 1;
	}
    OUTPUT:
	RETVAL

int
run_once(SV *self, SV *loop = &PL_sv_undef, SV *timeout = &PL_sv_undef)
    PREINIT:
	struct be_epoll *be;
	struct epoll_event evs[256];
	int n, i, ms = -1;
	SV *err = NULL;
    CODE:
	PERL_UNUSED_VAR(loop);
	be = be_of(aTHX_ self);
	if (SvOK(timeout)) {
		NV t = SvNV(timeout) * 1000.0;
		NV c = t <= 0 ? 0 : (NV)(IV)t;
		if (c < t)
			c += 1;	/* round up: never wake before the deadline */
		ms = c > 2147483647.0 ? 2147483647 : (int)c;
	}
	n = epoll_wait(be->epfd, evs, 256, ms);
	if (n < 0) {
		n = 0;	/* EINTR: the %SIG handlers run below */
	}
	ENTER;
	SvREFCNT_inc_simple_void_NN(SvRV(self));
	SAVEFREESV(SvRV(self));
	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct be_entry *e = be_entry_for(be, fd);
		SV *args[5], *cb;
		dSP;
		if (!e || e->gen != gen)
			continue;	/* unwatched or replaced by an earlier callback */
		cb = sv_2mortal(newSVsv(e->cb));
		args[0] = sv_2mortal(newSVsv(e->loop));
		args[1] = sv_2mortal(newSVsv(e->fh));
		args[2] = sv_2mortal(newSViv(fd));
		args[3] = sv_2mortal(newSVuv(be_mask(evs[i].events)));
		args[4] = sv_2mortal(newSVsv(e->tag));
		PUSHMARK(SP);
		EXTEND(SP, 5);
		PUSHs(args[0]); PUSHs(args[1]); PUSHs(args[2]); PUSHs(args[3]); PUSHs(args[4]);
		PUTBACK;
		call_sv(cb, G_VOID | G_DISCARD | G_EVAL);
		if (SvTRUE(ERRSV) && !err)
			err = sv_2mortal(newSVsv(ERRSV));
	}
	LEAVE;
	if (err)
		croak_sv(err);
	rx_async_check(aTHX);
	RETVAL = n;
    OUTPUT:
	RETVAL
