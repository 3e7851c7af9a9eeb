#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# close_notify that arrives in the same read as the last application
# bytes is the end of the stream at once: the bytes are delivered, then
# EOF, and the Stream closes.  It used to be noticed only by the next
# read, which never came on the reactor when the peer kept the
# connection open waiting for our close_notify, and which on io_uring
# waited for the same nothing (or met the peer's reset, and reported
# ECONNRESET instead of an EOF).  The peer is IO::Socket::SSL in a child;
# a paused Stream makes both records arrive in one read.  On the reactor
# and on the io_uring proactor, over loopback TCP, with certificates made
# here by `openssl req`.
use v5.36;
use Test::More;
use IO::Socket::IP;
use POSIX ();
use Linux::Event;
use Linux::Event::Stream;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest qw(run_until);

plan skip_all => 'IO::Socket::SSL is missing (Debian: libio-socket-ssl-perl)'
    unless eval { require IO::Socket::SSL; 1 };
alarm 120;

my $dir    = EvlTest::tls_certs();
my %client = (ca_file => "$dir/ca.pem", hostname => 'localhost');

my @loops = EvlTest::loop_models();

# The peer: after the handshake, waits for a byte on $go, writes "bye"
# and close_notify (one way: the connection stays open), says "sent",
# then waits for our end of the connection and says "eof".
sub peer ($lsn, $go, $out) {
    local $SIG{PIPE} = 'IGNORE';
    alarm 20;
    $out->autoflush(1);
    my $sock = $lsn->accept or POSIX::_exit(2);
    IO::Socket::SSL->start_SSL(
        $sock,
        SSL_server    => 1,
        SSL_cert_file => "$dir/server.pem",
        SSL_key_file  => "$dir/server.key"
    ) or POSIX::_exit(3);
    sysread($go, my $byte, 1) or POSIX::_exit(4);
    syswrite($sock, 'bye') == 3 or POSIX::_exit(5);
    $sock->stop_SSL(SSL_fast_shutdown => 1) or POSIX::_exit(6);
    print {$out} "sent\n";
    1 while sysread($sock, my $junk, 4096);
    print {$out} "eof\n";
    POSIX::_exit(0);
}

for my $l (@loops) {
    my ($name, $make) = @$l;
    my $lsn = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 5)
        // die "listen: $!";
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    pipe(my $out_r, my $out_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $_ for $go_w, $out_r;
        peer($lsn, $go_r, $out_w);
    }
    close $_ for $go_r, $out_w;
    $go_w->autoflush(1);

    my $loop = $make->();
    my $fh   = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $lsn->sockport)
        // die "connect: $!";
    my ($got, $hs, $closed, @err) = ('', 0, 0);
    my $cli = Linux::Event::Stream->new(
        loop         => $loop,
        fh           => $fh,
        tls          => \%client,
        on_handshake => sub ($st, $info, $d) { $hs = 1; $st->pause_read },
        on_read      => sub ($st, $bytes, $d) { $got .= $bytes },
        on_error     => sub ($st, $e, $d) { push @err, $st->last_error },
        on_close     => sub { $closed = 1 }
    );
    ok(run_until($loop, sub { $hs }), "$name: the handshake completes");
    print {$go_w} 'g';
    is(scalar <$out_r>, "sent\n", "$name: the peer sent bytes and close_notify");
    $cli->resume_read;
    ok(run_until($loop, sub { $closed }, 5), "$name: the stream closes at close_notify");
    is($got, 'bye', "$name: the bytes before it were delivered");
    is_deeply(\@err, [], "$name: no error");
    is(scalar <$out_r> // 'nothing', "eof\n", "$name: the peer saw our end");
    waitpid($pid, 0);
    is($?, 0, "$name: the peer process succeeded");
}

done_testing();
