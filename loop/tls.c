/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* tls.c - TLS (OpenSSL 3) inside evl_stream.
 *
 * The stream's engines keep doing the I/O; TLS is a transform between
 * the fd's bytes and the stream's buffers, through two memory BIOs:
 *   reading  the engine reads ciphertext (the reactor into rbuf's free
 *            space, the proactor into px->cin), BIO_write copies it into
 *            rbio, and SSL_read decrypts straight into rbuf, so framers
 *            and callbacks see plaintext and nothing else changes.
 *   writing  evl_stream_write encrypts at once (SSL_write into wbio, at
 *            most WRITE_PIECE plaintext bytes at a time) and hands the
 *            ciphertext to the plain write path (evl__stream_queue_raw):
 *            the direct write on an empty queue, write-behind, the
 *            proactor's send op, the SIGPIPE guard.  wbuf therefore holds
 *            ciphertext; watermarks count it (plaintext plus ~22 bytes
 *            per record), wmax is checked on the plaintext before it is
 *            encrypted, so that a refused write leaves nothing behind.
 *
 * Handshake.  Driven by whatever brings ciphertext in (reads, fill),
 * and on a loop by a 0-delay timer (kick) that starts it (a client's
 * ClientHello; a server's bytes read before start_tls) and, once it is
 * done, reports it.  Its records go out through evl__stream_out, which
 * calls nothing back.  Writes made before the handshake is reported
 * wait in pend as plaintext; reporting (evl__tls_report, from the first
 * delivery or the kick, whichever comes first) encrypts them, then calls
 * on_handshake, so that on_handshake precedes every decrypted byte.
 *
 * Closing.  evl_stream_close queues close_notify and then drains as
 * usual.  A close before the handshake was reported, with plaintext
 * waiting for it, waits for the handshake (CLOSE_WAIT), and so does
 * evl_stream_tls_shutdown (SHUT_WAIT: close_notify goes right behind
 * that plaintext).  Meanwhile the handshake reads even if reading was
 * stopped (want_input, stream-internal.h): a close-after-drain stops
 * reading, and would otherwise wait for ever.
 *
 * EOF.  close_notify from the peer is an EOF.  A connection closed
 * without it is an EOF between records (many peers do that) and
 * EVL_ETLS in the middle of one, or during the handshake.
 *
 * Callbacks of OpenSSL (SNI, ALPN, new sessions) find the evl_tls_ctx in
 * the SSL_CTX's app data and the stream's state in the SSL's.
 *
 * Sections: contexts, stream state, handshake, reading, writing,
 * public API.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "stream-internal.h"

#define TLS_HS_DONE 0x01        /* SSL_do_handshake succeeded */
#define TLS_REPORTED 0x02       /* pend written, on_handshake called */
#define TLS_PEER_CLOSED 0x04    /* close_notify received */
#define TLS_SHUT_SENT 0x08      /* close_notify queued */
#define TLS_CLOSE_WAIT 0x10     /* evl_stream_close waits for the handshake */
#define TLS_SHUT_WAIT 0x20      /* evl_stream_tls_shutdown waits for the handshake */

/* Plaintext encrypted per SSL_write before its ciphertext is handed on:
 * bounds the memory wbio keeps. */
#define WRITE_PIECE ((size_t)64 * 1024)
/* Room reserved in rbuf for one SSL_read when less is free. */
#define READ_ROOM ((size_t)16 * 1024 + 256)
/* Client sessions remembered per context (by host name). */
#define SESS_MAX 64

struct sess {
    struct sess *next;
    char *host;
    SSL_SESSION *sess;
};

struct sni_entry {
    char *name;
    evl_tls_ctx *ctx;
};

struct evl_tls_ctx {
    SSL_CTX *ssl;
    unsigned refs;               /* the caller's, plus one per stream */
    int server;
    int verify;                  /* enum evl_tls_verify */
    unsigned char *alpn;         /* wire format: length-prefixed names */
    size_t alpn_len;
    evl_tls_sni_cb sni_cb;
    void *sni_arg;
    struct sni_entry *sni;       /* evl_tls_ctx_add_sni: name -> context (a reference) */
    size_t nsni;
    struct sess *sessions;       /* most recent first */
    unsigned nsess;
    char err[256];
};

struct evl__tls {
    evl_stream *s;
    evl_tls_ctx *ctx;            /* a reference */
    SSL *ssl;
    BIO *rbio, *wbio;            /* ciphertext from and to the fd */
    evl_stream_cb on_handshake;
    evl_timer kick;              /* 0-delay: start, then report, the handshake */
    evl_timer deadline;          /* handshake_timeout */
    evl_loop *timer_loop;        /* the loop the timers were initialised for */
    uint64_t timeout_ns;
    unsigned st;                 /* TLS_* */
    int late_err;                /* a failure behind bytes decrypted first */
    evl_buf pend;                /* plaintext written before the handshake was reported */
    char *host;
    char alpn[256];              /* the negotiated protocol, for evl_tls_info */
    char err[256];
};

/* ------------------------------------------------------------ contexts */

/* OpenSSL's reason for the latest failure, into buf; clears its queue. */
static void error_text(char *buf, size_t size, const char *what, SSL *ssl)
{
    long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    if (vr != X509_V_OK)
        snprintf(buf, size, "%s: certificate verify failed: %s", what,
                 X509_verify_cert_error_string(vr));
    else if (e != 0 && ERR_reason_error_string(e) != NULL)
        snprintf(buf, size, "%s: %s", what, ERR_reason_error_string(e));
    else if (e != 0)
        snprintf(buf, size, "%s: OpenSSL error %lx", what, e);
    else
        snprintf(buf, size, "%s: TLS failure", what);
    ERR_clear_error();
}

/* "h2,http/1.1" to ALPN's wire format.  Returns 0 or -EINVAL, -ENOMEM. */
static int alpn_wire(const char *list, unsigned char **out, size_t *out_len)
{
    size_t n = strlen(list);
    unsigned char *w = malloc(n + 1);
    if (w == NULL)
        return -ENOMEM;
    size_t len = 0;
    const char *p = list;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t l = end != NULL ? (size_t)(end - p) : strlen(p);
        if (l == 0 || l > 255) {
            free(w);
            return -EINVAL;
        }
        w[len++] = (unsigned char)l;
        memcpy(w + len, p, l);
        len += l;
        p += l;
        if (*p == ',')
            p++;
    }
    if (len == 0) {
        free(w);
        return -EINVAL;
    }
    *out = w;
    *out_len = len;
    return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    evl_tls_ctx *ctx = arg;
    /* The server's order wins; no common protocol: go on without one. */
    if (SSL_select_next_proto((unsigned char **)out, outlen, ctx->alpn,
                              (unsigned int)ctx->alpn_len, in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

static int servername(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    evl_tls_ctx *ctx = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL)
        return SSL_TLSEXT_ERR_OK;
    evl_tls_ctx *pick = NULL;
    for (size_t i = 0; i < ctx->nsni && pick == NULL; i++)
        if (strcasecmp(ctx->sni[i].name, name) == 0)
            pick = ctx->sni[i].ctx;
    if (pick == NULL && ctx->sni_cb != NULL)
        pick = ctx->sni_cb(name, ctx->sni_arg);
    if (pick != NULL && pick != ctx && pick->server)
        SSL_set_SSL_CTX(ssl, pick->ssl);
    return SSL_TLSEXT_ERR_OK;
}

static struct sess *sess_find(evl_tls_ctx *ctx, const char *host, struct sess ***link)
{
    struct sess **pp = &ctx->sessions;
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->host, host) == 0) {
            if (link != NULL)
                *link = pp;
            return *pp;
        }
    }
    return NULL;
}

