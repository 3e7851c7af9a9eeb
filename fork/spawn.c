/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* spawn.c - the parent's side of evl_child: spawning, the pidfd, the
 * pipes as evl_streams, drain-first exit, timeouts, kill and free.
 *
 * Spawning.  Everything that can fail or allocate happens before the
 * child exists: validation, the environment array, pipes (parent ends
 * close-on-exec and non-blocking, child ends moved above every target fd
 * so that no action can overwrite one before it is used), the streams on
 * the parent ends, and the error pipe.  Then, with every signal blocked
 * (a handler must not run in a child that shares our memory, and the
 * child must not take a signal meant for us before it has reset its
 * dispositions):
 *   exec path:  clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) on a stack
 *               carved out of this function's frame.  No page tables are
 *               copied, and the parent sleeps only until the exec: the
 *               way glibc and musl implement posix_spawn, which cannot
 *               express umask or the diagnostic line, hence our own.
 *               CLONE_PIDFD hands us the pidfd atomically (Linux 5.2);
 *               older kernels fall back to pidfd_open.  Measured with
 *               bench/fork_spawn (/bin/true, 2 cores): the same children
 *               per second as posix_spawn and vfork within the noise
 *               (the child's exec dominates, ~0.6 ms), 67 us of parent
 *               CPU per child against posix_spawn's 47 and fork+exec's
 *               85; the difference is the error pipe, the pidfd and the
 *               loop's epoll calls, which posix_spawn leaves to waitpid.
 *   fork path:  fork() and pidfd_open(); the child runs the caller's
 *               function after the setup.
 * Then the parent reads the error pipe: EOF means the exec happened (or,
 * fork path, the setup is done and the function runs); a record means
 * the child failed and is exiting 127.
 *
 * Exit.  The pidfd polls readable once the child is a zombie; waitid
 * (P_PIDFD) reaps exactly that child (Linux 5.4), with no SIGCHLD
 * handler and no chance of reaping someone else's.  on_exit waits until
 * the exit was seen and every captured output pipe reached EOF
 * (drain-first), or, for a timed-out child, until its pipes were cut.
 *
 * Re-entrancy.  Every user callback may free the child (and its memory):
 * calls are bracketed by a guard on the caller's stack, as in stream.c.
 *
 * Sections: fd registry, helpers, callbacks, spawn, public API.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork-internal.h"

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

/* evl_child.state bits. */
#define CHILD_ACTIVE 0x01        /* spawned, not yet finished or freed */
#define CHILD_EXITED 0x02        /* status collected */
#define CHILD_TIMED_OUT 0x04     /* the timeout expired */
#define CHILD_OWN_GROUP 0x08     /* SETSID/SETPGID: pid is the group id */
#define CHILD_STDIN_CLOSING 0x10 /* close_stdin waits for the queue */
#define CHILD_PROACTOR 0x20      /* the loop is a proactor (see pipe_done) */

/* The clone child's stack: a PATH_MAX buffer, a diagnostic, and the libc
 * calls under them, with room to spare (musl makes do with 1 KiB plus
 * PATH_MAX). */
#define CHILD_STACK_SIZE (32 * 1024)
/* Reads when cutting a timed-out child's pipes: what the pipe holds, not
 * what a grandchild keeps writing. */
#define CUT_READS 16

/* ------------------------------------------------------------ fd registry */

#define FDREG_WORD_BITS (8 * sizeof(unsigned long))
static unsigned long fdreg[EVL__FDREG_BITS / FDREG_WORD_BITS];

void evl__fdreg_add(int fd)
{
    if (fd >= 0 && fd < EVL__FDREG_BITS)
        __atomic_fetch_or(&fdreg[(unsigned)fd / FDREG_WORD_BITS],
                          1UL << ((unsigned)fd % FDREG_WORD_BITS), __ATOMIC_RELAXED);
}

void evl__fdreg_del(int fd)
{
    if (fd >= 0 && fd < EVL__FDREG_BITS)
        __atomic_fetch_and(&fdreg[(unsigned)fd / FDREG_WORD_BITS],
                           ~(1UL << ((unsigned)fd % FDREG_WORD_BITS)), __ATOMIC_RELAXED);
}

/* Child side (async-signal-safe): loads and close() only. */
void evl__fdreg_sweep(void)
{
    for (size_t w = 0; w < sizeof(fdreg) / sizeof(fdreg[0]); w++) {
        unsigned long bits = __atomic_load_n(&fdreg[w], __ATOMIC_RELAXED);
        while (bits != 0) {
            int b = __builtin_ctzl(bits);
            bits &= bits - 1;
            close((int)(w * FDREG_WORD_BITS) + b);
        }
    }
}

/* Closes a parent-side fd: out of the registry first, so that a fork in
 * another thread cannot close whatever reuses the number. */
static void close_parent_fd(int fd)
{
    if (fd < 0)
        return;
    evl__fdreg_del(fd);
    close(fd);
}

/* ------------------------------------------------------------ helpers */

/* The dispatch guard on c (evl-internal.h); evl_child_free clears it. */
static inline void guard_enter(evl_child *c, struct evl__guard *g)
{
    evl__guard_enter(&c->alive, g);
}

static inline int guard_leave(evl_child *c, struct evl__guard *g)
{
    return evl__guard_leave(&c->alive, g);
}

static int io_index(const evl_child *c, const evl_stream *s)
{
    return (int)(s - c->io);
}

static int status_from_siginfo(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED: return (si->si_status & 0xff) << 8;
    case CLD_KILLED: return si->si_status & 0x7f;
    case CLD_DUMPED: return (si->si_status & 0x7f) | 0x80;
    default: return -EINVAL;
    }
}

