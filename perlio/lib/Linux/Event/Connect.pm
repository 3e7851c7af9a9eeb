# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Connect;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips frames of these packages.
our @CARP_NOT = qw(
    Linux::Event Linux::Event::Loop Linux::Event::Reactor Linux::Event::Proactor
    Linux::Event::Watcher Linux::Event::Signal Linux::Event::Signal::Subscription
    Linux::Event::Wakeup Linux::Event::Pid Linux::Event::Pid::Subscription
    Linux::Event::Scheduler Linux::Event::Clock Linux::Event::Timer
    Linux::Event::Operation Linux::Event::Error
    Linux::Event::Reactor::Backend Linux::Event::Reactor::Backend::Epoll
    Linux::Event::Backend::Epoll Linux::Event::Proactor::Backend
    Linux::Event::Proactor::Backend::Fake Linux::Event::Proactor::Backend::Uring
    Linux::Event::Stream Linux::Event::Stream::Codec Linux::Event::Stream::Codec::Line
    Linux::Event::Stream::Codec::Netstring Linux::Event::Stream::Codec::U32BE
    Linux::Event::Listen Linux::Event::Connect Linux::Event::Fork Linux::Event::Fork::Child
    Linux::Event::Fork::Request Linux::Event::Fork::Exit Linux::Event::Fork::XS PerlIO::evloop
    Linux::Event::Subscription
);

use Carp ();
use Errno ();
use Fcntl ();
use Socket ();
use Scalar::Util ();

my %MODE_KEYS = map { $_ => 1 } qw(loop host port unix sockaddr family
    timeout_s data on_connect on_error nonblocking);

sub new ($class, %args) {
    my $loop = $args{loop};
    Carp::croak('loop is required') unless defined $loop && ref $loop;
    my $nb = exists $args{nonblocking} ? $args{nonblocking} : 1;
    Carp::croak('nonblocking must be true') unless $nb;
    for my $k (qw(on_connect on_error)) {
        Carp::croak("$k must be a coderef")
            if defined $args{$k} && ref $args{$k} ne 'CODE';
    }
    if (defined $args{timeout_s}) {
        my $t = $args{timeout_s};
        Carp::croak('timeout_s must be a number >= 0')
            if ref $t || $t !~ /\A(?:\d+(?:\.\d*)?|\.\d+)\z/;
    }
    my $hp = (exists $args{host} || exists $args{port}) ? 1 : 0;
    my $un = exists $args{unix} ? 1 : 0;
    my $sa = exists $args{sockaddr} ? 1 : 0;
    Carp::croak('exactly one address mode is required (host/port, unix, or sockaddr)')
        if $hp + $un + $sa != 1;

    my @cand;    # [family, packed sockaddr]
    my $mode;
    if ($hp) {
        $mode = 'host/port';
        Carp::croak('host is required') unless defined $args{host};
        Carp::croak('host must be a non-empty string')
            if ref $args{host} || $args{host} eq '';
        Carp::croak('port is required') unless defined $args{port};
        Carp::croak('port must be an integer')
            if ref $args{port} || $args{port} !~ /\A\d+\z/;
        Carp::croak('port out of range') if $args{port} > 65535;
        for my $k (qw(family sockaddr unix type proto)) {
            Carp::croak("$k is not allowed in host/port mode") if exists $args{$k};
        }
    } elsif ($un) {
        $mode = 'unix';
        Carp::croak('unix must be a non-empty string')
            if !defined $args{unix} || ref $args{unix} || $args{unix} eq '';
        for my $k (qw(host port sockaddr family type proto)) {
            Carp::croak("$k is not allowed in unix mode") if exists $args{$k};
        }
        @cand = ([Socket::AF_UNIX(), Socket::pack_sockaddr_un($args{unix})]);
    } else {
        $mode = 'sockaddr';
        Carp::croak('sockaddr must be a defined scalar')
            if !defined $args{sockaddr} || ref $args{sockaddr};
        Carp::croak('family is required in sockaddr mode') unless defined $args{family};
        Carp::croak('family must be a numeric AF_* constant')
            if ref $args{family} || $args{family} !~ /\A\d+\z/;
        for my $k (qw(host port unix)) {
            Carp::croak("$k is not allowed in sockaddr mode") if exists $args{$k};
        }
        for my $k (qw(type proto)) {
            Carp::croak("$k is not allowed in sockaddr mode (v0.001)") if exists $args{$k};
        }
        @cand = ([$args{family} + 0, $args{sockaddr}]);
    }
    my @unknown = sort grep { !$MODE_KEYS{$_} } keys %args;
    Carp::croak('unknown option(s): ' . join(', ', @unknown)) if @unknown;

    my $self = bless {
        loop       => $loop,
        data       => $args{data},
        on_connect => $args{on_connect},
        on_error   => $args{on_error},
        done       => 0,
        errno      => 0,
        gai_error  => undef,
        fh         => undef,
        timer      => undef,
        watching   => 0,
        cand       => \@cand,
    }, $class;
    Scalar::Util::weaken($self->{loop});

    if ($mode eq 'host/port') {
        my $err = $self->_resolve($args{host}, $args{port});
        if ($err) {
            $self->_fail($err);
            return $self;
        }
    }

    # The timer and the watcher hold the request while it is pending (a
    # request nobody stored still completes, as in Linux::Event 0.010); both are
    # dropped when it is done, which breaks the cycle.
    if (defined $args{timeout_s}) {
        $self->{timer} = $loop->after(
            $args{timeout_s},
            sub ($loop) {
                return if $self->{done};
                $self->{timer} = undef;
                $self->_fail(Errno::ETIMEDOUT());
            }
        );
    }
    $self->_next;
    return $self;
}

