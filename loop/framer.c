/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* framer.c - the kind-independent half of the framers: setup, argument
 * checks, the sticky error and dispatch to framer-<kind>.c.
 *
 * Keeping the checks here means each per-kind file only has to get its
 * wire format right, and the "an error stays until reset" rule lives in
 * exactly one place instead of being repeated (and forgotten) per kind.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <string.h>

#include "evloop.h"
#include "framer-internal.h"

static int kind_is_valid(int kind)
{
    return kind >= EVL_FRAMER_LINE && kind <= EVL_FRAMER_VARINT;
}

static int is_delim_kind(int kind)
{
    return kind == EVL_FRAMER_LINE || kind == EVL_FRAMER_DELIMITER;
}

/* The longest delimiter of a kind: line keeps its historical 8. */
static size_t delim_max(int kind)
{
    return kind == EVL_FRAMER_LINE ? 8 : EVL_FRAMER_DELIM_MAX;
}

/* The struct is caller storage with public fields, so a framer that
 * skipped init (or was edited afterwards) is caught here rather than
 * letting the line search run with a zero-length delimiter. */
static int framer_is_usable(const evl_framer *fr)
{
    if (!kind_is_valid(fr->kind))
        return 0;
    if (is_delim_kind(fr->kind))
        return fr->delim_len >= 1 && fr->delim_len <= delim_max(fr->kind);
    if (fr->kind == EVL_FRAMER_FIXED)
        return fr->record_len >= 1;
    if (fr->kind == EVL_FRAMER_LENGTH_PREFIX)
        return fr->prefix_len == 1 || fr->prefix_len == 2 || fr->prefix_len == 4 ||
               fr->prefix_len == 8;
    return 1;
}

static unsigned valid_flags(int kind)
{
    switch (kind) {
    case EVL_FRAMER_LINE:
    case EVL_FRAMER_DELIMITER:
        return EVL_FRAMER_STRIP_CR;
    case EVL_FRAMER_NETSTRING:
        return EVL_FRAMER_LEADING_ZEROS;
    case EVL_FRAMER_LENGTH_PREFIX:
        return EVL_FRAMER_LITTLE_ENDIAN;
    default:
        return 0;
    }
}

int evl_framer_init_ex(evl_framer *fr, const struct evl_framer_options *opt)
{
    if (fr == NULL || opt == NULL || !kind_is_valid(opt->kind))
        return -EINVAL;
    int kind = opt->kind;
    size_t max = opt->max_len ? opt->max_len : EVL__FRAMER_DEFAULT_MAX;
    if (opt->flags & ~valid_flags(kind))
        return -EINVAL;
    /* A NULL delimiter with a length is more likely a caller bug than a
     * request for the default, so it is refused rather than guessed at.
     * Only the line kind has a default; a record delimiter is the
     * protocol's and must be said. */
    if (is_delim_kind(kind)) {
        if (opt->delim == NULL && (opt->delim_len != 0 || kind == EVL_FRAMER_DELIMITER))
            return -EINVAL;
        if (opt->delim != NULL && (opt->delim_len == 0 || opt->delim_len > delim_max(kind)))
            return -EINVAL;
    }
    if (kind == EVL_FRAMER_FIXED && (opt->record_len == 0 || opt->record_len > max))
        return -EINVAL;
    if (kind == EVL_FRAMER_LENGTH_PREFIX && opt->prefix_len != 1 && opt->prefix_len != 2 &&
        opt->prefix_len != 4 && opt->prefix_len != 8)
        return -EINVAL;

    /* Validation is complete, so a failed init never leaves fr half set. */
    memset(fr, 0, sizeof *fr);
    fr->kind = kind;
    fr->flags = opt->flags;
    fr->max_len = max;
    /* Only the delimiter kinds keep a delimiter; the others ignore it so
     * generic callers can pass one set of arguments. */
    if (is_delim_kind(kind)) {
        if (opt->delim == NULL) {
            fr->delim[0] = '\n';
            fr->delim_len = 1;
        } else {
            memcpy(fr->delim, opt->delim, opt->delim_len);
            fr->delim_len = opt->delim_len;
        }
    }
    if (kind == EVL_FRAMER_FIXED)
        fr->record_len = opt->record_len;
    if (kind == EVL_FRAMER_LENGTH_PREFIX) {
        fr->prefix_len = opt->prefix_len;
        fr->adjust = opt->adjust;
    }
    return 0;
}

int evl_framer_init(evl_framer *fr, int kind, unsigned flags, size_t max_len,
                    const char *delim, size_t delim_len)
{
    /* Fixed and length_prefix need settings this signature cannot carry. */
    if (kind == EVL_FRAMER_FIXED || kind == EVL_FRAMER_LENGTH_PREFIX)
        return -EINVAL;
    struct evl_framer_options opt = {
        .kind = kind, .flags = flags, .max_len = max_len, .delim = delim,
        .delim_len = delim_len,
    };
    return evl_framer_init_ex(fr, &opt);
}

