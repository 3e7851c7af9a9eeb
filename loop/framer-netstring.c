/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-netstring.c - "<decimal length>:<payload>," frames
 * (https://cr.yp.to/proto/netstrings.txt).
 *
 * As the spec asks, a length with a leading zero ("01:a,") is malformed;
 * only "0:," may start with '0'.  That rule is also what makes the early
 * size check sound: once the digits read so far exceed max_len, further
 * digits can only make the length larger, so -EMSGSIZE is reported at
 * that digit instead of after buffering the payload.  The same check
 * bounds the digit string (at most 20 digits for a 64-bit size_t).
 *
 * EVL_FRAMER_LEADING_ZEROS accepts "01:a," for peers that send it (the
 * seed's Perl codec did); the early check still holds, as zeros add
 * nothing, and the read buffer's limit bounds a run of them.
 *
 * The header is re-parsed on every call rather than kept in fr: it is a
 * handful of bytes, and holding no state is what guarantees identical
 * results for any chunking.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evloop.h"
#include "framer-internal.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A malformed netstring, named (evl_framer_strerror). */
static int bad(evl_framer *fr, const char *why)
{
    fr->why = why;
    return -EBADMSG;
}

int evl__framer_netstring_next(evl_framer *fr, const char *data, size_t len,
                               size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    size_t max = evl__framer_max(fr);
    size_t n = 0, i, total;

    for (i = 0; i < len && data[i] != ':'; i++) {
        unsigned d;

        if (!is_digit(data[i]))
            return bad(fr, "invalid netstring length");
        if (i == 1 && data[0] == '0' && !(fr->flags & EVL_FRAMER_LEADING_ZEROS))
            return bad(fr, "invalid netstring length");
        d = (unsigned)(data[i] - '0');
        if (n > (SIZE_MAX - d) / 10)
            return -EMSGSIZE;
        n = n * 10 + d;
        if (n > max)
            return -EMSGSIZE;
    }
    if (i == len)
        return 0;
    if (i == 0)
        return bad(fr, "invalid netstring length");

    /* Digits, ':', payload, ','.  n <= max <= SIZE_MAX, so only the
     * last few bytes of the range can overflow here. */
    if (n > SIZE_MAX - i - 2)
        return -EMSGSIZE;
    total = i + 1 + n + 1;
    if (len < total)
        return 0;
    if (data[total - 1] != ',')
        return bad(fr, "invalid netstring terminator");

    *payload_off = i + 1;
    *payload_len = n;
    *frame_len = total;
    return 1;
}

int evl__framer_netstring_finish(evl_framer *fr, const char *data, size_t len,
                                 size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    (void)payload_off;
    (void)payload_len;
    (void)frame_len;
    /* A netstring cut short by EOF cannot be told apart from one that
     * was corrupted, and delivering half of it would be worse.  next
     * accepted what is here, so it is digits, then maybe ':' and part of
     * the payload: with the ':' it is the terminator that is missing. */
    if (memchr(data, ':', len) != NULL)
        return bad(fr, "invalid netstring terminator");
    return bad(fr, "invalid netstring length");
}

int evl__framer_netstring_encode(const evl_framer *fr, size_t len, char *head,
                                 size_t *head_len, char *tail, size_t *tail_len)
{
    char digits[24];
    size_t nd = 0;

    (void)fr;
    /* Digits come out least significant first; 24 bytes hold any size_t
     * and the ':' still fits EVL_FRAMER_HEAD_MAX. */
    do {
        digits[nd++] = (char)('0' + len % 10);
        len /= 10;
    } while (len > 0);
    for (size_t k = 0; k < nd; k++)
        head[k] = digits[nd - 1 - k];
    head[nd] = ':';
    *head_len = nd + 1;
    tail[0] = ',';
    *tail_len = 1;
    return 0;
}
