# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A companion (Linux::Event::Stream) on a proactor engine: run_once pumps
# the engine's libevloop loop for it on both backends, without counting
# its work, and an exception from its callback propagates.
use v5.36;
use strict;
use warnings;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM);
use lib 't/lib';
use EvlTest qw(uring_loop);

use Linux::Event::Proactor;

plan skip_all => 'Linux::Event::Stream is not in this tree'
    unless eval { require Linux::Event::Stream; 1 };

my @backends = ('fake');
# io_uring absent or forbidden: a recorded skip; any other failure: a failing test.
push @backends, 'uring' if uring_loop(sub { Linux::Event::Proactor->new(backend => 'uring') });

for my $backend (@backends) {
    subtest $backend => sub {
        my $loop = Linux::Event::Proactor->new(backend => $backend);
        socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
        my $got = '';
        my $die;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $y,
            on_read => sub ($s, $buf, $d) { $got .= $buf; die $die if $die });
        syswrite($x, 'hello');
        my $n = 0;
        my $counted = 0;
        while (length($got) < 5 && ++$n < 200) {
            $counted += $loop->run_once(0.01);
        }
        is($got, 'hello', 'the stream read through the engine\'s loop');
        is($counted, 0, 'its work is not counted by run_once');

        $s->write('back');
        my $echo = '';
        for (1 .. 200) {
            $loop->run_once(0.01);
            last if sysread($x, $echo, 10, length $echo) && length($echo) >= 4;
        }
        is($echo, 'back', 'the stream wrote');

        $die = "stream cb died\n";
        syswrite($x, 'again');
        my $err;
        for (1 .. 200) {
            last if !eval { $loop->run_once(0.01); 1 } and $err = $@;
        }
        is($err, "stream cb died\n", 'an exception from its callback propagates out of run_once');

        # A pipe write beyond the pipe's capacity: run_once must pump for
        # it too.  The Stream never reads the write-only end (a read op on
        # it would fail with EBADF on io_uring).
        {
        pipe(my $pr, my $pw) or die $!;
        my $ps = Linux::Event::Stream->new(loop => $loop, fh => $pw);
        my $big = join '', map { chr(65 + $_ % 26) x 1000 } 0 .. 199;
        $ps->write($big);
        my $in = '';
        for (1 .. 2000) {
            $loop->run_once(0);
            sysread($pr, $in, 65536, length $in);
            last if length($in) >= length($big);
        }
        is(length($in), length($big), 'a 200 kB pipe write went through');
        ok($in eq $big, 'intact');
        }

        my $op = $loop->after(0, on_complete => sub ($o, $r, $d) { });
        $n = 0;
        $n++ until $op->is_terminal || $n > 100 || !defined $loop->run_once;
        ok($op->success, 'the engine still works afterwards');
    };
}

done_testing;
