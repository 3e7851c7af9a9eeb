/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* loop.c - the loop object: new, free, run, run_once, stop.
 *
 * One iteration, in order (evl_loop_run_once):
 *   1. refresh the cached time, run the completions a proactor holds,
 *      and fire due timers;
 *   2. if a callback asked to stop since the iteration began, return
 *      without waiting;
 *   3. arm the timerfd for the earliest deadline (only if it changed);
 *   4. wait in the backend and dispatch what it returns;
 *   5. refresh the time, run the completions the wait reaped (proactor),
 *      and fire timers that fell due meanwhile.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "evl-internal.h"

uint64_t evl_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int evl_loop_new(evl_loop **out, int model, unsigned flags)
{
    evl_loop_options opt = { .model = model, .flags = flags };
    return evl_loop_new_ex(out, &opt);
}

volatile unsigned evl__forks;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
    evl__forks++;
    evl__signal_atfork_child();
}

static void register_fork_hook(void)
{
    pthread_atfork(evl__signal_atfork_prepare, evl__signal_atfork_parent, in_child);
}

unsigned evl_fork_count(void)
{
    pthread_once(&fork_once, register_fork_hook);
    return evl__forks;
}

/* The timerfd and the internal eventfd, made and put in the epoll set. */
static int open_timerfd(evl_loop *loop)
{
    loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->timerfd < 0)
        return -errno;
    loop->armed_ns = 0;
    /* Edge-triggered: each expiry (or re-arm into the past) is a new edge,
     * so the timerfd never needs a read() to quiet it. */
    return loop->backend->ctl(loop, EPOLL_CTL_ADD, loop->timerfd, EPOLLIN | EPOLLET,
                              EVL__KEY_TIMERFD);
}

static int open_wakefd(evl_loop *loop)
{
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0)
        return -errno;
    return loop->backend->ctl(loop, EPOLL_CTL_ADD, loop->wakefd, EPOLLIN, EVL__KEY_WAKEFD);
}

int evl_loop_new_ex(evl_loop **out, const evl_loop_options *opt)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (opt == NULL)
        return -EINVAL;
    const struct evl_backend_ops *backend;
    if (opt->recv_buffers > 32768 || opt->recv_buffer_size > (1u << 24))
        return -EINVAL;
    if (opt->model == EVL_REACTOR && opt->flags == 0 && opt->ring_entries == 0 &&
        opt->recv_buffers == 0 && opt->recv_buffer_size == 0)
        backend = &evl__backend_epoll;
    else if (opt->model == EVL_PROACTOR && opt->flags == EVL_BACKEND_URING &&
             opt->ring_entries <= 32768)
        backend = &evl__backend_uring;
    else if (opt->model == EVL_PROACTOR && (opt->flags & EVL_BACKEND_FAKE) &&
             !(opt->flags & ~(EVL_BACKEND_FAKE | EVL_FAKE_MANUAL)))
        backend = &evl__backend_fake;
    else
        return -EINVAL;

    evl_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return -ENOMEM;
    loop->model = opt->model;
    loop->flags = opt->flags;
    loop->ring_entries = opt->ring_entries;
    loop->recv_buffers = opt->recv_buffers;
    loop->recv_buffer_size = opt->recv_buffer_size;
    loop->fork_gen = evl_fork_count();
    loop->owner_pid = getpid();
    loop->backend = backend;
    loop->epfd = loop->timerfd = loop->wakefd = loop->sigfd = -1;
    sigemptyset(&loop->sigmask);
    atomic_init(&loop->stop_requested, 0);
    atomic_init(&loop->polling, 0);
    atomic_init(&loop->wake_pending, 0);
    atomic_init(&loop->wakefd_written, 0);
    loop->wake_feeding_fd = -1;

    int rc = loop->backend->init(loop);
    if (rc < 0)
        goto fail;

    rc = open_timerfd(loop);
    if (rc == 0)
        rc = open_wakefd(loop);
    if (rc < 0)
        goto fail;

    loop->now_ns = evl_time_ns();
    *out = loop;
    return 0;

fail:
    evl_loop_free(loop);
    return rc;
}

