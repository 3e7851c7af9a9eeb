#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# An io_uring proactor waits for what can still happen, and a %SIG
# handler ends the wait:
# - run_once with no op in flight but a child subscription alive waits
#   for the child instead of returning at once (a run_once pump used to
#   spin about 200,000 times while a child ran for 0.3 s);
# - run with nothing at all alive blocks in the ring wait, and a signal
#   with a %SIG handler that calls stop ends it (a signal landing while
#   the kernel waited after submitting used to be swallowed by the
#   liburing retry, so run never returned).
use v5.36;
use Test::More;
use lib 't/lib';
use EvlTest qw(uring_loop);

use POSIX ();
use Linux::Event;

my $probe = uring_loop(sub { Linux::Event->new(model => 'proactor', backend => 'uring') });
plan skip_all => 'io_uring unavailable here (see the diagnostic above)' unless $probe;
undef $probe;

# A child that exits once the parent says it is about to wait, plus a
# little, so the parent is inside the wait when the event comes.
sub child_after_go ($then) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $w;
        sysread($r, my $go, 1);
        select(undef, undef, undef, 0.2);
        $then->();
        POSIX::_exit(7);
    }
    close $r;
    return ($pid, $w);
}

subtest 'run_once waits for a child subscription' => sub {
    my $loop = Linux::Event->new(model => 'proactor', backend => 'uring');
    my ($pid, $go) = child_after_go(sub { });
    my $status;
    my $sub = $loop->child($pid, sub ($l, $kid, $st) { $status = $st });
    syswrite($go, 'g');
    my $iterations = 0;
    local $SIG{ALRM} = sub { die "timed out\n" };
    alarm 20;

    until (defined $status) {
        $loop->run_once;
        $iterations++;
    }
    alarm 0;
    is($status >> 8, 7, 'the child subscription fired with the exit status');

    # One iteration for the self-sent SIGCHLD that subscribing sends, one
    # for the exit; a few more are fine, a spin is thousands.
    cmp_ok($iterations, '<=', 5, "run_once waited instead of spinning ($iterations iterations)");
};

subtest 'a %SIG handler ends run with nothing alive' => sub {
    my $loop   = Linux::Event->new(model => 'proactor', backend => 'uring');
    my $parent = $$;
    my $got    = 0;
    local $SIG{USR1} = sub { $got++; $loop->stop };
    my ($pid, $go) = child_after_go(sub { kill 'USR1', $parent });
    syswrite($go, 'g');
    my $ok = eval {
        local $SIG{ALRM} = sub { die "run did not return\n" };
        alarm 20;
        $loop->run;
        alarm 0;
        1;
    };
    alarm 0;
    ok($ok, 'run returned') or diag $@;
    is($got, 1, 'the handler ran once');
    waitpid($pid, 0);
};

done_testing;
