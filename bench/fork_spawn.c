/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fork_spawn.c - evl_child against the plain ways of running a program.
 *
 * Two figures, each for several implementations in one process:
 *
 *   spawn    children per second (wall clock) running /bin/true to
 *            completion, one at a time ("seq") and with PAR in flight
 *            ("par"), plus the parent's CPU per child.  Contenders: the
 *            evloop exec path (clone CLONE_VM|CLONE_VFORK), the evloop
 *            fork-and-call path (fork, then execve in child_fn), and
 *            plain fork+execve+waitpid, vfork+execve+waitpid and
 *            posix_spawn+waitpid.  "seq+pipe" adds a captured stdout
 *            read to EOF, as a program that wants the output does.
 *   capture  MB/s of a child's stdout read to EOF (head -c BYTES
 *            /dev/zero), median of 5 rounds in rotating order:
 *            evl_child with its defaults (64 KiB pipe, 256 KiB reads),
 *            with 64 KiB reads (a read that fills its buffer is followed
 *            by one that only says EAGAIN), and with a 1 MiB pipe,
 *            against a blocking read() loop with a 64 KiB and a 1 MiB
 *            pipe.
 *
 * Output: "RESULT fork_spawn <figure> <impl> <value> <unit>" lines, then
 * a table.  usage: bench/fork_spawn [children [bytes]]
 * (defaults 2000 and 200000000).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "evloop.h"
#include "evloop-fork.h"

extern char **environ;

#define PAR 16
#define BIG_PIPE (1024 * 1024)

static char *true_argv[] = { "/bin/true", NULL };

/* ------------------------------------------------------------ evloop */

struct ev_state {
    evl_loop *loop;
    int done;
    size_t bytes;
};

static void ev_exit(evl_child *c, int status)
{
    struct ev_state *st = c->data;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("child failed", EIO);
    st->done++;
}

static void ev_output(evl_child *c, int fd, const char *data, size_t len)
{
    (void)fd;
    (void)data;
    struct ev_state *st = c->data;
    st->bytes += len;
}

static int exec_true(void *arg)
{
    (void)arg;
    execve("/bin/true", true_argv, environ);
    return 127;
}

static const struct evl_child_callbacks ev_cb = { .on_exit = ev_exit, .on_output = ev_output };

/* n children, at most par at a time. */
static void ev_spawn(evl_loop *loop, int n, int par, int fork_path, int capture)
{
    static evl_child kids[PAR];
    struct ev_state st = { .loop = loop };
    evl_fd_action out[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    evl_spawn_options o = { .argv = true_argv };
    if (fork_path) {
        o.argv = NULL;
        o.child_fn = exec_true;
    }
    if (capture) {
        o.actions = out;
        o.n_actions = 1;
    }
    int started = 0;
    while (st.done < n) {
        while (started < n && started - st.done < par) {
            /* A free slot: any child that is not active. */
            for (int i = 0; i < par; i++) {
                if (!evl_child_is_active(&kids[i])) {
                    kids[i].data = &st;
                    bench_check(evl_child_spawn(loop, &kids[i], &o, &ev_cb), "spawn");
                    started++;
                    break;
                }
            }
        }
        bench_check(evl_loop_run_once(loop, -1), "run_once");
    }
}

static size_t ev_capture(evl_loop *loop, const char *bytes, size_t pipe_size, size_t read_size)
{
    char *argv[] = { "/usr/bin/head", "-c", (char *)bytes, "/dev/zero", NULL };
    evl_fd_action out[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    evl_spawn_options o = { .argv = argv, .actions = out, .n_actions = 1,
                            .pipe_size = pipe_size, .read_size = read_size };
    struct ev_state st = { .loop = loop };
    evl_child c = { .data = &st };
    bench_check(evl_child_spawn(loop, &c, &o, &ev_cb), "spawn");
    while (st.done == 0)
        bench_check(evl_loop_run_once(loop, -1), "run_once");
    return st.bytes;
}

/* ------------------------------------------------------------ plain */

static void wait_ok(pid_t pid)
{
    int status;
    pid_t r;
    do
        r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("child failed", EIO);
}

static size_t drain_fd(int fd)
{
    static char buf[256 * 1024];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf) < 65536 ? sizeof(buf) : 65536);
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    return total;
}

enum plain_kind { PLAIN_FORK, PLAIN_VFORK, PLAIN_POSIX_SPAWN };

static pid_t plain_start(int kind, char **argv, int out_fd, int close_fd)
{
    pid_t pid;
    if (kind == PLAIN_POSIX_SPAWN) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        if (out_fd >= 0) {
            posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
            posix_spawn_file_actions_addclose(&fa, close_fd);
        }
        int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            bench_die("posix_spawn", rc);
        return pid;
    }
    pid = kind == PLAIN_VFORK ? vfork() : fork();
    if (pid == 0) {
        if (out_fd >= 0) {
            dup2(out_fd, 1);
            close(close_fd);
        }
        execve(argv[0], argv, environ);
        _exit(127);
    }
    if (pid < 0)
        bench_die("fork", errno);
    return pid;
}

