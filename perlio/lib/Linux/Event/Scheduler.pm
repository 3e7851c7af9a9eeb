# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Scheduler;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Scalar::Util qw(blessed weaken);

require PerlIO::evloop;

# Two kinds of object share this class:
#  - standalone (new): a binary min-heap over any clock, in Perl;
#  - engine-bound ($loop->sched): the same API over the reactor's
#    libevloop timer heap (ids shared with $loop->after/at/cancel).

sub new ($class, %args) {
    my $clock = delete $args{clock};
    croak "clock is required" if !$clock;
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    for my $m (qw(now_ns deadline_in_ns)) {
        croak "clock missing method '$m'" if !(blessed($clock) && $clock->can($m));
    }
    return bless {
        clock     => $clock,
        heap      => [],       # [deadline_ns, seq, id]
        live      => {},       # id => [cb, deadline_ns]
        next_id   => 0,
        seq       => 0,
        cancelled => 0,
    }, $class;
}

sub _for_engine ($class, $engine) {
    my $self = bless { clock => $engine->clock, engine => $engine }, $class;
    weaken($self->{engine});
    return $self;
}

sub clock ($self) { return $self->{clock} }

sub _check_cb ($cb) {
    croak "callback is required" if !$cb;
    croak "callback must be a coderef" if ref($cb) ne 'CODE';
}

sub at_ns ($self, $deadline_ns = undef, $cb = undef) {
    croak "deadline_ns is required" if !defined $deadline_ns;
    _check_cb($cb);
    if (exists $self->{engine}) {
        my $e = $self->{engine} or croak "at_ns(): the loop is gone";
        return $e->_sched_at_ns($deadline_ns, $cb);
    }
    return $self->_insert(int($deadline_ns), $cb);
}

sub after_ns ($self, $delta_ns = undef, $cb = undef) {
    croak "delta_ns is required" if !defined $delta_ns;
    _check_cb($cb);
    if (exists $self->{engine}) {
        my $e = $self->{engine} or croak "after_ns(): the loop is gone";
        return $e->_sched_after_ns(int($delta_ns), $cb);
    }
    return $self->_insert($self->{clock}->deadline_in_ns(int($delta_ns)), $cb);
}

sub cancel ($self, $id = undef) {
    if (exists $self->{engine}) {
        my $e = $self->{engine} or return 0;
        return $e->cancel($id);
    }
    return 0 if !defined $id || !delete $self->{live}{$id};

    # Lazy deletion; rebuild once enough dead entries pile up.
    $self->_rebuild if ++$self->{cancelled} > 32;
    return 1;
}

sub next_deadline_ns ($self) {
    if (exists $self->{engine}) {
        my $e = $self->{engine} or return undef;
        return $e->_sched_next_deadline_ns;
    }
    $self->_skip_dead;
    my $top = $self->{heap}[0];
    return $top ? $top->[0] : undef;
}

sub pop_expired ($self) {
    if (exists $self->{engine}) {
        my $e = $self->{engine} or return;
        return $e->_sched_pop_expired;
    }
    my $now = $self->{clock}->now_ns;
    my @out;
    while (1) {
        $self->_skip_dead;
        my $top = $self->{heap}[0] or last;
        last if $top->[0] > $now;
        $self->_pop;
        my $ent = delete $self->{live}{ $top->[2] };
        push @out, [$top->[2], $ent->[0], $top->[0]];
    }
    return @out;
}

# ---- the standalone heap: (deadline, seq) order, so equal deadlines FIFO

sub _less ($x, $y) {
    return $x->[0] < $y->[0] || ($x->[0] == $y->[0] && $x->[1] < $y->[1]);
}

sub _insert ($self, $deadline, $cb) {
    my $id = ++$self->{next_id};
    $self->{live}{$id} = [$cb, $deadline];
    my $h = $self->{heap};
    push @$h, [$deadline, $self->{seq}++, $id];
    my $i = $#$h;
    while ($i > 0) {
        my $p = ($i - 1) >> 1;
        last if !_less($h->[$i], $h->[$p]);
        @$h[$i, $p] = @$h[$p, $i];
        $i = $p;
    }
    return $id;
}

sub _pop ($self) {
    my $h    = $self->{heap};
    my $last = pop @$h;
    return if !@$h;
    $h->[0] = $last;
    my ($i, $n) = (0, scalar @$h);
    while (1) {
        my ($l, $r, $m) = (2 * $i + 1, 2 * $i + 2, $i);
        $m = $l if $l < $n && _less($h->[$l], $h->[$m]);
        $m = $r if $r < $n && _less($h->[$r], $h->[$m]);
        last if $m == $i;
        @$h[$i, $m] = @$h[$m, $i];
        $i = $m;
    }
}

sub _skip_dead ($self) {
    my $h = $self->{heap};
    while (@$h && !$self->{live}{ $h->[0][2] }) {
        $self->_pop;
        $self->{cancelled}-- if $self->{cancelled} > 0;
    }
}

sub _rebuild ($self) {
    my @keep = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }
        grep { $self->{live}{ $_->[2] } } @{ $self->{heap} };
    $self->{heap}      = \@keep;    # a sorted array is a valid heap
    $self->{cancelled} = 0;
}

1;
__END__

=head1 NAME

Linux::Event::Scheduler - a deadline heap: timers by id over a clock

=head1 SYNOPSIS

    my $s  = Linux::Event::Scheduler->new(clock => Linux::Event::Clock->new);
    my $id = $s->after_ns(5_000_000, sub { ... });
    $s->cancel($id);
    for my $t ($s->pop_expired) { my ($id, $cb, $deadline_ns) = @$t; $cb->() }

    my $sched = $loop->sched;   # the same API on the loop's own timers

=head1 DESCRIPTION

=head2 new(clock => $clock)

Croaks C<clock is required>, C<unknown args: ...>, or
C<< clock missing method '<m>' >> (it needs C<now_ns> and C<deadline_in_ns>).
Works over any such clock object.

=head2 at_ns($deadline_ns, $cb), after_ns($delta_ns, $cb)

Croak C<deadline_ns is required> / C<delta_ns is required>,
C<callback is required>, C<callback must be a coderef>.  C<after_ns> uses
C<< clock->deadline_in_ns(int $delta) >> (the clock's cached time).
Return an integer id (1, 2, ...).

=head2 cancel($id)

1 if the entry was live, else 0.  Deletion is lazy; the heap is rebuilt
once more than 32 entries are dead.

=head2 next_deadline_ns

The earliest live deadline, or undef.

=head2 pop_expired

Removes and returns C<[id, cb, deadline_ns]> for every live entry whose
deadline is at or before C<< clock->now_ns >>, earliest first; equal
deadlines in the order they were added.

=head2 The loop's scheduler

C<< $loop->sched >> returns an object of this class bound to the reactor:
its methods act on libevloop's timer heap, which is also where
C<< $loop->after >> and C<< $loop->at >> put their timers (one id space).
Timers added through it are dispatched by the loop with C<< ($loop) >>
as their argument like any other; C<pop_expired> takes due timers out
before the loop runs them (the caller then owns the callbacks), judged
against the loop's cached time.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
