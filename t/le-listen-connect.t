#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Listen and Linux::Event::Connect (API-companions §4, §5),
# over loopback only, with the seed's bugs fixed: connect watchers are
# always removed (sequential connects and fallback on reused fd numbers
# work), v6only applies, edge-triggered accept batches never stall.
# Every case runs on a reactor loop and on proactor loops (the io_uring
# backend, skipped only where io_uring is absent or forbidden, and the
# fake one), where Listen takes connections with accept operations and
# Connect uses connect operations.
use v5.36;
use Test::More;
use Socket qw(:all);
use Errno qw(ECONNREFUSED ETIMEDOUT ENOENT EIO EINPROGRESS);
use File::Temp ();
use IO::Socket::IP;
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Connect;
use lib 't/lib';
use EvlTest qw(uring_loop);

my @models = (['reactor', sub { Linux::Event->new }]);
push @models, ['proactor (uring)', sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') }]
    if uring_loop(sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') });
push @models, ['proactor (fake)', sub { Linux::Event::Loop->new(model => 'proactor', backend => 'fake') }];

our $loop;
our $reactor;
for my $m (@models) {
    local $loop = $m->[1]->();
    local $reactor = $loop->model eq 'reactor';
    subtest $m->[0] => \&suite;
}
done_testing;

sub run_until ($cond, $secs = 5) {
    my $t0 = time;
    while (!$cond->()) { $loop->run_once(0.05); die "timeout" if time - $t0 > $secs }
}

# A port nothing listens on: bind, read the port, close.
sub dead_port {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1) or die;
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub suite {
# ---------------------------------------------------------------- Listen croaks
{
    my $cb = sub {};
    my @cases = (
        [ {}, qr/^loop is required/ ],
        [ { loop => $loop }, qr/^on_accept is required/ ],
        [ { loop => $loop, on_accept => 1 }, qr/^on_accept must be a code reference/ ],
        [ { loop => $loop, on_accept => $cb, on_error => 1 }, qr/^on_error must be a code reference/ ],
        [ { loop => $loop, on_accept => $cb, on_emfile => 1 }, qr/^on_emfile must be a code reference/ ],
        [ { loop => $loop, on_accept => $cb, max_accept_per_tick => 0 },
          qr/^max_accept_per_tick must be a positive integer/ ],
        [ { loop => $loop, on_accept => $cb, zz => 1, aa => 2 }, qr/^unknown option\(s\): aa zz/ ],
        [ { loop => $loop, on_accept => $cb, fh => \*STDIN, path => '/x' },
          qr/^provide either fh => \$server_fh OR host\/port OR path/ ],
        [ { loop => $loop, on_accept => $cb, host => '127.0.0.1' }, qr/^host and port must be provided together/ ],
        [ { loop => $loop, on_accept => $cb, path => '/x', host => 'h', port => 1 },
          qr/^path cannot be combined with host\/port/ ],
        [ { loop => $loop, on_accept => $cb }, qr/^either fh, host\/port, or path is required/ ],
    );
    for my $c (@cases) {
        eval { Linux::Event::Listen->new(%{ $c->[0] }) };
        like($@, $c->[1], "Listen croak $c->[1]");
    }
    socket(my $nl, AF_INET, SOCK_STREAM, 0) or die;
    eval { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, fh => $nl) };
    like($@, qr/^fh is not a listening socket \(SO_ACCEPTCONN is false\)/, 'non-listening fh');
    my @seen;
    eval { Linux::Event::Listen->new(loop => $loop, on_accept => $cb, host => '192.0.2.1',
        port => 0, on_error => sub ($l, $e, $u) { push @seen, $e }) };
    like($@, qr/^listen setup failed: /, 'setup failure croaks');
    is($seen[0]{op}, 'setup', 'setup error reported first');
    is($seen[0]{fatal}, 1, 'fatal');
}

# ---------------------------------------------------------------- TCP accept + Connect
{
    my @acc;
    my $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        on_accept => sub ($lp, $fh, $peer, $listen) { push @acc, [$fh, $peer, $listen] });
    isa_ok($l->fh, 'IO::Socket::IP');
    my $port = $l->sockport;
    ok($port > 0, "listening on $port");
    is($l->{owns_socket}, 1, 'owns the socket it made');
    is($l->is_running, 1, 'running');
    is($l->family, 'unknown', 'family (seed value)');

    my (@ok, @err);
    my $req = Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port, data => 'd',
        on_connect => sub ($r, $fh, $data) { push @ok, [$fh, $data] },
        on_error => sub ($r, $e, $data) { push @err, $e });
    run_until(sub { @ok && @acc });
    is(scalar @err, 0, 'no error');
    is($ok[0][1], 'd', 'data passed to on_connect');
    ok(defined fileno($ok[0][0]), 'connected fh');
    is($req->is_done, 1, 'done');
    is($req->is_pending, '', 'not pending');
    is($req->fh, undef, 'request forgets the fh');
    my $peer = $acc[0][1];
    is($peer->{family}, 'inet', 'peer family');
    is($peer->{host}, '127.0.0.1', 'peer host');
    ok($peer->{port} > 0, 'peer port');
    is($acc[0][2], $l, 'listener passed');
    # The connected fd is free of the request: watching it works at once
    # and no stale watcher fires (the seed's spun on every iteration).
    if ($reactor) {
        my $w = 0;
        $loop->watch($ok[0][0], read => sub { $w++ });
        $loop->run_once(0.01) for 1 .. 3;
        is($w, 0, 'no stale write watcher on the connected fd');
        $loop->unwatch($ok[0][0]);
    }
    close $_->[0] for @ok, @acc;

    # pause / resume
    is($l->pause, $l, 'pause returns self');
    is($l->is_paused, 1, 'paused');
    @acc = ();
    my $c2;
    Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port,
        on_connect => sub ($r, $fh, $d) { $c2 = $fh });
    run_until(sub { $c2 });
    $loop->run_once(0.02) for 1 .. 3;
    is(scalar @acc, 0, 'paused listener accepts nothing');
    # Nothing taken from the backlog either: another acceptor gets it.
    ok(accept(my $other, $l->fh), 'a paused listener leaves the connection to others');
    close $other if $other;
    my $c3;
    Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port,
        on_connect => sub ($r, $fh, $d) { $c3 = $fh });
    run_until(sub { $c3 });
    $loop->run_once(0.02) for 1 .. 3;
    is(scalar @acc, 0, 'still nothing while paused');
    $l->resume;
    run_until(sub { @acc });
    is(scalar @acc, 1, 'resumed listener accepts');
    close $_->[0] for @acc;
    close $c2;
    close $c3;

    is($l->cancel, $l, 'cancel returns self');
    is($l->fh, undef, 'owning cancel drops the fh');
    is($l->is_running, 0, 'not running');
    $l->cancel;
}

