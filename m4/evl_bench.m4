# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# EVL_BENCH: the peers that `make bench` measures libevloop against, libev
# (Debian: libev-dev) and libuv (Debian: libuv1-dev).  Only the benchmarks
# need them, so a missing one does not stop configure: configure warns,
# and `make bench` stops at once naming the packages to install, instead
# of failing in the compiler on a missing ev.h or uv.h.
#
# Substitutes:
#   LIBUV_CFLAGS        pkg-config's cflags for libuv (LIBUV_LIBS too)
#   EVL_BENCH_MISSING   the Debian packages `make bench` still needs, or empty
AC_DEFUN([EVL_BENCH], [
  EVL_BENCH_MISSING=
  dnl action-if-found ":" keeps -lev out of LIBS: only bench/ links it.
  AC_CHECK_HEADER([ev.h],
    [AC_CHECK_LIB([ev], [ev_run], [:], [EVL_BENCH_MISSING=libev-dev])],
    [EVL_BENCH_MISSING=libev-dev])
  PKG_CHECK_MODULES([LIBUV], [libuv >= 1.0], [],
    [EVL_BENCH_MISSING="${EVL_BENCH_MISSING:+$EVL_BENCH_MISSING }libuv1-dev"])
  AS_IF([test -n "$EVL_BENCH_MISSING"],
    [AC_MSG_WARN([make bench needs the Debian packages $EVL_BENCH_MISSING (scripts/dev.sh bench installs them); the build and make check do not])])
  AC_SUBST([EVL_BENCH_MISSING])
])
