/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* subscribe.xs - Linux::Event::Subscription: what a loop of either model
 * keeps calling until it is cancelled, over libevloop's many-subscriber
 * objects: signal subscriptions (evl_signal, any number per signal),
 * child watchers (evl_wait, pid 0 = every child) and the iteration hooks
 * (evl_hook: idle, prepare, check).  Also the %SIG hand-over of signals
 * nobody subscribes any more, and the engine methods every model shares
 * (now, time, update_time, alive, after_fork).
 *
 * A subscription's C state is a struct evlxs_sub on the Subscription
 * hash (ext magic).  While active the engine holds a reference on that
 * hash and links the record in its list (struct evlxs_subs), so dropping
 * the object does not end it; cancel, a one-shot child watcher's exit,
 * or the engine's end do.  Callbacks run through evlxs_call (a die is
 * kept and reaches run, the loop stays consistent).
 *
 * Signals and %SIG.  The first subscription of a signal in a loop (by
 * signal_subscribe or by signal()) also starts a "fallback" evl_signal
 * that stays until the loop goes: it keeps the signal blocked and read
 * from the signalfd.  While nobody subscribes it acts as %SIG says when
 * the signal arrives: a code ref (or a sub name) runs from the loop with
 * the signal name, IGNORE drops it, DEFAULT (or nothing) swallows it.
 *
 * Sections: records, signals and %SIG, children, hooks, engine end,
 * XSUBs. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EVLXS_NSIG 65

enum evlxs_sub_kind {
	SUB_SIGNAL = 1, SUB_CHILD, SUB_IDLE, SUB_PREPARE, SUB_CHECK, SUB_TIMER
};

struct evlxs_sub {
	int kind;		/* SUB_* */
	int active;
	struct evlxs_engine *eng;	/* while active */
	HV *hv;			/* the Subscription hash (the magic's owner) */
	SV *self_rv;		/* weak RV to hv: hook callbacks' 2nd argument */
	SV *cb;			/* the CV */
	SV *loop_sv;		/* weak: every callback's 1st argument */
	evl_signal *sigs;	/* SUB_SIGNAL: one per signal */
	int nsig;
	evl_wait wait;		/* SUB_CHILD */
	evl_hook hook;		/* SUB_IDLE, SUB_PREPARE, SUB_CHECK */
	evl_timer timer;	/* SUB_TIMER: the proactor's every() */
	pid_t pid;
	int holds_chld;		/* SUB_CHILD: counts as a SIGCHLD subscriber */
	struct evlxs_sub *next, *prev;	/* the engine's active list */
};

/* A signal's fallback subscription: see the top of the file. */
struct evlxs_sigbase {
	evl_signal s;
	struct evlxs_engine *eng;
	unsigned users;		/* Perl subscribers of the signal (signal() included) */
};

struct evlxs_subs {
	struct evlxs_sub *list;
	struct evlxs_sigbase *base[EVLXS_NSIG];
	size_t nbase;		/* fallbacks started (internal: not in alive) */
};

/* Which signals the loops of this process hold blocked that were not
 * blocked before (libevloop's rule, kept here too because perl undoes
 * the fork handler's restore: pp_fork and pp_system put the parent's
 * mask back in the child; see Subscription.pm).  Process-wide, as the
 * mask is. */
static unsigned held_refs[EVLXS_NSIG];
static unsigned char held_was_blocked[EVLXS_NSIG];

static void held_ref(int signo)
{
	if (held_refs[signo]++ == 0) {
		sigset_t cur;

		sigemptyset(&cur);
		pthread_sigmask(SIG_BLOCK, NULL, &cur);
		held_was_blocked[signo] = sigismember(&cur, signo) == 1;
	}
}

static void held_unref(int signo)
{
	if (held_refs[signo])
		held_refs[signo]--;
}

/* The signals a child process must not inherit blocked; returns how
 * many. */
static int held_set(sigset_t *set)
{
	int signo, n = 0;

	sigemptyset(set);
	for (signo = 1; signo < EVLXS_NSIG; signo++)
		if (held_refs[signo] && !held_was_blocked[signo] && sigaddset(set, signo) == 0)
			n++;
	return n;
}

/* ------------------------------------------------------------ records */

