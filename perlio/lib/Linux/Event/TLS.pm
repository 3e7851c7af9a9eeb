# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::TLS;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
require PerlIO::evloop;    # the XS lives in PerlIO::evloop's shared object

my %KNOWN = map { $_ => 1 } qw(cert_file key_file ca_file ca_path verify hostname
    alpn ciphers min_version handshake_timeout sni on_handshake server);

my %VERIFY  = (none      => 1, peer           => 2, require => 3);
my %VERSION = ('TLSv1.2' => 0x0303, 'TLSv1.3' => 0x0304);

# Contexts are costly (certificate files, the CA store): one per set of
# options, for the life of the program.
my %CACHE;

# Checks the tls option hash of $who (a method name, for croaks); returns
# a copy with defaults applied ($server: 1 for Listen, 0 for Connect,
# undef: from the hash).
sub options ($who, $tls, $server = undef) {
    Carp::croak("$who: tls must be a hash reference") if ref $tls ne 'HASH';
    my @unknown = sort grep { !$KNOWN{$_} } keys %$tls;
    Carp::croak("$who: tls: unknown options: " . join(', ', @unknown)) if @unknown;
    my %o = %$tls;
    $o{server} = $server if defined $server;
    $o{server} = $o{server} ? 1 : 0;
    Carp::croak("$who: tls: cert_file is required for a server")
        if $o{server} && !defined $o{cert_file};
    for my $f (qw(cert_file key_file ca_file)) {
        Carp::croak("$who: tls: $f: $!") if defined $o{$f} && !-r $o{$f};
    }
    Carp::croak("$who: tls: ca_path is not a directory") if defined $o{ca_path} && !-d $o{ca_path};
    if (defined $o{verify}) {
        my $v = $o{verify};
        $o{verify} =
            $v =~ /\A[0-9]+\z/
            ? ($v ? ($o{server} ? 2 : 0) : 1)
            : $VERIFY{$v}
            // Carp::croak("$who: tls: verify must be 0, 1, 'none', 'peer' or 'require'");
    }
    if (defined $o{alpn}) {
        $o{alpn} = join ',', @{ $o{alpn} } if ref $o{alpn} eq 'ARRAY';
        Carp::croak("$who: tls: alpn must be an array reference or a comma-separated string")
            if ref $o{alpn} || $o{alpn} !~ /\A[^,]+(?:,[^,]+)*\z/;
    }
    if (defined $o{min_version}) {
        $o{min_version} = $VERSION{ $o{min_version} }
            // Carp::croak("$who: tls: min_version must be 'TLSv1.2' or 'TLSv1.3'");
    }
    if (defined $o{handshake_timeout}) {
        Carp::croak("$who: tls: handshake_timeout must be a number > 0")
            unless $o{handshake_timeout} =~ /\A[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?\z/
            && $o{handshake_timeout} > 0;
    }
    Carp::croak("$who: tls: on_handshake must be a coderef")
        if defined $o{on_handshake} && ref $o{on_handshake} ne 'CODE';
    if (defined $o{sni}) {
        Carp::croak("$who: tls: sni must be a hash reference of name => { cert_file, key_file }")
            if ref $o{sni} ne 'HASH' || grep { ref ne 'HASH' } values %{ $o{sni} };
        Carp::croak("$who: tls: sni is for servers") unless $o{server};
    }
    return \%o;
}

# The context for checked options (see options).
sub context ($who, $o) {
    my @keys = grep { defined $o->{$_} && !/\A(?:sni|on_handshake|hostname|handshake_timeout)\z/ }
        sort keys %$o;
    my $key = join "\0", map { "$_=$o->{$_}" } @keys;
    my $sni = $o->{sni} // {};
    $key .= join "\0", '', map { "sni:$_=" . join(',', %{ $sni->{$_} }) } sort keys %$sni;
    return $CACHE{$key} //= do {
        my %c   = map { ($_ => $o->{$_}) } @keys;
        my $ctx = eval { _ctx_new(\%c) } // Carp::croak("$who: tls: " . _plain($@));
        for my $name (sort keys %$sni) {

            # A name's context differs by its certificate only.
            my %sub = ((map { ($_ => $o->{$_}) } @keys), %{ $sni->{$name} });
            my $sub = context($who, options($who, \%sub, 1));
            _ctx_add_sni($ctx, $name, $sub);
        }
        $ctx;
    };
}

sub _plain ($err) {
    $err =~ s/ at \S+ line \d+\.?\n\z//;
    return $err;
}

