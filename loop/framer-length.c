/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-length.c - a 1, 2, 4 or 8-byte length, big or little endian,
 * then the payload (the length_prefix kind).
 *
 * Protocols disagree on what the length counts (the payload, or the
 * header too, or a trailer), so the payload length is the field plus a
 * signed adjustment, as in Netty's LengthFieldBasedFrameDecoder.  The
 * sum is checked against max_len as soon as the header is in, so a bogus
 * header is refused before any payload is buffered; a sum below zero is
 * malformed.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>

#include "evloop.h"
#include "framer-internal.h"

static uint64_t read_field(const evl_framer *fr, const unsigned char *h)
{
    uint64_t v = 0;
    unsigned w = fr->prefix_len;

    if (fr->flags & EVL_FRAMER_LITTLE_ENDIAN)
        for (unsigned i = w; i-- > 0;)
            v = v << 8 | h[i];
    else
        for (unsigned i = 0; i < w; i++)
            v = v << 8 | h[i];
    return v;
}

int evl__framer_length_next(evl_framer *fr, const char *data, size_t len,
                            size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    size_t w = fr->prefix_len;
    uint64_t field, n;

    if (len < w)
        return 0;
    field = read_field(fr, (const unsigned char *)data);
    if (fr->adjust < 0) {
        uint64_t sub = (uint64_t)(-(fr->adjust + 1)) + 1;   /* no overflow at INT64_MIN */
        if (field < sub) {
            fr->why = "invalid length";
            return -EBADMSG;
        }
        n = field - sub;
    } else {
        if (field > UINT64_MAX - (uint64_t)fr->adjust)
            return -EMSGSIZE;
        n = field + (uint64_t)fr->adjust;
    }
    if (n > evl__framer_max(fr) || n > SIZE_MAX - w)
        return -EMSGSIZE;
    if (len - w < n)
        return 0;
    *payload_off = w;
    *payload_len = (size_t)n;
    *frame_len = w + (size_t)n;
    return 1;
}

int evl__framer_length_encode(const evl_framer *fr, size_t len, char *head,
                              size_t *head_len, char *tail, size_t *tail_len)
{
    unsigned char *h = (unsigned char *)head;
    unsigned w = fr->prefix_len;
    uint64_t field;

    (void)tail;
    /* field = len - adjust, refused when the field cannot say it. */
    if (fr->adjust > 0) {
        if ((uint64_t)len < (uint64_t)fr->adjust)
            return -EMSGSIZE;
        field = (uint64_t)len - (uint64_t)fr->adjust;
    } else {
        uint64_t add = fr->adjust == 0 ? 0 : (uint64_t)(-(fr->adjust + 1)) + 1;
        if ((uint64_t)len > UINT64_MAX - add)
            return -EMSGSIZE;
        field = (uint64_t)len + add;
    }
    if (w < 8 && field >> (8 * w) != 0)
        return -EMSGSIZE;
    for (unsigned i = 0; i < w; i++) {
        unsigned shift = (fr->flags & EVL_FRAMER_LITTLE_ENDIAN) ? 8 * i : 8 * (w - 1 - i);
        h[i] = (unsigned char)(field >> shift);
    }
    *head_len = w;
    *tail_len = 0;
    return 0;
}
