#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# srv_evloop_tls.pl - srv_evloop.pl over TLS: Linux::Event::Listen with
# tls => {...} hands over encrypted handles, Linux::Event::Stream with the
# `line` codec echoes (TLS in libevloop's C stream, OpenSSL 3).
# usage: srv_evloop_tls.pl PORT CERT KEY   (127.0.0.1 only; exits after 300 s)
use v5.36;
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Stream;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
my ($port, $cert, $key) = @ARGV;
die "usage: $0 PORT CERT KEY\n" unless defined $key;
alarm 300;

my $loop = Linux::Event::Loop->new(model => 'reactor');
Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => $port,
    tls       => { cert_file => $cert, key_file => $key },
    on_accept => sub ($loop, $fh, $peer, $listen) {
        setsockopt($fh, IPPROTO_TCP, TCP_NODELAY, 1);
        Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($s, $line, $data) { $s->write_message($line) },
        );
    },
);
$loop->run;
