/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_framer.c - the framers: line, netstring, u32be, delimiter, fixed,
 * length_prefix and varint.
 *
 * Most decoding tests go through check_every_split(): the input is fed to
 * an accumulating buffer whole, one byte at a time, and cut at every
 * single point and every pair of points, consuming frames as they appear
 * and calling finish at the end.  Each run is written down as a string
 * ("payload|payload|eof:tail|EBADMSG") and must equal the expected one,
 * which is spelled out by hand so that a framer that never returns a
 * frame cannot pass by being consistently wrong.
 *
 * Every framer call sees an exact-size heap copy of the buffered bytes,
 * so valgrind and ASan catch any read past len.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evl-test.h"
#include "evloop.h"

/* ------------------------------------------------------------ helpers */

struct log {
    char *s;
    size_t len, cap;
};

static void log_putc(struct log *l, char c)
{
    if (l->len + 2 > l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->s = realloc(l->s, l->cap);
        ck_assert_ptr_nonnull(l->s);
    }
    l->s[l->len++] = c;
    l->s[l->len] = '\0';
}

static void log_puts(struct log *l, const char *s)
{
    while (*s)
        log_putc(l, *s++);
}

/* Payloads are binary; escaping keeps the log a C string whose failure
 * message is readable, and keeps '|' unambiguous as the separator. */
static void log_payload(struct log *l, const char *p, size_t n)
{
    char hex[8];

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') {
            log_puts(l, "\\n");
        } else if (c == '\r') {
            log_puts(l, "\\r");
        } else if (c < 0x20 || c > 0x7e || c == '|' || c == '\\') {
            snprintf(hex, sizeof hex, "\\x%02x", c);
            log_puts(l, hex);
        } else {
            log_putc(l, (char)c);
        }
    }
    log_putc(l, '|');
}

static void log_error(struct log *l, int rc)
{
    char buf[32];

    if (rc == -EMSGSIZE)
        log_puts(l, "EMSGSIZE");
    else if (rc == -EBADMSG)
        log_puts(l, "EBADMSG");
    else {
        snprintf(buf, sizeof buf, "E%d", rc);
        log_puts(l, buf);
    }
}

static void log_free(struct log *l)
{
    free(l->s);
    *l = (struct log){ 0 };
}

typedef int (*framer_fn)(evl_framer *fr, const char *data, size_t len, size_t *payload_off,
                         size_t *payload_len, size_t *frame_len);

/* Calls fn until it wants more bytes, consuming each frame from the front
 * of acc as a stream would.  Returns 1 once an error ended the run. */
static int drain(evl_framer *fr, framer_fn fn, const char *tag, char *acc, size_t *have,
                 struct log *l)
{
    for (;;) {
        size_t off = 99, plen = 99, flen = 99;
        char *copy = NULL;
        int rc;

        /* An empty buffer is passed as NULL, which the API allows. */
        if (*have > 0) {
            copy = malloc(*have);
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, acc, *have);
        }
        rc = fn(fr, copy, *have, &off, &plen, &flen);
        if (rc == 1) {
            ck_assert_uint_gt(flen, 0);
            ck_assert_uint_le(flen, *have);
            ck_assert_uint_le(off, flen);
            ck_assert_uint_le(plen, flen - off);
            log_puts(l, tag);
            log_payload(l, copy + off, plen);
            memmove(acc, acc + flen, *have - flen);
            *have -= flen;
        }
        free(copy);
        if (rc < 0) {
            log_error(l, rc);
            return 1;
        }
        ck_assert_int_ge(rc, 0);
        ck_assert_int_le(rc, 1);
        if (rc == 0)
            return 0;
    }
}

/* Feeds in[0..len) in pieces ending at cuts[0..ncuts) and then at len,
 * then calls finish.  fr is a fresh copy of proto for every run. */
static void run_split(const evl_framer *proto, const char *in, size_t len, const size_t *cuts,
                      size_t ncuts, struct log *l)
{
    evl_framer fr = *proto;
    char *acc = malloc(len + 1);
    size_t have = 0, start = 0;
    int done = 0;

    ck_assert_ptr_nonnull(acc);
    for (size_t c = 0; c <= ncuts && !done; c++) {
        size_t stop = c < ncuts ? cuts[c] : len;
        memcpy(acc + have, in + start, stop - start);
        have += stop - start;
        start = stop;
        done = drain(&fr, evl_framer_next, "", acc, &have, l);
    }
    if (!done)
        drain(&fr, evl_framer_finish, "eof:", acc, &have, l);
    free(acc);
}

static void expect_split(const evl_framer *proto, const char *in, size_t len, const size_t *cuts,
                         size_t ncuts, const char *want, const char *what)
{
    struct log l = { 0 };

    run_split(proto, in, len, cuts, ncuts, &l);
    ck_assert_msg(l.s != NULL && strcmp(l.s, want) == 0, "%s: got \"%s\", want \"%s\"", what,
                  l.s ? l.s : "", want);
    log_free(&l);
}

/* The core property of the header: the frames (and any error) do not
 * depend on how the input was chunked. */
static void check_every_split(const evl_framer *proto, const char *in, size_t len,
                              const char *want)
{
    size_t *cuts = calloc(len + 2, sizeof *cuts);
    char what[64];

    ck_assert_ptr_nonnull(cuts);
    expect_split(proto, in, len, NULL, 0, want, "whole input");

    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    expect_split(proto, in, len, cuts, len > 0 ? len - 1 : 0, want, "one byte at a time");

    for (size_t i = 1; i < len; i++) {
        cuts[0] = i;
        snprintf(what, sizeof what, "split at %zu", i);
        expect_split(proto, in, len, cuts, 1, want, what);
        for (size_t j = i + 1; j < len; j++) {
            cuts[1] = j;
            snprintf(what, sizeof what, "split at %zu and %zu", i, j);
            expect_split(proto, in, len, cuts, 2, want, what);
        }
    }
    free(cuts);
}

#define S(lit) (lit), (sizeof(lit) - 1)

