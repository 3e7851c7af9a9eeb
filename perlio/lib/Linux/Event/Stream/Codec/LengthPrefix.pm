# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec::LengthPrefix;
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

my %BYTES = map { $_ => 1 } 1, 2, 4, 8;

sub new ($class, %o) {
    Linux::Event::Stream::Codec::_framer_check_known(\%o, qw(bytes endian adjust max_frame));
    my $b = $o{bytes} // 4;
    Carp::croak('bytes must be 1, 2, 4 or 8') if ref $b || !$BYTES{$b};
    my $e = $o{endian} // 'big';
    Carp::croak("endian must be 'big' or 'little'") if ref $e || ($e ne 'big' && $e ne 'little');
    my $a = $o{adjust} // 0;
    Carp::croak('adjust must be an integer') if ref $a || $a !~ /\A-?[0-9]+\z/;
    return Linux::Event::Stream::Codec::_framer_codec(
        $class,
        kind      => 'length_prefix',
        bytes     => $b + 0,
        endian    => $e,
        adjust    => $a + 0,
        max_frame => Linux::Event::Stream::Codec::_framer_max_frame(\%o)
    );
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::LengthPrefix - a length field, then the payload

=head1 SYNOPSIS

    # 2-byte little-endian length that counts itself:
    my $codec = Linux::Event::Stream::Codec::LengthPrefix->new(
        bytes => 2, endian => 'little', adjust => -2, max_frame => 4096);

=head1 DESCRIPTION

Each message is preceded by an unsigned length field of C<bytes> (1, 2, 4
or 8; default 4) in C<endian> byte order (C<big>, the default, or
C<little>).  The payload length is the field plus C<adjust> (default 0; -2
for a 2-byte field that counts itself, say).  C<encode> (and
C<write_message>) writes the field (the length minus C<adjust>), croaking
when it does not fit.  Errors: C<codec:frame too large (E<gt>N bytes)>
(checked as soon as the field is in, before the payload arrives; the limit
is C<max_frame>, default the Stream's C<max_inbuf>), C<codec:invalid
length> (field plus adjust below 0), C<codec:truncated record> (cut short by
EOF).  With C<< bytes => 4 >> and no adjust this is C<u32be>.  In a Stream
this runs as libevloop's C length_prefix framer.

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
