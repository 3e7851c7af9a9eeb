#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# bench/perl-accept.pl [N] [ROUNDS] - accept throughput of
# Linux::Event::Listen: a server process whose on_accept closes each
# connection, on a reactor loop, on an io_uring proactor loop with the
# multishot accept (the default there) and with one-shot accept operations
# (multishot => 0), against one client process that opens N loopback
# connections (default 20,000) and resets each at once (SO_LINGER 0: no
# TIME_WAIT, so rounds do not run out of ports).  Two client patterns:
# "seq" (connect, reset, next) and "burst" (64 connects, then 64 resets).
# Each round runs every server once, the order rotated per round; the
# figures are medians over ROUNDS (default 5): connections per second
# (client wall time) and server CPU (user + system) per connection, with
# the ratio against the reactor server of the same rounds.  With
# EVL_BENCH_BASE_LISTEN=path/to/an/older/Listen.pm a fourth server runs
# that Listen.pm on the io_uring proactor (loaded over the current one in
# the server process only): the "before" of a change.
#   perl -Iblib/lib -Iblib/arch bench/perl-accept.pl 20000 5
#   git show main:perlio/lib/Linux/Event/Listen.pm > /tmp/Listen-main.pm
#   EVL_BENCH_BASE_LISTEN=/tmp/Listen-main.pm perl -Iblib/lib -Iblib/arch bench/perl-accept.pl
use v5.36;
use Time::HiRes qw(time);
use Socket qw(SOL_SOCKET SO_LINGER);
use IO::Socket::IP;
use POSIX ();
use Linux::Event;
use Linux::Event::Listen;

my $n       = shift // 20_000;
my $rounds  = shift // 5;
my @servers = (
    ['reactor', sub { Linux::Event->new }, {}],
    ['proactor multishot', \&uring, {}],
    ['proactor one-shot', \&uring, { multishot => 0 }],
);
my $base = $ENV{EVL_BENCH_BASE_LISTEN};
push @servers, ['proactor base', \&uring, {}, $base] if defined $base;
my @patterns = (['seq', 1], ['burst', 64]);

sub uring () { return Linux::Event::Loop->new(model => 'proactor', backend => 'uring') }

# The server: Listen on port 0, reports the port, accepts $n connections,
# then reports its CPU seconds for them and exits.
sub server ($make, $opts, $listen_pm) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        $w->autoflush(1);
        if (defined $listen_pm) {
            local $SIG{__WARN__} = sub ($w) { warn $w unless $w =~ /^Subroutine \w+ redefined/ };
            do $listen_pm or die "$listen_pm: " . ($@ || $!);
        }
        my $loop = $make->();
        my ($count, $cpu0) = (0);
        my $l = Linux::Event::Listen->new(
            loop    => $loop,
            host    => '127.0.0.1',
            port    => 0,
            backlog => 4096,
            %$opts,
            on_accept => sub ($lp, $fh, $peer, $li) {
                close $fh;
                $loop->stop if ++$count == $n;
            },
        );
        my ($u0, $s0) = times;
        print {$w} $l->sockport, "\n";
        $loop->run;
        my ($u1, $s1) = times;
        my $mode = defined $listen_pm ? 'base' : $l->_accept_mode;
        print {$w} $u1 + $s1 - $u0 - $s0, ' ', $mode, "\n";
        POSIX::_exit(0);
    }
    close $w;
    my $port = <$r> // die "server died\n";
    chomp $port;
    return ($pid, $r, $port);
}

my $linger = pack('ii', 1, 0);

sub client ($port, $burst) {
    my $left = $n;
    while ($left > 0) {
        my @s;
        for (1 .. ($burst < $left ? $burst : $left)) {
            my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
                // die "connect: $!";
            setsockopt($c, SOL_SOCKET, SO_LINGER, $linger);
            push @s, $c;
        }
        $left -= @s;
        close $_ for @s;
    }
}

sub median (@v) {
    @v = sort { $a <=> $b } @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my (%rate, %cpu, %mode);
for my $p (@patterns) {
    my ($pname, $burst) = @$p;
    for my $round (0 .. $rounds - 1) {
        my @order = map { $servers[($_ + $round) % @servers] } 0 .. $#servers;
        for my $s (@order) {
            my ($name, $make, $opts, $listen_pm) = @$s;
            my ($pid, $r, $port) = server($make, $opts, $listen_pm);
            my $t0 = time;
            client($port, $burst);
            my $line = <$r> // die "$name: server died\n";
            my $wall = time - $t0;
            waitpid($pid, 0);
            my ($secs, $m) = split ' ', $line;
            push @{ $rate{$pname}{$name} }, $n / $wall;
            push @{ $cpu{$pname}{$name} }, $secs / $n * 1e6;
            $mode{$name} = $m;
        }
    }
}

my $load = "?\n";
if (open(my $f, '<', '/proc/loadavg')) { $load = <$f> }
printf "accept: %d connections x %d rounds, load average %s", $n, $rounds, $load;
printf "%-6s %-20s %-10s %12s %8s %14s %8s\n", 'client', 'server', 'mode', 'conn/s',
    'ratio', 'server us/conn', 'ratio';
for my $p (@patterns) {
    my $pname = $p->[0];
    my $rr    = median(@{ $rate{$pname}{reactor} });
    my $rc    = median(@{ $cpu{$pname}{reactor} });
    for my $s (@servers) {
        my $name = $s->[0];
        my $rate = median(@{ $rate{$pname}{$name} });
        my $cpu  = median(@{ $cpu{$pname}{$name} });
        printf "%-6s %-20s %-10s %12.0f %8.2f %14.2f %8.2f\n", $pname, $name, $mode{$name}, $rate,
            $rate / $rr, $cpu, $cpu / $rc;
    }
}
