# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Clock, Linux::Event::Timer and the standalone Scheduler.
use v5.36;
use Test::More;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

use Linux::Event::Clock;
use Linux::Event::Timer;
use Linux::Event::Scheduler;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

subtest 'Clock' => sub {
	dies_like(sub { Linux::Event::Clock->new(clock => 'realtime') },
		qr/^clock must be 'monotonic' \(got 'realtime'\)/, 'only monotonic');
	my $c = Linux::Event::Clock->new(clock => 'monotonic');
	my $g0 = $c->generation;
	my $before = int(clock_gettime(CLOCK_MONOTONIC) * 1e9);
	my $t = $c->tick;
	my $after = int(clock_gettime(CLOCK_MONOTONIC) * 1e9);
	cmp_ok($t, '>=', $before - 1000, 'tick is CLOCK_MONOTONIC (low)');
	cmp_ok($t, '<=', $after + 1000, 'tick is CLOCK_MONOTONIC (high)');
	is($c->generation, $g0 + 1, 'tick bumps generation');
	is($c->now_ns, $t, 'now_ns is the cached tick');
	is($c->now_ns, $t, 'and stays cached');
	cmp_ok(abs($c->now_s - $t / 1e9), '<', 1e-6, 'now_s');
	cmp_ok($c->monotonic_ns, '>=', $t, 'monotonic_ns is fresh');
	is($c->now_ns, $t, 'without touching the cache');
	is($c->deadline_after(1.5), $t + 1_500_000_000, 'deadline_after');
	is($c->deadline_after_ms(50), $t + 50_000_000, 'deadline_after_ms');
	is($c->deadline_after_us(7), $t + 7_000, 'deadline_after_us');
	is($c->deadline_in_ns(123), $t + 123, 'deadline_in_ns');
	is($c->expired_ns($t), 1, 'expired at now');
	is($c->expired_ns($t - 1), 1, 'expired before');
	is($c->expired_ns($t + 1), 0, 'not expired after');
	is($c->remaining_ns($t + 10), 10, 'remaining_ns');
	is($c->remaining_ns($t - 10), 0, 'remaining_ns floors at 0');
	for (['deadline_after', 'seconds'], ['deadline_after_ms', 'ms'], ['deadline_after_us', 'us'],
	     ['deadline_in_ns', 'delta_ns'], ['expired_ns', 'deadline_ns'], ['remaining_ns', 'deadline_ns']) {
		my ($m, $arg) = @$_;
		dies_like(sub { $c->$m(undef) }, qr/^$m requires $arg/, $m);
	}
	my $d = Linux::Event::Clock->new;
	isa_ok($d, 'Linux::Event::Clock', 'default clock');
};

subtest 'Timer' => sub {
	dies_like(sub { Linux::Event::Timer->new(after => 1, every => 1) }, qr/^Only one of after\/every may be supplied/, 'after+every');
	dies_like(sub { Linux::Event::Timer->new(bogus => 1, zap => 2) }, qr/^Unknown option\(s\): bogus, zap/, 'unknown options');
	my $t = Linux::Event::Timer->new;
	ok(defined fileno($t->fh), 'fh has a fileno');
	is($t->fd, fileno($t->fh), 'fd');
	is($t->read_ticks, 0, 'unarmed: 0 ticks');
	is($t->after('0.01'), $t, 'after returns the timer');
	my $rin = '';
	vec($rin, $t->fd, 1) = 1;
	ok(select(my $rout = $rin, undef, undef, 2), 'fd readable when it expires');
	is($t->read_ticks, 1, 'one tick');
	is($t->read_ticks, 0, 'then none');
	dies_like(sub { $t->after('1e-3') }, qr/^seconds must be numeric/, 'no exponents');
	dies_like(sub { $t->after(undef) }, qr/^seconds is required/, 'seconds required');
	dies_like(sub { $t->after([]) }, qr/^seconds must be numeric/, 'refs');
	dies_like(sub { $t->every(0) }, qr/^interval must be > 0/, 'every 0');
	dies_like(sub { $t->every('x') }, qr/^interval must be numeric/, 'every junk');
	$t->after('-1');    # negative is 0: disarms
	ok(!select(my $r2 = $rin, undef, undef, 0.05), 'after(-1) disarms');
	is($t->every('0.01'), $t, 'every returns the timer');
	select(undef, undef, undef, 0.05);
	cmp_ok($t->read_ticks, '>=', 2, 'periodic ticks');
	is($t->disarm, $t, 'disarm returns the timer');
	$t->read_ticks;
	ok(!select(my $r3 = $rin, undef, undef, 0.05), 'disarmed');
	my $armed = Linux::Event::Timer->new(after => '0.01');
	vec(my $rin2 = '', $armed->fd, 1) = 1;
	ok(select(my $r4 = $rin2, undef, undef, 2), 'constructor arming');
	my $fd = $t->fd;
	undef $t;
	ok(!defined fcntl_ok($fd), 'the timerfd is closed with the object');

	{
		package t::FakeTfd;
		sub new { bless { set => [] }, shift } sub set_timeout { push @{ $_[0]{set} }, [ @_[1, 2] ] } sub receive { 7 }
	}
	my $fake = t::FakeTfd->new;
	my $i = Linux::Event::Timer->new(timerfd => $fake);
	$i->after('2.5');
	$i->disarm;
	is_deeply($fake->{set}, [ [2.5, 0], [0, 0] ], 'injected timerfd gets set_timeout');
	is($i->read_ticks, 7, 'and receive');
	dies_like(sub { Linux::Event::Timer->new(timerfd => {}) }, qr/^timerfd must be an object/, 'timerfd object');
};

