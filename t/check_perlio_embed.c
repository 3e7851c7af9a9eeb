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
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop-perlio.h"
#include "evl-test.h"

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

static Suite *perlio_embed_suite(void)
{
    Suite *s = suite_create("perlio_embed");
    TCase *tc = tcase_create("layer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_perlio_embed_write_pipe);
    tcase_add_test(tc, test_perlio_embed_read_buffer_is_the_streams);
    tcase_add_test(tc, test_perlio_embed_loop_drains_queue);
    tcase_add_test(tc, test_perlio_embed_stream_of_other_handle_is_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv, char **env)
{
    PERL_SYS_INIT3(&argc, &argv, &env);
    int rc = evl_test_run(perlio_embed_suite());
    PERL_SYS_TERM();
    return rc;
}