static void init_ok(evl_framer *fr, int kind, unsigned flags, size_t max_len, const char *delim,
                    size_t delim_len)
{
    ck_assert_rc(evl_framer_init(fr, kind, flags, max_len, delim, delim_len));
}

/* One next() call on a literal buffer. */
static int next_on(evl_framer *fr, const char *data, size_t len, size_t *off, size_t *plen,
                   size_t *flen)
{
    return evl_framer_next(fr, data, len, off, plen, flen);
}

/* ------------------------------------------------------------ line */

START_TEST(test_line_every_chunk_split_gives_same_frames)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    /* A long line followed by empty ones catches a scan offset that is
     * not reset after a frame. */
    check_every_split(&fr, S("abcdefghij\n\n\n\nhello\n\nworld\r\nx\nlast"),
                      "abcdefghij||||hello||world\\r|x|eof:last|");
}
END_TEST

START_TEST(test_line_crlf_stripped_only_with_flag)
{
    static const char in[] = "a\r\nb\nc\r\r\nd\re\n";
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, EVL_FRAMER_STRIP_CR, 0, NULL, 0);
    check_every_split(&fr, in, sizeof in - 1, "a|b|c\\r|d\\re|");
    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    check_every_split(&fr, in, sizeof in - 1, "a\\r|b|c\\r\\r|d\\re|");
}
END_TEST

START_TEST(test_line_multibyte_delimiter_split_across_chunks)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, S("\r\n\r\n"));
    /* "body\r\n\r\r\n\r\n" starts a false match at 4 and 6 before the real
     * one at 7. */
    check_every_split(&fr, S("GET / HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\nbody\r\n\r\r\n\r\n"),
                      "GET / HTTP/1.1\\r\\nHost: x||body\\r\\n\\r|");
}
END_TEST

START_TEST(test_line_self_overlapping_delimiter_matches_first_occurrence)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, S("aab"));
    check_every_split(&fr, S("xaaabaabaaaab"), "xa||aa|");
}
END_TEST

START_TEST(test_line_payload_of_exactly_max_len_is_accepted)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 8, NULL, 0);
    check_every_split(&fr, S("12345678\nab\n"), "12345678|ab|");
    init_ok(&fr, EVL_FRAMER_LINE, EVL_FRAMER_STRIP_CR, 8, NULL, 0);
    check_every_split(&fr, S("12345678\r\nab\n"), "12345678|ab|");
}
END_TEST

START_TEST(test_line_oversize_with_delimiter_is_emsgsize)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 8, NULL, 0);
    check_every_split(&fr, S("ab\n123456789\ncd\n"), "ab|EMSGSIZE");
    /* Without the flag the '\r' is payload, making this 9 bytes. */
    check_every_split(&fr, S("12345678\r\n"), "EMSGSIZE");
    /* With it, the search reaches one byte further in case there is a
     * '\r' to strip; here there is none. */
    init_ok(&fr, EVL_FRAMER_LINE, EVL_FRAMER_STRIP_CR, 8, NULL, 0);
    check_every_split(&fr, S("123456789\n"), "EMSGSIZE");
}
END_TEST

START_TEST(test_line_oversize_is_emsgsize_without_delimiter)
{
    char buf[16] = "123456789";
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 8, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, 8, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, buf, 9, &off, &plen, &flen), -EMSGSIZE);
}
END_TEST

START_TEST(test_line_oversize_waits_while_a_delimiter_could_still_fit)
{
    char buf[16] = "12345678\r\r";
    size_t off, plen, flen;
    evl_framer fr;

    /* With STRIP_CR, "12345678\r" may still become a legal 8-byte line. */
    init_ok(&fr, EVL_FRAMER_LINE, EVL_FRAMER_STRIP_CR, 8, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, 9, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, buf, 10, &off, &plen, &flen), -EMSGSIZE);

    /* A two-byte delimiter may start right after the 8th byte. */
    memcpy(buf, "123456789x", 10);
    init_ok(&fr, EVL_FRAMER_LINE, 0, 8, S("\r\n"));
    ck_assert_int_eq(next_on(&fr, buf, 9, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, buf, 10, &off, &plen, &flen), -EMSGSIZE);
}
END_TEST

START_TEST(test_line_default_max_len_is_1mib)
{
    size_t n = 1048576, off, plen, flen;
    char *buf = malloc(n + 2);
    evl_framer fr;

    ck_assert_ptr_nonnull(buf);
    memset(buf, 'x', n + 1);
    buf[n] = '\n';
    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, n + 1, &off, &plen, &flen), 1);
    ck_assert_uint_eq(plen, n);

    buf[n] = 'x';
    buf[n + 1] = '\n';
    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, n + 2, &off, &plen, &flen), -EMSGSIZE);
    free(buf);
}
END_TEST

START_TEST(test_line_finish_returns_tail)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "bc", 2, &off, &plen, &flen), 0);
    ck_assert_int_eq(evl_framer_finish(&fr, "bc", 2, &off, &plen, &flen), 1);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(plen, 2);
    ck_assert_uint_eq(flen, 2);
    ck_assert_int_eq(evl_framer_finish(&fr, NULL, 0, &off, &plen, &flen), 0);
}
END_TEST

START_TEST(test_line_finish_delivers_complete_frames_before_tail)
{
    char acc[] = "a\n\nbc";
    size_t have = sizeof acc - 1;
    struct log l = { 0 };
    evl_framer fr;

    /* No next() sees the data first: finish alone must yield every
     * frame, so a caller can simply loop on it at EOF. */
    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    drain(&fr, evl_framer_finish, "eof:", acc, &have, &l);
    ck_assert_str_eq(l.s, "eof:a|eof:|eof:bc|");
    ck_assert_uint_eq(have, 0);
    log_free(&l);
}
END_TEST

START_TEST(test_line_finish_returns_tail_without_cr_strip)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, EVL_FRAMER_STRIP_CR, 0, NULL, 0);
    check_every_split(&fr, S("a\r\nabc\r"), "a|eof:abc\\r|");
}
END_TEST

