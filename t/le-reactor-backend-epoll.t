# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Reactor::Backend::Epoll driven directly.
use v5.36;
use Test::More;

use Linux::Event::Reactor::Backend::Epoll;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

my $B = 'Linux::Event::Reactor::Backend::Epoll';

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

dies_like(sub { $B->new(foo => 1, bar => 1) }, qr/^unknown args: bar, foo/, 'new unknown args');
my $be = $B->new;
is($be->name, 'epoll', 'name');
pipe(my $r, my $w) or die;
my $cb = sub ($loop, $fh, $fd, $mask, $tag) { };
dies_like(sub { $be->watch(undef, 1, $cb) }, qr/^fh is required/, 'fh');
dies_like(sub { $be->watch($r, undef, $cb) }, qr/^mask is required/, 'mask');
dies_like(sub { $be->watch($r, 1, undef) }, qr/^cb is required/, 'cb');
dies_like(sub { $be->watch($r, 1, 'x') }, qr/^cb must be a coderef/, 'cb code');
no warnings 'once';
dies_like(sub { $be->watch(\*NOT_OPEN, 1, $cb) }, qr/^fh has no fileno/, 'fileno');

my @ev;
my $fd = $be->watch($r, $be->READABLE,
	sub ($loop, $fh, $fd, $mask, $tag) { push @ev, [$loop, $fh, $fd, $mask, $tag]; sysread($fh, my $b, 64) },
	_loop => 'LOOP', tag => 'T');
is($fd, fileno($r), 'watch returns the fd');
dies_like(sub { $be->watch($r, 1, $cb) }, qr/^fd already watched: $fd/, 'already watched');

is($be->run_once(undef, 0), 0, 'nothing ready: 0');
syswrite($w, 'x');
is($be->run_once(undef, 1), 1, 'one event');
is(scalar @ev, 1, 'one callback');
is_deeply($ev[0], ['LOOP', $r, $fd, $be->READABLE, 'T'], 'five arguments: loop, fh, fd, mask, tag');

# modify by fd number; always a MOD (oneshot re-arm from the callback).
@ev = ();
my $count = 0;
my $be2 = $B->new;
pipe(my $r2, my $w2) or die;
my $mask = $be2->READABLE | $be2->ONESHOT;
$be2->watch($r2, $mask, sub ($loop, $fh, $fd, $m, $tag) {
	$count++;
	sysread($fh, my $b, 64);
	$be2->modify($fd, $mask);
}, _loop => undef, tag => undef);
syswrite($w2, "a");
$be2->run_once(undef, 1);
syswrite($w2, "b");
$be2->run_once(undef, 1);
is($count, 2, 'oneshot re-armed by modify with the same mask');

dies_like(sub { $be->modify($fd, undef) }, qr/^mask is required/, 'modify mask');
is($be->modify(999, 1), 0, 'modify unknown fd: 0');
is($be->modify($r, $be->READABLE, tag => 'T2'), 1, 'modify by handle: 1');
syswrite($w, 'y');
$be->run_once(undef, 1);
is($ev[-1][4], 'T2', 'tag updated');
is($ev[-1][0], 'LOOP', '_loop kept when not given');

# HUP is reported.
close $w;
@ev = ();
$be->run_once(undef, 1);
ok($ev[0][3] & $be->HUP, 'HUP after the writer closed');

is($be->unwatch($fd), 1, 'unwatch by fd');
is($be->unwatch($fd), 0, 'again: 0');
is($be->unwatch(undef), 0, 'unwatch(undef): 0');

# edge default from new.
my $be3 = $B->new(edge => 1);
pipe(my $r3, my $w3) or die;
my $n3 = 0;
$be3->watch($r3, $be3->READABLE, sub { $n3++ });
syswrite($w3, 'z');
$be3->run_once(undef, 0.2);
$be3->run_once(undef, 0.05);
is($n3, 1, 'edge-triggered default: one event for one write');

# Timeouts round up: never early.
use Time::HiRes qw(time);
my $t0 = time;
$be3->run_once(undef, 0.0301);
cmp_ok(time - $t0, '>=', 0.030, 'timeout not early');

# Exceptions propagate after the batch.
my $be4 = $B->new;
pipe(my $r4, my $w4) or die;
$be4->watch($r4, 1, sub { sysread($r4, my $b, 8); die "cb died\n" });
syswrite($w4, 'q');
ok(!eval { $be4->run_once(undef, 1); 1 }, 'callback die propagates');
is($@, "cb died\n", 'message');

# The earlier name still works.
require Linux::Event::Backend::Epoll;
my $old = Linux::Event::Backend::Epoll->new;
isa_ok($old, $B, 'Linux::Event::Backend::Epoll');
is(Linux::Event::Backend::Epoll::ONESHOT(), 0x20, 'with its constants');

done_testing;