void evl_loop_free(evl_loop *loop)
{
    if (loop == NULL)
        return;
    evl__resolver_free(loop);
    evl__wakeups_free(loop);
    /* Forget every still-active watcher so a later evl_watcher_stop on
     * caller storage does not reach into freed memory. */
    for (size_t fd = 0; fd < loop->nslots; fd++) {
        evl_watcher *w = loop->slots[fd].w;
        if (w != NULL) {
            w->active = 0;
            w->loop = NULL;
        }
    }
    /* Proactor: the kernel lets go of every op before anything is freed;
     * settled ops whose callbacks never ran are left idle. */
    if (loop->backend != NULL && loop->backend->teardown != NULL)
        loop->backend->teardown(loop);
    for (size_t i = 0; i < loop->heap_len; i++) {
        evl_timer *t = loop->heap[i].t;
        if (t->cb != NULL && loop->model == EVL_PROACTOR && evl__timer_is_op(t)) {
            evl_op *op = evl__container_of(t, evl_op, timer);
            op->res = -ECANCELED;
            op->state = EVL_OP_IDLE;
        }
    }
    while (loop->cbq_head != NULL) {
        evl_op *op = loop->cbq_head;
        loop->cbq_head = op->next;
        op->next = NULL;
        op->state = EVL_OP_IDLE;
        evl__op_discard(op);   /* a multishot op's undelivered results */
    }
    loop->cbq_tail = NULL;
    free(loop->rbuf_spare);
    free(loop->rbuf_spare_small);
    evl__timers_free(loop);
    evl__hooks_free(loop);
    evl__waits_free(loop);
    evl__signals_free(loop);
    if (loop->timerfd >= 0)
        close(loop->timerfd);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    if (loop->backend != NULL)
        loop->backend->free(loop);
    free(loop->slots);
    free(loop->changes);
    free(loop->pollless);
    free(loop);
}

/* Grows the fd table so that fd has a slot. */
int evl__loop_fd_slot_reserve(evl_loop *loop, int fd)
{
    if ((size_t)fd < loop->nslots)
        return 0;
    size_t n = loop->nslots ? loop->nslots : 64;
    while (n <= (size_t)fd)
        n *= 2;
    struct evl__fd_slot *s = realloc(loop->slots, n * sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    memset(s + loop->nslots, 0, (n - loop->nslots) * sizeof(*s));
    loop->slots = s;
    loop->nslots = n;
    return 0;
}

/* Timeout ops are loop timers, not kernel requests, but the fork rule is
 * one rule for every op: pending at the fork means -ECANCELED in the
 * child.  Collected first (through op->next, unused while a timeout is
 * pending), because settling changes the heap. */
static void cancel_op_timeouts(evl_loop *loop)
{
    evl_op *list = NULL;
    for (size_t i = 0; i < loop->heap_len; i++) {
        evl_timer *head = loop->heap[i].t, *t = head;
        do {
            if (evl__timer_is_op(t)) {
                evl_op *op = evl__container_of(t, evl_op, timer);
                op->next = list;
                list = op;
            }
            t = t->bnext;
        } while (t != head);
    }
    while (list != NULL) {
        evl_op *op = list;
        list = op->next;
        evl_timer_stop(&op->timer);
        evl__op_settle(op, -ECANCELED);
    }
}

/* Every kernel object of a forked child's copy is the parent's too (the
 * fds share open file descriptions), so nothing inherited is changed:
 * the child's copies are closed and new objects made, then every live
 * watcher and signal is registered again. */
int evl__loop_rebuild(evl_loop *loop)
{
    loop->fork_gen = evl__forks;   /* first: the calls below may check it */
    loop->owner_pid = getpid();
    atomic_store(&loop->polling, 0);
    evl__wakeups_fork(loop);
    int rc = 0;
    if (loop->backend->fork != NULL)
        rc = loop->backend->fork(loop);
    cancel_op_timeouts(loop);
    if (rc < 0)
        return rc;

    close(loop->epfd);
    loop->epoll_stale = 0;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    if (loop->timerfd >= 0)
        close(loop->timerfd);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    loop->timerfd = loop->wakefd = -1;
    rc = open_timerfd(loop);
    if (rc == 0)
        rc = open_wakefd(loop);
    if (rc == 0)
        rc = evl__signals_fork(loop);
    if (rc == 0)
        evl__waits_fork(loop);   /* after: its SIGCHLD stop changes the new signalfd */
    if (rc == 0)   /* before the watchers: the parent's resolver eventfd goes */
        evl__resolver_after_fork(loop);
    if (rc == 0)
        rc = evl__watchers_fork(loop, 1);
    return rc;
}

int evl__loop_epoll_rebuild(evl_loop *loop)
{
    loop->epoll_stale = 0;
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        return -errno;
    close(loop->epfd);
    loop->epfd = fd;
    if (loop->backend->epoll_reset != NULL)
        loop->backend->epoll_reset(loop);
    int rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, loop->timerfd, EPOLLIN | EPOLLET,
                                EVL__KEY_TIMERFD);
    if (rc == 0)
        rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, loop->wakefd, EPOLLIN, EVL__KEY_WAKEFD);
    if (rc == 0 && loop->sigfd >= 0)
        rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, loop->sigfd, EPOLLIN, EVL__KEY_SIGNALFD);
    loop->armed_ns = 0;   /* re-arm: an expiry edge may have gone to the old set */
    /* Same process: its pidfd watchers stay (a closed pidfd that a child
     * forked meanwhile still holds is the usual way here). */
    if (rc == 0)
        rc = evl__watchers_fork(loop, 0);
    return rc;
}

