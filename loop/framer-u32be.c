/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-u32be.c - a 4-byte big-endian payload length, then the payload.
 *
 * The length is checked against max_len as soon as the four header bytes
 * are in, so a bogus header is rejected before any of its payload is
 * buffered.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evloop.h"
#include "framer-internal.h"

#define HEADER_LEN 4

int evl__framer_u32be_next(evl_framer *fr, const char *data, size_t len,
                           size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    const unsigned char *h = (const unsigned char *)data;
    uint32_t n;

    if (len < HEADER_LEN)
        return 0;
    n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | (uint32_t)h[3];
    if (n > evl__framer_max(fr))
        return -EMSGSIZE;
#if SIZE_MAX <= UINT32_MAX
    /* Where size_t is 32 bits, header plus a payload near 4 GiB wraps. */
    if (n > SIZE_MAX - HEADER_LEN)
        return -EMSGSIZE;
#endif
    if (len - HEADER_LEN < n)
        return 0;

    *payload_off = HEADER_LEN;
    *payload_len = n;
    *frame_len = HEADER_LEN + (size_t)n;
    return 1;
}

int evl__framer_u32be_finish(evl_framer *fr, const char *data, size_t len,
                             size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    (void)data;
    (void)len;
    (void)payload_off;
    (void)payload_len;
    (void)frame_len;
    /* A truncated header or payload at EOF means the peer died mid-frame;
     * the partial payload is not a message. */
    fr->why = "truncated frame";
    return -EBADMSG;
}

int evl__framer_u32be_encode(const evl_framer *fr, size_t len, char *head,
                             size_t *head_len, char *tail, size_t *tail_len)
{
    unsigned char *h = (unsigned char *)head;

    (void)fr;
    (void)tail;
#if SIZE_MAX > UINT32_MAX
    /* max_len is a size_t and may allow more than the header can say. */
    if (len > UINT32_MAX)
        return -EMSGSIZE;
#endif
    h[0] = (unsigned char)(len >> 24);
    h[1] = (unsigned char)(len >> 16);
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    *head_len = HEADER_LEN;
    *tail_len = 0;
    return 0;
}
