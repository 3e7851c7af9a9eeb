/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_fork.c - child processes: evl_child_spawn and friends. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <dirent.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "evl-syscall.h"
#include "evl-test.h"
#include "evloop.h"
#include "evloop-fork.h"

/* ------------------------------------------------------------ helpers */

struct rec {
    evl_loop *loop;
    char *out[3];                /* captured bytes per child fd */
    size_t len[3];
    int exits;
    int status;
    size_t len_at_exit[3];       /* what had arrived when on_exit ran */
    int exited_before_exit_cb;   /* evl_child_exited was 1 before on_exit */
    int errors;
    int last_error_fd, last_error;
    int timeouts;
    int free_in_output;          /* free the child on its first chunk */
    int free_in_exit;            /* free (and poison) the child in on_exit */
};

static void rec_free(struct rec *r)
{
    for (int i = 0; i < 3; i++)
        free(r->out[i]);
}

static void on_output(evl_child *c, int fd, const char *data, size_t len)
{
    struct rec *r = c->data;
    ck_assert(fd == 1 || fd == 2);
    r->out[fd] = realloc(r->out[fd], r->len[fd] + len + 1);
    memcpy(r->out[fd] + r->len[fd], data, len);
    r->len[fd] += len;
    r->out[fd][r->len[fd]] = '\0';
    if (r->free_in_output) {
        ck_assert_int_eq(evl_child_free(c), 1);
        r->exits = -1;   /* no on_exit will come */
    }
}

static void on_exit_cb(evl_child *c, int status)
{
    struct rec *r = c->data;
    r->exits++;
    r->status = status;
    for (int i = 0; i < 3; i++)
        r->len_at_exit[i] = r->len[i];
    ck_assert(evl_child_exited(c));
    ck_assert(!evl_child_is_active(c));
    if (r->free_in_exit) {
        ck_assert_int_eq(evl_child_free(c), 0);   /* nothing left to free */
        memset(c, 0xa5, sizeof(*c));              /* what freeing it would do */
        free(c);
    }
}

static void on_error_cb(evl_child *c, int fd, int err)
{
    struct rec *r = c->data;
    r->errors++;
    r->last_error_fd = fd;
    r->last_error = err;
}

static void on_timeout_cb(evl_child *c)
{
    struct rec *r = c->data;
    r->timeouts++;
    ck_assert(!evl_child_exited(c));
}

static const struct evl_child_callbacks cbs = {
    .on_output = on_output, .on_exit = on_exit_cb, .on_error = on_error_cb,
    .on_timeout = on_timeout_cb
};

