/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evloop.h - libevloop, an event-loop core for Linux.
 *
 * One loop object (evl_loop) drives fd watchers (epoll), timers (a deadline
 * heap behind one timerfd), signals (one signalfd), wakeups (eventfd) and
 * child exits (pidfd).  On top sit a buffered stream over an fd (evl_stream)
 * and incremental framers (line, netstring, u32be, ...), and a datagram
 * socket with batched receives and sends (evl_dgram).
 *
 * Conventions: every function returns 0 or a count on success and a
 * negative errno on failure; nothing here reads or promises the global
 * errno.  Bad arguments give -EINVAL or -EBADF, never abort().  Time is
 * CLOCK_MONOTONIC in nanoseconds (names end in _ns).  The caller owns
 * every struct it passes in (watchers, timers, streams, ...); the loop
 * only borrows them between start and stop.  Only evl_loop is allocated
 * by the library.  A loop is used from one thread; evl_loop_stop() and
 * evl_wakeup_signal() are the only calls safe from other threads.
 */
#ifndef EVLOOP_H
#define EVLOOP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVL_VERSION_MAJOR 0
#define EVL_VERSION_MINOR 200         /* 0.200: the Perl modules' $VERSION */
#define EVL_VERSION_PATCH 0

#if defined(EVL_BUILDING) && defined(__GNUC__)
#define EVL_EXPORT __attribute__((visibility("default")))
#else
#define EVL_EXPORT
#endif

/* ------------------------------------------------------------ types */

typedef struct evl_loop evl_loop;
typedef struct evl_watcher evl_watcher;
typedef struct evl_timer evl_timer;
typedef struct evl_signal evl_signal;
typedef struct evl_wakeup evl_wakeup;
typedef struct evl_pid evl_pid;
typedef struct evl_wait evl_wait;
typedef struct evl_hook evl_hook;
typedef struct evl_buf evl_buf;
typedef struct evl_framer evl_framer;
typedef struct evl_stream evl_stream;
typedef struct evl_op evl_op;
typedef struct evl_loop_options evl_loop_options;
typedef struct evl_resolve_req evl_resolve_req;   /* opaque */
typedef struct evl_dgram evl_dgram;
struct addrinfo;                                    /* <netdb.h> */
struct sockaddr;                                    /* <sys/socket.h> */

/* ------------------------------------------------------------ callbacks */

/* revents: the EVL_* event bits the kernel reported, exactly (EVL_READ,
 * EVL_WRITE, EVL_ERR, EVL_HUP, EVL_PRI, EVL_RDHUP): a hangup without data
 * is EVL_HUP alone, though it is routed to the read callback.  For an fd
 * epoll refuses (a regular file) it is the enabled directions. */
typedef void (*evl_watcher_cb)(evl_watcher *w, unsigned revents);
typedef void (*evl_timer_cb)(evl_timer *t);
/* count: how many queued instances of signo this drain collected (>= 1). */
typedef void (*evl_signal_cb)(evl_signal *s, int signo, unsigned count);
/* count: the sum of the eventfd counter since the last drain (>= 1). */
typedef void (*evl_wakeup_cb)(evl_wakeup *wk, uint64_t count);
/* status: the wait status as waitpid() gives it (WIFEXITED etc.), or a
 * negative errno if the exit could not be collected; -1 never occurs.
 * With EVL_PID_NOREAP the child is left for the caller to reap and status
 * is still reported (collected with WNOWAIT). */
typedef void (*evl_pid_cb)(evl_pid *p, int status);
/* pid: the child that exited; status as evl_pid_cb's (-ECHILD: the pid
 * was reaped by someone else before the loop could). */
typedef void (*evl_wait_cb)(evl_wait *wt, pid_t pid, int status);
typedef void (*evl_hook_cb)(evl_hook *h);
/* A settled operation: op->res holds the result (see evl_op). */
typedef void (*evl_op_cb)(evl_op *op);
/* A finished name resolution: status 0 with res the getaddrinfo list, or a
 * negative errno with res NULL (see evl_resolve). */
typedef void (*evl_resolve_cb)(evl_resolve_req *req, int status, struct addrinfo *res);

/* ------------------------------------------------------------ flags */

enum evl_model {
    EVL_REACTOR = 1,            /* readiness: epoll */
    EVL_PROACTOR = 2            /* completions: io_uring, or the fake backend */
};

/* evl_loop_new flags (proactor only). */
enum evl_loop_flag {
    EVL_BACKEND_URING = 0x0,    /* default: the kernel's io_uring */
    EVL_BACKEND_FAKE = 0x1,     /* deterministic: ops done synchronously in run_once */
    EVL_FAKE_MANUAL = 0x2       /* fake: never perform ops; only evl_op_fake_complete settles */
};

enum evl_event {
    EVL_READ = 0x01,            /* watch/readable */
    EVL_WRITE = 0x02,           /* watch/writable */
    EVL_ERROR = 0x04,           /* enable the error callback (interest is implicit) */
    EVL_ET = 0x08,              /* edge-triggered */
    EVL_ONESHOT = 0x10,         /* disarm after one event; evl_watcher_modify re-arms */
    EVL_ERR = 0x20,             /* revents only: EPOLLERR */
    EVL_HUP = 0x40,             /* revents only: EPOLLHUP */
    EVL_PRI = 0x80,             /* watch (to the read callback) and revents: EPOLLPRI */
    EVL_RDHUP = 0x100           /* watch (to the read callback) and revents: EPOLLRDHUP */
};

enum evl_pid_flag {
    EVL_PID_NOREAP = 0x01       /* observe the exit but leave the zombie */
};

/* ------------------------------------------------------------ loop
 *
 * A loop is created with an explicit model.  It owns its epoll fd,
 * timerfd, signalfd and an internal eventfd; evl_loop_free closes them.
 * Freeing a loop with watchers, timers or streams still started simply
 * forgets them (their storage is the caller's).
 */

/* Returns 0, or -EINVAL (unknown model or flags), -EMFILE/-ENFILE/-ENOMEM
 * from the kernel, or (uring) the kernel's refusal of io_uring. */
EVL_EXPORT int evl_loop_new(evl_loop **out, int model, unsigned flags);

/* How many times this process or its ancestors forked since libevloop
 * started counting (a pthread_atfork child handler, registered by the
 * first call or the first loop).  A value that differs from one saved
 * earlier means the caller runs in a forked child of the process that
 * saved it: state shared with the parent (an epoll set, a ring, a write
 * queue) is then the parent's.  Loops use it for exactly that. */
EVL_EXPORT unsigned evl_fork_count(void);

/* Fork.  A loop used in a forked child rebuilds itself there at its first
 * use (run, run_once, watcher/signal/pid/op calls): a new epoll set
 * holding every live watcher, a new timerfd armed for the pending timers,
 * a new signalfd with the loop's signals blocked again, a new internal
 * eventfd and, for a uring loop, a new ring.  The parent's kernel objects
 * are never changed: the child only closes its copies of their fds.
 * What belonged to the parent is settled in the child by one rule:
 *  - every op pending at the fork (in the ring, in the fake queue, or a
 *    timeout) settles with -ECANCELED; its callback runs from the child's
 *    loop as usual;
 *  - every evl_pid is dropped: stopped, its pidfd closed, no callback
 *    (the parent's children cannot be waited for by the child);
 *  - evl_wakeup fds stay shared (they exist to signal across processes);
 *  - the signal mask: see the signal section.
 * A fork is recognised through evl_fork_count (libc's fork() and
 * anything that runs the pthread_atfork handlers).  evl_loop_fork
 * rebuilds at once, for a child made by a raw clone() that runs no
 * handlers, or to rebuild eagerly.  Returns 0 (also at once in the
 * process that made the loop's objects), -EINVAL (loop NULL), or the
 * error of the kernel object that could not be made (the loop is then
 * unusable: free it). */
EVL_EXPORT int evl_loop_fork(evl_loop *loop);

/* Options beyond the model; zero-initialise and set what you need. */
struct evl_loop_options {
    int model;                  /* EVL_REACTOR or EVL_PROACTOR */
    unsigned flags;             /* EVL_BACKEND_* / EVL_FAKE_MANUAL */
    unsigned ring_entries;      /* io_uring SQ size; 0 = 256; rounded up to a power of 2 */
    /* io_uring: the provided-buffer ring that multishot receives
     * (evl_op_recv_multi, and so every Stream socket on the loop) share:
     * how many buffers (0 = 128; rounded up to a power of 2, at most
     * 32768) of how many bytes each (0 = 16 KiB).  Set up at the first
     * multishot receive; pages are touched only as the kernel fills them. */
    unsigned recv_buffers;
    unsigned recv_buffer_size;
};
/* As evl_loop_new.  A uring loop where the kernel refuses io_uring
 * (ENOSYS, EPERM, io_uring_disabled) fails with that negative errno. */
EVL_EXPORT int evl_loop_new_ex(evl_loop **out, const evl_loop_options *opt);

/* Frees the loop.  Proactor: operations still in the kernel are cancelled
 * and reaped first, so no buffer is touched after this returns; their
 * callbacks do not run (each op is left settled with -ECANCELED). */
EVL_EXPORT void evl_loop_free(evl_loop *loop);

/* Runs until evl_loop_stop.  Returns 0, or a negative errno if the wait
 * itself fails. */
EVL_EXPORT int evl_loop_run(evl_loop *loop);

/* One iteration: due timers, then one wait of at most timeout_ns
 * (-1 blocks until something happens, 0 polls), then dispatch of what the
 * wait returned and of timers that fell due meanwhile.  A stop requested
 * by a callback before the wait skips the wait.  Returns a count of what
 * happened, or -errno.  Reactor: the events the wait returned, the
 * loop's own fds included, so timers count as one event when the
 * timerfd woke the wait (however many fired) and not at all when they
 * were due without it.  Proactor: those events plus the timer and
 * completion callbacks run before the wait and the completion callbacks
 * run after it (timers fired after the wait are not added). */
EVL_EXPORT int evl_loop_run_once(evl_loop *loop, int64_t timeout_ns);

/* A wait interrupted by a signal handler resumes for the time left.  With
 * an interrupt callback set, it is asked first: a non-zero return makes
 * run_once return at once (the Perl binding uses this to run %SIG
 * handlers).  NULL removes it. */
EVL_EXPORT void evl_loop_set_interrupt_cb(evl_loop *loop,
                                          int (*cb)(evl_loop *loop, void *arg), void *arg);

