/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* layer-evline.c - the :evline codec layer: whole lines only.
 *
 * :evline sits on :evloop and owns no buffer.  Its fast-gets view
 * (Get_ptr/Get_cnt) is :evloop's buffer cut short at the end of the
 * last complete line; what perl consumes through Set_ptrcnt is consumed
 * from :evloop's buffer.  So readline on a non-blocking handle sees a
 * line only once its newline is in, and undef/EAGAIN meanwhile, whatever
 * the chunking; at EOF the unterminated tail is the last line.  Because
 * the view never ends inside a line, this holds for read() and getc too,
 * and for any $/ the record is made of whole lines (a paragraph or
 * multi-character $/ may still return fewer lines than a full record
 * while more are on the way).
 *
 * Cost.  The end of the view is found once per fill (memrchr from the
 * end of the buffer) and kept, with :evloop's rgen to tell when it goes
 * stale, so a readline costs the same three slot calls as on :evloop
 * alone, each a few loads: nothing is scanned twice, and the lines
 * themselves are scanned only by perl's own readline.  Only when the
 * whole lines in view are longer together than max is each one
 * measured.
 *
 * Arguments: max=N (longest line accepted, delimiter included in the
 * scan window; default the framer's 1 MiB, 0 for no limit): a longer
 * line puts the handle in an error state with $! EMSGSIZE, and every
 * line before it is still delivered.  crlf (or strip_cr=1): a "\r\n"
 * ending reads as "\n"; the CR is removed in place by sliding the line
 * over it.
 *
 * With CR stripping the view is one line at a time instead, found by
 * the core's line framer, since the line is moved in place to drop the
 * CR.  The framer keeps its scan offset between calls only while the
 * line at the head is incomplete; the only ways the head can move then
 * are seek, unread, write and flush, and each resets it.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "layer-internal.h"

typedef struct {
    struct _PerlIO base;
    evl_framer fr;
    size_t max;                  /* as given; 0 in the struct means default */
    int strip_cr;
    int err;                     /* EMSGSIZE once a line was too long */
    const STDCHAR *vis_ptr;      /* CR stripping: where the line starts */
    size_t vis_cnt;              /* and how much of it is left */
    int phantom;                 /* eof()'s stand-in byte is out */
    /* Whole lines (no CR stripping): the view ends at offset lim of
     * :evloop's buffer, found while its base was lim_base and its rgen
     * lim_gen. */
    size_t lim;
    const char *lim_base;
    unsigned lim_gen;
} PerlIOEvline;

#define EVLINE_MAX_DEFAULT 0     /* the framer's default (1 MiB) */
#define EVLINE_MAX_NONE (SIZE_MAX / 4)

static void reset_scan(PerlIOEvline *l)
{
    evl_framer_reset(&l->fr);
    l->vis_ptr = NULL;
    l->vis_cnt = 0;
    l->lim = 0;
    l->lim_base = NULL;
}

/* The :evloop below f, if it is open for reading, else NULL. */
static inline PerlIOEvloop *lower(PerlIO *f)
{
    PerlIO *n = PerlIONext(f);
    if (!PerlIOValid(n) || !(PerlIOBase(n)->flags & PERLIO_F_CANREAD))
        return NULL;
    /* Only :evloop has this struct; anything else below (which the
     * slots never put there) reads as no buffer. */
    if (PerlIOBase(n)->tab != PERLIO_FUNCS_CAST(&PerlIOEvloop_funcs))
        return NULL;
    PerlIOEvloop *e = PerlIOSelf(n, PerlIOEvloop);
    return e->sh != NULL ? e : NULL;
}

static void set_line_error(pTHX_ PerlIO *f, PerlIOEvline *l)
{
    l->err = EMSGSIZE;
    SETERRNO(EMSGSIZE, SS_IVCHAN);
    PerlIOBase(f)->flags |= PERLIO_F_ERROR;
    Perl_PerlIO_save_errno(aTHX_ f);
}

static size_t crlf_visible(pTHX_ PerlIO *f);

/* Finds the end of the view afresh: just past the last newline in the
 * buffer (or the whole tail at EOF), but never past a line longer than
 * max; a view that would start with such a line is the error.  Returns
 * the bytes in view. */
static __attribute__((noinline)) size_t find_lines(pTHX_ PerlIO *f, PerlIOEvline *l,
                                                   PerlIOEvloop *e)
{
    const evl_buf *rb = evl__pio_rbuf(e);
    size_t len = rb->tail - rb->head;
    const char *data = rb->base + rb->head;
    size_t max = l->fr.max_len;   /* init stored the default there */
    size_t whole = 0;

    l->lim = 0;
    if (len == 0 || l->err != 0)
        return 0;
    const char *nl = memrchr(data, '\n', len);
    if (nl != NULL)
        whole = (size_t)(nl - data) + 1;
    if (whole > max + 1) {
        /* Long enough together to hold one line over max: measure each. */
        size_t pos = 0;
        while (pos < whole) {
            const char *q = memchr(data + pos, '\n', whole - pos);
            if ((size_t)(q - (data + pos)) > max)
                break;
            pos = (size_t)(q - data) + 1;
        }
        whole = pos;   /* the view stops before the long line */
        if (whole == 0) {
            set_line_error(aTHX_ f, l);
            return 0;
        }
    } else if (whole == 0) {
        /* A partial line at the head: the framer's rule, a line that
         * has no newline within max + 1 bytes is over max. */
        if (len > max) {
            set_line_error(aTHX_ f, l);
            return 0;
        }
        if (!(PerlIOBase(PerlIONext(f))->flags & PERLIO_F_EOF))
            return 0;
        whole = len;   /* the tail at EOF */
    }
    l->lim = rb->head + whole;
    l->lim_base = rb->base;
    l->lim_gen = e->rgen;
    return whole;
}

/* Bytes in view now, for the whole-lines view: what find_lines found,
 * as long as :evloop has added nothing and moved nothing since. */
static inline size_t lines_visible(pTHX_ PerlIO *f, PerlIOEvline *l)
{
    PerlIOEvloop *e = lower(f);
    if (e == NULL)
        return 0;
    const evl_buf *rb = evl__pio_rbuf(e);
    if (l->lim_gen == e->rgen && l->lim_base == rb->base && rb->head < l->lim &&
        l->lim <= rb->tail)
        return l->lim - rb->head;
    return find_lines(aTHX_ f, l, e);
}

/* How many bytes of the lower buffer perl may see now: whole lines, or
 * the tail at EOF; 0 while the line at the head is incomplete or after
 * a line was too long.  With CR stripping, one line at a time. */
static size_t visible(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    if (!l->strip_cr)
        return lines_visible(aTHX_ f, l);
    return crlf_visible(aTHX_ f);
}

static size_t crlf_visible(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PerlIO *n = PerlIONext(f);
    if (l->err != 0 || !PerlIOValid(n))
        return 0;
    SSize_t cnt = PerlIO_get_cnt(n);
    if (cnt <= 0) {
        l->vis_cnt = 0;
        return 0;
    }
    STDCHAR *ptr = PerlIO_get_ptr(n);
    if (l->vis_cnt > 0 && ptr == l->vis_ptr && (size_t)cnt >= l->vis_cnt)
        return l->vis_cnt;

    size_t off, plen, flen;
    int rc = evl_framer_next(&l->fr, (const char *)ptr, (size_t)cnt, &off, &plen, &flen);
    if (rc == 0 && (PerlIOBase(n)->flags & PERLIO_F_EOF))
        rc = evl_framer_finish(&l->fr, (const char *)ptr, (size_t)cnt, &off, &plen, &flen);
    if (rc < 0) {
        set_line_error(aTHX_ f, l);
        return 0;
    }
    if (rc == 0)
        return 0;
    if (l->strip_cr && flen == plen + 2) {
        /* "...\r\n": slide the payload one byte right over the CR and
         * drop the byte that frees at the front, so the line reads
         * "...\n" in place, with no second buffer. */
        memmove(ptr + 1, ptr, plen);
        PerlIO_set_ptrcnt(n, ptr + 1, cnt - 1);
        ptr++;
        flen--;
    }
    l->vis_ptr = ptr;
    l->vis_cnt = flen;
    return flen;
}

/* Asks :evloop for more until a line is visible.  Returns 0, -1 (EOF or
 * error, flags set), EVL__PIO_AGAIN or EVL__PIO_GONE. */
static int fill_line(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PerlIO *n = PerlIONext(f);
    l->phantom = 0;
    for (;;) {
        if (visible(aTHX_ f) > 0)
            return 0;
        if (l->err != 0) {
            SETERRNO(l->err, SS_IVCHAN);
            PerlIOBase(f)->flags |= PERLIO_F_ERROR;
            return -1;
        }
        if (!PerlIOValid(n)) {
            SETERRNO(EBADF, SS_IVCHAN);
            return -1;
        }
        /* Even at EOF :evloop's fill is asked again, as PerlIOBuf_read
         * asks its fill: at a sticky EOF it returns at once, but it
         * leaves its buffer idle as PerlIOBuf's does (so an ungetc after
         * it lands in the buffer, not in a :pending, and moves tell
         * alike), and after a flush or seek it reads what is there now.
         * :evloop may run %SIG handlers while it waits; our lock keeps
         * this struct alive until we are back. */
        PerlIOl *head = evl__pio_lock(aTHX_ f);
        IV rc = PerlIO_fill(n);
        int saved = errno;
        if (evl__pio_unlock(aTHX_ f, head))
            return EVL__PIO_GONE;
        errno = saved;
        if (rc == 0)
            continue;
        if (PerlIOBase(n)->flags & PERLIO_F_ERROR) {
            PerlIOBase(f)->flags |= PERLIO_F_ERROR;
            Perl_PerlIO_save_errno(aTHX_ f);
            return -1;
        }
        if (PerlIOBase(n)->flags & PERLIO_F_EOF) {
            if (visible(aTHX_ f) > 0)
                return 0;   /* the tail is a line now */
            PerlIOBase(f)->flags |= PERLIO_F_EOF;
            return -1;
        }
        return errno == EAGAIN ? EVL__PIO_AGAIN : -1;
    }
}

static int parse_opts(pTHX_ SV *arg, size_t *max, int *strip_cr)
{
    *max = EVLINE_MAX_DEFAULT;
    *strip_cr = 0;
    if (arg == NULL || !SvOK(arg))
        return 0;
    STRLEN len;
    const char *s = SvPV_const(arg, len);
    const char *end = s + len;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        size_t ilen = (size_t)(item_end - s);
        int ok = 0;
        if (ilen == 4 && memcmp(s, "crlf", 4) == 0) {
            *strip_cr = 1;
            ok = 1;
        } else if (ilen == 10 && (memcmp(s, "strip_cr=1", 10) == 0 ||
                                  memcmp(s, "strip_cr=0", 10) == 0)) {
            *strip_cr = s[9] == '1';
            ok = 1;
        } else if (ilen > 4 && memcmp(s, "max=", 4) == 0) {
            size_t v = 0;
            ok = 1;
            for (const char *p = s + 4; p < item_end; p++) {
                if (*p < '0' || *p > '9' || v > (EVLINE_MAX_NONE - 9) / 10) {
                    ok = 0;
                    break;
                }
                v = v * 10 + (size_t)(*p - '0');
            }
            if (ok)
                *max = v == 0 ? EVLINE_MAX_NONE : v;
        }
        if (!ok && ilen > 0) {
            SV *item = newSVpvn_flags(s, (STRLEN)ilen, SVs_TEMP);
            evl__pio_warn(aTHX_ "PerlIO::evloop: bad argument '%s' to :%s "
                          "(expected max=N, crlf or strip_cr=0|1)", SvPV_nolen(item), "evline");
            SETERRNO(EINVAL, LIB_INVARG);
            return -1;
        }
        s = comma ? comma + 1 : end;
    }
    return 0;
}