START_TEST(test_line_finish_tail_over_max_len_is_emsgsize)
{
    size_t off, plen, flen;
    evl_framer fr;

    /* Five bytes cannot rule out a "\r\n" yet, so only finish can tell. */
    init_ok(&fr, EVL_FRAMER_LINE, 0, 4, S("\r\n"));
    ck_assert_int_eq(next_on(&fr, "12345", 5, &off, &plen, &flen), 0);
    ck_assert_int_eq(evl_framer_finish(&fr, "12345", 5, &off, &plen, &flen), -EMSGSIZE);
}
END_TEST

START_TEST(test_line_finish_with_nothing_left_is_zero)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(evl_framer_finish(&fr, NULL, 0, &off, &plen, &flen), 0);
    ck_assert_int_eq(evl_framer_finish(&fr, "", 0, &off, &plen, &flen), 0);
}
END_TEST

START_TEST(test_line_does_not_rescan_scanned_bytes)
{
    char buf[16] = "abcdef";
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, 6, &off, &plen, &flen), 0);
    /* Breaking the append-only rule on purpose: a delimiter planted in
     * bytes already searched must go unseen if they are not searched
     * again. */
    buf[1] = '\n';
    memcpy(buf + 6, "gh\n", 3);
    ck_assert_int_eq(next_on(&fr, buf, 9, &off, &plen, &flen), 1);
    ck_assert_uint_eq(plen, 8);
    ck_assert_uint_eq(flen, 9);
}
END_TEST

/* ------------------------------------------------------------ netstring */

START_TEST(test_netstring_every_chunk_split_gives_same_frames)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    check_every_split(&fr, S("3:abc,0:,5:he:,o,12:hello world!,1:,,"),
                      "abc||he:,o|hello world!|,|");
}
END_TEST

START_TEST(test_netstring_zero_length_is_a_frame)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    check_every_split(&fr, S("0:,0:,"), "||");
}
END_TEST

START_TEST(test_netstring_missing_comma_is_ebadmsg)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    check_every_split(&fr, S("1:x,3:abc;"), "x|EBADMSG");
    check_every_split(&fr, S("3:abcd,"), "EBADMSG");
}
END_TEST

START_TEST(test_netstring_leading_zero_is_ebadmsg)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    check_every_split(&fr, S("3:abc,01:a,"), "abc|EBADMSG");
    check_every_split(&fr, S("00:,"), "EBADMSG");
}
END_TEST

/* The lenient flag (peers like the seed's Perl codec send "01:a,"). */
START_TEST(test_netstring_leading_zeros_accepted_with_flag)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, EVL_FRAMER_LEADING_ZEROS, 4, NULL, 0);
    check_every_split(&fr, S("01:a,00:,0003:abc,"), "a||abc|");
    check_every_split(&fr, S("0005:abcde,"), "EMSGSIZE");
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_LINE, EVL_FRAMER_LEADING_ZEROS, 0, NULL, 0),
                     -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_U32BE, EVL_FRAMER_LEADING_ZEROS, 0, NULL, 0),
                     -EINVAL);
}
END_TEST

START_TEST(test_netstring_non_digit_length_is_ebadmsg)
{
    static const char *const bad[] = { "a:", "1a:x,", " 1:x,", "-1:x,", "+1:x,", "1 :x,", "0x1:" };
    size_t off, plen, flen;
    evl_framer fr;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
        ck_assert_msg(next_on(&fr, bad[i], strlen(bad[i]), &off, &plen, &flen) == -EBADMSG,
                      "\"%s\" not rejected", bad[i]);
    }
    /* The bad byte alone is enough; the ':' need not have arrived. */
    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "12x", 3, &off, &plen, &flen), -EBADMSG);
}
END_TEST

START_TEST(test_netstring_empty_length_is_ebadmsg)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    check_every_split(&fr, S("1:a,:,"), "a|EBADMSG");
}
END_TEST

START_TEST(test_netstring_oversize_length_detected_before_payload)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 10, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "1", 1, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, "11", 2, &off, &plen, &flen), -EMSGSIZE);

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 10, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "10:", 3, &off, &plen, &flen), 0);
    check_every_split(&fr, S("10:0123456789,2:ab,11:"), "0123456789|ab|EMSGSIZE");
}
END_TEST

START_TEST(test_netstring_length_digits_are_bounded)
{
    char digits[64];
    size_t nd, off, plen, flen;
    evl_framer fr;

    /* With no max_len to stop it, overflow must: a length of one digit
     * more than SIZE_MAX has cannot be represented. */
    nd = (size_t)snprintf(digits, sizeof digits, "%zu", SIZE_MAX);
    memset(digits, '0', sizeof digits);
    digits[0] = '1';
    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, SIZE_MAX, NULL, 0);
    ck_assert_int_eq(next_on(&fr, digits, nd, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, digits, nd + 1, &off, &plen, &flen), -EMSGSIZE);
}
END_TEST

START_TEST(test_netstring_finish_with_partial_frame_is_ebadmsg)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    check_every_split(&fr, S("1:a,3:ab"), "a|EBADMSG");
    check_every_split(&fr, S("1:a,12"), "a|EBADMSG");
}
END_TEST

START_TEST(test_netstring_finish_with_nothing_left_is_zero)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    ck_assert_int_eq(evl_framer_finish(&fr, NULL, 0, &off, &plen, &flen), 0);
}
END_TEST

/* The sticky error in words: what a Stream (and the Perl codecs) report. */
static const char *why_after(int kind, unsigned flags, size_t max, const char *in, size_t len,
                             int at_eof)
{
    static evl_framer fr;
    size_t off, plen, flen, used = 0;
    int rc;

    ck_assert_int_eq(evl_framer_init(&fr, kind, flags, max, NULL, 0), 0);
    ck_assert_ptr_null(evl_framer_strerror(&fr));
    do {
        rc = at_eof ? evl_framer_finish(&fr, in + used, len - used, &off, &plen, &flen)
                    : evl_framer_next(&fr, in + used, len - used, &off, &plen, &flen);
        if (rc == 1)
            used += flen;
    } while (rc == 1);
    ck_assert_int_lt(rc, 0);
    return evl_framer_strerror(&fr);
}