/* evl_watcher_start on an fd number that has an active watcher stops
 * that one (see evl_watcher_start).  With a displaced callback set, it
 * hears of each such watcher, after the stop: a binding that keeps state
 * for its watchers (the Perl one: each holds its callbacks) lets go of
 * it, since nothing else would tell it.  The callback must not start,
 * stop or free watchers of the loop.  NULL removes it. */
EVL_EXPORT void evl_loop_set_displaced_cb(evl_loop *loop,
                                          void (*cb)(evl_watcher *old, void *arg), void *arg);

/* Requests the running evl_loop_run to return.  From a callback it
 * prevents the next wait; from another thread it wakes a blocked wait. */
EVL_EXPORT void evl_loop_stop(evl_loop *loop);

/* Whether a stop is pending (set by evl_loop_stop, cleared by
 * evl_loop_run on entry).  Returns 1 or 0. */
EVL_EXPORT int evl_loop_stopped(const evl_loop *loop);

/* The loop's cached monotonic time (refreshed once per iteration), and a
 * refresh of it.  */
EVL_EXPORT uint64_t evl_loop_now_ns(const evl_loop *loop);
EVL_EXPORT uint64_t evl_loop_update_now(evl_loop *loop);
/* Wall-clock time (CLOCK_REALTIME, ns since the epoch) of the loop's
 * current iteration: read at the first call after each refresh of the
 * monotonic time, the same value until the next.  0 for NULL. */
EVL_EXPORT uint64_t evl_loop_time_ns(evl_loop *loop);
/* Refreshes both clocks (evl_loop_update_now plus the wall clock);
 * returns the monotonic time. */
EVL_EXPORT uint64_t evl_loop_update_time(evl_loop *loop);
/* How many registered things can still make the loop do something:
 * active fd watchers (evl_pid, evl_wakeup and stream watchers included),
 * pending timers, idle hooks, signal subscriptions, evl_wait watchers,
 * and proactor ops submitted whose callbacks have not run.  0 when
 * nothing is left (or loop is NULL). */
EVL_EXPORT size_t evl_loop_alive(const evl_loop *loop);
/* A fresh CLOCK_MONOTONIC reading. */
EVL_EXPORT uint64_t evl_time_ns(void);

EVL_EXPORT int evl_loop_model(const evl_loop *loop);
/* "epoll" (reactor) or the proactor backend's name. */
EVL_EXPORT const char *evl_loop_backend_name(const evl_loop *loop);
/* The timerfd that carries the loop's earliest deadline (for callers that
 * want to show it, e.g. the Perl API's $loop->timer->fh). */
EVL_EXPORT int evl_loop_timer_fd(const evl_loop *loop);

/* ------------------------------------------------------------ watcher
 *
 * An fd watcher: caller storage, one per fd per loop.  Starting a watcher
 * on an fd that already has one replaces (stops) the old watcher.  The
 * three callbacks are dispatched per event as follows:
 *   1. EVL_ERR with the error callback enabled: only the error callback.
 *      Without it, ERR counts as readable and writable.
 *   2. EVL_HUP counts as readable (so EOF can be seen).
 *   3. The read callback (if set and EVL_READ enabled).
 *   4. If the read callback stopped, replaced or restarted this watcher,
 *      nothing more; otherwise the write callback (if set and EVL_WRITE
 *      enabled at that moment).
 * Any callback may stop, free or replace any watcher, its own included.
 * An event queued for an fd whose watcher was stopped or replaced during
 * the same batch is dropped (generation check), so a closed-and-reused fd
 * never sees a stale event.
 * Batching (libev's fd changes): modify, stop, and a restart only mark
 * the fd; before the next wait the kernel is told the result with at most
 * one epoll_ctl per fd (none when it ends as it began).  A start of a
 * watcher the kernel does not hold yet is told at once, so a bad fd fails
 * there.  A watcher stopped and started again on the same fd before the
 * loop waits keeps its registration without a syscall: if the fd was
 * closed and its number reused meanwhile, evl_watcher_init the watcher
 * first (any other watcher, or a re-initialised one, is checked with the
 * kernel).  A registration that outlived its fd (stopped, then closed
 * before the next wait while a dup or a child kept the file) is noticed
 * at its first event and the loop rebuilds its epoll set.
 * An fd epoll refuses (EPERM: a regular file, /dev/null) is accepted and
 * ready for every enabled direction on each iteration; while such a
 * watcher has a direction enabled, the wait does not block.
 */
struct evl_watcher {
    void *data;                  /* user slot, never touched by the loop */
    /* private */
    evl_loop *loop;              /* set while active */
    evl_watcher_cb read_cb, write_cb, error_cb;
    int fd;
    unsigned flags;              /* EVL_READ|EVL_WRITE|EVL_ERROR|EVL_ET|EVL_ONESHOT */
    uint32_t gen;                /* fd-slot generation while active */
    int active;
};

/* Sets the callbacks (any may be NULL).  Returns 0. */
EVL_EXPORT int evl_watcher_init(evl_watcher *w, evl_watcher_cb read_cb,
                                evl_watcher_cb write_cb, evl_watcher_cb error_cb);
/* Registers w for fd with interest flags (EVL_READ/EVL_WRITE/EVL_ERROR
 * enable the matching callback; a bit without its callback adds no
 * interest; EVL_PRI/EVL_RDHUP add that interest for the read callback;
 * EVL_ET/EVL_ONESHOT pass through).  Returns 0, or -EINVAL (w NULL, w
 * already active, bad flags), -EBADF (fd < 0 or not open), -ENOMEM. */
EVL_EXPORT int evl_watcher_start(evl_loop *loop, evl_watcher *w, int fd, unsigned flags);
/* Changes the interest flags; the kernel hears of it before the next
 * wait, always (an EPOLL_CTL_MOD even with the same flags, which re-arms
 * a oneshot watcher).  Returns 0, or -EINVAL (not active, bad flags),
 * -ENOMEM.  An fd closed behind the loop's back leaves the watcher
 * silent. */
EVL_EXPORT int evl_watcher_modify(evl_watcher *w, unsigned flags);
/* Replaces one callback slot (EVL_READ, EVL_WRITE or EVL_ERROR) without
 * changing enable flags.  Returns 0 or -EINVAL. */
EVL_EXPORT int evl_watcher_set_cb(evl_watcher *w, unsigned which, evl_watcher_cb cb);
/* Unregisters.  Idempotent: returns 1 if w was active, 0 if not.  Safe
 * on a watcher whose fd is already closed. */
EVL_EXPORT int evl_watcher_stop(evl_watcher *w);
EVL_EXPORT int evl_watcher_is_active(const evl_watcher *w);
/* The active watcher for fd on loop, or NULL. */
EVL_EXPORT evl_watcher *evl_loop_watcher_for_fd(evl_loop *loop, int fd);

/* ------------------------------------------------------------ timer
 *
 * A timer on the loop's monotonic clock: caller storage.  Timers live in
 * an indexed 4-ary heap keyed by (deadline, start order), so equal
 * deadlines fire in the order they were started, and stop is O(log n).
 * All timers due at one moment form a batch; a timer stopped by an
 * earlier callback of its batch does not fire.  Timers started from a
 * timer callback fire on a later iteration, even with after_ns 0, so the
 * loop cannot starve.  A periodic timer (every_ns > 0) is drift-free:
 * re-armed at deadline + every_ns, or, when it fell behind, at the first
 * point of that grid after now (missed ticks coalesce into one call).
 */
struct evl_timer {
    void *data;                  /* user slot */
    /* private */
    evl_loop *loop;
    evl_timer_cb cb;
    uint64_t due_ns;
    uint64_t every_ns;           /* 0: one-shot */
    uint64_t seq;                /* start order, the FIFO tie-break */
    size_t heap_idx;             /* position in the heap, or EVL__TIMER_* */
    evl_timer *bnext, *bprev;    /* same-deadline bucket ring (see timer.c) */
};

/* Returns 0, or -EINVAL (loop or t NULL).  A timer must not be used after
 * its loop is freed, except to be initialised again. */
EVL_EXPORT int evl_timer_init(evl_loop *loop, evl_timer *t);
/* Starts (or restarts) t to fire after_ns from the loop's current time,
 * then every every_ns if non-zero.  Returns 0, or -EINVAL (not
 * initialised, cb NULL), -ENOMEM. */
EVL_EXPORT int evl_timer_start(evl_timer *t, evl_timer_cb cb, uint64_t after_ns,
                               uint64_t every_ns);
/* As evl_timer_start with an absolute CLOCK_MONOTONIC deadline. */
EVL_EXPORT int evl_timer_start_at(evl_timer *t, evl_timer_cb cb, uint64_t deadline_ns,
                                  uint64_t every_ns);
/* Idempotent: returns 1 if t was pending, 0 if not (already fired,
 * stopped, or never started). */
EVL_EXPORT int evl_timer_stop(evl_timer *t);
EVL_EXPORT int evl_timer_is_active(const evl_timer *t);
/* The deadline of the earliest pending timer, or 0 when there is none. */
EVL_EXPORT uint64_t evl_loop_next_deadline_ns(const evl_loop *loop);

/* ------------------------------------------------------------ signal
 *
 * A subscription to one signal, caller storage.  A loop reads all its
 * signals through one signalfd; any number of subscriptions may share a
 * signal, and each is called once per drain with the number of instances
 * collected.  Signals are called in ascending number order, subscribers
 * of one signal in subscription order.  The signal is blocked in the
 * calling thread while it has subscribers (in any loop of the process),
 * and the mask is restored when the last one goes: a signal that was
 * blocked before the first subscription stays blocked.  An instance
 * still pending then is delivered by the kernel as the disposition says
 * (the loop never changes dispositions).
 * Forked children (libc fork(), which runs the pthread_atfork handlers)
 * start with the mask the program had before any loop blocked anything,
 * so what they exec inherits no signal blocked by a loop; a loop used in
 * the child blocks its own signals again when it is rebuilt (see
 * evl_loop_fork).  posix_spawn (glibc's system() and popen()) runs no
 * atfork handler: pass POSIX_SPAWN_SETSIGMASK to choose the child's mask.
 */
struct evl_signal {
    void *data;                  /* user slot */
    /* private */
    evl_loop *loop;
    evl_signal_cb cb;
    int signo;
    int active;
    struct evl_signal *next;     /* the loop's list for signo */
};

