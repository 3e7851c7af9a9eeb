# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Stream;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
use Scalar::Util ();
require PerlIO::evloop;    # the XS lives in PerlIO::evloop's shared object

my %KNOWN = map { $_ => 1 } qw(loop fh on_read on_message on_error on_close
    data codec decoder encoder high_watermark low_watermark read_size
    max_read_per_tick max_inbuf close_fh idle_timeout read_timeout write_timeout tls on_handshake);

my @TIMEOUTS = qw(idle_timeout read_timeout write_timeout);

# A timeout in seconds: a number >= 0 (0 or undef: none).
sub _timeout_ok ($v) {
    return !defined $v || (Scalar::Util::looks_like_number($v) && $v >= 0 && $v == $v);
}

my %ALIAS = (
    line      => 'Linux::Event::Stream::Codec::Line',
    netstring => 'Linux::Event::Stream::Codec::Netstring',
    u32be     => 'Linux::Event::Stream::Codec::U32BE',
    varint    => 'Linux::Event::Stream::Codec::Varint',
);

sub new ($class, %opt) {
    Carp::croak('new(): missing loop') unless defined $opt{loop};
    Carp::croak('new(): missing fh') unless defined $opt{fh};

    Carp::croak('new(): fh has no fileno')
        unless defined Linux::Event::Internal::fileno_of($opt{fh});
    for my $k (qw(on_read on_message on_error on_close on_handshake)) {
        Carp::croak("$k must be a coderef") if defined $opt{$k} && ref $opt{$k} ne 'CODE';
    }
    Carp::croak('use either codec or decoder/encoder, not both')
        if defined $opt{codec} && (defined $opt{decoder} || defined $opt{encoder});
    my $framed = defined $opt{on_message};
    my %c      = (codec => undef);
    if ($framed) {
        Carp::croak('on_read is not used when on_message is provided; use on_message + codec')
            if defined $opt{on_read};
        my ($codec) = grep { defined } @opt{qw(decoder encoder codec)};
        Carp::croak('new(): missing codec (required with on_message)') unless defined $codec;
        if (!ref $codec) {
            my $pkg = $ALIAS{$codec} or Carp::croak("unknown codec alias: $codec");
            (my $file = "$pkg.pm") =~ s{::}{/}g;
            require $file;
            $codec = $pkg->new;
        }
        Carp::croak('codec must be a hashref (or blessed hashref)')
            unless Scalar::Util::reftype($codec) && Scalar::Util::reftype($codec) eq 'HASH';
        Carp::croak('codec->{decode} must be a coderef') if ref $codec->{decode} ne 'CODE';
        Carp::croak('codec->{encode} must be a coderef') if ref $codec->{encode} ne 'CODE';
        $c{codec} = $codec;

        # The built-in codecs run as C framers, unless their subs were
        # swapped (the XS reads their options from the codec object).
        if (my $kind = _c_kind($codec)) {
            $c{_c_codec} = $kind;
        }
    } else {
        $c{codec} = $opt{codec};    # stored, as in Linux::Event 0.010
    }
    my @unknown = sort grep { !$KNOWN{$_} } keys %opt;
    Carp::croak('unknown options: ' . join(', ', @unknown)) if @unknown;
    for my $k (@TIMEOUTS) {
        Carp::croak("new(): $k must be a number of seconds >= 0") unless _timeout_ok($opt{$k});
    }

    my $self = bless {
        codec   => $c{codec},
        data    => $opt{data},
        c_codec => $c{_c_codec} ? 1 : 0
    }, $class;
    my %init = (%opt, %c);
    $init{max_inbuf} = 0 unless $framed;
    delete $init{codec} unless $framed;

    # TLS starts on the handle's layer before the stream reads a byte.
    my $tls;
    if (defined $opt{tls}) {
        require Linux::Event::TLS;
        $tls = Linux::Event::TLS::options('new()', $opt{tls});
        Linux::Event::TLS::start('new()', $opt{fh}, $tls);
    }
    $self->_init($opt{loop}, $opt{fh}, \%init);
    $self->{$_} = $opt{$_} // 0 for @TIMEOUTS;
    $self->_set_timeouts(@{$self}{@TIMEOUTS}) if grep { $_ } @{$self}{@TIMEOUTS};

    # A handle encrypted already (Listen, Connect) takes on_handshake too.
    my $on_hs = $tls ? $tls->{on_handshake} // $opt{on_handshake} : $opt{on_handshake};
    $self->_tls_attach($on_hs) if $tls || ($on_hs && _has_tls($opt{fh}));
    return $self;
}

# The deadline accessors: the value without an argument, else set it
# (its clock starts now) and return the stream.
for my $k (@TIMEOUTS) {
    my $sub = sub ($self, @v) {
        return $self->{$k} unless @v;
        Carp::croak("$k(): seconds must be a number >= 0") unless _timeout_ok($v[0]);
        $self->{$k} = $v[0] // 0;
        $self->_set_timeouts(@{$self}{@TIMEOUTS});
        return $self;
    };
    no strict 'refs';    ## no critic (ProhibitNoStrict)
    *{$k} = $sub;
}