void evl_framer_reset(evl_framer *fr)
{
    if (fr == NULL)
        return;
    fr->scanned = 0;
    fr->error = 0;
    fr->why = NULL;
}

/* Makes rc sticky, with its words: the per-kind code names its own
 * malformed-input errors, the size limit is named here. */
static int set_error(evl_framer *fr, int rc)
{
    fr->error = rc;
    if (fr->why == NULL)
        fr->why = rc != -EMSGSIZE ? "malformed frame"
                : fr->kind == EVL_FRAMER_LINE ? "line too long" : "frame too large";
    return rc;
}

const char *evl_framer_strerror(const evl_framer *fr)
{
    return fr != NULL && fr->error ? fr->why : NULL;
}

int evl_framer_next(evl_framer *fr, const char *data, size_t len, size_t *payload_off,
                    size_t *payload_len, size_t *frame_len)
{
    int rc;

    if (fr == NULL || (data == NULL && len > 0) || payload_off == NULL ||
        payload_len == NULL || frame_len == NULL)
        return -EINVAL;
    /* Not sticky: with no valid setup there is no stream state to
     * poison. */
    if (!framer_is_usable(fr))
        return -EINVAL;
    if (fr->error)
        return fr->error;
    /* Every kind needs at least one byte for a frame; answering here also
     * spares the per-kind code a NULL data pointer. */
    if (len == 0)
        return 0;

    switch (fr->kind) {
    case EVL_FRAMER_LINE:
        rc = evl__framer_line_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_NETSTRING:
        rc = evl__framer_netstring_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_U32BE:
        rc = evl__framer_u32be_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_DELIMITER:
        rc = evl__framer_line_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_FIXED:
        rc = evl__framer_fixed_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_LENGTH_PREFIX:
        rc = evl__framer_length_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_VARINT:
        rc = evl__framer_varint_next(fr, data, len, payload_off, payload_len, frame_len);
        break;
    default:
        return -EINVAL;
    }
    if (rc < 0)
        set_error(fr, rc);
    return rc;
}

int evl_framer_finish(evl_framer *fr, const char *data, size_t len, size_t *payload_off,
                      size_t *payload_len, size_t *frame_len)
{
    int rc;

    /* Complete frames still in the buffer come out first, so a caller can
     * simply loop on finish until it returns 0 or an error. */
    rc = evl_framer_next(fr, data, len, payload_off, payload_len, frame_len);
    if (rc != 0 || len == 0)
        return rc;

    switch (fr->kind) {
    case EVL_FRAMER_LINE:
        rc = evl__framer_line_finish(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_NETSTRING:
        rc = evl__framer_netstring_finish(fr, data, len, payload_off, payload_len, frame_len);
        break;
    case EVL_FRAMER_U32BE:
        rc = evl__framer_u32be_finish(fr, data, len, payload_off, payload_len, frame_len);
        break;
    default:
        /* The newer kinds: a record cut short by EOF is not a record. */
        fr->why = "truncated record";
        rc = -EBADMSG;
        break;
    }
    if (rc < 0)
        set_error(fr, rc);
    return rc;
}

int evl_framer_encode(const evl_framer *fr, size_t len, char *head, size_t *head_len,
                      char *tail, size_t *tail_len)
{
    if (fr == NULL || head == NULL || head_len == NULL || tail == NULL || tail_len == NULL ||
        !framer_is_usable(fr))
        return -EINVAL;
    /* The decoder's sticky error is deliberately ignored: the write side
     * of a stream stays usable after its read side saw bad input. */
    if (len > evl__framer_max(fr))
        return -EMSGSIZE;

    switch (fr->kind) {
    case EVL_FRAMER_LINE:
        return evl__framer_line_encode(fr, len, head, head_len, tail, tail_len);
    case EVL_FRAMER_NETSTRING:
        return evl__framer_netstring_encode(fr, len, head, head_len, tail, tail_len);
    case EVL_FRAMER_U32BE:
        return evl__framer_u32be_encode(fr, len, head, head_len, tail, tail_len);
    case EVL_FRAMER_DELIMITER:
        return evl__framer_line_encode(fr, len, head, head_len, tail, tail_len);
    case EVL_FRAMER_FIXED:
        return evl__framer_fixed_encode(fr, len, head, head_len, tail, tail_len);
    case EVL_FRAMER_LENGTH_PREFIX:
        return evl__framer_length_encode(fr, len, head, head_len, tail, tail_len);
    case EVL_FRAMER_VARINT:
        return evl__framer_varint_encode(fr, len, head, head_len, tail, tail_len);
    default:
        return -EINVAL;
    }
}
