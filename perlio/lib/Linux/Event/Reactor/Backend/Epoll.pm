# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Reactor::Backend::Epoll;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);

require PerlIO::evloop;

# READABLE WRITABLE PRIO RDHUP ET ONESHOT ERR HUP: constant subs of the XS
# (perlio/xs/reactor.xs defines them once for every package that has them).

sub new ($class, %args) {
    my $edge    = delete $args{edge};
    my $oneshot = delete $args{oneshot};
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    my $self = bless { edge => $edge ? 1 : 0, oneshot => $oneshot ? 1 : 0 }, $class;
    $self->_init($self->{edge}, $self->{oneshot});
    return $self;
}

sub name ($self) { return 'epoll' }

sub watch ($self, $fh = undef, $mask = undef, $cb = undef, %opt) {
    croak "fh is required" if !$fh;
    croak "mask is required" if !defined $mask;
    croak "cb is required" if !$cb;
    croak "cb must be a coderef" if ref($cb) ne 'CODE';
    my $fd = fileno($fh);
    croak "fh has no fileno" if !defined $fd || $fd < 0;
    $fd = int($fd);
    croak "fd already watched: $fd" if $self->_exists($fd);
    $self->_add($fh, $fd, int($mask), $cb, $opt{_loop}, $opt{tag});
    return $fd;
}

sub _fd_of ($fh_or_fd) {
    my $fd = ref($fh_or_fd) ? fileno($fh_or_fd) : $fh_or_fd;
    return defined $fd ? int($fd) : undef;
}

sub modify ($self, $fh_or_fd = undef, $mask = undef, %opt) {
    croak "mask is required" if !defined $mask;
    my $fd = _fd_of($fh_or_fd);
    return 0 if !defined $fd;
    my $has_loop = exists $opt{_loop} ? 1 : 0;
    my $has_tag  = exists $opt{tag} ? 1 : 0;
    return $self->_mod($fd, int($mask), $has_loop, $opt{_loop}, $has_tag, $opt{tag});
}

sub unwatch ($self, $fh_or_fd = undef) {
    my $fd = _fd_of($fh_or_fd);
    return 0 if !defined $fd;
    return $self->_del($fd);
}

# run_once($loop, $timeout_s = undef) is XS.

1;
__END__

=head1 NAME

Linux::Event::Reactor::Backend::Epoll - a standalone epoll backend

=head1 SYNOPSIS

    my $be = Linux::Event::Reactor::Backend::Epoll->new;
    my $fd = $be->watch($fh, $be->READABLE, sub ($loop, $fh, $fd, $mask, $tag) { ... },
                        _loop => $loop, tag => 'x');
    $be->modify($fd, $be->READABLE | $be->ONESHOT);   # always an epoll MOD
    $be->run_once($loop, 0.5);
    $be->unwatch($fd);

=head1 DESCRIPTION

The L<Linux::Event::Reactor::Backend> contract over epoll(7), in XS (no
Linux::Epoll).  This is what C<< $loop->backend >> returns by default; the
reactor loop itself runs on libevloop, so watching a handle here does not
make the loop dispatch it (call this object's C<run_once>).

=head1 METHODS

=over 4

=item new(edge => $bool, oneshot => $bool)

Defaults OR-ed into every registration.  Other keys croak
C<unknown args: ...>.

=item name

C<'epoll'>.

=item watch($fh, $mask, $cb, %opt)

Croaks, in this order: C<fh is required>, C<mask is required>,
C<cb is required>, C<cb must be a coderef>, C<fh has no fileno>,
C<< fd already watched: <fd> >>.  Keeps C<$fh> (strongly), the callback,
C<_loop> and C<tag>; returns the fd.  Events call
C<< $cb->($loop, $fh, $fd, $mask, $tag) >> (exactly five arguments).

=item modify($fh_or_fd, $mask, %opt)

Croaks C<mask is required>; 0 for an unknown fd; updates C<_loop> and
C<tag> only when given; always issues C<EPOLL_CTL_MOD> (re-arming a
oneshot registration); returns 1.

=item unwatch($fh_or_fd)

1 if removed (a closed descriptor is fine when given by number), else 0.

=item run_once($loop, $timeout_s = undef)

One C<epoll_wait> for up to 256 events (timeout rounded up to whole
milliseconds; undef blocks, 0 polls); dispatches them in order and
returns their number (0 on a signal).  A callback's exception is
rethrown after the batch.

=back

Mask bits: READABLE 0x01, WRITABLE 0x02, PRIO 0x04, RDHUP 0x08, ET 0x10,
ONESHOT 0x20, ERR 0x40, HUP 0x80 (constants of this class).

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
