#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Listen accepts, Linux::Event::Connect connects (loopback,
# port chosen by the kernel); each side then talks through a Stream.
use v5.36;
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Connect;
use Linux::Event::Stream;

my $loop   = Linux::Event->new;
my $listen = Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => 0,
    on_accept => sub ($loop, $fh, $peer, $listen) {
        say "accepted from $peer->{host}:$peer->{port}";
        Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($s, $line, $data) { $s->write_message("hello, $line") }
        );
    }
);
Linux::Event::Connect->new(
    loop       => $loop,
    host       => '127.0.0.1',
    port       => $listen->sockport,
    timeout_s  => 2,
    on_error   => sub ($req, $errno, $data) { die "connect failed: errno $errno\n" },
    on_connect => sub ($req, $fh, $data) {
        my $s = Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($s, $line, $data) { say $line; $s->close; $loop->stop }
        );
        $s->write_message('world');
    }
);
$loop->run;
$listen->cancel;
