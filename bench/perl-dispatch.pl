#!/usr/bin/env perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-dispatch.pl - Linux::Event (libevloop) against the Perl event loops
# people use, on the dispatch paths that decide an event loop's speed:
#
#   timers   100k zero-delay timers, added 1000 at a time (the next
#            thousand from the callback that completes a thousand; IO::Async
#            is quadratic in pending timers), one callback shared by all
#            (100k distinct closures would time perl's own closure freeing)
#   io       100k pipe readiness events to a Perl callback (100 pipes kept
#            readable, level-triggered: ~100 events per wait)
#   signals  10k signals, each sent from the previous one's callback and
#            delivered through the loop before the next is sent
#   wakeups  100k cross-thread style wakeups, chained: the callback of one
#            wakeup sends the next (Linux::Event: $loop->waker; EV: EV::async;
#            the others have no such watcher and use a pipe, as their
#            documentation suggests)
#
# Contenders, each run in its own process (AnyEvent picks one backend per
# process): evloop (Linux::Event), EV, AnyEvent on EV (AE-EV), AnyEvent's
# pure-Perl loop (AE-Perl), IO::Async, Mojo::IOLoop with its default
# reactor (EV when installed: "Mojo") and with its own poll() reactor
# ("Mojo-Poll").  Mojo has no signal watcher: a %SIG handler hands each
# signal to the loop with next_tick.
#
# usage: perl bench/perl-dispatch.pl [ROUNDS=3] [REPS=3] [SCALE=1] [ONLY=evloop,EV,...]
#   (with blib in @INC: bench/run-perl-dispatch.sh does that)
# Each contender process runs every scenario REPS times and keeps its best
# rate; ROUNDS processes per contender, interleaved, and the table shows
# the best of those (events/s) and evloop's ratio to each peer.  Best, not
# median: on a shared machine other work only ever slows a run down.
use strict;
use warnings;
use Time::HiRes qw(time);
use POSIX ();

my %opt = (ROUNDS => 3, SCALE => 1, ONLY => '', REPS => 3);
for (@ARGV) {
	if (/^--impl=(.+)$/) { $opt{IMPL} = $1; next }
	my ($k, $v) = split /=/, $_, 2;
	die "usage: $0 [ROUNDS=n] [REPS=n] [SCALE=x] [ONLY=a,b]\n" if !defined $v || !exists $opt{$k};
	$opt{$k} = $v;
}
$opt{$_} = $ENV{$_} for grep { defined $ENV{$_} } qw(ROUNDS SCALE REPS);

my $N_TIMERS  = int(100_000 * $opt{SCALE});
my $N_IO      = int(100_000 * $opt{SCALE});
my $N_SIGNALS = int(10_000 * $opt{SCALE});
my $N_WAKEUPS = int(100_000 * $opt{SCALE});
my $PIPES     = 100;
my $BATCH     = 1000;

my @IMPLS = qw(evloop EV AE-EV AE-Perl IO::Async Mojo Mojo-Poll);
# IO::Async on IO::Async::Loop::LinuxEvent, beside IO::Async on its
# default loop (IO::Async::Loop::Epoll), and AnyEvent::Impl::LinuxEvent
# and Mojo::Reactor::LinuxEvent beside their EV backends (issue 13).
push @IMPLS, 'IO::Async-LE', qw(AE-LE Mojo-LE);
# Backend pairs compared in a table of their own: framework on Linux::Event
# => the same framework on its reference backend.
my %PAIR = ('IO::Async-LE' => 'IO::Async', 'AE-LE' => 'AE-EV', 'Mojo-LE' => 'Mojo');
my @SCEN  = qw(timers io signals wakeups);
my %COUNT = (timers => $N_TIMERS, io => $N_IO, signals => $N_SIGNALS, wakeups => $N_WAKEUPS);

if (!$opt{IMPL}) {
	parent();
	exit 0;
}

# ------------------------------------------------------------ one contender