static int sub_mg_free(pTHX_ SV *sv, MAGIC *mg);
static MGVTBL sub_vtbl = { 0, 0, 0, 0, sub_mg_free, 0, evlxs_dup_inert, 0 };

static struct evlxs_subs *subs_of(struct evlxs_engine *eng)
{
	if (!eng->subs)
		Newxz(eng->subs, 1, struct evlxs_subs);
	return eng->subs;
}

static struct evlxs_sub *sub_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_magic(aTHX_ sv, &sub_vtbl);

	if (!mg)
		evlxs_croak(aTHX_ "not a Linux::Event::Subscription");
	if (!mg->mg_ptr)
		evlxs_croak(aTHX_ "Linux::Event::Subscription: this subscription belongs to another thread");
	return (struct evlxs_sub *)mg->mg_ptr;
}

/* Stops the C side of r (idempotent). */
static void sub_stop_c(pTHX_ struct evlxs_sub *r)
{
	int i;

	switch (r->kind) {
	case SUB_SIGNAL:
		for (i = 0; i < r->nsig; i++) {
			if (evl_signal_stop(&r->sigs[i]) && r->eng && r->eng->subs) {
				struct evlxs_sigbase *b = r->eng->subs->base[r->sigs[i].signo];
				if (b && b->users)
					b->users--;
			}
		}
		break;
	case SUB_CHILD:
		(void)evl_wait_stop(&r->wait);
		if (r->holds_chld && r->eng)
			evlxs_sig_release(r->eng, SIGCHLD);
		r->holds_chld = 0;
		break;
	case SUB_TIMER:
		(void)evl_timer_stop(&r->timer);
		break;
	default:
		(void)evl_hook_stop(&r->hook);
		break;
	}
}

/* Ends r: the C object stopped, out of the engine's list, the engine's
 * reference on the hash dropped (which may free r: touch nothing after). */
static int sub_cancel(pTHX_ struct evlxs_sub *r)
{
	struct evlxs_engine *eng = r->eng;

	if (!r->active)
		return 0;
	sub_stop_c(aTHX_ r);
	r->active = 0;
	if (eng && eng->subs) {
		if (r->prev)
			r->prev->next = r->next;
		else if (eng->subs->list == r)
			eng->subs->list = r->next;
		if (r->next)
			r->next->prev = r->prev;
	}
	r->next = r->prev = NULL;
	r->eng = NULL;
	SvREFCNT_dec((SV *)r->hv);
	return 1;
}

static int sub_mg_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct evlxs_sub *r = (struct evlxs_sub *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (!r)
		return 0;	/* a thread's inert copy */
	/* Active only in global destruction, when perl frees objects
	 * whatever their reference counts. */
	if (r->active) {
		sub_stop_c(aTHX_ r);
		r->active = 0;
		if (r->eng && r->eng->subs) {
			if (r->prev)
				r->prev->next = r->next;
			else if (r->eng->subs->list == r)
				r->eng->subs->list = r->next;
			if (r->next)
				r->next->prev = r->prev;
		}
	}
	Safefree(r->sigs);
	SvREFCNT_dec(r->cb);
	SvREFCNT_dec(r->loop_sv);
	SvREFCNT_dec(r->self_rv);
	Safefree(r);
	return 0;
}

/* A new record on a new Subscription hash (the returned RV), not yet
 * started. */
static struct evlxs_sub *sub_new(pTHX_ int kind, SV *loop_sv, SV *cb, SV **rv_out)
{
	struct evlxs_sub *r;
	HV *hv = newHV();
	SV *rv = newRV_noinc((SV *)hv);

	sv_bless(rv, gv_stashpvs("Linux::Event::Subscription", GV_ADD));
	Newxz(r, 1, struct evlxs_sub);
	evlxs_magic_attach(aTHX_ (SV *)hv, &sub_vtbl, r);
	r->kind = kind;
	r->hv = hv;
	r->self_rv = newRV_inc((SV *)hv);
	sv_rvweaken(r->self_rv);
	r->cb = SvREFCNT_inc_simple_NN(SvRV(cb));
	r->loop_sv = newSVsv(loop_sv);
	if (SvROK(r->loop_sv))
		sv_rvweaken(r->loop_sv);
	*rv_out = rv;
	return r;
}

