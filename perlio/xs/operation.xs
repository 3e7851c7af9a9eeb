/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* operation.xs - Linux::Event::Operation: creation, lookup, settlement
 * and the callback queue of the proactor's operations (struct pxop,
 * proactor-internal.h), and the whole Operation package. */
#define PERL_NO_GET_CONTEXT
#include "proactor-internal.h"

#include <errno.h>
#include <string.h>

/* errno names for Linux::Event::Error; anything else is EUNKNOWN. */
static const char *errno_name(int e)
{
	switch (e) {
#define N(x) case x: return #x;
	N(EPERM) N(ENOENT) N(ESRCH) N(EINTR) N(EIO) N(ENXIO) N(E2BIG)
	N(ENOEXEC) N(EBADF) N(ECHILD) N(EAGAIN) N(ENOMEM) N(EACCES)
	N(EFAULT) N(EBUSY) N(EEXIST) N(EXDEV) N(ENODEV) N(ENOTDIR)
	N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE) N(ENOTTY) N(ETXTBSY)
	N(EFBIG) N(ENOSPC) N(ESPIPE) N(EROFS) N(EMLINK) N(EPIPE)
	N(EDOM) N(ERANGE) N(ENAMETOOLONG) N(ENOSYS) N(ENOTEMPTY)
	N(ELOOP) N(ENOTSOCK) N(EDESTADDRREQ) N(EMSGSIZE) N(EPROTOTYPE)
	N(ENOPROTOOPT) N(EPROTONOSUPPORT) N(EOPNOTSUPP) N(EAFNOSUPPORT)
	N(EADDRINUSE) N(EADDRNOTAVAIL) N(ENETDOWN) N(ENETUNREACH)
	N(ENETRESET) N(ECONNABORTED) N(ECONNRESET) N(ENOBUFS) N(EISCONN)
	N(ENOTCONN) N(ESHUTDOWN) N(ETIMEDOUT) N(ECONNREFUSED)
	N(EHOSTDOWN) N(EHOSTUNREACH) N(EALREADY) N(EINPROGRESS)
	N(ECANCELED) N(ETIME) N(EOVERFLOW) N(EDQUOT) N(EDEADLK) N(ENOLCK)
	N(EILSEQ) N(ENOMSG) N(EPROTO) N(EBADMSG) N(ENOTUNIQ) N(EREMOTEIO)
#undef N
	}
	return "EUNKNOWN";
}

static int op_mg_free(pTHX_ SV *sv, MAGIC *mg);
/* A thread clone of an Operation shares nothing with the original: it
 * is inert, and its methods croak. */
static MGVTBL op_vtbl = { NULL, NULL, NULL, NULL, op_mg_free, NULL, evlxs_dup_inert, NULL };

static void op_link(px *px, pxop *op)
{
	op->px = px;
	op->prev = NULL;
	op->next = px->all;
	if (px->all)
		px->all->prev = op;
	px->all = op;
}

static void op_unlink(pxop *op)
{
	if (op->px == NULL)
		return;
	if (op->prev)
		op->prev->next = op->next;
	else
		op->px->all = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
	op->px = NULL;
}

/* Frees the struct with its Operation scalar.  An op in flight holds a
 * reference on that scalar, so this never runs while the kernel may still
 * use eop or the buffer. */
static int op_mg_free(pTHX_ SV *sv, MAGIC *mg)
{
	pxop *op = (pxop *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (op == NULL)
		return 0;
	mg->mg_ptr = NULL;
	op_unlink(op);
	SvREFCNT_dec(op->kind);
	SvREFCNT_dec(op->data);
	SvREFCNT_dec(op->cb);
	SvREFCNT_dec(op->result);
	SvREFCNT_dec(op->error);
	SvREFCNT_dec(op->token);
	SvREFCNT_dec(op->buf);
	SvREFCNT_dec(op->hold[0]);
	SvREFCNT_dec(op->hold[1]);
	Safefree(op);
	return 0;
}

#define op_of(sv) S_op_of(aTHX_ sv)
static pxop *S_op_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_magic(aTHX_ sv, &op_vtbl);

	return mg ? (pxop *)mg->mg_ptr : NULL;
}