sub _resolve ($self, $host, $port) {
    my $h = $host;
    $h =~ s/\A\s+//;
    $h =~ s/\s+\z//;
    $h = $1 if $h =~ /\A\[(.*)\]\z/;
    if (defined(my $a4 = Socket::inet_pton(Socket::AF_INET(), $h))) {
        $self->{cand} = [[Socket::AF_INET(), Socket::pack_sockaddr_in($port, $a4)]];
        return 0;
    }
    if (defined(my $a6 = Socket::inet_pton(Socket::AF_INET6(), $h))) {
        $self->{cand} = [[Socket::AF_INET6(), Socket::pack_sockaddr_in6($port, $a6)]];
        return 0;
    }

    # Blocking, as in Linux::Event 0.010: names are resolved synchronously.
    my ($err, @res) = Socket::getaddrinfo($host, $port, { socktype => Socket::SOCK_STREAM() });
    if ($err) {
        $self->{gai_error} = "$err";

        # Map by the numeric EAI code; the string stays for the caller.
        my $code = $err + 0;
        return ($code == Socket::EAI_NONAME()
                || (defined &Socket::EAI_NODATA && $code == Socket::EAI_NODATA()))
            ? Errno::ENOENT()
            : Errno::EIO();
    }
    $self->{cand} = [map { [$_->{family}, $_->{addr}] } @res];
    return @res ? 0 : Errno::ENOENT();
}

# Tries candidates in order until one is in progress or connected.
sub _next ($self) {
    my $last = $self->{last_err} // 0;    # from the candidate that just failed
    while (!$self->{done} && (my $c = shift @{ $self->{cand} })) {
        my ($family, $addr) = @$c;
        my $fh;
        my $type = Socket::SOCK_STREAM() | Socket::SOCK_NONBLOCK() | Socket::SOCK_CLOEXEC();
        unless (socket($fh, $family, $type, 0)) {
            $last = $! + 0;
            $self->{errno} = $last;
            next;
        }
        if (connect($fh, $addr)) {
            $self->{fh} = $fh;
            $self->_succeed;
            return;
        }
        $last = $! + 0;
        $self->{errno} = $last;
        if ($last == Errno::EINPROGRESS() || $last == Errno::EINTR()) {
            $self->{fh} = $fh;
            $self->_watch;
            return;
        }
        close $fh;
    }
    $self->_fail($last || Errno::EIO()) unless $self->{done};
}

