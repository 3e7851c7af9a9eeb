#!/usr/bin/env perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-ioasync-toggle.pl - the loop's own part of an IO::Async::Stream line:
# a socket watched for reading gets a write watch (watch_io on_write_ready),
# the write callback removes it (unwatch_io), around two loop_once(0), as
# a stream does for each line it writes.  IO::Async::Loop::LinuxEvent
# against IO::Async::Loop::Epoll, each in its own process, rotated.
#
# usage: perl -Mblib bench/perl-ioasync-toggle.pl [N=50000] [ROUNDS=3]
# prints CPU microseconds per toggle for each loop, best of ROUNDS.
use v5.36;
use IO::Async::OS;

my %opt = (N => 50_000, ROUNDS => 3);
for (@ARGV) {
    if (/^--loop=(\w+)\z/) { $opt{LOOP} = $1; next }
    my ($k, $v) = split /=/, $_, 2;
    die "usage: $0 [N=n] [ROUNDS=n]\n" if !defined $v || !exists $opt{$k};
    $opt{$k} = $v;
}

if ($opt{LOOP}) {
    my $class = "IO::Async::Loop::$opt{LOOP}";
    eval "require $class; 1" or die $@;    ## no critic (ProhibitStringyEval)
    my $loop = $class->new;
    my ($s1, $s2) = IO::Async::OS->socketpair or die "socketpair: $!";
    $_->blocking(0) for $s1, $s2;
    $loop->watch_io(handle => $s1, on_read_ready => sub { });
    my $n = 0;
    my $w = sub { $loop->unwatch_io(handle => $s1, on_write_ready => 1); $n++ };
    my @c0 = times;
    for (1 .. $opt{N}) {
        $loop->watch_io(handle => $s1, on_write_ready => $w);
        $loop->loop_once(0);
        $loop->loop_once(0);
    }
    my @c1 = times;
    die "only $n of $opt{N} write callbacks ran\n" if $n != $opt{N};
    printf "RESULT %s %.2f\n", $opt{LOOP}, 1e6 * ($c1[0] + $c1[1] - $c0[0] - $c0[1]) / $opt{N};
    exit 0;
}

my %best;
my @inc   = map {"-I$_"} grep { !ref } @INC;
my @loops = qw(Epoll LinuxEvent);
for my $round (1 .. $opt{ROUNDS}) {
    for my $l ($round % 2 ? @loops : reverse @loops) {
        my $out = `$^X @inc $0 --loop=$l N=$opt{N}`;
        my (undef, undef, $us) = split ' ', $out // '';
        die "$l failed: $out\n" if !$us;
        $best{$l} = $us if !$best{$l} || $us < $best{$l};
    }
}
printf "%-10s %8.2f us CPU per write-watch toggle (best of %d)\n", $_, $best{$_}, $opt{ROUNDS} for @loops;
printf "Epoll / LinuxEvent: %.2fx\n", $best{Epoll} / $best{LinuxEvent};
