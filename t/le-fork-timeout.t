# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: timeout, on_timeout, TERM then KILL; kill; cancel.
use v5.36;
use Test::More;
use Time::HiRes qw(time);

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

sub run_one (%spec) {
	my $exit;
	my $child = $loop->fork(%spec, on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	my $guard = $loop->after(5, sub { $loop->stop });
	$loop->run;
	$loop->cancel($guard);
	return ($exit, $child);
}

# TERM at the timeout; the child's handler exits 0.
{
	my $timed = 0;
	my ($exit) = run_one(timeout => 0.05, on_timeout => sub ($c) { $timed++ },
		child => sub { $SIG{TERM} = sub { exit 0 }; sleep 5; exit 1 });
	is($timed, 1, 'on_timeout once');
	is($exit->code, 0, 'TERM handler ran');
}

# A fast child never times out.
{
	my $timed = 0;
	my ($exit, $child) = run_one(timeout => 0.3, on_timeout => sub { $timed++ }, cmd => [ "true" ]);
	is($timed, 0, 'no timeout for a fast child');
	is($child->timed_out, 0, 'timed_out 0');
	# Its timer is gone with it: nothing fires later.
	my $t = $loop->after(0.4, sub { $loop->stop });
	$loop->run;
	is($timed, 0, 'nothing after on_exit');
}

# TERM ignored: KILL after timeout_kill.
{
	my ($exit) = run_one(timeout => 0.05, timeout_kill => 0.05,
		child => sub { $SIG{TERM} = 'IGNORE'; sleep 5; exit 0 });
	is($exit->signaled, 1, 'signaled');
	is($exit->signal, 9, 'SIGKILL');
}

# An exception in on_timeout leaves run, and the TERM is sent anyway (the
# seed skipped it, and the escalation, forever).
{
	my $exit;
	$loop->fork(timeout => 0.05, on_timeout => sub { die "timeout cb died\n" },
		cmd => [ 'sleep', '5' ],
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	ok(!eval { $loop->run; 1 }, 'run dies');
	is($@, "timeout cb died\n", 'with on_timeout\'s exception');
	my $g = $loop->after(5, sub { $loop->stop });
	$loop->run;
	is($exit && $exit->signal, 15, 'the child got its TERM regardless');
}

# kill: names, SIG prefix, numbers; 0 after the reap.
{
	for my $sig ('TERM', 'SIGINT', 'HUP', 9) {
		my $exit;
		my $child = $loop->fork(cmd => [ 'sleep', '5' ],
			on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
		is($child->kill($sig), 1, "kill($sig) returns 1");
		$loop->run;
		my %num = (TERM => 15, SIGINT => 2, HUP => 1, 9 => 9);
		is($exit->signal, $num{$sig}, "died of $sig");
		is($child->kill(0), 0, 'kill(0) after the reap is 0');
		is($child->kill, 0, 'kill() after the reap is 0');
	}
	my $child = $loop->fork(cmd => [ 'sleep', '5' ], on_exit => sub { $loop->stop });
	is($child->kill('NOSUCHSIG'), 0, 'unknown signal name: 0');
	is($child->kill(0), 1, 'kill(0) probes a live child');
	is($child->kill(-15), 0, 'no process group of its own: 0');
	is($child->kill, 1, 'default TERM');
	$loop->run;
}

# kill(-SIG) with process_group reaches the group.
{
	my $exit;
	my $child = $loop->fork(cmd => [ 'sh', '-c', 'sleep 5 & wait' ], process_group => 1,
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	is($child->kill('-TERM'), 1, 'kill(-TERM) to the group');
	$loop->run;
	is($exit->signal, 15, 'the group leader died of it');
}

# cancel: SIGKILL and reap now, no on_exit, idempotent.
{
	my $called = 0;
	my $child = $loop->fork(cmd => [ 'sleep', '5' ], on_stdout => sub {},
		on_exit => sub { $called++ });
	my $pid = $child->pid;
	is($child->cancel, 1, 'cancel a running child');
	is($child->cancel, 0, 'a second cancel does nothing');
	is($child->is_running, 0, 'not running');
	is($child->exit->signal, 9, 'exit says SIGKILL');
	is(waitpid($pid, 1), -1, 'reaped: no zombie');
	my $t = $loop->after(0.1, sub { $loop->stop });
	$loop->run;
	is($called, 0, 'no on_exit after cancel');
}

done_testing;
