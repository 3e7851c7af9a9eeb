#!/usr/bin/env perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-watcher-churn.pl - what framework adapters (AnyEvent, IO::Async,
# Mojo on top of a loop) do all the time: make and drop io watchers, and
# stop and start them between waits.  Linux::Event (libevloop) against EV
# (libev), both loaded in the same process:
#
#   create   100k io watchers created and destroyed on one pipe
#            (Linux::Event: watch + cancel; EV: EV::io + undef), with a
#            non-blocking wait after every 1000
#   toggle   100k enable/disable toggles of one read watcher on a quiet
#            pipe, each followed by a non-blocking wait (Linux::Event:
#            disable_read/enable_read + run_once(0); EV: stop/start +
#            EV::run(EV::RUN_NOWAIT))
#
# Each round runs every (scenario, library) pair once, the library order
# rotated from round to round; the table shows the median time of each
# and the speed ratio EV time / Linux::Event time (above 1.00 means
# Linux::Event is faster).
#
# usage: perl -Mblib bench/perl-watcher-churn.pl [ROUNDS=7] [N=100000]
# Needs libev-perl.  Runs on the machine only (pipes), bounded by an alarm.
use strict;
use warnings;
use Time::HiRes qw(time);

my %opt = (ROUNDS => 7, N => 100_000);
for (@ARGV) {
	my ($k, $v) = split /=/, $_, 2;
	die "usage: $0 [ROUNDS=n] [N=n]\n" if !defined $v || !exists $opt{$k};
	$opt{$k} = $v;
}
alarm 900;

require Linux::Event;
require EV;

my $N = $opt{N};
my $loop = Linux::Event->new;
my $cb = sub { };

sub quiet_pipe {
	pipe(my $r, my $w) or die "pipe: $!";
	return ($r, $w);
}

my %bench = (
	create => {
		evloop => sub {
			my ($r, $w) = quiet_pipe();
			my $t0 = time;
			for my $i (1 .. $N) {
				my $wt = $loop->watch($r, read => $cb);
				$wt->cancel;
				$loop->run_once(0) if $i % 1000 == 0;
			}
			return time - $t0;
		},
		EV => sub {
			my ($r, $w) = quiet_pipe();
			my $t0 = time;
			for my $i (1 .. $N) {
				my $wt = EV::io($r, EV::READ(), $cb);
				undef $wt;
				EV::run(EV::RUN_NOWAIT()) if $i % 1000 == 0;
			}
			return time - $t0;
		},
	},
	toggle => {
		evloop => sub {
			my ($r, $w) = quiet_pipe();
			my $wt = $loop->watch($r, read => $cb);
			$loop->run_once(0);
			my $t0 = time;
			for my $i (1 .. $N) {
				$i % 2 ? $wt->disable_read : $wt->enable_read;
				$loop->run_once(0);
			}
			my $secs = time - $t0;
			$wt->cancel;
			return $secs;
		},
		EV => sub {
			my ($r, $w) = quiet_pipe();
			my $wt = EV::io($r, EV::READ(), $cb);
			EV::run(EV::RUN_NOWAIT());
			my $t0 = time;
			for my $i (1 .. $N) {
				$i % 2 ? $wt->stop : $wt->start;
				EV::run(EV::RUN_NOWAIT());
			}
			return time - $t0;
		},
	},
);
my @SCEN = qw(create toggle);
my @LIBS = qw(evloop EV);

my %t;    # scen => lib => [secs]
for my $round (0 .. $opt{ROUNDS} - 1) {
	my @order = @LIBS[ map { ($_ + $round) % @LIBS } 0 .. $#LIBS ];
	for my $s (@SCEN) {
		for my $lib (@order) {
			my $secs = $bench{$s}{$lib}->();
			push @{ $t{$s}{$lib} }, $secs;
			printf STDERR "round %d: %-6s %-6s %.4f s\n", $round + 1, $s, $lib, $secs;
		}
	}
}

sub median {
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

printf "Perl watcher churn, %d operations, median of %d rounds (order rotated), Linux::Event %s, EV %s\n\n",
	$N, $opt{ROUNDS}, $Linux::Event::VERSION // '?', $EV::VERSION;
printf "%-8s %14s %14s %16s\n", 'scenario', 'Linux::Event', 'EV', 'EV / Linux::Event';
for my $s (@SCEN) {
	my ($a, $b) = (median(@{ $t{$s}{evloop} }), median(@{ $t{$s}{EV} }));
	printf "%-8s %11.1f ns %11.1f ns %15.2fx\n", $s, $a / $N * 1e9, $b / $N * 1e9, $b / $a;
}
