#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Stream with the line codec: an echo over a socketpair,
# framed in C, with write-behind.
use v5.36;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Linux::Event;
use Linux::Event::Stream;

my $loop = Linux::Event->new;
socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";

Linux::Event::Stream->new(
    loop       => $loop,
    fh         => $a,
    codec      => 'line',
    on_message => sub ($s, $line, $data) { $s->write_message(uc $line) }
);
my $n      = 0;
my $client = Linux::Event::Stream->new(
    loop       => $loop,
    fh         => $b,
    codec      => 'line',
    on_message => sub ($s, $line, $data) {
        say "echo: $line";
        $loop->stop if ++$n == 3;
    }
);
$client->write_message($_) for qw(one two three);
$loop->run;
