/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* proactor.xs - Linux::Event::Proactor, the engine, over libevloop.
 *
 * Package: Linux::Event::Proactor (the engine's hot methods).  Its
 * neighbours: operation.xs (Linux::Event::Operation: creation, lookup,
 * settlement, the callback queue), backend-uring.xs (the uring path:
 * handles and buffers, submission, completion, progress, cancellation,
 * and Linux::Event::Proactor::Backend::Uring's entry points);
 * proactor-internal.h is what they share.  Argument checking that is not
 * on a hot path, the Fake backend and the POD live in the .pm files.
 *
 * Map of this file: the engine's magic and lookup, ops_by_token, the
 * op methods' arguments and their checks, the generic submit path (Perl
 * backends: Fake), engine life, XS.
 *
 * Ownership.  The engine is a blessed hash; its C state hangs off it as
 * engine magic (xs-internal.h) and is freed with it.  The hash keeps the
 * fields programs read (ops_by_token, callback_queue, live_op_count,
 * next_op_id, ...); the C state holds counted references to those very
 * SVs and updates them in place.  An Operation is a blessed scalar
 * carrying ext magic whose pointer is its struct pxop; the engine knows
 * every live Operation through an intrusive list and clears their engine
 * pointer when it goes, so an Operation never keeps its engine alive and
 * $op->loop of an orphan is undef.  While an op is the kernel's, the
 * Operation holds a reference on itself (and on its buffer and handles),
 * dropped by its completion: the kernel never writes into freed memory.
 *
 * Callbacks.  A completion only settles its Operation and appends it to
 * the engine's callback_queue (no Perl code runs inside libevloop); the
 * queue is drained by run_once / drain_callbacks with call_sv under
 * G_EVAL, and an exception is rethrown once the entry is cleaned up, the
 * rest of the queue left in place for the next drain.
 */
#define PERL_NO_GET_CONTEXT
#include "proactor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *const kind_names[] = {
	NULL, "read", "write", "recv", "send", "accept", "connect",
	"shutdown", "close", "splice", "timeout"
};

static const char *const rkey_names[PXR_NKEYS] = {
	"bytes", "data", "eof", "fh", "addr", "expired"
};

static int kind_from_name(const char *s, STRLEN len)
{
	int k;

	for (k = 1; k < PX_NKINDS; k++)
		if (strlen(kind_names[k]) == len && memEQ(kind_names[k], s, len))
			return k;
	return 0;
}

static int px_mg_free(pTHX_ SV *sv, MAGIC *mg);
/* A thread's copy of the engine is inert (its methods croak). */
MGVTBL px_engine_vtbl = { NULL, NULL, NULL, NULL, px_mg_free, NULL, evlxs_dup_inert, NULL };

/* The engine behind a Proactor object (or a facade holding one in
 * "impl"), or NULL. */
px *px_engine_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_engine_magic(aTHX_ sv, &px_engine_vtbl);

	return mg ? (px *)mg->mg_ptr : NULL;
}

#define px_arg(sv) S_px_arg(aTHX_ sv)
static px *S_px_arg(pTHX_ SV *sv)
{
	px *p = px_of(sv);

	if (p == NULL)
		evlxs_croak(aTHX_ "not a Linux::Event::Proactor (or not usable in this thread)");
	return p;
}

/* ops_by_token: register and unregister.  live_op_count follows. */
#define reg_op(p, op, t) S_reg_op(aTHX_ p, op, t)
static void S_reg_op(pTHX_ px *px, pxop *op, SV *token)
{
	if (hv_exists_ent(px->ops, token, 0)) {
		SV *t = sv_2mortal(token);
		evlxs_croak(aTHX_ "duplicate token registration: %" SVf, SVfARG(t));
	}
	SvREFCNT_dec(op->token);
	op->token = token;
	op->tkey_len = 0;
	(void)hv_store_ent(px->ops, token, newRV_inc(op->self), 0);
	sv_setiv(px->live, SvIV(px->live) + 1);
}

/* reg_op for a token the engine makes, the integer id: the key is
 * formatted and hashed once here and kept in op for px_unreg_op. */
