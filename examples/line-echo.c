/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* line-echo.c - a loopback TCP line-echo server and its client, both on
 * one libevloop loop.
 *
 * The server listens on 127.0.0.1 (port 0: the kernel picks a free one),
 * accepts with an fd watcher and echoes every line with an evl_stream and
 * a line framer.  The client opens CONNECTIONS connections, keeps DEPTH
 * lines in flight on each for SECONDS, and checks every echoed line byte
 * for byte against the line it sent (lines differ in content and length,
 * so a reordered, truncated or merged line cannot pass).  When the time
 * is up it lets the lines in flight come back, closes, and prints the
 * rate.
 *
 * usage: examples/line-echo [seconds (2)] [connections (4)]
 * exit status: 0 when every line came back intact, 1 otherwise.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

#define DEPTH 8                  /* lines in flight per client connection */
#define LINE_MAX_LEN 128
#define GRACE_NS (10ull * 1000000000u)   /* after the run: time to drain */

struct app {
    evl_loop *loop;
    evl_watcher listener;
    evl_timer run_timer;         /* end of the sending period */
    evl_timer watchdog;          /* the whole program's time bound */
    int listen_fd;
    int stopping;                /* no new lines once set */
    int clients_open, servers_open;
    struct conn **clients;       /* by id; NULL once closed */
    int nclients;
    int failed;
    uint64_t lines_checked;
};

struct conn {
    evl_stream s;
    evl_framer fr;
    struct app *app;
    int is_client;
    int id;
    uint64_t sent, checked;      /* client: lines sent / verified */
};

/* The id-th connection's n-th line: content and length both depend on
 * (id, n), so any mix-up between lines or connections shows. */
static size_t make_line(char *buf, int id, uint64_t n)
{
    int len = snprintf(buf, LINE_MAX_LEN, "conn %d line %llu ", id, (unsigned long long)n);
    size_t pad = (size_t)(n * 7 + (uint64_t)id) % 48;
    for (size_t i = 0; i < pad; i++)
        buf[(size_t)len + i] = (char)('a' + (n + i) % 26);
    return (size_t)len + pad;
}

static void app_fail(struct app *app, const char *what)
{
    fprintf(stderr, "line-echo: %s\n", what);
    app->failed = 1;
    evl_loop_stop(app->loop);
}

static void maybe_finish(struct app *app)
{
    if (app->clients_open == 0 && app->servers_open == 0)
        evl_loop_stop(app->loop);
}

/* ------------------------------------------------------------ both sides */

static void conn_on_close(evl_stream *s)
{
    struct conn *c = s->data;
    struct app *app = c->app;
    if (c->is_client) {
        app->clients[c->id] = NULL;
        app->clients_open--;
    } else
        app->servers_open--;
    /* Freeing from on_close is allowed: the stream does not touch s
     * after a callback that freed it. */
    evl_stream_free(s);
    free(c);
    maybe_finish(app);
}

static void conn_on_error(evl_stream *s, int err)
{
    struct conn *c = s->data;
    fprintf(stderr, "line-echo: %s connection %d: %s\n", c->is_client ? "client" : "server",
            c->id, strerror(-err));
    c->app->failed = 1;
    /* After a failing close the fd is already gone (-EBADF here) and
     * on_close follows by itself; otherwise this close brings it. */
    evl_stream_close(s);
}

static void conn_on_eof(evl_stream *s)
{
    struct conn *c = s->data;
    if (c->is_client && !(c->app->stopping && c->checked == c->sent))
        app_fail(c->app, "server closed a connection early");
    evl_stream_close(s);
}

/* Sets up a stream with a line framer over fd; on_message decides the
 * side.  Returns NULL (fd closed) on failure. */
static struct conn *conn_new(struct app *app, int fd, int is_client, int id,
                             evl_stream_message_cb on_message)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->app = app;
    c->is_client = is_client;
    c->id = id;
    c->s.data = c;   /* evl_stream_init keeps the user slot */
    struct evl_stream_callbacks cb = {
        .on_message = on_message,
        .on_eof = conn_on_eof,
        .on_error = conn_on_error,
        .on_close = conn_on_close,
    };
    int rc = evl_framer_init(&c->fr, EVL_FRAMER_LINE, 0, LINE_MAX_LEN, NULL, 0);
    if (rc == 0)
        rc = evl_stream_init(&c->s, app->loop, fd, 0, &cb);
    if (rc < 0) {
        fprintf(stderr, "line-echo: stream setup: %s\n", strerror(-rc));
        close(fd);
        free(c);
        return NULL;
    }
    /* Nothing is read before the loop runs again, so attaching the framer
     * now cannot let an unframed byte through. */
    evl_stream_set_framer(&c->s, &c->fr);
    return c;
}

/* ------------------------------------------------------------ server */

static void server_on_message(evl_stream *s, const char *msg, size_t len)
{
    int rc = evl_stream_write_message(s, msg, len);
    if (rc < 0)
        conn_on_error(s, rc);
}

