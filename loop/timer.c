/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* timer.c - timers in an indexed 4-ary min-heap behind one timerfd.
 *
 * The heap is a 4-ary array of (due_ns, seq, timer) entries: the keys sit
 * in the array so sifting never chases a pointer, and four children per
 * node halve the depth (measured against a binary heap of pointers with
 * bench/timer_churn).  Every timer stores its own index (libevent's
 * min_heap_idx), so stop is O(log n).  seq is the start order, which
 * makes equal deadlines fire FIFO.
 *
 * Buckets: a timer whose deadline already has a bucket (found through a
 * small cache, see bmap_*) joins it, a FIFO ring hanging off one heap
 * entry, instead of taking a heap entry of its own; so many timers on few
 * deadlines fire in O(1) each instead of sinking a replacement through
 * the whole heap each time.
 *
 * A batch (evl__timers_run) pops due timers one at a time, so a timer
 * stopped by an earlier callback of the batch is simply gone.  Only timers
 * started before the batch began may fire in it: a timer (re)started by a
 * callback carries a newer seq, and the batch ends when one reaches the top,
 * so after(0) from a callback runs on the next iteration and the loop
 * cannot starve.
 *
 * The kernel is armed once per iteration at most, and only when the
 * earliest deadline changed (evl__timers_arm).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include "evl-internal.h"

#define ARITY 4   /* shallower than binary; children share a cache line or two */

