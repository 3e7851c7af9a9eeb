# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: loading, classes, output capture, the Exit object,
# child callbacks, and the loop methods.
use v5.36;
use Test::More;
use File::Temp qw(tempfile);

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

ok(Linux::Event::Loop->can('fork'), '$loop->fork installed');
ok(Linux::Event::Loop->can('fork_helper'), '$loop->fork_helper installed');
ok(defined &Linux::Event::Fork::Exit::new, 'Exit loaded through Child');
ok(defined &Linux::Event::Fork::Request::cancel, 'Request loaded');

# Runs one child to its on_exit; returns (stdout, stderr, exit, child).
sub run_child (%spec) {
	my ($out, $err, $exit) = ('', '', undef);
	my $child = $loop->fork(
		on_stdout => sub ($c, $b) { $out .= $b },
		on_stderr => sub ($c, $b) { $err .= $b },
		on_exit   => sub ($c, $e) { $exit = $e; $loop->stop },
		%spec,
	);
	$loop->run;
	return ($out, $err, $exit, $child);
}

{
	my ($out, $err, $exit, $child) = run_child(
		cmd => [ $^X, '-e', 'print "out\n"; print STDERR "err\n"; exit 7' ]);
	is(ref $child, 'Linux::Event::Fork::Child', 'spawn returns a Child');
	is(ref $exit, 'Linux::Event::Fork::Exit', 'on_exit gets an Exit');
	is($out, "out\n", 'stdout captured');
	is($err, "err\n", 'stderr captured');
	is($exit->code, 7, 'exit code');
	is($exit->exited, 1, 'exited is 1');
	is($exit->signaled, 0, 'signaled is numeric 0');
	is($exit->signal, 0, 'signal 0 for a normal exit');
	is($exit->coredump, 0, 'no core');
	is($exit->status, 7 << 8, 'raw status');
	is($exit->pid, $child->pid, 'Exit pid is the child pid');
	is($child->is_running, 0, 'not running after exit');
	is($child->exit, $exit, 'child->exit is the same Exit');
	is($child->loop, $loop, 'child->loop');
	is($child->kill(0), 0, 'kill after the reap returns 0');
}

{
	my ($out, $err, $exit) = run_child(cmd => [ $^X, '-e', 'kill KILL => $$' ]);
	is($exit->signaled, 1, 'killed by a signal');
	is($exit->signal, 9, 'signal 9');
	is($exit->code, 0, 'code 0 when signaled');
	is($exit->exited, 0, 'exited 0 when signaled');
}

# PATH lookup, no shell: a metacharacter is an argument.
{
	my ($out) = run_child(cmd => [ 'echo', 'a;b', '$HOME' ]);
	is($out, "a;b \$HOME\n", 'cmd found on PATH and run without a shell');
}

# child => sub: exit N, and exec from the sub.
{
	my ($out, $err, $exit) = run_child(child => sub { print "in child $$\n"; exit 5 });
	like($out, qr/^in child \d+$/, 'child sub output captured');
	is($exit->code, 5, 'exit N from the child sub');
	my ($pid) = $out =~ /(\d+)/;
	isnt($pid, $$, '$$ in the child is the child');
	($out, $err, $exit) = run_child(child => sub { exec $^X, '-e', 'print "exec ok"' });
	is($out, 'exec ok', 'exec from the child sub');
	is($exit->code, 0, 'exit 0');
}

# Buffered parent output is not written twice by a child sub.
{
	my ($fh, $path) = tempfile(UNLINK => 1);
	select((select($fh), $| = 0)[0]);
	print $fh "once\n";
	run_child(child => sub { exit 0 });
	close $fh;
	open my $in, '<', $path or die;
	local $/;
	is(<$in>, "once\n", 'pending output flushed before the fork, not duplicated');
}

# capture_stdout => 0 with on_stdout: the child writes to our stdout.
{
	my ($fh, $path) = tempfile(UNLINK => 1);
	open my $save, '>&', \*STDOUT or die;
	open STDOUT, '>&', $fh or die;
	my $called = 0;
	my (undef, undef, $exit) = run_child(
		cmd => [ $^X, '-e', 'print "to parent stdout\n"' ],
		capture_stdout => 0,
		on_stdout => sub { $called++ });
	open STDOUT, '>&', $save or die;
	is($called, 0, 'on_stdout never called without capture');
	open my $in, '<', $path or die;
	is(scalar <$in>, "to parent stdout\n", 'the child inherited stdout');
}

