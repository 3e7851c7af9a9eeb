/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* layer-evloop.c - the :evloop buffering layer over an evl_stream.
 *
 * :evloop takes the place of :perlio, directly on :unix.  There is no
 * buffer of its own: the read buffer perl scans through fast gets
 * (Get_ptr/Get_cnt/Set_ptrcnt) is the stream's rbuf, and writes go into
 * the stream's write queue.  Blocking handles mirror PerlIOBuf_* step by
 * step (when a flush happens, how far the position moves, which flags
 * are set), so a program cannot tell the two apart by the bytes it sees;
 * t/perlio-differential.t checks that.  Non-blocking handles differ on
 * purpose: reads return what there is or EAGAIN without setting the
 * error flag, writes always queue, and nothing is ever dropped (stock
 * :perlio discards the unwritten part of its buffer on EAGAIN).
 *
 * Sharing.  perl gives a socket two PerlIOs over one fd (IoIFP "r" and
 * IoOFP "w"); binmode pushes :evloop onto both.  They meet in a registry
 * keyed by (interpreter, fd, device, inode) and share one evl_stream: the
 * read handle owns its rbuf, the write handle its queue.  Regular files
 * are never shared: two handles on one file keep separate buffers, as
 * they do under :perlio.  The fd itself stays :unix's (the stream is
 * EVL_STREAM_NOCLOSE), so perl's per-fd refcount still decides when it
 * is closed.
 *
 * Waiting.  A blocking fd is polled before each read or write so that a
 * signal interrupts the wait: on EINTR the %SIG handlers run under the
 * handle lock (as :unix does), and a handler that closes the handle
 * makes the interrupted call return an error instead of touching freed
 * memory.  A die in a handler propagates to the caller.
 *
 * Sections: shared streams, waiting, helpers, slots, C API.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer-internal.h"

/* ------------------------------------------------------------ shared streams */


/* perl flushes every handle before fork, but a non-blocking one may keep
 * part of its queue (see PerlIOEvloop_flush); the child's copy of that
 * queue is the parent's to write, so the child drops it on first use
 * instead of sending it twice.  The stream's own writes do the same
 * (loop/stream.c, by the same fork_gen field); the layer checks before
 * it appends to the queue itself. */
static void forget_parents_queue(evl_pio_shared *sh)
{
    unsigned forks = evl_fork_count();

    if (sh->s.fork_gen != forks) {
        sh->s.fork_gen = forks;
        evl_buf_consume(&sh->s.wbuf, evl_buf_len(&sh->s.wbuf));
    }
}

#define REG_BUCKETS 64
/* Threads push layers concurrently; each entry is then used only by its
 * owner, so only the lookup needs the lock. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static evl_pio_shared *reg[REG_BUCKETS];

/* Returns a referenced stream for fd (new or shared), or NULL with errno. */
static evl_pio_shared *shared_get(void *owner, int fd, const struct stat *st, size_t read_size)
{
    evl_pio_shared *sh;
    int shareable = !S_ISREG(st->st_mode);
    unsigned b = (unsigned)fd % REG_BUCKETS;

    if (shareable) {
        pthread_mutex_lock(&reg_lock);
        for (sh = reg[b]; sh != NULL; sh = sh->next) {
            /* Device and inode catch an fd closed behind perl's back and
             * reused for something else. */
            if (sh->owner == owner && sh->fd == fd && sh->dev == st->st_dev &&
                sh->ino == st->st_ino) {
                sh->refcnt++;
                pthread_mutex_unlock(&reg_lock);
                return sh;
            }
        }
        pthread_mutex_unlock(&reg_lock);
    }
    sh = calloc(1, sizeof *sh);
    if (sh == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = evl_stream_init(&sh->s, NULL, fd, EVL_STREAM_NOCLOSE, NULL);
    if (rc == 0)
        rc = evl_stream_set_read_limits(&sh->s, 0, read_size);
    if (rc < 0) {
        evl_stream_free(&sh->s);
        free(sh);
        errno = -rc;
        return NULL;
    }
    sh->owner = owner;
    sh->fd = fd;
    sh->dev = st->st_dev;
    sh->ino = st->st_ino;
    sh->refcnt = 1;
    sh->regular = !shareable;
    if (shareable) {
        pthread_mutex_lock(&reg_lock);
        sh->next = reg[b];
        reg[b] = sh;
        sh->registered = 1;
        pthread_mutex_unlock(&reg_lock);
    }
    return sh;
}

/* On a proactor the kernel may still hold ops of the stream after its
 * queue is written (read-ahead chunks, a cancelled read), naming the fd
 * that :unix is about to close.  Closing the stream (NOCLOSE: it keeps
 * the fd) cancels them and finishes once the kernel has let go; the loop
 * runs until then. */
static void on_px_closed(evl_stream *s)
{
    ((evl_pio_shared *)s->data)->px_closed = 1;
}

/* One settle runs the loop at a time (per thread).  Its callbacks may
 * close more handles, whose settles would each run the loop again,
 * inside it, one level deeper per stream: a burst of failing streams
 * (thousands of peers resetting at once) overflowed the C stack.  A
 * settle inside another leaves its stream to the graveyard instead: its
 * cancels are in the kernel already (io_uring looks the fd up when the
 * ring is entered, and a cancel enters it at once), so :unix may close
 * the fd, and the running loop reaps the completions and frees what the
 * ops held (stream-proactor.c). */
static __thread int settling;

static void settle(evl_pio_shared *sh)
{
    if (sh->s.px == NULL)
        return;
    sh->px_closed = 0;
    sh->s.data = sh;
    sh->s.cb.on_close = on_px_closed;
    if (evl_stream_close(&sh->s) == 1 && settling == 0) {
        settling = 1;
        while (!sh->px_closed && evl_loop_run_once(sh->loop, -1) >= 0)
            ;
        settling = 0;
    }
}

static void drop_keep(pTHX_ evl_pio_shared *sh)
{
    SV *keep = sh->keep;
    sh->keep = NULL;
    /* Only the interpreter that took the reference may drop it. */
    if (keep != NULL && sh->keep_owner == (void *)aTHX)
        SvREFCNT_dec(keep);
}

/* Clears what evl__pio_bind installed. */
static void clear_binding(evl_pio_shared *sh)
{
    memset(&sh->s.cb, 0, sizeof sh->s.cb);
    sh->s.data = NULL;
    evl_stream_set_framer(&sh->s, NULL);
    evl_stream_set_watermarks(&sh->s, 0, 0, 0);
    evl_stream_set_read_limits(&sh->s, 0, sh->s.read_size);
    sh->bound = 0;
    sh->gone = NULL;
    sh->bound_data = NULL;
}

static void shared_put(pTHX_ evl_pio_shared *sh)
{
    int last;
    pthread_mutex_lock(&reg_lock);
    last = --sh->refcnt == 0;
    if (last && sh->registered) {
        evl_pio_shared **pp = &reg[(unsigned)sh->fd % REG_BUCKETS];
        while (*pp != sh)
            pp = &(*pp)->next;
        *pp = sh->next;
    }
    pthread_mutex_unlock(&reg_lock);
    void (*gone)(void *) = NULL;
    void *gone_data = NULL;
    if (last && sh->bound) {
        /* The driver's callbacks go before settle() can run them; it
         * hears of it once settle's loop runs are over. */
        gone = sh->gone;
        gone_data = sh->bound_data;
        evl_stream_read_stop(&sh->s);
        clear_binding(sh);
    }
    if (last) {
        /* Not at global destruction, where running the loop would call
         * back into objects being destroyed: the loop goes soon after,
         * and with it whatever the kernel still held. */
        if (PL_phase != PERL_PHASE_DESTRUCT)
            settle(sh);
        evl_stream_free(&sh->s);
        drop_keep(aTHX_ sh);
        free(sh);
        if (gone != NULL)
            gone(gone_data);
    }
}

/* ------------------------------------------------------------ the layer struct */



#define EVLOOP_BUFSIZ_DEFAULT ((size_t)PERLIOBUF_DEFAULT_BUFSIZ)

/* Sets errno and, except for EAGAIN (":unix's rule"), the error flag. */
static void set_error(pTHX_ PerlIO *f, int err)
{
    SETERRNO(err, SS_IVCHAN);
    if (err != EAGAIN) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        Perl_PerlIO_save_errno(aTHX_ f);
    }
}

