/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream_echo.c - buffered stream echo over socketpairs: evl_stream vs a
 * libev io watcher with a hand-written buffer vs libuv's uv_stream.
 *
 * Measures the server side of an echo over C AF_UNIX socketpairs, in two
 * modes, with one load generator shared by all three libraries:
 *   lines  64-byte lines, D in flight per connection (default 8 x 8
 *          connections), every line echoed on its own:
 *            evloop  evl_stream + EVL_FRAMER_LINE, on_message ->
 *                    evl_stream_write_message (the idiomatic framed path)
 *            libev   ev_io; read 64 KiB, split with memchr, copy each line
 *                    to an output buffer, one write() per read, ev_io for
 *                    write-behind
 *            libuv   uv_pipe_t + uv_read_start; the same split, then
 *                    uv_try_write, uv_write for a remainder
 *   lines-raw  the same traffic, but evloop's server does what the libev
 *          and libuv ones do: evl_stream on_read, split with memchr,
 *          copy the lines to an output buffer, one evl_stream_write per
 *          read.  The gap between lines and lines-raw is the price of
 *          writing each message on its own.  The peers run again
 *          unchanged, so the ratios come from the same run.
 *   bulk   raw bytes, a 256 KiB window per connection: evl_stream
 *          on_read -> evl_stream_write; libev read/write with
 *          write-behind; libuv uv_try_write/uv_write.
 * The generator is a second thread (plain epoll, pinned to the other CPU
 * when there are two), checks every echoed byte and times the run.
 * Reported per library (median over rounds):
 *   lines-cpu  server thread CPU ns per line (the figure to trust on a
 *              noisy machine: the peers' README says so too)
 *   lines-rate lines/s seen by the generator
 *   lines-raw-cpu  as lines-cpu, in lines-raw mode
 *   bulk-cpu   server thread CPU us per MiB echoed
 *   bulk-rate  MiB/s echoed
 *
 * usage: bench_stream_echo [ROUNDS [CONNS [DEPTH [LINES_PER_CONN [BULK_MIB_PER_CONN]]]]]
 * output: RESULT/RATIO lines (see bench.h); bench/run.sh makes the table.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <uv.h>

#include "evloop.h"
#include "bench.h"

#define LINE_LEN 64
#define IN_CAP ((size_t)64 * 1024)
#define PATTERN_PERIOD 4096
#define BULK_WINDOW ((uint64_t)256 * 1024)
#define BULK_CHUNK ((size_t)64 * 1024)

/* MODE_LINES_RAW is MODE_LINES for the generator and the two peers; only
 * evloop's server differs (see the header). */
enum mode { MODE_LINES, MODE_LINES_RAW, MODE_BULK };

static int n_conns = 8, depth = 8;
static long lines_per_conn = 20000;
static uint64_t bulk_bytes_per_conn = (uint64_t)32 << 20;
static char line[LINE_LEN];
static char pattern[BULK_CHUNK + PATTERN_PERIOD];  /* byte i is f(i % PERIOD) */
static int cpu_server = -1, cpu_client = -1;

/* ------------------------------------------------------------ generator */

struct gen_conn {
    int fd;
    long sent, recvd;            /* lines */
    size_t rpos;                 /* bytes of the current line received */
    uint64_t bsent, brecvd;      /* bulk bytes */
    int done;
};

struct gen {
    enum mode mode;
    int *fds;
    uint64_t wall_ns;
    const char *failure;         /* NULL when every byte matched */
};

static int gen_send_lines(struct gen_conn *c, long k)
{
    char buf[LINE_LEN * 64];
    while (k > 0) {
        long m = k > 64 ? 64 : k;
        for (long i = 0; i < m; i++)
            memcpy(buf + i * LINE_LEN, line, LINE_LEN);
        /* A few lines always fit an empty-enough socket buffer; a short
         * write would mean the server stopped reading, which is a bug. */
        if (write(c->fd, buf, (size_t)m * LINE_LEN) != m * LINE_LEN)
            return -1;
        c->sent += m;
        k -= m;
    }
    return 0;
}

/* Reads what is there; returns 0, 1 when the connection is complete,
 * or -1 with *why set. */
static int gen_lines_readable(struct gen_conn *c, const char **why)
{
    static __thread char rbuf[IN_CAP];
    for (;;) {
        ssize_t r = read(c->fd, rbuf, sizeof(rbuf));
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r <= 0) {
            *why = r == 0 ? "server closed early" : "read failed";
            return -1;
        }
        long got = 0;
        for (ssize_t k = 0; k < r; k++) {
            if (rbuf[k] != line[c->rpos]) {
                *why = "echoed line differs";
                return -1;
            }
            if (++c->rpos == LINE_LEN) {
                c->rpos = 0;
                got++;
            }
        }
        c->recvd += got;
        if (c->recvd > c->sent) {
            *why = "more lines than sent";
            return -1;
        }
        long want = depth - (c->sent - c->recvd);
        if (want > lines_per_conn - c->sent)
            want = lines_per_conn - c->sent;
        if (want > 0 && gen_send_lines(c, want) < 0) {
            *why = "short write";
            return -1;
        }
        if (c->recvd == lines_per_conn)
            return 1;
    }
}

