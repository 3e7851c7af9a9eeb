/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* resolve.xs - Linux::Event::Resolver over evl_resolve (loop/resolve.c),
 * and its request objects, Linux::Event::Resolver::Request.
 *
 * A request record (struct rs_req) lives while its C request is pending
 * or its Perl object exists, whichever is longer: dropping the object
 * does not cancel (a resolve started in void context still answers), and
 * the object of an answered request stays usable (cancel is then a no-op).
 * Pending records are listed on the engine, in ext magic of our own on the
 * engine's hash: that magic is attached after the engine's, so perl frees
 * it first, and its svt_free cancels every pending request (their
 * callbacks never run) before the engine frees the C loop. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

struct rs_req {
	evl_resolve_req *req;	/* NULL once answered or cancelled */
	struct evlxs_engine *eng;
	struct rs_list *list;	/* the engine's pending list, while pending */
	struct rs_req *next, *prev;
	SV *on_done, *on_error;	/* counted; dropped once answered or cancelled */
	SV *obj;		/* the request object's body (not counted), NULL once freed */
	int in_cb;		/* its callback runs: the record must outlive it */
#ifdef MULTIPLICITY
	PerlInterpreter *perl;
#endif
};

/* The pending requests of one engine (rs_list_vtbl magic on its hash). */
struct rs_list {
	struct rs_req *head;
};

static void S_rs_req_free(pTHX_ struct rs_req *r)
{
	SvREFCNT_dec(r->on_done);
	SvREFCNT_dec(r->on_error);
	Safefree(r);
}
#define rs_req_free(r) S_rs_req_free(aTHX_ r)

/* Drops r's callbacks.  Their closures may hold the request object,
 * so freeing them can free it (rs_req_obj_free), and with it the record:
 * in_cb keeps the record until they are gone.  Frees the record if it
 * is answered or cancelled and its object is gone; the caller must not
 * touch r after this unless it holds the object. */
static void S_rs_drop_cbs(pTHX_ struct rs_req *r)
{
	SV *done = r->on_done, *err = r->on_error;
	int nested = r->in_cb;

	r->on_done = r->on_error = NULL;
	r->in_cb = 1;
	SvREFCNT_dec(done);
	SvREFCNT_dec(err);
	r->in_cb = nested;
	if (!nested && r->req == NULL && r->obj == NULL)
		rs_req_free(r);
}
#define rs_drop_cbs(r) S_rs_drop_cbs(aTHX_ r)

static void rs_unlink(struct rs_req *r)
{
	if (r->list == NULL)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		r->list->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	r->list = NULL;
}

/* The engine's hash is going: cancel what is pending there. */
static int rs_list_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct rs_list *l = (struct rs_list *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (l == NULL)
		return 0;
	while (l->head != NULL) {
		struct rs_req *r = l->head;
		rs_unlink(r);
		evl_resolve_cancel(r->req);
		r->req = NULL;
		rs_drop_cbs(r);
	}
	Safefree(l);
	mg->mg_ptr = NULL;
	return 0;
}

static MGVTBL rs_list_vtbl = { 0, 0, 0, 0, rs_list_free, 0, evlxs_dup_inert, 0 };

/* The request object is going; the record stays while pending. */
static int rs_req_obj_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct rs_req *r = (struct rs_req *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (r == NULL)
		return 0;
	r->obj = NULL;
	if (r->req == NULL && !r->in_cb)
		rs_req_free(r);
	return 0;
}

static MGVTBL rs_req_vtbl = { 0, 0, 0, 0, rs_req_obj_free, 0, evlxs_dup_inert, 0 };

/* The hash of the engine behind an engine object or a facade. */
static SV *S_engine_hv(pTHX_ SV *loop)
{
	static const MGVTBL *const kinds[] = { &rx_engine_vtbl, &px_engine_vtbl };
	SV **impl;
	size_t i;

	if (!SvROK(loop) || SvTYPE(SvRV(loop)) != SVt_PVHV)
		return NULL;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (mg_findext(SvRV(loop), PERL_MAGIC_ext, kinds[i]))
			return SvRV(loop);
	impl = hv_fetchs((HV *)SvRV(loop), "impl", 0);
	if (impl && SvROK(*impl) && SvTYPE(SvRV(*impl)) == SVt_PVHV)
		return SvRV(*impl);
	return NULL;
}
#define engine_hv(loop) S_engine_hv(aTHX_ loop)

static struct rs_list *S_engine_list(pTHX_ SV *hv)
{
	MAGIC *mg = mg_findext(hv, PERL_MAGIC_ext, &rs_list_vtbl);
	struct rs_list *l;

	if (mg != NULL)
		return (struct rs_list *)mg->mg_ptr;   /* NULL in a thread's copy */
	Newxz(l, 1, struct rs_list);
	evlxs_magic_attach(aTHX_ hv, &rs_list_vtbl, l);
	return l;
}
#define engine_list(hv) S_engine_list(aTHX_ hv)

/* One address as the Perl API shows it. */
static SV *S_ai_to_hv(pTHX_ const struct addrinfo *ai)
{
	HV *hv = newHV();
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	(void)hv_stores(hv, "family", newSViv(ai->ai_family));
	(void)hv_stores(hv, "socktype", newSViv(ai->ai_socktype));
	(void)hv_stores(hv, "protocol", newSViv(ai->ai_protocol));
	(void)hv_stores(hv, "addr", newSVpvn((const char *)ai->ai_addr, ai->ai_addrlen));
	/* Numeric only: no lookup, so it is cheap on the loop thread. */
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		(void)hv_stores(hv, "host", newSVpv(host, 0));
		(void)hv_stores(hv, "port", newSViv(atoi(serv)));
	}
	return newRV_noinc((SV *)hv);
}
#define ai_to_hv(ai) S_ai_to_hv(aTHX_ ai)

