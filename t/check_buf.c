/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_buf.c - the contiguous byte buffer under evl_stream. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evl-test.h"
#include "evloop.h"

START_TEST(test_buf_append_consume_keeps_order)
{
    evl_buf b;
    evl_buf_init(&b);
    char expect[100000];
    size_t have = 0, eaten = 0;
    srand(3);
    /* Interleave appends and partial consumes; the live bytes must always
     * be exactly the expected window. */
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % 97);
        if (have + n > sizeof(expect))
            break;
        for (size_t i = 0; i < n; i++)
            expect[have + i] = (char)((have + i) * 31 + 7);
        ck_assert_rc(evl_buf_append(&b, expect + have, n));
        have += n;
        size_t c = (size_t)rand() % (evl_buf_len(&b) + 1);
        evl_buf_consume(&b, c);
        eaten += c;
        ck_assert_uint_eq(evl_buf_len(&b), have - eaten);
        ck_assert_mem_eq(evl_buf_data(&b), expect + eaten, have - eaten);
    }
    evl_buf_free(&b);
    ck_assert_ptr_null(b.base);
}
END_TEST

START_TEST(test_buf_reserve_compacts_before_growing)
{
    evl_buf b;
    evl_buf_init(&b);
    char *p = evl_buf_reserve(&b, 4096);
    ck_assert_ptr_nonnull(p);
    memset(p, 'a', 4096);
    evl_buf_commit(&b, 4096);
    size_t cap = b.cap;
    evl_buf_consume(&b, 4000);
    /* 96 live bytes: 3000 more fit after sliding them to the front. */
    ck_assert_ptr_nonnull(evl_buf_reserve(&b, 3000));
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_uint_eq(b.head, 0);
    ck_assert_uint_eq(evl_buf_len(&b), 96);
    ck_assert_uint_ge(evl_buf_space(&b), 3000);
    evl_buf_free(&b);
}
END_TEST

START_TEST(test_buf_consume_all_resets_to_front)
{
    evl_buf b;
    evl_buf_init(&b);
    evl_buf_append(&b, "hello", 5);
    evl_buf_consume(&b, 5);
    ck_assert_uint_eq(b.head, 0);
    ck_assert_uint_eq(b.tail, 0);
    evl_buf_free(&b);
}
END_TEST

START_TEST(test_buf_prepend_puts_bytes_back_in_front)
{
    evl_buf b;
    evl_buf_init(&b);
    evl_buf_append(&b, "world", 5);
    ck_assert_rc(evl_buf_prepend(&b, "hello ", 6));   /* no room in front */
    ck_assert_mem_eq(evl_buf_data(&b), "hello world", 11);
    evl_buf_consume(&b, 6);
    ck_assert_rc(evl_buf_prepend(&b, "big ", 4));     /* room in front */
    ck_assert_uint_eq(evl_buf_len(&b), 9);
    ck_assert_mem_eq(evl_buf_data(&b), "big world", 9);
    evl_buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve_absurd_size_fails_cleanly)
{
    evl_buf b;
    evl_buf_init(&b);
    evl_buf_append(&b, "x", 1);
    ck_assert_ptr_null(evl_buf_reserve(&b, SIZE_MAX - 10));
    ck_assert_uint_eq(evl_buf_len(&b), 1);   /* nothing lost */
    ck_assert_mem_eq(evl_buf_data(&b), "x", 1);
    evl_buf_free(&b);
}
END_TEST

/* A NULL buffer, or NULL bytes to copy, is -EINVAL (or nothing), not a
 * crash, wherever the function can say so. */
START_TEST(test_buf_null_arguments_are_refused_not_dereferenced)
{
    evl_buf_init(NULL);
    evl_buf_free(NULL);
    ck_assert_int_eq(evl_buf_append(NULL, "a", 1), -EINVAL);
    ck_assert_int_eq(evl_buf_prepend(NULL, "a", 1), -EINVAL);
    ck_assert_ptr_null(evl_buf_reserve(NULL, 1));
    ck_assert_uint_eq(evl_buf_space(NULL), 0);
    evl_buf b;
    evl_buf_init(&b);
    ck_assert_int_eq(evl_buf_append(&b, NULL, 1), -EINVAL);
    ck_assert_int_eq(evl_buf_prepend(&b, NULL, 1), -EINVAL);
    ck_assert_int_eq(evl_buf_append(&b, NULL, 0), 0);
    ck_assert_uint_eq(evl_buf_len(&b), 0);
    evl_buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_buf_append_consume_keeps_order);
    tcase_add_test(tc, test_buf_reserve_compacts_before_growing);
    tcase_add_test(tc, test_buf_consume_all_resets_to_front);
    tcase_add_test(tc, test_buf_prepend_puts_bytes_back_in_front);
    tcase_add_test(tc, test_buf_reserve_absurd_size_fails_cleanly);
    tcase_add_test(tc, test_buf_null_arguments_are_refused_not_dereferenced);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(buf_suite());
}
