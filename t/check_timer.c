/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_timer.c - the timer heap: order, FIFO ties, cancel, periodic, scale. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evl-test.h"
#include "evloop.h"

struct fired {
    int order[256];
    int n;
    evl_timer *victim;
    evl_timer *timers;
    int action;
};

enum { ACT_NONE, ACT_STOP_VICTIM, ACT_RESTART_SELF_ZERO, ACT_STOP_SELF, ACT_FREE_SELF };

static struct fired *fired_of(evl_timer *t) { return t->data; }

static int index_of(evl_timer *t)
{
    struct fired *f = fired_of(t);
    return (int)(t - f->timers);
}

static void on_fire(evl_timer *t)
{
    struct fired *f = fired_of(t);
    f->order[f->n++] = index_of(t);
    switch (f->action) {
    case ACT_STOP_VICTIM:
        if (f->victim != t)
            ck_assert_int_eq(evl_timer_stop(f->victim), 1);
        f->action = ACT_NONE;
        break;
    case ACT_RESTART_SELF_ZERO: ck_assert_rc(evl_timer_start(t, on_fire, 0, 0)); break;
    case ACT_STOP_SELF: ck_assert_int_eq(evl_timer_stop(t), 0); break;
    }
}

static evl_loop *new_loop(void)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    return loop;
}

/* Runs the loop until n callbacks have been recorded (bounded). */
static void run_until(evl_loop *loop, struct fired *f, int n)
{
    for (int i = 0; i < 10000 && f->n < n; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 100000000), 0);
    ck_assert_int_eq(f->n, n);
}

START_TEST(test_timer_fires_in_deadline_order)
{
    evl_loop *loop = new_loop();
    evl_timer t[5];
    struct fired f = { .timers = t };
    uint64_t base = evl_loop_now_ns(loop);
    const int due_ms[5] = { 5, 1, 4, 2, 3 };
    for (int i = 0; i < 5; i++) {
        t[i].data = &f;
        ck_assert_rc(evl_timer_init(loop, &t[i]));
        ck_assert_rc(evl_timer_start_at(&t[i], on_fire, base + due_ms[i] * 1000000ull, 0));
    }
    ck_assert_uint_eq(evl_loop_next_deadline_ns(loop), base + 1000000ull);
    run_until(loop, &f, 5);
    int want[5] = { 1, 3, 4, 2, 0 };
    ck_assert_mem_eq(f.order, want, sizeof(want));
    /* And never before its deadline. */
    ck_assert_uint_ge(evl_loop_now_ns(loop), base + 5000000ull);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_equal_deadlines_fire_fifo)
{
    evl_loop *loop = new_loop();
    enum { N = 50 };
    evl_timer t[N];
    struct fired f = { .timers = t };
    uint64_t due = evl_loop_now_ns(loop) + 1000000;
    for (int i = 0; i < N; i++) {
        t[i].data = &f;
        ck_assert_rc(evl_timer_init(loop, &t[i]));
        ck_assert_rc(evl_timer_start_at(&t[i], on_fire, due, 0));
    }
    run_until(loop, &f, N);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(f.order[i], i);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_cancel_from_same_batch)
{
    evl_loop *loop = new_loop();
    evl_timer t[3];
    struct fired f = { .timers = t, .action = ACT_STOP_VICTIM, .victim = &t[2] };
    uint64_t due = evl_loop_now_ns(loop);   /* all due at once: one batch */
    for (int i = 0; i < 3; i++) {
        t[i].data = &f;
        ck_assert_rc(evl_timer_init(loop, &t[i]));
        ck_assert_rc(evl_timer_start_at(&t[i], on_fire, due, 0));
    }
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(f.n, 2);
    ck_assert_int_eq(f.order[0], 0);
    ck_assert_int_eq(f.order[1], 1);
    ck_assert_int_eq(evl_timer_is_active(&t[2]), 0);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_stop_is_idempotent_and_reports)
{
    evl_loop *loop = new_loop();
    evl_timer t;
    struct fired f = { .timers = &t };
    t.data = &f;
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_int_eq(evl_timer_stop(&t), 0);   /* never started */
    ck_assert_rc(evl_timer_start(&t, on_fire, 1000000000ull, 0));
    ck_assert_int_eq(evl_timer_is_active(&t), 1);
    ck_assert_int_eq(evl_timer_stop(&t), 1);
    ck_assert_int_eq(evl_timer_stop(&t), 0);
    ck_assert_uint_eq(evl_loop_next_deadline_ns(loop), 0);
    ck_assert_rc(evl_timer_start(&t, on_fire, 0, 0));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(f.n, 1);
    ck_assert_int_eq(evl_timer_stop(&t), 0);   /* already fired */
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_after_zero_from_callback_runs_next_iteration)
{
    evl_loop *loop = new_loop();
    evl_timer t;
    struct fired f = { .timers = &t, .action = ACT_RESTART_SELF_ZERO };
    t.data = &f;
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_rc(evl_timer_start(&t, on_fire, 0, 0));
    /* One iteration runs timers before and after the wait: at most two
     * generations.  A starving loop would never return. */
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_ge(f.n, 1);
    ck_assert_int_le(f.n, 2);
    int before = f.n;
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_gt(f.n, before);
    ck_assert_int_eq(evl_timer_stop(&t), 1);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_periodic_repeats_until_stopped)
{
    evl_loop *loop = new_loop();
    evl_timer t;
    struct fired f = { .timers = &t };
    t.data = &f;
    ck_assert_rc(evl_timer_init(loop, &t));
    /* Relative timers count from the loop's cached time. */
    uint64_t start = evl_loop_now_ns(loop);
    ck_assert_rc(evl_timer_start(&t, on_fire, 1000000, 1000000));
    run_until(loop, &f, 5);
    ck_assert_uint_ge(evl_time_ns() - start, 5000000ull);
    ck_assert_int_eq(evl_timer_is_active(&t), 1);
    ck_assert_int_eq(evl_timer_stop(&t), 1);
    int n = f.n;
    ck_assert_int_ge(evl_loop_run_once(loop, 3000000), 0);
    ck_assert_int_eq(f.n, n);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_periodic_stopped_from_own_callback)
{
    evl_loop *loop = new_loop();
    evl_timer t;
    struct fired f = { .timers = &t, .action = ACT_STOP_SELF };
    t.data = &f;
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_rc(evl_timer_start(&t, on_fire, 0, 1000000));
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(f.n, 1);
    ck_assert_int_eq(evl_timer_is_active(&t), 0);
    ck_assert_int_ge(evl_loop_run_once(loop, 3000000), 0);
    ck_assert_int_eq(f.n, 1);
    evl_loop_free(loop);
}
END_TEST