/* Collects the child's exit.  block: wait for it.  Returns 1 with
 * *status set, 0 if it is still running (non-blocking), or -errno. */
static int reap(evl_child *c, int block, int *status)
{
    siginfo_t si;
    int rc;
    memset(&si, 0, sizeof(si));
    do
        rc = waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED | (block ? 0 : WNOHANG));
    while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EINVAL) {
        /* Linux 5.3 has pidfd_open but not P_PIDFD; the pid is still
         * ours (unreaped), so waitpid on it cannot hit a stranger. */
        int st;
        pid_t r;
        do
            r = waitpid(c->pid, &st, block ? 0 : WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        *status = st;
        return 1;
    }
    if (rc < 0)
        return -errno;
    if (si.si_pid == 0)
        return 0;
    *status = status_from_siginfo(&si);
    return 1;
}

static int send_signal(evl_child *c, int sig)
{
    if (c->pidfd < 0)
        return -ESRCH;
    if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) == 0)
        return 0;
    if (errno != ENOSYS)
        return -errno;
    /* Before 5.1 (or under valgrind): the pid cannot have been recycled
     * while we have not reaped it. */
    return kill(c->pid, sig) == 0 ? 0 : -errno;
}

/* Signals the group when the child leads one (grandchildren holding our
 * pipes die with it), else the child. */
static void timeout_signal(evl_child *c, int sig)
{
    if (c->state & CHILD_OWN_GROUP)
        kill(-c->pid, sig);
    else
        send_signal(c, sig);
}

/* Drops the stream on child fd i and closes the parent's end.  On a
 * proactor the kernel may still hold a read on an output pipe, and a
 * close now would hand that read to whatever reuses the number: the
 * stream closes the fd itself once the read is back (evloop.h). */
static void pipe_done(evl_child *c, int i)
{
    if (!(c->pipes & (1u << i)))
        return;
    c->pipes &= ~(1u << i);
    evl_stream *s = &c->io[i];
    int fd = c->pfd[i];
    c->pfd[i] = -1;
    evl__fdreg_del(fd);
    if (i > 0 && (c->state & CHILD_PROACTOR)) {
        evl_stream_close(s);
        evl_stream_free(s);
        return;
    }
    evl_stream_free(s);
    if (fd >= 0)
        close(fd);
}

static int outputs_open(const evl_child *c)
{
    return (c->pipes & 0x6) != 0;
}

/* Releases everything but the struct's fields the accessors read. */
static void release(evl_child *c)
{
    evl_timer_stop(&c->timeout);
    evl_timer_stop(&c->kill_timer);
    for (int i = 0; i < 3; i++) {
        pipe_done(c, i);
        close_parent_fd(c->raw[i]);
        c->raw[i] = -1;
    }
    if (c->pidfd >= 0) {
        evl_watcher_stop(&c->pw);
        close_parent_fd(c->pidfd);
        c->pidfd = -1;
    }
    c->state &= ~CHILD_ACTIVE;
}

/* Forgets c without a word to the loop or the kernel: the stream
 * buffers are freed and, with close_fds, the fds closed.  For a copy of
 * the parent made by fork, and for a loop that will not run again. */
static void drop(evl_child *c, int close_fds)
{
    for (int i = 0; i < 3; i++) {
        if (c->pipes & (1u << i)) {
            evl_buf_free(&c->io[i].rbuf);
            evl_buf_free(&c->io[i].wbuf);
            if (close_fds)
                close_parent_fd(c->pfd[i]);
        }
        if (close_fds)
            close_parent_fd(c->raw[i]);
        c->raw[i] = c->pfd[i] = -1;
    }
    if (close_fds)
        close_parent_fd(c->pidfd);
    c->pipes = 0;
    c->pidfd = -1;
    c->state &= ~CHILD_ACTIVE;
}

