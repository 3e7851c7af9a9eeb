/* proactor.xs - Linux::Event proactor packages over libevloop.
 *
 * Packages: Linux::Event::Proactor (the engine's hot methods),
 * Linux::Event::Operation (all of it) and
 * Linux::Event::Proactor::Backend::Uring (its submit, cancel and progress
 * entry points).  Argument checking that is not on a hot path, the Fake
 * backend and the POD live in the .pm files.
 *
 * Map of this file:
 *   1. the engine (struct px) and the Operation (struct pxop)
 *   2. Operations: creation, lookup, settlement, the callback queue
 *   3. the uring path: fds and buffers, completion
 *   4. argument parsing and the checks of the op methods
 *   3b. the uring path: submission, progress, cancellation (after 4:
 *      it uses the parsed arguments)
 *   5. the generic submit path (Perl backends: Fake); engine life
 *   6. XS
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
#include "xs-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------ 1. structs */

enum { PXS_PENDING = 0, PXS_DONE, PXS_CANCELLED };

#define PXOP_QUEUED   0x01	/* its callback is in the queue */
#define PXOP_RAN      0x02	/* its callback ran */
#define PXOP_DETACHED 0x04	/* callback suppressed, data dropped */
#define PXOP_INFLIGHT 0x08	/* eop belongs to the loop (and the kernel) */

/* read(2)'s own per-call cap (MAX_RW_COUNT): longer requests are short
 * transfers, so no buffer beyond it is ever allocated. */
#define PX_LEN_MAX 0x7ffff000u

typedef struct px px;
typedef struct pxop pxop;

struct pxop {
	px *px;			/* owning engine, NULL once it is gone */
	pxop *prev, *next;	/* px->all: every live Operation of px */
	SV *self;		/* the blessed inner scalar (not counted) */
	SV *kind, *data, *cb, *result, *error, *token;
	unsigned state;		/* PXS_* */
	unsigned flags;		/* PXOP_* */
	int pre_errno;		/* close: a flush error to report */
	SV *buf;		/* read target or bytes to write, while in flight */
	SV *hold[2];		/* handles kept open while in flight */
#ifdef MULTIPLICITY
	PerlInterpreter *perl;
#endif
	evl_op eop;
};

struct px {
	struct evlxs_engine base;	/* first: evlxs_loop_from_sv finds loop */
	HV *hv;			/* the engine hash (not counted: it owns us) */
	HV *ops;		/* ops_by_token */
	AV *queue;		/* callback_queue */
	SV *live;		/* the live_op_count field */
	SV *next_id;		/* the next_op_id field */
	HV *op_stash, *err_stash;
	pxop *all;		/* every live Operation */
	int uring;		/* backend 'uring': ops go through libevloop */
	int in_loop;		/* inside evl_loop_run_once / drain */
	IV completed;		/* completions since the last progress report */
};

#ifdef MULTIPLICITY
#define PX_dTHX(p) dTHXa((p)->base.perl)
#else
#define PX_dTHX(p) dNOOP
#endif

static const char *const kind_names[] = {
	NULL, "read", "write", "recv", "send", "accept", "connect",
	"shutdown", "close", "splice", "timeout"
};
#define PX_NKINDS 11

static int kind_from_name(const char *s, STRLEN len)
{
	int k;

	for (k = 1; k < PX_NKINDS; k++)
		if (strlen(kind_names[k]) == len && memEQ(kind_names[k], s, len))
			return k;
	return 0;
}

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

/* ------------------------------------------------------------ 2. Operations */

static int op_mg_free(pTHX_ SV *sv, MAGIC *mg);
static int op_mg_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL op_vtbl = { NULL, NULL, NULL, NULL, op_mg_free, NULL, op_mg_dup, NULL };

static int px_mg_free(pTHX_ SV *sv, MAGIC *mg);
static int px_mg_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL px_vtbl = { NULL, NULL, NULL, NULL, px_mg_free, NULL, px_mg_dup, NULL };

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

/* A thread clone of an Operation or engine shares nothing with the
 * original: its pointer is cleared and its methods croak. */
static int op_mg_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	PERL_UNUSED_ARG(param);
	mg->mg_ptr = NULL;
	return 0;
}

static int px_mg_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	PERL_UNUSED_ARG(param);
	mg->mg_ptr = NULL;
	return 0;
}

#define op_of(sv) S_op_of(aTHX_ sv)
static pxop *S_op_of(pTHX_ SV *sv)
{
	MAGIC *mg;

	if (sv == NULL || !SvROK(sv))
		return NULL;
	sv = SvRV(sv);
	if (SvTYPE(sv) < SVt_PVMG)
		return NULL;
	mg = mg_findext(sv, PERL_MAGIC_ext, &op_vtbl);
	return mg ? (pxop *)mg->mg_ptr : NULL;
}

#define op_arg(sv) S_op_arg(aTHX_ sv)
static pxop *S_op_arg(pTHX_ SV *sv)
{
	pxop *op = op_of(sv);

	if (op == NULL) {
		if (SvROK(sv) && SvTYPE(SvRV(sv)) >= SVt_PVMG &&
		    mg_findext(SvRV(sv), PERL_MAGIC_ext, &op_vtbl))
			croak("Linux::Event::Operation: not usable in this thread");
		croak("not a Linux::Event::Operation");
	}
	return op;
}

