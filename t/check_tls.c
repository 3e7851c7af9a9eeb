/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_tls.c - TLS inside evl_stream (loop/tls.c).
 *
 * Certificates are made at start-up with `openssl req`/`openssl x509`
 * into a mkdtemp directory, removed at exit: a CA, a server certificate
 * for localhost and 127.0.0.1, a second one for other.test (SNI), an
 * expired one, a self-signed one, a leaf signed by an intermediate that
 * the server does not send (truncated chain), and a client certificate.
 *
 * Peers: our own streams over a socketpair, on every engine
 * (tcase_add_loop_test: 0 reactor, 1 io_uring, 2 fake; io_uring skipped
 * where the kernel refuses it, EVL_TEST_BACKEND=fake runs reactor and
 * fake only, as under valgrind), and `openssl s_server` and
 * `openssl s_client` as child processes on loopback, port 0.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-internal.h"   /* loop->now_ns */
#include "evl-test.h"
#include "evloop.h"

#define MS 1000000ULL

static char dir[64];            /* the certificates */
static int uring_ok = 1;
static int only_fake;           /* EVL_TEST_BACKEND=fake */

static const char *path(const char *name)
{
    static char buf[8][256];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* ------------------------------------------------------------ certificates */

static const char make_certs[] =
    "set -e\n"
    "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
    "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 30 -subj /CN=evl-test-ca\n"
    "leaf() { # name cn san days ca\n"
    "  openssl req $ec -keyout $1.key -out $1.csr -subj /CN=$2\n"
    "  printf 'subjectAltName=%s\\n' \"$3\" > $1.ext\n"
    "  openssl x509 -req -in $1.csr -CA $5.pem -CAkey $5.key -CAcreateserial -days $4 "
    "-extfile $1.ext -out $1.pem\n"
    "}\n"
    "leaf server localhost DNS:localhost,IP:127.0.0.1 30 ca\n"
    "leaf other other.test DNS:other.test 30 ca\n"
    "leaf expired localhost DNS:localhost,IP:127.0.0.1 -1 ca\n"
    "leaf client evl-client DNS:client.test 30 ca\n"
    "openssl req -x509 $ec -keyout self.key -out self.pem -days 30 -subj /CN=localhost "
    "-addext subjectAltName=DNS:localhost\n"
    "openssl req $ec -keyout inter.key -out inter.csr -subj /CN=evl-test-inter\n"
    "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > inter.ext\n"
    "openssl x509 -req -in inter.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 "
    "-extfile inter.ext -out inter.pem\n"
    "leaf chained localhost DNS:localhost 30 inter\n";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void certs_remove(void)
{
    if (dir[0] != '\0')
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static int certs_make(void)
{
    snprintf(dir, sizeof(dir), "/tmp/evl-tls-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    char script[128];
    snprintf(script, sizeof(script), "%s/make.sh", dir);
    FILE *f = fopen(script, "w");
    if (f == NULL)
        return -1;
    fputs(make_certs, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cd %s && sh ./make.sh >/dev/null 2>&1", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ loops and ends */

static int engine_skip(int e)
{
    return (e == 1 && (!uring_ok || only_fake));
}

static evl_loop *new_loop(int e)
{
    evl_loop *loop;
    if (e == 0)
        ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    else
        ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR,
                                  e == 1 ? EVL_BACKEND_URING : EVL_BACKEND_FAKE));
    return loop;
}

static void loop_done(evl_loop *loop)
{
    for (int i = 0; evl_loop_pending_ops(loop) > 0; i++) {
        ck_assert_int_lt(i, 1000);
        ck_assert_int_ge(evl_loop_run_once(loop, 5000 * MS), 0);
    }
    evl_loop_drain(loop);
    evl_loop_free(loop);
}

struct end {
    evl_stream s;
    char *got;
    size_t got_len, got_cap;
    size_t want;                 /* close once this much arrived (0: never) */
    int echo;                    /* write back what arrives */
    int hs, eof, closed, err;
    char err_text[256];
    char version[32], alpn[64], subject[256], servername[64];
    int resumed, verified;
    const char *hello;           /* written at start (before the handshake) */
    size_t total;                /* bytes received (big transfers: not kept) */
    int keep;                    /* keep the bytes in got */
    int switched;                /* STARTTLS done */
};

static void on_hs(evl_stream *s)
{
    struct end *e = s->data;
    struct evl_tls_info info;
    ck_assert_rc(evl_stream_tls_info(s, &info));
    e->hs++;
    snprintf(e->version, sizeof(e->version), "%s", info.version);
    snprintf(e->alpn, sizeof(e->alpn), "%s", info.alpn != NULL ? info.alpn : "");
    snprintf(e->subject, sizeof(e->subject), "%s", info.peer_subject);
    snprintf(e->servername, sizeof(e->servername), "%s",
             info.servername != NULL ? info.servername : "");
    e->resumed = info.resumed;
    e->verified = info.verified;
}

static size_t on_read(evl_stream *s, const char *p, size_t n)
{
    struct end *e = s->data;
    ck_assert_int_eq(e->hs, 1);   /* on_handshake came first */
    if (e->keep) {
        if (e->got_len + n > e->got_cap) {
            e->got_cap = (e->got_len + n) * 2;
            e->got = realloc(e->got, e->got_cap);
            ck_assert_ptr_nonnull(e->got);
        }
        memcpy(e->got + e->got_len, p, n);
        e->got_len += n;
    }
    e->total += n;
    if (e->echo)
        ck_assert_int_ge(evl_stream_write(s, p, n), 0);
    if (e->want != 0 && e->total >= e->want)
        evl_stream_close(s);
    return n;
}

static void on_eof(evl_stream *s)
{
    struct end *e = s->data;
    e->eof = 1;
    evl_stream_close(s);
}

static void on_error(evl_stream *s, int err)
{
    struct end *e = s->data;
    if (e->err == 0) {
        e->err = err;
        const char *t = evl_stream_tls_error(s);
        snprintf(e->err_text, sizeof(e->err_text), "%s", t != NULL ? t : "");
    }
    evl_stream_close(s);
}

static void on_close(evl_stream *s)
{
    struct end *e = s->data;
    e->closed = 1;
}

static const struct evl_stream_callbacks cbs = {
    .on_read = on_read, .on_eof = on_eof, .on_error = on_error, .on_close = on_close,
};

static void end_init(struct end *e, evl_loop *loop, int fd)
{
    memset(e, 0, sizeof(*e));
    e->keep = 1;
    e->s.data = e;
    ck_assert_rc(evl_stream_init(&e->s, loop, fd, 0, &cbs));
}

static void end_free(struct end *e)
{
    evl_stream_free(&e->s);
    free(e->got);
}

/* Runs until *a and *b are set (b may be NULL). */
static void run_until(evl_loop *loop, const int *a, const int *b)
{
    for (int i = 0; !(*a && (b == NULL || *b)); i++) {
        ck_assert_int_lt(i, 100000);
        ck_assert_int_ge(evl_loop_run_once(loop, 10000 * MS), 0);
    }
}

static evl_tls_ctx *server_ctx(const char *cert, const char *alpn, int verify)
{
    struct evl_tls_options o = { .server = 1, .cert_file = path(cert), .alpn = alpn,
                                 .verify = verify };
    char key[64];
    snprintf(key, sizeof(key), "%.*s.key", (int)(strlen(cert) - 4), cert);
    o.key_file = path(key);
    if (verify != 0)
        o.ca_file = path("ca.pem");
    evl_tls_ctx *ctx;
    int rc = evl_tls_ctx_new(&ctx, &o);
    ck_assert_msg(rc == 0, "server ctx: %d %s", rc, ctx ? evl_tls_ctx_error(ctx) : "");
    return ctx;
}

static evl_tls_ctx *client_ctx(const char *alpn, const char *cert)
{
    struct evl_tls_options o = { .ca_file = path("ca.pem"), .alpn = alpn };
    if (cert != NULL) {
        o.cert_file = path(cert);
        char key[64];
        snprintf(key, sizeof(key), "%.*s.key", (int)(strlen(cert) - 4), cert);
        o.key_file = path(key);
    }
    evl_tls_ctx *ctx;
    ck_assert_rc(evl_tls_ctx_new(&ctx, &o));
    return ctx;
}

/* A client and a server of ours over a socketpair. */
struct pair {
    evl_loop *loop;
    struct end c, sv;
    evl_tls_ctx *cctx, *sctx;
};

static void pair_start(struct pair *p, int engine, const char *host)
{
    int fds[2];
    make_socketpair(fds);
    p->loop = new_loop(engine);
    end_init(&p->c, p->loop, fds[0]);
    end_init(&p->sv, p->loop, fds[1]);
    ck_assert_rc(evl_stream_start_tls(&p->sv.s, p->sctx, NULL, on_hs, 60000 * MS));
    ck_assert_rc(evl_stream_start_tls(&p->c.s, p->cctx, host, on_hs, 60000 * MS));
}

static void pair_done(struct pair *p)
{
    end_free(&p->c);
    end_free(&p->sv);
    evl_tls_ctx_free(p->cctx);
    evl_tls_ctx_free(p->sctx);
    loop_done(p->loop);
}

/* ------------------------------------------------------------ our own peers */

START_TEST(test_echo_alpn_close_notify)
{
    if (engine_skip(_i))
        return;
    struct pair p = { 0 };
    p.sctx = server_ctx("server.pem", "h2,http/1.1", 0);
    p.cctx = client_ctx("foo,http/1.1", NULL);
    pair_start(&p, _i, "localhost");
    p.sv.echo = 1;
    p.c.want = 11;
    /* Written before the handshake: held, then encrypted after it. */
    ck_assert_rc(evl_stream_write(&p.c.s, "hello", 5));
    ck_assert_rc(evl_stream_write(&p.c.s, " world", 6));
    run_until(p.loop, &p.c.closed, &p.sv.closed);
    ck_assert_int_eq(p.c.err, 0);
    ck_assert_int_eq(p.sv.err, 0);
    ck_assert_int_eq(p.c.got_len, 11);
    ck_assert(memcmp(p.c.got, "hello world", 11) == 0);
    ck_assert_int_eq(p.c.hs, 1);
    ck_assert_int_eq(p.sv.hs, 1);
    ck_assert_str_eq(p.c.version, "TLSv1.3");
    ck_assert_str_eq(p.c.alpn, "http/1.1");
    ck_assert_str_eq(p.sv.alpn, "http/1.1");
    ck_assert_ptr_nonnull(strstr(p.c.subject, "CN=localhost"));
    ck_assert_int_eq(p.c.verified, 1);
    ck_assert_str_eq(p.sv.servername, "localhost");
    /* The client's close sent close_notify: a clean EOF at the server. */
    ck_assert_int_eq(p.sv.eof, 1);
    pair_done(&p);
}
END_TEST

START_TEST(test_records_split_into_single_bytes)
{
    if (engine_skip(_i))
        return;
    struct pair p = { 0 };
    p.sctx = server_ctx("server.pem", NULL, 0);
    p.cctx = client_ctx(NULL, NULL);
    pair_start(&p, _i, "localhost");
    ck_assert_rc(evl_stream_set_read_limits(&p.c.s, 0, 1));
    ck_assert_rc(evl_stream_set_read_limits(&p.sv.s, 0, 1));
    p.sv.echo = 1;
    p.c.want = 3000;
    char msg[3000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('a' + i % 26);
    ck_assert_rc(evl_stream_write(&p.c.s, msg, sizeof(msg)));
    run_until(p.loop, &p.c.closed, &p.sv.closed);
    ck_assert_int_eq(p.c.err, 0);
    ck_assert_int_eq(p.c.got_len, sizeof(msg));
    ck_assert(memcmp(p.c.got, msg, sizeof(msg)) == 0);
    pair_done(&p);
}
END_TEST

/* Backpressure: the server pauses reading each time it took 256 KiB,
 * and resumes from a timer; the client writes behind high water. */
struct bulk {
    struct end *sv;
    evl_timer t;
    size_t next_pause;
    unsigned char expect;
    int bad;
};
static struct bulk bulk;

static void bulk_resume(evl_timer *t)
{
    (void)t;
    if (bulk.sv->total < bulk.sv->want)
        ck_assert_rc(evl_stream_read_start(&bulk.sv->s));
}

static size_t bulk_read(evl_stream *s, const char *p, size_t n)
{
    struct end *e = s->data;
    for (size_t i = 0; i < n; i++, bulk.expect++)
        if ((unsigned char)p[i] != bulk.expect)
            bulk.bad = 1;
    e->total += n;
    if (e->total >= bulk.next_pause) {
        bulk.next_pause += 256 * 1024;
        evl_stream_read_stop(s);
        ck_assert_rc(evl_timer_start(&bulk.t, bulk_resume, 0, 0));
    }
    if (e->total >= e->want)
        evl_stream_close(s);
    return n;
}

START_TEST(test_bulk_byte_exact_under_backpressure)
{
    if (engine_skip(_i))
        return;
    struct pair p = { 0 };
    p.sctx = server_ctx("server.pem", NULL, 0);
    p.cctx = client_ctx(NULL, NULL);
    pair_start(&p, _i, "localhost");
    const size_t total = (size_t)8 << 20;
    memset(&bulk, 0, sizeof(bulk));
    bulk.sv = &p.sv;
    bulk.next_pause = 256 * 1024;
    ck_assert_rc(evl_timer_init(p.loop, &bulk.t));
    p.sv.s.cb.on_read = bulk_read;
    p.sv.want = total;
    ck_assert_rc(evl_stream_set_watermarks(&p.c.s, 64 * 1024, 1024 * 1024, 0));
    unsigned char buf[65536];
    unsigned char v = 0;
    for (size_t off = 0; off < total; off += sizeof(buf)) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = v++;
        ck_assert_rc(evl_stream_write(&p.c.s, buf, sizeof(buf)));
        /* Write-behind: let the queue drain below high water. */
        while (evl_stream_queued(&p.c.s) > 1024 * 1024)
            ck_assert_int_ge(evl_loop_run_once(p.loop, 10000 * MS), 0);
    }
    ck_assert_int_ge(evl_stream_close(&p.c.s), 0);
    run_until(p.loop, &p.sv.closed, &p.c.closed);
    ck_assert_int_eq(p.sv.err, 0);
    ck_assert_int_eq(p.sv.total, total);
    ck_assert_int_eq(bulk.bad, 0);
    evl_timer_stop(&bulk.t);
    pair_done(&p);
}
END_TEST

static evl_tls_ctx *sni_other;
static evl_tls_ctx *pick_ctx(const char *name, void *arg)
{
    (void)arg;
    return strcmp(name, "other.test") == 0 ? sni_other : NULL;
}

START_TEST(test_sni_selects_the_context)
{
    struct pair p = { 0 };
    p.sctx = server_ctx("server.pem", NULL, 0);
    sni_other = server_ctx("other.pem", NULL, 0);
    ck_assert_rc(evl_tls_ctx_set_sni_cb(p.sctx, pick_ctx, NULL));
    p.cctx = client_ctx(NULL, NULL);
    pair_start(&p, 0, "other.test");
    p.sv.echo = 1;
    p.c.want = 2;
    ck_assert_rc(evl_stream_write(&p.c.s, "hi", 2));
    run_until(p.loop, &p.c.closed, &p.sv.closed);
    ck_assert_int_eq(p.c.err, 0);
    ck_assert_ptr_nonnull(strstr(p.c.subject, "CN=other.test"));
    ck_assert_str_eq(p.sv.servername, "other.test");
    pair_done(&p);
    evl_tls_ctx_free(sni_other);
}
END_TEST

START_TEST(test_client_certificate_and_resumption)
{
    evl_tls_ctx *sctx = server_ctx("server.pem", NULL, EVL_TLS_VERIFY_REQUIRE);
    evl_tls_ctx *cctx = client_ctx(NULL, "client.pem");
    for (int round = 0; round < 2; round++) {
        struct pair p = { 0 };
        p.sctx = sctx;
        p.cctx = cctx;
        pair_start(&p, 0, "localhost");
        p.sv.echo = 1;
        p.c.want = 4;
        ck_assert_rc(evl_stream_write(&p.c.s, "ping", 4));
        run_until(p.loop, &p.c.closed, &p.sv.closed);
        ck_assert_int_eq(p.c.err, 0);
        ck_assert_int_eq(p.sv.err, 0);
        ck_assert_ptr_nonnull(strstr(p.sv.subject, "CN=evl-client"));
        /* The second connection resumes the first's session (a ticket). */
        ck_assert_int_eq(p.c.resumed, round);
        end_free(&p.c);
        end_free(&p.sv);
        loop_done(p.loop);
    }
    /* Without a client certificate the server refuses. */
    struct pair p = { 0 };
    p.sctx = sctx;
    p.cctx = client_ctx(NULL, NULL);
    pair_start(&p, 0, "localhost");
    run_until(p.loop, &p.sv.closed, &p.c.closed);
    ck_assert_int_eq(p.sv.err, -EVL_ETLS);
    ck_assert_ptr_nonnull(strstr(p.sv.err_text, "certificate"));
    ck_assert_int_eq(p.c.err, -EVL_ETLS);
    pair_done(&p);
    evl_tls_ctx_free(cctx);
}
END_TEST

/* ------------------------------------------------------------ bad input */

/* The client fails verification against a server with cert; the text
 * holds expect. */
static void expect_verify_failure(const char *cert, const char *host, const char *expect)
{
    struct pair p = { 0 };
    p.sctx = server_ctx(cert, NULL, 0);
    p.cctx = client_ctx(NULL, NULL);
    pair_start(&p, 0, host);
    ck_assert_rc(evl_stream_write(&p.c.s, "secret", 6));
    run_until(p.loop, &p.c.closed, &p.sv.closed);
    ck_assert_int_eq(p.c.err, -EVL_ETLS);
    ck_assert_msg(strstr(p.c.err_text, expect) != NULL, "'%s' lacks '%s'", p.c.err_text,
                  expect);
    ck_assert_int_eq(p.c.hs, 0);
    ck_assert_int_eq(p.sv.got_len, 0);   /* nothing went out in the clear, or at all */
    /* The server heard the client's alert. */
    ck_assert_int_eq(p.sv.err, -EVL_ETLS);
    pair_done(&p);
}

START_TEST(test_expired_certificate)
{
    expect_verify_failure("expired.pem", "localhost", "certificate has expired");
}
END_TEST

START_TEST(test_self_signed_certificate)
{
    expect_verify_failure("self.pem", "localhost", "self-signed certificate");
}
END_TEST

START_TEST(test_wrong_host)
{
    expect_verify_failure("server.pem", "wrong.example", "hostname mismatch");
}
END_TEST

START_TEST(test_truncated_chain)
{
    expect_verify_failure("chained.pem", "localhost", "unable to get local issuer certificate");
}
END_TEST

START_TEST(test_plain_text_to_a_tls_port)
{
    if (engine_skip(_i))
        return;
    int fds[2];
    make_socketpair(fds);
    evl_loop *loop = new_loop(_i);
    struct end sv;
    end_init(&sv, loop, fds[1]);
    evl_tls_ctx *ctx = server_ctx("server.pem", NULL, 0);
    ck_assert_rc(evl_stream_start_tls(&sv.s, ctx, NULL, on_hs, 0));
    const char req[] = "GET / HTTP/1.0\r\n\r\n";
    ck_assert_int_eq(write(fds[0], req, sizeof(req) - 1), sizeof(req) - 1);
    run_until(loop, &sv.closed, NULL);
    ck_assert_int_eq(sv.err, -EVL_ETLS);
    ck_assert_msg(strstr(sv.err_text, "http request") != NULL ||
                      strstr(sv.err_text, "wrong version number") != NULL,
                  "%s", sv.err_text);
    close(fds[0]);
    end_free(&sv);
    evl_tls_ctx_free(ctx);
    loop_done(loop);
}
END_TEST

START_TEST(test_handshake_that_never_completes_times_out)
{
    if (engine_skip(_i))
        return;
    int fds[2];
    make_socketpair(fds);
    evl_loop *loop = new_loop(_i);
    struct end c;
    end_init(&c, loop, fds[0]);
    evl_tls_ctx *ctx = client_ctx(NULL, NULL);
    ck_assert_rc(evl_stream_start_tls(&c.s, ctx, "localhost", on_hs, 50 * MS));
    run_until(loop, &c.closed, NULL);   /* fds[1] never answers */
    ck_assert_int_eq(c.err, -ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(c.err_text, "timed out"));
    close(fds[1]);
    end_free(&c);
    evl_tls_ctx_free(ctx);
    loop_done(loop);
}
END_TEST

/* handshake_timeout counts from evl_stream_start_tls, not from the time
 * the loop cached when it last ran: a start after a slow stretch outside
 * the loop (or in a callback) timed out at once, before the peer could
 * answer.  The loop's cached time is set 30 s back, as if it had last
 * looked at the clock then; the timeout (20 s) leaves valgrind room for
 * the handshake. */
START_TEST(test_handshake_timeout_counts_from_the_start)
{
    if (engine_skip(_i))
        return;
    struct pair p = { .sctx = server_ctx("server.pem", NULL, 0),
                      .cctx = client_ctx(NULL, NULL) };
    int fds[2];
    make_socketpair(fds);
    p.loop = new_loop(_i);
    ck_assert_int_ge(evl_loop_run_once(p.loop, 0), 0);
    ck_assert_msg(p.loop->now_ns > 30000 * MS, "the machine has been up for under 30 s");
    p.loop->now_ns -= 30000 * MS;
    end_init(&p.c, p.loop, fds[0]);
    end_init(&p.sv, p.loop, fds[1]);
    ck_assert_rc(evl_stream_start_tls(&p.sv.s, p.sctx, NULL, on_hs, 20000 * MS));
    ck_assert_rc(evl_stream_start_tls(&p.c.s, p.cctx, "localhost", on_hs, 20000 * MS));
    for (int i = 0; !(p.c.hs && p.sv.hs) && p.c.err == 0 && p.sv.err == 0; i++) {
        ck_assert_int_lt(i, 100000);
        ck_assert_int_ge(evl_loop_run_once(p.loop, 10000 * MS), 0);
    }
    ck_assert_msg(p.c.err == 0 && p.sv.err == 0, "client %d (%s), server %d (%s)", p.c.err,
                  p.c.err_text, p.sv.err, p.sv.err_text);
    pair_done(&p);
}
END_TEST

START_TEST(test_peer_closes_during_handshake)
{
    int fds[2];
    make_socketpair(fds);
    evl_loop *loop = new_loop(0);
    struct end c;
    end_init(&c, loop, fds[0]);
    evl_tls_ctx *ctx = client_ctx(NULL, NULL);
    ck_assert_rc(evl_stream_start_tls(&c.s, ctx, "localhost", on_hs, 0));
    /* The peer reads the ClientHello, then hangs up. */
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    char hello[4096];
    ck_assert_int_gt(recv(fds[1], hello, sizeof(hello), 0), 0);
    close(fds[1]);
    run_until(loop, &c.closed, NULL);
    ck_assert_int_eq(c.err, -EVL_ETLS);
    ck_assert_ptr_nonnull(strstr(c.err_text, "closed"));
    end_free(&c);
    evl_tls_ctx_free(ctx);
    loop_done(loop);
}
END_TEST

/* The peer drops mid-record: a relay between client and server forwards
 * half of the client's first application record, then closes. */
struct relay {
    evl_watcher w[2];
    int fd[2];                  /* [0] the client's peer, [1] the server's peer */
    size_t forwarded;           /* client to server */
    size_t cut_at;              /* 0: no cut */
    int cut;
};
static struct relay relay;

static void relay_io(evl_watcher *w, unsigned ev)
{
    (void)ev;
    int from = w == &relay.w[0] ? 0 : 1;
    char buf[65536];
    ssize_t n = read(relay.fd[from], buf, sizeof(buf));
    if (n <= 0) {
        evl_watcher_stop(w);
        return;
    }
    if (from == 0 && relay.cut_at != 0 && relay.forwarded + (size_t)n > relay.cut_at) {
        n = (ssize_t)(relay.cut_at - relay.forwarded);
        if (n > 0)
            ck_assert_int_eq(write(relay.fd[1], buf, (size_t)n), n);
        evl_watcher_stop(&relay.w[0]);
        evl_watcher_stop(&relay.w[1]);
        close(relay.fd[1]);
        relay.cut = 1;
        return;
    }
    ck_assert_int_eq(write(relay.fd[1 - from], buf, (size_t)n), n);
    if (from == 0)
        relay.forwarded += (size_t)n;
}

START_TEST(test_peer_drops_mid_record)
{
    int a[2], b[2];
    make_socketpair(a);
    make_socketpair(b);
    evl_loop *loop = new_loop(0);
    memset(&relay, 0, sizeof(relay));
    relay.fd[0] = a[1];
    relay.fd[1] = b[0];
    for (int i = 0; i < 2; i++) {
        evl_watcher_init(&relay.w[i], relay_io, NULL, NULL);
        ck_assert_rc(evl_watcher_start(loop, &relay.w[i], relay.fd[i], EVL_READ));
    }
    struct end c, sv;
    end_init(&c, loop, a[0]);
    end_init(&sv, loop, b[1]);
    evl_tls_ctx *sctx = server_ctx("server.pem", NULL, 0);
    evl_tls_ctx *cctx = client_ctx(NULL, NULL);
    ck_assert_rc(evl_stream_start_tls(&sv.s, sctx, NULL, on_hs, 0));
    ck_assert_rc(evl_stream_start_tls(&c.s, cctx, "localhost", on_hs, 0));
    run_until(loop, &sv.hs, &c.hs);
    /* Everything so far went through; the next record is cut half way. */
    relay.cut_at = relay.forwarded + 500;
    static char data[1000];
    ck_assert_rc(evl_stream_write(&c.s, data, sizeof(data)));
    run_until(loop, &sv.closed, NULL);
    ck_assert_int_eq(relay.cut, 1);
    ck_assert_int_eq(sv.err, -EVL_ETLS);
    ck_assert_ptr_nonnull(strstr(sv.err_text, "truncated record"));
    ck_assert_int_eq(sv.got_len, 0);
    evl_stream_close(&c.s);
    close(a[1]);
    end_free(&c);
    end_free(&sv);
    evl_tls_ctx_free(sctx);
    evl_tls_ctx_free(cctx);
    loop_done(loop);
}
END_TEST

/* ------------------------------------------------------------ openssl s_server, s_client */

/* Starts argv with pipes to its stdin and from its stdout. */
static pid_t spawn(char *const argv[], int *to, int *from)
{
    int in[2], out[2];
    ck_assert_rc(pipe(in));
    ck_assert_rc(pipe(out));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        for (int fd = 3; fd < 64; fd++)
            close(fd);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *to = in[1];
    *from = out[0];
    return pid;
}

/* Reads lines from fd until one contains needle; returns it. */
static const char *read_until(int fd, const char *needle)
{
    static char line[512];
    size_t len = 0;
    for (;;) {
        char ch;
        ssize_t n = read(fd, &ch, 1);
        ck_assert_int_eq(n, 1);
        if (ch == '\n') {
            line[len] = '\0';
            if (strstr(line, needle) != NULL)
                return line;
            len = 0;
        } else if (len + 1 < sizeof(line)) {
            line[len++] = ch;
        }
    }
}

static void reap(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

START_TEST(test_against_openssl_s_server)
{
    if (engine_skip(_i))
        return;
    char *argv[] = { "openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
                     "-rev", "-cert", (char *)path("server.pem"), "-key",
                     (char *)path("server.key"), "-alpn", "h2", NULL };
    int to, from;
    pid_t pid = spawn(argv, &to, &from);
    const char *line = read_until(from, "ACCEPT");
    int port = atoi(strrchr(line, ':') + 1);
    ck_assert_int_gt(port, 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_rc(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    evl_loop *loop = new_loop(_i);
    struct end c;
    end_init(&c, loop, fd);
    evl_tls_ctx *ctx = client_ctx("h2", NULL);
    ck_assert_rc(evl_stream_start_tls(&c.s, ctx, "localhost", on_hs, 60000 * MS));
    ck_assert_rc(evl_stream_write(&c.s, "hello\n", 6));
    c.want = 6;
    run_until(loop, &c.closed, NULL);
    ck_assert_int_eq(c.err, 0);
    ck_assert_int_eq(c.got_len, 6);
    ck_assert(memcmp(c.got, "olleh\n", 6) == 0);
    ck_assert_str_eq(c.alpn, "h2");
    ck_assert_int_eq(c.verified, 1);
    end_free(&c);
    evl_tls_ctx_free(ctx);
    loop_done(loop);
    close(to);
    close(from);
    reap(pid);
}
END_TEST

START_TEST(test_against_openssl_s_client)
{
    if (engine_skip(_i))
        return;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_rc(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
    ck_assert_rc(listen(lfd, 1));
    socklen_t sl = sizeof(sa);
    ck_assert_rc(getsockname(lfd, (struct sockaddr *)&sa, &sl));
    char target[32];
    snprintf(target, sizeof(target), "127.0.0.1:%d", ntohs(sa.sin_port));
    char *argv[] = { "openssl", "s_client", "-connect", target, "-servername", "localhost",
                     "-CAfile", (char *)path("ca.pem"), "-verify_return_error",
                     "-verify_hostname", "localhost", "-alpn", "http/1.1", "-quiet",
                     "-no_ign_eof", NULL };
    int to, from;
    pid_t pid = spawn(argv, &to, &from);
    int fd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    close(lfd);
    evl_loop *loop = new_loop(_i);
    struct end sv;
    end_init(&sv, loop, fd);
    sv.echo = 1;
    evl_tls_ctx *ctx = server_ctx("server.pem", "h2,http/1.1", 0);
    ck_assert_rc(evl_stream_start_tls(&sv.s, ctx, NULL, on_hs, 60000 * MS));
    ck_assert_int_eq(write(to, "ping\n", 5), 5);
    /* s_client prints what we echo; its stdin's end sends close_notify. */
    run_until(loop, &sv.hs, NULL);
    /* Until the echo is the kernel's (a proactor's send is an op). */
    while (sv.got_len < 5 || evl_stream_queued(&sv.s) > 0)
        ck_assert_int_ge(evl_loop_run_once(loop, 10000 * MS), 0);
    char back[5];
    size_t got = 0;
    while (got < 5) {
        ssize_t n = read(from, back + got, 5 - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert(memcmp(back, "ping\n", 5) == 0);
    close(to);
    run_until(loop, &sv.closed, NULL);
    ck_assert_int_eq(sv.err, 0);
    ck_assert_int_eq(sv.eof, 1);
    ck_assert_str_eq(sv.alpn, "http/1.1");
    ck_assert_str_eq(sv.servername, "localhost");
    end_free(&sv);
    evl_tls_ctx_free(ctx);
    loop_done(loop);
    close(from);
    reap(pid);
}
END_TEST

/* ------------------------------------------------------------ without a loop, STARTTLS */

START_TEST(test_caller_driven_blocking_handshake)
{
    int fds[2];
    make_socketpair(fds);
    evl_loop *loop = new_loop(0);
    struct end sv;
    end_init(&sv, loop, fds[1]);
    sv.echo = 1;
    evl_tls_ctx *sctx = server_ctx("server.pem", NULL, 0);
    evl_tls_ctx *cctx = client_ctx(NULL, NULL);
    ck_assert_rc(evl_stream_start_tls(&sv.s, sctx, NULL, on_hs, 0));
    /* The client: no loop, a non-blocking fd driven by hand. */
    evl_stream c;
    memset(&c, 0, sizeof(c));
    set_nonblock(fds[0]);
    ck_assert_rc(evl_stream_init(&c, NULL, fds[0], 0, NULL));
    ck_assert_rc(evl_stream_start_tls(&c, cctx, "localhost", NULL, 0));
    int rc;
    for (int i = 0; (rc = evl_stream_tls_handshake(&c)) == -EAGAIN; i++) {
        ck_assert_int_lt(i, 1000);
        ck_assert_int_ge(evl_loop_run_once(loop, 100 * MS), 0);
    }
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(evl_stream_tls_established(&c), 1);
    ck_assert_rc(evl_stream_write(&c, "abc", 3));
    ck_assert_int_ge(evl_stream_flush(&c), 0);
    evl_buf *rb = evl_stream_rbuf(&c);
    for (int i = 0; evl_buf_len(rb) < 3; i++) {
        ck_assert_int_lt(i, 1000);
        ck_assert_int_ge(evl_loop_run_once(loop, 100 * MS), 0);
        ssize_t n = evl_stream_fill(&c);
        ck_assert(n > 0 || n == -EAGAIN);
    }
    ck_assert(memcmp(evl_buf_data(rb), "abc", 3) == 0);
    ck_assert_int_eq(evl_stream_close(&c), 0);
    run_until(loop, &sv.closed, NULL);
    ck_assert_int_eq(sv.eof, 1);
    evl_stream_free(&c);
    end_free(&sv);
    evl_tls_ctx_free(sctx);
    evl_tls_ctx_free(cctx);
    loop_done(loop);
}
END_TEST

/* STARTTLS: the server reads "STARTTLS\n", answers "GO\n" in the clear
 * and starts TLS from its callback; the client pipelined its
 * ClientHello right behind the command, so those bytes are in the
 * server's rbuf already when it switches. */
static evl_tls_ctx *starttls_ctx;
static size_t starttls_read(evl_stream *s, const char *p, size_t n)
{
    struct end *e = s->data;
    if (e->switched)
        return on_read(s, p, n);
    const char *nl = memchr(p, '\n', n);
    if (nl == NULL)
        return 0;
    ck_assert(memcmp(p, "STARTTLS\n", 9) == 0);
    ck_assert_rc(evl_stream_write(s, "GO\n", 3));
    evl_buf_consume(evl_stream_rbuf(s), 9);   /* the rest is ciphertext */
    ck_assert_rc(evl_stream_start_tls(s, starttls_ctx, NULL, on_hs, 0));
    e->echo = 1;
    e->switched = 1;
    return 0;
}

START_TEST(test_starttls_with_pipelined_bytes)
{
    if (engine_skip(_i))
        return;
    int fds[2];
    make_socketpair(fds);
    evl_loop *loop = new_loop(_i);
    struct end sv, c;
    end_init(&sv, loop, fds[1]);
    sv.s.cb.on_read = starttls_read;
    starttls_ctx = server_ctx("server.pem", NULL, 0);
    evl_tls_ctx *cctx = client_ctx(NULL, NULL);
    /* The client: plain "STARTTLS\n", then TLS at once on the same queue. */
    end_init(&c, loop, fds[0]);
    ck_assert_rc(evl_stream_write(&c.s, "STARTTLS\n", 9));
    c.s.cb.on_read = NULL;   /* "GO\n" is read by hand below */
    ck_assert_rc(evl_stream_read_stop(&c.s));
    ck_assert_rc(evl_stream_start_tls(&c.s, cctx, "localhost", on_hs, 0));
    ck_assert_rc(evl_stream_write(&c.s, "secret", 6));
    /* Run until the server answered GO (in the clear) and switched. */
    while (!sv.switched)
        ck_assert_int_ge(evl_loop_run_once(loop, 10000 * MS), 0);
    char go[3];
    struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
    for (int i = 0; poll(&pfd, 1, 0) == 0; i++) {
        ck_assert_int_lt(i, 10000);
        ck_assert_int_ge(evl_loop_run_once(loop, 1 * MS), 0);
    }
    ck_assert_int_eq(recv(fds[0], go, 3, 0), 3);
    ck_assert(memcmp(go, "GO\n", 3) == 0);
    c.s.cb.on_read = on_read;
    c.want = 6;
    ck_assert_rc(evl_stream_read_start(&c.s));
    run_until(loop, &c.closed, &sv.closed);
    ck_assert_int_eq(c.err, 0);
    ck_assert_int_eq(sv.err, 0);
    ck_assert_int_eq(c.got_len, 6);
    ck_assert(memcmp(c.got, "secret", 6) == 0);
    end_free(&c);
    end_free(&sv);
    evl_tls_ctx_free(starttls_ctx);
    evl_tls_ctx_free(cctx);
    loop_done(loop);
}
END_TEST

/* A connected loopback TCP pair (port 0): [0] the client's end.  TCP
 * rather than a socketpair where the client closes right after its
 * handshake: the server's session tickets (TLS 1.3 sends them after the
 * handshake) then still go into the kernel, where a unix socket would
 * fail the server with EPIPE. */
static void make_tcp_pair(int fds[2])
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fds[0], 0);
    ck_assert_int_eq(connect(fds[0], (struct sockaddr *)&sa, sizeof(sa)), 0);
    fds[1] = accept(lfd, NULL, NULL);
    ck_assert_int_ge(fds[1], 0);
    close(lfd);
}

/* evl_stream_close after evl_stream_read_stop, before the handshake:
 * the close waits for the handshake, which the plaintext written before
 * it needs, and which reads although reading was stopped (it used to
 * wait for ever); then the bytes go out and both ends close. */
START_TEST(test_close_after_read_stop_waits_for_handshake)
{
    if (engine_skip(_i))
        return;
    int fds[2];
    make_tcp_pair(fds);
    evl_loop *loop = new_loop(_i);
    evl_tls_ctx *sctx = server_ctx("server.pem", NULL, 0);
    evl_tls_ctx *cctx = client_ctx(NULL, NULL);
    struct end c, sv;
    end_init(&c, loop, fds[0]);
    end_init(&sv, loop, fds[1]);
    ck_assert_rc(evl_stream_start_tls(&sv.s, sctx, NULL, on_hs, 60000 * MS));
    ck_assert_rc(evl_stream_start_tls(&c.s, cctx, "localhost", on_hs, 60000 * MS));
    ck_assert_rc(evl_stream_write(&c.s, "hello", 5));
    ck_assert_rc(evl_stream_read_stop(&c.s));
    ck_assert_int_eq(evl_stream_close(&c.s), 1);   /* waits for the handshake */
    run_until(loop, &c.closed, &sv.closed);
    ck_assert_int_eq(c.err, 0);
    ck_assert_int_eq(c.hs, 1);
    ck_assert_int_eq(sv.got_len, 5);
    ck_assert(memcmp(sv.got, "hello", 5) == 0);
    ck_assert_msg(sv.eof == 1, "server: err %d %s", sv.err, sv.err_text);
    end_free(&c);
    end_free(&sv);
    evl_tls_ctx_free(cctx);
    evl_tls_ctx_free(sctx);
    loop_done(loop);
}
END_TEST

START_TEST(test_bad_arguments)
{
    evl_tls_ctx *ctx = NULL;
    struct evl_tls_options o = { .server = 1 };   /* no certificate */
    ck_assert_int_eq(evl_tls_ctx_new(&ctx, &o), -EINVAL);
    ck_assert_ptr_null(ctx);
    o.cert_file = path("missing.pem");
    ck_assert_int_eq(evl_tls_ctx_new(&ctx, &o), -EVL_ETLS);
    ck_assert_ptr_nonnull(evl_tls_ctx_error(ctx));
    evl_tls_ctx_free(ctx);
    struct evl_tls_options a = { .alpn = "a,,b" };
    ck_assert_int_eq(evl_tls_ctx_new(&ctx, &a), -EINVAL);
    ck_assert_int_eq(evl_stream_start_tls(NULL, NULL, NULL, NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_stream_tls_handshake(NULL), -EINVAL);
    ck_assert_ptr_null(evl_stream_tls_error(NULL));
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_echo_alpn_close_notify, 0, 3);
    tcase_add_loop_test(tc, test_records_split_into_single_bytes, 0, 3);
    tcase_add_loop_test(tc, test_bulk_byte_exact_under_backpressure, 0, 3);
    tcase_add_test(tc, test_sni_selects_the_context);
    tcase_add_test(tc, test_client_certificate_and_resumption);
    tcase_add_test(tc, test_expired_certificate);
    tcase_add_test(tc, test_self_signed_certificate);
    tcase_add_test(tc, test_wrong_host);
    tcase_add_test(tc, test_truncated_chain);
    tcase_add_loop_test(tc, test_plain_text_to_a_tls_port, 0, 3);
    tcase_add_loop_test(tc, test_handshake_that_never_completes_times_out, 0, 3);
    tcase_add_loop_test(tc, test_handshake_timeout_counts_from_the_start, 0, 3);
    tcase_add_test(tc, test_peer_closes_during_handshake);
    tcase_add_test(tc, test_peer_drops_mid_record);
    tcase_add_loop_test(tc, test_against_openssl_s_server, 0, 3);
    tcase_add_loop_test(tc, test_against_openssl_s_client, 0, 3);
    tcase_add_test(tc, test_caller_driven_blocking_handshake);
    tcase_add_loop_test(tc, test_starttls_with_pipelined_bytes, 0, 3);
    tcase_add_loop_test(tc, test_close_after_read_stop_waits_for_handshake, 0, 3);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (system("openssl version >/dev/null 2>&1") != 0)
        return 77;   /* SKIP: the openssl tool (Debian: openssl) is missing */
    evl_loop *probe;
    if (evl_loop_new(&probe, EVL_PROACTOR, EVL_BACKEND_URING) == 0)
        evl_loop_free(probe);
    else
        uring_ok = 0;
    const char *only = getenv("EVL_TEST_BACKEND");
    only_fake = only != NULL && strcmp(only, "fake") == 0;
    if (certs_make() < 0) {
        certs_remove();
        fprintf(stderr, "check_tls: could not make certificates with openssl\n");
        return 99;
    }
    int rc = evl_test_run(tls_suite());
    certs_remove();
    return rc;
}
