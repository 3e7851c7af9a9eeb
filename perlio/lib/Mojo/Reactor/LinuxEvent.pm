# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Mojo::Reactor::LinuxEvent;
use Mojo::Base 'Mojo::Reactor::Poll';

# Mojo::Base, not v5.36: Mojo's attribute and event machinery want it.
use v5.36;

our $VERSION = '0.200';

use Carp qw(croak);
use Scalar::Util qw(weaken);

# Mojo::Reactor->detect falls back to Mojo::Reactor::Poll when a reactor
# class fails to load, so this module always loads: without Linux::Event,
# new croaks instead, and selecting it fails loudly.
my $LOAD_ERROR;

BEGIN {
    $LOAD_ERROR = eval { require Linux::Event::Loop; 1 } ? undef : ($@ || 'unknown error');
}

# Which live reactor holds the process's shared loop (held weakly).
my $DEFAULT_OWNER;

sub new ($class, @args) {
    croak "Mojo::Reactor::LinuxEvent: cannot load Linux::Event: $LOAD_ERROR" if defined $LOAD_ERROR;
    my $self = $class->SUPER::new(@args);

    # The first reactor (Mojo::IOLoop's singleton: Mojo::IOLoop makes it
    # when loaded) shares Linux::Event::Loop->default with the other
    # frameworks; later ones get their own loop, as they do with EV.
    if (!$self->{loop}) {
        if (!$DEFAULT_OWNER) {
            $self->{loop} = Linux::Event::Loop->default;
            weaken($DEFAULT_OWNER = $self);
        } else {
            $self->{loop} = Linux::Event::Loop->new(model => 'reactor');
        }
    }
    $self->{seq} = 0;
    return $self;
}

sub DESTROY ($self) {
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    $self->_drop_all;
    return;
}

sub loop ($self) { return $self->{loop} }

sub again ($self, $id, $after = undef) {
    croak 'Timer not active' unless my $t = $self->{timers}{$id};
    $t->{after} = $t->{recurring} ? _period($after) : $after if defined $after;
    my $loop = $self->{loop};
    $loop->cancel($t->{lid});
    $t->{lid} =
          $t->{recurring}
        ? $loop->every($t->{after}, $t->{run})
        : $loop->after($t->{after}, $t->{run});
    return;
}

sub io ($self, $handle, $cb) {
    my $fd   = fileno($handle) // croak 'Handle is closed';
    my $io   = $self->{io}{$fd};
    my $loop = $self->{loop};
    $io->{w}->cancel if $io && $io->{w};
    $io = $self->{io}{$fd} = { cb => $cb };

    # _try inlined: these run per event.
    weaken(my $weak = $self);
    my $w = $loop->watch(
        $fd,
        read => sub {
            my $self = $weak or return;
            my $io   = $self->{io}{$fd} or return;
            eval { $self->${ \$io->{cb} }(0); 1 } or $self->emit(error => "I/O watcher failed: $@");
        },
        write => sub {
            my $self = $weak or return;
            my $io   = $self->{io}{$fd} or return;
            eval { $self->${ \$io->{cb} }(1); 1 } or $self->emit(error => "I/O watcher failed: $@");
        },
    );
    $io->{w} = $w;
    return $self;
}

