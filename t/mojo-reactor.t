# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The Mojo::Reactor contract on Mojo::Reactor::LinuxEvent (the checks of
# Mojolicious' own reactor test, in our words): io, watch, remove, timer,
# recurring, again (with and without a new delay), next_tick, one_tick
# returning by itself, start/stop/is_running, reset, the error event and
# Mojo::Reactor::Poll's croak texts; separate reactors are independent.
use v5.36;
use Test::More;

BEGIN {
    $ENV{MOJO_REACTOR} = 'Mojo::Reactor::LinuxEvent';
    plan skip_all => 'Mojolicious is not installed (scripts/dev.sh installs libmojolicious-perl)'
        if !eval { require Mojo::Reactor::Poll; 1 };
}
use IO::Socket::INET;
use Mojo::Reactor::LinuxEvent;
use Linux::Event::Loop;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my $reactor = Mojo::Reactor::LinuxEvent->new;
isa_ok($reactor, 'Mojo::Reactor::Poll', 'a Mojo reactor');
is($reactor->loop, Linux::Event::Loop->default,
    'the first reactor runs on the shared default loop');
my $other = Mojo::Reactor::LinuxEvent->new;
is(ref $other, 'Mojo::Reactor::LinuxEvent', 'a second reactor is one too');
isnt($other->loop, $reactor->loop, '... on its own loop');
is(Mojo::Reactor->detect, 'Mojo::Reactor::LinuxEvent', 'MOJO_REACTOR selects it');

subtest 'one_tick and start return when nothing is watched' => sub {
    my $t0 = time;
    $reactor->start;
    $reactor->one_tick;
    ok(time - $t0 < 5, 'returned at once');
    ok(!$reactor->is_running, 'not running');
};

subtest 'io and watch' => sub {
    my $listen = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1') or die $!;
    my $port   = $listen->sockport;
    my ($readable, $writable) = (0, 0);
    $reactor->io($listen => sub ($r, $w) { $w ? $writable++ : $readable++ })->watch($listen, 0, 0)
        ->watch($listen, 1, 1);
    $reactor->timer(0.03 => sub { shift->stop });
    $reactor->start;
    ok(!$readable, 'listening socket not readable');
    ok(!$writable, 'listening socket not writable');

    my $client = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die $!;
    $reactor->timer(0.03 => sub { shift->stop });
    $reactor->start;
    ok($readable, 'readable once a client connects');
    ok(!$writable, 'still not writable');

    my $server = $listen->accept;
    ok($reactor->remove($listen), 'remove returns true');
    ok(!$reactor->remove($listen), '... once');
    ($readable, $writable) = (0, 0);
    $reactor->io($client => sub ($r, $w) { $w ? $writable++ : $readable++ });
    $reactor->again($reactor->timer(0.03 => sub { shift->stop }));
    $reactor->start;
    ok(!$readable, 'client not readable');
    ok($writable, 'client writable');

    ($readable, $writable) = (0, 0);
    $server->syswrite('test');
    $reactor->timer(0.03 => sub { shift->stop });
    $reactor->start;
    ok($readable, 'client readable after data');
    ok($writable, 'client still writable');

    ($readable, $writable) = (0, 0);
    $reactor->watch($client, 0, 0);
    $reactor->timer(0.03 => sub { shift->stop });
    $reactor->start;
    ok(!$readable && !$writable, 'watch(0, 0) pauses');
    $reactor->watch($client, 1, 0);
    $reactor->timer(0.03 => sub { shift->stop });
    $reactor->start;
    ok($readable && !$writable, 'watch(1, 0) reads only');
    ok($reactor->remove($client), 'removed');

    # Mojo::Reactor::Poll's croak texts.
    ok(!eval { $reactor->watch($client, 1, 1); 1 }, 'watch without io');
    like($@, qr/^I\/O watcher not active/, '... croaks "I/O watcher not active"');
    my $closed = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1') or die $!;
    close $closed;
    ok(
        !eval {
            $reactor->io($closed => sub { });
            1;
        },
        'io on a closed handle'
    );
    like($@, qr/^Handle is closed/, '... croaks "Handle is closed"');
    ok(!eval { $reactor->remove($closed); 1 }, 'remove of a closed handle');
    like($@, qr/^Handle is closed/, '... croaks too');
    ok(!eval { $reactor->again('nope'); 1 }, 'again on an unknown timer');
    like($@, qr/^Timer not active/, '... croaks "Timer not active"');
};

