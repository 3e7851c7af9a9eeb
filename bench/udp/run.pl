#!/usr/bin/env perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run.pl - UDP echo, 64-byte datagrams: Linux::Event::Datagram (reactor,
# and io_uring when the kernel allows it) against IO::Async::Socket,
# AnyEvent::Handle::UDP (on EV) and a hand-written EV + recv loop, all
# loaded by the same C client (udp_client.c, built into a temp dir) in one
# run.
#
# Per run: datagrams/s at the client, and the server's CPU per datagram
# (the server's own user+system time between the client's RSET and STOP,
# see udp_client.c).  Each server is a fresh process on a fresh port;
# server and client are pinned to different CPUs when taskset exists; the
# order of the servers rotates every round; the summary gives medians (on
# a shared machine other work only ever slows a run down, so the median of
# a few rounds is what a quiet machine would show) and each server's
# ratio to evloop.
#
# usage (from the build tree, after `make`):
#   perl bench/udp/run.pl                       # ROUNDS=3 COUNT=200000 WINDOW=32
#   ROUNDS=5 COUNT=500000 perl bench/udp/run.pl
#   SERVERS="evloop ev_raw" perl bench/udp/run.pl
# Needs the Debian packages libev-perl, libanyevent-perl,
# libanyevent-handle-udp-perl and libio-async-perl (scripts/dev.sh bench);
# a server whose modules are missing is left out, with a note.
use v5.36;
use File::Temp ();
use FindBin    ();
use List::Util qw(sum);
use Time::HiRes ();
use IO::Socket::INET ();
use Socket ();

my $here  = $FindBin::Bin;
my $build = $ENV{BUILD} // "$here/../..";
my @INC_EVL = ("-I$build/blib/lib", "-I$build/blib/arch");

# ------------------------------------------------------------ servers
# Each prints its port on stdout once it listens, then serves until STOP.

my %need = (
    evloop       => ['Linux::Event::Datagram'],
    evloop_uring => ['Linux::Event::Datagram'],
    ioasync      => [ 'IO::Async::Loop', 'IO::Async::Socket' ],
    ae_udp       => [ 'EV', 'AnyEvent', 'AnyEvent::Handle::UDP' ],
    ev_raw       => ['EV'],
);

# The process's own CPU clock (user + system), in microseconds.
sub cpu_us () {
    return Time::HiRes::clock_gettime(Time::HiRes::CLOCK_PROCESS_CPUTIME_ID()) * 1e6;
}

# The control datagrams: RSET takes the CPU baseline (and is echoed), STOP
# answers with the CPU used since and ends the server.
my $base = 0;

sub control ($bytes) {
    if ($bytes eq 'RSET') { $base = cpu_us(); return 'RSET' }
    return sprintf('%.0f', cpu_us() - $base);
}

# An IO::Socket (IO::Async::Socket calls methods on its handle).
# Control replies go straight to the socket, the same way for every
# server (a framework's queued send would not go out once its loop stops).
sub reply_control ($fh, $bytes, $peer, $stop) {
    send($fh, control($bytes), 0, $peer);
    $stop->() if $bytes eq 'STOP';
    return;
}

sub bound_socket () {
    my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "socket: $@";
    setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 1 << 20);
    return $s;
}

sub port_of ($s) { return (Socket::unpack_sockaddr_in(getsockname $s))[0] }

sub ready ($port) { $| = 1; print "$port\n" }

sub srv_evloop ($model) {
    require Linux::Event::Loop;
    require Linux::Event::Datagram;
    my $loop = $model eq 'uring'
        ? Linux::Event::Loop->new(model => 'proactor', backend => 'uring')
        : Linux::Event::Loop->new(model => 'reactor');
    my $d = Linux::Event::Datagram->new(
        loop        => $loop,
        fh          => bound_socket(),
        on_datagram => sub ($d, $bytes, $peer) {
            return reply_control($d->fh, $bytes, $peer, sub { $loop->stop }) if length $bytes == 4;
            $d->send_to($bytes, $peer);
        },
    );
    ready($d->sockport);
    $loop->run;
}

sub srv_ioasync () {
    require IO::Async::Loop;
    require IO::Async::Socket;
    my $loop = IO::Async::Loop->new;
    my $s    = bound_socket();
    my $sock = IO::Async::Socket->new(
        handle  => $s,
        on_recv => sub ($self, $bytes, $peer) {
            return reply_control($s, $bytes, $peer, sub { $loop->stop }) if length $bytes == 4;
            $self->send($bytes, 0, $peer);
        },
        on_recv_error => sub { die "recv: $_[1]" },
    );
    $loop->add($sock);
    ready(port_of($s));
    $loop->run;
}

sub srv_ae_udp () {
    require EV;
    require AnyEvent;
    require AnyEvent::Handle::UDP;
    my $cv = AnyEvent->condvar;
    # The handle makes its own socket: it watches only one it bound itself
    # (a packed address binds at once).
    my $h;
    $h = AnyEvent::Handle::UDP->new(
        bind    => Socket::pack_sockaddr_in(0, Socket::inet_aton('127.0.0.1')),
        on_recv => sub ($bytes, $handle, $peer) {
            return reply_control($handle->fh, $bytes, $peer, sub { $cv->send }) if length $bytes == 4;
            $handle->push_send($bytes, $peer);
        },
    );
    setsockopt($h->fh, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 1 << 20);
    ready(port_of($h->fh));
    $cv->recv;
}

