# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Clock;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);

require PerlIO::evloop;

sub new ($class, %opt) {
    my $clock = defined $opt{clock} ? $opt{clock} : 'monotonic';
    $clock eq 'monotonic' or croak "clock must be 'monotonic' (got '$clock')";
    return $class->_new;    # primes the cache
}

# tick, generation, now_ns, now_s, monotonic_ns, deadline_after,
# deadline_after_ms, deadline_after_us, deadline_in_ns, expired_ns,
# remaining_ns are XS (perlio/xs/clock.xs).

1;
__END__

=head1 NAME

Linux::Event::Clock - cached CLOCK_MONOTONIC time and deadline arithmetic in nanoseconds

=head1 SYNOPSIS

    my $clock = Linux::Event::Clock->new;     # clock => 'monotonic'
    $clock->tick;
    my $deadline = $clock->deadline_after_ms(50);
    $clock->tick;
    print "due\n" if $clock->expired_ns($deadline);

=head1 DESCRIPTION

C<clock_gettime(CLOCK_MONOTONIC)> read on C<tick> and cached, so many
comparisons in one iteration cost no system call.  Integer nanoseconds
throughout.

=head1 METHODS

=over 4

=item new(clock => 'monotonic')

Anything but C<'monotonic'> croaks C<clock must be 'monotonic' (got '...')>.
Primes the cache.

=item tick

Reads the clock, caches and returns it (ns), and bumps C<generation>.

=item now_ns, now_s

The cached time, in ns and in (fractional) seconds.

=item monotonic_ns

A fresh reading, leaving the cache alone.

=item deadline_after($s), deadline_after_ms($ms), deadline_after_us($us), deadline_in_ns($delta_ns)

The cached time plus the delay.

=item expired_ns($deadline_ns)

1 if the deadline is at or before the cached time, else 0.

=item remaining_ns($deadline_ns)

C<max(0, $deadline_ns - cached now)>.

=item generation

How many times the cache was refreshed.

=back

Each method with an argument croaks C<< <method> requires <arg> >> when it
is undef (C<seconds>, C<ms>, C<us>, C<delta_ns>, C<deadline_ns>).

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
