#!/usr/bin/perl
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
for my $ex (@examples) {
    next if $ex =~ /line-echo\.pl$/;    # the demo: run by scripts/dev.sh demo
    SKIP: {
        skip 'io_uring unavailable', 1 if $ex =~ /proactor/ && !EvlTest::has('uring');
        my $out = `timeout 60 $^X @inc $ex 2>&1`;
        is($?, 0, "runs: $ex") or diag $out;
    }
}
done_testing;
