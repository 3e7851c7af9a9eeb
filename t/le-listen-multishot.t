#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 18, item 4: Linux::Event::Listen on an io_uring proactor loop
# takes connections with one multishot accept, armed only while the
# listener wants connections, with a bounded ready queue: at most
# max_accept_per_tick handed over per loop iteration, and once a batch is
# full the operation is cancelled, so the kernel leaves new connections
# in the backlog for whoever else accepts on the socket.  Every case
# checks that the multishot path is the one in use (the listener's
# _accept_mode, SockOp's count of multishot results), so each fails
# without it.  Loopback only, ports chosen by the kernel; synchronised on
# the loop and on pipes, never on sleeps.
use v5.36;
use Test::More;
use Errno ();
use Socket qw(inet_aton pack_sockaddr_in);
use IO::Socket::IP;
use POSIX ();
use Linux::Event;
use Linux::Event::Listen;
use lib 't/lib';
use EvlTest qw(uring_loop);

my $make  = sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') };
my $probe = uring_loop($make);
unless ($probe) {
    done_testing;
    exit 0;
}
undef $probe;

sub run_until ($loop, $cond, $secs = 10) {
    my $t0 = time;
    until ($cond->()) {
        $loop->run_once(0.05);
        die "timeout\n" if time - $t0 > $secs;
    }
}

sub client ($port) {
    return IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port) // die "connect: $!";
}

sub fd_count () {
    opendir(my $d, '/proc/self/fd') or die "/proc/self/fd: $!";
    return scalar grep { /\A\d+\z/ } readdir $d;
}

# Connections waiting in the listening socket's backlog, taken with a
# plain non-blocking accept(2): what nobody else took.
sub plain_accept_all ($lfh) {
    my @got;
    while (1) {
        my $c;
        last unless accept($c, $lfh);
        push @got, $c;
    }
    return @got;
}

sub multishot_results () { return Linux::Event::SockOp->_multishot_results }

subtest 'a burst: every connection handed over once, in order, a batch per iteration' => sub {
    my $loop = $make->();
    my (@acc, %per_tick);
    my $l = Linux::Event::Listen->new(
        loop                => $loop,
        host                => '127.0.0.1',
        port                => 0,
        max_accept_per_tick => 16,
        on_accept           => sub ($lp, $fh, $peer, $li) {
            push @acc, [$fh, $peer];
            $per_tick{ $lp->now }++;
        },
    );
    is($l->_accept_mode, 'multishot', 'multishot accept on io_uring');
    my $before = multishot_results();
    $loop->run_once(0);
    my @c = map { client($l->sockport) } 1 .. 100;
    run_until($loop, sub { @acc == 100 });
    $loop->run_once(0.01) for 1 .. 3;
    is(scalar @acc, 100, 'all 100 handed over, none twice');
    is_deeply([map { $_->[1]{port} } @acc], [map { $_->sockport } @c], '... in connect order');
    is(multishot_results() - $before, 100, '... each from the multishot accept');
    my ($most) = sort { $b <=> $a } values %per_tick;
    cmp_ok($most, '<=', 16, 'at most max_accept_per_tick per loop iteration');
    is($acc[0][1]{host}, '127.0.0.1', 'peer address from getpeername');

    # And the next one still comes (the operation was armed again).
    my $c = client($l->sockport);
    run_until($loop, sub { @acc == 101 });
    is($acc[-1][1]{port}, $c->sockport, 'the listener is armed again once its queue is empty');
    $l->cancel;
};

subtest 'the bound: a full batch stops the taking until the queue is handed over' => sub {
    my $loop = $make->();
    my (@acc, %per_tick);
    my $l = Linux::Event::Listen->new(
        loop                => $loop,
        host                => '127.0.0.1',
        port                => 0,
        max_accept_per_tick => 2,
        on_accept           => sub ($lp, $fh, $peer, $li) {
            push @acc, $peer->{port};
            $per_tick{ $lp->now }++;
        },
    );
    $loop->run_once(0);
    my @burst = map { client($l->sockport) } 1 .. 6;
    run_until($loop, sub { @acc >= 2 });
    is(scalar @acc, 2, 'one iteration hands over max_accept_per_tick');
    is($l->_accept_mode, 'multishot', 'multishot accept');
    my $queued = $l->_queued;

    # The kernel took the burst in one pass: the batch is full, so the
    # operation is cancelled and connections made now stay in the backlog.
    my @late  = map { client($l->sockport) } 1 .. 3;
    my @plain = plain_accept_all($l->fh);
    is(scalar @plain, 3, 'connections arriving behind a full batch are left to others');
    is_deeply(
        [sort map { (Socket::unpack_sockaddr_in(getpeername($_)))[0] } @plain],
        [sort map { $_->sockport } @late],
        '... those very connections'
    );
    cmp_ok($l->_queued, '<=', $queued, 'the queue did not grow meanwhile');

    run_until($loop, sub { @acc == 6 });
    is_deeply([@acc], [map { $_->sockport } @burst], 'the queue is handed over in order');
    ok(!(grep { $_ > 2 } values %per_tick), 'at most 2 per loop iteration while it drains');
    cmp_ok($l->_queued_max, '<=', 4, 'never more queued than the burst left over');

    my $c = client($l->sockport);
    run_until($loop, sub { @acc == 7 });
    is($acc[-1], $c->sockport, 'drained: the multishot accept is armed again');
    $l->cancel;
};