static void run_until_exit(struct rec *r)
{
    while (r->exits == 0)
        ck_assert_int_ge(evl_loop_run_once(r->loop, -1), 0);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void assert_no_children(void)
{
    errno = 0;
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

static const evl_fd_action cap_out[] = {
    { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
    { .kind = EVL_FD_PIPE_OUT, .fd = 2 },
};

/* Spawns /bin/sh -c script with stdout and stderr captured. */
static int spawn_sh(struct rec *r, evl_child *c, const char *script, unsigned flags,
                    const evl_fd_action *acts, size_t n_acts)
{
    char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
    evl_spawn_options o = { .argv = argv, .flags = flags,
                            .actions = acts ? acts : cap_out,
                            .n_actions = acts ? n_acts : 2 };
    c->data = r;
    return evl_child_spawn(r->loop, c, &o, &cbs);
}

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
    ck_assert_rc(evl_loop_new(&r->loop, EVL_REACTOR, 0));
}

static void rec_done(struct rec *r)
{
    evl_loop_free(r->loop);
    rec_free(r);
}

/* ------------------------------------------------------------ exec */

START_TEST(test_fork_exec_exit_status_and_output)
{
    struct rec r;
    rec_init(&r);
    int fds = count_fds();
    evl_child c = { 0 };
    ck_assert_rc(spawn_sh(&r, &c, "echo hello; echo oops >&2; exit 7", 0, NULL, 0));
    ck_assert_int_gt(evl_child_pid(&c), 0);
    ck_assert(evl_child_is_active(&c));
    ck_assert_int_eq(evl_child_status(&c), -EAGAIN);
    run_until_exit(&r);
    ck_assert_int_eq(r.exits, 1);
    ck_assert(WIFEXITED(r.status));
    ck_assert_int_eq(WEXITSTATUS(r.status), 7);
    ck_assert_int_eq(evl_child_status(&c), r.status);
    ck_assert_str_eq(r.out[1], "hello\n");
    ck_assert_str_eq(r.out[2], "oops\n");
    ck_assert_int_eq(evl_child_exec_error(&c), 0);
    /* Reaped and released. */
    ck_assert_int_eq(evl_child_kill(&c, 0), -ESRCH);
    ck_assert_int_eq(evl_child_free(&c), 0);
    assert_no_children();
    ck_assert_int_eq(count_fds(), fds);
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_exec_failure_reports_errno)
{
    struct rec r;
    rec_init(&r);
    int fds = count_fds();
    evl_child c = { 0 };
    char *argv[] = { "/nonexistent/evl-no-such-program", NULL };
    evl_spawn_options o = { .argv = argv, .actions = cap_out, .n_actions = 2 };
    c.data = &r;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o, &cbs), -ENOENT);
    ck_assert_int_eq(evl_child_exec_stage(&c), EVL_STAGE_EXEC);
    ck_assert(!evl_child_is_active(&c));
    ck_assert_int_eq(evl_child_free(&c), 0);
    assert_no_children();
    ck_assert_int_eq(count_fds(), fds);
    /* The spawn failed before anything reached the loop. */
    ck_assert_int_eq(evl_loop_run_once(r.loop, 0), 0);
    ck_assert_int_eq(r.exits, 0);
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_exec_failure_eacces_for_a_file_without_x_bit)
{
    struct rec r;
    rec_init(&r);
    char path[] = "/tmp/evl-fork-noexec-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "#!/bin/sh\n", 10), 10);
    close(fd);
    ck_assert_rc(chmod(path, 0600));
    evl_child c = { 0 };
    char *argv[] = { path, NULL };
    evl_spawn_options o = { .argv = argv };
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o, &cbs), -EACCES);
    /* The same through a PATH search: EACCES wins over ENOENT. */
    char *slash = strrchr(path, '/');
    char *argv2[] = { slash + 1, NULL };
    char pathenv[] = "PATH=/nonexistent-dir:/tmp:/nonexistent-too";
    char *env[] = { pathenv };
    evl_spawn_options o2 = { .argv = argv2, .flags = EVL_SPAWN_PATH, .env = env, .n_env = 1 };
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o2, &cbs), -EACCES);
    unlink(path);
    assert_no_children();
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_exec_path_search)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    char *argv[] = { "sh", "-c", "echo found", NULL };
    evl_spawn_options o = { .argv = argv, .flags = EVL_SPAWN_PATH, .actions = cap_out,
                            .n_actions = 2 };
    c.data = &r;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "found\n");
    /* Without the flag, a bare name is a path relative to the cwd. */
    o.flags = 0;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o, &cbs), -ENOENT);
    char *argv2[] = { "evl-no-such-program-anywhere", NULL };
    evl_spawn_options o2 = { .argv = argv2, .flags = EVL_SPAWN_PATH };
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o2, &cbs), -ENOENT);
    /* file overrides argv[0], which the program sees as given. */
    char *argv3[] = { "renamed", "-c", "echo $0", NULL };
    evl_spawn_options o3 = { .file = "/bin/sh", .argv = argv3, .actions = cap_out,
                             .n_actions = 2 };
    free(r.out[1]);
    r.out[1] = NULL;
    r.len[1] = 0;
    r.exits = 0;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o3, &cbs));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "renamed\n");
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_exit_127_mode_writes_diagnostic_to_captured_stderr)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    char *argv[] = { "/nonexistent/evl-prog", "arg", NULL };
    evl_spawn_options o = { .argv = argv, .actions = cap_out, .n_actions = 2,
                            .flags = EVL_SPAWN_EXIT_127, .diag_prefix = "X child error: " };
    c.data = &r;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    ck_assert_int_eq(evl_child_exec_error(&c), -ENOENT);
    ck_assert_int_eq(evl_child_exec_stage(&c), EVL_STAGE_EXEC);
    run_until_exit(&r);
    ck_assert(WIFEXITED(r.status));
    ck_assert_int_eq(WEXITSTATUS(r.status), 127);
    ck_assert_str_eq(r.out[2], "X child error: exec(/nonexistent/evl-prog): "
                               "No such file or directory\n");
    ck_assert_ptr_null(r.out[1]);

    /* A failed chdir, the same way. */
    char *argv2[] = { "/bin/true", NULL };
    evl_spawn_options o2 = o;
    o2.argv = argv2;
    o2.cwd = "/nonexistent-dir";
    rec_free(&r);
    memset(&r.out, 0, sizeof(r.out));
    memset(&r.len, 0, sizeof(r.len));
    r.exits = 0;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o2, &cbs));
    ck_assert_int_eq(evl_child_exec_stage(&c), EVL_STAGE_CHDIR);
    run_until_exit(&r);
    ck_assert_int_eq(WEXITSTATUS(r.status), 127);
    ck_assert_str_eq(r.out[2], "X child error: chdir(/nonexistent-dir): "
                               "No such file or directory\n");
    /* Without EXIT_127 it is the spawn's error, and nothing is written. */
    o2.flags = 0;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o2, &cbs), -ENOENT);
    ck_assert_int_eq(evl_child_exec_stage(&c), EVL_STAGE_CHDIR);
    assert_no_children();
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_bad_options_give_einval)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    char *argv[] = { "/bin/true", NULL };
    char *empty[] = { NULL };
    evl_spawn_options o = { .argv = argv };
    ck_assert_int_eq(evl_child_spawn(NULL, &c, &o, &cbs), -EINVAL);
    ck_assert_int_eq(evl_child_spawn(r.loop, NULL, &o, &cbs), -EINVAL);
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, NULL, &cbs), -EINVAL);
    evl_spawn_options bad = { 0 };
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);   /* neither */
    bad.argv = empty;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);   /* empty argv */
    bad = o;
    bad.flags = EVL_SPAWN_UMASK;
    bad.umask = 01000;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    bad = o;
    bad.flags = 0x10000;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    evl_fd_action a3[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 3 } };
    bad = o;
    bad.actions = a3;
    bad.n_actions = 1;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    evl_fd_action twice[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                              { .kind = EVL_FD_PIPE_IN, .fd = 1 } };
    bad.actions = twice;
    bad.n_actions = 2;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    evl_fd_action kind[] = { { .kind = 99, .fd = 1 } };
    bad.actions = kind;
    bad.n_actions = 1;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    evl_fd_action neg[] = { { .kind = EVL_FD_CLOSE, .fd = -1 } };
    bad.actions = neg;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    bad = o;
    bad.n_env = 1;
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &bad, &cbs), -EINVAL);
    /* An active child cannot be spawned over. */
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o, &cbs), -EINVAL);
    ck_assert_int_eq(evl_child_free(&c), 1);
    ck_assert_int_eq(evl_child_free(&c), 0);
    /* Calls on a child that was never spawned. */
    evl_child idle = { 0 };
    ck_assert_int_eq(evl_child_kill(&idle, SIGTERM), -EINVAL);
    ck_assert_int_eq(evl_child_write(&idle, "x", 1), -EBADF);
    ck_assert_int_eq(evl_child_close_stdin(&idle), -EBADF);
    ck_assert_int_eq(evl_child_set_timeout(&idle, 1, 0), -EINVAL);
    ck_assert_int_eq(evl_child_take_fd(&idle, 1), -EBADF);
    ck_assert_ptr_null(evl_child_stream(&idle, 1));
    assert_no_children();
    rec_done(&r);
}
END_TEST

/* ------------------------------------------------------------ setup */