# Starts TLS on $fh's :evloop layer (pushed if missing).  $blocking: a
# blocking handle finishes its handshake now.  Returns 1, or croaks.
sub start ($who, $fh, $o, $blocking = 0) {
    my $ctx = context($who, $o);
    if (!grep { $_ eq 'evloop' } PerlIO::get_layers($fh)) {
        binmode($fh, ':evloop') or Carp::croak("$who: fh cannot take the :evloop layer: $!");
    }
    my $ok = PerlIO::evloop::_start_tls(
        $fh, $ctx,
        $o->{server} ? undef : $o->{hostname},
        $o->{handshake_timeout} // 0,
        $blocking ? 1 : 0
    );
    if (!$ok) {
        my $why = PerlIO::evloop::tls_error($fh) // "$!";
        Carp::croak("$who: $why");
    }
    return 1;
}

1;
__END__

=head1 NAME

Linux::Event::TLS - TLS options for Linux::Event streams and the :evloop layer

=head1 SYNOPSIS

    # A server: every accepted handle comes encrypted.
    Linux::Event::Listen->new(
        loop      => $loop, host => '0.0.0.0', port => 443,
        tls       => { cert_file => 'server.pem', key_file => 'server.key',
                       alpn => ['h2', 'http/1.1'] },
        on_accept => sub ($loop, $fh, $peer, $listen) {
            Linux::Event::Stream->new(loop => $loop, fh => $fh,
                on_handshake => sub ($stream, $info, $data) { ... },
                on_read => sub ($stream, $bytes, $data) { ... });
        },
    );

    # A client.
    my $stream = Linux::Event::Stream->new(loop => $loop, fh => $sock,
        tls => { hostname => 'example.org', on_handshake => sub { ... } },
        on_read => sub { ... });

    # A blocking handle.
    PerlIO::evloop::start_tls($sock, { hostname => 'example.org' });
    print $sock "GET / HTTP/1.0\r\n\r\n";
    my $line = <$sock>;

=head1 DESCRIPTION

TLS in Linux::Event is libevloop's (OpenSSL 3, inside the C stream of the
handle's C<:evloop> layer): ciphertext is read and decrypted into the
stream's buffer, and writes are encrypted into its queue.  Everything above
it works unchanged: codecs, write-behind, watermarks (which count the queued
bytes, a little more than the plaintext), C<close_after_drain> (which sends
close_notify first), and C<print>/C<readline>/C<:evline> on the handle.

This module holds the option checks and caches contexts (one per distinct
set of options); you use it through the C<tls> option of
L<Linux::Event::Stream>, L<Linux::Event::Listen> and L<Linux::Event::Connect>,
and through C<PerlIO::evloop::start_tls>.

=head1 OPTIONS

=over

=item cert_file, key_file

PEM certificate (chain) and key.  Required for servers; a client sends them
as its client certificate.  key_file defaults to cert_file.

=item ca_file, ca_path

Trust anchors; without either, the system store (Debian's ca-certificates).

=item verify

Clients verify the server by default (C<< verify => 0 >> or C<'none'>
turns it off).  Servers ask nothing by default; C<'peer'> asks for a client
certificate and verifies one if sent, C<'require'> insists.

=item hostname

Client: the SNI name sent and the name the server's certificate must carry
(Connect uses its C<host>).  An IP address is checked against the
certificate's IP entries and not sent as SNI.

=item alpn

Protocols, preferred first (array reference or C<'h2,http/1.1'>).  A server
picks by its own order.

=item sni

Server: C<< { 'name' => { cert_file => ..., key_file => ... }, ... } >>:
a client asking for that name gets that certificate.

=item ciphers, min_version

A TLS 1.2 cipher list; C<'TLSv1.2'> (default) or C<'TLSv1.3'>.

=item handshake_timeout

Seconds; a handshake that takes longer fails with C<ETIMEDOUT>.

=item on_handshake

Streams only: C<on_handshake($stream, $info, $data)> once the handshake is
done, before any decrypted byte; C<$info> has C<protocol>, C<cipher>,
C<alpn>, C<peer_subject>, C<servername>, C<resumed> and C<verified>.

=back

Errors go to C<on_error> with errno C<EPROTO> (C<ETIMEDOUT> for the timeout),
and C<last_error> is C<tls:> followed by OpenSSL's reason, e.g.
C<tls:handshake: certificate verify failed: certificate has expired>.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
