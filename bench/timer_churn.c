/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* timer_churn.c - timer start / cancel / fire cost: libevloop vs libev vs libuv.
 *
 * Measures: one round starts N timers (default 100000) with random
 * deadlines, stops a random half of them, then runs the loop until the
 * other half has fired.  Reported per library (median over rounds, CPU
 * time of this thread):
 *   start   ns per timer start
 *   cancel  ns per timer stop of a pending timer
 *   fire    ns per fired timer, including the loop iterations and kernel
 *           waits needed to get there (CPU only: sleeping is free)
 *   total   all three phases / (N starts + N/2 stops + N/2 fires)
 * Two deadline sets, the same values for every library:
 *   timer     whole milliseconds 1..MAX_MS (default 20), libuv's
 *             resolution: thousands of timers share each deadline, as
 *             when many timeouts are started in one callback batch, and
 *             the loop wakes about once per millisecond.
 *   timer-ns  distinct nanosecond deadlines in [1 ms, 2 ms): starting
 *             and cancelling take longer than that, so nearly all are due
 *             when the loop runs and "fire" is the heap's pop cost.
 *             libuv gets them rounded up to whole milliseconds.
 * The order of the libraries rotates every round so none always runs on
 * a cold cache.
 *
 * usage: bench_timer_churn [N [ROUNDS [MAX_MS]]]
 * output: RESULT/RATIO lines (see bench.h); bench/run.sh makes the table.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <signal.h>
#include <unistd.h>

#include <ev.h>
#include <uv.h>

#include "evloop.h"
#include "bench.h"

struct phase_times {
    double start_ns, cancel_ns, fire_ns;   /* per operation */
    double total_ns;
};

static size_t n_timers;
static uint64_t *deadline_ns;        /* per timer, identical for every library */
static size_t *cancel_idx;           /* the first n/2 of a random permutation */
static size_t fired, expected;

/* ------------------------------------------------------------ evloop */

static evl_loop *e_loop;
static evl_timer *e_timers;

static void e_fire(evl_timer *t)
{
    (void)t;
    if (++fired == expected)
        evl_loop_stop(e_loop);
}

static void e_setup(void)
{
    bench_check(evl_loop_new(&e_loop, EVL_REACTOR, 0), "evl_loop_new");
    e_timers = calloc(n_timers, sizeof(*e_timers));
    if (e_timers == NULL)
        bench_die("calloc", ENOMEM);
    for (size_t i = 0; i < n_timers; i++)
        bench_check(evl_timer_init(e_loop, &e_timers[i]), "evl_timer_init");
}

static void e_round(struct phase_times *pt)
{
    evl_loop_update_now(e_loop);
    uint64_t t0 = bench_cpu_ns();
    for (size_t i = 0; i < n_timers; i++)
        evl_timer_start(&e_timers[i], e_fire, deadline_ns[i], 0);
    uint64_t t1 = bench_cpu_ns();
    for (size_t k = 0; k < n_timers / 2; k++)
        evl_timer_stop(&e_timers[cancel_idx[k]]);
    uint64_t t2 = bench_cpu_ns();
    /* Not a loop over evl_loop_run_once: that waits after its first
     * timer phase even when the phase fired the last timer, and a stale
     * stop flag does not prevent it, so it can block for good. */
    bench_check(evl_loop_run(e_loop), "evl_loop_run");
    uint64_t t3 = bench_cpu_ns();
    pt->start_ns = (double)(t1 - t0) / n_timers;
    pt->cancel_ns = (double)(t2 - t1) / (n_timers / 2);
    pt->fire_ns = (double)(t3 - t2) / expected;
    pt->total_ns = (double)(t3 - t0) / (n_timers + n_timers / 2 + expected);
}

static void e_teardown(void)
{
    evl_loop_free(e_loop);
    free(e_timers);
}

/* ------------------------------------------------------------ libev */

static struct ev_loop *v_loop;
static ev_timer *v_timers;

static void v_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    fired++;
}

static void v_setup(void)
{
    v_loop = ev_loop_new(EVBACKEND_EPOLL);
    if (v_loop == NULL)
        bench_die("ev_loop_new", ENOMEM);
    v_timers = calloc(n_timers, sizeof(*v_timers));
    if (v_timers == NULL)
        bench_die("calloc", ENOMEM);
    for (size_t i = 0; i < n_timers; i++)
        ev_init(&v_timers[i], v_fire);
}

static void v_round(struct phase_times *pt)
{
    ev_now_update(v_loop);
    uint64_t t0 = bench_cpu_ns();
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_set(&v_timers[i], (double)deadline_ns[i] * 1e-9, 0.);
        ev_timer_start(v_loop, &v_timers[i]);
    }
    uint64_t t1 = bench_cpu_ns();
    for (size_t k = 0; k < n_timers / 2; k++)
        ev_timer_stop(v_loop, &v_timers[cancel_idx[k]]);
    uint64_t t2 = bench_cpu_ns();
    ev_run(v_loop, 0);   /* returns when no timer is left */
    uint64_t t3 = bench_cpu_ns();
    pt->start_ns = (double)(t1 - t0) / n_timers;
    pt->cancel_ns = (double)(t2 - t1) / (n_timers / 2);
    pt->fire_ns = (double)(t3 - t2) / expected;
    pt->total_ns = (double)(t3 - t0) / (n_timers + n_timers / 2 + expected);
}

static void v_teardown(void)
{
    ev_loop_destroy(v_loop);
    free(v_timers);
}

/* ------------------------------------------------------------ libuv */

static uv_loop_t u_loop;
static uv_timer_t *u_timers;

static void u_fire(uv_timer_t *t)
{
    (void)t;
    fired++;
}