START_TEST(test_fork_fd_actions_apply_in_order)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    /* 2>&1 after the stdout pipe: both streams arrive on fd 1, in order. */
    evl_fd_action merge[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                              { .kind = EVL_FD_DUP, .fd = 2, .src = 1 } };
    ck_assert_rc(spawn_sh(&r, &c, "echo out; echo err >&2", 0, merge, 2));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "out\nerr\n");
    ck_assert_ptr_null(r.out[2]);

    /* /dev/null on stdin: cat sees EOF at once. */
    evl_fd_action devnull[] = { { .kind = EVL_FD_DEVNULL, .fd = 0 },
                                { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    rec_free(&r);
    memset(r.out, 0, sizeof(r.out));
    memset(r.len, 0, sizeof(r.len));
    r.exits = 0;
    ck_assert_rc(spawn_sh(&r, &c, "cat; echo done", 0, devnull, 2));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "done\n");
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_fd_action_close_and_open)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    /* An fd the test leaves inheritable: visible unless closed. */
    int keep = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(keep, 3);
    char script[128];
    snprintf(script, sizeof(script), "test -e /proc/$$/fd/%d && echo open || echo closed", keep);
    ck_assert_rc(spawn_sh(&r, &c, script, 0, NULL, 0));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "open\n");
    evl_fd_action closeit[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                                { .kind = EVL_FD_CLOSE, .fd = keep } };
    free(r.out[1]);
    r.out[1] = NULL;
    r.len[1] = 0;
    r.exits = 0;
    ck_assert_rc(spawn_sh(&r, &c, script, 0, closeit, 2));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "closed\n");
    close(keep);

    /* open onto stdout: the child's output goes to a file. */
    char path[] = "/tmp/evl-fork-open-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    evl_fd_action openit[] = { { .kind = EVL_FD_OPEN, .fd = 1, .path = path,
                                 .oflags = O_WRONLY | O_TRUNC } };
    r.exits = 0;
    ck_assert_rc(spawn_sh(&r, &c, "echo to-file", 0, openit, 1));
    run_until_exit(&r);
    char buf[64] = { 0 };
    fd = open(path, O_RDONLY);
    ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 8);
    close(fd);
    ck_assert_str_eq(buf, "to-file\n");
    unlink(path);
    /* A failed open is the spawn's error, with its step. */
    evl_fd_action missing[] = { { .kind = EVL_FD_OPEN, .fd = 0, .path = "/nonexistent/f",
                                  .oflags = O_RDONLY } };
    ck_assert_int_eq(spawn_sh(&r, &c, "true", 0, missing, 1), -ENOENT);
    ck_assert_int_eq(evl_child_exec_stage(&c), EVL_STAGE_OPEN);
    assert_no_children();
    rec_done(&r);
}
END_TEST

/* With fds 0..2 closed in the parent, pipe2 hands out 0, 1 and 2: the
 * child's pipe ends must still survive the dup2s onto those numbers. */
START_TEST(test_fork_pipes_survive_when_parent_has_std_fds_closed)
{
    struct rec r;
    rec_init(&r);
    int save[3];
    for (int i = 0; i < 3; i++) {
        save[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        ck_assert_int_ge(save[i], 10);
        close(i);
    }
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 2 } };
    int rc = spawn_sh(&r, &c, "read x; echo \"got $x\"; echo e >&2", 0, io, 3);
    if (rc == 0) {
        evl_child_write(&c, "line\n", 5);
        evl_child_close_stdin(&c);
        run_until_exit(&r);
    }
    for (int i = 0; i < 3; i++) {
        dup2(save[i], i);
        close(save[i]);
    }
    ck_assert_rc(rc);
    ck_assert_str_eq(r.out[1], "got line\n");
    ck_assert_str_eq(r.out[2], "e\n");
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_cwd_umask_env)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    char *argv[] = { "/bin/sh", "-c", "pwd; umask; echo \"$EVLT_A|$EVLT_B|${EVLT_C-unset}\"",
                     NULL };
    ck_assert_rc(setenv("EVLT_A", "parent-a", 1));
    ck_assert_rc(setenv("EVLT_C", "parent-c", 1));
    char *env[] = { "EVLT_B=b1", "EVLT_A=child-a", "EVLT_B=b2", "EVLT_C" };
    /* A parent umask of 0 must not matter (the seed failed exactly then). */
    mode_t old = umask(0);
    evl_spawn_options o = { .argv = argv, .cwd = "/", .umask = 027,
                            .flags = EVL_SPAWN_UMASK, .env = env, .n_env = 4,
                            .actions = cap_out, .n_actions = 2 };
    c.data = &r;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    umask(old);
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "/\n0027\nchild-a|b2|unset\n");
    /* The parent's environment is untouched. */
    ck_assert_str_eq(getenv("EVLT_A"), "parent-a");

    /* clear_env: exactly the overlay. */
    char *argv2[] = { "/usr/bin/env", NULL };
    char *env2[] = { "ONLY=1", "ALSO=two" };
    evl_spawn_options o2 = { .argv = argv2, .flags = EVL_SPAWN_CLEAR_ENV, .env = env2,
                             .n_env = 2, .actions = cap_out, .n_actions = 2 };
    free(r.out[1]);
    r.out[1] = NULL;
    r.len[1] = 0;
    r.exits = 0;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o2, &cbs));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "ONLY=1\nALSO=two\n");
    /* clear_env alone: nothing at all. */
    o2.n_env = 0;
    o2.env = NULL;
    free(r.out[1]);
    r.out[1] = NULL;
    r.len[1] = 0;
    r.exits = 0;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o2, &cbs));
    run_until_exit(&r);
    ck_assert_ptr_null(r.out[1]);
    ck_assert_int_eq(WEXITSTATUS(r.status), 0);
    unsetenv("EVLT_A");
    unsetenv("EVLT_C");
    rec_done(&r);
}
END_TEST

static void noop_handler(int sig)
{
    (void)sig;
}

/* Parses "SigBlk:\t<hex>" style lines out of /proc/<pid>/status text. */
static unsigned long long sig_field(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    ck_assert_ptr_nonnull(p);
    return strtoull(p + strlen(name) + 1, NULL, 16);
}

