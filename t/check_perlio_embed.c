/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_perlio_embed.c - evloop-perlio.h from a C program that embeds perl:
 * open :evloop PerlIOs over fds (caller-driven and on a loop) and reach the
 * evl_stream behind them.  No Perl module is loaded: evl_perlio_fdopen
 * registers the layers itself. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <EXTERN.h>
#include <perl.h>
#include <perliol.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop-perlio.h"
#include "evl-test.h"
#include "stream-internal.h"   /* evl__stream_px_set_nowait */

static PerlInterpreter *my_perl;   /* the name aTHX expands to */

static void setup(void)
{
    char *args[] = { "check_perlio_embed", "-e", "0", NULL };
    my_perl = perl_alloc();
    perl_construct(my_perl);
    PL_exit_flags |= PERL_EXIT_DESTRUCT_END;
    ck_assert_int_eq(perl_parse(my_perl, NULL, 3, args, NULL), 0);
    ck_assert_int_eq(perl_run(my_perl), 0);
}

static void teardown(void)
{
    perl_destruct(my_perl);
    perl_free(my_perl);
}

START_TEST(test_perlio_embed_write_pipe)
{
    int p[2];
    char buf[64];
    ck_assert_rc(pipe(p));
    PerlIO *f = evl_perlio_fdopen(aTHX_ NULL, p[1], "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(PerlIOBase(f)->tab->name, "evloop");
    ck_assert_str_eq(PerlIOBase(PerlIONext(f))->tab->name, "unix");
    ck_assert_int_eq(PerlIO_write(f, "hello\n", 6), 6);
    /* :perlio's buffering: nothing reaches the fd before a flush. */
    evl_stream *s = evl_perlio_stream(aTHX_ f);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(evl_stream_queued(s), 6);
    ck_assert_int_eq(PerlIO_close(f), 0);
    ck_assert_int_eq(read(p[0], buf, sizeof buf), 6);
    ck_assert_int_eq(memcmp(buf, "hello\n", 6), 0);
    close(p[0]);
}
END_TEST

START_TEST(test_perlio_embed_read_buffer_is_the_streams)
{
    int p[2];
    char buf[16];
    ck_assert_rc(pipe(p));
    ck_assert_int_eq(write(p[1], "one\ntwo\n", 8), 8);
    close(p[1]);
    PerlIO *f = evl_perlio_fdopen(aTHX_ NULL, p[0], "r");
    ck_assert_ptr_nonnull(f);
    ck_assert(PerlIO_fast_gets(f));
    ck_assert_int_eq(PerlIO_fill(f), 0);
    evl_stream *s = evl_perlio_stream(aTHX_ f);
    evl_buf *rb = evl_stream_rbuf(s);
    /* No second buffer: fast gets points into the stream's rbuf. */
    ck_assert_int_eq(PerlIO_get_cnt(f), 8);
    ck_assert_uint_eq(evl_buf_len(rb), 8);
    ck_assert_ptr_eq((char *)PerlIO_get_ptr(f), evl_buf_data(rb));
    ck_assert_int_eq(PerlIO_read(f, buf, 4), 4);
    ck_assert_uint_eq(evl_buf_len(rb), 4);
    ck_assert_int_eq(PerlIO_unread(f, "ONE\n", 4), 4);
    ck_assert_int_eq(PerlIO_read(f, buf, sizeof buf), 8);
    ck_assert_int_eq(memcmp(buf, "ONE\ntwo\n", 8), 0);
    ck_assert_int_eq(PerlIO_read(f, buf, sizeof buf), 0);
    ck_assert(PerlIO_eof(f));
    ck_assert_int_eq(PerlIO_close(f), 0);
}
END_TEST

START_TEST(test_perlio_embed_loop_drains_queue)
{
    evl_loop *loop;
    int sv[2];
    static char big[1 << 20];
    char buf[65536];
    size_t got = 0;
    memset(big, 'L', sizeof big);
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    PerlIO *f = evl_perlio_fdopen(aTHX_ loop, sv[0], "w");
    ck_assert_ptr_nonnull(f);
    ck_assert(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    /* Write-behind: the whole megabyte is accepted at once. */
    ck_assert_int_eq(PerlIO_write(f, big, sizeof big), (SSize_t)sizeof big);
    evl_stream *s = evl_perlio_stream(aTHX_ f);
    ck_assert_uint_gt(evl_stream_queued(s), 0);
    /* The loop writes the queue out as the peer reads. */
    while (got < sizeof big) {
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
        ssize_t n = read(sv[1], buf, sizeof buf);
        if (n > 0)
            got += (size_t)n;
    }
    ck_assert_uint_eq(got, sizeof big);
    ck_assert_uint_eq(evl_stream_queued(s), 0);
    ck_assert_int_eq(PerlIO_close(f), 0);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_perlio_embed_stream_of_other_handle_is_null)
{
    ck_assert_ptr_null(evl_perlio_stream(aTHX_ PerlIO_stdout()));
    errno = 0;
    ck_assert_ptr_null(evl_perlio_fdopen(aTHX_ NULL, -1, "r"));
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ------------------------------------------------------------ proactor
 *
 * Differential: the same seeded operations over :perlio (perl's default
 * layers) and over :evloop on a proactor loop, on files and socketpairs;
 * the transcripts of results, and the bytes that end up in the file or
 * at the peer, must be identical.  Both backends run: io_uring (when the
 * kernel allows it) and the fake one. */

static const unsigned px_backends[] = { EVL_BACKEND_URING, EVL_BACKEND_FAKE };
static int px_first_backend;     /* 1 when the kernel refuses io_uring */

static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (unsigned)(rng_state % n) : 0;
}

struct transcript {
    char *p;
    size_t len, cap;
};

static void rec(struct transcript *t, const char *tag, long long v, const void *bytes, size_t n)
{
    char head[96];
    int hl = snprintf(head, sizeof head, "%s %lld %zu:", tag, v, n);
    size_t need = t->len + (size_t)hl + n + 1;
    if (need > t->cap) {
        t->cap = need * 2;
        t->p = realloc(t->p, t->cap);
        ck_assert_ptr_nonnull(t->p);
    }
    memcpy(t->p + t->len, head, (size_t)hl);
    t->len += (size_t)hl;
    if (n > 0)
        memcpy(t->p + t->len, bytes, n);
    t->len += n;
    t->p[t->len++] = '\n';
}

/* Content with lines of many lengths, blank lines and NULs. */
static char *gen_content(size_t len)
{
    static const char *atoms[] = { "\n", "\n\n", "ab", "x", "word ", "\0", "line of text\n",
                                   "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" };
    char *c = malloc(len + 1);
    ck_assert_ptr_nonnull(c);
    size_t n = 0;
    while (n < len) {
        const char *a = atoms[rnd(8)];
        size_t al = a[0] == '\0' ? 1 : strlen(a);
        for (size_t i = 0; i < al && n < len; i++)
            c[n++] = a[i];
    }
    return c;
}

static char *make_file(const void *content, size_t len)
{
    char *path = strdup("/tmp/evl-embed-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static char *slurp_fd(int fd, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (n == cap)
            b = realloc(b, cap *= 2);
        ssize_t r = read(fd, b + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return b;
}

static char *slurp_path(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    char *b = slurp_fd(fd, len);
    close(fd);
    return b;
}

enum { PXOP_READLINE, PXOP_READ, PXOP_GETC, PXOP_UNGETC, PXOP_EOF, PXOP_TELL, PXOP_SEEK, PXOP_WRITE, PXOP_FLUSH,
       PXOP_END };

struct px_op {
    int kind;
    long long a, b;
    size_t len;                  /* PXOP_WRITE: bytes of wdata from a */
};

/* A plan that respects C's rule for update streams (a seek between
 * reading and writing), as t/perlio-differential.t does. */
static size_t plan_ops(struct px_op *ops, size_t max, int can_r, int can_w, int can_seek,
                       size_t size, size_t wdata_len)
{
    size_t n = 0;
    int reading = 0, writing = 0;
    size_t want = 5 + rnd(40);
    while (n + 2 < max && n < want) {
        struct px_op op = { 0 };
        unsigned k = rnd(10);
        if (can_r && k < 4) {
            static const long long sizes[] = { 1, 7, 100, 5000, 70000, 200000 };
            op.kind = k == 0 ? PXOP_READ : k == 1 ? PXOP_GETC : PXOP_READLINE;
            if (k == 3)
                op.kind = rnd(3) ? PXOP_READLINE : rnd(2) ? PXOP_UNGETC : PXOP_EOF;
            op.a = op.kind == PXOP_READ ? sizes[rnd(6)] : (long long)(rnd(2) ? 'Q' : '\n');
        } else if (can_w && k < 7) {
            op.kind = rnd(5) ? PXOP_WRITE : PXOP_FLUSH;
            op.len = 1 + rnd(rnd(3) ? 300 : 20000);
            if (op.len > wdata_len)
                op.len = wdata_len;
            op.a = rnd((unsigned)(wdata_len - op.len + 1));
        } else if (can_seek && k < 9) {
            op.kind = PXOP_SEEK;
            op.b = rnd(3) == 0 ? SEEK_CUR : SEEK_SET;
            op.a = op.b == SEEK_CUR ? -(long long)rnd(50) : (long long)rnd((unsigned)size + 100);
        } else {
            op.kind = PXOP_TELL;
        }
        int is_r = op.kind <= PXOP_EOF, is_w = op.kind == PXOP_WRITE;
        if (can_seek && ((reading && is_w) || (writing && is_r)))
            ops[n++] = (struct px_op){ .kind = PXOP_SEEK, .a = 0, .b = SEEK_CUR };
        if (op.kind == PXOP_SEEK || op.kind == PXOP_FLUSH)
            reading = writing = 0;
        reading |= is_r;
        writing |= is_w;
        ops[n++] = op;
    }
    return n;
}

/* fw: where writes go (f itself, or a socket's second PerlIO). */
static void run_ops2(PerlIO *f, PerlIO *fw, const struct px_op *ops, size_t n,
                     const char *wdata, struct transcript *t);

static void run_ops(PerlIO *f, const struct px_op *ops, size_t n, const char *wdata,
                    struct transcript *t)
{
    run_ops2(f, f, ops, n, wdata, t);
}

static void run_ops2(PerlIO *f, PerlIO *fw, const struct px_op *ops, size_t n,
                     const char *wdata, struct transcript *t)
{
    char *buf = malloc(200000);
    SV *line = newSV(0);
    for (size_t i = 0; i < n; i++) {
        const struct px_op *op = &ops[i];
        errno = 0;
        switch (op->kind) {
        case PXOP_READLINE: {
            char *r = sv_gets(line, f, 0);
            rec(t, "readline", r != NULL, r ? SvPVX(line) : NULL, r ? SvCUR(line) : 0);
            break;
        }
        case PXOP_READ: {
            SSize_t r = PerlIO_read(f, buf, (Size_t)op->a);
            rec(t, "read", r, buf, r > 0 ? (size_t)r : 0);
            break;
        }
        case PXOP_GETC:
            rec(t, "getc", PerlIO_getc(f), NULL, 0);
            break;
        case PXOP_UNGETC:
            /* As t/perlio-differential.t: in front of offset 0, :perlio's
             * position goes negative and its next seek or flush goes
             * astray; there is nothing to agree with in that. */
            if (PerlIO_tell(f) > 0)
                rec(t, "ungetc", PerlIO_ungetc(f, (int)op->a), NULL, 0);
            else
                rec(t, "ungetc skipped", 0, NULL, 0);
            break;
        case PXOP_EOF:
            rec(t, "eof", PerlIO_eof(f) ? 1 : 0, NULL, 0);
            break;
        case PXOP_TELL:
            rec(t, "tell", (long long)PerlIO_tell(f), NULL, 0);
            break;
        case PXOP_SEEK:
        {
            char tag[64];
            snprintf(tag, sizeof tag, "seek %lld,%lld", op->a, op->b);
            rec(t, tag, PerlIO_seek(f, (Off_t)op->a, (int)op->b), NULL, 0);
        }
            break;
        case PXOP_WRITE:
        {
            char tag[64];
            snprintf(tag, sizeof tag, "write @%lld", op->a);
            rec(t, tag, PerlIO_write(fw, wdata + op->a, op->len), NULL, 0);
        }
            break;
        case PXOP_FLUSH:
            rec(t, "flush", PerlIO_flush(fw), NULL, 0);
            break;
        }
        rec(t, "error", PerlIO_error(f) ? 1 : 0, NULL, 0);
    }
    SvREFCNT_dec(line);
    free(buf);
}

static void compare(const struct transcript *a, const struct transcript *b, const char *what,
                    unsigned seed)
{
    if (a->len == b->len && memcmp(a->p, b->p, a->len) == 0)
        return;
    size_t i = 0;
    while (i < a->len && i < b->len && a->p[i] == b->p[i])
        i++;
    size_t from = i;
    while (from > 0 && a->p[from - 1] != '\n')
        from--;
    from = from > 120 ? from - 120 : 0;
    ck_abort_msg("%s seed %u: transcripts differ at byte %zu\n:perlio ...%.*s\n:evloop ...%.*s",
                 what, seed, i, (int)(a->len - from < 300 ? a->len - from : 300), a->p + from,
                 (int)(b->len - from < 300 ? b->len - from : 300), b->p + from);
}

/* EVL_EMBED_SEED=n reruns one seed of the differential tests;
 * EVL_EMBED_SEEDS=k runs k of them (default 150). */
static unsigned only_seed;
static unsigned n_seeds = 150;

static evl_loop *px_loop(int backend)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_PROACTOR, px_backends[backend]));
    return loop;
}

static void px_loop_free(evl_loop *loop)
{
    for (int i = 0; evl_loop_pending_ops(loop) > 0; i++) {
        ck_assert_int_lt(i, 1000);
        ck_assert_int_ge(evl_loop_run_once(loop, 5000000000LL), 0);
    }
    evl_loop_drain(loop);
    evl_loop_free(loop);
}

START_TEST(test_perlio_embed_proactor_files)
{
    static const char *modes[] = { "r", "r+", "w", "a", "w+" };
    for (int backend = px_first_backend; backend < 2; backend++) {
        evl_loop *loop = px_loop(backend);
        for (unsigned seed = 1; seed <= n_seeds; seed++) {
            if (only_seed && seed != only_seed)
                continue;
            rng_state = 0x9E3779B97F4A7C15ULL * seed;
            const char *mode = modes[rnd(5)];
            size_t size = rnd(4) ? rnd(200000) : rnd(300);
            char *content = gen_content(size);
            size_t wlen = 40000;
            char *wdata = gen_content(wlen);
            struct px_op ops[128];
            int can_r = mode[0] == 'r' || mode[1] == '+';
            int can_w = mode[0] != 'r' || mode[1] == '+';
            size_t n = plan_ops(ops, 128, can_r, can_w, mode[0] != 'a', size, wlen);
            struct transcript t[2] = { { 0 }, { 0 } };
            char *got[2];
            size_t got_len[2];
            for (int which = 0; which < 2; which++) {
                char *path = make_file(content, size);
                int flags = mode[0] == 'r' ? (mode[1] == '+' ? O_RDWR : O_RDONLY)
                            : mode[0] == 'a' ? O_WRONLY | O_APPEND
                                             : (mode[1] == '+' ? O_RDWR : O_WRONLY) | O_TRUNC;
                int fd = open(path, flags);
                ck_assert_int_ge(fd, 0);
                PerlIO *f = which == 0 ? PerlIO_fdopen(fd, mode)
                                       : evl_perlio_fdopen(aTHX_ getenv("EVL_EMBED_NOLOOP") ? NULL : loop, fd, mode);
                ck_assert_ptr_nonnull(f);
                if (which == 1) {
                    evl_stream *s = evl_perlio_stream(aTHX_ f);
                    ck_assert_ptr_nonnull(s);
                    ck_assert(getenv("EVL_EMBED_NOLOOP") || s->px != NULL);
                }
                run_ops(f, ops, n, wdata, &t[which]);
                rec(&t[which], "close", PerlIO_close(f), NULL, 0);
                /* The kernel has let go of the fd before :unix closed it. */
                ck_assert_msg(evl_loop_pending_ops(loop) == 0, "%s seed %u: %zu ops left", mode,
                              seed, evl_loop_pending_ops(loop));
                got[which] = slurp_path(path, &got_len[which]);
                if (only_seed && getenv("EVL_EMBED_DUMP")) {
                    char dump[64];
                    snprintf(dump, sizeof dump, "%s.%d.%d", getenv("EVL_EMBED_DUMP"), backend,
                             which);
                    FILE *df = fopen(dump, "w");
                    fwrite(got[which], 1, got_len[which], df);
                    fprintf(df, "\n----\n%.*s", (int)t[which].len, t[which].p);
                    fclose(df);
                }
                unlink(path);
                free(path);
            }
            compare(&t[0], &t[1], mode, seed);
            size_t d = 0;
            while (d < got_len[0] && d < got_len[1] && got[0][d] == got[1][d])
                d++;
            ck_assert_msg(got_len[0] == got_len[1] && d == got_len[0],
                          "backend %d %s seed %u: files differ at byte %zu (sizes %zu, %zu)\n%.*s", backend, mode,
                          seed, d, got_len[0], got_len[1], (int)t[0].len, t[0].p);
            for (int i = 0; i < 2; i++) {
                free(t[i].p);
                free(got[i]);
            }
            free(content);
            free(wdata);
        }
        ck_assert_uint_eq(evl_loop_pending_ops(loop), 0);
        px_loop_free(loop);
    }
}
END_TEST

START_TEST(test_perlio_embed_proactor_sockets)
{
    for (int backend = px_first_backend; backend < 2; backend++) {
        evl_loop *loop = px_loop(backend);
        for (unsigned seed = 1; seed <= n_seeds; seed++) {
            rng_state = 0xD1B54A32D192ED03ULL * seed;
            /* All of it fits in the socket at once, so a non-blocking
             * read never comes up short where a blocking one would wait. */
            size_t size = rnd(3) ? rnd(60000) : rnd(200);
            char *content = gen_content(size);
            size_t wlen = 30000;
            char *wdata = gen_content(wlen);
            struct px_op ops[128];
            int can_w = rnd(2);
            size_t n = plan_ops(ops, 128, 1, can_w, 0, size, wlen);
            struct transcript t[2] = { { 0 }, { 0 } };
            char *peer[2];
            size_t peer_len[2];
            for (int which = 0; which < 2; which++) {
                int sv[2];
                ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
                ck_assert_int_eq(write(sv[1], content, size), (ssize_t)size);
                ck_assert_rc(shutdown(sv[1], SHUT_WR));
                /* As perl opens a socket: one PerlIO to read, one to
                 * write, over the same fd (:evloop shares one stream). */
                PerlIO *f = which == 0 ? PerlIO_fdopen(sv[0], "r")
                                       : evl_perlio_fdopen(aTHX_ loop, sv[0], "r");
                PerlIO *fw = which == 0 ? PerlIO_fdopen(sv[0], "w")
                                        : evl_perlio_fdopen(aTHX_ loop, sv[0], "w");
                ck_assert_ptr_nonnull(f);
                ck_assert_ptr_nonnull(fw);
                if (which == 1)
                    ck_assert_ptr_eq(evl_perlio_stream(aTHX_ f), evl_perlio_stream(aTHX_ fw));
                run_ops2(f, fw, ops, n, wdata, &t[which]);
                rec(&t[which], "close w", PerlIO_close(fw), NULL, 0);
                rec(&t[which], "close", PerlIO_close(f), NULL, 0);
                peer[which] = slurp_fd(sv[1], &peer_len[which]);
                close(sv[1]);
            }
            compare(&t[0], &t[1], can_w ? "socket r/w" : "socket r", seed);
            ck_assert_uint_eq(peer_len[0], peer_len[1]);
            ck_assert_int_eq(memcmp(peer[0], peer[1], peer_len[0]), 0);
            for (int i = 0; i < 2; i++) {
                free(t[i].p);
                free(peer[i]);
            }
            free(content);
            free(wdata);
        }
        px_loop_free(loop);
    }
}
END_TEST

/* Write-behind through completions: the proactor sends the queue while
 * the peer reads, and close waits for the rest by running the loop. */
START_TEST(test_perlio_embed_proactor_drains_queue)
{
    for (int backend = px_first_backend; backend < 2; backend++) {
        evl_loop *loop = px_loop(backend);
        int sv[2];
        static char big[1 << 20];
        char buf[65536];
        size_t got = 0;
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (char)('a' + i % 23);
        ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
        set_nonblock(sv[1]);
        PerlIO *f = evl_perlio_fdopen(aTHX_ loop, sv[0], "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(PerlIO_write(f, big, sizeof big), (SSize_t)sizeof big);
        evl_stream *s = evl_perlio_stream(aTHX_ f);
        ck_assert_ptr_nonnull(s->px);
        ck_assert_uint_gt(evl_stream_queued(s), 0);
        char *all = malloc(sizeof big);
        while (evl_stream_queued(s) > 0) {
            ck_assert_int_ge(evl_loop_run_once(loop, 1000000), 0);
            ssize_t r;
            while ((r = read(sv[1], buf, sizeof buf)) > 0) {
                memcpy(all + got, buf, (size_t)r);
                got += (size_t)r;
            }
        }
        ck_assert_int_eq(PerlIO_close(f), 0);
        ssize_t r;
        while ((r = read(sv[1], buf, sizeof buf)) > 0) {
            memcpy(all + got, buf, (size_t)r);
            got += (size_t)r;
        }
        ck_assert_uint_eq(got, sizeof big);
        ck_assert_int_eq(memcmp(all, big, sizeof big), 0);
        free(all);
        close(sv[1]);
        px_loop_free(loop);
    }
}
END_TEST

/* evl_perlio_attach: an open handle with buffered input moves under a
 * loop without losing a byte; a handle without :evloop is refused. */
START_TEST(test_perlio_embed_attach)
{
    int p[2];
    char buf[64];
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    ck_assert_rc(pipe(p));
    ck_assert_int_eq(write(p[1], "first\nsecond\n", 13), 13);
    PerlIO *f = evl_perlio_fdopen(aTHX_ NULL, p[0], "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PerlIO_read(f, buf, 6), 6);   /* "second\n" stays buffered */
    ck_assert_rc(evl_perlio_attach(aTHX_ f, loop));
    ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ck_assert_int_eq(PerlIO_read(f, buf, sizeof buf), 7);
    ck_assert_int_eq(memcmp(buf, "second\n", 7), 0);
    /* Nothing more yet: EAGAIN, not end of file. */
    errno = 0;
    ck_assert_int_eq(PerlIO_read(f, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert(!PerlIO_eof(f));
    ck_assert_rc(evl_perlio_attach(aTHX_ f, loop));   /* again: nothing to do */
    ck_assert_int_eq(PerlIO_close(f), 0);
    close(p[1]);

    PerlIO *std = PerlIO_stdout();
    ck_assert_int_eq(evl_perlio_attach(aTHX_ std, loop), -EINVAL);
    ck_assert_int_eq(evl_perlio_attach(aTHX_ NULL, loop), -EINVAL);
    evl_loop_free(loop);
}
END_TEST

/* evl_perlio_attach from one proactor loop to another: the read-ahead
 * the first loop has in flight completes there, then the handle goes on
 * reading from the second, byte for byte.  The file is read as if cold
 * (no inline page-cache reads), so that there is read-ahead in flight. */
START_TEST(test_perlio_embed_attach_moves_a_file_between_proactor_loops)
{
    for (int backend = px_first_backend; backend < 2; backend++) {
        evl_loop *a = px_loop(backend), *b = px_loop(backend);
        size_t size = 1000000;
        char *content = gen_content(size);
        char *path = make_file(content, size);
        int fd = open(path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        PerlIO *f = evl_perlio_fdopen(aTHX_ a, fd, "r");
        ck_assert_ptr_nonnull(f);
        evl__stream_px_set_nowait(evl_perlio_stream(aTHX_ f), 0);
        char *got = malloc(size + 1);
        ck_assert_ptr_nonnull(got);
        ck_assert_int_eq(PerlIO_read(f, got, 1000), 1000);
        ck_assert_uint_gt(evl_loop_pending_ops(a), 0);   /* chunks ahead */
        ck_assert_rc(evl_perlio_attach(aTHX_ f, b));
        ck_assert_uint_eq(evl_loop_pending_ops(a), 0);
        size_t n = 1000;
        SSize_t r;
        while ((r = PerlIO_read(f, got + n, size + 1 - n)) > 0)
            n += (size_t)r;
        ck_assert_uint_eq(n, size);
        ck_assert_int_eq(memcmp(got, content, size), 0);
        ck_assert_int_eq(PerlIO_close(f), 0);
        unlink(path);
        free(path);
        free(got);
        free(content);
        px_loop_free(a);
        px_loop_free(b);
    }
}
END_TEST

static Suite *perlio_embed_suite(void)
{
    Suite *s = suite_create("perlio_embed");
    TCase *tc = tcase_create("layer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_perlio_embed_write_pipe);
    tcase_add_test(tc, test_perlio_embed_read_buffer_is_the_streams);
    tcase_add_test(tc, test_perlio_embed_loop_drains_queue);
    tcase_add_test(tc, test_perlio_embed_stream_of_other_handle_is_null);
    tcase_add_test(tc, test_perlio_embed_attach);
    suite_add_tcase(s, tc);
    TCase *px = tcase_create("proactor");
    tcase_add_checked_fixture(px, setup, teardown);
    tcase_set_timeout(px, 120);
    tcase_add_test(px, test_perlio_embed_proactor_files);
    tcase_add_test(px, test_perlio_embed_proactor_sockets);
    tcase_add_test(px, test_perlio_embed_proactor_drains_queue);
    tcase_add_test(px, test_perlio_embed_attach_moves_a_file_between_proactor_loops);
    suite_add_tcase(s, px);
    return s;
}

int main(int argc, char **argv, char **env)
{
    PERL_SYS_INIT3(&argc, &argv, &env);
    /* io_uring may be missing or forbidden: then only the fake backend. */
    if (getenv("EVL_EMBED_SEED"))
        only_seed = (unsigned)atoi(getenv("EVL_EMBED_SEED"));
    if (getenv("EVL_EMBED_SEEDS"))
        n_seeds = (unsigned)atoi(getenv("EVL_EMBED_SEEDS"));
    if (only_seed > n_seeds)
        n_seeds = only_seed;
    evl_loop *probe;
    if (evl_loop_new(&probe, EVL_PROACTOR, EVL_BACKEND_URING) == 0)
        evl_loop_free(probe);
    else
        px_first_backend = 1;
    /* EVL_TEST_BACKEND=fake: as t/check_stream_proactor (valgrind cannot
     * see the kernel fill io_uring's buffers). */
    const char *only = getenv("EVL_TEST_BACKEND");
    if (only != NULL && strcmp(only, "fake") == 0)
        px_first_backend = 1;
    int rc = evl_test_run(perlio_embed_suite());
    PERL_SYS_TERM();
    return rc;
}
