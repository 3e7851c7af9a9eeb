# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec::Varint;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();

# _decode and _encode are XS (perlio/xs/codec.xs): libevloop's C framer,
# the one a Stream runs (which reads its options from this hash).
require PerlIO::evloop;
require Linux::Event::Stream::Codec;
*_decode = \&Linux::Event::Stream::Codec::_framer_decode;
*_encode = \&Linux::Event::Stream::Codec::_framer_encode;

sub new ($class, %o) {
    Linux::Event::Stream::Codec::_framer_check_known(\%o, qw(max_frame));
    return Linux::Event::Stream::Codec::_framer_codec(
        $class,
        kind      => 'varint',
        max_frame => Linux::Event::Stream::Codec::_framer_max_frame(\%o)
    );
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::Varint - an unsigned LEB128 length, then the payload

=head1 SYNOPSIS

    my $codec = Linux::Event::Stream::Codec::Varint->new(max_frame => 1 << 20);
    # or: codec => 'varint'

=head1 DESCRIPTION

Each message is preceded by its length as an unsigned LEB128 varint (7
bits a byte, low group first, the high bit set on all but the last: the
framing of Protocol Buffers' delimited streams).  Errors: C<codec:frame
too large (E<gt>N bytes)> (C<max_frame>, default the Stream's
C<max_inbuf>), C<codec:invalid varint> (more than 10 bytes, or over 64
bits), C<codec:truncated record> (cut short by EOF).  In a Stream this runs
as libevloop's C varint framer.

The codec is a hash with C<decode> and C<encode> subs, as every
L<Linux::Event::Stream::Codec>; used on its own, C<decode> runs the same C
framer over your buffer.

=head1 SEE ALSO

L<Linux::Event::Stream>, L<Linux::Event::Stream::Codec>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
