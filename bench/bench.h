/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* bench.h - helpers shared by the bench/ programs (not installed, not
 * part of make check).
 *
 * Every program runs libevloop, libev and libuv in the same process, in
 * rotating order, and prints one machine-readable line per figure:
 *
 *     RESULT <bench> <figure> <lib> <value> <unit>
 *
 * bench/run.sh collects those lines over several runs and takes medians.
 * CPU time (not wall time) is the primary clock: the machine has two
 * noisy cores, and time spent preempted or asleep in the kernel's wait is
 * not the library's cost.
 */
#ifndef EVL_BENCH_H
#define EVL_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum bench_lib { LIB_EVLOOP, LIB_LIBEV, LIB_LIBUV, LIB_COUNT };

static const char *const bench_lib_name[LIB_COUNT] = { "evloop", "libev", "libuv" };

/* BENCH_LIBS="evloop libev" limits a run to some libraries (for
 * profiling one of them under callgrind or strace); ratios are then
 * printed only for pairs that both ran. */
static inline int bench_lib_enabled(int lib)
{
    const char *only = getenv("BENCH_LIBS");
    if (only == NULL || *only == '\0')
        return 1;
    size_t n = strlen(bench_lib_name[lib]);
    for (const char *p = only; (p = strstr(p, bench_lib_name[lib])) != NULL; p += n)
        if ((p == only || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
            return 1;
    return 0;
}

static inline uint64_t bench_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t bench_wall_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
}

/* Thread CPU time: user + system of this thread only. */
static inline uint64_t bench_cpu_ns(void)
{
    return bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static inline void bench_die(const char *what, int err)
{
    fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(2);
}

/* Exits on a negative result: evloop returns -errno and libuv a negative
 * UV_E* code, which are the same numbers on Linux. */
static inline void bench_check(int rc, const char *what)
{
    if (rc < 0)
        bench_die(what, rc);
}

/* xorshift64*: the same pseudo-random sequence for every library, so all
 * of them see identical deadlines and fd choices. */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values; sorts v in place. */
static inline double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Raises the soft fd limit to the hard one: 1000 pipes need 2000 fds. */
static inline void bench_raise_nofile(size_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        fprintf(stderr, "bench: need %zu fds, the limit is %llu\n", need,
                (unsigned long long)rl.rlim_cur);
        exit(2);
    }
}

/* One figure of one library.  This line format is the only output (apart
 * from '#' comments), so that run.sh can take medians across runs. */
static inline void bench_result(const char *bench, const char *figure, int lib, double value,
                                const char *unit)
{
    if (!bench_lib_enabled(lib))
        return;
    printf("RESULT %s %s %s %.2f %s\n", bench, figure, bench_lib_name[lib], value, unit);
}

/* Prints the speed of evloop relative to the other two for one figure:
 * above 1.00 means evloop is faster.  lower_is_better says whether the
 * unit is a cost (ns per op) or a rate (lines/s). */
static inline void bench_ratios(const char *bench, const char *figure, const double *v,
                                int lower_is_better)
{
    if (!bench_lib_enabled(LIB_EVLOOP))
        return;
    for (int lib = LIB_LIBEV; lib < LIB_COUNT; lib++) {
        if (!bench_lib_enabled(lib))
            continue;
        double r = lower_is_better ? v[lib] / v[LIB_EVLOOP] : v[LIB_EVLOOP] / v[lib];
        printf("RATIO %s %s evloop/%s %.3f\n", bench, figure, bench_lib_name[lib], r);
    }
}

#endif
