# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Error;
use v5.36;

use Carp qw(croak);

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips frames of these packages.
our @CARP_NOT = qw(
    Linux::Event Linux::Event::Loop Linux::Event::Reactor Linux::Event::Proactor
    Linux::Event::Watcher Linux::Event::Signal Linux::Event::Signal::Subscription
    Linux::Event::Wakeup Linux::Event::Pid Linux::Event::Pid::Subscription
    Linux::Event::Scheduler Linux::Event::Clock Linux::Event::Timer
    Linux::Event::Operation Linux::Event::Error
    Linux::Event::Reactor::Backend Linux::Event::Reactor::Backend::Epoll
    Linux::Event::Backend::Epoll Linux::Event::Proactor::Backend
    Linux::Event::Proactor::Backend::Fake Linux::Event::Proactor::Backend::Uring
    Linux::Event::Stream Linux::Event::Stream::Codec Linux::Event::Stream::Codec::Line
    Linux::Event::Stream::Codec::Netstring Linux::Event::Stream::Codec::U32BE
    Linux::Event::Listen Linux::Event::Connect Linux::Event::Fork Linux::Event::Fork::Child
    Linux::Event::Fork::Request Linux::Event::Fork::Exit Linux::Event::Fork::XS PerlIO::evloop
    Linux::Event::Subscription
);

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
