# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package IO::Async::Loop::LinuxEvent;
use v5.36;

our $VERSION = '0.200';

use Carp qw(croak);
use Scalar::Util qw(refaddr weaken);
use Time::HiRes ();

# Never another model in our place: without Linux::Event this module
# fails to load, with the reason, and IO::Async reports it.
BEGIN {
    eval { require Linux::Event::Loop; 1 }
        or croak "IO::Async::Loop::LinuxEvent: cannot load Linux::Event::Loop: $@";
}
use parent 'IO::Async::Loop';

use constant API_VERSION               => '0.76';
use constant _CAN_ON_HANGUP            => 1;
use constant _CAN_SUBSECOND_ACCURATELY => 1;
use constant _CAN_WATCH_ALL_PIDS       => 1;

use constant { EV_ERR => 0x40, EV_HUP => 0x80 };    # Linux::Event::Loop::ERR/HUP

# Loading this class makes it the one IO::Async::Loop->new picks, unless
# a program already named another ($IO::Async::Loop::LOOP or
# IO_ASYNC_LOOP, which IO::Async reads first).
$IO::Async::Loop::LOOP //= 'LinuxEvent';

# Every loop of this class in this process (weak), for the fork rule in new.
my %LIVE;

sub new ($class, %args) {
    my $le = delete $args{loop} // Linux::Event::Loop->default;
    croak "IO::Async::Loop::LinuxEvent: loop must be a reactor Linux::Event::Loop"
        if !(Scalar::Util::blessed($le) && $le->can('model') && $le->model eq 'reactor');
    my $self = $class->SUPER::__new(%args);
    $self->{le}       = $le;
    $self->{lwatch}   = {};    # fd => [Linux::Event::Watcher, mode, handle, read on, write on]
    $self->{timers}   = {};    # Linux::Event timer id => 1 while pending
    $self->{sigsubs}  = {};    # signal name => Subscription
    $self->{procsubs} = {};    # pid => Subscription
    $self->{pid}      = $$;

    # A new loop in a forked child (what IO::Async's fork asks for: it
    # forgets the magic loop there) starts empty, as a new epoll set would:
    # the loops inherited from the parent leave the shared Linux::Event loop
    # in this process, so the parent's notifiers are not run here.
    for my $old (grep { defined } values %LIVE) {
        $old->_detach if $old->{pid} != $$ && $old->{le} == $le;
    }
    weaken($LIVE{ refaddr($self) } = $self);
    return $self;
}

# Takes everything this loop gave the Linux::Event loop back (in this
# process: the parent's copy is untouched).
sub _detach ($self) {
    my $le = $self->{le} or return;

    # (At global destruction a watcher may be gone before its loop.)
    $_->[0] && $_->[0]->cancel for values %{ $self->{lwatch} || {} };
    $le->cancel($_) for keys %{ $self->{timers} || {} };
    $_->cancel
        for grep { defined } values(%{ $self->{sigsubs} || {} }),
        values(%{ $self->{procsubs} || {} }), delete @{$self}{qw(idle_sub check_sub)};
    %{ $self->{$_} } = () for qw(lwatch timers sigsubs procsubs);
    $self->{pid} = $$;
    return;
}

sub linux_event ($self) { return $self->{le} }

sub DESTROY ($self, @) {

    # The shared loop outlives us: take back everything we gave it.
    delete $LIVE{ refaddr($self) };
    $self->_detach;
    return $self->SUPER::DESTROY;
}

sub is_running ($self) { return $self->{running} ? 1 : 0 }

sub loop_once ($self, $timeout = undef) {
    $self->pre_wait;
    my $n = $self->{le}->run_once($timeout);
    $self->post_wait;
    return $n;
}

sub post_fork ($self) {
    $self->{le}->after_fork;
    if ($self->{pid} != $$) {

        # The fork rule dropped the parent's child watchers here.
        %{ $self->{procsubs} } = ();
        $self->{pid} = $$;
    }
    return $self->SUPER::post_fork;
}

