# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A forked child uses its copy of the loop fully (the loop rebuilds its
# kernel objects there at first use), and the parent's loop is untouched:
# the three failures of issue 12, on the reactor and the proactor.
use v5.36;
use Test::More;
use POSIX ();
use Time::HiRes qw(time);

use lib 't/lib';
use EvlTest qw(has uring_loop);
use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

# Runs $code in a forked child; returns what it printed to the pipe and
# its wait status.  The child always leaves with _exit.
sub in_child ($code) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my $out = eval { $code->() } // "died: $@";
        syswrite($w, $out);
        POSIX::_exit(0);
    }
    close $w;
    local $/;
    my $out = <$r> // '';
    waitpid($pid, 0);
    return ($out, $?);
}

subtest 'a child watches a new pipe on the inherited loop and it fires' => sub {
    my $loop = Linux::Event->new;
    pipe(my $pr, my $pw) or die;
    my $parent_reads = 0;
    $loop->watch($pr, read => sub ($l, $fh, $w) { sysread($fh, my $b, 64); $parent_reads++ });
    my ($out, $st) = in_child(sub {
        pipe(my $r, my $w) or die;
        my ($got, $tick, $sig) = ('', 0, 0);
        $loop->watch($r, read => sub ($l, $fh, $wt) { sysread($fh, $got, 64); $l->stop });
        $loop->after(0.01, sub ($l) { $tick++ });
        $loop->signal_subscribe('USR2', sub ($l, $n) { $sig++ });
        kill USR2 => $$;
        $loop->run_once(1) for 1 .. 2;
        syswrite($w, "hello");
        $loop->after(5, sub ($l) { $l->stop });
        $loop->run;
        return "got=$got tick=$tick sig=$sig";
    });
    is($st, 0, 'the child exited normally');
    like($out, qr/got=hello tick=1 sig=1/, 'the child saw its pipe, its timer and its signal');
    syswrite($pw, "x");
    $loop->run_once(1);
    is($parent_reads, 1, 'the parent loop still serves its own watcher');
};

subtest 'a child cancelling and re-arming a timer leaves the parent timer alone' => sub {
    my $loop  = Linux::Event->new;
    my $fired = 0;
    my $t0    = time;
    my $id    = $loop->after(0.3, sub ($l) { $fired = time - $t0; $l->stop });
    $loop->run_once(0);
    my ($out, $st) = in_child(sub {
        my $c = $loop->cancel($id);
        $loop->after(5, sub { });
        $loop->run_once(0);
        return "cancel=$c";
    });
    is($out, 'cancel=1', 'the child cancelled its copy');
    my $guard = $loop->after(3, sub ($l) { $l->stop });
    $loop->run;
    ok($fired > 0.2 && $fired < 2, "the parent's 0.3 s timer fired on time ($fired)");

    # A child that drops the loop (destructors run, exit) changes nothing.
    my $fired2 = 0;
    $t0 = time;
    $loop->after(0.2, sub ($l) { $fired2 = time - $t0; $l->stop });
    my $pid = fork // die;
    if (!$pid) {
        undef $loop;
        POSIX::_exit(0);
    }
    waitpid($pid, 0);
    $loop->run;
    ok($fired2 > 0.1 && $fired2 < 2, "the parent's timer fired after the child freed its copy ($fired2)");
};

subtest 'after_fork rebuilds at once; a child watches by fd number' => sub {
    my $loop = Linux::Event->new;
    my ($out) = in_child(sub {
        $loop->after_fork;
        pipe(my $r, my $w) or die;
        my $seen = 0;
        $loop->watch(fileno($r), read => sub ($l, $fd, $wt) { $seen = $fd; $wt->cancel });
        syswrite($w, "y");
        $loop->run_once(1);
        return $seen == fileno($r) ? 'ok' : "seen=$seen";
    });
    is($out, 'ok', 'after_fork, then a watch by fd in the child');
    $loop->after_fork;
    pass('after_fork in the process that made the loop is a no-op');
};

subtest 'run_once on a proactor copy in a child does not crash' => sub {
    for my $backend ('uring', 'fake') {
        my $loop =
            $backend eq 'uring'
            ? uring_loop(sub { Linux::Event->new(model => 'proactor') })
            : Linux::Event->new(model => 'proactor', backend => 'fake');
        next if !$loop;
        my $ticks = 0;
        my $every = $backend eq 'uring' ? undef : 1;
        my ($out, $st) = in_child(sub {
            my $n = $loop->run_once(0);
            my $idle = 0;
            my $h = $loop->idle(sub ($l, $w) { $idle++; $w->cancel });
            $loop->run_once(0);
            return "n=$n idle=$idle";
        });
        is($st & 127, 0, "$backend: the child was not killed by a signal (status $st)");
        like($out, qr/^n=\d+ idle=1$/, "$backend: run_once and an idle hook work in the child");
        is($loop->run_once(0) >= 0, 1, "$backend: the parent's loop still runs");

        # A child that frees its copy leaves the parent's ring and ops alone.
        my $done;
        $loop->after(0.1, on_complete => sub { $done = 1 });
        my $pid = fork // die;
        if (!$pid) {
            undef $loop;
            POSIX::_exit(0);
        }
        waitpid($pid, 0);
        is($? & 127, 0, "$backend: freeing the copy in a child did not crash it");
        my $t0 = time;
        $loop->run_once(0.5) while !$done && time - $t0 < 5;
        ok($done, "$backend: the parent's operation still completes");
    }
};

subtest "pid and child subscriptions are the parent's: dropped in a child" => sub {
    my $loop = Linux::Event->new;
    my $kid  = fork // die;
    if (!$kid) {
        sleep 5;
        POSIX::_exit(0);
    }
    my $p = $loop->pid($kid, sub { });
    my $c = $loop->child($kid, sub { });
    my ($out) = in_child(sub {
        $loop->run_once(0);
        return join ',', $p->is_active, $c->is_active;
    });
    is($out, '0,0', 'inactive in the child after its first use of the loop');
    ok($p->is_active && $c->is_active, 'still active in the parent');
    kill TERM => $kid;
    my $t0 = time;
    $loop->run_once(0.5) while $c->is_active && time - $t0 < 5;
    ok(!$c->is_active, 'the parent reaped its child');
};

done_testing;