/* Bulk: edge-triggered, so read to EAGAIN and write until EAGAIN or the
 * window is full; the next echo (EPOLLIN) or room (EPOLLOUT) resumes. */
static int gen_bulk_ready(struct gen_conn *c, const char **why)
{
    static __thread char rbuf[BULK_CHUNK];
    for (;;) {
        ssize_t r = read(c->fd, rbuf, sizeof(rbuf));
        if (r < 0 && errno == EAGAIN)
            break;
        if (r <= 0) {
            *why = r == 0 ? "server closed early" : "read failed";
            return -1;
        }
        if (c->brecvd + (uint64_t)r > c->bsent ||
            memcmp(rbuf, pattern + c->brecvd % PATTERN_PERIOD, (size_t)r) != 0) {
            *why = "echoed bytes differ";
            return -1;
        }
        c->brecvd += (uint64_t)r;
    }
    if (c->brecvd == bulk_bytes_per_conn)
        return 1;
    for (;;) {
        uint64_t room = BULK_WINDOW - (c->bsent - c->brecvd);
        uint64_t left = bulk_bytes_per_conn - c->bsent;
        size_t n = (size_t)(room < left ? room : left);
        if (n > BULK_CHUNK)
            n = BULK_CHUNK;
        if (n == 0)
            return 0;
        ssize_t w = write(c->fd, pattern + c->bsent % PATTERN_PERIOD, n);
        if (w < 0 && errno == EAGAIN)
            return 0;
        if (w <= 0) {
            *why = "write failed";
            return -1;
        }
        c->bsent += (uint64_t)w;
    }
}

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *gen_main(void *arg)
{
    struct gen *g = arg;
    pin_self(cpu_client);
    struct gen_conn *cs = calloc((size_t)n_conns, sizeof(*cs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (cs == NULL || ep < 0) {
        g->failure = "generator setup";
        free(cs);
        return NULL;
    }
    for (int i = 0; i < n_conns; i++) {
        cs[i].fd = g->fds[i];
        struct epoll_event ev = { .data.ptr = &cs[i] };
        ev.events = g->mode != MODE_BULK ? EPOLLIN : EPOLLIN | EPOLLOUT | EPOLLET;
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    uint64_t t0 = bench_wall_ns();
    int open_conns = n_conns;
    for (int i = 0; i < n_conns; i++) {
        int rc = g->mode != MODE_BULK
                     ? gen_send_lines(&cs[i], depth < lines_per_conn ? depth : lines_per_conn)
                     : gen_bulk_ready(&cs[i], &g->failure);
        if (rc < 0) {
            g->failure = g->failure ? g->failure : "short write";
            goto out;
        }
    }
    while (open_conns > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 10000);
        if (n == 0) {
            g->failure = "no echo for 10 s";
            goto out;
        }
        for (int e = 0; e < n; e++) {
            struct gen_conn *c = evs[e].data.ptr;
            if (c->done)
                continue;
            int rc = g->mode != MODE_BULK ? gen_lines_readable(c, &g->failure)
                                           : gen_bulk_ready(c, &g->failure);
            if (rc < 0)
                goto out;
            if (rc == 1) {
                /* Closing is the end-of-run signal: the server sees EOF. */
                c->done = 1;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                open_conns--;
            }
        }
    }
    g->wall_ns = bench_wall_ns() - t0;
out:
    /* On failure the server learns it from EOF on the remaining fds. */
    for (int i = 0; i < n_conns; i++)
        if (cs[i].fd >= 0 && !cs[i].done)
            close(cs[i].fd);
    close(ep);
    free(cs);
    return NULL;
}

/* ------------------------------------------------------------ shared server bits */

/* An output queue for the hand-written servers (libev, libuv lines). */
struct outq {
    char *p;
    size_t off, len, cap;        /* pending bytes are p[off .. off + len) */
};

static void outq_append(struct outq *q, const char *src, size_t n)
{
    if (q->off + q->len + n > q->cap) {
        if (q->off > 0) {
            memmove(q->p, q->p + q->off, q->len);
            q->off = 0;
        }
        if (q->len + n > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n)
                cap *= 2;
            if ((q->p = realloc(q->p, cap)) == NULL)
                bench_die("realloc", ENOMEM);
            q->cap = cap;
        }
    }
    memcpy(q->p + q->off + q->len, src, n);
    q->len += n;
}

static void outq_consume(struct outq *q, size_t n)
{
    q->off += n;
    q->len -= n;
    if (q->len == 0)
        q->off = 0;
}

/* Moves every complete line of in[0..*inlen) to q, keeps the partial tail.
 * Returns -1 when a line does not fit the input buffer. */
static int split_lines(char *in, size_t *inlen, struct outq *q)
{
    char *p = in, *end = in + *inlen, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        outq_append(q, p, (size_t)(nl + 1 - p));
        p = nl + 1;
    }
    size_t rest = (size_t)(end - p);
    if (rest == IN_CAP)
        return -1;
    if (rest > 0 && p != in)
        memmove(in, p, rest);
    *inlen = rest;
    return 0;
}