int evl_loop_fork(evl_loop *loop)
{
    if (loop == NULL)
        return -EINVAL;
    if (loop->fork_gen == evl__forks && loop->owner_pid == getpid())
        return 0;   /* still the process that made the objects */
    return evl__loop_rebuild(loop);
}

uint64_t evl_loop_now_ns(const evl_loop *loop)
{
    return loop ? loop->now_ns : 0;
}

uint64_t evl_loop_update_now(evl_loop *loop)
{
    if (loop == NULL)
        return 0;
    loop->now_ns = evl_time_ns();
    return loop->now_ns;
}

uint64_t evl_loop_time_ns(evl_loop *loop)
{
    if (loop == NULL)
        return 0;
    if (loop->wall_for_ns != loop->now_ns || loop->wall_ns == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        loop->wall_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        loop->wall_for_ns = loop->now_ns;
    }
    return loop->wall_ns;
}

uint64_t evl_loop_update_time(evl_loop *loop)
{
    if (loop == NULL)
        return 0;
    evl_loop_update_now(loop);
    loop->wall_ns = 0;   /* read again at the next evl_loop_time_ns */
    return loop->now_ns;
}

size_t evl_loop_alive(const evl_loop *loop)
{
    if (loop == NULL)
        return 0;
    size_t queued = 0;
    for (const evl_op *op = loop->cbq_head; op != NULL; op = op->next)
        queued++;
    /* The SIGCHLD subscription of evl_wait is counted as its watchers. */
    size_t sigs = loop->nsignals - (loop->wait_head != NULL ? 1 : 0);
    return loop->nwatchers + loop->ntimers + loop->nhooks[EVL_HOOK_IDLE] + sigs +
           loop->nwaits + loop->pending_ops + queued;
}

int evl_loop_model(const evl_loop *loop)
{
    return loop ? loop->model : -EINVAL;
}

const char *evl_loop_backend_name(const evl_loop *loop)
{
    return loop ? loop->backend->name : NULL;
}

int evl_loop_timer_fd(const evl_loop *loop)
{
    return loop ? loop->timerfd : -EINVAL;
}

int evl_loop_stopped(const evl_loop *loop)
{
    return loop ? atomic_load(&((evl_loop *)loop)->stop_requested) != 0 : 0;
}

void evl_loop_stop(evl_loop *loop)
{
    if (loop == NULL)
        return;
    atomic_store(&loop->stop_requested, 1);
    /* Pairs with run_once: it sets polling, then re-reads stop_requested.
     * With both sides seq_cst, either it sees our stop and skips the wait,
     * or we see it polling and wake it. */
    if (atomic_load(&loop->polling)) {
        uint64_t one = 1;
        ssize_t n = write(loop->wakefd, &one, sizeof(one));
        (void)n;   /* EAGAIN means the counter is already non-zero: awake anyway */
    }
}