static int nonblocking(const evl_pio_shared *sh)
{
    if (sh->loop != NULL)
        return 1;
    if (sh->regular)
        return 0;
    int fl = fcntl(sh->fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* ------------------------------------------------------------ waiting */

static void lockcnt_dec(pTHX_ void *head)
{
    PERL_UNUSED_CONTEXT;
    ((PerlIOl *)head)->flags--;
}

PerlIOl *evl__pio_lock(pTHX_ PerlIO *f)
{
    /* The slot, not f: the destructor may run while unwinding a die,
     * when the layers are cleared but the table slot still stands. */
    PerlIOl *head = PerlIOBase(f)->head;
    ENTER;
    SAVEDESTRUCTOR_X(lockcnt_dec, head);
    head->flags++;
    return head;
}

int evl__pio_unlock(pTHX_ PerlIO *f, PerlIOl *head)
{
    LEAVE;
    if (!(PerlIOBase(f)->flags & PERLIO_F_CLEARED))
        return 0;
    /* perlio.c's S_perlio_async_run frees what was cleared; with an
     * outer lock still held (an :evline above us waiting on us) that
     * layer's unlock does it, after we have returned. */
    if (head->flags == 0) {
        PerlIO *p = (PerlIO *)head;
        while (PerlIOValid(p)) {
            if (PerlIOBase(p)->flags & PERLIO_F_CLEARED) {
                PerlIOl *l = *p;
                *p = l->next;
                Safefree(l);
            } else {
                p = PerlIONext(p);
            }
        }
    }
    return 1;
}

/* Runs pending %SIG handlers.  Returns EVL__PIO_GONE if one of them
 * closed or popped the handle, else 0. */
static int run_signals(pTHX_ PerlIO *f)
{
    PerlIOl *head = evl__pio_lock(aTHX_ f);
    PERL_ASYNC_CHECK();
    return evl__pio_unlock(aTHX_ f, head) ? EVL__PIO_GONE : 0;
}

/* Waits until fd is ready for events.  Returns 0 when ready, 1 after
 * %SIG handlers ran (the caller looks at its state again: a handler may
 * have read or flushed the handle itself), EVL__PIO_GONE, or -errno.
 *
 * A signal that lands between the PL_sig_pending check and the start of
 * a plain poll() would be noticed only when the fd becomes ready, maybe
 * never (the handler may be what makes it ready).  So the blocking wait
 * is ppoll() with every signal blocked up to it and the old mask
 * restored atomically inside it.  A poll with no timeout comes first,
 * so a fd that is already ready costs one syscall. */
static int wait_fd(pTHX_ PerlIO *f, int fd, short events)
{
    for (;;) {
        if (PL_sig_pending) {
            if (run_signals(aTHX_ f) == EVL__PIO_GONE)
                return EVL__PIO_GONE;
            return 1;
        }
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, 0);
        if (n == 0) {
            sigset_t all, old;
            sigfillset(&all);
            pthread_sigmask(SIG_BLOCK, &all, &old);
            if (PL_sig_pending) {
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                continue;
            }
            n = ppoll(&p, 1, NULL, &old);
            int saved = errno;
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            errno = saved;
        }
        if (n > 0)
            return (p.revents & POLLNVAL) ? -EBADF : 0;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
    }
}

/* ------------------------------------------------------------ helpers */

/* Queues bytes without writing them (the stream's queue used as a cork).
 * evl_stream_write would write at once, one syscall per print, and
 * would break :perlio's flush points. */
static int queue_bytes(evl_pio_shared *sh, const void *p, size_t n)
{
    return evl_stream_queue(&sh->s, p, n);
}

/* :perlio drops a buffer it failed to write (PerlIOBuf_flush), and the
 * handle's error flag alone says so: a later flush has nothing left to
 * write, a print on the handle fails without a write (perl checks the
 * flag), and one after clearerr writes again (EFBIG, ENOSPC, even EPIPE
 * need not last).  A handle under a loop keeps the stream's sticky error
 * instead: its loop or Stream has acted on it. */
static void drop_failed_queue(evl_pio_shared *sh)
{
    if (sh->loop != NULL || sh->bound)
        return;
    evl_buf_consume(&sh->s.wbuf, evl_buf_len(&sh->s.wbuf));
    sh->s.err = 0;
}

/* Writes the queue out.  wait: until it is empty (polling, with signals
 * handled), else only what the fd takes now.  Returns 0, -1 (errno and
 * the error flag set) or EVL__PIO_GONE. */
static int drain(pTHX_ PerlIO *f, int wait)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    evl_pio_shared *sh = e->sh;
    forget_parents_queue(sh);
    /* Polling first keeps a blocking write from sitting in the kernel,
     * deaf to signals, when the fd is full.  Not for sockets: their
     * writes never block (MSG_DONTWAIT), and POLLOUT understates their
     * room (a unix socket reports it only with 3/4 of its buffer free),
     * so a print the kernel would take could wait for a peer that is not
     * reading; they poll only after a write left bytes over. */
    int poll_first = wait && !sh->regular && !nonblocking(sh) &&
                     !(sh->s.flags & EVL_STREAM_SOCKET);
    if (wait && sh->s.px != NULL) {
        /* A proactor's queue goes out through completions: the loop has
         * to run (its callbacks too) until the queue is written. */
        size_t before = evl_stream_queued(&sh->s);
        sh->busy++;
        int rc = evl_stream_flush_wait(&sh->s);
        sh->busy--;
        e->posn += (Off_t)(before - evl_stream_queued(&sh->s));
        if (rc < 0) {
            set_error(aTHX_ f, -rc);
            return -1;
        }
        return 0;
    }
    for (;;) {
        size_t before = evl_stream_queued(&sh->s);
        if (before == 0)
            return 0;
        if (poll_first) {
            int w = wait_fd(aTHX_ f, sh->fd, POLLOUT);
            if (w == EVL__PIO_GONE)
                return w;
            if (w == 1)
                continue;
            if (w < 0) {
                set_error(aTHX_ f, -w);
                return -1;
            }
        }
        sh->busy++;
        ssize_t left = evl_stream_flush(&sh->s);
        sh->busy--;
        if (left < 0) {
            set_error(aTHX_ f, (int)-left);
            drop_failed_queue(sh);
            return -1;
        }
        e->posn += (Off_t)(before - (size_t)left);
        if (left == 0 || !wait)
            return 0;
        poll_first = !sh->regular;
    }
}