/* The engine behind a Proactor object (or a facade holding one in
 * "impl"), or NULL. */
#define px_of(sv) S_px_of(aTHX_ sv)
static px *S_px_of(pTHX_ SV *sv)
{
	MAGIC *mg;
	SV **impl;

	if (sv == NULL || !SvROK(sv) || SvTYPE(SvRV(sv)) != SVt_PVHV)
		return NULL;
	mg = mg_findext(SvRV(sv), PERL_MAGIC_ext, &px_vtbl);
	if (mg)
		return (px *)mg->mg_ptr;
	impl = hv_fetchs((HV *)SvRV(sv), "impl", 0);
	if (impl && SvROK(*impl) && SvTYPE(SvRV(*impl)) == SVt_PVHV) {
		mg = mg_findext(SvRV(*impl), PERL_MAGIC_ext, &px_vtbl);
		if (mg)
			return (px *)mg->mg_ptr;
	}
	return NULL;
}

#define px_arg(sv) S_px_arg(aTHX_ sv)
static px *S_px_arg(pTHX_ SV *sv)
{
	px *p = px_of(sv);

	if (p == NULL)
		croak("not a Linux::Event::Proactor (or not usable in this thread)");
	return p;
}

/* A new Operation bound to px.  kind is taken over; data and cb are
 * copied.  Returns the struct and, in *rvp, a new reference to it. */
#define op_new(p, st, k, d, c, r) S_op_new(aTHX_ p, st, k, d, c, r)
static pxop *S_op_new(pTHX_ px *px, HV *stash, SV *kind, SV *data, SV *cb,
		      SV **rvp)
{
	pxop *op;
	SV *inner;
	MAGIC *mg;

	Newxz(op, 1, pxop);
#ifdef MULTIPLICITY
	op->perl = aTHX;
#endif
	inner = newSV_type(SVt_PVMG);
	mg = sv_magicext(inner, NULL, PERL_MAGIC_ext, &op_vtbl, (const char *)op, 0);
	mg->mg_flags |= MGf_DUP;
	op->self = inner;
	op->kind = kind;
	if (data)
		SvGETMAGIC(data);
	if (cb)
		SvGETMAGIC(cb);
	op->data = data && SvOK(data) ? newSVsv_nomg(data) : NULL;
	op->cb = cb && SvOK(cb) ? newSVsv_nomg(cb) : NULL;
	op->state = PXS_PENDING;
	if (px)
		op_link(px, op);
	*rvp = sv_bless(newRV_noinc(inner), stash);
	return op;
}

