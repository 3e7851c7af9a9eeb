# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec::Fixed;
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
    Linux::Event::Stream::Codec::_framer_check_known(\%o, qw(size));
    my $n = $o{size};
    Carp::croak('size must be a positive integer')
        if !defined $n || ref $n || $n !~ /\A[0-9]+\z/ || $n < 1;
    return Linux::Event::Stream::Codec::_framer_codec(
        $class,
        kind => 'fixed',
        size => $n + 0
    );
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::Fixed - records of a fixed size

=head1 SYNOPSIS

    my $codec = Linux::Event::Stream::Codec::Fixed->new(size => 16);

=head1 DESCRIPTION

Every message is exactly C<size> bytes.  C<encode> (and C<write_message>)
croaks for a message of another size.  A record cut short by EOF is the
error C<codec:truncated record>.  The size must fit the Stream's
C<max_inbuf>.  In a Stream this runs as libevloop's C fixed framer.

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