/* r started: the engine owns it now. */
static void sub_link(struct evlxs_engine *eng, struct evlxs_sub *r)
{
	struct evlxs_subs *ss = subs_of(eng);

	r->eng = eng;
	r->active = 1;
	r->prev = NULL;
	r->next = ss->list;
	if (ss->list)
		ss->list->prev = r;
	ss->list = r;
	SvREFCNT_inc_simple_void_NN((SV *)r->hv);
}

/* Calls r's callback with args, the record (its hash) kept alive across
 * the call: the callback may cancel it or drop its last reference. */
static void sub_call(pTHX_ struct evlxs_engine *eng, struct evlxs_sub *r, SV **args, int n)
{
	HV *hv = r->hv;
	SV *cb = r->cb;

	SvREFCNT_inc_simple_void_NN((SV *)hv);
	SvREFCNT_inc_simple_void_NN(cb);
	evlxs_call(aTHX_ eng, cb, args, n);
	SvREFCNT_dec(cb);
	SvREFCNT_dec((SV *)hv);
}

/* ------------------------------------------------------------ signals and %SIG */

static const char *sig_name(int signo)
{
	return signo > 0 && signo < SIG_SIZE ? PL_sig_name[signo] : "UNKNOWN";
}

/* The %SIG entry of signo as a callable CV, or NULL; *ignore is set for
 * IGNORE. */
static CV *sig_handler(pTHX_ int signo, int *ignore)
{
	const char *name = sig_name(signo);
	HV *sig = get_hv("SIG", 0);
	SV **svp, *h;
	const char *s;
	STRLEN len;

	*ignore = 0;
	if (!sig || !(svp = hv_fetch(sig, name, (I32)strlen(name), 0)))
		return NULL;
	h = *svp;
	SvGETMAGIC(h);
	if (evlxs_is_code(h))
		return (CV *)SvRV(h);
	if (!SvOK(h) || SvROK(h))
		return NULL;
	s = SvPV_nomg(h, len);
	if (len == 6 && memEQ(s, "IGNORE", 6)) {
		*ignore = 1;
		return NULL;
	}
	if (len == 0 || (len == 7 && memEQ(s, "DEFAULT", 7)))
		return NULL;
	/* A sub name, as perl allows ("handler" means main::handler). */
	{
		SV *full = sv_2mortal(strstr(s, "::") ? newSVpvn(s, len) :
				      newSVpvf("main::%s", s));
		return get_cvn_flags(SvPVX(full), SvCUR(full), 0);
	}
}

static void sigbase_fire(evl_signal *s, int signo, unsigned count)
{
	struct evlxs_sigbase *b = (struct evlxs_sigbase *)s->data;
	struct evlxs_engine *eng = b->eng;
	dEVLXS_THX(eng->perl);
	SV *args[1];
	CV *h;
	int ignore;
	unsigned i;

	if (b->users)
		return;	/* the subscribers have it */
	h = sig_handler(aTHX_ signo, &ignore);
	if (!h)
		return;	/* IGNORE drops it; DEFAULT stays swallowed */
	args[0] = newSVpv(sig_name(signo), 0);
	SvREFCNT_inc_simple_void_NN((SV *)h);
	for (i = 0; i < count; i++)
		evlxs_call(aTHX_ eng, (SV *)h, args, 1);
	SvREFCNT_dec((SV *)h);
	SvREFCNT_dec(args[0]);
}

int evlxs_sig_hold(pTHX_ struct evlxs_engine *eng, int signo)
{
	struct evlxs_subs *ss;
	struct evlxs_sigbase *b;
	int rc;

	if (signo < 1 || signo >= EVLXS_NSIG)
		return -EINVAL;
	ss = subs_of(eng);
	b = ss->base[signo];
	if (!b) {
		Newxz(b, 1, struct evlxs_sigbase);
		b->eng = eng;
		b->s.data = b;
		held_ref(signo);	/* before the mask changes */
		rc = evl_signal_start(eng->loop, &b->s, signo, sigbase_fire);
		if (rc < 0) {
			held_unref(signo);
			Safefree(b);
			return rc;
		}
		ss->base[signo] = b;
		ss->nbase++;
	}
	b->users++;
	return 0;
}

