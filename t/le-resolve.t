#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->resolve: getaddrinfo in the loop's worker threads, answered on the loop.
use v5.36;
use Test::More;
use lib 't/lib';
use EvlTest qw(has uring_loop);
use Errno qw(ENOENT ENAMETOOLONG);
use Socket qw(AF_INET AF_INET6 SOCK_STREAM pack_sockaddr_in inet_aton);
use Time::HiRes qw(time);
use Linux::Event;
use Linux::Event::Loop;

my $loop = Linux::Event->new;

sub run_until ($l, $cond, $secs = 5) {
    my $t0 = time;
    while (!$cond->()) { $l->run_once(0.05); die "timeout" if time - $t0 > $secs }
}

# Numeric hosts, and never inside the call.
{
    my ($res, $inside);
    $inside = 1;
    my $req = $loop->resolve(host => '127.0.0.1', port => 80, on_done => sub ($r) { $res = $r });
    $inside = 0;
    isa_ok($req, 'Linux::Event::Resolver::Request');
    ok(!defined $res, 'no callback inside resolve');
    ok($req->is_pending, 'pending');
    run_until($loop, sub { $res });
    is(scalar @$res, 1, 'one address for 127.0.0.1 (SOCK_STREAM by default)');
    is_deeply($res->[0], {family => AF_INET, socktype => SOCK_STREAM, protocol => 6,
            addr => pack_sockaddr_in(80, inet_aton('127.0.0.1')), host => '127.0.0.1', port => 80},
        'the address hash');
    ok(!$req->is_pending, 'answered');
    is($req->cancel, 0, 'cancel after the answer is a no-op');

    my $r6;
    $loop->resolve(host => '::1', port => 'http', family => 'inet6', on_done => sub ($r) { $r6 = $r });
    run_until($loop, sub { $r6 });
    is($r6->[0]{host}, '::1', '::1');
    is($r6->[0]{family}, AF_INET6, 'inet6');
    is($r6->[0]{port}, 80, 'service name to port');
}

# /etc/hosts
{
    my $res;
    $loop->resolve(host => 'localhost', port => 8080, family => 'inet',
        on_done => sub ($r) { $res = $r }, on_error => sub ($e, $m) { $res = "$e $m" });
    run_until($loop, sub { $res });
    is(ref $res, 'ARRAY', 'localhost resolves') or diag $res;
    ok((grep { $_->{host} eq '127.0.0.1' && $_->{port} == 8080 } @$res), 'localhost is 127.0.0.1');
}

# Names that cannot resolve.
{
    my @err;
    $loop->resolve(host => 'nonexistent.invalid', port => 80, on_done => sub { push @err, 'done' },
        on_error => sub ($e, $m) { push @err, [$e, $m] });
    $loop->resolve(host => 'a' x 10_000, on_done => sub { push @err, 'done' },
        on_error => sub ($e, $m) { push @err, [$e, $m] });
    run_until($loop, sub { @err == 2 });
    my %by = map { $_->[0] => $_->[1] } grep { ref } @err;
    like($by{ENOENT()}, qr/ \(EAI_NONAME\)\z/, "unresolvable name: ENOENT, $by{ENOENT()}");
    like($by{ENAMETOOLONG()}, qr/too long/, '10,000-byte name: ENAMETOOLONG, a clear text');

    my @warn;
    local $SIG{__WARN__} = sub { push @warn, @_ };
    $loop->resolve(host => 'nobody.invalid', on_done => sub { });
    run_until($loop, sub { @warn });
    my $enoent = do { local $! = ENOENT; "$!" };
    like($warn[0], qr/resolving 'nobody\.invalid' failed: \Q$enoent\E: .*\(EAI_NONAME\)/,
        'no on_error: a warning with the errno text');
}

# Cancel: no callback runs.
{
    local $ENV{EVL_RESOLVE_TEST_DELAY_MS} = 100;
    my $fired = 0;
    my $req = $loop->resolve(host => '127.0.0.1', on_done => sub { $fired++ }, on_error => sub { $fired++ });
    is($req->cancel, 1, 'cancel');
    is($req->cancel, 0, 'second cancel');
    ok(!$req->is_pending, 'not pending');
    my $other;
    $loop->resolve(host => '127.0.0.1', on_done => sub ($r) { $other = $r });
    run_until($loop, sub { $other });
    is($fired, 0, 'the cancelled request never called back');
    is(Linux::Event::Resolver::pending($loop), 0, 'nothing pending');
}

