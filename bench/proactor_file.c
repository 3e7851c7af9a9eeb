/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* proactor_file.c - regular-file read throughput: evl_stream with
 * read-ahead on a proactor (io_uring) loop vs a plain read(2) loop.
 *
 * Measures how fast a page-cache-warm file gets to the consumer:
 *   read     read(2) of 64 KiB at a time into one buffer, until 0
 *   ra1/ra2/ra4  evl_stream on an EVL_PROACTOR uring loop, read_size
 *            64 KiB, evl_stream_set_readahead 1, 2 or 4, raw on_read
 *            consuming everything it is given, on_eof -> close
 * Both consumers look at three bytes of what they get (first, middle,
 * last: a chunk out of order or skipped shows, since the file's pattern
 * period, 4093, is prime to the chunk size) and count the bytes, so
 * neither does work the other skips.  The file (FILE_MIB, default 200)
 * is made in /tmp under a unique name and unlinked at once, and read
 * through /proc/self/fd with a fresh open per pass, so nothing is left
 * behind even when the run is killed; it is synced and read once before
 * the clock starts, so every pass hits the page cache.
 * Reported per contender (median over rounds; one sample is PASSES
 * passes over the whole file):
 *   file-rate  MB/s (10^6 bytes) of wall time
 *   file-cpu   process CPU us per MiB (io_uring work punted to io-wq
 *              threads would be counted too; in this process there is no
 *              other thread)
 * and the same-run ratios raN/read (above 1.00: evl_stream is faster).
 *
 * usage: bench_proactor_file [ROUNDS [FILE_MIB [PASSES]]]
 *   default: 3 rounds, 200 MiB, 3 passes.  BENCH_LIBS="read ra2" runs
 *   only those contenders.  COLD=1 drops the file from the page cache
 *   (posix_fadvise POSIX_FADV_DONTNEED; the file is synced, so its pages
 *   are clean) before every pass: disk reads, where read-ahead has to
 *   earn its keep; the figures are then named pxfile-cold.
 * output: RESULT/RATIO lines (see bench-px.h); bench/run-proactor.sh
 * makes the table.  Bounded: alarm(300).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "evloop.h"
#include "bench-px.h"

#define READ_SIZE ((size_t)64 * 1024)
#define PERIOD 4093
#define WRITE_BLOCK ((size_t)1 << 20)

enum who { W_READ, W_RA1, W_RA2, W_RA4, W_COUNT };
static const char *const who_name[W_COUNT] = { "read", "ra1", "ra2", "ra4" };
static const unsigned who_depth[W_COUNT] = { 0, 1, 2, 4 };

static unsigned char pattern[PERIOD];   /* file byte at offset o: pattern[o % PERIOD] */
static int file_fd = -1;                               /* the unlinked file */
static uint64_t file_size;

/* ------------------------------------------------------------ consumers */

struct consumer {
    uint64_t off;                /* bytes seen so far */
    int bad;
};

static inline void consume(struct consumer *c, const char *p, size_t n)
{
    if (n == 0)
        return;
    size_t mid = n / 2;
    if ((unsigned char)p[0] != pattern[c->off % PERIOD] ||
        (unsigned char)p[mid] != pattern[(c->off + mid) % PERIOD] ||
        (unsigned char)p[n - 1] != pattern[(c->off + n - 1) % PERIOD])
        c->bad = 1;
    c->off += n;
}

static int open_file(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        bench_die("reopen the test file", errno);
    return fd;
}

/* Page-aligned, and not by luck: where the destination of a copy falls
 * within a cache line relative to its source decides between ~45 and
 * ~3 GB/s for rep movsb on this machine's AMD EPYC (kernel copy_to_user
 * and glibc memcpy alike).  The page cache is page-aligned, so an aligned
 * buffer is the best read(2) can do, and the baseline evloop must match. */
static char *read_buf;

static int cold;   /* COLD=1: every pass starts with the file out of the page cache */

static void drop_cache(void)
{
    int rc = posix_fadvise(file_fd, 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0)
        bench_die("posix_fadvise DONTNEED", rc);
}

