/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* sockop.xs - Linux::Event::SockOp: one accept or connect operation on a
 * proactor engine's libevloop loop, for Linux::Event::Listen and
 * Linux::Event::Connect (which watch readiness on a reactor).
 *
 * The operation runs on the loop under the engine, so it works on both
 * proactor backends: io_uring, and the fake one whose C loop performs
 * the syscalls itself (the Perl-scripted fake serves only the engine's
 * own operations).  accept is one-shot: a listener asks for the next
 * connection only while it wants one, so a paused listener leaves the
 * backlog to whoever else accepts on the socket.  accept_multi is the
 * io_uring multishot form: one submission, one callback per connection
 * until cancelled; Listen cancels it whenever it stops wanting
 * connections (pause, cancel, a full batch), for the same reason.
 *
 * A record (struct so_op) lives while its op is pending or its Perl
 * object exists, whichever is longer.  Dropping the object cancels a
 * pending op; its completion then only closes an accepted fd.  When the
 * engine goes first, the loop's teardown settles the op without a
 * callback: the record is freed with its object (or, if that is gone
 * too, left: the kernel may write into it until the teardown ends). */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct so_op {
	evl_op op;
	struct evlxs_engine *eng;	/* NULL once the engine went */
	struct evlxs_dep dep;		/* on eng's list while pending */
	SV *cb;				/* counted */
	SV *obj;			/* the object's body (not counted), NULL once freed */
	int pending;			/* submitted, last result not called back */
	int in_cb;
	int multi;			/* accept_multi: more results may follow */
#ifdef MULTIPLICITY
	PerlInterpreter *perl;
#endif
};

static void S_so_free(pTHX_ struct so_op *r)
{
	SvREFCNT_dec(r->cb);
	Safefree(r);
}
#define so_free(r) S_so_free(aTHX_ r)

/* Results that multishot accepts handed to Perl in this process: lets the
 * tests tell the multishot path from the one-shot one. */
static UV so_multi_results;

static void so_engine_gone(pTHX_ struct evlxs_dep *d)
{
	struct so_op *r = (struct so_op *)((char *)d - offsetof(struct so_op, dep));

	r->eng = NULL;
	r->pending = 0;	/* the loop's teardown settles it, no callback */
}

/* The peer of a multishot accept's fd (the kernel fills no address for
 * those), or undef. */
static SV *S_peer_sv(pTHX_ int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 || len == 0)
		return newSV(0);
	return newSVpvn((const char *)&ss, len);
}
#define peer_sv(fd) S_peer_sv(aTHX_ fd)

static void so_done(evl_op *op)
{
	struct so_op *r = (struct so_op *)op;
	dEVLXS_THX(r->perl);
	SV *args[4];
	int n = 1, i, more = r->multi && evl_op_more(op);

	if (!more) {
		if (r->eng)
			evlxs_dep_remove(r->eng, &r->dep);
		r->pending = 0;
	}
	if (r->obj == NULL || r->eng == NULL) {
		/* Nobody wants it any more. */
		if (op->kind == EVL_OP_ACCEPT && op->res >= 0)
			close((int)op->res);
		if (r->obj == NULL && !r->pending)
			so_free(r);
		return;
	}
	args[0] = newSViv((IV)op->res);
	if (r->multi) {
		/* ($fd_or_errno, $peer, $more, $now): $now is the loop's
		 * cached time ($loop->now), the same for every result of one
		 * iteration, so a caller can count per iteration. */
		args[1] = op->res >= 0 ? peer_sv((int)op->res) : newSV(0);
		args[2] = newSViv(more);
		args[3] = newSVnv((NV)evl_loop_now_ns(r->eng->loop) / 1e9);
		n = 4;
		if (op->res >= 0)
			so_multi_results++;
	} else if (op->kind == EVL_OP_ACCEPT) {
		args[1] = op->res >= 0 && op->addr.len > 0
			? newSVpvn((const char *)op->addr.storage, op->addr.len)
			: newSV(0);
		n = 2;
	}
	r->in_cb = 1;
	SvREFCNT_inc_simple_void_NN(r->cb);
	{
		SV *cb = r->cb;

		evlxs_call(aTHX_ r->eng, cb, args, n);
		SvREFCNT_dec(cb);
	}
	r->in_cb = 0;
	for (i = 0; i < n; i++)
		SvREFCNT_dec(args[i]);
	/* A multishot op whose object went in the callback was cancelled
	 * there: the record waits for its last result. */
	if (r->obj == NULL && !r->pending)
		so_free(r);
}

static int so_obj_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct so_op *r = (struct so_op *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (r == NULL)
		return 0;
	r->obj = NULL;
	if (r->pending) {
		(void)evl_op_cancel(&r->op);	/* so_done frees it */
		return 0;
	}
	if (!r->in_cb)
		so_free(r);
	return 0;
}

static MGVTBL so_vtbl = { 0, 0, 0, 0, so_obj_free, 0, evlxs_dup_inert, 0 };