/* PerlIOBuf_flush: write out the queue, or on the read side move the
 * fd back to the logical position and drop the read-ahead (kept when
 * the fd cannot seek, or it would be lost).  Returns 0, -1 or GONE. */
static int flush_layer(pTHX_ PerlIO *f, int wait)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PerlIO *n = PerlIONext(f);
    int code = 0;
    if (e->sh == NULL)
        return 0;
    if (evl__pio_wlen(f, e) > 0) {
        int rc = drain(aTHX_ f, wait);
        if (rc == EVL__PIO_GONE)
            return rc;
        if (rc < 0)
            code = -1;
    } else {
        size_t rlen = evl__pio_rlen(f, e);
        if (rlen > 0) {
            if (PerlIOValid(n) && PerlIO_seek(n, e->posn - (Off_t)rlen, SEEK_SET) == 0) {
                e->posn = PerlIO_tell(n);
                evl_buf_consume(evl__pio_rbuf(e), rlen);
            } else {
                return code;
            }
        }
    }
    e->state &= ~ST_RDBUF;
    e->rd_room = 0;
    if (PerlIOValid(n) && PerlIO_flush(n) != 0)
        code = -1;
    return code;
}

/* Flush point inside Write: a blocking fd drains, a non-blocking one
 * writes what it can and keeps the rest queued. */
static int flush_for_write(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    int wait = !nonblocking(e->sh);
    return wait ? flush_layer(aTHX_ f, 1) : drain(aTHX_ f, 0);
}

/* PerlIOBuf_fill's work: one read into the buffer, appended to what is
 * there (so :evline can ask for more while a partial line waits).
 * Returns 0 (bytes arrived), -1 (EOF or error, flag set),
 * EVL__PIO_AGAIN or EVL__PIO_GONE. */
static int fill_layer(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    evl_pio_shared *sh = e->sh;
    if (sh == NULL) {
        set_error(aTHX_ f, EBADF);
        return -1;
    }
    e->state &= ~(ST_PHANTOM | ST_AGAIN);
    if (evl__pio_wlen(f, e) > 0) {
        int rc = flush_layer(aTHX_ f, 1);
        if (rc != 0)
            return rc;
    }
    if (PerlIOBase(f)->flags & PERLIO_F_TTY)
        PerlIOBase_flush_linebuf(aTHX);
    if (evl__pio_rlen(f, e) == 0) {
        /* PerlIOBuf_fill starts from an empty buffer. */
        e->state &= ~ST_RDBUF;
        e->rd_room = 0;
    }
    /* :unix keeps EOF and read errors sticky until clearerr or a seek
     * (its Read returns 0 while either flag is up).  :evloop reads the fd
     * itself but keeps those flags on :unix, where perl's own seek,
     * clearerr and :pop/push find them, exactly as under :perlio. */
    PerlIO *n = PerlIONext(f);
    if (PerlIOValid(n) && (PerlIOBase(n)->flags & (PERLIO_F_EOF | PERLIO_F_ERROR))) {
        PerlIOBase(f)->flags |= PERLIO_F_EOF;
        return -1;
    }
    for (;;) {
        int nb = nonblocking(sh);
        if (!nb && !sh->regular) {
            int w = wait_fd(aTHX_ f, sh->fd, POLLIN);
            if (w == EVL__PIO_GONE)
                return w;
            if (w == 1) {
                /* A handler may have read the handle: data in hand is
                 * as good as a fill. */
                if (evl__pio_rlen(f, e) > 0)
                    return 0;
                continue;
            }
            if (w < 0) {
                set_error(aTHX_ f, -w);
                return -1;
            }
        }
        size_t want = nb || sh->regular ? e->big_read : e->bufsiz;
        if (sh->s.read_size != want)
            evl_stream_set_read_limits(&sh->s, sh->s.rmax, want);
        sh->busy++;
        ssize_t n = evl_stream_fill(&sh->s);
        sh->busy--;
        if (n > 0) {
            e->rgen++;
            e->posn += n;
            e->state |= ST_RDBUF;
            return 0;
        }
        if (n == 0) {
            PerlIOBase(f)->flags |= PERLIO_F_EOF;
            if (PerlIOValid(PerlIONext(f)))
                PerlIOBase(PerlIONext(f))->flags |= PERLIO_F_EOF;
            SETERRNO(0, 0);   /* as :unix does at EOF */
            return -1;
        }
        if (n == -EAGAIN) {
            if (nb) {
                SETERRNO(EAGAIN, SS_IVCHAN);
                e->state |= ST_AGAIN;
                return EVL__PIO_AGAIN;
            }
            continue;   /* a blocking fd raced with another reader */
        }
        if (PerlIOValid(PerlIONext(f)))
            PerlIOBase(PerlIONext(f))->flags |= PERLIO_F_ERROR;
        set_error(aTHX_ f, (int)-n);
        return -1;
    }
}

/* Options: "bufsiz=N,wmax=N" (either may be left out). */
struct evloop_opts {
    size_t bufsiz;
    size_t wmax;
    int bufsiz_set;
};

/* big_read unless bufsiz=N says otherwise: the core's default, as big
 * as a pure-Perl reader's sysread usually is. */
#define EVLOOP_BIG_READ_DEFAULT ((size_t)64 * 1024)

static int parse_size(const char *p, size_t len, size_t *out)
{
    size_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9' || v > ((size_t)-1 - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

void evl__pio_warn(pTHX_ const char *fmt, const char *a, const char *b)
{
    Perl_ck_warner(aTHX_ packWARN(WARN_LAYER), fmt, a, b);
}

static int parse_opts(pTHX_ SV *arg, struct evloop_opts *o)
{
    o->bufsiz = EVLOOP_BUFSIZ_DEFAULT;
    o->wmax = 0;
    o->bufsiz_set = 0;
    if (arg == NULL || !SvOK(arg))
        return 0;
    STRLEN len;
    const char *s = SvPV_const(arg, len);
    const char *end = s + len;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        const char *eq = memchr(s, '=', (size_t)(item_end - s));
        size_t klen = eq ? (size_t)(eq - s) : (size_t)(item_end - s);
        size_t v;
        int ok = 0;
        if (eq != NULL && parse_size(eq + 1, (size_t)(item_end - eq - 1), &v) == 0) {
            if (klen == 6 && memcmp(s, "bufsiz", 6) == 0 && v > 0) {
                o->bufsiz = v;
                o->bufsiz_set = 1;
                ok = 1;
            } else if (klen == 4 && memcmp(s, "wmax", 4) == 0) {
                o->wmax = v;
                ok = 1;
            }
        }
        if (!ok && item_end > s) {
            SV *item = newSVpvn_flags(s, (STRLEN)(item_end - s), SVs_TEMP);
            evl__pio_warn(aTHX_ "PerlIO::evloop: bad argument '%s' to :%s "
                          "(expected bufsiz=N or wmax=N)", SvPV_nolen(item), "evloop");
            SETERRNO(EINVAL, LIB_INVARG);
            return -1;
        }
        s = comma ? comma + 1 : end;
    }
    return 0;
}

