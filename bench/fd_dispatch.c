/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fd_dispatch.c - fd-watcher dispatch cost: libevloop vs libev vs libuv.
 *
 * Measures libev's "classic" benchmark (inherited from libevent's
 * test/bench.c): N pipes (default 1000), each with a read watcher.  One
 * iteration
 *   1. re-arms every watcher (stop + start) and runs one non-blocking
 *      loop pass, so that lazy backends have told the kernel;
 *   2. writes one byte into A pipes spread evenly (default 100 active);
 *   3. runs non-blocking passes until every byte is read.  Each callback
 *      reads its byte and, while the write budget W (default 1000) lasts,
 *      writes one into the next pipe, so A + W events are dispatched.
 * Reported per library (median over rounds, CPU time of this thread):
 *   rearm     ns per watcher for step 1 (stop + start + the pass)
 *   dispatch  ns per event for step 3: epoll_wait, the library's
 *             dispatch, and the callback's read() and write()
 *   dispatch-persist  the same ITERS more times without step 1, i.e.
 *             with watchers that stay registered (the common case)
 * Step 2 is not timed.  The order of the libraries rotates every round,
 * and each library has its own set of pipes (see lib_pipes).
 *
 * usage: bench_fd_dispatch [N [A [W [ITERS [ROUNDS]]]]]
 * output: RESULT/RATIO lines (see bench.h); bench/run.sh makes the table.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <ev.h>
#include <uv.h>

#include "evloop.h"
#include "bench.h"

static size_t n_pipes, n_active, n_writes;
/* Every library has its own pipes: libev keeps an fd registered in its
 * epoll set after ev_io_stop (it drops it lazily, on the first spurious
 * event), so shared pipes would make every write during another
 * library's turn also wake libev's epoll, a cost that library would pay
 * and libev not.  pipe_fds points at the set of the library running. */
static int *lib_pipes[LIB_COUNT];    /* [2 * i] read end, [2 * i + 1] write end */
static int *pipe_fds;
static size_t count, fired, writes_left;

/* The work every library's callback does: identical, so only the
 * dispatch around it differs. */
static void on_ready(size_t idx)
{
    char ch;
    if (read(pipe_fds[2 * idx], &ch, 1) == 1)
        count++;
    if (writes_left > 0) {
        size_t widx = idx + 1 == n_pipes ? 0 : idx + 1;
        if (write(pipe_fds[2 * widx + 1], "e", 1) != 1)
            bench_die("write", errno);
        writes_left--;
        fired++;
    }
}

static void kick(void)
{
    size_t space = n_pipes / n_active;
    count = 0;
    fired = 0;
    writes_left = n_writes;
    for (size_t i = 0; i < n_active; i++, fired++)
        if (write(pipe_fds[2 * (i * space) + 1], "e", 1) != 1)
            bench_die("write", errno);
}

struct lib_ops {
    void (*rearm)(void);     /* stop + start every watcher */
    void (*pass)(void);      /* one non-blocking loop iteration */
};

/* ------------------------------------------------------------ evloop */

static evl_loop *e_loop;
static evl_watcher *e_w;

static void e_cb(evl_watcher *w, unsigned revents)
{
    (void)revents;
    on_ready((size_t)(uintptr_t)w->data);
}

static void e_setup(void)
{
    bench_check(evl_loop_new(&e_loop, EVL_REACTOR, 0), "evl_loop_new");
    e_w = calloc(n_pipes, sizeof(*e_w));
    if (e_w == NULL)
        bench_die("calloc", ENOMEM);
    for (size_t i = 0; i < n_pipes; i++) {
        evl_watcher_init(&e_w[i], e_cb, NULL, NULL);
        e_w[i].data = (void *)(uintptr_t)i;
    }
}

static void e_rearm(void)
{
    for (size_t i = 0; i < n_pipes; i++) {
        evl_watcher_stop(&e_w[i]);
        bench_check(evl_watcher_start(e_loop, &e_w[i], lib_pipes[LIB_EVLOOP][2 * i], EVL_READ),
                    "evl_watcher_start");
    }
}

