# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# EVL_OPENSSL: find OpenSSL 3 (libssl, libcrypto) through pkg-config
# (Debian: libssl-dev); TLS streams (loop/tls.c) need it.
AC_DEFUN([EVL_OPENSSL], [
  PKG_CHECK_MODULES([OPENSSL], [libssl >= 3.0 libcrypto >= 3.0], [],
    [AC_MSG_ERROR([OpenSSL >= 3.0 not found: install the Debian package libssl-dev])])
  AC_PATH_PROG([OPENSSL_BIN], [openssl])
  AC_SUBST([OPENSSL_BIN])
])
