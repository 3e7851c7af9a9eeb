#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 17, defect 3: a loop and an open Stream on it, both dropped
# without close, in either order, are freed: the Stream holds its loop
# weakly (so does the handle's layer while the Stream drives it), and the
# loop closes its open Streams when it goes.  Before, every round left the
# loop's fds (4 on a reactor, 5 on a proactor), the handle and the Stream.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use IO::Handle;
use Scalar::Util qw(weaken);
use Linux::Event;
use Linux::Event::Stream;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 120;

sub open_fds () {
    opendir(my $d, "/proc/self/fd") or die "no /proc/self/fd: $!";
    return scalar grep { /^\d+$/ } readdir($d);
}

my @kinds = ([ 'reactor', model => 'reactor' ], [ 'proactor fake', model => 'proactor',
    backend => 'fake' ]);
push @kinds, [ 'proactor uring', model => 'proactor', backend => 'uring' ]
    if eval { Linux::Event->new(model => 'proactor', backend => 'uring') };

for my $k (@kinds) {
    my ($name, @args) = @$k;
    for my $order (qw(loop_first stream_first)) {
        my ($weak_loop, $weak_stream, $closed);
        my $round = sub ($keep_refs) {
            my $loop = Linux::Event->new(@args);
            socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
            my $got = 0;
            my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
                on_message => sub { $got++ }, on_close => sub { $closed++ });
            # The Stream is live: a line in, a line out.
            syswrite($b, "x\n");
            $loop->run_once(0.05) until $got;
            $s->write("y\n");
            $b->blocking(0);
            $loop->run_once(0.01) until sysread($b, my $y, 2);    # and out
            if ($keep_refs) {
                $weak_loop = $loop;
                $weak_stream = $s;
                weaken($_) for $weak_loop, $weak_stream;
            }
            undef $a;
            if ($order eq 'loop_first') { undef $loop; undef $s }
            else { undef $s; undef $loop }
        };
        $round->(0) for 1 .. 10;    # warm up: first-use allocations, caches
        my $before = open_fds();
        $round->(0) for 1 .. 200;
        is(open_fds(), $before, "$name, $order dropped: fd count flat over 200 rounds");
        $closed = 0;
        $round->(1);
        ok(!defined $weak_loop, "$name, $order: the loop was freed");
        ok(!defined $weak_stream, "$name, $order: the Stream was freed");
        is($closed, 0, "$name, $order: no on_close from a loop being freed");
    }
}

# Dropping only the Stream keeps it serving while the loop lives (as in
# the seed); dropping the loop then frees it.
{
    my $loop = Linux::Event->new(model => 'reactor');
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my @m;
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
        on_message => sub ($s, $m, $d) { push @m, $m; $s->write_message("re:$m") });
    my $w = $s;
    weaken($w);
    undef $s;
    undef $a;
    ok(defined $w, 'an open Stream nobody stores stays');
    syswrite($b, "hi\n");
    $loop->run_once(0.05) until @m;
    my $line = <$b>;
    is($line, "re:hi\n", 'and keeps serving');
    undef $loop;
    ok(!defined $w, 'until its loop goes');
    is(<$b>, undef, 'which closed its handle (close_fh)');
}

# close_fh => 0: the handle outlives the Stream and its loop, and still
# works, on no loop.
{
    my $loop = Linux::Event->new(model => 'reactor');
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, close_fh => 0,
        on_read => sub {});
    my $w = $s;
    weaken($w);
    undef $s;
    undef $loop;
    ok(!defined $w, 'close_fh 0: the Stream went with its loop');
    ok(defined fileno($a), 'the handle stays open');
    ok(print($a "after\n"), 'print on the handle works');
    ok($a->flush, 'and flushes without a loop');
    is(scalar <$b>, "after\n", 'the peer gets it');
}

done_testing;
