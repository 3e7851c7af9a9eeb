# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Datagram;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
use Errno ();
use Scalar::Util ();
use Socket ();
require PerlIO::evloop;    # the XS lives in PerlIO::evloop's shared object

my %KNOWN = map { $_ => 1 } qw(loop host port path fh family peer_host peer_port
    peer_path on_datagram on_error on_drain high_watermark low_watermark max_queue
    batch buffer_size broadcast multicast multicast_if reuseaddr close_on_error data);

my %FAMILY = (
    inet   => Socket::AF_INET(),
    inet6  => Socket::AF_INET6(),
    unspec => Socket::AF_UNSPEC(),
);

sub _uint ($name, $v, $min, $max) {
    Carp::croak("new(): $name must be an integer between $min and $max")
        unless defined $v && $v =~ /\A[0-9]+\z/ && $v >= $min && $v <= $max;
    return;
}

sub new ($class, %opt) {
    Carp::croak('new(): missing loop') unless defined $opt{loop};
    my @unknown = sort grep { !$KNOWN{$_} } keys %opt;
    Carp::croak('new(): unknown options: ' . join(', ', @unknown)) if @unknown;
    for my $k (qw(on_datagram on_error on_drain)) {
        Carp::croak("new(): $k must be a coderef") if defined $opt{$k} && ref $opt{$k} ne 'CODE';
    }
    my $local = grep { defined $opt{$_} } qw(host port);
    my $where = ($opt{fh} ? 1 : 0) + (defined $opt{path} ? 1 : 0) + ($local ? 1 : 0);
    Carp::croak('new(): give one of fh, path, or host/port') if $where > 1;
    Carp::croak('new(): give fh, path, host/port or a peer (peer_host/peer_port or peer_path)')
        if !$where
        && !defined $opt{peer_host}
        && !defined $opt{peer_port}
        && !defined $opt{peer_path};
    Carp::croak('new(): peer_path goes with path or fh (a unix socket)')
        if defined $opt{peer_path}
        && ($local || defined $opt{peer_host} || defined $opt{peer_port});
    Carp::croak('new(): fh must be a socket handle')
        if $opt{fh} && !defined Linux::Event::Internal::fileno_of($opt{fh});
    _uint('port', $opt{port}, 0, 65535) if defined $opt{port};
    _uint('peer_port', $opt{peer_port}, 1, 65535) if defined $opt{peer_port};
    Carp::croak('new(): peer_port is required with peer_host')
        if defined $opt{peer_host} && !defined $opt{peer_port};
    Carp::croak('new(): peer_host is required with peer_port')
        if defined $opt{peer_port} && !defined $opt{peer_host};
    Carp::croak('new(): peer_host goes with host/port or fh (a UDP socket), not path')
        if defined $opt{path} && defined $opt{peer_host};

    for my $k (qw(host peer_host path peer_path)) {
        Carp::croak("new(): $k must be a non-empty string")
            if defined $opt{$k} && (ref $opt{$k} || !length $opt{$k});
    }
    if (defined $opt{family}) {
        Carp::croak("new(): family must be 'inet', 'inet6' or 'unspec'")
            unless defined $FAMILY{ $opt{family} };
    }
    _uint('batch', $opt{batch}, 1, 1024) if defined $opt{batch};
    _uint('buffer_size', $opt{buffer_size}, 1, 16 << 20) if defined $opt{buffer_size};
    for my $k (qw(high_watermark low_watermark max_queue)) {
        _uint($k, $opt{$k}, 0, ~0) if defined $opt{$k};
    }
    my $high = $opt{high_watermark} // 1048576;
    my $low  = $opt{low_watermark}  // 262144;
    Carp::croak('new(): low_watermark must not exceed high_watermark')
        if defined $opt{low_watermark} && defined $opt{high_watermark} && $low > $high;
    my @groups =
         !defined $opt{multicast} ? ()
        : ref $opt{multicast} eq 'ARRAY' ? @{ $opt{multicast} }
        : ($opt{multicast});
    for my $g (@groups) {
        Carp::croak("new(): multicast group '$g' is not a numeric IPv4 or IPv6 address")
            unless defined _pack_ip($g);
    }

    my %c = %opt;
    if ($opt{close_on_error}) {
        my $user = $opt{on_error};
        $c{on_error} = sub ($self, $errno, $message) {
            $user->($self, $errno, $message) if $user;
            $self->close;
        };
    }
    my $self = bless { data => $opt{data}, groups => \@groups }, $class;
    $self->_attach($opt{loop}, \%c);
    $self->{loop} = $opt{loop};
    Scalar::Util::weaken($self->{loop});

    # Without the loop: the Datagram must not keep it alive.
    $self->{opt} = { %opt, loop => undef };

    # Failures found inside new croak; those found later (after a name
    # was resolved) go to on_error.
    local $self->{sync} = 1;
    if ($opt{fh}) {
        $self->{fh} = $opt{fh};
        $self->_go;
    } elsif (defined $opt{path} || defined $opt{peer_path}) {

        # Unix: bound to path, or unbound with only a peer (its replies
        # then cannot reach it, as with any unnamed unix datagram socket).
        socket(my $fh, Socket::AF_UNIX(), Socket::SOCK_DGRAM() | Socket::SOCK_CLOEXEC(), 0)
            or Carp::croak("new(): socket: $!");
        if (defined $opt{path}) {
            bind($fh, Socket::pack_sockaddr_un($opt{path}))
                or Carp::croak("new(): bind to path '$opt{path}' failed: $!");
        }
        $self->{fh} = $fh;
        $self->_go;
    } else {

        # Weak: a Datagram dropped while its names resolve must go.
        Scalar::Util::weaken(my $weak = $self);
        $self->_resolve_then(
            $opt{host},
            $local ? $opt{port} // 0 : undef,
            sub ($local) {
                my $s = $weak or return;
                $s->{local} = $local;
                $s->_resolve_then(
                    $opt{peer_host},
                    $opt{peer_port},
                    sub ($peer) {
                        my $s = $weak or return;
                        $s->{peer} = $peer;
                        $s->_make_socket;
                    }
                );
            }
        );
    }
    return $self;
}

