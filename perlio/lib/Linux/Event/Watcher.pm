# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Watcher;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);

require PerlIO::evloop;

# fh, fd, is_active, cancel, edge_triggered, oneshot, on_read/on_write/
# on_error, enable_*/disable_*, *_enabled are XS (perlio/xs/watcher.xs).

sub loop ($self) { return $self->{loop} }

sub data ($self, @value) {
    $self->{data} = $value[0] if @value;
    return $self->{data};
}

# Internal, as in Linux::Event 0.010: watchers come from $loop->watch.  This only
# validates; use watch() to get a registered watcher.
sub new ($class, %args) {
    my %ok  = map  { $_ => 1 } qw(loop fh fd read write error data edge_triggered oneshot);
    my @bad = grep { !$ok{$_} } keys %args;
    croak "unknown args: " . join(", ", sort @bad) if @bad;
    croak "loop is required" if !$args{loop};
    croak "fh is required" if !$args{fh};
    croak "fd is required" if !defined $args{fd};
    for my $k (qw(read write error)) {
        croak "$k must be a coderef or undef" if defined $args{$k} && ref($args{$k}) ne 'CODE';
    }
    require Linux::Event::Reactor;
    my $engine = Linux::Event::Reactor::_engine_of($args{loop})
        or croak "loop is required";
    return $engine->watch($args{fh},
        map { exists $args{$_} ? ($_ => $args{$_}) : () }
            qw(read write error data edge_triggered oneshot));
}

1;
__END__

=head1 NAME

Linux::Event::Watcher - an fd watcher of a Linux::Event reactor loop

=head1 SYNOPSIS

    my $w = $loop->watch($fh,
        read  => sub ($loop, $fh, $w) { ... },
        write => sub ($loop, $fh, $w) { ... },
    );

    $w->disable_write;          # stop asking for writability
    $w->enable_write;
    $w->on_read(sub ($loop, $fh, $w) { ... });
    $w->cancel;                 # 1, then 0

=head1 DESCRIPTION

Returned by C<< $loop->watch >>.  A blessed hash (with the libevloop
watcher attached as magic); C<< $watcher->{_dispatch_cb} >> is a code ref
that runs the whole dispatch contract for a hand-made mask, called as
C<< ->($loop, $fh, $fd, $mask, $tag) >> with the mask bits of
L<Linux::Event::Loop> (READABLE, WRITABLE, ERR, HUP, ...).

The watcher holds its handle and its loop weakly.  While active it is
owned by its loop, so it keeps working if you drop your reference.

=head1 METHODS

=over 4

=item loop, fh, fd

Accessors.  C<fh> is undef once the watcher is cancelled, and for a
watcher made by fd number (C<< $loop->watch($fd, ...) >>: the loop owns
no handle, and the callbacks get the fd number in its place).

=item revents

Inside a callback: the mask of what woke the watcher, as the kernel
reported it (C<READABLE WRITABLE PRIO RDHUP ERR HUP> of
L<Linux::Event::Loop>; a hangup without data is C<HUP> alone).
Afterwards it keeps the last event's mask; 0 before any.

=item is_active

1 while registered, else 0.  A oneshot watcher stays active after firing.

=item data([$value])

Get or set the user slot; never passed to callbacks.

=item edge_triggered([$bool]), oneshot([$bool])

Get, or set and push the change to the kernel; return 1 or 0.

=item on_read([$cb]), on_write([$cb]), on_error([$cb])

Replace a handler (a non-code value croaks
C<read handler must be a coderef or undef>, and likewise for write and
error).  Installing a handler does not enable its slot; C<undef> removes
it and disables the slot.  Return the watcher.

=item enable_read, disable_read, enable_write, disable_write, enable_error, disable_error

Set the flag; the kernel hears of the result before the next wait, with
at most one C<epoll_ctl> for the fd however many changes were made (none
when it ends as it began; a change always reaches it as an epoll MOD,
which also re-arms a oneshot watcher).  Return the watcher.

=item read_enabled, write_enabled, error_enabled

1 or 0.

=item cancel

Unregisters; 1 the first time, 0 afterwards (also after C<unwatch>).

=back

Mutators on an inactive watcher change its flags only.

=head1 SEE ALSO

L<Linux::Event::Reactor>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