int evl__pio_is_evloop(PerlIO *f)
{
    if (!PerlIOValid(f) || PerlIOBase(f)->tab == NULL)
        return 0;
    const PerlIO_funcs *tab = PerlIOBase(f)->tab;
    return tab == &PerlIOEvloop_funcs || strcmp(tab->name, "evloop") == 0;
}

int evl__pio_in_eof_op(pTHX)
{
    return PL_op != NULL && PL_op->op_type == OP_EOF;
}

static int is_layer(PerlIO *f, const PerlIO_funcs *tab, const char *name)
{
    return PerlIOValid(f) && PerlIOBase(f)->tab != NULL &&
           (PerlIOBase(f)->tab == tab || strcmp(PerlIOBase(f)->tab->name, name) == 0);
}

/* A :perlio directly below would be a second buffer (open() and
 * pipe/socket handles come with one): take over its unread input and
 * its mode flags, then remove it.  Returns the saved input (malloc'd,
 * *len bytes) or NULL. */
static char *absorb_perlio(pTHX_ PerlIO *f, size_t *len, U32 *flags)
{
    PerlIO *below = PerlIONext(f);
    char *saved = NULL;
    *len = 0;
    /* Its write buffer goes out; on a seekable fd its read-ahead is given
     * back to the fd by the same flush. */
    PerlIO_flush(below);
    SSize_t cnt = PerlIO_get_cnt(below);
    if (cnt > 0) {
        saved = malloc((size_t)cnt);
        if (saved != NULL) {
            STDCHAR *ptr = PerlIO_get_ptr(below);
            memcpy(saved, ptr, (size_t)cnt);
            PerlIO_set_ptrcnt(below, ptr + cnt, 0);
            *len = (size_t)cnt;
        }
    }
    *flags = PerlIOBase(below)->flags & (PERLIO_F_UTF8 | PERLIO_F_LINEBUF | PERLIO_F_UNBUF);
    PerlIO_pop(aTHX_ below);
    return saved;
}

/* ------------------------------------------------------------ slots */

static IV PerlIOEvloop_pushed(pTHX_ PerlIO *f, const char *mode, SV *arg, PerlIO_funcs *tab)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    struct evloop_opts o;
    char *absorbed = NULL;
    size_t absorbed_len = 0;
    U32 inherit = 0;

    if (parse_opts(aTHX_ arg, &o) < 0)
        return -1;
    PerlIO *below = PerlIONext(f);
    if (is_layer(below, &PerlIOEvloop_funcs, "evloop")) {
        /* binmode(:evloop) on a handle that has it: nothing to do, and
         * a second layer over the same fd would only get in the way. */
        PerlIO_pop(aTHX_ f);
        return 0;
    }
    if (is_layer(below, &PerlIO_perlio, "perlio") && EVL__PIO_LOCKCNT(f) == 0)
        absorbed = absorb_perlio(aTHX_ f, &absorbed_len, &inherit);
    below = PerlIONext(f);
    if (!is_layer(below, &PerlIO_unix, "unix")) {
        free(absorbed);
        evl__pio_warn(aTHX_ "PerlIO::evloop: :%s must sit directly on :unix (found :%s)",
                      "evloop", PerlIOValid(below) && PerlIOBase(below)->tab
                                    ? PerlIOBase(below)->tab->name : "nothing");
        SETERRNO(EINVAL, LIB_INVARG);
        return -1;
    }
    int fd = (int)PerlIO_fileno(below);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        free(absorbed);
        SETERRNO(EBADF, SS_IVCHAN);
        return -1;
    }
    e->bufsiz = o.bufsiz;
    e->big_read = o.bufsiz_set || o.bufsiz > EVLOOP_BIG_READ_DEFAULT ? o.bufsiz
                                                                   : EVLOOP_BIG_READ_DEFAULT;
    e->wmax = o.wmax;
    e->sh = shared_get(aTHX, fd, &st, o.bufsiz);
    if (e->sh == NULL) {
        free(absorbed);
        return -1;
    }
    if (absorbed_len > 0 && evl_buf_prepend(evl__pio_rbuf(e), absorbed, absorbed_len) < 0) {
        free(absorbed);
        SETERRNO(ENOMEM, SS_IVCHAN);
        return -1;   /* Popped releases the stream */
    }
    free(absorbed);
    if (isatty(fd))
        PerlIOBase(f)->flags |= PERLIO_F_LINEBUF | PERLIO_F_TTY;
    Off_t posn = PerlIO_tell(below);
    if (posn != (Off_t)-1)
        e->posn = posn;
    IV code = PerlIOBase_pushed(aTHX_ f, mode, arg, tab);
    PerlIOBase(f)->flags |= inherit;
    return code;
}

static IV PerlIOEvloop_popped(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    if (e->sh != NULL) {
        /* perliol.pod: unconsumed input goes back to the layer below
         * (into a :pending there), so binmode(:pop) loses nothing.  At
         * global destruction nobody will read it. */
        size_t rlen = evl__pio_rlen(f, e);
        if (rlen > 0 && PL_phase != PERL_PHASE_DESTRUCT && PerlIOValid(PerlIONext(f)) &&
            !(e->state & ST_CLOSING)) {
            evl_buf *rb = evl__pio_rbuf(e);
            PerlIO_unread(PerlIONext(f), evl_buf_data(rb), rlen);
            evl_buf_consume(rb, rlen);
        }
        shared_put(aTHX_ e->sh);
        e->sh = NULL;
    }
    PerlIOBase(f)->flags &= ~(PERLIO_F_RDBUF | PERLIO_F_WRBUF);
    return 0;
}

/* The layers below us that buffer (the default :perlio) would be a
 * second buffer, so the open goes to the first non-buffering layer
 * below; Pushed removes one that comes in another way. */
