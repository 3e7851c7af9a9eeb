# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Proactor;
use v5.36;

use Carp qw(croak);
use Scalar::Util qw(blessed reftype);

use PerlIO::evloop ();    # the XS half: op methods, run_once, Operation
use Linux::Event::Error ();
use Linux::Event::Operation ();
use Linux::Event::Proactor::Backend::Fake ();
use Linux::Event::Proactor::Backend::Uring ();
use Linux::Event::Subscription ();

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use constant NS_PER_S => 1_000_000_000;

# The clock: Linux::Event::Clock (part of this distribution, so always
# there).
sub _default_clock () {
    require Linux::Event::Clock;
    return Linux::Event::Clock->new(clock => 'monotonic');
}

sub new ($class, %arg) {
    my $backend_name = $arg{backend} // 'fake';
    croak 'backend must be fake or uring'
        if ref($backend_name) || ($backend_name ne 'fake' && $backend_name ne 'uring');

    my $clock = $arg{clock} // _default_clock();
    croak 'clock must provide tick()'
        unless blessed($clock) && $clock->can('tick');
    croak 'clock must provide now_ns()'
        unless $clock->can('now_ns');

    my $self = bless {
        backend_name   => $backend_name,
        backend        => undef,
        clock          => $clock,
        running        => 0,
        stop_requested => 0,
        next_op_id     => 1,
        queue_size     => $arg{queue_size} // 64,

        ops_by_token   => {},
        callback_queue => [],
        callback_head  => 0,
        live_op_count  => 0,
    }, $class;

    my $backend_class =
        $backend_name eq 'uring'
        ? 'Linux::Event::Proactor::Backend::Uring'
        : 'Linux::Event::Proactor::Backend::Fake';
    $self->{backend} = $backend_class->_new(%arg, loop => $self);

    # The C engine: a libevloop proactor loop (io_uring, or the fake
    # backend for 'fake', which companions may drive) attached as magic.
    $self->_engine_init;

    return $self;
}

sub clock         ($self) { return $self->{clock} }
sub backend_name  ($self) { return $self->{backend_name} }
sub live_op_count ($self) { return $self->{live_op_count} }
sub is_running    ($self) { return $self->{running} ? 1 : 0 }

# Non-blocking getaddrinfo: see Linux::Event::Resolver.
sub resolve ($self, %args) {
    require Linux::Event::Resolver;
    return Linux::Event::Resolver::resolve($self, %args);
}

sub run ($self) {
    $self->{running}        = 1;
    $self->{stop_requested} = 0;

    # _run_until_stopped (XS) is `$self->_run_once_idle until
    # $self->{stop_requested}`: _run_once_idle is run_once that may wait
    # when nothing is queued: for the next completion, or the next Fake
    # timer, instead of spinning.  A %SIG handler still runs (and may
    # call stop).
    my $ok = eval {
        $self->_run_until_stopped;
        1;
    };
    my $err = $@;
    $self->{running} = 0;
    die $err unless $ok;
    return;
}

# Subscriptions over the proactor's libevloop loop: the same checks and
# XS as the reactor's (Reactor.pm, perlio/xs/subscribe.xs); callbacks get
# this engine first, as operation callbacks do.  now, time, update_time,
# alive and after_fork are XS (subscribe.xs).
sub _public_loop ($self) { return $self }

for my $m (qw(signal_subscribe child idle prepare check)) {
    require Linux::Event::Reactor;
    no strict 'refs';    ## no critic (ProhibitNoStrict)
    *{$m} = \&{"Linux::Event::Reactor::$m"};
}

# A repeating timer over the loop's timer heap (drift-free, missed ticks
# coalesced): a Linux::Event::Subscription, as operations are objects
# here (the reactor's every returns an id for its cancel).
sub every ($self, $seconds = undef, $cb = undef) {
    croak("every: seconds is required") if !defined $seconds;
    croak("every: seconds must be a number > 0 (got '$seconds')")
        if ref($seconds) || !Scalar::Util::looks_like_number($seconds) || !($seconds > 0);
    croak("every: cb is required") if !defined $cb;
    croak("every: cb must be a code reference") if ref($cb) ne 'CODE';
    return Linux::Event::Subscription->_every($self, $self, 0 + $seconds, $cb);
}

sub stop ($self) {
    $self->{stop_requested} = 1;
    return;
}

