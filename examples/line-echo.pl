#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# line-echo.pl - the README demo: a line-echo server built from
# Linux::Event::Listen + Linux::Event::Stream (line codec), and a client in
# a forked process (Linux::Event::Connect + Stream) that keeps DEPTH lines
# in flight on each of CONNS connections for SECONDS, checks every echoed
# line, and prints lines/s and round-trip latency percentiles.  Loopback
# only (port chosen by the kernel); stops by itself.
#
# usage: perl -Mblib examples/line-echo.pl [SECONDS=2] [CONNS=4] [DEPTH=8]
use v5.36;
use Time::HiRes ();
use POSIX ();
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Connect;
use Linux::Event::Stream;

my ($secs, $conns, $depth) = (@ARGV, 2, 4, 8)[0 .. 2];
die "usage: $0 [SECONDS] [CONNS] [DEPTH]\n" unless $secs > 0 && $conns >= 1 && $depth >= 1;

my $loop   = Linux::Event->new;
my $listen = Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => 0,
    on_accept => sub ($loop, $fh, $peer, $listen) {
        Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($stream, $line, $data) { $stream->write_message($line) },
        );
    },
);
my $port = $listen->sockport;

pipe(my $rd, my $wr) or die "pipe: $!";
my $pid = fork // die "fork: $!";
if ($pid == 0) {

    # The child leaves the parent's loop alone (its epoll set is shared
    # across fork): it makes its own loop and ends with _exit, so no
    # destructor unregisters the parent's listener.
    close $rd;
    my $report = client($port);
    syswrite($wr, $report);
    POSIX::_exit(0);
}
close $wr;

# The server runs until the client's report arrives (EOF on the pipe).
my $report = '';
$loop->watch(
    $rd,
    read => sub ($loop, $fh, $w) {
        my $n = sysread($fh, my $buf, 65536);
        if ($n) { $report .= $buf }
        else    { $loop->unwatch($fh); $loop->stop }
    }
);
$loop->run;
waitpid($pid, 0);
print $report;
exit($? == 0 && $report =~ / 0 mismatched/ ? 0 : 1);

sub client ($port) {
    my $loop = Linux::Event->new;
    my ($lines, $bad, $open) = (0, 0, 0);
    my @rtt;
    my $t_end = Time::HiRes::time() + $secs;
    my $t0    = Time::HiRes::time();
    for my $c (1 .. $conns) {
        Linux::Event::Connect->new(
            loop       => $loop,
            host       => '127.0.0.1',
            port       => $port,
            on_error   => sub ($req, $errno, $data) { die "connect: errno $errno\n" },
            on_connect => sub ($req, $fh, $data) {
                $open++;
                my @sent;    # send times, FIFO
                my $seq = 0;
                my $stream;
                $stream = Linux::Event::Stream->new(
                    loop       => $loop,
                    fh         => $fh,
                    codec      => 'line',
                    on_message => sub ($s, $line, $data) {
                        my $now = Time::HiRes::time();
                        my ($want, $t) = @{ shift @sent };
                        $bad++ if $line ne $want;
                        push @rtt, $now - $t;
                        $lines++;
                        if ($now < $t_end) {
                            my $msg = "conn $c line " . $seq++ . ' ' . ('x' x 40);
                            push @sent, [$msg, $now];
                            $s->write_message($msg);
                        } elsif (!@sent) {
                            $s->close;
                            $loop->stop if --$open == 0;
                        }
                    },
                    on_close => sub ($s, $data) { },
                );
                for (1 .. $depth) {
                    my $msg = "conn $c line " . $seq++ . ' ' . ('x' x 40);
                    push @sent, [$msg, Time::HiRes::time()];
                    $stream->write_message($msg);
                }
            },
        );
    }
    $loop->run;
    my $elapsed = Time::HiRes::time() - $t0;
    @rtt = sort { $a <=> $b } @rtt;
    my $pct = sub ($p) { @rtt ? sprintf('%.1f', 1e6 * $rtt[int($p / 100 * $#rtt)]) : 'n/a' };
    return sprintf(
        "lines/s %d (%d lines, %d connections, %d in flight each, %.2f s, %d mismatched)\n"
            . "round trip us: p50 %s  p90 %s  p99 %s  max %s\n",
        $lines / $elapsed, $lines, $conns, $depth, $elapsed,
        $bad, $pct->(50), $pct->(90), $pct->(99), $pct->(100)
    );
}
