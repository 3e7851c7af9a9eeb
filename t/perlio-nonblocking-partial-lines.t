#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Non-blocking handles never block and never lose a byte.  :evloop alone:
# reads return what is buffered or undef/EAGAIN, eof is false on an idle
# socket, print queues.  With :evline on top, readline returns only whole
# lines while a writer sends random chunk sizes, undef/EAGAIN meanwhile,
# and the unterminated tail at EOF.
use strict;
use warnings;
use Test::More;
use Errno qw(EAGAIN);
use IO::Handle;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use lib 't/lib';
use EvlTest qw(tcp_pair);

sub wait_readable {
    my ($fh) = @_;
    my $rin = '';
    vec($rin, fileno($fh), 1) = 1;
    select($rin, undef, undef, 10) > 0 or die "timed out waiting for data";
}

# ---------------------------------------------------------------- :evloop alone
{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die $!;
    ok(binmode($a, ':evloop'), 'binmode :evloop on a socket');
    is_deeply([PerlIO::get_layers($a)], ['unix', 'evloop'], 'read side: unix evloop');
    is_deeply([PerlIO::get_layers($a, output => 1)], ['unix', 'evloop'], 'write side: unix evloop');
    $a->blocking(0);

    $! = 0;
    my $l = <$a>;
    ok(!defined $l && $! == EAGAIN, 'readline on an idle socket: undef, $! EAGAIN');
    ok(!eof($a), 'eof is false on an idle socket');
    ok(!$a->error, 'EAGAIN is not an error on the handle');
    my $buf = 'keep';
    $! = 0;
    my $n = read($a, $buf, 10);
    ok(!defined $n && $! == EAGAIN, 'read with nothing buffered: undef, EAGAIN');
    is(getc($a), undef, 'getc: undef');

    syswrite($b, "abc");
    wait_readable($a);
    is(read($a, $buf, 10), 3, 'read returns what arrived (3 of 10)');
    is($buf, 'abc', '... the bytes');
    syswrite($b, "xy\nz");
    wait_readable($a);
    is(scalar <$a>, "xy\n", 'readline: a whole line');
    ok(!eof($a), 'eof false with a partial line buffered');
    is(scalar <$a>, 'z', 'without :evline a partial line comes out as is');

    my $big = 'p' x 3_000_000;
    ok((print {$a} $big), 'print of 3 MB on a non-blocking socket succeeds (queued)');
    ok((print {$a} "end\n"), 'and the next print too');
    defined(my $pid = fork) or die "fork: $!";
    if ($pid == 0) {
        close $a;
        my $all = '';
        1 while sysread($b, $all, 65536, length $all);
        exit($all eq $big . "end\n" ? 0 : 1);
    }
    close $b;
    ok(close($a), 'close waits for the queue and returns true');
    waitpid($pid, 0);
    is($?, 0, 'the peer got every byte, in order');
}

# ---------------------------------------------------------------- :evline
sub lines_through_evline {
    my ($seed) = @_;
    srand($seed);
    my @lines = map { join('', map { chr(97 + int rand 26) } 1 .. int rand 200) . "\n" } 1 .. 300;
    push @lines, "tail without newline";
    my $data = join '', @lines;
    my ($c, $s) = tcp_pair();
    # The writer waits for a go after each chunk, so the reader sees every
    # kind of cut: mid-line, at a newline, several lines at once.
    pipe(my $go_r, my $go_w) or die $!;
    $go_w->autoflush(1);
    defined(my $pid = fork) or die "fork: $!";
    if ($pid == 0) {
        close $s; close $go_w;
        my $off = 0;
        while ($off < length $data) {
            my $len = 1 + int rand(rand() < 0.3 ? 5 : 700);
            $off += syswrite($c, substr($data, $off, $len));
            sysread($go_r, my $x, 1) or last;
        }
        close $c;
        exit 0;
    }
    close $c; close $go_r;
    binmode($s, ':evloop:evline') or die "binmode: $!";
    $s->blocking(0);
    my (@got, $eagains, $bad);
    while (1) {
        $! = 0;
        my $l = <$s>;
        if (defined $l) {
            push @got, $l;
            $bad++ if $l !~ /\n\z/ && $l ne 'tail without newline';
            next;
        }
        last if $! != EAGAIN;
        $eagains++;
        syswrite($go_w, 'g');
        wait_readable($s);
    }
    close $go_w;
    waitpid($pid, 0);
    close $s;
    return (\@lines, \@got, $eagains, $bad);
}