static PerlIO *PerlIOEvloop_open(pTHX_ PerlIO_funcs *self, PerlIO_list_t *layers, IV n,
                                 const char *mode, int fd, int imode, int perm, PerlIO *f,
                                 int narg, SV **args)
{
    if (PerlIOValid(f)) {
        /* Reopen (perl itself never does this): as PerlIOBuf_open. */
        PerlIO *next = PerlIONext(f);
        PerlIO_funcs *tab = PerlIO_layer_fetch(aTHX_ layers, n - 1, PerlIOBase(next)->tab);
        if (tab && tab->Open)
            next = (*tab->Open)(aTHX_ tab, layers, n - 1, mode, fd, imode, perm, next, narg,
                                args);
        if (!next || (*PerlIOBase(f)->tab->Pushed)(aTHX_ f, mode, PerlIOArg, self) != 0)
            return NULL;
        return f;
    }
    IV k = n - 1;
    PerlIO_funcs *tab = NULL;
    while (k >= 0) {
        tab = PerlIO_layer_fetch(aTHX_ layers, k, NULL);
        if (tab && !(tab->kind & PERLIO_K_BUFFERED))
            break;
        k--;
    }
    if (k < 0) {
        /* Only buffering layers below (e.g. a scalar handle): open the
         * nearest; Pushed then refuses to sit on it. */
        k = n - 1;
        tab = PerlIO_layer_fetch(aTHX_ layers, k, PERLIO_FUNCS_CAST(&PerlIO_unix));
    }
    int init = *mode == IoTYPE_IMPLICIT;
    if (tab && tab->Open)
        f = (*tab->Open)(aTHX_ tab, layers, k, mode, fd, imode, perm, f, narg, args);
    else
        SETERRNO(EINVAL, LIB_INVARG);
    if (f == NULL)
        return NULL;
    if (PerlIO_push(aTHX_ f, self, mode, PerlIOArg) == NULL) {
        /* The open fails; close() pops what was pushed. */
        int saved = errno;
        PerlIO_close(f);
        errno = saved;
        return NULL;
    }
    if (init && PerlIO_fileno(f) == 2)
        PerlIOBase(f)->flags |= PERLIO_F_UNBUF;   /* initial stderr, as :perlio */
    return f;
}

static IV PerlIOEvloop_binmode(pTHX_ PerlIO *f)
{
    /* Bytes in, bytes out: :raw keeps the layer, as it keeps :perlio. */
    PERL_UNUSED_CONTEXT;
    PerlIOBase(f)->flags &= ~PERLIO_F_UTF8;
    return 0;
}

static SV *PerlIOEvloop_getarg(pTHX_ PerlIO *f, CLONE_PARAMS *param, int flags)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PERL_UNUSED_ARG(param);
    PERL_UNUSED_ARG(flags);
    /* A plain string even for a thread clone: Pushed needs nothing from
     * the parent interpreter, so no clone token (via.xs) is needed. */
    SV *sv = newSVpvs("");
    /* An explicit bufsiz at or below the default also fixes big_read. */
    if (e->bufsiz != EVLOOP_BUFSIZ_DEFAULT || e->big_read < EVLOOP_BIG_READ_DEFAULT)
        sv_catpvf(sv, "bufsiz=%" UVuf, (UV)e->bufsiz);
    if (e->wmax != 0)
        sv_catpvf(sv, "%swmax=%" UVuf, SvCUR(sv) ? "," : "", (UV)e->wmax);
    if (SvCUR(sv) == 0) {
        SvREFCNT_dec(sv);
        return newSV(0);   /* no "()" in PerlIO::get_layers */
    }
    return sv;
}

static PerlIO *PerlIOEvloop_dup(pTHX_ PerlIO *f, PerlIO *o, CLONE_PARAMS *param, int flags)
{
    /* PerlIOBase_dup dups the layers below (a new fd for open "<&"; the
     * same fd for a thread clone) and pushes us again with Getarg's
     * options, so Pushed has already built the new handle's stream: a
     * clone in another thread gets its own, never the parent's.  Like
     * PerlIOBuf_dup, buffered input is not copied (perl flushed o
     * first, which on a file gave the read-ahead back to the fd). */
    return PerlIOBase_dup(aTHX_ f, o, param, flags);
}

/* PerlIOBase_read's loop over our own buffer, with two differences for
 * non-blocking fds: nothing at all is -1/EAGAIN rather than 0 (which
 * perl's read() would take for end of file), and inside eof() the
 * missing byte is faked.  do_eof() calls getc and then ungetc, and says
 * "end of file" whenever getc fails, even for EAGAIN, so an idle
 * non-blocking socket would read as finished.  Inside eof() only, a
 * stand-in byte is returned and the ungetc that follows swallows it. */
static SSize_t PerlIOEvloop_read(pTHX_ PerlIO *f, void *vbuf, Size_t count)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    STDCHAR *buf = (STDCHAR *)vbuf;
    Size_t got = 0;

    if (!(PerlIOBase(f)->flags & PERLIO_F_CANREAD) || e->sh == NULL) {
        set_error(aTHX_ f, EBADF);
        return 0;
    }
    while (count > 0) {
        evl_buf *rb = evl__pio_rbuf(e);
        size_t avail = evl_buf_len(rb);
        if (avail > 0) {
            size_t take = avail < count ? avail : count;
            memcpy(buf + got, evl_buf_data(rb), take);
            evl__buf_consume(rb, take);
            e->rd_room += take;
            got += take;
            count -= take;
            continue;
        }
        int rc = fill_layer(aTHX_ f);
        if (rc == EVL__PIO_GONE)
            return got > 0 ? (SSize_t)got : -1;
        if (rc == EVL__PIO_AGAIN && got == 0) {
            if (count == 1 && evl__pio_in_eof_op(aTHX)) {
                buf[0] = 0;
                e->state |= ST_PHANTOM;
                return 1;
            }
            return -1;
        }
        if (rc != 0)
            break;
    }
    return (SSize_t)got;
}

static SSize_t PerlIOEvloop_unread(pTHX_ PerlIO *f, const void *vbuf, Size_t count)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    if (e->state & ST_PHANTOM) {
        e->state &= ~ST_PHANTOM;
        if (count == 1)
            return 1;
    }
    if (e->sh == NULL || count == 0)
        return 0;
    /* The room is evl__pio_unread_room's rule, which :evline asks too:
     * the flush of queued writes leaves the buffer idle, and an idle
     * PerlIOBuf offers its whole buffer. */
    size_t room = evl__pio_unread_room(f, e);
    if (evl__pio_wlen(f, e) > 0 && flush_layer(aTHX_ f, 1) == EVL__PIO_GONE)
        return 0;
    e->rd_room = room;
    e->state |= ST_RDBUF;
    size_t avail = e->rd_room < count ? e->rd_room : count;
    SSize_t unread = 0;
    if (avail > 0) {
        /* Prepending lowers tell by avail, as PerlIOBuf_unread does. */
        if (evl_buf_prepend(evl__pio_rbuf(e), (const char *)vbuf + (count - avail), avail) < 0) {
            SETERRNO(ENOMEM, SS_IVCHAN);
            return 0;
        }
        e->rgen++;
        e->rd_room -= avail;
        unread = (SSize_t)avail;
        PerlIOBase(f)->flags &= ~PERLIO_F_EOF;
    }
    if (count > avail)
        unread += PerlIOBase_unread(aTHX_ f, vbuf, count - avail);
    return unread;
}

/* PerlIOBuf_write: fill up to bufsiz, flush when full, on newlines when
 * line-buffered, after every write when unbuffered.  Blocking handles
 * therefore reach the fd in exactly :perlio's chunks.  On a
 * non-blocking fd a flush point writes what the fd takes and the rest
 * stays queued, so print never fails for lack of room, unless wmax says
 * it must (ENOBUFS, nothing queued). */
static SSize_t write_slow(pTHX_ PerlIO *f, const void *vbuf, Size_t count);

/* Copies a short print (1..32 bytes) with at most two overlapping
 * fixed-size moves each way, which the compiler inlines: a call to
 * memcpy would cost the fast path its frameless shape and as much again
 * as the rest of it. */
