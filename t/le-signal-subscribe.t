# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->signal_subscribe: any number of subscribers per signal, called in
# subscription order (signal()'s handler is one of them); a signal nobody
# subscribes any more is handed to %SIG; children see no blocked signal.
use v5.36;
use Test::More;
use POSIX ();
use File::Temp ();
use Time::HiRes qw(time);

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

sub sigblk () {
    open(my $f, '<', '/proc/self/status') or return '';
    my ($l) = grep {/^SigBlk/} <$f>;
    return $l // '';
}

subtest 'bad input croaks naming the method, from the caller' => sub {
    my $loop = Linux::Event->new;
    my $cb   = sub { };
    my $line = __LINE__ + 1;
    ok(!eval { $loop->signal_subscribe('NOPE', $cb); 1 }, 'unknown name');
    like($@, qr/^signal_subscribe: unknown signal 'NOPE' at \Q${\ __FILE__}\E line $line/, 'message and line');
    ok(!eval { $loop->signal_subscribe('USR1', 'x'); 1 }, 'non-code cb');
    like($@, qr/^signal_subscribe: cb must be a code reference at \Q${\ __FILE__}\E/, 'cb message');
    ok(!eval { $loop->signal_subscribe(undef, $cb); 1 }, 'undef signal');
    like($@, qr/^signal_subscribe: signal is required/, 'signal message');
    ok(!eval { $loop->signal_subscribe([], $cb); 1 }, 'empty list');
    like($@, qr/^signal_subscribe: no signals provided/, 'list message');
};

subtest 'fan-out in subscription order, signal() is one subscriber' => sub {
    my $loop = Linux::Event->new;
    my @seen;
    my $a = $loop->signal_subscribe('USR1', sub ($l, $name) { push @seen, "a:$name" });
    my $h = $loop->signal(USR1 => sub ($l, $signo, $count, $data) { push @seen, "h:$signo" });
    my $b = $loop->signal_subscribe([qw(USR1 USR2)],
        sub ($l, $name) { is($l, $loop, 'first argument is the loop'); push @seen, "b:$name" });
    kill USR1 => $$;
    $loop->run_once(1) while @seen < 3;
    is_deeply(\@seen, [ 'a:USR1', 'h:' . POSIX::SIGUSR1(), 'b:USR1' ], 'order: a, signal(), b');
    @seen = ();
    $loop->signal(USR1 => sub { push @seen, 'h2' });    # last wins, one handler
    ok($a->cancel, 'cancel');
    ok(!$a->cancel, 'second cancel is 0');
    ok(!$a->is_active, 'inactive');
    kill USR2 => $$;
    kill USR1 => $$;
    $loop->run_once(1) while @seen < 3;
    is_deeply([ sort @seen ], [ sort 'h2', 'b:USR1', 'b:USR2' ], 'replacement and cancel respected');
    $b->cancel;
    $h->cancel;
};

subtest 'a subscriber cancelling another from its callback' => sub {
    my $loop = Linux::Event->new;
    my @seen;
    my $second;
    my $first = $loop->signal_subscribe('USR2', sub { push @seen, 1; $second->cancel; $_[0]->stop });
    $second = $loop->signal_subscribe('USR2', sub { push @seen, 2 });
    kill USR2 => $$;
    $loop->run;
    is_deeply(\@seen, [1], 'a subscriber cancelled earlier in the drain does not run');
    $first->cancel;
};

subtest '%SIG after the last cancel' => sub {
    my $loop = Linux::Event->new;
    my @seen;
    my $s = $loop->signal_subscribe('USR1', sub { push @seen, 'sub' });
    my $h = $loop->signal('USR1', sub { push @seen, 'handler' });
    $s->cancel;
    $h->cancel;
    is($loop->alive, 0, 'nothing of the caller is left: alive is 0');
    local $SIG{USR1} = sub ($name) { push @seen, "SIG:$name" };
    kill USR1 => $$;
    $loop->run_once(1) while !@seen;
    is_deeply(\@seen, ['SIG:USR1'], 'the %SIG code ref runs from the loop');
    @seen = ();
    $SIG{USR1} = 'IGNORE';
    kill USR1 => $$;
    $loop->run_once(0.05);
    is_deeply(\@seen, [], 'IGNORE drops it');
    $SIG{USR1} = 'DEFAULT';
    kill USR1 => $$;
    $loop->run_once(0.05);
    pass('DEFAULT: swallowed while the loop lives (we are still here)');
    my $dies = $loop->signal_subscribe('USR2', sub { die "boom\n" });
    kill USR2 => $$;
    ok(!eval { $loop->run; 1 }, 'a dying subscriber ends run');
    is($@, "boom\n", 'with its error');
    $dies->cancel;
};