static void free_self(evl_timer *t)
{
    int *count = t->data;
    (*count)++;
    ck_assert_int_eq(evl_timer_stop(t), 0);
    memset(t, 0xa5, sizeof(*t));
    free(t);
}

START_TEST(test_timer_periodic_freed_from_own_callback)
{
    evl_loop *loop = new_loop();
    evl_timer *t = malloc(sizeof(*t));
    int count = 0;
    t->data = &count;
    ck_assert_rc(evl_timer_init(loop, t));
    ck_assert_rc(evl_timer_start(t, free_self, 0, 1000000));
    /* ASan/valgrind catch any touch after free. */
    ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(count, 1);
    ck_assert_uint_eq(evl_loop_next_deadline_ns(loop), 0);
    evl_loop_free(loop);
}
END_TEST

START_TEST(test_timer_restart_moves_deadline)
{
    evl_loop *loop = new_loop();
    evl_timer t[2];
    struct fired f = { .timers = t };
    for (int i = 0; i < 2; i++) {
        t[i].data = &f;
        ck_assert_rc(evl_timer_init(loop, &t[i]));
    }
    ck_assert_rc(evl_timer_start(&t[0], on_fire, 1000000, 0));
    ck_assert_rc(evl_timer_start(&t[1], on_fire, 2000000, 0));
    ck_assert_rc(evl_timer_start(&t[0], on_fire, 3000000, 0));   /* now after t[1] */
    run_until(loop, &f, 2);
    ck_assert_int_eq(f.order[0], 1);
    ck_assert_int_eq(f.order[1], 0);
    evl_loop_free(loop);
}
END_TEST

static void count_fire(evl_timer *t)
{
    (*(int *)t->data)++;
}

START_TEST(test_timer_100k_random_start_cancel_fire)
{
    evl_loop *loop = new_loop();
    enum { N = 100000 };
    evl_timer *t = calloc(N, sizeof(*t));
    int fired = 0;
    uint64_t base = evl_loop_now_ns(loop);
    srand(42);
    for (int i = 0; i < N; i++) {
        t[i].data = &fired;
        ck_assert_rc(evl_timer_init(loop, &t[i]));
        /* Deadlines within 2 ms around now: the set fires promptly, and the
         * small range forces many equal keys. */
        uint64_t due = base - 1000000 + (uint64_t)(rand() % 3000000);
        ck_assert_rc(evl_timer_start_at(&t[i], count_fire, due, 0));
    }
    int live = N;
    for (int i = 0; i < N; i += 2) {
        ck_assert_int_eq(evl_timer_stop(&t[i]), 1);
        live--;
    }
    for (int i = 0; i < 10000 && fired < live; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 1000000), 0);
    ck_assert_int_eq(fired, live);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(evl_timer_is_active(&t[i]), 0);
    ck_assert_uint_eq(evl_loop_next_deadline_ns(loop), 0);
    free(t);
    evl_loop_free(loop);
}
END_TEST

