#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 14, item 5: the socket options of Linux::Event::Listen and
# Linux::Event::Connect, read back with getsockopt: two reuseport
# listeners on one port both get connections; backlog, defer_accept,
# nodelay, keepalive and its timings, user_timeout, rcvbuf/sndbuf and
# bind_device on the listener, on the sockets it accepts (inherited) and
# on a connected socket; bad values croak at the caller's line; a
# bind_device the kernel refuses is a clear error.  Loopback, port 0.
use v5.36;
use Test::More;
use Socket qw(SOL_SOCKET SO_REUSEPORT SO_KEEPALIVE SO_RCVBUF SO_SNDBUF
    SO_ACCEPTCONN IPPROTO_TCP TCP_NODELAY TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT
    TCP_USER_TIMEOUT TCP_DEFER_ACCEPT);
use IO::Socket::INET;
use POSIX ();
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Connect;

sub opt ($fh, $level, $name) {
    my $v = getsockopt($fh, $level, $name) // die "getsockopt: $!";
    return unpack('i', $v);
}

sub run_until ($loop, $cond, $secs = 10) {
    my $t0 = time;
    while (!$cond->()) {
        $loop->run_once(0.05);
        die 'timeout' if time - $t0 > $secs;
    }
}

my $loop = Linux::Event->new;