static int is_code(SV *sv)
{
	return sv && SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVCV;
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
#define settle(op, st, r, e) S_settle(aTHX_ op, st, r, e)
static void S_settle(pTHX_ pxop *op, unsigned state, SV *result, SV *error)
{
	if (op->state != PXS_PENDING) {
		SvREFCNT_dec(result);
		SvREFCNT_dec(error);
		croak("operation already terminal");
	}
	op->state = state;
	SvREFCNT_dec(op->result);
	op->result = result;
	SvREFCNT_dec(op->error);
	op->error = error;
	queue_cb(op);
}

#define error_new(p, c) S_error_new(aTHX_ p, c)
static SV *S_error_new(pTHX_ px *px, int code)
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
#define drain(p) S_drain(aTHX_ p)
static IV S_drain(pTHX_ px *px)
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

/* ops_by_token: register and unregister.  live_op_count follows. */
#define reg_op(p, op, t) S_reg_op(aTHX_ p, op, t)
static void S_reg_op(pTHX_ px *px, pxop *op, SV *token)
{
	if (hv_exists_ent(px->ops, token, 0)) {
		SV *t = sv_2mortal(token);
		croak("duplicate token registration: %" SVf, SVfARG(t));
	}
	SvREFCNT_dec(op->token);
	op->token = token;
	(void)hv_store_ent(px->ops, token, newRV_inc(op->self), 0);
	sv_setiv(px->live, SvIV(px->live) + 1);
}

/* Returns the removed entry (mortal) or NULL. */
#define unreg(p, t) S_unreg(aTHX_ p, t)
static SV *S_unreg(pTHX_ px *px, SV *token)
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

/* A fresh token from next_op_id (the field a Fake backend bumps too). */
#define next_token(p) S_next_token(aTHX_ p)
static SV *S_next_token(pTHX_ px *px)
{
	IV id = SvIV(px->next_id);

	sv_setiv(px->next_id, id + 1);
	return newSViv(id);
}

/* ------------------------------------------------------------ 3. uring */

/* The fd behind a handle (glob, glob ref, IO, or an object built on a
 * glob), or a plain non-negative integer.  -1 if there is none (closed,
 * in-memory, not a handle). */
#define fd_of(sv, gvp, iop) S_fd_of(aTHX_ sv, gvp, iop)
static int S_fd_of(pTHX_ SV *sv, GV **gvp, IO **iop)
{
	GV *gv = NULL;
	IO *io = NULL;

	*gvp = NULL;
	*iop = NULL;
	if (sv == NULL)
		return -1;
	SvGETMAGIC(sv);
	if (SvROK(sv)) {
		SV *r = SvRV(sv);

		if (isGV_with_GP(r))
			gv = (GV *)r;
		else if (SvTYPE(r) == SVt_PVIO)
			io = (IO *)r;
		else
			return -1;
	} else if (isGV_with_GP(sv)) {
		gv = (GV *)sv;
	} else if (SvOK(sv) && looks_like_number(sv)) {
		IV v = SvIV_nomg(sv);

		return v >= 0 && v <= INT_MAX ? (int)v : -1;
	} else {
		return -1;
	}
	if (gv)
		io = GvIO(gv);
	if (io == NULL || IoIFP(io) == NULL)
		return -1;
	*gvp = gv;
	*iop = io;
	return PerlIO_fileno(IoIFP(io));
}

#define need_fd(sv, name, h) S_need_fd(aTHX_ sv, name, h)
static int S_need_fd(pTHX_ SV *sv, const char *name, SV **hold)
{
	GV *gv;
	IO *io;
	int fd = fd_of(sv, &gv, &io);

	if (fd < 0)
		croak("%s is not an open file handle", name);
	/* A copy: the variable passed in may be emptied while the op is in
	 * flight, and what must live is the handle it referred to. */
	*hold = newSVsv(sv);
	return fd;
}

static size_t len_arg(pTHX_ SV *sv)
{
	NV n = sv ? SvNV(sv) : 0;

	if (n <= 0)
		return 0;
	return n >= (NV)PX_LEN_MAX ? PX_LEN_MAX : (size_t)n;
}

#define flags_arg(sv) S_flags_arg(aTHX_ sv)
static int S_flags_arg(pTHX_ SV *sv)
{
	IV f;

	if (sv == NULL || !SvOK(sv))
		return 0;
	f = SvIV(sv);
	if (f < 0 || f > INT_MAX)
		croak("flags must be non-negative");
	return (int)f;
}

/* The bytes of a write or send, kept unchanged while the kernel reads
 * them: a copy, which perl makes copy-on-write (no memcpy) for plain
 * strings.  Characters above 0xFF cannot be written. */
#define bytes_of(sv) S_bytes_of(aTHX_ sv)
static SV *S_bytes_of(pTHX_ SV *sv)
{
	SV *b = newSVsv(sv);

	if (!SvPOK(b))
		(void)SvPV_force_nolen(b);
	if (SvUTF8(b) && !sv_utf8_downgrade(b, TRUE)) {
		SvREFCNT_dec(b);
		croak("Wide character in buf");
	}
	return b;
}

/* An accepted socket as a Perl handle: an anonymous glob with perl's
 * two PerlIOs over one fd, as accept() makes them.  NULL on failure
 * (the fd is closed). */
#define socket_fh(fd) S_socket_fh(aTHX_ fd)
static SV *S_socket_fh(pTHX_ int fd)
{
	GV *gv = (GV *)newSV(0);
	IO *io;

	gv_init_pvn(gv, gv_stashpvs("Linux::Event::Proactor", GV_ADD),
		    "__ANONIO__", 10, 0);
	io = GvIOn(gv);
	IoIFP(io) = PerlIO_fdopen(fd, "r");
	IoOFP(io) = IoIFP(io) ? PerlIO_fdopen(fd, "w") : NULL;
	if (IoOFP(io) == NULL) {
		if (IoIFP(io))
			PerlIO_close(IoIFP(io));
		else
			close(fd);
		IoIFP(io) = NULL;
		SvREFCNT_dec((SV *)gv);
		return NULL;
	}
	IoTYPE(io) = IoTYPE_SOCKET;
	return newRV_noinc((SV *)gv);
}

static void op_release(pTHX_ pxop *op)
{
	SV *b = op->buf, *h0 = op->hold[0], *h1 = op->hold[1];

	op->buf = op->hold[0] = op->hold[1] = NULL;
	SvREFCNT_dec(b);
	SvREFCNT_dec(h0);
	SvREFCNT_dec(h1);
}

/* The result hash of a successful completion, or NULL with *errp set. */
static SV *result_of(pTHX_ pxop *op, int64_t res, int *errp)
{
	HV *hv = newHV();

	switch (op->eop.kind) {
	case EVL_OP_READ:
	case EVL_OP_RECV: {
		SV *b = op->buf;

		op->buf = NULL;
		SvCUR_set(b, (STRLEN)res);
		*SvEND(b) = '\0';
		/* A big buffer that got little: give the memory back. */
		if (SvLEN(b) - SvCUR(b) > 4096)
			SvPV_shrink_to_cur(b);
		(void)hv_stores(hv, "bytes", newSViv((IV)res));
		(void)hv_stores(hv, "data", b);
		(void)hv_stores(hv, "eof", newSViv(res == 0 ? 1 : 0));
		break;
	}
	case EVL_OP_WRITE:
	case EVL_OP_SEND:
	case EVL_OP_SPLICE:
		(void)hv_stores(hv, "bytes", newSViv((IV)res));
		break;
	case EVL_OP_ACCEPT: {
		int fd = (int)res;
		SV *fh = socket_fh(fd);

		if (fh == NULL) {
			*errp = errno ? errno : ENOMEM;
			SvREFCNT_dec((SV *)hv);
			return NULL;
		}
		(void)hv_stores(hv, "fh", fh);
		(void)hv_stores(hv, "addr", op->eop.addr.len > 0 ?
			newSVpvn((const char *)op->eop.addr.storage, op->eop.addr.len) :
			newSV(0));
		break;
	}
	case EVL_OP_TIMEOUT:
		(void)hv_stores(hv, "expired", newSViv(1));
		break;
	default:	/* connect, shutdown, close */
		break;
	}
	return newRV_noinc((SV *)hv);
}

/* libevloop's completion callback for every uring op: settles the
 * Operation and queues its Perl callback.  No Perl code runs here; the
 * reference the op held on itself is handed to the mortal stack, so it
 * goes when the XS call that pumped the loop returns. */
static void px_op_done(evl_op *eop)
{
	pxop *op = (pxop *)((char *)eop - offsetof(pxop, eop));
	px *px = op->px;
	int64_t res = eop->res;
	int err = 0;
#ifdef MULTIPLICITY
	dTHXa(op->perl);
#endif

	op->flags &= ~PXOP_INFLIGHT;
	if (px) {
		px->completed++;
		if (op->token)
			(void)unreg(px, op->token);
	}
	if (op->state != PXS_PENDING) {
		/* Settled by hand meanwhile: the kernel's answer has no taker. */
		if (eop->kind == EVL_OP_ACCEPT && res >= 0)
			close((int)res);
	} else if (res == -ECANCELED) {
		settle(op, PXS_CANCELLED, NULL, NULL);
	} else if (res < 0 || op->pre_errno) {
		err = res < 0 ? (int)-res : op->pre_errno;
	} else {
		SV *r = result_of(aTHX_ op, res, &err);

		if (r)
			settle(op, PXS_DONE, r, NULL);
	}
	if (err) {
		if (px)
			settle(op, PXS_DONE, NULL, error_new(px, err));
		else
			op->state = PXS_DONE;
	}
	op_release(aTHX_ op);
	sv_2mortal(op->self);
}

/* Nanoseconds from now to a deadline on the engine's clock (a user's
 * clock, possibly), through the engine's _remaining_ns_until; the
 * caller adds them to CLOCK_MONOTONIC now for libevloop's timer heap. */
#define remaining_ns(p, d) S_remaining_ns(aTHX_ p, d)
static IV S_remaining_ns(pTHX_ px *px, SV *deadline)
{
	dSP;
	IV rem;
	int n;

	ENTER;
	SAVETMPS;
	PUSHMARK(SP);
	EXTEND(SP, 2);
	PUSHs(sv_2mortal(newRV_inc((SV *)px->hv)));
	PUSHs(deadline);
	PUTBACK;
	n = call_method("_remaining_ns_until", G_SCALAR);
	SPAGAIN;
	if (n > 0) {
		SV *r = POPs;	/* SvIV evaluates its argument twice */

		rem = SvIV(r);
	} else {
		rem = 0;
	}
	PUTBACK;
	FREETMPS;
	LEAVE;
	return rem > 0 ? rem : 0;
}

/* Hands op to libevloop.  a holds the (checked) arguments.  Croaks on
 * bad handles or a refused submission, leaving op untouched. */
struct px_args;
static void uring_start(pTHX_ px *px, pxop *op, int kind, struct px_args *a);

/* ------------------------------------------------------------ 4. arguments */

enum {
	A_FH, A_LEN, A_DATA, A_ON_COMPLETE, A_BUF, A_FLAGS, A_ADDR, A_HOW,
	A_IN_FH, A_OUT_FH, A_DEADLINE, A_NKEYS
};
static const char *const arg_names[A_NKEYS] = {
	"fh", "len", "data", "on_complete", "buf", "flags", "addr", "how",
	"in_fh", "out_fh", "deadline_ns"
};
#define B(k) (1u << (k))
#define A_COMMON (B(A_DATA) | B(A_ON_COMPLETE))
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

struct px_args {
	SV *v[A_NKEYS];
	unsigned have;
};
#define HAVE(a, k) ((a)->have & B(k))

/* The A_* index of a key, or A_NKEYS. */
static const unsigned char arg_lens[A_NKEYS] = { 2, 3, 4, 11, 3, 5, 4, 3, 5, 6, 11 };

static int arg_index(const char *key, STRLEN klen)
{
	int k;

	for (k = 0; k < A_NKEYS; k++)
		if (arg_lens[k] == klen && arg_names[k][0] == key[0] &&
		    memEQ(arg_names[k], key, klen))
			return k;
	return A_NKEYS;
}

/* Reads key/value pairs as a hash assignment would: the last of a
 * repeated key wins, a missing final value is undef.  With strict, keys
 * outside allowed croak `unknown argument: <key>`, naming the first such
 * key in sorted order so the message does not depend on hash order. */
#define args_parse(a, kv, n, al, st) S_args_parse(aTHX_ a, kv, n, al, st)
static void S_args_parse(pTHX_ struct px_args *a, SV **kv, I32 n, unsigned allowed,
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
		croak("unknown argument: %" SVf, SVfARG(bad));
}

/* flags present: must be defined and look like /\A-?\d+\z/. */
static void check_flags(pTHX_ struct px_args *a)
{
	STRLEN len, i;
	const char *s;

	if (!HAVE(a, A_FLAGS))
		return;
	if (!SvOK(a->v[A_FLAGS]))
		croak("flags must be defined");
	s = SvPV_const(a->v[A_FLAGS], len);
	i = len > 0 && s[0] == '-' ? 1 : 0;
	if (i == len)
		croak("flags must be an integer");
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			croak("flags must be an integer");
}

static void check_len(pTHX_ struct px_args *a)
{
	if (!HAVE(a, A_LEN))
		croak("len is required");
	if (!SvOK(a->v[A_LEN]))
		croak("len must be defined");
	if (SvNV(a->v[A_LEN]) < 0)
		croak("len must be non-negative");
}

static void check_buf(pTHX_ struct px_args *a)
{
	if (!HAVE(a, A_BUF))
		croak("buf is required");
	if (!SvOK(a->v[A_BUF]))
		croak("buf must be defined");
}

/* 'read' / 'write' / 'both', or SHUT_RD / SHUT_WR / SHUT_RDWR as
 * numbers; anything else croaks. */
static int shutdown_how(pTHX_ SV *how)
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
	croak("how must be 'read', 'write', 'both', SHUT_RD, SHUT_WR, or SHUT_RDWR");
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
			croak("in_fh is required");
		if (!HAVE(a, A_OUT_FH))
			croak("out_fh is required");
		check_len(aTHX_ a);
		check_flags(aTHX_ a);
		break;
	case EVL_OP_TIMEOUT:
		break;
	default:
		if (!HAVE(a, A_FH) || (kind == EVL_OP_CLOSE && !SvOK(a->v[A_FH])))
			croak("fh is required");
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
			croak("addr is required");
		if (!SvOK(a->v[A_ADDR]))
			croak("addr must be defined");
		break;
	case EVL_OP_SHUTDOWN:
		if (!HAVE(a, A_HOW))
			croak("how is required");
		if (!SvOK(a->v[A_HOW]))
			croak("how must be defined");
		break;
	default:
		break;
	}
	if (HAVE(a, A_ON_COMPLETE) && SvOK(a->v[A_ON_COMPLETE]) &&
	    !is_code(a->v[A_ON_COMPLETE]))
		croak("on_complete must be a coderef");
	if (kind == EVL_OP_SHUTDOWN)
		how = shutdown_how(aTHX_ a->v[A_HOW]);
	return how;
}