subtest 'pause leaves connections to others, resume hands over what was taken' => sub {
    my $loop = $make->();
    my @acc;
    my $l;
    $l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        on_accept => sub ($lp, $fh, $peer, $li) {
            push @acc, $peer->{port};
            $li->pause if @acc == 1;
        },
    );
    $loop->run_once(0);
    my $before = multishot_results();
    my @burst  = map { client($l->sockport) } 1 .. 5;
    run_until($loop, sub { @acc });
    $loop->run_once(0.01) for 1 .. 3;
    is(scalar @acc, 1, 'paused in on_accept: nothing more handed over');
    ok($l->is_paused, 'paused');
    my $queued = $l->_queued;
    cmp_ok($queued, '<=', 4, 'the rest of the burst is queued or in the backlog');
    is(multishot_results() - $before, 1 + $queued, 'taken by the multishot accept');

    my @late = map { client($l->sockport) } 1 .. 3;
    $loop->run_once(0.01) for 1 .. 3;
    my @plain = plain_accept_all($l->fh);
    is(scalar @plain, 3 + 4 - $queued, 'a plain accept gets the connections made while paused');
    is($l->_queued, $queued, 'the paused listener took none of them');

    $l->resume;
    run_until($loop, sub { @acc == 1 + $queued });
    is_deeply(
        [@acc],
        [map { $_->sockport } @burst[0 .. $queued]],
        'resume hands over the queued connections, in order'
    );
    my $c = client($l->sockport);
    run_until($loop, sub { @acc == 2 + $queued });
    is($acc[-1], $c->sockport, 'and takes new ones again');
    is($l->_accept_mode, 'multishot', 'still multishot');
    $l->cancel;
};

subtest 'cancel with queued connections closes them and, after the operation, the socket' => sub {
    my $loop = $make->();
    my @acc;
    my $l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        on_accept => sub ($lp, $fh, $peer, $li) {
            push @acc, $fh;
            $li->pause;
        },
    );
    my $port = $l->sockport;
    $loop->run_once(0);
    my @burst = map { client($port) } 1 .. 5;
    run_until($loop, sub { @acc });
    $loop->run_once(0.01) for 1 .. 3;
    close $_ for splice @acc;
    my $queued = $l->_queued;
    cmp_ok($queued, '>', 0, 'connections are queued') or diag 'the kernel took only one';
    my $fds = fd_count();
    $l->cancel;
    is($l->fh, undef, 'cancel drops the fh');
    $loop->run_once(0.01) for 1 .. 3;
    is(fd_count(), $fds - $queued - 1, 'the queued connections and the socket are closed');
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port);
    ok(!$s, 'nothing listens any more: the multishot accept was cancelled')
        or diag 'a connection was accepted on a closed listener';
    my $buf;
    is(sysread($burst[1], $buf, 1), 0, 'a queued client sees its connection closed')
        if $queued;
};

subtest 'a listener dropped while its multishot accept runs' => sub {
    my $loop = $make->();
    my $fds  = fd_count();
    my $port;
    {
        my $l = Linux::Event::Listen->new(
            loop      => $loop,
            host      => '127.0.0.1',
            port      => 0,
            on_accept => sub { },
        );
        $port = $l->sockport;
        $loop->run_once(0);
        $l->cancel;
    }
    $loop->run_once(0.01) for 1 .. 3;
    is(fd_count(), $fds, 'no fd left');
    ok(!IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port), 'refused');
};

