#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 17, defect 1: a Stream whose on_message answers each frame, and a
# peer that sends two good netstrings and a bad one.  The replies written
# before the framing error reach the peer (the Stream closes after its
# queue drained), on a reactor and on proactor loops, in one write or cut
# anywhere.  (Before: nothing arrived on a reactor, one reply on a
# proactor.)
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use IO::Handle;
use Linux::Event;
use Linux::Event::Stream;

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    return ($a, $b);
}

sub run_until ($loop, $cond, $secs = 5) {
    my $t0 = time;
    while (!$cond->()) {
        $loop->run_once(0.05);
        die "timeout" if time - $t0 > $secs;
    }
}

my @loops = (
    [ reactor => Linux::Event->new(model => 'reactor') ],
    [ 'proactor fake' => Linux::Event->new(model => 'proactor', backend => 'fake') ],
);
my $uring = eval { Linux::Event->new(model => 'proactor', backend => 'uring') };
push @loops, [ 'proactor uring' => $uring ] if $uring;
note('io_uring: ' . ($uring ? 'yes' : "no ($@)"));

my $in = '3:abc,3:def,3:xyz!';
for my $l (@loops) {
    my ($name, $loop) = @$l;
    for my $cut (0 .. length($in) - 1) {
        my ($a, $b) = pair();
        my (@msgs, $wrote);
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'netstring',
            on_message => sub ($s, $m, $d) {
                push @msgs, $m;
                $wrote += $s->write_message("re:$m");
            });
        if ($cut) {
            syswrite($b, substr($in, 0, $cut));
            $loop->run_once(0.01) for 1 .. 3;
        }
        syswrite($b, substr($in, $cut));
        run_until($loop, sub { $s->is_closed });
        # The Stream closed its handle after the queue: EOF follows the replies.
        my $got = '';
        1 while sysread($b, $got, 64, length $got);
        my $what = "$name, " . ($cut ? "cut at $cut" : 'one write');
        is($got, '6:re:abc,6:re:def,', "$what: both replies, then EOF");
        is_deeply(\@msgs, [qw(abc def)], "$what: two messages");
        is($wrote, 2, "$what: write_message returned true twice");
        is($s->last_error, 'codec:invalid netstring terminator', "$what: last_error");
    }
}

# A write error while the replies drain closes the Stream without a
# second on_error (the C stream reports it; the Stream had reported the
# framing error already).
for my $l (@loops) {
    my ($name, $loop) = @$l;
    my ($a, $b) = pair();
    my @errors;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'netstring',
        on_message => sub ($s, $m, $d) { $s->write_message('x' x 4_000_000) },
        on_error => sub ($s, $e, $d) { push @errors, $e; close $b });
    # EOF inside a frame: the framing error comes while 4 MB are queued,
    # and the peer's close then fails the drain.
    syswrite($b, '1:a,1:');
    shutdown($b, 1);
    run_until($loop, sub { $s->is_closed });
    is(scalar @errors, 1, "$name: one on_error");
    like($s->last_error, qr/^codec:/, "$name: the framing error is the one reported");
}

done_testing;
