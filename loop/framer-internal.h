/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-internal.h - private glue between framer.c and the per-kind
 * framer files (framer-line.c, framer-netstring.c, framer-u32be.c,
 * framer-fixed.c, framer-length.c, framer-varint.c).
 *
 * framer.c checks arguments, keeps the sticky error and drains complete
 * frames before calling a *_finish function, so the per-kind functions
 * below may assume: fr is initialised for their kind, fr->error is 0,
 * data is non-NULL, len > 0 and every out pointer is valid.  They return
 * framing errors; framer.c is the one place that makes them sticky.
 */
#ifndef EVL_FRAMER_INTERNAL_H
#define EVL_FRAMER_INTERNAL_H

#include <stddef.h>

#include "evloop.h"

/* The payload limit used when the caller passes max_len 0. */
#define EVL__FRAMER_DEFAULT_MAX ((size_t)1 << 20)

/* The effective payload limit.  Init already stores the resolved value;
 * resolving again here keeps a zeroed or hand-filled struct safe. */
static inline size_t evl__framer_max(const evl_framer *fr)
{
    return fr->max_len ? fr->max_len : EVL__FRAMER_DEFAULT_MAX;
}

/* Returns 1 (frame), 0 (need more bytes), -EMSGSIZE or -EBADMSG. */
int evl__framer_line_next(evl_framer *fr, const char *data, size_t len,
                          size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_netstring_next(evl_framer *fr, const char *data, size_t len,
                               size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_u32be_next(evl_framer *fr, const char *data, size_t len,
                           size_t *payload_off, size_t *payload_len, size_t *frame_len);

/* Called at EOF with a non-empty remainder that holds no complete frame.
 * Returns 1 with the remainder as a final frame, or a negative errno. */
int evl__framer_line_finish(evl_framer *fr, const char *data, size_t len,
                            size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_netstring_finish(evl_framer *fr, const char *data, size_t len,
                                 size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_u32be_finish(evl_framer *fr, const char *data, size_t len,
                             size_t *payload_off, size_t *payload_len, size_t *frame_len);

/* Fill head[0..*head_len) and tail[0..*tail_len) for a payload of len
 * bytes; len has already been checked against max_len.  Returns 0 or
 * -EMSGSIZE (len not representable in this kind's header). */
int evl__framer_line_encode(const evl_framer *fr, size_t len, char *head,
                            size_t *head_len, char *tail, size_t *tail_len);
int evl__framer_netstring_encode(const evl_framer *fr, size_t len, char *head,
                                 size_t *head_len, char *tail, size_t *tail_len);
int evl__framer_u32be_encode(const evl_framer *fr, size_t len, char *head,
                             size_t *head_len, char *tail, size_t *tail_len);

/* The newer kinds (framer-fixed.c, framer-length.c, framer-varint.c;
 * the delimiter kind is framer-line.c's search).  A frame cut short by
 * EOF is an error for all of them, so framer.c needs no finish of theirs. */
int evl__framer_fixed_next(evl_framer *fr, const char *data, size_t len,
                           size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_length_next(evl_framer *fr, const char *data, size_t len,
                            size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_varint_next(evl_framer *fr, const char *data, size_t len,
                            size_t *payload_off, size_t *payload_len, size_t *frame_len);
int evl__framer_fixed_encode(const evl_framer *fr, size_t len, char *head,
                             size_t *head_len, char *tail, size_t *tail_len);
int evl__framer_length_encode(const evl_framer *fr, size_t len, char *head,
                              size_t *head_len, char *tail, size_t *tail_len);
int evl__framer_varint_encode(const evl_framer *fr, size_t len, char *head,
                              size_t *head_len, char *tail, size_t *tail_len);

#endif /* EVL_FRAMER_INTERNAL_H */