static void sess_drop(struct sess *e)
{
    SSL_SESSION_free(e->sess);
    free(e->host);
    free(e);
}

/* A client got a session (a TLS 1.3 ticket arrives after the handshake):
 * the newest per host is kept for the next stream to that host. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct evl__tls *t = SSL_get_app_data(ssl);
    if (t == NULL || t->host == NULL)
        return 0;
    evl_tls_ctx *ctx = t->ctx;
    struct sess **link;
    struct sess *e = sess_find(ctx, t->host, &link);
    if (e != NULL) {
        *link = e->next;   /* moves to the front */
        SSL_SESSION_free(e->sess);
    } else {
        e = calloc(1, sizeof(*e));
        if (e == NULL || (e->host = strdup(t->host)) == NULL) {
            free(e);
            return 0;
        }
        ctx->nsess++;
    }
    e->sess = sess;
    e->next = ctx->sessions;
    ctx->sessions = e;
    if (ctx->nsess > SESS_MAX) {
        struct sess **pp = &ctx->sessions;
        while ((*pp)->next != NULL)
            pp = &(*pp)->next;
        sess_drop(*pp);
        *pp = NULL;
        ctx->nsess--;
    }
    return 1;   /* the reference is ours */
}

static void ctx_unref(evl_tls_ctx *ctx)
{
    if (ctx == NULL || --ctx->refs > 0)
        return;
    while (ctx->sessions != NULL) {
        struct sess *e = ctx->sessions;
        ctx->sessions = e->next;
        sess_drop(e);
    }
    for (size_t i = 0; i < ctx->nsni; i++) {
        free(ctx->sni[i].name);
        ctx_unref(ctx->sni[i].ctx);
    }
    free(ctx->sni);
    SSL_CTX_free(ctx->ssl);
    free(ctx->alpn);
    free(ctx);
}

