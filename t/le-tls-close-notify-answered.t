#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A peer's close_notify is answered with ours before the connection
# closes (RFC 8446 6.1; RFC 5246 7.2.1), behind the bytes still queued.
# The Stream used to close its end without one: the peer's read after
# its own close_notify ended in "unexpected eof while reading" instead of
# a clean end, and OpenSSL dropped the session from the server's cache
# (it keeps only those that ended with close_notify sent), so session-ID
# resumption never worked with clients that close first.  The peer is
# IO::Socket::SSL in a child; our Stream is the server, on the reactor
# and on the io_uring proactor, over loopback TCP.
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

my $dir = EvlTest::tls_certs();

# The client: sends "hi" and close_notify, then reads to the end and
# says what it got and how the connection ended.
sub client ($port, $out) {
    local $SIG{PIPE} = 'IGNORE';
    alarm 20;
    $out->autoflush(1);
    my $sock = IO::Socket::SSL->new(
        PeerHost        => '127.0.0.1',
        PeerPort        => $port,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_ca_file     => "$dir/ca.pem",
        SSL_hostname    => 'localhost',
    ) or POSIX::_exit(2);
    syswrite($sock, 'hi') == 2 or POSIX::_exit(3);
    Net::SSLeay::shutdown($sock->_get_ssl_object) >= 0 or POSIX::_exit(4);
    my ($got, $r) = ('');
    1 while $r = sysread($sock, $got, 4096, length $got);

    # (IO::Socket::SSL reads an unexpected EOF as an end too: the SSL's
    # shutdown state says whether close_notify came.)
    my $end =
        !defined $r ? 'error: ' . IO::Socket::SSL->errstr
        : Net::SSLeay::get_shutdown($sock->_get_ssl_object) & Net::SSLeay::RECEIVED_SHUTDOWN()
        ? 'close_notify'
        : 'no close_notify';
    print {$out} "got=$got end=$end\n";
    POSIX::_exit(0);
}

for my $l (EvlTest::loop_models()) {
    my ($name, $make) = @$l;
    my $lsn = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 5)
        // die "listen: $!";
    pipe(my $out_r, my $out_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $out_r;
        client($lsn->sockport, $out_w);
    }
    close $out_w;

    my $loop = $make->();
    my $fh   = $lsn->accept // die "accept: $!";
    my ($closed, @err) = (0);
    my $srv = Linux::Event::Stream->new(
        loop     => $loop,
        fh       => $fh,
        tls      => { server => 1, cert_file => "$dir/server.pem", key_file => "$dir/server.key" },
        on_read  => sub ($st, $bytes, $d) { $st->write($bytes) },
        on_error => sub ($st, $e, $d) { push @err, $st->last_error },
        on_close => sub { $closed = 1 }
    );
    ok(run_until($loop, sub { $closed }), "$name: the stream closes after the peer's close_notify");
    is_deeply(\@err, [], "$name: no error");
    is(
        scalar <$out_r> // 'nothing',
        "got=hi end=close_notify\n",
        "$name: the peer read the echo, then our close_notify"
    );
    waitpid($pid, 0);
    is($?, 0, "$name: the peer process succeeded");
}

done_testing();