static void u_setup(void)
{
    bench_check(uv_loop_init(&u_loop), "uv_loop_init");
    u_timers = calloc(n_timers, sizeof(*u_timers));
    if (u_timers == NULL)
        bench_die("calloc", ENOMEM);
    for (size_t i = 0; i < n_timers; i++)
        bench_check(uv_timer_init(&u_loop, &u_timers[i]), "uv_timer_init");
}

static void u_round(struct phase_times *pt)
{
    uv_update_time(&u_loop);
    uint64_t t0 = bench_cpu_ns();
    for (size_t i = 0; i < n_timers; i++)
        uv_timer_start(&u_timers[i], u_fire, (deadline_ns[i] + 999999) / 1000000, 0);
    uint64_t t1 = bench_cpu_ns();
    for (size_t k = 0; k < n_timers / 2; k++)
        uv_timer_stop(&u_timers[cancel_idx[k]]);
    uint64_t t2 = bench_cpu_ns();
    uv_run(&u_loop, UV_RUN_DEFAULT);   /* returns when no timer is active */
    uint64_t t3 = bench_cpu_ns();
    pt->start_ns = (double)(t1 - t0) / n_timers;
    pt->cancel_ns = (double)(t2 - t1) / (n_timers / 2);
    pt->fire_ns = (double)(t3 - t2) / expected;
    pt->total_ns = (double)(t3 - t0) / (n_timers + n_timers / 2 + expected);
}

static void u_teardown(void)
{
    /* uv_loop_close insists that every handle has been closed. */
    for (size_t i = 0; i < n_timers; i++)
        uv_close((uv_handle_t *)&u_timers[i], NULL);
    uv_run(&u_loop, UV_RUN_DEFAULT);
    bench_check(uv_loop_close(&u_loop), "uv_loop_close");
    free(u_timers);
}

/* ------------------------------------------------------------ driver */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_timer_churn: timed out\n";
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

static void (*const lib_round[LIB_COUNT])(struct phase_times *) = { e_round, v_round, u_round };

int main(int argc, char **argv)
{
    n_timers = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5;
    unsigned max_ms = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 20;
    if (n_timers < 2 || rounds < 1 || max_ms < 1) {
        fprintf(stderr, "usage: bench_timer_churn [N>=2 [ROUNDS>=1 [MAX_MS>=1]]]\n");
        return 1;
    }

    signal(SIGALRM, on_alarm);
    alarm(300);

    uint64_t seed = 0x9e3779b97f4a7c15u;
    deadline_ns = malloc(n_timers * sizeof(*deadline_ns));
    cancel_idx = malloc(n_timers * sizeof(*cancel_idx));
    if (deadline_ns == NULL || cancel_idx == NULL)
        bench_die("malloc", ENOMEM);
    for (size_t i = 0; i < n_timers; i++)
        cancel_idx[i] = i;
    for (size_t i = n_timers - 1; i > 0; i--) {     /* Fisher-Yates */
        size_t j = bench_rand(&seed) % (i + 1), tmp = cancel_idx[i];
        cancel_idx[i] = cancel_idx[j];
        cancel_idx[j] = tmp;
    }
    expected = n_timers - n_timers / 2;

    e_setup();
    v_setup();
    u_setup();

    double *samples[LIB_COUNT][4];
    for (int lib = 0; lib < LIB_COUNT; lib++)
        for (int f = 0; f < 4; f++)
            if ((samples[lib][f] = calloc(rounds, sizeof(double))) == NULL)
                bench_die("calloc", ENOMEM);

    static const char *const bench_name[2] = { "timer", "timer-ns" };
    for (int set = 0; set < 2; set++) {
        for (size_t i = 0; i < n_timers; i++)
            deadline_ns[i] = set == 0
                                 ? (1 + bench_rand(&seed) % max_ms) * UINT64_C(1000000)
                                 : UINT64_C(1000000) + bench_rand(&seed) % UINT64_C(1000000);

        /* Round 0 is a warm-up (heap arrays grow, pages fault in) and is
         * not counted. */
        for (unsigned r = 0; r <= rounds; r++) {
            for (int k = 0; k < LIB_COUNT; k++) {
                int lib = (int)((r + (unsigned)k) % LIB_COUNT);
                if (!bench_lib_enabled(lib))
                    continue;
                struct phase_times pt;
                fired = 0;
                lib_round[lib](&pt);
                if (r == 0)
                    continue;
                double v[4] = { pt.start_ns, pt.cancel_ns, pt.fire_ns, pt.total_ns };
                for (int f = 0; f < 4; f++)
                    samples[lib][f][r - 1] = v[f];
            }
        }

        static const char *const figure[4] = { "start", "cancel", "fire", "total" };
        if (set == 0)
            printf("# timer: N=%zu, half cancelled, deadlines 1..%u ms; timer-ns: distinct "
                   "ns deadlines in [1, 2) ms; %u rounds (medians)\n", n_timers, max_ms, rounds);
        for (int f = 0; f < 4; f++) {
            double med[LIB_COUNT];
            for (int lib = 0; lib < LIB_COUNT; lib++) {
                med[lib] = bench_median(samples[lib][f], rounds);
                bench_result(bench_name[set], figure[f], lib, med[lib], "ns/op");
            }
            bench_ratios(bench_name[set], figure[f], med, 1);
        }
    }

    e_teardown();
    v_teardown();
    u_teardown();
    for (int lib = 0; lib < LIB_COUNT; lib++)
        for (int f = 0; f < 4; f++)
            free(samples[lib][f]);
    free(deadline_ns);
    free(cancel_idx);
    return 0;
}
