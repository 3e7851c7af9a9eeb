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

# The client: sends "hi" and close_notify, says "sent", then reads to the
# end and says what it got and how the connection ended.
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
    print {$out} "sent\n";

    # OpenSSL's own read, whose error says how the stream ended: a clean
    # end (zero return) after close_notify, an EOF without one ("unexpected
    # eof" in OpenSSL 3), or a protocol error (a record that does not
    # decrypt).
    my $ssl = $sock->_get_ssl_object;
    my ($got, $end) = ('');
    for (; ;) {
        my ($buf, $rv) = Net::SSLeay::read($ssl);
        if (defined $buf && length $buf) { $got .= $buf; next }
        my $e   = Net::SSLeay::get_error($ssl, $rv // -1);
        my $why = Net::SSLeay::ERR_error_string(Net::SSLeay::ERR_get_error());
        $end =
              $e == Net::SSLeay::ERROR_ZERO_RETURN() ? 'close_notify'
            : $e == Net::SSLeay::ERROR_SYSCALL() || $why =~ /unexpected eof/ ? 'no close_notify'
            : "error $why";
        last;
    }
    $got = length($got) . ' bytes' if $got ne 'hi';
    print {$out} "got=$got end=$end\n";
    POSIX::_exit(0);
}

# Our server: echoes, then closes once the peer's close_notify came
# (EOF).  Or, for "abort": answers "hi" with a megabyte in small writes
# and closes at once, dropping what was not sent: then no close_notify
# may follow, for it would claim a complete stream (it used to be sent on
# the reactor, and reached the peer as a record with a bad MAC).
for my $case ([echo => "got=hi end=close_notify\n"],
    [abort => qr/\Agot=\d+ bytes end=no close_notify\n\z/])
{
    my ($mode, $want) = @$case;
    for my $l (EvlTest::loop_models()) {
        my ($name, $make) = @$l;
        $name = "$mode, $name";
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
        my ($hs, $closed, $dropped, @err) = (0, 0, 0);
        my $srv = Linux::Event::Stream->new(
            loop => $loop,
            fh   => $fh,
            tls  => { server => 1, cert_file => "$dir/server.pem", key_file => "$dir/server.key" },
            on_read => sub ($st, $bytes, $d) {
                return $st->write($bytes) if $mode eq 'echo';
                $st->write('x' x 1024) for 1 .. 1024;
                $dropped = $st->buffered_bytes;
                $st->close;
            },
            on_handshake => sub ($st, $info, $d) { $hs = 1; $st->pause_read },
            on_error     => sub ($st, $e, $d) { push @err, $st->last_error },
            on_close     => sub { $closed = 1 }
        );

        # "hi" and close_notify reach us in one read: the Stream knows the
        # peer closed when on_read runs.
        ok(run_until($loop, sub { $hs }), "$name: the handshake completes");
        is(scalar <$out_r>, "sent\n", "$name: the peer sent hi and close_notify");
        $srv->resume_read;
        ok(run_until($loop, sub { $closed }), "$name: the stream closes");
        is_deeply(\@err, [], "$name: no error");
        my $end = scalar <$out_r> // 'nothing';
        if (ref $want) {
            cmp_ok($dropped, '>', 0, "$name: the close dropped queued bytes");
            like($end, $want, "$name: the peer saw the connection end, without close_notify");
        } else {
            is($end, $want, "$name: the peer read the echo, then our close_notify");
        }
        waitpid($pid, 0);
        is($?, 0, "$name: the peer process succeeded");
    }
}

done_testing();