START_TEST(test_strerror_names_each_error)
{
    evl_framer fr;

    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 0, S("1:a,x:"), 0), "invalid netstring length");
    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 0, S(":a,"), 0), "invalid netstring length");
    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 0, S("01:a,"), 0), "invalid netstring length");
    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 0, S("1:ab"), 0), "invalid netstring terminator");
    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 4, S("12345"), 0), "frame too large");
    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 0, S("1:a,3:a"), 1), "invalid netstring terminator");
    ck_assert_str_eq(why_after(EVL_FRAMER_NETSTRING, 0, 0, S("1:a,12"), 1), "invalid netstring length");
    ck_assert_str_eq(why_after(EVL_FRAMER_LINE, 0, 3, S("abcd\n"), 0), "line too long");
    ck_assert_str_eq(why_after(EVL_FRAMER_U32BE, 0, 2, S("\0\0\0\3"), 0), "frame too large");
    ck_assert_str_eq(why_after(EVL_FRAMER_U32BE, 0, 0, S("\0\0"), 1), "truncated frame");
    ck_assert_str_eq(why_after(EVL_FRAMER_U32BE, 0, 0, S("\0\0\0\5ab"), 1), "truncated frame");

    /* Reset forgets the words with the error; NULL framer: NULL. */
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0), 0);
    {
        size_t off, plen, flen;
        ck_assert_int_eq(evl_framer_next(&fr, "x", 1, &off, &plen, &flen), -EBADMSG);
    }
    ck_assert_str_eq(evl_framer_strerror(&fr), "invalid netstring length");
    evl_framer_reset(&fr);
    ck_assert_ptr_null(evl_framer_strerror(&fr));
    ck_assert_ptr_null(evl_framer_strerror(NULL));
}
END_TEST

/* ------------------------------------------------------------ u32be */

START_TEST(test_u32be_every_chunk_split_gives_same_frames)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    check_every_split(&fr, S("\0\0\0\3abc\0\0\0\0\0\0\0\5hello\0\0\0\1\0"),
                      "abc||hello|\\x00|");
}
END_TEST

START_TEST(test_u32be_length_is_big_endian)
{
    char buf[4 + 258];
    size_t off, plen, flen;
    evl_framer fr;

    memset(buf, 'x', sizeof buf);
    memcpy(buf, "\0\0\1\2", 4);
    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, sizeof buf - 1, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, buf, sizeof buf, &off, &plen, &flen), 1);
    ck_assert_uint_eq(off, 4);
    ck_assert_uint_eq(plen, 258);
    ck_assert_uint_eq(flen, 262);
}
END_TEST

START_TEST(test_u32be_high_bit_length_is_unsigned)
{
    char buf[4 + 0x8080];
    size_t off, plen, flen;
    evl_framer fr;

    /* Header bytes read through a signed char sign-extend and smear
     * ones over the bytes above them. */
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "\0\0\x80\x80", 4);
    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, buf, sizeof buf, &off, &plen, &flen), 1);
    ck_assert_uint_eq(plen, 0x8080);

    init_ok(&fr, EVL_FRAMER_U32BE, 0, SIZE_MAX, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "\x80\0\0\1", 4, &off, &plen, &flen), 0);
    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0x80000000u, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "\x80\0\0\1", 4, &off, &plen, &flen), -EMSGSIZE);
}
END_TEST

START_TEST(test_u32be_oversize_detected_when_header_complete)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_U32BE, 0, 16, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "\0\0\0\x11", 3, &off, &plen, &flen), 0);
    ck_assert_int_eq(next_on(&fr, "\0\0\0\x11", 4, &off, &plen, &flen), -EMSGSIZE);

    init_ok(&fr, EVL_FRAMER_U32BE, 0, 16, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "\0\0\0\x10", 4, &off, &plen, &flen), 0);
    check_every_split(&fr, S("\0\0\0\2ab\0\0\0\x11"), "ab|EMSGSIZE");
}
END_TEST

START_TEST(test_u32be_finish_with_partial_frame_is_ebadmsg)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    check_every_split(&fr, S("\0\0\0\1a\0\0"), "a|EBADMSG");
    check_every_split(&fr, S("\0\0\0\1a\0\0\0\3ab"), "a|EBADMSG");
}
END_TEST

/* ------------------------------------------------------------ encode */

/* Encodes each payload, concatenates the frames and checks that decoding
 * them under every chunking gives the payloads back. */
static void roundtrip(const evl_framer *proto, const char *const *payloads, const size_t *lens,
                      size_t n, const char *want)
{
    char wire[1024], head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t wlen = 0, hlen, tlen;

    for (size_t i = 0; i < n; i++) {
        ck_assert_rc(evl_framer_encode(proto, lens[i], head, &hlen, tail, &tlen));
        ck_assert_uint_le(hlen, EVL_FRAMER_HEAD_MAX);
        ck_assert_uint_le(tlen, EVL_FRAMER_TAIL_MAX);
        ck_assert_uint_le(wlen + hlen + lens[i] + tlen, sizeof wire);
        memcpy(wire + wlen, head, hlen);
        memcpy(wire + wlen + hlen, payloads[i], lens[i]);
        memcpy(wire + wlen + hlen + lens[i], tail, tlen);
        wlen += hlen + lens[i] + tlen;
    }
    check_every_split(proto, wire, wlen, want);
}

START_TEST(test_line_encode_then_decode_roundtrip)
{
    static const char *const p[] = { "hello", "", "a\rb\nc", "\r\n\r" };
    static const size_t n[] = { 5, 0, 5, 3 };
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, S("\r\n\r\n"));
    roundtrip(&fr, p, n, 4, "hello||a\\rb\\nc|\\r\\n\\r|");
}
END_TEST