/* ------------------------------------------------------------ 3b. uring start */

static void uring_start(pTHX_ px *px, pxop *op, int kind, struct px_args *a)
{
	evl_loop *loop = px->base.loop;
	evl_op *eop = &op->eop;
	SV *hold0 = NULL, *hold1 = NULL, *buf = NULL;
	int fd, fd2, rc = 0, pre_errno = 0;
	size_t len;
	STRLEN blen;
	const char *p;

	switch (kind) {
	case EVL_OP_READ:
	case EVL_OP_RECV: {
		int flags = kind == EVL_OP_RECV ? flags_arg(a->v[A_FLAGS]) : 0;

		fd = need_fd(a->v[A_FH], "fh", &hold0);
		len = len_arg(aTHX_ a->v[A_LEN]);
		buf = newSV(len + 1);
		SvPOK_on(buf);
		SvCUR_set(buf, 0);
		rc = kind == EVL_OP_READ ?
			evl_op_read(loop, eop, fd, SvPVX(buf), len, -1, px_op_done) :
			evl_op_recv(loop, eop, fd, SvPVX(buf), len, flags, px_op_done);
		break;
	}
	case EVL_OP_WRITE:
	case EVL_OP_SEND: {
		int flags = kind == EVL_OP_SEND ? flags_arg(a->v[A_FLAGS]) : 0;

		fd = need_fd(a->v[A_FH], "fh", &hold0);
		buf = bytes_of(a->v[A_BUF]);
		p = SvPV_const(buf, blen);
		rc = kind == EVL_OP_WRITE ?
			evl_op_write(loop, eop, fd, p, blen, -1, px_op_done) :
			evl_op_send(loop, eop, fd, p, blen, flags, px_op_done);
		break;
	}
	case EVL_OP_ACCEPT:
		fd = need_fd(a->v[A_FH], "fh", &hold0);
		rc = evl_op_accept(loop, eop, fd, 0, px_op_done);
		break;
	case EVL_OP_CONNECT:
		fd = need_fd(a->v[A_FH], "fh", &hold0);
		p = SvPV_const(a->v[A_ADDR], blen);
		if (blen == 0 || blen > sizeof(eop->addr.storage)) {
			SvREFCNT_dec(hold0);
			croak("addr must be a packed socket address");
		}
		rc = evl_op_connect(loop, eop, fd, p, (uint32_t)blen, px_op_done);
		break;
	case EVL_OP_SHUTDOWN:
		fd = need_fd(a->v[A_FH], "fh", &hold0);
		rc = evl_op_shutdown(loop, eop, fd, SvOK(a->v[A_HOW]) ?
				     (int)SvIV(a->v[A_HOW]) : -1, px_op_done);
		break;
	case EVL_OP_CLOSE: {
		GV *gv;
		IO *io;

		fd = fd_of(a->v[A_FH], &gv, &io);
		if (fd < 0)
			croak("fh is not an open file handle");
		/* Perl's handle must stop owning the fd number before the
		 * kernel closes it, or perl would close it again later,
		 * perhaps after it was reused.  The kernel gets a duplicate
		 * (the file's last reference once perl's is gone), and perl
		 * closes its handle now, flushing as close() does. */
		fd2 = io ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : fd;
		if (fd2 < 0)
			croak("close: cannot duplicate fd %d: %s", fd, strerror(errno));
		rc = evl_op_close(loop, eop, fd2, px_op_done);
		if (rc < 0) {
			if (io)
				close(fd2);
			break;
		}
		if (io) {
			int ok;

			errno = 0;
			ok = gv ? Perl_do_close(aTHX_ gv, TRUE) :
				Perl_io_close(aTHX_ io, NULL, TRUE, FALSE);
			if (!ok)
				pre_errno = errno ? errno : EIO;
		}
		break;
	}
	case EVL_OP_SPLICE: {
		int flags = flags_arg(a->v[A_FLAGS]);
		GV *gv;
		IO *io;

		fd = need_fd(a->v[A_IN_FH], "in_fh", &hold0);
		fd2 = fd_of(a->v[A_OUT_FH], &gv, &io);
		if (fd2 < 0) {
			SvREFCNT_dec(hold0);
			croak("out_fh is not an open file handle");
		}
		hold1 = newSVsv(a->v[A_OUT_FH]);
		len = len_arg(aTHX_ a->v[A_LEN]);
		rc = evl_op_splice(loop, eop, fd, -1, fd2, -1, len, (unsigned)flags,
				   px_op_done);
		break;
	}
	case EVL_OP_TIMEOUT: {
		IV rem;

		if (!HAVE(a, A_DEADLINE))
			croak("deadline_ns is required");
		rem = remaining_ns(px, a->v[A_DEADLINE]);
		rc = evl_op_timeout(loop, eop, evl_time_ns() + (uint64_t)rem, px_op_done);
		break;
	}
	default:
		croak("backend does not support _submit_%s",
		      kind > 0 && kind < PX_NKINDS ? kind_names[kind] : "?");
	}
	if (rc < 0) {
		SvREFCNT_dec(hold0);
		SvREFCNT_dec(hold1);
		SvREFCNT_dec(buf);
		croak("%s: submission failed: %s", kind_names[kind], strerror(-rc));
	}
	op->buf = buf;
	op->hold[0] = hold0;
	op->hold[1] = hold1;
	op->pre_errno = pre_errno;
	op->flags |= PXOP_INFLIGHT;
	SvREFCNT_inc_simple_void_NN(op->self);
}