# A slow resolution leaves the loop running; a dropped request object
# does not cancel.
{
    local $ENV{EVL_RESOLVE_TEST_DELAY_MS} = 300;
    my ($ticks, $res) = (0);
    my $t0 = time;
    $loop->resolve(host => 'localhost', on_done => sub ($r) { $res = $r });
    my $id;
    my $tick;
    $tick = sub ($l) { $ticks++ unless $res; $id = $loop->after(0.01, $tick) unless $res };
    $id = $loop->after(0.01, $tick);
    run_until($loop, sub { $res });
    ok(time - $t0 >= 0.29, 'the worker was slow');
    cmp_ok($ticks, '>=', 5, "timers kept firing meanwhile ($ticks)");
    $loop->cancel($id);
}

# Exceptions from the callback come out of run.
{
    $loop->resolve(host => '127.0.0.1', on_done => sub { die "boom\n" });
    my $ok = eval { run_until($loop, sub { 0 }, 2); 1 };
    is($@, "boom\n", 'die in on_done propagates out of run_once');
}

# Freeing a loop with requests in flight: no callback, no crash.
{
    local $ENV{EVL_RESOLVE_TEST_DELAY_MS} = 50;
    my $l = Linux::Event->new;
    my $fired = 0;
    $l->resolve(host => '127.0.0.1', on_done => sub { $fired++ }) for 1 .. 6;
    my $keep = $l->resolve(host => '127.0.0.1', on_done => sub { $fired++ });
    undef $l;
    ok(!$keep->is_pending, 'a request of a freed loop is no longer pending');
    is($keep->cancel, 0, 'and cancel is a no-op');
    select(undef, undef, undef, 0.2);
    is($fired, 0, 'no callback after the loop was freed');
}

# Bad arguments.
{
    my @bad = (
        [{}, qr/^resolve: host or port is required/],
        [{host => '', on_done => sub { }}, qr/^resolve: host must be a non-empty string/],
        [{host => 'x', port => -1, on_done => sub { }}, qr/^resolve: port must be/],
        [{host => 'x', port => 70000, on_done => sub { }}, qr/^resolve: port must be/],
        [{host => 'x', family => 'ipx', on_done => sub { }}, qr/^resolve: family must be/],
        [{host => 'x'}, qr/^resolve: on_done is required/],
        [{host => 'x', on_done => 1}, qr/^resolve: on_done must be a code reference/],
        [{host => 'x', on_done => sub { }, bogus => 1}, qr/^resolve: unknown option\(s\): bogus/],
    );
    for my $b (@bad) {
        ok(!eval { $loop->resolve(%{ $b->[0] }); 1 }, "croaks: $b->[1]");
        like($@, qr/$b->[1].* at \Q$0\E line/, 'with the caller\'s line');
    }
    ok(!eval { Linux::Event::Resolver::set_threads($loop, 0); 1 }, 'set_threads 0 croaks');
    Linux::Event::Resolver::set_threads($loop, 2);
}

# The proactor: fake backend always, io_uring where the kernel allows.
{
    my $p = Linux::Event::Loop->new(model => 'proactor', backend => 'fake');
    my $res;
    $p->resolve(host => '127.0.0.1', on_done => sub ($r) { $res = $r });
    run_until($p, sub { $res });
    is($res->[0]{host}, '127.0.0.1', 'proactor (fake): resolved');
  SKIP: {
        my $u = uring_loop(sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') });
        skip 'no io_uring', 1 unless $u;
        my $ur;
        $u->resolve(host => 'localhost', family => 'inet', on_done => sub ($r) { $ur = $r });
        run_until($u, sub { $ur });
        is($ur->[0]{host}, '127.0.0.1', 'proactor (uring): resolved');
    }
}

# A forked child resolves with a pool of its own.
{
    my $r;
    $loop->resolve(host => '127.0.0.1', on_done => sub ($x) { $r = $x });
    run_until($loop, sub { $r });
    pipe(my $rd, my $wr) or die;
    my $pid = fork // die;
    if (!$pid) {
        close $rd;
        my $l = Linux::Event->new;
        my $got = 'none';
        $l->resolve(host => 'localhost', family => 'inet', on_done => sub ($x) { $got = $x->[0]{host} },
            on_error => sub ($e, $m) { $got = $m });
        my $t0 = time;
        $l->run_once(0.05) while $got eq 'none' && time - $t0 < 5;
        print {$wr} $got;
        close $wr;
        require POSIX;
        POSIX::_exit(0);
    }
    close $wr;
    my $got = do { local $/; <$rd> };
    waitpid($pid, 0);
    is($got, '127.0.0.1', 'resolved in a forked child');
}

done_testing;
