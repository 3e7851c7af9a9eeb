/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream-deadline.c - evl_stream's idle, read and write timeouts.
 *
 * A deadline must cost nothing while data flows, so nothing here runs
 * per byte.  The I/O paths only store the loop's cached time in rx_ns or
 * tx_ns (evl__stream_note_rx/_tx, stream-internal.h); the stream has one
 * timer (one heap entry), armed at the earliest moment a deadline could
 * be due.  When it fires it computes each active deadline from the
 * recorded times: one that has passed expires the stream; otherwise the
 * timer moves to the new earliest one (nginx and libuv re-arm a timer per
 * read instead; here a busy stream costs one heap operation per timeout
 * period, whatever its traffic).
 *
 * A deadline is active while the condition it watches can hold: read
 * while reading is wanted, write while bytes are queued, idle until the
 * stream stops.  The timer is left to lapse when none is active (a
 * paused, idle-less stream then keeps no timer and does not keep the
 * loop alive), and read_start or a queue that becomes non-empty arm it
 * again; both start their clock then, so a long pause or an empty queue
 * never counts against the next read or write.
 *
 * Clock starts (the setter, joining a loop, read_start, the queue's first
 * byte) read the clock afresh (vDSO, no syscall): they may come from
 * outside the loop's callbacks, long after the loop last cached its
 * time, and a stale start would expire a deadline early.  The per-I/O
 * marks use the cached time: they are made from the loop's dispatch,
 * where it is fresh.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>

#include "stream-internal.h"

static inline uint64_t max2(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* The earliest active deadline, or 0 when none is active. */
static uint64_t next_due(const evl_stream *s)
{
    uint64_t due = UINT64_MAX;
    int any = 0;
    if (s->state & (EVL__STREAM_CLOSED))
        return 0;
    if (s->idle_to_ns != 0 && s->err == 0) {
        uint64_t d = add_sat(max2(max2(s->rx_ns, s->tx_ns), s->idle_from_ns), s->idle_to_ns);
        due = d < due ? d : due;
        any = 1;
    }
    if (s->read_to_ns != 0 && want_read(s)) {
        uint64_t d = add_sat(max2(s->rx_ns, s->read_from_ns), s->read_to_ns);
        due = d < due ? d : due;
        any = 1;
    }
    if (s->write_to_ns != 0 && queue_flows(s) && evl_stream_queued(s) > 0) {
        uint64_t d = add_sat(max2(s->tx_ns, s->wq_ns), s->write_to_ns);
        due = d < due ? d : due;
        any = 1;
    }
    return any ? due : 0;
}

/* Gives up the stream after a deadline: on_error, then the close,
 * unless on_error closed or freed it, or cleared its timeouts (the Perl
 * Stream does: its handle keeps the fd after on_error when asked to). */
static void expire(evl_stream *s)
{
    struct evl__guard g;
    guard_enter(s, &g);
    evl__stream_fail(s, -ETIMEDOUT);
    if (!g.alive) {
        guard_leave(s, &g);
        return;
    }
    if (!(s->state & (EVL__STREAM_CLOSING | EVL__STREAM_CLOSED)) &&
        (s->idle_to_ns | s->read_to_ns | s->write_to_ns) != 0)
        evl_stream_abort(s);
    guard_leave(s, &g);
}

static void on_deadline(evl_timer *t)
{
    evl_stream *s = evl__container_of(t, evl_stream, dl_timer);
    uint64_t due = next_due(s);
    if (due == 0)
        return;   /* nothing active: read_start or a write arms it again */
    if (due <= t->loop->now_ns) {
        expire(s);
        return;
    }
    /* Activity moved the deadline: follow it (the only re-arm). */
    (void)evl_timer_start_at(t, on_deadline, due, 0);
}

/* Arms the timer at the earliest active deadline if it is not armed; an
 * armed timer is early or exact, never late, so it is left alone. */
static int arm(evl_stream *s)
{
    if (s->loop == NULL || evl_timer_is_active(&s->dl_timer))
        return 0;
    uint64_t due = next_due(s);
    if (due == 0)
        return 0;
    return evl_timer_start_at(&s->dl_timer, on_deadline, due, 0);
}

void evl__stream_deadline_attach(evl_stream *s)
{
    evl_timer_init(s->loop, &s->dl_timer);
    if ((s->idle_to_ns | s->read_to_ns | s->write_to_ns) == 0)
        return;   /* nothing set: the setter starts the clocks */
    uint64_t now = evl_time_ns();
    /* The clocks start on the new loop's time base (the same clock, but
     * a stream that sat on no loop has no recent activity recorded). */
    s->rx_ns = s->tx_ns = s->wq_ns = s->idle_from_ns = s->read_from_ns = now;
    (void)arm(s);
}

void evl__stream_deadline_stop(evl_stream *s)
{
    if (s->dl_timer.loop != NULL)
        evl_timer_stop(&s->dl_timer);
    /* Every caller is leaving the loop or ending the stream (a join
     * initialises the timer again; set_timeouts stops the timer itself),
     * and the loop may be freed before the stream: a later stop must not
     * reach into it. */
    s->dl_timer.loop = NULL;
}

/* Both cost nothing without their timeout: the setter starts the clock
 * it sets. */
void evl__stream_deadline_read_started(evl_stream *s)
{
    if (s->loop == NULL || s->read_to_ns == 0)
        return;
    s->read_from_ns = evl_time_ns();
    (void)arm(s);
}

void evl__stream_deadline_queue_started(evl_stream *s, int was_empty)
{
    if (!was_empty || s->loop == NULL || s->write_to_ns == 0 || evl_stream_queued(s) == 0)
        return;
    s->wq_ns = evl_time_ns();
    (void)arm(s);
}

int evl_stream_set_timeouts(evl_stream *s, uint64_t idle_ns, uint64_t read_ns,
                            uint64_t write_ns)
{
    if (s == NULL)
        return -EINVAL;
    s->idle_to_ns = idle_ns;
    s->read_to_ns = read_ns;
    s->write_to_ns = write_ns;
    if (s->loop == NULL)
        return 0;
    uint64_t now = evl_time_ns();
    s->idle_from_ns = s->read_from_ns = now;
    if (evl_stream_queued(s) > 0)
        s->wq_ns = max2(s->wq_ns, now);
    /* New values may be shorter than what the timer waits for. */
    evl_timer_stop(&s->dl_timer);
    return arm(s);
}
