#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A Stream callback that writes a reply and then runs the loop until the
# peer has it (a blocking-style request inside on_message): writes made
# inside a delivery are corked until it ends, so the nested run must send
# them first, or it waits for a reply that never left.  On the reactor:
# a proactor loop refuses run_once from inside a completion (croaks), and
# the C suites cover its engine (check_stream_proactor, "cork").
use v5.36;
use Test::More;
use IO::Handle ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Linux::Event;
use Linux::Event::Stream;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my @loops = ([reactor => Linux::Event->new(model => 'reactor')]);

for my $case (@loops) {
    my ($name, $loop) = @$case;
    socketpair(my $mine, my $peer, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $peer->blocking(0);
    my (@seen, $messages);
    my $stream = Linux::Event::Stream->new(
        loop       => $loop,
        fh         => $mine,
        codec      => 'line',
        on_message => sub ($s, $line, $data) {
            $messages++;
            $s->write_message("re: $line");

            # Wait for the peer to have it, running the loop (at most 2 s).
            my $got = '';
            for (1 .. 200) {
                last if $got =~ /\n\z/;
                my $n = sysread($peer, $got, 4096, length $got);
                $loop->run_once(0.01) unless $n;
            }
            push @seen, $got;
        },
    );
    syswrite($peer, "one\ntwo\n") == 8 or die "write: $!";
    $loop->run_once(0.5) until ($messages // 0) >= 2;
    is_deeply(
        \@seen,
        ["re: one\n", "re: two\n"],
        "$name: each reply reached the peer inside its callback"
    );
    $stream->close;
    $loop->run_once(0) for 1 .. 3;
}

done_testing;