sub fcntl_ok ($fd) {
	open(my $probe, '<&=', $fd) or return undef;
	return 1;
}

subtest 'Scheduler (standalone)' => sub {
	{
		package t::Clock;
		sub new { bless { now => 1000 }, shift } sub now_ns { $_[0]{now} }
		sub deadline_in_ns { $_[0]{now} + $_[1] }
	}
	dies_like(sub { Linux::Event::Scheduler->new }, qr/^clock is required/, 'clock required');
	dies_like(sub { Linux::Event::Scheduler->new(clock => t::Clock->new, x => 1) }, qr/^unknown args: x/, 'unknown args');
	dies_like(sub { Linux::Event::Scheduler->new(clock => bless {}, 't::Nothing') }, qr/^clock missing method 'now_ns'/, 'clock methods');
	my $clk = t::Clock->new;
	my $s = Linux::Event::Scheduler->new(clock => $clk);
	is($s->next_deadline_ns, undef, 'empty');
	my @ids = map { my $n = $_; $s->at_ns(2000, sub { $n }) } 1 .. 5;
	is_deeply(\@ids, [1 .. 5], 'ids from 1');
	my $early = $s->after_ns(500, sub { 'early' });
	is($s->next_deadline_ns, 1500, 'after_ns uses deadline_in_ns');
	is($s->cancel($ids[1]), 1, 'cancel live');
	is($s->cancel($ids[1]), 0, 'cancel dead');
	is($s->cancel(undef), 0, 'cancel undef');
	$clk->{now} = 1999;
	my @due = $s->pop_expired;
	is_deeply([ map { $_->[0] } @due ], [$early], 'only the due one');
	is($due[0][1]->(), 'early', 'with its callback');
	is($due[0][2], 1500, 'and deadline');
	$clk->{now} = 2000;
	@due = $s->pop_expired;
	is_deeply([ map { $_->[1]->() } @due ], [1, 3, 4, 5], 'equal deadlines FIFO, cancelled skipped');
	is($s->next_deadline_ns, undef, 'empty again');
	dies_like(sub { $s->at_ns(undef, sub { }) }, qr/^deadline_ns is required/, 'at_ns');
	dies_like(sub { $s->after_ns(undef, sub { }) }, qr/^delta_ns is required/, 'after_ns');
	dies_like(sub { $s->at_ns(1, undef) }, qr/^callback is required/, 'callback');
	dies_like(sub { $s->at_ns(1, 'x') }, qr/^callback must be a coderef/, 'callback code');
	# Many cancels trigger a rebuild and keep the order right.
	my @keep;
	for my $i (1 .. 100) {
		my $id = $s->at_ns(3000 + ($i % 7), sub { $i });
		if ($i % 3) { $s->cancel($id) } else { push @keep, [3000 + ($i % 7), $i] }
	}
	$clk->{now} = 5000;
	my @got = map { $_->[1]->() } $s->pop_expired;
	my @want = map { $_->[1] } sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @keep;
	is_deeply(\@got, \@want, 'order after lazy deletions and rebuilds');
};

done_testing;