START_TEST(test_netstring_encode_then_decode_roundtrip)
{
    static const char *const p[] = { "hello", "", "1:a,", "0123456789ab" };
    static const size_t n[] = { 5, 0, 4, 12 };
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    roundtrip(&fr, p, n, 4, "hello||1:a,|0123456789ab|");
}
END_TEST

START_TEST(test_u32be_encode_then_decode_roundtrip)
{
    static const char *const p[] = { "hello", "", "\0\0\0\1" };
    static const size_t n[] = { 5, 0, 4 };
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    roundtrip(&fr, p, n, 3, "hello||\\x00\\x00\\x00\\x01|");
}
END_TEST

START_TEST(test_netstring_encode_head_is_decimal_length)
{
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX], want[32];
    size_t hlen, tlen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, SIZE_MAX, NULL, 0);
    ck_assert_rc(evl_framer_encode(&fr, 0, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, 2);
    ck_assert_mem_eq(head, "0:", 2);
    ck_assert_uint_eq(tlen, 1);
    ck_assert_mem_eq(tail, ",", 1);

    ck_assert_rc(evl_framer_encode(&fr, 1234567, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, 8);
    ck_assert_mem_eq(head, "1234567:", 8);

    /* The longest possible length must still fit EVL_FRAMER_HEAD_MAX. */
    snprintf(want, sizeof want, "%zu:", SIZE_MAX);
    ck_assert_rc(evl_framer_encode(&fr, SIZE_MAX, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, strlen(want));
    ck_assert_mem_eq(head, want, hlen);
}
END_TEST

START_TEST(test_u32be_encode_head_is_big_endian)
{
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen, tlen = 99;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    ck_assert_rc(evl_framer_encode(&fr, 0x10203, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, 4);
    ck_assert_mem_eq(head, "\0\1\2\3", 4);
    ck_assert_uint_eq(tlen, 0);
}
END_TEST

START_TEST(test_line_encode_tail_is_delimiter)
{
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen = 99, tlen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, S("<<EOF>>\n"));
    ck_assert_rc(evl_framer_encode(&fr, 3, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, 0);
    ck_assert_uint_eq(tlen, 8);
    ck_assert_mem_eq(tail, "<<EOF>>\n", 8);
}
END_TEST

START_TEST(test_encode_over_max_len_is_emsgsize)
{
    static const int kinds[] = { EVL_FRAMER_LINE, EVL_FRAMER_NETSTRING, EVL_FRAMER_U32BE };
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen, tlen;
    evl_framer fr;

    for (size_t i = 0; i < 3; i++) {
        init_ok(&fr, kinds[i], 0, 10, NULL, 0);
        ck_assert_int_eq(evl_framer_encode(&fr, 10, head, &hlen, tail, &tlen), 0);
        ck_assert_int_eq(evl_framer_encode(&fr, 11, head, &hlen, tail, &tlen), -EMSGSIZE);
    }
}
END_TEST

START_TEST(test_u32be_encode_over_4gib_is_emsgsize)
{
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen, tlen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_U32BE, 0, SIZE_MAX, NULL, 0);
    ck_assert_int_eq(evl_framer_encode(&fr, UINT32_MAX, head, &hlen, tail, &tlen), 0);
    ck_assert_mem_eq(head, "\xff\xff\xff\xff", 4);
#if SIZE_MAX > UINT32_MAX
    ck_assert_int_eq(evl_framer_encode(&fr, (size_t)UINT32_MAX + 1, head, &hlen, tail, &tlen),
                     -EMSGSIZE);
#endif
}
END_TEST

START_TEST(test_encode_rejects_null_arguments)
{
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen, tlen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    ck_assert_int_eq(evl_framer_encode(NULL, 1, head, &hlen, tail, &tlen), -EINVAL);
    ck_assert_int_eq(evl_framer_encode(&fr, 1, NULL, &hlen, tail, &tlen), -EINVAL);
    ck_assert_int_eq(evl_framer_encode(&fr, 1, head, NULL, tail, &tlen), -EINVAL);
    ck_assert_int_eq(evl_framer_encode(&fr, 1, head, &hlen, NULL, &tlen), -EINVAL);
    ck_assert_int_eq(evl_framer_encode(&fr, 1, head, &hlen, tail, NULL), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------ init, errors */

START_TEST(test_init_rejects_bad_args)
{
    evl_framer fr;

    ck_assert_int_eq(evl_framer_init(NULL, EVL_FRAMER_LINE, 0, 0, NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, 0, 0, 0, NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, 99, 0, 0, NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, "", 0), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, "123456789", 9), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 1), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_LINE, 0x80, 0, NULL, 0), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_NETSTRING, EVL_FRAMER_STRIP_CR, 0, NULL, 0),
                     -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_U32BE, EVL_FRAMER_STRIP_CR, 0, NULL, 0),
                     -EINVAL);
}
END_TEST

START_TEST(test_init_accepts_8_byte_delimiter)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, S("12345678"));
    check_every_split(&fr, S("ab12345678c1234567812345678"), "ab|c||");
}
END_TEST

START_TEST(test_init_null_delimiter_means_newline)
{
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    check_every_split(&fr, S("a\r\n\nb"), "a\\r||eof:b|");
}
END_TEST

START_TEST(test_next_with_empty_data_needs_more)
{
    static const int kinds[] = { EVL_FRAMER_LINE, EVL_FRAMER_NETSTRING, EVL_FRAMER_U32BE };
    size_t off, plen, flen;
    evl_framer fr;

    for (size_t i = 0; i < 3; i++) {
        init_ok(&fr, kinds[i], 0, 0, NULL, 0);
        ck_assert_int_eq(next_on(&fr, NULL, 0, &off, &plen, &flen), 0);
    }
}
END_TEST

