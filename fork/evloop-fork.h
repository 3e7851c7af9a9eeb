/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evloop-fork.h - child processes on a libevloop loop.
 *
 * evl_child_spawn starts a child with a setup done in the child before it
 * runs anything of its own: an ordered list of fd actions (pipes to the
 * parent, dup2, close, open), a new session or process group, umask, cwd,
 * environment, and a clean signal state (every disposition back to the
 * default, empty mask).  Then either it execs a program (argv), or, for
 * callers that must run their own code in the child (Perl's
 * `child => sub {...}`), it calls a C function in a real fork.
 *
 * The parent follows the child on its loop: its exit through a pidfd
 * (no SIGCHLD handler, no waitpid race), its output through evl_streams.
 * The exit callback is drain-first: it runs once, after the exit was
 * seen AND every captured output pipe reached end of file, so every byte
 * the child wrote before it died has been delivered before the status.
 * A timeout sends SIGTERM and, later, SIGKILL, and bounds the wait for
 * end of file (see evl_child_set_timeout).
 *
 * Conventions are libevloop's: 0 or a count on success, a negative errno
 * on failure, caller storage for evl_child, one thread per loop.  These
 * functions are part of libevloop (-levloop).
 */
#ifndef EVLOOP_FORK_H
#define EVLOOP_FORK_H

#include "evloop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evl_child evl_child;
typedef struct evl_fd_action evl_fd_action;
typedef struct evl_spawn_options evl_spawn_options;

/* status: the wait status as waitpid() gives it (WIFEXITED etc.), or a
 * negative errno when the exit could not be collected (-ECHILD: another
 * waiter reaped the child first). */
typedef void (*evl_child_exit_cb)(evl_child *c, int status);
/* A chunk of a captured output pipe; fd is the child's fd number (1 for
 * stdout, 2 for stderr).  Chunk boundaries are arbitrary. */
typedef void (*evl_child_output_cb)(evl_child *c, int fd, const char *data, size_t len);
/* A pipe failed: fd 0 and -EPIPE when the child stopped reading its
 * stdin (what was queued is dropped and the pipe closed), or an output
 * pipe's read error (then treated as end of file). */
typedef void (*evl_child_error_cb)(evl_child *c, int fd, int err);
typedef void (*evl_child_cb)(evl_child *c);

struct evl_child_callbacks {
    evl_child_output_cb on_output;   /* NULL: captured output is read and dropped */
    evl_child_exit_cb on_exit;       /* drain-first, see above */
    evl_child_error_cb on_error;     /* optional */
    evl_child_cb on_timeout;         /* before the timeout's SIGTERM; optional */
};

/* ------------------------------------------------------------ fd actions
 *
 * Applied in the child in array order, after the signal reset and the
 * session/group change and before umask, cwd and the environment.  Each
 * works like the dup2/close/open a shell redirection would do, so a later
 * action sees the result of the earlier ones (as posix_spawn's file
 * actions).  The pipe ends the library makes never collide with a target
 * fd, whatever fds were free in the parent.
 */
enum evl_fd_action_kind {
    EVL_FD_PIPE_IN = 1,     /* fd (0..2) reads a pipe the parent writes (stdin) */
    EVL_FD_PIPE_OUT = 2,    /* fd (0..2) writes a pipe the parent reads (stdout/stderr) */
    EVL_FD_DUP = 3,         /* dup2(src, fd); src == fd clears close-on-exec */
    EVL_FD_CLOSE = 4,       /* close(fd); an fd that is not open is no error */
    EVL_FD_OPEN = 5,        /* open(path, oflags, mode) onto fd */
    EVL_FD_DEVNULL = 6      /* /dev/null, read-write, onto fd */
};

enum evl_fd_action_flag {
    /* Pipes: the parent's end is not made a stream but kept raw (close-on-
     * exec and non-blocking) for evl_child_take_fd, e.g. to read it
     * through a PerlIO handle; it does not count for drain-first. */
    EVL_FD_RAW = 0x01
};

struct evl_fd_action {
    int kind;               /* EVL_FD_* */
    int fd;                 /* the child's fd number */
    int src;                /* EVL_FD_DUP: the fd to copy */
    unsigned flags;         /* EVL_FD_RAW */
    const char *path;       /* EVL_FD_OPEN */
    int oflags;             /* EVL_FD_OPEN: open(2) flags */
    unsigned mode;          /* EVL_FD_OPEN: creation mode */
};

/* ------------------------------------------------------------ spawn options */

enum evl_spawn_flag {
    EVL_SPAWN_PATH = 0x01,        /* look file up on PATH (the child's, else "/bin:/usr/bin") */
    EVL_SPAWN_CLEAR_ENV = 0x02,   /* start from an empty environment */
    EVL_SPAWN_UMASK = 0x04,       /* set the umask field */
    EVL_SPAWN_SETSID = 0x08,      /* setsid(): new session and process group */
    EVL_SPAWN_SETPGID = 0x10,     /* setpgid(0, 0): new process group */
    /* fork-and-call only: keep the signal dispositions (handlers and
     * ignores) the caller's code expects; the mask is emptied anyway. */
    EVL_SPAWN_KEEP_SIGHANDLERS = 0x20,
    /* A failed setup step or exec is not a spawn error: spawn succeeds,
     * evl_child_exec_error says what failed, and the child's exit (127)
     * arrives through on_exit like any other, after its diagnostic. */
    EVL_SPAWN_EXIT_127 = 0x40
};