/* Ordering at scale: every firing must be in (deadline, start) order. */
struct order_check {
    uint64_t last_due;
    int last_idx;
    int n;
    int bad;
    evl_timer *base;
};

static void on_fire_ordered(evl_timer *t)
{
    struct order_check *c = t->data;
    int idx = (int)(t - c->base);
    if (t->due_ns < c->last_due || (t->due_ns == c->last_due && idx < c->last_idx))
        c->bad++;
    c->last_due = t->due_ns;
    c->last_idx = idx;
    c->n++;
}

START_TEST(test_timer_100k_fire_in_heap_order)
{
    evl_loop *loop = new_loop();
    enum { N = 100000 };
    evl_timer *t = calloc(N, sizeof(*t));
    struct order_check c = { .base = t, .last_idx = -1 };
    uint64_t base = evl_loop_now_ns(loop) - 1000000;
    srand(7);
    for (int i = 0; i < N; i++) {
        t[i].data = &c;
        ck_assert_rc(evl_timer_init(loop, &t[i]));
        uint64_t due = base + (uint64_t)(rand() % 1000);
        ck_assert_rc(evl_timer_start_at(&t[i], on_fire_ordered, due, 0));
    }
    for (int i = 1; i < N; i += 3)
        ck_assert_int_eq(evl_timer_stop(&t[i]), 1);
    int live = N - (N - 1 + 2) / 3;
    for (int i = 0; i < 100 && c.n < live; i++)
        ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(c.n, live);
    ck_assert_int_eq(c.bad, 0);
    free(t);
    evl_loop_free(loop);
}
END_TEST

/* A reference model: random starts, restarts and stops over few distinct
 * deadlines (so same-deadline buckets form, split and empty), then the
 * firing order must be (deadline, last start) order exactly. */
struct model_rec {
    int fired[2000];
    int n;
    evl_timer *base;
};

static void on_fire_model(evl_timer *t)
{
    struct model_rec *m = t->data;
    m->fired[m->n++] = (int)(t - m->base);
}

START_TEST(test_timer_random_ops_fire_in_deadline_then_start_order)
{
    enum { N = 500, OPS = 3000 };
    for (unsigned seed = 1; seed <= 20; seed++) {
        evl_loop *loop = new_loop();
        evl_timer *t = calloc(N, sizeof(*t));
        struct model_rec *m = calloc(1, sizeof(*m));
        m->base = t;
        uint64_t due[N], order[N];
        int live[N];
        uint64_t stamp = 0, base = evl_loop_now_ns(loop) - 1000000;
        srand(seed);
        for (int i = 0; i < N; i++) {
            t[i].data = m;
            ck_assert_rc(evl_timer_init(loop, &t[i]));
            live[i] = 0;
        }
        for (int op = 0; op < OPS; op++) {
            int i = rand() % N;
            if (rand() % 4 == 0) {
                ck_assert_int_eq(evl_timer_stop(&t[i]), live[i]);
                live[i] = 0;
            } else {
                /* Runs of the same deadline make buckets; few values make
                 * separate buckets share a deadline too. */
                due[i] = base + (uint64_t)((op / 7 + rand() % 2) % 5);
                ck_assert_rc(evl_timer_start_at(&t[i], on_fire_model, due[i], 0));
                order[i] = stamp++;
                live[i] = 1;
            }
        }
        int want[N], nw = 0;
        for (int i = 0; i < N; i++)
            if (live[i])
                want[nw++] = i;
        /* Sort the live ones by (deadline, last start). */
        for (int a = 1; a < nw; a++)
            for (int b = a; b > 0; b--) {
                int x = want[b - 1], y = want[b];
                if (due[x] < due[y] || (due[x] == due[y] && order[x] < order[y]))
                    break;
                want[b - 1] = y;
                want[b] = x;
            }
        for (int k = 0; k < 10 && m->n < nw; k++)
            ck_assert_int_ge(evl_loop_run_once(loop, 0), 0);
        ck_assert_int_eq(m->n, nw);
        for (int k = 0; k < nw; k++)
            ck_assert_msg(m->fired[k] == want[k], "seed %u: position %d fired %d, want %d",
                          seed, k, m->fired[k], want[k]);
        free(t);
        free(m);
        evl_loop_free(loop);
    }
}
END_TEST

