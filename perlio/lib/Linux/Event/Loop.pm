# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Loop;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);

require PerlIO::evloop;
require Linux::Event::Subscription;    # and its fork/system/exec wrappers

# READABLE WRITABLE PRIO RDHUP ET ONESHOT ERR HUP: constant subs of the XS
# (perlio/xs/reactor.xs defines them once for every package that has them).

sub new ($class, %args) {
    my $model = delete $args{model};
    croak "model is required and must be 'reactor' or 'proactor'" if !defined $model;
    my $backend = delete $args{backend};
    my $self    = bless { model => $model }, $class;
    if ($model eq 'reactor') {
        require Linux::Event::Reactor;
        $self->{impl} = Linux::Event::Reactor->new(
            %args,
            backend => (defined $backend ? $backend : 'epoll'),
            loop    => $self
        );
    } elsif ($model eq 'proactor') {
        require Linux::Event::Proactor;

        # No loop => $self here: $op->loop is the engine (Linux::Event 0.010's rule).
        $self->{impl} =
            Linux::Event::Proactor->new(%args, backend => (defined $backend ? $backend : 'uring'));
    } else {
        croak "unknown model '$model' (reactor or proactor)";
    }
    return $self;
}

# The process's shared reactor (what the framework backends use unless
# given a loop): made at first use.  A forked child keeps the same
# object; the loop rebuilds itself there at its first use (fork rule).
my $DEFAULT;
sub default ($class) { return $DEFAULT //= Linux::Event::Loop->new(model => 'reactor') }

# AnyEvent's autodetection: with Linux::Event loaded first, AnyEvent picks
# AnyEvent::Impl::LinuxEvent (AnyEvent reads this list at its first use).
push @AnyEvent::REGISTRY, ['Linux::Event::Loop' => 'AnyEvent::Impl::LinuxEvent'];

sub model ($self) { return $self->{model} }
sub impl  ($self) { return $self->{impl} }

# Non-blocking getaddrinfo: see Linux::Event::Resolver.
sub resolve ($self, %args) {
    require Linux::Event::Resolver;
    return Linux::Event::Resolver::resolve($self, %args);
}

# Delegation: backend_name clock is_running run run_once stop, timer
# backend sched signal waker pid watch unwatch cancel after at every,
# signal_subscribe child idle prepare check now time update_time alive
# after_fork, read write recv send accept connect shutdown close splice
# live_op_count drain_callbacks, _watcher_update and _watcher_cancel are
# XSUBs (perlio/xs/loop.xs): each calls the same method of the impl with
# the caller's arguments and context, or croaks "loop model '<m>' does
# not support <method>()"; after, at, cancel, stop, is_running, run_once
# and the common calls of watch go straight to the reactor's C when the
# impl is a reactor.

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

Linux::Event::Loop - the loop facade: picks a model and delegates to its engine

=head1 SYNOPSIS

    use v5.36;
    use Linux::Event::Loop;

    my $loop = Linux::Event::Loop->new(model => 'reactor');   # backend 'epoll'
    my $pro  = Linux::Event::Loop->new(model => 'proactor');  # backend 'uring'

    $loop->after(0.1, sub ($loop) { $loop->stop });
    $loop->run;

=head1 DESCRIPTION

A blessed hash with two keys: C<model> (the string) and C<impl> (the
engine object, a L<Linux::Event::Reactor> or L<Linux::Event::Proactor>).

=head2 new(%args)

C<model> is required: C<'reactor'> or C<'proactor'>.  Without it,
C<new> croaks C<model is required and must be 'reactor' or 'proactor'>;
any other value croaks C<unknown model '...' (reactor or proactor)>.
(L<Linux::Event>'s C<new> defaults it to C<'reactor'>.)

C<backend> defaults to C<'epoll'> for the reactor and C<'uring'> for the
proactor.  The remaining arguments go to the engine's constructor, plus
C<backend>; the reactor also gets C<< loop => $facade >>, so its callbacks
receive the facade.  Engine errors propagate unchanged.

=head2 default

    my $loop = Linux::Event::Loop->default;

The process's shared reactor loop, made by the first call (as
C<< new(model => 'reactor') >>) and returned by every later one.  The
framework backends (L<AnyEvent::Impl::LinuxEvent>,
L<Mojo::Reactor::LinuxEvent>, L<IO::Async::Loop::LinuxEvent>,
L<Future::IO::Impl::LinuxEvent>) use it unless given another loop, so one
C<run> drives them all.  A forked child gets the same object, which
rebuilds its kernel objects there at its first use (see
L</Hosting other frameworks: what each model offers>).  It lives until
the process exits.

Loading this module also registers L<AnyEvent::Impl::LinuxEvent> in
C<@AnyEvent::REGISTRY>, so AnyEvent's autodetection picks it when
Linux::Event is loaded before AnyEvent's first use.

=head2 model, impl

The model string and the engine.

=head2 Delegated methods

C<backend_name clock is_running run run_once stop>, the reactor's
C<timer backend sched signal waker pid watch unwatch cancel after at
every>, both models' C<signal_subscribe child idle prepare check now
time update_time alive after_fork>,
the proactor's C<read write recv send accept connect shutdown close
splice live_op_count drain_callbacks> (and its own C<after>/C<at>), and
the watchers' private hooks C<_watcher_update> and C<_watcher_cancel>.
Each forwards to the engine with the same arguments and returns what it
returns.  A method the engine lacks croaks
C<< loop model '<model>' does not support <method>() >>.

=head2 fork, fork_helper

C<< fork(%spec) >> starts a child through this loop's own
L<Linux::Event::Fork> helper and returns its L<Linux::Event::Fork::Child>
(or a Request when the helper's limit is reached); C<< fork_helper(%args) >>
returns that helper, made on first use.  Both load Linux::Event::Fork
themselves; see its POD for the spawn options.

=head2 Hosting other frameworks: what each model offers

    method                       reactor   proactor
    watch (fh or fd), revents,
      hangup, regular files      yes       no
    every                        yes (an   yes (a Subscription:
                                   id)       $sub->cancel)
    signal_subscribe, child      yes       yes
    idle, prepare, check         yes       yes
    now, time, update_time,
      alive, after_fork          yes       yes
    fork: automatic rebuild      yes       yes

On the reactor every callback gets this facade first; on the proactor
it gets the engine (C<< $loop->impl >>), as operation callbacks do.  The
details (arguments, errors, order) are in L<Linux::Event::Reactor>:
L<every|Linux::Event::Reactor/every($seconds, $cb)>,
L<idle|Linux::Event::Reactor/idle($cb)>,
L<prepare and check|Linux::Event::Reactor/prepare($cb), check($cb)>,
L<now, time, update_time|Linux::Event::Reactor/now, time, update_time>,
L<alive|Linux::Event::Reactor/alive>,
L<signal_subscribe|Linux::Event::Reactor/signal_subscribe($sig_or_list, $cb)>,
L<child|Linux::Event::Reactor/child($pid, $cb)>,
L<watch|Linux::Event::Reactor/watch($fh, %spec)> and
L<after_fork|Linux::Event::Reactor/after_fork>.

A forked child may keep using the loop of either model: it rebuilds its
kernel objects (epoll set, timerfd, signalfd, and on the proactor a new
io_uring ring) at its first use there and never touches the parent's.
On the proactor, operations in flight at the fork settle in the child as
cancelled (their callbacks run there with ECANCELED).

=head2 Constants

C<READABLE WRITABLE PRIO RDHUP ET ONESHOT ERR HUP> (0x01 to 0x80).

=head1 SEE ALSO

L<Linux::Event>, L<Linux::Event::Reactor>, L<Linux::Event::Proactor>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
