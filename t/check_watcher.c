/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_watcher.c - fd watcher dispatch rules. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

/* A record of which callbacks ran, in order, as a string ("r", "w", "e"). */
struct rec {
    char log[64];
    int n;
    evl_watcher *victim;        /* watcher a callback acts on */
    evl_loop *loop;
    int fd;
    int action;
};

enum { ACT_NONE, ACT_STOP_SELF, ACT_STOP_VICTIM, ACT_DISABLE_WRITE, ACT_CLOSE_REOPEN,
       ACT_FREE_SELF };

static void note(evl_watcher *w, char c)
{
    struct rec *r = w->data;
    if (r->n < (int)sizeof(r->log) - 1)
        r->log[r->n++] = c;
}

static void act(evl_watcher *w)
{
    struct rec *r = w->data;
    switch (r->action) {
    case ACT_STOP_SELF: ck_assert_int_eq(evl_watcher_stop(w), 1); break;
    case ACT_STOP_VICTIM: evl_watcher_stop(r->victim); break;
    case ACT_DISABLE_WRITE: evl_watcher_modify(w, w->flags & ~EVL_WRITE); break;
    case ACT_FREE_SELF: evl_watcher_stop(w); memset(w, 0xa5, sizeof(*w)); free(w); break;
    }
}

static void on_read(evl_watcher *w, unsigned ev) { (void)ev; note(w, 'r'); act(w); }
static void on_write(evl_watcher *w, unsigned ev) { (void)ev; note(w, 'w'); }
static void on_error(evl_watcher *w, unsigned ev) { (void)ev; note(w, 'e'); }

static void on_read_drain(evl_watcher *w, unsigned ev)
{
    (void)ev;
    char buf[64];
    while (read(w->fd, buf, sizeof(buf)) > 0)
        ;
    note(w, 'r');
}

static evl_loop *new_loop(void)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    return loop;
}

START_TEST(test_watch_read_and_write_in_order)
{
    evl_loop *loop = new_loop();
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, on_write, on_error);
    ck_assert_rc(evl_watcher_start(loop, &w, sv[0], EVL_READ | EVL_WRITE));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 1);
    ck_assert_str_eq(r.log, "rw");
    evl_watcher_stop(&w);
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_callback_without_enable_bit_is_silent)
{
    evl_loop *loop = new_loop();
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, on_write, NULL);
    /* Only write enabled; the read callback exists but must not run. */
    ck_assert_rc(evl_watcher_start(loop, &w, sv[0], EVL_WRITE));
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "w");
    /* Enabling a direction without its callback adds no interest. */
    evl_watcher_set_cb(&w, EVL_WRITE, NULL);
    r.n = 0;
    memset(r.log, 0, sizeof(r.log));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_str_eq(r.log, "");
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_read_cb_disabling_write_suppresses_write)
{
    evl_loop *loop = new_loop();
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    struct rec r = { .action = ACT_DISABLE_WRITE };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, on_write, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, sv[0], EVL_READ | EVL_WRITE));
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "r");
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_stop_self_in_read_skips_write)
{
    evl_loop *loop = new_loop();
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    struct rec r = { .action = ACT_STOP_SELF };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, on_write, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, sv[0], EVL_READ | EVL_WRITE));
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "r");
    ck_assert_int_eq(evl_watcher_is_active(&w), 0);
    ck_assert_int_eq(evl_watcher_stop(&w), 0);   /* idempotent */
    ck_assert_ptr_null(evl_loop_watcher_for_fd(loop, sv[0]));
    /* Stopped means no more callbacks even though data is still there. */
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "r");
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_free_self_inside_callback)
{
    evl_loop *loop = new_loop();
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    struct rec r = { .action = ACT_FREE_SELF };
    evl_watcher *w = calloc(1, sizeof(*w));
    w->data = &r;
    evl_watcher_init(w, on_read, on_write, NULL);
    ck_assert_rc(evl_watcher_start(loop, w, sv[0], EVL_READ | EVL_WRITE));
    /* Under ASan/valgrind a touch of the freed watcher would be reported. */
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "r");
    close(sv[0]);
    close(sv[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_stop_other_in_same_batch_drops_its_event)
{
    evl_loop *loop = new_loop();
    int a[2], b[2];
    ck_assert_rc(pipe2(a, O_NONBLOCK));
    ck_assert_rc(pipe2(b, O_NONBLOCK));
    ck_assert_int_eq(write(a[1], "x", 1), 1);
    ck_assert_int_eq(write(b[1], "x", 1), 1);
    struct rec ra = { 0 }, rb = { 0 };
    evl_watcher wa = { .data = &ra }, wb = { .data = &rb };
    evl_watcher_init(&wa, on_read, NULL, NULL);
    evl_watcher_init(&wb, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &wa, a[0], EVL_READ));
    ck_assert_rc(evl_watcher_start(loop, &wb, b[0], EVL_READ));
    /* Whichever runs first stops the other: exactly one callback runs. */
    ra.action = rb.action = ACT_STOP_VICTIM;
    ra.victim = &wb;
    rb.victim = &wa;
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 2);
    ck_assert_int_eq(ra.n + rb.n, 1);
    evl_watcher_stop(&wa);
    evl_watcher_stop(&wb);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
    evl_loop_free(loop);
}
END_TEST

