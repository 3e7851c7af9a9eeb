#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# PerlIO::evloop::attach($fh, $loop) with real Linux::Event loops: after
# attach, print on a non-blocking handle queues and the loop writes the
# queue out while it runs (10 MB to a slow reader, checked by MD5); the loop
# object stays alive as long as a handle uses it; and on a proactor,
# readline through a file handle (io_uring read-ahead) returns what :perlio
# returns.  (Bad arguments: t/perlio-attach-args.t.)
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Fcntl qw(F_GETFL O_NONBLOCK);
use Digest::MD5 qw(md5_hex);
use POSIX ();
use lib 't/lib';
use EvlTest qw(temp_path uring_loop);
use Linux::Event::Loop;

require PerlIO::evloop;

my $MB10 = 10 * 1024 * 1024;
my $data = join '', map { sprintf "%07d %s\n", $_, 'x' x (($_ * 7) % 50) } 1 .. 400_000;
$data = substr($data x (1 + int($MB10 / length $data)), 0, $MB10);
my $want_md5 = md5_hex($data);

# A child reading $sock in small reads (slower than the writer) until it
# has $len bytes; it then reports "len md5" on a pipe, whose read end is
# returned.
sub slow_reader ($sock, $len) {
    pipe(my $res_r, my $res_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $res_r;
        my ($all, $n) = ('', 0);
        while (length $all < $len) {
            $n = sysread($sock, $all, 4096, length $all);
            last unless $n;
        }
        syswrite($res_w, length($all) . ' ' . md5_hex($all) . "\n");
        POSIX::_exit(0);
    }
    close $res_w;
    return ($res_r, $pid);
}

sub print_10mb_through ($model) {
    my $loop = Linux::Event::Loop->new(model => $model);
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my ($res, $pid) = slow_reader($b, $MB10);
    close $b;
    ok(binmode($a, ':evloop'), "$model: binmode :evloop");
    ok(PerlIO::evloop::attach($a, $loop), "$model: attach returns true");
    ok(fcntl($a, F_GETFL, 0) & O_NONBLOCK, "$model: the fd is non-blocking now");
    my $all_ok = 1;
    for (my $off = 0; $off < $MB10; $off += 65536) {
        $all_ok &&= print {$a} substr($data, $off, 65536);
    }
    ok($all_ok, "$model: 10 MB of prints all return true at once (queued)");
    # The reader cannot have it all yet: the rest goes out while the loop
    # runs (one iteration at a time, both models have run_once), until the
    # reader reports.
    my $report;
    my $deadline = time + 60;
    my $rin = '';
    vec($rin, fileno($res), 1) = 1;
    until (defined $report || time > $deadline) {
        $loop->run_once(0.02);
        $report = <$res> if select(my $r = $rin, undef, undef, 0) > 0;
    }
    is($report, "$MB10 $want_md5\n", "$model: the reader got all 10 MB, in order, while the loop ran");
    ok(close($a), "$model: close returns true");
    waitpid($pid, 0);
    is($?, 0, "$model: reader exited cleanly");
}

print_10mb_through('reactor');

{
    # The handle keeps its loop alive: the loop object goes out of scope
    # first, and the handle still writes and closes.
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop') or die;
    {
        my $loop = Linux::Event::Loop->new(model => 'reactor');
        PerlIO::evloop::attach($a, $loop);
    }
    ok(print({$a} "still here\n"), 'print after the loop object went out of scope');
    ok(close($a), '... and close (the queue is written without the loop)');
    is(scalar <$b>, "still here\n", '... the bytes arrived');
}