subtest 'timers, recurring, again, remove' => sub {
    my ($n, $m) = (0, 0);
    my $rec = $reactor->recurring(0.005 => sub { $n++ });
    my $one = $reactor->timer(0.01 => sub { $m++ });
    $reactor->timer(0.05 => sub { shift->stop });
    $reactor->start;
    cmp_ok($n, '>=', 3, 'recurring repeats');
    is($m, 1, 'timer ran once');
    ok($reactor->remove($rec), 'remove a recurring timer');
    ok(!$reactor->remove($one), 'a fired timer is gone');
    $n = 0;
    $reactor->timer(0.02 => sub { shift->stop });
    $reactor->start;
    is($n, 0, 'removed recurring timer stays quiet');

    # again: restart the delay, or set a new one.
    my $fired;
    my $t0 = Time::HiRes::time();
    my $id = $reactor->timer(0.05 => sub { $fired = Time::HiRes::time() - $t0; shift->stop });
    $reactor->timer(0.03 => sub { shift->again($id) });
    $reactor->start;
    cmp_ok($fired, '>=', 0.075, 'again restarts the timer');
    $fired = undef;
    $t0    = Time::HiRes::time();
    $id    = $reactor->timer(10 => sub { $fired = Time::HiRes::time() - $t0; shift->stop });
    $reactor->again($id, 0.02);
    $reactor->start;
    ok($fired && $fired < 5, 'again with a new delay');

    $n  = 0;
    $id = $reactor->recurring(10 => sub { $n++; shift->stop if $n == 2 });
    $reactor->again($id, 0.005);
    $reactor->start;
    is($n, 2, 'again with a new delay on a recurring timer');
    $reactor->remove($id);

    # A delay of 0 (or less) on a recurring timer: it keeps running, as
    # Mojo::Reactor::Poll's does (again() used to die inside and leave it
    # dead but listed, so start never returned by itself).
    for my $delay (0, -1) {
        $n  = 0;
        $id = $reactor->recurring(10 => sub { $n++; shift->remove($id) if $n == 3 });
        ok(eval { $reactor->again($id, $delay); 1 }, "again(\$recurring, $delay) takes it") or diag($@);
        $reactor->start;
        is($n, 3, "again(\$recurring, $delay): it runs until removed, then start returns");
    }
    $n = 0;
    $id = $reactor->recurring(-1 => sub { $n++; shift->remove($id) if $n == 3 });
    $reactor->start;
    is($n, 3, 'recurring(-1) runs until removed');
};

subtest 'next_tick and one_tick' => sub {
    my @order;
    is($reactor->next_tick(sub { push @order, 1 }), undef, 'next_tick returns undef');
    $reactor->next_tick(sub { push @order, 2 });
    $reactor->timer(0 => sub { push @order, 't' });
    $reactor->one_tick;
    $reactor->one_tick while @order < 3;
    is("@order", '1 2 t', 'next_tick callbacks in order, before a timer made after them');

    my $nested;
    $reactor->timer(0 => sub { $nested++; shift->one_tick });
    $reactor->one_tick;
    is($nested, 1, 'one_tick inside a callback returns when nothing is left');

    my $running;
    $reactor->timer(0 => sub { $running = shift->is_running });
    $reactor->one_tick;
    ok($running, 'is_running inside one_tick');
    ok(!$reactor->is_running, 'not afterwards');
};

subtest 'reset' => sub {
    my $listen = IO::Socket::INET->new(Listen   => 5, LocalAddr          => '127.0.0.1') or die $!;
    my $client = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $listen->sockport)
        or die $!;
    my ($io, $t) = (0, 0);
    $reactor->io($client => sub { $io++ });
    $reactor->timer(0 => sub { $t++ });
    $reactor->recurring(0.001 => sub { $t++ });
    $reactor->reset;
    $reactor->start;
    ok(!$io && !$t, 'nothing runs after reset, and start returns');
    my $again = 0;
    $reactor->timer(0 => sub { $again++ });
    $reactor->one_tick;
    is($again, 1, 'the reactor works after reset');
};

subtest 'error event' => sub {
    my $err;
    $reactor->unsubscribe('error')->on(error => sub ($r, $e) { $err = $e; $r->stop });
    $reactor->timer(0 => sub { die "works!\n" });
    $reactor->start;
    like($err, qr/^Timer failed: works!/, 'timer exception becomes an error event');
    $err = undef;
    my $listen = IO::Socket::INET->new(Listen   => 5, LocalAddr          => '127.0.0.1') or die $!;
    my $client = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $listen->sockport)
        or die $!;
    $reactor->io($client => sub { die "io!\n" })->watch($client, 0, 1);
    $reactor->start;
    like($err, qr/^I\/O watcher failed: io!/, 'io exception becomes an error event');
    $reactor->remove($client);
    $reactor->unsubscribe('error');
    $reactor->timer(0 => sub { die "unhandled\n" });
    ok(!eval { $reactor->start; 1 }, 'without a subscriber the error dies out of start');
    like($@, qr/Timer failed: unhandled/, '... with the message');
    ok(!$reactor->is_running, '... and the reactor is stopped');
};

subtest 'separate reactors are independent' => sub {
    my ($a, $b) = (0, 0);
    my $ia = $reactor->recurring(0 => sub { $a++ });
    my $ib = $other->recurring(0 => sub { $b++ });
    $reactor->timer(0.02 => sub { shift->stop });
    $reactor->start;
    ok($a, 'the started reactor ran');
    ok(!$b, 'the other did not');
    $other->timer(0.02 => sub { shift->stop });
    $other->start;
    ok($b, 'the other runs when started');
    $reactor->remove($ia);
    $other->remove($ib);
    undef $other;
};

done_testing;
