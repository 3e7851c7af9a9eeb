#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Connect over the resolver: names never block the loop,
# Happy Eyeballs (RFC 8305), local_addr/local_port, gai_error, warnings.
# On a reactor loop and on proactor loops (io_uring, skipped only where it
# is absent or forbidden, and the fake backend): connect operations there.
use v5.36;
use Test::More;
use Socket qw(:all);
use Errno qw(ECONNREFUSED ETIMEDOUT ENOENT EAFNOSUPPORT);
use Time::HiRes qw(time);
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

# A timer of either model.
sub after ($secs, $cb) {
    return $loop->after($secs, sub ($lp) { $cb->() }) if $loop->model eq 'reactor';
    return $loop->after($secs, on_complete => sub ($op, $res, $data) { $cb->() });
}

sub run_until ($cond, $secs = 5) {
    my $t0 = time;
    while (!$cond->()) { $loop->run_once(0.05); die "timeout" if time - $t0 > $secs }
}

# A port nothing listens on.
sub dead_port ($family, $ip) {
    socket(my $s, $family, SOCK_STREAM, 0) or die;
    bind($s, $family == AF_INET ? pack_sockaddr_in(0, $ip) : pack_sockaddr_in6(0, $ip)) or die;
    my $port = $family == AF_INET ? (unpack_sockaddr_in(getsockname($s)))[0]
        : (unpack_sockaddr_in6(getsockname($s)))[0];
    close $s;
    return $port;
}

my $LO4 = inet_aton('127.0.0.1');
my $LO6 = inet_pton(AF_INET6, '::1');
my $have_v6 = do { my $s; socket($s, AF_INET6, SOCK_STREAM, 0) && bind($s, pack_sockaddr_in6(0, $LO6)) };

sub suite {
my @acc;
my $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
    on_accept => sub ($lp, $fh, $peer, $listen) { push @acc, [$fh, $peer] });
my $port = $l->sockport;

# Connect by name to a listener on 127.0.0.1.
{
    my ($fh, $err);
    my $req = Linux::Event::Connect->new(loop => $loop, host => 'localhost', port => $port,
        on_connect => sub ($r, $f, $d) { $fh = $f }, on_error => sub ($r, $e, $d) { $err = $e });
    ok(!$fh && !defined $err, 'a name is answered from the loop, not inside new');
    ok($req->is_pending, 'pending while resolving');
    run_until(sub { ($fh || defined $err) && @acc });
    ok($fh, 'connected by name') or diag "errno $err";
    is($acc[0][1]{host}, '127.0.0.1', 'accepted on 127.0.0.1');
    close $fh if $fh;
    close $_->[0] for @acc;
    @acc = ();
}

# The loop keeps running while a slow name resolves; timeout_s covers
# the resolution.
{
    local $ENV{EVL_RESOLVE_TEST_DELAY_MS} = 300;
    my ($fh, $ticks) = (undef, 0);
    my $tick;
    $tick = sub { $ticks++; after(0.01, $tick) unless $fh };
    after(0.01, $tick);
    Linux::Event::Connect->new(loop => $loop, host => 'localhost', port => $port,
        on_connect => sub ($r, $f, $d) { $fh = $f });
    run_until(sub { $fh && @acc });
    cmp_ok($ticks, '>=', 5, "the loop dispatched timers during the resolution ($ticks)");
    close $fh;
    close $_->[0] for @acc;
    @acc = ();

    my $e;
    Linux::Event::Connect->new(loop => $loop, host => 'localhost', port => $port, timeout_s => 0.05,
        on_connect => sub { $e = 'connected' }, on_error => sub ($r, $errno, $d) { $e = $errno });
    run_until(sub { defined $e });
    is($e, ETIMEDOUT, 'timeout_s during the resolution');

    my $fired = 0;
    my $req = Linux::Event::Connect->new(loop => $loop, host => 'localhost', port => $port,
        on_connect => sub { $fired++ }, on_error => sub { $fired++ });
    $req->cancel;
    $loop->run_once(0.1) for 1 .. 5;
    is($fired, 0, 'cancel during the resolution: no callback');
    is(Linux::Event::Resolver::pending($loop), 0, 'and the resolution is cancelled');
}

# gai_error: the resolver's text and the symbolic code; errno ENOENT.
{
    my $e;
    my $req = Linux::Event::Connect->new(loop => $loop, host => 'nonexistent.invalid', port => 80,
        on_error => sub ($r, $errno, $d) { $e = $errno });
    ok(!defined $e, 'a name that does not exist fails from the loop, not inside new');
    run_until(sub { defined $e });
    is($e, ENOENT, 'NONAME is ENOENT');
    like($req->gai_error, qr/\A\S.* \(EAI_NONAME\)\z/, 'gai_error: ' . $req->gai_error);
}

# A name no resolver can answer (whitespace or a control character in it)
# fails inside new, as in 0.010, whose t/10 counts on it.
for my $bad ('not a host name', "tab\there", "nl\n.example", "nul\0.example") {
    my ($called, $e, $gai);
    my $req = Linux::Event::Connect->new(loop => $loop, host => $bad, port => 80,
        on_error   => sub ($r, $errno, $d) { $called = 1; $e = $errno; $gai = $r->gai_error },
        on_connect => sub { fail("connected to '$bad'") });
    my $name = 'host ' . ($bad =~ s/([\0-\x20])/sprintf '\\x%02x', ord $1/ger);
    ok($req->is_done && $called, "$name: on_error inside new");
    is($e, ENOENT, "$name: ENOENT");
    is($gai, 'Name or service not known (EAI_NONAME)', "$name: gai_error");
    ok(!defined $req->fh, "$name: no fh");
    is(Linux::Event::Resolver::pending($loop), 0, "$name: nothing asked of the resolver");
}