/* A periodic timer whose callback runs the loop again (as a blocking
 * fill does): stopped by a timer of the nested run, it stays stopped;
 * left alone, it re-arms. */
struct nested {
    evl_loop *loop;
    evl_timer outer, stopper;
    int outer_calls, stop_it;
};

static void nested_stopper(evl_timer *t)
{
    struct nested *n = t->data;
    if (n->stop_it)
        ck_assert_int_eq(evl_timer_stop(&n->outer), 0);
}

static void nested_outer(evl_timer *t)
{
    struct nested *n = t->data;
    if (++n->outer_calls > 1)
        return;
    /* Periodic too: a nested periodic dispatch is what clobbered the
     * outer timer's re-arm state. */
    ck_assert_rc(evl_timer_start(&n->stopper, nested_stopper, 0, 50000000));
    ck_assert_int_ge(evl_loop_run_once(n->loop, 0), 0);   /* the nested run fires the stopper */
}

START_TEST(test_timer_periodic_stopped_inside_nested_run_stays_stopped)
{
    for (int stop_it = 0; stop_it <= 1; stop_it++) {
        struct nested n = { .stop_it = stop_it };
        n.loop = new_loop();
        n.outer.data = n.stopper.data = &n;
        ck_assert_rc(evl_timer_init(n.loop, &n.outer));
        ck_assert_rc(evl_timer_init(n.loop, &n.stopper));
        /* 30 ms, not 1: the callback's nested run must come before the
         * outer timer is due again, also under valgrind (make
         * check-valgrind), where it took more than a millisecond. */
        ck_assert_rc(evl_timer_start(&n.outer, nested_outer, 0, 30000000));
        ck_assert_int_ge(evl_loop_run_once(n.loop, 0), 0);
        ck_assert_int_eq(n.outer_calls, 1);
        ck_assert_int_eq(evl_timer_is_active(&n.outer), !stop_it);
        for (int i = 0; i < 50 && n.outer_calls < 2; i++)
            ck_assert_int_ge(evl_loop_run_once(n.loop, 2000000), 0);
        ck_assert_int_eq(n.outer_calls, stop_it ? 1 : 2);
        ck_assert_int_eq(evl_timer_stop(&n.stopper), 1);
        evl_loop_free(n.loop);
    }
}
END_TEST

START_TEST(test_timer_bad_arguments)
{
    evl_loop *loop = new_loop();
    evl_timer t;
    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(evl_timer_start(&t, on_fire, 0, 0), -EINVAL);   /* not initialised */
    ck_assert_int_eq(evl_timer_init(NULL, &t), -EINVAL);
    ck_assert_int_eq(evl_timer_init(loop, NULL), -EINVAL);
    ck_assert_rc(evl_timer_init(loop, &t));
    ck_assert_int_eq(evl_timer_start(&t, NULL, 0, 0), -EINVAL);
    ck_assert_int_eq(evl_timer_start(NULL, on_fire, 0, 0), -EINVAL);
    ck_assert_int_eq(evl_timer_stop(NULL), 0);
    evl_loop_free(loop);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("order");
    tcase_add_test(tc, test_timer_fires_in_deadline_order);
    tcase_add_test(tc, test_timer_equal_deadlines_fire_fifo);
    tcase_add_test(tc, test_timer_restart_moves_deadline);
    tcase_add_test(tc, test_timer_after_zero_from_callback_runs_next_iteration);
    tcase_add_test(tc, test_timer_random_ops_fire_in_deadline_then_start_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("cancel");
    tcase_add_test(tc, test_timer_cancel_from_same_batch);
    tcase_add_test(tc, test_timer_stop_is_idempotent_and_reports);
    tcase_add_test(tc, test_timer_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("periodic");
    tcase_add_test(tc, test_timer_periodic_repeats_until_stopped);
    tcase_add_test(tc, test_timer_periodic_stopped_from_own_callback);
    tcase_add_test(tc, test_timer_periodic_freed_from_own_callback);
    tcase_add_test(tc, test_timer_periodic_stopped_inside_nested_run_stays_stopped);
    suite_add_tcase(s, tc);
    tc = tcase_create("scale");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_timer_100k_random_start_cancel_fire);
    tcase_add_test(tc, test_timer_100k_fire_in_heap_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(timer_suite());
}
