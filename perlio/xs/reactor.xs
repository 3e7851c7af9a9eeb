/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* reactor.xs - Linux::Event::Reactor, the reactor engine over libevloop.
 *
 * Packages here:
 *   Linux::Event::Reactor               the engine: an evl_loop (EVL_REACTOR)
 *                                       attached to a blessed hash as magic;
 *                                       timers, signals, pids, run (its
 *                                       watcher methods are in watcher.xs)
 *   Linux::Event::Wakeup                eventfd wakeups (evl_wakeup)
 * Its neighbours: loop.xs (the facade), watcher.xs (Watcher), clock.xs
 * (Clock, Timer), backend-epoll.xs; reactor-internal.h is what they share.
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
 * Sections: engine, timers, signals, pids, wakeup, engine free,
 * methods, XSUBs.
 */
#define PERL_NO_GET_CONTEXT
#include "reactor-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct rx_timer;
struct rx_watcher;
struct rx_sig;
struct rx_pid;
struct rx_wakeup;

/* ------------------------------------------------------------ engine */

static int rx_engine_free(pTHX_ SV *sv, MAGIC *mg);
/* ithreads.  The C state of a loop (its evl_loop, watchers, timers)
 * belongs to the thread that made it: a new thread's copy of the engine
 * is inert (evlxs_dup_inert), and its methods croak. */
MGVTBL rx_engine_vtbl = { 0, 0, 0, 0, rx_engine_free, 0, evlxs_dup_inert, 0 };

struct rx_engine *rx_engine_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_magic(aTHX_ sv, &rx_engine_vtbl);

	if (!mg)
		evlxs_croak(aTHX_ "Linux::Event::Reactor: not a reactor engine");
	if (!mg->mg_ptr)
		evlxs_croak(aTHX_ "Linux::Event::Reactor: this loop belongs to another thread");
	return (struct rx_engine *)mg->mg_ptr;
}

/* The interrupt hook of the C loop: a signal with a %SIG handler landed
 * during the wait.  Return to XS, which runs the handler (it may die). */
