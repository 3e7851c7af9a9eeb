# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Wakeup;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Scalar::Util qw(weaken);

require PerlIO::evloop;

sub new ($class, %args) {
    my $loop = delete $args{loop};
    croak "loop is required" if !$loop;
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    my $self = bless { loop => $loop }, $class;
    weaken($self->{loop});
    $self->_init;

    # The Perl handle owns the eventfd: it is closed with the handle.
    open(my $fh, '+<&=', $self->_fd) or croak "eventfd handle: $!";
    binmode($fh);
    $self->{fh} = $fh;
    return $self;
}

sub loop ($self) { return $self->{loop} }
sub fh   ($self) { return $self->{fh} }

# signal($n = 1) and drain are XS (perlio/xs/reactor.xs).

1;
__END__

=head1 NAME

Linux::Event::Wakeup - the loop's eventfd waker

=head1 SYNOPSIS

    my $waker = $loop->waker;          # the same object every time
    $waker->signal;                    # from anywhere: another thread, a child
    $waker->signal(3);
    my $n = $waker->drain;             # 3, then 0

    $loop->watch($waker->fh, read => sub ($loop, $fh, $w) {
        my $n = $waker->drain;
    });

=head1 DESCRIPTION

An eventfd (non-blocking, close-on-exec).  C<< $loop->waker >> makes one
per loop and drains it with an internal watcher, so C<signal> wakes a
blocked C<run>.  C<< $loop->stop >> signals the waker when one exists.

You may watch C<fh> yourself: that replaces the internal watcher (one
watcher per fd), and your callback is then the one to C<drain>.

=head1 METHODS

=over 4

=item new(loop => $loop)

Croaks C<loop is required> or C<unknown args: ...>.  Holds the loop
weakly.  (C<< $loop->waker >> is the usual way.)

=item loop, fh

The loop; the eventfd as a Perl handle (closing it closes the eventfd).

=item signal($n = 1)

Adds C<$n> to the counter; returns 1.  Croaks
C<signal() increment must be a positive integer>, or
C<eventfd add failed: ...>.  Safe from other threads (a thread's copy of
the object signals the same eventfd) and forked children (only the fd is
shared).

=item drain

Reads the counter without blocking: the sum, or 0 when nothing was
pending.

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
