#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# bench/load/soak.pl [seconds] - a soak of that many seconds (default 60):
# 8 socketpairs, each a pair of line-codec Streams playing ping-pong with
# 64 lines in flight, a new connection pair every second (the oldest
# closed), RSS and fds sampled every second.  Fails if, after the first
# fifth of the run (warm-up, at least 1 s), RSS grew more than
# EVL_LOAD_RSS_SLACK_KB (default 4096) kB or the fd count grew at all.
use v5.36;
use FindBin;
use lib $FindBin::Bin;
use LoadUtil qw(nfds rss_kb verdict);
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Time::HiRes qw(time);
use Linux::Event;
use Linux::Event::Stream;

my $secs  = shift                       // 60;
my $slack = $ENV{EVL_LOAD_RSS_SLACK_KB} // 4096;
my $loop  = Linux::Event->new;
my $lines = 0;
my $line  = 'x' x 60;

sub pair_up () {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my @s = map {
        Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $_,
            codec      => 'line',
            on_message => sub ($s, $m, $d) { $lines++; $s->write_message($m) },
        )
    } $a, $b;
    $s[0]->write_message($line) for 1 .. 64;
    return \@s;
}

my @pairs = map { pair_up() } 1 .. 8;
my @samples;
my $t0 = time;
my $tick;
$tick = sub ($loop) {
    my $t = time - $t0;
    push @samples, [$t, rss_kb(), nfds(), $lines];
    my $prev = @samples > 1 ? $samples[-2][3] : 0;
    printf "%5.1f s  RSS %7d kB  fds %4d  lines/s %8d\n", $t, $samples[-1][1], $samples[-1][2],
        $lines - $prev;
    if ($t >= $secs) { $loop->stop; return }

    # Churn: the oldest pair goes, a new one comes.
    my $old = shift @pairs;
    $_->close for @$old;
    push @pairs, pair_up();
    $loop->after(1, $tick);
};
$loop->after(1, $tick);
$loop->run;
$_->close for map { @$_ } @pairs;

my $warm_t = $secs / 5 < 1 ? 1 : $secs / 5;
my ($warm) = grep { $_->[0] >= $warm_t } @samples;
$warm //= $samples[0];
my $last = $samples[-1];
printf "soak: %d lines in %.1f s (%.0f/s)\n", $lines, $last->[0], $lines / ($last->[0] || 1);
verdict(
    'soak',
    [$last->[2] <= $warm->[2], "fd count flat after warm-up ($warm->[2] -> $last->[2])"],
    [
        $last->[1] - $warm->[1] <= $slack,
        sprintf(
            'RSS growth after %.1f s within %d kB (%d -> %d kB)',
            $warm->[0], $slack, $warm->[1], $last->[1]
        )
    ],
);