START_TEST(test_fork_child_signal_mask_and_dispositions_reset)
{
    struct rec r;
    rec_init(&r);
    /* The parent blocks TERM, ignores PIPE and HUP, handles USR1. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct sigaction ign = { .sa_handler = SIG_IGN }, h = { .sa_handler = noop_handler };
    struct sigaction o_pipe, o_hup, o_usr1;
    sigaction(SIGPIPE, &ign, &o_pipe);
    sigaction(SIGHUP, &ign, &o_hup);
    sigaction(SIGUSR1, &h, &o_usr1);
    evl_child c = { 0 };
    /* cat installs no handlers: its status shows what it inherited. */
    char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
    evl_spawn_options o = { .argv = argv, .actions = cap_out, .n_actions = 2 };
    c.data = &r;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    run_until_exit(&r);
    ck_assert_ptr_nonnull(r.out[1]);
    ck_assert_uint_eq(sig_field(r.out[1], "SigBlk:"), 0);
    ck_assert_uint_eq(sig_field(r.out[1], "SigIgn:"), 0);
    ck_assert_uint_eq(sig_field(r.out[1], "SigCgt:"), 0);
    /* The parent's own state is as it was. */
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    ck_assert(sigismember(&now, SIGTERM));
    struct sigaction cur;
    sigaction(SIGPIPE, NULL, &cur);
    ck_assert(cur.sa_handler == SIG_IGN);
    sigaction(SIGPIPE, &o_pipe, NULL);
    sigaction(SIGHUP, &o_hup, NULL);
    sigaction(SIGUSR1, &o_usr1, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    rec_done(&r);
}
END_TEST

/* ------------------------------------------------------------ fork-and-call */

/* The fork path needs pidfd_open (the exec path gets its pidfd from
 * clone); valgrind 3.19 does not know that syscall. */
static int fork_path_unsupported(void)
{
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    fprintf(stderr, "note: fork-and-call case skipped (no pidfd_open)\n");
    return 1;
}

struct fn_arg {
    int report_fd;               /* -1: write to fd 1 */
    int watch_fd;                /* an fd that must be closed in the child */
};

/* Reports, on fd 1: the signal mask state, SIGUSR1's disposition, and
 * whether watch_fd is open. */
static int child_report(void *arg)
{
    struct fn_arg *a = arg;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "blocked=%d usr1=%s watch=%s\n",
                     sigismember(&now, SIGTERM),
                     cur.sa_handler == SIG_DFL ? "dfl" : "kept",
                     a->watch_fd >= 0 && fcntl(a->watch_fd, F_GETFD) >= 0 ? "open" : "closed");
    (void)!write(1, buf, (size_t)n);
    return 5;
}

START_TEST(test_fork_call_runs_function_after_setup)
{
    if (fork_path_unsupported())
        return;
    struct rec r;
    rec_init(&r);
    /* A sibling whose stdin pipe the parent holds: the fork-and-call
     * child must not inherit that end (or cat would never see EOF). */
    evl_child cat = { 0 };
    struct rec rc_cat = { .loop = r.loop };
    char *cat_argv[] = { "/bin/cat", NULL };
    evl_fd_action cat_io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                               { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    evl_spawn_options co = { .argv = cat_argv, .actions = cat_io, .n_actions = 2 };
    cat.data = &rc_cat;
    ck_assert_rc(evl_child_spawn(r.loop, &cat, &co, &cbs));
    int cat_stdin = evl_stream_fd(evl_child_stream(&cat, 0));
    ck_assert_int_ge(cat_stdin, 0);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct sigaction h = { .sa_handler = noop_handler }, o_usr1;
    sigaction(SIGUSR1, &h, &o_usr1);

    struct fn_arg a = { .report_fd = -1, .watch_fd = cat_stdin };
    evl_child c = { 0 };
    evl_spawn_options o = { .child_fn = child_report, .child_arg = &a, .actions = cap_out,
                            .n_actions = 2 };
    c.data = &r;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    run_until_exit(&r);
    ck_assert_int_eq(WEXITSTATUS(r.status), 5);
    ck_assert_str_eq(r.out[1], "blocked=0 usr1=dfl watch=closed\n");

    /* Handlers kept on request; the mask is emptied anyway. */
    o.flags = EVL_SPAWN_KEEP_SIGHANDLERS;
    free(r.out[1]);
    r.out[1] = NULL;
    r.len[1] = 0;
    r.exits = 0;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "blocked=0 usr1=kept watch=closed\n");
    sigaction(SIGUSR1, &o_usr1, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* A setup failure in the fork path is the spawn's error too. */
    o.flags = 0;
    o.cwd = "/nonexistent-dir";
    ck_assert_int_eq(evl_child_spawn(r.loop, &c, &o, &cbs), -ENOENT);

    /* cat still sees EOF as soon as the parent closes its stdin. */
    ck_assert_int_eq(evl_child_write(&cat, "bye\n", 4), 4);
    ck_assert_int_eq(evl_child_close_stdin(&cat), 0);
    run_until_exit(&rc_cat);
    ck_assert_str_eq(rc_cat.out[1], "bye\n");
    rec_free(&rc_cat);
    assert_no_children();
    rec_done(&r);
}
END_TEST

/* Lists the open fds (except the listing's own) on fd 1. */
static int list_fds(void *arg)
{
    (void)arg;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 1;
    char buf[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
            continue;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s ", de->d_name);
    }
    closedir(d);
    (void)!write(1, buf, n);
    return 0;
}

/* The fds the test process holds open without close-on-exec. */
static void inheritable_fds(int *mask, int max)
{
    memset(mask, 0, sizeof(int) * (size_t)max);
    for (int fd = 0; fd < max; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            mask[fd] = 1;
    }
}

static void parse_fd_list(const char *text, int *mask, int max)
{
    memset(mask, 0, sizeof(int) * (size_t)max);
    for (const char *p = text; *p != '\0';) {
        char *end;
        long fd = strtol(p, &end, 10);
        if (end == p)
            break;
        ck_assert_int_lt(fd, max);
        mask[fd] = 1;
        p = end;
        while (*p == ' ')
            p++;
    }
}

START_TEST(test_fork_no_fd_leaks_into_the_child)
{
    if (fork_path_unsupported())
        return;
    struct rec r;
    rec_init(&r);
    /* Open library fds in the parent: a running child's stdin pipe and
     * pidfd. */
    evl_child cat = { 0 };
    struct rec rc_cat = { .loop = r.loop };
    char *cat_argv[] = { "/bin/cat", NULL };
    evl_fd_action cat_io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                               { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    evl_spawn_options co = { .argv = cat_argv, .actions = cat_io, .n_actions = 2 };
    cat.data = &rc_cat;
    ck_assert_rc(evl_child_spawn(r.loop, &cat, &co, &cbs));

    enum { MAX = 1024 };
    static int expect[MAX], got[MAX];
    inheritable_fds(expect, MAX);
    expect[0] = expect[1] = expect[2] = 1;

    /* Exec path: ls shows its own directory fd too, at the lowest free
     * number. */
    evl_child c = { 0 };
    char *argv[] = { "/bin/ls", "/proc/self/fd", NULL };
    evl_spawn_options o = { .argv = argv, .actions = cap_out, .n_actions = 2 };
    c.data = &r;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &o, &cbs));
    run_until_exit(&r);
    for (char *p = r.out[1]; *p; p++)
        if (*p == '\n')
            *p = ' ';
    parse_fd_list(r.out[1], got, MAX);
    int lowest_free = 0;
    while (expect[lowest_free])
        lowest_free++;
    ck_assert_int_eq(got[lowest_free], 1);
    got[lowest_free] = 0;
    for (int fd = 0; fd < MAX; fd++)
        ck_assert_msg(got[fd] == expect[fd], "fd %d: child %d, expected %d", fd, got[fd],
                      expect[fd]);

    /* Fork path: no exec, so close-on-exec does not help; the library's
     * fds (the sibling's pipe and pidfd, the error pipe, this child's
     * parent ends) must still be gone.  The loop's own fds are not ours
     * to close. */
    evl_spawn_options of = { .child_fn = list_fds, .actions = cap_out, .n_actions = 2 };
    free(r.out[1]);
    r.out[1] = NULL;
    r.len[1] = 0;
    r.exits = 0;
    ck_assert_rc(evl_child_spawn(r.loop, &c, &of, &cbs));
    int mine[2] = { evl_stream_fd(evl_child_stream(&c, 1)),
                    evl_stream_fd(evl_child_stream(&c, 2)) };
    run_until_exit(&r);
    parse_fd_list(r.out[1], got, MAX);
    ck_assert_int_eq(got[evl_stream_fd(evl_child_stream(&cat, 0))], 0);
    ck_assert_int_eq(got[evl_stream_fd(evl_child_stream(&cat, 1))], 0);
    ck_assert_int_eq(got[cat.pidfd], 0);
    ck_assert_int_eq(got[mine[0]], 0);
    ck_assert_int_eq(got[mine[1]], 0);
    for (int fd = 0; fd < MAX; fd++)
        if (expect[fd])
            ck_assert_msg(got[fd], "fd %d missing in the child", fd);

    evl_child_close_stdin(&cat);
    run_until_exit(&rc_cat);
    rec_free(&rc_cat);
    rec_done(&r);
}
END_TEST

