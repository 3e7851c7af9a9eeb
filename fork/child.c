/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* child.c - the child's side of evl_child_spawn: setup, then exec or the
 * caller's function.
 *
 * Everything here runs between fork/clone and exec, so it may only call
 * async-signal-safe functions: no malloc, no stdio, no locks.  On the
 * exec path the child even shares the parent's memory (CLONE_VM) and
 * runs on a stack carved out of the parent's frame, while the parent is
 * suspended (CLONE_VFORK) until the exec or the _exit.  So the child
 * writes nothing the parent owns: it reads the plan and works on its own
 * stack.  (errno is the one shared word it changes; the parent does not
 * rely on it across the clone.)
 *
 * Failure is reported twice: as a struct evl__spawn_err written to the
 * close-on-exec error pipe (the parent reads 0 bytes after a successful
 * exec, because the exec closed the pipe), and, if the caller asked, as
 * one diagnostic line on the child's own fd 2.  Then _exit(127), the
 * shell's "command not found" status.
 *
 * Order (the Linux::Event::Fork contract's, plus signals first):
 *   signal dispositions, session/group, [fork: siblings' pipe ends],
 *   fd actions in order, [fork: the child's pipe ends], umask, chdir,
 *   environment, signal mask, exec or the function.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fork-internal.h"

/* The sanitizers keep shadow state per stack frame; a child that runs on
 * borrowed memory and then execs would leave it stale in the parent. */
#if defined(__GNUC__)
#define CHILD_CODE __attribute__((no_sanitize_address, noinline))
#else
#define CHILD_CODE
#endif

/* A signal mask through the raw system call, so that the mask really is
 * empty: glibc's sigprocmask quietly leaves its internal signals alone. */
CHILD_CODE static void set_mask_empty(void)
{
    unsigned long none[EVL__KSIGSET_SIZE / sizeof(unsigned long)] = { 0 };
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, none, NULL, (size_t)EVL__KSIGSET_SIZE);
}

/* Every disposition back to SIG_DFL.  A handler would be wrong after
 * exec anyway (exec resets handlers itself), but an ignored signal stays
 * ignored across exec, and a parent that ignores SIGPIPE (perl programs
 * often do) must not hand that to `yes | head`.  The raw system call,
 * because glibc refuses to touch its two internal signals (32, 33), and
 * a parent may well have inherited those ignored.  An all-zero kernel
 * sigaction is SIG_DFL with no flags and an empty mask in every
 * architecture's layout; the buffer is larger than any of them.
 * SIGKILL and SIGSTOP refuse harmlessly. */
CHILD_CODE static void reset_dispositions(void)
{
    unsigned long dfl[16] = { 0 };
    for (int sig = 1; sig < _NSIG; sig++)
        syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)EVL__KSIGSET_SIZE);
}

