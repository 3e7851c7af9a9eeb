# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Future::IO::Impl::LinuxEvent on the default reactor: every suite of
# Test::Future::IO::Impl (sleep, sysread, syswrite, accept, connect,
# waitpid), then poll's revents and several operations on one handle.
use v5.36;
use Test2::V0;
use Test::Future::IO::Impl;
use POSIX ();

use Future::IO;
use Future::IO::Impl::LinuxEvent;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

is($Future::IO::IMPL, 'Future::IO::Impl::LinuxEvent', 'loading it sets the implementation');
ref_is(Future::IO::Impl::LinuxEvent->loop, Linux::Event::Loop->default, 'on the shared default loop');

run_tests($_) for qw(sleep sysread syswrite accept connect waitpid);

my $I = 'Future::IO::Impl::LinuxEvent';

subtest 'poll revents' => sub {
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $f = $I->poll($rd, $I->POLLIN);
    ok(!$f->is_ready, 'pending while nothing is readable');
    Future::IO->sleep(0.02)->get;
    ok(!$f->is_ready, 'still pending after the loop ran');
    syswrite($wr, 'x');
    is($f->get, $I->POLLIN, 'POLLIN once data is there');

    is($I->poll($wr, $I->POLLOUT)->get, $I->POLLOUT, 'POLLOUT on an empty pipe');

    close $wr;
    sysread($rd, my $buf, 1);
    is($I->poll($rd, $I->POLLIN)->get, $I->POLLHUP, 'POLLHUP alone once the writer is gone');

    pipe(my $rd2, my $wr2) or die "pipe: $!";
    close $rd2;
    my $rev = $I->poll($wr2, $I->POLLOUT)->get;
    ok($rev & $I->POLLERR, 'POLLERR on a pipe whose reader is gone');

    pipe(my $rd3, my $wr3) or die "pipe: $!";
    my $c = $I->poll($rd3, $I->POLLIN);
    $c->cancel;
    syswrite($wr3, 'y');
    my $g = $I->poll($rd3, $I->POLLIN);
    is($g->get, $I->POLLIN, 'a cancelled poll leaves the next one working');

    # A POLLOUT poll on a socket whose output is full and whose input is
    # unread waits without spinning on the input.
    use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
    socketpair(my $s1, my $s2, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $_->blocking(0) for $s1, $s2;
    1 while syswrite($s1, 'x' x 65536);
    syswrite($s2, 'unread');
    my $out = $I->poll($s1, $I->POLLOUT);
    my @t0  = times;
    Future::IO->sleep(0.3)->get;
    my @t1 = times;
    ok(!$out->is_ready, 'POLLOUT poll pending while the socket is full');
    cmp_ok($t1[0] + $t1[1] - $t0[0] - $t0[1], '<', 0.15, 'and the unread input does not spin the loop');
    $out->cancel;

    like(dies { $I->poll($rd3, 'x') }, qr/^Future::IO::Impl::LinuxEvent->poll: events must be an integer mask/,
        'a bad mask croaks');
};

subtest 'several reads and writes on one handle complete in order' => sub {
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @r = map { Future::IO->sysread($rd, 2) } 1 .. 3;
    my @w = map { Future::IO->syswrite($wr, $_) } qw(ab cd ef);
    is([ map { scalar $_->get } @w ], [ 2, 2, 2 ], 'writes');
    is([ map { scalar $_->get } @r ], [qw(ab cd ef)], 'reads, in order');
};

subtest 'a Linux::Event run completes the futures too' => sub {
    my $loop = Linux::Event::Loop->default;
    my $done = 0;
    Future::IO->sleep(0.01)->on_done(sub { $done = 1; $loop->stop });
    $loop->run;
    is($done, 1, 'sleep completed from $loop->run');
};

subtest 'waitpid of a child reaped elsewhere fails, without spinning' => sub {
    my $pid = fork // die "fork: $!";
    POSIX::_exit(5) if !$pid;
    my $f = Future::IO->waitpid($pid);
    waitpid($pid, 0);
    ok(!eval { $f->get; 1 }, 'fails');
    like(scalar $f->failure, qr/^waitpid: /, 'with the errno');
};

done_testing;