/* Files and the trust store.  Returns 0, or -EVL_ETLS with ctx->err set. */
static int ctx_load(evl_tls_ctx *ctx, const struct evl_tls_options *opt)
{
    SSL_CTX *c = ctx->ssl;
    ERR_clear_error();
    if (opt->cert_file != NULL) {
        const char *key = opt->key_file != NULL ? opt->key_file : opt->cert_file;
        if (SSL_CTX_use_certificate_chain_file(c, opt->cert_file) != 1) {
            error_text(ctx->err, sizeof(ctx->err), opt->cert_file, NULL);
            return -EVL_ETLS;
        }
        if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c) != 1) {
            error_text(ctx->err, sizeof(ctx->err), key, NULL);
            return -EVL_ETLS;
        }
    }
    if (opt->ca_file != NULL || opt->ca_dir != NULL) {
        if (SSL_CTX_load_verify_locations(c, opt->ca_file, opt->ca_dir) != 1) {
            error_text(ctx->err, sizeof(ctx->err),
                       opt->ca_file != NULL ? opt->ca_file : opt->ca_dir, NULL);
            return -EVL_ETLS;
        }
    } else if (opt->verify != EVL_TLS_VERIFY_NONE &&
               (!opt->server || opt->verify != EVL_TLS_VERIFY_DEFAULT)) {
        /* Debian's ca-certificates: /etc/ssl/certs. */
        if (SSL_CTX_set_default_verify_paths(c) != 1) {
            error_text(ctx->err, sizeof(ctx->err), "system CA store", NULL);
            return -EVL_ETLS;
        }
    }
    if (opt->ciphers != NULL && SSL_CTX_set_cipher_list(c, opt->ciphers) != 1) {
        error_text(ctx->err, sizeof(ctx->err), opt->ciphers, NULL);
        return -EVL_ETLS;
    }
    return 0;
}

int evl_tls_ctx_new(evl_tls_ctx **out, const struct evl_tls_options *opt)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (opt == NULL || opt->verify < EVL_TLS_VERIFY_DEFAULT ||
        opt->verify > EVL_TLS_VERIFY_REQUIRE || (opt->server && opt->cert_file == NULL) ||
        (opt->min_version != 0 && opt->min_version != TLS1_2_VERSION &&
         opt->min_version != TLS1_3_VERSION))
        return -EINVAL;
    evl_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return -ENOMEM;
    ctx->refs = 1;
    ctx->server = opt->server != 0;
    ctx->verify = opt->verify;
    ctx->ssl = SSL_CTX_new(ctx->server ? TLS_server_method() : TLS_client_method());
    if (ctx->ssl == NULL) {
        free(ctx);
        ERR_clear_error();
        return -ENOMEM;
    }
    SSL_CTX *c = ctx->ssl;
    SSL_CTX_set_app_data(c, ctx);
    SSL_CTX_set_min_proto_version(c, opt->min_version != 0 ? opt->min_version : TLS1_2_VERSION);
    /* Renegotiation is refused (TLS 1.2; 1.3 has none). */
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    int rc = 0;
    if (opt->alpn != NULL)
        rc = alpn_wire(opt->alpn, &ctx->alpn, &ctx->alpn_len);
    if (rc == 0)
        rc = ctx_load(ctx, opt);
    if (rc < 0) {
        if (rc == -EVL_ETLS) {
            *out = ctx;   /* for evl_tls_ctx_error */
            return rc;
        }
        ctx_unref(ctx);
        return rc;
    }
    if (ctx->server) {
        int mode = SSL_VERIFY_NONE;
        if (opt->verify == EVL_TLS_VERIFY_PEER)
            mode = SSL_VERIFY_PEER;
        else if (opt->verify == EVL_TLS_VERIFY_REQUIRE)
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(c, mode, NULL);
        /* Resumption (tickets) works with client certificates too. */
        SSL_CTX_set_session_id_context(c, (const unsigned char *)"evloop", 6);
        SSL_CTX_set_tlsext_servername_callback(c, servername);
        SSL_CTX_set_tlsext_servername_arg(c, ctx);
        if (ctx->alpn != NULL)
            SSL_CTX_set_alpn_select_cb(c, alpn_select, ctx);
    } else {
        SSL_CTX_set_verify(c, opt->verify == EVL_TLS_VERIFY_NONE ? SSL_VERIFY_NONE
                                                                 : SSL_VERIFY_PEER,
                           NULL);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT |
                                              SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(c, new_session);
        /* SSL_CTX_set_alpn_protos returns 0 on success. */
        if (ctx->alpn != NULL &&
            SSL_CTX_set_alpn_protos(c, ctx->alpn, (unsigned int)ctx->alpn_len) != 0) {
            ctx_unref(ctx);
            ERR_clear_error();
            return -ENOMEM;
        }
    }
    *out = ctx;
    return 0;
}

void evl_tls_ctx_free(evl_tls_ctx *ctx)
{
    ctx_unref(ctx);
}

const char *evl_tls_ctx_error(const evl_tls_ctx *ctx)
{
    return ctx != NULL && ctx->err[0] != '\0' ? ctx->err : NULL;
}

int evl_tls_ctx_set_sni_cb(evl_tls_ctx *ctx, evl_tls_sni_cb cb, void *arg)
{
    if (ctx == NULL || !ctx->server)
        return -EINVAL;
    ctx->sni_cb = cb;
    ctx->sni_arg = arg;
    return 0;
}

