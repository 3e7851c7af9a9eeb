/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evl-internal.h - private layouts and evl__ prototypes shared by loop/. */
#ifndef EVL_INTERNAL_H
#define EVL_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"

#define EVL__HIDDEN __attribute__((visibility("hidden")))

#define evl__container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* evl_timer.heap_idx values that are not heap positions. */
#define EVL__TIMER_IDLE ((size_t)-1)     /* initialised, not pending */
#define EVL__TIMER_FOLLOWER ((size_t)-3) /* pending behind a bucket head */

/* epoll keys of the loop's own fds; user watchers use fd | gen << 32,
 * and fds are < 2^31, so these can never collide. */
#define EVL__KEY_TIMERFD UINT64_C(0xffffffffffffff01)
#define EVL__KEY_WAKEFD UINT64_C(0xffffffffffffff02)
#define EVL__KEY_SIGNALFD UINT64_C(0xffffffffffffff03)

#define EVL__NSIG 65                     /* signals 1..64 */

/* One entry per fd number: the active watcher, a generation that
 * changes whenever the entry is (re)assigned or cleared, and what the
 * kernel holds for the fd.  Watcher changes only mark the slot dirty;
 * evl__watchers_flush makes the kernel agree before the next wait, with
 * at most one epoll_ctl per fd (libev's fd changes). */
struct evl__fd_slot {             /* 24 bytes, no bit-fields: a stop and the start
                                    that follows it access the same fields, and a
                                    load wider than the store before it stalls */
    evl_watcher *w;
    uint32_t kmask;              /* the registration's epoll events, or EVL__KMASK_STALE */
    uint32_t kgen;               /* key generation of the kernel registration */
    uint32_t touched;            /* loop->batch when w was last (re)assigned or cleared */
    uint16_t gen;                /* changes at every (re)assignment or clear */
    uint8_t kstate;              /* EVL__KS_* */
    uint8_t dirty;               /* in loop->changes */
};
#define EVL__KS_NONE 0           /* the kernel holds nothing for the fd */
#define EVL__KS_REG 1            /* it holds a registration (kmask, kgen) */
#define EVL__KS_POLLLESS 2       /* epoll refused the fd (EPERM): always ready */
/* kmask that matches no interest: the next flush must MOD (a oneshot
 * re-arm, or a registration that may be another file's). */
#define EVL__KMASK_STALE UINT32_MAX

/* A timer heap entry.  The key lives in the entry, not behind the
 * pointer, so sifting compares without touching the timers themselves. */
struct evl__heap_node {
    uint64_t due_ns;
    uint64_t seq;                /* start order: equal deadlines fire FIFO */
    evl_timer *t;
};

#define EVL__BMAP_SIZE 256

/* A bucket-cache slot; head NULL = empty. */
struct evl__bucket_slot {
    uint64_t due_ns;
    evl_timer *head;
};

/* One level of timer dispatch (callbacks may run the loop again). */
struct evl__firing {
    evl_timer *t;                /* periodic timer in its callback; NULL once stopped */
    struct evl__firing *up;
};

/* One pass over a list whose callbacks may stop any entry or run the
 * loop again (nested passes): the next entry to call, which stop moves
 * past an entry it unlinks, in every pass of the chain. */
struct evl__hook_pass {
    evl_hook *cursor;
    struct evl__hook_pass *up;
};
struct evl__wait_pass {
    evl_wait *cursor;
    struct evl__wait_pass *up;
};
struct evl__wakeup_pass {
    evl_wakeup *cursor;
    struct evl__wakeup_pass *up;
};

/* A readiness or completion backend.  The reactor has one (epoll). */
struct evl_backend_ops {
    const char *name;
    int (*init)(evl_loop *loop);
    void (*free)(evl_loop *loop);
    /* op: EPOLL_CTL_ADD / MOD / DEL; events in epoll bits. */
    int (*ctl)(evl_loop *loop, int op, int fd, uint32_t events, uint64_t key);
    /* Waits at most timeout_ns (-1: forever) and dispatches; returns the
     * number of events or -errno. */
    int (*poll)(evl_loop *loop, int64_t timeout_ns);
    /* Proactor only: hand an op to the backend, ask for its cancellation
     * (the backend settles it, now or when the kernel answers), and
     * cancel-and-reap everything at teardown. */
    int (*submit)(evl_loop *loop, evl_op *op);
    int (*cancel)(evl_loop *loop, evl_op *op);
    void (*teardown)(evl_loop *loop);
    /* Forked child (evl__loop_rebuild): settle every op the parent had
     * in flight with -ECANCELED and make the backend's own kernel objects
     * anew, without touching the parent's.  The epoll set is remade by
     * the caller afterwards.  NULL: nothing of the backend's own. */
    int (*fork)(evl_loop *loop);
    /* The loop's epoll fd was replaced (evl__loop_epoll_rebuild): forget
     * anything armed on the old one.  NULL: nothing to do. */
    void (*epoll_reset)(evl_loop *loop);
    /* Multishot ops (evl_op_*_multi): a backend without them leaves this
     * NULL.  Gives a provided buffer a CQE named back to the ring. */
    void (*buf_recycle)(evl_loop *loop, void *buf, unsigned bid);
};