static struct so_op *S_so_of(pTHX_ SV *self)
{
	MAGIC *mg = evlxs_magic(aTHX_ self, &so_vtbl);

	if (!mg || !mg->mg_ptr)
		evlxs_croak(aTHX_ "not a Linux::Event::SockOp");
	return (struct so_op *)mg->mg_ptr;
}
#define so_of(self) S_so_of(aTHX_ self)

/* A new record on loop's engine, or a croak. */
static struct so_op *S_so_new(pTHX_ SV *loop, SV *cb, evl_loop **lp)
{
	struct evlxs_engine *eng = evlxs_engine_from_sv(aTHX_ loop);
	struct so_op *r;

	if (eng == NULL || eng->loop == NULL)
		evlxs_croak(aTHX_ "Linux::Event::SockOp: not a loop");
	if (evl_loop_model(eng->loop) != EVL_PROACTOR)
		evlxs_croak(aTHX_ "Linux::Event::SockOp: not a proactor loop");
	if (!evlxs_is_code(cb))
		evlxs_croak(aTHX_ "Linux::Event::SockOp: callback must be a code reference");
	Newxz(r, 1, struct so_op);
	r->eng = eng;
	r->cb = newSVsv(cb);
	r->dep.gone = so_engine_gone;
#ifdef MULTIPLICITY
	r->perl = aTHX;
#endif
	*lp = eng->loop;
	return r;
}
#define so_new(loop, cb, lp) S_so_new(aTHX_ loop, cb, lp)

static SV *S_so_submitted(pTHX_ struct so_op *r, int rc)
{
	SV *body;

	if (rc < 0) {
		so_free(r);
		SETERRNO(-rc, 0);
		evlxs_croak(aTHX_ "Linux::Event::SockOp: submit failed: %s", strerror(-rc));
	}
	r->pending = 1;
	evlxs_dep_add(r->eng, &r->dep);
	body = newSV(0);
	r->obj = body;
	evlxs_magic_attach(aTHX_ body, &so_vtbl, r);
	return sv_bless(newRV_noinc(body), gv_stashpvs("Linux::Event::SockOp", GV_ADD));
}
#define so_submitted(r, rc) S_so_submitted(aTHX_ r, rc)

MODULE = Linux::Event::SockOp	PACKAGE = Linux::Event::SockOp

PROTOTYPES: DISABLE

SV *
accept_multi(const char *class, SV *loop, int fd, SV *cb)
    PREINIT:
	struct so_op *r;
	evl_loop *l;
	int rc;
    CODE:
	PERL_UNUSED_VAR(class);
	/* Undef with $! where the loop cannot (fake backend, an old kernel:
	 * EOPNOTSUPP or EINVAL): the caller falls back to accept. */
	r = so_new(loop, cb, &l);
	r->multi = 1;
	rc = evl_op_accept_multi(l, &r->op, fd, SOCK_NONBLOCK, so_done);
	if (rc == -EOPNOTSUPP || rc == -EINVAL) {
		so_free(r);
		SETERRNO(-rc, 0);
		RETVAL = &PL_sv_undef;
	} else {
		RETVAL = so_submitted(r, rc);
	}
    OUTPUT:
	RETVAL

UV
_multishot_results(const char *class)
    CODE:
	PERL_UNUSED_VAR(class);
	RETVAL = so_multi_results;
    OUTPUT:
	RETVAL

SV *
accept(const char *class, SV *loop, int fd, SV *cb)
    PREINIT:
	struct so_op *r;
	evl_loop *l;
    CODE:
	PERL_UNUSED_VAR(class);
	r = so_new(loop, cb, &l);
	RETVAL = so_submitted(r, evl_op_accept(l, &r->op, fd, SOCK_NONBLOCK, so_done));
    OUTPUT:
	RETVAL

SV *
connect(const char *class, SV *loop, int fd, SV *addr, SV *cb)
    PREINIT:
	struct so_op *r;
	evl_loop *l;
	STRLEN alen;
	const char *a;
    CODE:
	PERL_UNUSED_VAR(class);
	a = SvPVbyte(addr, alen);
	if (alen > sizeof(((evl_op *)0)->addr.storage))
		evlxs_croak(aTHX_ "Linux::Event::SockOp: address too long");
	r = so_new(loop, cb, &l);
	RETVAL = so_submitted(r, evl_op_connect(l, &r->op, fd, a, (uint32_t)alen, so_done));
    OUTPUT:
	RETVAL

int
pending(SV *self)
    CODE:
	RETVAL = so_of(self)->pending;
    OUTPUT:
	RETVAL

int
cancel(SV *self)
    PREINIT:
	struct so_op *r;
    CODE:
	r = so_of(self);
	/* Async: the callback still runs, with -ECANCELED or the result the
	 * kernel had already produced. */
	RETVAL = r->pending && evl_op_cancel(&r->op) == 0;
    OUTPUT:
	RETVAL
