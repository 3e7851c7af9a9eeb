# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Reactor timers: after / at / cancel, ordering, after(0), batches,
# run_once timeouts and return values, stop, the loop's scheduler.
use v5.36;
use Test::More;
use Time::HiRes qw(time);

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

sub make_loop () { Linux::Event->new(model => 'reactor') }

subtest 'order and cancel' => sub {
	my $loop = make_loop();
	my @order;
	$loop->after(0.030, sub ($loop) { push @order, 'B' });
	$loop->after(0.010, sub ($loop) { push @order, 'A' });
	my $x = $loop->after(0.020, sub ($loop) { push @order, 'X' });
	is($loop->cancel($x), 1, 'cancel a pending timer: 1');
	is($loop->cancel($x), 0, 'cancel again: 0');
	$loop->after(0.050, sub ($loop) { push @order, 'STOP'; $loop->stop });
	$loop->run;
	is_deeply(\@order, [qw(A B STOP)], 'deadline order; cancelled timer never ran');
};

subtest 'ids, argument checks, callback arguments' => sub {
	my $loop = make_loop();
	my @ids = map { $loop->after(10, sub ($loop) { }) } 1 .. 3;
	is_deeply(\@ids, [1, 2, 3], 'ids start at 1 and increase');
	is($loop->at(1e6, sub ($loop) { }), 4, 'at shares the id sequence');
	is($loop->cancel(undef), 0, 'cancel(undef)');
	is($loop->cancel(999), 0, 'cancel unknown id');
	is($loop->cancel('abc'), 0, 'cancel junk');
	# 0.010 looked ids up as hash keys: only the id's own decimal names it.
	is($loop->cancel($_), 0, "cancel('$_') names no timer") for (2.5, ' 2', '2e0', '02', '2 ');
	is($loop->cancel('2'), 1, "cancel('2') names timer 2");
	is($loop->cancel(3.0), 1, 'cancel(3.0) names timer 3');
	dies_like(sub { $loop->after(undef, sub { }) }, qr/^seconds is required/, 'after undef seconds');
	dies_like(sub { $loop->after(1, undef) }, qr/^cb is required/, 'after no cb');
	dies_like(sub { $loop->after(1, 'x') }, qr/^cb must be a coderef/, 'after non-code cb');
	dies_like(sub { $loop->at(undef, sub { }) }, qr/^deadline_seconds is required/, 'at undef');
	dies_like(sub { $loop->at(1, 0) }, qr/^cb is required/, 'at no cb');
	dies_like(sub { $loop->at(1, []) }, qr/^cb must be a coderef/, 'at non-code cb');

	# Exactly one argument, the facade (a signature dies on more).
	my @got;
	$loop->after(0, sub ($l) { @got = ($l) });
	$loop->run_once(0);
	is(scalar @got, 1, 'one argument');
	is($got[0], $loop, 'the facade');
};

subtest 'equal deadlines run FIFO' => sub {
	my $loop = make_loop();
	my @order;
	$loop->clock->tick;
	my $at = $loop->clock->now_s + 0.01;
	$loop->at($at, sub ($loop) { push @order, $_ }) for ();
	for my $n (1 .. 5) {
		$loop->at($at, sub ($loop) { push @order, $n });
	}
	$loop->after(0, sub ($loop) { push @order, 'zero-a' });
	$loop->after(0, sub ($loop) { push @order, 'zero-b' });
	$loop->after(0.05, sub ($loop) { $loop->stop });
	$loop->run;
	is_deeply(\@order, ['zero-a', 'zero-b', 1 .. 5], 'equal deadlines in insertion order');
};

subtest 'after(0) runs on the next run_once, before any wait' => sub {
	my $loop = make_loop();
	my $fired = 0;
	$loop->after(0, sub ($loop) { $fired++ });
	my $t0 = time;
	$loop->run_once(5);
	cmp_ok(time - $t0, '<', 2, 'run_once(5) did not wait');
	is($fired, 1, 'after(0) fired');

	# A past deadline too.
	$fired = 0;
	$loop->at(1, sub ($loop) { $fired++ });
	$t0 = time;
	$loop->run_once(5);
	cmp_ok(time - $t0, '<', 2, 'past deadline: no wait');
	is($fired, 1, 'past deadline fired');
};

subtest 'timers added by a timer callback run after a wait, not in the batch' => sub {
	my $loop = make_loop();
	my @log;
	$loop->after(0, sub ($loop) {
		push @log, 'outer';
		$loop->after(0, sub ($loop) { push @log, 'inner' });
	});
	$loop->after(0, sub ($loop) { push @log, 'outer2' });
	$loop->run_once(0);
	is_deeply([ @log[0, 1] ], ['outer', 'outer2'], 'inner is not part of the running batch');
	$loop->run_once(0) if @log < 3;
	is_deeply(\@log, ['outer', 'outer2', 'inner'], 'inner runs later');

	# A timer re-adding itself with after(0) cannot starve I/O.
	pipe(my $r, my $w) or die;
	my ($spins, $read) = (0, 0);
	my $spin;
	$spin = sub ($loop) { $spins++; $loop->after(0, $spin) if !$read };
	$loop->after(0, $spin);
	$loop->watch($r, read => sub ($loop, $fh, $wt) { $read++; $wt->cancel; $loop->stop });
	syswrite($w, 'x');
	$loop->run;
	is($read, 1, 'the watcher ran');
	cmp_ok($spins, '<', 10, 'after a few spins only');
};