static int rx_interrupt(evl_loop *loop, void *arg)
{
	struct rx_engine *eng = (struct rx_engine *)arg;
	dEVLXS_THX(eng->base.perl);

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
	dEVLXS_THX(eng->base.perl);
	SV *cb = rt->cb;

	if (rt->t.every_ns) {
		/* every(): stays until cancelled (which may happen in the
		 * callback and free rt: nothing touches it afterwards). */
		SvREFCNT_inc_simple_void_NN(cb);
		evlxs_call(aTHX_ &eng->base, cb, &eng->loop_sv, 1);
		SvREFCNT_dec(cb);
		return;
	}
	/* Gone before the call: cancel($id) from the callback returns 0. */
	tmap_remove(eng, rt);
	rt_release(eng, rt);
	evlxs_call(aTHX_ &eng->base, cb, &eng->loop_sv, 1);
	SvREFCNT_dec(cb);
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

/* Schedules cb at an absolute deadline, then every every_ns if not 0;
 * returns the new id. */
static UV rx_timer_add_every(pTHX_ struct rx_engine *eng, uint64_t deadline_ns,
			     uint64_t every_ns, SV *cb)
{
	struct rx_timer *rt = rt_alloc(eng);
	int rc;

	rt->eng = eng;
	evl_timer_init(eng->base.loop, &rt->t);
	rc = evl_timer_start_at(&rt->t, rx_timer_fire, deadline_ns, every_ns);
	if (rc < 0) {
		rt_release(eng, rt);
		evlxs_croak(aTHX_ "timer: %s", strerror(-rc));
	}
	rt->cb = SvREFCNT_inc_simple_NN(SvRV(cb));	/* the CV itself */
	rt->id = ++eng->next_id;
	tmap_insert(eng, rt);
	return rt->id;
}

static UV rx_timer_add(pTHX_ struct rx_engine *eng, uint64_t deadline_ns, SV *cb)
{
	return rx_timer_add_every(aTHX_ eng, deadline_ns, 0, cb);
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
	dEVLXS_THX(eng->base.perl);
	SV *args[4], *cb, *data;

	if (!rs->cb)
		return;
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

/* Ends signal()'s handler of signo: its evl_signal stops (the loop's
 * %SIG fallback keeps the signal blocked, subscribe.xs). */
static void rx_sig_drop(pTHX_ struct rx_engine *eng, int signo)
{
	struct rx_sig *rs = eng->sig[signo];

	if (!rs)
		return;
	eng->sig[signo] = NULL;
	evl_signal_stop(&rs->s);
	evlxs_sig_release(&eng->base, signo);
	SvREFCNT_dec(rs->cb);
	SvREFCNT_dec(rs->data);
	Safefree(rs);
}

static void rx_sigs_free(pTHX_ struct rx_engine *eng)
{
	int i;

	for (i = 0; i < RX_NSIG; i++)
		rx_sig_drop(aTHX_ eng, i);
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
	dEVLXS_THX(eng->base.perl);
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
	MAGIC *mg = evlxs_magic(aTHX_ sv, &rx_wakeup_vtbl);

	if (!mg)
		evlxs_croak(aTHX_ "not a Linux::Event::Wakeup");
	return (struct rx_wakeup *)mg->mg_ptr;
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
	 * watcher replaced it) and unbind; the fd belongs to the Perl handle. */
	evl_wakeup_stop(&rk->wk);
	if (rk->eng && rk->eng->waker_rk == rk) {
		rk->eng->waker = NULL;
		rk->eng->waker_rk = NULL;
	}
	Safefree(rk);
	return 0;
}


/* ------------------------------------------------------------ engine free */

static int rx_engine_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct rx_engine *eng = (struct rx_engine *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (!eng)
		return 0;	/* a thread's inert copy */
	evlxs_engine_deps_gone(aTHX_ &eng->base);
	while (eng->watchers)
		rx_watcher_cancel(aTHX_ eng->watchers);
	rx_timers_free(aTHX_ eng);
	rx_sigs_free(aTHX_ eng);
	evlxs_subs_free(aTHX_ &eng->base);
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
	evlxs_errors_free(aTHX_ &eng->base);
	Safefree(eng);
	return 0;
}


/* ------------------------------------------------------------ constants */

/* The mask bits as constant subs, defined here once for every package
 * whose contract names them (API-core: the Loop facade, the Reactor, the
 * raw epoll backend and its earlier name). */
static void rx_define_constants(pTHX)
{
	static const char *const pkgs[] = {
		"Linux::Event::Reactor", "Linux::Event::Loop",
		"Linux::Event::Reactor::Backend::Epoll",
		"Linux::Event::Backend::Epoll", NULL
	};
	static const struct { const char *name; IV v; } bits[] = {
		{ "READABLE", RX_READABLE }, { "WRITABLE", RX_WRITABLE },
		{ "PRIO", RX_PRIO }, { "RDHUP", RX_RDHUP }, { "ET", RX_ET },
		{ "ONESHOT", RX_ONESHOT }, { "ERR", RX_ERR }, { "HUP", RX_HUP },
		{ NULL, 0 }
	};
	int p, b;

	for (p = 0; pkgs[p]; p++) {
		HV *stash = gv_stashpv(pkgs[p], GV_ADD);
		for (b = 0; bits[b].name; b++)
			newCONSTSUB(stash, bits[b].name, newSViv(bits[b].v));
	}
}

/* ------------------------------------------------------------ methods
 *
 * The bodies of the hot engine methods, shared by the engine's XSUBs and
 * the facade's fast path (Linux::Event::Loop calls them directly when its
 * impl is a reactor). */

UV rx_do_after(pTHX_ struct rx_engine *eng, SV *seconds, SV *cb)
{
	if (!SvOK(seconds))
		evlxs_croak(aTHX_ "seconds is required");
	if (!SvTRUE(cb))
		evlxs_croak(aTHX_ "cb is required");
	if (!evlxs_is_code(cb))
		evlxs_croak(aTHX_ "cb must be a coderef");
	uint64_t delta = secs_to_ns(SvNV(seconds));

	/* A delay counts from now, not from the start of the iteration (the
	 * seed ticks its clock first), so it never fires early.  after(0)
	 * only means "next iteration": the iteration's cached time will do,
	 * and a burst of them then shares one deadline (one heap entry). */
	if (delta == 0)
		return rx_timer_add(aTHX_ eng, evl_loop_now_ns(eng->base.loop), cb);
	return rx_timer_add(aTHX_ eng, evl_loop_update_now(eng->base.loop) + delta, cb);
}

UV rx_do_at(pTHX_ struct rx_engine *eng, SV *deadline, SV *cb)
{
	if (!SvOK(deadline))
		evlxs_croak(aTHX_ "deadline_seconds is required");
	if (!SvTRUE(cb))
		evlxs_croak(aTHX_ "cb is required");
	if (!evlxs_is_code(cb))
		evlxs_croak(aTHX_ "cb must be a coderef");
	return rx_timer_add(aTHX_ eng, secs_to_ns(SvNV(deadline)), cb);
}

/* 0.010 looked ids up as hash keys, so only an id's exact decimal string
 * names a timer: 2, 2.0 and "2" do, "2.5", " 2", "02" and "2e0" none. */
static int timer_id_of(pTHX_ SV *id, UV *out)
{
	STRLEN len, i;
	const char *s;
	UV v = 0;

	if (SvIOK(id) && !SvNOK(id) && !SvPOK(id) && !SvROK(id)) {
		if (SvIsUV(id) || SvIVX(id) >= 1) {
			*out = SvUVX(id);
			return 1;
		}
		return 0;
	}
	if (!SvOK(id) || SvROK(id))
		return 0;
	s = SvPV_nomg_const(id, len);
	if (len == 0 || len > 19 || s[0] == '0')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (UV)(s[i] - '0');
	}
	*out = v;
	return 1;
}

