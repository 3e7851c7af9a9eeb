#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A pre-fork line-echo server: N worker processes, each with its own loop
# and its own SO_REUSEPORT listener on one port, so the kernel spreads the
# connections over them (and over the cores); a parent that restarts a
# worker that dies and stops them all on SIGTERM or SIGINT.
#
#   perl examples/prefork-echo.pl                      # a short demo, then exit
#   perl examples/prefork-echo.pl --serve --workers 4 --port 7000
#   perl examples/prefork-echo.pl --serve --port 0 --port-file /tmp/port
#
# The parent holds the port: a socket bound with SO_REUSEPORT (port 0
# picks a free one) but never listening, so it gets no connections, and a
# restarted worker binds the same port however long it takes.  Each worker
# reports through a pipe once it listens; the parent prints "port N",
# "worker PID ready" and, at the end, "stopped" on stdout.
use v5.36;
use Getopt::Long qw(GetOptions);
use IO::Handle;
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_REUSEPORT AF_INET SOCK_STREAM INADDR_LOOPBACK);
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Stream;

my %o = (workers => 2, host => '127.0.0.1', port => 0);
GetOptions(\%o, 'workers=i', 'host=s', 'port=i', 'port-file=s', 'serve')
    or die "usage: $0 [--serve] [--workers N] [--host H] [--port P] [--port-file F]\n";
die "--workers must be at least 1\n" if $o{workers} < 1;
STDOUT->autoflush(1);

# The port reservation (see the top).
socket(my $hold, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
setsockopt($hold, SOL_SOCKET, SO_REUSEPORT, 1) or die "SO_REUSEPORT: $!";
bind($hold, Socket::pack_sockaddr_in($o{port}, Socket::inet_aton($o{host})))
    or die "bind $o{host}:$o{port}: $!";
my ($port) = Socket::unpack_sockaddr_in(getsockname($hold));
if (defined $o{'port-file'}) {
    open my $pf, '>', "$o{'port-file'}.tmp" or die "$o{'port-file'}: $!";
    print {$pf} "$port\n";
    close $pf or die "$o{'port-file'}: $!";
    rename "$o{'port-file'}.tmp", $o{'port-file'} or die "$o{'port-file'}: $!";
}
say "port $port";

pipe(my $ready_r, my $ready_w) or die "pipe: $!";
$ready_w->autoflush(1);

# A worker: a loop of its own, a reuseport listener, an echo per
# connection; SIGTERM stops it.  Never returns.
sub worker () {
    close $hold;
    close $ready_r;
    my $loop = Linux::Event->new;
    my $sig  = $loop->signal([qw(TERM INT)], sub ($loop, $signo, $count, $data) { $loop->stop });
    my $l    = Linux::Event::Listen->new(
        loop      => $loop,
        host      => $o{host},
        port      => $port,
        reuseport => 1,
        nodelay   => 1,
        on_accept => sub ($loop, $fh, $peer, $listen) {
            Linux::Event::Stream->new(
                loop       => $loop,
                fh         => $fh,
                codec      => 'line',
                on_message => sub ($s, $line, $data) { $s->write_message($line) }
            );
        },
    );
    print {$ready_w} "$$\n";
    close $ready_w;
    $loop->run;
    $l->cancel;
    $sig->cancel;
    POSIX::_exit(0);
}

my $loop = Linux::Event->new;
my %workers;    # pid => 1
my $stopping = 0;

sub spawn () {
    my $pid = fork // die "fork: $!";
    worker() if $pid == 0;
    $workers{$pid} = 1;
    return $pid;
}

# Worker exits: SIGCHLD through the loop, then waitpid for every child
# that is done (one signal may stand for several exits).
sub reap () {
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
        next unless delete $workers{$pid};
        if ($stopping) {
            $loop->stop unless %workers;
            next;
        }
        say "worker $pid exited (status $?), restarting";
        spawn();
    }
}

sub stop_all () {
    return if $stopping++;
    kill TERM => keys %workers;
    $loop->stop unless %workers;
}

# Readiness: one pid per line from the workers.
my $ready_buf = '';
my $nready    = 0;
my $demo_started;
$loop->watch(
    $ready_r,
    read => sub ($loop, $fh, $w) {
        sysread($fh, $ready_buf, 4096, length $ready_buf) or return;
        while ($ready_buf =~ s/\A(\d+)\n//) {
            say "worker $1 ready";
            $nready++;
        }
        demo() if !$o{serve} && $nready >= $o{workers} && !$demo_started++;
    }
);
my $sig  = $loop->signal([qw(TERM INT)], sub ($loop, $signo, $count, $data) { stop_all() });
my $chld = $loop->signal('CHLD', sub ($loop, $signo, $count, $data) { reap() });

# Without --serve: one client per worker count, a few lines each, then stop.
sub demo () {
    for my $i (1 .. $o{workers}) {
        my $c = IO::Socket::INET->new(PeerAddr => $o{host}, PeerPort => $port)
            or die "connect: $!";
        print {$c} "hello $i\n";
        my $echo = <$c>;
        print "echo: $echo";
        close $c;
    }
    stop_all();
}

spawn() for 1 .. $o{workers};
$loop->run;
$_->cancel for $sig, $chld;
say 'stopped';
exit 0;
