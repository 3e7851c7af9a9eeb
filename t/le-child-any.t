# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->child($pid, $cb): any number of watchers per pid, pid 0 for every
# child, the raw wait status, each child reaped once, pid() still told,
# and no spinning for children reaped elsewhere.
use v5.36;
use Test::More;
use POSIX ();

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

subtest 'bad input' => sub {
    my $loop = Linux::Event->new;
    my $line = __LINE__ + 1;
    ok(!eval { $loop->child(-1, sub { }); 1 }, 'negative pid');
    like($@, qr/^child: pid must be 0 \(every child\) or a positive integer \(got '-1'\) at \Q${\ __FILE__}\E line $line/,
        'names the method, the argument and the line');
    ok(!eval { $loop->child(1.5, sub { }); 1 }, 'fractional pid');
    ok(!eval { $loop->child(0, 'nope'); 1 }, 'non-code cb');
    like($@, qr/^child: cb must be a code reference/, 'cb message');
    ok(!eval { $loop->child(1, sub { }); 1 }, 'pid 1 is not our child');
    like($@, qr/cannot watch pid 1/, 'kernel refusal message');
};

subtest 'child(0) with 50 children exiting at once' => sub {
    my $loop = Linux::Event->new;
    my (%any, %one, $pidcb);
    my $all = $loop->child(0, sub ($l, $pid, $status) { $any{$pid} .= $status >> 8; $l->stop if keys %any == 50 });
    pipe(my $go_r, my $go_w) or die;
    my @kids;
    for my $i (1 .. 50) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $go_w;
            sysread($go_r, my $b, 1);    # all exit together
            POSIX::_exit($i);
        }
        push @kids, [ $pid, $i ];
    }
    close $go_r;
    my ($p1, $code1) = @{ $kids[0] };
    $loop->child($p1, sub ($l, $pid, $status) { $one{$pid} .= "a" . ($status >> 8) });
    $loop->child($p1, sub ($l, $pid, $status) { $one{$pid} .= "b" . ($status >> 8) });
    $loop->pid($kids[1][0], sub ($l, $pid, $status, $d) { $pidcb = $status >> 8 });
    close $go_w;    # EOF: every child exits now
    $loop->after(20, sub ($l) { $l->stop });
    $loop->run;
    is(scalar keys %any, 50, 'the pid-0 watcher heard every child once');
    is_deeply([ map { $any{ $_->[0] } } @kids ], [ map { $_->[1] } @kids ], 'each with its raw exit status');
    is($one{$p1}, "a${code1}b${code1}", 'two watchers of one pid, in subscription order');
    is($pidcb, $kids[1][1], 'a pid() subscription of the same pid still got its status');
    is(waitpid(-1, POSIX::WNOHANG()), -1, 'every child was reaped');
    ok($all->is_active, 'the pid-0 watcher stays');
    ok($all->cancel, 'cancel');
};

subtest 'a child reaped by someone else' => sub {
    my $loop = Linux::Event->new;
    my $pid  = fork // die;
    POSIX::_exit(7) if !$pid;
    my @seen;
    my $w = $loop->child($pid, sub ($l, $p, $status) { push @seen, [ $p, $status, 0 + $! ] });
    is(waitpid($pid, 0), $pid, 'reaped by our own waitpid');
    my $n = 0;
    $loop->run_once(0.2) while !@seen && $n++ < 20;
    ok($n < 20, 'the loop did not spin');
    is($seen[0][0], $pid, 'the watcher was told');
    is($seen[0][1], undef, 'status undef');
    is($seen[0][2], POSIX::ECHILD(), '$! is ECHILD');
    ok(!$w->is_active, 'one pid: one shot');
    is($loop->alive, 0, 'nothing left');
};

subtest 'a dying callback reaches run' => sub {
    my $loop = Linux::Event->new;
    my $pid  = fork // die;
    POSIX::_exit(0) if !$pid;
    $loop->child(0, sub { die "child cb\n" });
    ok(!eval { $loop->run; 1 }, 'run dies');
    is($@, "child cb\n", 'with the error');
};

done_testing;