START_TEST(test_next_rejects_null_arguments_without_sticking)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(evl_framer_next(NULL, "a\n", 2, &off, &plen, &flen), -EINVAL);
    ck_assert_int_eq(evl_framer_next(&fr, NULL, 2, &off, &plen, &flen), -EINVAL);
    ck_assert_int_eq(evl_framer_next(&fr, "a\n", 2, NULL, &plen, &flen), -EINVAL);
    ck_assert_int_eq(evl_framer_next(&fr, "a\n", 2, &off, NULL, &flen), -EINVAL);
    ck_assert_int_eq(evl_framer_next(&fr, "a\n", 2, &off, &plen, NULL), -EINVAL);
    ck_assert_int_eq(evl_framer_finish(&fr, "a", 1, NULL, &plen, &flen), -EINVAL);
    ck_assert_int_eq(evl_framer_next(&fr, "a\n", 2, &off, &plen, &flen), 1);
    ck_assert_uint_eq(plen, 1);
}
END_TEST

START_TEST(test_next_on_uninitialised_framer_is_einval)
{
    size_t off, plen, flen;
    evl_framer fr;

    memset(&fr, 0, sizeof fr);
    ck_assert_int_eq(evl_framer_next(&fr, "a\n", 2, &off, &plen, &flen), -EINVAL);
    /* A line framer whose delimiter was cleared by hand is refused too. */
    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    fr.delim_len = 0;
    ck_assert_int_eq(evl_framer_next(&fr, "a\n", 2, &off, &plen, &flen), -EINVAL);
}
END_TEST

START_TEST(test_error_is_sticky_until_reset)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 4, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "123456\n", 7, &off, &plen, &flen), -EMSGSIZE);
    ck_assert_int_eq(next_on(&fr, "ok\n", 3, &off, &plen, &flen), -EMSGSIZE);
    ck_assert_int_eq(next_on(&fr, NULL, 0, &off, &plen, &flen), -EMSGSIZE);
    ck_assert_int_eq(evl_framer_finish(&fr, "ok", 2, &off, &plen, &flen), -EMSGSIZE);
    evl_framer_reset(&fr);
    ck_assert_int_eq(next_on(&fr, "ok\n", 3, &off, &plen, &flen), 1);
    ck_assert_uint_eq(plen, 2);

    init_ok(&fr, EVL_FRAMER_NETSTRING, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "x", 1, &off, &plen, &flen), -EBADMSG);
    ck_assert_int_eq(next_on(&fr, "1:a,", 4, &off, &plen, &flen), -EBADMSG);
    evl_framer_reset(&fr);
    ck_assert_int_eq(next_on(&fr, "1:a,", 4, &off, &plen, &flen), 1);

    /* An error found by finish sticks as well. */
    init_ok(&fr, EVL_FRAMER_U32BE, 0, 0, NULL, 0);
    ck_assert_int_eq(evl_framer_finish(&fr, "\0\0", 2, &off, &plen, &flen), -EBADMSG);
    ck_assert_int_eq(next_on(&fr, "\0\0\0\0", 4, &off, &plen, &flen), -EBADMSG);
    evl_framer_reset(&fr);
    ck_assert_int_eq(next_on(&fr, "\0\0\0\0", 4, &off, &plen, &flen), 1);
}
END_TEST

START_TEST(test_reset_forgets_scan_state)
{
    size_t off, plen, flen;
    evl_framer fr;

    init_ok(&fr, EVL_FRAMER_LINE, 0, 0, NULL, 0);
    ck_assert_int_eq(next_on(&fr, "abcdef", 6, &off, &plen, &flen), 0);
    /* After a reset the caller may start over with unrelated data; the
     * delimiter at 3 lies inside the range scanned before the reset. */
    evl_framer_reset(&fr);
    ck_assert_int_eq(next_on(&fr, "xyz\n1234567", 11, &off, &plen, &flen), 1);
    ck_assert_uint_eq(plen, 3);
}
END_TEST


/* ------------------------------------------------------------ newer kinds */

static void init_ex_ok(evl_framer *fr, struct evl_framer_options opt)
{
    ck_assert_rc(evl_framer_init_ex(fr, &opt));
}

/* Encodes each payload with fr and checks that decoding the concatenation
 * under every chunking gives them back. */
static void check_roundtrip(const evl_framer *fr, const char *const *payloads, size_t n,
                            const char *want)
{
    char wire[4096], head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t w = 0;

    for (size_t i = 0; i < n; i++) {
        size_t hlen, tlen, plen = strlen(payloads[i]);
        ck_assert_rc(evl_framer_encode(fr, plen, head, &hlen, tail, &tlen));
        memcpy(wire + w, head, hlen);
        w += hlen;
        memcpy(wire + w, payloads[i], plen);
        w += plen;
        memcpy(wire + w, tail, tlen);
        w += tlen;
    }
    check_every_split(fr, wire, w, want);
}

START_TEST(test_delimiter_every_chunk_split_gives_same_frames)
{
    evl_framer fr;
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_DELIMITER,
                                                 .delim = "\r\n\r\n", .delim_len = 4 });
    check_every_split(&fr, S("GET /\r\nA: b\r\n\r\n\r\n\r\nx\r\n\r\n"), "GET /\\r\\nA: b||x|");
    /* A record cut short by EOF is an error, unlike a line. */
    check_every_split(&fr, S("a\r\n\r\nbc\r\n"), "a|EBADMSG");
}
END_TEST

START_TEST(test_delimiter_of_64_bytes_and_oversize)
{
    char delim[64];
    evl_framer fr;
    for (int i = 0; i < 64; i++)
        delim[i] = (char)('A' + i % 26);
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_DELIMITER, .delim = delim,
                                                 .delim_len = 64, .max_len = 4 });
    const char *payloads[] = { "ab", "", "abcd" };
    check_roundtrip(&fr, payloads, 3, "ab||abcd|");
    /* Over max_len: an error, without waiting for a delimiter. */
    check_every_split(&fr, S("abcde"), "EBADMSG");
    char big[200];
    memset(big, 'z', sizeof big);
    check_every_split(&fr, big, sizeof big, "EMSGSIZE");
    struct evl_framer_options bad = { .kind = EVL_FRAMER_DELIMITER, .delim = big, .delim_len = 65 };
    ck_assert_int_eq(evl_framer_init_ex(&fr, &bad), -EINVAL);
    bad.delim = NULL;
    bad.delim_len = 0;
    ck_assert_int_eq(evl_framer_init_ex(&fr, &bad), -EINVAL);   /* no default delimiter */
}
END_TEST