/* The read callback of watcher A closes fd X (watched by B, event already
 * queued), reopens a new pipe that lands on X's number and watches it with
 * C.  The queued event for X must not reach C. */
struct reuse_ctx {
    evl_loop *loop;
    evl_watcher *b, *c;
    int x;
    int x_other_end;
    int c_calls, b_calls;
};

static void reuse_b_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    struct reuse_ctx *ctx = w->data;
    ctx->b_calls++;
}

static void reuse_c_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    struct reuse_ctx *ctx = w->data;
    ctx->c_calls++;
}

static void reuse_a_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    struct reuse_ctx *ctx = w->data;
    char c;
    ck_assert_int_eq(read(w->fd, &c, 1), 1);
    if (ctx->b_calls > 0)   /* B already ran: order was not the one we test */
        return;
    /* Close X without stopping B (the user forgot), then reuse the number. */
    close(ctx->x);
    close(ctx->x_other_end);
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    if (p[0] != ctx->x) {
        ck_assert_int_eq(dup2(p[0], ctx->x), ctx->x);
        close(p[0]);
    }
    ctx->x_other_end = p[1];   /* write end: new pipe is empty, so C must stay quiet */
    ck_assert_rc(evl_watcher_start(ctx->loop, ctx->c, ctx->x, EVL_READ));
    ck_assert_int_eq(evl_watcher_is_active(ctx->b), 0);   /* replaced */
}

START_TEST(test_watch_stale_event_after_fd_reuse)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        evl_loop *loop = new_loop();
        int a[2], x[2];
        ck_assert_rc(pipe2(a, O_NONBLOCK));
        ck_assert_rc(pipe2(x, O_NONBLOCK));
        struct reuse_ctx ctx = { .loop = loop, .x = x[0], .x_other_end = x[1] };
        evl_watcher wa = { .data = &ctx }, wb = { .data = &ctx }, wc = { .data = &ctx };
        ctx.b = &wb;
        ctx.c = &wc;
        evl_watcher_init(&wa, reuse_a_read, NULL, NULL);
        evl_watcher_init(&wb, reuse_b_read, NULL, NULL);
        evl_watcher_init(&wc, reuse_c_read, NULL, NULL);
        /* Register in an order that makes epoll report A before X: epoll's
         * ready list is FIFO in the order the fds became ready. */
        ck_assert_rc(evl_watcher_start(loop, &wa, a[0], EVL_READ));
        ck_assert_rc(evl_watcher_start(loop, &wb, x[0], EVL_READ));
        ck_assert_int_eq(write(a[1], "a", 1), 1);
        ck_assert_int_eq(write(x[1], "x", 1), 1);
        ck_assert_int_eq(evl_loop_run_once(loop, 0), 2);
        ck_assert_int_eq(ctx.b_calls, 0);
        ck_assert_int_eq(ctx.c_calls, 0);
        /* And later, the new pipe behaves normally under C. */
        ck_assert_int_eq(write(ctx.x_other_end, "y", 1), 1);
        evl_loop_run_once(loop, 0);
        ck_assert_int_eq(ctx.c_calls, 1);
        evl_watcher_stop(&wa);
        evl_watcher_stop(&wc);
        close(a[0]); close(a[1]); close(ctx.x); close(ctx.x_other_end);
        evl_loop_free(loop);
    }
}
END_TEST

