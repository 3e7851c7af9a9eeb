/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fuzz-framer.c - libFuzzer harness for one framer kind (FUZZ_KIND, set
 * by the build: one binary per kind, so each has its own corpus).
 *
 * Input: 4 settings bytes (flags, max_len, delimiter or record/prefix
 * settings, the split seed), then the data.  Checked on every input:
 *  - the frames and the final status are the same whether the data
 *    arrives whole, in random chunks (cut by a PRNG seeded from the
 *    input, so a crash reproduces) or one byte at a time;
 *  - line, netstring and u32be agree with a plain reference model;
 *  - payloads cut from the data, encoded with evl_framer_encode and
 *    decoded again come back unchanged, with no error.
 * A disagreement aborts, which libFuzzer reports as a crash.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"

/* FUZZ_KIND is the enum's number (1 line .. 7 varint): the preprocessor
 * cannot see enum constants, and the models are chosen with #if. */
#ifndef FUZZ_KIND
#error "build with -DFUZZ_KIND=<1..7> (enum evl_framer_kind)"
#endif
#define KIND_LINE 1
#define KIND_NETSTRING 2
#define KIND_U32BE 3
_Static_assert(KIND_LINE == EVL_FRAMER_LINE && KIND_NETSTRING == EVL_FRAMER_NETSTRING &&
                   KIND_U32BE == EVL_FRAMER_U32BE,
               "the model numbers follow enum evl_framer_kind");

#define MAX_FRAMES 4096

/* What one decoding produced: payloads back to back, their lengths, and
 * the final status (0, or the error that stopped it). */
struct result {
    char *bytes;
    size_t used;
    size_t lens[MAX_FRAMES];
    size_t n;
    int status;
};

static void result_init(struct result *r, size_t cap)
{
    r->bytes = malloc(cap + 1);
    r->used = 0;
    r->n = 0;
    r->status = 0;
}

static void result_add(struct result *r, const char *p, size_t len)
{
    if (r->n == MAX_FRAMES) {
        r->status = 1;   /* cannot happen: frames consume at least a byte */
        return;
    }
    memcpy(r->bytes + r->used, p, len);
    r->used += len;
    r->lens[r->n++] = len;
}

static void result_check_same(const struct result *a, const struct result *b, const char *what)
{
    if (a->status != b->status || a->n != b->n || a->used != b->used ||
        memcmp(a->lens, b->lens, a->n * sizeof a->lens[0]) != 0 ||
        memcmp(a->bytes, b->bytes, a->used) != 0) {
        fprintf(stderr, "fuzz-framer: %s disagrees: status %d/%d frames %zu/%zu bytes %zu/%zu\n",
                what, a->status, b->status, a->n, b->n, a->used, b->used);
        abort();
    }
}

/* A small deterministic PRNG (xorshift32): splits derive from the input. */
static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static int setup(evl_framer *fr, const uint8_t *cfg)
{
    static const char *const delims[] = { "\n", "\r\n", "\0", "ab", "aab", "||", "x", "\n\n" };
    static const size_t delim_lens[] = { 1, 2, 1, 2, 3, 2, 1, 2 };
    static const unsigned widths[] = { 1, 2, 4, 8 };
    struct evl_framer_options o = { .kind = FUZZ_KIND };
    unsigned d = cfg[2] & 7;

    /* Small limits reach the size checks; 0 is the 1 MiB default. */
    o.max_len = cfg[1] == 255 ? 0 : (size_t)cfg[1] % 80 + 1;
    switch (FUZZ_KIND) {
    case EVL_FRAMER_LINE:
    case EVL_FRAMER_DELIMITER:
        o.flags = cfg[0] & 1 ? EVL_FRAMER_STRIP_CR : 0;
        o.delim = delims[d];
        o.delim_len = delim_lens[d];
        break;
    case EVL_FRAMER_NETSTRING:
        o.flags = cfg[0] & 1 ? EVL_FRAMER_LEADING_ZEROS : 0;
        break;
    case EVL_FRAMER_FIXED:
        o.record_len = (size_t)cfg[2] % 16 + 1;
        if (o.max_len != 0 && o.record_len > o.max_len)
            o.record_len = o.max_len;
        break;
    case EVL_FRAMER_LENGTH_PREFIX:
        o.flags = cfg[0] & 1 ? EVL_FRAMER_LITTLE_ENDIAN : 0;
        o.prefix_len = widths[cfg[2] & 3];
        o.adjust = (int64_t)((cfg[2] >> 2) & 7) - 4;   /* -4 .. 3 */
        break;
    default:
        break;
    }
    return evl_framer_init_ex(fr, &o);
}