sub srv_ev_raw () {
    require EV;
    my $s = bound_socket();
    $s->blocking(0);
    my $w = EV::io($s, EV::READ(), sub {
        while (defined(my $peer = recv($s, my $bytes, 65536, 0))) {
            if (length $bytes == 4) {
                reply_control($s, $bytes, $peer, sub { EV::break() });
                next;
            }
            send($s, $bytes, 0, $peer);
        }
    });
    ready(port_of($s));
    EV::run();
}

if (@ARGV && $ARGV[0] eq '--server') {
    my $which = $ARGV[1];
    if    ($which eq 'evloop')       { srv_evloop('reactor') }
    elsif ($which eq 'evloop_uring') { srv_evloop('uring') }
    elsif ($which eq 'ioasync')      { srv_ioasync() }
    elsif ($which eq 'ae_udp')       { srv_ae_udp() }
    elsif ($which eq 'ev_raw')       { srv_ev_raw() }
    else                             { die "unknown server $which\n" }
    exit 0;
}

# ------------------------------------------------------------ the parent

my $ROUNDS = $ENV{ROUNDS} // 3;
my $COUNT  = $ENV{COUNT}  // 200000;
my $WINDOW = $ENV{WINDOW} // 32;
my $SIZE   = $ENV{SIZE}   // 64;
my @SERVERS = split ' ', ($ENV{SERVERS} // 'evloop evloop_uring ioasync ae_udp ev_raw');
my $have_taskset = !system('sh', '-c', 'command -v taskset >/dev/null');
my ($SRV_CPU, $CLI_CPU) = ($ENV{SRV_CPU} // 1, $ENV{CLI_CPU} // 0);

my $work = File::Temp::tempdir(CLEANUP => 1);
system('cc', '-O2', '-o', "$work/udp_client", "$here/udp_client.c") == 0
    or die "cannot build udp_client\n";

sub available ($srv) {
    my @inc = $srv =~ /^evloop/ ? @INC_EVL : ();
    my $mods = join ';', map {"require $_"} @{ $need{$srv} // die "unknown server $srv\n" };
    return 0 if system($^X, @inc, '-e', $mods) != 0;
    if ($srv eq 'evloop_uring') {
        my $ok = system($^X, @inc, '-MLinux::Event::Loop', '-e',
            'Linux::Event::Loop->new(model => "proactor", backend => "uring")') == 0;
        return $ok;
    }
    return 1;
}

my @list = grep {
    my $ok = available($_);
    warn "udp bench: leaving out $_ (its modules or io_uring are missing)\n" unless $ok;
    $ok
} @SERVERS;
die "udp bench: no server to run\n" unless @list;

sub pinned ($cpu, @cmd) { return $have_taskset ? ('taskset', '-c', $cpu, @cmd) : @cmd }

sub one_run ($srv) {
    my @inc = $srv =~ /^evloop/ ? @INC_EVL : ();
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        exec(pinned($SRV_CPU, $^X, @inc, $0, '--server', $srv)) or die "exec: $!";
    }
    my $port = <$out>;
    die "udp bench: $srv did not start\n" unless defined $port;
    chomp $port;
    my @cmd = pinned($CLI_CPU, "$work/udp_client", $port, $COUNT, $WINDOW, $SIZE);
    my $line = `@cmd`;
    waitpid($pid, 0);
    my ($rate, $lost, $cpu) = split ' ', $line // '';
    die "udp bench: the client failed against $srv\n" unless defined $cpu;
    return ($rate, $cpu / $COUNT, $lost);
}

sub median (@v) {
    @v = sort { $a <=> $b } @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my (%rate, %cpu);
printf "server\tround\tdgrams_per_sec\tsrv_cpu_us_per_dgram\tlost\n";
for my $round (1 .. $ROUNDS) {
    my $k     = ($round - 1) % @list;
    my @order = (@list[ $k .. $#list ], @list[ 0 .. $k - 1 ]);
    for my $srv (@order) {
        my ($r, $c, $lost) = one_run($srv);
        push @{ $rate{$srv} }, $r;
        push @{ $cpu{$srv} },  $c;
        printf "%s\t%d\t%.0f\t%.2f\t%d\n", $srv, $round, $r, $c, $lost;
    }
}

print "\nmedians over $ROUNDS rounds, $COUNT datagrams of $SIZE bytes, window $WINDOW\n";
printf "%-14s %14s %14s %16s %16s\n", 'server', 'dgrams/s', 'cpu us/dgram', 'evloop x rate',
    'evloop x cpu';
my $ref = $list[0] eq 'evloop' || grep({ $_ eq 'evloop' } @list) ? 'evloop' : $list[0];
my ($ref_rate, $ref_cpu) = (median(@{ $rate{$ref} }), median(@{ $cpu{$ref} }));
for my $srv (@list) {
    my ($r, $c) = (median(@{ $rate{$srv} }), median(@{ $cpu{$srv} }));
    printf "%-14s %14.0f %14.2f %15.2fx %15.2fx\n", $srv, $r, $c, $ref_rate / $r, $c / $ref_cpu;
}
print "(evloop x rate: evloop's datagrams/s over the server's; evloop x cpu: the\n",
    " server's CPU per datagram over evloop's; above 1 means evloop is ahead)\n";