/* Returns 0, or -EINVAL (bad signo: < 1, > SIGRTMAX, SIGKILL, SIGSTOP;
 * s active; cb NULL), or the kernel's error. */
EVL_EXPORT int evl_signal_start(evl_loop *loop, evl_signal *s, int signo, evl_signal_cb cb);
/* Idempotent: 1 if s was active, 0 if not. */
EVL_EXPORT int evl_signal_stop(evl_signal *s);

/* ------------------------------------------------------------ wakeup
 *
 * An eventfd the loop watches: evl_wakeup_signal may be called from any
 * thread or from a forked child (only the fd is shared).  The callback
 * gets the summed counter.  The fd is the caller's to show (Perl's
 * $waker->fh) and is closed by evl_wakeup_close.
 *
 * A wakeup made with a callback is bound to its loop, and a signal from
 * the process that made it costs no syscall unless the loop is blocked
 * in its wait (libev's ev_async): the count goes to `pending` and the
 * loop dispatches the watcher on the fd (the internal one, or a user
 * watcher that replaced it) at its next iteration, as if the fd were
 * readable.  Only a blocked loop is woken, through its own eventfd, at
 * most once per batch of signals.  A reactor iteration with counts
 * pending skips its non-blocking wait when the one before it waited (an
 * fd that became ready meanwhile is seen one iteration later).  A forked child, or a wakeup without a
 * callback, writes the wakeup's eventfd itself, as before.
 */
struct evl_wakeup {
    void *data;                  /* user slot */
    /* private */
    evl_watcher w;
    evl_wakeup_cb cb;
    int fd;
    unsigned fork_gen;           /* evl_fork_count() when bound */
    evl_loop *loop;              /* bound loop, or NULL: signals write the fd */
    evl_wakeup *next, *prev;     /* the bound loop's list */
#ifndef __cplusplus
    _Atomic uint64_t pending;    /* signalled, not yet handed out by a drain */
#else
    uint64_t pending;            /* the same layout; C++ code never touches it */
#endif
};

/* Creates the eventfd (non-blocking, close-on-exec) and, if cb is not
 * NULL, watches it.  Returns 0 or -errno. */
EVL_EXPORT int evl_wakeup_init(evl_loop *loop, evl_wakeup *wk, evl_wakeup_cb cb);
/* Adds n (>= 1) to the counter.  Thread- and fork-safe.  Returns 0, or
 * -EINVAL (n == 0, or the counter would pass INT64_MAX, what a drain
 * returns whole, or the eventfd's 2^64-2), -EBADF. */
EVL_EXPORT int evl_wakeup_signal(evl_wakeup *wk, uint64_t n);
/* Takes the counter without blocking (the pending count, plus one read of
 * the eventfd unless the loop is dispatching the fd for pending counts
 * alone); returns the sum (0 if nothing was pending; INT64_MAX at most,
 * which only writes to the eventfd by other processes can pass), or
 * -errno. */
EVL_EXPORT int64_t evl_wakeup_drain(evl_wakeup *wk);
EVL_EXPORT int evl_wakeup_fd(const evl_wakeup *wk);
/* Stops watching and closes the fd.  Idempotent. */
EVL_EXPORT void evl_wakeup_close(evl_wakeup *wk);
/* Binds a wakeup to loop and watches its fd with cb (which may be NULL:
 * the counts are then only drained): for a wakeup made by
 * evl_wakeup_init, or a zero-initialised one whose fd the caller set to
 * an eventfd.  A previous binding ends first.  Returns 0, or -EINVAL,
 * -EBADF (no fd), or the watcher's error. */
EVL_EXPORT int evl_wakeup_start(evl_loop *loop, evl_wakeup *wk, evl_wakeup_cb cb);
/* Stops watching and unbinds, keeping the fd; counts nobody drained stay
 * for evl_wakeup_drain.  Idempotent. */
EVL_EXPORT void evl_wakeup_stop(evl_wakeup *wk);

/* ------------------------------------------------------------ resolve
 *
 * Name resolution off the loop thread: getaddrinfo runs in a small pool of
 * worker threads owned by the loop (started on first use, at most
 * evl_resolver_set_threads of them, each exiting after a few idle
 * seconds), and the answer is handed back to the loop thread through an
 * eventfd the loop watches, so a slow DNS server never stalls the loop.
 * Works on both models (proactor loops watch the eventfd on their epoll
 * half).  A request is opaque and allocated by the library; it is freed
 * right after its callback returns, or, once cancelled, when its worker
 * lets go of it.  A forked child's copy of a loop restarts the pool on its
 * next resolver call (the parent's threads do not exist there); requests
 * the parent had in flight are resolved again in the child.
 */

/* Starts resolving host and/or service (either may be NULL, not both;
 * hints as getaddrinfo's, NULL for AF_UNSPEC and any socket type).  The
 * callback runs on the loop thread, never inside this call, with status:
 *   0             res: the addrinfo list, valid until the callback returns;
 *   -ENOENT       the name does not exist (EAI_NONAME, EAI_NODATA), also
 *                 at once for names under the reserved TLD ".invalid"
 *                 (RFC 6761 section 6.4);
 *   -ENAMETOOLONG host longer than EVL_RESOLVE_HOST_MAX bytes;
 *   -EIO          any other getaddrinfo failure (EAI_AGAIN, EAI_FAIL,
 *                 EAI_SERVICE, ...).
 * evl_resolve_eai and evl_resolve_strerror tell the details inside the
 * callback.  *out (may be NULL) receives the request for evl_resolve_cancel
 * and is valid until the callback has returned.  Returns 0, or -EINVAL
 * (loop or cb NULL, host and service both NULL), -ENOMEM, or -EAGAIN (no
 * worker thread could be started). */
#define EVL_RESOLVE_HOST_MAX 1024
EVL_EXPORT int evl_resolve(evl_loop *loop, evl_resolve_req **out, const char *host,
                           const char *service, const struct addrinfo *hints,
                           evl_resolve_cb cb, void *data);
/* Cancels a request whose callback has not run: the callback never runs,
 * and the request's memory is freed now or, if a worker is inside
 * getaddrinfo for it, when the worker returns.  Returns 1 if cancelled, 0
 * if its callback is running (cancel from inside it is harmless), -EINVAL
 * for NULL.  req must not be used after its callback has returned. */
EVL_EXPORT int evl_resolve_cancel(evl_resolve_req *req);
/* Inside the callback (or before it): the data given to evl_resolve; the
 * EAI_* code of a failure (0 when getaddrinfo was not the one that
 * failed); its text (gai_strerror's, or ours for the failures that are
 * not getaddrinfo's), NULL on success. */
EVL_EXPORT void *evl_resolve_data(const evl_resolve_req *req);
EVL_EXPORT int evl_resolve_eai(const evl_resolve_req *req);
EVL_EXPORT const char *evl_resolve_strerror(const evl_resolve_req *req);
/* The symbolic name of an EAI_* code ("EAI_NONAME"), or NULL if unknown. */
EVL_EXPORT const char *evl_resolve_eai_name(int eai);

/* The most worker threads the loop's resolver runs at once, 1..64
 * (default 4).  Lowering it lets surplus threads exit as they finish.
 * Returns 0, or -EINVAL (loop NULL, n out of range), -ENOMEM. */
#define EVL_RESOLVE_THREADS_MAX 64
EVL_EXPORT int evl_resolver_set_threads(evl_loop *loop, unsigned n);
/* Requests queued or being resolved, not yet called back or cancelled. */
EVL_EXPORT size_t evl_resolver_pending(const evl_loop *loop);

/* ------------------------------------------------------------ pid
 *
 * Waits for a child's exit through a pidfd (no SIGCHLD handler).  One
 * shot: the subscription is inactive when the callback runs.
 */
struct evl_pid {
    void *data;                  /* user slot */
    /* private */
    evl_watcher w;
    evl_pid_cb cb;
    pid_t pid;
    int pidfd;
    unsigned flags;
};

/* Returns 0, or -EINVAL (pid < 1, cb NULL, p active), -ESRCH (no such
 * process), -ENOSYS (kernel without pidfd_open), or the kernel's error. */
EVL_EXPORT int evl_pid_start(evl_loop *loop, evl_pid *p, pid_t pid, unsigned flags,
                             evl_pid_cb cb);
/* Idempotent: 1 if p was active, 0 if not.  Closes the pidfd. */
EVL_EXPORT int evl_pid_stop(evl_pid *p);
EVL_EXPORT pid_t evl_pid_pid(const evl_pid *p);

/* ------------------------------------------------------------ wait
 *
 * Child exits through SIGCHLD, reaped by the loop: pid > 0 watches one
 * child (one shot: inactive when its callback runs), pid 0 every child
 * of this process (stays active).  Any number of watchers per pid.  Each
 * child is reaped once and its raw wait status goes to every watcher of
 * its pid and every pid-0 watcher, in subscription order, and to an
 * evl_pid of the same pid in this loop.  A pid-0 watcher reaps every
 * child, including those that other code waits for by itself (evl_child
 * of evloop-fork.h, a caller's waitpid, an EVL_PID_NOREAP evl_pid):
 * those then see ECHILD.  A child reaped by someone else gives the
 * watchers of its pid -ECHILD (pid-0 watchers hear nothing of it);
 * nothing spins.  While a watcher is active the loop
 * holds a subscription to SIGCHLD (blocked, see the signal section).
 * In a forked child every evl_wait is dropped (stopped, no callback).
 */
struct evl_wait {
    void *data;                  /* user slot */
    /* private */
    evl_loop *loop;
    evl_wait_cb cb;
    pid_t pid;                   /* 0: every child */
    int active;
    unsigned scan;               /* scan generation (wait.c) */
    struct evl_wait *next, *prev;  /* the loop's list, subscription order */
};

/* Returns 0, or -EINVAL (loop, wt or cb NULL, pid < 0, wt active),
 * -ECHILD (pid is not an unreaped child of this process), or the error
 * of the SIGCHLD subscription. */
EVL_EXPORT int evl_wait_start(evl_loop *loop, evl_wait *wt, pid_t pid, evl_wait_cb cb);
/* Idempotent: 1 if wt was active, 0 if not. */
EVL_EXPORT int evl_wait_stop(evl_wait *wt);
EVL_EXPORT int evl_wait_is_active(const evl_wait *wt);

