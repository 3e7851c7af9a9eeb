#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# libevloop-perlio.so, the layers' library for C programs that embed perl,
# exports only its own names (evl_perlio_*, PerlIOEv*) and takes the loop
# from libevloop.so: a program linking both has one evl_loop
# implementation, not two copies that could each hold half of a loop.
use v5.36;
use Test::More;

my $build = $ENV{EVL_TOP_BUILDDIR}
    or plan skip_all => 'EVL_TOP_BUILDDIR unset: run through make check';
my $so = "$build/perlio/.libs/libevloop-perlio.so";
plan skip_all => "$so not built (shared libraries disabled?)" unless -e $so;
my $nm = `nm -D --defined-only $so 2>&1`;
is($?, 0, 'nm -D reads the library') or diag $nm;

my @exported = map  { (split ' ')[2] } grep { / [TDB] / } split /\n/, $nm;
my @ours     = grep { /\A(?:evl_perlio_|PerlIOEv)/ } @exported;
my @foreign  = grep { /\Aevl_/ && !/\Aevl_perlio_/ } @exported;
cmp_ok(scalar @ours, '>=', 5, 'its own functions and layer tables are exported')
    or diag "@exported";
is_deeply(\@foreign, [], 'no libevloop function is exported a second time');

my $deps = `ldd $so 2>&1`;
like($deps, qr/^\s*libevloop\.so\.\d/m, 'it links libevloop.so for the loop');

done_testing;
