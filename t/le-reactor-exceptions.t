# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A callback that dies: the exception leaves run / run_once, the loop
# stays consistent and can be run again.
use v5.36;
use Test::More;

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

subtest 'timer callback dies inside run' => sub {
	my $loop = Linux::Event->new;
	my @log;
	$loop->after(0.01, sub ($l) { push @log, 'a'; die "boom\n" });
	$loop->after(0.05, sub ($l) { push @log, 'later'; $l->stop });
	ok(!eval { $loop->run; 1 }, 'run dies');
	is($@, "boom\n", 'with the callback\'s exception');
	is($loop->is_running, 0, 'is_running is 0 after the exception');
	$loop->run;
	is_deeply(\@log, ['a', 'later'], 'the other timer survived; run works again');
};

subtest 'the rest of a batch is not lost' => sub {
	my $loop = Linux::Event->new;
	my @log;
	$loop->after(0, sub ($l) { push @log, 1; die "first\n" });
	$loop->after(0, sub ($l) { push @log, 2 });
	$loop->after(0, sub ($l) { push @log, 3 });
	ok(!eval { $loop->run_once(0); 1 }, 'run_once dies');
	is($@, "first\n", 'first exception');
	$loop->run_once(0) if @log < 3;
	is_deeply(\@log, [1, 2, 3], 'the timers after it still ran');
};

subtest 'watcher callback dies; the watcher stays' => sub {
	my $loop = Linux::Event->new;
	pipe(my $r, my $w) or die;
	my $n = 0;
	my $wat = $loop->watch($r, read => sub ($l, $fh, $wt) { $n++; die { code => 42 } if $n == 1; sysread($fh, my $b, 9) });
	syswrite($w, 'x');
	ok(!eval { $loop->run_once(1); 1 }, 'run_once dies');
	is(ref($@), 'HASH', 'exception objects are kept as they are');
	is($@->{code}, 42, 'intact');
	is($wat->is_active, 1, 'watcher still active');
	is($loop->run_once(1), 1, 'level-triggered: dispatched again');
	is($n, 2, 'second call');
};

subtest 'a die in a timer stops the iteration before the wait' => sub {
	my $loop = Linux::Event->new;
	$loop->after(0, sub ($l) { die "now\n" });
	my $t0 = time;
	ok(!eval { $loop->run_once(5); 1 }, 'dies');
	cmp_ok(time - $t0, '<', 3, 'without waiting for the timeout');
};

subtest 'two callbacks die in one iteration' => sub {
	# Each exception comes out of one run_once, as under IO::Async's and
	# AnyEvent's own loops (the second was only warned about, so a program
	# catching exceptions never saw it).
	my $loop = Linux::Event->new;
	my @warn;
	local $SIG{__WARN__} = sub { push @warn, $_[0] };
	my $ran = 0;
	$loop->after(0, sub ($l) { $ran++; die "one\n" });
	$loop->after(0, sub ($l) { $ran++; die "two\n" });
	ok(!eval { $loop->run_once(0); 1 }, 'dies');
	is($@, "one\n", 'the first propagates');
	is($ran, 2, 'both ran in that iteration');
	my $third = 0;
	$loop->after(0, sub ($l) { $third++ });
	ok(!eval { $loop->run_once(0); 1 }, 'the next run_once dies too');
	is($@, "two\n", 'with the second');
	is($third, 0, 'before it runs anything');
	ok(eval { $loop->run_once(0); 1 }, 'then the loop runs on') or diag($@);
	is($third, 1, 'and the callback that waited runs');
	is_deeply(\@warn, [], 'nothing is only warned about');

	$loop->after(0, sub ($l) { die "three\n" });
	$loop->after(0, sub ($l) { die "four\n" });
	ok(!eval { $loop->run; 1 }, 'run dies');
	is($@, "three\n", 'with the first');
	ok(!eval { $loop->run; 1 }, 'the next run dies at once');
	is($@, "four\n", 'with the second');
};

subtest 'signal and pid callbacks' => sub {
	my $loop = Linux::Event->new;
	$loop->signal('USR1', sub ($l, $s, $c, $d) { die "sig\n" });
	kill 'USR1', $$;
	my $t0 = time;
	my $err;
	while (!$err && time - $t0 < 3) { eval { $loop->run_once(0.05); 1 } or $err = $@ }
	is($err, "sig\n", 'signal callback exception');

	my $pid = fork // die;
	POSIX::_exit(0) if !$pid;
	$loop->pid($pid, sub ($l, $p, $s, $d) { die "pid\n" });
	ok(!eval { $loop->run; 1 }, 'pid callback dies out of run');
	is($@, "pid\n", 'message');
};

subtest 'a %SIG handler runs during a blocking wait, and may die' => sub {
	my $loop = Linux::Event->new;
	local $SIG{ALRM} = sub { die "alarm\n" };
	alarm 1;
	my $t0 = time;
	ok(!eval { $loop->run; 1 }, 'run interrupted');
	alarm 0;
	is($@, "alarm\n", 'by the handler\'s die');
	cmp_ok(time - $t0, '<', 4, 'promptly');
	is($loop->is_running, 0, 'not running');
	my $hits = 0;
	local $SIG{USR2} = sub { $hits++ };
	$loop->after(0.3, sub ($l) { $l->stop });
	$loop->after(0.05, sub ($l) { kill 'USR2', $$ });
	$loop->run;
	is($hits, 1, 'a handler that returns: run goes on');
};

done_testing;