void evlxs_sig_release(struct evlxs_engine *eng, int signo)
{
	struct evlxs_sigbase *b;

	if (!eng->subs || signo < 1 || signo >= EVLXS_NSIG)
		return;
	b = eng->subs->base[signo];
	if (b && b->users)
		b->users--;
}

static void sub_sig_fire(evl_signal *s, int signo, unsigned count)
{
	struct evlxs_sub *r = (struct evlxs_sub *)s->data;
	struct evlxs_engine *eng = r->eng;
	dEVLXS_THX(eng->perl);
	SV *args[2];
	unsigned i;

	args[0] = r->loop_sv;
	args[1] = newSVpv(sig_name(signo), 0);
	SvREFCNT_inc_simple_void_NN((SV *)r->hv);
	/* One call per instance collected (standard signals coalesce). */
	for (i = 0; i < count && r->active; i++) {
		sub_call(aTHX_ eng, r, args, 2);
		if (!r->active || eng->error)
			break;
	}
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec((SV *)r->hv);
}

/* ------------------------------------------------------------ children */

static void sub_child_fire(evl_wait *wt, pid_t pid, int status)
{
	struct evlxs_sub *r = (struct evlxs_sub *)wt->data;
	struct evlxs_engine *eng = r->eng;
	dEVLXS_THX(eng->perl);
	SV *args[3];
	HV *hv = r->hv;

	args[0] = r->loop_sv;
	args[1] = newSViv(pid);
	/* -ECHILD: reaped by someone else's waitpid; the status is lost. */
	args[2] = status >= 0 ? newSViv(status) : newSV(0);
	if (status < 0)
		SETERRNO(-status, 0);
	SvREFCNT_inc_simple_void_NN((SV *)hv);
	sub_call(aTHX_ eng, r, args, 3);
	/* One pid: one shot (libevloop has already stopped it). */
	if (r->pid > 0)
		(void)sub_cancel(aTHX_ r);
	SvREFCNT_dec((SV *)hv);
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec(args[2]);
}

/* ------------------------------------------------------------ hooks */

static void sub_hook_fire(evl_hook *h)
{
	struct evlxs_sub *r = (struct evlxs_sub *)h->data;
	struct evlxs_engine *eng = r->eng;
	dEVLXS_THX(eng->perl);
	SV *args[2];

	args[0] = r->loop_sv;
	args[1] = r->self_rv;
	sub_call(aTHX_ eng, r, args, 2);
}

static void sub_timer_fire(evl_timer *t)
{
	struct evlxs_sub *r = (struct evlxs_sub *)t->data;
	struct evlxs_engine *eng = r->eng;
	dEVLXS_THX(eng->perl);
	SV *args[2];

	args[0] = r->loop_sv;
	args[1] = r->self_rv;
	sub_call(aTHX_ eng, r, args, 2);
}

/* ------------------------------------------------------------ engine end */

void evlxs_subs_free(pTHX_ struct evlxs_engine *eng)
{
	struct evlxs_subs *ss = eng->subs;
	int i;

	if (!ss)
		return;
	while (ss->list)
		(void)sub_cancel(aTHX_ ss->list);
	for (i = 0; i < EVLXS_NSIG; i++) {
		if (!ss->base[i])
			continue;
		evl_signal_stop(&ss->base[i]->s);
		held_unref(i);
		Safefree(ss->base[i]);
	}
	Safefree(ss);
	eng->subs = NULL;
}

static struct evlxs_engine *engine_of(pTHX_ SV *self, const char *method)
{
	struct evlxs_engine *eng = evlxs_engine_from_sv(aTHX_ self);

	if (!eng || !eng->loop)
		evlxs_croak(aTHX_ "Linux::Event::%s: not a loop of this thread", method);
	return eng;
}

/* Signal numbers of an array ref of integers (checked by the .pm). */
static int sub_signals(pTHX_ SV *list, int **out)
{
	AV *av;
	SSize_t i, n;

	if (!SvROK(list) || SvTYPE(SvRV(list)) != SVt_PVAV)
		evlxs_croak(aTHX_ "Linux::Event::signal_subscribe: signals must be an array ref");
	av = (AV *)SvRV(list);
	n = av_len(av) + 1;
	Newx(*out, n > 0 ? n : 1, int);
	for (i = 0; i < n; i++) {
		SV **svp = av_fetch(av, i, 0);
		(*out)[i] = svp ? (int)SvIV(*svp) : 0;
	}
	return (int)n;
}