static inline void copy_short(char *d, const char *s, size_t n)
{
    if (n >= 16) {
        memcpy(d, s, 16);
        memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* The fast path's longer copies: a tail call, so the memcpy call's frame
 * is not the short prints' too. */
static __attribute__((noinline)) SSize_t append_long(evl_buf *wb, const void *p, size_t n)
{
    memcpy(wb->base + wb->tail, p, n);
    wb->tail += n;
    return (SSize_t)n;
}

static SSize_t PerlIOEvloop_write(pTHX_ PerlIO *f, const void *vbuf, Size_t count)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    evl_pio_shared *sh = e->sh;
    U32 flags = PerlIOBase(f)->flags;

    /* The common case, a short print to a plain buffered handle with room
     * left before the flush point, is one copy: the general path below
     * would find nothing else to do.  Every condition is a load and a
     * compare (the fork count is read directly in the XS module: the
     * stream's creation registered the counting; a TLS handle encrypts in
     * evl_stream_queue), so that this path needs no stack frame and costs
     * less than PerlIOBuf_write. */
    if (sh != NULL && count > 0 &&
        (flags & (PERLIO_F_CANWRITE | PERLIO_F_LINEBUF | PERLIO_F_UNBUF)) == PERLIO_F_CANWRITE &&
        (e->wmax | (uintptr_t)sh->loop | (uintptr_t)sh->s.tls | (unsigned)sh->s.err) == 0 &&
        sh->s.fork_gen == evl__pio_forks() &&
        (!(flags & PERLIO_F_CANREAD) || sh->s.rbuf.tail == sh->s.rbuf.head)) {
        evl_buf *wb = &sh->s.wbuf;
        if (wb->tail - wb->head + count < e->bufsiz && wb->cap - wb->tail >= count) {
            if (count > 32)
                return append_long(wb, vbuf, count);
            copy_short(wb->base + wb->tail, vbuf, count);
            wb->tail += count;
            return (SSize_t)count;
        }
    }
    return write_slow(aTHX_ f, vbuf, count);
}

static __attribute__((noinline)) SSize_t write_slow(pTHX_ PerlIO *f, const void *vbuf,
                                                    Size_t count)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    const STDCHAR *buf = (const STDCHAR *)vbuf;
    const STDCHAR *flushptr = buf;
    Size_t written = 0;
    evl_pio_shared *sh = e->sh;

    if (sh == NULL) {
        set_error(aTHX_ f, EBADF);
        return -1;
    }
    if (!(PerlIOBase(f)->flags & PERLIO_F_CANWRITE))
        return 0;
    if (evl__pio_rlen(f, e) > 0) {
        if (flush_layer(aTHX_ f, 1) != 0)
            return 0;
    }
    forget_parents_queue(sh);
    int err = evl_stream_error(&sh->s);
    if (err != 0) {
        set_error(aTHX_ f, -err);
        return -1;
    }
    if (e->wmax != 0 && evl_stream_queued(&sh->s) + count > e->wmax) {
        /* Refused whole and not an error state: print returns false
         * with $! ENOBUFS and the next print may succeed. */
        SETERRNO(ENOBUFS, SS_IVCHAN);
        return 0;
    }
    if (PerlIOBase(f)->flags & PERLIO_F_LINEBUF) {
        flushptr = buf + count;
        while (flushptr > buf && *(flushptr - 1) != '\n')
            --flushptr;
    }
    while (count > 0) {
        size_t queued = evl_stream_queued(&sh->s);
        size_t avail = queued < e->bufsiz ? e->bufsiz - queued : count;
        if (count < avail)
            avail = count;
        if (flushptr > buf && flushptr <= buf + avail)
            avail = (size_t)(flushptr - buf);
        if (avail > 0) {
            int rc = queue_bytes(sh, buf, avail);
            if (rc < 0) {
                set_error(aTHX_ f, -rc);
                return written > 0 ? (SSize_t)written : -1;
            }
            count -= avail;
            buf += avail;
            written += avail;
            if (buf == flushptr && flush_for_write(aTHX_ f) == EVL__PIO_GONE)
                return (SSize_t)written;
        }
        if (evl_stream_queued(&sh->s) >= e->bufsiz) {
            int rc = flush_for_write(aTHX_ f);
            if (rc == EVL__PIO_GONE)
                return (SSize_t)written;
            if (rc == -1)
                return -1;
        }
    }
    if (PerlIOBase(f)->flags & PERLIO_F_UNBUF)
        flush_for_write(aTHX_ f);
    else if (sh->loop != NULL)
        drain(aTHX_ f, 0);   /* write-behind: the loop takes it from here */
    return (SSize_t)written;
}

static IV PerlIOEvloop_seek(pTHX_ PerlIO *f, Off_t offset, int whence)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    IV code = flush_layer(aTHX_ f, 1);
    if (code == EVL__PIO_GONE)
        return -1;
    if (code != 0)
        return code;
    PerlIOBase(f)->flags &= ~PERLIO_F_EOF;
    code = PerlIO_seek(PerlIONext(f), offset, whence);
    if (code == 0 && e->sh != NULL) {
        e->posn = PerlIO_tell(PerlIONext(f));
        /* Flush gave the read-ahead back already when the fd seeks;
         * anything left would be from before the seek. */
        evl_buf *rb = evl__pio_rbuf(e);
        if ((PerlIOBase(f)->flags & PERLIO_F_CANREAD) && evl_buf_len(rb) > 0)
            evl_buf_consume(rb, evl_buf_len(rb));
    }
    return code;
}

static Off_t PerlIOEvloop_tell(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    if (e->sh == NULL) {
        SETERRNO(EBADF, SS_IVCHAN);
        return (Off_t)-1;
    }
    if ((PerlIOBase(f)->flags & PERLIO_F_APPEND) && evl__pio_wlen(f, e) > 0) {
        /* As PerlIOBuf_tell: O_APPEND files are usually shared, so the
         * position is the fd's after the queue went out. */
        if (flush_layer(aTHX_ f, 1) == EVL__PIO_GONE)
            return (Off_t)-1;
        e->posn = PerlIO_tell(PerlIONext(f));
    }
    return e->posn - (Off_t)evl__pio_rlen(f, e) + (Off_t)evl__pio_wlen(f, e);
}

/* Whether perl is flushing every handle before starting a process
 * (PERL_FLUSHALL_FOR_CHILD in fork, system, exec, qx and pipe opens). */
static int in_flushall_for_child(pTHX)
{
    if (PL_op == NULL)
        return 0;
    switch (PL_op->op_type) {
    case OP_FORK: case OP_SYSTEM: case OP_EXEC: case OP_BACKTICK: case OP_OPEN:
        return 1;
    default:
        return 0;
    }
}

static IV PerlIOEvloop_flush(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    /* With a loop the queue is the loop's to drain; otherwise a flush
     * means "written", so it waits, even on a non-blocking fd, except
     * before a fork or exec: perl flushes every handle then, and a peer
     * that is not reading would hang the fork.  What stays queued is
     * written by this process's next flush or close; a forked child
     * drops its copy (forget_parents_queue). */
    int wait = e->sh == NULL ||
               (e->sh->loop == NULL && !(in_flushall_for_child(aTHX) && nonblocking(e->sh)));
    /* At global destruction perl flushes each layer before it pops it,
     * and no loop will run again: the queue goes out now. */
    if (PL_phase == PERL_PHASE_DESTRUCT)
        wait = 1;
    int rc = flush_layer(aTHX_ f, wait);
    return rc == 0 ? 0 : -1;
}

