#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# bench/load/children.pl [N] - a storm of N (default 1,000) children
# through Linux::Event::Fork ($loop->fork), at most 64 running at once,
# each a Perl child writing one line to its captured stdout and exiting
# with code i % 256.  Fails unless every child's line and exit code came
# back, no child is left unreaped, and the fd count is back where it
# started; RSS growth beyond EVL_LOAD_RSS_SLACK_KB (default 4096) kB after
# the first tenth (warm-up) fails too.
use v5.36;
use FindBin;
use lib $FindBin::Bin;
use LoadUtil qw(nfds rss_kb verdict);
use POSIX ();
use Time::HiRes qw(time);
use Linux::Event;
use Linux::Event::Fork;

my $n     = shift                       // 1000;
my $slack = $ENV{EVL_LOAD_RSS_SLACK_KB} // 4096;
my $loop  = Linux::Event->new;
my $forks = Linux::Event::Fork->new($loop, max_children => 64);

my ($exited, $bad, $warm_rss) = (0, 0, 0);
my $fds0 = nfds();
my $t0   = time;
for my $i (1 .. $n) {
    my $out = '';
    $forks->spawn(
        child => sub {
            print "child $i\n";
            STDOUT->flush;
            POSIX::_exit($i % 256);
        },
        on_stdout => sub ($child, $chunk) { $out .= $chunk },
        on_exit   => sub ($child, $exit) {
            $bad++ unless $out eq "child $i\n" && $exit->code == $i % 256;
            $exited++;
            $warm_rss = rss_kb() if $exited == int($n / 10) || ($n < 10 && $exited == 1);
            $loop->stop if $exited >= $n;
        },
    );
}
$loop->run;
my $secs = time - $t0;
$loop->run_once(0) for 1 .. 3;
my ($fds1, $rss1) = (nfds(), rss_kb());
my $left = waitpid(-1, POSIX::WNOHANG());
printf
    "children: %d children in %.2f s (%.0f/s); fds %d -> %d; RSS %d kB after warm-up, %d kB at the end\n",
    $exited, $secs, $exited / ($secs || 1), $fds0, $fds1, $warm_rss, $rss1;
verdict(
    'children',
    [$exited == $n && !$bad, "$exited of $n exits seen, each with its line and code ($bad wrong)"],
    [$left == -1, 'no child left unreaped'],
    [$fds1 <= $fds0, "fd count back ($fds0 -> $fds1)"],
    [
        $rss1 - $warm_rss <= $slack,
        "RSS growth after warm-up within $slack kB ($warm_rss -> $rss1 kB)"
    ],
);