int evl_tls_ctx_add_sni(evl_tls_ctx *ctx, const char *name, evl_tls_ctx *sub)
{
    if (ctx == NULL || sub == NULL || name == NULL || !ctx->server || !sub->server || sub == ctx)
        return -EINVAL;
    struct sni_entry *n = realloc(ctx->sni, (ctx->nsni + 1) * sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    ctx->sni = n;
    char *copy = strdup(name);
    if (copy == NULL)
        return -ENOMEM;
    n[ctx->nsni].name = copy;
    n[ctx->nsni].ctx = sub;
    ctx->nsni++;
    sub->refs++;
    return 0;
}

/* ------------------------------------------------------------ stream state */

/* Records OpenSSL's reason for a failure; returns the stream error. */
static int tls_failed(evl_stream *s, const char *what)
{
    struct evl__tls *t = s->tls;
    error_text(t->err, sizeof(t->err), what, t->ssl);
    return -EVL_ETLS;
}

/* Ciphertext into rbio.  Returns 0 or -ENOMEM. */
static int bio_in(struct evl__tls *t, const char *p, size_t n)
{
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        int w = BIO_write(t->rbio, p, chunk);
        if (w <= 0)
            return -ENOMEM;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What OpenSSL wrote (handshake records, alerts, close_notify) to the fd.
 * Returns 0 or -errno (not reported). */
static int flush_out(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    BUF_MEM *bm;
    BIO_get_mem_ptr(t->wbio, &bm);
    if (bm == NULL || bm->length == 0)
        return 0;
    int rc = evl__stream_out(s, bm->data, bm->length);
    (void)BIO_reset(t->wbio);
    return rc;
}

static int timers_ready(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    if (s->loop == NULL)
        return -EINVAL;
    if (t->timer_loop == s->loop)
        return 0;
    int rc = evl_timer_init(s->loop, &t->kick);
    if (rc == 0)
        rc = evl_timer_init(s->loop, &t->deadline);
    if (rc == 0)
        t->timer_loop = s->loop;
    return rc;
}

static void kick_cb(evl_timer *tm);

static int kick(evl_stream *s)
{
    int rc = timers_ready(s);
    return rc < 0 ? rc : evl_timer_start(&s->tls->kick, kick_cb, 0, 0);
}

/* ------------------------------------------------------------ handshake */

static int hs_done(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    t->st |= TLS_HS_DONE;
    if (t->timer_loop != NULL)
        evl_timer_stop(&t->deadline);
    if (s->loop != NULL) {
        /* A stream that read for the handshake only (want_input) reads
         * no more, or a level-triggered watcher would wake it for nothing. */
        int rc = evl__stream_update_interest(s);
        return rc < 0 ? rc : kick(s);   /* reports it unless a delivery does first */
    }
    evl__tls_report(s);   /* caller-driven: now */
    return 0;
}

/* One step.  Returns 0 (done, or waiting for the peer) or -errno. */
static int hs_step(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
    /* The records it made go out first: on failure, that is the alert
     * that tells the peer why. */
    int rc = flush_out(s);
    if (r == 1)
        return rc < 0 ? rc : hs_done(s);
    if (e == SSL_ERROR_WANT_READ)
        return rc;
    return tls_failed(s, "handshake");
}

static int encrypt_out(evl_stream *s, const char *p, size_t n, int queue_only);

int evl__tls_report(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    if ((t->st & (TLS_HS_DONE | TLS_REPORTED)) != TLS_HS_DONE)
        return 1;
    t->st |= TLS_REPORTED;
    struct evl__guard g;
    guard_enter(s, &g);
    size_t before = evl_stream_queued(s);
    if (evl_buf_len(&t->pend) > 0) {
        evl_buf pend = t->pend;
        evl_buf_init(&t->pend);
        int rc = encrypt_out(s, evl_buf_data(&pend), evl_buf_len(&pend), 0);
        evl_buf_free(&pend);
        if (!g.alive)
            return guard_leave(s, &g);
        if (rc < 0 && s->err == 0 && !evl__stream_fail(s, rc))
            return guard_leave(s, &g);
    }
    if ((t->st & TLS_SHUT_WAIT) && s->err == 0) {
        t->st &= ~TLS_SHUT_WAIT;
        (void)evl__tls_close(s);   /* a failure shows again in the drain */
    }
    if (t->on_handshake != NULL && s->err == 0) {
        t->on_handshake(s);
        if (!g.alive)
            return guard_leave(s, &g);
    }
    /* The queue shrank by what the fd took at once: low water, drain.
     * After on_handshake, which on_drain may not precede: a
     * close-after-drain would close in it. */
    if (s->err == 0 && !evl__stream_written(s, before))
        return guard_leave(s, &g);
    if (s->tls->st & TLS_CLOSE_WAIT) {
        s->tls->st &= ~TLS_CLOSE_WAIT;
        evl_stream_close(s);
    }
    return guard_leave(s, &g);
}

static ssize_t decrypt(evl_stream *s);

static void kick_cb(evl_timer *tm)
{
    struct evl__tls *t = evl__container_of(tm, struct evl__tls, kick);
    evl_stream *s = t->s;
    if (s->err != 0 || (s->state & EVL__STREAM_CLOSED))
        return;
    struct evl__guard g;
    guard_enter(s, &g);
    if (!(t->st & TLS_HS_DONE)) {
        int rc = hs_step(s);   /* when it finishes, it kicks again */
        if (rc < 0)
            evl__stream_fail(s, rc);
        guard_leave(s, &g);
        return;
    }
    if (!evl__tls_report(s) || s->err != 0 || (s->state & EVL__STREAM_CLOSING)) {
        guard_leave(s, &g);
        return;
    }
    /* A read kept for the handshake while reading was stopped (see
     * want_input) is not wanted any more. */
    if (s->px != NULL && !want_read(s))
        evl__stream_px_read_stop(s);
    /* Application data that came with the handshake's last flight. */
    if (s->px != NULL && evl__stream_px_rbuf_pinned(s)) {
        evl__stream_px_read_stop(s);   /* its completion decrypts (rop_done) */
    } else {
        ssize_t n = decrypt(s);
        if (n == 0)
            s->state |= EVL__STREAM_EOF;
        if (n >= 0 && (s->state & EVL__STREAM_EOF)) {
            int rc = evl__stream_update_interest(s);
            if (rc < 0)
                evl__stream_fail(s, rc);
            else
                evl__stream_deliver(s, n > 0);
        } else if (n > 0) {
            evl__stream_deliver(s, 1);
        } else if (n != -EAGAIN) {
            evl__stream_fail(s, (int)n);
        }
    }
    guard_leave(s, &g);
}

static void deadline_cb(evl_timer *tm)
{
    struct evl__tls *t = evl__container_of(tm, struct evl__tls, deadline);
    if (t->st & TLS_HS_DONE)
        return;
    snprintf(t->err, sizeof(t->err), "handshake: timed out");
    evl__stream_fail(t->s, -ETIMEDOUT);
}

/* The handshake's clock starts now, not at the time the loop cached when
 * it last ran: the start may come long after that (a slow callback, or
 * code outside the loop), and would time out at once. */
static int deadline_start(evl_stream *s, uint64_t timeout_ns)
{
    evl_loop_update_now(s->loop);
    return evl_timer_start(&s->tls->deadline, deadline_cb, timeout_ns, 0);
}

/* ------------------------------------------------------------ reading */

/* The connection ended (read returned 0).  Returns 0 (an EOF) or
 * -EVL_ETLS. */
static ssize_t raw_eof(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    if (t->st & TLS_PEER_CLOSED)
        return 0;
    if (!(t->st & TLS_HS_DONE)) {
        snprintf(t->err, sizeof(t->err), "handshake: connection closed by the peer");
        return -EVL_ETLS;
    }
    /* A record begun: its bytes are in rbio, or already in the SSL's
     * record buffer. */
    if (BIO_ctrl_pending(t->rbio) > 0 || SSL_has_pending(t->ssl)) {
        snprintf(t->err, sizeof(t->err), "truncated record: connection closed mid-record");
        return -EVL_ETLS;
    }
    return 0;
}

/* Everything rbio holds, decrypted into rbuf.  Returns the bytes added,
 * 0 at close_notify (nothing added), -EAGAIN (nothing), or -errno.  A
 * failure behind decrypted bytes comes with the next call; close_notify
 * behind them sets the EOF state at once. */
static ssize_t decrypt(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    if (t->late_err != 0)
        return t->late_err;
    if (t->st & TLS_PEER_CLOSED)
        return 0;
    size_t total = 0;
    ERR_clear_error();
    for (;;) {
        char *p;
        size_t room = evl_buf_space(&s->rbuf);
        if (room < 1024) {
            p = evl_buf_reserve(&s->rbuf, READ_ROOM);
            if (p == NULL)
                return total > 0 ? (ssize_t)total : -ENOMEM;
            room = evl_buf_space(&s->rbuf);
        } else {
            p = s->rbuf.base + s->rbuf.tail;
        }
        int r = SSL_read(t->ssl, p, room > INT_MAX ? INT_MAX : (int)room);
        if (r > 0) {
            evl_buf_commit(&s->rbuf, (size_t)r);
            total += (size_t)r;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            t->st |= TLS_PEER_CLOSED;
            break;
        }
        int rc = tls_failed(s, "read");
        flush_out(s);   /* the alert, if any */
        if (total == 0)
            return rc;
        t->late_err = rc;   /* nothing decrypted is lost */
        return (ssize_t)total;
    }
    /* Post-handshake messages may want an answer (a key update). */
    int rc = flush_out(s);
    if (total > 0) {
        /* close_notify behind these bytes: the end is known now, and
         * comes after them.  Waiting for another read would wait for
         * nothing when the peer keeps the connection open for our
         * close_notify, and a proactor's next recv would meet the peer's
         * close, or its reset if it closed with our records unread. */
        if (t->st & TLS_PEER_CLOSED)
            s->state |= EVL__STREAM_EOF;
        return (ssize_t)total;
    }
    if (rc < 0)
        return rc;
    return (t->st & TLS_PEER_CLOSED) ? 0 : -EAGAIN;
}

/* hs_only: return -EAGAIN once the handshake is done rather than wait
 * for application data (evl_stream_tls_handshake on a blocking fd). */
static ssize_t tls_read(evl_stream *s, int idle_small, int hs_only)
{
    struct evl__tls *t = s->tls;
    for (;;) {
        if (hs_only && (t->st & TLS_HS_DONE))
            return -EAGAIN;
        if (t->st & TLS_HS_DONE) {
            ssize_t n = decrypt(s);
            if (n != -EAGAIN) {
                if (n == 0)
                    s->state |= EVL__STREAM_EOF;
                return n;
            }
        }
        /* The ciphertext lands in rbuf's free space, is copied into rbio,
         * and the plaintext comes back to the same place. */
        size_t want = evl__stream_read_want(s, idle_small);
        if (want == 0)
            return -EMSGSIZE;
        char *p = idle_small ? evl__stream_rbuf_reserve(s, want)
                             : evl_buf_reserve(&s->rbuf, want);
        if (p == NULL)
            return -ENOMEM;
        ssize_t n = (s->flags & EVL_STREAM_SOCKET) ? recv(s->fd, p, want, 0)
                                                    : read(s->fd, p, want);
        evl__stream_read_done(s, want, n >= 0 ? n : -errno);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -EAGAIN;
            return -errno;
        }
        if (n == 0) {
            ssize_t rc = raw_eof(s);
            if (rc == 0)
                s->state |= EVL__STREAM_EOF;
            return rc;
        }
        int rc = bio_in(t, p, (size_t)n);
        if (rc == 0 && !(t->st & TLS_HS_DONE))
            rc = hs_step(s);
        if (rc < 0)
            return rc;
    }
}

ssize_t evl__tls_read(evl_stream *s, int idle_small)
{
    return tls_read(s, idle_small, 0);
}

ssize_t evl__tls_read_handshake(evl_stream *s)
{
    return tls_read(s, 1, 1);
}

int evl__tls_close_waits(const evl_stream *s)
{
    const struct evl__tls *t = s->tls;
    return (t->st & (TLS_SHUT_WAIT | TLS_CLOSE_WAIT)) && !(t->st & TLS_HS_DONE) && s->err == 0 &&
           !(s->state & (EVL__STREAM_EOF | EVL__STREAM_CLOSED));
}

ssize_t evl__tls_input(evl_stream *s, const char *p, ssize_t res)
{
    struct evl__tls *t = s->tls;
    if (res > 0) {
        int rc = bio_in(t, p, (size_t)res);
        if (rc == 0 && !(t->st & TLS_HS_DONE))
            rc = hs_step(s);
        if (rc < 0)
            return rc;
    } else if (res == 0) {
        /* Records still in rbio come before the end. */
        if (t->st & TLS_HS_DONE) {
            ssize_t n = decrypt(s);
            if (n != -EAGAIN)
                return n;
        }
        return raw_eof(s);
    } else if (res != -ECANCELED && res != -EAGAIN && res != -EINTR) {
        return res;
    }
    if (!(t->st & TLS_HS_DONE))
        return res > 0 ? -EINTR : res;
    ssize_t n = decrypt(s);
    if (n == -EAGAIN)
        return res > 0 ? -EINTR : res;   /* nothing yet: read again */
    return n;
}

/* ------------------------------------------------------------ writing */

/* Encrypts n plaintext bytes and queues the ciphertext (queue_only: no
 * write now).  Returns 0 or -errno (reported, unless queue_only). */
static int encrypt_out(evl_stream *s, const char *p, size_t n, int queue_only)
{
    struct evl__tls *t = s->tls;
    while (n > 0) {
        size_t piece = n > WRITE_PIECE ? WRITE_PIECE : n;
        size_t done = 0;
        ERR_clear_error();
        if (SSL_write_ex(t->ssl, p, piece, &done) != 1 || done != piece) {
            int rc = tls_failed(s, "write");
            if (!queue_only)
                evl__stream_fail(s, rc);
            return rc;
        }
        p += piece;
        n -= piece;
        BUF_MEM *bm;
        BIO_get_mem_ptr(t->wbio, &bm);
        int rc;
        if (queue_only) {
            evl__stream_forget_parents_queue(s);
            evl_buf *b = s->px != NULL && evl__stream_px_write_busy(s) ? &s->px->wnext
                                                                       : &s->wbuf;
            rc = evl_buf_append(b, bm->data, bm->length);
        } else {
            /* wmax was checked on the plaintext (evl__tls_write). */
            struct iovec iov = { bm->data, bm->length };
            size_t wmax = s->wmax;
            s->wmax = 0;
            struct evl__guard g;
            guard_enter(s, &g);
            rc = evl__stream_queue_raw(s, &iov, 1, iov.iov_len);
            if (!guard_leave(s, &g))
                return rc;
            s->wmax = wmax;
        }
        (void)BIO_reset(t->wbio);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int evl__tls_write(evl_stream *s, const struct iovec *iov, int iovcnt, size_t total,
                   int queue_only)
{
    struct evl__tls *t = s->tls;
    size_t queued = evl_stream_queued(s);   /* pend included */
    if (s->wmax != 0 && (queued > s->wmax || total > s->wmax - queued))
        return -ENOBUFS;
    if (t->st & (TLS_SHUT_SENT | TLS_SHUT_WAIT))
        return -ESHUTDOWN;
    /* Before on_handshake the bytes wait, in order. */
    int held = !(t->st & TLS_REPORTED);
    int rc;
    if (held) {
        rc = evl__stream_append_iov(&t->pend, iov, iovcnt, 0, total);
    } else if (iovcnt == 1) {
        rc = encrypt_out(s, iov[0].iov_base, iov[0].iov_len, queue_only);
    } else {
        /* Pieces are gathered so that small ones share a record. */
        evl_buf tmp;
        evl_buf_init(&tmp);
        rc = evl__stream_append_iov(&tmp, iov, iovcnt, 0, total);
        if (rc == 0)
            rc = encrypt_out(s, evl_buf_data(&tmp), total, queue_only);
        evl_buf_free(&tmp);
    }
    /* Bytes held for the handshake are queued (evl_stream_queued counts
     * them), and so is evl_stream_queue's ciphertext (the :evloop
     * layer's print), which bypasses queue_raw: write_timeout's clock
     * starts for them here, or a handshake that never finishes, or a
     * peer that stopped reading, would keep them for ever.  Neither path
     * calls back, so s is still ours; a write that went through
     * queue_raw (which may have freed s) started the clock there. */
    if (rc == 0 && (held || queue_only))
        evl__stream_deadline_queue_started(s, queued == 0);
    return rc;
}

/* A close now waits for the handshake, which reads even if reading was
 * stopped (want_input): the watcher's interest, or a proactor's read, to
 * match.  Returns 0 or -errno (not reported). */
static int close_wait_read(evl_stream *s)
{
    if (s->loop == NULL)
        return 0;
    int rc = evl__stream_update_interest(s);
    if (rc == 0 && s->px != NULL && !(s->px->kind & EVL__PX_FILE))
        rc = evl__stream_px_kick(s);   /* a socket or pipe: no callback */
    return rc;
}

int evl__tls_close(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    /* After the peer's close_notify, or its end of the connection, our
     * answer is optional, and would meet EPIPE on a socket it closed. */
    if (s->err != 0 || (t->st & (TLS_SHUT_SENT | TLS_PEER_CLOSED)) ||
        (s->state & EVL__STREAM_EOF))
        return 0;
    if (t->st & TLS_CLOSE_WAIT)
        return 1;
    if (!(t->st & TLS_REPORTED)) {
        /* Plaintext waits for the handshake: so does the close.  Without
         * a loop nobody would drive it, and it is dropped. */
        if (evl_buf_len(&t->pend) > 0 && s->loop != NULL) {
            t->st |= TLS_CLOSE_WAIT;
            int rc = close_wait_read(s);
            return rc < 0 ? rc : 1;
        }
        return 0;
    }
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);   /* queues close_notify; we do not wait for the peer's */
    t->st |= TLS_SHUT_SENT;
    /* A failure here shows again, and is reported, in the drain. */
    (void)flush_out(s);
    return 0;
}

int evl__tls_joined(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    if (t->st & TLS_REPORTED)
        return 0;
    /* Started without a loop: the timeout counts from here, and the kick
     * takes over what a caller-driven start left (bytes in rbio, a
     * handshake done but not reported). */
    int rc = kick(s);
    if (rc == 0 && t->timeout_ns > 0 && !(t->st & TLS_HS_DONE))
        rc = deadline_start(s, t->timeout_ns);
    return rc;
}

/* The peer's close_notify is answered with ours when the fd closes, as
 * RFC 8446 6.1 asks, and OpenSSL keeps the session for resumption only
 * when we sent one.  Not from evl__tls_close: bytes still queued go
 * first, and a write error then (the peer closed its end after its
 * close_notify) would be news to nobody.  So here, once the queue went
 * out whole, as one send that may fail quietly: a peer half-closed
 * after its close_notify reads a clean end, one that hung up does not
 * care.  Not after an error, or with bytes left behind (an abort that
 * dropped some, EVL__STREAM_DROPPED): a
 * close_notify would claim a complete stream. */
void evl__tls_answer_close(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    if ((t->st & (TLS_PEER_CLOSED | TLS_SHUT_SENT)) != TLS_PEER_CLOSED || s->err != 0 ||
        s->fd < 0 || evl_stream_queued(s) > 0 || (s->state & EVL__STREAM_DROPPED))
        return;
    ERR_clear_error();
    if (SSL_shutdown(t->ssl) >= 0) {
        BUF_MEM *bm;
        BIO_get_mem_ptr(t->wbio, &bm);
        if (bm != NULL && bm->length > 0)
            (void)send(s->fd, bm->data, bm->length, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    t->st |= TLS_SHUT_SENT;
    (void)BIO_reset(t->wbio);
    ERR_clear_error();
}

size_t evl__tls_pending(const evl_stream *s)
{
    return evl_buf_len(&s->tls->pend);
}

int evl__tls_busy(const evl_stream *s)
{
    const struct evl__tls *t = s->tls;
    if (t->timer_loop == NULL)
        return 0;
    return evl_timer_is_active(&t->kick) || evl_timer_is_active(&t->deadline);
}

void evl__tls_free(evl_stream *s)
{
    struct evl__tls *t = s->tls;
    s->tls = NULL;
    if (t->timer_loop != NULL) {
        evl_timer_stop(&t->kick);
        evl_timer_stop(&t->deadline);
    }
    SSL_free(t->ssl);   /* and the BIOs */
    ctx_unref(t->ctx);
    evl_buf_free(&t->pend);
    free(t->host);
    free(t);
}

/* ------------------------------------------------------------ public API */

static int is_ip(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* The client's half of start_tls: SNI, the name check, a session. */
static int client_setup(struct evl__tls *t, const char *host)
{
    if (host == NULL)
        return 0;
    t->host = strdup(host);
    if (t->host == NULL)
        return -ENOMEM;
    int ip = is_ip(host);
    if (!ip && SSL_set_tlsext_host_name(t->ssl, host) != 1)
        return -EINVAL;
    if (t->ctx->verify != EVL_TLS_VERIFY_NONE) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host)
                    : SSL_set1_host(t->ssl, host);
        if (ok != 1)
            return -EINVAL;
    }
    struct sess *e = sess_find(t->ctx, host, NULL);
    if (e != NULL)
        (void)SSL_set_session(t->ssl, e->sess);
    return 0;
}

int evl_stream_start_tls(evl_stream *s, evl_tls_ctx *ctx, const char *host,
                         evl_stream_cb on_handshake, uint64_t handshake_timeout_ns)
{
    if (s == NULL || ctx == NULL)
        return -EINVAL;
    if (s->tls != NULL)
        return -EALREADY;
    if (s->err != 0)
        return s->err;
    if (s->fd < 0 || (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)))
        return -ESHUTDOWN;
    struct evl__tls *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->s = s;
    t->ctx = ctx;
    ctx->refs++;
    t->on_handshake = on_handshake;
    t->timeout_ns = handshake_timeout_ns;
    evl_buf_init(&t->pend);
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    int rc = 0;
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        rc = -ENOMEM;
    } else {
        SSL_set_bio(t->ssl, t->rbio, t->wbio);   /* the SSL owns them */
        SSL_set_app_data(t->ssl, t);
        if (ctx->server) {
            SSL_set_accept_state(t->ssl);
        } else {
            SSL_set_connect_state(t->ssl);
            rc = client_setup(t, host);
        }
    }
    /* Bytes read and not consumed are the peer's first ciphertext. */
    size_t len = evl_buf_len(&s->rbuf);
    if (rc == 0 && len > 0)
        rc = bio_in(t, evl_buf_data(&s->rbuf), len);
    s->tls = t;
    if (rc == 0 && s->loop != NULL) {
        rc = kick(s);
        if (rc == 0 && handshake_timeout_ns > 0)
            rc = deadline_start(s, handshake_timeout_ns);
    }
    if (rc < 0) {
        evl__tls_free(s);
        ERR_clear_error();
        return rc;
    }
    evl_buf_consume(&s->rbuf, len);
    if (s->loop == NULL) {
        rc = hs_step(s);   /* a client's first flight */
        if (rc < 0)
            evl__stream_fail(s, rc);
    }
    return rc;
}

int evl_stream_tls_handshake(evl_stream *s)
{
    if (s == NULL || s->tls == NULL)
        return -EINVAL;
    if (s->err != 0)
        return s->err;
    struct evl__tls *t = s->tls;
    if (!(t->st & TLS_HS_DONE) && s->loop == NULL) {
        ssize_t n = tls_read(s, 0, 1);
        if (n < 0 && n != -EAGAIN && n != -EMSGSIZE && n != -ENOMEM) {
            evl__stream_fail(s, (int)n);
            return (int)n;
        }
    }
    if (!(t->st & TLS_HS_DONE))
        return -EAGAIN;
    if (s->loop == NULL)
        evl__tls_report(s);
    return 1;
}

int evl_stream_tls_on_handshake(evl_stream *s, evl_stream_cb on_handshake)
{
    if (s == NULL || s->tls == NULL)
        return -EINVAL;
    s->tls->on_handshake = on_handshake;
    return 0;
}

int evl_stream_tls_shutdown(evl_stream *s)
{
    if (s == NULL || s->tls == NULL)
        return -EINVAL;
    struct evl__tls *t = s->tls;
    if (s->err != 0)
        return s->err;
    if (s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED))
        return -ESHUTDOWN;
    if (!(t->st & TLS_REPORTED)) {
        /* Plaintext written so far waits for the handshake; close_notify
         * follows it once the handshake is reported. */
        t->st |= TLS_SHUT_WAIT;
        return close_wait_read(s);
    }
    return evl__tls_close(s) < 0 ? -EIO : 0;
}