# IO: one Linux::Event watcher per fd, its directions switched on and off
# (no system call until the next wait).  Dispatch as IO::Async::Loop::Epoll:
# read on IN, HUP and ERR; write on OUT and ERR; hangup on HUP and ERR.
sub watch_io ($self, %params) {
    my $handle = delete $params{handle} or croak "Expected 'handle'";
    my $fd     = eval { $handle->fileno };
    defined $fd or croak "Expected that 'handle' has defined ->fileno";

    # IO::Async::Loop's __watch_io, except that the O_NONBLOCK "upgrade"
    # (a fcntl) is made once per handle, not at every call: a stream
    # switches its write watch on and off for every write.
    my $watch = $self->{iowatches}{$fd} ||= [];
    if (!$watch->[0] || refaddr($watch->[0]) != refaddr($handle)) {
        $handle->blocking and $handle->blocking(0);
        $watch->[0] = $handle;
    }
    $watch->[1] = delete $params{on_read_ready} if exists $params{on_read_ready};
    $watch->[2] = delete $params{on_write_ready} if exists $params{on_write_ready};
    $watch->[3] = delete $params{on_hangup} if exists $params{on_hangup};
    keys %params and croak "Unrecognised keys for ->watch_io - " . join(", ", keys %params);
    return $self->_sync_io($fd, $watch);
}

sub unwatch_io ($self, %params) {
    my $handle = $params{handle};
    $self->__unwatch_io(%params);
    my $fd = $handle && $handle->fileno;
    return if !defined $fd;
    my $watch = $self->{iowatches}{$fd};
    if (!$watch) {
        my $rec = delete $self->{lwatch}{$fd};
        $rec->[0]->cancel if $rec;
        return;
    }
    return $self->_sync_io($fd, $watch);
}

sub _sync_io ($self, $fd, $watch) {
    my ($handle, $on_read, $on_write, $on_hangup) = @$watch;

    # mode 0: no hangup callback, the read callback takes everything (the
    # fast path: no revents to look at); 1: hangup beside read; 2: hangup
    # alone, reading enabled to see it, edge-triggered so that unread
    # data cannot spin the loop.
    my $mode = !$on_hangup ? 0 : $on_read ? 1 : 2;
    my $rd   = ($on_read || $on_hangup) ? 1 : 0;
    my $wr   = $on_write ? 1 : 0;

    # $rec: [watcher, mode, handle, read enabled, write enabled]
    my $rec = $self->{lwatch}{$fd};
    if (  !$rec
        || $rec->[1] != $mode
        || !$rec->[2]
        || refaddr($rec->[2]) != refaddr($handle)
        || !$rec->[0]->is_active)
    {
        my $read =
            $mode == 0
            ? sub { ($watch->[1] || return)->() }
            : sub {
            my $rev = $_[2]->revents;
            if (my $cb = $watch->[1]) { $cb->() }
            if ($rev & (EV_HUP | EV_ERR) and my $cb = $watch->[3]) { $cb->() }
            };
        my $lw = $self->{le}->watch(
            $handle,
            read           => $read,
            write          => sub { ($watch->[2] || return)->() },
            edge_triggered => $mode == 2,
        );
        $rec = $self->{lwatch}{$fd} = [$lw, $mode, $handle, -1, -1];
        weaken($rec->[2]);
    }
    if ($rec->[3] != $rd) {
        $rd ? $rec->[0]->enable_read : $rec->[0]->disable_read;
        $rec->[3] = $rd;
    }
    if ($rec->[4] != $wr) {
        $wr ? $rec->[0]->enable_write : $rec->[0]->disable_write;
        $rec->[4] = $wr;
    }
    return;
}

# Timers: the loop's C timer heap.  IO::Async's times are wall-clock
# (Time::HiRes::time); the heap's deadlines are on the loop's monotonic
# clock.  One offset between the two clocks serves a whole iteration of
# the Linux::Event loop (its cached time names the iteration, whoever
# runs it: loop_once, or a program running the shared loop itself), so
# equal times get equal deadlines and fire in the order they were set (a
# timer can cancel a sibling of the same time, as on IO::Async's own
# loops), and times already past fire earliest first.  The wall clock is
# read first, so the offset errs late, never early.
sub _deadline ($self, $wall) {
    my $iter = $self->{le}->now;
    if (!defined $self->{clock_iter} || $self->{clock_iter} != $iter) {
        my $w = Time::HiRes::time();
        $self->{clock_off}  = $w - Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC());
        $self->{clock_iter} = $iter;
    }
    return $wall - $self->{clock_off};
}

