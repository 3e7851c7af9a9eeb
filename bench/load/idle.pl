#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# bench/load/idle.pl [N] - N (default 10,000) concurrent idle loopback TCP
# connections, both ends in this process as Linux::Event::Streams (2 fds
# each), one line echoed on each to prove it works.  RLIMIT_NOFILE is
# raised to the hard limit first; if that still cannot hold 2N fds, N is
# capped and the script says so.  Prints fds and RSS per connection (both
# ends); fails if a connection costs more than EVL_LOAD_CONN_KB (default
# 24) kB of RSS, or if closing them all does not give every fd back.
use v5.36;
use FindBin;
use lib $FindBin::Bin;
use LoadUtil qw(nfds rss_kb raise_nofile verdict);
use Time::HiRes qw(time);
use Linux::Event;
use Linux::Event::Stream;
use Linux::Event::Listen;
use Linux::Event::Connect;

my $want   = shift                  // 10_000;
my $budget = $ENV{EVL_LOAD_CONN_KB} // 24;
my $limit  = raise_nofile();
my $n      = $want;
if (2 * $n + 64 > $limit) {
    $n = int(($limit - 64) / 2);
    say "idle: RLIMIT_NOFILE is $limit (hard limit reached): $n connections instead of $want";
}
my $loop = Linux::Event->new;

my (@server, @client);
my $listen = Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => 0,
    backlog   => 1024,
    on_accept => sub ($loop, $fh, $peer, $l) {
        push @server,
            Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($s, $m, $d) { $s->write_message($m) },
            );
    },
);
my $port = $listen->sockport;

my ($fds0, $rss0) = (nfds(), rss_kb());
my ($connected, $echoed, $fail) = (0, 0, 0);
my $t0 = time;

# Connects in batches of 256 (the listen backlog is finite), each batch
# echoing one line per connection before the next starts.
while ($connected < $n && !$fail) {
    my $batch = $n - $connected < 256 ? $n - $connected : 256;
    my $goal  = $echoed + $batch;
    for (1 .. $batch) {
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
                    on_message => sub ($s, $m, $d) { $loop->stop if ++$echoed >= $goal },
                );
                $s->write_message('hello');
                push @client, $s;
            },
        );
        $connected++;
    }
    $loop->run;
}
my $secs = time - $t0;
$loop->run_once(0) for 1 .. 3;
my ($fds1, $rss1) = (nfds(), rss_kb());
my $per_fd  = $n ? ($fds1 - $fds0) / $n : 0;
my $per_rss = $n ? ($rss1 - $rss0) / $n : 0;
printf "idle: %d connections open in %.2f s, %d echoed\n", scalar(@client), $secs, $echoed;
printf "idle: fds %d -> %d (%.2f per connection, both ends)\n", $fds0, $fds1, $per_fd;
printf "idle: RSS %d -> %d kB (%.2f kB per connection, both ends)\n", $rss0, $rss1, $per_rss;

$_->close for @client, @server;
@client = @server = ();
$loop->run_once(0) for 1 .. 3;
my $fds2 = nfds();
printf "idle: all closed: fds %d, RSS %d kB\n", $fds2, rss_kb();
verdict(
    'idle',
    [$echoed == $n && !$fail, "$echoed of $n connections echoed ($fail failures)"],
    [$per_rss <= $budget, sprintf('RSS per connection %.2f kB <= %d kB', $per_rss, $budget)],
    [$fds2 <= $fds0, "every fd given back after close ($fds0 -> $fds1 -> $fds2)"],
);
