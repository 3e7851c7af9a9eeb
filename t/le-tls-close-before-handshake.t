#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A TLS Stream that writes and calls close_after_drain before its
# handshake is done.  Stopping reading used to stop the
# handshake too, which needs the peer's records: the stream then hung for
# ever with its request queued, and write_timeout did not count the bytes
# waiting for the handshake.  Now the handshake completes, on_handshake
# runs, the request goes out with close_notify behind it, and both ends
# close; a peer that never answers trips write_timeout (and idle_timeout).
# On the reactor and on the io_uring proactor, over loopback TCP, with
# certificates made here by `openssl req`.
use v5.36;
use Test::More;
use IO::Socket::IP;
use POSIX ();
use Time::HiRes ();
use Linux::Event;
use Linux::Event::Stream;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest qw(run_until);

alarm 120;

my $dir     = EvlTest::tls_certs();
my %server  = (server  => 1, cert_file => "$dir/server.pem", key_file => "$dir/server.key");
my %client  = (ca_file => "$dir/ca.pem", hostname => 'localhost');
my $request = "GET / HTTP/1.0\r\n\r\n";

my @loops = EvlTest::loop_models();

sub listener () {
    return IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 5)
        // die "listen: $!";
}

# A connected loopback pair: (client end, server end).
sub tcp_pair () {
    my $l = listener();
    my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $l->sockport)
        // die "connect: $!";
    my $s = $l->accept // die "accept: $!";
    return ($c, $s);
}

for my $l (@loops) {
    my ($name, $make) = @$l;

    # Our own server: the handshake completes, then the request, then
    # both ends close.
    {
        my $loop = $make->();
        my ($c, $s) = tcp_pair();
        my ($got, $srv_closed, @events, @err) = ('', 0);
        my $srv = Linux::Event::Stream->new(
            loop     => $loop,
            fh       => $s,
            tls      => \%server,
            on_read  => sub ($st, $bytes, $d) { $got .= $bytes },
            on_error => sub ($st, $e, $d) { push @err, 'server ' . $st->last_error },
            on_close => sub { $srv_closed = 1 }
        );
        my $cli = Linux::Event::Stream->new(
            loop          => $loop,
            fh            => $c,
            tls           => \%client,
            write_timeout => 5,
            on_read       => sub { },
            on_handshake  => sub { push @events, 'handshake' },
            on_error      => sub ($st, $e, $d) { push @err, 'client ' . $st->last_error },
            on_close      => sub { push @events, 'close' }
        );
        ok($cli->write($request), "$name: a write before the handshake is accepted");
        $cli->close_after_drain;
        ok(
            run_until(
                $loop,
                sub {
                    $srv_closed && grep { $_ eq 'close' } @events;
                }
            ),
            "$name: both ends close"
        );

        is_deeply(\@err, [], "$name: no error");
        is_deeply(\@events, ['handshake', 'close'], "$name: on_handshake, then on_close");
        is($got, $request, "$name: the server got the request");
        is($cli->buffered_bytes, 0, "$name: nothing is left queued");
    }

    # An OpenSSL peer in a child: the request arrives, then close_notify
    # (a clean end, which sysread reports as 0).
SKIP: {
        skip 'IO::Socket::SSL is missing (Debian: libio-socket-ssl-perl)', 2
            unless eval { require IO::Socket::SSL; 1 };
        my $lsn = listener();
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $r;
            local $SIG{PIPE} = 'IGNORE';
            alarm 20;
            $w->autoflush(1);
            my $sock = $lsn->accept or POSIX::_exit(2);
            IO::Socket::SSL->start_SSL(
                $sock,
                SSL_server    => 1,
                SSL_cert_file => $server{cert_file},
                SSL_key_file  => $server{key_file}
                )
                or
                do { print $w "handshake failed: $IO::Socket::SSL::SSL_ERROR\n"; POSIX::_exit(3) };
            my ($all, $n) = ('');
            while ($n = sysread($sock, $all, 4096, length $all)) { }
            print $w length($all), ' ', defined $n ? 'clean' : "error $IO::Socket::SSL::SSL_ERROR",
                "\n";
            POSIX::_exit(0);
        }
        close $w;
        my $loop = $make->();
        my $fh   = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $lsn->sockport)
            // die "connect: $!";
        my ($closed, @err) = (0);
        my $cli = Linux::Event::Stream->new(
            loop     => $loop,
            fh       => $fh,
            tls      => \%client,
            on_read  => sub { },
            on_error => sub ($st, $e, $d) { push @err, $st->last_error },
            on_close => sub { $closed = 1 }
        );
        $cli->write($request);
        $cli->close_after_drain;
        ok(run_until($loop, sub { $closed }) && !@err, "$name: closes without error (@err)");
        chomp(my $peer = <$r> // 'nothing');
        waitpid($pid, 0);
        is($peer, length($request) . ' clean',
            "$name: the peer got the request, then close_notify");
    }

    # A peer that never answers: the handshake cannot finish, and the
    # bytes waiting for it are queued, so write_timeout gives up (and so
    # does idle_timeout).
    for my $opt (qw(write_timeout idle_timeout)) {
        my $loop = $make->();
        my ($c, $s)        = tcp_pair();    # $s stays silent
        my ($closed, @err) = (0);
        my $cli = Linux::Event::Stream->new(
            loop     => $loop,
            fh       => $c,
            tls      => \%client,
            $opt     => 0.2,
            on_read  => sub { },
            on_error => sub ($st, $e, $d) { push @err, $e },
            on_close => sub { $closed = 1 }
        );
        $cli->write($request);
        $cli->close_after_drain;
        my $t0 = Time::HiRes::time();
        ok(run_until($loop, sub { $closed }, 5), "$name: $opt: the stream closes");
        is_deeply(\@err, [POSIX::ETIMEDOUT()], "$name: $opt: on_error gets ETIMEDOUT");
        cmp_ok(Time::HiRes::time() - $t0, '>=', 0.15, "$name: $opt: not before its time");
    }
}

done_testing();
