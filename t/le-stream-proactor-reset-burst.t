#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A burst of peers that reset their connections on an io_uring proactor:
# each failing Stream closes its handle from inside the loop, and that
# close waits for the kernel to let go of the stream's operations by
# running the loop (the layer's settle).  Those runs used to nest, one
# level per failing stream: every stream's on_error came before any
# on_close, and with thousands of peers the C stack overflowed (SIGSEGV).
# Now one settle runs the loop at a time, so at most two streams are
# between their on_error and their on_close, and every stream closes.
use v5.36;
use Test::More;
use Socket qw(SOL_SOCKET SO_LINGER);
use IO::Socket::IP;
use POSIX ();
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Stream;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest qw(run_until);

my $loop = eval { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') };
plan skip_all => "io_uring is not available here: $@" unless $loop;
alarm 120;

my $N = 300;
my ($accepted, $closed, $open, $max_open, @streams) = (0, 0, 0, 0);
my $lsn = Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => 0,
    on_accept => sub ($l, $fh, $peer, $listen) {
        $accepted++;
        push @streams, Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($st, $msg, $d) { $st->write_message($msg) },
            on_error   => sub ($st, $e, $d) {
                $open++;
                $max_open = $open if $open > $max_open;
            },
            on_close => sub ($st, $d) {
                $closed++;
                $open-- if $open > 0;
            },
        );
    },
);

# The peers: each sends a line and a half, then resets (SO_LINGER 0).
my $pid = fork // die "fork: $!";
if (!$pid) {
    for (1 .. $N) {
        my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $lsn->sockport)
            or POSIX::_exit(2);
        syswrite($c, "abcdef\nxyz");
        setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $c;
    }
    POSIX::_exit(0);
}
ok(run_until($loop, sub { $closed >= $N }, 60), "all $N streams closed")
    or diag("accepted $accepted, closed $closed");
is($accepted, $N, 'every connection was accepted');
cmp_ok($max_open, '<=', 2, 'a failing stream closes before the next ones fail (no nested settles)');
waitpid($pid, 0);
is($?, 0, 'the peers ran');
@streams = ();

done_testing();