/* evl_op.internal bits. */
#define EVL__OP_IN_KERNEL 0x1      /* an SQE for it was handed to the ring */
#define EVL__OP_CANCEL_REQ 0x2     /* a cancel was asked for */
#define EVL__OP_SCRIPTED 0x4       /* fake: op->scripted holds a result */
#define EVL__OP_SOCKET 0x8         /* a write op on a socket: sent as send(MSG_NOSIGNAL) */
#define EVL__OP_MULTI 0x10         /* multishot: results go through op->results */
#define EVL__OP_QUEUED 0x20        /* multishot: in the callback queue */
#define EVL__OP_MORE 0x40          /* multishot: the result being called back is not the last */
#define EVL__OP_LOST 0x80          /* multishot: a result could not be kept (ENOMEM) */

struct evl_loop {
    int model;
    const struct evl_backend_ops *backend;
    int epfd;
    int timerfd;
    int wakefd;                  /* internal eventfd: cross-thread stop */
    int sigfd;                   /* -1 until the first signal subscription */

    struct evl__fd_slot *slots;
    size_t nslots;
    struct epoll_event *events;  /* the wait's output array */
    int nevents;                 /* its size: grows after a full batch (backend-epoll.c) */
    int epoll_depth;             /* epoll dispatches running (callbacks may wait again) */
    int *changes;                /* dirty fd slots, flushed before each wait */
    size_t nchanges, changes_cap;
    int *pollless;               /* fds epoll refused (regular files) with a watcher */
    size_t npollless, pollless_cap;
    uint32_t batch;              /* wait results dispatched so far (stale-event check), never 0 after the first */
    int epoll_stale;             /* an event came from a registration we lost: rebuild the set */
    uint64_t ctl_count;          /* epoll_ctl calls made (tests) */

    uint64_t now_ns;             /* cached at each iteration */

    /* Timers: a 4-ary min-heap of (due_ns, seq). */
    struct evl__heap_node *heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;          /* next start order */
    uint64_t armed_ns;           /* what the timerfd is set to; 0: disarmed */
    struct evl__firing *firing;  /* periodic timers whose callbacks run, innermost first */
    /* deadline -> head of its newest bucket, direct-mapped (a miss only
     * costs a heap entry) */
    struct evl__bucket_slot bmap[EVL__BMAP_SIZE];

    /* Signals: one list of subscriptions per signal number. */
    evl_signal *sig_head[EVL__NSIG];
    evl_signal *sig_tail[EVL__NSIG];
    evl_signal *sig_cursor;      /* next subscriber to call, kept valid by stop */
    sigset_t sigmask;            /* what sigfd is reading */

    /* Child exits (wait.c): watchers in subscription order. */
    evl_wait *wait_head, *wait_tail;
    struct evl__wait_pass *wait_pass;  /* innermost delivery, kept valid by stop */
    size_t wait_any;             /* pid-0 watchers */
    unsigned wait_scan;          /* scan generation */
    int wait_busy;               /* a scan runs */
    evl_signal wait_sig;         /* SIGCHLD, while any watcher is active */

    /* Iteration hooks (hook.c), by evl_hook_kind. */
    evl_hook *hook_head[4], *hook_tail[4];
    struct evl__hook_pass *hook_pass[4];  /* innermost pass per kind, kept valid by stop */
    size_t nhooks[4];

    /* What evl_loop_alive counts. */
    size_t nwatchers;            /* active fd watchers */
    size_t ntimers;              /* pending timers, timeout ops excepted */
    size_t nsignals;             /* signal subscriptions (the SIGCHLD one included) */
    size_t nwaits;               /* evl_wait watchers */
    uint64_t wall_ns;            /* CLOCK_REALTIME read for ... */
    uint64_t wall_for_ns;        /* ... this now_ns (0: not read yet) */

    /* One read_size buffer a stream gave back (evl__stream_rbuf_trim),
     * and one small idle-read buffer a stream swapped for it, each kept
     * for the next stream read that needs one (stream.c). */
    char *rbuf_spare, *rbuf_spare_small;
    size_t rbuf_spare_cap, rbuf_spare_small_cap;

