#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A write to a pipe or socket whose reader is gone is an error on the handle
# (print or close returns false, $! EPIPE/ECONNRESET), never a SIGPIPE death:
# the child doing it exits normally with the codes it checked.
use strict;
use warnings;
use Test::More;
use Errno qw(EPIPE ECONNRESET);
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);

sub in_child {
    my ($code) = @_;
    defined(my $pid = fork) or die "fork: $!";
    if ($pid == 0) {
        $SIG{PIPE} = 'DEFAULT';
        exit($code->());
    }
    waitpid($pid, 0);
    return $?;
}

# Exit codes: 0 all as expected; 2 print/close succeeded; 3 wrong errno.
my $st = in_child(sub {
    pipe(my $r, my $w) or return 9;
    close $r;
    binmode($w, ':evloop') or return 9;
    my $p = print {$w} 'x' x 100_000;
    return 2 if $p;
    return 3 unless $! == EPIPE;
    return 2 if close($w);
    return 0;
});
is($st, 0, 'blocking pipe: print returns false with EPIPE, close false, child exits normally');

$st = in_child(sub {
    pipe(my $r, my $w) or return 9;
    close $r;
    binmode($w, ':evloop') or return 9;
    return 2 unless print {$w} "small\n";    # queued, not yet written
    return 2 if close($w);
    return 3 unless $! == EPIPE;
    return 0;
});
is($st, 0, 'blocking pipe: a small print queues; close returns false with EPIPE');

$st = in_child(sub {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or return 9;
    close $b;
    binmode($a, ':evloop') or return 9;
    $a->blocking(0);
    my $ok = 1;
    $ok &&= print {$a} 'y' x 50_000 for 1 .. 5;
    return 2 if $ok && close($a);
    return 3 unless $! == EPIPE || $! == ECONNRESET;
    return 0;
});
is($st, 0, 'non-blocking socket: print or close returns false with EPIPE/ECONNRESET, no signal');

done_testing;