/* ------------------------------------------------------------ hook
 *
 * Iteration hooks, caller storage, called in start order:
 *  - EVL_HOOK_IDLE: once per iteration in which nothing else happened (no
 *    event, no timer, no completion); while one is active the wait does
 *    not block;
 *  - EVL_HOOK_PREPARE: before every wait (after the due timers), so a
 *    callback may still start watchers and timers for that wait;
 *  - EVL_HOOK_CHECK: after every wait and its dispatch (to embed another
 *    loop: prepare collects its fds, check runs it).
 * A callback may stop or start any hook.  Hooks do not count in
 * evl_loop_alive, except idle ones (they keep the loop busy).
 */
enum evl_hook_kind {
    EVL_HOOK_IDLE = 1,
    EVL_HOOK_PREPARE = 2,
    EVL_HOOK_CHECK = 3
};

struct evl_hook {
    void *data;                  /* user slot */
    /* private */
    evl_loop *loop;
    evl_hook_cb cb;
    int kind;
    int active;
    struct evl_hook *next, *prev;
};

/* Returns 0, or -EINVAL (loop, h or cb NULL, unknown kind, h active). */
EVL_EXPORT int evl_hook_start(evl_loop *loop, evl_hook *h, int kind, evl_hook_cb cb);
/* Idempotent: 1 if h was active, 0 if not. */
EVL_EXPORT int evl_hook_stop(evl_hook *h);
EVL_EXPORT int evl_hook_is_active(const evl_hook *h);

/* ------------------------------------------------------------ op
 *
 * A proactor operation: caller storage (zero it before its first submit),
 * owned by the loop (and, for the uring backend, the kernel) from a
 * successful submit until its callback runs.  Buffers passed in are borrowed for the same period.  Rules, the
 * same for both backends:
 *  - every submitted op settles exactly once and its callback runs exactly
 *    once (unless the loop is freed first);
 *  - callbacks never run inside the submitting call: they are queued and
 *    run by evl_loop_run_once / evl_loop_drain;
 *  - callbacks queued while the queue is being drained run in the same
 *    drain (FIFO), never lost;
 *  - evl_op_cancel on a pending op settles it with -ECANCELED, unless the
 *    kernel had already completed it, in which case the real result is
 *    reported (a cancel never loses a completed read's data);
 *  - run_once never blocks while callbacks are pending.
 * op->res on settlement: read/write/recv/send/splice: bytes (>= 0);
 * accept: the new fd (close-on-exec, plus the flags asked for), with the
 * peer in op->addr/addrlen; connect/shutdown/close/timeout: 0 (an expired
 * timeout is a success); any failure: a negative errno.
 */
enum evl_op_kind {
    EVL_OP_READ = 1, EVL_OP_WRITE, EVL_OP_RECV, EVL_OP_SEND, EVL_OP_ACCEPT,
    EVL_OP_CONNECT, EVL_OP_SHUTDOWN, EVL_OP_CLOSE, EVL_OP_SPLICE, EVL_OP_TIMEOUT
};

enum evl_op_state {
    EVL_OP_IDLE = 0,            /* never submitted, or callback done */
    EVL_OP_PENDING,             /* submitted, not settled */
    EVL_OP_SETTLED              /* settled, callback queued */
};

struct evl_op {
    void *data;                  /* user slot */
    int64_t res;                 /* result once settled */
    int kind;                    /* EVL_OP_* */
    int state;                   /* EVL_OP_* state */
    struct {                     /* accept: the peer's address */
        unsigned char storage[128];
        uint32_t len;
    } addr;
    /* private */
    evl_loop *loop;
    evl_op_cb cb;
    int fd, fd_out;
    void *buf;
    size_t len;
    int64_t off, off_out;        /* -1: current file position */
    unsigned flags;
    uint64_t deadline_ns;
    unsigned internal;           /* EVL__OP_* bits (op.c) */
    int64_t scripted;            /* fake backend: a result to use instead */
    evl_timer timer;             /* timeout ops */
    struct evl_op *next;         /* submission / callback queues */
    struct evl_op *knext, *prev; /* uring: the list of ops in the kernel */
    struct evl__op_results *results;  /* multishot: results not yet called back */
};

/* Submission.  Each returns 0, or -EINVAL (NULL loop/op/cb, op already
 * pending, bad argument), -EOPNOTSUPP (not a proactor loop), or -EBUSY /
 * -ENOMEM from the ring.  off -1 means the file's current position. */
EVL_EXPORT int evl_op_read(evl_loop *loop, evl_op *op, int fd, void *buf, size_t len,
                           int64_t off, evl_op_cb cb);
EVL_EXPORT int evl_op_write(evl_loop *loop, evl_op *op, int fd, const void *buf,
                            size_t len, int64_t off, evl_op_cb cb);
EVL_EXPORT int evl_op_recv(evl_loop *loop, evl_op *op, int fd, void *buf, size_t len,
                           int flags, evl_op_cb cb);
/* MSG_NOSIGNAL is always added. */
EVL_EXPORT int evl_op_send(evl_loop *loop, evl_op *op, int fd, const void *buf,
                           size_t len, int flags, evl_op_cb cb);
/* flags: SOCK_NONBLOCK (SOCK_CLOEXEC is always set). */
EVL_EXPORT int evl_op_accept(evl_loop *loop, evl_op *op, int fd, int flags, evl_op_cb cb);
/* addr is copied (addrlen <= 128). */
EVL_EXPORT int evl_op_connect(evl_loop *loop, evl_op *op, int fd, const void *addr,
                              uint32_t addrlen, evl_op_cb cb);
EVL_EXPORT int evl_op_shutdown(evl_loop *loop, evl_op *op, int fd, int how, evl_op_cb cb);
EVL_EXPORT int evl_op_close(evl_loop *loop, evl_op *op, int fd, evl_op_cb cb);
EVL_EXPORT int evl_op_splice(evl_loop *loop, evl_op *op, int fd_in, int64_t off_in,
                             int fd_out, int64_t off_out, size_t len, unsigned flags,
                             evl_op_cb cb);
/* Settles with 0 at the absolute CLOCK_MONOTONIC deadline (a past one
 * settles on the next run_once, never inline). */
EVL_EXPORT int evl_op_timeout(evl_loop *loop, evl_op *op, uint64_t deadline_ns,
                              evl_op_cb cb);

/* Multishot operations: one submission, many results (io_uring only).
 * The callback runs once per result, in the kernel's order, with op->res
 * as for the one-shot op, and evl_op_more(op) tells whether more will
 * come: while it is 1 the op is not idle (pending, or settled if its last
 * result is already in): it may be cancelled, not freed or resubmitted.  The last result (evl_op_more 0) leaves it
 * idle as usual.  A cancelled op still reports every result the kernel
 * produced before the cancellation, then -ECANCELED (or the error that
 * ended it) as its last.  Both return -EOPNOTSUPP on the fake backend
 * and where the kernel lacks the feature, so callers fall back to
 * one-shot ops; -EINVAL as the one-shot forms.
 *
 * accept: each result is a new fd (close-on-exec, plus SOCK_NONBLOCK if
 * asked); op->addr is not filled (the kernel would overwrite it per
 * connection): use getpeername.  Unlike evl_op_accept, it takes every
 * connection that arrives until cancelled.
 *
 * recv: each result res > 0 is a chunk of bytes at op->buf, a buffer of
 * the loop's provided-buffer ring (evl_loop_options.recv_buffers), valid
 * only during that callback: it goes back to the ring when the callback
 * returns.  0 is EOF; -ENOBUFS means the ring ran dry (the op ended;
 * submit again, every buffer is back by then). */
EVL_EXPORT int evl_op_accept_multi(evl_loop *loop, evl_op *op, int fd, int flags,
                                   evl_op_cb cb);
EVL_EXPORT int evl_op_recv_multi(evl_loop *loop, evl_op *op, int fd, evl_op_cb cb);
/* In a multishot op's callback: 1 if more results will follow. */
EVL_EXPORT int evl_op_more(const evl_op *op);

/* Asks for cancellation; the callback still runs once.  Returns 0,
 * -EALREADY (already settled), -EINVAL (not pending). */
EVL_EXPORT int evl_op_cancel(evl_op *op);

/* Fake backend: script the result of a pending op.  res >= 0 limits the
 * real syscall to res bytes (a short read or write); -EAGAIN makes the
 * next attempt see EAGAIN (the op stays pending and is retried); another
 * negative errno settles the op with it.  Returns 0, -EINVAL, or
 * -EOPNOTSUPP (not a fake loop). */
EVL_EXPORT int evl_op_fake_script(evl_op *op, int64_t res);
/* Fake backend: settle a pending op now with res (no syscall); the
 * callback is queued.  For the Perl API's test hooks.  Returns 0,
 * -EINVAL (not pending), -EOPNOTSUPP. */
EVL_EXPORT int evl_op_fake_complete(evl_op *op, int64_t res);

/* Runs queued completion callbacks (without waiting).  Returns how many
 * ran. */
EVL_EXPORT int evl_loop_drain(evl_loop *loop);
/* Ops submitted and not yet settled. */
EVL_EXPORT size_t evl_loop_pending_ops(const evl_loop *loop);

/* ------------------------------------------------------------ sockopt
 *
 * Socket options a server or a client sets on its own fds (loop/sockopt.c),
 * so that C callers and the Perl modules (Linux::Event::Listen/Connect
 * apply the same options) agree on what each does.  Each is one or a few
 * setsockopt()/listen() calls; each returns 0 or -errno (-EBADF,
 * -ENOTSOCK, -ENOPROTOOPT for a socket of the wrong kind, -EINVAL for
 * bad values, -EPERM where a capability is missing).
 */
/* SO_REUSEPORT: several sockets bound to one address share its
 * connections (set before bind). */
EVL_EXPORT int evl_sock_set_reuseport(int fd, int on);
/* listen() with backlog; backlog <= 0 means SOMAXCONN (the kernel caps
 * it at net.core.somaxconn anyway). */
EVL_EXPORT int evl_sock_listen(int fd, int backlog);
/* TCP_DEFER_ACCEPT: accept wakes only when data arrived, waiting at most
 * about seconds for it (0 turns it off). */