alarm 600;
my %bench = (
	evloop      => \&bench_evloop,
	EV          => \&bench_ev,
	'AE-EV'     => \&bench_ae,
	'AE-Perl'   => \&bench_ae,
	'IO::Async' => \&bench_ioasync,
	'IO::Async-LE' => \&bench_ioasync,
	Mojo        => \&bench_mojo,
	'Mojo-Poll' => \&bench_mojo,
	'AE-LE'     => \&bench_ae,
	'Mojo-LE'   => \&bench_mojo,
);
my $impl = $opt{IMPL};
$bench{$impl} or die "unknown implementation $impl\n";
# The machine may be shared: every scenario runs REPS times in this
# process and the best rate counts (interference only ever slows a run).
my %best;
for (1 .. $opt{REPS}) {
	$bench{$impl}->();
}
printf "RESULT %s %s %.0f\n", $impl, $_, $best{$_} for grep { $best{$_} } @SCEN;
exit 0;

sub report {
	my ($scen, $n, $secs) = @_;
	my $rate = $n / $secs;
	$best{$scen} = $rate if !$best{$scen} || $rate > $best{$scen};
}

sub pipes {
	my @p;
	for (1 .. $PIPES) {
		pipe(my $r, my $w) or die "pipe: $!";
		syswrite($w, 'x');
		push @p, [$r, $w];
	}
	return @p;
}

sub bench_evloop {
	require Linux::Event;
	my $loop = Linux::Event->new;

	my $n = 0;
	my $t0 = time;
	my $tcb;
	$tcb = sub {
		return if ++$n % $BATCH;
		return $loop->stop if $n == $N_TIMERS;
		$loop->after(0, $tcb) for 1 .. $BATCH;
	};
	$loop->after(0, $tcb) for 1 .. $BATCH;
	$loop->run;
	report('timers', $N_TIMERS, time - $t0);

	my @p = pipes();
	$n = 0;
	my @w = map { $loop->watch($_->[0], read => sub { $_[0]->stop if ++$n >= $N_IO }) } @p;
	$t0 = time;
	$loop->run;
	report('io', $n, time - $t0);
	$_->cancel for @w;

	$n = 0;
	$loop->signal('USR1', sub { if (++$n < $N_SIGNALS) { kill 'USR1', $$ } else { $_[0]->stop } });
	$t0 = time;
	kill 'USR1', $$;
	$loop->run;
	report('signals', $N_SIGNALS, time - $t0);

	my $waker = $loop->waker;
	$n = 0;
	$loop->watch($waker->fh, read => sub {
		$waker->drain;
		if (++$n < $N_WAKEUPS) { $waker->signal } else { $_[0]->stop }
	});
	$t0 = time;
	$waker->signal;
	$loop->run;
	report('wakeups', $N_WAKEUPS, time - $t0);
}

sub bench_ev {
	require EV;
	my $n = 0;
	my $t0 = time;
	my @t;
	my $tcb;
	$tcb = sub {
		return if ++$n % $BATCH;
		return EV::break() if $n == $N_TIMERS;
		@t = map { EV::timer(0, 0, $tcb) } 1 .. $BATCH;
	};
	@t = map { EV::timer(0, 0, $tcb) } 1 .. $BATCH;
	EV::run();
	report('timers', $N_TIMERS, time - $t0);
	@t = ();

	my @p = pipes();
	$n = 0;
	my @w = map { EV::io($_->[0], EV::READ(), sub { EV::break() if ++$n >= $N_IO }) } @p;
	$t0 = time;
	EV::run();
	report('io', $n, time - $t0);
	@w = ();

	$n = 0;
	my $s = EV::signal('USR1', sub { if (++$n < $N_SIGNALS) { kill 'USR1', $$ } else { EV::break() } });
	$t0 = time;
	kill 'USR1', $$;
	EV::run();
	report('signals', $N_SIGNALS, time - $t0);

	$n = 0;
	my $a;
	$a = EV::async(sub { if (++$n < $N_WAKEUPS) { $a->send } else { EV::break() } });
	$t0 = time;
	$a->send;
	EV::run();
	report('wakeups', $N_WAKEUPS, time - $t0);
}