START_TEST(test_watch_same_fd_again_replaces_old)
{
    evl_loop *loop = new_loop();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    struct rec r1 = { 0 }, r2 = { 0 };
    evl_watcher w1 = { .data = &r1 }, w2 = { .data = &r2 };
    evl_watcher_init(&w1, on_read, NULL, NULL);
    evl_watcher_init(&w2, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w1, p[0], EVL_READ));
    ck_assert_rc(evl_watcher_start(loop, &w2, p[0], EVL_READ));
    ck_assert_int_eq(evl_watcher_is_active(&w1), 0);
    ck_assert_ptr_eq(evl_loop_watcher_for_fd(loop, p[0]), &w2);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r1.n, 0);
    ck_assert_int_eq(r2.n, 1);
    /* Stopping the replaced watcher must not unregister its successor. */
    ck_assert_int_eq(evl_watcher_stop(&w1), 0);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r2.n, 2);
    evl_watcher_stop(&w2);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_oneshot_fires_once_until_modify)
{
    evl_loop *loop = new_loop();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    ck_assert_int_eq(write(p[1], "xy", 2), 2);
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ | EVL_ONESHOT));
    evl_loop_run_once(loop, 0);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(evl_watcher_is_active(&w), 1);   /* disarmed, still registered */
    ck_assert_rc(evl_watcher_modify(&w, w.flags));    /* same mask re-arms */
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r.n, 2);
    evl_watcher_stop(&w);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_edge_triggered_reports_new_data_only)
{
    evl_loop *loop = new_loop();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, NULL, NULL);   /* does not read: data stays */
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ | EVL_ET));
    evl_loop_run_once(loop, 0);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r.n, 1);   /* level-triggered would have said 2 */
    ck_assert_int_eq(write(p[1], "y", 1), 1);
    evl_loop_run_once(loop, 0);
    ck_assert_int_eq(r.n, 2);
    evl_watcher_stop(&w);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_hup_is_readable)
{
    evl_loop *loop = new_loop();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    close(p[1]);
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "r");
    evl_watcher_stop(&w);
    close(p[0]);
    evl_loop_free(loop);
}
END_TEST

/* HUP that no enabled callback takes must not wake every wait: the fd is
 * parked until the watcher changes, and a modify brings it back. */
