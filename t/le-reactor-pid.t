# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->pid: pidfd exit notification, raw status, reap, one shot.
use v5.36;
use Test::More;
use POSIX qw(WIFEXITED WEXITSTATUS WIFSIGNALED WTERMSIG);
use Time::HiRes qw(time);

use Linux::Event;
use Linux::Event::Pid;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

# A child that exits with $code once we write a byte to it.
sub child ($code) {
	pipe(my $r, my $w) or die;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		close $w;
		sysread($r, my $b, 1);
		POSIX::_exit($code);
	}
	close $r;
	return ($pid, $w);
}

my $loop = Linux::Event->new;

subtest 'arguments' => sub {
	my $cb = sub ($l, $p, $s, $d) { };
	dies_like(sub { $loop->pid(undef, $cb) }, qr/^pid is required/, 'pid required');
	dies_like(sub { $loop->pid(1, undef) }, qr/^callback is required/, 'callback');
	dies_like(sub { $loop->pid(1, 'x') }, qr/^callback is required/, 'callback code');
	dies_like(sub { $loop->pid(1, $cb, zap => 1, bar => 2) }, qr/^unknown opts: bar, zap/, 'unknown opts');
	dies_like(sub { $loop->pid(0, $cb) }, qr/^pid must be a positive integer/, 'pid 0');
	dies_like(sub { $loop->pid(-5, $cb) }, qr/^pid must be a positive integer/, 'pid -5');
	dies_like(sub { $loop->pid('abc', $cb) }, qr/^pid must be a positive integer/, 'pid abc');
	dies_like(sub { Linux::Event::Pid->new }, qr/^loop is required/, 'new loop');
	dies_like(sub { Linux::Event::Pid->new(loop => $loop, q => 1) }, qr/^unknown args: q/, 'new args');
};

subtest 'exit status, arguments, one shot' => sub {
	my ($pid, $go) = child(42);
	my @got;
	my $sub = $loop->pid($pid, sub ($l, $p, $status, $data) { @got = ($l, $p, $status, $data); $l->stop },
		data => 'D');
	is($sub->is_active, 1, 'active');
	syswrite($go, 'x');
	$loop->run;
	is(scalar @got, 4, 'four arguments');
	is($got[0], $loop, 'the facade');
	is($got[1], $pid, 'the pid');
	ok(WIFEXITED($got[2]), 'raw wait status: exited');
	is(WEXITSTATUS($got[2]), 42, 'exit code');
	is($got[3], 'D', 'data');
	is($sub->is_active, 0, 'one shot: inactive after');
	is($sub->cancel, 0, 'cancel after firing: 0');
	is(waitpid($pid, POSIX::WNOHANG()), -1, 'reaped by the loop');
};

subtest 'killed by a signal' => sub {
	my ($pid, $go) = child(0);
	my $st;
	$loop->pid($pid, sub ($l, $p, $status, $data) { $st = $status; $l->stop });
	kill 'TERM', $pid;
	$loop->run;
	ok(WIFSIGNALED($st), 'signalled');
	is(WTERMSIG($st), POSIX::SIGTERM(), 'by TERM');
};

subtest 'cancel before exit' => sub {
	my ($pid, $go) = child(3);
	my $called = 0;
	my $sub = $loop->pid($pid, sub ($l, $p, $s, $d) { $called++ });
	is($sub->cancel, 1, 'cancel: 1');
	is($sub->cancel, 0, 'again: 0');
	syswrite($go, 'x');
	waitpid($pid, 0);
	is($? >> 8, 3, 'the child was left for us');
	my $t0 = time;
	$loop->run_once(0.05) while time - $t0 < 0.2;
	is($called, 0, 'no callback');
};

subtest 'reap => 0' => sub {
	my ($pid, $go) = child(7);
	my @got;
	$loop->pid($pid, sub ($l, $p, $s, $d) { @got = ($p, $s); $l->stop }, reap => 0);
	syswrite($go, 'x');
	$loop->run;
	is($got[0], $pid, 'pid');
	is($got[1], undef, 'status undef without reaping');
	is(waitpid($pid, 0), $pid, 'still ours to reap');
	is($? >> 8, 7, 'with its status');
};

subtest 'replacement per pid' => sub {
	my ($pid, $go) = child(1);
	my @who;
	my $first = $loop->pid($pid, sub ($l, $p, $s, $d) { push @who, 'first' });
	my $second = $loop->pid($pid, sub ($l, $p, $s, $d) { push @who, 'second'; $l->stop });
	is($first->is_active, 0, 'the first was replaced');
	syswrite($go, 'x');
	$loop->run;
	is_deeply(\@who, ['second'], 'only the replacement fired');
	is($first->cancel, 0, 'the replaced subscription cancels as 0');
};

subtest 'a status that cannot be collected does not die in dispatch' => sub {
	my ($pid, $go) = child(9);
	my @got;
	$loop->pid($pid, sub ($l, $p, $s, $d) { @got = ($p, $s); $l->stop });
	syswrite($go, 'x');
	is(waitpid($pid, 0), $pid, 'reaped behind the loop\'s back');
	ok(eval { $loop->run; 1 }, 'run did not die') or diag $@;
	is($got[0], $pid, 'the callback ran');
	is($got[1], undef, 'with an undef status');
};

subtest 'no such process' => sub {
	my ($pid, $go) = child(0);
	syswrite($go, 'x');
	waitpid($pid, 0);
	dies_like(sub { $loop->pid($pid, sub ($l, $p, $s, $d) { }) }, qr/^pid\(\): cannot watch pid $pid/, 'gone');
};

done_testing;