EVL_EXPORT int evl_sock_set_defer_accept(int fd, int seconds);
/* TCP_NODELAY: no Nagle delay for small writes. */
EVL_EXPORT int evl_sock_set_nodelay(int fd, int on);
/* SO_KEEPALIVE plus, when > 0, TCP_KEEPIDLE (seconds idle before the
 * first probe), TCP_KEEPINTVL (seconds between probes) and TCP_KEEPCNT
 * (probes before the connection is dropped); 0 keeps the kernel's. */
EVL_EXPORT int evl_sock_set_keepalive(int fd, int on, int idle_s, int interval_s, int count);
/* TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before
 * the connection is dropped (ETIMEDOUT), in milliseconds (0: the
 * kernel's default). */
EVL_EXPORT int evl_sock_set_user_timeout(int fd, unsigned ms);
/* SO_RCVBUF / SO_SNDBUF in bytes (the kernel doubles the value for its
 * bookkeeping, and caps it at net.core.rmem_max / wmem_max). */
EVL_EXPORT int evl_sock_set_rcvbuf(int fd, int bytes);
EVL_EXPORT int evl_sock_set_sndbuf(int fd, int bytes);
/* SO_BINDTODEVICE: only packets of that interface ("lo", "eth0"); NULL
 * or "" removes the binding.  Kernels before 5.7 want CAP_NET_RAW
 * (-EPERM), and an unknown name is -ENODEV. */
EVL_EXPORT int evl_sock_set_bind_device(int fd, const char *ifname);

/* ------------------------------------------------------------ buf
 *
 * A contiguous byte buffer with a consumed prefix: bytes live in
 * [base + head, base + tail).  The read side of evl_stream and callers
 * that want to peek into it (the PerlIO layer) use it directly.
 */
struct evl_buf {
    char *base;
    size_t head;                 /* first unconsumed byte */
    size_t tail;                 /* one past the last byte */
    size_t cap;
};

EVL_EXPORT void evl_buf_init(evl_buf *b);
EVL_EXPORT void evl_buf_free(evl_buf *b);
static inline size_t evl_buf_len(const evl_buf *b) { return b->tail - b->head; }
static inline char *evl_buf_data(const evl_buf *b) { return b->base + b->head; }
/* Makes room for at least n more bytes after tail (compacting or
 * growing); returns a pointer to the free space, or NULL (out of memory). */
EVL_EXPORT char *evl_buf_reserve(evl_buf *b, size_t n);
EVL_EXPORT size_t evl_buf_space(const evl_buf *b);
/* Records n bytes written into the reserved space. */
EVL_EXPORT void evl_buf_commit(evl_buf *b, size_t n);
/* Appends a copy; returns 0, -EINVAL (b NULL, or p NULL with n > 0) or
 * -ENOMEM. */
EVL_EXPORT int evl_buf_append(evl_buf *b, const void *p, size_t n);
/* Drops n bytes from the front (n <= evl_buf_len). */
EVL_EXPORT void evl_buf_consume(evl_buf *b, size_t n);
/* Puts n bytes back in front of the unconsumed data; returns 0, -EINVAL
 * (as evl_buf_append) or -ENOMEM.  init and free take NULL as a no-op,
 * reserve returns NULL and space 0 for it; the inline evl_buf_len and
 * evl_buf_data, commit and consume need a real buffer. */
EVL_EXPORT int evl_buf_prepend(evl_buf *b, const void *p, size_t n);

/* ------------------------------------------------------------ framer
 *
 * Incremental message framing over a byte buffer.  evl_framer_next looks
 * at the unconsumed bytes and reports the next complete frame; it keeps
 * only scan state, so the same frames come out whatever the chunk
 * boundaries were.  Bad input is a framing error, never unbounded growth:
 * a frame longer than max_len gives -EMSGSIZE, a malformed netstring
 * -EBADMSG.  After an error the framer stays in that error until reset.
 */
enum evl_framer_kind {
    EVL_FRAMER_LINE = 1,         /* delimiter-terminated; the tail at EOF is a frame */
    EVL_FRAMER_NETSTRING = 2,    /* "<len>:<payload>," */
    EVL_FRAMER_U32BE = 3,        /* 4-byte big-endian length, then payload */
    EVL_FRAMER_DELIMITER = 4,    /* records ended by 1..64 bytes; a tail at EOF is an error */
    EVL_FRAMER_FIXED = 5,        /* records of record_len bytes */
    EVL_FRAMER_LENGTH_PREFIX = 6,    /* 1/2/4/8-byte length (BE or LE), then payload */
    EVL_FRAMER_VARINT = 7        /* unsigned LEB128 length, then payload */
};

enum evl_framer_flag {
    EVL_FRAMER_STRIP_CR = 0x01,  /* line, delimiter: drop one '\r' before the delimiter */
    EVL_FRAMER_LEADING_ZEROS = 0x02, /* netstring: accept "01:a," */
    EVL_FRAMER_LITTLE_ENDIAN = 0x04  /* length_prefix: the length is little-endian */
};

#define EVL_FRAMER_DELIM_MAX 64  /* the delimiter kind's longest delimiter */

struct evl_framer {
    int kind;
    unsigned flags;
    size_t max_len;              /* payload limit; 0 means the default (1 MiB) */
    char delim[EVL_FRAMER_DELIM_MAX];    /* line, delimiter: bytes (default "\n") */
    size_t delim_len;
    size_t record_len;           /* fixed: bytes per record */
    unsigned prefix_len;         /* length_prefix: 1, 2, 4 or 8 */
    int64_t adjust;              /* length_prefix: payload length = field + adjust */
    /* private */
    size_t scanned;              /* line: bytes already searched for delim */
    int error;                   /* sticky negative errno, 0 if none */
    const char *why;             /* error in words (evl_framer_strerror) */
};

/* Returns 0, or -EINVAL (unknown kind, delimiter empty or > 8 bytes
 * (line) or > 64 (delimiter), flags not valid for kind; fixed and
 * length_prefix need evl_framer_init_ex).  delim may be NULL for "\n"; it is ignored
 * by netstring and u32be.  max_len 0 is stored as the 1 MiB default.
 * Netstring lengths with leading zeros ("01:a,") are malformed. */
EVL_EXPORT int evl_framer_init(evl_framer *fr, int kind, unsigned flags, size_t max_len,
                               const char *delim, size_t delim_len);
EVL_EXPORT void evl_framer_reset(evl_framer *fr);

/* Every kind's settings; zero what you do not use. */
struct evl_framer_options {
    int kind;                    /* EVL_FRAMER_* */
    unsigned flags;              /* EVL_FRAMER_STRIP_CR / _LEADING_ZEROS / _LITTLE_ENDIAN */
    size_t max_len;              /* payload limit; 0: 1 MiB */
    const char *delim;           /* line (1..8 bytes, NULL: "\n"), delimiter (1..64) */
    size_t delim_len;
    size_t record_len;           /* fixed: 1..max_len */
    unsigned prefix_len;         /* length_prefix: 1, 2, 4 or 8 */
    int64_t adjust;              /* length_prefix: added to the field to give the
                                  * payload length (e.g. -prefix_len when the field
                                  * counts itself) */
};
/* As evl_framer_init for every kind.  Returns 0, or -EINVAL (unknown kind,
 * flags not valid for it, a delimiter kind without a delimiter or with one
 * too long, a fixed framer with record_len 0 or over max_len, a
 * length_prefix width other than 1, 2, 4, 8).  Errors the new kinds
 * report from next/finish: -EMSGSIZE (payload over max_len, checked as
 * soon as the length is known), -EBADMSG "truncated record" (a delimiter,
 * fixed, length_prefix or varint frame cut short by EOF), "invalid length"
 * (length_prefix: field + adjust < 0), "invalid varint" (more than 10
 * bytes, or over 64 bits).  encode: -EMSGSIZE also for a fixed record of
 * another size and a length the prefix cannot carry. */
EVL_EXPORT int evl_framer_init_ex(evl_framer *fr, const struct evl_framer_options *opt);

/* Looks for the next frame at the start of data[0..len).  Returns 1 and
 * sets *payload_off / *payload_len (the payload, without delimiter, CR or
 * header) and *frame_len (bytes to consume) when a frame is complete; 0
 * when more bytes are needed; -EMSGSIZE (payload would exceed max_len) or
 * -EBADMSG (malformed netstring) on a framing error.  Call it again after
 * consuming frame_len bytes; do not change data[0..len) between a 0
 * return and the next call other than by appending. */
EVL_EXPORT int evl_framer_next(evl_framer *fr, const char *data, size_t len,
                               size_t *payload_off, size_t *payload_len, size_t *frame_len);
/* At end of input: first any complete frames left in data (as next), then
 * for a line framer the unterminated tail as a final frame (returned as
 * is, no CR strip); 0 when nothing is left.  Netstring and u32be return
 * -EBADMSG if a partial frame remains.  Loop on it until it returns 0.
 * next, finish and encode also return -EINVAL (not sticky) for NULL
 * arguments or an uninitialised framer. */
EVL_EXPORT int evl_framer_finish(evl_framer *fr, const char *data, size_t len,
                                 size_t *payload_off, size_t *payload_len, size_t *frame_len);

/* The framer's sticky error in words, or NULL when there is none:
 * "line too long", "frame too large" (-EMSGSIZE), "invalid netstring
 * length" (the digits or the ':' after them), "invalid netstring
 * terminator" (no ',' after the payload; also a frame cut short by EOF
 * once its ':' was seen), "truncated frame" (a u32be frame cut short by
 * EOF), "truncated record", "invalid length", "invalid varint" (the newer
 * kinds, see evl_framer_init_ex). */
EVL_EXPORT const char *evl_framer_strerror(const evl_framer *fr);

/* Encoding: the bytes to put before and after a payload of len bytes.
 * head must hold EVL_FRAMER_HEAD_MAX bytes, tail EVL_FRAMER_TAIL_MAX.
 * Returns 0, or -EMSGSIZE (len > max_len), -EINVAL. */
#define EVL_FRAMER_HEAD_MAX 24
#define EVL_FRAMER_TAIL_MAX EVL_FRAMER_DELIM_MAX
EVL_EXPORT int evl_framer_encode(const evl_framer *fr, size_t len, char *head,
                                 size_t *head_len, char *tail, size_t *tail_len);

