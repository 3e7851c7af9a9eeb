# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Proactor::Backend;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

1;

__END__

=head1 NAME

Linux::Event::Proactor::Backend - the contract between the proactor and its backends

=head1 DESCRIPTION

Documentation only: this package has no code.  A backend of
L<Linux::Event::Proactor> is one of
L<Linux::Event::Proactor::Backend::Fake> and
L<Linux::Event::Proactor::Backend::Uring>; the engine picks it by name.

=head1 THE CONTRACT

=over 4

=item C<< _new(%args) >>

C<loop> (the engine) is required (croaks C<loop is required>); the other
arguments are the engine's constructor arguments.  A backend holds its
engine weakly.

=item C<name>

The backend's name (C<'fake'> or C<'uring'>).

=item C<< _submit_<kind>($op, %args) >>

Starts operation C<$op> and returns its token (defined, unique within the
engine).  Kinds: read write recv send accept connect shutdown close splice
timeout (C<deadline_ns> required).  The engine registers the op under the
token afterwards.

=item C<< _cancel_op($op) >>

Cancels a pending op; returns 1 if it ended cancelled, 0 otherwise.

=item C<< _complete_backend_events >>

Makes progress (settles what completed) and returns a count.

=back

Rules: never run user callbacks inline (settle, and let the engine queue
the callback); turn a negative completion result into a positive errno and
a L<Linux::Event::Error>; keep buffers and handles alive while the kernel
uses them; never settle an operation twice.

=head1 SEE ALSO

L<Linux::Event::Proactor>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
