/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* backend-uring.xs - Linux::Event::Proactor::Backend::Uring: the uring
 * path of the proactor engine (proactor-internal.h).  Handles and buffers
 * of an op, its submission to libevloop (evl_op), completion, progress
 * and cancellation, and the backend package's entry points. */
#define PERL_NO_GET_CONTEXT
#include "proactor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------ handles, buffers, completion */

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
		evlxs_croak(aTHX_ "%s is not an open file handle", name);
	/* The variable passed in may be emptied while the op is in flight,
	 * and what must live is the handle it referred to: the glob or IO a
	 * reference points to, else a copy. */
	*hold = SvROK(sv) ? SvREFCNT_inc_simple_NN(SvRV(sv)) : newSVsv(sv);
	return fd;
}

static size_t len_arg(pTHX_ SV *sv)
{
	NV n = sv ? SvNV(sv) : 0;

	if (!(n > 0))   /* NaN too: the engine croaks on it, the raw backend reads 0 */
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
		evlxs_croak(aTHX_ "flags must be non-negative");
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
		evlxs_croak(aTHX_ "Wide character in buf");
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

void op_release(pTHX_ pxop *op)
{
	SV *b = op->buf, *h0 = op->hold[0], *h1 = op->hold[1];

	op->buf = op->hold[0] = op->hold[1] = NULL;
	SvREFCNT_dec(b);
	SvREFCNT_dec(h0);
	SvREFCNT_dec(h1);
}

/* Stores val under result key k: through the engine's shared-key SV
 * (no hashing, no string table lookup), or by name when the engine is
 * gone. */
#define rstore(px, hv, k, name, val) S_rstore(aTHX_ px, hv, k, name, val)
static void S_rstore(pTHX_ px *px, HV *hv, int k, const char *name, SV *val)
{
	if (LIKELY(px != NULL))
		(void)hv_store_ent(hv, px->rkey[k], val, 0);
	else
		(void)hv_store(hv, name, (I32)strlen(name), val, 0);
}

/* The result hash of a successful completion, or NULL with *errp set. */
static SV *result_of(pTHX_ pxop *op, int64_t res, int *errp)
{
	HV *hv = newHV();
	px *px = op->px;

	switch (op->eop.kind) {
	case EVL_OP_READ:
	case EVL_OP_RECV: {
		SV *b = op->buf;

		op->buf = NULL;
		if (px && px->nspare < PX_NSPARE && SvLEN(b) <= PX_SPARE_MAX &&
		    (STRLEN)res * 2 < SvLEN(b)) {
			/* Mostly empty: the caller gets a copy of the bytes,
			 * the buffer goes to the next read. */
			px->spare[px->nspare++] = b;
			b = newSVpvn(SvPVX(b), (STRLEN)res);
		} else {
			SvCUR_set(b, (STRLEN)res);
			*SvEND(b) = '\0';
			/* A big buffer that got little: give the memory back. */
			if (SvLEN(b) - SvCUR(b) > 4096)
				SvPV_shrink_to_cur(b);
		}
		rstore(px, hv, PXR_BYTES, "bytes", newSViv((IV)res));
		rstore(px, hv, PXR_DATA, "data", b);
		rstore(px, hv, PXR_EOF, "eof", newSViv(res == 0 ? 1 : 0));
		break;
	}
	case EVL_OP_WRITE:
	case EVL_OP_SEND:
	case EVL_OP_SPLICE:
		rstore(px, hv, PXR_BYTES, "bytes", newSViv((IV)res));
		break;
	case EVL_OP_ACCEPT: {
		int fd = (int)res;
		SV *fh = socket_fh(fd);

		if (fh == NULL) {
			*errp = errno ? errno : ENOMEM;
			SvREFCNT_dec((SV *)hv);
			return NULL;
		}
		rstore(px, hv, PXR_FH, "fh", fh);
		rstore(px, hv, PXR_ADDR, "addr", op->eop.addr.len > 0 ?
			newSVpvn((const char *)op->eop.addr.storage, op->eop.addr.len) :
			newSV(0));
		break;
	}
	case EVL_OP_TIMEOUT:
		rstore(px, hv, PXR_EXPIRED, "expired", newSViv(1));
		break;
	default:	/* connect, shutdown, close */
		break;
	}
	return newRV_noinc((SV *)hv);
}

/* Operations of px's class have a destructor (DESTROY, or AUTOLOAD,
 * which perl would call for it) that could read an op as it goes.
 * Looked up again whenever the class's method cache changes. */
static int op_class_has_destroy(pTHX_ px *px)
{
	HV *st = px->op_stash;
	U32 gen = PL_sub_generation + HvMROMETA(st)->cache_gen + 1;

	if (px->destroy_gen != gen) {
		px->has_destroy = gv_fetchmethod_autoload(st, "DESTROY", TRUE) != NULL;
		px->destroy_gen = gen;
	}
	return px->has_destroy;
}

/* Nothing will ever read op's state, result or error: no callback, and
 * no reference left but the one it holds on itself while in flight
 * (dropped just after: a send nobody kept), no weak one either (their
 * backref magic would sit before ours), no destructor that could look,
 * and nothing to release that a result would own (an accepted
 * socket). */
static int unobserved(pTHX_ px *px, pxop *op)
{
	SV *self = op->self;

	return op->cb == NULL && SvREFCNT(self) == 1 && px != NULL &&
		SvMAGIC(self)->mg_moremagic == NULL &&
		op->eop.kind != EVL_OP_ACCEPT && SvSTASH(self) == px->op_stash &&
		!op_class_has_destroy(aTHX_ px);
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
	dEVLXS_THX(op->perl);
#endif

	op->flags &= ~PXOP_INFLIGHT;
	if (px) {
		px->completed++;
		if (op->token || op->tkey_len)
			unreg_op(px, op);
	}
	if (op->state == PXS_PENDING && unobserved(aTHX_ px, op)) {
		/* Nothing can see this op's result: skip building it. */
		op->state = res == -ECANCELED ? PXS_CANCELLED : PXS_DONE;
	} else if (op->state != PXS_PENDING) {
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
IV px_remaining_ns(pTHX_ px *px, SV *deadline)
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
/* ------------------------------------------------------------ submission, progress, cancellation */

/* A buffer for a read of len bytes: a spare one that fits without
 * wasting more than a page, else a new one. */
#define read_buf(px, len) S_read_buf(aTHX_ px, len)
static SV *S_read_buf(pTHX_ px *px, size_t len)
{
	SV *b;
	int i;

	for (i = px->nspare - 1; i >= 0; i--) {
		b = px->spare[i];
		if (SvLEN(b) > len && SvLEN(b) - len <= 4096 + 1) {
			px->spare[i] = px->spare[--px->nspare];
			return b;
		}
	}
	b = newSV(len + 1);
	SvPOK_on(b);
	SvCUR_set(b, 0);
	return b;
}

void uring_start(pTHX_ px *px, pxop *op, int kind, struct px_args *a)
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
		buf = read_buf(px, len);
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
			evlxs_croak(aTHX_ "addr must be a packed socket address");
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
			evlxs_croak(aTHX_ "fh is not an open file handle");
		/* Perl's handle must stop owning the fd number before the
		 * kernel closes it, or perl would close it again later,
		 * perhaps after it was reused.  The kernel gets a duplicate
		 * (the file's last reference once perl's is gone), and perl
		 * closes its handle now, flushing as close() does. */
		fd2 = io ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : fd;
		if (fd2 < 0)
			evlxs_croak(aTHX_ "close: cannot duplicate fd %d: %s", fd, strerror(errno));
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
			evlxs_croak(aTHX_ "out_fh is not an open file handle");
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
			evlxs_croak(aTHX_ "deadline_ns is required");
		rem = remaining_ns(px, a->v[A_DEADLINE]);
		rc = evl_op_timeout(loop, eop, evl_time_ns() + (uint64_t)rem, px_op_done);
		break;
	}
	default:
		evlxs_croak(aTHX_ "backend does not support _submit_%s",
		      kind > 0 && kind < PX_NKINDS ? kind_names[kind] : "?");
	}
	if (rc < 0) {
		SvREFCNT_dec(hold0);
		SvREFCNT_dec(hold1);
		SvREFCNT_dec(buf);
		evlxs_croak(aTHX_ "%s: submission failed: %s", kind_names[kind], strerror(-rc));
	}
	op->buf = buf;
	op->hold[0] = hold0;
	op->hold[1] = hold1;
	op->pre_errno = pre_errno;
	op->flags |= PXOP_INFLIGHT;
	SvREFCNT_inc_simple_void_NN(op->self);
}