# ---------------------------------------------------------------- batches never stall (ET)
{
    my @acc;
    my $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        max_accept_per_tick => 2, edge_triggered => 1,
        on_accept => sub ($lp, $fh, $peer, $listen) { push @acc, $fh });
    my @c;
    for (1 .. 9) {
        socket(my $s, AF_INET, SOCK_STREAM, 0) or die;
        connect($s, pack_sockaddr_in($l->sockport, inet_aton('127.0.0.1'))) or die "connect: $!";
        push @c, $s;
    }
    run_until(sub { @acc >= 9 });
    is(scalar @acc, 9, 'all 9 accepted, 2 per tick, edge-triggered');
    $l->cancel;
}

# ---------------------------------------------------------------- cancel inside on_accept; on_accept dies
{
    my $n = 0;
    my $l;
    $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        on_accept => sub ($lp, $fh, $peer, $listen) { $n++; $listen->cancel });
    my @c = map { IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $l->sockport) } 1 .. 3;
    run_until(sub { $n });
    $loop->run_once(0.01) for 1 .. 3;
    is($n, 1, 'cancel inside on_accept stops the batch');
    is($l->fh, undef, 'socket closed after the batch');

    my @errs;
    my $m = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        on_accept => sub { die "bad\n" }, on_error => sub ($lp, $e, $li) { push @errs, $e });
    my $c1 = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $m->sockport);
    run_until(sub { @errs });
    is($errs[0]{op}, 'on_accept', 'on_accept failure goes to on_error');
    is($errs[0]{error}, "bad\n", 'error text');
    ok(!exists $errs[0]{errno}, 'no errno key');
    $m->cancel;

    my $d = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        on_accept => sub { die "escaped\n" });
    my $c2 = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $d->sockport);
    my $err;
    for (1 .. 50) { eval { $loop->run_once(0.05); 1 } or do { $err = $@; last } }
    is($err, "escaped\n", 'without on_error the exception propagates');
    $d->cancel;

    # Issue 17: three clients queued, on_accept dies on the first, no
    # on_error.  The edge-triggered batch still takes all three (no 4th
    # client needed to raise a new edge), then the exception propagates.
    my @got;
    my $e = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        on_accept => sub ($lp, $fh, $peer, $li) { push @got, $fh; die "first\n" if @got == 1 });
    ok($e->{edge}, 'edge-triggered by default') if $reactor;
    # Blocking connects: each is in the accept queue when connect returns.
    my @c3 = map { IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $e->sockport)
        or die "connect: $!" } 1 .. 3;
    my @errs3;
    my $t0 = time;
    while (@got < 3 && time - $t0 < 3) {
        eval { $loop->run_once(0.05); 1 } or push @errs3, $@;
    }
    is(scalar @got, 3, 'all 3 accepted although on_accept died on the first');
    is_deeply(\@errs3, ["first\n"], 'the exception propagated once');
    $e->cancel;
}

