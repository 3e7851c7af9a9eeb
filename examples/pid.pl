#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Child exit through pidfd: the callback gets the raw wait status ($?).
use v5.36;
use Linux::Event;
use POSIX qw(WIFEXITED WEXITSTATUS);

my $loop = Linux::Event->new;
my $pid  = fork // die "fork: $!";
POSIX::_exit(7) if $pid == 0;
$loop->pid(
    $pid,
    sub ($loop, $pid, $status, $data) {
        say "child $pid exited with ", WIFEXITED($status) ? WEXITSTATUS($status) : "signal";
        $loop->stop;
    }
);
$loop->run;