/* ------------------------------------------------------------ fork, system, exec
 *
 * pp_fork sets the parent's mask again in the child after fork() (undoing
 * libevloop's atfork handler), pp_system's child execs with the mask of
 * the parent (likewise), and exec keeps the mask.  The three ops are
 * wrapped: PL_ppaddr for code compiled after the boot, and the ops
 * compiled before it are patched (see patch_ops). */

static OP *(*orig_pp_fork)(pTHX);
static OP *(*orig_pp_exec)(pTHX);
static OP *(*orig_pp_system)(pTHX);

static OP *wrap_pp_fork(pTHX)
{
	OP *next = orig_pp_fork(aTHX);
	SV *r = *PL_stack_sp;
	sigset_t set;

	if (SvIOK(r) && SvIVX(r) == 0 && held_set(&set))
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return next;
}

static OP *wrap_pp_exec(pTHX)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	int n = held_set(&set);
	OP *next;

	if (n) {
		/* Pending instances would be delivered at the unblock. */
		while (sigtimedwait(&set, NULL, &zero) > 0)
			;
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	next = orig_pp_exec(aTHX);
	if (n)
		pthread_sigmask(SIG_BLOCK, &set, NULL);	/* exec failed */
	return next;
}

static volatile sig_atomic_t sys_caught[EVLXS_NSIG];

static void sys_record(int signo)
{
	if (signo > 0 && signo < EVLXS_NSIG)
		sys_caught[signo] = 1;
}

struct sys_state {
	sigset_t set;
	struct sigaction old[EVLXS_NSIG];
};

/* The end of a wrapped system (also when it croaks): block again,
 * restore the dispositions, raise what arrived meanwhile so that the
 * loop reads it from its signalfd. */
static void sys_restore(pTHX_ void *p)
{
	struct sys_state *st = (struct sys_state *)p;
	int signo;

	pthread_sigmask(SIG_BLOCK, &st->set, NULL);
	for (signo = 1; signo < EVLXS_NSIG; signo++) {
		if (sigismember(&st->set, signo) != 1)
			continue;
		sigaction(signo, &st->old[signo], NULL);
		if (sys_caught[signo]) {
			sys_caught[signo] = 0;
			kill(getpid(), signo);
		}
	}
	Safefree(st);
}

