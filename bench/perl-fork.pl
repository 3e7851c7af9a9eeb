#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-fork.pl - Linux::Event::Fork against the other ways Perl programs
# run children asynchronously, every contender in the same process.
#
# Figures (each: ROUNDS rounds, contenders in rotating order inside every
# round, median):
#   spawn     children/s running `true` to completion, PAR at a time
#             (PAR=1: one after the other), stdout not captured
#   spawn_out the same with stdout captured (each child's output read to
#             EOF before its exit is reported), what a program that wants
#             the output does
#   capture   MB/s of one child's stdout read to EOF: `head -c BYTES
#             /dev/zero`, every chunk handed to a Perl callback that adds
#             up the lengths through @_ (no copy of the chunk in any
#             contender; bytes counted and checked)
# Contenders:
#   evloop    Linux::Event::Fork ($loop->fork) on a Linux::Event reactor
#   anyevent  AnyEvent::Util::run_cmd (AnyEvent over EV when installed)
#   ioasync   IO::Async::Process on IO::Async::Loop's default loop
#   open3     IPC::Open3 + a 4-argument select loop reading 64 KiB
#             sysreads, then waitpid (PAR children at a time)
# The other three fork() the whole perl process for every child (page
# tables and all); Linux::Event::Fork execs from a CLONE_VM|CLONE_VFORK
# child, so its cost does not grow with the parent's size.
#
# usage: perl -Mblib bench/perl-fork.pl [ROUNDS=3] [N=300] [PAR=8]
#            [BYTES=200000000] [ONLY=evloop,anyevent,ioasync,open3]
#   (KEY=VALUE arguments or environment variables)
# output: "RESULT perl_fork <figure> <contender> <value> <unit>" lines,
#   then a table with each figure's evloop / best-other ratio.
# Bounded: alarm 900 s.  Children are `true` and `head`; nothing listens.
use v5.36;
use Time::HiRes qw(time);
use POSIX ();
use IPC::Open3 qw(open3);
use Symbol qw(gensym);

use Linux::Event;
use Linux::Event::Fork;
use AnyEvent;
use AnyEvent::Util qw(run_cmd);
use IO::Async::Loop;
use IO::Async::Process;

my %opt = (ROUNDS => 3, N => 300, PAR => 8, BYTES => 200_000_000,
	   ONLY => 'evloop,anyevent,ioasync,open3');
for (@ARGV) {
	my ($k, $v) = /^(\w+)=(.*)$/ or die "usage: $0 [KEY=VALUE...]\n";
	$opt{$k} = $v;
}
$opt{$_} = $ENV{$_} // $opt{$_} for grep { defined $ENV{$_} } keys %opt;
my @contenders = split /,/, $opt{ONLY};
alarm 900;
$SIG{PIPE} = 'IGNORE';

my $true = (grep { -x } '/bin/true', '/usr/bin/true')[0] or die "no true\n";
my $head = (grep { -x } '/usr/bin/head', '/bin/head')[0] or die "no head\n";

my $loop = Linux::Event->new;
my $ioloop = IO::Async::Loop->new;

# ------------------------------------------------------------ spawn

# Each runs $n children of `true`, at most $par at once; $out: capture
# stdout.
my %spawn = (
	evloop => sub ($n, $par, $out) {
		my ($started, $done) = (0, 0);
		my $next;
		my @io = $out ? (on_stdout => sub {}) : ();
		$next = sub {
			while ($started < $n && $started - $done < $par) {
				$started++;
				$loop->fork(cmd => [ $true ], @io, on_exit => sub ($c, $e) {
					$done++;
					if ($done == $n) { $loop->stop } else { $next->() }
				});
			}
		};
		$next->();
		$loop->run;
		undef $next;
	},
	anyevent => sub ($n, $par, $out) {
		my ($started, $done) = (0, 0);
		my $cv = AnyEvent->condvar;
		my $next;
		my @io = $out ? ('>' => sub {}) : ();
		$next = sub {
			while ($started < $n && $started - $done < $par) {
				$started++;
				run_cmd([ $true ], @io)->cb(sub {
					$done++;
					if ($done == $n) { $cv->send } else { $next->() }
				});
			}
		};
		$next->();
		$cv->recv;
		undef $next;
	},
	ioasync => sub ($n, $par, $out) {
		my ($started, $done) = (0, 0);
		my $next;
		my @io = $out ? (stdout => { on_read => sub ($s, $buf, $eof) { $$buf = ''; 0 } }) : ();
		$next = sub {
			while ($started < $n && $started - $done < $par) {
				$started++;
				my $p = IO::Async::Process->new(command => [ $true ], @io,
					on_finish => sub {
						$done++;
						if ($done == $n) { $ioloop->stop } else { $next->() }
					});
				$ioloop->add($p);
			}
		};
		$next->();
		$ioloop->run;
		undef $next;
	},
	open3 => sub ($n, $par, $out) {
		my ($started, $done) = (0, 0);
		my %fh;   # pid => stdout handle
		while ($done < $n) {
			while ($started < $n && $started - $done < $par) {
				$started++;
				my $pid = open3(my $in, my $o = gensym, undef, $true);
				close $in;
				$fh{$pid} = $o;
			}
			# Read each child's stdout to EOF (open3 always makes the
			# pipe), then reap.
			my ($pid) = keys %fh;
			my $o = delete $fh{$pid};
			read_all($o) if $out;
			close $o;
			waitpid($pid, 0);
			$done++;
		}
	},
);