    /* The stream deliveries on the stack, innermost first (stream.c): a
     * callback that runs the loop again gets their corked writes sent
     * first (evl__stream_uncork_all). */
    struct evl__stream_delivery *deliveries;

    /* Proactor: settled ops whose callbacks wait to run (FIFO). */
    evl_op *cbq_head, *cbq_tail;
    size_t pending_ops;          /* submitted, not settled */
    void *backend_data;          /* the backend's own state */
    unsigned flags;              /* evl_loop_new flags */
    unsigned ring_entries;
    unsigned recv_buffers, recv_buffer_size;   /* evl_loop_options' */
    unsigned fork_gen;           /* evl__forks when the loop was made */
    pid_t owner_pid;             /* the process that made its kernel objects */
    int (*interrupt_cb)(evl_loop *loop, void *arg);
    void *interrupt_arg;
    void (*displaced_cb)(evl_watcher *old, void *arg);   /* evl_loop_set_displaced_cb */
    void *displaced_arg;
    struct evl__resolver *resolver;   /* resolve.c: NULL until the first evl_resolve */

    /* Wakeups bound to the loop (wakeup.c). */
    evl_wakeup *wakeups;
    struct evl__wakeup_pass *wake_pass;  /* innermost pass, kept valid by stop */
    int wake_feeding_fd;         /* the wakeup fd dispatched for pending counts, or -1 */
    int wake_due;                /* wake_pending was raised when the wait returned */
    int wake_taken;              /* wake_due was taken for this wait */
    int wake_skipped;            /* the last iteration ran its wakeups without a wait */

    atomic_int stop_requested;
    atomic_int polling;          /* 1 while blocked in (or about to enter) the wait */
    atomic_int wake_pending;     /* a bound wakeup has a pending count */
    atomic_int wakefd_written;   /* a wake token is in wakefd (or about to be) */
};

EVL__HIDDEN extern const struct evl_backend_ops evl__backend_epoll;
EVL__HIDDEN extern const struct evl_backend_ops evl__backend_uring;
EVL__HIDDEN extern const struct evl_backend_ops evl__backend_fake;

/* stream.c: sends what the deliveries on the stack corked, before a
 * nested run of their loop waits (their peer may be what it waits for). */
EVL__HIDDEN void evl__stream_uncork_all(evl_loop *loop);

/* backend-epoll.c: the epoll half every loop has (proactor loops keep
 * their fd watchers, signals, wakeups and pidfds there). */
EVL__HIDDEN int evl__epoll_init(evl_loop *loop);
EVL__HIDDEN void evl__epoll_free(evl_loop *loop);
EVL__HIDDEN int evl__epoll_ctl(evl_loop *loop, int op, int fd, uint32_t events, uint64_t key);
EVL__HIDDEN int evl__epoll_poll(evl_loop *loop, int64_t timeout_ns);

/* sigpipe.c: block SIGPIPE around writes that may raise it, and swallow
 * the one they raise. */
struct evl__sigpipe_guard {
    sigset_t old;
    int was_blocked, was_pending;
};
EVL__HIDDEN void evl__sigpipe_block(struct evl__sigpipe_guard *g);
/* maybe_raised: a write may have raised SIGPIPE (it failed with EPIPE,
 * or its outcome is not known yet, as with an io_uring submission). */
EVL__HIDDEN void evl__sigpipe_unblock(struct evl__sigpipe_guard *g, int maybe_raised);

/* buf.c: the byte buffer's internals, for code that moves whole buffers
 * around instead of copying bytes (the proactor stream, whose kernel
 * reads land in memory that then becomes the read buffer). */

/* evl_buf_consume's body, inline for the hot paths that call it once per
 * message (the PerlIO layer's fast gets).  n <= evl_buf_len(b). */
static inline void evl__buf_consume(evl_buf *b, size_t n)
{
    b->head += n;
    if (b->head >= b->tail)
        b->head = b->tail = 0;   /* empty: the next fill starts at the front */
}
/* As evl_buf_reserve, but a buffer without memory gets n bytes (rounded
 * up to 64) instead of the 4 KiB a queue starts with: an idle stream's
 * small read buffer. */
EVL__HIDDEN char *evl__buf_reserve_exact(evl_buf *b, size_t n);
/* Exchanges the contents of a and b, memory included: no copy. */
EVL__HIDDEN void evl__buf_swap(evl_buf *a, evl_buf *b);
/* Takes b's memory: returns it (NULL if b has none), its size in *cap
 * when cap is not NULL, and leaves b empty and without memory.  The
 * caller frees it (or hands it to evl__buf_adopt). */