sub _watch ($self) {
    my $req   = $self;
    my $check = sub ($loop, $fh, $w) {
        return if $req->{done};
        my $err =
            unpack('i', getsockopt($fh, Socket::SOL_SOCKET(), Socket::SO_ERROR()) // pack('i', 0));
        if ($err == 0) {
            $req->_succeed;
        } else {
            $req->{errno} = $req->{last_err} = $err;
            $req->_teardown;
            $req->_next;
        }
    };
    $self->{loop}->watch($self->{fh}, write => $check, error => $check);
    $self->{watching} = 1;
}

sub _unwatch ($self) {
    if ($self->{watching}) {
        $self->{watching} = 0;
        $self->{loop}->unwatch($self->{fh}) if $self->{loop} && $self->{fh};
    }
}

# Drops the watcher and closes the in-progress socket (failure paths).
sub _teardown ($self) {
    $self->_unwatch;
    if (my $fh = delete $self->{fh}) {
        close $fh;
    }
    $self->{fh} = undef;
}

sub _stop_timer ($self) {
    if (defined(my $t = delete $self->{timer})) {
        $self->{loop}->cancel($t) if $self->{loop};
    }
}

sub _succeed ($self) {
    $self->{done} = 1;
    $self->_unwatch;
    $self->_stop_timer;
    my $fh = delete $self->{fh};
    $self->{fh} = undef;
    my $cb = delete $self->{on_connect};
    delete $self->{on_error};
    $self->{cand} = [];
    $cb->($self, $fh, $self->{data}) if $cb;
}

sub _fail ($self, $errno) {
    $self->{errno} = $errno;
    $self->{done}  = 1;
    $self->_teardown;
    $self->_stop_timer;
    my $cb = delete $self->{on_error};
    delete $self->{on_connect};
    $self->{cand} = [];
    $cb->($self, $errno, $self->{data}) if $cb;
}

sub cancel ($self) {
    return if $self->{done};
    $self->{cancelled} = 1;
    $self->{done}      = 1;
    delete $self->{on_connect};
    delete $self->{on_error};
    $self->_teardown;
    $self->_stop_timer;
    $self->{cand} = [];
    return;
}

sub is_pending ($self) { return !$self->{done} }
sub is_done    ($self) { return $self->{done} ? 1 : 0 }
sub fh         ($self) { return $self->{fh} }
sub errno      ($self) { return $self->{errno} }
sub gai_error  ($self) { return $self->{gai_error} }

sub DESTROY ($self) {
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    $self->cancel unless $self->{done};
}

1;
__END__

=head1 NAME

Linux::Event::Connect - non-blocking outbound connect for Linux::Event

=head1 SYNOPSIS

    use Linux::Event;
    use Linux::Event::Connect;

    my $loop = Linux::Event->new;
    my $req = Linux::Event::Connect->new(
        loop       => $loop,
        host       => '127.0.0.1',
        port       => 8080,
        timeout_s  => 2,
        on_connect => sub ($req, $fh, $data) { ... },
        on_error   => sub ($req, $errno, $data) { ... },
    );
    $loop->run;

=head1 DESCRIPTION

Starts a non-blocking C<connect> at once and reports the result through one
of the two callbacks.  Exactly one address mode is given: C<host> and
C<port> (an IPv4 or IPv6 literal, optionally in brackets, or a name resolved
with C<getaddrinfo>, every result tried in order), C<unix> (a socket path),
or C<sockaddr> with a numeric C<family>.

On success C<on_connect($req, $fh, $data)> gets a non-blocking,
close-on-exec socket that now belongs to the caller; nothing of the request
is left watching it, so it can be handed to L<Linux::Event::Stream> or to
C<< $loop->watch >> at once.  On failure C<on_error($req, $errno, $data)>
gets the errno (C<ECONNREFUSED>, C<ETIMEDOUT> after C<timeout_s>, C<ENOENT>
or C<EIO> when a name does not resolve; C<gai_error> then holds the
resolver's text).  A UNIX-socket connect, and resolution failures, can
complete inside C<new>, before it returns.

=head1 METHODS

=over

=item new(%args)

Options: C<loop> (required), C<host>/C<port>, C<unix>, C<sockaddr> with
C<family>, C<timeout_s> (seconds, a plain decimal number >= 0), C<data>
(last argument of the callbacks), C<on_connect>, C<on_error>,
C<nonblocking> (must be true).  Bad arguments croak with Linux::Event 0.010's texts.

=item cancel

Stops the attempt, closes its socket and drops both callbacks: no callback
fires after cancel.  A no-op once done.

=item is_pending, is_done, fh, errno, gai_error

State accessors.  C<fh> is the socket in progress (undef once done);
C<errno> the last errno seen (EINPROGRESS after an asynchronous success).

=back

=head1 DIFFERENCES FROM LINUX::EVENT 0.010

Every watcher the request makes is removed on success, failure and cancel
(Linux::Event 0.010 left them registered, so the next socket on the same fd number
crashed with C<fd already watched>); the resolver's error is mapped to an
errno by its numeric code; the request holds the loop weakly.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