/* ------------------------------------------------------------ slots */

static IV PerlIOEvline_pushed(pTHX_ PerlIO *f, const char *mode, SV *arg, PerlIO_funcs *tab)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    size_t max;
    int strip;
    if (parse_opts(aTHX_ arg, &max, &strip) < 0)
        return -1;
    PerlIO *n = PerlIONext(f);
    if (!evl__pio_is_evloop(n)) {
        /* It reads :evloop's buffer in place; over anything else there
         * is no buffer to read. */
        evl__pio_warn(aTHX_ "PerlIO::evloop: :%s must be pushed on :evloop (found :%s)",
                      "evline", PerlIOValid(n) && PerlIOBase(n)->tab
                                    ? PerlIOBase(n)->tab->name : "nothing");
        SETERRNO(EINVAL, LIB_INVARG);
        return -1;
    }
    l->max = max;
    l->strip_cr = strip;
    if (evl_framer_init(&l->fr, EVL_FRAMER_LINE, strip ? EVL_FRAMER_STRIP_CR : 0, max, NULL,
                        0) < 0) {
        SETERRNO(EINVAL, LIB_INVARG);
        return -1;
    }
    IV code = PerlIOBase_pushed(aTHX_ f, mode, arg, tab);
    /* Fast gets must not change in the middle of a line (perliol.pod). */
    PerlIOBase(f)->flags |= PerlIOBase(n)->flags & PERLIO_F_UTF8;
    return code;
}

