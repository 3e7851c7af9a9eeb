# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Resolver;
use v5.36;

our $VERSION = '0.200';

use Carp ();
use Socket ();
require PerlIO::evloop;

use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

my %FAMILY = (
    unspec => Socket::AF_UNSPEC(),
    inet   => Socket::AF_INET(),
    inet6  => Socket::AF_INET6(),
);
my %KNOWN = map { $_ => 1 } qw(host port family socktype flags on_done on_error);

sub resolve ($loop, %args) {
    my @unknown = sort grep { !$KNOWN{$_} } keys %args;
    Carp::croak('resolve: unknown option(s): ' . join(', ', @unknown)) if @unknown;
    my ($host, $port) = @args{qw(host port)};
    Carp::croak('resolve: host or port is required') if !defined $host && !defined $port;
    Carp::croak('resolve: host must be a non-empty string')
        if defined $host && (ref $host || $host eq '' || $host =~ /\0/);
    Carp::croak('resolve: port must be a port number or a service name')
        if defined $port
        && (ref $port || !($port =~ /\A\d+\z/ ? $port <= 65535 : $port =~ /\A[A-Za-z][\w.+-]*\z/));
    my $family = $args{family} // Socket::AF_UNSPEC();
    $family = $FAMILY{$family} if exists $FAMILY{$family};
    Carp::croak("resolve: family must be 'inet', 'inet6', 'unspec' or an AF_* number")
        if ref $family || $family !~ /\A\d+\z/;
    my $socktype = $args{socktype} // Socket::SOCK_STREAM();
    Carp::croak('resolve: socktype must be a SOCK_* number or 0')
        if ref $socktype || $socktype !~ /\A\d+\z/;
    my $flags = $args{flags} // 0;
    Carp::croak('resolve: flags must be a number of AI_* bits')
        if ref $flags || $flags !~ /\A\d+\z/;

    for my $k (qw(on_done on_error)) {
        Carp::croak("resolve: $k must be a code reference")
            if defined $args{$k} && ref $args{$k} ne 'CODE';
    }
    Carp::croak('resolve: on_done is required') unless $args{on_done};
    my $what     = defined $host ? $host : ":$port";
    my $on_error = $args{on_error} // sub ($errno, $message) {
        local $! = $errno;
        warn "Linux::Event::Resolver: resolving '$what' failed: $!: $message\n";
    };
    return _resolve($loop, $host, defined $port ? "$port" : undef,
        $family, $socktype, $flags, $args{on_done}, $on_error);
}

sub set_threads ($loop, $n) {
    Carp::croak('set_threads: threads must be 1..64')
        if !defined $n || ref $n || $n !~ /\A\d+\z/ || $n < 1 || $n > 64;
    _set_threads($loop, $n);
    return;
}

sub pending ($loop) { return _pending($loop) }

1;
__END__

=head1 NAME

Linux::Event::Resolver - non-blocking getaddrinfo for Linux::Event loops

=head1 SYNOPSIS

    use v5.36;
    use Linux::Event;

    my $loop = Linux::Event->new;
    my $req  = $loop->resolve(
        host     => 'db.internal',
        port     => 5432,
        family   => 'inet6',    # optional: 'inet', 'inet6', 'unspec'
        on_done  => sub ($res) {
            for my $ai (@$res) {
                say "$ai->{host} port $ai->{port}";   # also family, socktype, protocol, addr
            }
        },
        on_error => sub ($errno, $message) {
            # $errno: ENOENT (no such name) or EIO; $message e.g.
            # "Name or service not known (EAI_NONAME)"
        },
    );
    $req->cancel;    # optional: no callback runs after it
    $loop->run;

=head1 DESCRIPTION

C<getaddrinfo> runs in a small pool of worker threads of the loop
(C<evl_resolve> in libevloop), so a slow DNS answer never stalls the loop;
the answer comes back through an eventfd the loop watches and the callback
runs on the loop, like any other. It works on reactor and proactor loops,
and in a forked child (the child's loop restarts the pool).

C<< $loop->resolve(%args) >> (on L<Linux::Event::Loop>,
L<Linux::Event::Reactor> and L<Linux::Event::Proactor>) is
C<Linux::Event::Resolver::resolve($loop, %args)>.

=head1 METHODS

=over

=item resolve($loop, %args)

C<host> (a name or a numeric address) and/or C<port> (a number or a
service name); C<family> (C<'inet'>, C<'inet6'>, C<'unspec'> or an AF_*
number; default any); C<socktype> (default C<SOCK_STREAM>; 0 for every
type); C<flags> (AI_* bits); C<on_done> (required) gets an array reference
of hashes C<{family, socktype, protocol, addr, host, port}>: C<addr> is the
packed sockaddr, C<host> the numeric address, C<port> a number.
C<on_error> gets C<($errno, $message)>: C<ENOENT> when the name does not
exist (EAI_NONAME, EAI_NODATA, and at once for names under C<.invalid>),
C<ENAMETOOLONG> for a host over 1024 bytes, C<EIO> for every other failure;
C<$message> is the resolver's text followed by the symbolic EAI name in
parentheses (C<Name or service not known (EAI_NONAME)>). Without
C<on_error>, a failure warns with the errno text and the message.

Callbacks never run inside C<resolve>. Returns a request object; dropping
it does not cancel the request.

=item set_threads($loop, $n)

The most worker threads the loop's resolver runs at once (1..64, default 4).

=item pending($loop)

Requests of the loop not yet answered or cancelled.

=back

=head2 Linux::Event::Resolver::Request

=over

=item cancel

Cancels a request not yet answered: neither callback runs. Returns 1 if it
cancelled, 0 otherwise (already answered or cancelled).

=item is_pending

True until the request is answered or cancelled.

=back

Freeing the loop cancels its pending requests.

=head1 ERRORS

Bad arguments croak with C<resolve: ...>; an object that is not a
Linux::Event loop croaks C<Linux::Event::Resolver: loop is not a
Linux::Event loop>.

=head1 SEE ALSO

L<Linux::Event::Connect>, L<Linux::Event::Loop>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