/* on_exit once the exit was seen and no output pipe is open. */
static void finish_check(evl_child *c)
{
    if (!(c->state & CHILD_ACTIVE) || !(c->state & CHILD_EXITED) || outputs_open(c))
        return;
    release(c);
    if (c->cb.on_exit != NULL)
        c->cb.on_exit(c, c->status);   /* may free c: nothing follows */
}

/* Delivers what an output pipe holds right now, then closes it.  Returns
 * 0 if a callback freed c. */
static int cut_pipe(evl_child *c, int i)
{
    evl_stream *s = &c->io[i];
    struct evl__guard g;
    guard_enter(c, &g);
    for (int round = 0; round < CUT_READS && (c->pipes & (1u << i)); round++) {
        ssize_t n = evl_stream_fill(s);
        if (n <= 0)
            break;
        evl_buf *rb = evl_stream_rbuf(s);
        size_t len = evl_buf_len(rb);
        if (len > 0 && c->cb.on_output != NULL) {
            c->cb.on_output(c, i, evl_buf_data(rb), len);
            if (!g.alive)
                break;
        }
        if (c->pipes & (1u << i))
            evl_buf_consume(rb, evl_buf_len(rb));
    }
    if (!guard_leave(c, &g))
        return 0;
    pipe_done(c, i);
    return 1;
}

static int cut_pipes(evl_child *c)
{
    for (int i = 1; i <= 2; i++)
        if (!cut_pipe(c, i))
            return 0;
    return 1;
}

/* ------------------------------------------------------------ callbacks */

static void on_pidfd(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_child *c = w->data;
    int status;
    int rc = reap(c, 0, &status);
    if (rc == 0)
        return;   /* spurious */
    c->status = rc < 0 ? rc : status;
    c->state |= CHILD_EXITED;
    evl_watcher_stop(&c->pw);
    close_parent_fd(c->pidfd);
    c->pidfd = -1;
    evl_timer_stop(&c->kill_timer);
    if ((c->state & CHILD_TIMED_OUT) && !cut_pipes(c))
        return;
    finish_check(c);
}

static size_t on_out_read(evl_stream *s, const char *data, size_t len)
{
    evl_child *c = s->data;
    if (c->cb.on_output != NULL)
        c->cb.on_output(c, io_index(c, s), data, len);   /* may free c and s */
    return len;
}

static void on_out_eof(evl_stream *s)
{
    evl_child *c = s->data;
    pipe_done(c, io_index(c, s));
    finish_check(c);
}

/* A read error counts as EOF (what else could the child's output do?). */
static void on_out_error(evl_stream *s, int err)
{
    evl_child *c = s->data;
    int i = io_index(c, s);
    if (c->cb.on_error != NULL) {
        struct evl__guard g;
        guard_enter(c, &g);
        c->cb.on_error(c, i, err);
        if (!guard_leave(c, &g))
            return;
    }
    pipe_done(c, i);
    finish_check(c);
}

/* The stdin stream failed (EPIPE: the child closed its end or died).
 * Its queue is dropped with the pipe; nothing is left to spin on. */
static void on_in_error(evl_stream *s, int err)
{
    evl_child *c = s->data;
    pipe_done(c, 0);
    c->state &= ~CHILD_STDIN_CLOSING;
    if (c->cb.on_error != NULL)
        c->cb.on_error(c, 0, err);
}

/* close_stdin's deferred close is done (the stream leaves the fd to us). */
static void on_in_close(evl_stream *s)
{
    evl_child *c = s->data;
    c->state &= ~CHILD_STDIN_CLOSING;
    pipe_done(c, 0);
}

static void on_kill_timer(evl_timer *t)
{
    evl_child *c = t->data;
    if (!(c->state & CHILD_EXITED))
        timeout_signal(c, SIGKILL);
}

static void on_timeout(evl_timer *t)
{
    evl_child *c = t->data;
    if (!(c->state & CHILD_ACTIVE))
        return;
    c->state |= CHILD_TIMED_OUT;
    if (c->state & CHILD_EXITED) {
        /* Only pipes held by someone else keep on_exit back. */
        if (cut_pipes(c))
            finish_check(c);
        return;
    }
    if (c->cb.on_timeout != NULL) {
        struct evl__guard g;
        guard_enter(c, &g);
        c->cb.on_timeout(c);
        if (!guard_leave(c, &g))
            return;
        if (c->state & CHILD_EXITED)
            return;
    }
    timeout_signal(c, SIGTERM);
    if (c->kill_after_ns > 0)
        evl_timer_start(&c->kill_timer, on_kill_timer, c->kill_after_ns, 0);
}

/* ------------------------------------------------------------ spawn */