sub _has_tls ($fh) {
    return (grep { $_ eq 'evloop' } PerlIO::get_layers($fh))
        && PerlIO::evloop::tls_state($fh) > 0;
}

# STARTTLS: TLS from here on, in both directions.  What was written
# before goes out in the clear first; input not yet delivered (the bytes
# behind the message or chunk being handled) is the first ciphertext.
sub start_tls ($self, $tls) {
    require Linux::Event::TLS;
    my $o = Linux::Event::TLS::options('start_tls()', $tls);
    Carp::croak('start_tls(): the stream is closed') if $self->is_closed || $self->is_closing;
    $self->_tls_prepare;
    Linux::Event::TLS::start('start_tls()', $self->fh, $o);
    $self->_tls_attach($o->{on_handshake});
    return $self;
}

sub tls_info ($self) {
    return undef if $self->is_closed;
    return PerlIO::evloop::tls_info($self->fh);
}

# The kind of C framer a codec object stands for: one of the built-in
# classes with its own subs in place.
# The protocol framers' classes carry their kind in the hash.
my %C_KIND = (
    (map { ($ALIAS{$_} => $_) } qw(line netstring u32be)),
    map { ("Linux::Event::Stream::Codec::$_" => 'kind') } qw(Delimiter Fixed LengthPrefix Varint)
);

sub _c_kind ($codec) {
    my $kind = $C_KIND{ ref $codec } or return undef;
    $kind = $codec->{kind} if $kind eq 'kind';
    my $pkg = ref $codec;
    return undef
        unless $codec->{decode} == $pkg->can('_decode')
        && $codec->{encode} == $pkg->can('_encode');
    return $kind;
}

# write_message is XS: a C framer's encoding is done there; other codecs
# come back here.
sub _write_message_perl ($self, $msg) {
    my $codec = $self->{codec};
    Carp::croak('write_message() requires a codec (use on_message mode)')
        unless defined $codec;
    return $self->write($codec->{encode}->($codec, $msg));
}

1;
__END__

=head1 NAME

Linux::Event::Stream - buffered, framed non-blocking I/O on a Linux::Event loop

=head1 SYNOPSIS

    use Linux::Event;
    use Linux::Event::Stream;

    my $stream = Linux::Event::Stream->new(
        loop       => $loop,
        fh         => $sock,
        codec      => 'line',
        on_message => sub ($stream, $line, $data) {
            $stream->write_message("echo: $line");
        },
        on_error   => sub ($stream, $errno, $data) { ... },
        on_close   => sub ($stream, $data) { ... },
    );

=head1 DESCRIPTION

A Stream reads from a non-blocking handle whenever it is readable and writes
what you give it behind your back (write-behind) whenever the handle can
take it.  It is libevloop's C stream: reads, framing, the write queue and its
watermarks run in C, and your callbacks are called from there.

The Stream runs over the handle's L<PerlIO::evloop> layer: C<new> pushes
C<:evloop> onto the handle if it does not have it (as
C<binmode($fh, ':evloop')> would; a handle whose layers C<:evloop> cannot sit
on croaks C<new(): fh cannot take the :evloop layer: ...>), and the Stream
drives that layer's own stream.  So C<print $fh ...> from any code and
C<< $stream->write(...) >> share one write queue: they go out in the order
they were made, C<buffered_bytes> counts both, C<is_write_blocked> is true
whenever the queue is above C<high_watermark> (whoever filled it), and
C<close_after_drain> waits for both.  Input the layer had buffered before the Stream (say after a
C<readline>) is delivered first.  One Stream per handle: a second croaks
C<new(): Device or resource busy>.

A print that finds an error, or empties the queue of a closing Stream, does
not call back from inside the print: C<on_error> and C<on_close> run from the
loop right after.  Closing the handle yourself (C<close $fh>) while the
Stream is open is reported the same way, as error C<io:9> (EBADF).

Raw mode (C<on_read>): C<on_read($stream, $bytes, $data)> gets each chunk.
Framed mode (C<on_message> with a C<codec>): C<on_message($stream, $msg,
$data)> gets each decoded message.  The codecs C<line>, C<netstring>,
C<u32be> and C<varint> (aliases; see L<Linux::Event::Stream::Codec::Line>
and friends) and the objects of the protocol framer classes are C framers:

    codec => Linux::Event::Stream::Codec::Delimiter->new(delimiter => "\r\n\r\n")
    codec => Linux::Event::Stream::Codec::Fixed->new(size => 16)
    codec => Linux::Event::Stream::Codec::LengthPrefix->new(
        bytes => 2, endian => 'little', adjust => 0, max_frame => 4096)
    codec => Linux::Event::Stream::Codec::Varint->new(max_frame => 65536)

C<write_message> encodes with them (a message that does not fit croaks),
and bad input ends the stream with a clear C<last_error> (C<codec:frame too
large (E<gt>N bytes)>, C<codec:invalid length>, C<codec:invalid varint>,
C<codec:truncated record>) after the replies written before it went out.
Any other codec hash with C<decode> and C<encode> subs is run in
Perl with Linux::Event 0.010's calling convention.