sub bench_ae {
	$ENV{PERL_ANYEVENT_MODEL} = $impl eq 'AE-EV' ? 'EV' : 'Perl';
	$ENV{PERL_ANYEVENT_MODEL} = 'LinuxEvent' if $impl eq 'AE-LE';
	require AnyEvent;
	AnyEvent::detect();
	my $model = do { no warnings 'once'; $AnyEvent::MODEL };
	die "AnyEvent chose $model\n" if ($impl eq 'AE-EV') != ($model =~ /EV/);
	die "AnyEvent chose $model\n" if ($impl eq 'AE-LE') != ($model =~ /LinuxEvent/);

	my $n = 0;
	my $cv = AE::cv();
	my $t0 = time;
	my @t;
	my $tcb;
	$tcb = sub {
		return if ++$n % $BATCH;
		return $cv->send if $n == $N_TIMERS;
		@t = map { AE::timer(0, 0, $tcb) } 1 .. $BATCH;
	};
	@t = map { AE::timer(0, 0, $tcb) } 1 .. $BATCH;
	$cv->recv;
	report('timers', $N_TIMERS, time - $t0);
	@t = ();

	my @p = pipes();
	$n = 0;
	$cv = AE::cv();
	my @w = map { AE::io($_->[0], 0, sub { $cv->send if ++$n == $N_IO }) } @p;
	$t0 = time;
	$cv->recv;
	report('io', $n, time - $t0);
	@w = ();

	$n = 0;
	$cv = AE::cv();
	my $s = AE::signal(USR1 => sub { if (++$n < $N_SIGNALS) { kill 'USR1', $$ } else { $cv->send } });
	$t0 = time;
	kill 'USR1', $$;
	$cv->recv;
	report('signals', $N_SIGNALS, time - $t0);

	pipe(my $r, my $wr) or die;
	$n = 0;
	$cv = AE::cv();
	my $io = AE::io($r, 0, sub {
		sysread($r, my $b, 64);
		if (++$n < $N_WAKEUPS) { syswrite($wr, 'x') } else { $cv->send }
	});
	$t0 = time;
	syswrite($wr, 'x');
	$cv->recv;
	report('wakeups', $N_WAKEUPS, time - $t0);
}

sub bench_ioasync {
	require IO::Async::Loop;
	require IO::Async::Loop::Poll;
	my $loop = IO::Async::Loop->new;
	if ($impl eq 'IO::Async-LE') {
		require IO::Async::Loop::LinuxEvent;
		$loop = IO::Async::Loop::LinuxEvent->new;
	}

	my $n = 0;
	my $t0 = time;
	my $tcb;
	$tcb = sub {
		return if ++$n % $BATCH;
		return $loop->stop if $n == $N_TIMERS;
		$loop->watch_time(after => 0, code => $tcb) for 1 .. $BATCH;
	};
	$loop->watch_time(after => 0, code => $tcb) for 1 .. $BATCH;
	$loop->run;
	report('timers', $N_TIMERS, time - $t0);

	my @p = pipes();
	$n = 0;
	$loop->watch_io(handle => $_->[0], on_read_ready => sub { $loop->stop if ++$n == $N_IO }) for @p;
	$t0 = time;
	$loop->run;
	report('io', $n, time - $t0);
	$loop->unwatch_io(handle => $_->[0], on_read_ready => 1) for @p;

	$n = 0;
	my $sid = $loop->attach_signal(USR1 => sub { if (++$n < $N_SIGNALS) { kill 'USR1', $$ } else { $loop->stop } });
	$t0 = time;
	kill 'USR1', $$;
	$loop->run;
	report('signals', $N_SIGNALS, time - $t0);
	$loop->detach_signal(USR1 => $sid);

	pipe(my $r, my $wr) or die;
	$n = 0;
	$loop->watch_io(handle => $r, on_read_ready => sub {
		sysread($r, my $b, 64);
		if (++$n < $N_WAKEUPS) { syswrite($wr, 'x') } else { $loop->stop }
	});
	$t0 = time;
	syswrite($wr, 'x');
	$loop->run;
	report('wakeups', $N_WAKEUPS, time - $t0);
	$loop->unwatch_io(handle => $r, on_read_ready => 1);
}