static void rs_answer(evl_resolve_req *req, int status, struct addrinfo *res)
{
	struct rs_req *r = evl_resolve_data(req);
	dEVLXS_THX(r->perl);
	SV *cb, *args[2];
	int n, i;

	r->req = NULL;		/* freed by libevloop after we return */
	rs_unlink(r);
	if (status == 0) {
		AV *av = newAV();
		const struct addrinfo *ai;

		for (ai = res; ai != NULL; ai = ai->ai_next)
			av_push(av, ai_to_hv(ai));
		cb = r->on_done;
		args[0] = newRV_noinc((SV *)av);
		n = 1;
	} else {
		const char *why = evl_resolve_strerror(req);
		const char *name = evl_resolve_eai_name(evl_resolve_eai(req));
		SV *msg = newSVpv(why ? why : strerror(-status), 0);

		if (name != NULL)
			sv_catpvf(msg, " (%s)", name);
		cb = r->on_error;
		args[0] = newSViv(-status);
		args[1] = msg;
		n = 2;
	}
	/* The callbacks are ours until the call returns, and the record
	 * until they are freed (rs_drop_cbs). */
	r->in_cb = 1;
	if (cb != NULL)
		evlxs_call(aTHX_ r->eng, cb, args, n);
	r->in_cb = 0;
	for (i = 0; i < n; i++)
		SvREFCNT_dec(args[i]);
	rs_drop_cbs(r);
}

MODULE = Linux::Event::Resolver	PACKAGE = Linux::Event::Resolver

PROTOTYPES: DISABLE

SV *
_resolve(SV *loop, SV *host, SV *service, int family, int socktype, int flags, SV *on_done, SV *on_error)
    PREINIT:
	struct evlxs_engine *eng;
	struct rs_list *list;
	struct rs_req *r;
	struct addrinfo hints;
	SV *hv, *body;
	int rc;
    CODE:
	eng = evlxs_engine_from_sv(aTHX_ loop);
	hv = engine_hv(loop);
	if (eng == NULL || eng->loop == NULL || hv == NULL)
		croak("Linux::Event::Resolver: loop is not a Linux::Event loop");
	list = engine_list(hv);
	if (list == NULL)
		croak("Linux::Event::Resolver: this loop belongs to another thread");
	if (!evlxs_is_code(on_done) || !evlxs_is_code(on_error))
		croak("Linux::Event::Resolver: on_done and on_error must be code references");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_flags = flags;
	Newxz(r, 1, struct rs_req);
#ifdef MULTIPLICITY
	r->perl = aTHX;
#endif
	r->eng = eng;
	rc = evl_resolve(eng->loop, &r->req, SvOK(host) ? SvPV_nolen(host) : NULL,
			 SvOK(service) ? SvPV_nolen(service) : NULL, &hints, rs_answer, r);
	if (rc < 0) {
		Safefree(r);
		croak("Linux::Event::Resolver: cannot start resolving: %s", strerror(-rc));
	}
	r->on_done = newSVsv(on_done);
	r->on_error = newSVsv(on_error);
	r->list = list;
	r->next = list->head;
	if (list->head)
		list->head->prev = r;
	list->head = r;
	body = newSV_type(SVt_PVMG);
	r->obj = body;
	evlxs_magic_attach(aTHX_ body, &rs_req_vtbl, r);
	RETVAL = sv_bless(newRV_noinc(body), gv_stashpvs("Linux::Event::Resolver::Request", GV_ADD));
    OUTPUT:
	RETVAL

void
_set_threads(SV *loop, UV n)
    PREINIT:
	evl_loop *l;
	int rc;
    CODE:
	l = evlxs_loop_from_sv(aTHX_ loop);
	if (l == NULL)
		croak("Linux::Event::Resolver: loop is not a Linux::Event loop");
	rc = evl_resolver_set_threads(l, n > EVL_RESOLVE_THREADS_MAX ? 0 : (unsigned)n);
	if (rc < 0)
		croak("Linux::Event::Resolver::set_threads: threads must be 1..%d",
		      EVL_RESOLVE_THREADS_MAX);

UV
_pending(SV *loop)
    PREINIT:
	evl_loop *l;
    CODE:
	l = evlxs_loop_from_sv(aTHX_ loop);
	if (l == NULL)
		croak("Linux::Event::Resolver: loop is not a Linux::Event loop");
	RETVAL = evl_resolver_pending(l);
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Resolver	PACKAGE = Linux::Event::Resolver::Request

int
cancel(SV *self)
    PREINIT:
	MAGIC *mg;
	struct rs_req *r;
    CODE:
	mg = evlxs_magic(aTHX_ self, &rs_req_vtbl);
	r = mg ? (struct rs_req *)mg->mg_ptr : NULL;
	RETVAL = 0;
	if (r != NULL && r->req != NULL) {
		RETVAL = evl_resolve_cancel(r->req) == 1;
		if (RETVAL) {
			r->req = NULL;
			rs_unlink(r);
			rs_drop_cbs(r);	/* self holds the object: r stays */
		}
	}
    OUTPUT:
	RETVAL

int
is_pending(SV *self)
    PREINIT:
	MAGIC *mg;
	struct rs_req *r;
    CODE:
	mg = evlxs_magic(aTHX_ self, &rs_req_vtbl);
	r = mg ? (struct rs_req *)mg->mg_ptr : NULL;
	RETVAL = r != NULL && r->req != NULL;
    OUTPUT:
	RETVAL