for my $seed (1 .. 3) {
    my ($want, $got, $eagains, $bad) = lines_through_evline($seed);
    is_deeply($got, $want, "seed $seed: every line, whole and in order, then the tail");
    ok(!$bad, "seed $seed: no partial line was returned");
    ok($eagains > 10, "seed $seed: readline said EAGAIN while lines were incomplete ($eagains times)");
}

{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die $!;
    binmode($a, ':evloop:evline') or die;
    $a->blocking(0);
    syswrite($b, "part");
    wait_readable($a);
    $! = 0;
    ok(!defined(<$a>) && $! == EAGAIN, ':evline: partial line gives undef/EAGAIN');
    ok(!eof($a), ':evline: eof false while a partial line waits');
    $! = 0;
    my $n = read($a, my $buf, 100);
    ok(!defined $n && $! == EAGAIN, ':evline: read() sees no partial line either');
    syswrite($b, "ial\nnext\n");
    wait_readable($a);
    is(scalar <$a>, "partial\n", 'the line once its newline is in');
    is(getc($a), 'n', 'getc inside a complete line');
    is(scalar <$a>, "ext\n", 'rest of that line');
    syswrite($b, "x");
    close $b;
    wait_readable($a);
    my $l;
    for (1 .. 100) { $l = <$a>; last if defined $l || $! != EAGAIN; }
    is($l, 'x', 'the unterminated tail at EOF');
    is(scalar <$a>, undef, 'then EOF');
    ok(eof($a), 'eof true after the peer closed');
}

{
    # The view ends after the last whole line: a big read() takes every
    # whole line in it at once and stops before the partial one, which
    # stays until its newline comes, however many fills it takes.
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die $!;
    binmode($a, ':evloop:evline') or die;
    $a->blocking(0);
    syswrite($b, "l1\nl2\nl3\npar");
    wait_readable($a);
    is(read($a, my $buf, 100), 9, ':evline: read(100) returns the three whole lines');
    is($buf, "l1\nl2\nl3\n", '... and not the partial one');
    syswrite($b, "t" x 100_000);
    wait_readable($a);
    $! = 0;
    ok(!defined(<$a>) && $! == EAGAIN, 'a partial line over several fills: still EAGAIN');
    syswrite($b, "\nafter\n");
    my $l;
    for (1 .. 1000) { $! = 0; $l = <$a>; last if defined $l || $! != EAGAIN; wait_readable($a) }
    is(length($l), 100_004, 'then the whole long line at once');
    is(scalar <$a>, "after\n", 'and the next one');
}

# ---------------------------------------------------------------- slurp
# A slurp ($/ undef) with nothing to read returns undef with $! EAGAIN,
# as the POD says and :perlio does, not the '' perl gives an empty file;
# bytes that are there come back (whole lines only under :evline); the
# handle is no worse for it.
for my $layers (':evloop', ':evloop:evline') {
    pipe(my $r, my $w) or die "pipe: $!";
    binmode($r, $layers) or die "binmode: $!";
    $r->blocking(0);
    my $slurp = sub { local $/; $! = 0; my $got = <$r>; ($got, $! + 0) };
    my ($got, $err) = $slurp->();
    ok(!defined $got && $err == EAGAIN, "$layers: slurp with nothing to read: undef, EAGAIN");
    is($. // 0, 0, "$layers: ... and it counted no line");
    syswrite($w, "abc\ndef") == 7 or die "syswrite: $!";
    ($got, $err) = $slurp->();
    is($got, $layers eq ':evloop' ? "abc\ndef" : "abc\n", "$layers: slurp returns what there is");
    if ($layers eq ':evloop') {
        ($got, $err) = $slurp->();
        ok(!defined $got && $err == EAGAIN, "$layers: then undef, EAGAIN again");
    }
    ok(!$r->error, "$layers: EAGAIN is still no error on the handle outside a slurp");
    close $w;
    ($got, $err) = $slurp->();
    is($got, $layers eq ':evloop' ? undef : 'def', "$layers: at EOF, what is left (or undef)");
    ok(close($r), "$layers: close succeeds");
}

done_testing;
