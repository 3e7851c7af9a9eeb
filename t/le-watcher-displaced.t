#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A watcher whose handle was dropped without unwatch (which the Reactor
# POD allows) is let go of when its fd number is taken by something the
# loop watches in C (a Stream, a Datagram, a pidfd) or by the loop's own
# signalfd.  The C
# watcher took the fd's slot and the old one stopped, but the Perl
# Watcher was never told: it stayed "active", its callbacks (and all
# they captured) were never freed, about 1.3 MB per 1,000 such fds; and
# where the signalfd took the number, cancelling the watcher deleted the
# signalfd from the epoll set, so no child or signal was seen again.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use POSIX ();
use Linux::Event;
use Linux::Event::Stream;

my $loop = Linux::Event::Loop->new(model => 'reactor');

my $freed = 0;

package Token {
    sub new     { return bless {}, shift }
    sub DESTROY { $freed++ }
}

# Watches a pipe's write end with a callback that holds a Token, then
# drops that end; returns the Watcher (kept by the caller, or not), the
# fd number now free, and the read end (kept open, so the next new fd
# takes the write end's number).
sub dropped_watcher () {
    pipe(my $r, my $w) or die "pipe: $!";
    my $token = Token->new;
    my $wt    = $loop->watch($w, write => sub ($l, $fh, $watcher) { my $keep = $token });
    return ($wt, fileno $w, $r);
}

subtest 'a Stream takes the fd number' => sub {
    $freed = 0;
    my ($wt, $fd, $r) = dropped_watcher();
    ok($wt->is_active, 'the watcher is active with its handle gone');
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my ($taken) = grep { fileno($_) == $fd } $x, $y;
    ok($taken, "a new socket has fd $fd");
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $taken, on_read => sub { });
    ok(!$wt->is_active, 'the displaced watcher is no longer active');
    undef $wt;
    $loop->run_once(0);
    is($freed, 1, "the displaced watcher's callbacks were freed");
    $s->close;
};

subtest 'a thousand of them leave nothing behind' => sub {
    $freed = 0;
    for (1 .. 1000) {
        my (undef, $fd, $r) = dropped_watcher();
        socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
        my ($taken) = grep { fileno($_) == $fd } $x, $y;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $taken, on_read => sub { });
        $s->close;
        $loop->run_once(0);
    }
    is($freed, 1000, 'every displaced watcher was freed');
};

subtest "the loop's signalfd takes the fd number" => sub {
    $freed = 0;
    my ($wt, $fd, $r) = dropped_watcher();

    # The first child watcher makes the signalfd: it gets the lowest free
    # number, the dropped watcher's.
    my $pid = fork // die "fork: $!";
    if (!$pid) { POSIX::_exit(0) }
    my $status;
    my $sub = $loop->child($pid, sub ($l, $kid, $st) { $status = $st });
    $loop->run_once(1) until defined $status;
    ok(!$wt->is_active, 'the watcher on the number is displaced');

    # Its cancel used to delete the number from the epoll set, where it
    # named the signalfd by then: no child or signal was seen again.
    $wt->cancel;
    undef $wt;
    $pid = fork // die "fork: $!";
    if (!$pid) { POSIX::_exit(3) }
    undef $status;
    $sub = $loop->child($pid, sub ($l, $kid, $st) { $status = $st });
    my $t0 = time;
    $loop->run_once(0.5) until defined $status || time - $t0 > 10;
    is($status, 3 << 8, 'a child exiting after that cancel is still seen');
    is($freed, 1, 'the displaced watcher was freed');
};

done_testing();