subtest 'cancel from an earlier callback of the same batch' => sub {
	my $loop = make_loop();
	my (@log, $second, $ret);
	$loop->after(0, sub ($loop) { push @log, 'first'; $ret = $loop->cancel($second) });
	$second = $loop->after(0, sub ($loop) { push @log, 'second' });
	$loop->run_once(0);
	is($ret, 1, 'cancel of a due timer not yet run returns 1');
	is_deeply(\@log, ['first'], 'and it does not run');

	my $self_ret;
	my $id;
	$id = $loop->after(0, sub ($loop) { $self_ret = $loop->cancel($id) });
	$loop->run_once(0);
	is($self_ret, 0, 'cancel of the running timer returns 0');
};

subtest 'at is absolute on the monotonic clock' => sub {
	my $loop = make_loop();
	$loop->clock->tick;
	my $t0 = time;
	my $when;
	$loop->at($loop->clock->now_s + 0.15, sub ($loop) { $when = time; $loop->stop });
	$loop->run;
	cmp_ok($when - $t0, '>=', 0.14, 'not early');
	cmp_ok($when - $t0, '<', 1.5, 'not very late');
};

subtest 'run_once timeouts and return values' => sub {
	my $loop = make_loop();
	is($loop->run_once(0), 0, 'poll with nothing: 0');
	my $t0 = time;
	is($loop->run_once(0.05), 0, 'timeout: 0');
	cmp_ok(time - $t0, '>=', 0.045, 'waited for the timeout');

	pipe(my $r, my $w) or die;
	my $seen = 0;
	$loop->watch($r, read => sub ($loop, $fh, $wt) { sysread($fh, my $b, 16); $seen++ });
	syswrite($w, 'x');
	is($loop->run_once(1), 1, 'one readiness event: 1');
	is($seen, 1, 'dispatched');

	# A timer that falls due during the wait wakes it (explicit timeout longer).
	my $fired = 0;
	$loop->after(0.02, sub ($loop) { $fired++ });
	$t0 = time;
	my $n = $loop->run_once(5);
	cmp_ok(time - $t0, '<', 2, 'timer wakes a longer wait');
	is($fired, 1, 'and runs');
	is($n, 1, 'the timerfd counts as one event');

	# Timers run before a wait are not counted; a stop prevents the wait.
	$loop->run_once(0) for 1 .. 3;
	$loop->after(0, sub ($loop) { $loop->stop });
	$t0 = time;
	is($loop->run_once(5), 0, 'stop in a due timer: no wait, 0');
	cmp_ok(time - $t0, '<', 2, 'returned at once');
};

subtest 'stop before run has no effect; run can be called again' => sub {
	my $loop = make_loop();
	$loop->stop;
	my $fired = 0;
	$loop->after(0.01, sub ($loop) { $fired++; $loop->stop });
	$loop->run;
	is($fired, 1, 'run ran despite the earlier stop');
	my $running;
	$loop->after(0.01, sub ($loop) { $running = $loop->is_running; $loop->stop });
	is($loop->is_running, 0, 'not running outside');
	$loop->run;
	is($running, 1, 'is_running inside run');
	is($loop->is_running, 0, 'not running after');
	my $in_once;
	$loop->after(0, sub ($loop) { $in_once = $loop->is_running });
	$loop->run_once(0);
	is($in_once, 0, 'run_once alone does not set is_running');
};

subtest 'the loop scheduler shares the timer heap' => sub {
	my $loop = make_loop();
	my $s = $loop->sched;
	is($s, $loop->sched, 'one scheduler per loop');
	my @log;
	my $id = $s->after_ns(0, sub ($l) { push @log, ['a', $l] });
	my $id2 = $loop->after(0, sub ($l) { push @log, ['b'] });
	is($id2, $id + 1, 'one id space');
	ok(defined $s->next_deadline_ns, 'next_deadline_ns defined');
	$loop->run_once(0);
	is_deeply([ map { $_->[0] } @log ], ['a', 'b'], 'both ran, in order');
	is($log[0][1], $loop, 'sched callbacks get the facade');
	is($s->next_deadline_ns, undef, 'nothing pending');
	my $c = $s->at_ns(1, sub ($l) { push @log, 'c' });
	is($s->cancel($c), 1, 'sched cancel');
	is($loop->cancel($c), 0, 'loop cancel sees it gone');
	my $d = $s->at_ns(1, sub ($l) { push @log, 'd' });
	my $e = $s->at_ns(2, sub ($l) { push @log, 'e' });
	$s->at_ns(4e18, sub ($l) { });
	$loop->run_once(0) for ();
	$loop->clock->tick;
	my @due = $s->pop_expired;
	is_deeply([ map { $_->[0] } @due ], [$d, $e], 'pop_expired: due ids in order');
	is(ref($due[0][1]), 'CODE', 'with the callback');
	is($due[1][2], 2, 'and the deadline');
	$loop->run_once(0);
	is(scalar(grep { !ref } @log), 0, 'popped timers are not run by the loop');
	eval { $s->after_ns(undef, sub { }) };
	like($@, qr/^delta_ns is required/, 'sched checks arguments');
};

done_testing;