static int px_interrupt(evl_loop *loop, void *arg)
{
	px *p = (px *)arg;
	PX_dTHX(p);

	PERL_UNUSED_ARG(loop);
	/* A signal with a %SIG handler: return so that perl can run it. */
	return PL_sig_pending ? 1 : 0;
}

/* One pass of libevloop: submissions go out, completions come in and
 * settle their ops.  Returns how many ops of ours completed since the
 * last report.  timeout_ns as evl_loop_run_once. */
#define loop_pass(p, t) S_loop_pass(aTHX_ p, t)
static IV S_loop_pass(pTHX_ px *px, int64_t timeout_ns)
{
	IV n;
	int rc;

	if (px->in_loop)
		croak("run_once called from inside a completion");
	px->in_loop = 1;
	ENTER;
	SAVETMPS;
	rc = evl_loop_run_once(px->base.loop, timeout_ns);
	px->in_loop = 0;
	FREETMPS;
	LEAVE;
	evlxs_rethrow(aTHX_ &px->base);
	if (rc < 0 && rc != -EINTR)
		croak("io_uring wait failed: %s", strerror(-rc));
	PERL_ASYNC_CHECK();
	n = px->completed;
	px->completed = 0;
	return n;
}

/* The uring backend's progress: never blocks while callbacks are queued
 * or (unless idle_wait) while nothing is in flight. */
