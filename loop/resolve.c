/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* resolve.c - getaddrinfo in a pool of worker threads, answered on the loop.
 *
 * getaddrinfo blocks (for as long as a DNS server takes to answer), so it
 * runs in worker threads, as libuv's uv_getaddrinfo does.  Each loop has
 * at most one resolver, made by its first evl_resolve:
 *
 *   loop thread                        worker threads (<= max_threads)
 *   evl_resolve -> queue ------------> pop, getaddrinfo
 *                                      push to done, write the eventfd
 *   eventfd readable: pop done, call back
 *
 * One mutex guards the three lists (queue, running, done) and every
 * request's state.  A request lives on exactly one list until it is
 * delivered or cancelled.  Cancel frees a queued or done request at once;
 * a running one is only marked, and its worker frees it when getaddrinfo
 * returns, because the worker still uses its strings.
 *
 * The resolver outlives its loop when workers are still inside
 * getaddrinfo: evl_loop_free marks it orphaned (closing) and drops the
 * loop's reference, and the last worker out frees it.  Threads are
 * detached and exit after IDLE_NS without work or once the resolver is
 * closing, so a loop never waits for a DNS server to be freed.
 *
 * After fork only the forking thread exists in the child, and the mutex
 * may have been copied locked.  The child's copy of a resolver (fork_gen
 * differs from evl__forks) is therefore never locked: its requests move
 * to a fresh resolver with its own eventfd and threads (see
 * resolver_forked), and the old memory is freed as plain memory.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "evl-internal.h"

#define IDLE_NS UINT64_C(2000000000)     /* a worker without work exits after this */
#define DEFAULT_THREADS 4

enum req_state {
    REQ_QUEUED = 1,              /* on r->queue */
    REQ_RUNNING,                 /* on r->running, a worker is in getaddrinfo */
    REQ_DONE,                    /* on r->done, waiting for the loop thread */
    REQ_DELIVERING               /* on no list: its callback runs */
};

struct evl_resolve_req {
    struct evl__resolver *r;
    evl_resolve_cb cb;
    void *data;
    char *host, *service;        /* copies; NULL when not given */
    struct addrinfo hints;
    int has_hints;
    uint64_t delay_ns;           /* test hook: sleep before getaddrinfo */
    int state;                   /* REQ_* */
    int cancelled;               /* running and cancelled: the worker frees it */
    int status;                  /* 0 or -errno, once done */
    int eai;                     /* EAI_* of a getaddrinfo failure, else 0 */
    const char *why;             /* text of a failure (static storage) */
    struct addrinfo *res;        /* getaddrinfo's list on success */
    struct evl_resolve_req *next, *prev;
};

/* A doubly linked FIFO of requests. */
struct req_list {
    struct evl_resolve_req *head, *tail;
    size_t len;
};

struct evl__resolver {
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* work queued, or closing */
    struct req_list queue, running, done;
    unsigned max_threads;
    unsigned nthreads;           /* workers alive */
    unsigned nidle;              /* workers waiting on cv */
    size_t ncancelled;           /* on running but cancelled: not pending any more */
    unsigned refs;               /* the loop's (until it frees us) + one per worker */
    int closing;                 /* the loop is gone: workers free and exit */
    unsigned fork_gen;           /* evl__forks when made */
    int efd;                     /* eventfd: done list became non-empty */
    evl_watcher w;               /* the loop's watcher on efd */
    evl_loop *loop;
};

static _Atomic uint64_t test_delay_ns;
static atomic_uint live_threads;

void evl__resolver_set_test_delay(uint64_t delay_ns)
{
    atomic_store(&test_delay_ns, delay_ns);
}

unsigned evl__resolver_live_threads(void)
{
    return atomic_load(&live_threads);
}

/* ------------------------------------------------------------ lists */

static void list_push(struct req_list *l, struct evl_resolve_req *q)
{
    q->next = NULL;
    q->prev = l->tail;
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    l->len++;
}

static void list_remove(struct req_list *l, struct evl_resolve_req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        l->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        l->tail = q->prev;
    q->next = q->prev = NULL;
    l->len--;
}

