/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* tls-echo.c - a TLS line-echo server and client on libevloop's TLS
 * streams (evl_tls_ctx, evl_stream_start_tls).
 *
 * usage: examples/tls-echo server CERT KEY PORT     (127.0.0.1; port 0 prints the port)
 *        examples/tls-echo client PORT CAFILE [LINE] (verifies "localhost")
 *
 * The server echoes every line on every connection until killed; the
 * client sends LINE ("hello"), prints the echo, and closes (close_notify).
 * Try it with certificates from `openssl req`, e.g.
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *       -keyout key.pem -out cert.pem -days 1 -subj /CN=localhost \
 *       -addext subjectAltName=DNS:localhost
 *   examples/tls-echo server cert.pem key.pem 0 &       # prints "port N"
 *   examples/tls-echo client N cert.pem hello
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

struct conn {
    evl_stream s;
    evl_framer fr;
    int client;
    int done;
};

static void on_handshake(evl_stream *s)
{
    struct evl_tls_info info;
    if (evl_stream_tls_info(s, &info) == 0)
        fprintf(stderr, "handshake: %s %s peer=%s\n", info.version, info.cipher,
                info.peer_subject[0] ? info.peer_subject : "-");
}

static void on_message(evl_stream *s, const char *msg, size_t len)
{
    struct conn *c = s->data;
    if (c->client) {
        printf("%.*s\n", (int)len, msg);
        evl_stream_close(s);   /* close_notify, then the fd */
        return;
    }
    evl_stream_write_message(s, msg, len);
}

static void on_eof(evl_stream *s)
{
    evl_stream_close(s);
}

static void on_error(evl_stream *s, int err)
{
    const char *why = evl_stream_tls_error(s);
    fprintf(stderr, "error: %s\n", why != NULL ? why : strerror(-err));
    evl_stream_close(s);
}

static void on_close(evl_stream *s)
{
    struct conn *c = s->data;
    c->done = 1;
    if (!c->client) {
        evl_stream_free(s);
        free(c);
    }
}

static const struct evl_stream_callbacks cbs = {
    .on_message = on_message, .on_eof = on_eof, .on_error = on_error, .on_close = on_close,
};

static struct conn *conn_new(evl_loop *loop, int fd, evl_tls_ctx *ctx, const char *host)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->client = host != NULL;
    c->s.data = c;
    evl_framer_init(&c->fr, EVL_FRAMER_LINE, 0, 64 * 1024, NULL, 0);
    if (evl_stream_init(&c->s, loop, fd, 0, &cbs) < 0 ||
        evl_stream_set_framer(&c->s, &c->fr) < 0 ||
        evl_stream_start_tls(&c->s, ctx, host, on_handshake, 10000000000ull) < 0) {
        evl_stream_free(&c->s);
        close(fd);
        free(c);
        return NULL;
    }
    return c;
}

static evl_tls_ctx *server_ctx;
static int listen_fd;

static void on_accept(evl_watcher *w, unsigned revents)
{
    (void)revents;
    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0 && conn_new(w->data, fd, server_ctx, NULL) == NULL)
        fprintf(stderr, "cannot serve a connection\n");
}

static int server(const char *cert, const char *key, int port)
{
    struct evl_tls_options o = { .server = 1, .cert_file = cert, .key_file = key };
    int rc = evl_tls_ctx_new(&server_ctx, &o);
    if (rc < 0) {
        fprintf(stderr, "context: %s\n",
                rc == -EVL_ETLS ? evl_tls_ctx_error(server_ctx) : strerror(-rc));
        return 1;
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 512) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("listen");
        return 1;
    }
    listen_fd = lfd;
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    evl_loop *loop;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0)
        return 1;
    evl_watcher w;
    evl_watcher_init(&w, on_accept, NULL, NULL);
    w.data = loop;
    evl_watcher_start(loop, &w, lfd, EVL_READ);
    evl_loop_run(loop);
    return 0;
}

static int client(int port, const char *cafile, const char *line)
{
    struct evl_tls_options o = { .ca_file = cafile };
    evl_tls_ctx *ctx;
    if (evl_tls_ctx_new(&ctx, &o) < 0) {
        fprintf(stderr, "context: %s\n", evl_tls_ctx_error(ctx) ? evl_tls_ctx_error(ctx) : "?");
        return 1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        return 1;
    }
    evl_loop *loop;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0)
        return 1;
    struct conn *c = conn_new(loop, fd, ctx, "localhost");
    if (c == NULL)
        return 1;
    /* Written now, sent encrypted once the handshake is done. */
    evl_stream_write_message(&c->s, line, strlen(line));
    while (!c->done && evl_loop_run_once(loop, -1) >= 0)
        ;
    int failed = evl_stream_error(&c->s) != 0;
    evl_stream_free(&c->s);
    free(c);
    evl_tls_ctx_free(ctx);
    evl_loop_free(loop);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "server") == 0)
        return server(argv[2], argv[3], atoi(argv[4]));
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "client") == 0)
        return client(atoi(argv[2]), argv[3], argc == 5 ? argv[4] : "hello");
    fprintf(stderr, "usage: %s server CERT KEY PORT | client PORT CAFILE [LINE]\n", argv[0]);
    return 2;
}
