# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# IO::Async::Loop::LinuxEvent beyond IO::Async::LoopTests: what goes
# through the Linux::Event loop natively, the hangup and error routing,
# cleanup when the IO::Async loop goes, bad input, and a clear failure
# when Linux::Event cannot load.
use v5.36;
use Test::More;
use Time::HiRes qw(time);
use IO::Async::OS;

use IO::Async::Loop::LinuxEvent;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my $le = Linux::Event::Loop->default;

subtest 'signals, children and idle work are the loop\'s own' => sub {
    my $loop = IO::Async::Loop::LinuxEvent->new;
    my $got  = 0;
    $loop->watch_signal(USR1 => sub { $got++ });
    ok(!ref $SIG{USR1} || $SIG{USR1} eq 'DEFAULT', 'no %SIG handler installed');
    my $other = 0;
    my $sub   = $le->signal_subscribe(USR1 => sub { $other++ });
    kill 'USR1', $$;
    $loop->loop_once(1) until $got;
    is($other, 1, 'another subscriber of the same signal hears it too');
    $sub->cancel;
    $loop->unwatch_signal('USR1');

    my $pid = fork // die "fork: $!";
    if (!$pid) { require POSIX; POSIX::_exit(7) }
    my $status;
    $loop->watch_process($pid => sub ($kid, $st) { $status = $st });
    ok(!ref $SIG{CHLD}, 'no SIGCHLD handler in %SIG');
    $loop->loop_once(1) until defined $status;
    is($status >> 8, 7, 'watch_process through child()');

    my $ran = 0;
    $loop->later(sub { $ran++ });
    $le->run_once(0);
    is($ran, 1, 'a deferral runs when Linux::Event drives the loop');
    $le->run_once(0);
    is($le->alive, 0, 'and its idle watcher is gone once the queue is empty');
};

subtest 'hangup and error routing' => sub {
    my $loop = IO::Async::Loop::LinuxEvent->new;
    my ($s1, $s2) = IO::Async::OS->socketpair or die "socketpair: $!";
    $_->blocking(0) for $s1, $s2;
    my $hup = 0;
    $loop->watch_io(handle => $s1, on_hangup => sub { $hup++ });
    $s2->syswrite("unread data\n");
    $loop->loop_once(0.3);    # the data's arrival may wake it once
    my $t0 = time;
    $loop->loop_once(0.3);
    $loop->loop_once(0.3);
    cmp_ok(time - $t0, '>=', 0.5, 'unread data does not spin a hangup-only watch');
    is($hup, 0, 'and is no hangup');
    $s2->close;
    $loop->loop_once(0.3) for 1 .. 2;
    is($hup, 1, 'the hangup is reported once');
    $loop->unwatch_io(handle => $s1, on_hangup => 1);

    my ($rd, $wr) = IO::Async::OS->pipepair or die "pipe: $!";
    $_->blocking(0) for $rd, $wr;
    my ($w, $h) = (0, 0);
    $loop->watch_io(handle => $wr, on_write_ready => sub { $w++ }, on_hangup => sub { $h++ });
    $loop->loop_once(0.1);
    is($w, 1, 'write-ready on an empty pipe');
    $loop->unwatch_io(handle => $wr, on_write_ready => 1);
    close $rd;
    $loop->loop_once(0.1);
    is($h, 1, 'on_hangup when the reader goes (EPOLLERR on a pipe)');
    $loop->unwatch_io(handle => $wr, on_hangup => 1);
};

subtest 'dropping the IO::Async loop takes its watchers off the shared loop' => sub {
    is($le->alive, 0, 'nothing on the shared loop');
    my $loop = IO::Async::Loop::LinuxEvent->new;
    undef $IO::Async::Loop::ONE_TRUE_LOOP;
    my ($s1, $s2) = IO::Async::OS->socketpair or die "socketpair: $!";
    $loop->watch_io(handle => $s1, on_read_ready => sub { });
    $loop->watch_time(after => 10, code => sub { });
    $loop->watch_signal(USR2 => sub { });
    $loop->watch_process(0 => sub { });
    $loop->later(sub { });
    cmp_ok($le->alive, '>=', 5, 'watchers, timer, signal, child and idle on it');
    undef $loop;
    is($le->alive, 0, 'all gone with the IO::Async loop');
};