/* The internal eventfd only exists to interrupt the wait; empty it with
 * one read (it is not a semaphore).  The token flag is reset first: a
 * wakeup that raises it after this read writes a new token. */
static void drain_wakefd(evl_loop *loop)
{
    atomic_store(&loop->wakefd_written, 0);
    uint64_t v;
    ssize_t r = read(loop->wakefd, &v, sizeof(v));
    (void)r;
}

void evl_loop_set_interrupt_cb(evl_loop *loop, int (*cb)(evl_loop *loop, void *arg), void *arg)
{
    if (loop == NULL)
        return;
    loop->interrupt_cb = cb;
    loop->interrupt_arg = arg;
}

void evl_loop_set_displaced_cb(evl_loop *loop, void (*cb)(evl_watcher *old, void *arg),
                               void *arg)
{
    if (loop == NULL)
        return;
    loop->displaced_cb = cb;
    loop->displaced_arg = arg;
}

/* The backend wait, resumed for the time left when a signal handler
 * interrupts it (as libuv does), unless the interrupt callback or a stop
 * asks to return. */
static int poll_resuming(evl_loop *loop, int64_t timeout_ns)
{
    uint64_t start = timeout_ns > 0 ? evl_time_ns() : 0;
    int64_t left = timeout_ns;
    for (;;) {
        int n = loop->backend->poll(loop, left);
        if (n != -EINTR)
            return n;
        if (loop->interrupt_cb != NULL && loop->interrupt_cb(loop, loop->interrupt_arg))
            return 0;
        if (atomic_load(&loop->stop_requested) || left == 0)
            return 0;
        if (left > 0) {
            uint64_t spent = evl_time_ns() - start;
            if (spent >= (uint64_t)timeout_ns)
                return 0;
            left = timeout_ns - (int64_t)spent;
        }
    }
}

/* The due timers; the common case, none due, without a call (the
 * check evl__timers_run would make first). */
static inline int timers_due_run(evl_loop *loop)
{
    if (loop->heap_len == 0 || loop->heap[0].due_ns > loop->now_ns)
        return 0;
    return evl__timers_run(loop);
}

/* One iteration; in_run: called by evl_loop_run, which may skip a
 * non-blocking wait (see below).  A caller of evl_loop_run_once gets the
 * wait every time: it pumps the loop to see its fds. */
