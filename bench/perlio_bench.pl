#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perlio_bench.pl - the :evloop / :evline PerlIO layers against stock :perlio
# and against a pure-Perl line reader, every contender in the same run.
#
# Measures (each figure: ROUNDS rounds, contenders in rotating order inside
# every round, median of the values and median of the same-round ratios):
#   readline  while (<$fh>) over a SIZE_MB text file (lines of 0..119 chars,
#             mkdata.pl's generator, fixed seed), '<:evloop' vs '<:perlio':
#             Mlines/s and MB/s (wall), page cache warm
#   block     read($fh, $buf, 65536) over the same file: MB/s
#   print     PRINT_LINES prints of ~20-byte lines (15..25 bytes) to a new
#             file, open + prints + close, '>:evloop' vs '>:perlio': Mlines/s
#   socket    a forked writer pushes SOCK_MB of lines over loopback TCP
#             (127.0.0.1, port 0) as fast as it can; the reader's socket is
#             non-blocking.  Contenders:
#               evline  binmode ':evloop:evline', readline until undef/EAGAIN,
#                       then select() for readability
#               split   sysread 64 KiB appended to a carry-over buffer,
#                       split /\n/, -1, the last field carried over
#               index   sysread 64 KiB + index/substr per line (as
#                       bench-reference/readfile.pl sysread_lines)
#             reader Mlines/s (wall, accept..EOF) and reader CPU (user+sys
#             from times(), the writer is another process) in ns per line.
# Every contender counts lines and bytes; each count is checked against
# the generated data (die on mismatch).  Per-line work is the same for all:
# one counter increment and one length().
# Ratios are speed ratios: above 1.00 means the first named is faster
# (for CPU: uses less CPU per line).  Targets (from the issue): :evloop >=
# 1.00 x :perlio on readline/block/print; evline >= 1.50 x the pure-Perl
# (split) reader on the socket.
#
# usage: perl -Mblib bench/perlio_bench.pl [ROUNDS=3] [SIZE_MB=200]
#            [PRINT_LINES=5000000] [SOCK_MB=100] [ONLY=readline,block,print,socket]
#   (KEY=VALUE arguments or environment variables; bench/run-perlio.sh
#   builds and runs it.)
# output: one "RESULT bench figure contender value unit" line per measurement
#   and "RATIO bench figure a/b value" per round on stderr, then a markdown
#   table on stdout.
# Bounded: alarm 600 s; the files are File::Temp files in /tmp, removed at
# exit (also on die); the socket listens on 127.0.0.1 port 0 only; the
# writer child is killed if the reader dies.
use strict;
use warnings;
use File::Temp ();
use IO::Handle;
use Socket qw(AF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR IPPROTO_TCP
              TCP_NODELAY pack_sockaddr_in unpack_sockaddr_in inet_aton);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use POSIX ();
use Time::HiRes qw(time);

my %opt = (ROUNDS => 3, SIZE_MB => 200, PRINT_LINES => 5_000_000, SOCK_MB => 100,
           ONLY => 'readline,block,print,socket');
for my $k (keys %opt) { $opt{$k} = $ENV{$k} if defined $ENV{$k} }
for (@ARGV) {
    /^(\w+)=(.*)$/ && exists $opt{$1} or die "usage: $0 [KEY=VALUE ...] (keys: @{[sort keys %opt]})\n";
    $opt{$1} = $2;
}
my %only = map { $_ => 1 } split /,/, $opt{ONLY};
alarm 600;
$| = 1;

# Load the layer now, so that no contender pays for it.
require PerlIO::evloop;

my $tmpdir = '/tmp';
my @cleanup;                                   # File::Temp objects: unlinked at exit
my $writer_pid;
END { kill 'KILL', $writer_pid if $writer_pid && $writer_pid > 0 }
$SIG{INT} = $SIG{TERM} = sub { die "signal\n" };

sub cpu { my ($u, $s) = times; $u + $s }
sub median { my @v = sort { $a <=> $b } @_; @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2 }