/* Where a setup step or the exec failed (evl_child_exec_stage). */
enum evl_spawn_stage {
    EVL_STAGE_NONE = 0,
    EVL_STAGE_SETSID, EVL_STAGE_SETPGID,
    EVL_STAGE_DUP2, EVL_STAGE_OPEN,
    EVL_STAGE_CHDIR, EVL_STAGE_EXEC
};

struct evl_spawn_options {
    /* Exec: file (NULL = argv[0]) with argv (NULL-terminated, argv[0]
     * required).  Fork-and-call: child_fn instead; argv must be NULL. */
    const char *file;
    char *const *argv;
    /* Called in the forked child after the whole setup; its return value
     * becomes the exit status (_exit, so no atexit handlers run).  Only
     * async-signal-safe calls are safe in it if the parent has threads. */
    int (*child_fn)(void *arg);
    void *child_arg;

    /* "NAME=value" entries overlaid on the environment (a later entry
     * wins; "NAME" without '=' removes NAME); with EVL_SPAWN_CLEAR_ENV
     * they are the whole environment.  Exec gets the result as its envp;
     * child_fn finds it in environ.  The strings are borrowed until spawn
     * returns. */
    char *const *env;
    size_t n_env;

    const evl_fd_action *actions;
    size_t n_actions;

    const char *cwd;              /* chdir in the child, or NULL */
    unsigned umask;               /* with EVL_SPAWN_UMASK; 0..0777 */
    unsigned flags;               /* EVL_SPAWN_* */
    /* When set, a failed setup step or exec writes one line to the
     * child's fd 2 before _exit(127): "<prefix><step>: <strerror>\n",
     * step being dup2(stdin|stdout|stderr|N), open(<path>), chdir(<dir>),
     * exec(<argv[0]>), setsid or setpgid. */
    const char *diag_prefix;
    /* Captured output pipes: capacity asked with F_SETPIPE_SZ (0: the
     * kernel's default, 64 KiB; a refusal is no error) and bytes per
     * read (0: more than the pipe holds, 256 KiB or twice pipe_size, so
     * that a read which empties the pipe is short and no read is spent
     * on EAGAIN).  Bigger pipes mean fewer wakeups for a child that
     * writes a lot, but count against the user's pipe budget
     * (/proc/sys/fs/pipe-user-pages-soft). */
    size_t pipe_size;
    size_t read_size;
};

/* ------------------------------------------------------------ child
 *
 * Caller storage, zero it before the first spawn (then data survives
 * spawn).  After a successful spawn the child belongs to the loop until
 * it has reported its exit through on_exit, or until evl_child_free.
 * Every callback may call evl_child_free (on its own child included).
 * Free every child before its loop.
 */
struct evl_child {
    void *data;                  /* user slot */
    /* private */
    evl_loop *loop;
    struct evl_child_callbacks cb;
    pid_t pid;
    unsigned owner_forks;        /* evl_fork_count() in the spawning process (fork safety) */
    int pidfd;                   /* -1 once reaped */
    int status;                  /* wait status once EVL__CHILD_EXITED */
    unsigned state;              /* EVL__CHILD_* bits (spawn.c) */
    unsigned pipes;              /* bit fd: a stream on child fd 0..2 is open */
    int exec_err;                /* -errno of a failed setup/exec, 0 */
    int exec_stage;              /* EVL_STAGE_* of it */
    int raw[3];                  /* EVL_FD_RAW parent ends, -1 if none */
    int pfd[3];                  /* the fds under io[] (a closed stream forgets its own) */
    unsigned *alive;             /* dispatch guard (spawn.c) */
    evl_watcher pw;              /* the pidfd */
    evl_timer timeout;           /* SIGTERM, then the drain bound */
    evl_timer kill_timer;        /* SIGKILL after the SIGTERM */
    uint64_t kill_after_ns;
    evl_stream io[3];            /* streams on the parent's pipe ends */
};

/* Starts a child.  Returns 0 and c is active; or a negative errno and c
 * is inactive with nothing left behind (no fd, no zombie):
 *   -EINVAL  bad options: no argv and no child_fn, both, empty argv, an
 *            action with an unknown kind, a negative fd, a pipe on an fd
 *            other than 0..2 or two on one fd, umask > 0777, n_env > 0
 *            with env NULL, unknown flags, loop/c/opt NULL, or c active;
 *   -errno   of pipe2, clone/fork, pidfd_open (-ENOSYS: kernel < 5.3);
 *   -errno   of the failed setup step or exec (without EVL_SPAWN_EXIT_127),
 *            e.g. -ENOENT, -EACCES, -ENOEXEC; evl_child_exec_stage(c)
 *            then says which step.
 * The exec path clones with CLONE_VM|CLONE_VFORK (the parent waits only
 * until the exec), the fork-and-call path forks.  Signals are blocked in
 * the calling thread for the duration. */