#define reg_op_id(p, op, id) S_reg_op_id(aTHX_ p, op, id)
static void S_reg_op_id(pTHX_ px *px, pxop *op, IV id)
{
	char buf[sizeof(op->tkey)], *k = buf + sizeof(buf);
	UV u = id < 0 ? -(UV)id : (UV)id;
	STRLEN len;
	U32 hash;

	do {
		*--k = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (id < 0)
		*--k = '-';
	len = (STRLEN)(buf + sizeof(buf) - k);
	PERL_HASH(hash, k, len);
	if (hv_common(px->ops, NULL, k, len, 0, HV_FETCH_ISEXISTS, NULL, hash))
		evlxs_croak(aTHX_ "duplicate token registration: %" IVdf, id);
	SvREFCNT_dec(op->token);
	op->token = NULL;
	op->tid = id;
	memcpy(op->tkey, k, len);
	op->tkey_len = (U8)len;
	op->tkey_hash = hash;
	(void)hv_common(px->ops, NULL, k, len, 0, HV_FETCH_ISSTORE,
			newRV_inc(op->self), hash);
	sv_setiv(px->live, SvIV(px->live) + 1);
}

/* Returns the removed entry (mortal) or NULL. */
SV *px_unreg(pTHX_ px *px, SV *token)
{
	SV *gone;
	IV live;

	if (token == NULL)
		return NULL;
	SvGETMAGIC(token);
	if (!SvOK(token))
		return NULL;
	gone = hv_delete_ent(px->ops, token, 0, 0);
	if (gone == NULL || !SvOK(gone))
		return NULL;
	live = SvIV(px->live);
	if (live > 0)
		sv_setiv(px->live, live - 1);
	return gone;
}

/* Unregisters op under its own token, as px_unreg(px, op->token) does,
 * except that the entry's reference goes now, not at the next FREETMPS:
 * px_op_done counts who still holds the Operation. */
void px_unreg_op(pTHX_ px *px, pxop *op)
{
	SV **svp;
	IV live;
	int ok;

	if (op->tkey_len == 0) {
		(void)px_unreg(aTHX_ px, op->token);
		return;
	}
	svp = (SV **)hv_common(px->ops, NULL, op->tkey, op->tkey_len, 0,
			       HV_FETCH_JUST_SV, NULL, op->tkey_hash);
	if (svp == NULL)
		return;
	ok = SvOK(*svp);
	(void)hv_common(px->ops, NULL, op->tkey, op->tkey_len, 0,
			HV_DELETE | G_DISCARD, NULL, op->tkey_hash);
	if (!ok)
		return;
	live = SvIV(px->live);
	if (live > 0)
		sv_setiv(px->live, live - 1);
}

/* A fresh token from next_op_id (the field a Fake backend bumps too). */
SV *px_next_token(pTHX_ px *px)
{
	IV id = SvIV(px->next_id);

	sv_setiv(px->next_id, id + 1);
	return newSViv(id);
}

/* ------------------------------------------------------------ arguments */

static const char *const arg_names[A_NKEYS] = {
	"fh", "len", "data", "on_complete", "buf", "flags", "addr", "how",
	"in_fh", "out_fh", "deadline_ns"
};
/* The keys each op method accepts, by kind. */
static const unsigned allowed_keys[PX_NKINDS] = {
	0,
	B(A_FH) | B(A_LEN) | A_COMMON,			/* read */
	B(A_FH) | B(A_BUF) | A_COMMON,			/* write */
	B(A_FH) | B(A_LEN) | B(A_FLAGS) | A_COMMON,	/* recv */
	B(A_FH) | B(A_BUF) | B(A_FLAGS) | A_COMMON,	/* send */
	B(A_FH) | A_COMMON,				/* accept */
	B(A_FH) | B(A_ADDR) | A_COMMON,			/* connect */
	B(A_FH) | B(A_HOW) | A_COMMON,			/* shutdown */
	B(A_FH) | A_COMMON,				/* close */
	B(A_IN_FH) | B(A_OUT_FH) | B(A_LEN) | B(A_FLAGS) | A_COMMON, /* splice */
	A_COMMON,					/* timeout */
};

/* The A_* index of a key, or A_NKEYS: by length, then by bytes. */
static int arg_index(const char *key, STRLEN klen)
{
#define IS(k) (memEQ(key, arg_names[k], klen))
	switch (klen) {
	case 2:
		return IS(A_FH) ? A_FH : A_NKEYS;
	case 3:
		return IS(A_LEN) ? A_LEN : IS(A_BUF) ? A_BUF : IS(A_HOW) ? A_HOW : A_NKEYS;
	case 4:
		return IS(A_DATA) ? A_DATA : IS(A_ADDR) ? A_ADDR : A_NKEYS;
	case 5:
		return IS(A_FLAGS) ? A_FLAGS : IS(A_IN_FH) ? A_IN_FH : A_NKEYS;
	case 6:
		return IS(A_OUT_FH) ? A_OUT_FH : A_NKEYS;
	case 11:
		return IS(A_ON_COMPLETE) ? A_ON_COMPLETE :
			IS(A_DEADLINE) ? A_DEADLINE : A_NKEYS;
	default:
		return A_NKEYS;
	}
#undef IS
}

/* Reads key/value pairs as a hash assignment would: the last of a
 * repeated key wins, a missing final value is undef (the public methods
 * croak on an odd list before they get here).  With strict, keys
 * outside allowed croak `unknown argument: <key>`, naming the first such
 * key in sorted order so the message does not depend on hash order. */
void px_args_parse(pTHX_ struct px_args *a, SV **kv, I32 n, unsigned allowed,
			 int strict)
{
	SV *bad = NULL;
	I32 i;
	int k;

	Zero(a, 1, struct px_args);
	for (i = 0; i < n; i += 2) {
		STRLEN klen;
		const char *key = SvPV_const(kv[i], klen);
		SV *val = i + 1 < n ? kv[i + 1] : &PL_sv_undef;

		/* Tied values and lvalues (substr() as an argument) answer
		 * SvOK only after their get magic: read them once. */
		if (SvGMAGICAL(val))
			val = sv_mortalcopy(val);
		k = arg_index(key, klen);
		if (k == A_NKEYS || !(allowed & B(k))) {
			if (strict && (bad == NULL || sv_cmp(kv[i], bad) < 0))
				bad = kv[i];
			continue;
		}
		a->v[k] = val;
		a->have |= B(k);
	}
	if (bad)
		evlxs_croak(aTHX_ "unknown argument: %" SVf, SVfARG(bad));
}

/* flags present: must be defined and look like /\A-?\d+\z/. */
static void check_flags(pTHX_ struct px_args *a)
{
	STRLEN len, i;
	const char *s;

	if (!HAVE(a, A_FLAGS))
		return;
	if (!SvOK(a->v[A_FLAGS]))
		evlxs_croak(aTHX_ "flags must be defined");
	s = SvPV_const(a->v[A_FLAGS], len);
	i = len > 0 && s[0] == '-' ? 1 : 0;
	if (i == len)
		evlxs_croak(aTHX_ "flags must be an integer");
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			evlxs_croak(aTHX_ "flags must be an integer");
}

static void check_len(pTHX_ struct px_args *a)
{
	if (!HAVE(a, A_LEN))
		evlxs_croak(aTHX_ "len is required");
	if (!SvOK(a->v[A_LEN]))
		evlxs_croak(aTHX_ "len must be defined");
	/* Written so that NaN fails too: no byte count can be made of it. */
	if (!(SvNV(a->v[A_LEN]) >= 0))
		evlxs_croak(aTHX_ "len must be non-negative");
}

static void check_buf(pTHX_ struct px_args *a)
{
	if (!HAVE(a, A_BUF))
		evlxs_croak(aTHX_ "buf is required");
	if (!SvOK(a->v[A_BUF]))
		evlxs_croak(aTHX_ "buf must be defined");
}

/* 'read' / 'write' / 'both', or SHUT_RD / SHUT_WR / SHUT_RDWR as
 * numbers; anything else croaks. */
int shutdown_how(pTHX_ SV *how)
{
	STRLEN len, i;
	const char *s;

	if (SvOK(how) && !SvROK(how)) {
		s = SvPV_const(how, len);
		for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (len > 0 && i == len) {
			IV v = SvIV(how);

			if (v == SHUT_RD || v == SHUT_WR || v == SHUT_RDWR)
				return (int)v;
		} else if (len == 4 && memEQ(s, "read", 4)) {
			return SHUT_RD;
		} else if (len == 5 && memEQ(s, "write", 5)) {
			return SHUT_WR;
		} else if (len == 4 && memEQ(s, "both", 4)) {
			return SHUT_RDWR;
		}
	}
	evlxs_croak(aTHX_ "how must be 'read', 'write', 'both', SHUT_RD, SHUT_WR, or SHUT_RDWR");
	return -1;
}

/* The checks of each op method, in the seed's order.  Returns the
 * normalised how for shutdown, else 0. */
static int check_op_args(pTHX_ int kind, struct px_args *a)
{
	int how = 0;

	switch (kind) {
	case EVL_OP_SPLICE:
		if (!HAVE(a, A_IN_FH))
			evlxs_croak(aTHX_ "in_fh is required");
		if (!HAVE(a, A_OUT_FH))
			evlxs_croak(aTHX_ "out_fh is required");
		check_len(aTHX_ a);
		check_flags(aTHX_ a);
		break;
	case EVL_OP_TIMEOUT:
		break;
	default:
		if (!HAVE(a, A_FH) || (kind == EVL_OP_CLOSE && !SvOK(a->v[A_FH])))
			evlxs_croak(aTHX_ "fh is required");
		break;
	}
	switch (kind) {
	case EVL_OP_READ:
		check_len(aTHX_ a);
		break;
	case EVL_OP_RECV:
		check_len(aTHX_ a);
		check_flags(aTHX_ a);
		break;
	case EVL_OP_WRITE:
		check_buf(aTHX_ a);
		break;
	case EVL_OP_SEND:
		check_buf(aTHX_ a);
		check_flags(aTHX_ a);
		break;
	case EVL_OP_CONNECT:
		if (!HAVE(a, A_ADDR))
			evlxs_croak(aTHX_ "addr is required");
		if (!SvOK(a->v[A_ADDR]))
			evlxs_croak(aTHX_ "addr must be defined");
		break;
	case EVL_OP_SHUTDOWN:
		if (!HAVE(a, A_HOW))
			evlxs_croak(aTHX_ "how is required");
		if (!SvOK(a->v[A_HOW]))
			evlxs_croak(aTHX_ "how must be defined");
		break;
	default:
		break;
	}
	if (HAVE(a, A_ON_COMPLETE) && SvOK(a->v[A_ON_COMPLETE]) &&
	    !evlxs_is_code(a->v[A_ON_COMPLETE]))
		evlxs_croak(aTHX_ "on_complete must be a coderef");
	if (kind == EVL_OP_SHUTDOWN)
		how = shutdown_how(aTHX_ a->v[A_HOW]);
	return how;
}

/* ------------------------------------------------------------ generic submit */

/* Calls $backend->$method(@args) in scalar context; returns a new SV. */
static SV *call_backend(pTHX_ px *px, const char *method, SV **args, I32 n,
			int need)
{
	dSP;
	SV **backend = hv_fetchs(px->hv, "backend", 0);
	SV *ret;
	HV *stash;
	GV *gv;
	I32 i;
	int cnt;

	stash = backend && SvROK(*backend) && SvOBJECT(SvRV(*backend)) ?
		SvSTASH(SvRV(*backend)) : NULL;
	gv = stash ? gv_fetchmethod_autoload(stash, method, FALSE) : NULL;
	if (gv == NULL) {
		if (need)
			evlxs_croak(aTHX_ "backend does not support %s", method);
		return NULL;
	}
	ENTER;
	SAVETMPS;
	PUSHMARK(SP);
	EXTEND(SP, n + 1);
	PUSHs(*backend);
	for (i = 0; i < n; i++)
		PUSHs(args[i]);
	PUTBACK;
	cnt = call_sv((SV *)GvCV(gv), G_SCALAR);
	SPAGAIN;
	ret = cnt > 0 ? newSVsv(POPs) : newSV(0);
	PUTBACK;
	FREETMPS;
	LEAVE;
	return ret;
}

/* The seed's _submit_op: a new Operation, backend->_submit_<kind>($op,
 * %args) for a token, then registration.  kv/n are the arguments as
 * given (passed through to the backend); a is their parsed view.
 * Returns the Operation (mortal). */
static SV *submit_op(pTHX_ px *px, int kind, const char *kname, STRLEN klen,
		     struct px_args *a, SV **kv, I32 n)
{
	pxop *op;
	SV *rv, *token, **args, *ksv;
	char method[64];
	I32 i;

	ksv = kind ? SvREFCNT_inc_simple_NN(px->kind_sv[kind]) :
		newSVpvn_share(kname, (I32)klen, 0);
	if (px->uring && kind) {
		IV id;

		op = op_new(px, px->op_stash, ksv, a->v[A_DATA],
			    a->v[A_ON_COMPLETE], &rv);
		sv_2mortal(rv);
		uring_start(aTHX_ px, op, kind, a);
		id = SvIV(px->next_id);
		sv_setiv(px->next_id, id + 1);
		reg_op_id(px, op, id);
		return rv;
	}
	if (klen > sizeof(method) - 10) {
		SvREFCNT_dec(ksv);
		evlxs_croak(aTHX_ "backend does not support _submit_%s", kname);
	}
	my_snprintf(method, sizeof(method), "_submit_%s", kname);
	op = op_new(px, px->op_stash, ksv, a->v[A_DATA], a->v[A_ON_COMPLETE], &rv);
	sv_2mortal(rv);
	Newx(args, n + 1, SV *);
	SAVEFREEPV(args);
	args[0] = rv;
	for (i = 0; i < n; i++)
		args[i + 1] = kv[i];
	token = sv_2mortal(call_backend(aTHX_ px, method, args, n + 1, 1));
	if (!SvOK(token))
		evlxs_croak(aTHX_ "token is required");
	reg_op(px, op, SvREFCNT_inc_simple_NN(token));
	return rv;
}

/* ------------------------------------------------------------ progress */

/* run_once's work: the backend's progress, waiting up to timeout_ns
 * (-1: no limit) when idle allows it, then the drain.  Returns their
 * count. */
static IV run_pass(pTHX_ px *p, int64_t t, int idle)
{
	IV n;

	if (p->uring) {
		n = uring_progress(p, t, idle);
	} else {
		SV *c;

		/* Fake: the backend settles due timers.  The libevloop
		 * loop under it serves companions (a Stream on this
		 * engine: its ops and watchers) and, in run(), waits for
		 * the next timer instead of spinning.  What it does is not
		 * counted. */
		if (idle && AvFILL(p->queue) < 0) {
			SV *d = call_backend(aTHX_ p, "_next_deadline_ns", NULL, 0, 0);

			if (d)
				sv_2mortal(d);
			t = d && SvOK(d) ? (int64_t)remaining_ns(p, d) : -1;
		} else {
			t = 0;
		}
		(void)loop_pass(p, t);
		c = sv_2mortal(call_backend(aTHX_ p, "_complete_backend_events",
					   NULL, 0, 1));
		n = SvIV(c);
	}
	return n + drain(p);
}

/* ------------------------------------------------------------ engine life */

/* Frees the engine: libevloop first (it reaps whatever the kernel still
 * holds, so no buffer is written after this), then every Operation is
 * told its engine is gone and the ones that were in flight drop the
 * buffers, handles and self-references they kept. */
static int px_mg_free(pTHX_ SV *sv, MAGIC *mg)
{
	px *p = (px *)mg->mg_ptr;
	pxop *op, *next, **inflight;
	size_t n = 0, i;

	PERL_UNUSED_ARG(sv);
	if (p == NULL)
		return 0;
	/* Streams leave the loop first (a proactor's may need it to settle). */
	evlxs_engine_deps_gone(aTHX_ &p->base);
	mg->mg_ptr = NULL;
	evlxs_subs_free(aTHX_ &p->base);
	if (p->base.loop)
		evl_loop_free(p->base.loop);
	p->base.loop = NULL;
	for (op = p->all; op; op = op->next)
		n++;
	Newx(inflight, n + 1, pxop *);
	n = 0;
	for (op = p->all; op; op = next) {
		next = op->next;
		op->prev = op->next = NULL;
		op->px = NULL;
		/* Cancelled with its loop (the kernel's ops are reaped by
		 * evl_loop_free above): it settles here, once, and no
		 * callback can run for it any more. */
		if (op->state == PXS_PENDING)
			op->state = PXS_CANCELLED;
		if (op->flags & PXOP_INFLIGHT) {
			op->flags &= ~PXOP_INFLIGHT;
			/* Accepted but never delivered: not leaked. */
			if (op->eop.kind == EVL_OP_ACCEPT && op->eop.res >= 0 &&
			    op->eop.state != EVL_OP_PENDING)
				close((int)op->eop.res);
			inflight[n++] = op;
		}
	}
	p->all = NULL;
	for (i = 0; i < n; i++) {
		op_release(aTHX_ inflight[i]);
		SvREFCNT_dec(inflight[i]->self);
	}
	Safefree(inflight);
	evlxs_errors_free(aTHX_ &p->base);
	SvREFCNT_dec((SV *)p->ops);
	SvREFCNT_dec((SV *)p->queue);
	SvREFCNT_dec(p->live);
	SvREFCNT_dec(p->next_id);
	for (i = 0; i < PX_NKINDS; i++)
		SvREFCNT_dec(p->kind_sv[i]);
	for (i = 0; i < PXR_NKEYS; i++)
		SvREFCNT_dec(p->rkey[i]);
	for (i = 0; i < (size_t)p->nspare; i++)
		SvREFCNT_dec(p->spare[i]);
	SvREFCNT_dec(p->stop_key);
	Safefree(p);
	return 0;
}

static SV *field(pTHX_ HV *hv, const char *key, I32 klen)
{
	SV **svp = hv_fetch(hv, key, klen, 1);

	return SvREFCNT_inc_simple_NN(*svp);
}

/* ------------------------------------------------------------ XS */

MODULE = Linux::Event::Proactor	PACKAGE = Linux::Event::Proactor

PROTOTYPES: DISABLE

void
_engine_init(self)
	SV *self
    PREINIT:
	HV *hv;
	SV **svp;
	px *p;
	evl_loop_options opt;
	int rc, k;
    CODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		evlxs_croak(aTHX_ "_engine_init: not a hash-based object");
	hv = (HV *)SvRV(self);
	if (mg_findext((SV *)hv, PERL_MAGIC_ext, &px_engine_vtbl))
		evlxs_croak(aTHX_ "_engine_init: already initialised");
	Zero(&opt, 1, evl_loop_options);
	opt.model = EVL_PROACTOR;
	svp = hv_fetchs(hv, "backend_name", 0);
	if (svp && SvOK(*svp) && strEQ(SvPV_nolen(*svp), "uring")) {
		SV **b = hv_fetchs(hv, "backend", 0);
		SV **e = b && SvROK(*b) && SvTYPE(SvRV(*b)) == SVt_PVHV ?
			hv_fetchs((HV *)SvRV(*b), "ring_entries", 0) : NULL;
		opt.flags = EVL_BACKEND_URING;
		opt.ring_entries = e && SvOK(*e) ? (unsigned)SvUV(*e) : 0;
	} else {
		opt.flags = EVL_BACKEND_FAKE;
	}
	Newxz(p, 1, px);
	rc = evl_loop_new_ex(&p->base.loop, &opt);
	if (rc < 0) {
		Safefree(p);
		if (opt.flags == EVL_BACKEND_URING)
			evlxs_croak(aTHX_ "failed to set up io_uring: %s", strerror(-rc));
		evlxs_croak(aTHX_ "failed to set up the proactor loop: %s", strerror(-rc));
	}
	p->uring = opt.flags == EVL_BACKEND_URING;
	p->hv = hv;
	svp = hv_fetchs(hv, "ops_by_token", 1);
	if (!SvROK(*svp) || SvTYPE(SvRV(*svp)) != SVt_PVHV)
		sv_setsv(*svp, sv_2mortal(newRV_noinc((SV *)newHV())));
	p->ops = (HV *)SvREFCNT_inc_simple_NN(SvRV(*svp));
	/* Its keys live for one op each: not in perl's shared string table,
	 * where each would be inserted and removed again (an empty hash
	 * only, as a shared key must be unshared when it goes). */
	if (HvTOTALKEYS(p->ops) == 0 && !SvRMAGICAL((SV *)p->ops))
		HvSHAREKEYS_off(p->ops);
	svp = hv_fetchs(hv, "callback_queue", 1);
	if (!SvROK(*svp) || SvTYPE(SvRV(*svp)) != SVt_PVAV)
		sv_setsv(*svp, sv_2mortal(newRV_noinc((SV *)newAV())));
	p->queue = (AV *)SvREFCNT_inc_simple_NN(SvRV(*svp));
	p->live = field(aTHX_ hv, "live_op_count", 13);
	if (!SvOK(p->live))
		sv_setiv(p->live, 0);
	p->next_id = field(aTHX_ hv, "next_op_id", 10);
	if (!SvOK(p->next_id))
		sv_setiv(p->next_id, 1);
	for (k = 1; k < PX_NKINDS; k++)
		p->kind_sv[k] = newSVpvn_share(kind_names[k],
					       (I32)strlen(kind_names[k]), 0);
	for (k = 0; k < PXR_NKEYS; k++)
		p->rkey[k] = newSVpvn_share(rkey_names[k],
					    (I32)strlen(rkey_names[k]), 0);
	p->stop_key = newSVpvs_share("stop_requested");
	p->op_stash = gv_stashpvs("Linux::Event::Operation", GV_ADD);
	p->err_stash = gv_stashpvs("Linux::Event::Error", GV_ADD);
	evl_loop_set_interrupt_cb(p->base.loop, px_interrupt, p);
	evlxs_engine_attach(aTHX_ (SV *)hv, &p->base, &px_engine_vtbl);

SV *
read(self, ...)
	SV *self
    ALIAS:
	read = EVL_OP_READ
	write = EVL_OP_WRITE
	recv = EVL_OP_RECV
	send = EVL_OP_SEND
	accept = EVL_OP_ACCEPT
	connect = EVL_OP_CONNECT
	shutdown = EVL_OP_SHUTDOWN
	close = EVL_OP_CLOSE
	splice = EVL_OP_SPLICE
    PREINIT:
	px *p;
	struct px_args a;
	int how;
	SV **kv;
	I32 n, i;
    CODE:
	p = px_arg(self);
	kv = &ST(1);
	n = items - 1;
	/* What 0.010's (\$self, %args) signature said: a dangling key would
	 * otherwise stand for an undef value and its callback be lost. */
	if (n % 2)
		evlxs_croak(aTHX_ "Odd name/value argument for subroutine "
			    "'Linux::Event::Proactor::%s'", kind_names[ix]);
	args_parse(&a, kv, n, allowed_keys[ix], 1);
	how = check_op_args(aTHX_ ix, &a);
	if (ix == EVL_OP_SHUTDOWN) {
		/* The backend sees the normalised how, as in the seed. */
		SV *hsv = sv_2mortal(newSViv(how));
		SV **copy;

		Newx(copy, n, SV *);
		SAVEFREEPV(copy);
		for (i = 0; i < n; i++)
			copy[i] = kv[i];
		for (i = 0; i + 1 < n; i += 2)
			if (SvOK(kv[i]) && strEQ(SvPV_nolen(kv[i]), "how"))
				copy[i + 1] = hsv;
		kv = copy;
		a.v[A_HOW] = hsv;
	}
	RETVAL = SvREFCNT_inc(submit_op(aTHX_ p, ix, kind_names[ix],
			strlen(kind_names[ix]), &a, kv, n));
    OUTPUT:
	RETVAL

SV *
_submit_op(self, kind, ...)
	SV *self
	SV *kind
    PREINIT:
	px *p;
	struct px_args a;
	STRLEN klen;
	const char *k;
    CODE:
	p = px_arg(self);
	SvGETMAGIC(kind);
	if (!SvOK(kind))
		evlxs_croak(aTHX_ "kind is required");
	k = SvPV_const(kind, klen);
	args_parse(&a, &ST(2), items - 2, ~0u, 0);
	RETVAL = SvREFCNT_inc(submit_op(aTHX_ p, kind_from_name(k, klen), k,
					klen, &a, &ST(2), items - 2));
    OUTPUT:
	RETVAL

SV *
_new_op(self, ...)
	SV *self
    PREINIT:
	px *p;
	I32 i;
	SV *kind = NULL, *data = NULL, *cb = NULL;
    CODE:
	p = px_arg(self);
	for (i = 1; i < items; i += 2) {
		const char *key = SvPV_nolen(ST(i));
		SV *val = i + 1 < items ? ST(i + 1) : &PL_sv_undef;

		if (SvGMAGICAL(val))
			val = sv_mortalcopy(val);
		if (strEQ(key, "kind"))
			kind = val;
		else if (strEQ(key, "data"))
			data = val;
		else if (strEQ(key, "on_complete"))
			cb = val;
	}
	if (kind == NULL || !SvOK(kind))
		evlxs_croak(aTHX_ "kind is required");
	if (cb && SvOK(cb) && !evlxs_is_code(cb))
		evlxs_croak(aTHX_ "callback must be a coderef");
	(void)op_new(p, p->op_stash, newSVsv(kind), data, cb, &RETVAL);
    OUTPUT:
	RETVAL

SV *
_unregister_op(self, token)
	SV *self
	SV *token
    PREINIT:
	SV *gone;
    CODE:
	gone = unreg(px_arg(self), token);
	RETVAL = gone ? newSVsv(gone) : newSV(0);
    OUTPUT:
	RETVAL

SV *
_cancel_op(self, opsv)
	SV *self
	SV *opsv
    PREINIT:
	px *p;
	pxop *op;
    CODE:
	p = px_arg(self);
	op = op_arg(opsv);
	if (op->state != PXS_PENDING)
		RETVAL = newSViv(0);
	else if (p->uring)
		RETVAL = newSViv(uring_cancel(p, op));
	else
		RETVAL = call_backend(aTHX_ p, "_cancel_op", &opsv, 1, 1);
    OUTPUT:
	RETVAL

void
_enqueue_callback(self, opsv)
	SV *self
	SV *opsv
    PREINIT:
	px *p;
	pxop *op;
    CODE:
	p = px_arg(self);
	op = op_arg(opsv);
	av_push(p->queue, newRV_inc(op->self));

IV
drain_callbacks(self)
	SV *self
    ALIAS:
	_drain_callback_queue = 1
    CODE:
	PERL_UNUSED_VAR(ix);
	RETVAL = drain(px_arg(self));
    OUTPUT:
	RETVAL

IV
run_once(self, timeout = &PL_sv_undef)
	SV *self
	SV *timeout
    ALIAS:
	_run_once_idle = 1
    PREINIT:
	px *p;
	int64_t t = -1;
    CODE:
	p = px_arg(self);
	SvGETMAGIC(timeout);
	if (SvOK(timeout)) {
		NV s = SvNV(timeout);

		t = s <= 0 ? 0 : (int64_t)(s * 1e9);
	}
	RETVAL = run_pass(aTHX_ p, t, ix);
    OUTPUT:
	RETVAL

void
_run_until_stopped(self)
	SV *self
    PREINIT:
	px *p;
    CODE:
	/* run's loop, `_run_once_idle until $self->{stop_requested}`,
	 * without a method call and a key lookup per pass. */
	p = px_arg(self);
	ENTER;
	SAVETMPS;
	for (;;) {
		HE *he = hv_fetch_ent(p->hv, p->stop_key, 0, 0);

		if (he && SvTRUE(HeVAL(he)))
			break;
		(void)run_pass(aTHX_ p, -1, 1);
		FREETMPS;
	}
	FREETMPS;
	LEAVE;
