# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Reactor;
use v5.36;

our $VERSION = '0.200';

use Carp qw(croak);
use Scalar::Util qw(blessed weaken);

require PerlIO::evloop;
require Linux::Event::Clock;
require Linux::Event::Timer;
require Linux::Event::Watcher;
require Linux::Event::Scheduler;
require Linux::Event::Signal;
require Linux::Event::Wakeup;
require Linux::Event::Pid;
require Linux::Event::Reactor::Backend::Epoll;

# READABLE WRITABLE PRIO RDHUP ET ONESHOT ERR HUP: constant subs of the XS
# (perlio/xs/reactor.xs defines them once for every package that has them).

sub new ($class, %args) {
    my $backend = delete $args{backend};
    my $clock   = delete $args{clock};
    my $timer   = delete $args{timer};
    my $loop    = delete $args{loop};
    croak "unknown args: " . join(", ", sort keys %args) if %args;

    $clock //= Linux::Event::Clock->new(clock => 'monotonic');
    for my $m (qw(tick now_ns deadline_in_ns remaining_ns)) {
        croak "clock missing method '$m'" if !(blessed($clock) && $clock->can($m));
    }
    if (defined $timer) {
        for my $m (qw(after disarm read_ticks fh)) {
            croak "timer missing method '$m'" if !(blessed($timer) && $timer->can($m));
        }
        my $t_fd = fileno($timer->fh);
        croak "timer fh has no fileno" if !defined $t_fd;
    }
    my $backend_name = 'epoll';
    if (!defined $backend || (!ref($backend) && $backend eq 'epoll')) {
        $backend = undef;    # made on first use of ->backend: the engine is libevloop
    } elsif (!ref($backend)) {
        croak "unknown backend '$backend'";
    } else {
        for my $m (qw(watch unwatch run_once)) {
            croak "backend missing method '$m'" if !(blessed($backend) && $backend->can($m));
        }
        $backend_name = $backend->can('name') ? $backend->name : ref($backend);
    }

    my $self = bless {
        clock        => $clock,
        timer        => $timer,
        backend      => $backend,
        backend_name => $backend_name,
        running      => 0,
    }, $class;
    if ($loop) {
        $self->{loop} = $loop;
        weaken($self->{loop});
    }
    $self->_init($loop);
    return $self;
}

sub clock ($self) { return $self->{clock} }

sub timer ($self) {
    return $self->{timer} //= Linux::Event::Timer->new;
}

sub backend ($self) {
    return $self->{backend} //= Linux::Event::Reactor::Backend::Epoll->new;
}

sub backend_name ($self) { return $self->{backend_name} }

sub sched ($self) {
    return $self->{sched} //= Linux::Event::Scheduler->_for_engine($self);
}

sub _public_loop ($self) { return $self->{loop} || $self }

sub watch ($self, $fh, %spec) {
    croak "fh is required" if !$fh;
    my ($read, $write, $error, $data, $et, $oneshot) =
        delete @spec{qw(read write error data edge_triggered oneshot)};
    croak "unknown args: " . join(", ", sort keys %spec) if %spec;
    croak "read must be a coderef or undef" if defined $read && ref($read) ne 'CODE';
    croak "write must be a coderef or undef" if defined $write && ref($write) ne 'CODE';
    croak "error must be a coderef or undef" if defined $error && ref($error) ne 'CODE';
    my $fd = fileno($fh);
    croak "fh has no fileno" if !defined $fd || $fd < 0;
    return $self->_watch($fh, int($fd), $read, $write, $error, $data,
        $et ? 1 : 0, $oneshot ? 1 : 0);
}

sub unwatch ($self, $fh) {
    return 0 if !$fh;
    my $fd = fileno($fh);
    return 0 if !defined $fd || $fd < 0;
    return $self->_unwatch_fd(int($fd));
}

sub signal ($self, @args) {
    return ($self->{_signal} ||= Linux::Event::Signal->new(loop => $self->_public_loop))
        ->signal(@args);
}

sub waker ($self) {
    return $self->{_waker} if $self->{_waker};
    my $w = Linux::Event::Wakeup->new(loop => $self->_public_loop);
    $self->_waker_attach($w);
    return $self->{_waker} = $w;
}

sub pid ($self, @args) {
    return ($self->{_pid} ||= Linux::Event::Pid->new(loop => $self->_public_loop))->pid(@args);
}

