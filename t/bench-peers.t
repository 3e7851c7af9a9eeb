#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# `make bench` needs libev and libuv, the C benchmarks' peers: configure
# finds out whether they are there (m4/evl_bench.m4), and `make bench`,
# when one is missing, stops before compiling anything and names the
# Debian packages to install instead of failing in the compiler.
use v5.36;
use Test::More;

my $top = $ENV{EVL_TOP_BUILDDIR}
    or plan skip_all => 'EVL_TOP_BUILDDIR unset: run through make check';
my $make = $ENV{EVL_MAKE} || 'make';
# A nested make must not join the outer make's jobserver or inherit -k/-n.
local $ENV{MAKEFLAGS} = '';
local $ENV{MFLAGS}    = '';

open my $mk, '<', "$top/Makefile" or die "$top/Makefile: $!";
my ($missing) = map { /^EVL_BENCH_MISSING = ?(.*?)\s*$/ ? $1 : () } <$mk>;
close $mk;
ok(defined $missing, 'configure substitutes EVL_BENCH_MISSING') or BAIL_OUT('no EVL_BENCH_MISSING');

# What configure found agrees with what the compiler and pkg-config see now.
my $cc = $ENV{CC} || 'cc';
my $have_ev = system("echo '#include <ev.h>' | $cc -E -x c - >/dev/null 2>&1") == 0;
my $have_uv = system('pkg-config --exists libuv 2>/dev/null') == 0;
is($missing =~ /\blibev-dev\b/ ? 0 : 1, $have_ev ? 1 : 0,
    'configure found libev exactly when ev.h is there' . ($have_ev ? '' : ' (it is not)'));
is($missing =~ /\blibuv1-dev\b/ ? 0 : 1, $have_uv ? 1 : 0,
    'configure found libuv exactly when pkg-config knows it' . ($have_uv ? '' : ' (it does not)'));

# With peers missing (forced, so the test means the same on every machine),
# make bench fails at once and says what to install.
my $out = `$make -s -C '$top' bench EVL_BENCH_MISSING='libev-dev libuv1-dev' 2>&1`;
isnt($?, 0, 'make bench fails when configure did not find the peers');
like($out, qr/install the Debian packages libev-dev libuv1-dev/, 'and names the packages')
    or diag $out;
like($out, qr{scripts/dev\.sh bench}, 'and the command that installs them');
unlike($out, qr/\b(?:gcc|cc|CC|CCLD)\b|\.c\b|error:/, 'before compiling anything') or diag $out;

done_testing;
