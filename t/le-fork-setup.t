# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: what the child gets: cwd, umask, env, clear_env,
# stdin, signal state, and no stray descriptors.
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use Cwd qw(realpath);

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

sub run_out (%spec) {
	my ($out, $exit) = ('');
	$loop->fork(%spec,
		on_stdout => sub ($c, $b) { $out .= $b },
		on_exit => sub ($c, $e) { $exit = $e; $loop->stop });
	$loop->run;
	is($exit->code, 0, 'child exit 0') or diag $out;
	return $out;
}

my $report = q{
	use Cwd qw(getcwd);
	my $m = umask; printf "cwd=%s umask=%04o foo=%s path=%d\n",
		getcwd(), $m, $ENV{FOO} // 'undef', defined $ENV{PATH} ? 1 : 0;
};
my $dir = realpath(tempdir(CLEANUP => 1));
local $ENV{EVL_KEEP} = 'kept';

# A parent umask of 0 (the seed failed every umask spawn then).
my $old = umask 0;
for my $mode (qw(cmd child)) {
	my @run = $mode eq 'cmd' ? (cmd => [ $^X, '-e', $report ])
	                         : (child => sub { eval $report; die $@ if $@; exit 0 });
	is(run_out(@run, cwd => $dir, umask => 027, env => { FOO => 'bar', UNDEF => undef }),
		"cwd=$dir umask=0027 foo=bar path=1\n", "$mode: cwd, umask, env overlay");
	is(run_out(@run, clear_env => 1, env => { FOO => 'z' }),
		"cwd=" . realpath('.') . sprintf(" umask=%04o", 0) . " foo=z path=0\n",
		"$mode: clear_env then env");
	my $env_dump = $mode eq 'cmd'
		? [ cmd => [ $^X, '-e', 'print join ",", map "$_=$ENV{$_}", sort keys %ENV' ] ]
		: [ child => sub { print join ",", map "$_=$ENV{$_}", sort keys %ENV; exit 0 } ];
	is(run_out(@$env_dump, clear_env => 1, env => { A => 1, B => undef }), "A=1,B=",
		"$mode: undef env values are empty strings, nothing else is there");
	like(run_out(@$env_dump), qr/(?:^|,)EVL_KEEP=kept(?:,|$)/, "$mode: environment inherited");
}
umask $old;
is($ENV{FOO}, undef, 'the parent %ENV is untouched');

# stdin: /dev/null by default, the parent's on request.
is(run_out(cmd => [ $^X, '-e', 'my $l = <STDIN>; print defined $l ? "line" : "eof"' ]), 'eof',
	'stdin is /dev/null by default');
{
	pipe(my $r, my $w) or die;
	open my $save, '<&', \*STDIN or die;
	open STDIN, '<&', $r or die;
	print $w "from parent\n";
	close $w;
	my $out = run_out(cmd => [ $^X, '-e', 'print scalar <STDIN>' ], inherit_stdin => 1);
	open STDIN, '<&', $save or die;
	is($out, "from parent\n", 'inherit_stdin gives the parent\'s stdin');
}

# Signals: the parent blocks TERM and ignores PIPE and HUP; the child of
# a cmd starts clean.  cat installs no handler, so its status shows what
# it inherited.
{
	require POSIX;
	my $set = POSIX::SigSet->new(POSIX::SIGTERM());
	my $oldset = POSIX::SigSet->new;
	POSIX::sigprocmask(POSIX::SIG_BLOCK(), $set, $oldset) or die;
	local $SIG{PIPE} = 'IGNORE';
	local $SIG{HUP} = 'IGNORE';
	my $st = run_out(cmd => [ 'cat', '/proc/self/status' ]);
	my %f = $st =~ /^(Sig\w+):\s*([0-9a-f]+)$/mg;
	is($f{SigBlk}, '0' x 16, 'cmd: no signal blocked');
	is($f{SigIgn}, '0' x 16, 'cmd: no signal ignored');
	# A child sub keeps perl's handlers but not the mask.
	my $out = run_out(child => sub {
		my $now = POSIX::SigSet->new;
		POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new, $now);
		print $now->ismember(POSIX::SIGTERM()) ? "blocked" : "unblocked", " $SIG{PIPE}";
		exit 0;
	});
	is($out, 'unblocked IGNORE', 'child sub: mask emptied, perl\'s dispositions kept');
	POSIX::sigprocmask(POSIX::SIG_SETMASK(), $oldset);
}

# No descriptor of ours leaks: another child's stdin pipe, its pidfd,
# this child's own pipe ends.  A long-lived sibling holds a stdin pipe.
{
	my $sib_exit;
	my $sib = $loop->fork(cmd => [ 'cat' ], stdin_pipe => 1,
		on_stdout => sub {}, on_exit => sub ($c, $e) { $sib_exit = $e; $loop->stop });
	my %inheritable;
	# fdinfo's flags are octal open flags; O_CLOEXEC is 02000000.
	for my $fd (map { /(\d+)$/ } glob "/proc/self/fd/*") {
		open(my $info, '<', "/proc/self/fdinfo/$fd") or next;
		my ($fl) = join('', <$info>) =~ /^flags:\s*([0-7]+)/m;
		$inheritable{$fd} = 1 if defined $fl && !(oct($fl) & 02000000);
	}
	$inheritable{$_} = 1 for 0 .. 2;
	my $lister = q{opendir my $d, "/proc/self/fd"; my $me = fileno $d;
		print join " ", sort { $a <=> $b } grep { /^\d+$/ && $_ != $me } readdir $d};
	my %got = map { $_ => 1 } split ' ', run_out(cmd => [ $^X, '-e', $lister ]);
	is_deeply(\%got, \%inheritable, 'cmd: exactly the inheritable fds');
	# A fork copies every fd, close-on-exec or not (Test::More's dups of
	# STDOUT, the loop's own); ours are the pidfds and the pipes that
	# are not our stdio.
	my %std = map { (readlink("/proc/self/fd/$_") // '') => 1 } 0 .. 2;
	my @ours = grep {
		my $l = readlink("/proc/self/fd/$_") // '';
		!$inheritable{$_} &&
		($l eq 'anon_inode:[pidfd]' || ($l =~ /^pipe:/ && !$std{$l}));
	} map { /(\d+)$/ } glob "/proc/self/fd/*";
	cmp_ok(scalar @ours, '>=', 3, 'the sibling has a stdin pipe, a stdout pipe and a pidfd');
	%got = map { $_ => 1 } split ' ', run_out(child => sub { eval $lister; exit 0 });
	is_deeply([ grep { $got{$_} } @ours ], [], 'child sub: no pipe end or pidfd of ours');
	$sib->close_stdin;
	$loop->run;
	is($sib_exit->code, 0, 'the sibling saw EOF on stdin');
}

done_testing;
