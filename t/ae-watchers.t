# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every AnyEvent watcher on AnyEvent::Impl::LinuxEvent: io (handles, fd
# numbers, several watchers per fd and direction), timers (after,
# interval), signal, child (pid and 0), idle, now/now_update, _poll and
# condvar waits (nested ones too), through AnyEvent's and AE's APIs.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);

BEGIN {
    plan skip_all => 'AnyEvent is not installed (scripts/dev.sh installs libanyevent-perl)'
        if !eval { require AnyEvent; 1 };
    $ENV{PERL_ANYEVENT_MODEL} = 'LinuxEvent';
}
use AnyEvent;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

is(AnyEvent::detect(), 'AnyEvent::Impl::LinuxEvent', 'model');
my $loop = AnyEvent::Impl::LinuxEvent->loop;

sub wait_for ($cond, $max = 2) {
    my $cv = AE::cv;
    my $t  = AE::timer $max, 0, sub { $cv->send };
    my $c  = AE::timer 0, 0.005, sub { $cv->send if $cond->() };
    $cv->recv;
    return $cond->();
}

subtest 'io: several watchers per fd and direction, handles and numbers' => sub {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die $!;
    my %n;
    my $r1 = AE::io $a, 0, sub { $n{r1}++ };
    my $r2 = AnyEvent->io(fh => fileno($a), poll => 'r', cb => sub { $n{r2}++ });
    my $w1 = AE::io $a, 1, sub { $n{w1}++ };
    my $w2 = AE::io fileno($a), 1, sub { $n{w2}++ };
    ok(wait_for(sub { $n{w1} && $n{w2} }), 'two writers on one fd both run');
    ok(!$n{r1} && !$n{r2}, 'no reader ran before data');
    undef $w1;
    undef $w2;
    syswrite $b, 'x';
    %n = ();
    ok(wait_for(sub { $n{r1} && $n{r2} }), 'two readers (handle and fd number) both run');
    ok(!$n{w1} && !$n{w2}, 'dropped writers are gone');
    undef $r1;
    %n = ();
    ok(wait_for(sub { $n{r2} }), 'the other reader survives one being dropped');
    ok(!$n{r1}, 'the dropped reader does not run');
    undef $r2;
    ok(!$loop->unwatch(fileno $a), 'the loop watcher went with the last AnyEvent watcher');

    # A watcher dropped by another's callback of the same event does not run.
    my ($x, $y, $ran);
    $x = AE::io $a, 0, sub { undef $y; undef $x; $ran++ };
    $y = AE::io $a, 0, sub { undef $x; undef $y; $ran++ };
    ok(!wait_for(sub { $ran && $ran > 1 }, 0.1), 'one of two mutually dropping watchers runs');
    is($ran, 1, '... exactly one');
    sysread $a, my $buf, 10;
};

subtest 'io: the same fd again after close' => sub {
    pipe(my $r, my $w) or die $!;
    my $fd = fileno $r;
    my $n  = 0;
    my $io = AE::io $r, 0, sub { $n++ };
    undef $io;
    close $r;
    close $w;
    pipe($r, $w) or die $!;
    is(fileno $r, $fd, 'the fd number is reused') or return;
    syswrite $w, 'y';
    my $m = 0;
    $io = AE::io $r, 0, sub { $m++ };
    ok(wait_for(sub { $m }), 'a new watcher on the reused number fires');
    is($n, 0, 'the old one never did');
};