/* Decimal text of n into buf (at least 12 bytes); returns the length. */
CHILD_CODE static size_t fmt_int(char *buf, int n)
{
    char tmp[12];
    size_t len = 0, out = 0;
    unsigned u = n < 0 ? 0u - (unsigned)n : (unsigned)n;
    do {
        tmp[len++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (n < 0)
        buf[out++] = '-';
    while (len > 0)
        buf[out++] = tmp[--len];
    return out;
}

/* strerror without locale or allocation: glibc 2.32's strerrordesc_np is
 * a table lookup, the same English text perl shows for $! in the C
 * locale. */
CHILD_CODE static const char *err_text(int err, char *buf)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    const char *s = strerrordesc_np(err);
    if (s != NULL)
        return s;
#endif
    memcpy(buf, "errno ", 6);
    buf[6 + fmt_int(buf + 6, err)] = '\0';
    return buf;
}

static const char *const std_names[3] = { "stdin", "stdout", "stderr" };

/* One line on fd 2: "<prefix><step>: <strerror>\n" in a single writev,
 * so concurrent writers cannot split it. */
CHILD_CODE static void write_diag(const struct evl__spawn_plan *p, const struct evl__spawn_err *e)
{
    struct iovec iov[8];
    int n = 0;
    char num[16], errbuf[24];
    const char *step = "", *arg = NULL;
    size_t arg_len = 0;

#define IOV_STR(s, len) do { iov[n].iov_base = (void *)(s); iov[n].iov_len = (len); n++; } while (0)
    switch (e->stage) {
    case EVL_STAGE_SETSID: step = "setsid"; break;
    case EVL_STAGE_SETPGID: step = "setpgid"; break;
    case EVL_STAGE_DUP2: step = "dup2("; break;
    case EVL_STAGE_OPEN: step = "open("; arg = p->acts[e->act].path; break;
    case EVL_STAGE_CHDIR: step = "chdir("; arg = p->cwd; break;
    case EVL_STAGE_EXEC: step = "exec("; arg = p->argv[0]; break;
    default: break;
    }
    if (e->stage == EVL_STAGE_DUP2) {
        if (e->fd >= 0 && e->fd <= 2) {
            arg = std_names[e->fd];
        } else {
            arg_len = fmt_int(num, e->fd);
            arg = num;
        }
    }
    if (arg != NULL && arg_len == 0)
        arg_len = strlen(arg);
    IOV_STR(p->diag_prefix, strlen(p->diag_prefix));
    IOV_STR(step, strlen(step));
    if (arg != NULL) {
        IOV_STR(arg, arg_len);
        IOV_STR(")", 1);
    }
    IOV_STR(": ", 2);
    const char *text = err_text(e->err, errbuf);
    IOV_STR(text, strlen(text));
    IOV_STR("\n", 1);
#undef IOV_STR
    ssize_t rc;
    do
        rc = writev(2, iov, n);
    while (rc < 0 && errno == EINTR);
}

CHILD_CODE static _Noreturn void fail(const struct evl__spawn_plan *p, int err, int stage, int fd,
                                      int act)
{
    struct evl__spawn_err e = { .err = err, .stage = stage, .fd = fd, .act = act };
    if (p->diag_prefix != NULL)
        write_diag(p, &e);
    /* One write of a few bytes to a pipe is atomic; a short or failed one
     * leaves the parent to take the child for a success that exits 127. */
    ssize_t rc;
    do
        rc = write(p->err_fd, &e, sizeof(e));
    while (rc < 0 && errno == EINTR);
    _exit(127);
}

/* dup2 that also works when src == fd: dup2 then does nothing, so the
 * close-on-exec flag a pipe end was born with would survive. */
CHILD_CODE static int dup_onto(int src, int fd)
{
    if (src == fd) {
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
            return -1;
        return 0;
    }
    int rc;
    do
        rc = dup2(src, fd);
    while (rc < 0 && errno == EINTR);   /* Linux: EBUSY/EINTR are possible */
    return rc < 0 ? -1 : 0;
}

CHILD_CODE static void apply_actions(const struct evl__spawn_plan *p)
{
    for (size_t i = 0; i < p->n_acts; i++) {
        const struct evl__child_action *a = &p->acts[i];
        switch (a->kind) {
        case EVL_FD_DUP:
            if (dup_onto(a->src, a->fd) < 0)
                fail(p, errno, EVL_STAGE_DUP2, a->fd, (int)i);
            break;
        case EVL_FD_CLOSE:
            close(a->fd);   /* not open already is fine (posix_spawn's view since 2.34) */
            break;
        case EVL_FD_OPEN: {
            int t;
            do
                t = open(a->path, a->oflags & ~O_CLOEXEC, (mode_t)a->mode);
            while (t < 0 && errno == EINTR);
            if (t < 0)
                fail(p, errno, EVL_STAGE_OPEN, a->fd, (int)i);
            if (t != a->fd) {
                if (dup_onto(t, a->fd) < 0)
                    fail(p, errno, EVL_STAGE_DUP2, a->fd, (int)i);
                close(t);
            }
            break;
        }
        default:
            break;   /* spawn.c validated the kinds */
        }
    }
}

/* PATH search as execvp does it, minus its /bin/sh fallback for ENOEXEC
 * (posix_spawnp dropped it too): each directory in turn (an empty entry
 * is the current one); EACCES is remembered and wins over a later
 * ENOENT; an error that says the file exists but cannot run stops the
 * search. */
CHILD_CODE static int exec_path(const struct evl__spawn_plan *p)
{
    const char *file = p->file;
    size_t flen = strlen(file);
    if (flen == 0)
        return ENOENT;
    if (memchr(file, '/', flen) != NULL) {
        execve(file, p->argv, p->envp);
        return errno;
    }
    char buf[PATH_MAX];
    int seen_eacces = 0, last = ENOENT;
    const char *dir = p->path;
    for (;;) {
        const char *end = strchr(dir, ':');
        size_t dlen = end != NULL ? (size_t)(end - dir) : strlen(dir);
        if (dlen + 1 + flen + 1 <= sizeof(buf)) {
            size_t off = 0;
            if (dlen > 0) {
                memcpy(buf, dir, dlen);
                buf[dlen] = '/';
                off = dlen + 1;
            }
            memcpy(buf + off, file, flen + 1);
            execve(buf, p->argv, p->envp);
            switch (errno) {
            case EACCES:
                seen_eacces = 1;
                break;
            case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT:
                last = errno;
                break;
            default:
                return errno;
            }
        } else {
            last = ENAMETOOLONG;
        }
        if (end == NULL)
            break;
        dir = end + 1;
    }
    return seen_eacces ? EACCES : last;
}

CHILD_CODE _Noreturn void evl__child_run(const struct evl__spawn_plan *p)
{
    if (!(p->flags & EVL_SPAWN_KEEP_SIGHANDLERS) || p->fn == NULL)
        reset_dispositions();
    if ((p->flags & EVL_SPAWN_SETSID) && setsid() < 0)
        fail(p, errno, EVL_STAGE_SETSID, -1, -1);
    if ((p->flags & EVL_SPAWN_SETPGID) && setpgid(0, 0) < 0)
        fail(p, errno, EVL_STAGE_SETPGID, -1, -1);
    /* Without an exec, close-on-exec closes nothing: the other children's
     * pipe ends go by hand. */
    if (p->fn != NULL) {
        evl__fdreg_sweep();
        close(p->err_rd);
    }
    apply_actions(p);
    if (p->fn != NULL) {
        for (int i = 0; i < 3; i++)
            if (p->close_fds[i] >= 0)
                close(p->close_fds[i]);
    }
    if (p->flags & EVL_SPAWN_UMASK)
        umask((mode_t)p->umask);
    if (p->cwd != NULL && chdir(p->cwd) < 0)
        fail(p, errno, EVL_STAGE_CHDIR, -1, -1);

    if (p->fn == NULL) {
        set_mask_empty();
        int err;
        if (p->flags & EVL_SPAWN_PATH) {
            err = exec_path(p);
        } else {
            execve(p->file, p->argv, p->envp);
            err = errno;
        }
        /* The mask does not matter for the last few syscalls. */
        fail(p, err, EVL_STAGE_EXEC, -1, -1);
    }

    if (p->envp_built)
        environ = (char **)p->envp;
    /* Setup done: EOF on the error pipe lets the parent go on. */
    close(p->err_fd);
    set_mask_empty();
    _exit(p->fn(p->arg) & 0xff);
}

CHILD_CODE int evl__child_clone_entry(void *plan)
{
    evl__child_run(plan);
}