static int server_failed;

/* ------------------------------------------------------------ evloop */

static evl_loop *e_loop;
static int e_open;

struct e_conn {
    evl_stream s;
    evl_framer fr;
    struct outq out;             /* lines-raw only */
};

static void e_on_message(evl_stream *s, const char *msg, size_t len)
{
    if (evl_stream_write_message(s, msg, len) < 0)
        server_failed = 1;
}

/* lines-raw: the hand-written split of the peers, over evl_stream. */
static size_t e_on_read_lines(evl_stream *s, const char *data, size_t len)
{
    struct e_conn *c = s->data;
    const char *p = data, *end = data + len, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        outq_append(&c->out, p, (size_t)(nl + 1 - p));
        p = nl + 1;
    }
    if (c->out.len > 0 && evl_stream_write(s, c->out.p + c->out.off, c->out.len) < 0)
        server_failed = 1;
    outq_consume(&c->out, c->out.len);
    /* The partial line stays in the stream's buffer for the next call. */
    return (size_t)(p - data);
}

static size_t e_on_read(evl_stream *s, const char *data, size_t len)
{
    if (evl_stream_write(s, data, len) < 0)
        server_failed = 1;
    return len;
}

static void e_on_eof(evl_stream *s)
{
    evl_stream_close(s);
}

static void e_on_close(evl_stream *s)
{
    (void)s;
    if (--e_open == 0)
        evl_loop_stop(e_loop);
}

static void e_on_error(evl_stream *s, int err)
{
    fprintf(stderr, "bench_stream_echo: evl_stream error: %s\n", strerror(-err));
    server_failed = 1;
    /* -EBADF when the failing close already closed it: on_close follows. */
    evl_stream_close(s);
}

static void e_serve(enum mode mode, const int *fds)
{
    struct e_conn *cs = calloc((size_t)n_conns, sizeof(*cs));
    if (cs == NULL)
        bench_die("calloc", ENOMEM);
    struct evl_stream_callbacks cb = {
        .on_eof = e_on_eof, .on_close = e_on_close, .on_error = e_on_error,
    };
    if (mode == MODE_LINES)
        cb.on_message = e_on_message;
    else if (mode == MODE_LINES_RAW)
        cb.on_read = e_on_read_lines;
    else
        cb.on_read = e_on_read;
    e_open = n_conns;
    for (int i = 0; i < n_conns; i++) {
        /* The framer goes in before the loop runs, so no bytes can arrive
         * unframed. */
        cs[i].s.data = &cs[i];   /* init keeps the user slot */
        bench_check(evl_stream_init(&cs[i].s, e_loop, fds[i], 0, &cb), "evl_stream_init");
        if (mode == MODE_LINES) {
            bench_check(evl_framer_init(&cs[i].fr, EVL_FRAMER_LINE, 0, 0, NULL, 0),
                        "evl_framer_init");
            bench_check(evl_stream_set_framer(&cs[i].s, &cs[i].fr), "evl_stream_set_framer");
        }
    }
    bench_check(evl_loop_run(e_loop), "evl_loop_run");
    for (int i = 0; i < n_conns; i++) {
        evl_stream_free(&cs[i].s);
        free(cs[i].out.p);
    }
    free(cs);
}

