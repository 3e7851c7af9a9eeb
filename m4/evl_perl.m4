# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# evl_perl.m4 - find what is needed to build a Perl XS module with
# automake + libtool (no ExtUtils::MakeMaker).
#
# EVL_PERL([MIN-PERL-VERSION])
#
# Substitutes:
#   PERL              path to perl (AC_ARG_VAR; PERL=/other/perl ./configure)
#   PROVE             path to prove (for the Perl test suite)
#   PERL_CORE_DIR     $Config{archlibexp}/CORE (EXTERN.h, perl.h, perliol.h)
#   PERL_XS_CPPFLAGS  -I$(PERL_CORE_DIR) + perl's -D flags from ccflags
#   PERL_XS_CFLAGS    the remaining (non -D/-I) words of perl's ccflags
#   PERL_DLEXT        $Config{dlext} (so)
#   PERL_XSUBPP       $Config{privlibexp}/ExtUtils/xsubpp (run with $(PERL))
#   PERL_TYPEMAP      $Config{privlibexp}/ExtUtils/typemap (system typemap)
#   PERL_ARCHDIR      install dir for .so/.pm (prefix-relative by default)
#   PERL_EMBED_CFLAGS/PERL_EMBED_LIBS  ExtUtils::Embed ccopts/ldopts, for C
#                     test programs that embed an interpreter
#
#   PERL_MAN3DIR      install dir for the modules' man pages (section 3pm)
#
# The install dir follows MakeMaker's PREFIX= logic: take
# $Config{installsitearch} (or vendor/perl with --with-perl-installdirs) and
# replace perl's own prefix by ${prefix}.  The tree defaults to site, as
# MakeMaker's INSTALLDIRS does, so that the default prefix (/usr/local)
# lands exactly in perl's sitearch, which is in @INC; --prefix=/usr (a
# packager's build) defaults to vendor, perl's /usr tree.  With any other
# --prefix (e.g. make distcheck) the files stay under ${prefix}.
AC_DEFUN([EVL_PERL], [
  AC_ARG_VAR([PERL], [Perl interpreter used to build and test the XS module])
  AC_PATH_PROG([PERL], [perl])
  AS_IF([test -z "$PERL"], [AC_MSG_ERROR([perl not found: install the Debian package perl])])
  AC_PATH_PROG([PROVE], [prove])

  m4_ifval([$1], [
  AC_MSG_CHECKING([for perl >= $1])
  AS_IF([$PERL -e 'use $1; exit 0' >/dev/null 2>&1],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no]); AC_MSG_ERROR([perl $1 or newer is required])])
  ])

  AC_MSG_CHECKING([whether perl uses PerlIO layers])
  AS_IF([$PERL -MConfig -e 'exit($Config{useperlio} ? 0 : 1)'],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no]); AC_MSG_ERROR([perl was built without PerlIO])])

  PERL_CORE_DIR=`$PERL -MConfig -e 'print "$Config{archlibexp}/CORE"'`
  AC_MSG_CHECKING([for perliol.h])
  AS_IF([test -f "$PERL_CORE_DIR/perliol.h"],
        [AC_MSG_RESULT([$PERL_CORE_DIR])],
        [AC_MSG_RESULT([no]); AC_MSG_ERROR([$PERL_CORE_DIR/perliol.h missing (install libperl-dev)])])

  dnl ccflags carries ABI-relevant defines (-D_FILE_OFFSET_BITS=64,
  dnl -D_REENTRANT, ...) that MUST match how perl itself was compiled.
  dnl Split -D/-I/-U words into CPPFLAGS, keep the rest as CFLAGS.
  AC_MSG_CHECKING([for perl XS compiler flags])
  PERL_XS_CPPFLAGS="-I$PERL_CORE_DIR `$PERL -MConfig -e 'print join q( ), grep { /^-[[DIU]]/ } split q( ), $Config{ccflags}'`"
  PERL_XS_CFLAGS=`$PERL -MConfig -e 'print join q( ), grep { !/^-[[DIU]]/ } split q( ), $Config{ccflags}'`
  AC_MSG_RESULT([$PERL_XS_CPPFLAGS $PERL_XS_CFLAGS])

  dnl Only for C test programs that EMBED perl (never for the XS module)
  PERL_EMBED_CFLAGS=`$PERL -MExtUtils::Embed -e ccopts`
  PERL_EMBED_LIBS=`$PERL -MExtUtils::Embed -e ldopts`

  PERL_DLEXT=`$PERL -MConfig -e 'print $Config{dlext}'`
  PERL_XSUBPP=`$PERL -MConfig -e 'print "$Config{privlibexp}/ExtUtils/xsubpp"'`
  PERL_TYPEMAP=`$PERL -MConfig -e 'print "$Config{privlibexp}/ExtUtils/typemap"'`
  AC_MSG_CHECKING([for xsubpp])
  AS_IF([test -f "$PERL_XSUBPP" && $PERL -MExtUtils::ParseXS -e 1 2>/dev/null],
        [AC_MSG_RESULT([$PERL_XSUBPP])],
        [AC_MSG_RESULT([no]); AC_MSG_ERROR([ExtUtils::ParseXS/xsubpp not found: install the Debian package perl])])

  AC_ARG_WITH([perl-installdirs],
    [AS_HELP_STRING([--with-perl-installdirs=site|vendor|perl],
                    [which of perl's trees to install into (default: site;
                     vendor when --prefix=/usr)])],
    [], [AS_IF([test "x$prefix" = x/usr],
               [with_perl_installdirs=vendor],
               [with_perl_installdirs=site])])
  AS_CASE([$with_perl_installdirs],
    [site],   [evl_pv=installsitearch;   evl_pm=installsiteman3dir;   evl_pp=siteprefixexp],
    [vendor], [evl_pv=installvendorarch; evl_pm=installvendorman3dir; evl_pp=vendorprefixexp],
    [perl],   [evl_pv=installarchlib;    evl_pm=installman3dir;       evl_pp=prefixexp],
    [AC_MSG_ERROR([bad --with-perl-installdirs: $with_perl_installdirs (site, vendor or perl)])])
  AC_ARG_WITH([perl-archdir],
    [AS_HELP_STRING([--with-perl-archdir=DIR],
                    [install the XS module (.so and .pm) into DIR])],
    [PERL_ARCHDIR=$withval],
    [PERL_ARCHDIR=$($PERL -MConfig -e '
        my ($d, $p) = @Config{"'$evl_pv'", "'$evl_pp'"};
        $d =~ s{^\Q$p\E(?=/|\z)}{\${prefix}} if length $p;
        print $d')])
  AC_MSG_CHECKING([where to install the Perl module])
  AC_MSG_RESULT([$PERL_ARCHDIR])

  dnl Debian's perl leaves installsiteman3dir empty when man pages are off;
  dnl then fall back to ${mandir}/man3, where man(1) looks for 3pm pages.
  PERL_MAN3DIR=$($PERL -MConfig -e '
      my ($d, $p) = @Config{"'$evl_pm'", "'$evl_pp'"};
      $d = "" unless defined $d;
      $d =~ s{^\Q$p\E(?=/|\z)}{\${prefix}} if length $p;
      print $d')
  AS_IF([test -z "$PERL_MAN3DIR"], [PERL_MAN3DIR='${mandir}/man3'])
  AC_MSG_CHECKING([where to install the modules' man pages])
  AC_MSG_RESULT([$PERL_MAN3DIR])

  AC_SUBST([PERL_CORE_DIR])
  AC_SUBST([PERL_XS_CPPFLAGS])
  AC_SUBST([PERL_XS_CFLAGS])
  AC_SUBST([PERL_DLEXT])
  AC_SUBST([PERL_EMBED_CFLAGS])
  AC_SUBST([PERL_EMBED_LIBS])
  AC_SUBST([PERL_XSUBPP])
  AC_SUBST([PERL_TYPEMAP])
  AC_SUBST([PERL_ARCHDIR])
  AC_SUBST([PERL_MAN3DIR])
])
