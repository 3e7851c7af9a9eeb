#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# srv_mojo_tls.pl - srv_mojo.pl over TLS: Mojo::IOLoop->server with tls
# (IO::Socket::SSL), reactor Mojo::Reactor::EV.
# usage: srv_mojo_tls.pl PORT CERT KEY   (127.0.0.1 only; exits after 300 s)
use strict;
use warnings;
BEGIN { $ENV{MOJO_REACTOR} //= 'Mojo::Reactor::EV' }
use Mojo::IOLoop;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
my ($port, $cert, $key) = @ARGV;
die "usage: $0 PORT CERT KEY\n" unless defined $key;
alarm 300;
Mojo::IOLoop->server(
    { address => '127.0.0.1', port => $port, tls => 1, tls_cert => $cert, tls_key => $key },
    sub {
        my (undef, $stream) = @_;
        $stream->timeout(0);
        setsockopt($stream->handle, IPPROTO_TCP, TCP_NODELAY, 1);
        my $buf = '';
        $stream->on(
            read => sub {
                my ($s, $bytes) = @_;
                $buf .= $bytes;
                while ((my $i = index($buf, "\n")) >= 0) { $s->write(substr($buf, 0, $i + 1, '')) }
            }
        );
    }
);
Mojo::IOLoop->start;