/* ------------------------------------------------------------ libev */

static struct ev_loop *v_loop;

struct v_conn {
    ev_io rw, ww;
    int fd;
    enum mode mode;
    char *in;
    size_t inlen;
    struct outq out;
};

static void v_close(struct v_conn *c)
{
    ev_io_stop(v_loop, &c->rw);
    ev_io_stop(v_loop, &c->ww);
    close(c->fd);
    c->fd = -1;
}

/* Writes the queue; on a full socket the write watcher takes over. */
static void v_flush(struct v_conn *c)
{
    while (c->out.len > 0) {
        ssize_t w = write(c->fd, c->out.p + c->out.off, c->out.len);
        if (w < 0) {
            if (errno == EAGAIN)
                break;
            server_failed = 1;
            v_close(c);
            return;
        }
        outq_consume(&c->out, (size_t)w);
    }
    if (c->out.len > 0 && !ev_is_active(&c->ww))
        ev_io_start(v_loop, &c->ww);
    else if (c->out.len == 0 && ev_is_active(&c->ww))
        ev_io_stop(v_loop, &c->ww);
}

static void v_on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    v_flush(w->data);
}

static void v_on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct v_conn *c = w->data;
    ssize_t n = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        if (n < 0)
            server_failed = 1;
        v_close(c);
        return;
    }
    if (c->mode == MODE_LINES) {
        c->inlen += (size_t)n;
        if (split_lines(c->in, &c->inlen, &c->out) < 0) {
            server_failed = 1;
            v_close(c);
            return;
        }
        if (!ev_is_active(&c->ww))
            v_flush(c);
        return;
    }
    /* Bulk: straight from the read buffer; only a remainder is copied. */
    size_t done = 0;
    if (c->out.len == 0) {
        ssize_t wr = write(c->fd, c->in, (size_t)n);
        if (wr < 0 && errno != EAGAIN) {
            server_failed = 1;
            v_close(c);
            return;
        }
        done = wr > 0 ? (size_t)wr : 0;
    }
    if (done < (size_t)n) {
        outq_append(&c->out, c->in + done, (size_t)n - done);
        if (!ev_is_active(&c->ww))
            ev_io_start(v_loop, &c->ww);
    }
}

static void v_serve(enum mode mode, const int *fds)
{
    struct v_conn *cs = calloc((size_t)n_conns, sizeof(*cs));
    if (cs == NULL)
        bench_die("calloc", ENOMEM);
    for (int i = 0; i < n_conns; i++) {
        struct v_conn *c = &cs[i];
        c->fd = fds[i];
        c->mode = mode == MODE_LINES_RAW ? MODE_LINES : mode;
        if ((c->in = malloc(IN_CAP)) == NULL)
            bench_die("malloc", ENOMEM);
        ev_io_init(&c->rw, v_on_read, c->fd, EV_READ);
        ev_io_init(&c->ww, v_on_write, c->fd, EV_WRITE);
        c->rw.data = c->ww.data = c;
        ev_io_start(v_loop, &c->rw);
    }
    /* Returns when no watcher is left, i.e. every connection closed. */
    ev_run(v_loop, 0);
    for (int i = 0; i < n_conns; i++) {
        free(cs[i].in);
        free(cs[i].out.p);
    }
    free(cs);
}

/* ------------------------------------------------------------ libuv */

static uv_loop_t u_loop;

struct u_conn {
    uv_pipe_t h;
    enum mode mode;
    char *in;
    size_t inlen;
    struct outq out;             /* lines: the split output, reused */
};

struct u_wreq {
    uv_write_t req;
    uv_buf_t buf;
};

static void u_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct u_conn *c = h->data;
    *buf = uv_buf_init(c->in + c->inlen, (unsigned)(IN_CAP - c->inlen));
}

static void u_on_written(uv_write_t *req, int status)
{
    struct u_wreq *w = (struct u_wreq *)req;
    if (status < 0)
        server_failed = 1;
    free(w->buf.base);
    free(w);
}

/* libuv's documented fast path: try now, queue a copy of the rest.  A
 * pending uv_write makes uv_try_write return UV_EAGAIN, so order holds. */
