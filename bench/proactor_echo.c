/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* proactor_echo.c - loopback TCP echo: evl_stream on a proactor (io_uring)
 * loop vs the same code on a reactor (epoll) loop vs a minimal raw
 * liburing echo.
 *
 * Measures the server side of a byte echo over 127.0.0.1 TCP, with one
 * load generator shared by all servers (a port of the team's
 * bench-reference/echo_client.c to a thread: C connections, D 64-byte
 * lines in flight on each, every echoed byte checked).  Servers:
 *   proactor    evl_stream on an EVL_PROACTOR (uring) loop, raw mode:
 *               on_read -> evl_stream_write of everything, on_eof -> close
 *   reactor     the very same callbacks on an EVL_REACTOR (epoll) loop
 *   uring       raw liburing, bench-reference/echo_uring.c "basic": per
 *               connection recv -> send -> recv on a blocking socket (the
 *               kernel's FAST_POLL waits), one 4 KiB buffer per
 *               connection, one io_uring_submit_and_wait per batch; ring
 *               set up with the flags evloop asks for (SUBMIT_ALL |
 *               COOP_TASKRUN), so the engines, not the setup, differ
 *   uring-coop  the same with SINGLE_ISSUER | DEFER_TASKRUN, as
 *               bench-reference/run_echo.sh runs echo_uring ("coop"),
 *               which evloop cannot use (a loop may change threads)
 * The listener binds 127.0.0.1 port 0; connections are accepted before
 * the clock starts, so the figures are the steady echo only.  The
 * generator thread is pinned to one CPU and the server (this thread) to
 * another, as run_echo.sh pins its two processes.
 * Reported per server and configuration CxD (median over rounds):
 *   CxD-cpu   server thread CPU ns per echoed line (user + system of the
 *             server thread only; the io_uring work runs as its task work,
 *             so it is counted; the figure to trust on a noisy machine)
 *   CxD-rate  lines/s seen by the generator
 * and the same-run ratios proactor/uring, proactor/uring-coop,
 * proactor/reactor and reactor/uring (above 1.00: the first is faster).
 *
 * usage: bench_proactor_echo [ROUNDS [CONNS:DEPTH:LINES_PER_CONN ...]]
 *   default: 3 rounds of 1:1:5000 50:1:1000 50:8:4000 (each figure about
 *   10 s on the 2-CPU VM: ping-pong over loopback is slow there)
 *   BENCH_LIBS="proactor uring" runs only those servers.
 * output: RESULT/RATIO lines (see bench-px.h); bench/run-proactor.sh
 * makes the table.
 * Bounded: alarm(300), no echo for 10 s fails the run, 127.0.0.1 only.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "bench-px.h"

#define LINE_LEN 64
#define URING_BUF 4096
#define URING_ENTRIES 1024
#define MAX_CONFIGS 8

enum srv { S_PROACTOR, S_REACTOR, S_URING, S_URING_COOP, S_COUNT };
static const char *const srv_name[S_COUNT] = { "proactor", "reactor", "uring", "uring-coop" };

struct config {
    int conns, depth;
    long lines;                  /* per connection */
};

static int n_conns, depth;
static long lines_per_conn;
static char line[LINE_LEN];
static int cpu_server = -1, cpu_client = -1;
static int server_failed;

/* ------------------------------------------------------------ generator */

struct gen_conn {
    int fd;
    long sent, recvd;            /* lines */
    size_t rpos;                 /* bytes of the current line received */
    int done;
};

struct gen {
    int port;
    pthread_barrier_t *go;
    uint64_t wall_ns;
    const char *failure;         /* NULL when every byte matched */
};

static int gen_send(struct gen_conn *c, long k)
{
    char buf[LINE_LEN * 64];
    while (k > 0) {
        long m = k > 64 ? 64 : k;
        for (long i = 0; i < m; i++)
            memcpy(buf + i * LINE_LEN, line, LINE_LEN);
        /* D lines never fill an empty-enough loopback socket buffer; a
         * short write would mean the server stopped reading. */
        if (write(c->fd, buf, (size_t)m * LINE_LEN) != m * LINE_LEN)
            return -1;
        c->sent += m;
        k -= m;
    }
    return 0;
}

/* Reads what is there and tops the window up; returns 0, 1 when the
 * connection has all its lines back, or -1 with *why set. */
static int gen_readable(struct gen_conn *c, const char **why)
{
    static __thread char rbuf[1 << 16];
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
                *why = "echoed byte differs";
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
        if (want > 0 && gen_send(c, want) < 0) {
            *why = "short write";
            return -1;
        }
        if (c->recvd == lines_per_conn)
            return 1;
    }
}

