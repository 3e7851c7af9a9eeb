# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec;
use v5.36;

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

use Carp ();
use Scalar::Util ();

sub validate ($codec = undef) {
    Carp::croak('codec is required') unless defined $codec;
    Carp::croak('codec must be a hashref (or blessed hashref)')
        unless (Scalar::Util::reftype($codec) // '') eq 'HASH';
    Carp::croak('codec->{decode} must be a CODE ref') if ref $codec->{decode} ne 'CODE';
    Carp::croak('codec->{encode} must be a CODE ref') if ref $codec->{encode} ne 'CODE';
    return $codec;
}

sub make_codec (%args) {
    my $name  = delete $args{name};
    my $codec = {%args};
    validate($codec);
    return defined $name ? bless($codec, $name) : $codec;
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec - the codec contract of Linux::Event::Stream

=head1 DESCRIPTION

A codec is a hash (blessed or not) with two subs:
C<decode =E<gt> sub ($codec, \$inbuf, \@out)> consumes complete frames from
C<$$inbuf>, pushes the messages onto C<@out> and returns C<(1)> or
C<(0, $error)>; C<encode =E<gt> sub ($codec, $msg)> returns bytes.

C<validate($codec)> croaks unless the codec has both subs;
C<make_codec(name =E<gt> ..., decode =E<gt> ..., encode =E<gt> ..., ...)>
validates and blesses into C<name> when given.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
