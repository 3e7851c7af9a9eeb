# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->signal: one handler per signal, arguments, names, cancel, mask.
use v5.36;
use Test::More;
use POSIX ();
use Time::HiRes qw(time);

use Linux::Event;
use Linux::Event::Signal;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

sub pump ($loop, $until, $max = 2) {
	my $t0 = time;
	$loop->run_once(0.05) while !$until->() && time - $t0 < $max;
}

sub blocked ($signo) {
	my $old = POSIX::SigSet->new;
	POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new, $old);
	return $old->ismember($signo) ? 1 : 0;
}

my $USR1 = POSIX::SIGUSR1();
my $USR2 = POSIX::SIGUSR2();

subtest 'arguments' => sub {
	my $loop = Linux::Event->new;
	my $cb = sub ($l, $s, $c, $d) { };
	dies_like(sub { $loop->signal(undef, $cb) }, qr/^signal is required/, 'signal required');
	dies_like(sub { $loop->signal('USR1', undef) }, qr/^cb is required/, 'cb required');
	dies_like(sub { $loop->signal('USR1', 'x') }, qr/^cb must be a coderef/, 'cb code');
	dies_like(sub { $loop->signal('USR1', $cb, zz => 1, aa => 1) }, qr/^unknown args: aa, zz/, 'unknown args');
	dies_like(sub { $loop->signal({}, $cb) }, qr/^signal must be a number, string, or arrayref/, 'hash ref');
	dies_like(sub { $loop->signal([], $cb) }, qr/^no signals provided/, 'empty list');
	dies_like(sub { $loop->signal('NOPE', $cb) }, qr/^unknown signal 'NOPE'/, 'unknown name');
	dies_like(sub { $loop->signal([undef], $cb) }, qr/^signal is undef/, 'undef element');
	dies_like(sub { $loop->signal([[]], $cb) }, qr/^signal must be a string or integer/, 'ref element');
	dies_like(sub { Linux::Event::Signal->new }, qr/^loop is required/, 'new loop');
	dies_like(sub { Linux::Event::Signal->new(loop => $loop, x => 1) }, qr/^unknown args: x/, 'new args');
	for my $name ('USR1', 'SIGUSR1', ' sigusr1 ', 'usr1', "$USR1") {
		my $sub = $loop->signal($name, $cb);
		is_deeply([ $sub->signals ], [$USR1], "'$name' is SIGUSR1");
		$sub->cancel;
	}
	my $rt = $loop->signal('RTMIN', $cb);
	is_deeply([ $rt->signals ], [ POSIX::SIGRTMIN() ], 'RTMIN');
	my $k = $loop->signal('KILL', $cb);
	ok($k->can('cancel'), 'SIGKILL accepted (never delivered)');
};

subtest 'delivery, data, order, replacement, cancel' => sub {
	my $loop = Linux::Event->new;
	my @seen;
	my $s1 = $loop->signal('USR1', sub ($l, $sig, $count, $data) {
		push @seen, [ 'USR1', $l, $sig, $count, $data ];
	}, data => 'A');
	my $s2 = $loop->signal('USR2', sub ($l, $sig, $count, $data) {
		push @seen, [ 'USR2', $l, $sig, $count, $data ];
	}, data => 'B');
	is($s1->is_active, 1, 'is_active');
	kill 'USR2', $$;
	kill 'USR1', $$;
	kill 'USR1', $$;
	pump($loop, sub { @seen >= 2 });
	is(scalar @seen, 2, 'one call per signal per drain');
	is_deeply([ map { $_->[0] } @seen ], ['USR1', 'USR2'], 'ascending signal number');
	is($seen[0][1], $loop, 'the facade');
	is($seen[0][2], $USR1, 'the signal number');
	is($seen[0][3], 1, 'standard signals coalesce: count 1');
	is($seen[0][4], 'A', 'data');
	is($seen[1][4], 'B', 'data of the other');

	@seen = ();
	my $s3 = $loop->signal('USR1', sub ($l, $sig, $count, $data) { push @seen, [ 'NEW', $data ] }, data => 'N');
	kill 'USR1', $$;
	pump($loop, sub { @seen });
	is_deeply(\@seen, [ [ 'NEW', 'N' ] ], 'the last registration wins');
	is($s1->cancel, 1, 'cancel of a replaced subscription: 1');
	kill 'USR1', $$;
	@seen = ();
	pump($loop, sub { @seen });
	is_deeply(\@seen, [ [ 'NEW', 'N' ] ], 'and it did not remove the newer handler');

	@seen = ();
	is($s2->cancel, 1, 'cancel: 1');
	is($s2->cancel, 0, 'cancel again: 0');
	is($s2->is_active, 0, 'inactive');
	is(blocked($USR2), 1, 'the cancelled signal stays blocked');
	kill 'USR2', $$;    # would kill us if it were unblocked
	my $t0 = time;
	$loop->run_once(0.05) while time - $t0 < 0.2;
	is_deeply(\@seen, [], 'a cancelled signal is swallowed');
	is(blocked($USR2), 1, 'still blocked');
};

subtest 'one subscription, several signals; queued real-time signals' => sub {
	my $loop = Linux::Event->new;
	my @seen;
	my $rt = POSIX::SIGRTMIN() + 1;
	my $sub = $loop->signal([ 'USR1', $rt ], sub ($l, $sig, $count, $data) { push @seen, [ $sig, $count ] });
	is_deeply([ $sub->signals ], [ $USR1, $rt ], 'both');
	kill $rt, $$ for 1 .. 3;
	kill 'USR1', $$;
	pump($loop, sub { @seen >= 2 });
	is_deeply(\@seen, [ [ $USR1, 1 ], [ $rt, 3 ] ], 'real-time signals queue: count 3');
};

subtest 'the mask is restored when the loop goes' => sub {
	is(blocked($USR1), 0, 'USR1 not blocked before');
	my $loop = Linux::Event->new;
	$loop->signal('USR1', sub ($l, $s, $c, $d) { });
	is(blocked($USR1), 1, 'blocked while subscribed');
	undef $loop;
	is(blocked($USR1), 0, 'unblocked after the loop is freed');
};

done_testing;
