/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer-fixed.c - records of one fixed size, no header, no delimiter.
 *
 * init refuses a record size over max_len, so a fixed framer can never
 * report -EMSGSIZE while decoding; its one error is a record cut short by
 * EOF (framer.c).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>

#include "evloop.h"
#include "framer-internal.h"

int evl__framer_fixed_next(evl_framer *fr, const char *data, size_t len,
                           size_t *payload_off, size_t *payload_len, size_t *frame_len)
{
    (void)data;
    if (len < fr->record_len)
        return 0;
    *payload_off = 0;
    *payload_len = fr->record_len;
    *frame_len = fr->record_len;
    return 1;
}

int evl__framer_fixed_encode(const evl_framer *fr, size_t len, char *head,
                             size_t *head_len, char *tail, size_t *tail_len)
{
    (void)head;
    (void)tail;
    /* A record of another size would shift every record after it. */
    if (len != fr->record_len)
        return -EMSGSIZE;
    *head_len = 0;
    *tail_len = 0;
    return 0;
}