# read write recv send accept connect shutdown close splice, run_once,
# _run_once_idle, _run_until_stopped, drain_callbacks, _submit_op,
# _new_op, _unregister_op, _cancel_op,
# _enqueue_callback and _drain_callback_queue are XS (perlio/xs/proactor.xs).

sub after ($self, $seconds = undef, %arg) {
    $self->_validate_after_args($seconds, %arg);
    my $deadline_ns = $self->_deadline_ns_after($seconds);
    return $self->_submit_op('timeout', deadline_ns => $deadline_ns, %arg);
}

sub at ($self, $deadline = undef, %arg) {
    $self->_validate_at_args($deadline, %arg);
    my $deadline_ns = $self->_deadline_ns_at($deadline);
    return $self->_submit_op('timeout', deadline_ns => $deadline_ns, %arg);
}

sub _validate_after_args ($self, $seconds, %arg) {
    croak 'after requires seconds' unless defined $seconds;
    $self->_validate_allowed_keys(\%arg, qw(data on_complete));
    $self->_validate_common_args(%arg);
    return;
}

sub _validate_at_args ($self, $deadline, %arg) {
    croak 'at requires deadline' unless defined $deadline;
    $self->_validate_allowed_keys(\%arg, qw(data on_complete));
    $self->_validate_common_args(%arg);
    return;
}

