/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* tls.xs - Linux::Event::TLS: contexts (evl_tls_ctx) and TLS on the
 * :evloop layer's stream (PerlIO::evloop::_start_tls and friends).
 *
 * TLS lives in the layer's evl_stream, so one start covers every user of
 * the handle: print/readline/:evline through the layer, and a
 * Linux::Event::Stream bound to it (stream.xs adds its on_handshake).
 * TLS.pm validates options and caches contexts; a context object is a
 * blessed scalar holding the evl_tls_ctx pointer, and streams hold C
 * references of their own, so it may go while they run.  Contexts stay
 * with the thread that made them (a new thread's copy is inert). */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"
#include "perliol.h"
#include "layer-api.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

static evl_tls_ctx *ctx_of(pTHX_ SV *sv, const char *who)
{
	if (!SvROK(sv) || !sv_derived_from(sv, "Linux::Event::TLS::Context") ||
	    !SvIOK(SvRV(sv)))
		evlxs_croak(aTHX_ "%s: not a Linux::Event::TLS::Context", who);
	return INT2PTR(evl_tls_ctx *, SvIV(SvRV(sv)));
}

static const char *str_opt(pTHX_ HV *o, const char *key)
{
	SV **v = hv_fetch(o, key, strlen(key), 0);

	return (v && SvOK(*v)) ? SvPV_nolen(*v) : NULL;
}

static IV int_opt(pTHX_ HV *o, const char *key)
{
	SV **v = hv_fetch(o, key, strlen(key), 0);

	return (v && SvOK(*v)) ? SvIV(*v) : 0;
}

static evl_stream *stream_of_fh(pTHX_ SV *fh, const char *who)
{
	IO *io = sv_2io(fh);
	evl_stream *s;

	if (!io || !IoIFP(io))
		evlxs_croak(aTHX_ "%s: fh is not open", who);
	s = evl_perlio_stream(aTHX_ IoIFP(io));
	if (!s)
		evlxs_croak(aTHX_ "%s: fh has no :evloop layer", who);
	return s;
}

/* Waits for the fd to be ready (a blocking handshake over a non-blocking
 * fd).  Returns 0 or -errno. */
static int wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int n = poll(&p, 1, -1);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

SV *evlxs_tls_info(pTHX_ evl_stream *s)
{
	struct evl_tls_info info;
	HV *hv;

	if (evl_stream_tls_info(s, &info) < 0)
		return newSV(0);
	hv = newHV();
	hv_stores(hv, "protocol", newSVpv(info.version, 0));
	hv_stores(hv, "cipher", newSVpv(info.cipher, 0));
	hv_stores(hv, "alpn", info.alpn ? newSVpv(info.alpn, 0) : newSV(0));
	hv_stores(hv, "servername", info.servername ? newSVpv(info.servername, 0) : newSV(0));
	hv_stores(hv, "peer_subject",
		  info.peer_subject[0] ? newSVpv(info.peer_subject, 0) : newSV(0));
	hv_stores(hv, "resumed", newSViv(info.resumed));
	hv_stores(hv, "verified", newSViv(info.verified));
	return newRV_noinc((SV *)hv);
}

MODULE = Linux::Event::TLS	PACKAGE = Linux::Event::TLS

PROTOTYPES: DISABLE

SV *
_ctx_new(HV *o)
    PREINIT:
	struct evl_tls_options opt;
	evl_tls_ctx *ctx = NULL;
	int rc;
    CODE:
	memset(&opt, 0, sizeof opt);
	opt.server = int_opt(aTHX_ o, "server") != 0;
	opt.cert_file = str_opt(aTHX_ o, "cert_file");
	opt.key_file = str_opt(aTHX_ o, "key_file");
	opt.ca_file = str_opt(aTHX_ o, "ca_file");
	opt.ca_dir = str_opt(aTHX_ o, "ca_path");
	opt.verify = (int)int_opt(aTHX_ o, "verify");
	opt.alpn = str_opt(aTHX_ o, "alpn");
	opt.ciphers = str_opt(aTHX_ o, "ciphers");
	opt.min_version = (int)int_opt(aTHX_ o, "min_version");
	rc = evl_tls_ctx_new(&ctx, &opt);
	if (rc == -EVL_ETLS) {
		SV *msg = sv_2mortal(newSVpv(evl_tls_ctx_error(ctx) ? evl_tls_ctx_error(ctx) : "TLS failure", 0));
		evl_tls_ctx_free(ctx);
		evlxs_croak(aTHX_ "%" SVf, SVfARG(msg));
	}
	if (rc < 0)
		evlxs_croak(aTHX_ "%s", strerror(-rc));
	RETVAL = sv_setref_pv(newSV(0), "Linux::Event::TLS::Context", (void *)ctx);
    OUTPUT:
	RETVAL

void
_ctx_add_sni(SV *ctx, const char *name, SV *sub)
    PREINIT:
	int rc;
    CODE:
	rc = evl_tls_ctx_add_sni(ctx_of(aTHX_ ctx, "sni"), name, ctx_of(aTHX_ sub, "sni"));
	if (rc < 0)
		evlxs_croak(aTHX_ "sni: %s", strerror(-rc));

MODULE = Linux::Event::TLS	PACKAGE = Linux::Event::TLS::Context

void
DESTROY(SV *self)
    CODE:
	if (SvROK(self) && SvIOK(SvRV(self))) {
		evl_tls_ctx_free(INT2PTR(evl_tls_ctx *, SvIV(SvRV(self))));
		sv_setiv(SvRV(self), 0);
	}

void
CLONE_SKIP(...)
    PPCODE:
	/* A thread's copy would free the parent's context a second time. */
	XSRETURN_YES;

MODULE = Linux::Event::TLS	PACKAGE = PerlIO::evloop

int
_start_tls(SV *fh, SV *ctx, SV *host, NV timeout, int blocking)
    PREINIT:
	evl_stream *s;
	uint64_t timeout_ns;
	int rc;
    CODE:
	s = stream_of_fh(aTHX_ fh, "start_tls");
	timeout_ns = timeout > 0 ? (uint64_t)(timeout * 1e9) : 0;
	rc = evl_stream_start_tls(s, ctx_of(aTHX_ ctx, "start_tls"),
				  SvOK(host) ? SvPV_nolen(host) : NULL, NULL, timeout_ns);
	/* A blocking handle (no loop) finishes its handshake here, as
	 * IO::Socket::SSL's start_SSL does; a non-blocking one goes on
	 * through its reads, or its loop. */
	while (rc == 0 && blocking && s->loop == NULL) {
		rc = evl_stream_tls_handshake(s);
		if (rc == 1) {
			rc = 0;
			break;
		}
		if (rc == -EAGAIN) {
			ssize_t left = evl_stream_flush(s);
			rc = left < 0 ? (int)left : wait_fd(s->fd, left > 0 ? POLLOUT : POLLIN);
			PERL_ASYNC_CHECK();
		}
	}
	if (rc < 0)
		SETERRNO(-rc, SS_IVCHAN);
	RETVAL = rc < 0 ? 0 : 1;
    OUTPUT:
	RETVAL

int
tls_state(SV *fh)
    PREINIT:
	evl_stream *s;
    CODE:
	/* 0: no TLS, 1: handshake under way, 2: established. */
	s = stream_of_fh(aTHX_ fh, "tls_state");
	RETVAL = s->tls == NULL ? 0 : evl_stream_tls_established(s) ? 2 : 1;
    OUTPUT:
	RETVAL

SV *
tls_error(SV *fh)
    PREINIT:
	const char *e;
    CODE:
	e = evl_stream_tls_error(stream_of_fh(aTHX_ fh, "tls_error"));
	RETVAL = e ? newSVpv(e, 0) : &PL_sv_undef;
    OUTPUT:
	RETVAL

SV *
tls_info(SV *fh)
    CODE:
	RETVAL = evlxs_tls_info(aTHX_ stream_of_fh(aTHX_ fh, "tls_info"));
    OUTPUT:
	RETVAL