# ------------------------------------------------------------ capture

# Each returns the byte count of `head -c BYTES /dev/zero`.
my %capture = (
	evloop => sub ($bytes) {
		my $got = 0;
		$loop->fork(cmd => [ $head, '-c', $bytes, '/dev/zero' ],
			on_stdout => sub { $got += length $_[1] },
			on_exit => sub ($c, $e) { $loop->stop });
		$loop->run;
		return $got;
	},
	anyevent => sub ($bytes) {
		my $got = 0;
		run_cmd([ $head, '-c', $bytes, '/dev/zero' ],
			'>' => sub { $got += length $_[0] if defined $_[0] })->recv;
		return $got;
	},
	ioasync => sub ($bytes) {
		my $got = 0;
		my $p = IO::Async::Process->new(
			command => [ $head, '-c', $bytes, '/dev/zero' ],
			stdout => { on_read => sub { my $buf = $_[1]; $got += length $$buf; $$buf = ''; 0 } },
			on_finish => sub { $ioloop->stop });
		$ioloop->add($p);
		$ioloop->run;
		return $got;
	},
	open3 => sub ($bytes) {
		my $pid = open3(my $in, my $o = gensym, undef, $head, '-c', $bytes, '/dev/zero');
		close $in;
		my $got = read_all($o);
		waitpid($pid, 0);
		return $got;
	},
);

# A select loop over one handle, 64 KiB sysreads, each chunk counted as
# the others' callbacks count theirs.
sub read_all ($fh) {
	my ($got, $rin) = (0, '');
	vec($rin, fileno($fh), 1) = 1;
	for (;;) {
		my $n = select(my $rout = $rin, undef, undef, undef);
		next if $n < 0 && $!{EINTR};
		my $r = sysread($fh, my $buf, 65536);
		next if !defined $r && $!{EINTR};
		last if !$r;
		$got += length $buf;
	}
	return $got;
}

# ------------------------------------------------------------ run

my %res;   # figure => contender => [values]
sub record ($fig, $who, $v) { push @{ $res{$fig}{$who} }, $v }

for my $round (1 .. $opt{ROUNDS}) {
	my @order = @contenders[ map { ($_ + $round - 1) % @contenders } 0 .. $#contenders ];
	for my $who (@order) {
		for my $fig ([ 'spawn', 0 ], [ 'spawn_out', 1 ]) {
			my $t0 = time;
			$spawn{$who}->($opt{N}, $opt{PAR}, $fig->[1]);
			my $rate = $opt{N} / (time - $t0);
			record($fig->[0], $who, $rate);
			printf STDERR "RESULT perl_fork %s %s %.0f children/s\n", $fig->[0], $who, $rate;
		}
		my $t0 = time;
		my $got = $capture{$who}->($opt{BYTES});
		my $dt = time - $t0;
		die "$who captured $got of $opt{BYTES} bytes\n" if $got != $opt{BYTES};
		my $mbs = $opt{BYTES} / 1e6 / $dt;
		record('capture', $who, $mbs);
		printf STDERR "RESULT perl_fork capture %s %.0f MB/s\n", $who, $mbs;
	}
	die "children left behind\n" if waitpid(-1, POSIX::WNOHANG()) > 0;
}

sub median (@v) { @v = sort { $a <=> $b } @v; return $v[ $#v / 2 ] }

printf "\nLinux::Event::Fork vs the others: %d rounds, N=%d children, PAR=%d, capture %d MB\n\n",
	$opt{ROUNDS}, $opt{N}, $opt{PAR}, $opt{BYTES} / 1e6;
printf "| %-10s | %s | evloop / best other |\n", 'figure',
	join(' | ', map { sprintf '%10s', $_ } @contenders);
printf "|%s|%s|---|\n", '-' x 12, join('|', map { '-' x 12 } @contenders);
for my $fig (qw(spawn spawn_out capture)) {
	my %m = map { $_ => median(@{ $res{$fig}{$_} }) } @contenders;
	my ($best) = sort { $b <=> $a } map { $m{$_} } grep { $_ ne 'evloop' } @contenders;
	printf "| %-10s | %s | %s |\n", $fig,
		join(' | ', map { sprintf '%10.0f', $m{$_} } @contenders),
		defined $m{evloop} && $best ? sprintf('%.2fx', $m{evloop} / $best) : '-';
}
print "\n(spawn, spawn_out: children/s; capture: MB/s; medians)\n";