static void *gen_main(void *arg)
{
    struct gen *g = arg;
    px_pin_self(cpu_client);
    struct gen_conn *cs = calloc((size_t)n_conns, sizeof(*cs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    /* The server waits in accept for us: a soft failure would hang it. */
    if (cs == NULL || ep < 0)
        bench_die("generator setup", ENOMEM);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n_conns; i++) {
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            bench_die("generator connect", errno);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        cs[i].fd = fd;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    /* The server has accepted everything once it reaches the barrier, so
     * the wall clock starts with the echo itself. */
    pthread_barrier_wait(g->go);
    uint64_t t0 = bench_wall_ns();
    int open_conns = n_conns;
    for (int i = 0; i < n_conns; i++)
        if (gen_send(&cs[i], depth < lines_per_conn ? depth : lines_per_conn) < 0) {
            g->failure = "short write";
            goto out;
        }
    while (open_conns > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 10000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            g->failure = n == 0 ? "no echo for 10 s" : "epoll_wait failed";
            goto out;
        }
        for (int e = 0; e < n; e++) {
            struct gen_conn *c = evs[e].data.ptr;
            if (c->done)
                continue;
            int rc = gen_readable(c, &g->failure);
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
        if (!cs[i].done)
            close(cs[i].fd);
    close(ep);
    free(cs);
    return NULL;
}

/* ------------------------------------------------------------ evloop */

static evl_loop *e_loop;
static int e_open;

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
    fprintf(stderr, "bench_proactor_echo: evl_stream error: %s\n", strerror(-err));
    server_failed = 1;
    evl_stream_close(s);
}

static void e_serve(evl_loop *loop, const int *fds)
{
    evl_stream *ss = calloc((size_t)n_conns, sizeof(*ss));
    if (ss == NULL)
        bench_die("calloc", ENOMEM);
    static const struct evl_stream_callbacks cb = {
        .on_read = e_on_read, .on_eof = e_on_eof, .on_close = e_on_close,
        .on_error = e_on_error,
    };
    e_loop = loop;
    e_open = n_conns;
    for (int i = 0; i < n_conns; i++)
        bench_check(evl_stream_init(&ss[i], loop, fds[i], 0, &cb), "evl_stream_init");
    bench_check(evl_loop_run(loop), "evl_loop_run");
    for (int i = 0; i < n_conns; i++)
        evl_stream_free(&ss[i]);
    free(ss);
}

/* ------------------------------------------------------------ raw liburing */

struct u_conn {
    int fd;
    int sendoff, sendlen;
    char buf[URING_BUF];
};

/* user_data: connection index << 1 | 1 for a send. */
#define UD(i, is_send) (((uint64_t)(i) << 1) | (uint64_t)(is_send))

static struct io_uring_sqe *u_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe == NULL) {
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    if (sqe == NULL)
        bench_die("io_uring_get_sqe", EBUSY);
    return sqe;
}

static void u_recv(struct io_uring *ring, struct u_conn *cs, int i)
{
    struct io_uring_sqe *sqe = u_sqe(ring);
    io_uring_prep_recv(sqe, cs[i].fd, cs[i].buf, URING_BUF, 0);
    io_uring_sqe_set_data64(sqe, UD(i, 0));
}

static void u_send(struct io_uring *ring, struct u_conn *cs, int i)
{
    struct u_conn *c = &cs[i];
    struct io_uring_sqe *sqe = u_sqe(ring);
    io_uring_prep_send(sqe, c->fd, c->buf + c->sendoff, (size_t)(c->sendlen - c->sendoff),
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, UD(i, 1));
}

static void u_serve(struct io_uring *ring, const int *fds)
{
    struct u_conn *cs = calloc((size_t)n_conns, sizeof(*cs));
    if (cs == NULL)
        bench_die("calloc", ENOMEM);
    for (int i = 0; i < n_conns; i++) {
        cs[i].fd = fds[i];
        u_recv(ring, cs, i);
    }
    int open_conns = n_conns;
    while (open_conns > 0) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_submit_and_wait(ring, 1);
        if (rc < 0 && rc != -EINTR)
            bench_die("io_uring_submit_and_wait", rc);
        unsigned head, n = 0;
        io_uring_for_each_cqe(ring, head, cqe) {
            n++;
            int i = (int)(cqe->user_data >> 1), res = cqe->res;
            struct u_conn *c = &cs[i];
            if (!(cqe->user_data & 1)) {
                if (res <= 0) {
                    /* Nothing else of this connection is in flight. */
                    if (res < 0)
                        server_failed = 1;
                    close(c->fd);
                    open_conns--;
                    continue;
                }
                c->sendoff = 0;
                c->sendlen = res;
                u_send(ring, cs, i);
            } else if (res < 0) {
                server_failed = 1;
                close(c->fd);
                open_conns--;
            } else if (c->sendoff + res < c->sendlen) {
                c->sendoff += res;
                u_send(ring, cs, i);
            } else {
                u_recv(ring, cs, i);
            }
        }
        io_uring_cq_advance(ring, n);
    }
    free(cs);
}

