#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Timers and an fd watcher on a reactor loop: a heartbeat rescheduled from
# its own callback, a one-off timer, and a pipe watched for reading.
use v5.36;
use Linux::Event;

my $loop = Linux::Event->new;    # a reactor
pipe(my $rd, my $wr) or die "pipe: $!";
$wr->autoflush(1);

my $beats = 0;
my $beat;
$beat = sub ($loop) {
    say "heartbeat ", ++$beats;
    syswrite($wr, "beat $beats\n");
    $loop->after(0.05, $beat) if $beats < 3;
};
$loop->after(0.05, $beat);

$loop->watch(
    $rd,
    read => sub ($loop, $fh, $watcher) {
        sysread($fh, my $buf, 4096);
        print "pipe said: $buf";
        if ($buf =~ /beat 3/) {
            $watcher->cancel;
            $loop->after(0, sub ($loop) { say "done"; $loop->stop });
        }
    }
);
$loop->run;