int rx_do_cancel(pTHX_ struct rx_engine *eng, SV *id)
{
	UV n;

	SvGETMAGIC(id);
	if (timer_id_of(aTHX_ id, &n))
		return rx_timer_cancel(aTHX_ eng, n);
	return 0;
}

int rx_do_run_once(pTHX_ struct rx_engine *eng, SV *engine_hv, SV *timeout)
{
	int64_t tmo = -1;
	int rc;

	/* A second callback that died in the last iteration: its turn. */
	evlxs_rethrow(aTHX_ &eng->base);
	if (SvOK(timeout)) {
		NV t = SvNV(timeout) * 1e9;
		tmo = t > 0 ? (t >= 9.0e18 ? INT64_MAX : (int64_t)t) : 0;
	}
	ENTER;
	SAVETMPS;	/* as run: evlxs_call's per-event fast path */
	/* The engine must outlive this call even if a callback drops the
	 * last reference to the loop. */
	SvREFCNT_inc_simple_void_NN(engine_hv);
	SAVEFREESV(engine_hv);
	rx_async_check(aTHX);
	rc = evl_loop_run_once(eng->base.loop, tmo);
	/* Before LEAVE, which may free the engine (see run). */
	evlxs_rethrow(aTHX_ &eng->base);
	rx_async_check(aTHX);
	LEAVE;
	if (rc < 0)
		evlxs_croak(aTHX_ "run_once: %s", strerror(-rc));
	return rc;
}

void rx_do_stop(pTHX_ struct rx_engine *eng)
{
	eng->running = 0;
	eng->want_stop = 1;
	evl_loop_stop(eng->base.loop);
	/* As the seed: an existing waker is poked too (a user watcher on
	 * its fh sees it); none is created here. */
	if (eng->waker)
		(void)evl_wakeup_signal(eng->waker, 1);
}

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Reactor

PROTOTYPES: DISABLE

BOOT:
	rx_define_constants(aTHX);

void
_init(SV *self, SV *loop)
    PREINIT:
	struct rx_engine *eng;
	evl_loop *l;
	int rc;
	CV *dcv;
    CODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		evlxs_croak(aTHX_ "Linux::Event::Reactor::_init: not a hash");
	rc = evl_loop_new(&l, EVL_REACTOR, 0);
	if (rc < 0)
		evlxs_croak(aTHX_ "Linux::Event::Reactor: cannot create the loop: %s", strerror(-rc));
	Newxz(eng, 1, struct rx_engine);
	eng->base.loop = l;
	evlxs_engine_attach(aTHX_ SvRV(self), &eng->base, &rx_engine_vtbl);
	evl_loop_set_interrupt_cb(l, rx_interrupt, eng);
	evl_loop_set_displaced_cb(l, rx_watcher_displaced, eng);
	/* Callbacks get the facade when there is one, else the engine;
	 * weak either way (the facade owns the engine). */
	eng->loop_sv = newSVsv(SvROK(loop) ? loop : self);
	sv_rvweaken(eng->loop_sv);
	dcv = newXS(NULL, rx_dispatch_xsub, __FILE__);
	CvXSUBANY(dcv).any_ptr = eng;
	eng->dispatch_cv = dcv;

UV
after(SV *self, SV *seconds = &PL_sv_undef, SV *cb = &PL_sv_undef)
    CODE:
	RETVAL = rx_do_after(aTHX_ rx_engine_of(aTHX_ self), seconds, cb);
    OUTPUT:
	RETVAL

UV
at(SV *self, SV *deadline = &PL_sv_undef, SV *cb = &PL_sv_undef)
    CODE:
	RETVAL = rx_do_at(aTHX_ rx_engine_of(aTHX_ self), deadline, cb);
    OUTPUT:
	RETVAL

