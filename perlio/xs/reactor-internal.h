/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* reactor-internal.h - what the reactor's XS files share: the engine
 * (struct rx_engine, reactor.xs), its watchers (watcher.xs), the facade's
 * fast path (loop.xs) and the raw epoll backend's mask bits
 * (backend-epoll.xs). */
#ifndef EVLOOP_REACTOR_INTERNAL_H
#define EVLOOP_REACTOR_INTERNAL_H

#include "xs-internal.h"

#define rx_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* The seed's mask bits, which rx_define_constants (reactor.xs) makes the
 * READABLE ... HUP constant subs. */
#define RX_READABLE 0x01
#define RX_WRITABLE 0x02
#define RX_PRIO 0x04
#define RX_RDHUP 0x08
#define RX_ET 0x10
#define RX_ONESHOT 0x20
#define RX_ERR 0x40
#define RX_HUP 0x80

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

/* The reactor engine sv refers to (the engine object, not a facade:
 * rx_engine_vtbl, xs-internal.h); croaks when there is none or it is a
 * thread's inert copy. */
struct rx_engine *rx_engine_of(pTHX_ SV *sv);

/* The hot engine methods (reactor.xs), shared with the facade. */
UV rx_do_after(pTHX_ struct rx_engine *eng, SV *seconds, SV *cb);
UV rx_do_at(pTHX_ struct rx_engine *eng, SV *deadline, SV *cb);
int rx_do_cancel(pTHX_ struct rx_engine *eng, SV *id);
void rx_do_stop(pTHX_ struct rx_engine *eng);

/* Watchers (watcher.xs): cancel one (the engine drops its reference),
 * and the engine's shared $watcher->{_dispatch_cb} XSUB. */
int rx_watcher_cancel(pTHX_ struct rx_watcher *rw);
/* evl_loop_set_displaced_cb's callback (arg: the engine). */
void rx_watcher_displaced(evl_watcher *w, void *arg);
/* watch($fh_or_fd, %spec) for the common cases (args[0] the handle, then
 * key/value pairs; n counts them all); NULL: take Reactor.pm's watch.
 * Returns a new reference. */
SV *rx_do_watch(pTHX_ struct rx_engine *eng, SV **args, I32 n);
/* run_once($timeout) of eng, whose engine object (the hash) is engine_hv. */
int rx_do_run_once(pTHX_ struct rx_engine *eng, SV *engine_hv, SV *timeout);
XS_EXTERNAL(rx_dispatch_xsub);

/* Runs pending %SIG handlers (they may die: only ever called from XS,
 * with the C loop not on the stack). */
static inline void rx_async_check(pTHX)
{
	if (PL_sig_pending)
		PERL_ASYNC_CHECK();
}

#endif