EVL__HIDDEN char *evl__buf_steal(evl_buf *b, size_t *cap);
/* Makes mem (cap bytes, from malloc or posix_memalign, whose first len
 * bytes are data) b's memory.  b must have none (fresh, freed or stolen
 * from); it owns mem from now on. */
EVL__HIDDEN void evl__buf_adopt(evl_buf *b, char *mem, size_t cap, size_t len);
/* Appends src's bytes to dst and leaves src empty and without memory;
 * the memory itself moves when dst is empty.  Returns 0, or -ENOMEM
 * with both buffers unchanged. */
EVL__HIDDEN int evl__buf_move(evl_buf *dst, evl_buf *src);

/* op.c */
EVL__HIDDEN void evl__op_settle(evl_op *op, int64_t res);
/* One result of a multishot op (buf: its provided buffer, or NULL); more
 * 0 settles the op.  The results are called back in order by
 * evl_loop_drain, each buffer recycled after its callback. */
EVL__HIDDEN void evl__op_post(evl_op *op, int64_t res, void *buf, unsigned bid, int more);
/* A queued op that will never be called back (the loop is freed): drops
 * its undelivered results (closing accepted fds, recycling nothing). */
EVL__HIDDEN void evl__op_discard(evl_op *op);

/* loop.c */
EVL__HIDDEN int evl__loop_fd_slot_reserve(evl_loop *loop, int fd);
/* Gives a forked child's copy of a loop kernel objects of its own (see
 * evl_loop_fork); returns 0 or -errno. */
EVL__HIDDEN int evl__loop_rebuild(evl_loop *loop);
/* An event on one of the loop's own fds (EVL__KEY_*). */
EVL__HIDDEN void evl__loop_internal_event(evl_loop *loop, uint64_t key);

/* watcher.c: registers every live watcher again, in a new epoll set
 * (a forked child, or a set holding a registration we cannot remove).
 * forked: a forked child's copy, whose pidfd watchers (the parent's
 * children) are dropped; the same process keeps them. */
EVL__HIDDEN int evl__watchers_fork(evl_loop *loop, int forked);
/* watcher.c: tells the kernel what changed since the last flush. */
EVL__HIDDEN void evl__watchers_flush(evl_loop *loop);
/* watcher.c: the loop made one of its own fds (its signalfd) and got fd,
 * a number whose stopped watcher still waits for its epoll delete (that
 * delete is dropped, or the flush would take the new fd out of the set),
 * or whose watcher lost its fd behind the loop's back (it is displaced,
 * see evl_loop_set_displaced_cb, and its stop reaches no kernel). */
EVL__HIDDEN void evl__watchers_fd_taken(evl_loop *loop, int fd);
/* watcher.c: dispatches every always-ready (pollless) watcher once;
 * returns how many were due. */
EVL__HIDDEN int evl__watchers_pollless(evl_loop *loop);
/* watcher.c: whether a pollless watcher has a direction enabled (then the
 * wait must not block). */
EVL__HIDDEN int evl__watchers_pollless_due(const evl_loop *loop);
/* watcher.c: starts a new dispatch batch (loop->batch). */
EVL__HIDDEN void evl__loop_next_batch(evl_loop *loop);
/* How many epoll_ctl calls the loop made (for tests). */
EVL__HIDDEN uint64_t evl__loop_ctl_count(const evl_loop *loop);
/* loop.c: a new epoll set for the loop's own fds and every watcher. */
EVL__HIDDEN int evl__loop_epoll_rebuild(evl_loop *loop);
/* watcher.c: the dispatch of one readiness event for key. */
/* Returns 1, or 0 for an event that is not the caller's (a direction
 * lazily left registered: see watcher.c), which the wait does not count. */
EVL__HIDDEN int evl__watcher_dispatch(evl_loop *loop, uint64_t key, uint32_t epoll_events);

/* timer.c */
/* Whether t is the timer inside an evl_op (a proactor timeout). */
EVL__HIDDEN int evl__timer_is_op(const evl_timer *t);
/* Fires due timers; returns how many callbacks ran. */
EVL__HIDDEN int evl__timers_run(evl_loop *loop);
EVL__HIDDEN int evl__timers_arm(evl_loop *loop);
EVL__HIDDEN void evl__timers_free(evl_loop *loop);

/* signal.c */
EVL__HIDDEN void evl__signal_dispatch(evl_loop *loop);
/* Forked child: blocks the loop's signals again and gives it a signalfd
 * of its own (the inherited one is closed, never changed). */
