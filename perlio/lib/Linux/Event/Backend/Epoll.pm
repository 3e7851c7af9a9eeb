# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Backend::Epoll;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

require Linux::Event::Reactor::Backend::Epoll;
our @ISA = ('Linux::Event::Reactor::Backend::Epoll');

# Function-call constants (Linux::Event::Backend::Epoll::READABLE() and the
# others) are XS (perlio/xs/reactor.xs), as in the class above.

1;
__END__

=head1 NAME

Linux::Event::Backend::Epoll - the earlier name of Linux::Event::Reactor::Backend::Epoll

=head1 DESCRIPTION

A subclass with no changes, for programs and tests written before the
backend moved under C<Linux::Event::Reactor::>.  See
L<Linux::Event::Reactor::Backend::Epoll>.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