sub bench_mojo {
	# Mojo::IOLoop picks Mojo::Reactor::EV when EV is installed (the
	# "Mojo" column); "Mojo-Poll" is its own pure-Perl reactor.
	$ENV{MOJO_REACTOR} = 'Mojo::Reactor::Poll' if $impl eq 'Mojo-Poll';
	$ENV{MOJO_REACTOR} = 'Mojo::Reactor::LinuxEvent' if $impl eq 'Mojo-LE';
	require Mojo::IOLoop;
	my $loop = Mojo::IOLoop->singleton;
	my $reactor = $loop->reactor;

	my $n = 0;
	my $t0 = time;
	my $tcb;
	$tcb = sub {
		return if ++$n % $BATCH;
		return $loop->stop if $n == $N_TIMERS;
		$loop->timer(0 => $tcb) for 1 .. $BATCH;
	};
	$loop->timer(0 => $tcb) for 1 .. $BATCH;
	$loop->start;
	report('timers', $N_TIMERS, time - $t0);

	my @p = pipes();
	$n = 0;
	for my $p (@p) {
		$reactor->io($p->[0] => sub { $loop->stop if ++$n == $N_IO });
		$reactor->watch($p->[0], 1, 0);
	}
	$t0 = time;
	$loop->start;
	report('io', $n, time - $t0);
	$reactor->remove($_->[0]) for @p;

	$n = 0;
	# No signal watcher in Mojo: a %SIG handler hands over to the loop.
	local $SIG{USR1} = sub { $loop->next_tick(sub { if (++$n < $N_SIGNALS) { kill 'USR1', $$ } else { $loop->stop } }) };
	$loop->next_tick(sub { kill 'USR1', $$ });
	$t0 = time;
	$loop->start;
	report('signals', $N_SIGNALS, time - $t0);

	pipe(my $r, my $wr) or die;
	$n = 0;
	$reactor->io($r => sub {
		sysread($r, my $b, 64);
		if (++$n < $N_WAKEUPS) { syswrite($wr, 'x') } else { $loop->stop }
	});
	$reactor->watch($r, 1, 0);
	$t0 = time;
	syswrite($wr, 'x');
	$loop->start;
	report('wakeups', $N_WAKEUPS, time - $t0);
	$reactor->remove($r);
}

# ------------------------------------------------------------ the driver

sub parent {
	my @impls = $opt{ONLY} ? split(/,/, $opt{ONLY}) : @IMPLS;
	my %rate;    # impl => scen => [rates]
	my @inc = map { "-I$_" } grep { !ref } @INC;
	for my $round (1 .. $opt{ROUNDS}) {
		for my $impl (@impls) {
			my @cmd = ($^X, @inc, $0, "--impl=$impl", "SCALE=$opt{SCALE}", "REPS=$opt{REPS}");
			open(my $p, '-|', @cmd) or die "run $impl: $!";
			while (<$p>) {
				print STDERR "round $round: $_";
				my (undef, $i, $s, $r) = split ' ';
				push @{ $rate{$i}{$s} }, $r if /^RESULT /;
			}
			close $p or warn "$impl exited with status $?\n";
		}
	}
	my %med;
	for my $i (@impls) {
		for my $s (@SCEN) {
			my @r = sort { $b <=> $a } @{ $rate{$i}{$s} || [] };
			$med{$i}{$s} = $r[0];
		}
	}
	printf "Linux::Event (evloop) vs Perl event loops: events/s, best of %d round(s) x %d rep(s)\n\n",
		$opt{ROUNDS}, $opt{REPS};
	printf "%-9s %9s", 'scenario', 'count';
	printf " %12s", $_ for @impls;
	print "\n";
	for my $s (@SCEN) {
		printf "%-9s %9d", $s, $COUNT{$s};
		printf " %12s", defined $med{$_}{$s} ? sprintf('%.0f', $med{$_}{$s}) : '-' for @impls;
		print "\n";
	}
	print "\nevloop / peer (higher is better for evloop):\n\n";
	printf "%-9s", 'scenario';
	printf " %12s", $_ for grep { $_ ne 'evloop' } @impls;
	print "\n";
	for my $s (@SCEN) {
		printf "%-9s", $s;
		for my $i (grep { $_ ne 'evloop' } @impls) {
			my ($a, $b) = ($med{evloop}{$s}, $med{$i}{$s});
			printf " %12s", defined $a && $b ? sprintf('%.2fx', $a / $b) : '-';
		}
		print "\n";
	}
	my @pairs = grep { $PAIR{$_} && $med{$_} && $med{ $PAIR{$_} } } @impls;
	return if !@pairs;
	print "\nframework on Linux::Event / on its reference backend (higher is better):\n\n";
	printf "%-9s", 'scenario';
	printf " %24s", "$_/$PAIR{$_}" for @pairs;
	print "\n";
	for my $s (@SCEN) {
		printf "%-9s", $s;
		for my $i (@pairs) {
			my ($a, $b) = ($med{$i}{$s}, $med{ $PAIR{$i} }{$s});
			printf " %24s", defined $a && $b ? sprintf('%.2fx', $a / $b) : '-';
		}
		print "\n";
	}
}