sub watch_time ($self, %args) {
    my $code = $args{code};
    croak "Expected 'code' as CODE ref" if ref($code) ne 'CODE';
    my $at;
    if (exists $args{after}) {
        $at = ($args{now} // Time::HiRes::time()) + $args{after};
    } elsif (exists $args{at}) {
        $at = $args{at};
    } else {
        croak "Expected one of 'at' or 'after'";
    }
    my $timers = $self->{timers};
    my $id;
    $id = $self->{le}->at(
        $self->_deadline($at),
        sub ($l) {
            delete $timers->{$id};
            $code->();
        }
    );
    $timers->{$id} = 1;
    return $id;
}

sub unwatch_time ($self, $id) {
    return if !defined $id || !delete $self->{timers}{$id};
    $self->{le}->cancel($id);
    return;
}

# watch_timer(delay|time => ...): IO::Async::LoopTests 0.802 calls it (its
# sub-second group); the names of enqueue_timer, the ids of watch_time.
sub watch_timer ($self, %args) {
    $args{after} = delete $args{delay} if exists $args{delay};
    $args{at}    = delete $args{time} if exists $args{time};
    return $self->watch_time(%args);
}

sub unwatch_timer ($self, $id) { return $self->unwatch_time($id) }

# Idle ('later'): IO::Async's queue, run by a check hook of the loop
# (after each iteration's dispatch, whoever drives the loop) while an
# idle watcher keeps the wait from blocking.  Deferrals queued by a
# deferral run in the next iteration.
sub watch_idle ($self, %params) {
    my $code = delete $params{code};
    ref $code or croak "Expected 'code' to be a reference";
    my $when = delete $params{when} or croak "Expected 'when'";
    $when eq 'later' or croak "Expected 'when' to be 'later'";
    my $deferrals = $self->{deferrals};
    push @$deferrals, $code;
    $self->_arm_deferrals if !$self->{check_sub};
    return \$deferrals->[-1];
}

sub _arm_deferrals ($self) {
    my $le = $self->{le};
    weaken(my $weak = $self);
    $self->{idle_sub}  = $le->idle(sub { });
    $self->{check_sub} = $le->check(sub { $weak->_run_deferrals if $weak });
    return;
}

sub _run_deferrals ($self) {
    my $deferrals = $self->{deferrals};
    $self->{deferrals} = [];
    $_->() for @$deferrals;

    # None queued meanwhile: the hooks go now, so the next wait blocks
    # (loop_once($t) after a later() waited for nothing otherwise).
    if (!@{ $self->{deferrals} }) {
        $_->cancel for grep { defined } delete @{$self}{qw(idle_sub check_sub)};
    }
    return;
}

# unwatch_idle is IO::Async::Loop's: it takes the entry out of the queue;
# the hooks go at the next iteration that finds the queue empty.

# Signals: signalfd subscriptions of the loop, beside %SIG.
sub watch_signal ($self, $signal, $code) {
    exists $SIG{$signal} or croak "Unrecognised signal name $signal";
    my $old = delete $self->{sigsubs}{$signal};
    $old->cancel if $old;
    $self->{sigsubs}{$signal} = $self->{le}->signal_subscribe($signal, sub { $code->() });
    return;
}

sub unwatch_signal ($self, $signal) {
    exists $SIG{$signal} or croak "Unrecognised signal name $signal";
    my $sub = delete $self->{sigsubs}{$signal};
    $sub->cancel if $sub;
    return;
}

# Children: the loop's child watchers (pidfd, or SIGCHLD for pid 0).
sub watch_process ($self, $pid, $code) {
    my $subs = $self->{procsubs};
    croak "Already have a handler for $pid" if $subs->{$pid};
    $subs->{$pid} = $self->{le}->child(
        $pid,
        sub ($l, $kid, $status) {
            delete $subs->{$pid} if $pid;    # a pid's watcher ends after its call
            $code->($kid, $status);
        }
    );
    return;
}

sub unwatch_process ($self, $pid) {
    my $sub = delete $self->{procsubs}{$pid};
    $sub->cancel if $sub;
    return;
}

1;
__END__

=head1 NAME

IO::Async::Loop::LinuxEvent - IO::Async on the Linux::Event loop (libevloop)

=head1 SYNOPSIS

    $ IO_ASYNC_LOOP=LinuxEvent perl my-io-async-program.pl

    use IO::Async::Loop::LinuxEvent;          # or load it first:
    my $loop = IO::Async::Loop->new;          # ... the magic constructor picks it

    # Share a loop with Linux::Event code (the default is
    # Linux::Event::Loop->default):
    my $le   = Linux::Event::Loop->default;
    my $loop = IO::Async::Loop::LinuxEvent->new(loop => $le);
    $le->after(1, sub { $loop->stop });       # either loop's run drives both
    $loop->run;

=head1 DESCRIPTION

An L<IO::Async::Loop> subclass whose watchers live in a
L<Linux::Event::Loop> reactor.  By default that is
C<< Linux::Event::Loop->default >>, the process's shared loop, so
C<< $ioasync->run >>, C<< $le->run >>, L<Future::IO::Impl::LinuxEvent>'s
C<await> and the other frameworks' backends on the same loop all drive
every watcher.  It passes every group of L<IO::Async::LoopTests> (io,
timer, signal, idle, process, control, metrics).

=head2 Selecting it

Set C<IO_ASYNC_LOOP=LinuxEvent>, or load this module before the first
C<< IO::Async::Loop->new >>: loading it sets C<$IO::Async::Loop::LOOP>
to C<LinuxEvent> when nothing else was named.  C<new> takes
C<< loop => $linux_event_loop >> (a reactor; anything else croaks
C<IO::Async::Loop::LinuxEvent: loop must be a reactor Linux::Event::Loop>).
If Linux::Event cannot be loaded, loading this module fails with
C<IO::Async::Loop::LinuxEvent: cannot load Linux::Event::Loop: ...>
(IO::Async's magic constructor then warns and moves on to the next
candidate, as it does for every class it cannot load).

=head2 What it does natively

=over 4

=item watch_io, unwatch_io

One L<Linux::Event::Watcher> per fd; adding and removing directions
switches them on and off, and the kernel hears of it at most once per
fd before the next wait.  C<on_read_ready> runs on data, hangup and
error; C<on_write_ready> on writability and error; C<on_hangup> on
hangup and error (C<_CAN_ON_HANGUP> is true).  Regular files are
always ready.

=item watch_time, unwatch_time

The loop's C timer heap (ids are integers).  C<at> is wall-clock, as
IO::Async's C<time>; it becomes a monotonic deadline when the timer is set,
through one offset between the two clocks per iteration of the loop.  So
timers given the same time fire in the order they were set, times already
past fire earliest first, as on IO::Async's own loops, and a step of the
wall clock counts for timers set from the next iteration on.
The older C<enqueue_timer>/C<cancel_timer>/C<requeue_timer> are
IO::Async::Loop's wrappers over these.  C<watch_timer>/C<unwatch_timer>
(not in IO::Async::Loop, but called by IO::Async::LoopTests 0.802's
sub-second timer tests) take C<delay> or C<time> and return a
C<watch_time> id.

=item watch_idle, unwatch_idle

IO::Async's own queue, run by a C<check> hook of the loop after each
iteration's dispatch, with an C<idle> watcher keeping the wait from
blocking while the queue is not empty: deferrals run whoever drives the
loop.

=item watch_signal, unwatch_signal

C<signal_subscribe> (signalfd), not IO::Async's C<%SIG> handlers and
self-pipe.  Other subscribers of the same signal (other frameworks,
Linux::Event code) are called too.

=item watch_process, unwatch_process

The loop's C<child> watchers, pid 0 included; no SIGCHLD handler in
C<%SIG>.

=item loop_once, run, stop, is_running, post_fork

C<loop_once($timeout)> is one C<run_once> of the loop, between
IO::Async's C<pre_wait> and C<post_wait> (the metrics); it returns the
number of events.  C<post_fork> calls the loop's C<after_fork> (the
loop also rebuilds itself at its first use in a child without it).