UV
_every(SV *self, NV seconds, SV *cb)
    PREINIT:
	struct rx_engine *eng;
	uint64_t every_ns;
    CODE:
	/* Reactor.pm checked the arguments.  The first tick is one interval
	 * from now; the next ones stay on that grid (libevloop). */
	eng = rx_engine_of(aTHX_ self);
	every_ns = secs_to_ns(seconds);
	if (every_ns == 0)
		every_ns = 1;
	RETVAL = rx_timer_add_every(aTHX_ eng, evl_loop_update_now(eng->base.loop) + every_ns,
				    every_ns, cb);
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
	/* A floor of our own: the callbacks' temporaries are then all that
	 * is above it, and evlxs_call frees them without a scope per event. */
	SAVETMPS;
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
			evlxs_croak(aTHX_ "run: %s", strerror(-rc));
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
    CODE:
	RETVAL = rx_do_run_once(aTHX_ rx_engine_of(aTHX_ self), SvRV(self), timeout);
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
		/* One more subscriber of signo, in subscription order, behind
		 * the loop's %SIG fallback (subscribe.xs). */
		rc = evlxs_sig_hold(aTHX_ &eng->base, signo);
		if (rc == 0) {
			Newxz(rs, 1, struct rx_sig);
			rs->eng = eng;
			rc = evl_signal_start(eng->base.loop, &rs->s, signo, rx_sig_fire);
			if (rc < 0) {
				Safefree(rs);
				evlxs_sig_release(&eng->base, signo);
			}
		}
		if (rc == -EINVAL) {
			/* SIGKILL, SIGSTOP, beyond SIGRTMAX: the kernel would
			 * never route them to a signalfd. */
			XSRETURN_EMPTY;
		}
		if (rc < 0)
			evlxs_croak(aTHX_ "signal(): cannot subscribe to signal %d: %s", signo, strerror(-rc));
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
	 * blocked and read until the loop goes; with no subscriber left,
	 * %SIG decides what an arrival does (subscribe.xs). */
	if (rs && rs->cb && rs->token == token) {
		rx_sig_drop(aTHX_ eng, signo);
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
		evlxs_croak(aTHX_ "pid(): cannot watch pid %" IVdf ": %s", pid, strerror(-rc));
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
	/* A forked child's loop drops the parent's pid subscriptions. */
	for (it = eng->pids; it; it = it->next)
		if (it->p.pid == pid && it->token == token)
			RETVAL = evl_watcher_is_active(&it->p.w) ? 1 : 0;
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
	 * user watch() on the waker's fh replaces it.  Bound to the loop, a
	 * signal from this process costs no syscall unless the loop is
	 * blocked (see loop/wakeup.c). */
	rc = evl_wakeup_start(eng->base.loop, &rk->wk, NULL);
	if (rc < 0)
		evlxs_croak(aTHX_ "waker: cannot watch the eventfd: %s", strerror(-rc));
	rk->eng = eng;
	eng->waker = &rk->wk;
	eng->waker_rk = rk;
	XSRETURN_EMPTY;

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Wakeup

void
_init(SV *self)
    PREINIT:
	struct rx_wakeup *rk;
    PPCODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		evlxs_croak(aTHX_ "Linux::Event::Wakeup::_init: not a hash");
	Newxz(rk, 1, struct rx_wakeup);
	evl_watcher_init(&rk->wk.w, NULL, NULL, NULL);
	rk->wk.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rk->wk.fd < 0) {
		int e = errno;
		Safefree(rk);
		SETERRNO(e, 0);
		evlxs_croak(aTHX_ "eventfd failed: %s", strerror(e));
	}
	evlxs_magic_attach(aTHX_ SvRV(self), &rx_wakeup_vtbl, rk);
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
			evlxs_croak(aTHX_ "signal() increment must be a positive integer");
		if (SvIOK(n) && !SvNOK(n) && !SvPOK(n)) {
			if (SvIV(n) < 1)
				evlxs_croak(aTHX_ "signal() increment must be a positive integer");
			v = SvUV(n);
		} else {
			p = SvPV(n, len);
			for (i = 0; i < len; i++)
				if (p[i] < '0' || p[i] > '9')
					break;
			if (len == 0 || i < len || (len > 0 && p[len - 1] == '\n'))
				evlxs_croak(aTHX_ "signal() increment must be a positive integer");
			v = SvUV(n);
			if (v < 1)
				evlxs_croak(aTHX_ "signal() increment must be a positive integer");
		}
	}
	rc = evl_wakeup_signal(&rx_wakeup_of(aTHX_ self)->wk, v);
	if (rc < 0) {
		SETERRNO(-rc, 0);
		evlxs_croak(aTHX_ "eventfd add failed: %s", strerror(-rc));
	}
	RETVAL = 1;
    OUTPUT:
	RETVAL

UV
drain(SV *self)
    PREINIT:
	struct rx_wakeup *rk;
	int64_t r;
    CODE:
	rk = rx_wakeup_of(aTHX_ self);
	/* The pending count and one read of the counter (which zeroes it);
	 * a signal racing in after it is left for the next drain. */
	r = evl_wakeup_drain(&rk->wk);
	if (r < 0) {
		SETERRNO((int)-r, 0);
		evlxs_croak(aTHX_ "eventfd read failed: %s", strerror((int)-r));
	}
	RETVAL = (UV)r;	/* in the pad's target: no SV made per drain */
    OUTPUT:
	RETVAL

