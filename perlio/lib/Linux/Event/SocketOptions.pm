# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::SocketOptions;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
use Errno ();
use Socket ();

# The options Listen and Connect share, in the order they are applied.
our @KEYS = qw(nodelay keepalive keepalive_idle keepalive_interval keepalive_count
    user_timeout rcvbuf sndbuf bind_device);

# Those that are TCP's own: refused on a unix socket.
my %TCP_ONLY = map { $_ => 1 }
    qw(nodelay keepalive keepalive_idle keepalive_interval keepalive_count user_timeout);

sub _posint ($v) { return defined $v && !ref $v && $v =~ /\A[0-9]+\z/ && $v > 0 }

# Croaks (at the caller of new) on a bad value; $unix: the socket is a
# unix one.  Returns the options given, as a hash.
sub check ($args, $unix = 0) {
    my %o = map { exists $args->{$_} ? ($_ => $args->{$_}) : () } @KEYS;
    if ($unix) {
        for my $k (sort grep { $TCP_ONLY{$_} } keys %o) {
            Carp::croak("$k is not allowed on a unix socket");
        }
    }
    for my $k (qw(keepalive_idle keepalive_interval keepalive_count rcvbuf sndbuf)) {
        Carp::croak("$k must be a positive integer")
            if exists $o{$k} && !_posint($o{$k});
    }
    for my $k (qw(keepalive_idle keepalive_interval keepalive_count)) {
        Carp::croak("$k needs keepalive => 1") if exists $o{$k} && !$o{keepalive};
    }
    if (exists $o{user_timeout}) {
        my $t = $o{user_timeout};
        Carp::croak('user_timeout must be a number of seconds >= 0')
            if !defined $t || ref $t || $t !~ /\A(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\z/;
    }
    if (exists $o{bind_device}) {
        my $d = $o{bind_device};
        Carp::croak('bind_device must be an interface name (1..15 bytes)')
            if !defined $d || ref $d || $d eq '' || length($d) > 15 || $d =~ /\0/;
    }
    return \%o;
}

sub _set ($fh, $level, $name, $value) {
    return setsockopt($fh, $level, $name, $value) ? 0 : $! + 0;
}

# Applies the options check returned.  Returns nothing on success, or
# (errno, "option: error text") for the first that failed.
sub apply ($fh, $o) {
    my $SOL = Socket::SOL_SOCKET();
    my $TCP = Socket::IPPROTO_TCP();
    my @todo;
    push @todo, [nodelay => $TCP, Socket::TCP_NODELAY(), $o->{nodelay} ? 1 : 0]
        if exists $o->{nodelay};
    push @todo, [keepalive => $SOL, Socket::SO_KEEPALIVE(), $o->{keepalive} ? 1 : 0]
        if exists $o->{keepalive};
    push @todo, [keepalive_idle => $TCP, Socket::TCP_KEEPIDLE(), $o->{keepalive_idle}]
        if exists $o->{keepalive_idle};
    push @todo, [keepalive_interval => $TCP, Socket::TCP_KEEPINTVL(), $o->{keepalive_interval}]
        if exists $o->{keepalive_interval};
    push @todo, [keepalive_count => $TCP, Socket::TCP_KEEPCNT(), $o->{keepalive_count}]
        if exists $o->{keepalive_count};
    push @todo,
        [user_timeout => $TCP, Socket::TCP_USER_TIMEOUT(), int($o->{user_timeout} * 1000 + 0.5)]
        if exists $o->{user_timeout};
    push @todo, [rcvbuf => $SOL, Socket::SO_RCVBUF(), $o->{rcvbuf}] if exists $o->{rcvbuf};
    push @todo, [sndbuf => $SOL, Socket::SO_SNDBUF(), $o->{sndbuf}] if exists $o->{sndbuf};

    # A string option: setsockopt would pack a number.
    push @todo, [bind_device => $SOL, Socket::SO_BINDTODEVICE(), "$o->{bind_device}"]
        if exists $o->{bind_device};
    for my $t (@todo) {
        my ($k, $level, $name, $v) = @$t;
        my $e = _set($fh, $level, $name, $v);
        next unless $e;
        local $! = $e;
        return ($e, "$k: $!");
    }
    return;
}

# SO_REUSEPORT, for the callers that make their own socket.
sub reuseport ($fh) {
    return _set($fh, Socket::SOL_SOCKET(), Socket::SO_REUSEPORT(), 1);
}

1;
__END__

=head1 NAME

Linux::Event::SocketOptions - the socket options Linux::Event::Listen and Connect share

=head1 SYNOPSIS

    # Through the modules that use it:
    Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        reuseport => 1, defer_accept => 5, nodelay => 1,
        keepalive => 1, keepalive_idle => 60, keepalive_interval => 10,
        keepalive_count => 5, user_timeout => 30,
        on_accept => sub { ... });
    Linux::Event::Connect->new(loop => $loop, host => 'db', port => 5432,
        nodelay => 1, rcvbuf => 1 << 20, bind_device => 'eth0', ...);

=head1 DESCRIPTION

One place that checks and applies the socket options of
L<Linux::Event::Listen> and L<Linux::Event::Connect>, with the same meaning
as libevloop's C<evl_sock_*> helpers (F<loop/sockopt.c>):

=over

=item nodelay

C<TCP_NODELAY> (true: small writes are not held back by Nagle).

=item keepalive, keepalive_idle, keepalive_interval, keepalive_count

C<SO_KEEPALIVE>, and the probe timings as separate options (integers):
seconds idle before the first probe (C<TCP_KEEPIDLE>), seconds between
probes (C<TCP_KEEPINTVL>), probes before the connection is dropped
(C<TCP_KEEPCNT>).  The timings need C<< keepalive => 1 >>.

=item user_timeout

C<TCP_USER_TIMEOUT> in seconds (fractions are fine; sent in milliseconds):
how long written data may stay unacknowledged before the connection fails
with C<ETIMEDOUT>.

=item rcvbuf, sndbuf

C<SO_RCVBUF>, C<SO_SNDBUF> in bytes (the kernel doubles them and caps them
at C<net.core.rmem_max>/C<wmem_max>).

=item bind_device

C<SO_BINDTODEVICE>: only traffic of that interface (C<lo>, C<eth0>).
Kernels before 5.7 want C<CAP_NET_RAW> for it (C<EPERM>); an unknown name
is C<ENODEV>.

=back

The TCP options croak on a unix socket (C<nodelay is not allowed on a unix
socket>); values are checked when the object is made (C<rcvbuf must be a
positive integer>), and a setsockopt that fails is reported with the option
and the error text (C<bind_device: No such device>): Listen croaks with it
(C<listen setup failed: ...>, after C<on_error>), Connect passes the errno
to C<on_error>.  A listening socket hands all of them down to the sockets
it accepts (Linux copies them at accept).

=head1 FUNCTIONS

C<check(\%args, $is_unix)> returns the options given, croaking on bad
values; C<apply($fh, $opts)> sets them and returns nothing, or C<($errno,
$text)> for the first that failed; C<reuseport($fh)> sets C<SO_REUSEPORT>
and returns 0 or the errno.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