int px_interrupt(evl_loop *loop, void *arg)
{
	px *p = (px *)arg;
	dEVLXS_THX(p->base.perl);

	PERL_UNUSED_ARG(loop);
	/* A signal with a %SIG handler: return so that perl can run it. */
	return PL_sig_pending ? 1 : 0;
}

/* One pass of libevloop: submissions go out, completions come in and
 * settle their ops.  Returns how many ops of ours completed since the
 * last report.  timeout_ns as evl_loop_run_once. */
IV px_loop_pass(pTHX_ px *px, int64_t timeout_ns)
{
	IV n;
	int rc;

	if (px->in_loop)
		evlxs_croak(aTHX_ "run_once called from inside a completion");
	evlxs_rethrow(aTHX_ &px->base);	/* a second death of the last pass */
	px->in_loop = 1;
	ENTER;
	SAVETMPS;
	rc = evl_loop_run_once(px->base.loop, timeout_ns);
	px->in_loop = 0;
	FREETMPS;
	LEAVE;
	evlxs_rethrow(aTHX_ &px->base);
	if (rc < 0 && rc != -EINTR)
		evlxs_croak(aTHX_ "io_uring wait failed: %s", strerror(-rc));
	PERL_ASYNC_CHECK();
	n = px->completed;
	px->completed = 0;
	return n;
}

