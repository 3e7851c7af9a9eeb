package Linux::Event::Stream::Codec::Netstring;
use v5.36;

our $VERSION = '0.010';

use Carp ();

sub new ($class, %o) {
    my @unknown = sort grep { $_ ne 'max_frame' } keys %o;
    Carp::croak('unknown options: ' . join(', ', @unknown)) if @unknown;
    return bless {
        max_frame => $o{max_frame},
        decode    => \&_decode,
        encode    => \&_encode
    }, $class;
}

sub _decode ($codec, $bufref, $out) {
    my $max = $codec->{max_frame};
    while (1) {
        my $colon = index($$bufref, ':');
        return (1) if $colon < 0;
        my $digits = substr($$bufref, 0, $colon);
        return (0, 'invalid netstring length') unless $digits =~ /\A[0-9]+\z/;
        my $len = $digits + 0;
        return (0, "frame too large (>$max bytes)") if defined $max && $len > $max;
        return (1) if length($$bufref) < $colon + 1 + $len + 1;
        return (0, 'invalid netstring terminator')
            if substr($$bufref, $colon + 1 + $len, 1) ne ',';
        push @$out, substr($$bufref, $colon + 1, $len);
        substr($$bufref, 0, $colon + 1 + $len + 1, '');
    }
}

sub _encode ($codec, $msg) {
    $msg = '' unless defined $msg;
    return length($msg) . ":$msg,";
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::Netstring - netstring framing (C<len:payload,>)

=head1 DESCRIPTION

Option C<max_frame> (bytes; a larger announced length is the error
C<frame too large (E<gt>N bytes)> before the payload arrives).  Malformed
input: C<invalid netstring length>, C<invalid netstring terminator>.
Leading zeros in the length are accepted.  In a Stream this runs as
libevloop's C netstring framer.

=cut