/* ------------------------------------------------------------ driver */

static evl_loop *loop_px, *loop_re;
static struct io_uring ring_plain, ring_coop;

static void serve(int srv, const int *fds)
{
    switch (srv) {
    case S_PROACTOR: e_serve(loop_px, fds); break;
    case S_REACTOR: e_serve(loop_re, fds); break;
    case S_URING: u_serve(&ring_plain, fds); break;
    case S_URING_COOP: u_serve(&ring_coop, fds); break;
    }
}

/* One run of one server: CPU ns of the server thread, wall ns of the
 * generator. */
static void run_one(int srv, uint64_t *cpu_ns, uint64_t *wall_ns)
{
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof(sa);
    if (lfd < 0)
        bench_die("socket", errno);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
        bench_die("listen on 127.0.0.1", errno);

    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct gen g = { .port = ntohs(sa.sin_port), .go = &go };
    pthread_t th;
    int rc = pthread_create(&th, NULL, gen_main, &g);
    if (rc != 0)
        bench_die("pthread_create", rc);
    int *fds = malloc((size_t)n_conns * sizeof(int));
    if (fds == NULL)
        bench_die("malloc", ENOMEM);
    /* Blocking sockets: raw liburing wants them so (FAST_POLL), and
     * evl_stream_init makes its own fds non-blocking. */
    for (int i = 0; i < n_conns; i++) {
        if ((fds[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
            bench_die("accept", errno);
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    close(lfd);
    server_failed = 0;
    pthread_barrier_wait(&go);
    uint64_t t0 = bench_cpu_ns();
    serve(srv, fds);
    uint64_t t1 = bench_cpu_ns();
    pthread_join(th, NULL);
    pthread_barrier_destroy(&go);
    free(fds);
    if (g.failure != NULL || server_failed) {
        fprintf(stderr, "bench_proactor_echo: %s %dx%d: %s\n", srv_name[srv], n_conns, depth,
                g.failure ? g.failure : "server reported an error");
        exit(1);
    }
    *cpu_ns = t1 - t0;
    *wall_ns = g.wall_ns;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_proactor_echo: timed out\n";
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

static void ring_init(struct io_uring *ring, unsigned flags)
{
    int rc = io_uring_queue_init(URING_ENTRIES, ring, flags);
    if (rc < 0)
        bench_die("io_uring_queue_init", rc);
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3;
    struct config cfg[MAX_CONFIGS];
    int n_cfg = 0;
    static const char *const defaults[] = { "1:1:5000", "50:1:1000", "50:8:4000" };
    int n_args = argc > 2 ? argc - 2 : 3;
    for (int a = 0; a < n_args; a++) {
        const char *spec = argc > 2 ? argv[a + 2] : defaults[a];
        if (n_cfg == MAX_CONFIGS ||
            sscanf(spec, "%d:%d:%ld", &cfg[n_cfg].conns, &cfg[n_cfg].depth,
                   &cfg[n_cfg].lines) != 3 ||
            cfg[n_cfg].conns < 1 || cfg[n_cfg].depth < 1 || cfg[n_cfg].lines < 1 ||
            (long)cfg[n_cfg].depth * LINE_LEN > URING_BUF) {
            fprintf(stderr, "usage: bench_proactor_echo [ROUNDS [CONNS:DEPTH:LINES ...]] "
                            "(DEPTH <= %d, at most %d configurations)\n",
                    URING_BUF / LINE_LEN, MAX_CONFIGS);
            return 1;
        }
        n_cfg++;
    }
    if (rounds < 1) {
        fprintf(stderr, "bench_proactor_echo: ROUNDS must be >= 1\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(300);
    int max_conns = 1;
    for (int c = 0; c < n_cfg; c++)
        if (cfg[c].conns > max_conns)
            max_conns = cfg[c].conns;
    bench_raise_nofile(2 * (size_t)max_conns + 64);
    for (int i = 0; i < LINE_LEN - 1; i++)
        line[i] = (char)('a' + i % 26);
    line[LINE_LEN - 1] = '\n';
    px_choose_cpus(&cpu_server, &cpu_client);
    /* Rings and loops belong to this thread from here on: SINGLE_ISSUER
     * insists on it. */
    px_pin_self(cpu_server);

    bench_check(evl_loop_new(&loop_px, EVL_PROACTOR, EVL_BACKEND_URING), "evl_loop_new proactor");
    bench_check(evl_loop_new(&loop_re, EVL_REACTOR, 0), "evl_loop_new reactor");
    ring_init(&ring_plain, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN);
    ring_init(&ring_coop, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);

    /* samples[config][server][cpu | rate][round] */
    double *samples[MAX_CONFIGS][S_COUNT][2];
    for (int c = 0; c < n_cfg; c++)
        for (int s = 0; s < S_COUNT; s++)
            for (int f = 0; f < 2; f++)
                if ((samples[c][s][f] = calloc(rounds, sizeof(double))) == NULL)
                    bench_die("calloc", ENOMEM);

    /* Round 0 warms up (buffers, page faults, the CPU's clock) uncounted;
     * the server order rotates each round so none always runs first. */
    for (unsigned r = 0; r <= rounds; r++) {
        for (int c = 0; c < n_cfg; c++) {
            n_conns = cfg[c].conns;
            depth = cfg[c].depth;
            lines_per_conn = cfg[c].lines;
            double lines = (double)n_conns * (double)lines_per_conn;
            for (int k = 0; k < S_COUNT; k++) {
                int srv = (int)((r + (unsigned)k) % S_COUNT);
                if (!px_enabled(srv_name[srv]))
                    continue;
                uint64_t cpu, wall;
                run_one(srv, &cpu, &wall);
                if (r > 0) {
                    samples[c][srv][0][r - 1] = (double)cpu / lines;
                    samples[c][srv][1][r - 1] = lines * 1e9 / (double)wall;
                }
            }
        }
    }

    printf("# proactor echo over 127.0.0.1 TCP: %d-byte lines, CxD = connections x lines in "
           "flight; %u rounds (medians)%s\n",
           LINE_LEN, rounds,
           cpu_client >= 0 ? "; server and generator pinned to two CPUs" : "");
    for (int c = 0; c < n_cfg; c++) {
        char fig[2][48];
        snprintf(fig[0], sizeof(fig[0]), "%dx%d-cpu", cfg[c].conns, cfg[c].depth);
        snprintf(fig[1], sizeof(fig[1]), "%dx%d-rate", cfg[c].conns, cfg[c].depth);
        static const char *const unit[2] = { "ns/line", "lines/s" };
        for (int f = 0; f < 2; f++) {
            double med[S_COUNT];
            for (int s = 0; s < S_COUNT; s++) {
                med[s] = px_enabled(srv_name[s]) ? bench_median(samples[c][s][f], rounds) : 0;
                if (med[s] > 0)
                    px_result("pxecho", fig[f], srv_name[s], med[s], unit[f]);
            }
            static const int pairs[][2] = { { S_PROACTOR, S_URING },
                                            { S_PROACTOR, S_URING_COOP },
                                            { S_PROACTOR, S_REACTOR },
                                            { S_REACTOR, S_URING } };
            for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
                px_ratio("pxecho", fig[f], srv_name[pairs[p][0]], med[pairs[p][0]],
                         srv_name[pairs[p][1]], med[pairs[p][1]], f == 0);
        }
    }

    evl_loop_free(loop_px);
    evl_loop_free(loop_re);
    io_uring_queue_exit(&ring_plain);
    io_uring_queue_exit(&ring_coop);
    for (int c = 0; c < n_cfg; c++)
        for (int s = 0; s < S_COUNT; s++)
            for (int f = 0; f < 2; f++)
                free(samples[c][s][f]);
    return 0;
}
