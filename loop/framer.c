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

typedef int (*framer_scan_fn)(evl_framer *fr, const char *data, size_t len,
                               size_t *payload_off, size_t *payload_len, size_t *frame_len);
typedef int (*framer_encode_fn)(const evl_framer *fr, size_t len, char *head,
                                size_t *head_len, char *tail, size_t *tail_len);

/* Everything framer.c needs to know about a kind, in one row: its
 * functions, the flags it accepts and the longest delimiter it keeps (0:
 * the kind has none).  A NULL finish means a record cut short by EOF is
 * an error, not a last frame. */
struct framer_kind {
    framer_scan_fn next;
    framer_scan_fn finish;
    framer_encode_fn encode;
    unsigned flags;
    size_t delim_max;
};

static const struct framer_kind kinds[] = {
    [EVL_FRAMER_LINE] = {evl__framer_line_next, evl__framer_line_finish,
                         evl__framer_line_encode, EVL_FRAMER_STRIP_CR, 8 /* historical */},
    [EVL_FRAMER_NETSTRING] = {evl__framer_netstring_next, evl__framer_netstring_finish,
                              evl__framer_netstring_encode, EVL_FRAMER_LEADING_ZEROS, 0},
    [EVL_FRAMER_U32BE] = {evl__framer_u32be_next, evl__framer_u32be_finish,
                          evl__framer_u32be_encode, 0, 0},
    [EVL_FRAMER_DELIMITER] = {evl__framer_line_next, NULL, evl__framer_line_encode,
                              EVL_FRAMER_STRIP_CR, EVL_FRAMER_DELIM_MAX},
    [EVL_FRAMER_FIXED] = {evl__framer_fixed_next, NULL, evl__framer_fixed_encode, 0, 0},
    [EVL_FRAMER_LENGTH_PREFIX] = {evl__framer_length_next, NULL, evl__framer_length_encode,
                                  EVL_FRAMER_LITTLE_ENDIAN, 0},
    [EVL_FRAMER_VARINT] = {evl__framer_varint_next, NULL, evl__framer_varint_encode, 0, 0},
};

static const struct framer_kind *kind_of(int kind)
{
    if (kind < EVL_FRAMER_LINE || kind > EVL_FRAMER_VARINT)
        return NULL;
    return &kinds[kind];
}

static int prefix_len_is_valid(size_t n)
{
    return n == 1 || n == 2 || n == 4 || n == 8;
}

/* The struct is caller storage with public fields, so a framer that
 * skipped init (or was edited afterwards) is caught here rather than
 * letting the line search run with a zero-length delimiter. */
static const struct framer_kind *usable_kind(const evl_framer *fr)
{
    const struct framer_kind *k = kind_of(fr->kind);
    if (k == NULL)
        return NULL;
    if (k->delim_max && (fr->delim_len < 1 || fr->delim_len > k->delim_max))
        return NULL;
    if (fr->kind == EVL_FRAMER_FIXED && fr->record_len < 1)
        return NULL;
    if (fr->kind == EVL_FRAMER_LENGTH_PREFIX && !prefix_len_is_valid(fr->prefix_len))
        return NULL;
    return k;
}

int evl_framer_init_ex(evl_framer *fr, const struct evl_framer_options *opt)
{
    const struct framer_kind *k = opt != NULL ? kind_of(opt->kind) : NULL;
    if (fr == NULL || k == NULL)
        return -EINVAL;
    int kind = opt->kind;
    size_t max = opt->max_len ? opt->max_len : EVL__FRAMER_DEFAULT_MAX;
    if (opt->flags & ~k->flags)
        return -EINVAL;
    /* A NULL delimiter with a length is more likely a caller bug than a
     * request for the default, so it is refused rather than guessed at.
     * Only the line kind has a default; a record delimiter is the
     * protocol's and must be said. */
    if (k->delim_max) {
        if (opt->delim == NULL && (opt->delim_len != 0 || kind == EVL_FRAMER_DELIMITER))
            return -EINVAL;
        if (opt->delim != NULL && (opt->delim_len == 0 || opt->delim_len > k->delim_max))
            return -EINVAL;
    }
    if (kind == EVL_FRAMER_FIXED && (opt->record_len == 0 || opt->record_len > max))
        return -EINVAL;
    if (kind == EVL_FRAMER_LENGTH_PREFIX && !prefix_len_is_valid(opt->prefix_len))
        return -EINVAL;

    /* Validation is complete, so a failed init never leaves fr half set.
     * Settings of other kinds are ignored, so generic callers can pass
     * one set of arguments. */
    memset(fr, 0, sizeof *fr);
    fr->kind = kind;
    fr->flags = opt->flags;
    fr->max_len = max;
    if (k->delim_max) {
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
    const struct framer_kind *k;

    if (fr == NULL || (data == NULL && len > 0) || payload_off == NULL ||
        payload_len == NULL || frame_len == NULL)
        return -EINVAL;
    /* Not sticky: with no valid setup there is no stream state to
     * poison. */
    if ((k = usable_kind(fr)) == NULL)
        return -EINVAL;
    if (fr->error)
        return fr->error;
    /* Every kind needs at least one byte for a frame; answering here also
     * spares the per-kind code a NULL data pointer. */
    if (len == 0)
        return 0;

    int rc = k->next(fr, data, len, payload_off, payload_len, frame_len);
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

    const struct framer_kind *k = kind_of(fr->kind);
    if (k->finish != NULL) {
        rc = k->finish(fr, data, len, payload_off, payload_len, frame_len);
    } else {
        fr->why = "truncated record";
        rc = -EBADMSG;
    }
    if (rc < 0)
        set_error(fr, rc);
    return rc;
}

int evl_framer_encode(const evl_framer *fr, size_t len, char *head, size_t *head_len,
                      char *tail, size_t *tail_len)
{
    const struct framer_kind *k;

    if (fr == NULL || head == NULL || head_len == NULL || tail == NULL || tail_len == NULL ||
        (k = usable_kind(fr)) == NULL)
        return -EINVAL;
    /* The decoder's sticky error is deliberately ignored: the write side
     * of a stream stays usable after its read side saw bad input. */
    if (len > evl__framer_max(fr))
        return -EMSGSIZE;
    return k->encode(fr, len, head, head_len, tail, tail_len);
}
