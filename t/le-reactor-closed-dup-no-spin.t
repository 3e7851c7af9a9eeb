#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A watched fd closed while a dup keeps its file open: epoll keeps
# reporting the file, and the loop used to spin (~85,000 iterations in
# 0.3 s with nothing to do).  The loop now notices the stale registration,
# rebuilds its epoll set, and sleeps again.
use v5.36;
use Test::More;
use Time::HiRes ();
use Linux::Event;

my $loop = Linux::Event->new;
pipe(my $r, my $w) or die "pipe: $!";
open(my $dup, '<&', $r) or die "dup: $!";
my $calls = 0;
$loop->watch($r, read => sub { $calls++ });
close $r;    # the dup keeps the pipe's read side open
syswrite($w, 'x') == 1 or die "write: $!";

# Each run_once(0.05) with nothing to do waits 50 ms: about 6 iterations
# in 0.3 s.  A spinning loop makes tens of thousands.
my $iterations = 0;
my $end        = Time::HiRes::time() + 0.3;
while (Time::HiRes::time() < $end) {
    $loop->run_once(0.05);
    $iterations++;
}
cmp_ok($iterations, '<', 100, "the loop sleeps ($iterations iterations in 0.3 s)");
is($calls, 0, 'the closed handle\'s callback never runs');

# The loop still works for new watches afterwards.
pipe(my $r2, my $w2) or die "pipe: $!";
my $got = 0;
$loop->watch($r2, read => sub ($loop, $fh, $watcher) { sysread($fh, my $b, 1); $got++; $loop->stop });
syswrite($w2, 'y');
$loop->run;
is($got, 1, 'a new watch fires after the rebuild');
close $dup;
done_testing;
