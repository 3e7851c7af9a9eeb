#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 14, item 4: Linux::Event::Stream's idle_timeout, read_timeout and
# write_timeout.  A silent peer trips read_timeout and idle_timeout
# (on_error gets ETIMEDOUT, last_error io:110, the stream and its handle
# close); bytes every 10 ms keep a 150 ms read_timeout from firing; a
# paused stream does not time out on reads; a peer that stops reading
# trips write_timeout; the accessors read and set; bad values croak.  On
# the reactor and on proactor loops.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC SOL_SOCKET SO_SNDBUF);
use IO::Handle;
use POSIX ();
use Time::HiRes ();
use Linux::Event;
use Linux::Event::Stream;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest ();

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    return ($a, $b);
}

sub run_until ($loop, $cond, $secs = 10) {
    my $t0 = Time::HiRes::time();
    while (!$cond->()) {
        $loop->run_once(0.005);
        die 'timeout' if Time::HiRes::time() - $t0 > $secs;
    }
}

sub run_for ($loop, $secs) {
    my $end = Time::HiRes::time() + $secs;
    $loop->run_once(0.005) while Time::HiRes::time() < $end;
}

my @loops = (
    [reactor         => Linux::Event->new(model => 'reactor')],
    ['proactor fake' => Linux::Event->new(model => 'proactor', backend => 'fake')],
);
my $uring = EvlTest::uring_loop(sub { Linux::Event->new(model => 'proactor', backend => 'uring') });
push @loops, ['proactor uring' => $uring] if $uring;

for my $l (@loops) {
    my ($name, $loop) = @$l;

    # A silent peer: read_timeout fires, the stream closes.
    {
        my ($a, $b) = pair();
        my (@err, $closed);
        my $t0 = Time::HiRes::time();
        my $s  = Linux::Event::Stream->new(
            loop         => $loop,
            fh           => $a,
            read_timeout => 0.03,
            on_read      => sub { },
            on_error     => sub ($s, $errno, $d) { push @err, $errno },
            on_close     => sub { $closed = 1 }
        );
        is($s->read_timeout, 0.03, "$name: read_timeout reads back");
        run_until($loop, sub { $closed });
        is_deeply(\@err, [POSIX::ETIMEDOUT()], "$name: read_timeout: on_error gets ETIMEDOUT");
        is($s->last_error, 'io:' . POSIX::ETIMEDOUT(), "$name: last_error io:ETIMEDOUT");
        cmp_ok(Time::HiRes::time() - $t0, '>=', 0.025, "$name: not before its time");
        ok($s->is_closed, "$name: closed");
        ok(!defined fileno($a), "$name: the handle closed (close_fh)");
    }

    # Flowing data resets it; the deadline counts from the last byte.
    {
        my ($a, $b) = pair();
        my ($got, @err, $last) = ('');
        my $s = Linux::Event::Stream->new(
            loop         => $loop,
            fh           => $a,
            read_timeout => 0.15,
            on_read      => sub ($s, $bytes, $d) { $got .= $bytes },
            on_error     => sub ($s, $errno, $d) { push @err, $errno }
        );
        for (1 .. 30) {
            run_for($loop, 0.01);
            syswrite($b, 'x');
            $last = Time::HiRes::time();
        }
        run_until($loop, sub { length $got == 30 });
        is(scalar @err, 0, "$name: 300 ms of bytes 10 ms apart: no read timeout");
        run_until($loop, sub { @err });
        is_deeply(\@err, [POSIX::ETIMEDOUT()], "$name: silence after it: timeout");
        cmp_ok(Time::HiRes::time() - $last, '>=', 0.14, "$name: counted from the last byte");
    }

    # A paused stream does not trip read_timeout; resumed, it does.
    {
        my ($a, $b) = pair();
        my @err;
        my $s = Linux::Event::Stream->new(
            loop     => $loop,
            fh       => $a,
            on_read  => sub { },
            on_error => sub ($s, $errno, $d) { push @err, $errno }
        );
        $s->pause_read;
        is($s->read_timeout(0.02), $s, "$name: the setter returns the stream");
        run_for($loop, 0.1);
        is(scalar @err, 0, "$name: paused: no read timeout");
        $s->resume_read;
        run_until($loop, sub { @err });
        is_deeply(\@err, [POSIX::ETIMEDOUT()], "$name: resumed: read timeout");
    }

    # idle_timeout, and a setter that turns it off again.
    {
        my ($a, $b) = pair();
        my @err;
        my $s = Linux::Event::Stream->new(
            loop         => $loop,
            fh           => $a,
            idle_timeout => 0.03,
            on_read      => sub { },
            on_error     => sub ($s, $errno, $d) { push @err, $errno }
        );
        $s->idle_timeout(0);
        is($s->idle_timeout, 0, "$name: idle_timeout(0) reads back");
        run_for($loop, 0.08);
        is(scalar @err, 0, "$name: idle_timeout 0: none");
        $s->idle_timeout(0.03);
        run_until($loop, sub { @err });
        is_deeply(\@err, [POSIX::ETIMEDOUT()], "$name: idle_timeout fires");
    }

    # A peer that stops reading: write_timeout.
    {
        my ($a, $b) = pair();
        setsockopt($a, SOL_SOCKET, SO_SNDBUF, 65536) or die "setsockopt: $!";
        my ($closed, @err);
        my $s = Linux::Event::Stream->new(
            loop          => $loop,
            fh            => $a,
            write_timeout => 0.03,
            on_read       => sub { },
            on_error      => sub ($s, $errno, $d) { push @err, $errno },
            on_close      => sub { $closed = 1 }
        );
        $s->write('z' x 65536) for 1 .. 64;
        run_until($loop, sub { $closed });
        is_deeply(\@err, [POSIX::ETIMEDOUT()], "$name: write_timeout fires on a stalled queue");
    }

    # close_fh => 0: the handle stays open after the timeout.
    {
        my ($a, $b) = pair();
        my $closed;
        my $s = Linux::Event::Stream->new(
            loop         => $loop,
            fh           => $a,
            close_fh     => 0,
            idle_timeout => 0.02,
            on_read      => sub { },
            on_close     => sub { $closed = 1 }
        );
        run_until($loop, sub { $closed });
        ok(defined fileno($a), "$name: close_fh 0: the handle is still open");
        run_for($loop, 0.05);
        ok(defined fileno($a), "$name: ... and the cleared deadline did not close it later");
        close $a;
    }
}

# Bad values croak, naming the method and the argument, at the caller.
{
    my $loop = $loops[0][1];
    my ($a, $b) = pair();
    ok(!eval { Linux::Event::Stream->new(loop => $loop, fh => $a, read_timeout => -1); 1 },
        'negative read_timeout croaks');
    like(
        $@,
        qr/^new\(\): read_timeout must be a number of seconds >= 0 at \Q${\__FILE__}\E line/,
        '... naming the option, at the caller'
    );
    ok(!eval { Linux::Event::Stream->new(loop => $loop, fh => $a, idle_timeout => 'soon'); 1 },
        'non-numeric idle_timeout croaks');
    my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub { });
    ok(!eval { $s->write_timeout('x'); 1 }, 'write_timeout(x) croaks');
    like(
        $@,
        qr/^write_timeout\(\): seconds must be a number >= 0 at \Q${\__FILE__}\E line/,
        '... naming the method, at the caller'
    );
    $s->close;
}

done_testing;