sub one_tick ($self) {
    local $self->{running} = 1 unless $self->{running};

    # Stop by itself when nothing is watched (Mojo::Reactor::Poll's rule).
    return $self->stop unless %{ $self->{timers} // {} } || %{ $self->{io} // {} };
    $self->{loop}->run_once;
    return;
}

sub recurring ($self, $after, $cb) { return $self->_timer(1, $after, $cb) }

sub remove ($self, $remove) {
    if (!ref $remove) {
        my $t = delete $self->{timers}{$remove} or return !!0;
        $self->{loop}->cancel($t->{lid});
        return !!1;
    }
    my $io = delete $self->{io}{ fileno($remove) // croak 'Handle is closed' } or return !!0;
    $io->{w}->cancel if $io->{w};
    return !!1;
}

sub reset ($self) {
    $self->_drop_all;
    delete @{$self}{qw(events io next_tick next_timer running timers)};
    return;
}

# one_tick's loop, without a method call and a local per iteration.
sub start ($self) {
    local $self->{running} = ($self->{running} || 0) + 1;
    my $loop = $self->{loop};
    while ($self->{running}) {
        if (!%{ $self->{timers} // {} } && !%{ $self->{io} // {} }) { $self->stop; last }
        $loop->run_once;
    }
    return;
}

sub timer ($self, $after, $cb) { return $self->_timer(0, $after, $cb) }

sub watch ($self, $handle, $read, $write) {
    my $fd = fileno $handle;
    croak 'I/O watcher not active' unless my $io = $self->{io}{ $fd // '' };
    my $w = $io->{w};
    $read ? $w->enable_read : $w->disable_read;
    $write ? $w->enable_write : $w->disable_write;
    return $self;
}

sub _drop_all ($self) {
    my $loop = $self->{loop} or return;
    $loop->cancel($_->{lid}) for values %{ $self->{timers} // {} };
    $_->{w} && $_->{w}->cancel for values %{ $self->{io} // {} };
    return;
}

sub _id ($self) { return 't' . ++$self->{seq} }

# A recurring timer's period: Mojo::Reactor::Poll runs one of 0 (or
# less) on every tick; the loop's every() wants a period > 0, so such a
# timer runs every 0.1 ms.
sub _period ($after) {
    return defined $after && $after > 0 ? $after : 0.0001;
}

sub _timer ($self, $recurring, $after, $cb) {
    $after = _period($after) if $recurring;
    $after //= 0;
    my $id = $self->_id;
    weaken(my $weak = $self);
    my $run = sub {
        my $self = $weak or return;
        delete $self->{timers}{$id} unless $recurring;
        eval { $self->$cb; 1 } or $self->emit(error => "Timer failed: $@");
    };
    my $loop = $self->{loop};
    $self->{timers}{$id} = {
        after     => $after,
        recurring => $recurring,
        run       => $run,
        lid       => ($recurring ? $loop->every($after, $run) : $loop->after($after, $run)),
    };
    return $id;
}

1;
__END__

=head1 NAME

Mojo::Reactor::LinuxEvent - a Mojo::Reactor on the Linux::Event reactor (libevloop)

=head1 SYNOPSIS

    MOJO_REACTOR=Mojo::Reactor::LinuxEvent perl your-mojo-app daemon

    use Mojo::Reactor::LinuxEvent;
    my $reactor = Mojo::Reactor::LinuxEvent->new;
    $reactor->timer(0.5 => sub ($reactor) { say 'tick'; $reactor->stop });
    $reactor->start;

=head1 DESCRIPTION

The whole L<Mojo::Reactor> contract (it subclasses
L<Mojo::Reactor::Poll>, as L<Mojo::Reactor::EV> does) over a
L<Linux::Event::Loop> reactor: C<io>, C<watch>, C<remove>, C<timer>,
C<recurring>, C<again> (with or without a new delay), C<next_tick>,
C<one_tick> (returns by itself when this reactor watches nothing),
C<start>, C<stop>, C<is_running>, C<reset>, and the C<error> event for
exceptions in callbacks (C<I/O watcher failed: ...>,
C<Timer failed: ...>).  Croak texts are Mojo::Reactor::Poll's
(C<Handle is closed>, C<I/O watcher not active>, C<Timer not active>).

=head2 Selecting it

C<MOJO_REACTOR=Mojo::Reactor::LinuxEvent> (L<Mojo::IOLoop>'s singleton
then uses it), or C<< Mojo::Reactor::LinuxEvent->new >>.  If
Linux::Event cannot be loaded, the module still loads (so that
Mojo::Reactor's detection does not fall back to Mojo::Reactor::Poll)
and C<new> croaks C<Mojo::Reactor::LinuxEvent: cannot load
Linux::Event: ...>.

=head2 Which loop

The first reactor made in a process (with C<MOJO_REACTOR> set, the one
L<Mojo::IOLoop> makes for its singleton when loaded) runs on
C<< Linux::Event::Loop->default >>, the loop L<AnyEvent::Impl::LinuxEvent>
and Linux::Event code share: C<< Mojo::IOLoop->start >> then drives their
watchers too, while Mojo has something to watch.  Every further reactor
(while the first lives) gets a loop of its own, so separate reactors run
independently.  C<< ->new(loop => $loop) >> picks the loop; C<loop>
returns it.

=head2 What it does natively

Timers are the loop's C timer heap (C<recurring> uses the drift-free
C<every>); I/O is one loop watcher per handle, watched by fd number,
whose directions C<watch> enables and disables (batched into at most one
C<epoll_ctl> per iteration).  Forked children (prefork workers,
L<Mojo::IOLoop::Subprocess>) keep using the reactor: the loop rebuilds its
kernel objects there by the fork rule.

=head2 Differences from Mojo::Reactor::EV

Mojo::Reactor::EV gives every reactor after the first a
Mojo::Reactor::Poll; here each is a Mojo::Reactor::LinuxEvent on its own
loop.  An error or hangup on a handle is reported as readable and then
writable (EV: as the kernel's revents map to EV_READ/EV_WRITE).  An
exception from an C<error> subscriber propagates out of C<start> and
C<one_tick>, as with EV.

=head1 SEE ALSO

L<Mojo::Reactor>, L<Mojo::IOLoop>, L<Linux::Event::Loop>,
L<AnyEvent::Impl::LinuxEvent>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
