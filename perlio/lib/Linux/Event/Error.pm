# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Error;
use v5.36;

use Carp qw(croak);

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

sub new ($class, %arg) {
    croak 'code is required' unless defined $arg{code};
    return bless {
        code    => $arg{code},
        name    => $arg{name}    // 'EUNKNOWN',
        message => $arg{message} // '',
    }, $class;
}

sub code    ($self) { return $self->{code} }
sub name    ($self) { return $self->{name} }
sub message ($self) { return $self->{message} }

1;

__END__

=head1 NAME

Linux::Event::Error - why a Linux::Event::Proactor operation failed

=head1 SYNOPSIS

  if ($op->failed) {
      my $e = $op->error;
      warn sprintf "%s (%d): %s\n", $e->name, $e->code, $e->message;
  }

=head1 DESCRIPTION

A plain value object.  Completions that fail carry one: C<code> is the
positive errno, C<name> its symbolic name (C<EPIPE>, C<ECONNRESET>, ...,
or C<EUNKNOWN>), C<message> the system's text for it.

=head1 METHODS

=head2 new(code => $c, name => $n, message => $m)

C<code> is required (croaks C<code is required>); C<name> defaults to
C<'EUNKNOWN'>, C<message> to C<''>.  Values are stored as given.

=head2 code, name, message

The stored values.

=head1 SEE ALSO

L<Linux::Event::Operation>, L<Linux::Event::Proactor>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