subtest 'bad input' => sub {
    ok(!eval { IO::Async::Loop::LinuxEvent->new(loop => 'x'); 1 }, 'loop must be a loop');
    like($@, qr/^IO::Async::Loop::LinuxEvent: loop must be a reactor Linux::Event::Loop/, 'says so');
    my $pro = eval { Linux::Event::Loop->new(model => 'proactor') };
    if ($pro) {
        ok(!eval { IO::Async::Loop::LinuxEvent->new(loop => $pro); 1 }, 'a proactor is refused');
    }
    my $loop = IO::Async::Loop::LinuxEvent->new;
    ok(!eval { $loop->watch_signal(NOSUCHSIG => sub { }); 1 }, 'unknown signal');
    like($@, qr/^Unrecognised signal name NOSUCHSIG/, "IO::Async's text");
    ok(!eval { $loop->watch_time(code => sub { }); 1 }, 'watch_time without at or after');
    like($@, qr/^Expected one of 'at' or 'after'/, "IO::Async's text");
    ok(!eval { $loop->watch_io(on_read_ready => sub { }); 1 }, 'watch_io without handle');
    like($@, qr/^Expected 'handle'/, "IO::Async's text");
    ok(!eval { $loop->watch_idle(when => 'now', code => sub { }); 1 }, 'watch_idle when');
    like($@, qr/^Expected 'when' to be 'later'/, "IO::Async's text");
};

subtest 'without Linux::Event the class fails to load, saying why' => sub {
    my $inc = join ' ', map {"-I$_"} grep { !ref } @INC;
    my $out = `$^X $inc -e 'unshift \@INC, sub { die "no Linux::Event here\\n" if \$_[1] eq "Linux/Event/Loop.pm"; return };
        eval { require IO::Async::Loop::LinuxEvent; 1 } and exit 1; print \$@; exit 0' 2>&1`;
    is($?, 0, 'require fails');
    like($out, qr/^IO::Async::Loop::LinuxEvent: cannot load Linux::Event::Loop: no Linux::Event here/,
        'with the reason');
    $out = `$^X $inc -e 'unshift \@INC, sub { die "no Linux::Event here\\n" if \$_[1] eq "Linux/Event/Loop.pm"; return };
        eval { require Future::IO::Impl::LinuxEvent; 1 } and exit 1; print \$@; exit 0' 2>&1`;
    is($?, 0, 'Future::IO::Impl::LinuxEvent: require fails');
    like($out, qr/^Future::IO::Impl::LinuxEvent: cannot load Linux::Event::Loop: no Linux::Event here/,
        'with the reason');
};

subtest 'after a later() ran, loop_once waits again' => sub {
    # The deferrals' idle hook stayed one iteration too long: the next
    # loop_once returned at once, having waited for nothing.
    my $loop = IO::Async::Loop::LinuxEvent->new;
    my $ran  = 0;
    $loop->later(sub { $ran++ });
    $loop->loop_once(0);
    is($ran, 1, 'the deferral ran');
    my $fired = 0;
    $loop->watch_time(after => 0.05, code => sub { $fired++ });
    $loop->loop_once(undef);
    is($fired, 1, 'loop_once(undef) waited for the timer and ran it');
};

