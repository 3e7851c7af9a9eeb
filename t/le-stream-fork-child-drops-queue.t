# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A forked child that runs its copy of the loop does not send the output
# its parent had queued at the fork: the parent still holds those bytes and
# sends them itself, so the peer gets every byte once and in order.  Before
# the fix a reactor child's first writable event wrote the copy again.
#
# Each case queues 4 MiB through a Stream (or print on an attached :evloop
# handle) to a TCP peer that is not reading yet, forks, and lets the child
# run its loop until its first event while the parent reads: that event is
# the socket turning writable.  On a reactor the child also writes bytes
# of its own, which must arrive once (the drop must not take them: every
# path that appends to the queue drops the parent's copy first).  The
# child then exits; the parent drains, closes, and reads to EOF.
use v5.36;
use Test::More;
use POSIX ();
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest ();

use Linux::Event;
use Linux::Event::Loop;
use Linux::Event::Stream;
use PerlIO::evloop;

alarm 60;

my $N    = 4 << 20;
my $data = join('', map { sprintf("%07d\n", $_) } 0 .. $N / 8 - 1);
my $MARK = '<the child>';

sub queued_at_fork ($loop, $how, $fh) {
    if ($how eq 'stream') {
        my $st = Linux::Event::Stream->new(loop => $loop, fh => $fh);
        $st->write($data);
        return ($st, $st->buffered_bytes);
    }
    binmode($fh, ':evloop') or die "binmode: $!";
    PerlIO::evloop::attach($fh, $loop);
    print {$fh} $data;
    return (undef, 1);
}

sub one_case ($model, $loop, $how) {
    my ($c, $s)       = EvlTest::tcp_pair();
    my ($st, $queued) = queued_at_fork($loop, $how, $s);
    ok($queued > 0, "$model $how: output is still queued at the fork");

    my $mark = $model eq 'reactor' ? $MARK : '';
    my $pid  = fork // die "fork: $!";
    if ($pid == 0) {

        # On a reactor the child's own bytes still go out, once.  (On
        # io_uring the parent's send in flight completes in the child as
        # cancelled, which fails the child's copy of the stream.)
        $st ? $st->write($mark) : print {$s} $mark if $model eq 'reactor';
        $loop->run_once(5);
        $loop->run_once(0.5) while $model eq 'reactor' && ($st ? $st->buffered_bytes : 0) > 0;
        POSIX::_exit(0);
    }
    EvlTest::set_nonblocking($c, 1);
    my $got  = '';
    my $done = 0;    # the parent's queue is out and its side closed
    my $reaped;
    for (; ;) {
        my $n = sysread($c, $got, 1 << 20, length $got);
        last if defined $n && $n == 0;
        die "sysread: $!" if !defined $n && !$!{EAGAIN};
        $loop->run_once(0.01) if !$done;
        if (!$done && length $got >= $N + length $mark) {    # both queues are out
            $st ? $st->close : close($s);
            $done = 1;
        }
        $reaped //= waitpid($pid, POSIX::WNOHANG()) > 0 ? $? : undef;
        if (!defined $n && $done) {                          # wait for the peer's next bytes or EOF
            my $rin = '';
            vec($rin, fileno($c), 1) = 1;
            select($rin, undef, undef, 5);
        }
    }
    waitpid($pid, 0) if !defined $reaped;
    is(length $got, $N + length $mark, "$model $how: the peer got each byte once");
    my $at = length $mark ? index($got, $mark) : 0;
    ok($at >= 0, "$model $how: the child's own write arrived (reactor)");
    substr($got, $at, length $mark, '') if $at >= 0;
    ok($got eq $data, "$model $how: the parent's bytes in order, as written");
}

for my $how (qw(stream attach)) {
    one_case('reactor', Linux::Event->new, $how);
SKIP: {
        my $loop = EvlTest::uring_loop(
            sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') });
        skip 'no io_uring here', 4 unless $loop;
        one_case('proactor', $loop, $how);
    }
}

done_testing;