pxop *px_op_arg(pTHX_ SV *sv)
{
	pxop *op = op_of(sv);

	if (op == NULL) {
		if (evlxs_magic(aTHX_ sv, &op_vtbl))
			evlxs_croak(aTHX_ "Linux::Event::Operation: not usable in this thread");
		evlxs_croak(aTHX_ "not a Linux::Event::Operation");
	}
	return op;
}

/* The callback to keep: the CV of a code reference (what a copy of the
 * reference would call, one SV fewer per op), or a copy of anything
 * else (call_sv takes it as a name, as before). */
#define cb_keep(cb) S_cb_keep(aTHX_ cb)
static SV *S_cb_keep(pTHX_ SV *cb)
{
	if (evlxs_is_code(cb))
		return SvREFCNT_inc_simple_NN(SvRV(cb));
	return newSVsv_nomg(cb);
}

/* A new Operation bound to px.  kind is taken over; data is copied and
 * cb kept (cb_keep).  Returns the struct and, in *rvp, a new reference
 * to it. */
pxop *px_op_new(pTHX_ px *px, HV *stash, SV *kind, SV *data, SV *cb,
		      SV **rvp)
{
	pxop *op;
	SV *inner;

	/* Newx and Zero rather than Newxz: malloc has a per-thread cache
	 * for this size, calloc does not use it. */
	Newx(op, 1, pxop);
	Zero(op, 1, pxop);
#ifdef MULTIPLICITY
	op->perl = aTHX;
#endif
	inner = newSV_type(SVt_PVMG);
	evlxs_magic_attach(aTHX_ inner, &op_vtbl, op);
	op->self = inner;
	op->kind = kind;
	if (data)
		SvGETMAGIC(data);
	if (cb)
		SvGETMAGIC(cb);
	op->data = data && SvOK(data) ? newSVsv_nomg(data) : NULL;
	op->cb = cb && SvOK(cb) ? cb_keep(cb) : NULL;
	op->state = PXS_PENDING;
	if (px)
		op_link(px, op);
	*rvp = sv_bless(newRV_noinc(inner), stash);
	return op;
}

/* Queues the callback if there is one to run (the seed's
 * _queue_callback_if_needed). */
#define queue_cb(op) S_queue_cb(aTHX_ op)
static void S_queue_cb(pTHX_ pxop *op)
{
	if ((op->flags & (PXOP_DETACHED | PXOP_QUEUED | PXOP_RAN)) ||
	    op->cb == NULL || op->px == NULL)
		return;
	op->flags |= PXOP_QUEUED;
	av_push(op->px->queue, newRV_inc(op->self));
}

/* Settles a pending op (result and error are taken over). */
void px_settle(pTHX_ pxop *op, unsigned state, SV *result, SV *error)
{
	if (op->state != PXS_PENDING) {
		SvREFCNT_dec(result);
		SvREFCNT_dec(error);
		evlxs_croak(aTHX_ "operation already terminal");
	}
	op->state = state;
	SvREFCNT_dec(op->result);
	op->result = result;
	SvREFCNT_dec(op->error);
	op->error = error;
	queue_cb(op);
}

SV *px_error_new(pTHX_ px *px, int code)
{
	HV *hv = newHV();

	(void)hv_stores(hv, "code", newSViv(code));
	(void)hv_stores(hv, "name", newSVpv(errno_name(code), 0));
	(void)hv_stores(hv, "message", newSVpv(strerror(code), 0));
	return sv_bless(newRV_noinc((SV *)hv), px->err_stash);
}

/* Runs op's callback as ($op, $result_or_undef, $data), then drops the
 * callback and the data.  Returns the exception it threw (a new SV) or
 * NULL.  Every argument is held by a reference for the call, so a
 * callback that detaches or drops its op cannot free them under us. */
