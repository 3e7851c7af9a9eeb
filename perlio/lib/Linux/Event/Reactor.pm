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
require Linux::Event::Subscription;
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

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

# An integer fd (a plain non-negative integer), or undef for a handle;
# croaks for any other number.
sub _fd_arg ($method, $fh) {
    return undef if ref($fh) || !defined $fh;
    return 0 + $fh if $fh =~ /\A[0-9]+\z/;
    croak "$method: fd must be a non-negative integer or a file handle (got '$fh')"
        if Scalar::Util::looks_like_number($fh);
    return undef;
}

sub watch ($self, $fh, %spec) {
    my $fdnum = _fd_arg('watch', $fh);
    croak "fh is required" if !$fh && !defined $fdnum;
    my ($read, $write, $error, $hangup, $data, $et, $oneshot) =
        delete @spec{qw(read write error hangup data edge_triggered oneshot)};
    croak "unknown args: " . join(", ", sort keys %spec) if %spec;
    croak "read must be a coderef or undef" if defined $read && ref($read) ne 'CODE';
    croak "write must be a coderef or undef" if defined $write && ref($write) ne 'CODE';
    croak "error must be a coderef or undef" if defined $error && ref($error) ne 'CODE';
    croak "hangup must be a coderef or undef" if defined $hangup && ref($hangup) ne 'CODE';

    my ($handle, $fd) = (undef, $fdnum);
    if (!defined $fdnum) {
        $fd = Linux::Event::Internal::fileno_of($fh);
        croak "fh has no fileno" if !defined $fd || $fd < 0;
        ($handle, $fd) = ($fh, int($fd));
    }
    my @mode = ($et ? 1 : 0, $oneshot ? 1 : 0);
    return $self->_watch($handle, $fd, $read, $write, $error, $data, @mode, $hangup);
}

sub unwatch ($self, $fh) {
    my $fdnum = _fd_arg('unwatch', $fh);
    return $self->_unwatch_fd($fdnum) if defined $fdnum;
    return 0 if !$fh;
    my $fd = Linux::Event::Internal::fileno_of($fh);
    croak "unwatch: fh is not a file handle" if !defined $fd && $@;
    return 0 if !defined $fd || $fd < 0;    # closed: nothing of it is watched
    return $self->_unwatch_fd(int($fd));
}

sub _check_cb ($method, $cb) {
    croak "$method: cb is required" if !defined $cb;
    croak "$method: cb must be a code reference" if ref($cb) ne 'CODE';
    return;
}

sub every ($self, $seconds = undef, $cb = undef) {
    croak "every: seconds is required" if !defined $seconds;
    croak "every: seconds must be a number > 0 (got '$seconds')"
        if ref($seconds) || !Scalar::Util::looks_like_number($seconds) || !($seconds > 0);
    _check_cb('every', $cb);
    return $self->_every(0 + $seconds, $cb);
}

sub signal_subscribe ($self, $sig = undef, $cb = undef) {
    croak "signal_subscribe: signal is required" if !defined $sig;
    _check_cb('signal_subscribe', $cb);
    my @list = ref($sig) eq 'ARRAY' ? @$sig : ($sig);
    croak "signal_subscribe: no signals provided" if !@list;
    my @signos = map { Linux::Event::Signal::_resolve($_, 'signal_subscribe') } @list;
    return Linux::Event::Subscription->_signal($self, $self->_public_loop, \@signos, $cb);
}

sub child ($self, $pid = undef, $cb = undef) {
    croak "child: pid is required" if !defined $pid;
    croak "child: pid must be 0 (every child) or a positive integer (got '$pid')"
        if ref($pid) || $pid !~ /\A[0-9]+\z/;
    _check_cb('child', $cb);
    return Linux::Event::Subscription->_child($self, $self->_public_loop, 0 + $pid, $cb);
}

# evl_hook kinds (loop/evloop.h).
my %HOOK = (idle => 1, prepare => 2, check => 3);