static IV PerlIOEvloop_close(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    IV code = 0;
    if (e->sh != NULL) {
        if (e->state & ST_CLOSING)
            return 0;   /* a %SIG handler closed us while we drained */
        e->state |= ST_CLOSING;
        /* TLS: close_notify goes out with the queue (a bound Stream
         * sends its own when it closes). */
        if (!e->sh->bound)
            (void)evl_stream_tls_shutdown(&e->sh->s);
        /* Close waits for the queue even with a loop: the fd is :unix's
         * and closes right after us. */
        int rc = flush_layer(aTHX_ f, 1);
        if (rc == EVL__PIO_GONE)
            return -1;
        if (rc != 0)
            code = -1;
        /* The stream goes before the fd does, so a loop watcher never
         * outlives its fd. */
        shared_put(aTHX_ e->sh);
        e->sh = NULL;
    }
    int saved = errno;
    if (PerlIOBase_close(aTHX_ f) != 0)
        code = -1;
    else if (code != 0)
        errno = saved;
    return code;
}

static IV PerlIOEvloop_fill(pTHX_ PerlIO *f)
{
    return fill_layer(aTHX_ f) == 0 ? 0 : -1;
}

static void PerlIOEvloop_clearerr(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    /* readline clears after EOF, so the next one reads the fd again
     * (tail -f).  A handle under a loop keeps its stream's sticky error
     * (EPIPE, ECONNRESET): its loop acted on it; any other handle has
     * none after a failed write (drop_failed_queue), so it writes again
     * as :perlio's does. */
    e->state &= ~(ST_PHANTOM | ST_AGAIN);
    PerlIOBase_clearerr(aTHX_ f);   /* :unix's sticky flags too */
}

/* PerlIOBase_error, and one more case: a slurp ($/ undef) on a
 * non-blocking handle whose fill met EAGAIN.  perl's readline gives
 * undef after a failed read only if the handle then reports an error,
 * else '' (its answer for an empty file), and EAGAIN sets no error flag
 * here; so while $/ is undef the EAGAIN of the last fill counts as one,
 * until the next fill or clearerr, and such a slurp returns undef with
 * $! EAGAIN as :perlio's does.  Elsewhere EAGAIN stays no error. */
static IV PerlIOEvloop_error(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    if ((e->state & ST_AGAIN) && RsSNARF(PL_rs))
        return 1;
    /* PerlIOBase_error's test, without the call: print asks after
     * every write.  PerlIO_error checked that f is valid. */
    return (IV)(PerlIOBase(f)->flags & PERLIO_F_ERROR);
}

static void PerlIOEvloop_setlinebuf(pTHX_ PerlIO *f)
{
    PERL_UNUSED_CONTEXT;
    PerlIOBase(f)->flags |= PERLIO_F_LINEBUF;
}

static STDCHAR *PerlIOEvloop_get_base(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PERL_UNUSED_CONTEXT;
    if (e->sh == NULL)
        return NULL;
    evl_buf *rb = evl__pio_rbuf(e);
    if (rb->base == NULL && evl_buf_reserve(rb, e->bufsiz) == NULL)
        return NULL;
    return (STDCHAR *)rb->base;
}

static Size_t PerlIOEvloop_bufsiz(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PERL_UNUSED_CONTEXT;
    /* Bytes from the base to the end of the data, as PerlIOBuf's
     * end - buf. */
    return e->sh != NULL ? evl__pio_rbuf(e)->tail : 0;
}

static STDCHAR *PerlIOEvloop_get_ptr(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PERL_UNUSED_CONTEXT;
    if (e->sh == NULL)
        return NULL;
    const evl_buf *rb = evl__pio_rbuf(e);
    return (STDCHAR *)rb->base + rb->head;
}

static SSize_t PerlIOEvloop_get_cnt(pTHX_ PerlIO *f)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PERL_UNUSED_CONTEXT;
    return (SSize_t)evl__pio_rlen(f, e);
}

/* Fast gets hands back how far it got: consume up to ptr.  ptr NULL is
 * PerlIO_set_cnt: keep the last cnt bytes.  Runs once per readline, so
 * everything here is inline. */
static void PerlIOEvloop_set_ptrcnt(pTHX_ PerlIO *f, STDCHAR *ptr, SSize_t cnt)
{
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    PERL_UNUSED_CONTEXT;
    if (e->sh == NULL)
        return;
    evl_buf *rb = evl__pio_rbuf(e);
    size_t to = rb->head;
    if (ptr != NULL) {
        if ((char *)ptr >= rb->base + rb->head && (char *)ptr <= rb->base + rb->tail)
            to = (size_t)((char *)ptr - rb->base);
    } else if (cnt >= 0 && (size_t)cnt <= rb->tail - rb->head) {
        to = rb->tail - (size_t)cnt;
    }
    evl__pio_advance(f, e, to);
}

PERLIO_FUNCS_DECL(PerlIOEvloop_funcs) = {
    sizeof(PerlIO_funcs),
    "evloop",
    sizeof(PerlIOEvloop),
    PERLIO_K_BUFFERED | PERLIO_K_RAW | PERLIO_K_DESTRUCT | PERLIO_K_MULTIARG,
    PerlIOEvloop_pushed,
    PerlIOEvloop_popped,
    PerlIOEvloop_open,
    PerlIOEvloop_binmode,
    PerlIOEvloop_getarg,
    PerlIOBase_fileno,   /* nothing of ours to add */
    PerlIOEvloop_dup,
    PerlIOEvloop_read,
    PerlIOEvloop_unread,
    PerlIOEvloop_write,
    PerlIOEvloop_seek,
    PerlIOEvloop_tell,
    PerlIOEvloop_close,
    PerlIOEvloop_flush,
    PerlIOEvloop_fill,
    PerlIOBase_eof,   /* nothing of ours to add */
    PerlIOEvloop_error,
    PerlIOEvloop_clearerr,
    PerlIOEvloop_setlinebuf,
    PerlIOEvloop_get_base,
    PerlIOEvloop_bufsiz,
    PerlIOEvloop_get_ptr,
    PerlIOEvloop_get_cnt,
    PerlIOEvloop_set_ptrcnt,
};

/* ------------------------------------------------------------ C API */

evl_stream *evl_perlio_stream(pTHX_ PerlIO *f)
{
    PERL_UNUSED_CONTEXT;
    while (PerlIOValid(f)) {
        if (evl__pio_is_evloop(f)) {
            PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
            return e->sh != NULL ? &e->sh->s : NULL;
        }
        f = PerlIONext(f);
    }
    return NULL;
}