static IV PerlIOEvline_popped(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    /* Nothing is buffered here: whatever was not a line yet stays in
     * :evloop for whoever reads next. */
    reset_scan(l);
    /* Our fill asks :evloop for more while bytes wait (a partial line),
     * so :evloop may have met EOF with its buffer not empty, which
     * PerlIOBuf never does: its EOF flag up over unread bytes makes a
     * paragraph readline (PerlIO_eof before the first getc) return
     * undef.  The flag comes down while bytes wait; :unix's stays up,
     * so :evloop's next fill still ends at once. */
    PerlIOEvloop *e = lower(f);
    if (e != NULL && evl__pio_rlen(PerlIONext(f), e) > 0)
        PerlIOBase(PerlIONext(f))->flags &= ~PERLIO_F_EOF;
    return 0;
}

static IV PerlIOEvline_binmode(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    /* :raw flushed the top layer first, as it flushes :perlio; our Flush
     * left :evloop's read side alone under binmode (see there), so it is
     * flushed now. */
    if (PerlIOValid(PerlIONext(f)) && PerlIO_flush(PerlIONext(f)) != 0)
        return -1;
    /* Lines untouched are raw bytes; with CR stripping they are not, and
     * :raw removes the layer as it removes :crlf. */
    if (l->strip_cr) {
        PerlIO_pop(aTHX_ f);
        return 0;
    }
    PerlIOBase(f)->flags &= ~PERLIO_F_UTF8;
    return 0;
}

