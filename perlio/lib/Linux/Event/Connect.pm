# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Connect;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
use Errno ();
use Fcntl ();
use Socket ();
use Scalar::Util ();
use Linux::Event::Resolver ();
use Linux::Event::SocketOptions ();

my %MODE_KEYS = map { $_ => 1 } qw(loop host port unix sockaddr family
    timeout_s data on_connect on_error nonblocking local_addr local_port tls),
    @Linux::Event::SocketOptions::KEYS;

# RFC 8305 section 5: the "Connection Attempt Delay" before the next
# address is tried while earlier attempts are still in progress.
our $ATTEMPT_DELAY_S = 0.25;

# Test hook: a code reference ($host, $port) returning the candidate list
# ([family, packed sockaddr], ...) a name resolves to, in place of the
# resolver (tests feed Happy Eyeballs addresses that do not answer).
our $TEST_RESOLVE;

sub new ($class, %args) {
    my $loop = $args{loop};
    Carp::croak('loop is required') unless defined $loop && ref $loop;
    Carp::croak('loop is not a Linux::Event loop') unless Linux::Event::Internal::is_loop($loop);
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
        for my $k (qw(host port sockaddr family type proto local_addr local_port)) {
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
    my $local_ip;
    if (defined $args{local_addr}) {
        my $la = $args{local_addr};
        Carp::croak('local_addr must be a numeric IPv4 or IPv6 address') if ref $la;
        $la =~ s/\A\[(.*)\]\z/$1/;
        if (defined(my $a4 = Socket::inet_pton(Socket::AF_INET(), $la))) {
            $local_ip = [Socket::AF_INET(), $a4];
        } elsif (defined(my $a6 = Socket::inet_pton(Socket::AF_INET6(), $la))) {
            $local_ip = [Socket::AF_INET6(), $a6];
        } else {
            Carp::croak('local_addr must be a numeric IPv4 or IPv6 address');
        }
    }
    if (defined $args{local_port}) {
        Carp::croak('local_port must be an integer 0..65535')
            if ref $args{local_port}
            || $args{local_port} !~ /\A\d+\z/
            || $args{local_port} > 65535;
    }
    my @unknown = sort grep { !$MODE_KEYS{$_} } keys %args;
    Carp::croak('unknown option(s): ' . join(', ', @unknown)) if @unknown;
    my $sockopts =
        Linux::Event::SocketOptions::check(\%args,
        $un || ($sa && $args{family} == Socket::AF_UNIX()));
    my $tls;
    if (defined $args{tls}) {
        require Linux::Event::TLS;
        $tls = Linux::Event::TLS::options('new()', $args{tls}, 0);
        $tls->{hostname} //= $args{host} if defined $args{host};
        Linux::Event::TLS::context('new()', $tls);
    }

    my $self = bless {
        loop       => $loop,
        data       => $args{data},
        on_connect => $args{on_connect},
        on_error   => $args{on_error},
        tls        => $tls,
        done       => 0,
        errno      => 0,
        gai_error  => undef,
        fh         => undef,
        timer      => undef,
        attempts   => [],                             # sockets whose connect is in progress
        cand       => \@cand,
        local_ip   => $local_ip,
        local_port => $args{local_port},
        sockopts   => $sockopts,
        target     => $mode eq 'unix' ? $args{unix}
        : $mode eq 'sockaddr' ? 'a sockaddr'
        : "$args{host} port $args{port}",
    }, $class;
    Scalar::Util::weaken($self->{loop});

    # A proactor loop has no watch(): connect operations instead.
    if (_is_proactor($loop)) {
        $self->{proactor} = 1;
        require PerlIO::evloop;    # Linux::Event::SockOp (perlio/xs/sockop.xs)
    }

    # The timer, the watchers and a resolution in progress hold the
    # request while it is pending (a request nobody stored still
    # completes, as in Linux::Event 0.010); all are dropped when it is
    # done, which breaks the cycle.
    if (defined $args{timeout_s}) {
        $self->{timer} = $self->_after(
            $args{timeout_s},
            sub {
                return if $self->{done};
                $self->{timer} = undef;
                $self->_fail(Errno::ETIMEDOUT());
            }
        );
    }
    if ($mode eq 'host/port') {
        $self->_resolve($args{host}, $args{port});
        return $self;
    }
    $self->_next;
    return $self;
}

# Literals are parsed here; names go to the loop's resolver (worker
# threads), so the loop never waits for a DNS answer.
sub _is_proactor ($loop) {
    return 0 unless Scalar::Util::blessed($loop);
    return 1 if $loop->isa('Linux::Event::Proactor');
    return $loop->can('model') && $loop->model eq 'proactor' ? 1 : 0;
}

# Timers of either model: cb() after $secs; _cancel_after undoes it.
sub _after ($self, $secs, $cb) {
    return $self->{loop}->after($secs, sub ($loop) { $cb->() }) unless $self->{proactor};
    return $self->{loop}->after(
        $secs,
        on_complete => sub ($op, $res, $data) {
            $cb->() unless $op->is_cancelled;
        }
    );
}

sub _cancel_after ($self, $t) {
    if (ref $t) {
        $t->cancel;
    } elsif ($self->{loop}) {
        $self->{loop}->cancel($t);
    }
    return;
}

sub _resolve ($self, $host, $port) {
    my $h = $host;
    $h =~ s/\A\s+//;
    $h =~ s/\s+\z//;
    $h = $1 if $h =~ /\A\[(.*)\]\z/;
    if (defined(my $a4 = Socket::inet_pton(Socket::AF_INET(), $h))) {
        $self->{cand} = [[Socket::AF_INET(), Socket::pack_sockaddr_in($port, $a4)]];
        $self->_next;
        return;
    }
    if (defined(my $a6 = Socket::inet_pton(Socket::AF_INET6(), $h))) {
        $self->{cand} = [[Socket::AF_INET6(), Socket::pack_sockaddr_in6($port, $a6)]];
        $self->_next;
        return;
    }
    if ($h =~ /[\x00-\x20\x7f]/) {

        # No source can answer a name with whitespace or a control
        # character in it: not /etc/hosts (whitespace separates names
        # there), and getaddrinfo refuses it for DNS without sending a
        # query.  So it fails here, inside new, as 0.010's getaddrinfo
        # did (its t/10 counts on that), rather than in a worker thread.
        # libc's own text for it, as the resolver gives: AI_NUMERICHOST
        # makes getaddrinfo refuse the name without any lookup.
        my ($err) = Socket::getaddrinfo($h, undef, { flags => Socket::AI_NUMERICHOST() });
        $self->{gai_error} = "$err (EAI_NONAME)";
        $self->_fail(Errno::ENOENT());
        return;
    }
    if ($TEST_RESOLVE) {
        $self->_resolved([$TEST_RESOLVE->($host, $port)]);
        return;
    }
    $self->{resolving} = Linux::Event::Resolver::resolve(
        $self->{loop},
        host     => $host,
        port     => $port,
        socktype => Socket::SOCK_STREAM(),
        on_done  => sub ($res) {
            delete $self->{resolving};
            return if $self->{done};
            $self->_resolved([map { [$_->{family}, $_->{addr}] } @$res]);
        },
        on_error => sub ($errno, $message) {
            delete $self->{resolving};
            return if $self->{done};

            # "Name or service not known (EAI_NONAME)": the resolver's
            # text and the symbolic code, so callers can match either.
            $self->{gai_error} = $message;
            $self->_fail($errno);
        },
    );
    return;
}

# RFC 8305 section 4: interleave the families, IPv6 first.
sub _resolved ($self, $cand) {
    my @v6    = grep { $_->[0] == Socket::AF_INET6() } @$cand;
    my @other = grep { $_->[0] != Socket::AF_INET6() } @$cand;
    my @order;
    while (@v6 || @other) {
        push @order, shift @v6 if @v6;
        push @order, shift @other if @other;
    }
    $self->{cand} = \@order;
    return $self->_fail(Errno::ENOENT()) unless @order;
    $self->_next;
    return;
}

# The address to bind a socket of $family to, or undef (no binding asked
# for).  Dies with the errno when local_addr is of another family.
sub _local_sockaddr ($self, $family) {
    my ($ip, $port) = ($self->{local_ip}, $self->{local_port} // 0);
    return undef unless $ip || $port;
    return undef if $family != Socket::AF_INET() && $family != Socket::AF_INET6();
    if ($ip) {
        return [Errno::EAFNOSUPPORT()] if $ip->[0] != $family;
        return $family == Socket::AF_INET()
            ? Socket::pack_sockaddr_in($port, $ip->[1])
            : Socket::pack_sockaddr_in6($port, $ip->[1]);
    }
    return $family == Socket::AF_INET()
        ? Socket::pack_sockaddr_in($port, Socket::INADDR_ANY())
        : Socket::pack_sockaddr_in6($port, Socket::IN6ADDR_ANY());
}

# Starts attempts on the next candidates until one is in progress or
# connected (Happy Eyeballs: earlier attempts may still be in progress).
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

        # Before bind and connect: bind_device and the buffer sizes (the
        # window scale is chosen at the SYN) must be in place by then.
        if (my ($e, $text) = Linux::Event::SocketOptions::apply($fh, $self->{sockopts})) {
            $last = $self->{errno} = $e;
            $self->{sockopt_error} = $text;
            close $fh;
            next;
        }
        if (defined(my $local = $self->_local_sockaddr($family))) {
            if (ref $local) {
                $last = $self->{errno} = $local->[0];
                close $fh;
                next;
            }
            setsockopt($fh, Socket::SOL_SOCKET(), Socket::SO_REUSEADDR(), 1)
                if $self->{local_port};
            unless (bind($fh, $local)) {
                $last = $self->{errno} = $! + 0;
                close $fh;
                next;
            }
        }
        if ($self->{proactor}) {
            $self->{fh} = $fh;
            $self->_submit($fh, $addr);
            $self->_arm_next_attempt;
            return;
        }
        if (connect($fh, $addr)) {
            $self->{fh} = $fh;
            $self->_succeed($fh);
            return;
        }
        $last = $! + 0;
        $self->{errno} = $last;
        if ($last == Errno::EINPROGRESS() || $last == Errno::EINTR()) {
            $self->{fh} = $fh;
            $self->_watch($fh);
            $self->_arm_next_attempt;
            return;
        }
        close $fh;
    }
    $self->_fail($last || Errno::EIO())
        unless $self->{done} || @{ $self->{attempts} };
    return;
}