=back

C<API_VERSION> is 0.76.  C<linux_event> returns the Linux::Event loop.

=head2 Forked children

A child may keep using the loop it inherited (the Linux::Event loop
rebuilds itself there).  A child that makes a new loop instead (as
IO::Async's C<fork> expects: it clears the magic loop in the child)
gets an empty one, as with a new epoll set: making it takes the
inherited loops' watchers, timers, signals and child watchers off the
shared Linux::Event loop in that child (the parent keeps them), so the
parent's notifiers do not run there.

=head2 Differences from IO::Async::Loop::Epoll

A watch with C<on_write_ready> only is not called on a hangup with no
writability (Epoll calls it); it is called on an error.  A watch with
C<on_hangup> but no C<on_read_ready> is edge-triggered underneath.
C<IO_ASYNC_WATCHDOG> is not supported (C<_CAN_WATCHDOG> is false).
A pid watched after someone else reaped it croaks (Linux::Event's
C<child>) instead of never firing.  A Linux::Event loop has one watcher
per fd: two IO::Async loops on the same Linux::Event loop (or an
IO::Async loop and Linux::Event code) must not watch the same fd.
A signal stays blocked after C<unwatch_signal> while the Linux::Event
loop lives: an arrival then goes to its C<%SIG> handler when the loop
next runs (not at once), and a C<DEFAULT> disposition does not end the
process (Epoll restores the handler, so the default action happens).
Exceptions: when two callbacks of one iteration die, the second comes out
of the next C<loop_once> (as with Epoll), but both callbacks ran in the
first.

=head1 SEE ALSO

L<IO::Async::Loop>, L<IO::Async::Loop::Epoll>, L<Linux::Event::Loop>,
L<Future::IO::Impl::LinuxEvent>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