#define run_cb(op, rv) S_run_cb(aTHX_ op, rv)
static SV *S_run_cb(pTHX_ pxop *op, SV *op_rv)
{
	dSP;
	SV *err = NULL, *tmp;

	op->flags &= ~PXOP_QUEUED;
	if ((op->flags & (PXOP_DETACHED | PXOP_RAN)) || op->cb == NULL)
		return NULL;
	op->flags |= PXOP_RAN;
	ENTER;
	SAVETMPS;
	tmp = sv_2mortal(SvREFCNT_inc_simple_NN(op->cb));
	PUSHMARK(SP);
	EXTEND(SP, 3);
	PUSHs(op_rv);	/* held by the caller for the call */
	PUSHs(op->result ? sv_2mortal(SvREFCNT_inc_simple_NN(op->result)) : &PL_sv_undef);
	PUSHs(op->data ? sv_2mortal(SvREFCNT_inc_simple_NN(op->data)) : &PL_sv_undef);
	PUTBACK;
	call_sv(tmp, G_VOID | G_DISCARD | G_EVAL);
	if (SvTRUE(ERRSV))
		err = newSVsv(ERRSV);
	FREETMPS;
	LEAVE;
	tmp = op->cb;
	op->cb = NULL;
	SvREFCNT_dec(tmp);
	tmp = op->data;
	op->data = NULL;
	SvREFCNT_dec(tmp);
	return err;
}

/* Runs queued callbacks in FIFO order until the queue is empty, those
 * queued meanwhile included (never lost, unlike the seed).  Entries
 * whose callback is suppressed still count.  An exception stops the
 * drain, leaves the rest queued and propagates. */
IV px_drain(pTHX_ px *px)
{
	IV n = 0;
	AV *q = px->queue;

	while (AvFILL(q) >= 0) {
		SV *e = av_shift(q);
		SV *err = NULL;
		pxop *op = op_of(e);

		n++;
		if (op)
			err = run_cb(op, e);
		SvREFCNT_dec(e);
		if (err)
			croak_sv(sv_2mortal(err));
	}
	return n;
}


MODULE = Linux::Event::Operation	PACKAGE = Linux::Event::Operation

PROTOTYPES: DISABLE

SV *
_new(klass, ...)
	SV *klass
    PREINIT:
	px *p = NULL;
	I32 i;
	SV *loop = NULL, *kind = NULL, *data = NULL, *cb = NULL;
	HV *stash;
    CODE:
	for (i = 1; i < items; i += 2) {
		const char *key = SvPV_nolen(ST(i));
		SV *val = i + 1 < items ? ST(i + 1) : &PL_sv_undef;

		if (SvGMAGICAL(val))
			val = sv_mortalcopy(val);
		if (strEQ(key, "loop"))
			loop = val;
		else if (strEQ(key, "kind"))
			kind = val;
		else if (strEQ(key, "data"))
			data = val;
		else if (strEQ(key, "callback"))
			cb = val;
	}
	if (loop == NULL || !SvTRUE(loop))
		evlxs_croak(aTHX_ "loop is required");
	p = px_of(loop);
	if (p == NULL)
		evlxs_croak(aTHX_ "loop must be a Linux::Event::Proactor");
	if (kind == NULL || !SvOK(kind))
		evlxs_croak(aTHX_ "kind is required");
	if (cb && SvOK(cb) && !evlxs_is_code(cb))
		evlxs_croak(aTHX_ "callback must be a coderef");
	stash = SvROK(klass) && SvOBJECT(SvRV(klass)) ? SvSTASH(SvRV(klass)) :
		gv_stashsv(klass, GV_ADD);
	(void)op_new(p, stash, newSVsv(kind), data, cb, &RETVAL);
    OUTPUT:
	RETVAL

SV *
loop(self)
	SV *self
    ALIAS:
	loop = 0
	kind = 1
	data = 2
	state = 3
	result = 4
	error = 5
	_backend_token = 6
    PREINIT:
	pxop *op;
	SV *v = NULL;
    CODE:
	op = op_arg(self);
	switch (ix) {
	case 0:
		RETVAL = op->px ? newRV_inc((SV *)op->px->hv) : newSV(0);
		break;
	case 3:
		RETVAL = newSVpv(op->state == PXS_PENDING ? "pending" :
				 op->state == PXS_DONE ? "done" : "cancelled", 0);
		break;
	case 6:
		RETVAL = op->token ? newSVsv(op->token) :
			op->tkey_len ? newSViv(op->tid) : newSV(0);
		break;
	default:
		v = ix == 1 ? op->kind : ix == 2 ? op->data : ix == 4 ? op->result :
			ix == 5 ? op->error : op->token;
		RETVAL = v ? newSVsv(v) : newSV(0);
		break;
	}
    OUTPUT:
	RETVAL