static void e_pass(void)
{
    bench_check(evl_loop_run_once(e_loop, 0), "evl_loop_run_once");
}

static void e_teardown(void)
{
    for (size_t i = 0; i < n_pipes; i++)
        evl_watcher_stop(&e_w[i]);
    evl_loop_free(e_loop);
    free(e_w);
}

/* ------------------------------------------------------------ libev */

static struct ev_loop *v_loop;
static ev_io *v_w;

static void v_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    on_ready((size_t)(uintptr_t)w->data);
}

static void v_setup(void)
{
    v_loop = ev_loop_new(EVBACKEND_EPOLL);
    if (v_loop == NULL)
        bench_die("ev_loop_new", ENOMEM);
    v_w = calloc(n_pipes, sizeof(*v_w));
    if (v_w == NULL)
        bench_die("calloc", ENOMEM);
    for (size_t i = 0; i < n_pipes; i++) {
        ev_io_init(&v_w[i], v_cb, lib_pipes[LIB_LIBEV][2 * i], EV_READ);
        v_w[i].data = (void *)(uintptr_t)i;
    }
}

static void v_rearm(void)
{
    for (size_t i = 0; i < n_pipes; i++) {
        ev_io_stop(v_loop, &v_w[i]);
        ev_io_start(v_loop, &v_w[i]);
    }
}

static void v_pass(void)
{
    ev_run(v_loop, EVRUN_NOWAIT);
}

static void v_teardown(void)
{
    for (size_t i = 0; i < n_pipes; i++)
        ev_io_stop(v_loop, &v_w[i]);
    ev_loop_destroy(v_loop);
    free(v_w);
}

/* ------------------------------------------------------------ libuv */

static uv_loop_t u_loop;
static uv_poll_t *u_w;

static void u_cb(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    on_ready((size_t)(uintptr_t)p->data);
}

static void u_setup(void)
{
    bench_check(uv_loop_init(&u_loop), "uv_loop_init");
    u_w = calloc(n_pipes, sizeof(*u_w));
    if (u_w == NULL)
        bench_die("calloc", ENOMEM);
    for (size_t i = 0; i < n_pipes; i++) {
        bench_check(uv_poll_init(&u_loop, &u_w[i], lib_pipes[LIB_LIBUV][2 * i]),
                    "uv_poll_init");
        u_w[i].data = (void *)(uintptr_t)i;
    }
}

static void u_rearm(void)
{
    for (size_t i = 0; i < n_pipes; i++) {
        uv_poll_stop(&u_w[i]);
        bench_check(uv_poll_start(&u_w[i], UV_READABLE, u_cb), "uv_poll_start");
    }
}

static void u_pass(void)
{
    uv_run(&u_loop, UV_RUN_NOWAIT);
}

static void u_teardown(void)
{
    for (size_t i = 0; i < n_pipes; i++)
        uv_close((uv_handle_t *)&u_w[i], NULL);
    uv_run(&u_loop, UV_RUN_DEFAULT);
    bench_check(uv_loop_close(&u_loop), "uv_loop_close");
    free(u_w);
}

/* ------------------------------------------------------------ driver */

static const struct lib_ops ops[LIB_COUNT] = {
    { e_rearm, e_pass },
    { v_rearm, v_pass },
    { u_rearm, u_pass },
};

/* One iteration; adds its CPU time to *rearm_ns and *run_ns.  Without
 * rearm the watchers simply stay registered (the persistent variant). */