static SV *PerlIOEvline_getarg(pTHX_ PerlIO *f, CLONE_PARAMS *param, int flags)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PERL_UNUSED_ARG(param);
    PERL_UNUSED_ARG(flags);
    SV *sv = newSVpvs("");
    if (l->max == EVLINE_MAX_NONE)
        sv_catpvs(sv, "max=0");
    else if (l->max != EVLINE_MAX_DEFAULT)
        sv_catpvf(sv, "max=%" UVuf, (UV)l->max);
    if (l->strip_cr)
        sv_catpvf(sv, "%scrlf", SvCUR(sv) ? "," : "");
    if (SvCUR(sv) == 0) {
        SvREFCNT_dec(sv);
        return newSV(0);
    }
    return sv;
}

static PerlIO *PerlIOEvline_dup(pTHX_ PerlIO *f, PerlIO *o, CLONE_PARAMS *param, int flags)
{
    /* Pushed on the copy's :evloop with Getarg's options; the scan state
     * starts afresh, as the copy's buffer does. */
    return PerlIOBase_dup(aTHX_ f, o, param, flags);
}

/* As PerlIOEvloop_read, over the line view. */
static SSize_t PerlIOEvline_read(pTHX_ PerlIO *f, void *vbuf, Size_t count)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    STDCHAR *buf = (STDCHAR *)vbuf;
    Size_t got = 0;
    if (!(PerlIOBase(f)->flags & PERLIO_F_CANREAD)) {
        PerlIOBase(f)->flags |= PERLIO_F_ERROR;
        SETERRNO(EBADF, SS_IVCHAN);
        Perl_PerlIO_save_errno(aTHX_ f);
        return 0;
    }
    while (count > 0) {
        size_t vis = visible(aTHX_ f);
        if (vis > 0 && !l->strip_cr) {
            PerlIOEvloop *e = lower(f);
            evl_buf *rb = evl__pio_rbuf(e);
            size_t take = vis < count ? vis : count;
            memcpy(buf + got, rb->base + rb->head, take);
            evl__pio_advance(PerlIONext(f), e, rb->head + take);
            got += take;
            count -= take;
            continue;
        }
        if (vis > 0) {
            PerlIO *n = PerlIONext(f);
            STDCHAR *ptr = PerlIO_get_ptr(n);
            SSize_t cnt = PerlIO_get_cnt(n);
            size_t take = vis < count ? vis : count;
            memcpy(buf + got, ptr, take);
            PerlIO_set_ptrcnt(n, ptr + take, cnt - (SSize_t)take);
            l->vis_ptr = ptr + take;
            l->vis_cnt = vis - take;
            got += take;
            count -= take;
            continue;
        }
        int rc = fill_line(aTHX_ f);
        if (rc == EVL__PIO_GONE)
            return got > 0 ? (SSize_t)got : -1;
        if (rc == EVL__PIO_AGAIN && got == 0) {
            if (count == 1 && evl__pio_in_eof_op(aTHX)) {
                buf[0] = 0;
                l->phantom = 1;
                return 1;
            }
            return -1;
        }
        if (rc != 0)
            break;
    }
    return (SSize_t)got;
}

