/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* resolve.c - the loop's resolver (evl_resolve: getaddrinfo in a pool of
 * worker threads, answers through an eventfd) against a plain sequential
 * getaddrinfo loop, on names that resolve from /etc/hosts (issue 14).
 *
 * The names are those of /etc/hosts (read at start; this program never
 * writes it), cycled to N lookups, so no DNS server is involved and the
 * figures are the cost of the lookups themselves plus, for the pool, its
 * hand-off: N requests submitted at once, the loop run until every
 * callback has come back.  Wall time is the clock here (the pool's point
 * is to overlap lookups), median of REPS runs.  On the 2-core machine the
 * pool's threads and the loop share the cores.
 *
 * usage: bench/resolve [N=1000] [THREADS=4] [REPS=5]
 * output: RESULT resolve <figure> <who> <value> <unit>
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "evloop.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The host names of /etc/hosts (every name after the address). */
static char **hosts_names(size_t *count)
{
    FILE *f = fopen("/etc/hosts", "r");
    if (f == NULL) {
        perror("/etc/hosts");
        exit(2);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        if (tok == NULL)
            continue;   /* blank; tok was the address otherwise */
        while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                names = realloc(names, cap * sizeof(*names));
                if (names == NULL)
                    exit(2);
            }
            names[n++] = strdup(tok);
        }
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "resolve: /etc/hosts names no host\n");
        exit(2);
    }
    *count = n;
    return names;
}

static const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

struct run {
    int done, failed;
};

static void on_resolved(evl_resolve_req *req, int status, struct addrinfo *res)
{
    (void)res;
    struct run *r = evl_resolve_data(req);
    r->done++;
    if (status != 0)
        r->failed++;
}

static double run_sequential(char **names, size_t nnames, int n)
{
    double t0 = wall();
    for (int i = 0; i < n; i++) {
        struct addrinfo *res;
        int rc = getaddrinfo(names[i % nnames], NULL, &hints, &res);
        if (rc != 0) {
            fprintf(stderr, "getaddrinfo %s: %s\n", names[i % nnames], gai_strerror(rc));
            exit(1);
        }
        freeaddrinfo(res);
    }
    return wall() - t0;
}

static double run_pool(evl_loop *loop, char **names, size_t nnames, int n)
{
    struct run r = { 0, 0 };
    double t0 = wall();
    for (int i = 0; i < n; i++) {
        int rc = evl_resolve(loop, NULL, names[i % nnames], NULL, &hints, on_resolved, &r);
        if (rc < 0) {
            fprintf(stderr, "evl_resolve: %s\n", strerror(-rc));
            exit(1);
        }
    }
    while (r.done < n)
        if (evl_loop_run_once(loop, 1000000000) < 0)
            exit(1);
    double t = wall() - t0;
    if (r.failed) {
        fprintf(stderr, "resolve: %d lookups failed\n", r.failed);
        exit(1);
    }
    return t;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (n < 1 || threads < 1 || reps < 1 || reps > 99) {
        fprintf(stderr, "usage: %s [N] [THREADS] [REPS]\n", argv[0]);
        return 2;
    }
    size_t nnames;
    char **names = hosts_names(&nnames);
    evl_loop *loop;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0 || evl_resolver_set_threads(loop, threads) < 0)
        return 1;
    /* Warm-up: the pool's threads start, glibc loads its NSS modules. */
    run_sequential(names, nnames, 10);
    run_pool(loop, names, nnames, 10);

    double seq[100], pool[100];
    for (int i = 0; i < reps; i++) {
        /* Alternate which goes first: a cache warmed by one helps both. */
        if (i % 2) {
            pool[i] = run_pool(loop, names, nnames, n);
            seq[i] = run_sequential(names, nnames, n);
        } else {
            seq[i] = run_sequential(names, nnames, n);
            pool[i] = run_pool(loop, names, nnames, n);
        }
    }
    qsort(seq, (size_t)reps, sizeof(double), cmp_double);
    qsort(pool, (size_t)reps, sizeof(double), cmp_double);
    double s = seq[reps / 2], p = pool[reps / 2];
    printf("RESULT resolve hosts_%d sequential %.2f ms\n", n, s * 1e3);
    printf("RESULT resolve hosts_%d pool_%u %.2f ms\n", n, threads, p * 1e3);
    printf("RESULT resolve per_name sequential %.2f us\n", s * 1e6 / n);
    printf("RESULT resolve per_name pool_%u %.2f us\n", threads, p * 1e6 / n);
    printf("RESULT resolve speedup pool_%u/sequential %.2f x\n", threads, s / p);
    evl_loop_free(loop);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return 0;
}
