#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A waker (eventfd) lets another process or thread wake the loop: here a
# forked child signals it three times.
use v5.36;
use Linux::Event;

my $loop  = Linux::Event->new;
my $waker = $loop->waker;
my $total = 0;
$loop->watch(
    $waker->fh,
    read => sub ($loop, $fh, $w) {
        $total += $waker->drain;
        say "woken, total $total";
        $loop->stop if $total >= 3;
    }
);
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    $waker->signal for 1 .. 3;
    require POSIX;
    POSIX::_exit(0);
}
$loop->run;
waitpid($pid, 0);