static void plain_spawn(int kind, int n, int par, int capture)
{
    if (par > 1) {
        int running = 0, started = 0, done = 0;
        while (done < n) {
            while (started < n && running < par) {
                plain_start(kind, true_argv, -1, -1);
                started++;
                running++;
            }
            int status;
            if (wait(&status) > 0) {
                running--;
                done++;
            }
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        int p[2] = { -1, -1 };
        if (capture && pipe2(p, O_CLOEXEC) < 0)
            bench_die("pipe", errno);
        pid_t pid = plain_start(kind, true_argv, p[1], p[0]);
        if (capture) {
            close(p[1]);
            drain_fd(p[0]);
            close(p[0]);
        }
        wait_ok(pid);
    }
}

static size_t plain_capture(const char *bytes, int pipe_size)
{
    char *argv[] = { "/usr/bin/head", "-c", (char *)bytes, "/dev/zero", NULL };
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        bench_die("pipe", errno);
    if (pipe_size > 0)
        fcntl(p[0], F_SETPIPE_SZ, pipe_size);
    pid_t pid = plain_start(PLAIN_FORK, argv, p[1], p[0]);
    close(p[1]);
    size_t got = drain_fd(p[0]);
    close(p[0]);
    wait_ok(pid);
    return got;
}

/* ------------------------------------------------------------ main */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static void report_spawn(const char *impl, const char *mode, int n, uint64_t wall, uint64_t cpu)
{
    char figure[64];
    snprintf(figure, sizeof(figure), "spawn_%s", mode);
    printf("RESULT fork_spawn %s %s %.0f children/s\n", figure, impl, n * 1e9 / (double)wall);
    printf("RESULT fork_spawn %s_cpu %s %.1f us/child\n", figure, impl,
           (double)cpu / 1e3 / n);
}

/* Process CPU (this thread; children are not counted). */
#define TIMED(wall, cpu, stmt) do {                                  \
        uint64_t w0_ = bench_wall_ns(), c0_ = bench_cpu_ns();       \
        stmt;                                                       \
        wall = bench_wall_ns() - w0_;                               \
        cpu = bench_cpu_ns() - c0_;                                 \
    } while (0)

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    const char *bytes = argc > 2 ? argv[2] : "200000000";
    size_t want = strtoull(bytes, NULL, 10);
    if (n <= 0 || want == 0) {
        fprintf(stderr, "usage: %s [children [bytes]]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    evl_loop *loop;
    bench_check(evl_loop_new(&loop, EVL_REACTOR, 0), "loop");
    uint64_t wall, cpu;

    /* Warm the page cache and the dynamic loader's files. */
    ev_spawn(loop, 50, 1, 0, 0);
    plain_spawn(PLAIN_FORK, 50, 1, 0);

    TIMED(wall, cpu, ev_spawn(loop, n, 1, 0, 0));
    report_spawn("evloop", "seq", n, wall, cpu);
    TIMED(wall, cpu, ev_spawn(loop, n, 1, 1, 0));
    report_spawn("evloop-forkpath", "seq", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_FORK, n, 1, 0));
    report_spawn("fork+exec", "seq", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_VFORK, n, 1, 0));
    report_spawn("vfork+exec", "seq", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_POSIX_SPAWN, n, 1, 0));
    report_spawn("posix_spawn", "seq", n, wall, cpu);

    TIMED(wall, cpu, ev_spawn(loop, n, 1, 0, 1));
    report_spawn("evloop", "seq+pipe", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_FORK, n, 1, 1));
    report_spawn("fork+exec", "seq+pipe", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_POSIX_SPAWN, n, 1, 1));
    report_spawn("posix_spawn", "seq+pipe", n, wall, cpu);

    TIMED(wall, cpu, ev_spawn(loop, n, PAR, 0, 0));
    report_spawn("evloop", "par", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_FORK, n, PAR, 0));
    report_spawn("fork+exec", "par", n, wall, cpu);
    TIMED(wall, cpu, plain_spawn(PLAIN_POSIX_SPAWN, n, PAR, 0));
    report_spawn("posix_spawn", "par", n, wall, cpu);

    struct {
        const char *impl;
        int ev;
        size_t pipe, rd;
    } cap[] = {
        { "evloop", 1, 0, 0 },
        { "evloop-rd64k", 1, 0, 65536 },
        { "evloop-1MiB-pipe", 1, BIG_PIPE, 0 },
        { "read-loop", 0, 0, 0 },
        { "read-loop-1MiB-pipe", 0, BIG_PIPE, 0 },
    };
    /* Rotating order, REPS rounds, median: one noisy moment (two shared
     * cores) hurts one sample, not one contender. */
    enum { NCAP = sizeof(cap) / sizeof(cap[0]), REPS = 5 };
    double mbs[NCAP][REPS], cpus[NCAP][REPS];
    for (int rep = 0; rep < REPS; rep++) {
        for (size_t k = 0; k < NCAP; k++) {
            size_t i = (k + (size_t)rep) % NCAP;
            size_t got = 0;
            TIMED(wall, cpu, got = cap[i].ev ? ev_capture(loop, bytes, cap[i].pipe, cap[i].rd)
                                             : plain_capture(bytes, (int)cap[i].pipe));
            if (got != want)
                bench_die("short capture", EIO);
            mbs[i][rep] = want / 1e6 / (wall / 1e9);
            cpus[i][rep] = cpu / 1e6;
        }
    }
    for (size_t i = 0; i < NCAP; i++) {
        printf("RESULT fork_spawn capture %s %.0f MB/s\n", cap[i].impl, median(mbs[i], REPS));
        printf("RESULT fork_spawn capture_cpu %s %.2f ms\n", cap[i].impl,
               median(cpus[i], REPS));
    }
    evl_loop_free(loop);
    return 0;
}