# While an attempt is in progress and more candidates wait, the next one
# starts after ATTEMPT_DELAY_S (RFC 8305 section 5), or at once when an
# attempt fails.
sub _arm_next_attempt ($self) {
    $self->_stop_next_attempt;
    return unless @{ $self->{cand} };
    $self->{next_timer} = $self->_after(
        $ATTEMPT_DELAY_S,
        sub {
            delete $self->{next_timer};
            $self->_next unless $self->{done};
        }
    );
    return;
}

sub _stop_next_attempt ($self) {
    if (defined(my $t = delete $self->{next_timer})) {
        $self->_cancel_after($t);
    }
    return;
}

sub _watch ($self, $fh) {
    my $req   = $self;
    my $check = sub ($loop, $wfh, $w) {
        return if $req->{done};
        my $err =
            unpack('i', getsockopt($fh, Socket::SOL_SOCKET(), Socket::SO_ERROR()) // pack('i', 0));
        if ($err == 0) {
            $req->_drop_attempt($fh, 0);
            $req->_succeed($fh);
        } else {
            $req->{errno} = $req->{last_err} = $err;
            $req->_drop_attempt($fh, 1);
            $req->_stop_next_attempt;
            $req->_next;
        }
    };
    push @{ $self->{attempts} }, $fh;
    $self->{loop}->watch($fh, write => $check, error => $check);
    return;
}

# Proactor: the connect operation reports what the write watcher's
# SO_ERROR check finds on a reactor.
sub _submit ($self, $fh, $addr) {
    my $req = $self;
    my $fd  = fileno($fh);
    push @{ $self->{attempts} }, $fh;
    $self->{ops}{$fd} = Linux::Event::SockOp->connect(
        $self->{loop},
        $fd, $addr,
        sub ($res) {
            delete $req->{ops}{$fd};
            return if $req->{done} || $res == -Errno::ECANCELED();
            if ($res >= 0) {
                $req->_drop_attempt($fh, 0);
                $req->_succeed($fh);
            } else {
                $req->{errno} = $req->{last_err} = -$res;
                $req->_drop_attempt($fh, 1);
                $req->_stop_next_attempt;
                $req->_next;
            }
        }
    );
    return;
}

# Stops watching one attempt's socket, closing it if asked.
sub _drop_attempt ($self, $fh, $close) {
    my $n = @{ $self->{attempts} };
    @{ $self->{attempts} } = grep { $_ != $fh } @{ $self->{attempts} };
    if ($self->{proactor}) {

        # A cancel is submitted at once: the fd may be closed below.
        my $op = delete $self->{ops}{ fileno($fh) };
        $op->cancel if $op;
    } elsif ($self->{loop} && $n != @{ $self->{attempts} }) {
        $self->{loop}->unwatch($fh);
    }
    if ($close) {
        $self->{fh} = $self->{attempts}[-1] if ($self->{fh} // 0) == $fh;
        close $fh;
    }
    return;
}

# Drops every watcher and closes every socket in progress (failure,
# cancel, and the losers of a race that one attempt won).
sub _teardown ($self) {
    $self->_drop_attempt($_, 1) for @{ [@{ $self->{attempts} }] };
    $self->{fh} = undef;
    $self->_stop_next_attempt;
    if (my $r = delete $self->{resolving}) {
        $r->cancel;
    }
    return;
}

sub _stop_timer ($self) {
    if (defined(my $t = delete $self->{timer})) {
        $self->_cancel_after($t);
    }
    return;
}

sub _succeed ($self, $fh) {
    $self->{done} = 1;
    $self->_teardown;
    $self->_stop_timer;
    $self->{fh} = undef;
    my $cb = delete $self->{on_connect};
    delete $self->{on_error};
    $self->{cand} = [];

    # Handed over encrypted: the ClientHello is on its way.
    Linux::Event::TLS::start('on_connect', $fh, $self->{tls}) if $self->{tls};
    $cb->($self, $fh, $self->{data}) if $cb;
    return;
}

sub _fail ($self, $errno) {
    $self->{errno} = $errno;
    $self->{done}  = 1;
    $self->_teardown;
    $self->_stop_timer;
    my $cb = delete $self->{on_error};
    delete $self->{on_connect};
    $self->{cand} = [];
    if ($cb) {
        $cb->($self, $errno, $self->{data});
    } else {

        # Nobody listens for the error: say it rather than fail silently.
        local $! = $errno;
        my $gai = defined $self->{gai_error} ? " ($self->{gai_error})" : '';
        warn "Linux::Event::Connect: connecting to $self->{target} failed: $!$gai\n";
    }
    return;
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

sub is_pending    ($self) { return !$self->{done} }
sub is_done       ($self) { return $self->{done} ? 1 : 0 }
sub fh            ($self) { return $self->{fh} }
sub errno         ($self) { return $self->{errno} }
sub gai_error     ($self) { return $self->{gai_error} }
sub sockopt_error ($self) { return $self->{sockopt_error} }

sub DESTROY ($self) {
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    $self->cancel unless $self->{done};
    return;
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

Starts a non-blocking C<connect> and reports the result through one of the
two callbacks.  On a proactor loop (either backend) each attempt is a
connect operation on the loop under the engine instead of a write
watcher; everything else is the same.  Exactly one address mode is given: C<host> and C<port> (an
IPv4 or IPv6 literal, optionally in brackets, or a name), C<unix> (a socket
path), or C<sockaddr> with a numeric C<family>.

A name is resolved by the loop's resolver (L<Linux::Event::Resolver>:
getaddrinfo in worker threads), so the loop keeps running while a DNS
server takes its time; C<timeout_s> covers the resolution too.  The
addresses are tried as RFC 8305 (Happy Eyeballs) says: the families
interleaved, IPv6 first; when an attempt has not finished after 250 ms
the next address starts while the first goes on, a failed attempt starts
the next at once, the first to connect wins and the others are closed.

With C<< tls => { ... } >> (see L<Linux::Event::TLS>; C<hostname> defaults
to C<host>) the handle comes encrypted: its ClientHello is on its way, and a
L<Linux::Event::Stream> made on it finishes the handshake.

On success C<on_connect($req, $fh, $data)> gets a non-blocking,
close-on-exec socket that now belongs to the caller; nothing of the request
is left watching it, so it can be handed to L<Linux::Event::Stream> or to
C<< $loop->watch >> at once.  On failure C<on_error($req, $errno, $data)>
gets the errno (C<ECONNREFUSED>, C<ETIMEDOUT> after C<timeout_s>, the last
attempt's error; C<ENOENT> when a name does not exist (EAI_NONAME,
EAI_NODATA), C<EIO> for other resolver failures, and C<gai_error> then holds
the resolver's text and the symbolic code, e.g. C<Name or service not known
(EAI_NONAME)>).  Without C<on_error>, a failure warns with the errno text
(and C<gai_error>) instead of passing silently.  A UNIX-socket connect can
complete inside C<new>, before it returns, and so does the failure of a
name with whitespace or a control character in it, which no resolver can
answer (C<ENOENT>, as in Linux::Event 0.010); other names are answered
from the loop.

=head1 METHODS

=over

=item new(%args)

Options: C<loop> (required), C<host>/C<port>, C<unix>, C<sockaddr> with
C<family>, C<timeout_s> (seconds, a plain decimal number >= 0), C<data>
(last argument of the callbacks), C<on_connect>, C<on_error>,
C<nonblocking> (must be true), C<local_addr> (a numeric address to bind
to; addresses of the other family are skipped with C<EAFNOSUPPORT>) and
C<local_port> (bound with C<SO_REUSEADDR>; with no C<local_addr>, on the
wildcard address of each attempt's family).  Bad arguments croak with
Linux::Event 0.010's texts (and C<local_addr must be a numeric IPv4 or IPv6
address>, C<local_port must be an integer 0..65535>, C<loop is not a
Linux::Event loop> for a C<loop> that cannot C<after>).

Socket options, set on each attempt's socket before it binds and connects
(see L<Linux::Event::SocketOptions>): C<nodelay>, C<keepalive> with
C<keepalive_idle>, C<keepalive_interval>, C<keepalive_count> (integers,
seconds and a count), C<user_timeout> (seconds), C<rcvbuf>, C<sndbuf>,
C<bind_device>.  A bad value croaks (C<rcvbuf must be a positive
integer>, C<nodelay is not allowed on a unix socket>); one the kernel
refuses fails the attempt with its errno (C<on_error> gets e.g. C<ENODEV>
for an unknown C<bind_device>, and C<sockopt_error> says which option:
C<bind_device: No such device>).

=item cancel

Stops the attempt, closes its socket and drops both callbacks: no callback
fires after cancel.  A no-op once done.

=item is_pending, is_done, fh, errno, gai_error, sockopt_error

State accessors.  C<fh> is the socket in progress (undef once done);
C<errno> the last errno seen (EINPROGRESS after an asynchronous success).

=back

=head1 DIFFERENCES FROM LINUX::EVENT 0.010

Every watcher the request makes is removed on success, failure and cancel
(Linux::Event 0.010 left them registered, so the next socket on the same fd number
crashed with C<fd already watched>); names no longer block the loop
(Linux::Event 0.010 called getaddrinfo inside C<new>, so its resolution
failures came inside C<new>; they now come from the loop); addresses race
as Happy Eyeballs instead of strictly one after another; the resolver's
error is mapped to an errno by its numeric code; the request holds the loop
weakly.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