# The engine behind a facade, an engine, or anything with an impl.
sub _engine_of ($loop) {
    return undef if !blessed($loop);
    return $loop if $loop->isa(__PACKAGE__);
    my $impl = eval { $loop->{impl} };
    return blessed($impl) && $impl->isa(__PACKAGE__) ? $impl : undef;
}

# $loop->fork(%spec) and $loop->fork_helper(%args) are Linux::Event::Fork's,
# loaded on first use.  goto leaves this frame out, so a croak names the
# caller's line.
sub fork {
    require Linux::Event::Fork;
    goto &Linux::Event::Fork::_loop_fork;
}

sub fork_helper {
    require Linux::Event::Fork;
    goto &Linux::Event::Fork::_loop_fork_helper;
}

1;
__END__

=head1 NAME

Linux::Event::Reactor - the readiness engine: epoll, timers, signals, wakeups and pidfds over libevloop

=head1 SYNOPSIS

    use v5.36;
    use Linux::Event;

    my $loop = Linux::Event->new(model => 'reactor', backend => 'epoll');

    my $id = $loop->after(0.100, sub ($loop) { say "timer fired" });

    my $w = $loop->watch($fh,
        read  => sub ($loop, $fh, $watcher) { ... },
        write => sub ($loop, $fh, $watcher) { ... },
        error => sub ($loop, $fh, $watcher) { ... },
        data  => $anything,
        edge_triggered => 0,
        oneshot        => 0,
    );

    $loop->run;

=head1 DESCRIPTION

The engine behind a reactor L<Linux::Event::Loop> (C<< $loop->{impl} >>).
It is a blessed hash carrying a libevloop C<evl_loop> (model
C<EVL_REACTOR>) as magic.  Watchers, the timer heap, signals (one
signalfd), wakeups (eventfd) and child exits (pidfd) are the C core's;
their events call your Perl callbacks directly from C.

Callbacks receive the facade (held weakly: dropping the last reference
to the loop frees it and closes every descriptor it owns).

=head1 CONSTRUCTOR

=head2 new(%args)

Keys: C<backend>, C<clock>, C<timer>, C<loop>; any other croaks
C<unknown args: k1, k2>.

=over 4

=item C<backend>

C<undef> or C<'epoll'>: the built-in engine.  Another string croaks
C<< unknown backend '<name>' >>.  An object must have C<watch>, C<unwatch>
and C<run_once> (else C<< backend missing method '<m>' >>); it is kept and
returned by C<backend>, and C<backend_name> reports its C<name> (or its
class).

=item C<clock>

Defaults to C<< Linux::Event::Clock->new(clock => 'monotonic') >>.  Must
have C<tick>, C<now_ns>, C<deadline_in_ns> and C<remaining_ns> (else
C<< clock missing method '<m>' >>).

=item C<timer>

Defaults to a L<Linux::Event::Timer>, made on first use of C<timer>.
Must have C<after>, C<disarm>, C<read_ticks> and C<fh> (else
C<< timer missing method '<m>' >>), and its C<fh> a fileno (else
C<timer fh has no fileno>).

=item C<loop>

The facade callbacks receive (held weakly).

=back

B<Pluggable parts.>  Custom backend, clock and timer objects are
validated, kept and returned by the accessors, but the engine keeps
running on libevloop: readiness comes from the C core's epoll, deadlines
from CLOCK_MONOTONIC and the core's own timerfd.  (The contract allows
this; a custom clock does not change what C<at> and C<after> mean.)

=head1 ACCESSORS

