# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: 1,000 children spawned and reaped, no zombie left,
# no descriptor growth.
use v5.36;
use Test::More;
use POSIX qw(WNOHANG);

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

sub fds { opendir(my $d, "/proc/self/fd") or die; return scalar grep { !/^\./ } readdir $d }

# Children of this process that are zombies right now.
sub zombies {
	my $n = 0;
	for my $stat (glob "/proc/[0-9]*/stat") {
		open(my $f, '<', $stat) or next;
		my $line = <$f> // next;
		my ($state, $ppid) = $line =~ /\) (\S) (\d+)/ or next;
		$n++ if $state eq 'Z' && $ppid == $$;
	}
	return $n;
}

my $fork = Linux::Event::Fork->new($loop, max_children => 32);
# Warm up: the first spawn allocates the loop's tables.
$fork->spawn(cmd => [ 'true' ], on_stdout => sub {}, on_exit => sub {});
$fork->drain(on_done => sub { $loop->stop });
$loop->run;
my $fds = fds();

my ($ok, $out, $high) = (0, 0, 0);
for my $i (1 .. 1000) {
	# Half capture stdout, half also stderr and a stdin pipe: every kind
	# of descriptor is made and released.
	my @io = $i % 2 ? (on_stdout => sub ($c, $b) { $out++ })
	                : (on_stdout => sub {}, on_stderr => sub {}, stdin => "x");
	$fork->spawn(cmd => [ 'echo', $i ], @io,
		on_exit => sub ($c, $e) {
			$ok++ if $e->exited && $e->code == 0;
			my $n = fds();
			$high = $n if $n > $high;
		});
}
$fork->drain(on_done => sub { $loop->stop });
$loop->run;

is($ok, 1000, '1000 children exited 0');
is($out, 500, 'each captured child delivered its line');
is(zombies(), 0, 'no zombie');
is(waitpid(-1, WNOHANG), -1, 'no child left at all');
is(fds(), $fds, 'descriptor count back where it was');
cmp_ok($high, '<=', $fds + 32 * 4, 'and bounded by the limit meanwhile');

# The same through child subs (the fork path).
$ok = 0;
$fork->spawn(child => sub { exit 0 }, on_exit => sub ($c, $e) { $ok++ if $e->code == 0 })
	for 1 .. 100;
$fork->drain(on_done => sub { $loop->stop });
$loop->run;
is($ok, 100, '100 child subs exited 0');
is(waitpid(-1, WNOHANG), -1, 'no child left');
is(fds(), $fds, 'no descriptor growth');

done_testing;