for my $kind (sort keys %HOOK) {
    my $code = sub ($self, $cb = undef) {
        _check_cb($kind, $cb);
        return Linux::Event::Subscription->_hook($self, $self->_public_loop, $HOOK{$kind}, $cb);
    };
    no strict 'refs';    ## no critic (ProhibitNoStrict)
    *{$kind} = $code;
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

# Non-blocking getaddrinfo: see Linux::Event::Resolver.
sub resolve ($self, %args) {
    require Linux::Event::Resolver;
    return Linux::Event::Resolver::resolve($self, %args);
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

B<By fd number.>  C<$fh> may be a non-negative integer: the fd is
watched as it is, the loop owns no handle (it never closes it, and
makes no "same handle" check before callbacks), C<< $watcher->fh >> is
undef and the callbacks get the number as their second argument.
Croaks C<< watch: fd must be a non-negative integer or a file handle
(got '...') >> for another number, and
C<< Linux::Event::Loop::watch: fd N is not an open file descriptor >>.

B<Files epoll refuses.>  A regular file (or anything else epoll answers
EPERM for) is accepted and reported ready for every enabled direction
on each iteration; while such a watcher has a direction enabled the wait
does not block (libev's and IO::Async's rule).

B<hangup>.  C<< hangup => $cb >> (a code ref) takes HUP: when the
kernel reports a hangup with nothing else, only C<hangup> runs; with
data too, C<read> runs first and then C<hangup> (unless C<read>
cancelled or replaced the watcher).  Without it HUP goes to C<read>.
HUP is seen while reading is enabled.

B<revents>.  Inside a callback, C<< $watcher->revents >> is the mask of
what woke it: C<READABLE WRITABLE PRIO RDHUP ERR HUP>, exactly as the
kernel reported them (a hangup without data is C<HUP> alone).

B<Batching.>  C<enable_*>, C<disable_*>, C<watch>, C<unwatch> and
C<cancel> only mark the fd; before the next wait the kernel is told the
result with at most one C<epoll_ctl> per fd (none when it ends as it
began), so a disable and enable between two waits costs no system call.

=head2 unwatch($fh_or_fd)

1 if a watcher for C<fileno($fh)> (or for the fd number) was cancelled,
else 0 (also for a false or closed C<$fh>).  A reference that is no file
handle at all (a hash, a code ref) croaks C<unwatch: fh is not a file
handle>; C<watch> croaks C<fh has no fileno> for it.

=head1 REPEATING TIMERS, HOOKS, TIME

=head2 every($seconds, $cb)

Runs C<< $cb->($loop) >> every C<$seconds> (> 0, fractional), the first
time one interval from now, until C<< $loop->cancel($id) >> (also from
the callback).  Returns a timer id, as C<after>.  Drift-free: each
deadline is the previous one plus the interval, whatever the callbacks
cost; ticks missed while the loop was busy coalesce into one call, and
the next deadline stays on the grid.  Croaks C<every: seconds is
required>, C<< every: seconds must be a number > 0 (got '...') >>,
C<every: cb is required>, C<every: cb must be a code reference>.

=head2 idle($cb)

Runs C<< $cb->($loop, $idle) >> once per iteration in which nothing else
happened (no event, no timer).  While one is active the loop's wait does
not block.  Returns a L<Linux::Event::Subscription> (C<cancel>,
C<is_active>).

=head2 prepare($cb), check($cb)

C<< $cb->($loop, $hook) >> before every wait (after the due timers: a
prepare callback may still add watchers and timers for that wait) and
after every wait and its dispatch: what embedding another loop needs.
They do not keep the loop alive.  Each returns a
L<Linux::Event::Subscription>.

=head2 now, time, update_time

C<now>: the loop's monotonic clock in seconds (CLOCK_MONOTONIC), and
C<time>: the wall clock (seconds since the epoch, fractional), both
taken once per iteration (so every callback of one iteration sees the
same values).  C<update_time> refreshes both and returns C<now>.

=head2 alive

How many registered things can still make the loop do something:
active watchers (the loop's own waker drain watcher included, once
C<waker> made it), pending timers, idle watchers, signal subscriptions
and handlers, child watchers and pid subscriptions.  0 when nothing is
left (C<< $loop->run_once while $loop->alive >>).  Hooks do not count.

Every callback above that dies follows the rule of L</run>: the loop
stays consistent, stops, and C<run> croaks with the error.

=head1 CHILD PROCESSES

C<< fork(%spec) >> starts a child through this loop's own
L<Linux::Event::Fork> helper and returns its L<Linux::Event::Fork::Child>
(or a Request when the helper's limit is reached); C<< fork_helper(%args) >>
returns that helper, made on first use.  Both load Linux::Event::Fork
themselves; see its POD for the spawn options.

=head1 SIGNALS, WAKEUPS, PIDS, CHILDREN

C<signal(...)> forwards to this loop's L<Linux::Event::Signal> adaptor,
C<pid(...)> to its L<Linux::Event::Pid> adaptor (each made on first
use).

=head2 signal_subscribe($sig_or_list, $cb)

Subscribes C<< $cb->($loop, $signame) >> (C<$signame> as in C<%SIG>:
C<'USR1'>) to one signal or an array ref of them (numbers or names, as
C<signal> takes them).  Any number of subscribers per signal; each
arrival calls all of them in subscription order, and C<signal>'s one
handler (last wins) is one more subscriber in that order.  Returns a
L<Linux::Event::Subscription> whose C<cancel> ends it.  Croaks
C<signal_subscribe: signal is required>, C<signal_subscribe: no signals
provided>, C<< signal_subscribe: unknown signal '...' >>,
C<signal_subscribe: cb must be a code reference>.

The signal is blocked while the loop lives and read from its signalfd.
When no subscriber is left, an arrival is handed to C<%SIG>: if
C<$SIG{NAME}> is a code ref (or a sub name) it runs from the loop with
the signal name, as a safe signal would; C<IGNORE> drops it; with
C<DEFAULT> (or nothing) it is swallowed while the loop lives.  No child
process inherits the blocked mask (see
L<Linux::Event::Subscription/CHILD PROCESSES>).

=head2 child($pid, $cb)

Runs C<< $cb->($loop, $pid, $status) >> when child C<$pid> exits
(C<$status> the raw wait status, as C<$?>), or for every child of this
process with C<$pid == 0>.  Any number of watchers per pid; a watcher of
one pid ends after its call, a pid-0 watcher stays until cancelled.
Each child is reaped once, and its status goes to every watcher of its
pid, every pid-0 watcher (in subscription order) and a C<pid()>
subscription of the same pid.  A child reaped by someone else's
C<waitpid> gives the watchers of its pid C<undef> with C<$!> ECHILD
(pid-0 watchers hear nothing of it); nothing spins.  A pid-0 watcher
reaps every child, including those other code waits for
(L<Linux::Event::Fork> children, your own C<waitpid>): they then see
ECHILD.  Children are read through SIGCHLD, which is then one of the
loop's signals (C<$SIG{CHLD}> as above once no watcher is left).
Returns a L<Linux::Event::Subscription>.  Croaks C<child: pid is
required>, C<< child: pid must be 0 (every child) or a positive integer
(got '...') >>, C<child: cb must be a code reference>, and
C<< Linux::Event::child: cannot watch pid N: ... >> when C<$pid> is not
an unreaped child of this process.  C<waker> (no arguments) returns the loop's one
L<Linux::Event::Wakeup>, with an internal watcher that drains it (a
C<watch> on C<< $waker->fh >> replaces that watcher).

=head1 THREADS AND FORKS

A loop belongs to the thread that made it.  A new ithread gets inert
copies of it and its watchers (their methods croak
C<this loop belongs to another thread>, watchers are inactive), and a
copy of the L<Linux::Event::Wakeup>, whose C<signal> wakes the original
loop: that is how threads hand work to a loop.  A forked child may
signal the waker too (the eventfd is shared).

A forked child may use its copy of the loop fully.  At its first use
there (C<run>, C<run_once>, C<watch>, timers, signals, ...) the loop
rebuilds its kernel objects: a new epoll set holding every live watcher,
a new timerfd armed for the pending timers, a new signalfd with the
loop's signals blocked again.  The parent's objects are never changed:
the child only closes its copies, also when it frees the loop.  What
belonged to the parent is settled by one rule: C<pid> and C<child>
subscriptions are dropped in the child (inactive, no callback); the
waker's eventfd stays shared.

=head2 after_fork

Rebuilds at once (libev's C<ev_loop_fork>), for callers that want it
explicit; a no-op in the process that made the loop.  Croaks
C<Linux::Event::after_fork: cannot rebuild the loop: ...> when a kernel
object cannot be made.

=head1 KNOWN LIMITS

If a watched descriptor is closed while a dup of it stays open, epoll
keeps the registration (it belongs to the open file, not the number) and
cannot be told to drop it through the closed number.  The watcher is
cancelled at its next event, and the loop, seeing an event for an fd
that is no longer registered, rebuilds its epoll set (as libev does):
one extra wakeup and a rebuild, then it sleeps again.  C<unwatch> before
closing is still cheaper.

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
