# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Listen;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp ();
use Errno ();
use Fcntl ();
use Socket ();
use POSIX ();
use Scalar::Util ();
use Linux::Event::SocketOptions ();

my %KNOWN = map { $_ => 1 } qw(loop on_accept on_error on_emfile
    max_accept_per_tick fh host port path backlog reuseaddr reuseport v6only
    nonblocking cloexec edge_triggered oneshot owns_socket unlink
    unlink_on_cancel warn_on_unhandled_error defer_accept tls multishot),
    @Linux::Event::SocketOptions::KEYS;

sub listen ($class, $loop = undef, %args) {
    return $class->new(%args, loop => $loop);
}

sub new ($class, %args) {
    Carp::croak('loop is required') unless defined $args{loop};
    Carp::croak('loop is not a Linux::Event loop')
        unless Linux::Event::Internal::is_loop($args{loop});
    Carp::croak('on_accept is required') unless defined $args{on_accept};
    Carp::croak('on_accept must be a code reference') if ref $args{on_accept} ne 'CODE';
    for my $k (qw(on_error on_emfile)) {
        Carp::croak("$k must be a code reference")
            if defined $args{$k} && ref $args{$k} ne 'CODE';
    }
    my $max_given = exists $args{max_accept_per_tick};
    my $max       = $max_given ? $args{max_accept_per_tick} : 128;
    Carp::croak('max_accept_per_tick must be a positive integer')
        if !defined $max || ref $max || $max !~ /\A\d+\z/ || $max < 1;
    my @unknown = sort grep { !$KNOWN{$_} } keys %args;
    Carp::croak('unknown option(s): ' . join(' ', @unknown)) if @unknown;
    my $tls;
    if (defined $args{tls}) {
        require Linux::Event::TLS;
        $tls = Linux::Event::TLS::options('new()', $args{tls}, 1);
        Linux::Event::TLS::context('new()', $tls);    # certificate errors show now
    }

    my $has_hp = defined $args{host} || defined $args{port};
    if (defined $args{fh} && ($has_hp || defined $args{path})) {
        Carp::croak('provide either fh => $server_fh OR host/port OR path');
    }
    if (defined $args{host} xor defined $args{port}) {
        Carp::croak('host and port must be provided together');
    }
    Carp::croak('path cannot be combined with host/port')
        if defined $args{path} && $has_hp;
    Carp::croak('either fh, host/port, or path is required')
        unless defined $args{fh} || $has_hp || defined $args{path};

    if (defined $args{backlog}) {
        Carp::croak('backlog must be a positive integer')
            if ref $args{backlog} || $args{backlog} !~ /\A[0-9]+\z/ || $args{backlog} < 1;
    }
    if (exists $args{defer_accept}) {
        my $d = $args{defer_accept};
        Carp::croak('defer_accept must be an integer number of seconds >= 0')
            if !defined $d || ref $d || $d !~ /\A[0-9]+\z/;
        Carp::croak('defer_accept is not allowed on a unix socket') if defined $args{path};
    }
    my $sockopts = Linux::Event::SocketOptions::check(\%args, defined $args{path});

    my $loop        = $args{loop};
    my $nonblocking = $args{nonblocking} // 1;
    my $cloexec     = $args{cloexec}     // 1;
    my $backlog     = $args{backlog}     // 4096;
    my ($fh, $owns, $path);
    if (defined $args{fh}) {
        $fh   = $args{fh};
        $owns = $args{owns_socket} // 0;
    } elsif ($has_hp) {
        require IO::Socket::IP;
        my %o = (
            LocalHost => $args{host},
            LocalPort => $args{port},
            Listen    => $backlog,
            Proto     => 'tcp',
            ReuseAddr => ($args{reuseaddr} // 1) ? 1 : 0,
        );
        $o{ReusePort} = 1 if $args{reuseport};

        # Before bind, where it has an effect (Linux::Event 0.010 set it after).
        $o{V6Only} = $args{v6only} ? 1 : 0 if defined $args{v6only};
        $fh = IO::Socket::IP->new(%o);
        unless ($fh) {
            my $err = $IO::Socket::errstr || "$!";
            _setup_failed(\%args, $err, { host => $args{host}, port => $args{port} });
        }
        $owns = $args{owns_socket} // 1;
    } else {
        require IO::Socket::UNIX;
        $path = $args{path};
        unlink $path if $args{unlink};
        $fh = IO::Socket::UNIX->new(
            Type   => Socket::SOCK_STREAM(),
            Local  => $path,
            Listen => $backlog,
        );
        _setup_failed(\%args, $IO::Socket::errstr || "$!", { path => $path }) unless $fh;
        $owns = $args{owns_socket} // 1;
    }
    if (!defined $args{host}) {

        # getsockopt warns on a closed handle, from a line in here.
        Carp::croak('fh is not a listening socket (no file descriptor)')
            unless defined Linux::Event::Internal::fileno_of($fh);
        my $acc = getsockopt($fh, Socket::SOL_SOCKET(), Socket::SO_ACCEPTCONN());
        Carp::croak('fh is not a listening socket (SO_ACCEPTCONN is false)')
            unless $acc && unpack('i', $acc);
    }
    _set_flags($fh, $nonblocking, $cloexec);
    if (my ($e, $text) = Linux::Event::SocketOptions::apply($fh, $sockopts)) {
        close $fh if $owns;
        local $! = $e;
        _setup_failed(\%args, $text, {});
    }
    if ($args{defer_accept}) {
        unless (
            setsockopt($fh, Socket::IPPROTO_TCP(), Socket::TCP_DEFER_ACCEPT(), $args{defer_accept}))
        {
            my $e = $! + 0;
            close $fh if $owns;
            local $! = $e;
            _setup_failed(\%args, "defer_accept: $!", {});
        }
    }

    my $et =
        exists $args{edge_triggered}
        ? ($args{edge_triggered} ? 1 : 0)
        : ($max_given ? 0 : 1);
    my $self = bless {
        loop             => $loop,
        fh               => $fh,
        fd               => fileno($fh),
        path             => $path,
        owns_socket      => $owns ? 1 : 0,
        unlink_on_cancel => defined $path ? ($args{unlink_on_cancel} // 1) : 0,
        on_accept        => $args{on_accept},
        tls              => $tls,
        on_error         => $args{on_error},
        on_emfile        => $args{on_emfile},
        warn_unhandled   => $args{warn_on_unhandled_error} ? 1 : 0,
        max              => $max + 0,
        nonblocking      => $nonblocking ? 1 : 0,
        cloexec          => $cloexec ? 1 : 0,
        edge             => $et,
        oneshot          => $args{oneshot} ? 1 : 0,
        paused           => 0,
        cancelled        => 0,
        in_accept        => 0,
        family           => 'unknown',
        watcher          => undef,
        retry            => undef,
    }, $class;

    # The watcher's callbacks hold the listener, as in Linux::Event 0.010: a listener
    # made and not stored keeps serving until cancel.
    # A proactor loop has no watch(): accept operations instead.
    if (_is_proactor($loop)) {
        $self->{proactor} = 1;
        $self->{ready}    = [];    # taken, not handed over yet

        # Multishot accept until the loop says no; not by default on a
        # socket given as fh, which other processes may accept on too.
        $self->{multi} = ($args{multishot} // !defined $args{fh}) ? 1 : 0;
        require PerlIO::evloop;    # Linux::Event::SockOp (perlio/xs/sockop.xs)
        $self->_arm;
        return $self;
    }

    my %spec = (
        read           => sub ($loop, $lfh, $w) { $self->_accept_batch },
        edge_triggered => $et,
        oneshot        => $self->{oneshot},
    );
    if ($self->{on_error} || $self->{warn_unhandled}) {
        $spec{error} = sub ($loop, $lfh, $w) {
            $self->_report(
                {
                    op    => 'watch',
                    error => 'listener socket error/hup',
                    fatal => 0
                },
                'watcher'
            );
        };
    }
    $self->{watcher} = $loop->watch($fh, %spec);
    return $self;
}

sub _setup_failed ($args, $err, $extra) {
    my $errno = $! + 0;
    if (my $cb = $args->{on_error}) {
        eval {
            $cb->(
                $args->{loop},
                {
                    op    => 'setup',
                    errno => $errno,
                    error => "$err",
                    fatal => 1,
                    %$extra
                },
                undef
            );
            1;
        };
    }
    Carp::croak("listen setup failed: $err");
}

sub _set_flags ($fh, $nonblocking, $cloexec) {
    if ($nonblocking) {
        my $fl = fcntl($fh, Fcntl::F_GETFL(), 0);
        fcntl($fh, Fcntl::F_SETFL(), $fl | Fcntl::O_NONBLOCK()) if defined $fl;
    }
    if ($cloexec) {
        my $fd = fcntl($fh, Fcntl::F_GETFD(), 0);
        fcntl($fh, Fcntl::F_SETFD(), $fd | Fcntl::FD_CLOEXEC()) if defined $fd;
    }
}

sub _peer ($addr) {
    return { family => 'unknown' } unless defined $addr && length $addr;
    my $fam = Socket::sockaddr_family($addr);
    if ($fam == Socket::AF_INET()) {
        my ($port, $ip) = Socket::unpack_sockaddr_in($addr);
        return {
            family => 'inet',
            host   => Socket::inet_ntop(Socket::AF_INET(), $ip),
            port   => $port
        };
    }
    if ($fam == Socket::AF_INET6()) {
        my ($port, $ip, $scope) = Socket::unpack_sockaddr_in6($addr);
        return {
            family   => 'inet6',
            host     => Socket::inet_ntop(Socket::AF_INET6(), $ip),
            port     => $port,
            scope_id => $scope
        };
    }
    if ($fam == Socket::AF_UNIX()) {
        my $p = length($addr) > 2 ? Socket::unpack_sockaddr_un($addr) : '';
        return { family => 'unix', path => $p // '' };
    }
    return { family => 'unknown' };
}

sub _report ($self, $err, $what) {
    if (   $what eq 'accept'
        && $self->{on_emfile}
        && defined $err->{errno}
        && ($err->{errno} == Errno::EMFILE() || $err->{errno} == Errno::ENFILE()))
    {
        eval { $self->{on_emfile}->($self->{loop}, $err, $self); 1 };
    } elsif ($self->{on_error}) {
        eval { $self->{on_error}->($self->{loop}, $err, $self); 1 };
    } elsif ($self->{warn_unhandled}) {
        warn "Linux::Event::Listen $what error: $err->{error}\n";
    }
}

# One accepted connection to on_accept, on either model.  Returns
# on_accept's exception when there is no on_error to take it: the caller
# raises it once its batch is done.
sub _hand_over ($self, $client, $addr, $flags_set = 0) {

    # An accept operation's fds are non-blocking and close-on-exec already.
    _set_flags($client, $self->{nonblocking}, $self->{cloexec}) unless $flags_set;
    my $peer = _peer($addr);
    my $ok   = eval {

        # The handle is handed over encrypted: the handshake runs as it is
        # used (a Stream on it, or its reads).
        Linux::Event::TLS::start('on_accept', $client, $self->{tls}) if $self->{tls};
        $self->{on_accept}->($self->{loop}, $client, $peer, $self);
        1;
    };
    return undef if $ok;
    my $err = $@;
    return $err unless $self->{on_error};
    eval {
        $self->{on_error}
            ->($self->{loop}, { op => 'on_accept', error => "$err", fatal => 0 }, $self);
        1;
    };
    return undef;
}

sub _accept_batch ($self) {
    return if $self->{cancelled} || $self->{paused};
    my $lfh = $self->{fh} or return;
    local $self->{in_accept} = 1;
    my $n = 0;
    my $retry;    # seconds until the rest of the queue is tried

    # on_accept's exception without on_error: raised once the batch is
    # done, or an edge-triggered watcher would not fire again for the
    # connections still queued.
    my $died;

    while ($n < $self->{max}) {
        my $client;
        my $addr = accept($client, $lfh);
        unless ($addr) {
            my $e = $! + 0;
            next if $e == Errno::EINTR() || $e == Errno::ECONNABORTED();
            last if $e == Errno::EAGAIN() || $e == Errno::EWOULDBLOCK();
            $self->_report({ op => 'accept', errno => $e, error => "$!", fatal => 0 }, 'accept');

            # Out of descriptors: an edge-triggered watcher would not fire
            # again for the connections already waiting, so retry soon.
            $retry = 0.05 if $e == Errno::EMFILE() || $e == Errno::ENFILE();
            last;
        }
        $n++;
        my $err = $self->_hand_over($client, $addr);
        $died //= $err;
        last if $self->{cancelled} || $self->{paused};
        $retry = 0 if $n == $self->{max};
    }
    if ($self->{cancelled}) {
        $self->_close_socket;
        die $died if defined $died;
        return;
    }
    if ($self->{paused}) {
        die $died if defined $died;
        return;
    }

    # Edge-triggered: connections left in the queue raise no new edge.
    # Level-triggered out of descriptors: the socket stays readable, so
    # the watcher would fire again at once, for ever; it rests until the
    # timer instead (on_emfile once per try, as edge-triggered).
    my $level = !$self->{edge} && !$self->{oneshot};
    if (defined $retry && (!$level || $retry > 0)) {
        if ($level && $self->{watcher}) {
            $self->{watcher}->disable_read;
            $self->{resting} = 1;
        }
        $self->{retry} //= $self->{loop}->after(
            $retry,
            sub ($loop) {
                $self->{retry} = undef;
                $self->{watcher}->enable_read
                    if delete $self->{resting} && $self->{watcher} && !$self->{paused};
                $self->_accept_batch;
            }
        );
    }
    if ($self->{oneshot} && $self->{watcher}) {
        $self->{watcher}->disable_read;
        $self->{watcher}->enable_read;
    }
    die $died if defined $died;
}

sub _is_proactor ($loop) {
    return 0 unless Scalar::Util::blessed($loop);
    return 1 if $loop->isa('Linux::Event::Proactor');
    return $loop->can('model') && $loop->model eq 'proactor' ? 1 : 0;
}

# ---- proactor loops.  An io_uring loop takes connections with one
# multishot accept (Linux::Event::SockOp->accept_multi: one submission,
# one result per connection), armed only while the listener wants
# connections: pause and cancel cancel it, and so does a full batch.
# Results are handed over as they come, up to max_accept_per_tick per
# loop iteration (what the reactor takes per readiness event); beyond
# that they wait in {ready} and the operation is cancelled, so the
# kernel leaves further connections in the backlog for whoever else
# accepts on the socket; it is armed again once {ready} is empty.  The
# fake backend, and a kernel without multishot accept (EOPNOTSUPP, or
# EINVAL as the first result), get one-shot accept operations instead:
# one in flight while the listener wants connections; its completion
# starts a batch (up to max_accept_per_tick, the rest taken with
# accept(2) on the non-blocking socket), then the next operation.

sub _arm ($self) {
    return if $self->{op} || $self->{cancelled} || $self->{paused} || !$self->{fh};
    return if $self->{retry};    # its timer arms when it fires
    $self->{cancelling} = 0;
    if ($self->{multi}) {
        $self->{op} = Linux::Event::SockOp->accept_multi(
            $self->{loop},
            $self->{fd},
            sub ($res, $addr, $more, $now) {
                $self->_multi_result($res, $addr, $more, $now);
            }
        );
        return if $self->{op};
        $self->{multi} = 0;    # EOPNOTSUPP or EINVAL: one-shot for good
    }
    $self->{op} = Linux::Event::SockOp->accept($self->{loop}, $self->{fd},
        sub ($res, $addr) { $self->_accepted($res, $addr) });
    return;
}

# Async: the operation's callback still comes, with what it took before.
sub _cancel_op ($self) {
    return if !$self->{op} || $self->{cancelling};
    $self->{cancelling} = 1;
    $self->{op}->cancel;
    return;
}

# For the tests: how this listener takes connections ('watch' on a
# reactor, 'multishot' or 'oneshot' accept operations on a proactor), and
# the most connections it ever held taken but not handed over.
sub _accept_mode ($self) {
    return 'watch' unless $self->{proactor};
    return $self->{multi} ? 'multishot' : 'oneshot';
}
sub _queued     ($self) { return scalar @{ $self->{ready} // [] } }
sub _armed      ($self) { return $self->{op} && !$self->{cancelling} ? 1 : 0 }
sub _queued_max ($self) { return $self->{queued_max} // 0 }

sub _after ($self, $secs, $cb) {
    my $t = $self->{loop}->after(
        $secs,
        on_complete => sub ($op, $res, $data) {
            return if $op->is_cancelled;
            $self->{retry} = undef;
            $cb->();
        }
    );
    return $t;
}

sub _queue ($self, $fd, $addr) {
    my $client;
    unless (open($client, '+<&=', $fd)) {
        POSIX::close($fd);
        return;
    }
    if ($self->{cancelled}) {
        close $client;
        return;
    }
    my $ready = $self->{ready};
    push @$ready, [$client, $addr, 1];
    $self->{queued_max} = @$ready if @$ready > ($self->{queued_max} // 0);
    return;
}

# One result of the multishot accept: a connection ($res >= 0) or the
# error that ended it; $more is 0 on its last result, $now the loop's
# iteration time.
sub _multi_result ($self, $res, $addr, $more, $now) {
    delete $self->{op} unless $more;
    if ($res >= 0) {
        $self->{multi_seen} = 1;
        $self->_queue($res, $addr);
    }
    if ($self->{cancelled}) {

        # The socket is closed only now: the operation held its own
        # reference to it and would have gone on accepting.
        if (!$more && (my $fh = delete $self->{closing})) {
            close $fh;
        }
        return;
    }
    if ($res < 0 && !$more) {
        my $e = -$res;
        if (!$self->{multi_seen} && ($e == Errno::EINVAL() || $e == Errno::EOPNOTSUPP())) {
            $self->{multi} = 0;    # an older kernel: one-shot for good
        } elsif (!grep { $e == $_ }
            (Errno::ECANCELED(), Errno::EINTR(), Errno::ECONNABORTED(), Errno::EAGAIN()))
        {
            local $! = $e;
            $self->_report({ op => 'accept', errno => $e, error => "$!", fatal => 0 }, 'accept');

            # EMFILE/ENFILE as the reactor: try again later; any other
            # error too, so that a broken listener does not spin.
            $self->{retry} //=
                $self->_after(0.05, sub { $self->_deliver_multi($self->{loop}->now) });
        }
    }
    return if $self->{paused} || $self->{in_accept};
    $self->_deliver_multi($now);
    return;
}

# Hands over what waits in {ready}, up to max_accept_per_tick per loop
# iteration ($now tells one from the next); then re-arms, or cancels the
# operation and goes on at the next iteration.
sub _deliver_multi ($self, $now) {
    return if $self->{paused} || $self->{cancelled};    # a timer set before
    if (!defined $self->{tick} || $self->{tick} != $now) {
        $self->{tick}  = $now;
        $self->{batch} = 0;
    }
    local $self->{in_accept} = 1;
    my $ready = $self->{ready};
    my $died;
    while (@$ready && $self->{batch} < $self->{max}) {
        $self->{batch}++;
        my $err = $self->_hand_over(@{ shift @$ready });
        $died //= $err;
        last if $self->{cancelled} || $self->{paused};
    }
    if ($self->{cancelled}) {
        $self->_close_socket;
    } elsif (!$self->{paused}) {
        if (@$ready) {

            # This iteration's batch is full: the kernel keeps the next
            # connections in the backlog until these are handed over.
            $self->_cancel_op;
            $self->{retry} //= $self->_after(0, sub { $self->_deliver_multi($self->{loop}->now) });
        } else {
            $self->_arm;
        }
    }
    die $died if defined $died;
    return;
}

sub _accepted ($self, $res, $addr) {
    delete $self->{op};
    if ($res < 0) {
        my $e = -$res;
        return if $self->{cancelled};
        if (   $e == Errno::ECANCELED()
            || $e == Errno::EINTR()
            || $e == Errno::ECONNABORTED()
            || $e == Errno::EAGAIN())
        {
            $self->_arm;    # a pause cancelled it (and may be over), or try again
            return;
        }
        local $! = $e;
        $self->_report({ op => 'accept', errno => $e, error => "$!", fatal => 0 }, 'accept');

        # EMFILE/ENFILE as the reactor: try again later; any other error
        # too, so that a broken listener does not spin.
        $self->{retry} //= $self->_after(0.05, sub { $self->_arm });
        return;
    }
    $self->_queue($res, $addr);
    return if $self->{paused} || $self->{cancelled};
    $self->_deliver;
    return;
}

sub _deliver ($self) {
    local $self->{in_accept} = 1;
    my ($n, $died) = (0);
    while ($n < $self->{max}) {
        my $next = shift @{ $self->{ready} };
        if (!$next && $self->{nonblocking}) {
            my $client;
            my $addr = accept($client, $self->{fh});
            if ($addr) {
                $next = [$client, $addr];
            } else {
                my $e = $! + 0;
                redo if $e == Errno::EINTR() || $e == Errno::ECONNABORTED();
            }
        }
        last unless $next;
        $n++;
        my $err = $self->_hand_over(@$next);
        $died //= $err;
        last if $self->{cancelled} || $self->{paused};
    }
    if ($self->{cancelled}) {
        $self->_close_socket;
    } elsif (!$self->{paused}) {
        if (@{ $self->{ready} }) {    # max reached with more queued: next tick
            $self->{retry} //= $self->_after(0, sub { $self->_deliver });
        } else {
            $self->_arm;
        }
    }
    die $died if defined $died;
    return;
}

sub _close_socket ($self) {
    if (my $t = delete $self->{retry}) {
        if (ref $t) {
            $t->cancel;
        } elsif ($self->{loop}) {
            $self->{loop}->cancel($t);
        }
    }
    my $wait;
    if (my $op = $self->{op}) {
        $self->_cancel_op;

        # A multishot accept holds its own reference to the socket and
        # would go on accepting: the socket is closed at its last result
        # (_multi_result).
        if ($self->{multi} && $op->pending) {
            $wait = 1;
        } else {
            delete $self->{op};
        }
    }
    close $_->[0] for splice @{ $self->{ready} // [] };
    return unless $self->{owns_socket} && $self->{fh};
    my $fh = delete $self->{fh};
    $self->{fh} = undef;
    if ($wait) {
        $self->{closing} = $fh;
    } else {
        close $fh;
    }
    unlink $self->{path} if defined $self->{path} && $self->{unlink_on_cancel};
}

sub cancel ($self) {
    return $self if $self->{cancelled};
    $self->{cancelled} = 1;
    if (my $w = delete $self->{watcher}) {
        $w->cancel;
    }
    $self->{watcher} = undef;
    $self->_close_socket unless $self->{in_accept};
    return $self;
}

sub pause ($self) {
    return $self if $self->{paused};
    $self->{paused} = 1;
    $self->{watcher}->disable_read if $self->{watcher};
    if ($self->{proactor}) {

        # Async: connections it already took wait for resume.
        $self->_cancel_op;
        if (my $t = delete $self->{retry}) { $t->cancel }
    }
    return $self;
}

sub resume ($self) {
    return $self unless $self->{paused};
    $self->{paused} = 0;
    $self->{watcher}->enable_read if $self->{watcher} && !$self->{resting};
    if ($self->{proactor} && !$self->{cancelled}) {
        if (@{ $self->{ready} }) {
            $self->{retry} //= $self->_after(0,
                $self->{multi}
                ? sub { $self->_deliver_multi($self->{loop}->now) }
                : sub { $self->_deliver });
        } else {
            $self->_arm;
        }
    }
    return $self;
}

sub watcher   ($self) { return $self->{watcher} }
sub fh        ($self) { return $self->{fh} }
sub fd        ($self) { return $self->{fh} ? fileno($self->{fh}) : undef }
sub is_paused ($self) { return $self->{paused} ? 1 : 0 }

sub is_running ($self) {
    return ($self->{proactor} ? !$self->{cancelled} : $self->{watcher}) ? 1 : 0;
}
sub family  ($self) { return $self->{family} }
sub is_unix ($self) { return 0 }
sub is_tcp  ($self) { return 0 }

sub sockhost ($self) {
    my $fh = $self->{fh} or return undef;
    return eval { $fh->sockhost };
}

sub sockport ($self) {
    my $fh = $self->{fh} or return undef;
    return eval { $fh->sockport };
}

sub DESTROY ($self) {
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    eval { $self->cancel; 1 };
}

1;
__END__

=head1 NAME

Linux::Event::Listen - accept connections on a Linux::Event loop

=head1 SYNOPSIS

    use Linux::Event;
    use Linux::Event::Listen;

    my $loop = Linux::Event->new;
    my $l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        on_accept => sub ($loop, $client_fh, $peer, $listen) { ... },
    );
    say $l->sockport;
    $loop->run;

=head1 DESCRIPTION

Creates (TCP through L<IO::Socket::IP>, or UNIX through
L<IO::Socket::UNIX>) or wraps (C<fh>) a listening socket and calls
With C<< tls => { cert_file => ..., key_file => ..., ... } >> (see
L<Linux::Event::TLS>) each client handle is handed to C<on_accept> already
encrypted: a L<Linux::Event::Stream> made on it (or its C<readline>/C<print>)
runs the handshake.

C<on_accept($loop, $client_fh, $peer, $listen)> for each connection, up to
C<max_accept_per_tick> per readiness event.  C<$peer> is a hash:
C<< {family => 'inet', host, port} >>, C<< {family => 'inet6', host, port,
scope_id} >>, C<< {family => 'unix', path} >> or C<< {family => 'unknown'} >>.
Accepted sockets are non-blocking and close-on-exec unless
C<nonblocking>/C<cloexec> are false.

Options: C<loop>, C<on_accept> (required); C<fh>, or C<host> and C<port>, or
C<path>; C<backlog> (4096), C<reuseaddr> (1), C<reuseport> (0), C<v6only>,
C<nonblocking> (1), C<cloexec> (1), C<edge_triggered> (1 unless
C<max_accept_per_tick> is given), C<oneshot> (0), C<max_accept_per_tick>
(128), C<owns_socket>, C<unlink>, C<unlink_on_cancel>, C<on_error>,
C<on_emfile>, C<warn_on_unhandled_error>, C<multishot> (proactor loops
only, see L</PROACTOR LOOPS>).  C<loop> must be an object that can
C<after> (else C<loop is not a Linux::Event loop>); C<fh> an open
listening socket (else C<fh is not a listening socket (no file
descriptor)>, or C<(SO_ACCEPTCONN is false)> for one that does not
listen).

Socket options: C<reuseport> (C<SO_REUSEPORT>, set before bind: several
listeners, in one process or several, bound to one address and port share
its connections, which is how a pre-fork server spreads over cores; see
F<examples/prefork-echo.pl>), C<backlog> (a positive integer, C<listen>'s
queue length), C<defer_accept> (seconds: C<TCP_DEFER_ACCEPT>, accept only
once the client sent data), and those L<Linux::Event::SocketOptions> describes,
which accepted sockets inherit: C<nodelay>, C<keepalive> with
C<keepalive_idle>, C<keepalive_interval>, C<keepalive_count>,
C<user_timeout> (seconds), C<rcvbuf>, C<sndbuf>, C<bind_device>.  They are
applied to a socket given as C<fh> too (C<reuseport> then has no effect:
the socket is bound already).  A bad value croaks (C<backlog must be a
positive integer>); a setsockopt the kernel refuses is a setup error:
C<on_error> gets it (C<op> C<setup>, with the errno), then C<new> croaks
C<listen setup failed: bind_device: No such device>.

Errors: C<on_error($loop, $err, $listen)> gets a hash with C<op>
(C<setup>, C<accept>, C<on_accept>, C<watch>), C<error>, C<fatal> and, for
system errors, C<errno>; EMFILE/ENFILE go to C<on_emfile> when given.
Out of descriptors, the listener tries the queued connections again 50 ms
later (a level-triggered one stops watching its socket meanwhile, so the
loop does not spin on it).  An
C<on_accept> that dies is reported to C<on_error>; without C<on_error> the
exception propagates out of C<< $loop->run >> once the accept batch is done
(the first one, if several died), so no queued connection is left behind.

=head1 METHODS

C<watcher>, C<fh>, C<fd>, C<pause>, C<resume>, C<is_paused>, C<is_running>,
C<family> (C<'unknown'>, as Linux::Event 0.010), C<is_unix>, C<is_tcp>,
C<sockhost>, C<sockport>, C<cancel> (idempotent; may be called inside
C<on_accept>, the close is then deferred to the end of the batch).

A listener that is not stored keeps serving until C<cancel>: its watcher
holds it.

=head1 PROACTOR LOOPS

On a proactor loop there is no C<watch>: the listener takes connections
with accept operations instead (C<Linux::Event::SockOp>, on the loop under
the engine).  C<watcher> is undef there; C<edge_triggered> and C<oneshot>
have no meaning.

On the io_uring backend one multishot accept takes the connections: one
submission, one result per connection, handed to C<on_accept> as it comes
(the peer read with C<getpeername>, which is where the kernel leaves it for
multishot accepts), up to C<max_accept_per_tick> per loop iteration.  It
is armed only while the listener wants connections, and its ready queue
(connections taken, not yet handed over) is bounded:

=over

=item *

C<pause> and C<cancel> cancel it, so a paused or cancelled listener takes
nothing more from the backlog: another acceptor on the socket gets the
connections.  Connections it had already taken wait for C<resume>
(C<cancel> closes them).

=item *

When more than C<max_accept_per_tick> results come in one iteration (the
kernel takes every connection waiting when it runs the operation), the
rest wait in the queue and the operation is cancelled: new connections
stay in the backlog until the queue is handed over, one batch per
iteration, and the operation is armed again.

=item *

The operation holds its own reference to the socket: C<cancel> closes an
owned socket only once the operation's last result is in (C<fh> is undef
at once; the path of a UNIX socket is unlinked at once).  A socket you
close yourself: cancel the listener first.

=item *

A forked child's copy of the loop ends the parent's operation there
(C<ECANCELED>): the child's copy of a running listener arms one of its
own; a paused one stays quiet until resumed.

=back

A socket given as C<fh> gets one-shot operations unless
C<< multishot => 1 >>: such a socket may be shared by several processes
(pre-fork workers without C<reuseport>), and a worker busy in any callback
with a multishot accept armed goes on taking connections that an idle
worker could serve (the kernel runs the accept for it whenever it enters
the kernel).  A one-shot operation takes at most one connection while its
process is busy.  C<< multishot => 0 >> asks for one-shot operations on
any socket.  Each listener with C<reuseport> has a socket of its own,
where the kernel has already chosen the worker: multishot is harmless
there.

One-shot operations (the fake backend, C<< multishot => 0 >>, and kernels
without multishot accept, which answer C<EOPNOTSUPP> or C<EINVAL>): one
operation is in flight while the listener wants connections; its
completion starts a batch (up to C<max_accept_per_tick>, the rest taken
with C<accept(2)> on the non-blocking socket) and the next operation
follows.  C<pause> cancels the operation; a connection it had already
taken is kept and delivered at C<resume>.

=head1 DIFFERENCES FROM LINUX::EVENT 0.010

C<v6only> is applied before bind; an edge-triggered (or oneshot) listener
that stops at C<max_accept_per_tick> or at EMFILE schedules the rest of the
queue itself instead of stalling until the next connection; oneshot is
re-armed; the setup error hash carries host/port or path and the socket
error text.

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
