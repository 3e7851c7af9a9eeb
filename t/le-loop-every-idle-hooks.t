# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# every (drift-free, cancel by id), idle, prepare/check hooks, now/time/
# update_time and alive, on the reactor and (where offered) the proactor.
use v5.36;
use Test::More;
use Time::HiRes qw(time sleep);

use lib 't/lib';
use EvlTest qw(uring_loop);
use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

subtest 'bad input' => sub {
    my $loop = Linux::Event->new;
    my $line = __LINE__ + 1;
    ok(!eval { $loop->every(0, sub { }); 1 }, 'every(0)');
    like($@, qr/^every: seconds must be a number > 0 \(got '0'\) at \Q${\ __FILE__}\E line $line/, 'message and line');
    ok(!eval { $loop->every('x', sub { }); 1 }, 'every(x)');
    ok(!eval { $loop->every(1, 'x'); 1 }, 'every: non-code');
    like($@, qr/^every: cb must be a code reference/, 'every cb message');
    for my $m (qw(idle prepare check)) {
        ok(!eval { $loop->$m({}); 1 }, "$m: non-code");
        like($@, qr/^$m: cb must be a code reference/, "$m message");
    }
};

subtest 'every: drift-free, missed ticks coalesce, cancel' => sub {
    my $loop = Linux::Event->new;
    my @at;
    my $t0 = $loop->update_time;
    my $id;
    $id = $loop->every(0.05, sub ($l) {
        push @at, $l->now - $t0;
        sleep(0.12) if @at == 2;    # miss two ticks
        $l->stop if @at == 5;
    });
    ok($id > 0, 'an id');
    $loop->run;
    is(scalar @at, 5, 'five calls');
    # Deadlines stay on the 50 ms grid of the first one (never early),
    # and the two ticks the slow call made us miss coalesce into one
    # call: five calls span at least six intervals.  (A loaded machine
    # only makes calls later; libcheck pins the exact deadlines.)
    my @grid = map { int($_ / 0.05 + 0.02) } @at;
    ok($grid[0] >= 1 && $grid[1] >= 2, "not early (@grid)");
    ok($grid[2] >= 4, "after the slow call the next tick is a later one on the grid (@grid)");
    ok($grid[4] >= 6, "missed ticks were not replayed (@grid)");
    is($loop->cancel($id), 1, 'cancel takes the id');
    is($loop->cancel($id), 0, 'once');
    is($loop->alive, 0, 'nothing left');

    my $n = 0;
    my $self;
    $self = $loop->every(0.01, sub ($l) { $l->cancel($self) if ++$n == 3 });
    $loop->run_once(0.5) while $loop->alive;
    is($n, 3, 'cancel from its own callback');

    my $boom = $loop->every(0.01, sub { die "every died\n" });
    ok(!eval { $loop->run; 1 }, 'a dying every callback ends run');
    is($@, "every died\n", 'with its error');
    is($loop->cancel($boom), 1, 'and the timer is still there to cancel');
};

subtest 'now, time, update_time' => sub {
    my $loop = Linux::Event->new;
    my $now  = $loop->now;
    ok($now > 0, 'now is monotonic seconds');
    ok(abs($loop->time - time) < 2, 'time is the wall clock');
    sleep(0.05);
    is($loop->now, $now, 'now is cached');
    ok($loop->update_time - $now >= 0.04, 'update_time refreshes it');
    my $t1 = $loop->time;
    ok(abs($t1 - time) < 0.5, 'time refreshed too');
};

subtest 'idle, prepare, check, alive' => sub {
    my $loop = Linux::Event->new;
    is($loop->alive, 0, 'a new loop has nothing');
    my @log;
    my $p = $loop->prepare(sub ($l, $h) { push @log, 'prepare' });
    my $c = $loop->check(sub ($l, $h) { push @log, 'check' });
    is($loop->alive, 0, 'hooks do not count');
    my $n = 0;
    my $idle = $loop->idle(sub ($l, $w) { push @log, 'idle'; $w->cancel if ++$n == 3 });
    is($loop->alive, 1, 'idle counts');
    my $t0 = time;
    $loop->run_once while $idle->is_active;    # never blocks while idle is active
    ok(time - $t0 < 1, 'the waits did not block');
    is($n, 3, 'idle ran three times');
    is($log[0], 'prepare', 'prepare comes first');
    is_deeply([ sort @log[ 0 .. 2 ] ], [qw(check idle prepare)], 'each iteration: prepare, idle and check');
    $p->cancel;
    $c->cancel;
    ok(!$p->is_active, 'cancelled');
    my $id = $loop->after(10, sub { });
    pipe(my $r, my $w) or die;
    my $wt = $loop->watch($r, read => sub { });
    my $s  = $loop->signal_subscribe('USR1', sub { });
    is($loop->alive, 3, 'a timer, a watcher, a signal');
    $loop->cancel($id);
    $wt->cancel;
    $s->cancel;
    is($loop->alive, 0, '0 when nothing is left');

    # idle while a timer is pending: idle runs, the timer still fires
    my ($fired, $idles) = (0, 0);
    $loop->after(0.05, sub ($l) { $fired = 1; $l->stop });
    my $i2 = $loop->idle(sub { $idles++ });
    $loop->run;
    ok($fired && $idles > 0, "timer fired with an idle watcher active ($idles idles)");
    $i2->cancel;
    my $d = $loop->idle(sub { die "idle died\n" });
    ok(!eval { $loop->run; 1 }, 'a dying idle callback ends run');
    is($@, "idle died\n", 'with its error');
    ok($d->cancel, 'still cancellable');
};

subtest 'proactor: idle, hooks, now, alive' => sub {
    for my $backend ('fake', 'uring') {
        my $loop =
            $backend eq 'uring'
            ? uring_loop(sub { Linux::Event->new(model => 'proactor') })
            : Linux::Event->new(model => 'proactor', backend => 'fake');
        next if !$loop;
        my @log;
        my $p = $loop->prepare(sub { push @log, 'p' });
        my $n = 0;
        my $i = $loop->idle(sub ($l, $w) { push @log, 'i'; $w->cancel if ++$n == 2 });
        is($loop->alive, 1, "$backend: idle counts");
        $loop->run_once(0) for 1 .. 3;
        is($n, 2, "$backend: idle ran");
        ok((grep { $_ eq 'p' } @log) >= 2, "$backend: prepare ran");
        $p->cancel;
        ok($loop->now > 0 && $loop->time > 1e9, "$backend: now and time");
        is($loop->alive, 0, "$backend: nothing left");
        my $ticks = 0;
        my $e = $loop->every(0.01, sub ($l, $sub) { $sub->cancel if ++$ticks == 3 });
        is($loop->alive, 1, "$backend: every counts");
        my $t0 = time;
        $loop->run_once(0.05) while $e->is_active && time - $t0 < 5;
        is($ticks, 3, "$backend: every ran three times, then cancelled itself");
        ok(!eval { $loop->every(-1, sub { }); 1 }, "$backend: every(-1) croaks");
        like($@, qr/^every: seconds must be a number > 0/, "$backend: every message");
    }
};

done_testing;
