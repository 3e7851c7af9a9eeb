# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Internal;
use v5.36;

our $VERSION = '0.200';

use Scalar::Util ();

# The distribution's packages, in one place: each module sets its
# @CARP_NOT from this list, so a croak raised anywhere inside evloop names
# the caller's file and line, and a new package needs one edit here.
my @PACKAGES = qw(
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
    Linux::Event::Subscription Linux::Event::Resolver Linux::Event::Resolver::Request
    Linux::Event::Internal Linux::Event::Datagram Linux::Event::SockOp Linux::Event::SocketOptions
    Linux::Event::Stream::Codec::Delimiter Linux::Event::Stream::Codec::Fixed
    Linux::Event::Stream::Codec::LengthPrefix Linux::Event::Stream::Codec::Varint
    Linux::Event::TLS Linux::Event::TLS::Context
);

sub carp_not () { return @PACKAGES }

# fileno($fh), or undef: for a closed handle, and (with $@ set) for what
# is no handle at all, on which fileno itself dies naming a line in here
# rather than the caller's.
sub fileno_of ($fh) {
    return eval { fileno($fh) };
}

# Whether $loop can serve as a companion's loop: a Linux::Event loop (a
# facade or an engine), or a compatible object that can schedule timers.
sub is_loop ($loop) {
    return Scalar::Util::blessed($loop) && $loop->can('after') ? 1 : 0;
}

1;

__END__

=head1 NAME

Linux::Event::Internal - evloop's list of its own packages, and checks its modules share (internal)

=head1 SYNOPSIS

    use Linux::Event::Internal ();
    our @CARP_NOT = Linux::Event::Internal::carp_not();

=head1 DESCRIPTION

Not for use outside evloop.  C<carp_not> returns the packages of the
distribution; every module sets its C<@CARP_NOT> from it, so Carp skips
evloop's own frames and a croak names the line of the program that called
into evloop.  C<fileno_of($fh)> is C<fileno> that gives undef (with C<$@>
set) instead of dying on what is no handle; C<is_loop($x)> says whether
C<$x> can serve as a companion's loop (a blessed object that can C<after>).

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