# capture_stdout => 1 without a callback: drained, so a big writer ends.
{
	my $exit;
	$loop->fork(
		cmd => [ $^X, '-e', 'print "x" x 1_000_000; exit 3' ],
		capture_stdout => 1,
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	$loop->run;
	is($exit->code, 3, 'uncallbacked capture drained to the end');
}

# An exception in on_stdout leaves run; the child still finishes.
{
	my $exit;
	$loop->fork(
		cmd => [ $^X, '-e', 'print "x"' ],
		on_stdout => sub { die "boom in on_stdout\n" },
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	ok(!eval { $loop->run; 1 }, 'run dies');
	is($@, "boom in on_stdout\n", 'with the callback\'s exception');
	$loop->run;
	is($exit->code, 0, 'the child still reports its exit');
}

# on_exit exceptions become warnings.
{
	my @w;
	local $SIG{__WARN__} = sub { push @w, @_ };
	$loop->fork(cmd => [ 'true' ], on_exit => sub { $loop->stop; die "oops\n" });
	$loop->run;
	is(scalar @w, 1, 'one warning');
	like($w[0], qr/on_exit callback died: oops/, 'naming the callback');
}

# stdout_fh: the pipe as an :evloop:evline handle, read line by line
# from a watcher; the last line has no newline.
{
	my (@lines, $exit);
	my $child = $loop->fork(
		cmd => [ $^X, '-e', '$| = 1; print "a\n"; select undef, undef, undef, 0.05; print "b\nc"' ],
		stdout_fh => 1,
		on_exit => sub ($c, $e) { $exit = $e });
	my $fh = $child->stdout_fh;
	ok($fh, 'stdout_fh is a handle');
	is_deeply([ PerlIO::get_layers($fh) ], [ qw(unix evloop evline) ], 'with :evloop:evline');
	$loop->watch($fh, read => sub ($loop, $fh, $w) {
		while (defined(my $line = <$fh>)) { push @lines, $line }
		if (eof $fh) { $w->cancel; close $fh; $loop->stop }
	});
	$loop->run;
	$loop->run_once(0.1) while !$exit;
	is_deeply(\@lines, [ "a\n", "b\n", "c" ], 'whole lines, then the tail');
	is($exit->code, 0, 'exit');
	is($child->stderr_fh, undef, 'no stderr_fh unless asked');
}

# fork_helper is the loop's own helper, the one $loop->fork uses.
{
	my $l2 = Linux::Event->new;
	my $h1 = $l2->fork_helper(max_children => 1);
	is(ref $h1, 'Linux::Event::Fork', 'fork_helper returns a helper');
	is($l2->fork_helper, $h1, 'the same one on every call');
	is($h1->max_children, 1, 'made with its args');
	is($h1->loop, $l2, 'on this loop');
	my @h = map { $l2->fork(cmd => [ 'true' ], on_exit => sub {}) } 1 .. 2;
	is(ref $h[1], 'Linux::Event::Fork::Request', '$loop->fork goes through it (queued)');
	is($h1->queued, 1, 'its queue');
	is($l2->fork_helper(max_children => 2), $h1, 'args on a later call set the limit');
	is($h1->queued, 0, 'which starts the queued one');
	ok(!eval { $l2->fork_helper(bogus => 1); 1 }, 'unknown args croak');
	$h1->drain(on_done => sub { $l2->stop });
	$l2->run;
	isnt(Linux::Event::Fork->new($l2), $h1, 'new makes a helper of its own');
}

# tag and data.
{
	my (undef, undef, undef, $child) = run_child(cmd => [ 'true' ], tag => 'T', data => { k => 1 });
	is($child->tag, 'T', 'tag');
	is($child->data->{k}, 1, 'data');
}

# On a proactor loop (io_uring) the pipes are read with completions.  No
# loop: uring_loop recorded a skip (ENOSYS, EPERM) or a failure (the rest).
SKIP: {
	require EvlTest;
	my $px = EvlTest::uring_loop(sub { Linux::Event->new(model => 'proactor') })
		or skip 'no io_uring loop', 4;
	my ($out, $exit) = ('');
	$px->fork(cmd => [ 'sh', '-c', 'head -c 300000 /dev/zero; cat' ], stdin => "in",
		on_stdout => sub ($c, $b) { $out .= $b },
		on_exit => sub ($c, $e) { $exit = $e; $px->stop });
	$px->run;
	is(length $out, 300002, 'proactor: all output');
	is(substr($out, -2), 'in', 'proactor: stdin went through');
	is($exit->code, 0, 'proactor: exit');
	my $child = $px->fork(cmd => [ 'sleep', '5' ], on_stdout => sub {}, timeout => 0.05,
		on_exit => sub ($c, $e) { $exit = $e; $px->stop });
	$px->run;
	is($exit->signal, 15, 'proactor: timeout');
}

done_testing;
