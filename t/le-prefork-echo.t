#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Issue 14, item 7: examples/prefork-echo.pl --serve with 2 workers on port
# 0.  The parent reports the port (stdout and --port-file) and each worker
# once it listens; both echo; a worker killed with SIGKILL is replaced by
# a new one; SIGTERM to the parent stops every worker and the parent
# exits 0, leaving no process behind.  Everything synchronises on the
# parent's stdout (a pipe), never on sleeps.
use v5.36;
use Test::More;
use IO::Socket::INET;
use File::Temp ();
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path(dirname(__FILE__) . '/..');
my @inc = map { "-I$_" } grep { m{blib} } @INC;
my $dir = File::Temp->newdir;
my $pf  = "$dir/port";

my $pid = open(my $out, '-|', $^X, @inc, "$top/examples/prefork-echo.pl",
    '--serve', '--workers', 2, '--port', 0, '--port-file', $pf) // die "start: $!";
local $SIG{ALRM} = sub { kill KILL => $pid; die "timeout\n" };
alarm 60;

sub next_line () {
    my $l = <$out>;
    die "prefork-echo.pl ended early\n" unless defined $l;
    chomp $l;
    return $l;
}

my ($port) = next_line() =~ /^port (\d+)$/ or die 'no port line';
ok($port > 0, "the parent reports the port ($port)");
open my $pfh, '<', $pf or die "$pf: $!";
chomp(my $fport = <$pfh>);
is($fport, $port, '... and writes it to --port-file');

my %ready;
while (keys %ready < 2) {
    my $l = next_line();
    $ready{$1} = 1 if $l =~ /^worker (\d+) ready$/;
}
my @w = sort keys %ready;
is(scalar @w, 2, "two workers ready (@w)");

sub echo ($text) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die "connect: $!";
    print {$c} "$text\n";
    my $back = <$c>;
    close $c;
    return $back;
}
is(echo("ping $_"), "ping $_\n", "echo $_") for 1 .. 4;

# A worker dies: the parent starts another.
kill KILL => $w[0];
my $new;
while (!defined $new) {
    my $l = next_line();
    $new = $1 if $l =~ /^worker (\d+) ready$/;
}
ok(!$ready{$new}, "worker $w[0] killed: replaced by worker $new");
ok(!kill(0, $w[0]), 'the dead worker is gone (reaped)');
is(echo('after'), "after\n", 'echo after the restart');

# SIGTERM: every worker stops, then the parent.
kill TERM => $pid;
my @rest;
while (defined(my $l = <$out>)) { chomp $l; push @rest, $l }
close $out;
is($?, 0, 'the parent exits 0');
is($rest[-1], 'stopped', 'and says so');
ok(!kill(0, $_), "worker $_ is gone") for $w[1], $new;
alarm 0;

done_testing;
