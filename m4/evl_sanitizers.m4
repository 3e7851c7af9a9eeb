# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# EVL_SANITIZERS: --enable-sanitizers builds everything with ASan + UBSan.
AC_DEFUN([EVL_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers], [build with -fsanitize=address,undefined])],
    [], [enable_sanitizers=no])
  EVL_SAN_CFLAGS=
  EVL_SAN_LDFLAGS=
  AS_IF([test "x$enable_sanitizers" = xyes], [
    EVL_SAN_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    EVL_SAN_LDFLAGS="-fsanitize=address,undefined"
  ])
  AM_CONDITIONAL([EVL_SANITIZERS], [test "x$enable_sanitizers" = xyes])
  AC_SUBST([EVL_SAN_CFLAGS])
  AC_SUBST([EVL_SAN_LDFLAGS])
])
