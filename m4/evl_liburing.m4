# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# EVL_LIBURING: find liburing through pkg-config (Debian: liburing-dev).
AC_DEFUN([EVL_LIBURING], [
  PKG_CHECK_MODULES([LIBURING], [liburing >= 2.0], [],
    [AC_MSG_ERROR([liburing >= 2.0 not found: install the Debian package liburing-dev])])
])
