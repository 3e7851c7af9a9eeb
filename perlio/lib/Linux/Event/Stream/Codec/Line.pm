# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream::Codec::Line;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();

# _decode is XS (perlio/xs/codec.xs): libevloop's C framer, as in a Stream.
require PerlIO::evloop;

sub new ($class, %o) {
    my @unknown = sort grep { !/\A(?:chomp|max_line|append_newline)\z/ } keys %o;
    Carp::croak('unknown options: ' . join(', ', @unknown)) if @unknown;
    return bless {
        chomp          => $o{chomp} // 1,
        max_line       => $o{max_line},
        append_newline => $o{append_newline} // 1,
        decode         => \&_decode,
        encode         => \&_encode,
    }, $class;
}

sub _encode ($codec, $msg) {
    $msg = '' unless defined $msg;
    $msg = "$msg";
    $msg .= "\n" if $codec->{append_newline} && substr($msg, -1) ne "\n";
    return $msg;
}

1;
__END__

=head1 NAME

Linux::Event::Stream::Codec::Line - newline-delimited messages

=head1 SYNOPSIS

    Linux::Event::Stream->new(..., codec => 'line', on_message => ...);
    Linux::Event::Stream->new(...,
        codec => Linux::Event::Stream::Codec::Line->new(max_line => 4096),
        on_message => ...);

=head1 DESCRIPTION

Splits input on C<"\n">.  Options: C<chomp> (1: remove the C<"\n">; a C<"\r">
stays), C<max_line> (bytes including the C<"\n">; a longer line is the error
C<line too long (E<gt>N bytes)>), C<append_newline> (1: C<encode> adds a
missing C<"\n">).  In a Stream this codec runs as libevloop's C line framer;
its C<decode>/C<encode> subs do the same in Perl for other uses.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