# Two listeners on one port with reuseport: both accept.
{
    my %got;
    my @l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        reuseport => 1,
        backlog   => 64,
        on_accept => sub ($loop, $fh, $peer, $l) { $got{1}++; close $fh },
    );
    push @l,
        Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => $l[0]->sockport,
        reuseport => 1,
        on_accept => sub ($loop, $fh, $peer, $l) { $got{2}++; close $fh },
        );
    is($l[1]->sockport, $l[0]->sockport, 'reuseport: the second listener shares the port');
    is(opt($l[0]->fh, SOL_SOCKET, SO_REUSEPORT), 1, 'SO_REUSEPORT reads back');
    is(opt($l[0]->fh, SOL_SOCKET, SO_ACCEPTCONN), 1, 'listening, with backlog 64');

    # 32 connections spread by a 4-tuple hash: all on one side has odds 2^-31.
    my @c = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $l[0]->sockport)
            or die "connect: $!"
    } 1 .. 32;
    run_until($loop, sub { ($got{1} // 0) + ($got{2} // 0) == 32 });
    ok($got{1} && $got{2}, "both listeners accepted ($got{1} + $got{2})");
    $_->cancel for @l;

    ok(
        !eval {
            Linux::Event::Listen->new(
                loop      => $loop,
                host      => '127.0.0.1',
                port      => 0,
                backlog   => 0,
                on_accept => sub { }
            );
            1;
        },
        'backlog 0 croaks'
    );
    like(
        $@,
        qr/^backlog must be a positive integer at \Q${\__FILE__}\E line/,
        '... with the argument, at the caller'
    );
}

# Listener options, inherited by the sockets it accepts; Connect's own.
{
    my ($accepted, $connected);
    my %o = (
        nodelay            => 1,
        keepalive          => 1,
        keepalive_idle     => 30,
        keepalive_interval => 5,
        keepalive_count    => 3,
        user_timeout       => 2.5,
        rcvbuf             => 65536,
        sndbuf             => 32768,
    );
    my $l = Linux::Event::Listen->new(
        loop         => $loop,
        host         => '127.0.0.1',
        port         => 0,
        defer_accept => 1,
        %o,
        on_accept => sub ($loop, $fh, $peer, $l) { $accepted = $fh }
    );
    cmp_ok(opt($l->fh, IPPROTO_TCP, TCP_DEFER_ACCEPT), '>=', 1, 'defer_accept reads back');
    my $c = Linux::Event::Connect->new(
        loop => $loop,
        host => '127.0.0.1',
        port => $l->sockport,
        %o,
        on_connect => sub ($req, $fh, $d) { $connected = $fh; syswrite($fh, 'x') }
    );
    run_until($loop, sub { $accepted && $connected });
    for my $side ([listener => $l->fh], [accepted => $accepted], [connected => $connected]) {
        my ($name, $fh) = @$side;
        is(opt($fh, IPPROTO_TCP, TCP_NODELAY), 1, "$name: nodelay");
        is(opt($fh, SOL_SOCKET, SO_KEEPALIVE), 1, "$name: keepalive");
        is(opt($fh, IPPROTO_TCP, TCP_KEEPIDLE), 30, "$name: keepalive_idle");
        is(opt($fh, IPPROTO_TCP, TCP_KEEPINTVL), 5, "$name: keepalive_interval");
        is(opt($fh, IPPROTO_TCP, TCP_KEEPCNT), 3, "$name: keepalive_count");
        is(opt($fh, IPPROTO_TCP, TCP_USER_TIMEOUT), 2500, "$name: user_timeout in ms");
        cmp_ok(opt($fh, SOL_SOCKET, SO_RCVBUF), '>=', 65536, "$name: rcvbuf");
        cmp_ok(opt($fh, SOL_SOCKET, SO_SNDBUF), '>=', 32768, "$name: sndbuf");
    }
    $l->cancel;
}

# bind_device: "lo" where the kernel allows it (root, or Linux >= 5.7),
# else a clear EPERM; an unknown interface is ENODEV either way.
{
    my $lo = eval {
        Linux::Event::Listen->new(
            loop        => $loop,
            host        => '127.0.0.1',
            port        => 0,
            bind_device => 'lo',
            on_accept   => sub { }
        );
    };
    if ($lo) {
        my $name = getsockopt($lo->fh, SOL_SOCKET, Socket::SO_BINDTODEVICE());
        $name =~ s/\0.*//s;
        is($name, 'lo', 'bind_device lo reads back');
        my $connected;
        my $c = Linux::Event::Connect->new(
            loop        => $loop,
            host        => '127.0.0.1',
            port        => $lo->sockport,
            bind_device => 'lo',
            on_connect  => sub ($req, $fh, $d) { $connected = $fh }
        );
        run_until($loop, sub { $connected });
        my $cn = getsockopt($connected, SOL_SOCKET, Socket::SO_BINDTODEVICE());
        $cn =~ s/\0.*//s;
        is($cn, 'lo', 'Connect bind_device lo reads back');
        $lo->cancel;
    } else {
        like(
            $@,
            qr/^listen setup failed: bind_device: Operation not permitted/,
            'bind_device without the capability: a clear EPERM'
        );
    }
    my @err;
    ok(
        !eval {
            Linux::Event::Listen->new(
                loop        => $loop,
                host        => '127.0.0.1',
                port        => 0,
                bind_device => 'no-such-if0',
                on_accept   => sub { },
                on_error    => sub ($loop, $e, $x) { push @err, $e }
            );
            1;
        },
        'an unknown bind_device croaks'
    );
    like(
        $@,
        qr/^listen setup failed: bind_device: (?:No such device|Operation not permitted)/,
        '... naming the option and the error'
    );
    ok(
        @err
            && $err[0]{op} eq 'setup'
            && ($err[0]{errno} == POSIX::ENODEV() || $err[0]{errno} == POSIX::EPERM()),
        '... after on_error got the errno'
    );

    my ($errno, $req);
    $req = Linux::Event::Connect->new(
        loop        => $loop,
        host        => '127.0.0.1',
        port        => 9,
        bind_device => 'no-such-if0',
        on_connect  => sub { },
        on_error    => sub ($r, $e, $d) { $errno = $e }
    );
    run_until($loop, sub { defined $errno });
    ok($errno == POSIX::ENODEV() || $errno == POSIX::EPERM(), 'Connect: on_error gets ENODEV');
    like($req->sockopt_error, qr/^bind_device: /, '... and sockopt_error names the option');
}

# Bad values croak at the caller's line.
{
    my $f = quotemeta __FILE__;
    ok(
        !eval {
            Linux::Event::Connect->new(
                loop   => $loop,
                host   => '127.0.0.1',
                port   => 1,
                rcvbuf => -1
            );
            1;
        },
        'rcvbuf -1 croaks'
    );
    like($@, qr/^rcvbuf must be a positive integer at $f line/, '... at the caller');
    ok(
        !eval {
            Linux::Event::Connect->new(loop => $loop, unix => '/nonexistent', nodelay => 1);
            1;
        },
        'nodelay on a unix socket croaks'
    );
    like($@, qr/^nodelay is not allowed on a unix socket at $f line/, '... at the caller');
    ok(
        !eval {
            Linux::Event::Listen->new(
                loop           => $loop,
                host           => '127.0.0.1',
                port           => 0,
                keepalive_idle => 5,
                on_accept      => sub { }
            );
            1;
        },
        'keepalive_idle without keepalive croaks'
    );
    like($@, qr/^keepalive_idle needs keepalive => 1 at $f line/, '... at the caller');
    ok(
        !eval {
            Linux::Event::Listen->new(
                loop         => $loop,
                host         => '127.0.0.1',
                port         => 0,
                defer_accept => 'x',
                on_accept    => sub { }
            );
            1;
        },
        'defer_accept x croaks'
    );
    like(
        $@,
        qr/^defer_accept must be an integer number of seconds >= 0 at $f line/,
        '... at the caller'
    );
    ok(
        !eval {
            Linux::Event::Connect->new(
                loop         => $loop,
                host         => '127.0.0.1',
                port         => 1,
                user_timeout => 'soon'
            );
            1;
        },
        'user_timeout soon croaks'
    );
    like($@, qr/^user_timeout must be a number of seconds >= 0 at $f line/, '... at the caller');
}

done_testing;