subtest 'the proactor offers signal_subscribe and child too' => sub {
    my $loop = Linux::Event->new(model => 'proactor', backend => 'fake');
    my @seen;
    my $s = $loop->signal_subscribe('USR1', sub ($l, $name) { push @seen, [ ref $l, $name ] });
    kill USR1 => $$;
    $loop->run_once(0.5) for 1 .. 3;
    is_deeply(\@seen, [ [ 'Linux::Event::Proactor', 'USR1' ] ], 'delivered, the engine first');
    ok($s->cancel, 'cancel');
    my $pid = fork // die;
    POSIX::_exit(3) if !$pid;
    my $status;
    $loop->child($pid, sub ($l, $p, $st) { $status = $st });
    my $t0 = time;
    $loop->run_once(0.2) while !defined $status && time - $t0 < 10;
    is($status >> 8, 3, 'child status');
    is($loop->alive, 0, 'nothing left');
};

subtest 'children see no blocked signal' => sub {
    my $loop = Linux::Event->new;
    my $s    = $loop->signal_subscribe([qw(USR1 USR2 HUP)], sub { });
    like(sigblk(), qr/SigBlk:\s*0*[1-9a-f]/, 'the loop blocked its signals here');
    like(`grep SigBlk /proc/self/status`, qr/SigBlk:\s*0+\n/, 'backticks child: nothing blocked');
    pipe(my $r, my $w) or die;
    my $pid = fork // die;
    if (!$pid) {
        syswrite($w, sigblk());
        POSIX::_exit(0);
    }
    close $w;
    my $child = <$r>;
    waitpid($pid, 0);
    like($child, qr/SigBlk:\s*0+\n/, 'forked child: nothing blocked');

    pipe($r, $w) or die;
    $pid = fork // die;
    if (!$pid) {
        open(STDOUT, '>&', $w) or POSIX::_exit(1);
        { no warnings 'exec'; exec 'grep', 'SigBlk', '/proc/self/status' }
        POSIX::_exit(2);
    }
    close $w;
    my $exec = <$r>;
    waitpid($pid, 0);
    like($exec, qr/SigBlk:\s*0+\n/, 'exec: nothing blocked');

    my $out = File::Temp->new;
    system("grep SigBlk /proc/self/status > " . $out->filename);
    is($?, 0, 'system ran');
    like(do { local $/; my $f = $out->filename; open(my $fh, '<', $f) or die; <$fh> },
        qr/SigBlk:\s*0+\n/, 'system child: nothing blocked');
    my $rc = do { no warnings 'exec'; system { '/nonexistent/prog' } '/nonexistent/prog' };
    is($rc, -1, 'system of a missing program is -1');
    like(sigblk(), qr/SigBlk:\s*0*[1-9a-f]/, 'the loop blocks its signals again after system');

    # A signal that arrives while system runs still reaches the loop.
    my @got;
    my $t = $loop->signal_subscribe('USR2', sub ($l, $n) { push @got, $n });
    system('sh', '-c', "kill -USR2 $$");
    $loop->run_once(1) while !@got;
    is_deeply(\@got, ['USR2'], 'a signal sent during system is read by the loop afterwards');
    $t->cancel;

    require Linux::Event::Fork;
    Linux::Event::Fork->import;
    my $spawned = '';
    $loop->fork(
        cmd       => [ 'grep', 'SigBlk', '/proc/self/status' ],
        on_stdout => sub ($c, $b) { $spawned .= $b },
        on_exit   => sub ($c, $e) { $loop->stop },
    );
    $loop->run;
    like($spawned, qr/SigBlk:\s*0+\n/, 'Linux::Event::Fork child: nothing blocked');
    $s->cancel;
};

done_testing;