START_TEST(test_fixed_every_chunk_split_gives_same_frames)
{
    evl_framer fr;
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_FIXED, .record_len = 3 });
    check_every_split(&fr, S("abcdefghi"), "abc|def|ghi|");
    check_every_split(&fr, S("abcdefgh"), "abc|def|EBADMSG");
    size_t hlen, tlen;
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    ck_assert_rc(evl_framer_encode(&fr, 3, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen + tlen, 0);
    ck_assert_int_eq(evl_framer_encode(&fr, 2, head, &hlen, tail, &tlen), -EMSGSIZE);
    struct evl_framer_options bad = { .kind = EVL_FRAMER_FIXED };
    ck_assert_int_eq(evl_framer_init_ex(&fr, &bad), -EINVAL);
    bad.record_len = 10;
    bad.max_len = 9;
    ck_assert_int_eq(evl_framer_init_ex(&fr, &bad), -EINVAL);
    ck_assert_int_eq(evl_framer_init(&fr, EVL_FRAMER_FIXED, 0, 0, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_fixed_truncated_record_is_named)
{
    evl_framer fr;
    size_t off, plen, flen;
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_FIXED, .record_len = 4 });
    ck_assert_int_eq(evl_framer_finish(&fr, "ab", 2, &off, &plen, &flen), -EBADMSG);
    ck_assert_str_eq(evl_framer_strerror(&fr), "truncated record");
}
END_TEST

START_TEST(test_length_prefix_every_width_and_endianness)
{
    static const unsigned widths[] = { 1, 2, 4, 8 };
    const char *payloads[] = { "hello", "", "x", "0123456789" };
    for (size_t i = 0; i < 4; i++) {
        for (unsigned le = 0; le < 2; le++) {
            evl_framer fr;
            init_ex_ok(&fr, (struct evl_framer_options){
                                .kind = EVL_FRAMER_LENGTH_PREFIX, .prefix_len = widths[i],
                                .flags = le ? EVL_FRAMER_LITTLE_ENDIAN : 0 });
            check_roundtrip(&fr, payloads, 4, "hello||x|0123456789|");
        }
    }
}
END_TEST

START_TEST(test_length_prefix_wire_format)
{
    evl_framer fr;
    /* 2-byte little-endian length that counts itself (adjust -2). */
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_LENGTH_PREFIX,
                                                 .prefix_len = 2, .adjust = -2,
                                                 .flags = EVL_FRAMER_LITTLE_ENDIAN });
    check_every_split(&fr, S("\x05\x00" "abc" "\x02\x00"), "abc||");
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen, tlen;
    ck_assert_rc(evl_framer_encode(&fr, 3, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, 2);
    ck_assert_int_eq(memcmp(head, "\x05\x00", 2), 0);
    /* A field smaller than the header it counts is malformed. */
    check_every_split(&fr, S("\x01\x00zz"), "EBADMSG");
    size_t off, plen, flen;
    ck_assert_int_eq(evl_framer_next(&fr, "\x01\x00", 2, &off, &plen, &flen), -EBADMSG);
    ck_assert_str_eq(evl_framer_strerror(&fr), "invalid length");

    /* 2-byte big-endian, a length past max_len refused from the header. */
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_LENGTH_PREFIX,
                                                 .prefix_len = 2, .max_len = 100 });
    check_every_split(&fr, S("\x00\x02" "hi" "\x01\x00"), "hi|EMSGSIZE");
    ck_assert_int_eq(evl_framer_encode(&fr, 101, head, &hlen, tail, &tlen), -EMSGSIZE);

    /* 1-byte field: 255 is the most it can say. */
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_LENGTH_PREFIX,
                                                 .prefix_len = 1 });
    ck_assert_rc(evl_framer_encode(&fr, 255, head, &hlen, tail, &tlen));
    ck_assert_int_eq(evl_framer_encode(&fr, 256, head, &hlen, tail, &tlen), -EMSGSIZE);
    /* A positive adjust: the field leaves out a 1-byte trailer. */
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_LENGTH_PREFIX,
                                                 .prefix_len = 1, .adjust = 1 });
    check_every_split(&fr, S("\x02" "ab!"), "ab!|");
    /* An 8-byte field near 2^64 cannot wrap. */
    init_ex_ok(&fr, (struct evl_framer_options){ .kind = EVL_FRAMER_LENGTH_PREFIX,
                                                 .prefix_len = 8, .adjust = 16 });
    check_every_split(&fr, S("\xff\xff\xff\xff\xff\xff\xff\xf8"), "EMSGSIZE");
    struct evl_framer_options bad = { .kind = EVL_FRAMER_LENGTH_PREFIX, .prefix_len = 3 };
    ck_assert_int_eq(evl_framer_init_ex(&fr, &bad), -EINVAL);
    bad.prefix_len = 4;
    bad.flags = EVL_FRAMER_STRIP_CR;
    ck_assert_int_eq(evl_framer_init_ex(&fr, &bad), -EINVAL);
}
END_TEST

START_TEST(test_varint_every_chunk_split_gives_same_frames)
{
    evl_framer fr;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_VARINT, 0, 0, NULL, 0));
    /* 130 bytes: a two-byte length, split everywhere too. */
    char p130[131];
    memset(p130, 'q', 130);
    p130[130] = '\0';
    const char *payloads[] = { "a", "", "hello", p130 };
    char want[200];
    snprintf(want, sizeof want, "a||hello|%s|", p130);
    check_roundtrip(&fr, payloads, 4, want);
    /* 300 is "\xac\x02" on the wire. */
    char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
    size_t hlen, tlen;
    ck_assert_rc(evl_framer_encode(&fr, 300, head, &hlen, tail, &tlen));
    ck_assert_uint_eq(hlen, 2);
    ck_assert_int_eq(memcmp(head, "\xac\x02", 2), 0);
    /* Non-minimal zero, and a truncated frame. */
    check_every_split(&fr, S("\x80\x00\x02" "xy" "\x03" "z"), "|xy|EBADMSG");
}
END_TEST