static void u_send(struct u_conn *c, const char *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&c->h, &b, 1);
    if (w == (int)n)
        return;
    if (w < 0)
        w = 0;
    struct u_wreq *r = malloc(sizeof(*r));
    char *copy = malloc(n - (size_t)w);
    if (r == NULL || copy == NULL)
        bench_die("malloc", ENOMEM);
    memcpy(copy, p + w, n - (size_t)w);
    r->buf = uv_buf_init(copy, (unsigned)(n - (size_t)w));
    if (uv_write(&r->req, (uv_stream_t *)&c->h, &r->buf, 1, u_on_written) < 0)
        server_failed = 1;
}

static void u_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct u_conn *c = s->data;
    if (n < 0) {
        if (n != UV_EOF)
            server_failed = 1;
        uv_close((uv_handle_t *)s, NULL);
        return;
    }
    if (n == 0)
        return;
    if (c->mode == MODE_LINES) {
        c->inlen += (size_t)n;
        if (split_lines(c->in, &c->inlen, &c->out) < 0) {
            server_failed = 1;
            uv_close((uv_handle_t *)s, NULL);
            return;
        }
        u_send(c, c->out.p + c->out.off, c->out.len);
        outq_consume(&c->out, c->out.len);
        return;
    }
    u_send(c, c->in, (size_t)n);
}

static void u_serve(enum mode mode, const int *fds)
{
    struct u_conn *cs = calloc((size_t)n_conns, sizeof(*cs));
    if (cs == NULL)
        bench_die("calloc", ENOMEM);
    for (int i = 0; i < n_conns; i++) {
        struct u_conn *c = &cs[i];
        c->mode = mode == MODE_LINES_RAW ? MODE_LINES : mode;
        if ((c->in = malloc(IN_CAP)) == NULL)
            bench_die("malloc", ENOMEM);
        bench_check(uv_pipe_init(&u_loop, &c->h, 0), "uv_pipe_init");
        bench_check(uv_pipe_open(&c->h, fds[i]), "uv_pipe_open");
        c->h.data = c;
        bench_check(uv_read_start((uv_stream_t *)&c->h, u_on_alloc, u_on_read),
                    "uv_read_start");
    }
    /* Returns when every handle is closed. */
    uv_run(&u_loop, UV_RUN_DEFAULT);
    for (int i = 0; i < n_conns; i++) {
        free(cs[i].in);
        free(cs[i].out.p);
    }
    free(cs);
}

/* ------------------------------------------------------------ driver */

static void (*const serve[LIB_COUNT])(enum mode, const int *) = { e_serve, v_serve, u_serve };

/* One run of one library in one mode: CPU ns of the server thread and
 * wall ns of the generator. */
static void run_one(int lib, enum mode mode, uint64_t *cpu_ns, uint64_t *wall_ns)
{
    int *srv = malloc((size_t)n_conns * sizeof(int));
    int *cli = malloc((size_t)n_conns * sizeof(int));
    if (srv == NULL || cli == NULL)
        bench_die("malloc", ENOMEM);
    for (int i = 0; i < n_conns; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
            bench_die("socketpair", errno);
        srv[i] = sv[0];
        cli[i] = sv[1];
    }
    struct gen g = { .mode = mode, .fds = cli };
    server_failed = 0;
    uint64_t t0 = bench_cpu_ns();
    pthread_t th;
    int rc = pthread_create(&th, NULL, gen_main, &g);
    if (rc != 0)
        bench_die("pthread_create", rc);
    serve[lib](mode, srv);
    uint64_t t1 = bench_cpu_ns();
    pthread_join(th, NULL);
    if (g.failure != NULL || server_failed) {
        static const char *const mode_name[] = { "lines", "lines-raw", "bulk" };
        fprintf(stderr, "bench_stream_echo: %s %s: %s\n", bench_lib_name[lib], mode_name[mode],
                g.failure ? g.failure : "server reported an error");
        exit(1);
    }
    *cpu_ns = t1 - t0;
    *wall_ns = g.wall_ns;
    free(srv);
    free(cli);
}

/* Server on one CPU, generator on another, as the peers' run_echo.sh
 * does; with fewer than two CPUs the scheduler decides. */