# ---------------------------------------------------------------- data file

# mkdata.pl's generator: lines of int(rand 120) chars + "\n", srand(42).
sub make_lines_data {
    my ($target, $seed, $out_fh) = @_;
    srand($seed);
    my $alpha = join '', map { chr(97 + $_ % 26) } 0 .. 260;
    my ($n, $lines, $out, $all) = (0, 0, '', '');
    while ($n < $target) {
        my $len = int(rand(120));
        my $l = substr($alpha, $len % 26, $len) . "\n";
        $out .= $l; $n += length $l; $lines++;
        if (length $out > 1 << 20) {
            if ($out_fh) { print $out_fh $out } else { $all .= $out }
            $out = '';
        }
    }
    if ($out_fh) { print $out_fh $out } else { $all .= $out }
    return ($n, $lines, $all);
}

my ($data_path, $data_bytes, $data_lines);
if ($only{readline} || $only{block}) {
    my $t0 = time;
    my $tf = File::Temp->new(DIR => $tmpdir, TEMPLATE => 'evl-perlio-bench-XXXXXXXX', UNLINK => 1);
    push @cleanup, $tf;
    $data_path = $tf->filename;
    open(my $fh, '>:raw', $data_path) or die "$data_path: $!";
    ($data_bytes, $data_lines) = make_lines_data($opt{SIZE_MB} * 1_000_000, 42, $fh);
    close $fh or die "$data_path: $!";
    die "size mismatch\n" unless -s $data_path == $data_bytes;
    # warm the page cache
    open($fh, '<:raw:unix', $data_path) or die; my $buf; 1 while sysread($fh, $buf, 1 << 20); close $fh;
    printf STDERR "# data: %s bytes=%d lines=%d (made in %.1f s)\n", $data_path, $data_bytes, $data_lines, time - $t0;
}

# ---------------------------------------------------------------- contenders

sub bench_readline {
    my ($layer) = @_;
    open(my $fh, "<$layer", $data_path) or die "open <$layer: $!";
    my ($n, $b) = (0, 0);
    my ($t0, $c0) = (time, cpu);
    while (my $l = <$fh>) { $n++; $b += length $l }
    my ($t1, $c1) = (time, cpu);
    close $fh or die "close: $!";
    die "readline $layer: lines=$n bytes=$b, want $data_lines/$data_bytes\n"
        unless $n == $data_lines && $b == $data_bytes;
    return { secs => $t1 - $t0, cpu => $c1 - $c0, lines => $n, bytes => $b };
}

sub bench_block {
    my ($layer) = @_;
    open(my $fh, "<$layer", $data_path) or die "open <$layer: $!";
    my ($b, $r, $buf) = (0);
    my ($t0, $c0) = (time, cpu);
    while ($r = read($fh, $buf, 65536)) { $b += $r }
    my ($t1, $c1) = (time, cpu);
    die "read: $!" unless defined $r;
    close $fh or die "close: $!";
    die "block $layer: bytes=$b, want $data_bytes\n" unless $b == $data_bytes;
    return { secs => $t1 - $t0, cpu => $c1 - $c0, bytes => $b };
}

my @short = map { ('x' x (14 + $_ % 11)) . "\n" } 0 .. 63;   # 15..25 bytes
my $print_path;
if ($only{print}) {
    my $tf = File::Temp->new(DIR => $tmpdir, TEMPLATE => 'evl-perlio-print-XXXXXXXX', UNLINK => 1);
    push @cleanup, $tf;
    $print_path = $tf->filename;
}
my $print_bytes = 0;
$print_bytes += length $short[$_ & 63] for 1 .. $opt{PRINT_LINES};