static void pass_read(struct consumer *c)
{
    int fd = open_file();
    for (;;) {
        ssize_t n = read(fd, read_buf, READ_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            bench_die("read", errno);
        if (n == 0)
            break;
        consume(c, read_buf, (size_t)n);
    }
    close(fd);
}

static evl_loop *loop;

static size_t e_on_read(evl_stream *s, const char *data, size_t len)
{
    consume(s->data, data, len);
    return len;
}

static void e_on_eof(evl_stream *s)
{
    evl_stream_close(s);
}

static void e_on_close(evl_stream *s)
{
    (void)s;
    evl_loop_stop(loop);
}

static void e_on_error(evl_stream *s, int err)
{
    fprintf(stderr, "bench_proactor_file: evl_stream error: %s\n", strerror(-err));
    ((struct consumer *)s->data)->bad = 1;
    evl_stream_close(s);
}

static void pass_stream(struct consumer *c, unsigned depth)
{
    static const struct evl_stream_callbacks cb = {
        .on_read = e_on_read, .on_eof = e_on_eof, .on_close = e_on_close,
        .on_error = e_on_error,
    };
    evl_stream s = { .data = c };
    int fd = open_file();
    bench_check(evl_stream_init(&s, loop, fd, 0, &cb), "evl_stream_init");
    /* The first chunks are asked for on the loop's first iteration, so
     * these still apply to them. */
    bench_check(evl_stream_set_read_limits(&s, 0, READ_SIZE), "evl_stream_set_read_limits");
    bench_check(evl_stream_set_readahead(&s, depth), "evl_stream_set_readahead");
    bench_check(evl_loop_run(loop), "evl_loop_run");
    /* on_close ran: the fd is closed and no op of the stream is left. */
    evl_stream_free(&s);
}

/* ------------------------------------------------------------ the file */

static void make_file(uint64_t mib)
{
    char path[] = "/tmp/evl-bench-pxfile.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        bench_die("mkstemp in /tmp", errno);
    /* Gone from the directory before anything can fail; the fd keeps the
     * data until the process ends, however it ends. */
    unlink(path);
    file_size = mib << 20;
    /* Generated into an aligned block rather than written straight from
     * pattern + off % PERIOD: a copy whose destination sits a few bytes
     * past its source's cache-line offset runs at a tenth of the speed on
     * this machine's CPUs (kernel and glibc alike), see read_buf. */
    unsigned char *block = aligned_alloc(4096, WRITE_BLOCK);
    if (block == NULL)
        bench_die("aligned_alloc", ENOMEM);
    size_t j = 0;
    for (uint64_t off = 0; off < file_size;) {
        size_t n = file_size - off < WRITE_BLOCK ? (size_t)(file_size - off) : WRITE_BLOCK;
        for (size_t i = 0; i < n; i++) {
            block[i] = pattern[j];
            if (++j == PERIOD)
                j = 0;
        }
        if (write(fd, block, n) != (ssize_t)n)
            bench_die("write the test file", errno ? errno : ENOSPC);
        off += n;
    }
    free(block);
    /* Background writeback during a timed pass would be noise. */
    if (fdatasync(fd) < 0)
        bench_die("fdatasync", errno);
    file_fd = fd;
    struct consumer warm = { 0 };
    pass_read(&warm);
    if (warm.off != file_size || warm.bad)
        bench_die("the test file reads back wrong", EIO);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_proactor_file: timed out\n";
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(3);
    _exit(3);
}

int main(int argc, char **argv)
{
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3;
    uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 200;
    unsigned passes = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 3;
    if (rounds < 1 || mib < 1 || mib > 4096 || passes < 1) {
        fprintf(stderr, "usage: bench_proactor_file [ROUNDS [FILE_MIB (1..4096) [PASSES]]]\n");
        return 1;
    }
    const char *cold_env = getenv("COLD");
    cold = cold_env != NULL && strcmp(cold_env, "1") == 0;
    const char *bench = cold ? "pxfile-cold" : "pxfile";
    signal(SIGALRM, on_alarm);
    alarm(300);
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (unsigned char)((i % PERIOD) * 131 + 7);
    int cpu_a, cpu_b;
    /* One CPU for the whole run, so a migration cannot split a sample. */
    px_choose_cpus(&cpu_a, &cpu_b);
    px_pin_self(cpu_a);
    if ((read_buf = aligned_alloc(4096, READ_SIZE)) == NULL)
        bench_die("aligned_alloc", ENOMEM);
    make_file(mib);
    bench_check(evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_URING), "evl_loop_new proactor");

    double *samples[W_COUNT][2];
    for (int w = 0; w < W_COUNT; w++)
        for (int f = 0; f < 2; f++)
            if ((samples[w][f] = calloc(rounds, sizeof(double))) == NULL)
                bench_die("calloc", ENOMEM);

    double bytes = (double)file_size * passes;
    /* Round 0 warms up uncounted; the order rotates each round. */
    for (unsigned r = 0; r <= rounds; r++) {
        for (int k = 0; k < W_COUNT; k++) {
            int w = (int)((r + (unsigned)k) % W_COUNT);
            if (!px_enabled(who_name[w]))
                continue;
            uint64_t c0 = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = bench_wall_ns();
            for (unsigned p = 0; p < passes; p++) {
                struct consumer c = { 0 };
                if (cold)
                    drop_cache();
                if (w == W_READ)
                    pass_read(&c);
                else
                    pass_stream(&c, who_depth[w]);
                if (c.off != file_size || c.bad) {
                    fprintf(stderr, "bench_proactor_file: %s: %s\n", who_name[w],
                            c.bad ? "bytes differ" : "wrong byte count");
                    return 1;
                }
            }
            uint64_t t1 = bench_wall_ns(), c1 = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
            if (r > 0) {
                samples[w][0][r - 1] = bytes / 1e6 * 1e9 / (double)(t1 - t0);
                samples[w][1][r - 1] = (double)(c1 - c0) / 1e3 / (bytes / (1 << 20));
            }
        }
    }

    printf("# proactor file read: %llu MiB %s file, 64 KiB reads, %u passes per "
           "sample, %u rounds (medians)\n",
           (unsigned long long)mib, cold ? "cold (dropped from the page cache before each pass)"
                                         : "page-cache-warm", passes, rounds);
    static const char *const figure[2] = { "file-rate", "file-cpu" };
    static const char *const unit[2] = { "MB/s", "us/MiB" };
    for (int f = 0; f < 2; f++) {
        double med[W_COUNT];
        for (int w = 0; w < W_COUNT; w++) {
            med[w] = px_enabled(who_name[w]) ? bench_median(samples[w][f], rounds) : 0;
            if (med[w] > 0)
                px_result(bench, figure[f], who_name[w], med[w], unit[f]);
        }
        for (int w = W_RA1; w < W_COUNT; w++)
            px_ratio(bench, figure[f], who_name[w], med[w], who_name[W_READ], med[W_READ],
                     f == 1);
    }

    evl_loop_free(loop);
    close(file_fd);
    free(read_buf);
    for (int w = 0; w < W_COUNT; w++)
        for (int f = 0; f < 2; f++)
            free(samples[w][f]);
    return 0;
}