/* ------------------------------------------------------------ drain-first */

START_TEST(test_fork_drain_first_exit_after_all_output)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    /* 4 MB on stdout, 100 KB on stderr, then exit: the exit is seen long
     * before the pipes are drained. */
    ck_assert_rc(spawn_sh(&r, &c,
                          "head -c 4000000 /dev/zero; head -c 100000 /dev/zero >&2; exit 3",
                          0, NULL, 0));
    run_until_exit(&r);
    ck_assert_int_eq(r.exits, 1);
    ck_assert_int_eq(WEXITSTATUS(r.status), 3);
    ck_assert_uint_eq(r.len_at_exit[1], 4000000);
    ck_assert_uint_eq(r.len_at_exit[2], 100000);
    /* Nothing after on_exit. */
    ck_assert_int_eq(evl_loop_run_once(r.loop, 0), 0);
    ck_assert_uint_eq(r.len[1], 4000000);
    ck_assert_int_eq(r.exits, 1);
    rec_done(&r);
}
END_TEST

/* Exit seen, output still open (a grandchild holds it): on_exit waits for
 * EOF, and the late output comes first. */
START_TEST(test_fork_grandchild_holding_pipe_delays_exit_until_eof)
{
    struct rec r;
    rec_init(&r);
    int gate[2];
    ck_assert_rc(pipe2(gate, O_CLOEXEC));
    evl_child c = { 0 };
    evl_fd_action acts[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                             { .kind = EVL_FD_DUP, .fd = 3, .src = gate[0] } };
    ck_assert_rc(spawn_sh(&r, &c, "(read x <&3; echo late) & echo early", 0, acts, 2));
    close(gate[0]);
    while (!evl_child_exited(&c) || r.len[1] < 6)
        ck_assert_int_ge(evl_loop_run_once(r.loop, -1), 0);
    ck_assert_str_eq(r.out[1], "early\n");
    ck_assert_int_eq(r.exits, 0);
    ck_assert(evl_child_is_active(&c));
    ck_assert_int_eq(evl_loop_run_once(r.loop, 0), 0);   /* nothing spins meanwhile */
    ck_assert_int_eq(write(gate[1], "go\n", 3), 3);
    run_until_exit(&r);
    ck_assert_str_eq(r.out[1], "early\nlate\n");
    ck_assert_uint_eq(r.len_at_exit[1], 11);
    ck_assert_int_eq(WEXITSTATUS(r.status), 0);
    close(gate[1]);
    rec_done(&r);
}
END_TEST

/* A timeout bounds on_exit even when a grandchild holds the pipe after
 * the child exited by itself. */
START_TEST(test_fork_timeout_cuts_pipes_held_by_grandchild)
{
    struct rec r;
    rec_init(&r);
    int gate[2];
    ck_assert_rc(pipe2(gate, O_CLOEXEC));
    evl_child c = { 0 };
    evl_fd_action acts[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                             { .kind = EVL_FD_DUP, .fd = 3, .src = gate[0] } };
    ck_assert_rc(spawn_sh(&r, &c, "(read x <&3; echo late) & echo early", 0, acts, 2));
    close(gate[0]);
    ck_assert_rc(evl_child_set_timeout(&c, 100 * 1000000ull, 0));
    uint64_t t0 = evl_time_ns();
    run_until_exit(&r);
    uint64_t took = evl_time_ns() - t0;
    ck_assert_uint_ge(took, 90 * 1000000ull);
    ck_assert_uint_lt(took, 2000 * 1000000ull);
    ck_assert(evl_child_timed_out(&c));
    ck_assert_int_eq(r.timeouts, 0);   /* the child had exited: no one to signal */
    ck_assert_int_eq(WEXITSTATUS(r.status), 0);
    ck_assert_str_eq(r.out[1], "early\n");
    close(gate[1]);   /* the grandchild's echo meets a closed pipe and dies */
    rec_done(&r);
}
END_TEST