IV
is_pending(self)
	SV *self
    ALIAS:
	is_pending = 0
	is_done = 1
	is_cancelled = 2
	is_terminal = 3
	success = 4
	failed = 5
	_has_callback = 6
    PREINIT:
	pxop *op;
    CODE:
	op = op_arg(self);
	switch (ix) {
	case 0: RETVAL = op->state == PXS_PENDING; break;
	case 1: RETVAL = op->state == PXS_DONE; break;
	case 2: RETVAL = op->state == PXS_CANCELLED; break;
	case 3: RETVAL = op->state != PXS_PENDING; break;
	case 4: RETVAL = op->state == PXS_DONE && op->error == NULL; break;
	case 5: RETVAL = op->state == PXS_DONE && op->error != NULL; break;
	default: RETVAL = op->cb != NULL; break;
	}
    OUTPUT:
	RETVAL

SV *
on_complete(self, cb = &PL_sv_undef)
	SV *self
	SV *cb
    PREINIT:
	pxop *op;
    CODE:
	op = op_arg(self);
	SvGETMAGIC(cb);
	if (!SvOK(cb))
		evlxs_croak(aTHX_ "callback is required");
	if (!evlxs_is_code(cb))
		evlxs_croak(aTHX_ "callback must be a coderef");
	if (op->cb)
		evlxs_croak(aTHX_ "callback already set");
	op->cb = cb_keep(cb);
	if (op->state != PXS_PENDING) {
		/* A callback set after the first one ran gets its own run. */
		op->flags &= ~PXOP_RAN;
		queue_cb(op);
	}
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL

SV *
cancel(self)
	SV *self
    PREINIT:
	pxop *op;
	SV *pxrv;
    CODE:
	op = op_arg(self);
	if (op->state != PXS_PENDING || op->px == NULL) {
		RETVAL = newSViv(0);
	} else {
		dSP;
		int n;

		pxrv = sv_2mortal(newRV_inc((SV *)op->px->hv));
		ENTER;
		SAVETMPS;
		PUSHMARK(SP);
		EXTEND(SP, 2);
		PUSHs(pxrv);
		PUSHs(self);
		PUTBACK;
		n = call_method("_cancel_op", G_SCALAR);
		SPAGAIN;
		RETVAL = n > 0 ? newSVsv(POPs) : newSV(0);
		PUTBACK;
		FREETMPS;
		LEAVE;
	}
    OUTPUT:
	RETVAL

SV *
detach(self)
	SV *self
    PREINIT:
	pxop *op;
	SV *cb, *data;
    CODE:
	op = op_arg(self);
	op->flags |= PXOP_DETACHED;
	cb = op->cb;
	data = op->data;
	op->cb = op->data = NULL;
	SvREFCNT_dec(cb);
	SvREFCNT_dec(data);
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL

SV *
_set_backend_token(self, token)
	SV *self
	SV *token
    PREINIT:
	pxop *op;
	SV *old;
    CODE:
	op = op_arg(self);
	SvGETMAGIC(token);
	old = op->token;
	op->token = SvOK(token) ? newSVsv_nomg(token) : NULL;
	op->tkey_len = 0;	/* the engine's key no longer names it */
	SvREFCNT_dec(old);
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL

SV *
_settle_success(self, result = &PL_sv_undef)
	SV *self
	SV *result
    ALIAS:
	_settle_success = 0
	_settle_error = 1
    PREINIT:
	pxop *op;
    CODE:
	op = op_arg(self);
	SvGETMAGIC(result);
	if (ix == 0)
		settle(op, PXS_DONE, SvOK(result) ? newSVsv_nomg(result) : NULL, NULL);
	else
		settle(op, PXS_DONE, NULL, SvOK(result) ? newSVsv_nomg(result) : NULL);
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL

SV *
_settle_cancelled(self)
	SV *self
    CODE:
	settle(op_arg(self), PXS_CANCELLED, NULL, NULL);
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL

SV *
_queue_callback_if_needed(self)
	SV *self
    CODE:
	queue_cb(op_arg(self));
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL

SV *
_run_callback(self)
	SV *self
    PREINIT:
	SV *err;
    CODE:
	err = run_cb(op_arg(self), self);
	if (err)
		croak_sv(sv_2mortal(err));
	RETVAL = SvREFCNT_inc_simple_NN(self);
    OUTPUT:
	RETVAL