static int check_options(const evl_spawn_options *o)
{
    const unsigned valid = EVL_SPAWN_PATH | EVL_SPAWN_CLEAR_ENV | EVL_SPAWN_UMASK |
                           EVL_SPAWN_SETSID | EVL_SPAWN_SETPGID |
                           EVL_SPAWN_KEEP_SIGHANDLERS | EVL_SPAWN_EXIT_127;
    if (o->flags & ~valid)
        return -EINVAL;
    if ((o->argv == NULL) == (o->child_fn == NULL))
        return -EINVAL;
    if (o->argv != NULL && o->argv[0] == NULL)
        return -EINVAL;
    if ((o->flags & EVL_SPAWN_UMASK) && o->umask > 0777)
        return -EINVAL;
    if (o->n_env > 0 && o->env == NULL)
        return -EINVAL;
    if (o->n_actions > 0 && o->actions == NULL)
        return -EINVAL;
    unsigned piped = 0;
    for (size_t i = 0; i < o->n_actions; i++) {
        const evl_fd_action *a = &o->actions[i];
        if (a->fd < 0)
            return -EINVAL;
        switch (a->kind) {
        case EVL_FD_PIPE_IN:
        case EVL_FD_PIPE_OUT:
            if (a->fd > 2 || (piped & (1u << a->fd)) || (a->flags & ~EVL_FD_RAW))
                return -EINVAL;
            piped |= 1u << a->fd;
            break;
        case EVL_FD_DUP:
            if (a->src < 0)
                return -EINVAL;
            break;
        case EVL_FD_OPEN:
            if (a->path == NULL)
                return -EINVAL;
            break;
        case EVL_FD_CLOSE:
        case EVL_FD_DEVNULL:
            break;
        default:
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < o->n_env; i++)
        if (o->env[i] == NULL)
            return -EINVAL;
    return 0;
}

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

/* The child's environment: environ (unless cleared) with the overlay
 * applied.  *out is a malloc'd array of borrowed strings. */
static int build_env(const evl_spawn_options *o, char ***out)
{
    size_t n = 0, base = 0;
    if (!(o->flags & EVL_SPAWN_CLEAR_ENV) && environ != NULL)
        while (environ[base] != NULL)
            base++;
    char **env = malloc((base + o->n_env + 1) * sizeof(*env));
    if (env == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < base; i++)
        env[n++] = environ[i];
    for (size_t k = 0; k < o->n_env; k++) {
        char *e = o->env[k];
        size_t len = name_len(e);
        int has_value = e[len] == '=';
        size_t j;
        for (j = 0; j < n; j++)
            if (name_len(env[j]) == len && memcmp(env[j], e, len) == 0)
                break;
        if (j < n) {
            if (has_value) {
                env[j] = e;
            } else {
                memmove(&env[j], &env[j + 1], (n - j - 1) * sizeof(*env));
                n--;
            }
        } else if (has_value) {
            env[n++] = e;
        }
    }
    env[n] = NULL;
    *out = env;
    return 0;
}

static const char *path_of(char *const *envp)
{
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return "/bin:/usr/bin";   /* confstr(_CS_PATH), as execvp falls back to */
}

/* Moves fd to a number >= min (keeping close-on-exec), so that no fd
 * action in the child overwrites it before it is used.  Only the
 * unusual parent with fd 0..2 closed ever pays for this. */
static int lift_fd(int fd, int min)
{
    if (fd >= min)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, min);
    int err = errno;
    close(fd);
    return n >= 0 ? n : -err;
}

static void block_all(sigset_t *old)
{
    unsigned long all[EVL__KSIGSET_SIZE / sizeof(unsigned long)];
    memset(all, 0xff, sizeof(all));
    /* Raw, so that glibc's internal signals are blocked too. */
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, all, old, (size_t)EVL__KSIGSET_SIZE);
}

static void restore_mask(const sigset_t *old)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, (size_t)EVL__KSIGSET_SIZE);
}

/* The exec path's clone, in a function of its own so that the stack
 * array lives exactly as long as the child can use it. */
static pid_t clone_vfork(struct evl__spawn_plan *plan, int *pidfd)
{
    _Alignas(64) char stack[CHILD_STACK_SIZE];
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    *pidfd = -1;
    pid_t pid = clone(evl__child_clone_entry, stack + sizeof(stack), flags | CLONE_PIDFD, plan,
                      pidfd);
    if (pid < 0 && errno == EINVAL) {
        *pidfd = -1;   /* before Linux 5.2: pidfd_open afterwards */
        pid = clone(evl__child_clone_entry, stack + sizeof(stack), flags, plan);
    }
    return pid;
}

struct spawn_fds {
    int parent[3];               /* parent's pipe ends */
    int child[3];                /* child's pipe ends */
    int err[2];                  /* error pipe */
};