sub bench_print {
    my ($layer) = @_;
    my $N = $opt{PRINT_LINES};
    unlink $print_path;                    # a fresh file each time, no truncate cost
    my ($t0, $c0) = (time, cpu);
    open(my $fh, ">$layer", $print_path) or die "open >$layer: $!";
    for my $i (1 .. $N) { print $fh $short[$i & 63] }
    close $fh or die "close: $!";
    my ($t1, $c1) = (time, cpu);
    my $size = -s $print_path;
    die "print $layer: size=$size, want $print_bytes\n" unless $size == $print_bytes;
    return { secs => $t1 - $t0, cpu => $c1 - $c0, lines => $N, bytes => $size };
}

# socket: the payload is prepared once, before any fork
my ($sock_data, $sock_bytes, $sock_lines, $sock_reps, $chunk_lines);
if ($only{socket}) {
    my ($cb, $cl, $chunk) = make_lines_data(4_000_000, 7, undef);   # ~4 MB of whole lines
    $sock_reps = int($opt{SOCK_MB} * 1_000_000 / $cb + 0.5) || 1;
    ($sock_data, $sock_bytes, $sock_lines, $chunk_lines) = ($chunk, $cb * $sock_reps, $cl * $sock_reps, $cl);
    printf STDERR "# socket payload: %d bytes, %d lines (%d x %d-byte chunk)\n",
        $sock_bytes, $sock_lines, $sock_reps, $cb;
}

