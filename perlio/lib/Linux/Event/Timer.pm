# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Timer;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Scalar::Util qw(blessed);

require PerlIO::evloop;

my %CLOCKS = (
    monotonic => \&CLOCK_MONOTONIC,
    realtime  => \&CLOCK_REALTIME,
    boottime  => \&CLOCK_BOOTTIME,
);

sub new ($class, %opt) {
    my ($after, $every) = delete @opt{qw(after every)};
    croak "Only one of after/every may be supplied" if defined $after && defined $every;
    my $self = bless {}, $class;
    if (defined $opt{timerfd}) {
        my $tfd = delete $opt{timerfd};
        croak "timerfd must be an object" if !blessed($tfd);
        for my $m (qw(set_timeout receive)) {
            croak "timerfd missing required method '$m'" if !$tfd->can($m);
        }
        $self->{tfd} = $tfd;
    } else {
        delete $opt{timerfd};
        my $nonblocking = exists $opt{nonblocking} ? !!delete $opt{nonblocking} : 1;
        my $cloexec     = exists $opt{cloexec} ? !!delete $opt{cloexec} : 1;
        my $clock       = exists $opt{clock} ? delete $opt{clock} : 'monotonic';
        croak "Unknown option(s): " . join(", ", sort keys %opt) if %opt;
        my $id = $CLOCKS{ defined $clock ? $clock : '' }
            or croak "clock must be 'monotonic', 'realtime' or 'boottime'";
        my $fd = _timerfd_create($id->(), $nonblocking ? 1 : 0, $cloexec ? 1 : 0);
        open(my $fh, '<&=', $fd) or croak "timerfd handle: $!";
        binmode($fh);
        $self->{fh} = $fh;
        $self->{fd} = $fd;
    }
    croak "Unknown option(s): " . join(", ", sort keys %opt) if %opt;
    $self->after($after) if defined $after;
    $self->every($every) if defined $every;
    return $self;
}

sub fh ($self) { return $self->{tfd} || $self->{fh} }
sub fd ($self) { return $self->{tfd} ? fileno($self->{tfd}) : $self->{fd} }

sub read_ticks ($self) {
    if (my $tfd = $self->{tfd}) {
        my $n = $tfd->receive;
        return defined $n ? $n : 0;
    }
    return _timerfd_read($self->{fd});
}

sub _set ($self, $value, $interval) {
    if (my $tfd = $self->{tfd}) {
        $tfd->set_timeout($value, $interval);
    } else {
        _timerfd_settime($self->{fd}, $value, $interval);
    }
    return $self;
}

sub disarm ($self) { return $self->_set(0, 0) }

sub _num ($v, $name) {
    croak "$name is required" if !defined $v;
    croak "$name must be numeric" if ref($v) || $v !~ /\A-?(?:\d+(?:\.\d*)?|\.\d+)\z/;
}

sub after ($self, $seconds = undef) {
    _num($seconds, 'seconds');
    $seconds = 0 if $seconds < 0;
    return $self->_set($seconds, 0);    # 0 disarms, as timerfd does
}

sub every ($self, $interval = undef) {
    _num($interval, 'interval');
    croak "interval must be > 0" if !($interval > 0);
    return $self->_set($interval, $interval);
}

1;
__END__

=head1 NAME

Linux::Event::Timer - a timerfd as a Perl handle

=head1 SYNOPSIS

    my $t = Linux::Event::Timer->new;          # unarmed, non-blocking, close-on-exec
    $t->after(0.25);                            # one shot
    $t->every(1.0);                             # periodic
    $loop->watch($t->fh, read => sub ($loop, $fh, $w) {
        my $ticks = $t->read_ticks;
    });
    $t->disarm;

=head1 DESCRIPTION

A thin wrapper over timerfd_create(2), done in XS (no Linux::FD needed).
The loop itself does not use it: libevloop arms its own timerfd.

=head1 METHODS

=over 4

=item new(%options)

C<nonblocking> and C<cloexec> (both default 1), C<clock>
(C<'monotonic'> by default, or C<'realtime'>, C<'boottime'>), C<timerfd>
(inject an object with C<set_timeout> and C<receive>), and C<after> or
C<every> to arm at once (both croak C<Only one of after/every may be
supplied>).  Other keys croak C<Unknown option(s): ...>.

=item fh, fd

The handle and its number.

=item after($seconds)

Arms a one-shot timer.  C<$seconds> must be a fixed-decimal number
(C</\A-?(?:\d+(?:\.\d*)?|\.\d+)\z/>, no exponent), else
C<seconds must be numeric>; negative counts as 0, and 0 disarms (timerfd
semantics).  Returns the timer.

=item every($interval)

Periodic; C<$interval> must be numeric as above and > 0
(C<interval must be > 0>).  Returns the timer.

=item disarm

Returns the timer.

=item read_ticks

The number of expirations since the last read, without blocking (0 if
none).

=back

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
