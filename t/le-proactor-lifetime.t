# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Dropping a proactor frees it: its ring and descriptors close, the
# operations still in flight are reaped, and nothing leaks per loop.
use v5.36;
use strict;
use warnings;
use Test::More;
use Scalar::Util qw(weaken);
use Socket qw(AF_UNIX SOCK_STREAM);
use lib 't/lib';
use EvlTest qw(has uring_loop);

use Linux::Event::Proactor;

sub fd_count { opendir(my $d, '/proc/self/fd') or die $!; return scalar(grep { /^\d+$/ } readdir $d) }

sub rss_kb {
    open(my $f, '<', '/proc/self/status') or return 0;
    while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}

my @backends = ('fake');
# io_uring absent or forbidden: a recorded skip; any other failure: a failing test.
push @backends, 'uring' if uring_loop(sub { Linux::Event::Proactor->new(backend => 'uring') });

socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;

for my $backend (@backends) {
    subtest "$backend: 2000 loops with pending operations" => sub {
        my $round = sub {
            my $loop = Linux::Event::Proactor->new(backend => $backend);
            my $data = { big => 'x' x 100 };
            $loop->recv(fh => $y, len => 4096, data => $data, on_complete => sub ($o, $r, $d) { });
            $loop->after(100, on_complete => sub ($o, $r, $d) { $o->loop });
            $loop->write(fh => $x, buf => 'y' x 10) if $backend eq 'fake';
            my $done = $loop->_new_op(kind => 'x', on_complete => sub ($o, $r, $d) { });
            $done->_settle_success({});    # a queued callback, never run
            weaken(my $weak = $loop);
            return \$weak;
        };
        $round->() for 1 .. 50;    # warm up allocators
        my ($fd0, $rss0) = (fd_count(), rss_kb());
        my @weak = map { $round->() } 1 .. 2000;
        is(scalar(grep { defined $$_ } @weak), 0, 'every loop was freed');
        is(fd_count(), $fd0, 'open fd count unchanged');
        my $grown = rss_kb() - $rss0;
        SKIP: {
            # ASan keeps freed memory in quarantine: RSS says nothing there.
            skip 'RSS is meaningless under AddressSanitizer', 1
                if ($ENV{LD_PRELOAD} // '') =~ /asan/;
            ok($grown < 8 * 1024, "RSS flat (grew $grown kB)");
        }
    };
}

subtest 'an operation does not keep its loop, and its buffers survive it' => sub {
    for my $backend (@backends) {
        my ($op, $weak);
        {
            my $loop = Linux::Event::Proactor->new(backend => $backend);
            $op = $loop->recv(fh => $y, len => 64, data => 'd', on_complete => sub ($o, $r, $d) { });
            weaken($weak = $loop);
        }
        is($weak, undef, "$backend: loop freed while its op lives");
        is($op->loop, undef, "$backend: op->loop is undef");
        # Cancelled with its loop (it stayed "pending" for ever, and
        # cancel said 0 while it still looked pending).
        is($op->state, 'cancelled', "$backend: settled as cancelled with its loop");
        ok($op->is_terminal && !$op->is_pending, "$backend: terminal, not pending");
        is($op->cancel, 0, "$backend: cancel: already terminal");
        syswrite($x, 'after');    # a uring recv would have been reaped by now
        sysread($y, my $b, 10);
        is($b, 'after', "$backend: the socket is usable: the kernel let go of the op");
    }
};

subtest 'a thread clone shares nothing and frees nothing' => sub {
    plan skip_all => 'no threads' unless has('threads');
    require threads;
    my $loop = Linux::Event::Proactor->new(backend => $backends[-1]);
    my $op = $loop->after(100, data => 'x');
    my $res = threads->create(sub {
        my @r;
        push @r, eval { $loop->run_once; 1 } ? 'ran' : $@;
        push @r, eval { $op->state; 1 } ? 'ran' : $@;
        my $own = Linux::Event::Proactor->new;
        my $o = $own->after(0);
        $own->run_once;
        push @r, $o->state;
        return join '|', @r;
    })->join;
    my @r = split /\|/, $res;
    like($r[0], qr/^not a Linux::Event::Proactor \(or not usable in this thread\)/, 'the clone of the engine croaks');
    like($r[1], qr/^Linux::Event::Operation: not usable in this thread/, 'so does the clone of an op');
    is($r[2], 'done', 'a loop made in the thread works');
    is($op->state, 'pending', 'the original op is intact');
    ok(defined $loop->run_once(0), 'the original loop still works');
};

done_testing;