static void close_spawn_fds(struct spawn_fds *f)
{
    for (int i = 0; i < 3; i++) {
        close_parent_fd(f->parent[i]);
        if (f->child[i] >= 0)
            close(f->child[i]);
        f->parent[i] = f->child[i] = -1;
    }
    for (int i = 0; i < 2; i++) {
        if (f->err[i] >= 0)
            close(f->err[i]);
        f->err[i] = -1;
    }
}

/* Pipes for the pipe actions and the error pipe; child ends above min. */
static int make_pipes(const evl_spawn_options *o, int min, struct spawn_fds *f)
{
    for (size_t i = 0; i < o->n_actions; i++) {
        const evl_fd_action *a = &o->actions[i];
        if (a->kind != EVL_FD_PIPE_IN && a->kind != EVL_FD_PIPE_OUT)
            continue;
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return -errno;
        int in = a->kind == EVL_FD_PIPE_IN;
        int pe = in ? p[1] : p[0], ce = in ? p[0] : p[1];
        f->parent[a->fd] = pe;
        evl__fdreg_add(pe);
        ce = lift_fd(ce, min);
        if (ce < 0)
            return ce;
        f->child[a->fd] = ce;
        if (fcntl(pe, F_SETFL, (in ? O_WRONLY : O_RDONLY) | O_NONBLOCK) < 0)
            return -errno;
        /* Bigger pipes: fewer wakeups for a chatty child.  The kernel may
         * refuse (pipe-max-size, per-user limits); that is no error. */
        if (!in && o->pipe_size > 0)
            fcntl(pe, F_SETPIPE_SZ, (int)(o->pipe_size > 1u << 30 ? 1u << 30 : o->pipe_size));
    }
    if (pipe2(f->err, O_CLOEXEC) < 0) {
        f->err[0] = f->err[1] = -1;
        return -errno;
    }
    f->err[1] = lift_fd(f->err[1], min);
    if (f->err[1] < 0)
        return f->err[1];
    return 0;
}

/* Bytes per read of an output pipe.  More than the pipe holds, so that a
 * read which empties the pipe is short and the stream goes back to the
 * loop without a read that only says EAGAIN. */
static size_t read_size(const evl_spawn_options *o)
{
    if (o->read_size > 0)
        return o->read_size;
    size_t pipe = o->pipe_size > 0 ? o->pipe_size : 64 * 1024;
    return pipe < 128 * 1024 ? 256 * 1024 : 2 * pipe;
}

static int start_streams(evl_loop *loop, evl_child *c, const evl_spawn_options *o,
                         struct spawn_fds *f)
{
    static const struct evl_stream_callbacks out_cb = {
        .on_read = on_out_read, .on_eof = on_out_eof, .on_error = on_out_error
    };
    static const struct evl_stream_callbacks in_cb = {
        .on_error = on_in_error, .on_close = on_in_close
    };
    for (size_t i = 0; i < o->n_actions; i++) {
        const evl_fd_action *a = &o->actions[i];
        if (a->kind != EVL_FD_PIPE_IN && a->kind != EVL_FD_PIPE_OUT)
            continue;
        int fd = a->fd;
        if (a->flags & EVL_FD_RAW) {
            c->raw[fd] = f->parent[fd];
            f->parent[fd] = -1;
            continue;
        }
        evl_stream *s = &c->io[fd];
        s->data = c;
        /* The fd is ours to close (pipe_done), except an output pipe's
         * on a proactor, which the stream must close itself. */
        unsigned sflags = a->kind == EVL_FD_PIPE_OUT && evl_loop_model(loop) == EVL_PROACTOR
                              ? 0 : EVL_STREAM_NOCLOSE;
        int rc = evl_stream_init(s, loop, f->parent[fd], sflags,
                                 a->kind == EVL_FD_PIPE_IN ? &in_cb : &out_cb);
        if (rc == 0 && a->kind == EVL_FD_PIPE_OUT)
            rc = evl_stream_set_read_limits(s, 0, read_size(o));
        if (rc < 0) {
            evl_stream_free(s);
            return rc;
        }
        c->pipes |= 1u << fd;
        c->pfd[fd] = f->parent[fd];
        f->parent[fd] = -1;   /* the stream's now */
    }
    return 0;
}

/* Undoes a spawn that failed after the streams were started. */
static void unwind(evl_child *c, struct spawn_fds *f)
{
    for (int i = 0; i < 3; i++) {
        pipe_done(c, i);
        close_parent_fd(c->raw[i]);
        c->raw[i] = -1;
    }
    close_spawn_fds(f);
}

/* The steps of evl_child_spawn, in order. */

