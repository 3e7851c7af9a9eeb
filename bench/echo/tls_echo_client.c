/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/*
 * tls_echo_client.c - echo_client.c over TLS (OpenSSL), the load generator
 * for the TLS line-echo servers (run-tls.sh), and a handshake counter.
 *
 * Echo mode: C connections to 127.0.0.1:PORT, TLS handshake on each (not
 * timed, nor are W warm-up round trips), then each keeps D LEN-byte lines
 * in flight until it has had N back; checks every echoed byte.  Prints
 * lines/s over the timed part.
 *
 * Handshake mode (-H N): C connections at a time, each connects, does the
 * handshake, sends one line, reads it back and closes, until N handshakes
 * are done.  Prints handshakes/s.  No session resumption: full handshakes.
 *
 * Single-threaded, epoll, non-blocking sockets with OpenSSL on the fd,
 * TCP_NODELAY; alarm() bounds the run.  Verification is off (the servers
 * use a throw-away certificate); only ever connects to 127.0.0.1.
 *
 * usage: tls_echo_client -p PORT [-c CONNS=1] [-n LINES_PER_CONN=20000]
 *                        [-l LEN=64] [-w WARMUP=200] [-d DEPTH=1] [-t SECS=60]
 *                        [-H HANDSHAKES]
 * build: cc -O2 -o tls_echo_client tls_echo_client.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    SSL *ssl;
    int ready;                            /* handshake done */
    long sent, recv, target;              /* lines */
    size_t rpos;                          /* bytes of the current line received */
};

static int LEN = 64, DEPTH = 1, port;
static char *line;
static SSL_CTX *ctx;
static int ep;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *m)
{
    fprintf(stderr, "%s: %s\n", m, errno ? strerror(errno) : "");
    ERR_print_errors_fp(stderr);
    exit(2);
}

static void conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        die("connect");
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    c->ready = 0;
    c->sent = c->recv = 0;
    c->rpos = 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
}

static void conn_close(struct conn *c)
{
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    close(c->fd);
    c->ssl = NULL;
}

/* Moves c along; returns 1 when its target is reached. */
static int conn_step(struct conn *c)
{
    if (!c->ready) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            die("handshake");
        }
        c->ready = 1;
    }
    while (c->sent < c->target && c->sent - c->recv < DEPTH) {
        int w = SSL_write(c->ssl, line, LEN);
        if (w <= 0) {
            int e = SSL_get_error(c->ssl, w);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            die("SSL_write");
        }
        c->sent++;
    }
    char buf[16384];
    for (;;) {
        int r = SSL_read(c->ssl, buf, sizeof(buf));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            die("SSL_read (EOF or error)");
        }
        for (int i = 0; i < r; i++) {
            if (buf[i] != line[c->rpos])
                die("mismatch");
            if (++c->rpos == (size_t)LEN) {
                c->rpos = 0;
                c->recv++;
            }
        }
        /* Room in the window: more lines. */
        while (c->sent < c->target && c->sent - c->recv < DEPTH) {
            if (SSL_write(c->ssl, line, LEN) <= 0)
                break;
            c->sent++;
        }
    }
    return c->recv >= c->target;
}

int main(int argc, char **argv)
{
    int nc = 1, opt;
    long n = 20000, warm = 200, handshakes = 0;
    int secs = 60;
    while ((opt = getopt(argc, argv, "p:c:n:l:w:d:t:H:")) != -1) switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': nc = atoi(optarg); break;
        case 'n': n = atol(optarg); break;
        case 'l': LEN = atoi(optarg); break;
        case 'w': warm = atol(optarg); break;
        case 'd': DEPTH = atoi(optarg); break;
        case 't': secs = atoi(optarg); break;
        case 'H': handshakes = atol(optarg); break;
        default: fprintf(stderr, "usage: see header\n"); return 1;
        }
    if (!port || nc < 1 || LEN < 2 || DEPTH < 1) {
        fprintf(stderr, "usage: see header\n");
        return 1;
    }
    alarm((unsigned)secs);
    line = malloc((size_t)LEN);
    for (int i = 0; i < LEN - 1; i++)
        line[i] = (char)('a' + i % 26);
    line[LEN - 1] = '\n';
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)nc, sizeof(*cs));
    struct epoll_event evs[256];

    if (handshakes > 0) {
        long done = 0, started = 0;
        double t0 = now();
        for (int i = 0; i < nc && started < handshakes; i++, started++) {
            cs[i].target = 1;
            conn_open(&cs[i]);
        }
        while (done < handshakes) {
            int k = epoll_wait(ep, evs, 256, -1);
            for (int i = 0; i < k; i++) {
                struct conn *c = evs[i].data.ptr;
                if (c->ssl == NULL || !conn_step(c))
                    continue;
                conn_close(c);
                done++;
                if (started < handshakes) {
                    started++;
                    conn_open(c);
                    conn_step(c);
                }
            }
        }
        double t = now() - t0;
        printf("conns=%d handshakes=%ld secs=%.3f handshakes_per_sec=%.0f\n", nc, done, t,
               done / t);
        return 0;
    }

    /* Connect and warm up (untimed), then the timed run. */
    for (int phase = 0; phase < 2; phase++) {
        long each = phase == 0 ? warm : n;
        double t0 = now();
        int left = nc;
        for (int i = 0; i < nc; i++) {
            if (phase == 0)
                conn_open(&cs[i]);
            cs[i].target = cs[i].recv + each;
            if (conn_step(&cs[i]))
                left--;
        }
        while (left > 0) {
            int k = epoll_wait(ep, evs, 256, -1);
            for (int i = 0; i < k; i++) {
                struct conn *c = evs[i].data.ptr;
                if (c->recv < c->target && conn_step(c))
                    left--;
            }
        }
        if (phase == 1) {
            double t = now() - t0;
            printf("conns=%d depth=%d len=%d lines=%ld secs=%.3f lines_per_sec=%.0f\n", nc,
                   DEPTH, LEN, n * nc, t, n * nc / t);
        }
    }
    for (int i = 0; i < nc; i++)
        conn_close(&cs[i]);
    return 0;
}