# Listens on 127.0.0.1:0, forks a writer that connects and writes the
# payload, returns the accepted socket (blocking) and the writer's pid.
sub start_writer {
    socket(my $ls, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($ls, SOL_SOCKET, SO_REUSEADDR, 1) or die;
    bind($ls, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die "bind: $!";
    listen($ls, 1) or die "listen: $!";
    my ($port) = unpack_sockaddr_in(getsockname($ls));
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ok = eval {
            close $ls;
            socket(my $c, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
            connect($c, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or die "connect: $!";
            my $len = length $sock_data;
            for (1 .. $sock_reps) {
                my $off = 0;
                while ($off < $len) {
                    my $w = syswrite($c, $sock_data, $len - $off, $off);
                    die "write: $!" unless defined $w || $! == EINTR;
                    $off += $w // 0;
                }
            }
            shutdown($c, 1);
            close $c;
            1;
        };
        print STDERR "writer: $@" unless $ok;
        POSIX::_exit($ok ? 0 : 1);          # no END blocks, no File::Temp cleanup
    }
    $writer_pid = $pid;
    accept(my $s, $ls) or die "accept: $!";
    close $ls;
    return ($s, $pid);
}

sub finish_writer {
    my ($pid) = @_;
    waitpid($pid, 0);
    $writer_pid = undef;
    die "writer failed: status $?\n" if $?;
}

sub check_sock {
    my ($name, $n, $b) = @_;
    die "socket $name: lines=$n bytes=$b, want $sock_lines/$sock_bytes\n"
        unless $n == $sock_lines && $b == $sock_bytes;
}

sub bench_sock_evline {
    my ($s, $pid) = start_writer();
    binmode($s, ':evloop:evline') or die "binmode :evloop:evline: $!";
    $s->blocking(0);
    my $rin = ''; vec($rin, fileno($s), 1) = 1;
    my ($n, $b) = (0, 0);
    my ($t0, $c0) = (time, cpu);
    for (;;) {
        $! = 0;
        while (defined(my $l = <$s>)) { $n++; $b += length $l }
        if ($! == EAGAIN || $! == EWOULDBLOCK) { select(my $r = $rin, undef, undef, undef); next }
        die "readline: $!" if $! && $! != EINTR;
        last if eof($s);
    }
    my ($t1, $c1) = (time, cpu);
    close $s;
    finish_writer($pid);
    check_sock('evline', $n, $b);
    return { secs => $t1 - $t0, cpu => $c1 - $c0, lines => $n, bytes => $b };
}

sub bench_sock_split {
    my ($s, $pid) = start_writer();
    $s->blocking(0);
    my $rin = ''; vec($rin, fileno($s), 1) = 1;
    my ($n, $b, $buf) = (0, 0, '');
    my ($t0, $c0) = (time, cpu);
    for (;;) {
        my $r = sysread($s, $buf, 65536, length $buf);
        if ($r) {
            my @l = split /\n/, $buf, -1;
            $buf = pop @l;
            for my $l (@l) { $n++; $b += length($l) + 1 }
            next;
        }
        last if defined $r;                                  # EOF
        if ($! == EAGAIN || $! == EWOULDBLOCK) { select(my $rr = $rin, undef, undef, undef); next }
        die "sysread: $!" unless $! == EINTR;
    }
    if (length $buf) { $n++; $b += length $buf }
    my ($t1, $c1) = (time, cpu);
    close $s;
    finish_writer($pid);
    check_sock('split', $n, $b);
    return { secs => $t1 - $t0, cpu => $c1 - $c0, lines => $n, bytes => $b };
}

sub bench_sock_index {
    my ($s, $pid) = start_writer();
    $s->blocking(0);
    my $rin = ''; vec($rin, fileno($s), 1) = 1;
    my ($n, $b, $buf) = (0, 0, '');
    my ($t0, $c0) = (time, cpu);
    for (;;) {
        my $r = sysread($s, $buf, 65536, length $buf);
        if ($r) {
            my $pos = 0;
            while ((my $i = index($buf, "\n", $pos)) >= 0) {
                my $l = substr($buf, $pos, $i - $pos + 1);
                $n++; $b += length $l; $pos = $i + 1;
            }
            substr($buf, 0, $pos, '');
            next;
        }
        last if defined $r;
        if ($! == EAGAIN || $! == EWOULDBLOCK) { select(my $rr = $rin, undef, undef, undef); next }
        die "sysread: $!" unless $! == EINTR;
    }
    if (length $buf) { $n++; $b += length $buf }
    my ($t1, $c1) = (time, cpu);
    close $s;
    finish_writer($pid);
    check_sock('index', $n, $b);
    return { secs => $t1 - $t0, cpu => $c1 - $c0, lines => $n, bytes => $b };
}

# ---------------------------------------------------------------- driver

# bench => [ [contender name, code], ... ], figures => [ [figure, unit, sub(result)] ]
my @benches = (
    [ readline => [ [ evloop => sub { bench_readline(':evloop') } ],
                    [ perlio => sub { bench_readline(':perlio') } ] ],
      [ [ 'Mlines/s', sub { $_[0]{lines} / $_[0]{secs} / 1e6 } ],
        [ 'MB/s',     sub { $_[0]{bytes} / $_[0]{secs} / 1e6 } ] ] ],
    [ block    => [ [ evloop => sub { bench_block(':evloop') } ],
                    [ perlio => sub { bench_block(':perlio') } ] ],
      [ [ 'MB/s', sub { $_[0]{bytes} / $_[0]{secs} / 1e6 } ] ] ],
    [ print    => [ [ evloop => sub { bench_print(':evloop') } ],
                    [ perlio => sub { bench_print(':perlio') } ] ],
      [ [ 'Mlines/s', sub { $_[0]{lines} / $_[0]{secs} / 1e6 } ],
        [ 'MB/s',     sub { $_[0]{bytes} / $_[0]{secs} / 1e6 } ] ] ],
    [ socket   => [ [ evline => \&bench_sock_evline ],
                    [ split  => \&bench_sock_split ],
                    [ index  => \&bench_sock_index ] ],
      [ [ 'Mlines/s',    sub { $_[0]{lines} / $_[0]{secs} / 1e6 } ],
        [ 'CPU ns/line', sub { $_[0]{cpu} / $_[0]{lines} * 1e9 }, 'lower' ] ] ],
);
my %target = (readline => 1.00, block => 1.00, print => 1.00, socket => 1.50);
my %target_vs = (readline => 'perlio', block => 'perlio', print => 'perlio', socket => 'split');

my %val;      # {bench}{figure}{contender} = [values]
my %rat;      # {bench}{figure}{other}     = [ratios first/other]
my $t_start = time;
for my $round (1 .. $opt{ROUNDS}) {
    for my $bn (@benches) {
        my ($bench, $conts, $figs) = @$bn;
        next unless $only{$bench};
        my @order = @$conts;
        push @order, shift @order for 1 .. ($round - 1) % @order;    # rotate
        my %res;
        for my $c (@order) { $res{ $c->[0] } = $c->[1]->() }
        my $first = $conts->[0][0];
        for my $f (@$figs) {
            my ($fig, $fn, $lower) = @$f;
            my %v = map { $_ => $fn->($res{$_}) } keys %res;
            for my $c (@$conts) {
                push @{ $val{$bench}{$fig}{ $c->[0] } }, $v{ $c->[0] };
                printf STDERR "RESULT %s %s %s %.3f\n", $bench, $fig, $c->[0], $v{ $c->[0] };
            }
            for my $c (@$conts[1 .. $#$conts]) {
                my $o = $c->[0];
                my $r = $lower ? $v{$o} / $v{$first} : $v{$first} / $v{$o};   # speed ratio
                push @{ $rat{$bench}{$fig}{$o} }, $r;
                printf STDERR "RATIO %s %s %s/%s %.3f (round %d)\n", $bench, $fig, $first, $o, $r, $round;
            }
        }
    }
}
my $elapsed = time - $t_start;

# ---------------------------------------------------------------- table

printf "\n%d rounds, medians; ratio = median of same-round speed ratios (>1.00: the first named is faster", $opt{ROUNDS};
print "; for CPU ns/line: uses less CPU)\n";
printf "readline/block: %.0f MB file, %d lines; print: %d lines of 15..25 bytes; socket: %d MB, %d lines over 127.0.0.1 TCP\n\n",
    ($data_bytes // 0) / 1e6, $data_lines // 0, $opt{PRINT_LINES}, ($sock_bytes // 0) / 1e6, $sock_lines // 0;
print "| benchmark | figure | contender A | A | contender B | B | A/B | target | met |\n";
print "|---|---|---|--:|---|--:|--:|--:|:-:|\n";
my %labels = (readline => [ '`<:evloop` readline', '`<:perlio` readline' ],
              block    => [ '`<:evloop` read 64 KiB', '`<:perlio` read 64 KiB' ],
              print    => [ '`>:evloop` print', '`>:perlio` print' ]);
my %clabel = (evline => '`:evloop:evline` readline', split => 'sysread+split (Perl)',
              index => 'sysread+index/substr (Perl)', evloop => ':evloop', perlio => ':perlio');
my $all_met = 1;
for my $bn (@benches) {
    my ($bench, $conts, $figs) = @$bn;
    next unless $only{$bench};
    my $first = $conts->[0][0];
    for my $f (@$figs) {
        my ($fig) = @$f;
        for my $c (@$conts[1 .. $#$conts]) {
            my $o = $c->[0];
            my $r = median(@{ $rat{$bench}{$fig}{$o} });
            my ($tgt, $met) = ('', '');
            if ($target_vs{$bench} eq $o) {
                $tgt = sprintf '%.2f', $target{$bench};
                $met = $r >= $target{$bench} ? 'yes' : 'NO';
                $all_met &&= $r >= $target{$bench};
            }
            my $la = $labels{$bench} ? $labels{$bench}[0] : $clabel{$first};
            my $lb = $labels{$bench} ? $labels{$bench}[1] : $clabel{$o};
            printf "| %s | %s | %s | %.2f | %s | %.2f | %.2f | %s | %s |\n", $bench, $fig, $la,
                median(@{ $val{$bench}{$fig}{$first} }), $lb, median(@{ $val{$bench}{$fig}{$o} }),
                $r, $tgt, $met;
        }
    }
}
printf "\nall targets met: %s; measuring took %.0f s\n", $all_met ? 'yes' : 'NO', $elapsed;