static void iterate(const struct lib_ops *o, int rearm, uint64_t *rearm_ns, uint64_t *run_ns,
                    size_t *events)
{
    uint64_t t0 = bench_cpu_ns();
    if (rearm) {
        o->rearm();
        o->pass();
    }
    uint64_t t1 = bench_cpu_ns();
    kick();
    uint64_t t2 = bench_cpu_ns();
    /* Bounded: every pass reads what is ready, and writes stop after W. */
    do
        o->pass();
    while (count != fired);
    uint64_t t3 = bench_cpu_ns();
    *rearm_ns += t1 - t0;
    *run_ns += t3 - t2;
    *events += count;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_fd_dispatch: timed out\n";
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

int main(int argc, char **argv)
{
    n_pipes = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    n_active = argc > 2 ? strtoul(argv[2], NULL, 10) : 100;
    n_writes = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
    unsigned iters = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 50;
    unsigned rounds = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 5;
    if (n_pipes < 2 || n_active < 1 || n_active > n_pipes || iters < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_fd_dispatch [N [A<=N [W [ITERS [ROUNDS]]]]]\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(300);
    bench_raise_nofile(2 * LIB_COUNT * n_pipes + 64);

    for (int lib = 0; lib < LIB_COUNT; lib++) {
        lib_pipes[lib] = malloc(2 * n_pipes * sizeof(int));
        if (lib_pipes[lib] == NULL)
            bench_die("malloc", ENOMEM);
        for (size_t i = 0; i < n_pipes; i++)
            if (pipe2(&lib_pipes[lib][2 * i], O_NONBLOCK | O_CLOEXEC) < 0)
                bench_die("pipe2", errno);
    }

    e_setup();
    v_setup();
    u_setup();

    double *rearm[LIB_COUNT], *disp[LIB_COUNT], *persist[LIB_COUNT];
    for (int lib = 0; lib < LIB_COUNT; lib++) {
        rearm[lib] = calloc(rounds, sizeof(double));
        disp[lib] = calloc(rounds, sizeof(double));
        persist[lib] = calloc(rounds, sizeof(double));
        if (rearm[lib] == NULL || disp[lib] == NULL || persist[lib] == NULL)
            bench_die("calloc", ENOMEM);
    }

    /* Round 0 warms up (epoll registrations, event arrays, caches). */
    for (unsigned r = 0; r <= rounds; r++) {
        for (int k = 0; k < LIB_COUNT; k++) {
            int lib = (int)((r + (unsigned)k) % LIB_COUNT);
            if (!bench_lib_enabled(lib))
                continue;
            pipe_fds = lib_pipes[lib];
            uint64_t rearm_ns = 0, run_ns = 0, persist_ns = 0, unused = 0;
            size_t events = 0, persist_events = 0;
            for (unsigned i = 0; i < iters; i++)
                iterate(&ops[lib], 1, &rearm_ns, &run_ns, &events);
            for (unsigned i = 0; i < iters; i++)
                iterate(&ops[lib], 0, &unused, &persist_ns, &persist_events);
            if (r == 0)
                continue;
            rearm[lib][r - 1] = (double)rearm_ns / ((double)iters * n_pipes);
            disp[lib][r - 1] = (double)run_ns / (double)events;
            persist[lib][r - 1] = (double)persist_ns / (double)persist_events;
        }
    }

    printf("# fd dispatch: %zu pipes, %zu active, %zu writes, %u iterations x %u rounds "
           "(medians)\n", n_pipes, n_active, n_writes, iters, rounds);
    double med[LIB_COUNT];
    for (int lib = 0; lib < LIB_COUNT; lib++) {
        med[lib] = bench_median(disp[lib], rounds);
        bench_result("fd", "dispatch", lib, med[lib], "ns/event");
    }
    bench_ratios("fd", "dispatch", med, 1);
    for (int lib = 0; lib < LIB_COUNT; lib++) {
        med[lib] = bench_median(persist[lib], rounds);
        bench_result("fd", "dispatch-persist", lib, med[lib], "ns/event");
    }
    bench_ratios("fd", "dispatch-persist", med, 1);
    for (int lib = 0; lib < LIB_COUNT; lib++) {
        med[lib] = bench_median(rearm[lib], rounds);
        bench_result("fd", "rearm", lib, med[lib], "ns/watcher");
    }
    bench_ratios("fd", "rearm", med, 1);

    e_teardown();
    v_teardown();
    u_teardown();
    for (int lib = 0; lib < LIB_COUNT; lib++) {
        for (size_t i = 0; i < 2 * n_pipes; i++)
            close(lib_pipes[lib][i]);
        free(lib_pipes[lib]);
    }
    for (int lib = 0; lib < LIB_COUNT; lib++) {
        free(rearm[lib]);
        free(disp[lib]);
        free(persist[lib]);
    }
    return 0;
}