static struct evl_resolve_req *list_pop(struct req_list *l)
{
    struct evl_resolve_req *q = l->head;
    if (q)
        list_remove(l, q);
    return q;
}

static void req_free(struct evl_resolve_req *q)
{
    if (q->res)
        freeaddrinfo(q->res);
    free(q->host);
    free(q->service);
    free(q);
}

/* ------------------------------------------------------------ errors */

/* The errno a getaddrinfo failure is reported as: a name that does not
 * exist is ENOENT, everything else (temporary failure, bad service, ...)
 * EIO, the same mapping Linux::Event::Connect has always used. */
static int eai_to_errno(int eai)
{
    if (eai == EAI_NONAME)
        return -ENOENT;
#ifdef EAI_NODATA
    if (eai == EAI_NODATA)
        return -ENOENT;
#endif
    return -EIO;
}

const char *evl_resolve_eai_name(int eai)
{
    static const struct { int code; const char *name; } names[] = {
        { EAI_AGAIN, "EAI_AGAIN" }, { EAI_BADFLAGS, "EAI_BADFLAGS" },
        { EAI_FAIL, "EAI_FAIL" }, { EAI_FAMILY, "EAI_FAMILY" },
        { EAI_MEMORY, "EAI_MEMORY" }, { EAI_NONAME, "EAI_NONAME" },
        { EAI_OVERFLOW, "EAI_OVERFLOW" }, { EAI_SERVICE, "EAI_SERVICE" },
        { EAI_SOCKTYPE, "EAI_SOCKTYPE" }, { EAI_SYSTEM, "EAI_SYSTEM" },
#ifdef EAI_NODATA
        { EAI_NODATA, "EAI_NODATA" },
#endif
#ifdef EAI_ADDRFAMILY
        { EAI_ADDRFAMILY, "EAI_ADDRFAMILY" },
#endif
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == eai)
            return names[i].name;
    return NULL;
}

/* RFC 6761 section 6.4: resolvers should answer names under "invalid."
 * negatively at once, without asking any server. */
static int is_invalid_tld(const char *host)
{
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--;
    if (n < 7 || strncasecmp(host + n - 7, "invalid", 7) != 0)
        return 0;
    return n == 7 || host[n - 8] == '.';
}

/* ------------------------------------------------------------ workers */

static void resolver_unref_locked_and_unlock(struct evl__resolver *r)
{
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
    }
}

/* Tells the loop thread the done list is not empty.  Called with the
 * mutex held, so a closing loop cannot close efd under us. */
static void notify_loop(struct evl__resolver *r)
{
    if (r->closing || r->efd < 0)
        return;
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(r->efd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is huge, the loop is awake anyway. */
}

static void run_one(struct evl_resolve_req *q)
{
    if (q->delay_ns > 0) {
        struct timespec ts = { .tv_sec = (time_t)(q->delay_ns / 1000000000u),
                               .tv_nsec = (long)(q->delay_ns % 1000000000u) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    struct addrinfo *res = NULL;
    int eai = getaddrinfo(q->host, q->service, q->has_hints ? &q->hints : NULL, &res);
    if (eai == 0) {
        q->status = 0;
        q->res = res;
        return;
    }
    q->eai = eai;
    q->status = eai_to_errno(eai);
    q->why = gai_strerror(eai);
}

static void *worker_main(void *arg)
{
    struct evl__resolver *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->queue.len == 0 && !r->closing && r->nthreads <= r->max_threads) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += (time_t)(IDLE_NS / 1000000000u);
            r->nidle++;
            int rc = pthread_cond_timedwait(&r->cv, &r->mu, &until);
            r->nidle--;
            if (rc == ETIMEDOUT && r->queue.len == 0)
                goto out;
        }
        /* Closing (the queue was emptied by the loop) or surplus after
         * evl_resolver_set_threads lowered the bound. */
        if (r->queue.len == 0 || r->nthreads > r->max_threads)
            break;
        struct evl_resolve_req *q = list_pop(&r->queue);
        q->state = REQ_RUNNING;
        list_push(&r->running, q);
        pthread_mutex_unlock(&r->mu);

        run_one(q);

        pthread_mutex_lock(&r->mu);
        list_remove(&r->running, q);
        if (q->cancelled) {
            r->ncancelled--;
            req_free(q);
            continue;
        }
        q->state = REQ_DONE;
        list_push(&r->done, q);
        notify_loop(r);
    }
out:
    r->nthreads--;
    atomic_fetch_sub(&live_threads, 1);
    resolver_unref_locked_and_unlock(r);
    return NULL;
}

