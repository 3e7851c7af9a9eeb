/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-varint.c - an unsigned LEB128 length (protobuf's varint), then
 * the payload.
 *
 * Seven bits per byte, least significant group first, the high bit set
 * on every byte but the last.  A 64-bit length needs at most 10 bytes, so
 * an 11th continuation byte, or a 10th byte with more than the one bit
 * left, is malformed.  The length is checked against max_len as soon as
 * its last byte is in.  Non-minimal encodings ("\x80\x00" for 0) are
 * accepted, as protobuf decoders do.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>

#include "evloop.h"
#include "framer-internal.h"

#define VARINT_MAX 10

int evl__framer_varint_next(evl_framer *fr, const char *data, size_t len,
                            size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < len && i < VARINT_MAX; i++) {
        uint64_t group = p[i] & 0x7f;
        if (i == VARINT_MAX - 1 && (p[i] & 0x80 || group > 1)) {
            fr->why = "invalid varint";
            return -EBADMSG;
        }
        n |= group << (7 * i);
        if (!(p[i] & 0x80))
            break;
    }
    if (i == len)
        return 0;   /* the length is not complete yet */
    size_t hlen = i + 1;
    if (n > evl__framer_max(fr) || n > SIZE_MAX - hlen)
        return -EMSGSIZE;
    if (len - hlen < n)
        return 0;
    *payload_off = hlen;
    *payload_len = (size_t)n;
    *frame_len = hlen + (size_t)n;
    return 1;
}

int evl__framer_varint_encode(const evl_framer *fr, size_t len, char *head,
                              size_t *head_len, char *tail, size_t *tail_len)
{
    unsigned char *h = (unsigned char *)head;
    uint64_t n = len;
    size_t i = 0;

    (void)fr;
    (void)tail;
    do {
        h[i] = (unsigned char)(n & 0x7f);
        n >>= 7;
        if (n != 0)
            h[i] |= 0x80;
        i++;
    } while (n != 0);
    *head_len = i;
    *tail_len = 0;
    return 0;
}