/* Feeds data in chunks cut at the given positions (ascending, last is
 * len): the buffer only ever grows by appending, as in a stream. */
static void decode(const uint8_t *cfg, const char *data, size_t len, const size_t *cuts,
                   size_t ncuts, struct result *r)
{
    evl_framer fr;
    size_t start = 0, avail = 0, off, plen, flen;
    int rc = 0;

    result_init(r, len);
    if (setup(&fr, cfg) != 0)
        abort();   /* every setting setup() builds is valid */
    for (size_t c = 0; c < ncuts && rc >= 0; c++) {
        avail = cuts[c];
        while ((rc = evl_framer_next(&fr, data + start, avail - start, &off, &plen, &flen)) == 1) {
            if (flen == 0 || flen > avail - start || off + plen > flen)
                abort();
            result_add(r, data + start + off, plen);
            start += flen;
        }
    }
    while (rc >= 0 && (rc = evl_framer_finish(&fr, data + start, len - start, &off, &plen,
                                              &flen)) == 1) {
        if (flen == 0 || flen > len - start || off + plen > flen)
            abort();
        result_add(r, data + start + off, plen);
        start += flen;
    }
    r->status = rc;
    /* The error is sticky and named. */
    if (rc < 0) {
        if (evl_framer_next(&fr, data + start, len - start, &off, &plen, &flen) != rc ||
            evl_framer_strerror(&fr) == NULL)
            abort();
    }
}

/* ------------------------------------------------------------ models */

#if FUZZ_KIND == KIND_LINE
static void model(const uint8_t *cfg, const char *d, size_t len, struct result *r)
{
    evl_framer fr;
    setup(&fr, cfg);
    size_t max = fr.max_len, dl = fr.delim_len, p = 0;
    int strip = (fr.flags & EVL_FRAMER_STRIP_CR) != 0;

    result_init(r, len);
    while (p < len) {
        size_t q = p;
        while (q + dl <= len && memcmp(d + q, fr.delim, dl) != 0)
            q++;
        if (q + dl > len) {   /* the tail, as is */
            if (len - p > max) {
                r->status = -EMSGSIZE;
                return;
            }
            result_add(r, d + p, len - p);
            return;
        }
        size_t pl = q - p;
        if (strip && pl > 0 && d[q - 1] == '\r')
            pl--;
        if (pl > max) {
            r->status = -EMSGSIZE;
            return;
        }
        result_add(r, d + p, pl);
        p = q + dl;
    }
}
#elif FUZZ_KIND == KIND_NETSTRING
static void model(const uint8_t *cfg, const char *d, size_t len, struct result *r)
{
    evl_framer fr;
    setup(&fr, cfg);
    size_t p = 0;

    result_init(r, len);
    while (p < len) {
        size_t n = 0, i = p;
        for (; i < len && d[i] != ':'; i++) {
            if (d[i] < '0' || d[i] > '9' ||
                (i == p + 1 && d[p] == '0' && !(fr.flags & EVL_FRAMER_LEADING_ZEROS))) {
                r->status = -EBADMSG;
                return;
            }
            n = n * 10 + (size_t)(d[i] - '0');
            if (n > fr.max_len) {
                r->status = -EMSGSIZE;
                return;
            }
        }
        if (i == len || i == p || len - (i + 1) < n + 1 || d[i + 1 + n] != ',') {
            r->status = -EBADMSG;
            return;
        }
        result_add(r, d + i + 1, n);
        p = i + 1 + n + 1;
    }
}
#elif FUZZ_KIND == KIND_U32BE
static void model(const uint8_t *cfg, const char *d, size_t len, struct result *r)
{
    evl_framer fr;
    setup(&fr, cfg);
    const unsigned char *u = (const unsigned char *)d;
    size_t p = 0;

    result_init(r, len);
    while (p < len) {
        if (len - p < 4) {
            r->status = -EBADMSG;
            return;
        }
        uint32_t n = (uint32_t)u[p] << 24 | (uint32_t)u[p + 1] << 16 |
                     (uint32_t)u[p + 2] << 8 | u[p + 3];
        if (n > fr.max_len) {
            r->status = -EMSGSIZE;
            return;
        }
        if (len - p - 4 < n) {
            r->status = -EBADMSG;
            return;
        }
        result_add(r, d + p + 4, n);
        p += 4 + n;
    }
}
#endif

