/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evl-internal.h - private layouts and evl__ prototypes shared by loop/. */
#ifndef EVL_INTERNAL_H
#define EVL_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

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

/* One entry per fd number: the active watcher, and a generation that
 * changes whenever the entry is (re)assigned or cleared. */
struct evl__fd_slot {
    evl_watcher *w;
    uint32_t gen;
};

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
};

/* evl_op.internal bits. */
#define EVL__OP_IN_KERNEL 0x1      /* an SQE for it was handed to the ring */
#define EVL__OP_CANCEL_REQ 0x2     /* a cancel was asked for */
#define EVL__OP_SCRIPTED 0x4       /* fake: op->scripted holds a result */
#define EVL__OP_SOCKET 0x8         /* a write op on a socket: sent as send(MSG_NOSIGNAL) */

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
    int nevents;

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

    /* Proactor: settled ops whose callbacks wait to run (FIFO). */
    evl_op *cbq_head, *cbq_tail;
    size_t pending_ops;          /* submitted, not settled */
    void *backend_data;          /* the backend's own state */
    unsigned flags;              /* evl_loop_new flags */
    unsigned ring_entries;
    unsigned fork_gen;           /* evl__forks when the loop was made */
    int (*interrupt_cb)(evl_loop *loop, void *arg);
    void *interrupt_arg;
    struct evl__resolver *resolver;   /* resolve.c: NULL until the first evl_resolve */

    atomic_int stop_requested;
    atomic_int polling;          /* 1 while blocked in (or about to enter) the wait */
};

EVL__HIDDEN extern const struct evl_backend_ops evl__backend_epoll;
EVL__HIDDEN extern const struct evl_backend_ops evl__backend_uring;
EVL__HIDDEN extern const struct evl_backend_ops evl__backend_fake;

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

/* loop.c */
EVL__HIDDEN int evl__loop_fd_slot_reserve(evl_loop *loop, int fd);
/* An event on one of the loop's own fds (EVL__KEY_*). */
EVL__HIDDEN void evl__loop_internal_event(evl_loop *loop, uint64_t key);

/* watcher.c: the dispatch of one readiness event for key. */
EVL__HIDDEN void evl__watcher_dispatch(evl_loop *loop, uint64_t key, uint32_t epoll_events);

/* timer.c */
/* Whether t is the timer inside an evl_op (a proactor timeout). */
EVL__HIDDEN int evl__timer_is_op(const evl_timer *t);
/* Fires due timers; returns how many callbacks ran. */
EVL__HIDDEN int evl__timers_run(evl_loop *loop);
EVL__HIDDEN int evl__timers_arm(evl_loop *loop);
EVL__HIDDEN void evl__timers_free(evl_loop *loop);

/* signal.c */
EVL__HIDDEN void evl__signal_dispatch(evl_loop *loop);
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

#endif
