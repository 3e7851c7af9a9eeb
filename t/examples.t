#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every example script compiles (perl -c) against the build tree, then runs
# and exits 0 (each is short and stops by itself).
use v5.36;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/..');
my @inc = map { "-I$_" } grep { m{blib} } @INC;
my @examples = sort glob("$top/examples/*.pl");
ok(@examples >= 10, 'examples present');
for my $ex (@examples) {
    my $out = `$^X @inc -c $ex 2>&1`;
    is($?, 0, "syntax ok: $ex") or diag $out;
}
require EvlTest;
require Linux::Event::Loop;
# The proactor examples need io_uring: absent or forbidden (ENOSYS, EPERM),
# uring_loop records a skip; any other failure to make a loop fails here.
my $uring = !!EvlTest::uring_loop(sub { Linux::Event::Loop->new(model => 'proactor') });
for my $ex (@examples) {
    next if $ex =~ /line-echo\.pl$/;    # the demo: run by scripts/dev.sh demo
    SKIP: {
        skip 'no io_uring loop', 1 if $ex =~ /proactor/ && !$uring;
        my $out = `timeout 60 $^X @inc $ex 2>&1`;
        is($?, 0, "runs: $ex") or diag $out;
    }
}
done_testing;
