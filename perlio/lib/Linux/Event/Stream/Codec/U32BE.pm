package Linux::Event::Stream::Codec::U32BE;
use v5.36;
use strict;
use warnings;

our $VERSION = '0.010';

use Carp ();

# _decode is XS (perlio/xs/codec.xs): libevloop's C framer, as in a Stream.
require PerlIO::evloop;

sub new ($class, %o) {
    my @unknown = sort grep { $_ ne 'max_frame' } keys %o;
    Carp::croak('unknown options: ' . join(', ', @unknown)) if @unknown;
    return bless { max_frame => $o{max_frame}, decode => \&_decode,
        encode => \&_encode }, $class;
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

=cut
