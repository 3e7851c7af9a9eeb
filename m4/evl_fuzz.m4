# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# EVL_FUZZ: the libFuzzer harnesses (make fuzz) need clang with
# -fsanitize=fuzzer; the rest of the build keeps its own compiler.
AC_DEFUN([EVL_FUZZ], [
  AC_ARG_VAR([FUZZ_CC], [clang for the libFuzzer harnesses (make fuzz)])
  AC_PATH_PROGS([FUZZ_CC], [clang clang-16 clang-15 clang-14])
  evl_fuzz_ok=no
  AS_IF([test -n "$FUZZ_CC"], [
    AC_MSG_CHECKING([whether $FUZZ_CC -fsanitize=fuzzer,address,undefined links])
    cat >conftest-fuzz.c <<_EVL_EOF
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
_EVL_EOF
    AS_IF([$FUZZ_CC -fsanitize=fuzzer,address,undefined conftest-fuzz.c -o conftest-fuzz \
             >&AS_MESSAGE_LOG_FD 2>&1], [evl_fuzz_ok=yes])
    rm -f conftest-fuzz.c conftest-fuzz
    AC_MSG_RESULT([$evl_fuzz_ok])
  ])
  AM_CONDITIONAL([EVL_FUZZ], [test "x$evl_fuzz_ok" = xyes])
])