# ---------------------------------------------------------------- unix sockets, wrapped fh
{
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $path = "$dir/sock";
    my @acc;
    my $l = Linux::Event::Listen->new(loop => $loop, path => $path,
        on_accept => sub ($lp, $fh, $peer, $li) { push @acc, $peer });
    ok(-S $path, 'unix socket created');
    my @ok;
    Linux::Event::Connect->new(loop => $loop, unix => $path,
        on_connect => sub ($r, $fh, $d) { push @ok, $fh });
    run_until(sub { @ok && @acc });
    is($acc[0]{family}, 'unix', 'unix peer');
    is($acc[0]{path}, '', 'unnamed client path');
    $l->cancel;
    ok(!-e $path, 'unlink_on_cancel');

    my $srv = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 5) or die;
    my $w = Linux::Event::Listen->new(loop => $loop, fh => $srv, on_accept => sub {});
    is($w->{owns_socket}, 0, 'wrapped fh not owned');
    $w->cancel;
    ok(defined fileno($srv), 'wrapped fh left open');
}

# ---------------------------------------------------------------- v6only before bind
SKIP: {
    my $probe = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1);
    skip 'no IPv6 loopback', 2 unless $probe;
    close $probe;
    my $l = Linux::Event::Listen->new(loop => $loop, host => '::', port => 0, v6only => 1,
        on_accept => sub {});
    my $v = getsockopt($l->fh, IPPROTO_IPV6, IPV6_V6ONLY);
    is(unpack('i', $v), 1, 'v6only applied');
    my $err;
    Linux::Event::Connect->new(loop => $loop, host => '[::1]', port => $l->sockport,
        on_connect => sub ($r, $fh, $d) { $err = 0 }, on_error => sub ($r, $e, $d) { $err = $e });
    run_until(sub { defined $err });
    is($err, 0, 'bracketed IPv6 connect');
    $l->cancel;
}

# ---------------------------------------------------------------- Connect croaks
{
    my %b = (loop => $loop);
    my @cases = (
        [ {}, qr/^loop is required/ ],
        [ { %b, nonblocking => 0, host => 'h', port => 1 }, qr/^nonblocking must be true/ ],
        [ { %b, on_connect => 1 }, qr/^on_connect must be a coderef/ ],
        [ { %b, on_error => 1 }, qr/^on_error must be a coderef/ ],
        [ { %b, timeout_s => '1e3', host => 'h', port => 1 }, qr/^timeout_s must be a number >= 0/ ],
        [ { %b, timeout_s => -1, host => 'h', port => 1 }, qr/^timeout_s must be a number >= 0/ ],
        [ { %b }, qr/^exactly one address mode is required \(host\/port, unix, or sockaddr\)/ ],
        [ { %b, host => 'h', unix => '/x' }, qr/^exactly one address mode is required/ ],
        [ { %b, host => undef, port => 1 }, qr/^host is required/ ],
        [ { %b, host => '', port => 1 }, qr/^host must be a non-empty string/ ],
        [ { %b, host => 'h' }, qr/^port is required/ ],
        [ { %b, host => 'h', port => 'http' }, qr/^port must be an integer/ ],
        [ { %b, host => 'h', port => -1 }, qr/^port must be an integer/ ],
        [ { %b, host => 'h', port => 65536 }, qr/^port out of range/ ],
        [ { %b, host => 'h', port => 1, family => 2 }, qr/^family is not allowed in host\/port mode/ ],
        [ { %b, unix => '' }, qr/^unix must be a non-empty string/ ],
        [ { %b, unix => '/x', family => 1 }, qr/^family is not allowed in unix mode/ ],
        [ { %b, sockaddr => undef }, qr/^sockaddr must be a defined scalar/ ],
        [ { %b, sockaddr => 'x' }, qr/^family is required in sockaddr mode/ ],
        [ { %b, sockaddr => 'x', family => 'inet' }, qr/^family must be a numeric AF_\* constant/ ],
        [ { %b, sockaddr => 'x', family => 2, type => 1 }, qr/^type is not allowed in sockaddr mode \(v0.001\)/ ],
        [ { %b, host => 'h', port => 1, zz => 1, aa => 1 }, qr/^unknown option\(s\): aa, zz/ ],
    );
    for my $c (@cases) {
        eval { Linux::Event::Connect->new(%{ $c->[0] }) };
        like($@, $c->[1], "Connect croak $c->[1]");
    }
}