START_TEST(test_watch_unhandled_hup_does_not_spin)
{
    evl_loop *loop = new_loop();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    close(p[1]);
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read_drain, on_write, NULL);
    /* Only write interest on a read end whose writer is gone: HUP. */
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_WRITE));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 1);
    ck_assert_str_eq(r.log, "");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(evl_watcher_is_active(&w), 1);
    /* Enabling read puts it back, and the HUP reaches the read callback. */
    ck_assert_rc(evl_watcher_modify(&w, w.flags | EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 1);
    ck_assert_str_eq(r.log, "r");
    ck_assert_int_eq(evl_watcher_stop(&w), 1);
    close(p[0]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_err_goes_to_error_cb_alone)
{
    evl_loop *loop = new_loop();
    int p[2];
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    close(p[0]);   /* the write end now reports EPOLLERR */
    struct rec r = { 0 };
    evl_watcher w = { .data = &r };
    evl_watcher_init(&w, on_read, on_write, on_error);
    ck_assert_rc(evl_watcher_start(loop, &w, p[1], EVL_WRITE | EVL_ERROR));
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "e");
    /* Without the error callback enabled, ERR counts as readable+writable. */
    ck_assert_rc(evl_watcher_modify(&w, EVL_WRITE | EVL_READ));
    r.n = 0;
    memset(r.log, 0, sizeof(r.log));
    evl_loop_run_once(loop, 0);
    ck_assert_str_eq(r.log, "rw");
    evl_watcher_stop(&w);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_bad_arguments)
{
    evl_loop *loop = new_loop();
    evl_watcher w;
    evl_watcher_init(&w, on_read, NULL, NULL);
    ck_assert_int_eq(evl_watcher_start(loop, &w, -1, EVL_READ), -EBADF);
    ck_assert_int_eq(evl_watcher_start(loop, &w, 1000000, EVL_READ), -EBADF);
    ck_assert_int_eq(evl_watcher_start(NULL, &w, 0, EVL_READ), -EINVAL);
    ck_assert_int_eq(evl_watcher_start(loop, NULL, 0, EVL_READ), -EINVAL);
    ck_assert_int_eq(evl_watcher_start(loop, &w, 0, 0x1000), -EINVAL);
    ck_assert_int_eq(evl_watcher_modify(&w, EVL_READ), -EINVAL);   /* not active */
    ck_assert_int_eq(evl_watcher_set_cb(&w, 0x99, NULL), -EINVAL);
    /* A closed fd that the table already knows. */
    int q[2];
    ck_assert_rc(pipe(q));
    ck_assert_rc(evl_watcher_start(loop, &w, q[0], EVL_READ));
    evl_watcher_stop(&w);
    evl_loop_run_once(loop, 0);
    close(q[0]);
    close(q[1]);
    ck_assert_int_eq(evl_watcher_start(loop, &w, q[0], EVL_READ), -EBADF);
    ck_assert_int_eq(evl_watcher_is_active(&w), 0);
    int p[2];
    ck_assert_rc(pipe(p));
    ck_assert_rc(evl_watcher_start(loop, &w, p[0], EVL_READ));
    ck_assert_int_eq(evl_watcher_start(loop, &w, p[0], EVL_READ), -EINVAL);   /* active */
    evl_watcher_stop(&w);
    close(p[0]);
    close(p[1]);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_watch_many_fds_grow_table)
{
    evl_loop *loop = new_loop();
    enum { N = 300 };
    int fds[N][2];
    evl_watcher *w = calloc(N, sizeof(*w));
    struct rec *r = calloc(N, sizeof(*r));
    for (int i = 0; i < N; i++) {
        ck_assert_rc(pipe2(fds[i], O_NONBLOCK));
        w[i].data = &r[i];
        evl_watcher_init(&w[i], on_read_drain, NULL, NULL);
        ck_assert_rc(evl_watcher_start(loop, &w[i], fds[i][0], EVL_READ));
    }
    for (int i = 0; i < N; i += 3)
        ck_assert_int_eq(write(fds[i][1], "x", 1), 1);
    int total = 0;
    while (total < (N + 2) / 3) {
        int n = evl_loop_run_once(loop, 1000000000);
        ck_assert_int_gt(n, 0);
        total += n;
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].n, i % 3 == 0 ? 1 : 0);
        evl_watcher_stop(&w[i]);
        close(fds[i][0]);
        close(fds[i][1]);
    }
    free(w);
    free(r);
    evl_loop_free(loop);
}
END_TEST

/* A forked child that stops its copy of a watcher (as a destructor would)
 * must not take the fd out of the parent's epoll set, which it shares. */