# Two pre-fork workers on one shared listening socket (no SO_REUSEPORT),
# each with its own loop and a Listen on the inherited socket.  Workers
# report to the parent on a pipe ("<name> <event> <value>") and take
# orders on one pipe each.  With multishot => 1 a paused worker must take
# nothing; with the default for a given fh (one-shot operations: a worker
# busy in a callback with a multishot accept armed would go on taking
# connections) a busy worker leaves them to the other one too.
sub prefork ($multishot) {
    my $srv = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 64)
        or die "listen: $!";
    my $port = $srv->sockport;
    pipe(my $rep_r, my $rep_w) or die "pipe: $!";
    my %ctl;
    my @pids;

    my $worker = sub ($name, $ctl_r) {
        close $rep_r;
        $rep_w->autoflush(1);
        my $say  = sub ($line) { syswrite($rep_w, "$name $line\n") };
        my $loop = $make->();
        my ($n, $busy, $quit) = (0, 0, 0);
        my @orders;    # read, not yet obeyed (two may come in one read)
        my $order = sub ($blocking) {
            EvlTest::set_nonblocking($ctl_r, !$blocking);
            my $got = sysread($ctl_r, my $buf, 64);
            push @orders, split /\n/, $buf if $got;
            return splice @orders;
        };
        my $ms0 = multishot_results();
        my $l;
        $l = Linux::Event::Listen->new(
            loop => $loop,
            fh   => $srv,
            ($multishot ? (multishot => 1) : ()),
            on_accept => sub ($lp, $fh, $peer, $li) {
                $n++;
                $say->("accept $peer->{port}");
                if ($name eq 'A' && $n == 1) {
                    $li->pause;
                    $say->('paused 0');
                }
                if ($busy) {    # busy: blocked here until told to go on
                    $busy = 0;
                    $say->('busy 0');
                    until (grep { $_ eq 'free' } @orders) {
                        push @orders, $order->(1);
                    }
                    @orders = grep { $_ ne 'free' } @orders;
                }
            },
        );
        $loop->run_once(0);
        $say->('ready ' . $l->_accept_mode);
        until ($quit) {
            $loop->run_once(0.02);
            for my $o ($order->(0)) {
                if    ($o eq 'pause')  { $l->pause; $say->('paused 0') }
                elsif ($o eq 'resume') { $l->resume; $say->('resumed 0') }
                elsif ($o eq 'busy')   { $busy = 1; $say->('armed 0') }
                elsif ($o eq 'quit')   { $quit = 1 }
            }
        }
        $say->('multishot ' . (multishot_results() - $ms0));
        POSIX::_exit(0);
    };
    my $spawn = sub ($name) {
        pipe(my $r, my $w) or die "pipe: $!";
        $w->autoflush(1);
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $w;
            eval { $worker->($name, $r); 1 } or print STDERR "worker $name: $@";
            POSIX::_exit(1);
        }
        close $r;
        $ctl{$name} = $w;
        push @pids, $pid;
    };
    local $SIG{ALRM} = sub { kill KILL => @pids; die "timeout\n" };
    alarm 60;
    my $next = sub () {
        my $line = <$rep_r> // die "a worker ended early\n";
        chomp $line;
        return split / /, $line;
    };
    my $expect = sub ($who, $what) {
        my @e = $next->();
        is("$e[0] $e[1]", "$who $what", "$who: $what");
        return $e[2];
    };
    my @keep;
    my $connect_to = sub () {
        my $c = client($port);
        push @keep, $c;
        my ($who, $what, $p) = $next->();
        die "unexpected report: $who $what\n" unless $what eq 'accept';
        is($p, $c->sockport, 'the accepted connection is the one made');
        return $who;
    };
    my $mode = $multishot ? 'multishot' : 'oneshot';

    $spawn->('A');
    is($expect->('A', 'ready'), $mode, "A uses $mode accept operations");
    is($connect_to->(), 'A', 'A alone takes the first connection');
    $expect->('A', 'paused');

    $spawn->('B');
    is($expect->('B', 'ready'), $mode, "B uses $mode accept operations");
    my %by;
    $by{ $connect_to->() }++ for 1 .. 8;
    is_deeply(\%by, { B => 8 }, 'A paused: B gets every connection');

    unless ($multishot) {

        # A busy: blocked in its on_accept.  B must take what comes
        # meanwhile.
        syswrite($ctl{A}, "resume\n");
        $expect->('A', 'resumed');
        syswrite($ctl{A}, "busy\n");
        $expect->('A', 'armed');
        syswrite($ctl{B}, "pause\n");
        $expect->('B', 'paused');
        is($connect_to->(), 'A', 'B paused: A takes the connection (and is now busy)');
        $expect->('A', 'busy');
        syswrite($ctl{B}, "resume\n");
        $expect->('B', 'resumed');
        %by = ();
        $by{ $connect_to->() }++ for 1 .. 8;
        is_deeply(\%by, { B => 8 }, 'A busy: B gets every connection');
        syswrite($ctl{A}, "free\n");
    }

    syswrite($ctl{$_}, "quit\n") for qw(A B);
    my %ms;
    for (1 .. 2) {
        my ($w, $what, $n) = $next->();
        $ms{$w} = $n if $what eq 'multishot';
    }
    if ($multishot) {
        is($ms{A}, 1, 'A took its connection with its multishot accept');
        is($ms{B}, 8, 'B took its connections with its multishot accept');
    } else {
        is_deeply([@ms{qw(A B)}], [0, 0], 'no multishot accept on a given fh by default');
    }
    for my $pid (@pids) {
        waitpid($pid, 0);
        is($?, 0, "worker $pid exited cleanly");
    }
    alarm 0;
    my @left = plain_accept_all($srv);
    is(scalar @left, 0, 'no connection was left in the backlog');
}

