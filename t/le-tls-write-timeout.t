#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# write_timeout on a TLS Stream whose peer stopped reading: on_error gets
# ETIMEDOUT and the stream closes, as on a plain one.  The clock starts
# when the queue goes from empty to holding bytes, and two ways of
# filling it used to start nothing: records of the handshake queued by
# TLS itself (on io_uring the send of the handshake's last flight is still
# in flight when on_handshake runs, so a write from on_handshake found the
# queue non-empty and the clock never ran), and print on the handle
# (evl_stream_queue's ciphertext bypassed the clock on both models).  On
# the reactor and on the io_uring proactor, over loopback TCP, with
# certificates made here by `openssl req`.
use v5.36;
use Test::More;
use IO::Socket::IP;
use POSIX ();
use Socket qw(SOL_SOCKET SO_SNDBUF SO_RCVBUF);
use Time::HiRes ();
use Linux::Event;
use Linux::Event::Stream;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest qw(run_until);

alarm 120;

my $dir    = EvlTest::tls_certs();
my %server = (server  => 1, cert_file => "$dir/server.pem", key_file => "$dir/server.key");
my %client = (ca_file => "$dir/ca.pem", hostname => 'localhost');

# More than the two (shrunk) socket buffers hold.
my $payload = 'Q' x (8 << 20);
my $timeout = 0.3;

my @loops = EvlTest::loop_models();

# A connected loopback pair, (client end, server end), with small socket
# buffers so that a peer that stops reading stops the sender soon.
sub tcp_pair () {
    my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 5)
        // die "listen: $!";
    my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $l->sockport)
        // die "connect: $!";
    my $s = $l->accept // die "accept: $!";
    setsockopt($c, SOL_SOCKET, SO_SNDBUF, 64 << 10) or die "SO_SNDBUF: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 64 << 10) or die "SO_RCVBUF: $!";
    return ($c, $s);
}

for my $l (@loops) {
    my ($name, $make) = @$l;
    for my $how (qw(write_from_on_handshake print_after_handshake)) {
        my $loop = $make->();
        my ($c, $s) = tcp_pair();
        my ($hs, $closed, $t0, @err) = (0, 0);

        # The server reads nothing once the handshake is done.
        my $srv = Linux::Event::Stream->new(
            loop         => $loop,
            fh           => $s,
            tls          => \%server,
            on_read      => sub { },
            on_handshake => sub ($st, $info, $d) { $st->pause_read },
        );
        my $cli = Linux::Event::Stream->new(
            loop          => $loop,
            fh            => $c,
            tls           => \%client,
            write_timeout => $timeout,
            on_read       => sub { },
            on_handshake  => sub ($st, $info, $d) {
                $hs = 1;
                return if $how ne 'write_from_on_handshake';
                $t0 = Time::HiRes::time();
                $st->write($payload);
            },
            on_error => sub ($st, $e, $d) { push @err, [$e, $st->last_error] },
            on_close => sub { $closed = 1 }
        );
        if ($how eq 'print_after_handshake') {
            ok(run_until($loop, sub { $hs }), "$name: $how: the handshake completes");

            # Until the handshake's last records have left.
            ok(run_until($loop, sub { $cli->buffered_bytes == 0 }),
                "$name: $how: the queue empties");
            $t0 = Time::HiRes::time();
            print {$c} $payload;
        }
        ok(run_until($loop, sub { $closed }, 5), "$name: $how: the stream closes")
            or diag 'still queued: ' . $cli->buffered_bytes;
        is_deeply(
            \@err,
            [[POSIX::ETIMEDOUT(), 'io:' . POSIX::ETIMEDOUT()]],
            "$name: $how: on_error gets ETIMEDOUT, last_error io:110"
        );
        cmp_ok(Time::HiRes::time() - $t0, '>=', $timeout * 0.8, "$name: $how: not before its time")
            if defined $t0;
        $srv->close;
    }
}

done_testing();