# ---------------------------------------------------------------- refused, sequentially, on reused fds
{
    my $port = dead_port();
    my @errs;
    for (1 .. 5) {
        my $done;
        Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port,
            on_error => sub ($r, $e, $d) { push @errs, $e; $done = 1 },
            on_connect => sub { $done = 1 });
        run_until(sub { $done });
    }
    is_deeply(\@errs, [(ECONNREFUSED) x 5], 'five sequential refused connects (fd reuse)');

    # Fallback: a refused candidate, then a good one, through sockaddr? Use
    # a name that resolves to 127.0.0.1 only: localhost may give ::1 first.
    my $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0, on_accept => sub {});
    my ($okfh, $err);
    my $req = Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $l->sockport,
        on_connect => sub ($r, $fh, $d) { $okfh = $fh }, on_error => sub ($r, $e, $d) { $err = $e });
    run_until(sub { $okfh || $err });
    ok($okfh, 'connect after refusals works');
    $l->cancel;

    # sockaddr mode
    my ($got);
    Linux::Event::Connect->new(loop => $loop, family => AF_INET,
        sockaddr => pack_sockaddr_in($port, inet_aton('127.0.0.1')),
        on_error => sub ($r, $e, $d) { $got = $e });
    run_until(sub { defined $got });
    is($got, ECONNREFUSED, 'sockaddr mode');
}

# ---------------------------------------------------------------- resolver failure, cancel, timeout
{
    my ($e, $req);
    $req = Linux::Event::Connect->new(loop => $loop, host => 'no-such-host.invalid', port => 80,
        on_error => sub ($r, $errno, $d) { $e = $errno });
    # Names go to the resolver's threads: the answer comes from the loop.
    run_until(sub { defined $e });
    ok(defined $e, 'resolver failure reported');
    ok($e == ENOENT || $e == EIO, "errno $e");
    ok(length($req->gai_error // ''), 'gai_error set: ' . ($req->gai_error // ''));

    # Cancel: no callback ever fires afterwards.
    my $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0, on_accept => sub {});
    my $fired = 0;
    my $r = Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $l->sockport,
        on_connect => sub { $fired++ }, on_error => sub { $fired++ });
    $r->cancel;
    $loop->run_once(0.02) for 1 .. 5;
    is($fired, 0, 'no callback after cancel');
    is($r->is_done, 1, 'cancelled request is done');
    $l->cancel;

    # Timeout: a listener whose queue is full drops SYNs, so the connect hangs.
    socket(my $full, AF_INET, SOCK_STREAM, 0) or die;
    bind($full, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die;
    listen($full, 0) or die;
    my ($fport) = sockaddr_in(getsockname($full));
    my @fill;
    for (1 .. 4) {
        socket(my $s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) or die;
        connect($s, pack_sockaddr_in($fport, inet_aton('127.0.0.1')));
        push @fill, $s;
    }
    my $te;
    Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $fport, timeout_s => 0.3,
        on_connect => sub { $te = 'connected' }, on_error => sub ($r, $errno, $d) { $te = $errno });
    run_until(sub { defined $te }, 10);
    SKIP: {
        skip 'kernel accepted beyond the backlog', 1 if $te eq 'connected';
        is($te, ETIMEDOUT, 'timeout gives ETIMEDOUT');
    }
}
}