EVL__HIDDEN int evl__signals_fork(evl_loop *loop);
/* pthread_atfork handlers (registered with the fork counter): the child
 * starts with the mask the program had before any loop blocked a signal. */
EVL__HIDDEN void evl__signal_atfork_prepare(void);
EVL__HIDDEN void evl__signal_atfork_parent(void);
EVL__HIDDEN void evl__signal_atfork_child(void);

/* pid.c: a waitid siginfo as a waitpid() status word. */
EVL__HIDDEN int evl__status_from_siginfo(const siginfo_t *si);
/* pid.c: pid was reaped elsewhere in the loop (wait.c): an evl_pid of
 * that pid settles with status. */
EVL__HIDDEN void evl__pid_deliver(evl_loop *loop, pid_t pid, int status);

/* wakeup.c: after each wait, dispatches the watchers of wakeups with
 * pending counts; returns how many callbacks ran. */
EVL__HIDDEN int evl__wakeups_run(evl_loop *loop);
/* wakeup.c: the wait returned, before any of its callbacks: the pending
 * counts raised so far are this wait's to dispatch (later ones, from its
 * callbacks, wait for the next one, as an eventfd write would). */
static inline void evl__wakeups_take(evl_loop *loop)
{
    loop->wake_taken = 1;
    if (atomic_load_explicit(&loop->wake_pending, memory_order_relaxed) &&
        atomic_exchange(&loop->wake_pending, 0))
        loop->wake_due = 1;
}
/* wakeup.c: a forked child drops the parent's pending counts. */
EVL__HIDDEN void evl__wakeups_fork(evl_loop *loop);
/* wakeup.c: evl_loop_free unbinds every wakeup. */
EVL__HIDDEN void evl__wakeups_free(evl_loop *loop);
/* wakeup.c: eventfd writes made by wakeups, wake tokens included (tests). */
EVL__HIDDEN uint64_t evl__wakeup_write_count(void);
EVL__HIDDEN extern atomic_uint_fast64_t evl__wakeup_writes;

/* hook.c: calls every hook of kind; returns how many ran. */
EVL__HIDDEN int evl__hooks_run(evl_loop *loop, int kind);
EVL__HIDDEN void evl__hooks_free(evl_loop *loop);

/* wait.c */
EVL__HIDDEN void evl__wait_deliver(evl_loop *loop, pid_t pid, int status);
EVL__HIDDEN void evl__waits_fork(evl_loop *loop);
EVL__HIDDEN void evl__waits_free(evl_loop *loop);

/* pid.c: in a forked child, drops w if it is an evl_pid's watcher (the
 * parent's children are not the child's): returns 1 if it was. */
EVL__HIDDEN int evl__pid_fork_drop(evl_watcher *w);
EVL__HIDDEN void evl__signals_free(evl_loop *loop);

/* resolve.c */
/* Called by evl_loop_free: cancels every request (workers in getaddrinfo
 * free theirs when they return) and lets the threads exit. */
EVL__HIDDEN void evl__resolver_free(evl_loop *loop);
/* In a forked child: moves the loop's resolver off the parent's eventfd
 * and threads now (its requests restart on a pool of the child's).  Every
 * resolver call does this by itself on first use; a loop rebuilt after
 * fork calls it so the child's epoll set never watches the parent's
 * eventfd.  A no-op in the process that made the resolver. */
EVL__HIDDEN void evl__resolver_after_fork(evl_loop *loop);
/* Test hooks: every worker sleeps delay_ns before getaddrinfo (0: off; the
 * environment variable EVL_RESOLVE_TEST_DELAY_MS does the same for
 * requests started while this is 0), and the number of worker threads of
 * all loops still alive in this process. */
EVL__HIDDEN void evl__resolver_set_test_delay(uint64_t delay_ns);
EVL__HIDDEN unsigned evl__resolver_live_threads(void);

/* evl_fork_count's counter (loop.c), read directly on hot paths once a
 * loop exists (creating one registers the counting).  A loop whose
 * fork_gen differs is a forked child's copy: its epoll set and ring are
 * still the parent's (the fds are shared), so the child must not change
 * or drive them. */
EVL__HIDDEN extern volatile unsigned evl__forks;

/* Every entry point that touches the loop's kernel objects calls this
 * first: a forked child's copy is rebuilt at its first use there. */
static inline int evl__loop_own(evl_loop *loop)
{
    if (__builtin_expect(loop->fork_gen != evl__forks, 0))
        return evl__loop_rebuild(loop);
    return 0;
}

#endif