#define uring_progress(p, t, i) S_uring_progress(aTHX_ p, t, i)
static IV S_uring_progress(pTHX_ px *px, int64_t timeout_ns, int idle_wait)
{
	if (AvFILL(px->queue) >= 0)
		timeout_ns = 0;
	else if (evl_loop_pending_ops(px->base.loop) == 0 && !idle_wait)
		timeout_ns = 0;
	return loop_pass(px, timeout_ns);
}

/* Synchronous cancellation (see Proactor.pm, "Cancellation"): ask the
 * kernel, then pump until the op's own completion has come back, which
 * for a cancel is prompt.  1 if the op ended cancelled, 0 if it had
 * completed first (it is then done, with its real result). */
#define uring_cancel(p, op) S_uring_cancel(aTHX_ p, op)
static IV S_uring_cancel(pTHX_ px *px, pxop *op)
{
	int rc;

	if (op->state != PXS_PENDING || !(op->flags & PXOP_INFLIGHT))
		return 0;
	rc = evl_op_cancel(&op->eop);
	if (rc < 0 && rc != -EALREADY)
		return 0;
	if (px->in_loop)
		return 1;	/* from a destructor inside a completion: settles later */
	px->in_loop = 1;
	ENTER;
	SAVETMPS;
	(void)evl_loop_drain(px->base.loop);	/* a timeout settles at once */
	while (op->flags & PXOP_INFLIGHT) {
		rc = evl_loop_run_once(px->base.loop, -1);
		if (rc < 0 && rc != -EINTR)
			break;
	}
	px->in_loop = 0;
	/* The op's own completion belongs to this cancel, not to the
	 * progress the next run_once reports. */
	if (!(op->flags & PXOP_INFLIGHT) && px->completed > 0)
		px->completed--;
	FREETMPS;
	LEAVE;
	evlxs_rethrow(aTHX_ &px->base);
	return op->state == PXS_CANCELLED ? 1 : 0;
}