EVL_EXPORT int evl_child_spawn(evl_loop *loop, evl_child *c, const evl_spawn_options *opt,
                               const struct evl_child_callbacks *cb);

/* Arms (or re-arms; 0 disarms) a timeout measured from now.  When it
 * expires before on_exit: on_timeout, then SIGTERM (to the process group
 * if the child has its own, EVL_SPAWN_SETSID/SETPGID), then SIGKILL after
 * kill_after_ns if that is > 0 and the child still runs.  A timed-out
 * child does not wait for end of file: once its exit is seen, what its
 * pipes hold is delivered and they are closed, so a grandchild keeping a
 * pipe open cannot hold on_exit back.  If the timeout expires after the
 * exit was seen but while a pipe is still open, the pipes are cut the
 * same way at once (on_timeout is not called: there is no one to kill).
 * Returns 0, -EINVAL (inactive), -ENOMEM. */
EVL_EXPORT int evl_child_set_timeout(evl_child *c, uint64_t timeout_ns, uint64_t kill_after_ns);

/* Sends sig (0 probes) through the pidfd.  Returns 0, -ESRCH (already
 * reaped: never a recycled pid), -EINVAL. */
EVL_EXPORT int evl_child_kill(evl_child *c, int sig);
/* As kill(-pgid, sig) for a child spawned with EVL_SPAWN_SETSID or
 * SETPGID (its pid is the group's id); -EINVAL otherwise.  Grandchildren
 * in the group may outlive the child: this works until c is freed. */
EVL_EXPORT int evl_child_kill_group(evl_child *c, int sig);

/* Queues bytes for the child's stdin pipe (write-behind: what the pipe
 * does not take now is written as it drains).  Returns the bytes written
 * synchronously (the rest is queued), or -EBADF (no stdin pipe, or it is
 * closed), -ESHUTDOWN (closing), -EPIPE (the child stopped reading: the
 * pipe is closed and on_error was called), -ENOMEM. */
EVL_EXPORT ssize_t evl_child_write(evl_child *c, const void *p, size_t n);
/* Closes stdin once the queue is written.  Returns 0 (closed now), 1
 * (deferred), -EBADF (no stdin pipe or already closed/closing). */
EVL_EXPORT int evl_child_close_stdin(evl_child *c);
/* Bytes queued for stdin, 0 without a pipe. */
EVL_EXPORT size_t evl_child_stdin_queued(const evl_child *c);

/* Takes the parent's end of an EVL_FD_RAW pipe on child fd 0..2: the
 * caller owns it from now on.  Returns the fd, or -EBADF (none, or taken). */
EVL_EXPORT int evl_child_take_fd(evl_child *c, int fd);
/* The stream on the parent's end of the pipe on child fd 0..2, or NULL.
 * Reading, pausing and writing through it are fine; its data slot and
 * callbacks are the child's. */
EVL_EXPORT evl_stream *evl_child_stream(evl_child *c, int fd);

/* Stops everything and releases every fd.  A child still running is
 * killed with SIGKILL and reaped before this returns (a SIGKILLed
 * process is gone within microseconds unless it is stuck in the kernel),
 * so no zombie is left; a grandchild holding a pipe just loses it.  No
 * callback runs.  Idempotent: returns 1 if c was active, else 0.
 * Called in a forked copy of the spawning process (evl_fork_count()
 * differs from the spawner's), it only forgets: it kills and closes
 * nothing that belongs to the parent. */
EVL_EXPORT int evl_child_free(evl_child *c);
/* For a process about to exit (perl's global destruction), or a loop
 * that will never run again or is gone: closes the parent's fds and
 * frees the buffers without touching the loop, and without killing or
 * reaping the child, which runs on (if it exits before this process does,
 * it stays a zombie until then).  Returns 1 if c was active, else 0. */
EVL_EXPORT int evl_child_detach(evl_child *c);

EVL_EXPORT int evl_child_is_active(const evl_child *c);
EVL_EXPORT pid_t evl_child_pid(const evl_child *c);
/* 1 once the exit was seen (on_exit may still wait for end of file). */
EVL_EXPORT int evl_child_exited(const evl_child *c);
/* The wait status once exited (see evl_child_exit_cb), else -EAGAIN. */
EVL_EXPORT int evl_child_status(const evl_child *c);
/* 1 once the timeout expired. */
EVL_EXPORT int evl_child_timed_out(const evl_child *c);
/* With EVL_SPAWN_EXIT_127: -errno of the failed setup step or exec, else
 * 0; and its EVL_STAGE_*. */
EVL_EXPORT int evl_child_exec_error(const evl_child *c);
EVL_EXPORT int evl_child_exec_stage(const evl_child *c);

#ifdef __cplusplus
}
#endif
#endif /* EVLOOP_FORK_H */
