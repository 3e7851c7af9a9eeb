package Linux::Event::Stream::Codec;
use v5.36;

our $VERSION = '0.010';

use Carp ();
use Scalar::Util ();

sub validate ($codec) {
    Carp::croak('codec is required') unless defined $codec;
    Carp::croak('codec must be a hashref (or blessed hashref)')
        unless (Scalar::Util::reftype($codec) // '') eq 'HASH';
    Carp::croak('codec->{decode} must be a CODE ref') if ref $codec->{decode} ne 'CODE';
    Carp::croak('codec->{encode} must be a CODE ref') if ref $codec->{encode} ne 'CODE';
    return $codec;
}

sub make_codec (%args) {
    my $name  = delete $args{name};
    my $codec = {%args};
    validate($codec);
    return defined $name ? bless($codec, $name) : $codec;
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec - the codec contract of Linux::Event::Stream

=head1 DESCRIPTION

A codec is a hash (blessed or not) with two subs:
C<decode =E<gt> sub ($codec, \$inbuf, \@out)> consumes complete frames from
C<$$inbuf>, pushes the messages onto C<@out> and returns C<(1)> or
C<(0, $error)>; C<encode =E<gt> sub ($codec, $msg)> returns bytes.

C<validate($codec)> croaks unless the codec has both subs;
C<make_codec(name =E<gt> ..., decode =E<gt> ..., encode =E<gt> ..., ...)>
validates and blesses into C<name> when given.

=cut