/* The child itself hangs with a grandchild holding stdout: TERM kills the
 * child, and the grandchild does not hold on_exit back. */
START_TEST(test_fork_timeout_terms_child_and_bounds_exit)
{
    struct rec r;
    rec_init(&r);
    int gate[2];
    ck_assert_rc(pipe2(gate, O_CLOEXEC));
    evl_child c = { 0 };
    evl_fd_action acts[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                             { .kind = EVL_FD_DUP, .fd = 3, .src = gate[0] } };
    ck_assert_rc(spawn_sh(&r, &c, "(read x <&3; echo late) & echo early; read y <&3", 0,
                          acts, 2));
    close(gate[0]);
    ck_assert_rc(evl_child_set_timeout(&c, 50 * 1000000ull, 0));
    run_until_exit(&r);
    ck_assert_int_eq(r.timeouts, 1);
    ck_assert(WIFSIGNALED(r.status));
    ck_assert_int_eq(WTERMSIG(r.status), SIGTERM);
    ck_assert_str_eq(r.out[1], "early\n");
    close(gate[1]);
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_timeout_escalates_to_kill)
{
    struct rec r;
    rec_init(&r);
    int gate[2];
    ck_assert_rc(pipe2(gate, O_CLOEXEC));
    evl_child c = { 0 };
    evl_fd_action acts[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                             { .kind = EVL_FD_DUP, .fd = 3, .src = gate[0] } };
    /* Ignores TERM; says so once it has (so the timeout cannot come first). */
    ck_assert_rc(spawn_sh(&r, &c, "trap '' TERM; echo ready; read y <&3", 0, acts, 2));
    close(gate[0]);
    while (r.len[1] < 6)
        ck_assert_int_ge(evl_loop_run_once(r.loop, -1), 0);
    ck_assert_rc(evl_child_set_timeout(&c, 20 * 1000000ull, 50 * 1000000ull));
    run_until_exit(&r);
    ck_assert_int_eq(r.timeouts, 1);
    ck_assert(WIFSIGNALED(r.status));
    ck_assert_int_eq(WTERMSIG(r.status), SIGKILL);
    close(gate[1]);
    rec_done(&r);
}
END_TEST

/* With its own process group, the timeout's TERM reaches the grandchild
 * too, and the pipe reaches EOF the ordinary way. */
START_TEST(test_fork_timeout_signals_the_group)
{
    struct rec r;
    rec_init(&r);
    int gate[2];
    ck_assert_rc(pipe2(gate, O_CLOEXEC));
    evl_child c = { 0 };
    evl_fd_action acts[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                             { .kind = EVL_FD_DUP, .fd = 3, .src = gate[0] } };
    ck_assert_rc(spawn_sh(&r, &c, "(read x <&3; echo late) & echo early; wait", EVL_SPAWN_SETPGID,
                          acts, 2));
    close(gate[0]);
    ck_assert_int_eq(getpgid(evl_child_pid(&c)), evl_child_pid(&c));
    ck_assert_rc(evl_child_kill_group(&c, 0));
    ck_assert_rc(evl_child_set_timeout(&c, 50 * 1000000ull, 0));
    run_until_exit(&r);
    ck_assert_int_eq(r.timeouts, 1);
    ck_assert_int_eq(WTERMSIG(r.status), SIGTERM);
    ck_assert_str_eq(r.out[1], "early\n");
    /* The grandchild dies with the group: then no one holds the gate's
     * read end, which the write end reports as POLLERR.  No events asked
     * for, so poll waits for that (the pipe is writable at once, and the
     * grandchild may still be on its way out). */
    struct pollfd pfd = { .fd = gate[1], .events = 0 };
    ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
    ck_assert(pfd.revents & POLLERR);
    close(gate[1]);
    rec_done(&r);
}
END_TEST

/* ------------------------------------------------------------ stdin */

START_TEST(test_fork_stdin_write_behind_then_close)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    ck_assert_rc(spawn_sh(&r, &c, "wc -c", 0, io, 2));
    static char piece[128 * 1024];
    memset(piece, 'x', sizeof(piece));
    size_t sync = 0;
    for (int i = 0; i < 8; i++) {
        ssize_t n = evl_child_write(&c, piece, sizeof(piece));
        ck_assert_int_ge(n, 0);
        sync += (size_t)n;
    }
    /* A pipe holds 64 KiB: most of the MiB is queued. */
    ck_assert_uint_lt(sync, 8 * sizeof(piece));
    ck_assert_uint_eq(evl_child_stdin_queued(&c), 8 * sizeof(piece) - sync);
    ck_assert_int_eq(evl_child_close_stdin(&c), 1);
    ck_assert_int_eq(evl_child_write(&c, "x", 1), -ESHUTDOWN);
    ck_assert_int_eq(evl_child_close_stdin(&c), -EBADF);
    run_until_exit(&r);
    ck_assert_int_eq(atoi(r.out[1]), 1048576);
    ck_assert_int_eq(r.errors, 0);
    ck_assert_int_eq(evl_child_write(&c, "x", 1), -EBADF);
    rec_done(&r);
}
END_TEST

/* The child closes its stdin and keeps running: the queued data meets
 * EPIPE once, is dropped, and nothing keeps the loop busy. */
START_TEST(test_fork_stdin_epipe_is_reported_once_and_does_not_spin)
{
    struct rec r;
    rec_init(&r);
    int gate[2];
    ck_assert_rc(pipe2(gate, O_CLOEXEC));
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                           { .kind = EVL_FD_DUP, .fd = 3, .src = gate[0] } };
    ck_assert_rc(spawn_sh(&r, &c, "exec 0<&-; echo closed; read x <&3", 0, io, 3));
    close(gate[0]);
    while (r.len[1] < 7)
        ck_assert_int_ge(evl_loop_run_once(r.loop, -1), 0);
    static char big[256 * 1024];
    ssize_t n = evl_child_write(&c, big, sizeof(big));
    ck_assert_int_eq(n, -EPIPE);   /* the reader was gone before the write */
    ck_assert_int_eq(r.errors, 1);
    ck_assert_int_eq(r.last_error_fd, 0);
    ck_assert_int_eq(r.last_error, -EPIPE);
    ck_assert_int_eq(evl_child_write(&c, big, 10), -EBADF);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(evl_loop_run_once(r.loop, 0), 0);
    ck_assert_int_eq(r.errors, 1);
    ck_assert_int_eq(write(gate[1], "\n", 1), 1);
    run_until_exit(&r);
    ck_assert_int_eq(WEXITSTATUS(r.status), 0);
    close(gate[1]);
    rec_done(&r);
}
END_TEST