START_TEST(test_varint_malformed_and_oversize)
{
    evl_framer fr;
    size_t off, plen, flen;
    ck_assert_rc(evl_framer_init(&fr, EVL_FRAMER_VARINT, 0, 1000, NULL, 0));
    /* 11 bytes of continuation. */
    check_every_split(&fr, S("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), "EBADMSG");
    ck_assert_int_eq(evl_framer_next(&fr, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, &off,
                                     &plen, &flen), -EBADMSG);
    ck_assert_str_eq(evl_framer_strerror(&fr), "invalid varint");
    evl_framer_reset(&fr);
    /* 1001 > max_len: refused as soon as the length is complete. */
    check_every_split(&fr, S("\xe9\x07"), "EMSGSIZE");
    check_every_split(&fr, S("\xe8\x07"), "EBADMSG");   /* 1000 is fine, cut short */
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *framer_suite(void)
{
    Suite *s = suite_create("framer");
    TCase *tc;

    tc = tcase_create("line");
    tcase_add_test(tc, test_line_every_chunk_split_gives_same_frames);
    tcase_add_test(tc, test_strerror_names_each_error);
    tcase_add_test(tc, test_line_crlf_stripped_only_with_flag);
    tcase_add_test(tc, test_line_multibyte_delimiter_split_across_chunks);
    tcase_add_test(tc, test_line_self_overlapping_delimiter_matches_first_occurrence);
    tcase_add_test(tc, test_line_payload_of_exactly_max_len_is_accepted);
    tcase_add_test(tc, test_line_oversize_with_delimiter_is_emsgsize);
    tcase_add_test(tc, test_line_oversize_is_emsgsize_without_delimiter);
    tcase_add_test(tc, test_line_oversize_waits_while_a_delimiter_could_still_fit);
    tcase_add_test(tc, test_line_default_max_len_is_1mib);
    tcase_add_test(tc, test_line_finish_returns_tail);
    tcase_add_test(tc, test_line_finish_delivers_complete_frames_before_tail);
    tcase_add_test(tc, test_line_finish_returns_tail_without_cr_strip);
    tcase_add_test(tc, test_line_finish_tail_over_max_len_is_emsgsize);
    tcase_add_test(tc, test_line_finish_with_nothing_left_is_zero);
    tcase_add_test(tc, test_line_does_not_rescan_scanned_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("netstring");
    tcase_add_test(tc, test_netstring_every_chunk_split_gives_same_frames);
    tcase_add_test(tc, test_netstring_zero_length_is_a_frame);
    tcase_add_test(tc, test_netstring_missing_comma_is_ebadmsg);
    tcase_add_test(tc, test_netstring_leading_zero_is_ebadmsg);
    tcase_add_test(tc, test_netstring_leading_zeros_accepted_with_flag);
    tcase_add_test(tc, test_netstring_non_digit_length_is_ebadmsg);
    tcase_add_test(tc, test_netstring_empty_length_is_ebadmsg);
    tcase_add_test(tc, test_netstring_oversize_length_detected_before_payload);
    tcase_add_test(tc, test_netstring_length_digits_are_bounded);
    tcase_add_test(tc, test_netstring_finish_with_partial_frame_is_ebadmsg);
    tcase_add_test(tc, test_netstring_finish_with_nothing_left_is_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("u32be");
    tcase_add_test(tc, test_u32be_every_chunk_split_gives_same_frames);
    tcase_add_test(tc, test_u32be_length_is_big_endian);
    tcase_add_test(tc, test_u32be_high_bit_length_is_unsigned);
    tcase_add_test(tc, test_u32be_oversize_detected_when_header_complete);
    tcase_add_test(tc, test_u32be_finish_with_partial_frame_is_ebadmsg);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_test(tc, test_line_encode_then_decode_roundtrip);
    tcase_add_test(tc, test_netstring_encode_then_decode_roundtrip);
    tcase_add_test(tc, test_u32be_encode_then_decode_roundtrip);
    tcase_add_test(tc, test_netstring_encode_head_is_decimal_length);
    tcase_add_test(tc, test_u32be_encode_head_is_big_endian);
    tcase_add_test(tc, test_line_encode_tail_is_delimiter);
    tcase_add_test(tc, test_encode_over_max_len_is_emsgsize);
    tcase_add_test(tc, test_u32be_encode_over_4gib_is_emsgsize);
    tcase_add_test(tc, test_encode_rejects_null_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, test_init_rejects_bad_args);
    tcase_add_test(tc, test_init_accepts_8_byte_delimiter);
    tcase_add_test(tc, test_init_null_delimiter_means_newline);
    tcase_add_test(tc, test_next_with_empty_data_needs_more);
    tcase_add_test(tc, test_next_rejects_null_arguments_without_sticking);
    tcase_add_test(tc, test_next_on_uninitialised_framer_is_einval);
    tcase_add_test(tc, test_error_is_sticky_until_reset);
    tcase_add_test(tc, test_reset_forgets_scan_state);
    suite_add_tcase(s, tc);

    tc = tcase_create("kinds");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_delimiter_every_chunk_split_gives_same_frames);
    tcase_add_test(tc, test_delimiter_of_64_bytes_and_oversize);
    tcase_add_test(tc, test_fixed_every_chunk_split_gives_same_frames);
    tcase_add_test(tc, test_fixed_truncated_record_is_named);
    tcase_add_test(tc, test_length_prefix_every_width_and_endianness);
    tcase_add_test(tc, test_length_prefix_wire_format);
    tcase_add_test(tc, test_varint_every_chunk_split_gives_same_frames);
    tcase_add_test(tc, test_varint_malformed_and_oversize);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return evl_test_run(framer_suite());
}
