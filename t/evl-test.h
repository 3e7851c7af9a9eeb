/* evl-test.h - shared helpers for the libcheck programs. */
#ifndef EVL_TEST_H
#define EVL_TEST_H

#include <check.h>
#include <stdlib.h>

/* Runs one suite in the libcheck way and maps the result to an automake
 * exit status (0 pass, 1 fail). */
static inline int evl_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define ck_assert_rc(expr) ck_assert_int_eq((expr), 0)

#endif
