# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# IO::Async::Loop::LinuxEvent in forked children: each child keeps using
# the loop it inherited (io, timers, signals, rebuilt at first use, with
# or without post_fork), the parent's loop is untouched and reaps them
# through watch_process, IO::Async's own $loop->fork works, and a new
# loop made in a child is empty.
use v5.36;
use Test::More;
use POSIX ();

use IO::Async::Loop::LinuxEvent;
use IO::Async::Loop;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my $loop = IO::Async::Loop->new;
isa_ok($loop, 'IO::Async::Loop::LinuxEvent', 'loading the class makes it the magic choice');
is($loop->linux_event, Linux::Event::Loop->default, 'on the shared default loop');

# The parent watches a pipe before any fork; children inherit the watch.
pipe(my $prd, my $pwr) or die "pipe: $!";
my $parent_got = '';
$loop->watch_io(
    handle        => $prd,
    on_read_ready => sub { sysread($prd, my $buf, 100); $parent_got .= $buf },
);

# Child $i: a fresh pipe watch, a timer that feeds it, a signal to itself,
# on the inherited loop.  Exit status 10 + $i means all three worked.
sub child_body ($i) {
    $loop->post_fork if $i == 2;    # explicit for one, implicit for the others
    $loop->unwatch_io(handle => $prd, on_read_ready => 1);
    pipe(my $crd, my $cwr) or POSIX::_exit(1);
    my ($read, $sig) = ('', 0);
    $loop->watch_io(
        handle        => $crd,
        on_read_ready => sub { sysread($crd, my $buf, 100); $read .= $buf },
    );
    $loop->watch_signal(USR1 => sub { $sig++ });
    $loop->watch_time(after => 0.02, code => sub { syswrite($cwr, "c$i"); kill 'USR1', $$ });
    my $deadline = time + 10;
    $loop->loop_once(0.5) while (!$sig || $read ne "c$i") && time < $deadline;
    POSIX::_exit($read eq "c$i" && $sig == 1 ? 10 + $i : 2);
}

my %status;
for my $i (1 .. 3) {
    my $pid = fork // die "fork: $!";
    child_body($i) if !$pid;
    $loop->watch_process($pid => sub ($kid, $st) { $status{$i} = $st });
}

# IO::Async's own fork: the loop is usable inside the code too.
$loop->fork(
    code => sub {
        my $fired = 0;
        $loop->watch_time(after => 0.01, code => sub { $fired = 1 });
        $loop->loop_once(1) while !$fired;
        return 42;
    },
    on_exit => sub ($pid, $st) { $status{fork} = $st },
);

# A child that makes a new loop (IO::Async's fork clears the magic one)
# gets an empty loop: the parent's watch, timer and signal do not run there.
my $leaked = 0;
pipe(my $xrd, my $xwr) or die "pipe: $!";
$loop->watch_io(handle => $xrd, on_read_ready => sub { sysread($xrd, my $buf, 10); $leaked++ });
my $tid = $loop->watch_time(after => 0.01, code => sub { $leaked++ });
$loop->watch_signal(USR2 => sub { $leaked++ });
syswrite($xwr, 'x');
$loop->fork(
    code => sub {
        my $new = IO::Async::Loop->new;
        return 2 if ref($new) ne 'IO::Async::Loop::LinuxEvent' || $new == $loop;
        my $fired = 0;
        $new->watch_time(after => 0.1, code => sub { $fired = 1 });
        kill 'USR2', $$;
        $new->loop_once(1) while !$fired;
        $new->loop_once(0.05);
        return $leaked ? 3 : 43;
    },
    on_exit => sub ($pid, $st) { $status{fresh} = $st },
);
$loop->unwatch_io(handle => $xrd, on_read_ready => 1);
$loop->unwatch_time($tid);
$loop->unwatch_signal('USR2');

$loop->watch_time(after => 0.05, code => sub { syswrite($pwr, 'p') });
my $deadline = time + 30;
$loop->loop_once(1) while (keys %status < 5 || $parent_got ne 'p') && time < $deadline;

is($status{$_} >> 8, 10 + $_, "child $_ used the inherited loop (io, timer, signal)") for 1 .. 3;
is($status{fork} >> 8, 42, '$loop->fork: the child ran its loop and exited with code');
is($status{fresh} >> 8, 43, "a new loop in a child is empty: the parent's watchers do not run there");
is($parent_got, 'p', "the parent's inherited watch still works after the children");

done_testing;
