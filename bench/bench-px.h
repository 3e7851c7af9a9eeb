/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* bench-px.h - what the proactor benchmarks (proactor_echo.c,
 * proactor_file.c) add to bench.h.
 *
 * bench.h names its contenders evloop, libev and libuv; these programs
 * compare evloop's two engines with raw liburing and plain read(2), so
 * contenders are named by string here.  The output keeps bench.h's line
 * format, so one awk script (bench/run-proactor.sh) takes the medians:
 *
 *     RESULT <bench> <figure> <name> <value> <unit>
 *     RATIO <bench> <figure> <name>/<other> <ratio>
 */
#ifndef EVL_BENCH_PX_H
#define EVL_BENCH_PX_H

#include <pthread.h>
#include <sched.h>

#include "bench.h"

/* BENCH_LIBS="proactor uring" limits a run to some contenders, as in
 * bench.h (for profiling one of them under callgrind or strace). */
static inline int px_enabled(const char *name)
{
    const char *only = getenv("BENCH_LIBS");
    if (only == NULL || *only == '\0')
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
            return 1;
    return 0;
}

static inline void px_result(const char *bench, const char *figure, const char *name,
                             double value, const char *unit)
{
    printf("RESULT %s %s %s %.2f %s\n", bench, figure, name, value, unit);
}

/* Above 1.00 means a is faster than b (less CPU per unit of work, or more
 * work per second). */
static inline void px_ratio(const char *bench, const char *figure, const char *a, double va,
                            const char *b, double vb, int lower_is_better)
{
    if (va <= 0 || vb <= 0)
        return;
    printf("RATIO %s %s %s/%s %.3f\n", bench, figure, a, b,
           lower_is_better ? vb / va : va / vb);
}

static inline void px_pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The two highest CPUs we may run on, as stream_echo.c picks them; both
 * stay -1 on a one-CPU machine and the scheduler decides. */
static inline void px_choose_cpus(int *server, int *client)
{
    cpu_set_t set;
    *server = *client = -1;
    if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
        return;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        if (*server < 0)
            *server = cpu;
        else if (*client < 0)
            *client = cpu;
    }
}

#endif