/* ------------------------------------------------------------ stream
 *
 * One buffered stream over an fd, driven by the loop: a read buffer, a
 * write queue with low/high watermarks, write-behind (queued bytes are
 * written when the fd can take them), close-after-drain, EOF and error
 * reporting, and an optional framer.  An error in the input (-EMSGSIZE:
 * a frame over max_len or input at rmax; -EBADMSG: a malformed frame)
 * stops reading, but the queue still drains: bytes written before it go
 * out, whatever the engine and however the input was split, and a close
 * after it is close-after-drain.  EPIPE and ECONNRESET are errors
 * reported through on_error (writes to sockets use MSG_NOSIGNAL; pipe
 * writes are done with SIGPIPE blocked and any pending SIGPIPE
 * discarded), never a SIGPIPE death.
 *
 * With a loop (loop != NULL) the stream reads and drains its queue by
 * itself.  Without one it is driven by the caller (evl_stream_fill /
 * evl_stream_flush), which is what a blocking PerlIO handle does.
 *
 * The loop's model picks the engine; the API, the callbacks and the bytes
 * are the same.  EVL_REACTOR: readiness, then non-blocking read/writev.
 * EVL_PROACTOR: completions.  Sockets read with one evl_op_recv and write
 * with one evl_op_send in flight; pipes, FIFOs and ttys read with
 * evl_op_read, but write as on the reactor (the loop's fd watcher and a
 * SIGPIPE-guarded write(), because the kernel raises SIGPIPE for an
 * io_uring write to a widowed pipe); regular files read ahead: up to
 * evl_stream_set_readahead chunk reads of read_size bytes at consecutive
 * offsets are in flight while earlier chunks are consumed, and they reach
 * the read buffer strictly in file order; but while no chunk is ahead, a
 * read the page cache can serve at once is made inline (preadv2 with
 * RWF_NOWAIT, no ring op), and only a miss starts read-ahead.  A file
 * stream reads from the fd's file position and moves it past the bytes
 * it buffers, as read() would; a seek by the caller is followed at the
 * next chunk.
 * Differences a proactor caller sees:
 *  - every write to a socket or file is queued (a copy) and goes out from
 *    the loop, so errors such as EPIPE arrive through on_error, and bytes
 *    in flight count as queued for the watermarks;
 *  - a read may be in flight into the read buffer's free space: consume
 *    from evl_stream_rbuf at will, and add to it only within
 *    evl_buf_space (or before head, with evl_buf_prepend) while reading
 *    is started; the buffer must not be grown then (its memory would move
 *    under the kernel);
 *  - closing waits until the kernel has let go of the stream's
 *    operations, so evl_stream_close may return 1 with nothing queued
 *    and on_close follows from the loop;
 *  - evl_stream_free with operations in flight cancels them and leaves
 *    the memory they use to their completions: run the loop until
 *    evl_loop_pending_ops() is 0 (and evl_loop_drain) before closing the
 *    fd (a cancelled operation may not have reached the kernel yet, and
 *    would then act on whatever reuses the fd number) and before
 *    evl_loop_free (or that memory, and an fd whose close was pending, is
 *    leaked).  evl_stream_close has no such caveat: it waits by itself.
 */
typedef void (*evl_stream_cb)(evl_stream *s);
/* Raw data: the whole unconsumed read buffer is data[0..len).  Return how
 * many bytes were used; the rest stays buffered for the next call. */
typedef size_t (*evl_stream_read_cb)(evl_stream *s, const char *data, size_t len);
/* One decoded frame (with a framer set). */
typedef void (*evl_stream_message_cb)(evl_stream *s, const char *msg, size_t len);
/* err: a negative errno (-EPIPE, -ECONNRESET, -EMSGSIZE, -EBADMSG, ...).
 * Called once, except that a write error that ends the drain behind an
 * input error (above) is reported too; evl_stream_error keeps the first. */
typedef void (*evl_stream_error_cb)(evl_stream *s, int err);

enum evl_stream_flag {
    EVL_STREAM_SOCKET = 0x01,    /* use send/recv (MSG_NOSIGNAL); detected if not given */
    EVL_STREAM_NOCLOSE = 0x02    /* evl_stream_close leaves the fd open */
};

struct evl_stream_callbacks {
    evl_stream_read_cb on_read;         /* raw data (ignored with a framer) */
    evl_stream_message_cb on_message;   /* frames (with a framer) */
    evl_stream_cb on_eof;               /* peer closed its side */
    evl_stream_error_cb on_error;       /* after which the stream is stopped (see above) */
    evl_stream_cb on_high_water;        /* queue grew past high */
    evl_stream_cb on_low_water;         /* queue fell to low after high */
    evl_stream_cb on_drain;             /* queue became empty */
    evl_stream_cb on_close;             /* fd closed (close-after-drain done) */
};


struct evl_stream {
    void *data;                  /* user slot */
    /* private */
    evl_loop *loop;
    evl_watcher w;
    int fd;
    unsigned flags;
    struct evl_stream_callbacks cb;
    evl_buf rbuf;
    evl_buf wbuf;
    size_t read_size;            /* bytes asked of each read() */
    size_t rmax;                 /* read buffer cap, 0 = none */
    size_t wlow, whigh;          /* watermarks */
    size_t wmax;                 /* queue cap, 0 = none */
    evl_framer *framer;
    int err;                     /* sticky negative errno */
    unsigned state;              /* EVL__STREAM_* bits */
    unsigned *alive;             /* dispatch guard, see stream.c */
    unsigned readahead;          /* proactor, regular files: chunk reads ahead */
    /* The proactor engine, NULL elsewhere: an opaque pointer (the struct
     * is defined in loop/stream-internal.h), heap memory that outlives s
     * while its ops are in flight. */
    struct evl__stream_px *px;
    /* Deadlines (loop/stream-deadline.c): one timer, moved lazily. */
    evl_timer dl_timer;
    uint64_t idle_to_ns, read_to_ns, write_to_ns;    /* 0: none */
    uint64_t rx_ns, tx_ns;       /* loop time of the last byte received / sent */
    uint64_t wq_ns;              /* when the queue last became non-empty */
    uint64_t idle_from_ns;       /* idle clock start (the setter) */
    uint64_t read_from_ns;       /* read clock start (the setter, read_start) */
    struct evl__tls *tls;        /* TLS state (loop/tls.c), NULL on a plain stream */
    unsigned fork_gen;           /* evl_fork_count() when wbuf was last this process's */
};

/* Sets up s over fd.  loop may be NULL (caller-driven).  Reading starts
 * at once when a loop and an on_read/on_message callback are given.
 * Returns 0, or -EINVAL, -EBADF, -ENOMEM, or the watcher's or the
 * first read operation's error. */
EVL_EXPORT int evl_stream_init(evl_stream *s, evl_loop *loop, int fd, unsigned flags,
                               const struct evl_stream_callbacks *cb);
/* Immediate close: stops reading, drops what is queued, closes the fd
 * (unless EVL_STREAM_NOCLOSE) and calls on_close.  Returns 0, -EBADF if
 * already closed, or 1 if a proactor's operations still hold the fd (the
 * last completion then finishes the close). */
EVL_EXPORT int evl_stream_abort(evl_stream *s);
/* Frees buffers and stops watching; does not close the fd (see close),
 * unless a proactor close was only waiting for the kernel.  On a
 * proactor, operations in flight are cancelled and their memory is freed
 * by their completions (see above). */
EVL_EXPORT void evl_stream_free(evl_stream *s);

/* Moves s to another loop (NULL: caller-driven, as init with no loop),
 * of either model; the engine follows the new loop's model.  What s holds
 * is kept: buffered input, the queue, callbacks, framer, limits,
 * watermarks, a sticky error, EOF, and whether reading is started.  The
 * old loop's fd watcher is stopped; on the new one the watcher gets the
 * interest reading and the queue need (write-behind continues there), and
 * a proactor starts reading and a write of the queue on its next
 * iteration, as after init.  Read-ahead chunks a proactor had finished
 * but not handed over are dropped; the fd's file position was not moved
 * past them, so they are read again.  No callback runs inside this call:
 * input already buffered goes out with the next bytes read (or at once
 * after evl_stream_read_stop and _start).  With a loop the fd is made
 * non-blocking.  Returns 0 (also when loop is already s's), or -EINVAL
 * (s NULL), -EBADF (closed), -ESHUTDOWN (closing), -EBUSY (an operation
 * of s is the proactor's or the kernel's until its completion runs: run
 * the old loop and retry; or a call on s is on the stack: one of its
 * callbacks, or a flush_wait or fill running the loop), -ENOMEM
 * (merging a proactor's queue), or the fd's fstat/fcntl error, all with
 * s unchanged; or an error joining the new loop (-ENOMEM, the watcher's
 * error or the ring's): s is then caller-driven (on no loop) and
 * otherwise intact.  A regular file joins a reactor like any fd: the
 * loop takes an fd epoll refuses as always ready (evl_watcher_start). */
EVL_EXPORT int evl_stream_set_loop(evl_stream *s, evl_loop *loop);

/* Pause / resume delivery of reads (pausing never drops buffered data).
 * On a proactor, read_stop cancels a socket or pipe read in flight (bytes
 * it had already read are kept); file chunks in flight complete and wait. */
EVL_EXPORT int evl_stream_read_start(evl_stream *s);
EVL_EXPORT int evl_stream_read_stop(evl_stream *s);

/* Watermarks: on_high_water when the queue grows past high (0 = never),
 * on_low_water when it then falls to low or below.  wmax > 0 makes writes
 * that would queue more fail with -ENOBUFS.  Returns 0 or -EINVAL
 * (low > high). */
EVL_EXPORT int evl_stream_set_watermarks(evl_stream *s, size_t low, size_t high, size_t wmax);
/* max read buffer size (frames or unconsumed raw data beyond it give
 * -EMSGSIZE); 0 = no limit.  read_size: bytes per read() (default 64 KiB),
 * and the chunk size of proactor read-ahead. */
EVL_EXPORT int evl_stream_set_read_limits(evl_stream *s, size_t rmax, size_t read_size);
/* Proactor, regular files: how many chunk reads may be ahead of the
 * consumer (in flight or done and not yet in the read buffer), 1..64,
 * default 2.  Stored but unused by other streams.  Returns 0 or -EINVAL
 * (s NULL, depth 0 or > 64). */
EVL_EXPORT int evl_stream_set_readahead(evl_stream *s, unsigned depth);
/* Attaches a framer (caller storage) or detaches with NULL. */
EVL_EXPORT int evl_stream_set_framer(evl_stream *s, evl_framer *fr);