/* The uring backend's progress: never blocks while callbacks are queued
 * or (unless idle_wait) while nothing can happen: Linux::Event 0.010's
 * run_once returns at once with no op in flight.  Anything else alive on
 * the loop (a child or signal subscription, a companion Stream's
 * watcher, a timer) is something to wait for: returning at once would
 * make a run_once pump spin until it happens. */
IV px_uring_progress(pTHX_ px *px, int64_t timeout_ns, int idle_wait)
{
	if (AvFILL(px->queue) >= 0)
		timeout_ns = 0;
	else if (!idle_wait && evl_loop_pending_ops(px->base.loop) == 0 &&
		 evl_loop_alive(px->base.loop) == 0)	/* alive walks a list: ops first */
		timeout_ns = 0;
	return loop_pass(px, timeout_ns);
}

/* Synchronous cancellation (see Proactor.pm, "Cancellation"): ask the
 * kernel, then pump until the op's own completion has come back, which
 * for a cancel is prompt.  1 if the op ended cancelled, 0 if it had
 * completed first (it is then done, with its real result). */
IV px_uring_cancel(pTHX_ px *px, pxop *op)
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


MODULE = Linux::Event::Proactor::Backend::Uring	PACKAGE = Linux::Event::Proactor::Backend::Uring

PROTOTYPES: DISABLE

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
		evlxs_croak(aTHX_ "backend has no io_uring proactor");
	op = op_arg(opsv);
	if (op->flags & PXOP_INFLIGHT)
		evlxs_croak(aTHX_ "operation already submitted");
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