/* A fresh record: nothing open, nothing collected (the data slot stays). */
static void child_reset(evl_child *c, evl_loop *loop, const struct evl_child_callbacks *cb)
{
    void *data = c->data;
    memset(c, 0, sizeof(*c));
    c->data = data;
    c->pidfd = -1;
    c->status = -EAGAIN;
    for (int i = 0; i < 3; i++)
        c->raw[i] = c->pfd[i] = -1;
    if (cb != NULL)
        c->cb = *cb;
    if (evl_loop_model(loop) == EVL_PROACTOR)
        c->state |= CHILD_PROACTOR;
}

/* The lowest fd the child's own pipe ends may use: above every fd an
 * action targets, so no action overwrites one before it is dup'ed. */
static int child_fd_floor(const evl_spawn_options *o)
{
    int min = 3;
    for (size_t i = 0; i < o->n_actions; i++)
        if (o->actions[i].fd >= min)
            min = o->actions[i].fd + 1;
    return min;
}

/* The caller's fd actions in the child's terms: a pipe is a dup of the
 * child's end, /dev/null an open. */
static void translate_actions(const evl_spawn_options *o, const struct spawn_fds *f,
                              struct evl__child_action *acts)
{
    for (size_t i = 0; i < o->n_actions; i++) {
        const evl_fd_action *a = &o->actions[i];
        struct evl__child_action *ca = &acts[i];
        memset(ca, 0, sizeof(*ca));
        ca->fd = a->fd;
        switch (a->kind) {
        case EVL_FD_PIPE_IN:
        case EVL_FD_PIPE_OUT:
            ca->kind = EVL_FD_DUP;
            ca->src = f->child[a->fd];
            break;
        case EVL_FD_DEVNULL:
            ca->kind = EVL_FD_OPEN;
            ca->path = "/dev/null";
            ca->oflags = O_RDWR;
            break;
        default:
            ca->kind = a->kind;
            ca->src = a->src;
            ca->path = a->path;
            ca->oflags = a->oflags;
            ca->mode = a->mode;
            break;
        }
    }
}

/* Everything the child reads, complete before the clone (see
 * fork-internal.h). */
static void build_plan(struct evl__spawn_plan *plan, const evl_spawn_options *o,
                       char **envp, const struct spawn_fds *f,
                       struct evl__child_action *acts)
{
    memset(plan, 0, sizeof(*plan));
    plan->file = o->file != NULL ? o->file : (o->argv != NULL ? o->argv[0] : NULL);
    plan->argv = o->argv;
    plan->envp = envp != NULL ? envp : environ;
    plan->envp_built = envp != NULL;
    plan->path = path_of(plan->envp);
    plan->fn = o->child_fn;
    plan->arg = o->child_arg;
    plan->cwd = o->cwd;
    plan->umask = o->umask;
    plan->flags = o->flags;
    plan->diag_prefix = o->diag_prefix;
    plan->err_fd = f->err[1];
    plan->err_rd = f->err[0];
    translate_actions(o, f, acts);
    plan->acts = acts;
    plan->n_acts = o->n_actions;
    for (int i = 0; i < 3; i++)
        plan->close_fds[i] = f->child[i];
}

/* Starts the child with every signal blocked around the clone or fork
 * (the child resets its mask and dispositions itself).  Returns its pid
 * and, from clone, its pidfd in *pidfd (else -1); or -errno. */
static pid_t launch(struct evl__spawn_plan *plan, int *pidfd)
{
    sigset_t old;
    pid_t pid;
    *pidfd = -1;
    block_all(&old);
    if (plan->fn == NULL) {
        pid = clone_vfork(plan, pidfd);
    } else {
        pid = fork();
        if (pid == 0)
            evl__child_run(plan);
    }
    int fork_err = errno;
    restore_mask(&old);
    return pid < 0 ? -fork_err : pid;
}

/* Closes the child's ends and waits on the error pipe: EOF means the
 * child exec'd (or, on the fork path, finished its setup); a record
 * means it failed and exits 127. */