/* Deadlines, in nanoseconds (0: none).  When one expires, on_error gets
 * -ETIMEDOUT and the stream closes (as evl_stream_abort: the queue is
 * dropped, the fd closed unless EVL_STREAM_NOCLOSE, on_close called),
 * unless on_error closed or freed the stream or cleared its timeouts.
 *  - read: no byte received for read_ns while reading is wanted (started,
 *    not paused, no EOF, no error); the clock restarts at read_start;
 *  - write: bytes queued and none of them sent for write_ns (counted from
 *    the last byte sent, or from when the queue became non-empty);
 *  - idle: no byte received or sent for idle_ns, whatever reading and the
 *    queue do (until EOF or an error stops the stream).
 * The clocks of the values set start now.  Deadlines cost nothing while
 * data flows: I/O records the loop's cached time (no syscall), and the
 * one timer of the stream fires at the earliest deadline that could be
 * due, where it either expires or moves on to the new earliest one.
 * They need a loop: without one they are stored and apply once
 * evl_stream_set_loop gives it one.  Returns 0, or -EINVAL (s NULL),
 * -ENOMEM (the timer heap). */
EVL_EXPORT int evl_stream_set_timeouts(evl_stream *s, uint64_t idle_ns, uint64_t read_ns,
                                       uint64_t write_ns);

/* Queues bytes; writes at once when nothing is queued and the fd takes
 * them, else write-behind.  Returns 0, or -EPIPE / -ECONNRESET / the
 * sticky error, -ENOBUFS (over wmax), -ESHUTDOWN (closing), -ENOMEM, or
 * (proactor) -EBUSY from a full ring. */
EVL_EXPORT int evl_stream_write(evl_stream *s, const void *p, size_t n);
EVL_EXPORT int evl_stream_writev(evl_stream *s, const struct iovec *iov, int iovcnt);
/* Appends bytes to the queue without writing anything (a cork, for
 * callers that choose their own flush points, such as a PerlIO layer);
 * evl_stream_flush or the loop sends them.  Returns 0, the sticky error,
 * -ENOBUFS (over wmax), -ESHUTDOWN (closing), -ENOMEM or -EINVAL. */
EVL_EXPORT int evl_stream_queue(evl_stream *s, const void *p, size_t n);
/* Encodes one frame with the attached framer and queues it. */
EVL_EXPORT int evl_stream_write_message(evl_stream *s, const void *p, size_t n);
/* Writes as much of the queue as the fd takes now without blocking (a
 * proactor only makes sure a write is in flight).  Returns the bytes
 * still queued, or a negative errno. */
EVL_EXPORT ssize_t evl_stream_flush(evl_stream *s);
/* Blocks until the queue is written: in poll() on a reactor or without a
 * loop; on a proactor by running the loop (evl_loop_run_once), so other
 * callbacks may run meanwhile.  Returns 0 or -errno. */
EVL_EXPORT int evl_stream_flush_wait(evl_stream *s);
EVL_EXPORT size_t evl_stream_queued(const evl_stream *s);

/* One read() into the read buffer.  Returns bytes read, 0 at EOF,
 * -EAGAIN, -EMSGSIZE (buffer at rmax), or -errno.  On a proactor: a
 * socket or pipe returns -EAGAIN while a read of the loop's is in flight
 * (its bytes arrive through the loop), else reads at once as above; a
 * regular file takes the next read-ahead chunk, running the loop
 * (evl_loop_run_once) until it has arrived, and keeps the following ones
 * in flight; it returns -EBUSY while reading is started (the callbacks
 * get the chunks) and -ESHUTDOWN once closing. */
EVL_EXPORT ssize_t evl_stream_fill(evl_stream *s);
/* The read buffer (for callers that parse it in place). */
EVL_EXPORT evl_buf *evl_stream_rbuf(evl_stream *s);
/* Bytes of memory the read buffer holds, a read in flight included.  A
 * stream on a loop gives its buffer back when it goes idle (nothing
 * buffered, the last read short) and reads into a small one (512 bytes)
 * until a read fills it, so an idle stream holds at most that much. */
EVL_EXPORT size_t evl_stream_rbuf_capacity(const evl_stream *s);

/* Close-after-drain: stop reading, write what is queued, then close the
 * fd (unless EVL_STREAM_NOCLOSE) and call on_close.  Without a loop the
 * drain happens synchronously.  Returns 0, 1 if the close is deferred
 * until the queue drains (on a proactor also until the kernel has
 * released the stream's operations), or a negative errno (e.g. the error
 * that kept the queue from draining; the fd is closed anyway). */
EVL_EXPORT int evl_stream_close(evl_stream *s);

EVL_EXPORT int evl_stream_fd(const evl_stream *s);
EVL_EXPORT int evl_stream_error(const evl_stream *s);   /* sticky errno, 0 if none */
EVL_EXPORT int evl_stream_at_eof(const evl_stream *s);  /* 1 once EOF was read */

/* ------------------------------------------------------------ dgram
 *
 * A datagram socket on a loop (UDP over IPv4/IPv6, unix datagram
 * sockets): caller storage, the fd the caller's.  Reading takes up to
 * `batch` datagrams per recvmmsg into a reusable set of buffers of
 * `bufsize` bytes each; each datagram goes to on_recv with its peer's
 * address.  A datagram longer than its buffer arrives cut to bufsize
 * with EVL_DGRAM_TRUNC set and its full size in full_len.  Sends go out
 * at once when nothing is queued and the socket takes them; otherwise
 * they are queued (a copy) and the loop flushes the queue with sendmmsg
 * when the socket is writable (write-behind), with watermarks on the
 * queued bytes as evl_stream has them.  Sends made inside on_recv are
 * gathered and go out together with one sendmmsg when the batch has
 * been delivered (their errors then come through on_error).
 * Errors the kernel reports asynchronously (an ICMP port unreachable on
 * a connected socket gives -ECONNREFUSED, also -EHOSTUNREACH,
 * -ENETUNREACH, ...) go to on_error and the socket keeps working, unless
 * EVL_DGRAM_CLOSE_ON_ERROR was given.  A queued datagram the kernel
 * refuses (say -EMSGSIZE) is dropped and reported the same way.  Errors
 * that do not go away by being read (-EBADF, -ENOMEM, and -ESHUTDOWN
 * for a socket shut down for reading) stop the watching after on_error.
 * Both loop models drive it through the loop's fd watcher (readiness,
 * then recvmmsg/sendmmsg): io_uring has no multi-datagram receive, and
 * one operation per datagram would give up the batching.  Callbacks may
 * close or free the dgram, its own included.
 */
enum evl_dgram_flag {
    EVL_DGRAM_NOCLOSE = 0x01,        /* evl_dgram_close leaves the fd open */
    EVL_DGRAM_CLOSE_ON_ERROR = 0x02  /* an asynchronous error closes the dgram */
};

enum evl_dgram_msg_flag {
    EVL_DGRAM_TRUNC = 0x01           /* the datagram did not fit its buffer */
};

/* One received datagram, valid until the callback returns, or until the
 * callback runs the loop itself (which may receive into the same
 * buffers). */
struct evl_dgram_msg {
    const char *data;
    size_t len;                      /* bytes in data */
    size_t full_len;                 /* the datagram's size (> len when truncated) */
    const struct sockaddr *peer;     /* the sender; NULL for an unnamed unix peer */
    uint32_t peer_len;               /* 0 when peer is NULL */
    unsigned flags;                  /* EVL_DGRAM_TRUNC */
};

typedef void (*evl_dgram_cb)(evl_dgram *d);
typedef void (*evl_dgram_recv_cb)(evl_dgram *d, const struct evl_dgram_msg *m);
/* err: a negative errno. */
typedef void (*evl_dgram_error_cb)(evl_dgram *d, int err);

struct evl_dgram_callbacks {
    evl_dgram_recv_cb on_recv;       /* one datagram */
    evl_dgram_error_cb on_error;     /* asynchronous or queued-send error */
    evl_dgram_cb on_high_water;      /* queued bytes grew past high */
    evl_dgram_cb on_low_water;       /* queued bytes fell to low after high */
    evl_dgram_cb on_drain;           /* the queue became empty after the socket
                                      * had refused some of it */
    evl_dgram_cb on_close;           /* evl_dgram_close done */
};

struct evl__dgram_rx;
struct evl__dgram_out;

struct evl_dgram {
    void *data;                      /* user slot */
    /* private */
    evl_loop *loop;
    evl_watcher w;
    evl_timer kick;                  /* delivers a batch left over by a pause */
    int fd;
    unsigned flags;                  /* EVL_DGRAM_* */
    struct evl_dgram_callbacks cb;
    unsigned batch;                  /* datagrams per recvmmsg/sendmmsg */
    size_t bufsize;                  /* bytes per receive buffer */
    struct evl__dgram_rx *rx;        /* receive buffers; NULL until the first read */
    struct evl__dgram_out *qhead;    /* send queue, oldest first */
    struct evl__dgram_out *qtail;
    size_t qcount;                   /* datagrams queued */
    size_t queued;                   /* bytes queued */
    size_t wlow, whigh, wmax;        /* watermarks and cap, as evl_stream's */
    unsigned state;                  /* EVL__DGRAM_* bits (dgram.c) */
    unsigned *alive;                 /* dispatch guard, see dgram.c */
};

/* Sets up d over fd, a SOCK_DGRAM socket (bound, connected or neither),
 * and makes the fd non-blocking.  Reading starts at once when on_recv is
 * given.  Defaults: batch 32, bufsize 65536, no watermarks.  Returns 0,
 * or -EINVAL (NULL d/loop/cb, unknown flags), -EBADF, -ENOTSOCK,
 * -EPROTOTYPE (not a datagram socket), -ENOMEM, or the watcher's error. */
EVL_EXPORT int evl_dgram_init(evl_dgram *d, evl_loop *loop, int fd, unsigned flags,
                              const struct evl_dgram_callbacks *cb);
/* Stops watching and frees the buffers and the queue; the fd stays open.
 * Safe from d's own callbacks and on a closed dgram. */
EVL_EXPORT void evl_dgram_free(evl_dgram *d);
/* Immediate close: stops reading, drops the queue, closes the fd (unless
 * EVL_DGRAM_NOCLOSE) and calls on_close.  Returns 0, or -EBADF (already
 * closed), -EINVAL. */
EVL_EXPORT int evl_dgram_close(evl_dgram *d);