subtest 'pre-fork workers on one socket, multishot => 1: a paused worker takes nothing' =>
    sub { prefork(1) };
subtest 'pre-fork workers on one socket, by default: paused or busy, the other gets them' =>
    sub { prefork(0) };

# The fork rule (docs/architecture.md): a forked child's copy of the loop
# settles the parent's operations with -ECANCELED.  The child's copy of a
# running Listen arms a multishot accept of its own; a paused one stays
# quiet until resumed.  The parent pauses its own around the fork that
# accepts, so that the connection the child makes goes to the child.
sub in_child ($code) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my $out = eval { $code->() } // "died: $@";
        syswrite($w, "$out\n");
        POSIX::_exit(0);
    }
    close $w;
    my $got = <$r> // "nothing\n";
    waitpid($pid, 0);
    chomp $got;
    return $got;
}

subtest 'a forked child: the parent operation ends there, the child arms its own' => sub {
    my $loop = $make->();
    my @acc;
    my $l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        on_accept => sub ($lp, $fh, $peer, $li) { push @acc, $peer->{port} },
    );
    $loop->run_once(0);
    ok($l->_armed, 'the parent listener is armed');
    is(in_child(sub { $loop->run_once(0) for 1 .. 3; $l->_armed ? 'armed' : 'not armed' }),
        'armed', 'a running listener arms a new multishot accept in the child');

    $l->pause;
    is(
        in_child(
            sub {
                $loop->run_once(0) for 1 .. 3;
                return 'armed while paused' if $l->_armed;
                $l->resume;
                my $c = client($l->sockport);
                run_until($loop, sub { @acc });
                return $acc[0] == $c->sockport && $l->_accept_mode eq 'multishot'
                    ? 'ok'
                    : "accepted @acc";
            }
        ),
        'ok',
        'a paused one stays quiet, and takes connections once resumed'
    );
    $l->resume;
    my $c = client($l->sockport);
    run_until($loop, sub { @acc });
    is($acc[0], $c->sockport, 'the parent still takes connections');
    $l->cancel;
};

subtest 'multishot => 0 asks for one-shot accept operations on io_uring' => sub {
    my $loop = $make->();
    my @acc;
    my $l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        multishot => 0,
        on_accept => sub ($lp, $fh, $peer, $li) { push @acc, $peer->{port} },
    );
    my $before = multishot_results();
    my @c      = map { client($l->sockport) } 1 .. 3;
    run_until($loop, sub { @acc == 3 });
    is_deeply([@acc], [map { $_->sockport } @c], 'accepted, in order');
    is($l->_accept_mode, 'oneshot', 'one-shot accept operations');
    is(multishot_results() - $before, 0, 'no multishot result');
    $l->cancel;
};

subtest 'the fake backend keeps one-shot accept operations' => sub {
    my $loop = Linux::Event::Loop->new(model => 'proactor', backend => 'fake');
    my @acc;
    my $l = Linux::Event::Listen->new(
        loop      => $loop,
        host      => '127.0.0.1',
        port      => 0,
        on_accept => sub ($lp, $fh, $peer, $li) { push @acc, $peer->{port} },
    );
    my $c = client($l->sockport);
    run_until($loop, sub { @acc });
    is($acc[0], $c->sockport, 'accepted');
    is($l->_accept_mode, 'oneshot', 'one-shot accept operations');
    $l->cancel;
};

done_testing;
