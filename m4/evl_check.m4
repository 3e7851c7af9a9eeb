# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# EVL_CHECK: the libcheck unit-test framework (Debian: check).
AC_DEFUN([EVL_CHECK], [
  PKG_CHECK_MODULES([CHECK], [check >= 0.11], [],
    [AC_MSG_ERROR([libcheck >= 0.11 not found: install the Debian package check])])
])
