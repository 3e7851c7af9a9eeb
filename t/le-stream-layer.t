#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Stream over the :evloop layer: the handle carries the
# layer, `print $fh` and $stream->write share one queue (order,
# buffered_bytes, close_after_drain), input the layer buffered before the
# Stream is not lost, and the handle closed or failing under the Stream
# (from a callback, behind its back, inside a print) is reported once,
# after the layer call returned.  On a reactor and on proactor loops (the
# fake backend, and io_uring where the kernel has it).
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use IO::Handle;
use Errno qw(EPIPE ECONNRESET EBADF);
use Linux::Event;
use Linux::Event::Stream;
use lib 't/lib';
use EvlTest qw(uring_loop);

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    return ($a, $b);
}

sub layers ($fh) { [ PerlIO::get_layers($fh) ] }

my @loops = ([ 'reactor' ], [ 'proactor', 'fake' ]);
# io_uring absent or forbidden: a recorded skip; any other failure: a failing test.
push @loops, [ 'proactor', 'uring' ]
    if uring_loop(sub { Linux::Event->new(model => 'proactor', backend => 'uring') });
for my $l (@loops) {
my ($model, $backend) = @$l;
subtest join('/', @$l) => sub {
    my $loop = Linux::Event->new(model => $model, defined $backend ? (backend => $backend) : ());

    my $run_until = sub ($cond, $secs = 5) {
        my $t0 = time;
        until ($cond->()) {
            $loop->run_once(0.01);
            die "timeout" if time - $t0 > $secs;
        }
    };
    # Everything the peer can read until $n bytes (or EOF), the loop
    # running meanwhile.
    my $readn = sub ($fh, $n, $secs = 10) {
        my $got = '';
        $fh->blocking(0);
        my $t0 = time;
        while (length $got < $n) {
            my $r = sysread($fh, $got, 1 << 20, length $got);
            last if defined $r && $r == 0;
            next if $r;
            die "timeout" if time - $t0 > $secs;
            $loop->run_once(0.005);
        }
        $fh->blocking(1);
        return $got;
    };

    # -- the handle gets :evloop (once), on both of a socket's PerlIOs
    {
        my ($a, $b) = pair();
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {});
        is((grep { $_ eq 'evloop' } @{ layers($a) }), 1, 'input side has :evloop once');
        is((grep { $_ eq 'evloop' } PerlIO::get_layers($a, output => 1)), 1,
            'output side has :evloop once');
        $s->close;

        my ($c, $d) = pair();
        binmode($c, ':evloop') or die "binmode: $!";
        my $t = Linux::Event::Stream->new(loop => $loop, fh => $c, on_read => sub {});
        is((grep { $_ eq 'evloop' } @{ layers($c) }), 1, 'a handle with :evloop keeps one');
        eval { Linux::Event::Stream->new(loop => $loop, fh => $c, on_read => sub {}) };
        like($@, qr/^new\(\): Device or resource busy/, 'a second Stream on one handle croaks');
        $t->close;
    }

    # -- a layer stack :evloop cannot sit on
    {
        my ($a) = pair();
        binmode($a, ':crlf') or die;
        my @warn;
        local $SIG{__WARN__} = sub { push @warn, @_ };
        eval { Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {}) };
        like($@, qr/^new\(\): fh cannot take the :evloop layer: /, 'croak when :evloop cannot be pushed');
    }

    # -- print and write interleaved arrive in order
    {
        my ($a, $b) = pair();
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {});
        my $want = '';
        for my $i (1 .. 500) {
            print $a "p$i\n" or die "print: $!";
            $s->write("w$i\n");
            $want .= "p$i\nw$i\n";
        }
        is($readn->($b, length $want), $want, 'print and write share one queue, in order');
        $s->close;
    }

    # -- print on a blocked socket queues behind the Stream's queue
    {
        my ($a, $b) = pair();
        my $closed = 0;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            on_close => sub { $closed++ });
        my $big = join '', map { chr(65 + $_ % 26) x 1000 } 0 .. 3999;    # 4 MB
        $s->write($big);
        my $q = $s->buffered_bytes;
        ok($q > 0, "bytes queued behind a full socket ($q)");
        ok(print($a "tail\n"), 'print on the blocked handle succeeds');
        is($s->buffered_bytes, $q + 5, 'buffered_bytes counts the printed bytes');
        $s->close_after_drain;
        ok($s->is_closing, 'closing');
        is($s->write('late'), 0, 'write refused while closing');
        my $got = $readn->($b, length($big) + 5);
        $run_until->(sub { $closed });
        ok($got eq "${big}tail\n", 'the print went out after the write, then the close');
        is($closed, 1, 'on_close once');
        ok(!defined fileno($a), 'handle closed after the drain');
    }

    # -- printed bytes count for the high watermark too
    {
        my ($a, $b) = pair();
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            high_watermark => 1000, low_watermark => 100);
        print $a 'p' x 3_000_000;
        $loop->run_once(0.01);
        ok($s->buffered_bytes > 1000, 'printed bytes queued behind a full socket');
        ok($s->is_write_blocked, 'is_write_blocked above high_watermark after a print');
        my $got = $readn->($b, 3_000_000);
        $loop->run_once(0.01) for 1 .. 3;
        is(length $got, 3_000_000, 'all printed bytes arrived');
        ok(!$s->is_write_blocked, 'not blocked once drained');
        $s->close;
    }

    # -- close drops a blocked queue (print's bytes too) and does not wait
    {
        my ($a, $b) = pair();
        my $closed = 0;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            on_close => sub { $closed++ });
        $s->write('k' x 4_000_000);
        print $a "never\n";
        $loop->run_once(0.01) for 1 .. 3;
        ok($s->buffered_bytes > 0, 'queue blocked');
        $s->close;
        is($closed, 1, 'on_close at once');
        ok(!defined fileno($a), 'handle closed');
        my $got = $readn->($b, 5_000_000);
        ok(length($got) < 4_000_000, 'the rest of the queue was dropped (' . length($got) . ' bytes came)');
    }

    # -- input the layer buffered before the Stream is delivered
    {
        my ($a, $b) = pair();
        syswrite($b, "first\nsecond\nthird\n");
        binmode($a, ':evloop') or die;
        my $line = <$a>;
        is($line, "first\n", 'a readline buffered the rest');
        my @msgs;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
            on_message => sub ($s, $m, $d) { push @msgs, $m });
        syswrite($b, "fourth\n");
        $run_until->(sub { @msgs >= 3 });
        is_deeply(\@msgs, [qw(second third fourth)], 'nothing the layer held is lost');
        $s->close;
    }

    # -- close_fh => 0: the handle stays open, keeps the layer and prints;
    #    what was queued at close is the handle's, written behind
    {
        my ($a, $b) = pair();
        my $closed = 0;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            close_fh => 0, on_close => sub { $closed++ });
        my $big = 'z' x 3_000_000;
        $s->write($big);
        $s->close;
        is($closed, 1, 'on_close at close');
        ok(defined fileno($a), 'handle still open');
        ok(print($a "after\n"), 'print after close works');
        is($readn->($b, length($big) + 6), "${big}after\n", 'queue kept and written behind');
        is((grep { $_ eq 'evloop' } @{ layers($a) }), 1, 'layer still there');
        my $in = '';
        my $t = Linux::Event::Stream->new(loop => $loop, fh => $a,
            on_read => sub ($s, $bytes, $d) { $in .= $bytes });
        syswrite($b, 'again');
        $run_until->(sub { length $in >= 5 });
        is($in, 'again', 'a new Stream binds the handle again');
        $t->close;
        ok(!defined fileno($a), 'and closes it');
    }

    # -- a callback closes the handle itself: reported as io:EBADF once
    {
        my ($a, $b) = pair();
        my (@err, $closed);
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
            on_message => sub ($s, $m, $d) { close $a if $m eq 'bye' },
            on_error => sub ($s, $e, $d) { push @err, $e },
            on_close => sub { $closed++ });
        syswrite($b, "hi\nbye\nlost\n");
        $run_until->(sub { $closed });
        is_deeply(\@err, [EBADF], 'on_error EBADF');
        is($s->last_error, 'io:' . EBADF, 'last_error io:9');
        is($closed, 1, 'on_close once');
        ok($s->is_closed, 'closed');
        is($s->write('x'), 0, 'write after is 0');
    }

    # -- the handle closed behind the Stream's back, outside callbacks
    {
        my ($a, $b) = pair();
        my (@err, $closed);
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            on_error => sub ($s, $e, $d) { push @err, $e }, on_close => sub { $closed++ });
        close $a;
        is($closed, undef, 'nothing runs inside close');
        $run_until->(sub { $closed });
        is_deeply(\@err, [EBADF], 'then on_error EBADF');
        is($s->buffered_bytes, 0, 'buffered_bytes 0');
    }

    # -- an error found by a print is reported after the print returns
    {
        my ($a, $b) = pair();
        my ($in_print, @err, @inside, $closed) = (0);
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            on_error => sub ($s, $e, $d) { push @err, $e; push @inside, $in_print },
            on_close => sub { $closed++; push @inside, $in_print });
        close $b;
        { local $SIG{PIPE} = 'IGNORE'; $in_print = 1; print $a 'x' x 100; $in_print = 0 }
        $run_until->(sub { $closed });
        ok(@err == 1 && ($err[0] == EPIPE || $err[0] == ECONNRESET), "on_error once ($err[0])");
        is_deeply(\@inside, [0, 0], 'no callback ran inside the print');
        is($closed, 1, 'on_close once');
    }

    # -- a drain reached inside a print finishes close_after_drain after it
    {
        my ($a, $b) = pair();
        my ($in_print, $closed, @inside) = (0, 0);
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, on_read => sub {},
            on_close => sub { $closed++; push @inside, $in_print });
        my $chunk = 'q' x 300_000;
        $s->write($chunk);
        $s->close_after_drain;
        my ($got, $prints) = ('', 0);
        $b->blocking(0);
        my $t0 = time;
        while (!$closed) {
            while (my $r = sysread($b, $got, 1 << 20, length $got)) { }
            if ($model eq 'reactor') {
                # The peer made room; the print's flush empties the queue.
                $in_print = 1;
                print $a 'y';
                $in_print = 0;
                $prints++;
            }
            $loop->run_once(0.005);
            die "timeout" if time - $t0 > 10;
        }
        while (my $r = sysread($b, $got, 1 << 20, length $got)) { }
        is($closed, 1, 'closed once');
        is_deeply(\@inside, [0], 'on_close did not run inside a print');
        is(length($got), length($chunk) + $prints, 'every byte arrived');
    }

    # -- streams over the layer leave no fds behind
    {
        opendir(my $dh, '/proc/self/fd') or die;
        my $nfds = sub { rewinddir $dh; my @f = readdir $dh; scalar @f };
        my $before = $nfds->();
        for (1 .. 100) {
            my ($a, $b) = pair();
            my $done = 0;
            my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
                on_message => sub ($s, $m, $d) { $s->write_message($m) },
                on_close => sub { $done++ });
            print $a "hello\n";
            syswrite($b, "echo\n");
            shutdown($b, 1);
            $run_until->(sub { $done });
        }
        is($nfds->(), $before, 'fd count flat after 100 streams');
    }
};
}

done_testing;
