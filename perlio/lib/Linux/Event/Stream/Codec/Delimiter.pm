# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec::Delimiter;
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
    Linux::Event::Stream::Codec::_framer_check_known(\%o, qw(delimiter strip_cr max_frame));
    my $d = $o{delimiter};
    Carp::croak('delimiter must be a string of 1 to 64 bytes')
        if !defined $d || ref $d || !length $d || !utf8::downgrade($d, 1) || length $d > 64;
    return Linux::Event::Stream::Codec::_framer_codec(
        $class,
        kind      => 'delimiter',
        delimiter => "$d",
        strip_cr  => $o{strip_cr} ? 1 : 0,
        max_frame => Linux::Event::Stream::Codec::_framer_max_frame(\%o)
    );
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::Delimiter - records ended by a byte string

=head1 SYNOPSIS

    my $codec = Linux::Event::Stream::Codec::Delimiter->new(
        delimiter => "\r\n\r\n", max_frame => 65536);
    Linux::Event::Stream->new(loop => $loop, fh => $sock, codec => $codec,
        on_message => sub ($stream, $record, $data) { ... });

=head1 DESCRIPTION

Each message is the bytes before the next C<delimiter> (1 to 64 bytes, any
bytes; the delimiter is not part of the message).  C<strip_cr> also drops
one C<\r> before it.  C<encode> (and C<write_message>) appends the
delimiter.  C<max_frame> (bytes, default the Stream's C<max_inbuf>) bounds
a record: a longer one is the error C<codec:frame too large (E<gt>N
bytes)>; an unterminated record at EOF is C<codec:truncated record>.  In a
Stream this runs as libevloop's C delimiter framer.

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