/* ------------------------------------------------------------ 5. generic */

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
			croak("backend does not support %s", method);
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
static SV *submit_op(pTHX_ px *px, const char *kname, STRLEN klen,
		     struct px_args *a, SV **kv, I32 n)
{
	int kind = kind_from_name(kname, klen);
	pxop *op;
	SV *rv, *token, **args;
	char method[64];
	I32 i;

	if (px->uring && kind) {
		op = op_new(px, px->op_stash, newSVpvn_share(kname, (I32)klen, 0),
			    a->v[A_DATA], a->v[A_ON_COMPLETE], &rv);
		sv_2mortal(rv);
		uring_start(aTHX_ px, op, kind, a);
		reg_op(px, op, next_token(px));
		return rv;
	}
	if (klen > sizeof(method) - 10)
		croak("backend does not support _submit_%s", kname);
	my_snprintf(method, sizeof(method), "_submit_%s", kname);
	op = op_new(px, px->op_stash, newSVpvn_share(kname, (I32)klen, 0),
		    a->v[A_DATA], a->v[A_ON_COMPLETE], &rv);
	sv_2mortal(rv);
	Newx(args, n + 1, SV *);
	SAVEFREEPV(args);
	args[0] = rv;
	for (i = 0; i < n; i++)
		args[i + 1] = kv[i];
	token = sv_2mortal(call_backend(aTHX_ px, method, args, n + 1, 1));
	if (!SvOK(token))
		croak("token is required");
	reg_op(px, op, SvREFCNT_inc_simple_NN(token));
	return rv;
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
	mg->mg_ptr = NULL;
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
	SvREFCNT_dec(p->base.error);
	SvREFCNT_dec((SV *)p->ops);
	SvREFCNT_dec((SV *)p->queue);
	SvREFCNT_dec(p->live);
	SvREFCNT_dec(p->next_id);
	Safefree(p);
	return 0;
}

static SV *field(pTHX_ HV *hv, const char *key, I32 klen)
{
	SV **svp = hv_fetch(hv, key, klen, 1);

	return SvREFCNT_inc_simple_NN(*svp);
}

