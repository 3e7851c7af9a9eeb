# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
use Scalar::Util ();

sub validate ($codec = undef) {
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

# The protocol framer classes (Delimiter, Fixed, LengthPrefix, Varint)
# share their option checks and their object here; each class aliases
# _decode/_encode to the C framer subs (Stream.pm's _c_kind looks for
# them by class).
sub _framer_check_known ($o, @known) {
    my %k       = map       { $_ => 1 } @known;
    my @unknown = sort grep { !$k{$_} } keys %$o;
    Carp::croak('unknown options: ' . join(', ', @unknown)) if @unknown;
    return;
}

sub _framer_max_frame ($o) {
    my $m = $o->{max_frame};
    Carp::croak('max_frame must be a positive integer')
        if defined $m && (ref $m || $m !~ /\A[0-9]+\z/ || $m < 1);
    return $m;
}

sub _framer_codec ($class, %fields) {
    return bless { %fields, decode => $class->can('_decode'), encode => $class->can('_encode') },
        $class;
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

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