int evl__pio_attach(pTHX_ PerlIO *f, evl_loop *loop, SV *keep)
{
    while (PerlIOValid(f) && !evl__pio_is_evloop(f))
        f = PerlIONext(f);
    if (!PerlIOValid(f))
        return -EINVAL;
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    evl_pio_shared *sh = e->sh;
    if (sh == NULL)
        return -EBADF;
    if (loop == NULL)
        return -EINVAL;
    if (sh->loop == loop)
        return 0;
    /* The stream's driver keeps it on its own loop. */
    if (sh->bound)
        return -EBUSY;
    /* A reactor has nothing to do for a regular file (always ready, and
     * epoll refuses it): the handle stays as it is. */
    if (sh->regular && evl_loop_model(loop) != EVL_PROACTOR)
        return 0;
    if (sh->loop != NULL) {
        /* From one loop to another: the queue goes out on the old one. */
        int rc = evl_stream_flush_wait(&sh->s);
        if (rc < 0)
            return rc;
    }
    /* The stream moves with its buffers.  A proactor's read-ahead chunks
     * still in flight keep it on the old loop until they complete. */
    int rc = evl_stream_set_loop(&sh->s, loop);
    while (rc == -EBUSY && sh->loop != NULL && evl_loop_pending_ops(sh->loop) > 0) {
        rc = evl_loop_run_once(sh->loop, -1);
        if (rc >= 0)
            rc = evl_stream_set_loop(&sh->s, loop);
    }
    if (rc < 0) {
        /* Still on the old loop (a refusal), or caller-driven (joining
         * the new one failed). */
        sh->loop = sh->s.loop;
        return rc;
    }
    sh->loop = loop;
    drop_keep(aTHX_ sh);
    if (keep != NULL) {
        sh->keep = SvREFCNT_inc_simple_NN(keep);
        sh->keep_owner = (void *)aTHX;
    }
    /* Write-behind starts now for what was queued. */
    if (evl_stream_queued(&sh->s) > 0) {
        ssize_t left = evl_stream_flush(&sh->s);
        if (left < 0)
            set_error(aTHX_ f, (int)-left);
    }
    return 0;
}

PerlIO *evl_perlio_fdopen(pTHX_ evl_loop *loop, int fd, const char *mode)
{
    if (fd < 0 || mode == NULL) {
        SETERRNO(fd < 0 ? EBADF : EINVAL, SS_IVCHAN);
        return NULL;
    }
    /* An embedding program may not have loaded PerlIO::evloop. */
    if (PerlIO_find_layer(aTHX_ "evloop", 6, 0) == NULL)
        PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvloop_funcs));
    if (PerlIO_find_layer(aTHX_ "evline", 6, 0) == NULL)
        PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvline_funcs));
    PerlIO *f = PerlIO_openn(aTHX_ ":evloop", mode, fd, 0, 0, NULL, 0, NULL);
    if (f == NULL)
        return NULL;
    if (loop != NULL) {
        int rc = evl__pio_attach(aTHX_ f, loop, NULL);
        if (rc < 0) {
            PerlIO_close(f);
            SETERRNO(-rc, SS_IVCHAN);
            return NULL;
        }
    }
    return f;
}

int evl_perlio_attach(pTHX_ PerlIO *f, evl_loop *loop)
{
    return evl__pio_attach(aTHX_ f, loop, NULL);
}

int evl__pio_bind(pTHX_ PerlIO *f, evl_loop *loop,
                  const struct evl_stream_callbacks *cb, void *data,
                  void (*gone)(void *data), evl_stream **out)
{
    while (PerlIOValid(f) && !evl__pio_is_evloop(f))
        f = PerlIONext(f);
    if (!PerlIOValid(f) || loop == NULL || cb == NULL || out == NULL)
        return -EINVAL;
    PerlIOEvloop *e = PerlIOSelf(f, PerlIOEvloop);
    evl_pio_shared *sh = e->sh;
    if (sh == NULL)
        return -EBADF;
    if (sh->bound)
        return -EBUSY;
    /* A regular file is never on a reactor (see evl__pio_attach). */
    if (sh->regular && evl_loop_model(loop) != EVL_PROACTOR)
        return -EPERM;
    int rc = evl__pio_attach(aTHX_ f, loop, NULL);
    if (rc < 0)
        return rc;
    /* The driver answers for the loop's life while it is bound; a keep
     * here would make a cycle (the driver holds the handle) and keep a
     * loop nobody can reach alive for ever. */
    drop_keep(aTHX_ sh);
    sh->s.cb = *cb;
    sh->s.data = data;
    sh->bound = 1;
    sh->gone = gone;
    sh->bound_data = data;
    *out = &sh->s;
    return 0;
}

void evl__pio_unbind(pTHX_ evl_stream *s, int discard)
{
    /* s is the first member of its evl_pio_shared. */
    evl_pio_shared *sh = (evl_pio_shared *)(void *)s;
    if (s == NULL || !sh->bound)
        return;
    /* At global destruction the loop may be freed already, and no loop
     * runs again: the callbacks only have to go. */
    if (PL_phase != PERL_PHASE_DESTRUCT)
        evl_stream_read_stop(s);
    clear_binding(sh);
    if (discard) {
        /* A proactor's write in flight would hold the close (and the
         * settle after it) until the peer read it: a sticky error makes
         * the release cancel it, and close then waits for nothing.  An
         * empty queue has no write in flight, and a close without an
         * error may still answer a TLS peer's close_notify. */
        if (s->px != NULL && s->err == 0 && evl_stream_queued(s) > 0)
            s->err = -ECANCELED;
        evl_stream_abort(s);
    }
}

void evl__pio_keep(pTHX_ evl_stream *s, SV *keep)
{
    evl_pio_shared *sh = (evl_pio_shared *)(void *)s;
    if (s == NULL || sh->bound || sh->loop == NULL)
        return;
    drop_keep(aTHX_ sh);
    if (keep != NULL) {
        sh->keep = SvREFCNT_inc_simple_NN(keep);
        sh->keep_owner = (void *)aTHX;
    }
}

void evl__pio_loop_gone(pTHX_ evl_stream *s)
{
    evl_pio_shared *sh = (evl_pio_shared *)(void *)s;
    if (s == NULL || sh->bound || sh->loop == NULL)
        return;
    /* A proactor's ops in flight hold the stream on the loop until they
     * complete (not at global destruction: no callback may run then).
     * A write to a peer that does not read may never complete: an
     * iteration that waited a second for nothing ends the wait. */
    int rc = evl_stream_set_loop(s, NULL);
    while (rc == -EBUSY && PL_phase != PERL_PHASE_DESTRUCT &&
           evl_loop_pending_ops(sh->loop) > 0 && evl_loop_run_once(sh->loop, 1000000000LL) > 0)
        rc = evl_stream_set_loop(s, NULL);
    if (rc < 0 && s->loop != NULL) {
        /* Still on the loop: start over without one.  Buffered bytes go,
         * and what the kernel still holds is reaped by the loop's free. */
        void *data = s->data;
        evl_stream_free(s);
        s->data = data;
        if (evl_stream_init(s, NULL, sh->fd, EVL_STREAM_NOCLOSE, NULL) < 0)
            s->fd = -1;
    }
    sh->loop = NULL;
    drop_keep(aTHX_ sh);
}

int evl__pio_busy(const evl_stream *s)
{
    return s != NULL && ((const evl_pio_shared *)(const void *)s)->busy != 0;
}
