# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Reactor::Backend;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

1;
__END__

=head1 NAME

Linux::Event::Reactor::Backend - the contract of a reactor backend (documentation only)

=head1 DESCRIPTION

A reactor backend is an object with:

=over 4

=item new, name

=item watch($fh, $mask, $cb, %opt)

Registers C<$fh> for the mask bits (READABLE WRITABLE PRIO RDHUP ET
ONESHOT of L<Linux::Event::Loop>) and returns the integer fd.  On an
event it calls C<< $cb->($opt{_loop}, $fh, $fd, $mask, $opt{tag}) >>,
where C<$mask> also carries ERR and HUP.

=item unwatch($fh_or_fd)

True if something was removed.

=item run_once($loop, $timeout_s)

Waits once (undef: forever, 0: poll) and dispatches; returns the event
count.

=item modify($fh_or_fd, $mask, %opt) (optional)

=back

The backend must not reorder dispatch.

L<Linux::Event::Reactor> validates a backend object passed to it
(C<watch>, C<unwatch>, C<run_once>) and keeps it, but its own readiness
engine is libevloop's.  L<Linux::Event::Reactor::Backend::Epoll> is a
working standalone implementation of this contract.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