subtest 'timers' => sub {
    my $cv = AE::cv;
    my @order;
    my $t1 = AE::timer 0.02, 0, sub { push @order, 'b'; $cv->send };
    my $t2 = AnyEvent->timer(after => 0.01, cb => sub { push @order, 'a' });
    my $t3 = AE::timer 0.005, 0, sub { push @order, 'never' };
    undef $t3;
    $cv->recv;
    is("@order", 'a b', 'one-shot timers in deadline order; a dropped one never runs');

    my ($n, $first) = (0);
    my $start = AE::time;
    $cv = AE::cv;
    my $iv = AE::timer 0.03, 0.01, sub { $first //= AE::time - $start; $cv->send if ++$n == 4 };
    $cv->recv;
    is($n, 4, 'interval timer repeats');
    cmp_ok($first, '>=', 0.025, 'the first run waits for "after", not the interval');
    undef $iv;
    my $m = $n;
    ok(!wait_for(sub { $n > $m }, 0.05), 'a dropped interval timer stops');

    $cv = AE::cv;
    my $c = AnyEvent->timer(after => 0, cb => $cv);    # a condvar is a callback
    $cv->recv;
    pass('an object with &{} overloading as the callback');

    $cv = AE::cv;
    my $same = AnyEvent->timer(
        after    => 0.01,
        interval => 0.01,
        cb       => sub { $cv->send('again') if ++$n > 6 }
    );
    is($cv->recv, 'again', 'after == interval');
};

subtest 'signals: several watchers, %SIG beside them' => sub {
    my (@got, $sig);
    local $SIG{USR2} = sub { $sig = shift };
    my $cv = AE::cv;
    my $s1 = AE::signal USR1 => sub { push @got, 1 };
    my $s2 = AnyEvent->signal(signal => 'USR1', cb => sub { push @got, 2; $cv->send });
    kill USR1 => $$;
    $cv->recv;
    is("@got", '1 2', 'both watchers of one signal run, in order');
    ok(!ref $SIG{USR1}, 'no %SIG handler was installed for the watchers');
    ok(!defined &AnyEvent::Base::signal, 'AnyEvent::Base\'s %SIG fallback is not in use');
    kill USR2 => $$;
    ok(wait_for(sub { $sig }), '%SIG handler of another signal still runs');
    is($sig, 'USR2', '... with the signal name');
    undef $s1;
    undef $s2;
    @got = ();
    local $SIG{USR1} = sub { push @got, 'SIG' };
    kill USR1 => $$;
    ok(wait_for(sub { @got }), 'after the watchers are gone, %SIG gets the signal');
    is("@got", 'SIG', '... and only %SIG');
};

subtest 'child: by pid and pid 0' => sub {
    my $cv = AE::cv;
    my %got;
    my $any = AE::child 0, sub ($pid, $status) {
        $got{any}{$pid} = $status >> 8;
        $cv->send if keys %{ $got{any} } == 2;
    };
    my $p1 = fork // die "fork: $!";
    if (!$p1) { POSIX::_exit(3) }
    my $p2 = fork // die "fork: $!";
    if (!$p2) { POSIX::_exit(4) }
    my $one =
        AnyEvent->child(pid => $p2, cb => sub ($pid, $status) { $got{one} = [$pid, $status >> 8] });
    $cv->recv;
    is_deeply($got{any}, { $p1 => 3, $p2 => 4 }, 'pid 0 sees every child with its status');
    is_deeply($got{one}, [$p2, 4], 'the pid watcher gets (pid, status)');
    my $none = AE::child 1, sub { };
    ok($none, 'a pid that is not our child gives a watcher (that never fires)');
};

subtest 'idle' => sub {
    my $cv = AE::cv;
    my $n  = 0;
    my $i  = AE::idle sub { $cv->send if ++$n == 3 };
    $cv->recv;
    is($n, 3, 'idle runs once per idle iteration');
    undef $i;
    my $m = $n;
    ok(!wait_for(sub { $n > $m }, 0.03), 'a dropped idle watcher stops');
    $cv = AE::cv;
    my $j = AnyEvent->idle(cb => sub { $cv->send('ok') });
    is($cv->recv, 'ok', 'AnyEvent->idle');
};

subtest 'now, now_update, time' => sub {
    my $now = AE::now;
    cmp_ok(abs($now - time), '<', 5, 'AE::now is the wall clock');
    my $t0 = AE::time;
    1 while AE::time - $t0 < 0.02;    # busy: no loop iteration
    is(AE::now, $now, 'AE::now stays during a callback-free stretch');
    AE::now_update;
    cmp_ok(AE::now - $now, '>=', 0.015, 'AE::now_update refreshes it');
    AnyEvent->now_update;
    cmp_ok(abs(AnyEvent->now - AE::now), '<', 0.01, 'AnyEvent->now agrees');
    cmp_ok(AnyEvent->time, '>=', AE::now, 'AnyEvent->time is current');
};

subtest 'condvar waits, nested' => sub {
    my $outer = AE::cv;
    my $t     = AE::timer 0.01, 0, sub {
        my $inner = AE::cv;
        my $t2    = AE::timer 0.01, 0, sub { $inner->send(21) };
        $outer->send($inner->recv * 2);    # recv inside a callback
    };
    is($outer->recv, 42, 'a recv inside a callback runs the loop further');

    my $cv = AE::cv;
    $cv->begin;
    $cv->begin;
    my $a = AE::timer 0.005, 0, sub { $cv->end };
    my $b = AE::timer 0.01, 0, sub { $cv->end };
    $cv->recv;
    pass('begin/end');

    $cv = AE::cv;
    my $c = AE::timer 0, 0, sub { $cv->croak("bad\n") };
    ok(!eval { $cv->recv; 1 }, 'croak propagates');
    like($@, qr/^bad\n/, '... with its message');

    my $n = 0;
    my $p = AE::timer 0, 0, sub { $n++ };
    AnyEvent->_poll until $n;
    is($n, 1, '_poll runs the loop');
};

subtest 'one loop with Linux::Event code' => sub {
    my ($ae, $le);
    my $cv = AE::cv;
    my $t  = AE::timer 0.01, 0, sub { $ae = 1 };
    $loop->after(0.02, sub { $le = 1; $cv->send });
    $cv->recv;
    ok($ae && $le, 'recv runs Linux::Event timers, and the other way round');
    my $t2 = AE::timer 0.01, 0, sub { $loop->stop };
    $loop->run;
    pass('$loop->run runs AnyEvent timers');
};

done_testing;
