# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec::U32BE;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();

# _decode is XS (perlio/xs/codec.xs): libevloop's C framer, as in a Stream.
require PerlIO::evloop;

sub new ($class, %o) {
    my @unknown = sort grep { $_ ne 'max_frame' } keys %o;
    Carp::croak('unknown options: ' . join(', ', @unknown)) if @unknown;
    return bless {
        max_frame => $o{max_frame},
        decode    => \&_decode,
        encode    => \&_encode
    }, $class;
}

sub _encode ($codec, $msg) {
    $msg = '' unless defined $msg;
    return pack('N', length $msg) . $msg;
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::U32BE - 4-byte big-endian length prefix framing

=head1 DESCRIPTION

Option C<max_frame> (bytes; a larger announced length is the error
C<frame too large (E<gt>N bytes)> before the payload arrives).  In a Stream
this runs as libevloop's C u32be framer; a frame cut off by end of file is
the error C<truncated frame>.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