/* ------------------------------------------------------------ round trip */

/* Whether decoding payload + its encoding gives the payload back: a
 * delimiter kind cannot carry a payload that contains its delimiter (or
 * ends in a part of it that completes one early, or in '\r' when CR is
 * stripped). */
static int carries(const evl_framer *fr, const char *p, size_t len)
{
    if (fr->kind != EVL_FRAMER_LINE && fr->kind != EVL_FRAMER_DELIMITER)
        return 1;
    if ((fr->flags & EVL_FRAMER_STRIP_CR) && len > 0 && p[len - 1] == '\r')
        return 0;
    size_t dl = fr->delim_len;
    for (size_t i = 0; i < len; i++) {
        size_t k = len - i < dl ? len - i : dl;
        /* A delimiter starting at i, inside the payload or straddling
         * into the appended delimiter. */
        if (memcmp(p + i, fr->delim, k) == 0 && memcmp(fr->delim + k, fr->delim, dl - k) == 0)
            return 0;
    }
    return 1;
}

static void round_trip(const uint8_t *cfg, const char *data, size_t len, uint32_t seed)
{
    evl_framer fr;
    struct result want, got;
    size_t cap = len + (EVL_FRAMER_HEAD_MAX + EVL_FRAMER_TAIL_MAX) * (len + 1), used = 0, p = 0;
    char *wire = malloc(cap);
    size_t *cut = malloc(sizeof(size_t));

    setup(&fr, cfg);
    result_init(&want, len);
    while (p < len && want.n < MAX_FRAMES) {
        size_t n = rnd(&seed) % 24;
        if (fr.kind == EVL_FRAMER_FIXED)
            n = fr.record_len;
        if (n > len - p)
            n = len - p;
        char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
        size_t hl, tl;
        if (carries(&fr, data + p, n) &&
            evl_framer_encode(&fr, n, head, &hl, tail, &tl) == 0) {
            if (n > fr.max_len)
                abort();   /* encode must refuse what decode would */
            memcpy(wire + used, head, hl);
            memcpy(wire + used + hl, data + p, n);
            memcpy(wire + used + hl + n, tail, tl);
            used += hl + n + tl;
            result_add(&want, data + p, n);
        }
        p += n > 0 ? n : 1;
    }
    /* A line framer's empty last frame has an empty encoding that decodes
     * to nothing; the terminator is what makes it a frame, and it has one. */
    *cut = used;
    decode(cfg, wire, used, cut, 1, &got);
    result_check_same(&want, &got, "encode/decode round trip");
    free(want.bytes);
    free(got.bytes);
    free(wire);
    free(cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 4 || size > 4096 + 4)
        return 0;
    const uint8_t *cfg = in;
    const char *data = (const char *)in + 4;
    size_t len = size - 4;
    uint32_t seed = cfg[3] | 1u << 8 | (uint32_t)len << 9;
    size_t *cuts = malloc((len + 1) * sizeof(size_t));
    size_t n = 0;
    struct result whole, split, bytes;

    cuts[0] = len;
    decode(cfg, data, len, cuts, 1, &whole);

    for (size_t at = 0; at < len;) {
        at += rnd(&seed) % 17 + 1;
        cuts[n++] = at < len ? at : len;
    }
    if (n == 0)
        cuts[n++] = 0;
    decode(cfg, data, len, cuts, n, &split);
    result_check_same(&whole, &split, "random split");

    for (n = 0; n < len; n++)
        cuts[n] = n + 1;
    decode(cfg, data, len, cuts, n ? n : 1, &bytes);
    result_check_same(&whole, &bytes, "byte at a time");

#if FUZZ_KIND == KIND_LINE || FUZZ_KIND == KIND_NETSTRING || FUZZ_KIND == KIND_U32BE
    struct result ref;
    model(cfg, data, len, &ref);
    result_check_same(&ref, &whole, "reference model");
    free(ref.bytes);
#endif

    round_trip(cfg, data, len, seed);
    free(whole.bytes);
    free(split.bytes);
    free(bytes.bytes);
    free(cuts);
    return 0;
}