/* ------------------------------------------------------------ kill, free */

START_TEST(test_fork_kill_through_pidfd)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    ck_assert_rc(spawn_sh(&r, &c, "exec sleep 30", 0, NULL, 0));
    ck_assert_rc(evl_child_kill(&c, 0));
    ck_assert_rc(evl_child_kill(&c, SIGTERM));
    run_until_exit(&r);
    ck_assert(WIFSIGNALED(r.status));
    ck_assert_int_eq(WTERMSIG(r.status), SIGTERM);
    ck_assert_int_eq(evl_child_kill(&c, SIGTERM), -ESRCH);
    ck_assert_int_eq(evl_child_kill(&c, -1), -EINVAL);
    ck_assert_int_eq(evl_child_kill_group(&c, SIGTERM), -EINVAL);   /* no group of its own */
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_free_running_child_leaves_no_zombie_or_fd)
{
    struct rec r;
    rec_init(&r);
    int fds = count_fds();
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 2 } };
    ck_assert_rc(spawn_sh(&r, &c, "exec sleep 30", 0, io, 3));
    ck_assert_rc(evl_child_set_timeout(&c, 10ull * 1000000000ull, 0));
    evl_child_write(&c, "data", 4);
    pid_t pid = evl_child_pid(&c);
    ck_assert_int_eq(evl_child_free(&c), 1);
    ck_assert_int_eq(evl_child_free(&c), 0);
    errno = 0;
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(count_fds(), fds);
    ck_assert(evl_child_exited(&c));
    ck_assert(WIFSIGNALED(evl_child_status(&c)));
    /* No callback, no timer, nothing watched. */
    ck_assert_int_eq(evl_loop_run_once(r.loop, 0), 0);
    ck_assert_int_eq(r.exits, 0);
    ck_assert_uint_eq(evl_loop_next_deadline_ns(r.loop), 0);
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_detach_closes_fds_and_leaves_the_child_running)
{
    struct rec r;
    rec_init(&r);
    int fds = count_fds();
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    /* cat exits once its stdin closes: the detach closed it. */
    ck_assert_rc(spawn_sh(&r, &c, "cat; exit 4", 0, io, 2));
    evl_child_write(&c, "queued", 6);
    pid_t pid = evl_child_pid(&c);
    ck_assert_int_eq(evl_child_detach(&c), 1);
    ck_assert_int_eq(evl_child_detach(&c), 0);
    ck_assert_int_eq(evl_child_free(&c), 0);
    ck_assert_int_eq(count_fds(), fds);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 4);
    ck_assert_int_eq(r.exits, 0);
    /* The loop is not used again: that is what detach is for. */
    rec_done(&r);
}
END_TEST

/* A forked copy of the spawning process (evl_fork_count() differs) only
 * forgets the child: it neither kills it nor closes the parent's pipes. */
START_TEST(test_fork_free_in_a_forked_copy_only_forgets)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    /* cat echoes until its stdin closes, then exits 5. */
    ck_assert_rc(spawn_sh(&r, &c, "cat; exit 5", 0, io, 2));
    int done[2];
    ck_assert_rc(pipe(done));
    pid_t copy = fork();
    ck_assert_int_ge(copy, 0);
    if (copy == 0) {
        close(done[0]);
        int ok = evl_child_free(&c) == 1 && !evl_child_is_active(&c);
        char b = ok ? 'y' : 'n';
        (void)!write(done[1], &b, 1);
        _exit(0);
    }
    close(done[1]);
    char b = 0;
    ck_assert_int_eq(read(done[0], &b, 1), 1);
    close(done[0]);
    ck_assert_int_eq(b, 'y');
    int status;
    ck_assert_int_eq(waitpid(copy, &status, 0), copy);
    /* The child still runs and its pipes still work from here. */
    ck_assert(evl_child_is_active(&c));
    ck_assert_int_ge(evl_child_write(&c, "alive", 5), 0);
    while (r.len[1] < 5)
        ck_assert_int_ge(evl_loop_run_once(r.loop, -1), 0);
    ck_assert_str_eq(r.out[1], "alive");
    ck_assert_int_ge(evl_child_close_stdin(&c), 0);
    run_until_exit(&r);
    ck_assert_int_eq(WEXITSTATUS(r.status), 5);
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_free_from_own_callbacks)
{
    struct rec r;
    rec_init(&r);
    int fds = count_fds();
    /* From on_output, while more output and the exit are pending. */
    evl_child *c = calloc(1, sizeof(*c));
    r.free_in_output = 1;
    ck_assert_rc(spawn_sh(&r, c, "head -c 1000000 /dev/zero; exit 1", 0, NULL, 0));
    run_until_exit(&r);
    ck_assert_int_eq(r.exits, -1);
    free(c);
    assert_no_children();
    ck_assert_int_eq(count_fds(), fds);
    /* From on_exit, memory and all. */
    r.free_in_output = 0;
    r.free_in_exit = 1;
    r.exits = 0;
    c = calloc(1, sizeof(*c));
    ck_assert_rc(spawn_sh(&r, c, "head -c 300000 /dev/zero; echo x >&2", 0, NULL, 0));
    run_until_exit(&r);
    ck_assert_int_eq(r.exits, 1);
    ck_assert_int_eq(count_fds(), fds);
    rec_done(&r);
}
END_TEST

START_TEST(test_fork_raw_pipe_end_is_the_callers)
{
    struct rec r;
    rec_init(&r);
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1, .flags = EVL_FD_RAW } };
    ck_assert_rc(spawn_sh(&r, &c, "echo raw", 0, io, 1));
    ck_assert_ptr_null(evl_child_stream(&c, 1));
    int fd = evl_child_take_fd(&c, 1);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(evl_child_take_fd(&c, 1), -EBADF);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    /* Not part of drain-first: on_exit comes without anyone reading. */
    run_until_exit(&r);
    char buf[16] = { 0 };
    ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 4);
    ck_assert_str_eq(buf, "raw\n");
    close(fd);
    rec_done(&r);
}
END_TEST