/* Starts one worker; called with the mutex held.  Signals stay with the
 * loop thread (signalfd and Perl's handlers expect them there). */
static int spawn_worker(struct evl__resolver *r)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return -ENOMEM;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, worker_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    r->nthreads++;
    r->refs++;
    atomic_fetch_add(&live_threads, 1);
    return 0;
}

/* ------------------------------------------------------------ loop side */

static void deliver(evl_watcher *w, unsigned revents);

static int resolver_new(evl_loop *loop, struct evl__resolver **out)
{
    struct evl__resolver *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0) {
        int rc = -errno;
        free(r);
        return rc;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    r->max_threads = DEFAULT_THREADS;
    r->refs = 1;
    r->fork_gen = evl_fork_count();
    r->loop = loop;
    evl_watcher_init(&r->w, deliver, NULL, NULL);
    int rc = evl_watcher_start(loop, &r->w, r->efd, EVL_READ);
    if (rc < 0) {
        close(r->efd);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* The child's copy of a resolver made before fork: no worker of it exists
 * here, its mutex may be locked, and its eventfd is shared with the
 * parent (draining it would steal the parent's wake-ups).  Everything the
 * child still owes a callback moves to a new resolver: requests the
 * parent had queued or running start again, finished ones are delivered.
 * Returns the new resolver, or NULL (with loop->resolver NULL and every
 * request dropped) when it cannot be made. */
static struct evl__resolver *resolver_forked(evl_loop *loop)
{
    struct evl__resolver *old = loop->resolver;
    struct evl__resolver *r = NULL;
    loop->resolver = NULL;
    evl_watcher_stop(&old->w);   /* bookkeeping only: a child never edits the shared epoll set */
    close(old->efd);
    if (resolver_new(loop, &r) < 0)
        r = NULL;
    else
        r->max_threads = old->max_threads;
    struct req_list *lists[] = { &old->queue, &old->running, &old->done };
    for (size_t i = 0; i < 3; i++) {
        struct evl_resolve_req *q;
        while ((q = list_pop(lists[i])) != NULL) {
            if (r == NULL || q->cancelled) {   /* (only running ones are ever marked) */
                req_free(q);
                continue;
            }
            q->r = r;
            if (q->state == REQ_DONE) {
                list_push(&r->done, q);
            } else {
                if (q->res != NULL)   /* the parent's worker had just finished */
                    freeaddrinfo(q->res);
                q->res = NULL;
                q->state = REQ_QUEUED;
                q->eai = q->status = 0;
                q->why = NULL;
                list_push(&r->queue, q);
            }
        }
    }
    free(old);   /* not destroyed: it may have been copied locked */
    if (r == NULL)
        return NULL;
    loop->resolver = r;
    if (r->done.len > 0) {
        pthread_mutex_lock(&r->mu);
        notify_loop(r);
        pthread_mutex_unlock(&r->mu);
    }
    if (r->queue.len > 0) {
        pthread_mutex_lock(&r->mu);
        unsigned want = r->queue.len < r->max_threads ? (unsigned)r->queue.len : r->max_threads;
        while (r->nthreads < want && spawn_worker(r) == 0)
            ;
        pthread_mutex_unlock(&r->mu);
    }
    return r;
}

/* The loop's resolver, made (or remade in a forked child) on demand. */
static int resolver_get(evl_loop *loop, struct evl__resolver **out)
{
    struct evl__resolver *r = loop->resolver;
    if (r != NULL && r->fork_gen != evl_fork_count())
        r = resolver_forked(loop);
    if (r == NULL) {
        int rc = resolver_new(loop, &r);
        if (rc < 0)
            return rc;
        loop->resolver = r;
    }
    *out = r;
    return 0;
}

void evl__resolver_after_fork(evl_loop *loop)
{
    if (loop != NULL && loop->resolver != NULL && loop->resolver->fork_gen != evl_fork_count())
        resolver_forked(loop);
}

/* The eventfd is readable: run the callbacks of everything done.  Only
 * the requests done when the batch starts are delivered, so a callback
 * that starts requests answered at once cannot keep us here. */
static void deliver(evl_watcher *w, unsigned revents)
{
    (void)revents;
    struct evl__resolver *r = evl__container_of(w, struct evl__resolver, w);
    if (r->fork_gen != evl_fork_count()) {
        /* A forked child: the fd is the parent's too; move off it. */
        resolver_forked(r->loop);
        return;
    }
    uint64_t v;
    while (read(r->efd, &v, sizeof(v)) > 0)
        ;
    pthread_mutex_lock(&r->mu);
    size_t n = r->done.len;
    pthread_mutex_unlock(&r->mu);
    evl_loop *loop = r->loop;
    while (n-- > 0) {
        /* The resolver may have been replaced by a callback's evl_loop
         * free or fork; stop when it is no longer the loop's. */
        if (loop->resolver != r)
            return;
        pthread_mutex_lock(&r->mu);
        struct evl_resolve_req *q = list_pop(&r->done);
        if (q != NULL)
            q->state = REQ_DELIVERING;
        pthread_mutex_unlock(&r->mu);
        if (q == NULL)
            return;    /* cancelled meanwhile */
        q->cb(q, q->status, q->status == 0 ? q->res : NULL);
        req_free(q);
    }
}

int evl_resolve(evl_loop *loop, evl_resolve_req **out, const char *host, const char *service,
                const struct addrinfo *hints, evl_resolve_cb cb, void *data)
{
    if (out != NULL)
        *out = NULL;
    if (loop == NULL || cb == NULL || (host == NULL && service == NULL))
        return -EINVAL;
    struct evl__resolver *r;
    int rc = resolver_get(loop, &r);
    if (rc < 0)
        return rc;
    struct evl_resolve_req *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return -ENOMEM;
    q->r = r;
    q->cb = cb;
    q->data = data;
    if (hints != NULL) {
        /* Only the fields getaddrinfo reads from hints. */
        q->hints.ai_flags = hints->ai_flags;
        q->hints.ai_family = hints->ai_family;
        q->hints.ai_socktype = hints->ai_socktype;
        q->hints.ai_protocol = hints->ai_protocol;
        q->has_hints = 1;
    }
    int fail = 0;                /* answered without a worker */
    if (host != NULL && strlen(host) > EVL_RESOLVE_HOST_MAX) {
        /* No name that long can exist (DNS names stop at 253 bytes), and
         * nothing is gained by handing it to the system resolver. */
        q->status = -ENAMETOOLONG;
        q->why = "host name too long";
        fail = 1;
    } else if (host != NULL && is_invalid_tld(host)) {
        q->status = -ENOENT;
        q->eai = EAI_NONAME;
        q->why = gai_strerror(EAI_NONAME);
        fail = 1;
    } else {
        q->host = host ? strdup(host) : NULL;
        q->service = service ? strdup(service) : NULL;
        if ((host && !q->host) || (service && !q->service)) {
            req_free(q);
            return -ENOMEM;
        }
        q->delay_ns = atomic_load(&test_delay_ns);
        if (q->delay_ns == 0) {
            const char *env = getenv("EVL_RESOLVE_TEST_DELAY_MS");
            if (env != NULL)
                q->delay_ns = strtoull(env, NULL, 10) * 1000000u;
        }
    }

    pthread_mutex_lock(&r->mu);
    if (fail) {
        /* Through the done list, so the callback still runs from the loop
         * and never inside this call. */
        q->state = REQ_DONE;
        list_push(&r->done, q);
        notify_loop(r);
    } else {
        q->state = REQ_QUEUED;
        list_push(&r->queue, q);
        if (r->queue.len > r->nidle && r->nthreads < r->max_threads) {
            rc = spawn_worker(r);
            if (rc < 0 && r->nthreads == 0) {
                list_remove(&r->queue, q);
                pthread_mutex_unlock(&r->mu);
                req_free(q);
                return rc == -ENOMEM ? -ENOMEM : -EAGAIN;
            }
        }
        if (r->nidle > 0)
            pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (out != NULL)
        *out = q;
    return 0;
}

int evl_resolve_cancel(evl_resolve_req *q)
{
    if (q == NULL)
        return -EINVAL;
    struct evl__resolver *r = q->r;
    if (r->fork_gen != evl_fork_count()) {
        /* A forked child's copy: no thread holds it, the lock may be the
         * parent's; move the loop's requests (this one too) first. */
        if (r->loop->resolver == r)
            resolver_forked(r->loop);
        r = q->r;
    }
    pthread_mutex_lock(&r->mu);
    int rc = 1;
    switch (q->state) {
    case REQ_QUEUED:
        list_remove(&r->queue, q);
        pthread_mutex_unlock(&r->mu);
        req_free(q);
        return 1;
    case REQ_DONE:
        list_remove(&r->done, q);
        pthread_mutex_unlock(&r->mu);
        req_free(q);
        return 1;
    case REQ_RUNNING:
        if (!q->cancelled)
            r->ncancelled++;
        q->cancelled = 1;        /* the worker frees it */
        break;
    default:                     /* REQ_DELIVERING: its callback runs */
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void *evl_resolve_data(const evl_resolve_req *q)
{
    return q ? q->data : NULL;
}

int evl_resolve_eai(const evl_resolve_req *q)
{
    return q ? q->eai : 0;
}

const char *evl_resolve_strerror(const evl_resolve_req *q)
{
    return q && q->status != 0 ? q->why : NULL;
}

int evl_resolver_set_threads(evl_loop *loop, unsigned n)
{
    if (loop == NULL || n < 1 || n > EVL_RESOLVE_THREADS_MAX)
        return -EINVAL;
    struct evl__resolver *r;
    int rc = resolver_get(loop, &r);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    r->max_threads = n;
    /* Idle surplus threads notice the lower bound and exit. */
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

size_t evl_resolver_pending(const evl_loop *loop)
{
    if (loop == NULL || loop->resolver == NULL)
        return 0;
    struct evl__resolver *r = loop->resolver;
    if (r->fork_gen != evl_fork_count())
        return r->queue.len + r->running.len + r->done.len - r->ncancelled;
    pthread_mutex_lock(&r->mu);
    size_t n = r->queue.len + r->running.len + r->done.len - r->ncancelled;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void evl__resolver_free(evl_loop *loop)
{
    struct evl__resolver *r = loop->resolver;
    if (r == NULL)
        return;
    loop->resolver = NULL;
    evl_watcher_stop(&r->w);
    if (r->fork_gen != evl_fork_count()) {
        /* A forked child's copy: plain memory, no threads, maybe a
         * mutex copied locked. */
        struct req_list *lists[] = { &r->queue, &r->running, &r->done };
        struct evl_resolve_req *q;
        for (size_t i = 0; i < 3; i++)
            while ((q = list_pop(lists[i])) != NULL)
                req_free(q);
        close(r->efd);
        free(r);
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->closing = 1;
    struct evl_resolve_req *q;
    while ((q = list_pop(&r->queue)) != NULL)
        req_free(q);
    while ((q = list_pop(&r->done)) != NULL)
        req_free(q);
    for (q = r->running.head; q != NULL; q = q->next) {
        if (!q->cancelled)
            r->ncancelled++;
        q->cancelled = 1;
    }
    close(r->efd);
    r->efd = -1;
    r->loop = NULL;
    pthread_cond_broadcast(&r->cv);
    resolver_unref_locked_and_unlock(r);
}