# Packed address of a numeric IPv4 or IPv6 host, with its family.
sub _pack_ip ($host) {
    my $a4 = Socket::inet_pton(Socket::AF_INET(), $host);
    return [Socket::AF_INET(), $a4] if defined $a4;
    my $a6 = Socket::inet_pton(Socket::AF_INET6(), $host);
    return [Socket::AF_INET6(), $a6] if defined $a6;
    return undef;
}

sub _sockaddr ($family, $ip, $port) {
    return $family == Socket::AF_INET()
        ? Socket::pack_sockaddr_in($port, $ip)
        : Socket::pack_sockaddr_in6($port, $ip);
}

# Calls $then->([family, sockaddr]) for host:port, at once for a numeric
# host (or no host), else through the loop's resolver (never blocking).
sub _resolve_then ($self, $host, $port, $then) {
    return $then->(undef) if !defined $host && !defined $port;
    my $want = $FAMILY{ $self->{opt}{family} // 'unspec' };
    if (!defined $host) {

        # A port alone: the wildcard of the family asked for (IPv4 by default).
        my $f  = $want == Socket::AF_INET6() ? Socket::AF_INET6() : Socket::AF_INET();
        my $ip = $f == Socket::AF_INET() ? Socket::INADDR_ANY() : Socket::IN6ADDR_ANY();
        return $then->([$f, _sockaddr($f, $ip, $port)]);
    }
    if (my $n = _pack_ip($host)) {
        return $then->([$n->[0], _sockaddr($n->[0], $n->[1], $port)]);
    }
    my $loop = $self->{loop} or return;
    Scalar::Util::weaken(my $weak = $self);
    $self->{req} = $loop->resolve(
        host     => $host,
        port     => $port,
        family   => $want,
        socktype => Socket::SOCK_DGRAM(),
        on_done  => sub ($res) {
            my $s = $weak or return;
            delete $s->{req};
            return if $s->is_closed;
            my $ai = $res->[0];
            return $s->_fail(Errno::ENOENT(), "no address for '$host'") unless $ai;
            $then->([$ai->{family}, $ai->{addr}]);
        },
        on_error => sub ($errno, $message) {
            my $s = $weak or return;
            delete $s->{req};
            $s->_fail($errno, "resolving '$host': $message") unless $s->is_closed;
        },
    );
    return;
}

sub _make_socket ($self) {
    my ($local, $peer) = @$self{qw(local peer)};
    my $family = ($local // $peer)->[0];
    if ($local && $peer && $local->[0] != $peer->[0]) {
        return $self->_fail(Errno::EAFNOSUPPORT(),
            'host and peer_host resolve to different address families');
    }
    my $fh;
    if (!socket($fh, $family, Socket::SOCK_DGRAM() | Socket::SOCK_CLOEXEC(), 0)) {
        return $self->_fail(0 + $!, "socket: $!");
    }
    if ($self->{opt}{reuseaddr}) {
        setsockopt($fh, Socket::SOL_SOCKET(), Socket::SO_REUSEADDR(), 1);
    }
    if ($local && !bind($fh, $local->[1])) {
        return $self->_fail(0 + $!, "bind: $!");
    }
    $self->{fh} = $fh;
    return $self->_go;
}

# The socket exists: connect to the peer, start the C side, apply options.
sub _go ($self) {
    my $opt = $self->{opt};
    my $fh  = $self->{fh};
    if (defined $opt->{peer_path}) {
        connect($fh, Socket::pack_sockaddr_un($opt->{peer_path}))
            or return $self->_fail(0 + $!, "connect to '$opt->{peer_path}': $!");
    } elsif ($self->{peer}) {
        connect($fh, $self->{peer}[1]) or return $self->_fail(0 + $!, "connect: $!");
    } elsif ($opt->{fh} && defined $opt->{peer_host}) {
        my $n = _pack_ip($opt->{peer_host})
            or return $self->_fail(Errno::EINVAL(), 'peer_host with fh must be numeric');
        connect($fh, _sockaddr($n->[0], $n->[1], $opt->{peer_port}))
            or return $self->_fail(0 + $!, "connect: $!");
    }
    if (!eval { $self->_start(fileno $fh); 1 }) {
        (my $e = $@) =~ s/^new\(\): //;
        $e =~ s/ at .* line \d+\.?\n\z//;
        return $self->_fail(0 + $! || Errno::EINVAL(), $e);
    }
    if ($opt->{broadcast} && !$self->_broadcast(1)) {
        $self->_fail(0 + $!, "broadcast: $!");
    }
    for my $g (@{ $self->{groups} }) {
        next if $self->is_closed;
        $self->join_multicast($g, $opt->{multicast_if})
            or $self->_error(0 + $!, "join_multicast($g): $!");
    }
    return;
}

# A failure while making the socket: on_error (or a warning), then closed.
sub _fail ($self, $errno, $message) {
    if ($self->{sync}) {
        $self->close;
        Carp::croak("new(): $message");
    }
    $self->_error($errno, $message);
    $self->close;
    return;
}

sub _error ($self, $errno, $message) {
    if (my $cb = $self->{opt}{on_error}) {
        $cb->($self, $errno, $message);
    } else {
        Carp::carp("Linux::Event::Datagram: $message");
    }
    return;
}

sub fh   ($self) { return $self->{fh} }
sub data ($self) { return $self->{data} }

sub sockaddr ($self) {
    my $fh = $self->{fh} or return undef;
    return getsockname($fh) || undef;
}

sub peeraddr ($self) {
    my $fh = $self->{fh} or return undef;
    return getpeername($fh) || undef;
}

sub sockhost ($self) {
    my $a = $self->sockaddr // return undef;
    return (unpack_addr($a))[0];
}

sub sockport ($self) {
    my $a = $self->sockaddr // return undef;
    return (unpack_addr($a))[1];
}

# (host, port) of a packed IPv4/IPv6 sockaddr; (path) of a unix one.
sub unpack_addr ($addr) {
    Carp::croak('unpack_addr(): peer_addr must be a packed sockaddr')
        unless defined $addr && length $addr >= 2;
    my $family = Socket::sockaddr_family($addr);
    if ($family == Socket::AF_INET()) {
        my ($port, $ip) = Socket::unpack_sockaddr_in($addr);
        return (Socket::inet_ntop($family, $ip), $port);
    }
    if ($family == Socket::AF_INET6()) {
        my ($port, $ip) = Socket::unpack_sockaddr_in6($addr);
        return (Socket::inet_ntop($family, $ip), $port);
    }
    if ($family == Socket::AF_UNIX()) {
        return (Socket::unpack_sockaddr_un($addr));
    }
    Carp::croak("unpack_addr(): unknown address family $family");
}

# The packed sockaddr of a numeric host and a port, for send_to.
sub pack_addr ($host, $port) {
    my $n = defined $host ? _pack_ip($host) : undef;
    Carp::croak('pack_addr(): host must be a numeric IPv4 or IPv6 address') unless $n;
    Carp::croak('pack_addr(): port must be an integer between 0 and 65535')
        unless defined $port && $port =~ /\A[0-9]+\z/ && $port <= 65535;
    return _sockaddr($n->[0], $n->[1], $port);
}

sub _ifindex ($method, $if) {
    return 0 if !defined $if;
    return $if if $if =~ /\A[0-9]+\z/;
    Carp::croak("$method(): interface '$if' is not an interface name or index")
        if $if =~ m{[/\0]} || !length $if;
    open(my $f, '<', "/sys/class/net/$if/ifindex")
        or Carp::croak("$method(): no interface '$if'");
    my $n = <$f>;
    chomp $n;
    return $n;
}

sub join_multicast ($self, $group = undef, $if = undef) {
    return $self->_group('join_multicast', $group, $if, 1);
}

sub leave_multicast ($self, $group = undef, $if = undef) {
    return $self->_group('leave_multicast', $group, $if, 0);
}

sub _group ($self, $method, $group, $if, $join) {
    my $n = defined $group ? _pack_ip($group) : undef;
    Carp::croak("$method(): group must be a numeric IPv4 or IPv6 address") unless $n;
    my $ifindex = _ifindex($method, $if);
    return $self->_multicast(_sockaddr($n->[0], $n->[1], 0), $ifindex, $join);
}

sub close ($self) {
    if (my $req = delete $self->{req}) {
        $req->cancel;
    }
    $self->_close;
    if (my $fh = delete $self->{fh}) {
        CORE::close($fh) unless $self->{opt}{fh};
    }
    return 1;
}

1;
__END__

=head1 NAME

Linux::Event::Datagram - UDP and unix datagram sockets on a Linux::Event loop

=head1 SYNOPSIS

    use v5.36;
    use Linux::Event;
    use Linux::Event::Datagram;

    my $loop = Linux::Event->new;

    # An echo server on UDP port 5353 of every IPv4 address.
    my $server = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '0.0.0.0',
        port        => 5353,
        on_datagram => sub ($dgram, $bytes, $peer_addr) {
            $dgram->send_to($bytes, $peer_addr);
        },
        on_error => sub ($dgram, $errno, $message) {
            warn "udp: $message\n";
        },
    );

    # A client with a fixed peer (a connected socket).
    my $client = Linux::Event::Datagram->new(
        loop        => $loop,
        peer_host   => 'localhost',    # resolved without blocking the loop
        peer_port   => 5353,
        on_datagram => sub ($dgram, $bytes, $peer_addr) { say "reply: $bytes" },
        on_error    => sub ($dgram, $errno, $message) {
            # ECONNREFUSED: nobody listens there (an ICMP port unreachable)
        },
    );
    $client->send('ping');
    $loop->run;

=head1 DESCRIPTION

A Datagram is a datagram socket (UDP over IPv4 or IPv6, or a unix
datagram socket) on a loop.  It is libevloop's C C<evl_dgram>: reading
takes up to C<batch> datagrams per C<recvmmsg> system call into a reusable
set of buffers, and C<on_datagram> is called for each; sends go out at once
when the socket takes them and are otherwise queued and written behind your
back with C<sendmmsg> when the socket has room again (write-behind), with
watermarks on the queued bytes as L<Linux::Event::Stream> has them.  It
works on reactor and proactor loops alike (on a proactor the loop's fd
watcher drives it: io_uring has no multi-datagram receive).

Sends made inside C<on_datagram> are gathered and go out together, with
one C<sendmmsg>, once the batch being delivered has been handed out, so a
server that answers each datagram makes one system call per batch.
Callbacks never run inside C<new>, C<send> or C<send_to>.  A host name that
is not a numeric address is resolved through the loop's resolver
(L<Linux::Event::Resolver>), so C<new> never blocks; until the socket
exists, C<send> and C<send_to> keep what they are given and it goes out, in
order, once it does; C<sockport> and C<fh> are undef meanwhile.  A name
that does not resolve is reported through C<on_error> and the Datagram
closes.

A Datagram does not keep itself alive: keep a reference to it as long as it
should work.  Dropping the last reference stops it, frees its buffers and
queue and closes the socket (a handle passed as C<fh> is left to its
owner).  Dropping the loop stops it too.

=head1 OPTIONS

=over

=item loop

Required: a L<Linux::Event::Loop>, L<Linux::Event::Reactor> or
L<Linux::Event::Proactor>.

=item host, port

Bind a new UDP socket to this address and port (C<port> 0 or absent: the
kernel picks one; see C<sockport>).  C<host> may be a name (resolved
through the loop's resolver, the first answer is used) or a numeric
address; without it the socket binds to the wildcard address of
C<family> (IPv4 unless C<< family => 'inet6' >>).

=item path

Bind a new unix datagram socket to this path (which must not exist).

=item fh

A datagram socket you made (bound, connected or neither).  It is made
non-blocking; C<close> and the end of the Datagram leave it open.

=item peer_host, peer_port

A fixed peer: the socket is connected to it, C<send> goes there, and only
its datagrams are received.  The kernel then reports ICMP errors for it:
a datagram sent to a closed port gives C<on_error> with C<ECONNREFUSED>.
Without C<host>/C<port> the socket is not bound first (the kernel picks a
local port).

=item peer_path

A fixed unix peer (with C<path> or C<fh>).

=item family

C<'inet'>, C<'inet6'> or C<'unspec'> (default): the family names are
resolved to, and of the wildcard address a bare C<port> binds.

=item on_datagram => sub ($dgram, $bytes, $peer_addr) { ... }

One datagram: its bytes and the sender's packed sockaddr (undef for an
unnamed unix peer); give C<$peer_addr> to C<send_to> to reply, or to
C<unpack_addr> to read it.

=item on_error => sub ($dgram, $errno, $message) { ... }

An error, with its errno number and a message.  ICMP errors on a connected
socket (C<ECONNREFUSED>, C<EHOSTUNREACH>, ...), a queued datagram the
kernel refused (it is dropped), a datagram larger than C<buffer_size>
(C<EMSGSIZE>; it is dropped), a name that did not resolve (C<ENOENT> or
C<EIO>; the Datagram then closes), a socket shut down under it
(C<ESHUTDOWN>; it stops receiving).  Apart from those the Datagram keeps
working, unless C<close_on_error> is set.  Without
C<on_error> errors are warned about.

=item on_drain => sub ($dgram) { ... }

The send queue became empty after the socket had refused some of it (its
send buffer was full): the end of a backlog.

=item high_watermark, low_watermark, max_queue

Bytes.  C<is_write_blocked> turns true when the queued bytes grow past
C<high_watermark> (default 1 MiB) and false again when they fall to
C<low_watermark> (default 256 KiB).  C<max_queue> (default 0: no cap) makes
a send that would queue more fail with C<ENOBUFS>.

=item batch, buffer_size

Datagrams per system call (1..1024, default 32) and the receive buffer of
each (default 65536, enough for any UDP datagram).

=item broadcast

Set C<SO_BROADCAST> (sending to broadcast addresses).

=item multicast, multicast_if

A group address or an array of them to join at start, on interface
C<multicast_if> (a name or an index; default the kernel's choice).

=item reuseaddr

Set C<SO_REUSEADDR> before binding (several sockets on one multicast port).

=item close_on_error

Close the Datagram after C<on_error>.

=item data

Anything; C<< $dgram->data >> returns it.

=back

=head1 METHODS

=over

=item send($bytes)

Sends one datagram to the fixed peer.  Returns true (sent, or queued), or
false with C<$!> set when the kernel refused it at once: C<EMSGSIZE>,
C<EDESTADDRREQ> without a peer, C<ECONNREFUSED> reported by an earlier
datagram, C<ENOBUFS> over C<max_queue>, C<EBADF> once closed.  Inside
C<on_datagram> the send is gathered (see above) and a refusal comes
through C<on_error> instead.  C<$bytes> must be a byte string.

=item send_to($bytes, $peer_addr)

Sends one datagram to a packed sockaddr (as C<on_datagram> gives it, or
from C<pack_addr>).  Returns as C<send>.

=item pause, resume

Stop and restart receiving.  Datagrams already read in the current batch
wait for C<resume> (delivered from the loop, never inside C<resume>).

=item close

Stops, drops what is still queued and closes the socket (a C<fh> handle
stays open).  Returns 1; closing again does nothing.

=item join_multicast($group, $interface), leave_multicast($group, $interface)

Join or leave a multicast group (a numeric IPv4 or IPv6 address), on an
interface given by name or index (default: the kernel's choice).  Return
true, or false with C<$!> set (C<EADDRINUSE> joined already,
C<EADDRNOTAVAIL> not a member, C<ENODEV> no such route).

=item sockport, sockhost, sockaddr, peeraddr, fh, data

The local port and numeric address, the packed local and peer addresses,
the handle (undef until the socket exists), the C<data> option.

=item is_closed, is_write_blocked, queued_bytes, queued_count

=item Linux::Event::Datagram::unpack_addr($addr)

C<($host, $port)> of a packed IPv4 or IPv6 sockaddr (the host numeric),
C<($path)> of a unix one.

=item Linux::Event::Datagram::pack_addr($host, $port)

The packed sockaddr of a numeric host and a port.

=back

=head1 ERRORS

Bad arguments croak with the method and the argument at the caller's
line: C<new(): missing loop>, C<new(): port must be an integer between 0
and 65535>, C<send(): bytes must be defined>, C<send_to(): peer_addr must
be a packed sockaddr>, C<join_multicast(): group must be a numeric IPv4 or
IPv6 address>, and so on.  A C<fh> that is not a datagram socket croaks
C<new(): Protocol wrong type for socket>.  Errors of the network are
never croaks: they come through C<on_error> or a false return.

=head1 SEE ALSO

L<Linux::Event>, L<Linux::Event::Stream>, L<Linux::Event::Resolver>,
C<evl_dgram> in libevloop's F<evloop.h>.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