static void on_accept(evl_watcher *w, unsigned revents)
{
    (void)revents;
    struct app *app = w->data;
    for (;;) {
        int fd = accept4(app->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                app_fail(app, "accept failed");
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (conn_new(app, fd, 0, app->servers_open, server_on_message) == NULL) {
            app_fail(app, "server connection setup failed");
            return;
        }
        app->servers_open++;
    }
}

/* ------------------------------------------------------------ client */

static int client_send(struct conn *c)
{
    char line[LINE_MAX_LEN];
    size_t len = make_line(line, c->id, c->sent);
    int rc = evl_stream_write_message(&c->s, line, len);
    if (rc == 0)
        c->sent++;
    return rc;
}

static void client_on_message(evl_stream *s, const char *msg, size_t len)
{
    struct conn *c = s->data;
    struct app *app = c->app;
    char want[LINE_MAX_LEN];
    size_t want_len = make_line(want, c->id, c->checked);
    if (c->checked >= c->sent || len != want_len || memcmp(msg, want, len) != 0) {
        fprintf(stderr, "line-echo: connection %d line %llu: got \"%.*s\", want \"%.*s\"\n",
                c->id, (unsigned long long)c->checked, (int)len, msg, (int)want_len, want);
        app_fail(app, "echo mismatch");
        /* The lines after a bad one prove nothing more. */
        evl_stream_close(s);
        return;
    }
    c->checked++;
    app->lines_checked++;
    if (!app->stopping) {
        int rc = client_send(c);
        if (rc < 0)
            conn_on_error(s, rc);
    } else if (c->checked == c->sent) {
        evl_stream_close(s);
    }
}

static int client_connect(struct app *app, const struct sockaddr_in *sa, int id)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A blocking connect on loopback completes in the kernel's handshake
     * without waiting for accept(); the stream makes the fd non-blocking. */
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct conn *c = conn_new(app, fd, 1, id, client_on_message);
    if (c == NULL)
        return -ENOMEM;
    app->clients[id] = c;
    app->clients_open++;
    for (int i = 0; i < DEPTH; i++) {
        int rc = client_send(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ timers */

static void on_run_over(evl_timer *t)
{
    struct app *app = t->data;
    app->stopping = 1;
    /* Connections with nothing in flight close now; the others close
     * when their last echo arrives (client_on_message). */
    for (int id = 0; id < app->nclients; id++) {
        struct conn *c = app->clients[id];
        if (c != NULL && c->checked == c->sent)
            evl_stream_close(&c->s);
    }
}

static void on_watchdog(evl_timer *t)
{
    app_fail(t->data, "timed out waiting for the last echoes");
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    int nconn = argc > 2 ? atoi(argv[2]) : 4;
    if (argc > 3 || !(seconds > 0 && seconds <= 3600) || nconn < 1 || nconn > 1000) {
        fprintf(stderr, "usage: line-echo [seconds (0..3600]] [connections (1..1000)]\n");
        return 2;
    }

    struct app app = { .listen_fd = -1 };
    int rc = evl_loop_new(&app.loop, EVL_REACTOR, 0);
    if (rc < 0) {
        fprintf(stderr, "line-echo: evl_loop_new: %s\n", strerror(-rc));
        return 1;
    }

    app.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof(sa);
    if (app.listen_fd < 0 || bind(app.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(app.listen_fd, 1024) < 0 ||
        getsockname(app.listen_fd, (struct sockaddr *)&sa, &salen) < 0) {
        perror("line-echo: listen on 127.0.0.1");
        return 1;
    }
    evl_watcher_init(&app.listener, on_accept, NULL, NULL);
    app.listener.data = &app;
    rc = evl_watcher_start(app.loop, &app.listener, app.listen_fd, EVL_READ);
    if (rc < 0) {
        fprintf(stderr, "line-echo: watch listener: %s\n", strerror(-rc));
        return 1;
    }

    app.nclients = nconn;
    app.clients = calloc((size_t)nconn, sizeof(*app.clients));
    if (app.clients == NULL) {
        fprintf(stderr, "line-echo: out of memory\n");
        return 1;
    }
    for (int i = 0; i < nconn; i++) {
        rc = client_connect(&app, &sa, i);
        if (rc < 0) {
            fprintf(stderr, "line-echo: client %d: %s\n", i, strerror(-rc));
            return 1;
        }
    }

    uint64_t run_ns = (uint64_t)(seconds * 1e9);
    evl_timer_init(app.loop, &app.run_timer);
    evl_timer_init(app.loop, &app.watchdog);
    app.run_timer.data = app.watchdog.data = &app;
    evl_loop_update_now(app.loop);
    uint64_t t0 = evl_time_ns();
    evl_timer_start(&app.run_timer, on_run_over, run_ns, 0);
    evl_timer_start(&app.watchdog, on_watchdog, run_ns + GRACE_NS, 0);

    rc = evl_loop_run(app.loop);
    double secs = (double)(evl_time_ns() - t0) / 1e9;
    if (rc < 0) {
        fprintf(stderr, "line-echo: evl_loop_run: %s\n", strerror(-rc));
        app.failed = 1;
    }

    evl_watcher_stop(&app.listener);
    close(app.listen_fd);
    /* Only a failed run leaves connections behind; the loop forgets their
     * watchers when it is freed, and the process exit closes the fds. */
    evl_loop_free(app.loop);
    free(app.clients);

    if (app.failed)
        return 1;
    printf("line-echo: %llu lines echoed and verified in %.2f s over %d connections "
           "(%d in flight each): %.0f lines/s\n",
           (unsigned long long)app.lines_checked, secs, nconn, DEPTH,
           (double)app.lines_checked / secs);
    return 0;
}
