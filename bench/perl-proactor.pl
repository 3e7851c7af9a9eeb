#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-proactor.pl - socketpair ping-pong through Linux::Event proactor
# operations (io_uring) against EV and IO::Async readiness loops.
#
# One round trip: side A sends a MSG-byte message, side B receives it and
# sends it back, A receives it.  Contenders, all in this one process:
#   proactor   Linux::Event::Proactor (backend uring): recv and send ops,
#              the next recv submitted from each completion callback
#   proactor-facade  the same through Linux::Event::Loop (model proactor)
#   EV         EV::io read watchers, sysread + syswrite in the callbacks
#   IO::Async  IO::Async::Loop (its best backend) watch_io on_read_ready,
#              sysread + syswrite
#   raw        no loop: syswrite/sysread in sequence (the syscall floor)
# Each contender runs N round trips per round; ROUNDS rounds with the
# contenders in rotating order; the median rate is reported, and the
# median of same-round ratios (proactor and proactor-facade) against EV
# and IO::Async.
#
# usage: perl -Mblib bench/perl-proactor.pl [N=100000] [ROUNDS=3] [MSG=16]
#   (KEY=VALUE arguments or environment variables)
# output: "RESULT pingpong <contender> <round trips/s>" lines on stderr,
#   then a markdown table on stdout.
# Bounded: alarm 600 s; only a socketpair is used.
use v5.36;
use strict;
use warnings;
use Socket qw(AF_UNIX SOCK_STREAM);
use Time::HiRes qw(time);

my %cfg = (N => 100_000, ROUNDS => 3, MSG => 16);
for my $k (keys %cfg) { $cfg{$k} = $ENV{$k} if defined $ENV{$k} }
for (@ARGV) { my ($k, $v) = split /=/, $_, 2; $cfg{$k} = $v if exists $cfg{$k} }
our $N;
my ($ROUNDS, $MSG) = @cfg{qw(ROUNDS MSG)};
$N = $cfg{N};
alarm 600;

my $msg = 'p' x $MSG;

sub pair () {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
    return ($a, $b);
}

my %bench;

$bench{proactor} = sub ($facade = 0) {
    require Linux::Event::Proactor;
    my $loop = $facade
        ? do { require Linux::Event::Loop; Linux::Event::Loop->new(model => 'proactor') }
        : Linux::Event::Proactor->new(backend => 'uring');
    my ($a, $b) = pair();
    my $n = 0;
    my ($on_a, $on_b);
    $on_b = sub ($op, $res, $d) {
        my $l = $op->loop;
        $l->send(fh => $b, buf => $res->{data});
        $l->recv(fh => $b, len => 4096, on_complete => $on_b);
    };
    $on_a = sub ($op, $res, $d) {
        my $l = $op->loop;
        if (++$n >= $N) { $l->stop; return }
        $l->send(fh => $a, buf => $msg);
        $l->recv(fh => $a, len => 4096, on_complete => $on_a);
    };
    $loop->recv(fh => $b, len => 4096, on_complete => $on_b);
    $loop->recv(fh => $a, len => 4096, on_complete => $on_a);
    $loop->send(fh => $a, buf => $msg);
    my $t0 = time;
    $loop->run;
    my $dt = time - $t0;
    die "proactor: $n round trips" unless $n == $N;
    undef $on_a;
    undef $on_b;
    return $N / $dt;
};

$bench{'proactor-facade'} = sub { $bench{proactor}->(1) };

$bench{EV} = sub {
    require EV;
    my ($a, $b) = pair();
    my $n = 0;
    my $buf;
    my $wb = EV::io($b, EV::READ(), sub {
        sysread($b, $buf, 4096);
        syswrite($b, $buf);
    });
    my $wa = EV::io($a, EV::READ(), sub {
        sysread($a, $buf, 4096);
        if (++$n >= $N) { EV::break(); return }
        syswrite($a, $msg);
    });
    syswrite($a, $msg);
    my $t0 = time;
    EV::run();
    my $dt = time - $t0;
    die "EV: $n round trips" unless $n == $N;
    return $N / $dt;
};

$bench{'IO::Async'} = sub {
    require IO::Async::Loop;
    my $loop = IO::Async::Loop->really_new;
    my ($a, $b) = pair();
    my $n = 0;
    my $buf;
    $loop->watch_io(handle => $b, on_read_ready => sub {
        sysread($b, $buf, 4096);
        syswrite($b, $buf);
    });
    $loop->watch_io(handle => $a, on_read_ready => sub {
        sysread($a, $buf, 4096);
        if (++$n >= $N) { $loop->stop; return }
        syswrite($a, $msg);
    });
    syswrite($a, $msg);
    my $t0 = time;
    $loop->run;
    my $dt = time - $t0;
    $loop->unwatch_io(handle => $_, on_read_ready => 1) for $a, $b;
    die "IO::Async: $n round trips" unless $n == $N;
    return $N / $dt;
};

$bench{raw} = sub {
    my ($a, $b) = pair();
    my $buf;
    my $t0 = time;
    for (1 .. $N) {
        syswrite($a, $msg);
        sysread($b, $buf, 4096);
        syswrite($b, $buf);
        sysread($a, $buf, 4096);
    }
    return $N / (time - $t0);
};

# A short warm-up run of each; a contender that cannot run is skipped.
my @names = grep {
    my $name = $_;
    my $ok = eval { local $N = 100; $bench{$name}->(); 1 };
    warn "skipping $name: $@" unless $ok;
    $ok;
} ('proactor', 'proactor-facade', 'EV', 'IO::Async', 'raw');

my (%rates, %ratios);
for my $round (1 .. $ROUNDS) {
    my @order = @names[map { ($_ + $round) % @names } 0 .. $#names];
    my %r;
    for my $name (@order) {
        $r{$name} = $bench{$name}->();
        printf STDERR "RESULT pingpong %s %.0f\n", $name, $r{$name};
        push @{ $rates{$name} }, $r{$name};
    }
    for my $c ('proactor', 'proactor-facade') {
        for my $peer ('EV', 'IO::Async') {
            next unless $r{$peer} && $r{$c};
            push @{ $ratios{"$c / $peer"} }, $r{$c} / $r{$peer};
        }
    }
}

sub median (@v) { @v = sort { $a <=> $b } @v; return $v[$#v / 2] }

printf "\nsocketpair ping-pong, %d round trips of %d bytes, median of %d rounds\n\n",
    $N, $MSG, $ROUNDS;
print "| contender | round trips/s |\n|---|---:|\n";
printf "| %s | %.0f |\n", $_, median(@{ $rates{$_} }) for @names;
print "\n";
printf "%s: %.2fx\n", $_, median(@{ $ratios{$_} })
    for grep { $ratios{$_} } map { ("proactor / $_", "proactor-facade / $_") } 'EV', 'IO::Async';