static void choose_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
        return;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        if (cpu_server < 0)
            cpu_server = cpu;
        else if (cpu_client < 0)
            cpu_client = cpu;
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_stream_echo: timed out\n";
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3;
    if (argc > 2)
        n_conns = atoi(argv[2]);
    if (argc > 3)
        depth = atoi(argv[3]);
    if (argc > 4)
        lines_per_conn = atol(argv[4]);
    if (argc > 5)
        bulk_bytes_per_conn = strtoull(argv[5], NULL, 10) << 20;
    if (rounds < 1 || n_conns < 1 || depth < 1 || lines_per_conn < 1 ||
        bulk_bytes_per_conn == 0) {
        fprintf(stderr, "usage: bench_stream_echo [ROUNDS [CONNS [DEPTH [LINES [BULK_MIB]]]]]\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(600);
    bench_raise_nofile(2 * (size_t)n_conns + 64);
    for (int i = 0; i < LINE_LEN - 1; i++)
        line[i] = (char)('a' + i % 26);
    line[LINE_LEN - 1] = '\n';
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (char)((i % PATTERN_PERIOD) * 131 + 7);
    choose_cpus();
    pin_self(cpu_server);

    bench_check(evl_loop_new(&e_loop, EVL_REACTOR, 0), "evl_loop_new");
    if ((v_loop = ev_loop_new(EVBACKEND_EPOLL)) == NULL)
        bench_die("ev_loop_new", ENOMEM);
    bench_check(uv_loop_init(&u_loop), "uv_loop_init");

    enum { F_LCPU, F_LRATE, F_RCPU, F_BCPU, F_BRATE, F_COUNT };
    double *samples[LIB_COUNT][F_COUNT];
    for (int lib = 0; lib < LIB_COUNT; lib++)
        for (int f = 0; f < F_COUNT; f++)
            if ((samples[lib][f] = calloc(rounds, sizeof(double))) == NULL)
                bench_die("calloc", ENOMEM);

    double lines = (double)n_conns * (double)lines_per_conn;
    double mib = (double)n_conns * (double)bulk_bytes_per_conn / (1 << 20);
    /* Round 0 warms up (buffers, page faults, the CPU's clock) uncounted. */
    for (unsigned r = 0; r <= rounds; r++) {
        for (int k = 0; k < LIB_COUNT; k++) {
            int lib = (int)((r + (unsigned)k) % LIB_COUNT);
            if (!bench_lib_enabled(lib))
                continue;
            uint64_t cpu, wall;
            run_one(lib, MODE_LINES, &cpu, &wall);
            if (r > 0) {
                samples[lib][F_LCPU][r - 1] = (double)cpu / lines;
                samples[lib][F_LRATE][r - 1] = lines * 1e9 / (double)wall;
            }
            run_one(lib, MODE_LINES_RAW, &cpu, &wall);
            if (r > 0)
                samples[lib][F_RCPU][r - 1] = (double)cpu / lines;
            run_one(lib, MODE_BULK, &cpu, &wall);
            if (r > 0) {
                samples[lib][F_BCPU][r - 1] = (double)cpu / 1e3 / mib;
                samples[lib][F_BRATE][r - 1] = mib * 1e9 / (double)wall;
            }
        }
    }

    printf("# stream echo over socketpairs: %d conns; lines: %d x %d-byte in flight, "
           "%ld per conn; bulk: %llu MiB per conn, %llu KiB window; %u rounds (medians)%s\n",
           n_conns, depth, LINE_LEN, lines_per_conn,
           (unsigned long long)(bulk_bytes_per_conn >> 20),
           (unsigned long long)(BULK_WINDOW >> 10), rounds,
           cpu_client >= 0 ? "; server and generator pinned to two CPUs" : "");
    static const char *const figure[F_COUNT] = { "lines-cpu", "lines-rate", "lines-raw-cpu",
                                                 "bulk-cpu", "bulk-rate" };
    static const char *const unit[F_COUNT] = { "ns/line", "lines/s", "ns/line", "us/MiB",
                                               "MiB/s" };
    for (int f = 0; f < F_COUNT; f++) {
        double med[LIB_COUNT];
        for (int lib = 0; lib < LIB_COUNT; lib++) {
            med[lib] = bench_median(samples[lib][f], rounds);
            bench_result("stream", figure[f], lib, med[lib], unit[f]);
        }
        bench_ratios("stream", figure[f], med, f != F_LRATE && f != F_BRATE);
    }

    evl_loop_free(e_loop);
    ev_loop_destroy(v_loop);
    uv_loop_close(&u_loop);
    for (int lib = 0; lib < LIB_COUNT; lib++)
        for (int f = 0; f < F_COUNT; f++)
            free(samples[lib][f]);
    return 0;
}