=head1 OPTIONS

C<loop>, C<fh> (required); C<on_read>, C<on_message>, C<on_error>
(C<($stream, $errno, $data)>, errno 0 for codec and buffer errors),
C<on_close> (C<($stream, $data)>, at most once), C<data>, C<codec> (an
alias or a codec hash; C<decoder>/C<encoder> are accepted as other names for
it), C<high_watermark> (1 MiB), C<low_watermark> (256 KiB), C<read_size>,
C<max_inbuf> (1 MiB: the most undecoded input held while a frame is
incomplete), C<close_fh> (1: close the handle when the stream closes),
C<max_read_per_tick> (accepted; the C stream reads until the kernel has
nothing, which is the same as no cap), C<idle_timeout>, C<read_timeout>,
C<write_timeout> (seconds, default 0: none; see L</DEADLINES>).

C<tls> (a hash of L<Linux::Event::TLS> options: the stream is encrypted
from its first byte; C<< server => 1 >> with C<cert_file> for a server, a
client verifies C<hostname>), C<on_handshake> (C<($stream, $info, $data)>,
once the handshake is done and before any decrypted byte, C<$info> as in
L<Linux::Event::TLS>; also works on a handle that L<Linux::Event::Listen> or
L<Linux::Event::Connect> encrypted).  A TLS failure calls C<on_error> with
errno C<EPROTO> and C<last_error> C<tls:E<lt>OpenSSL's reasonE<gt>>.

=head1 METHODS

=over

=item start_tls(\%tls)

STARTTLS: TLS from here on.  Bytes written before go out in the clear
first; input behind the message (or raw chunk) being handled is taken as
the first ciphertext, so a peer may pipeline its ClientHello right behind
its command.  Returns the stream.

=item tls_info

The negotiated parameters (see C<on_handshake>), or undef.

=item write($bytes)

Queues bytes (written at once when nothing is queued and the fd takes
them).  Returns 1, or 0 when the stream is closed or closing, or on an
I/O error (then reported through C<on_error> and the stream closes).
Above C<high_watermark> C<is_write_blocked> turns true; it turns false again
when the queue falls to C<low_watermark>.

=item write_message($msg)

Encodes with the codec and writes.

=item pause_read, resume_read

Stop and restart reading; nothing read or decoded is lost by a pause
(messages not yet delivered wait for C<resume_read>).

=item close_after_drain

Stops reading and closes once the queue is written (at once if empty).
Later writes return 0.

=item close

Closes now.  With C<close_fh> (the default) what is queued is dropped and the
handle closed; with C<< close_fh => 0 >> the queue stays with the handle,
whose layer writes it out behind (the handle stays on the loop, and C<print>
keeps working).

=item idle_timeout, read_timeout, write_timeout

Without an argument, the deadline in seconds (0: none).  With one, sets it
(fractions are fine; 0 or undef turns it off), starts its clock now and
returns the stream; a value that is not a number E<gt>= 0 croaks
C<read_timeout(): seconds must be a number E<gt>= 0>.  See L</DEADLINES>.

=item fh, is_closed, is_closing, is_write_blocked, buffered_bytes, last_error

C<last_error> is a string: C<io:E<lt>errnoE<gt>>, C<codec:E<lt>messageE<gt>>
or C<codec:max_inbuf_exceeded:E<lt>NE<gt>>.

=back

=head1 DEADLINES

C<idle_timeout>, C<read_timeout> and C<write_timeout> (constructor options
and accessors, in seconds) give up a stream whose peer stops: when one
expires, C<on_error> gets C<ETIMEDOUT> (110; C<last_error> is C<io:110>) and
the stream closes, as for any I/O error.

=over

=item read_timeout

No byte received for that long while reading is wanted: a paused stream
(C<pause_read>) does not time out, and its clock starts again at
C<resume_read>.

=item write_timeout

Bytes queued and none of them sent for that long (a peer that stopped
reading).  An empty queue never times out.

=item idle_timeout

No byte received or sent for that long, paused or not.

=back

They cost nothing while data flows: each stream has one timer on the loop,
which reads and writes do not touch (they record the loop's cached time);
it fires at the earliest deadline that could be due, and either expires or
moves to the new earliest one.  Times are the loop's clock, as for timers.

=head1 DIFFERENCES FROM LINUX::EVENT 0.010

Writes never raise SIGPIPE (an error C<io:32> instead); a closed stream
releases itself and its handle (C<close_fh> defaults to 1, as Linux::Event
0.010's POD says); an open stream holds its loop only weakly, so dropping
the loop frees it and closes the stream (without C<on_close>); pausing or
an error on a later frame loses no decoded message;
C<max_inbuf> bounds the undecoded leftover; errors on the socket come from
the kernel's errno (SO_ERROR), never a stale C<$!>; EOF closes after the
queue has been written; C<close_after_drain> refuses new writes; at EOF an
unterminated last line is delivered as a message; after a codec error what
was written before it still goes out, then the stream closes.  After a framing error
with C<< close_fh => 0 >> the handle keeps the error (prints fail with it).

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