/* ------------------------------------------------------------ 6. XS */

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
	int rc;
	MAGIC *mg;
    CODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		croak("_engine_init: not a hash-based object");
	hv = (HV *)SvRV(self);
	if (mg_findext((SV *)hv, PERL_MAGIC_ext, &px_vtbl))
		croak("_engine_init: already initialised");
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
			croak("failed to set up io_uring: %s", strerror(-rc));
		croak("failed to set up the proactor loop: %s", strerror(-rc));
	}
	p->uring = opt.flags == EVL_BACKEND_URING;
	p->hv = hv;
	svp = hv_fetchs(hv, "ops_by_token", 1);
	if (!SvROK(*svp) || SvTYPE(SvRV(*svp)) != SVt_PVHV)
		sv_setsv(*svp, sv_2mortal(newRV_noinc((SV *)newHV())));
	p->ops = (HV *)SvREFCNT_inc_simple_NN(SvRV(*svp));
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
	p->op_stash = gv_stashpvs("Linux::Event::Operation", GV_ADD);
	p->err_stash = gv_stashpvs("Linux::Event::Error", GV_ADD);
	evl_loop_set_interrupt_cb(p->base.loop, px_interrupt, p);
	evlxs_engine_attach(aTHX_ (SV *)hv, &p->base, &px_vtbl);
	mg = mg_findext((SV *)hv, PERL_MAGIC_ext, &px_vtbl);
	if (mg)
		mg->mg_flags |= MGf_DUP;

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
	RETVAL = SvREFCNT_inc(submit_op(aTHX_ p, kind_names[ix],
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
		croak("kind is required");
	k = SvPV_const(kind, klen);
	args_parse(&a, &ST(2), items - 2, ~0u, 0);
	RETVAL = SvREFCNT_inc(submit_op(aTHX_ p, k, klen, &a, &ST(2),
						  items - 2));
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
		croak("kind is required");
	if (cb && SvOK(cb) && !is_code(cb))
		croak("callback must be a coderef");
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
	SV *n;
    CODE:
	p = px_arg(self);
	SvGETMAGIC(timeout);
	if (SvOK(timeout)) {
		NV s = SvNV(timeout);

		t = s <= 0 ? 0 : (int64_t)(s * 1e9);
	}
	if (p->uring) {
		RETVAL = uring_progress(p, t, ix);
	} else {
		/* Fake: the backend settles due timers.  The libevloop
		 * loop under it serves companions (a Stream on this
		 * engine: its ops and watchers) and, in run(), waits for
		 * the next timer instead of spinning.  What it does is not
		 * counted. */
		if (ix && AvFILL(p->queue) < 0) {
			SV *d = call_backend(aTHX_ p, "_next_deadline_ns", NULL, 0, 0);

			if (d)
				sv_2mortal(d);
			t = d && SvOK(d) ? (int64_t)remaining_ns(p, d) : -1;
		} else {
			t = 0;
		}
		(void)loop_pass(p, t);
		n = sv_2mortal(call_backend(aTHX_ p, "_complete_backend_events",
					   NULL, 0, 1));
		RETVAL = SvIV(n);
	}
	RETVAL += drain(p);
    OUTPUT:
	RETVAL


MODULE = Linux::Event::Proactor	PACKAGE = Linux::Event::Operation

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
		croak("loop is required");
	p = px_of(loop);
	if (p == NULL)
		croak("loop must be a Linux::Event::Proactor");
	if (kind == NULL || !SvOK(kind))
		croak("kind is required");
	if (cb && SvOK(cb) && !is_code(cb))
		croak("callback must be a coderef");
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
		croak("callback is required");
	if (!is_code(cb))
		croak("callback must be a coderef");
	if (op->cb)
		croak("callback already set");
	op->cb = newSVsv_nomg(cb);
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


MODULE = Linux::Event::Proactor	PACKAGE = Linux::Event::Proactor::Backend::Uring

SV *
_submit_read(self, opsv, ...)
	SV *self
	SV *opsv
    ALIAS:
	_submit_read = EVL_OP_READ
	_submit_write = EVL_OP_WRITE
	_submit_recv = EVL_OP_RECV
	_submit_send = EVL_OP_SEND
	_submit_accept = EVL_OP_ACCEPT
	_submit_connect = EVL_OP_CONNECT
	_submit_shutdown = EVL_OP_SHUTDOWN
	_submit_close = EVL_OP_CLOSE
	_submit_splice = EVL_OP_SPLICE
	_submit_timeout = EVL_OP_TIMEOUT
    PREINIT:
	px *p;
	pxop *op;
	struct px_args a;
	SV **loop;
    CODE:
	loop = SvROK(self) && SvTYPE(SvRV(self)) == SVt_PVHV ?
		hv_fetchs((HV *)SvRV(self), "loop", 0) : NULL;
	p = loop ? px_of(*loop) : NULL;
	if (p == NULL || !p->uring)
		croak("backend has no io_uring proactor");
	op = op_arg(opsv);
	if (op->flags & PXOP_INFLIGHT)
		croak("operation already submitted");
	args_parse(&a, &ST(2), items - 2, ~0u, 0);
	if (ix == EVL_OP_SHUTDOWN && HAVE(&a, A_HOW))
		a.v[A_HOW] = sv_2mortal(newSViv(shutdown_how(aTHX_ a.v[A_HOW])));
	uring_start(aTHX_ p, op, ix, &a);
	RETVAL = next_token(p);
    OUTPUT:
	RETVAL

SV *
_cancel_op(self, opsv)
	SV *self
	SV *opsv
    PREINIT:
	SV **loop;
	px *p;
    CODE:
	loop = SvROK(self) && SvTYPE(SvRV(self)) == SVt_PVHV ?
		hv_fetchs((HV *)SvRV(self), "loop", 0) : NULL;
	p = loop ? px_of(*loop) : NULL;
	RETVAL = newSViv(p && p->uring ? uring_cancel(p, op_arg(opsv)) : 0);
    OUTPUT:
	RETVAL

IV
_complete_backend_events(self)
	SV *self
    PREINIT:
	SV **loop;
	px *p;
    CODE:
	loop = SvROK(self) && SvTYPE(SvRV(self)) == SVt_PVHV ?
		hv_fetchs((HV *)SvRV(self), "loop", 0) : NULL;
	p = loop ? px_of(*loop) : NULL;
	RETVAL = p && p->uring ? uring_progress(p, -1, 0) : 0;
    OUTPUT:
	RETVAL