static int run_once(evl_loop *loop, int64_t timeout_ns, int in_run)
{
    int rc = evl__loop_own(loop);
    if (rc < 0)
        return rc;
    int stop_at_entry = atomic_load(&loop->stop_requested);
    int proactor = loop->model == EVL_PROACTOR;
    if (loop->deliveries != NULL)   /* run from a stream callback */
        evl__stream_uncork_all(loop);
    int ran = 0;

    loop->now_ns = evl_time_ns();
    /* A proactor runs the completions it already holds before the due
     * timers: a kernel timeout (or any op) that completed before a timer
     * fell due settles first even when the thread was descheduled past
     * both deadlines. */
    if (proactor) {
        /* A timer is due: first reap what the kernel completed meanwhile
         * (no wait), so that an op which finished earlier is not
         * overtaken.  Costs a syscall only in iterations that fire a timer. */
        if (loop->heap_len > 0 && loop->heap[0].due_ns <= loop->now_ns) {
            int reaped = poll_resuming(loop, 0);
            if (reaped < 0)
                return reaped;
        }
        ran += evl_loop_drain(loop);
    }
    ran += timers_due_run(loop);
    if (proactor)   /* what the timers completed (timeouts, timer ops) */
        ran += evl_loop_drain(loop);
    /* Callbacks already ran this iteration (timers or completions): hand
     * control back instead of blocking, so a caller pumping run_once sees
     * their effects (libuv does the same with pending callbacks). */
    if (ran > 0)
        timeout_ns = 0;
    /* Prepare hooks may still start watchers and timers for this wait. */
    if (loop->nhooks[EVL_HOOK_PREPARE] > 0)
        evl__hooks_run(loop, EVL_HOOK_PREPARE);
    if (loop->nhooks[EVL_HOOK_IDLE] > 0)
        timeout_ns = 0;   /* idle work waits: only poll */

    if (!proactor) {
        rc = evl__timers_arm(loop);
        if (rc < 0)
            return rc;
    }
    if (loop->epoll_stale) {
        rc = evl__loop_epoll_rebuild(loop);
        if (rc < 0)
            return rc;
    }
    /* Watcher changes since the last wait reach the kernel now, at most
     * one epoll_ctl per fd. */
    if (loop->nchanges > 0)
        evl__watchers_flush(loop);
    if (loop->npollless > 0 && evl__watchers_pollless_due(loop))
        timeout_ns = 0;   /* an always-ready fd: do not block */
    if (loop->heap_len > 0) {
        uint64_t due = loop->heap[0].due_ns;
        /* Already due (started at a past deadline during the batch): do
         * not wait.  The proactor has no timerfd: its wait ends at the
         * earliest deadline instead (the one armed kernel timeout). */
        if (due <= loop->now_ns)
            timeout_ns = 0;
        else if (proactor && (timeout_ns < 0 || (uint64_t)timeout_ns > due - loop->now_ns))
            timeout_ns = (int64_t)(due - loop->now_ns);
    }

    atomic_store(&loop->polling, 1);
    /* After polling is set (see evl_wakeup_signal): a wakeup signalled
     * without a token must not wait for one. */
    if (atomic_load(&loop->wake_pending))
        timeout_ns = 0;
    if (!stop_at_entry && atomic_load(&loop->stop_requested)) {
        atomic_store(&loop->polling, 0);
        if (loop->nhooks[EVL_HOOK_CHECK] > 0)
            evl__hooks_run(loop, EVL_HOOK_CHECK);
        /* No wait: no kernel events.  A reactor does not count timers;
         * a proactor counts the callbacks it ran. */
        return proactor ? ran : 0;
    }
    int n = 0;
    if (in_run && timeout_ns == 0 && !proactor && !loop->wake_skipped &&
        atomic_load_explicit(&loop->wake_pending, memory_order_relaxed)) {
        /* Only a non-blocking look at the fds before this process's own
         * wakeups: inside run, every other such iteration skips it (libev
         * makes the syscall each time), so a wakeup chain costs half the
         * waits and a ready fd waits at most one iteration of wakeup
         * callbacks. */
        atomic_store(&loop->polling, 0);
        loop->wake_skipped = 1;
    } else {
        n = poll_resuming(loop, timeout_ns);
        atomic_store(&loop->polling, 0);
        if (n < 0)
            return n;
        loop->wake_skipped = 0;
    }
    n += evl__wakeups_run(loop);
    if (loop->npollless > 0) {
        evl__loop_next_batch(loop);
        n += evl__watchers_pollless(loop);
    }

    loop->now_ns = evl_time_ns();
    int late = 0;
    int done = 0;
    if (proactor)   /* completions first, as above */
        done = evl_loop_drain(loop);
    late += timers_due_run(loop);
    if (proactor) {
        done += evl_loop_drain(loop);
        late += done;
        n += ran + done;
    }
    /* Idle: nothing else happened in this iteration. */
    if (loop->nhooks[EVL_HOOK_IDLE] > 0 && n == 0 && ran == 0 && late == 0)
        evl__hooks_run(loop, EVL_HOOK_IDLE);
    if (loop->nhooks[EVL_HOOK_CHECK] > 0)
        evl__hooks_run(loop, EVL_HOOK_CHECK);
    return n;
}

int evl_loop_run_once(evl_loop *loop, int64_t timeout_ns)
{
    if (loop == NULL)
        return -EINVAL;
    return run_once(loop, timeout_ns, 0);
}

int evl_loop_run(evl_loop *loop)
{
    if (loop == NULL)
        return -EINVAL;
    atomic_store(&loop->stop_requested, 0);
    while (!atomic_load(&loop->stop_requested)) {
        int rc = run_once(loop, -1, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Called by the backend for the loop's own keys. */
void evl__loop_internal_event(evl_loop *loop, uint64_t key)
{
    if (key == EVL__KEY_WAKEFD)
        drain_wakefd(loop);
    else if (key == EVL__KEY_SIGNALFD)
        evl__signal_dispatch(loop);
    /* EVL__KEY_TIMERFD: nothing to read (edge-triggered); the timers run
     * after the wait. */
}
