# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->waker: one eventfd per loop, signal/drain, user watch, stop().
use v5.36;
use Test::More;
use Time::HiRes qw(time);

use Linux::Event;
use Linux::Event::Wakeup;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

my $loop = Linux::Event->new;
my $waker = $loop->waker;
isa_ok($waker, 'Linux::Event::Wakeup');
is($loop->waker, $waker, 'the same object every time');
ok(!eval { $loop->waker(sub { }); 1 }, 'waker takes no arguments');
ok(defined fileno($waker->fh), 'fh is a real handle');
is($waker->loop, $loop, 'loop');

is($waker->signal, 1, 'signal returns 1');
is($waker->signal(3), 1, 'signal(3) returns 1');
is($waker->drain, 4, 'drain sums');
is($waker->drain, 0, 'then 0');
dies_like(sub { $waker->signal(0) }, qr/^signal\(\) increment must be a positive integer/, 'signal(0)');
dies_like(sub { $waker->signal(-1) }, qr/^signal\(\) increment must be a positive integer/, 'signal(-1)');
dies_like(sub { $waker->signal('x') }, qr/^signal\(\) increment must be a positive integer/, 'signal(x)');
dies_like(sub { $waker->signal(1.5) }, qr/^signal\(\) increment must be a positive integer/, 'signal(1.5)');
dies_like(sub { Linux::Event::Wakeup->new }, qr/^loop is required/, 'new loop');
dies_like(sub { Linux::Event::Wakeup->new(loop => $loop, z => 1) }, qr/^unknown args: z/, 'new args');

# The internal watcher drains it: a signal wakes a blocking run_once.
$waker->signal(2);
my $t0 = time;
is($loop->run_once(5), 1, 'a signal wakes the wait (one event)');
cmp_ok(time - $t0, '<', 2, 'promptly');
is($waker->drain, 0, 'drained by the loop');

# A user watcher on the fh replaces the internal one.
my @seen;
my $uw = $loop->watch($waker->fh, read => sub ($l, $fh, $w) { push @seen, $waker->drain });
$waker->signal(3);
$t0 = time;
$loop->run_once(0.05) while !@seen && time - $t0 < 2;
is_deeply(\@seen, [3], 'the user watcher sees the coalesced count');

# stop() signals an existing waker.
@seen = ();
$loop->stop;
$loop->run_once(1);
is_deeply(\@seen, [1], 'stop() signalled the waker');

# A forked child can wake the loop through the fd.
@seen = ();
my $pid = fork // die "fork: $!";
if (!$pid) {
	$waker->signal(5);
	POSIX::_exit(0);
}
$t0 = time;
$loop->run_once(0.2) while !@seen && time - $t0 < 5;
waitpid($pid, 0);
is_deeply(\@seen, [5], 'signalled from a child');

# stop() on a loop without a waker does not create one.
my $l2 = Linux::Event->new;
$l2->stop;
ok(!$l2->impl->{_waker}, 'stop() creates no waker');

# stop() from another process' signal wakes a blocked run.
$uw->cancel;
$loop->after(0.05, sub ($l) { $waker->signal });
$loop->after(0.1, sub ($l) { $l->stop });
$t0 = time;
$loop->run;
cmp_ok(time - $t0, '<', 2, 'run ended by stop');

# A wakeup chain inside run does not starve a ready fd: run skips every
# other non-blocking wait while wakeups are pending (one epoll call per
# two wakeups), so the pipe is seen after at most one more wakeup.
{
	my $l3 = Linux::Event->new;
	my $wk = $l3->waker;
	pipe(my $r, my $w) or die "pipe: $!";
	my ($wakes, $read_at) = (0, undef);
	my $pw = $l3->watch($r, read => sub ($l, $fh, $watcher) {
		sysread($fh, my $buf, 1);
		$read_at //= $wakes;
		$watcher->cancel;
	});
	$l3->run_once(0);   # an idle turn: this iteration waited
	my $ww = $l3->watch($wk->fh, read => sub ($l, $fh, $watcher) {
		$wk->drain;
		if (++$wakes == 10) { $l->stop } else { $wk->signal }
	});
	syswrite($w, 'x');
	$wk->signal;
	$l3->run;
	is($wakes, 10, 'the wakeup chain ran');
	# The first iteration of run only runs the pending wakeup (the idle
	# turn before it waited); the second waits and finds the pipe.
	is($read_at, 1, 'the ready pipe was read after one wakeup, not starved');
	$ww->cancel;
}

done_testing;