subtest 'two callbacks that die in one iteration: each exception comes out' => sub {
    # As under IO::Async::Loop::Epoll, where the second runs (and dies) in
    # the next loop_once; the second was only warned about.
    my $loop = IO::Async::Loop::LinuxEvent->new;
    my (@keep, @caught);
    for my $name (qw(A B)) {
        my ($x, $y) = IO::Async::OS->socketpair or die "socketpair: $!";
        syswrite($y, 'x');
        push @keep, $x, $y;
        $loop->watch_io(
            handle        => $x,
            on_read_ready => sub { sysread($x, my $z, 9); die "die$name\n" }
        );
    }
    for (1 .. 3) {
        eval { $loop->loop_once(0.1); 1 } or push @caught, $@ =~ s/\n//r;
    }
    $loop->unwatch_io(handle => $keep[0], on_read_ready => 1);
    $loop->unwatch_io(handle => $keep[2], on_read_ready => 1);
    is_deeply([ sort @caught ], [qw(dieA dieB)], 'the program catches both');
};

subtest 'an open_process still running at exit leaves quietly' => sub {
    # Its watchers could be gone before the loop at global destruction:
    # "(in cleanup) Can't call method "cancel" on an undefined value".
    my $inc = join ' ', map {"-I'$_'"} grep { !ref } @INC;
    my $out = qx{"$^X" $inc -MIO::Async::Loop::LinuxEvent -e '
        my \$loop = IO::Async::Loop::LinuxEvent->new;
        my \$p = \$loop->open_process(command => ["true"], stdin => { via => "pipe_write" },
            on_finish => sub { });
        exit 0' 2>&1};
    is($?, 0, 'exit status 0');
    is($out, '', 'nothing printed at exit') or diag($out);
};

subtest 'timers given the same time fire in the order they were set' => sub {
    my $loop = IO::Async::Loop::LinuxEvent->new;
    my @fired;

    # IO::Async's own loops keep one wall-clock queue: equal times fire in
    # order, so a timer can cancel a sibling set for the same time.
    my $at = time + 0.05;
    for my $i (1 .. 8) {
        $loop->watch_time(at => $at, code => sub { push @fired, $i });
    }
    my $t2;
    $loop->watch_time(at => $at, code => sub { push @fired, 'c'; $loop->unwatch_time($t2) });
    $t2 = $loop->watch_time(at => $at, code => sub { push @fired, 'cancelled one' });
    my $now = time;
    for my $i (1 .. 3) {
        $loop->watch_time(after => 0.05, now => $now, code => sub { push @fired, "n$i" });
    }
    $loop->loop_once(1) until @fired >= 12;
    $loop->loop_once(0);
    is(
        "@fired",
        '1 2 3 4 5 6 7 8 c n1 n2 n3',
        'same at, same after + now: set order, sibling cancelled'
    );

    # Times already past fire by time, not by the order they were set.
    @fired = ();
    my $past = time - 10;
    for my $i (reverse 1 .. 5) {
        $loop->watch_time(at => $past + $i, code => sub { push @fired, $i });
    }
    $loop->loop_once(1) until @fired >= 5;
    is("@fired", '1 2 3 4 5', 'past times fire earliest first');
};

subtest 'a wall-clock step counts from the next iteration, whoever runs the loop' => sub {
    my $loop  = IO::Async::Loop::LinuxEvent->new;
    my $fired = 0;
    my $later;
    $loop->watch_time(
        after => 0.01,
        code  => sub { $fired++; $later = $loop->watch_time(after => 60, code => sub { }) }
    );
    $loop->loop_once(1) until $fired;

    # The wall clock steps an hour ahead, and the Linux::Event loop runs
    # an iteration by itself (a program that mixes frameworks runs it).
    my $real = \&Time::HiRes::time;
    no warnings 'redefine';
    local *Time::HiRes::time = sub { $real->() + 3600 };
    $le->run_once(0);
    $loop->watch_time(after => 0.05, code => sub { $fired++ });
    my $t0 = $real->();
    $le->run_once(0.2) until $fired == 2 || $real->() - $t0 > 5;
    is($fired, 2, 'a timer set after the step fires after its own delay');
    $loop->unwatch_time($later);
};

done_testing;
