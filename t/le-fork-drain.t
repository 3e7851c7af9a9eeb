# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: drain-first on_exit, and the bound a timeout puts
# on it when a grandchild keeps the output pipe open.
use v5.36;
use Test::More;
use Time::HiRes qw(time);

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

# In a child sub before exec: the read end of a gate pipe as fd 3, where
# the shell's background job can read it (its stdin is /dev/null).
sub gate_on_fd3 ($r) {
	require POSIX;
	POSIX::dup2(fileno($r), 3) // die "dup2: $!";
}

# A lot of output, then exit: every byte comes before on_exit.
{
	my ($out, $err, $at_exit, $exit) = (0, 0);
	my $exited_first = 0;
	$loop->fork(
		cmd => [ $^X, '-e', '$| = 1; print "o" x 3_000_000; print STDERR "e" x 200_000; exit 4' ],
		on_stdout => sub ($c, $b) { $out += length $b; $exited_first ||= !$c->is_running },
		on_stderr => sub ($c, $b) { $err += length $b },
		on_exit => sub ($c, $e) { $at_exit = [ $out, $err ]; $exit = $e; $loop->stop });
	$loop->run;
	is_deeply($at_exit, [ 3_000_000, 200_000 ], 'all output delivered before on_exit');
	is($exit->code, 4, 'then the status');
}

# A grandchild holds stdout after the child exited: on_exit waits for
# its EOF, and its late output comes first.  The parent opens the gate.
{
	pipe(my $gate_r, my $gate_w) or die;
	my ($out, $exit, $seen_exit_before) = ('');
	my $child = $loop->fork(
		child => sub {
			close $gate_w;
			if (!fork) { my $x = <$gate_r>; print "late\n"; exit 0 }
			print "early\n";
			exit 0;
		},
		on_stdout => sub ($c, $b) {
			$out .= $b;
			$loop->stop if $b =~ /early/;
		},
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	close $gate_r;
	$loop->run;
	# Until the child's exit has been seen.
	$loop->run_once(0.05) while $child->is_running;
	is($child->is_running, 0, 'the child exited');
	ok(!$exit, 'no on_exit while the grandchild holds the pipe');
	print $gate_w "go\n";
	close $gate_w;
	$loop->run;
	is($out, "early\nlate\n", 'the late output arrived, before on_exit');
	is($exit->code, 0, 'on_exit after EOF');
}

# The issue's case: a child whose grandchild keeps the output pipe open
# past a timeout.  on_exit comes at the timeout, not when the grandchild
# lets go.
{
	pipe(my $gate_r, my $gate_w) or die;
	my ($out, $exit, $t_exit) = ('');
	my $t0 = time;
	my $child = $loop->fork(
		child => sub {
			gate_on_fd3($gate_r);
			exec 'sh', '-c', '(read x <&3; echo late) & echo early';
		},
		timeout => 0.3,
		on_stdout => sub ($c, $b) { $out .= $b },
		on_exit => sub ($c, $e) { $exit = $e; $t_exit = time - $t0; $loop->stop });
	close $gate_r;
	$loop->after(5, sub { $loop->stop });
	$loop->run;
	ok($exit, 'on_exit came');
	cmp_ok($t_exit, '<', 3, 'bounded by the timeout, not by the grandchild');
	cmp_ok($t_exit, '>=', 0.25, 'and not before the timeout');
	is($child->timed_out, 1, 'the child counts as timed out');
	is($exit->code, 0, 'the child itself had exited 0');
	is($out, "early\n", 'output up to the cut');
	close $gate_w;   # the grandchild reads EOF, echoes into a closed pipe, dies
}

# The same with the child still running at the timeout: TERM, then the
# pipes are cut once its exit is seen.
{
	pipe(my $gate_r, my $gate_w) or die;
	my ($exit, $timeouts) = (undef, 0);
	my $t0 = time;
	$loop->fork(
		child => sub {
			gate_on_fd3($gate_r);
			exec 'sh', '-c', '(read x <&3; echo late) & echo early; read y <&3';
		},
		timeout => 0.2,
		on_timeout => sub ($c) { $timeouts++ },
		on_stdout => sub {},
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	close $gate_r;
	$loop->after(5, sub { $loop->stop });
	$loop->run;
	is($timeouts, 1, 'on_timeout once');
	is($exit && $exit->signal, 15, 'the child died of the TERM');
	cmp_ok(time - $t0, '<', 3, 'on_exit bounded');
	close $gate_w;
}

# process_group: the TERM reaches the grandchild too, which releases the
# pipe the ordinary way.
{
	pipe(my $gate_r, my $gate_w) or die;
	my $exit;
	$loop->fork(
		child => sub {
			gate_on_fd3($gate_r);
			exec 'sh', '-c', '(read x <&3; echo late) & echo early; wait';
		},
		process_group => 1,
		timeout => 0.2,
		on_stdout => sub {},
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	close $gate_r;
	$loop->after(5, sub { $loop->stop });
	$loop->run;
	is($exit && $exit->signal, 15, 'TERM');
	# Nobody holds the gate's read end any more: writing to it fails.
	local $SIG{PIPE} = 'IGNORE';
	my $ok;
	for (1 .. 100) {
		$ok = syswrite($gate_w, "x");
		last if !$ok;
		select(undef, undef, undef, 0.01);
	}
	ok(!$ok && $!{EPIPE}, 'the grandchild died with the group');
}

done_testing;