static void collect_exec_result(evl_child *c, struct spawn_fds *f)
{
    for (int i = 0; i < 3; i++) {
        if (f->child[i] >= 0)
            close(f->child[i]);
        f->child[i] = -1;
    }
    close(f->err[1]);
    f->err[1] = -1;

    struct evl__spawn_err e;
    ssize_t n;
    do
        n = read(f->err[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(f->err[0]);
    f->err[0] = -1;
    if (n == (ssize_t)sizeof(e)) {
        c->exec_err = -e.err;
        c->exec_stage = e.stage;
    }
}

/* A pidfd (the fork path opens one now) and the watcher on it.  Returns
 * 0, the exec failure (unless EVL_SPAWN_EXIT_127 wants it reported as
 * exit status 127), or -errno. */
static int watch_exit(evl_loop *loop, evl_child *c, const evl_spawn_options *o)
{
    if (c->pidfd < 0) {
        c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
        if (c->pidfd < 0)
            return -errno;
    }
    evl__fdreg_add(c->pidfd);
    if (c->exec_err != 0 && !(o->flags & EVL_SPAWN_EXIT_127))
        return c->exec_err;
    evl_watcher_init(&c->pw, on_pidfd, NULL, NULL);
    c->pw.data = c;
    return evl_watcher_start(loop, &c->pw, c->pidfd, EVL_READ);
}

/* Nothing may outlive a failed spawn: kill (a no-op for a child that
 * failed its exec) and reap. */
static void kill_and_reap(evl_child *c)
{
    int status;
    if (c->pidfd >= 0) {
        send_signal(c, SIGKILL);
        reap(c, 1, &status);
        close_parent_fd(c->pidfd);
        c->pidfd = -1;
    } else {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
}

/* The spawned child belongs to the loop from here on. */
static void activate(evl_loop *loop, evl_child *c, const evl_spawn_options *o)
{
    c->loop = loop;
    c->state |= CHILD_ACTIVE;
    if (o->flags & (EVL_SPAWN_SETSID | EVL_SPAWN_SETPGID))
        c->state |= CHILD_OWN_GROUP;
    evl_timer_init(loop, &c->timeout);
    evl_timer_init(loop, &c->kill_timer);
    c->timeout.data = c;
    c->kill_timer.data = c;
}

int evl_child_spawn(evl_loop *loop, evl_child *c, const evl_spawn_options *o,
                    const struct evl_child_callbacks *cb)
{
    if (loop == NULL || c == NULL || o == NULL)
        return -EINVAL;
    if (c->state & CHILD_ACTIVE)
        return -EINVAL;
    int rc = check_options(o);
    if (rc < 0)
        return rc;
    child_reset(c, loop, cb);

    /* Memory: the child-side actions and the environment. */
    struct spawn_fds f = { { -1, -1, -1 }, { -1, -1, -1 }, { -1, -1 } };
    struct evl__child_action stack_acts[8];
    struct evl__child_action *acts = stack_acts;
    char **envp = NULL;
    if (o->n_actions > sizeof(stack_acts) / sizeof(stack_acts[0])) {
        acts = calloc(o->n_actions, sizeof(*acts));
        if (acts == NULL)
            return -ENOMEM;
    }
    if ((o->flags & EVL_SPAWN_CLEAR_ENV) || o->n_env > 0) {
        rc = build_env(o, &envp);
        if (rc < 0)
            goto out;
    }

    /* fds: the pipes, then the parent's streams over its ends. */
    rc = make_pipes(o, child_fd_floor(o), &f);
    if (rc < 0)
        goto out_fds;
    struct evl__spawn_plan plan;
    build_plan(&plan, o, envp, &f, acts);
    rc = start_streams(loop, c, o, &f);
    if (rc < 0)
        goto out_unwind;

    /* The child. */
    int pidfd;
    pid_t pid = launch(&plan, &pidfd);
    if (pid < 0) {
        rc = (int)pid;
        goto out_unwind;
    }
    c->pid = pid;
    c->owner_forks = evl_fork_count();
    c->pidfd = pidfd;
    collect_exec_result(c, &f);

    /* The parent's bookkeeping. */
    rc = watch_exit(loop, c, o);
    if (rc < 0) {
        kill_and_reap(c);
        goto out_unwind;
    }
    activate(loop, c, o);
    rc = 0;
    goto out;

out_unwind:
    unwind(c, &f);
    goto out;
out_fds:
    close_spawn_fds(&f);
out:
    free(envp);
    if (acts != stack_acts)
        free(acts);
    return rc;
}

/* ------------------------------------------------------------ public API */

int evl_child_set_timeout(evl_child *c, uint64_t timeout_ns, uint64_t kill_after_ns)
{
    if (c == NULL || !(c->state & CHILD_ACTIVE))
        return -EINVAL;
    c->kill_after_ns = kill_after_ns;
    if (timeout_ns == 0) {
        evl_timer_stop(&c->timeout);
        return 0;
    }
    /* From now, not from the loop's cached time: the spawn itself may
     * have taken a while since the loop last looked at the clock. */
    evl_loop_update_now(c->loop);
    return evl_timer_start(&c->timeout, on_timeout, timeout_ns, 0);
}

int evl_child_kill(evl_child *c, int sig)
{
    if (c == NULL || sig < 0 || sig >= _NSIG || c->pid <= 0)
        return -EINVAL;
    return send_signal(c, sig);
}

int evl_child_kill_group(evl_child *c, int sig)
{
    if (c == NULL || sig < 0 || sig >= _NSIG || !(c->state & CHILD_OWN_GROUP))
        return -EINVAL;
    return kill(-c->pid, sig) == 0 ? 0 : -errno;
}

ssize_t evl_child_write(evl_child *c, const void *p, size_t n)
{
    if (c == NULL || (p == NULL && n > 0))
        return -EINVAL;
    if (!(c->pipes & 1u))
        return -EBADF;
    if (c->state & CHILD_STDIN_CLOSING)
        return -ESHUTDOWN;
    if (n == 0)
        return 0;
    evl_stream *s = &c->io[0];
    size_t before = evl_stream_queued(s);
    struct evl__guard g;
    guard_enter(c, &g);
    int rc = evl_stream_write(s, p, n);   /* on_in_error may run, and free c */
    if (!guard_leave(c, &g))
        return rc < 0 ? rc : -EPIPE;
    if (rc < 0)
        return rc;
    if (!(c->pipes & 1u))
        return -EPIPE;
    size_t after = evl_stream_queued(s);
    return (ssize_t)(n - (after - before));
}

int evl_child_close_stdin(evl_child *c)
{
    if (c == NULL)
        return -EINVAL;
    if (!(c->pipes & 1u) || (c->state & CHILD_STDIN_CLOSING))
        return -EBADF;
    if (evl_stream_queued(&c->io[0]) == 0) {
        pipe_done(c, 0);
        return 0;
    }
    c->state |= CHILD_STDIN_CLOSING;
    struct evl__guard g;
    guard_enter(c, &g);
    int rc = evl_stream_close(&c->io[0]);   /* 1: on_in_close finishes it */
    if (!guard_leave(c, &g))
        return 0;
    if (rc < 0) {
        c->state &= ~CHILD_STDIN_CLOSING;
        pipe_done(c, 0);
        return 0;
    }
    return rc == 1 && (c->pipes & 1u) ? 1 : 0;
}

size_t evl_child_stdin_queued(const evl_child *c)
{
    return c != NULL && (c->pipes & 1u) ? evl_stream_queued(&c->io[0]) : 0;
}

int evl_child_take_fd(evl_child *c, int fd)
{
    if (c == NULL || !(c->state & CHILD_ACTIVE) || fd < 0 || fd > 2 || c->raw[fd] < 0)
        return -EBADF;
    int r = c->raw[fd];
    c->raw[fd] = -1;
    evl__fdreg_del(r);
    return r;
}

evl_stream *evl_child_stream(evl_child *c, int fd)
{
    if (c == NULL || fd < 0 || fd > 2 || !(c->pipes & (1u << fd)))
        return NULL;
    return &c->io[fd];
}

int evl_child_free(evl_child *c)
{
    if (c == NULL || !(c->state & CHILD_ACTIVE))
        return 0;
    if (c->alive != NULL)
        *c->alive = 0;
    c->alive = NULL;
    if (c->owner_forks != evl_fork_count()) {
        /* A forked copy of the parent (a fork-and-call child running the
         * caller's cleanup, say): the pidfd, the pipes and the loop's
         * epoll set are shared with the real parent, so touching them
         * would break it, and killing would kill its child.  The fds were
         * closed by the fork path's sweep, or go at exit. */
        drop(c, 0);
        return 1;
    }
    if (c->pidfd >= 0 && !(c->state & CHILD_EXITED)) {
        int status;
        send_signal(c, SIGKILL);
        if (reap(c, 1, &status) == 1) {
            c->status = status;
            c->state |= CHILD_EXITED;
        }
    }
    release(c);
    return 1;
}

int evl_child_detach(evl_child *c)
{
    if (c == NULL || !(c->state & CHILD_ACTIVE))
        return 0;
    if (c->alive != NULL)
        *c->alive = 0;
    c->alive = NULL;
    drop(c, c->owner_forks == evl_fork_count());
    return 1;
}

int evl_child_is_active(const evl_child *c)
{
    return c != NULL && (c->state & CHILD_ACTIVE) ? 1 : 0;
}

pid_t evl_child_pid(const evl_child *c)
{
    return c != NULL ? c->pid : -EINVAL;
}

int evl_child_exited(const evl_child *c)
{
    return c != NULL && (c->state & CHILD_EXITED) ? 1 : 0;
}

int evl_child_status(const evl_child *c)
{
    if (c == NULL)
        return -EINVAL;
    return (c->state & CHILD_EXITED) ? c->status : -EAGAIN;
}

int evl_child_timed_out(const evl_child *c)
{
    return c != NULL && (c->state & CHILD_TIMED_OUT) ? 1 : 0;
}

int evl_child_exec_error(const evl_child *c)
{
    return c != NULL ? c->exec_err : -EINVAL;
}

int evl_child_exec_stage(const evl_child *c)
{
    return c != NULL ? c->exec_stage : -EINVAL;
}