# Without on_error a failure warns with the errno text.
{
    my @warn;
    local $SIG{__WARN__} = sub { push @warn, @_ };
    my $dead = dead_port(AF_INET, $LO4);
    my $req = Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $dead);
    run_until(sub { $req->is_done });
    my $txt = do { local $! = ECONNREFUSED; "$!" };
    like($warn[0] // '', qr/connecting to 127\.0\.0\.1 port $dead failed: \Q$txt\E/, 'refused: warned');
    @warn = ();
    $req = Linux::Event::Connect->new(loop => $loop, host => 'nobody.invalid', port => 1);
    run_until(sub { $req->is_done });
    like($warn[0] // '', qr/failed: .*\(EAI_NONAME\)\)/, 'unresolvable: warned with gai_error');
}

# local_addr / local_port
{
    my $lp = dead_port(AF_INET, $LO4);
    my $fh;
    Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port,
        local_addr => '127.0.0.1', local_port => $lp, on_connect => sub ($r, $f, $d) { $fh = $f });
    run_until(sub { $fh && @acc });
    my ($myport) = unpack_sockaddr_in(getsockname($fh));
    is($myport, $lp, 'bound to local_port');
    is($acc[0][1]{port}, $lp, 'the listener sees that port');
    close $fh;
    close $_->[0] for @acc;
    @acc = ();

    my $e;
    Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port, local_addr => '::1',
        on_error => sub ($r, $errno, $d) { $e = $errno });
    run_until(sub { defined $e });
    is($e, EAFNOSUPPORT, 'local_addr of the other family: EAFNOSUPPORT');

    for my $bad ([local_addr => 'localhost'], [local_port => 70000], [local_port => 'x']) {
        ok(!eval { Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => 1, @$bad); 1 },
            "@$bad croaks");
        like($@, qr/^local_(?:addr|port) must be/, 'with a clear text');
    }
    ok(!eval { Linux::Event::Connect->new(loop => $loop, unix => '/x', local_port => 1); 1 });
    like($@, qr/^local_port is not allowed in unix mode/, 'no local_port in unix mode');
}

# Happy Eyeballs.
SKIP: {
    skip 'no IPv6 loopback', 8 unless $have_v6;

    # A v6 listener that never answers: backlog 0 and one connection
    # queued, so further SYNs are dropped and a connect hangs.
    socket(my $hole, AF_INET6, SOCK_STREAM, 0) or die;
    bind($hole, pack_sockaddr_in6(0, $LO6)) or die;
    listen($hole, 0) or die;
    my ($hport) = unpack_sockaddr_in6(getsockname($hole));
    socket(my $filler, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0) or die;
    connect($filler, pack_sockaddr_in6($hport, $LO6));

    my @fed;
    # v4 first in the list: RFC 8305 ordering must still try v6 first.
    local $Linux::Event::Connect::TEST_RESOLVE = sub ($h, $p) {
        push @fed, "$h:$p";
        return ([AF_INET, pack_sockaddr_in($port, $LO4)], [AF_INET6, pack_sockaddr_in6($hport, $LO6)]);
    };
    my ($fh, $err);
    my $t0  = time;
    my $req = Linux::Event::Connect->new(loop => $loop, host => 'dual.test', port => $port,
        on_connect => sub ($r, $f, $d) { $fh = $f }, on_error => sub ($r, $e, $d) { $err = $e });
    is_deeply(\@fed, ["dual.test:$port"], 'the hook was asked for the name');
    is(sockaddr_family(getsockname($req->fh)), AF_INET6, 'the first attempt is IPv6');
    run_until(sub { $fh || defined $err });
    my $took = time - $t0;
    ok($fh, 'connected') or diag "errno $err";
    is(sockaddr_family(getpeername($fh)), AF_INET, 'over IPv4, the v6 attempt never answered');
    cmp_ok($took, '>=', 0.24, "the v4 attempt started after the 250 ms delay ($took s)");
    cmp_ok($took, '<', 2, 'and did not wait for the v6 attempt to time out');
    is(scalar @{ $req->{attempts} }, 0, 'the losing attempt is closed and unwatched');
    close $fh;

    # A refused first address moves on at once, without the delay.
    my $dead6 = dead_port(AF_INET6, $LO6);
    local $Linux::Event::Connect::TEST_RESOLVE = sub ($h, $p) {
        return ([AF_INET6, pack_sockaddr_in6($dead6, $LO6)], [AF_INET, pack_sockaddr_in($port, $LO4)]);
    };
    undef $fh;
    $t0 = time;
    Linux::Event::Connect->new(loop => $loop, host => 'dual.test', port => $port,
        on_connect => sub ($r, $f, $d) { $fh = $f });
    run_until(sub { $fh });
    cmp_ok(time - $t0, '<', 0.24, 'a refused v6 address falls back to v4 at once, before the 250 ms delay');
    close $fh;
    close $_->[0] for @acc;
    @acc = ();
}

$l->cancel;
}

for my $m (@models) {
    local $loop = $m->[1]->();
    subtest $m->[0] => \&suite;
}
done_testing;