/* ------------------------------------------------------------ volume */

static void count_exit(evl_child *c, int status)
{
    int *done = c->data;
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    (*done)++;
}

START_TEST(test_fork_thousand_spawns_reaped_no_zombies_flat_fds)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    int fds = count_fds();
    enum { BATCH = 50, ROUNDS = 20 };
    static evl_child kids[BATCH];
    static const struct evl_child_callbacks cb = { .on_exit = count_exit };
    char *argv[] = { "/bin/true", NULL };
    evl_fd_action out[] = { { .kind = EVL_FD_PIPE_OUT, .fd = 1 } };
    evl_spawn_options o = { .argv = argv, .actions = out, .n_actions = 1 };
    int done = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) {
            kids[i].data = &done;
            ck_assert_rc(evl_child_spawn(loop, &kids[i], &o, &cb));
        }
        while (done < (round + 1) * BATCH)
            ck_assert_int_ge(evl_loop_run_once(loop, -1), 0);
        ck_assert_int_eq(count_fds(), fds);
    }
    ck_assert_int_eq(done, BATCH * ROUNDS);
    assert_no_children();
    ck_assert_int_eq(count_fds(), fds);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_fork_on_a_proactor_loop)
{
    struct rec r;
    memset(&r, 0, sizeof(r));
    /* valgrind does not see the kernel fill read buffers through io_uring. */
    if (RUNNING_ON_VALGRIND)
        return;
    if (evl_loop_new(&r.loop, EVL_PROACTOR, 0) < 0)
        return;   /* no io_uring here: the reactor tests cover the rest */
    int fds = count_fds();
    evl_child c = { 0 };
    evl_fd_action io[] = { { .kind = EVL_FD_PIPE_IN, .fd = 0 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 1 },
                           { .kind = EVL_FD_PIPE_OUT, .fd = 2 } };
    ck_assert_rc(spawn_sh(&r, &c, "head -c 500000 /dev/zero; cat >&2", 0, io, 3));
    ck_assert_int_eq(evl_child_write(&c, "in\n", 3), 3);
    ck_assert_int_eq(evl_child_close_stdin(&c), 0);
    run_until_exit(&r);
    ck_assert_uint_eq(r.len_at_exit[1], 500000);
    ck_assert_str_eq(r.out[2], "in\n");
    /* A running child freed: its pipes close once the kernel lets go. */
    ck_assert_rc(spawn_sh(&r, &c, "exec sleep 30", 0, io, 3));
    ck_assert_int_eq(evl_child_free(&c), 1);
    while (evl_loop_pending_ops(r.loop) > 0)
        evl_loop_run_once(r.loop, -1);
    evl_loop_drain(r.loop);
    ck_assert_int_eq(count_fds(), fds);
    assert_no_children();
    rec_done(&r);
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tcase_create("exec");
    tcase_add_test(tc, test_fork_exec_exit_status_and_output);
    tcase_add_test(tc, test_fork_exec_failure_reports_errno);
    tcase_add_test(tc, test_fork_exec_failure_eacces_for_a_file_without_x_bit);
    tcase_add_test(tc, test_fork_exec_path_search);
    tcase_add_test(tc, test_fork_exit_127_mode_writes_diagnostic_to_captured_stderr);
    tcase_add_test(tc, test_fork_bad_options_give_einval);
    suite_add_tcase(s, tc);

    tc = tcase_create("setup");
    tcase_add_test(tc, test_fork_fd_actions_apply_in_order);
    tcase_add_test(tc, test_fork_fd_action_close_and_open);
    tcase_add_test(tc, test_fork_pipes_survive_when_parent_has_std_fds_closed);
    tcase_add_test(tc, test_fork_cwd_umask_env);
    tcase_add_test(tc, test_fork_child_signal_mask_and_dispositions_reset);
    tcase_add_test(tc, test_fork_call_runs_function_after_setup);
    tcase_add_test(tc, test_fork_no_fd_leaks_into_the_child);
    suite_add_tcase(s, tc);

    tc = tcase_create("exit");
    tcase_add_test(tc, test_fork_drain_first_exit_after_all_output);
    tcase_add_test(tc, test_fork_grandchild_holding_pipe_delays_exit_until_eof);
    tcase_add_test(tc, test_fork_timeout_cuts_pipes_held_by_grandchild);
    tcase_add_test(tc, test_fork_timeout_terms_child_and_bounds_exit);
    tcase_add_test(tc, test_fork_timeout_escalates_to_kill);
    tcase_add_test(tc, test_fork_timeout_signals_the_group);
    suite_add_tcase(s, tc);

    tc = tcase_create("stdin");
    tcase_add_test(tc, test_fork_stdin_write_behind_then_close);
    tcase_add_test(tc, test_fork_stdin_epipe_is_reported_once_and_does_not_spin);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifetime");
    tcase_add_test(tc, test_fork_kill_through_pidfd);
    tcase_add_test(tc, test_fork_free_running_child_leaves_no_zombie_or_fd);
    tcase_add_test(tc, test_fork_detach_closes_fds_and_leaves_the_child_running);
    tcase_add_test(tc, test_fork_free_in_a_forked_copy_only_forgets);
    tcase_add_test(tc, test_fork_free_from_own_callbacks);
    tcase_add_test(tc, test_fork_raw_pipe_end_is_the_callers);
    tcase_add_test(tc, test_fork_thousand_spawns_reaped_no_zombies_flat_fds);
    tcase_add_test(tc, test_fork_on_a_proactor_loop);
    suite_add_tcase(s, tc);
    return s;
}

/* Kernels (and valgrind releases) without pidfd_open cannot follow a
 * child: skip (automake's exit status 77), as check_pid does. */
static int pidfd_supported(void)
{
    evl_loop *loop;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0)
        return 0;
    evl_child c = { 0 };
    char *argv[] = { "/bin/true", NULL };
    evl_spawn_options o = { .argv = argv };
    static const struct evl_child_callbacks cb = { 0 };
    int rc = evl_child_spawn(loop, &c, &o, &cb);
    evl_child_free(&c);
    evl_loop_free(loop);
    return rc != -ENOSYS;
}

int main(void)
{
    if (!pidfd_supported())
        return 77;
    return evl_test_run(fork_suite());
}