static OP *wrap_pp_system(pTHX)
{
	struct sys_state *st;
	struct sigaction sa;
	int signo;
	OP *next;

	Newxz(st, 1, struct sys_state);
	if (!held_set(&st->set)) {
		Safefree(st);
		return orig_pp_system(aTHX);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sys_record;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (signo = 1; signo < EVLXS_NSIG; signo++)
		if (sigismember(&st->set, signo) == 1)
			sigaction(signo, &sa, &st->old[signo]);
	ENTER;
	SAVEDESTRUCTOR_X(sys_restore, st);
	pthread_sigmask(SIG_UNBLOCK, &st->set, NULL);
	next = orig_pp_system(aTHX);
	LEAVE;
	return next;
}

/* An op copies its function from PL_ppaddr when it is compiled, so the
 * fork, system and exec ops compiled before the boot keep the originals.
 * Programs switched to the loop by an environment variable load it late
 * (AnyEvent picks its model at the first watcher, MOJO_REACTOR and
 * IO_ASYNC_LOOP at the first loop), and their children would start with
 * the loop's signals blocked.  So the boot also patches those ops: the
 * main program's, and those of every sub, named or anonymous, that the
 * symbol table reaches.  Code compiled later gets the wrappers anyway. */
static void patch_cv(pTHX_ CV *cv, int depth);

static void patch_ops(pTHX_ OP *o, PAD *pad, int depth)
{
	OP *kid;

	switch (o->op_type) {
	case OP_FORK:
		if (o->op_ppaddr == orig_pp_fork)
			o->op_ppaddr = wrap_pp_fork;
		break;
	case OP_EXEC:
		if (o->op_ppaddr == orig_pp_exec)
			o->op_ppaddr = wrap_pp_exec;
		break;
	case OP_SYSTEM:
		if (o->op_ppaddr == orig_pp_system)
			o->op_ppaddr = wrap_pp_system;
		break;
	case OP_ANONCODE:
		/* An anonymous sub's prototype sits in its parent's pad;
		 * its closures share the prototype's ops. */
		if (pad != NULL && o->op_targ > 0 && o->op_targ <= (PADOFFSET)PadMAX(pad)) {
			SV *sv = PadARRAY(pad)[o->op_targ];

			if (sv != NULL && SvTYPE(sv) == SVt_PVCV)
				patch_cv(aTHX_ (CV *)sv, depth + 1);
		}
		break;
	default:
		break;
	}
	if (o->op_flags & OPf_KIDS)
		for (kid = cUNOPo->op_first; kid != NULL; kid = OpSIBLING(kid))
			patch_ops(aTHX_ kid, pad, depth);
}

static void patch_cv(pTHX_ CV *cv, int depth)
{
	PADLIST *pl;

	if (depth > 100 || CvISXSUB(cv) || CvROOT(cv) == NULL)
		return;
	pl = CvPADLIST(cv);
	patch_ops(aTHX_ CvROOT(cv), pl != NULL && PadlistMAX(pl) >= 1 ? PadlistARRAY(pl)[1] : NULL,
		  depth);
}

/* Every sub of stash and of the packages below it.  A nested stash is
 * entered only under its own name, which keeps main::main:: and aliased
 * stashes from looping. */
static void patch_stash(pTHX_ HV *stash, int depth)
{
	const char *name = HvNAME_get(stash);
	STRLEN nlen = name ? strlen(name) : 0;
	STRLEN i;

	if (depth > 100 || HvARRAY(stash) == NULL)
		return;
	for (i = 0; i <= HvMAX(stash); i++) {
		HE *he;

		for (he = HvARRAY(stash)[i]; he != NULL; he = HeNEXT(he)) {
			SV *val = HeVAL(he);
			STRLEN klen;
			const char *key;
			HV *sub;
			const char *sname;

			if (SvROK(val) && SvTYPE(SvRV(val)) == SVt_PVCV) {
				patch_cv(aTHX_ (CV *)SvRV(val), 0);   /* a sub without a glob */
				continue;
			}
			if (SvTYPE(val) != SVt_PVGV)
				continue;
			if (GvCVu((GV *)val))
				patch_cv(aTHX_ GvCV((GV *)val), 0);
			key = HePV(he, klen);
			sub = GvHV((GV *)val);
			if (klen < 3 || key[klen - 1] != ':' || key[klen - 2] != ':' ||
			    sub == NULL || sub == stash || !SvOOK(sub) ||
			    (sname = HvNAME_get(sub)) == NULL)
				continue;
			/* Its name must be ours + key: "Foo::Bar" below "Foo". */
			if (strcmp(name, "main") == 0 ?
			    strlen(sname) == klen - 2 && memEQ(sname, key, klen - 2) :
			    strlen(sname) == nlen + klen && memEQ(sname, name, nlen) &&
			    sname[nlen] == ':' && memEQ(sname + nlen + 2, key, klen - 2))
				patch_stash(aTHX_ sub, depth + 1);
		}
	}
}

static void wrap_child_ops(pTHX)
{
	/* Once per process (PL_ppaddr is shared by every interpreter). */
	if (orig_pp_fork)
		return;
	orig_pp_fork = PL_ppaddr[OP_FORK];
	orig_pp_exec = PL_ppaddr[OP_EXEC];
	orig_pp_system = PL_ppaddr[OP_SYSTEM];
	PL_ppaddr[OP_FORK] = wrap_pp_fork;
	PL_ppaddr[OP_EXEC] = wrap_pp_exec;
	PL_ppaddr[OP_SYSTEM] = wrap_pp_system;
	if (PL_main_root != NULL && PL_main_cv != NULL)
		patch_ops(aTHX_ PL_main_root, CvPADLIST(PL_main_cv) ?
			  PadlistARRAY(CvPADLIST(PL_main_cv))[1] : NULL, 0);
	patch_stash(aTHX_ PL_defstash, 0);
}

MODULE = Linux::Event::Subscription	PACKAGE = Linux::Event::Subscription

PROTOTYPES: DISABLE

SV *
_signal(SV *klass, SV *engine, SV *loop_sv, SV *signos, SV *cb)
    PREINIT:
	struct evlxs_engine *eng;
	struct evlxs_sub *r;
	int *nums = NULL, n, i, rc;
    CODE:
	PERL_UNUSED_VAR(klass);
	eng = engine_of(aTHX_ engine, "signal_subscribe");
	n = sub_signals(aTHX_ signos, &nums);
	SAVEFREEPV(nums);
	r = sub_new(aTHX_ SUB_SIGNAL, loop_sv, cb, &RETVAL);
	sv_2mortal(RETVAL);
	Newxz(r->sigs, n > 0 ? n : 1, evl_signal);
	r->nsig = 0;
	r->eng = eng;	/* for sub_stop_c's bookkeeping while starting */
	for (i = 0; i < n; i++) {
		rc = evlxs_sig_hold(aTHX_ eng, nums[i]);
		if (rc == 0) {
			r->sigs[r->nsig].data = r;
			rc = evl_signal_start(eng->loop, &r->sigs[r->nsig], nums[i], sub_sig_fire);
			if (rc == 0) {
				r->nsig++;
				continue;
			}
			evlxs_sig_release(eng, nums[i]);
		}
		if (rc == -EINVAL)
			continue;	/* SIGKILL, SIGSTOP: accepted, never delivered */
		sub_stop_c(aTHX_ r);
		r->eng = NULL;
		evlxs_croak(aTHX_ "Linux::Event::signal_subscribe: cannot subscribe to signal %d: %s",
		      nums[i], strerror(-rc));
	}
	r->eng = NULL;
	sub_link(eng, r);
	(void)hv_stores(r->hv, "signals", newRV_inc(SvRV(signos)));
	SvREFCNT_inc_simple_void_NN(RETVAL);
    OUTPUT:
	RETVAL

SV *
_child(SV *klass, SV *engine, SV *loop_sv, IV pid, SV *cb)
    PREINIT:
	struct evlxs_engine *eng;
	struct evlxs_sub *r;
	int rc;
    CODE:
	PERL_UNUSED_VAR(klass);
	eng = engine_of(aTHX_ engine, "child");
	r = sub_new(aTHX_ SUB_CHILD, loop_sv, cb, &RETVAL);
	sv_2mortal(RETVAL);
	r->pid = (pid_t)pid;
	r->wait.data = r;
	rc = evl_wait_start(eng->loop, &r->wait, (pid_t)pid, sub_child_fire);
	if (rc < 0) {
		SETERRNO(-rc, 0);
		evlxs_croak(aTHX_ "Linux::Event::child: cannot watch pid %" IVdf ": %s", pid, strerror(-rc));
	}
	/* SIGCHLD is one of the loop's signals now: children do not inherit
	 * it blocked, and once no watcher is left %SIG{CHLD} gets it. */
	r->holds_chld = evlxs_sig_hold(aTHX_ eng, SIGCHLD) == 0;
	sub_link(eng, r);
	(void)hv_stores(r->hv, "pid", newSViv(pid));
	SvREFCNT_inc_simple_void_NN(RETVAL);
    OUTPUT:
	RETVAL

SV *
_hook(SV *klass, SV *engine, SV *loop_sv, int kind, SV *cb)
    PREINIT:
	struct evlxs_engine *eng;
	struct evlxs_sub *r;
	int rc;
    CODE:
	PERL_UNUSED_VAR(klass);
	eng = engine_of(aTHX_ engine, "idle");
	r = sub_new(aTHX_ kind == EVL_HOOK_IDLE ? SUB_IDLE :
		    kind == EVL_HOOK_PREPARE ? SUB_PREPARE : SUB_CHECK, loop_sv, cb, &RETVAL);
	sv_2mortal(RETVAL);
	r->hook.data = r;
	rc = evl_hook_start(eng->loop, &r->hook, kind, sub_hook_fire);
	if (rc < 0)
		evlxs_croak(aTHX_ "Linux::Event: cannot start a hook: %s", strerror(-rc));
	sub_link(eng, r);
	SvREFCNT_inc_simple_void_NN(RETVAL);
    OUTPUT:
	RETVAL

SV *
_every(SV *klass, SV *engine, SV *loop_sv, NV seconds, SV *cb)
    PREINIT:
	struct evlxs_engine *eng;
	struct evlxs_sub *r;
	uint64_t every_ns;
	int rc;
    CODE:
	/* The proactor's every() (Proactor.pm checked the arguments). */
	PERL_UNUSED_VAR(klass);
	eng = engine_of(aTHX_ engine, "every");
	every_ns = seconds * 1e9 >= 4.0e18 ? UINT64_C(4000000000000000000) : (uint64_t)(seconds * 1e9);
	if (every_ns == 0)
		every_ns = 1;
	r = sub_new(aTHX_ SUB_TIMER, loop_sv, cb, &RETVAL);
	sv_2mortal(RETVAL);
	r->timer.data = r;
	evl_timer_init(eng->loop, &r->timer);
	r->timer.data = r;
	rc = evl_timer_start_at(&r->timer, sub_timer_fire, evl_loop_update_now(eng->loop) + every_ns,
				every_ns);
	if (rc < 0)
		evlxs_croak(aTHX_ "Linux::Event::every: cannot start the timer: %s", strerror(-rc));
	sub_link(eng, r);
	SvREFCNT_inc_simple_void_NN(RETVAL);
    OUTPUT:
	RETVAL

int
cancel(SV *self)
    CODE:
	RETVAL = sub_cancel(aTHX_ sub_of(aTHX_ self));
    OUTPUT:
	RETVAL

int
is_active(SV *self)
    PREINIT:
	struct evlxs_sub *r;
    CODE:
	r = sub_of(aTHX_ self);
	RETVAL = r->active;
	/* A forked child's loop drops the parent's child watchers. */
	if (RETVAL && r->kind == SUB_CHILD)
		RETVAL = evl_wait_is_active(&r->wait);
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Subscription	PACKAGE = Linux::Event::Reactor

NV
now(SV *self)
    ALIAS:
	time = 1
	update_time = 2
    PREINIT:
	evl_loop *l;
    CODE:
	l = engine_of(aTHX_ self, ix == 0 ? "now" : ix == 1 ? "time" : "update_time")->loop;
	if (ix == 2)
		(void)evl_loop_update_time(l);
	RETVAL = ix == 1 ? (NV)evl_loop_time_ns(l) / 1e9 : (NV)evl_loop_now_ns(l) / 1e9;
    OUTPUT:
	RETVAL

UV
alive(SV *self)
    PREINIT:
	struct evlxs_engine *eng;
	size_t n;
    CODE:
	eng = engine_of(aTHX_ self, "alive");
	n = evl_loop_alive(eng->loop);
	/* The %SIG fallbacks are the loop's own, not the caller's. */
	if (eng->subs && n >= eng->subs->nbase)
		n -= eng->subs->nbase;
	RETVAL = n;
    OUTPUT:
	RETVAL

void
after_fork(SV *self)
    PREINIT:
	int rc;
    PPCODE:
	rc = evl_loop_fork(engine_of(aTHX_ self, "after_fork")->loop);
	if (rc < 0) {
		SETERRNO(-rc, 0);
		evlxs_croak(aTHX_ "Linux::Event::after_fork: cannot rebuild the loop: %s", strerror(-rc));
	}
	XSRETURN_EMPTY;

BOOT:
	wrap_child_ops(aTHX);
	{
		/* The same methods for the proactor engine. */
		static const char *const names[] = { "now", "time", "update_time", "alive",
						     "after_fork", NULL };
		char from[96], to[96];
		int i;

		for (i = 0; names[i]; i++) {
			CV *src;
			snprintf(from, sizeof(from), "Linux::Event::Reactor::%s", names[i]);
			snprintf(to, sizeof(to), "Linux::Event::Proactor::%s", names[i]);
			src = get_cv(from, 0);
			if (src)
				newXS(to, CvXSUB(src), __FILE__);
			if (src && CvXSUBANY(src).any_i32)
				CvXSUBANY(get_cv(to, 0)).any_i32 = CvXSUBANY(src).any_i32;
		}
	}
