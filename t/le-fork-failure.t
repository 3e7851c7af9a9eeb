# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: bad input croaks before anything starts; failures in
# the child exit 127 with the diagnostic on its stderr.
use v5.36;
use Test::More;

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;
my $fork = Linux::Event::Fork->new($loop);

sub fds { opendir(my $d, "/proc/self/fd") or die; return scalar grep { !/^\./ } readdir $d }

sub croaks ($code, $re, $name) {
	ok(!eval { $code->(); 1 }, "$name: croaks");
	like($@, $re, "$name: message");
}

# Constructor and helper methods.
croaks(sub { Linux::Event::Fork->new }, qr/^loop is required at /, 'new without loop');
croaks(sub { Linux::Event::Fork->new('str') }, qr/^loop is required/, 'new with a string');
croaks(sub { Linux::Event::Fork->new($loop, max_children => -1) },
	qr/^max_children must be a non-negative integer/, 'negative max_children');
croaks(sub { Linux::Event::Fork->new($loop, max_children => "3\n") },
	qr/^max_children must be a non-negative integer/, 'a trailing newline is no integer');
croaks(sub { Linux::Event::Fork->new($loop, zz => 1, aa => 2) },
	qr/^unknown args: aa, zz at /, 'unknown args, sorted');
croaks(sub { $fork->max_children('x') }, qr/^max_children must be a non-negative integer/,
	'max_children setter checks');
croaks(sub { $fork->drain }, qr/^on_done is required/, 'drain without on_done');
croaks(sub { $fork->drain(on_done => 1) }, qr/^on_done must be a coderef/, 'drain on_done type');
croaks(sub { $fork->drain(on_done => sub {}, x => 1) }, qr/^unknown args: x/, 'drain unknown');
croaks(sub { $fork->cancel_queued(1) }, qr/^cancel_queued predicate must be a coderef/,
	'cancel_queued predicate');

# Spawn specs, in the seed's order.
my $before = fds();
my @bad = (
	[ { cmd => ['true'], child => sub {} }, qr/^provide exactly one of cmd or child/ ],
	[ {}, qr/^cmd or child is required/ ],
	[ { cmd => undef }, qr/^cmd or child is required/ ],
	[ { cmd => 'true' }, qr/^cmd must be an arrayref/ ],
	[ { cmd => [] }, qr/^cmd must be an arrayref/ ],
	[ { child => 'x' }, qr/^child must be a coderef/ ],
	(map { [ { cmd => ['true'], $_ => 'x' }, qr/^$_ must be a coderef/ ] }
		qw(on_stdout on_stderr on_exit on_timeout on_start on_stdin_error)),
	[ { cmd => ['true'], timeout => [] }, qr/^timeout must be numeric seconds/ ],
	[ { cmd => ['true'], timeout => 'abc' }, qr/^timeout must be numeric seconds/ ],
	[ { cmd => ['true'], timeout_kill => 'abc' }, qr/^timeout_kill must be numeric seconds/ ],
	[ { cmd => ['true'], cwd => [] }, qr/^cwd must be a string/ ],
	[ { cmd => ['true'], umask => [] }, qr/^umask must be an integer/ ],
	[ { cmd => ['true'], umask => '0o22' }, qr/^umask must be an integer/ ],
	[ { cmd => ['true'], umask => 01000 }, qr/^umask out of range: 512/ ],
	[ { cmd => ['true'], env => [] }, qr/^env must be a hashref/ ],
	[ { cmd => ['true'], pipe_size => 0 }, qr/^pipe_size must be a positive integer/ ],
	[ { cmd => ['true'], pipe_size => 'big' }, qr/^pipe_size must be a positive integer/ ],
	[ { cmd => ['true'], stdout_fh => 1, on_stdout => sub {} },
		qr/^stdout_fh cannot be combined with on_stdout or capture_stdout/ ],
	[ { cmd => ['true'], stderr_fh => 1, capture_stderr => 1 },
		qr/^stderr_fh cannot be combined with on_stderr or capture_stderr/ ],
	[ { cmd => ['true'], zeta => 1, alpha => 2 }, qr/^unknown args: alpha, zeta at / ],
	# Type checks come before the unknown-key check.
	[ { cmd => ['true'], on_exit => 1, bogus => 1 }, qr/^on_exit must be a coderef/ ],
);
for my $case (@bad) {
	my ($spec, $re) = @$case;
	croaks(sub { $fork->spawn(%$spec) }, $re, "spawn " . join(',', sort keys %$spec));
}
is($fork->running, 0, 'nothing started');
is(fds(), $before, 'no fd left behind by a refused spawn');

# Failures in the child: exit 127 and one diagnostic line.
sub failing (%spec) {
	my ($err, $exit) = ('');
	$fork->spawn(%spec,
		on_stderr => sub ($c, $b) { $err .= $b },
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	$loop->run;
	return ($err, $exit);
}

{
	my ($err, $exit) = failing(cmd => [ 'evl-no-such-command' ]);
	is($exit->code, 127, 'missing command: exit 127');
	is($err, "Linux::Event::Fork child error: exec(evl-no-such-command): "
		. "No such file or directory\n", 'missing command: diagnostic');
}
{
	my ($err, $exit) = failing(cmd => [ '/etc/passwd' ]);
	is($exit->code, 127, 'not executable: exit 127');
	like($err, qr/^Linux::Event::Fork child error: exec\(\/etc\/passwd\): Permission denied$/,
		'not executable: EACCES');
}
{
	my ($err, $exit) = failing(cmd => [ 'true' ], cwd => '/nonexistent-evl');
	is($exit->code, 127, 'impossible cwd: exit 127');
	is($err, "Linux::Event::Fork child error: chdir(/nonexistent-evl): "
		. "No such file or directory\n", 'impossible cwd: diagnostic');
}
{
	my ($err, $exit) = failing(child => sub { die "boom from child\n" });
	is($exit->code, 127, 'child dies: exit 127');
	is($err, "Linux::Event::Fork child error: boom from child\n", 'child dies: diagnostic');
}
{
	my ($err, $exit) = failing(child => sub { die "no newline" });
	like($err, qr/^Linux::Event::Fork child error: no newline at .* line \d+\.\n\z/,
		'a die without newline keeps its location, one newline');
}
{
	my ($err, $exit) = failing(child => sub { 42 });
	is($exit->code, 127, 'child returns: exit 127');
	is($err, "Linux::Event::Fork child error: child callback returned\n",
		'child returns: diagnostic');
}
{
	my ($err, $exit) = failing(child => sub { exit 0 }, cwd => '/nonexistent-evl');
	is($exit->code, 127, 'child sub with impossible cwd: exit 127, the sub never runs');
	like($err, qr/chdir\(\/nonexistent-evl\)/, 'diagnostic');
}
is($fork->running, 0, 'all finished');
is(fds(), $before, 'no fd left behind');

done_testing;
