/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-line.c - delimiter-terminated frames: "lines", and the records
 * of the delimiter kind (which differ only at EOF, in framer.c).
 *
 * The delimiter is 1 to 8 arbitrary bytes (line) or 1 to 64 (delimiter).  fr->scanned counts the start
 * positions already ruled out for a delimiter, so a call after an append
 * only looks at new bytes plus the last delim_len - 1 old ones (a
 * delimiter may straddle the old end).  Because positions are ruled out
 * exactly, the first match is the same whatever the chunk boundaries.
 *
 * The search never looks further than the longest acceptable frame, so
 * an unterminated line costs at most max_len + delim_len (+1 with CR
 * stripping) buffered bytes before it becomes -EMSGSIZE.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evloop.h"
#include "framer-internal.h"

/* Returns the offset of the first delimiter starting in [from, end -
 * dlen], or end if there is none.  memmem would do, but it is a GNU
 * extension and the delimiter is at most 64 bytes, so memchr on the first
 * byte plus a short memcmp is just as good. */
static size_t find_delim(const char *data, size_t from, size_t end, const char *delim,
                         size_t dlen)
{
    size_t pos = from;

    if (pos > end)
        return end;
    while (end - pos >= dlen) {
        const char *hit = memchr(data + pos, delim[0], end - pos - dlen + 1);
        if (hit == NULL)
            break;
        pos = (size_t)(hit - data);
        if (memcmp(hit + 1, delim + 1, dlen - 1) == 0)
            return pos;
        pos++;
    }
    return end;
}

/* a + b, clamped at SIZE_MAX so a huge max_len cannot wrap the window. */
static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

int evl__framer_line_next(evl_framer *fr, const char *data, size_t len,
                          size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    size_t dlen = fr->delim_len;
    size_t strip = (fr->flags & EVL_FRAMER_STRIP_CR) ? 1 : 0;
    size_t max = evl__framer_max(fr);
    size_t window, end, pos, plen;

    /* A delimiter at p leaves at least p - strip payload bytes, so one
     * that ends beyond max + strip + dlen can only belong to an oversized
     * line: there is no point searching that far. */
    window = add_sat(add_sat(max, strip), dlen);
    end = len < window ? len : window;

    /* scanned > len means the caller replaced the data rather than
     * appending; starting over is the only safe answer. */
    if (fr->scanned > len)
        fr->scanned = 0;

    pos = find_delim(data, fr->scanned, end, fr->delim, dlen);
    if (pos == end) {
        if (len >= window)
            return -EMSGSIZE;
        /* Every start that still leaves room for a whole delimiter has
         * been tried; the last dlen - 1 bytes may begin one. */
        fr->scanned = end >= dlen ? end - dlen + 1 : 0;
        return 0;
    }

    plen = pos;
    if (strip && plen > 0 && data[plen - 1] == '\r')
        plen--;
    /* Without a CR to strip, a delimiter at max + 1 is still inside the
     * window but one byte too many. */
    if (plen > max)
        return -EMSGSIZE;

    *payload_off = 0;
    *payload_len = plen;
    *frame_len = pos + dlen;
    /* The caller now consumes the frame, so offsets restart at the next
     * frame boundary. */
    fr->scanned = 0;
    return 1;
}

int evl__framer_line_finish(evl_framer *fr, const char *data, size_t len,
                            size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    (void)data;
    /* The tail is returned exactly as received: a trailing '\r' was not
     * followed by a delimiter, so STRIP_CR does not apply to it. */
    if (len > evl__framer_max(fr))
        return -EMSGSIZE;
    *payload_off = 0;
    *payload_len = len;
    *frame_len = len;
    fr->scanned = 0;
    return 1;
}

int evl__framer_line_encode(const evl_framer *fr, size_t len, char *head,
                            size_t *head_len, char *tail, size_t *tail_len)
{
    (void)len;
    (void)head;
    *head_len = 0;
    memcpy(tail, fr->delim, fr->delim_len);
    *tail_len = fr->delim_len;
    return 0;
}