{
    # Attach keeps what was buffered: input read ahead before attach is
    # still read after it; a regular file under a reactor stays as it is.
    my $path = temp_path();
    { open(my $w, '>', $path) or die; print $w "a\nb\nc\n"; close $w }
    open(my $fh, '<:evloop', $path) or die;
    is(scalar <$fh>, "a\n", 'a line before attach');
    my $loop = Linux::Event::Loop->new(model => 'reactor');
    ok(PerlIO::evloop::attach($fh, $loop), 'attach a file to a reactor');
    ok(!(fcntl($fh, F_GETFL, 0) & O_NONBLOCK), '... which leaves a regular file blocking');
    is_deeply([<$fh>], ["b\n", "c\n"], '... and the rest reads as before');
    close $fh;

    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    syswrite($b, "one\ntwo\nthree");
    binmode($a, ':evloop') or die;
    is(scalar <$a>, "one\n", 'a socket line before attach');
    ok(PerlIO::evloop::attach($a, $loop), 'attach the socket');
    is(scalar <$a>, "two\n", 'the buffered line after attach');
    $! = 0;
    my $l = <$a>;
    is($l, 'three', 'a partial line without :evline, as :perlio would');
    $! = 0;
    ok(!defined(<$a>) && $!{EAGAIN}, 'then undef with EAGAIN: non-blocking now');
    ok(!eof($a), 'eof is false on the idle socket');
    close $b;
    ok(eof($a), 'and true once the peer closed');
    close $a;
}

{
    # A reactor-attached socket left open at exit with 1 MB queued: perl
    # flushes it at global destruction, when no loop runs any more, so the
    # flush waits and the peer gets every byte.
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $b;
        my $loop = Linux::Event::Loop->new(model => 'reactor');
        binmode($a, ':evloop') or die;
        PerlIO::evloop::attach($a, $loop);
        print {$a} substr($data, 0, 1 << 20);
        our @keep = ($a, $loop);
        exit 0;   # global destruction, the handle still open
    }
    close $a;
    my $all = '';
    1 while sysread($b, $all, 65536, length $all);
    waitpid($pid, 0);
    is($?, 0, 'reactor: a child exiting with a queue exits cleanly');
    ok($all eq substr($data, 0, 1 << 20), '... and its queued megabyte arrived at exit');
}

SKIP: {
    skip 'no Linux::Event::Proactor yet', 14 unless eval { require Linux::Event::Proactor; 1 };
    # As the C tests: EVL_TEST_BACKEND=fake leaves io_uring out (valgrind
    # cannot see the kernel fill its buffers).
    skip 'EVL_TEST_BACKEND=fake: no io_uring', 14 if ($ENV{EVL_TEST_BACKEND} // '') eq 'fake';
    # No loop: uring_loop recorded a skip (ENOSYS, EPERM) or a failure.
    my $loop = uring_loop(sub { Linux::Event::Loop->new(model => 'proactor') })
        or skip 'no io_uring loop', 14;

    print_10mb_through('proactor');

    # readline through io_uring read-ahead equals :perlio, including after
    # a seek into the middle.
    my $path = temp_path();
    { open(my $w, '>', $path) or die; print $w $data; close $w }
    open(my $p, '<', $path) or die;
    my @want = <$p>;
    seek($p, 123_457, 0);
    my @want2 = <$p>;
    close $p;
    open(my $fh, '<:evloop', $path) or die;
    ok(PerlIO::evloop::attach($fh, $loop), 'proactor: attach a file');
    my @got = <$fh>;
    ok(@got == @want && join('', @got) eq join('', @want), 'proactor: readline over 10 MB equals :perlio');
    seek($fh, 123_457, 0);
    my @got2 = <$fh>;
    ok(@got2 == @want2 && join('', @got2) eq join('', @want2), 'proactor: and after a seek');
    ok(close($fh), 'proactor: close');

    # A handle left open at exit, with read-ahead in flight and writes
    # queued: global destruction must end cleanly.
    my $out = temp_path();
    my $code = <<'PERL';
use Linux::Event::Loop; require PerlIO::evloop;
my ($in, $out) = @ARGV;
my $loop = Linux::Event::Loop->new(model => 'proactor');
open(my $r, '<:evloop', $in) or die; PerlIO::evloop::attach($r, $loop);
my $l = <$r>;
open(my $w, '>:evloop', $out) or die; PerlIO::evloop::attach($w, $loop);
print {$w} $l x 1000;
our @keep = ($r, $w, $loop);
print "ok\n";
PERL
    open(my $ph, '-|', $^X, (map { "-I$_" } @INC), '-e', $code, $path, $out)
        or die "fork: $!";
    my $got = do { local $/; <$ph> };
    close $ph;
    is($got, "ok\n", 'proactor: handles left open at exit: no crash, no noise');
    is($?, 0, '... exit status 0');
    is(-s $out, 1000 * length($want[0]), '... and the queued output was written');
}

done_testing;