C<clock>, C<timer>, C<backend> (the default
L<Linux::Event::Reactor::Backend::Epoll> is made on first call; it is a
working standalone epoll backend, not the one the engine uses),
C<backend_name> (C<'epoll'> by default), C<sched> (see L</sched>),
C<is_running> (1 only while C<run> loops, 0 again after C<run> returns,
also when a callback's exception ended it).

=head1 LIFECYCLE

=head2 run

Loops until C<stop>.  C<stop> before C<run> has no effect.  Returns an
empty list.  If a callback dies, the loop stops after the callback (the
rest of the current batch still runs, watchers and timers stay
consistent), C<run> croaks with that exception, C<is_running> is 0, and
C<run> may be called again.

=head2 run_once($timeout_s = undef)

One iteration: due timers, then (unless a callback called C<stop> in
this iteration, or timers already ran) one wait of at most
C<$timeout_s> seconds (C<undef>: until the next timer, or forever;
C<0>: poll), then dispatch.  Returns the number of events the wait
returned (the internal timerfd counts as one; timers are not counted),
0 when it did not wait.  Exceptions propagate as with C<run>.

=head2 stop

Ends C<run> after the current callback, and wakes a blocked wait.  If
C<waker> was called before, its eventfd is signalled too.  Empty list.

=head1 TIMERS

=head2 after($seconds, $cb)

Croaks C<seconds is required>, C<cb is required>, C<cb must be a coderef>.
Runs C<< $cb->($loop) >> once, C<$seconds> (fractional; negative means 0)
from now.  Returns an integer id, from 1 up.

=head2 at($deadline_seconds, $cb)

As C<after> with an absolute CLOCK_MONOTONIC deadline in seconds
(C<< $loop->clock->tick; $loop->clock->now_s + 0.15 >>).  Croaks
C<deadline_seconds is required>, C<cb is required>, C<cb must be a coderef>.

=head2 cancel($id)

1 if the timer was pending (it will not run), else 0.

Timers with equal deadlines run in the order they were added (FIFO).
A timer cancelled by an earlier callback of the same batch does not run.
A timer added from a timer callback (even C<after(0)>) is not part of
the running batch: it runs after the next wait, so the loop cannot
starve.  C<after(0)> from outside runs on the next C<run_once>, before
any wait.  A positive delay counts from the moment C<after> is called
(never early); C<after(0)> is due at the current iteration's time, so a
burst of them shares one deadline and costs O(1) each.

=head2 sched

A L<Linux::Event::Scheduler> bound to this engine: its C<at_ns>,
C<after_ns>, C<cancel>, C<next_deadline_ns> and C<pop_expired> act on the
same libevloop timer heap as C<after>/C<at>/C<cancel> (same ids).

=head1 WATCHERS

=head2 watch($fh, %spec)

Keys: C<read>, C<write>, C<error> (code refs or undef), C<data>,
C<edge_triggered>, C<oneshot>.  Croaks C<fh is required>,
C<unknown args: ...>, C<read must be a coderef or undef> (and write,
error), C<fh has no fileno>.  Returns a L<Linux::Event::Watcher>;
callbacks are called as C<< $cb->($loop, $fh, $watcher) >>.

A watcher already on the same fd number is cancelled first (replaced).
Dispatch: ERR goes to the error callback alone when it is installed and
enabled, else counts as readable and writable; HUP counts as readable;
read runs before write; write is skipped when the read callback
cancelled or replaced the watcher.  Before any callback the handle's
fileno must still be the watched fd, else the watcher is cancelled.
Events for an fd whose watcher changed during a batch are dropped, so a
closed and reused fd never sees a stale event.

The watcher holds its handle weakly; closing or dropping the handle
without C<unwatch> is safe, and the fd number may be watched again.

=head2 unwatch($fh)

1 if a watcher for C<fileno($fh)> was cancelled, else 0 (also for a
false or closed C<$fh>).

=head1 CHILD PROCESSES

C<< fork(%spec) >> starts a child through this loop's own
L<Linux::Event::Fork> helper and returns its L<Linux::Event::Fork::Child>
(or a Request when the helper's limit is reached); C<< fork_helper(%args) >>
returns that helper, made on first use.  Both load Linux::Event::Fork
themselves; see its POD for the spawn options.

=head1 SIGNALS, WAKEUPS, PIDS

C<signal(...)> forwards to this loop's L<Linux::Event::Signal> adaptor,
C<pid(...)> to its L<Linux::Event::Pid> adaptor (each made on first
use).  C<waker> (no arguments) returns the loop's one
L<Linux::Event::Wakeup>, with an internal watcher that drains it (a
C<watch> on C<< $waker->fh >> replaces that watcher).

=head1 THREADS AND FORKS

A loop belongs to the thread that made it.  A new ithread gets inert
copies of it and its watchers (their methods croak
C<this loop belongs to another thread>, watchers are inactive), and a
copy of the L<Linux::Event::Wakeup>, whose C<signal> wakes the original
loop: that is how threads hand work to a loop.  A forked child may
signal the waker too (the eventfd is shared).

=head1 KNOWN LIMITS

If a watched descriptor is closed while a dup of it stays open, epoll
keeps the registration (it belongs to the open file, not the number) and
cannot be told to drop it through the closed number: the watcher is
cancelled at its next event, but the loop keeps waking for that file
until the dup is closed too.  Close or C<unwatch> before closing.

=head1 CONSTANTS

C<READABLE WRITABLE PRIO RDHUP ET ONESHOT ERR HUP>.

=head1 SEE ALSO

L<Linux::Event::Loop>, L<Linux::Event::Watcher>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