static SSize_t PerlIOEvline_unread(pTHX_ PerlIO *f, const void *vbuf, Size_t count)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    if (l->phantom) {
        l->phantom = 0;
        if (count == 1)
            return 1;
    }
    reset_scan(l);
    PerlIO *n = PerlIONext(f);
    PerlIOEvloop *e = lower(f);
    /* What :evloop's buffer has no room for it would put in a :pending
     * layer pushed over itself, that is under us, where every slot here
     * expects :evloop (and read through the wrong struct).  So the rest
     * goes into a :pending over :evline instead, as PerlIOBase_unread
     * does for any layer: it is read first, so it takes the front. */
    size_t room = e == NULL ? 0 : evl__pio_unread_room(n, e);
    size_t here = e == NULL || count <= room ? count : room;
    SSize_t done = 0;
    if (here > 0) {
        done = PerlIO_unread(n, (const STDCHAR *)vbuf + (count - here), here);
        /* Our EOF comes down only with bytes in our buffer, as
         * PerlIOBuf_unread's does: with all of them in a :pending it
         * stays up, so once that is read a paragraph readline stops at
         * PerlIO_eof without a fill, which leaves :evloop's buffer as it
         * was (no room), as it leaves :perlio's. */
        if (done > 0)
            PerlIOBase(f)->flags &= ~PERLIO_F_EOF;
        if (done < (SSize_t)here)
            return done;
    }
    if (here == count)
        return done;
    return done + PerlIOBase_unread(aTHX_ f, vbuf, count - here);
}

static SSize_t PerlIOEvline_write(pTHX_ PerlIO *f, const void *vbuf, Size_t count)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PerlIO *n = PerlIONext(f);
    if (!(PerlIOBase(f)->flags & PERLIO_F_CANWRITE))
        return 0;
    SSize_t before = PerlIO_get_cnt(n);
    SSize_t rc = PerlIO_write(n, vbuf, count);
    /* On a read-write file the write drops :evloop's read-ahead. */
    if (PerlIO_get_cnt(n) != before)
        reset_scan(l);
    return rc;
}

static IV PerlIOEvline_seek(pTHX_ PerlIO *f, Off_t offset, int whence)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    reset_scan(l);
    l->err = 0;
    PerlIOBase(f)->flags &= ~PERLIO_F_EOF;
    return PerlIO_seek(PerlIONext(f), offset, whence);
}

static Off_t PerlIOEvline_tell(pTHX_ PerlIO *f)
{
    return PerlIO_tell(PerlIONext(f));
}

