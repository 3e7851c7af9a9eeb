/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* proactor-internal.h - what the proactor's XS files share: the engine
 * (struct px, proactor.xs), the Operation (struct pxop, operation.xs), the
 * uring path (backend-uring.xs) and the parsed op arguments. */
#ifndef EVLOOP_PROACTOR_INTERNAL_H
#define EVLOOP_PROACTOR_INTERNAL_H

#include "xs-internal.h"

enum { PXS_PENDING = 0, PXS_DONE, PXS_CANCELLED };

#define PXOP_QUEUED   0x01	/* its callback is in the queue */
#define PXOP_RAN      0x02	/* its callback ran */
#define PXOP_DETACHED 0x04	/* callback suppressed, data dropped */
#define PXOP_INFLIGHT 0x08	/* eop belongs to the loop (and the kernel) */

/* read(2)'s own per-call cap (MAX_RW_COUNT): longer requests are short
 * transfers, so no buffer beyond it is ever allocated. */
#define PX_LEN_MAX 0x7ffff000u

extern const char *const kind_names[];
#define PX_NKINDS 11

/* The keys of the result hashes (API-core.md §1.10). */
enum { PXR_BYTES, PXR_DATA, PXR_EOF, PXR_FH, PXR_ADDR, PXR_EXPIRED, PXR_NKEYS };

/* At most PX_NSPARE spare read buffers per engine, none above
 * PX_SPARE_MAX bytes. */
#define PX_NSPARE 8
#define PX_SPARE_MAX (64 * 1024 + 64)

typedef struct px px;
typedef struct pxop pxop;

struct pxop {
	px *px;			/* owning engine, NULL once it is gone */
	pxop *prev, *next;	/* px->all: every live Operation of px */
	SV *self;		/* the blessed inner scalar (not counted) */
	SV *kind, *data, *result, *error, *token;
	SV *cb;			/* the callback's CV itself (not a copy of the ref) */
	unsigned state;		/* PXS_* */
	unsigned flags;		/* PXOP_* */
	int pre_errno;		/* close: a flush error to report */
	/* The token the engine made (uring), token then being NULL (its SV
	 * is made only if asked for), and its ops_by_token key: decimal
	 * digits and their hash, so that registering and unregistering
	 * neither stringify the token nor hash it twice.  tkey_len 0: none
	 * (token is a backend's, or one set by hand). */
	IV tid;
	U32 tkey_hash;
	U8 tkey_len;
	char tkey[23];
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
	/* Made once per engine, used per op: each kind's name as a shared
	 * string (an op's kind), and the result hashes' keys as shared-key
	 * SVs, whose stores reuse the key and its hash instead of hashing
	 * and looking the string up again for every completion. */
	SV *kind_sv[PX_NKINDS];
	SV *rkey[PXR_NKEYS];
	SV *stop_key;		/* "stop_requested", for run's loop */
	/* Whether Operations (op_stash) have a DESTROY or AUTOLOAD, which
	 * could read an op nobody else holds, as of method cache
	 * generation destroy_gen (0: not looked up yet). */
	U32 destroy_gen;
	int has_destroy;
	/* Read buffers that came back with little in them (their bytes
	 * went out in a right-sized copy): the next reads reuse them
	 * instead of allocating a new one each (backend-uring.xs). */
	SV *spare[PX_NSPARE];
	int nspare;
};


/* Op method arguments, by key (proactor.xs parses them). */
enum {
	A_FH, A_LEN, A_DATA, A_ON_COMPLETE, A_BUF, A_FLAGS, A_ADDR, A_HOW,
	A_IN_FH, A_OUT_FH, A_DEADLINE, A_NKEYS
};
#define B(k) (1u << (k))
#define A_COMMON (B(A_DATA) | B(A_ON_COMPLETE))

struct px_args {
	SV *v[A_NKEYS];
	unsigned have;
};
#define HAVE(a, k) ((a)->have & B(k))



/* Operations (operation.xs). */
pxop *px_op_arg(pTHX_ SV *sv);
#define op_arg(sv) px_op_arg(aTHX_ sv)
pxop *px_op_new(pTHX_ px *px, HV *stash, SV *kind, SV *data, SV *cb, SV **rvp);
#define op_new(p, st, k, d, c, r) px_op_new(aTHX_ p, st, k, d, c, r)
void px_settle(pTHX_ pxop *op, unsigned state, SV *result, SV *error);
#define settle(op, st, r, e) px_settle(aTHX_ op, st, r, e)
SV *px_error_new(pTHX_ px *px, int code);
#define error_new(p, c) px_error_new(aTHX_ p, c)
IV px_drain(pTHX_ px *px);
#define drain(p) px_drain(aTHX_ p)

/* The engine (proactor.xs). */
px *px_engine_of(pTHX_ SV *sv);
#define px_of(sv) px_engine_of(aTHX_ sv)
SV *px_unreg(pTHX_ px *px, SV *token);
#define unreg(p, t) px_unreg(aTHX_ p, t)
void px_unreg_op(pTHX_ px *px, pxop *op);
#define unreg_op(p, op) px_unreg_op(aTHX_ p, op)
SV *px_next_token(pTHX_ px *px);
#define next_token(p) px_next_token(aTHX_ p)
void px_args_parse(pTHX_ struct px_args *a, SV **kv, I32 n, unsigned allowed,
		   int strict);
#define args_parse(a, kv, n, al, st) px_args_parse(aTHX_ a, kv, n, al, st)
int shutdown_how(pTHX_ SV *how);

/* The uring path (backend-uring.xs). */
void op_release(pTHX_ pxop *op);
/* Hands op to libevloop.  a holds the (checked) arguments.  Croaks on
 * bad handles or a refused submission, leaving op untouched. */
void uring_start(pTHX_ px *px, pxop *op, int kind, struct px_args *a);
int px_interrupt(evl_loop *loop, void *arg);
IV px_remaining_ns(pTHX_ px *px, SV *deadline);
#define remaining_ns(p, d) px_remaining_ns(aTHX_ p, d)
IV px_loop_pass(pTHX_ px *px, int64_t timeout_ns);
#define loop_pass(p, t) px_loop_pass(aTHX_ p, t)
IV px_uring_progress(pTHX_ px *px, int64_t timeout_ns, int idle_wait);
#define uring_progress(p, t, i) px_uring_progress(aTHX_ p, t, i)
IV px_uring_cancel(pTHX_ px *px, pxop *op);
#define uring_cancel(p, op) px_uring_cancel(aTHX_ p, op)

#endif
