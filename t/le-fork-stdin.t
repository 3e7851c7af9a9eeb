# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: stdin streaming, write-behind, EPIPE without
# SIGPIPE and without a busy loop.
use v5.36;
use Test::More;
use Time::HiRes qw(time);

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

# 1 MiB in 128 KiB pieces before run, then close_stdin.
{
	my ($out, $exit) = ('');
	my $child = $loop->fork(
		cmd => [ $^X, '-e', 'binmode STDIN; local $/; my $d = <STDIN>; print length $d' ],
		stdin_pipe => 1,
		on_stdout => sub ($c, $b) { $out .= $b },
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	my $sync = 0;
	$sync += $child->stdin_write("x" x 131072) for 1 .. 8;
	cmp_ok($sync, '<', 1048576, 'a pipe does not take a MiB at once: the rest is queued');
	is($child->stdin_queued, 1048576 - $sync, 'stdin_queued says how much');
	is($child->close_stdin, 1, 'close_stdin returns 1');
	is($child->stdin_write("more"), 0, 'nothing more once closing');
	$loop->run;
	is($out, 1048576, 'the child read every byte, then EOF');
	is($exit->code, 0, 'exit 0');
	is($child->stdin_write("late"), 0, 'stdin_write after the end is 0');
}

# stdin data is written after on_start's, and closes the pipe unless
# stdin_pipe; stdin => '' makes a pipe that closes at once.
{
	my ($out, $exit) = ('');
	$loop->fork(
		cmd => [ 'cat' ],
		stdin => "second\n",
		on_start => sub ($c) { $c->stdin_write("first\n") },
		on_stdout => sub ($c, $b) { $out .= $b },
		on_exit => sub ($c, $e) { $loop->stop });
	$loop->run;
	is($out, "first\nsecond\n", 'on_start data, then the stdin option');
	$out = '';
	$loop->fork(cmd => [ 'cat' ], stdin => '', on_stdout => sub ($c, $b) { $out .= $b },
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	$loop->run;
	is($out, '', "stdin => '': EOF at once");
	is($exit->code, 0, 'cat ended');
}

# Without stdin or stdin_pipe there is no pipe.
{
	my $child = $loop->fork(cmd => [ 'true' ], on_exit => sub { $loop->stop });
	is($child->stdin_write("x"), 0, 'no stdin pipe: stdin_write is 0');
	$loop->run;
}

# The child closes its stdin and keeps running: the queued data meets
# EPIPE, is dropped once (on_stdin_error), and the loop stays idle: no
# SIGPIPE death, no spinning on the widowed pipe.
{
	pipe(my $gate_r, my $gate_w) or die;
	my (@errs, $exit);
	my $ready = 0;
	my $child = $loop->fork(
		child => sub {
			close STDIN;
			$| = 1;
			print "closed\n";
			my $x = <$gate_r>;
			exit 0;
		},
		stdin_pipe => 1,
		on_stdout => sub { $ready = 1; $loop->stop },
		on_stdin_error => sub ($c, $errno) { push @errs, $errno },
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	close $gate_r;
	$loop->run;
	ok($ready, 'the child closed its stdin');
	# Nothing queued yet: the widowed pipe must not wake the loop.
	my ($ua, $sa) = times;
	$loop->after(0.3, sub { $loop->stop });
	$loop->run;
	my ($ub, $sb) = times;
	cmp_ok(($ub - $ua) + ($sb - $sa), '<', 0.1, 'a widowed, empty stdin pipe costs nothing');
	my $sync = $child->stdin_write("y" x (1 << 20));
	is($sync, 0, 'nothing written');
	require POSIX;
	is_deeply(\@errs, [ POSIX::EPIPE() ], 'on_stdin_error once, with EPIPE');
	is($child->stdin_write("again"), 0, 'the pipe is gone');
	my ($u0, $s0) = times;
	my $t0 = time;
	my $timer = $loop->after(0.3, sub { $loop->stop });
	$loop->run;
	my ($u1, $s1) = times;
	cmp_ok(($u1 - $u0) + ($s1 - $s0), '<', 0.1, 'idle while the child lives on (no busy loop)');
	print $gate_w "go\n";
	close $gate_w;
	$loop->run;
	is($exit->code, 0, 'the child finished normally');
	is(scalar @errs, 1, 'still one error');
}

# The seed's regression: a lot queued for a child killed by a timeout.
{
	my ($timed, $exit) = (0);
	my $child = $loop->fork(
		stdin_pipe => 1,
		timeout => 0.05,
		on_timeout => sub ($c) { $timed++ },
		child => sub {
			$SIG{TERM} = sub { exit 0 };
			sysread(STDIN, my $buf, 1);
			sleep 5;
			exit 0;
		},
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	$child->stdin_write("X" x 131072) for 1 .. 80;
	$child->close_stdin;
	$loop->after(3, sub { $loop->stop });
	$loop->run;
	is($timed, 1, 'timeout fired');
	is($exit && $exit->code, 0, 'the child exited 0 from its TERM handler');
}

done_testing;