START_TEST(test_watch_forked_child_stop_leaves_parent_registered)
{
    evl_loop *loop;
    int sv[2];
    struct rec r = { .n = 0 };
    evl_watcher w = { .data = &r };

    ck_assert_int_eq(evl_loop_new(&loop, EVL_REACTOR, 0), 0);
    evl_watcher_init(&w, on_read, NULL, NULL);
    make_socketpair(sv);
    ck_assert_int_eq(evl_watcher_start(loop, &w, sv[0], EVL_READ), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        evl_watcher_stop(&w);
        evl_loop_free(loop);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_int_ge(evl_loop_run_once(loop, 1000000000), 1);
    ck_assert_str_eq(r.log, "r");
    evl_watcher_stop(&w);
    evl_loop_free(loop);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* Many fds ready at once: a full batch grows the wait's event array, so
 * that a later wait returns them all (libev's rule), instead of 256 per
 * wait for ever. */
static void count_read(evl_watcher *w, unsigned ev)
{
    (void)ev;
    (*(int *)w->data)++;
}

START_TEST(test_full_batches_grow_the_event_array)
{
    enum { NPIPES = 600 };
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    static int fds[NPIPES][2];
    static evl_watcher ws[NPIPES];
    int calls = 0;
    for (int i = 0; i < NPIPES; i++) {
        ck_assert_rc(pipe(fds[i]));
        ck_assert_int_eq(write(fds[i][1], "x", 1), 1);
        ws[i].data = &calls;
        evl_watcher_init(&ws[i], count_read, NULL, NULL);
        ck_assert_rc(evl_watcher_start(loop, &ws[i], fds[i][0], EVL_READ));
    }
    /* Level-triggered and never drained: every wait finds all 600. */
    int first = evl_loop_run_once(loop, 0);
    ck_assert_int_lt(first, NPIPES);   /* the first batch is smaller */
    int last = 0;
    for (int i = 0; i < 4; i++)
        last = evl_loop_run_once(loop, 0);
    ck_assert_int_eq(last, NPIPES);
    for (int i = 0; i < NPIPES; i++) {
        evl_watcher_stop(&ws[i]);
        close(fds[i][0]);
        close(fds[i][1]);
    }
    evl_loop_free(loop);
}
END_TEST

static Suite *watcher_suite(void)
{
    Suite *s = suite_create("watcher");
    TCase *tc = tcase_create("dispatch");
    tcase_add_test(tc, test_watch_read_and_write_in_order);
    tcase_add_test(tc, test_watch_callback_without_enable_bit_is_silent);
    tcase_add_test(tc, test_watch_read_cb_disabling_write_suppresses_write);
    tcase_add_test(tc, test_watch_hup_is_readable);
    tcase_add_test(tc, test_watch_unhandled_hup_does_not_spin);
    tcase_add_test(tc, test_watch_err_goes_to_error_cb_alone);
    suite_add_tcase(s, tc);
    tc = tcase_create("mutation");
    tcase_add_test(tc, test_watch_stop_self_in_read_skips_write);
    tcase_add_test(tc, test_watch_free_self_inside_callback);
    tcase_add_test(tc, test_watch_stop_other_in_same_batch_drops_its_event);
    tcase_add_test(tc, test_watch_stale_event_after_fd_reuse);
    tcase_add_test(tc, test_watch_same_fd_again_replaces_old);
    tcase_add_test(tc, test_watch_forked_child_stop_leaves_parent_registered);
    suite_add_tcase(s, tc);
    tc = tcase_create("modes");
    tcase_add_test(tc, test_watch_oneshot_fires_once_until_modify);
    tcase_add_test(tc, test_watch_edge_triggered_reports_new_data_only);
    tcase_add_test(tc, test_watch_bad_arguments);
    tcase_add_test(tc, test_watch_many_fds_grow_table);
    tcase_add_test(tc, test_full_batches_grow_the_event_array);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(watcher_suite());
}