int evl_stream_tls_established(const evl_stream *s)
{
    return s != NULL && s->tls != NULL && (s->tls->st & TLS_HS_DONE) ? 1 : 0;
}

int evl_stream_tls_info(const evl_stream *s, struct evl_tls_info *info)
{
    if (s == NULL || s->tls == NULL || info == NULL)
        return -EINVAL;
    struct evl__tls *t = s->tls;
    if (!(t->st & TLS_HS_DONE))
        return -EAGAIN;
    memset(info, 0, sizeof(*info));
    info->version = SSL_get_version(t->ssl);
    info->cipher = SSL_get_cipher_name(t->ssl);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
    if (alpn_len > 0) {
        memcpy(t->alpn, alpn, alpn_len);   /* < 256: ALPN names are length-prefixed by a byte */
        t->alpn[alpn_len] = '\0';
        info->alpn = t->alpn;
    }
    info->servername = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    if (peer != NULL) {
        X509_NAME_oneline(X509_get_subject_name(peer), info->peer_subject,
                          (int)sizeof(info->peer_subject));
        X509_free(peer);
        info->verified = SSL_get_verify_result(t->ssl) == X509_V_OK &&
                         SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE;
    }
    info->resumed = SSL_session_reused(t->ssl);
    return 0;
}

const char *evl_stream_tls_error(const evl_stream *s)
{
    if (s == NULL || s->tls == NULL || s->tls->err[0] == '\0')
        return NULL;
    return s->tls->err;
}