static IV PerlIOEvline_close(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    reset_scan(l);
    return PerlIOBase_close(aTHX_ f);
}

static IV PerlIOEvline_flush(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PerlIO *n = PerlIONext(f);
    if (!PerlIOValid(n))
        return 0;
    /* binmode flushes the top layer before it pops it (:pop) or strips
     * the handle (:raw).  Taking :evline off, or putting it back, must
     * leave :evloop as a handle without :evline has it: a read-side
     * flush of :evloop would give its read-ahead back and leave it idle,
     * so a byte ungetc put there since would be dropped (seeked over, as
     * PerlIOBuf's flush drops it) and the next ungetc would go into the
     * buffer instead of a :pending.  So binmode flushes only queued
     * writes here; :raw's flush of the read side is done in Binmode. */
    PerlIOEvloop *e = lower(f);
    if (PL_op != NULL && PL_op->op_type == OP_BINMODE && e != NULL &&
        !((PerlIOBase(n)->flags & PERLIO_F_CANWRITE) && evl_stream_queued(&e->sh->s) > 0))
        return 0;
    SSize_t before = PerlIO_get_cnt(n);
    IV rc = PerlIO_flush(n);
    if (PerlIOValid(n) && PerlIO_get_cnt(n) != before) {
        reset_scan(l);
        /* The read-ahead went back to the file (a seek on :unix, as
         * :perlio does before truncate), and the EOF it had reached
         * with it: :evloop's flag stays up, as PerlIOBuf's does, but
         * fill_line takes it for the end, so the file's new bytes (or
         * the tail given back) would never be read. */
        if (PerlIO_get_cnt(n) <= 0) {
            PerlIOBase(n)->flags &= ~PERLIO_F_EOF;
            PerlIOBase(f)->flags &= ~PERLIO_F_EOF;
        }
    }
    return rc;
}

static IV PerlIOEvline_fill(pTHX_ PerlIO *f)
{
    return fill_line(aTHX_ f) == 0 ? 0 : -1;
}

static IV PerlIOEvline_error(pTHX_ PerlIO *f)
{
    if (!PerlIOValid(f))
        return 1;
    if (PerlIOBase(f)->flags & PERLIO_F_ERROR)
        return 1;
    /* print's result is !PerlIO_error(top): :evloop's write errors count. */
    PerlIO *n = PerlIONext(f);
    return PerlIOValid(n) && PerlIO_error(n);
}

static void PerlIOEvline_clearerr(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    /* The over-long line is still there: the next read finds it again
     * and fails again, but nothing is stuck once the layer is popped. */
    l->err = 0;
    reset_scan(l);
    PerlIOBase_clearerr(aTHX_ f);
}

static void PerlIOEvline_setlinebuf(pTHX_ PerlIO *f)
{
    PerlIOBase(f)->flags |= PERLIO_F_LINEBUF;
    if (PerlIOValid(PerlIONext(f)))
        PerlIO_setlinebuf(PerlIONext(f));
}

static STDCHAR *PerlIOEvline_get_base(pTHX_ PerlIO *f)
{
    return PerlIO_get_base(PerlIONext(f));
}

static Size_t PerlIOEvline_bufsiz(pTHX_ PerlIO *f)
{
    return (Size_t)PerlIO_get_bufsiz(PerlIONext(f));
}

static STDCHAR *PerlIOEvline_get_ptr(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    if (!l->strip_cr) {
        PerlIOEvloop *e = lower(f);
        if (e == NULL)
            return NULL;
        const evl_buf *rb = evl__pio_rbuf(e);
        return (STDCHAR *)rb->base + rb->head;
    }
    /* visible() may move the line by a byte (CR stripping): settle the
     * view before handing out a pointer into it. */
    (void)visible(aTHX_ f);
    return PerlIO_get_ptr(PerlIONext(f));
}

static SSize_t PerlIOEvline_get_cnt(pTHX_ PerlIO *f)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    if (!l->strip_cr)
        return (SSize_t)lines_visible(aTHX_ f, l);
    return (SSize_t)crlf_visible(aTHX_ f);
}

static void crlf_set_ptrcnt(pTHX_ PerlIO *f, STDCHAR *ptr, SSize_t cnt);

