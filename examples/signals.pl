#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Signals through signalfd: the handler runs in the loop, not in a signal
# context; it gets the signal number, how many arrived, and its data.
use v5.36;
use Linux::Event;

my $loop = Linux::Event->new;
my $sub  = $loop->signal(
    [qw(USR1 USR2)],
    sub ($loop, $signo, $count, $data) {
        say "got signal $signo ($count) for $data";
        $loop->stop if $signo == 12;
    },
    data => 'example'
);
$loop->after(0.01, sub ($loop) { kill USR1 => $$ });
$loop->after(0.02, sub ($loop) { kill USR2 => $$ });
$loop->run;
$sub->cancel;