/* batch: datagrams per system call, 1..1024; bufsize: bytes per receive
 * buffer, 1..16 MiB.  Returns 0, or -EINVAL (out of range), -EBUSY (a
 * batch is being delivered or waits for a resume), -EBADF (closed). */
#define EVL_DGRAM_BATCH_MAX 1024
EVL_EXPORT int evl_dgram_set_batch(evl_dgram *d, unsigned batch, size_t bufsize);
/* Pause / resume receiving.  Datagrams of a batch already read are kept
 * and delivered after the resume (from the loop, never inside it).
 * Returns 0, -EBADF (closed), -EINVAL (no on_recv), or the watcher's
 * error. */
EVL_EXPORT int evl_dgram_read_start(evl_dgram *d);
EVL_EXPORT int evl_dgram_read_stop(evl_dgram *d);
/* As evl_stream_set_watermarks: on_high_water when the queued bytes grow
 * past high (0 = never), on_low_water when they then fall to low; wmax >
 * 0 makes a send that would queue more fail with -ENOBUFS.  Returns 0 or
 * -EINVAL (low > high). */
EVL_EXPORT int evl_dgram_set_watermarks(evl_dgram *d, size_t low, size_t high, size_t wmax);

/* Sends one datagram to the connected peer (send) or to addr (send_to),
 * at once if nothing is queued and the socket takes it, else queued
 * (inside on_recv: always queued, sent at the end of the batch).
 * Returns 0, or -EBADF (closed), -ENOBUFS (over wmax), -ENOMEM, -EINVAL
 * (addrlen over 128), or the kernel's error of an immediate send
 * (-EMSGSIZE, -EDESTADDRREQ, -ECONNREFUSED, ...; nothing is queued). */
EVL_EXPORT int evl_dgram_send(evl_dgram *d, const void *buf, size_t len);
EVL_EXPORT int evl_dgram_send_to(evl_dgram *d, const void *buf, size_t len,
                                 const struct sockaddr *addr, uint32_t addrlen);
/* Sends what the socket takes of the queue now.  Returns the datagrams
 * still queued, or -EBADF.  Refused datagrams go to on_error. */
EVL_EXPORT ssize_t evl_dgram_flush(evl_dgram *d);
EVL_EXPORT size_t evl_dgram_queued(const evl_dgram *d);        /* bytes */
EVL_EXPORT size_t evl_dgram_queued_count(const evl_dgram *d);  /* datagrams */

/* SO_BROADCAST on or off.  Returns 0 or -errno. */
EVL_EXPORT int evl_dgram_set_broadcast(evl_dgram *d, int on);
/* Joins (join 1) or leaves (join 0) the multicast group (an AF_INET or
 * AF_INET6 sockaddr) on interface ifindex (0: the kernel's choice).
 * Returns 0, or -EINVAL (other family, short addrlen), -EAFNOSUPPORT,
 * or the kernel's error (-EADDRINUSE: joined already; -EADDRNOTAVAIL:
 * not a member, or no route for the group). */
EVL_EXPORT int evl_dgram_multicast(evl_dgram *d, const struct sockaddr *group,
                                   uint32_t addrlen, unsigned ifindex, int join);

EVL_EXPORT int evl_dgram_fd(const evl_dgram *d);            /* -1 once closed */
EVL_EXPORT int evl_dgram_is_closed(const evl_dgram *d);     /* 1 or 0 */
/* ------------------------------------------------------------ TLS
 *
 * TLS (OpenSSL 3) inside evl_stream, on every engine and without a loop.
 * The stream keeps doing the I/O; TLS sits between the socket and the
 * buffers: ciphertext read from the fd is decrypted into rbuf, and a
 * write is encrypted at once into the queue (wbuf holds ciphertext, so
 * watermarks and wmax count the bytes as sent: the plaintext plus about
 * 22 bytes per record).  Framers, write-behind, close-after-drain (which
 * sends close_notify first) and the SIGPIPE guard work unchanged.
 *
 * Errors: a TLS failure (handshake, certificate, a bad or truncated
 * record) makes the stream fail with EVL_ETLS (-EVL_ETLS through
 * on_error and evl_stream_error); evl_stream_tls_error has OpenSSL's
 * reason text.  A handshake that outlives its timeout fails with
 * -ETIMEDOUT.  A peer that closes the connection without close_notify
 * between records is an EOF; in the middle of a record it is EVL_ETLS
 * ("truncated record").  The peer's close_notify is answered with ours
 * when the stream closes with its queue written. */

typedef struct evl_tls_ctx evl_tls_ctx;

/* The errno value of a TLS failure: EPROTO, which no other stream error
 * uses. */
#define EVL_ETLS EPROTO

enum evl_tls_verify {
    EVL_TLS_VERIFY_DEFAULT = 0,  /* clients verify the server; servers ask nothing */
    EVL_TLS_VERIFY_NONE = 1,     /* no verification (clients: insecure) */
    EVL_TLS_VERIFY_PEER = 2,     /* servers: ask for a client certificate, verify one if sent */
    EVL_TLS_VERIFY_REQUIRE = 3   /* servers: a verified client certificate is required */
};

struct evl_tls_options {
    int server;                  /* 1: accept (server), 0: connect (client) */
    const char *cert_file;       /* PEM certificate (chain); servers need one */
    const char *key_file;        /* PEM private key; NULL: in cert_file */
    const char *ca_file;         /* PEM trust anchors */
    const char *ca_dir;          /* hashed directory; neither: the system store */
    int verify;                  /* enum evl_tls_verify */
    const char *alpn;            /* comma-separated protocols, preferred first */
    const char *ciphers;         /* TLS 1.2 cipher list; NULL: OpenSSL's default */
    int min_version;             /* 0: TLS 1.2; or 0x0303 (1.2), 0x0304 (1.3) */
};

/* Server Name Indication: a server's callback gets the name the client
 * asked for and returns the context to continue with (its certificate),
 * or NULL to keep the current one. */
typedef evl_tls_ctx *(*evl_tls_sni_cb)(const char *name, void *arg);

/* Returns 0 and a context in *out, or -EINVAL (bad options), EVL_ETLS
 * negated (a file OpenSSL refused: evl_tls_ctx_error has the reason),
 * -ENOMEM.  On failure *out is NULL unless the error is EVL_ETLS, in
 * which case *out holds a context for its error text only: free it. */
EVL_EXPORT int evl_tls_ctx_new(evl_tls_ctx **out, const struct evl_tls_options *opt);
/* Streams hold a reference: a context may be freed while they run. */
EVL_EXPORT void evl_tls_ctx_free(evl_tls_ctx *ctx);
EVL_EXPORT const char *evl_tls_ctx_error(const evl_tls_ctx *ctx);
/* Servers only.  Returns 0 or -EINVAL. */
EVL_EXPORT int evl_tls_ctx_set_sni_cb(evl_tls_ctx *ctx, evl_tls_sni_cb cb, void *arg);

/* Servers: a client asking for name (SNI, case-insensitive) gets sub's
 * certificate; checked before the callback.  ctx holds a reference on
 * sub.  Returns 0, -EINVAL (not both servers), -ENOMEM. */
EVL_EXPORT int evl_tls_ctx_add_sni(evl_tls_ctx *ctx, const char *name, evl_tls_ctx *sub);

/* Starts TLS on s, now or later (STARTTLS): what is queued goes out in
 * plain first, and bytes already read and not consumed are taken as the
 * first ciphertext.  host: a client's SNI name and the name its peer's
 * certificate must match (NULL: no SNI, no name check).  on_handshake
 * runs once the handshake is done, before any decrypted byte is
 * delivered; writes made before it wait and go out encrypted after it
 * (they count as queued, for write_timeout too).
 * handshake_timeout_ns (0: none; needs a loop) fails the stream with
 * -ETIMEDOUT.  On a loop the handshake is driven by the loop (it starts
 * on the next iteration); without one, by evl_stream_fill and
 * evl_stream_tls_handshake.  Returns 0, or -EINVAL, -EALREADY (TLS
 * started already), -ESHUTDOWN, the sticky error, -ENOMEM. */
EVL_EXPORT int evl_stream_start_tls(evl_stream *s, evl_tls_ctx *ctx, const char *host,
                                    evl_stream_cb on_handshake, uint64_t handshake_timeout_ns);
/* Caller-driven streams: one step of the handshake (reads and writes
 * what the fd takes now; a blocking fd blocks).  Returns 1 when the
 * handshake is done, -EAGAIN, -EINVAL (no TLS), or the stream's error. */
EVL_EXPORT int evl_stream_tls_handshake(evl_stream *s);
/* Replaces the callback given to evl_stream_start_tls (for a stream whose
 * TLS someone else started).  Returns 0 or -EINVAL (no TLS). */
EVL_EXPORT int evl_stream_tls_on_handshake(evl_stream *s, evl_stream_cb on_handshake);
/* Queues close_notify now, for a caller that closes by other means than
 * evl_stream_close (which does it by itself); later writes fail with
 * -ESHUTDOWN.  Before the handshake is reported, close_notify is queued
 * once it is, right behind the plaintext written before (which waits for
 * it), and the handshake reads the peer's records even if reading is
 * stopped.  Returns 0, -EINVAL (no TLS), -ESHUTDOWN, the stream's error,
 * or the error arming that read (-ENOMEM, the watcher's or the ring's). */
EVL_EXPORT int evl_stream_tls_shutdown(evl_stream *s);
/* 1 once the handshake is done, 0 before (or without TLS). */
EVL_EXPORT int evl_stream_tls_established(const evl_stream *s);

struct evl_tls_info {
    const char *version;         /* "TLSv1.3" */
    const char *cipher;          /* "TLS_AES_256_GCM_SHA384" */
    const char *alpn;            /* negotiated protocol, or NULL */
    const char *servername;      /* SNI name (server: the one asked for), or NULL */
    char peer_subject[256];      /* one-line subject of the peer's certificate, or "" */
    int resumed;                 /* 1: an earlier session was resumed */
    int verified;                /* 1: the peer's certificate was verified */
};
/* Fills *info (pointers valid until the stream is freed).  Returns 0, or
 * -EINVAL (no TLS), -EAGAIN (handshake not done). */
EVL_EXPORT int evl_stream_tls_info(const evl_stream *s, struct evl_tls_info *info);
/* OpenSSL's reason for the stream's TLS failure, or NULL. */
EVL_EXPORT const char *evl_stream_tls_error(const evl_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* EVLOOP_H */