/* PerlIO_set_cnt: where the head goes to keep cnt bytes of the view. */
static __attribute__((noinline)) size_t set_cnt_to(pTHX_ PerlIO *f, PerlIOEvline *l,
                                                   size_t cnt)
{
    size_t vis = lines_visible(aTHX_ f, l);
    size_t head = evl__pio_rbuf(lower(f))->head;
    return cnt <= vis ? head + (vis - cnt) : head;
}

static void PerlIOEvline_set_ptrcnt(pTHX_ PerlIO *f, STDCHAR *ptr, SSize_t cnt)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PerlIO *n = PerlIONext(f);
    if (!l->strip_cr) {
        /* Once per readline: straight into :evloop's buffer. */
        PerlIOEvloop *e = lower(f);
        if (e == NULL)
            return;
        const evl_buf *rb = evl__pio_rbuf(e);
        size_t to = rb->head;
        if (ptr != NULL) {
            if ((char *)ptr >= rb->base + rb->head && (char *)ptr <= rb->base + rb->tail)
                to = (size_t)((char *)ptr - rb->base);
        } else if (cnt >= 0) {
            to = set_cnt_to(aTHX_ f, l, (size_t)cnt);
        }
        evl__pio_advance(n, e, to);
        PerlIOBase(f)->flags |= PERLIO_F_RDBUF;
        return;
    }
    crlf_set_ptrcnt(aTHX_ f, ptr, cnt);
}

static __attribute__((noinline)) void crlf_set_ptrcnt(pTHX_ PerlIO *f, STDCHAR *ptr,
                                                      SSize_t cnt)
{
    PerlIOEvline *l = PerlIOSelf(f, PerlIOEvline);
    PerlIO *n = PerlIONext(f);
    if (!PerlIOValid(n))
        return;
    STDCHAR *lptr = PerlIO_get_ptr(n);
    SSize_t lcnt = PerlIO_get_cnt(n);
    if (ptr == NULL) {
        /* PerlIO_set_cnt: keep cnt bytes of the view. */
        if (cnt >= 0 && (size_t)cnt <= l->vis_cnt) {
            size_t used = l->vis_cnt - (size_t)cnt;
            PerlIO_set_ptrcnt(n, lptr + used, lcnt - (SSize_t)used);
            l->vis_ptr = lptr + used;
            l->vis_cnt = (size_t)cnt;
        }
        return;
    }
    if (ptr < lptr || ptr > lptr + lcnt)
        return;
    size_t used = (size_t)(ptr - lptr);
    PerlIO_set_ptrcnt(n, ptr, lcnt - (SSize_t)used);
    if (l->vis_cnt >= used) {
        l->vis_ptr = ptr;
        l->vis_cnt -= used;
    } else {
        l->vis_cnt = 0;
    }
    PerlIOBase(f)->flags |= PERLIO_F_RDBUF;
}

PERLIO_FUNCS_DECL(PerlIOEvline_funcs) = {
    sizeof(PerlIO_funcs),
    "evline",
    sizeof(PerlIOEvline),
    PERLIO_K_BUFFERED | PERLIO_K_RAW | PERLIO_K_MULTIARG,
    PerlIOEvline_pushed,
    PerlIOEvline_popped,
    NULL,   /* Open: an open goes to :evloop below, then we are pushed */
    PerlIOEvline_binmode,
    PerlIOEvline_getarg,
    PerlIOBase_fileno,   /* nothing of ours to add */
    PerlIOEvline_dup,
    PerlIOEvline_read,
    PerlIOEvline_unread,
    PerlIOEvline_write,
    PerlIOEvline_seek,
    PerlIOEvline_tell,
    PerlIOEvline_close,
    PerlIOEvline_flush,
    PerlIOEvline_fill,
    PerlIOBase_eof,   /* nothing of ours to add */
    PerlIOEvline_error,
    PerlIOEvline_clearerr,
    PerlIOEvline_setlinebuf,
    PerlIOEvline_get_base,
    PerlIOEvline_bufsiz,
    PerlIOEvline_get_ptr,
    PerlIOEvline_get_cnt,
    PerlIOEvline_set_ptrcnt,
};