static inline int before(const struct evl__heap_node *a, const struct evl__heap_node *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static inline void heap_set(evl_loop *loop, size_t i, struct evl__heap_node n)
{
    loop->heap[i] = n;
    n.t->heap_idx = i;
}

static void sift_up(evl_loop *loop, size_t i)
{
    struct evl__heap_node n = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / ARITY;
        if (!before(&n, &loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, n);
}

static void sift_down(evl_loop *loop, size_t i)
{
    struct evl__heap_node n = loop->heap[i];
    size_t len = loop->heap_len;
    for (;;) {
        size_t first = ARITY * i + 1;
        if (first >= len)
            break;
        size_t last = first + ARITY < len ? first + ARITY : len;
        size_t best = first;
        for (size_t c = first + 1; c < last; c++)
            if (before(&loop->heap[c], &loop->heap[best]))
                best = c;
        if (!before(&loop->heap[best], &n))
            break;
        heap_set(loop, i, loop->heap[best]);
        i = best;
    }
    heap_set(loop, i, n);
}

static int heap_insert(evl_loop *loop, evl_timer *t)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct evl__heap_node *h = realloc(loop->heap, cap * sizeof(*h));
        if (h == NULL)
            return -ENOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    size_t i = loop->heap_len++;
    heap_set(loop, i, (struct evl__heap_node){ t->due_ns, t->seq, t });
    sift_up(loop, i);
    return 0;
}

static void heap_remove(evl_loop *loop, evl_timer *t)
{
    size_t i = t->heap_idx;
    struct evl__heap_node last = loop->heap[--loop->heap_len];
    t->heap_idx = EVL__TIMER_IDLE;
    if (last.t == t)
        return;
    heap_set(loop, i, last);
    if (i > 0 && before(&last, &loop->heap[(i - 1) / ARITY]))
        sift_up(loop, i);
    else
        sift_down(loop, i);
}

static inline int pending(const evl_timer *t)
{
    return t->heap_idx != EVL__TIMER_IDLE;
}

/* The bucket cache: which bucket a new timer with a given deadline joins.
 * A slot names the newest bucket for its deadline or nothing: creating a
 * bucket always overwrites its slot, so a hit is never an older bucket,
 * and joining the newest is FIFO-safe because every timer in an older
 * bucket of that deadline was started before it was created.  Fixed size
 * and direct-mapped: constant cost, and a miss only costs a heap entry. */
static inline struct evl__bucket_slot *bmap_slot(evl_loop *loop, uint64_t due)
{
    return &loop->bmap[(size_t)((due * UINT64_C(0x9E3779B97F4A7C15)) >> 56) &
                       (EVL__BMAP_SIZE - 1)];
}

static evl_timer *bmap_get(evl_loop *loop, uint64_t due)
{
    struct evl__bucket_slot *e = bmap_slot(loop, due);
    return e->head != NULL && e->due_ns == due ? e->head : NULL;
}

static void bmap_set(evl_loop *loop, uint64_t due, evl_timer *head)
{
    struct evl__bucket_slot *e = bmap_slot(loop, due);
    e->due_ns = due;
    e->head = head;
}

/* Forgets due's slot if it names head (which is going away). */
static void bmap_drop(evl_loop *loop, uint64_t due, const evl_timer *head)
{
    struct evl__bucket_slot *e = bmap_slot(loop, due);
    if (e->head == head)
        e->head = NULL;
}

/* Buckets are rings: the heap entry points at the head, head->bprev is
 * the tail, the tail's bnext is the head, so every unlink is O(1). */
static inline void ring_self(evl_timer *t)
{
    t->bnext = t->bprev = t;
}

/* Takes t out of the timer set, whether it heads a bucket or follows. */
static void timer_unlink(evl_loop *loop, evl_timer *t)
{
    if (!evl__timer_is_op(t))
        loop->ntimers--;   /* a timeout op counts as an op (evl_loop_alive) */
    evl_timer *next = t->bnext;
    if (t->heap_idx != EVL__TIMER_FOLLOWER) {
        if (next == t) {
            bmap_drop(loop, t->due_ns, t);
            heap_remove(loop, t);
            return;
        }
        if (bmap_get(loop, t->due_ns) == t)
            bmap_set(loop, t->due_ns, next);
        /* Promote the first follower in place: the entry's key (the
         * bucket's deadline and first seq) stays valid for all of it. */
        size_t i = t->heap_idx;
        loop->heap[i].t = next;
        next->heap_idx = i;
    }
    t->bprev->bnext = next;
    next->bprev = t->bprev;
    ring_self(t);
    t->heap_idx = EVL__TIMER_IDLE;
}

/* Adds t (due_ns and seq set) to the timer set. */
static int timer_link(evl_loop *loop, evl_timer *t)
{
    if (!evl__timer_is_op(t))
        loop->ntimers++;
    ring_self(t);
    /* Not while a batch runs: a joiner would share the bucket's older key
     * and fire in this very batch. */
    evl_timer *head = loop->firing != NULL ? NULL : bmap_get(loop, t->due_ns);
    if (head != NULL) {
        evl_timer *tail = head->bprev;
        t->bprev = tail;
        t->bnext = head;
        tail->bnext = t;
        head->bprev = t;
        t->heap_idx = EVL__TIMER_FOLLOWER;
        return 0;
    }
    int rc = heap_insert(loop, t);
    if (rc == 0)
        bmap_set(loop, t->due_ns, t);
    else if (!evl__timer_is_op(t))
        loop->ntimers--;
    return rc;
}

/* t's callback, at whatever nesting depth, must not re-arm it. */
static void forget_firing(evl_loop *loop, const evl_timer *t)
{
    for (struct evl__firing *f = loop->firing; f != NULL; f = f->up)
        if (f->t == t)
            f->t = NULL;
}

int evl_timer_init(evl_loop *loop, evl_timer *t)
{
    if (loop == NULL || t == NULL)
        return -EINVAL;
    void *data = t->data;
    *t = (evl_timer){ .data = data, .loop = loop, .heap_idx = EVL__TIMER_IDLE };
    return 0;
}

int evl_timer_start_at(evl_timer *t, evl_timer_cb cb, uint64_t deadline_ns, uint64_t every_ns)
{
    if (t == NULL || cb == NULL || t->loop == NULL)
        return -EINVAL;
    evl_loop *loop = t->loop;
    if (pending(t))
        timer_unlink(loop, t);
    forget_firing(loop, t);   /* restarted from its callback: no auto re-arm */
    t->cb = cb;
    t->due_ns = deadline_ns;
    t->every_ns = every_ns;
    t->seq = loop->timer_seq++;
    return timer_link(loop, t);
}

int evl_timer_start(evl_timer *t, evl_timer_cb cb, uint64_t after_ns, uint64_t every_ns)
{
    if (t == NULL || t->loop == NULL)
        return -EINVAL;
    uint64_t now = t->loop->now_ns;
    uint64_t due = after_ns > UINT64_MAX - now ? UINT64_MAX : now + after_ns;
    return evl_timer_start_at(t, cb, due, every_ns);
}

int evl_timer_stop(evl_timer *t)
{
    if (t == NULL || t->loop == NULL)
        return 0;
    forget_firing(t->loop, t);   /* stopped from a callback: stays stopped */
    if (!pending(t))
        return 0;
    timer_unlink(t->loop, t);
    return 1;
}

int evl_timer_is_active(const evl_timer *t)
{
    return t != NULL && pending(t);
}

uint64_t evl_loop_next_deadline_ns(const evl_loop *loop)
{
    return loop && loop->heap_len ? loop->heap[0].due_ns : 0;
}

int evl__timers_run(evl_loop *loop)
{
    uint64_t now = loop->now_ns;
    uint64_t batch_seq = loop->timer_seq;
    int ran = 0;
    /* A callback may run the loop itself (a blocking fill or flush_wait
     * does): each level has its own frame, which stop and start clear. */
    struct evl__firing frame = { NULL, loop->firing };
    loop->firing = &frame;   /* non-NULL also means "a batch runs" */
    while (loop->heap_len > 0) {
        if (loop->heap[0].due_ns > now || loop->heap[0].seq >= batch_seq)
            break;
        evl_timer *t = loop->heap[0].t;
        timer_unlink(loop, t);
        ran++;
        if (t->every_ns == 0) {
            t->cb(t);
            continue;
        }
        /* Periodic: re-arm after the callback unless it stopped, restarted
         * or freed the timer; the frame tells which without touching t. */
        frame.t = t;
        t->cb(t);
        if (frame.t != t)
            continue;
        frame.t = NULL;
        /* Drift-free: the next deadline is on the timer's own grid
         * (start + k * every), the first one after now; ticks missed
         * while the loop was busy coalesce into the call just made. */
        uint64_t next = t->due_ns + t->every_ns;
        if (next <= now) {
            uint64_t missed = (now - t->due_ns) / t->every_ns;
            next = t->due_ns + (missed + 1) * t->every_ns;
        }
        t->due_ns = next;
        t->seq = loop->timer_seq++;
        ring_self(t);
        if (heap_insert(loop, t) < 0) {
            t->heap_idx = EVL__TIMER_IDLE;   /* out of memory: the timer stops */
        } else {
            bmap_set(loop, t->due_ns, t);
            loop->ntimers++;   /* timer_unlink counted it out */
        }
    }
    loop->firing = frame.up;
    return ran;
}

int evl__timers_arm(evl_loop *loop)
{
    uint64_t due = loop->heap_len ? loop->heap[0].due_ns : 0;
    if (due == loop->armed_ns)
        return 0;
    struct itimerspec its = { 0 };
    if (due != 0) {
        /* A zero it_value would disarm: a deadline at time 0 becomes 1 ns. */
        its.it_value.tv_sec = due / 1000000000;
        its.it_value.tv_nsec = due % 1000000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    loop->armed_ns = due;
    return 0;
}

void evl__timers_free(evl_loop *loop)
{
    for (size_t i = 0; i < loop->heap_len; i++) {
        evl_timer *head = loop->heap[i].t, *t = head;
        do {
            evl_timer *next = t->bnext;
            t->heap_idx = EVL__TIMER_IDLE;
            t->loop = NULL;
            ring_self(t);
            t = next;
        } while (t != head);
    }
    memset(loop->bmap, 0, sizeof(loop->bmap));
    loop->ntimers = 0;
    free(loop->heap);
    loop->heap = NULL;
    loop->heap_len = loop->heap_cap = 0;
}
