#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# srv_ae_handle_tls.pl - srv_ae_handle.pl over TLS: AnyEvent::Handle with
# tls => 'accept' (AnyEvent::TLS over Net::SSLeay) on EV.
# usage: srv_ae_handle_tls.pl PORT CERT KEY   (127.0.0.1 only; exits after 300 s)
use strict;
use warnings;
BEGIN { $ENV{PERL_ANYEVENT_MODEL} //= 'EV' }
use AnyEvent;
use AnyEvent::Socket;
use AnyEvent::Handle;
use AnyEvent::TLS;
my ($port, $cert, $key) = @ARGV;
die "usage: $0 PORT CERT KEY\n" unless defined $key;
alarm 300;
my $tls = AnyEvent::TLS->new(method => 'any', cert_file => $cert, key_file => $key);
my %conn;
my $srv = tcp_server '127.0.0.1', $port, sub {
    my ($fh) = @_;
    my $h = AnyEvent::Handle->new(
        fh       => $fh,
        no_delay => 1,
        tls      => 'accept',
        tls_ctx  => $tls,
        on_error => sub { delete $conn{ $_[0] }; $_[0]->destroy },
        on_eof   => sub { delete $conn{ $_[0] }; $_[0]->destroy },
        on_read  => sub {
            $_[0]->push_read(line => sub { $_[0]->push_write("$_[1]\n") });
        },
    );
    $conn{$h} = $h;
};
AnyEvent->condvar->recv;
