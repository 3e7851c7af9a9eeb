#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# bench/load/sequential.pl [N] - N (default 10,000) loopback TCP connections
# one after the other: Linux::Event::Connect, a line echoed by a Stream the
# Listen's on_accept made, close on both sides.  Prints the fd count and
# RSS every N/10 cycles; fails if either grew after the first tenth (the
# warm-up: perl's arenas and the loop's tables reach their size there)
# beyond the slack: 0 fds, EVL_LOAD_RSS_SLACK_KB (default 4096) kB.
use v5.36;
use FindBin;
use lib $FindBin::Bin;
use LoadUtil qw(nfds rss_kb verdict);
use Time::HiRes qw(time);
use Linux::Event;
use Linux::Event::Stream;
use Linux::Event::Listen;
use Linux::Event::Connect;

my $n     = shift                       // 10_000;
my $slack = $ENV{EVL_LOAD_RSS_SLACK_KB} // 4096;
my $step  = $n >= 10 ? int($n / 10) : 1;
my $loop  = Linux::Event->new;

my $listen = Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => 0,
    on_accept => sub ($loop, $fh, $peer, $l) {
        Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($s, $m, $d) { $s->write_message($m) },
        );
    },
);
my $port = $listen->sockport;

my ($done, $fail) = (0, 0);
my @marks;
my $cycle;
$cycle = sub {
    Linux::Event::Connect->new(
        loop       => $loop,
        host       => '127.0.0.1',
        port       => $port,
        on_error   => sub ($r, $e, $d) { $fail++; $loop->stop },
        on_connect => sub ($r, $fh, $d) {
            my $s = Linux::Event::Stream->new(
                loop       => $loop,
                fh         => $fh,
                codec      => 'line',
                on_message => sub ($s, $m, $d) {
                    $fail++ unless $m eq "ping $done";
                    $s->close;
                    $done++;
                    if   ($done % $step == 0 || $done >= $n) { $loop->stop }
                    else                                     { $cycle->() }
                },
            );
            $s->write_message("ping $done");
        },
    );
};

my $t0 = time;
printf "%-8s %6s %9s\n", 'cycles', 'fds', 'RSS kB';
printf "%-8d %6d %9d\n", 0, nfds(), rss_kb();
while ($done < $n && !$fail) {
    $cycle->();
    $loop->run;

    # Let the server side see the EOFs of this round before counting.
    $loop->run_once(0) for 1 .. 3;
    push @marks, [$done, nfds(), rss_kb()];
    printf "%-8d %6d %9d\n", @{ $marks[-1] };
}
my $secs = time - $t0;
printf "sequential: %d connections in %.2f s (%.0f/s)\n", $done, $secs, $done / ($secs || 1);
my ($warm, $last) = ($marks[0], $marks[-1]);
verdict(
    'sequential',
    [$done == $n && !$fail, "$done of $n cycles echoed ($fail failures)"],
    [$last->[1] <= $warm->[1], "fd count flat after warm-up ($warm->[1] -> $last->[1])"],
    [
        $last->[2] - $warm->[2] <= $slack,
        "RSS growth after warm-up within $slack kB ($warm->[2] -> $last->[2] kB)"
    ],
);