sub _validate_common_args ($self, %arg) {
    if (defined $arg{on_complete} && (reftype($arg{on_complete}) // '') ne 'CODE') {
        croak 'on_complete must be a coderef';
    }
    return;
}

# The first offending key in sorted order, so that the message does not
# depend on hash order.
sub _validate_allowed_keys ($self, $href, @allowed) {
    my %allowed = map { $_ => 1 } @allowed;
    for my $key (sort keys %{$href}) {
        croak "unknown argument: $key" unless $allowed{$key};
    }
    return;
}

sub _tick_clock ($self) {
    $self->{clock}->tick;
    return $self->{clock}->now_ns;
}

sub _now_ns ($self) {
    return $self->_tick_clock;
}

sub _seconds_to_ns ($self, $seconds) {
    return int($seconds * NS_PER_S);
}

sub _deadline_ns_after ($self, $seconds) {
    my $delta_ns = $self->_seconds_to_ns($seconds);
    $delta_ns = 0 if $delta_ns < 0;
    return $self->_now_ns + $delta_ns;
}

sub _deadline_ns_at ($self, $deadline) {
    return $self->_seconds_to_ns($deadline);
}

sub _remaining_ns_until ($self, $deadline_ns) {
    my $rem = $deadline_ns - $self->_now_ns;
    return $rem > 0 ? $rem : 0;
}

# The Fake backend's test hooks, forwarded (no splice forwarders: tests
# reach those through $loop->{backend}).
for my $kind (qw(read write recv send accept connect shutdown close)) {
    for my $outcome (qw(success error)) {
        my $name = "_fake_complete_${kind}_$outcome";
        no strict 'refs';
        *{$name} = sub ($self, @arg) {
            my $backend = $self->{backend};
            croak "active backend does not support $name"
                unless $backend->can($name);
            return $backend->$name(@arg);
        };
    }
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

Linux::Event::Proactor - completion-based engine of Linux::Event, over libevloop

=head1 SYNOPSIS

  use v5.36;
  use Linux::Event::Proactor;

  my $loop = Linux::Event::Proactor->new(backend => 'uring');

  $loop->recv(
      fh          => $sock,
      len         => 4096,
      data        => { id => 1 },
      on_complete => sub ($op, $result, $ctx) {
          return if $op->is_cancelled;
          die $op->error->message if $op->failed;
          print "got $result->{bytes} bytes\n";
          $op->loop->stop if $result->{eof};
      },
  );

  $loop->after(0.25, on_complete => sub ($op, $result, $ctx) {
      # $result is { expired => 1 }
  });

  $loop->run;

=head1 DESCRIPTION

A proactor: each operation (read, write, recv, send, accept, connect,
shutdown, close, splice, timeout) is submitted at once and completes later;
it is represented by a L<Linux::Event::Operation>.  With the C<uring> backend
the operations are io_uring requests made by libevloop (C); with the
C<fake> backend (the default of this class) nothing is performed and tests
settle operations with the backend's C<_fake_complete_*> hooks.

Through L<Linux::Event::Loop> (C<< model => 'proactor' >>) the default
backend is C<uring>.

The engine is a blessed hash.  Programs may read C<< $loop->{backend} >>,
C<< $loop->{ops_by_token}{$token} >> and the other fields below; the C
state behind it updates them in place.

=head1 CONSTRUCTOR

=head2 new(%args)

=over 4

=item backend

C<'fake'> (default) or C<'uring'>; anything else croaks
C<backend must be fake or uring>.  A kernel that refuses io_uring makes
C<uring> croak C<failed to set up io_uring: ...>.

=item clock

An object with C<tick> and C<now_ns> (croaks C<clock must provide tick()>
or C<clock must provide now_ns()>); defaults to a monotonic
L<Linux::Event::Clock>.  C<after> and C<at> deadlines are on its timeline.

=item queue_size

Default 64: the io_uring submission queue size (C<uring>).

=back

Other keys are not rejected: all of them, plus C<< loop => $self >>, go to
the backend constructor (see L<Linux::Event::Proactor::Backend::Uring> for
its options).

Fields: C<backend_name>, C<backend>, C<clock>, C<running>,
C<stop_requested>, C<next_op_id> (tokens come from it, from 1),
C<queue_size>, C<ops_by_token>, C<callback_queue>, C<callback_head> (always
0: the queue is shifted), C<live_op_count>.

=head1 METHODS

=head2 clock, backend_name, live_op_count, is_running

C<backend_name> is the string given to C<new>.  C<live_op_count> counts
registered, unsettled operations.  C<is_running> is 1 or 0.

=head2 run

Sets C<running>, clears C<stop_requested>, and calls C<run_once> until
C<stop> is called; then clears C<running> (also when a callback's
exception propagates out of it).  When nothing is queued it waits instead
of spinning: for the next completion (uring), or for the next Fake timer.
A signal with a C<%SIG> handler interrupts the wait and the handler runs
(it may call C<stop>).

=head2 stop

Makes C<run> return after the current iteration.  Returns an empty list.
Calling it before C<run> has no effect.

=head2 run_once

One iteration; returns the backend's progress plus the number of callback
queue entries drained.  Fake: due timers are settled (in deadline order,
then submission order); other operations only by the test hooks; it never
blocks.  Uring: submissions go to the kernel, completions settle their
operations (counted as progress); it blocks, when no callback is queued,
until a completion or another event of the loop: never when nothing at
all is alive (no operation in flight, as in Linux::Event 0.010, and no
timer, child or signal subscription, or companion such as a Stream), so
that a C<run_once> pump waiting for a child or a signal sleeps instead of
spinning.  A signal with a C<%SIG> handler ends the wait.  An optional
timeout in seconds bounds the wait.

=head2 drain_callbacks

Runs the queued callbacks without touching the backend; returns how many
entries it processed.  Callbacks queued while it runs (by a callback
cancelling or completing another operation) run in the same drain, in
FIFO order: none is lost.

=head1 CHILD PROCESSES

C<< fork(%spec) >> starts a child through this loop's own
L<Linux::Event::Fork> helper and returns its L<Linux::Event::Fork::Child>
(or a Request when the helper's limit is reached); C<< fork_helper(%args) >>
returns that helper, made on first use.  Both load Linux::Event::Fork
themselves; see its POD for the spawn options.

=head1 OPERATIONS

Each returns a pending L<Linux::Event::Operation>.  Arguments are checked
first, in this order: unknown keys (C<unknown argument: KEY>, the first in
sorted order), required keys, then C<on_complete> (C<on_complete must be a
coderef>).

  read(fh, len, data, on_complete)         { bytes, data, eof }
  write(fh, buf, data, on_complete)        { bytes }
  recv(fh, len, flags, data, on_complete)  { bytes, data, eof }
  send(fh, buf, flags, data, on_complete)  { bytes }
  accept(fh, data, on_complete)            { fh, addr }
  connect(fh, addr, data, on_complete)     {}
  shutdown(fh, how, data, on_complete)     {}
  close(fh, data, on_complete)             {}
  splice(in_fh, out_fh, len, flags, data, on_complete)  { bytes }
  after($seconds, data, on_complete)       { expired => 1 }
  at($deadline, data, on_complete)         { expired => 1 }

C<eof> is 1 when C<bytes> is 0.  C<how> is C<'read'>, C<'write'>,
C<'both'> or SHUT_RD/SHUT_WR/SHUT_RDWR.  C<flags> must look like an
integer.  C<at> takes an absolute time on the clock's timeline
(C<< $loop->clock->now_s + 0.5 >>); a past one completes on the next
C<run_once>, never inline.

With C<uring>: C<fh> must be an open Perl handle (or a file descriptor
number); reads use the current file position; C<send> is a real send(2)
with MSG_NOSIGNAL added, so a vanished peer is an C<EPIPE> error, never a
SIGPIPE; C<write> to a socket is sent the same way; C<accept> gives a new
Perl socket handle (close-on-exec) and the peer's packed address;
C<close> closes Perl's handle at once (flushing it) and lets the kernel
close a duplicate of its descriptor, so perl never closes that descriptor
number again; C<buf> is copied (copy-on-write) so it may be changed after
the call.  Buffers and handles are held until the kernel is done with
them.  Timeouts are absolute deadlines on the loop's timer heap; an expiry
is a success.

Errors: a failed operation is C<done> with C<failed> 1 and an
L<Linux::Event::Error> (C<code> the errno, C<name> such as C<EPIPE>,
C<message> from strerror).

=head2 Completion callbacks

  on_complete => sub ($op, $result, $data) { ... }

Exactly three arguments: the operation, its result hash (undef when it
failed or was cancelled), and its C<data>.  Callbacks never run inline
(not on submit, cancel, the test hooks or C<on_complete>): settlement
happens at once, the callback is queued and run by C<run_once> or
C<drain_callbacks>.  After it runs the operation forgets the callback and
the data.  A callback that dies leaves the queue and the counters
consistent (later entries stay queued) and the exception propagates out of
C<run_once>, C<drain_callbacks> or C<run>.

=head2 Cancellation

C<< $op->cancel >> is synchronous on both backends: when it returns, the
operation is terminal.  It returns 1 if the operation ended C<cancelled>,
0 if it was already terminal.  With C<uring> the kernel is asked to cancel
and its answer is awaited (promptly given); if the operation had already
completed, it ends C<done> with its real result and C<cancel> returns 0, so
a completed read's data is never lost.  The callback is queued as usual.

=head1 SIGNALS, CHILDREN, HOOKS, TIME, FORK

Over the engine's libevloop loop (both backends), with the reactor's
arguments, errors and rules (see L<Linux::Event::Reactor>):
C<signal_subscribe($sig_or_list, $cb)>, C<child($pid, $cb)>,
C<idle($cb)>, C<prepare($cb)>, C<check($cb)> (each returns a
L<Linux::Event::Subscription>), C<now>, C<time>, C<update_time>,
C<alive> and C<after_fork>.  Their callbacks get this engine first, as
operation callbacks do.  C<every($seconds, $cb)> runs
C<< $cb->($engine, $subscription) >> every C<$seconds> (drift-free,
missed ticks coalesced, as the reactor's) and returns a
L<Linux::Event::Subscription>: its C<cancel> stops it (operations are
objects here, so there is no C<cancel($id)>).  Not offered here: fd
watchers.

Fork: a child may keep using the engine.  At its first use there the
loop makes a fresh io_uring ring (the parent's is never touched:
C<run_once> in a child returns, where it used to die of SIGSEGV);
operations pending at the fork settle with ECANCELED and their
callbacks run from the child's loop.

=head1 INTERNALS THE TESTS USE

C<_new_op(kind, data, on_complete)>, C<_unregister_op($token)> (the op or
undef), C<_cancel_op($op)>, C<_enqueue_callback($op)>,
C<_drain_callback_queue>, C<_submit_op($kind, %args)>, C<_now_ns>,
C<_remaining_ns_until($deadline_ns)>, and the forwarders
C<_fake_complete_{read,write,recv,send,accept,connect,shutdown,close}_{success,error}>
(croak C<active backend does not support ...> with C<uring>).

=head1 LIFETIME

The engine holds no reference to itself: dropping the last reference frees
it, its ring and descriptors; operations still in the kernel are cancelled
and reaped first.  An Operation does not keep its engine alive (its
C<loop> is then undef); one still pending when its engine goes is
cancelled with it (C<state> C<cancelled>, and no callback runs).  A callback that captures C<$loop> keeps it alive
while the operation is pending; use C<< $op->loop >> inside callbacks
instead.

=head1 SEE ALSO

L<Linux::Event::Loop>, L<Linux::Event::Operation>, L<Linux::Event::Error>,
L<Linux::Event::Proactor::Backend>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
