#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline arguments: max=N (a longer line is an error, $! EMSGSIZE, after
# every line before it), crlf/strip_cr; and bad input to both layers: unknown
# arguments, :evline without :evloop, :evloop on a non-fd handle, seeking a
# socket, a closed fd.  Clear errors and warnings, no crash, no lost data.
use strict;
use warnings;
use Test::More;
use Errno qw(EMSGSIZE EINVAL ESPIPE EBADF EAGAIN);
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use POSIX ();
use lib 't/lib';
use EvlTest qw(temp_path);

my $path = temp_path();
{
    open(my $f, '>', $path) or die;
    print $f "short\n", "x" x 50, "\n", "y" x 200, "\nafter\n";
    close $f;
}
{
    ok(open(my $fh, '<:evloop:evline(max=100)', $path), 'open with :evline(max=100)');
    is_deeply([PerlIO::get_layers($fh)], ['unix', 'evloop', 'evline(max=100)'], 'the argument shows in get_layers');
    is(scalar <$fh>, "short\n", 'line 1');
    is(scalar <$fh>, ('x' x 50) . "\n", 'line 2 (under max)');
    $! = 0;
    my $l = <$fh>;
    ok(!defined $l && $! == EMSGSIZE, 'the 200-byte line: undef, $! EMSGSIZE');
    $l = <$fh>;
    ok(!defined $l && $! == EMSGSIZE, 'and it stays an error (nothing skipped silently)');
    ok(binmode($fh, ':pop'), 'pop :evline');
    is(scalar <$fh>, ('y' x 200) . "\n", 'the long line is still there, nothing was lost');
    is(scalar <$fh>, "after\n", 'and what follows');
    close $fh;
}
{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop:evline(max=10)') or die;
    $a->blocking(0);
    syswrite($b, "ok\n" . ('z' x 30));
    my $rin = ''; vec($rin, fileno($a), 1) = 1; select($rin, undef, undef, 5);
    is(scalar <$a>, "ok\n", 'non-blocking: the line before the long one');
    $! = 0;
    ok(!defined(<$a>) && $! == EMSGSIZE, 'an unterminated line past max: EMSGSIZE, not endless buffering');
}
{
    open(my $f, '>', $path) or die;
    print $f "dos\r\nunix\nlast\r\n";
    close $f;
    open(my $fh, '<:evloop:evline(crlf)', $path) or die "crlf: $!";
    is_deeply([<$fh>], ["dos\n", "unix\n", "last\n"], ':evline(crlf) reads \r\n as \n');
    close $fh;
    open($fh, '<:evloop:evline(strip_cr=1,max=50)', $path) or die "strip_cr: $!";
    is(scalar <$fh>, "dos\n", 'strip_cr=1 with max');
    close $fh;
    open($fh, '<:evloop:evline', $path) or die;
    is(scalar <$fh>, "dos\r\n", 'without the option CRs stay');
    close $fh;
}

# ---------------------------------------------------------------- bad input
{
    my @w;
    local $SIG{__WARN__} = sub { push @w, $_[0] };
    $! = 0;
    ok(!open(my $fh, '<:evloop(bogus=1)', $path), 'unknown :evloop argument: open fails');
    is($! + 0, EINVAL, '... $! EINVAL');
    like("@w", qr/bad argument 'bogus=1' to :evloop/, '... with a warning naming it');
    @w = ();
    ok(!open($fh, '<:evloop:evline(max=lots)', $path), 'bad :evline argument: open fails');
    like("@w", qr/bad argument 'max=lots' to :evline/, '... with a warning');
    @w = ();
    ok(!open($fh, '<:evline', $path), ':evline without :evloop: open fails');
    like("@w", qr/:evline must be pushed on :evloop \(found :perlio\)/, '... with a clear warning');
    @w = ();
    open($fh, '<', $path) or die;
    ok(!binmode($fh, ':evline'), 'binmode :evline onto :perlio fails');
    is(scalar <$fh>, "dos\r\n", 'and the handle still reads');
    close $fh;
    my $s = 'in memory';
    @w = ();
    ok(!open($fh, '<:evloop', \$s), ':evloop over a scalar handle fails');
    like("@w", qr/must sit directly on :unix \(found :scalar\)/, '... saying why');
}
{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop') or die;
    ok(binmode($a, ':evloop'), 'binmode :evloop twice is harmless');
    is_deeply([PerlIO::get_layers($a)], ['unix', 'evloop'], '... one layer');
    $! = 0;
    ok(!seek($a, 0, 0), 'seek on a socket fails');
    is($! + 0, ESPIPE, '... with ESPIPE, as under :perlio');
    syswrite($b, "still\n");
    is(scalar <$a>, "still\n", 'and reading goes on');
}
{
    open(my $fh, '<:evloop', $path) or die;
    POSIX::close(fileno($fh));
    $! = 0;
    my $l = <$fh>;
    ok(!defined $l, 'readline on an fd closed behind perl: undef');
    is($! + 0, EBADF, '... $! EBADF');
    ok($fh->error, '... and the handle is in error');
    close $fh;
    my @w;
    local $SIG{__WARN__} = sub { push @w, $_[0] };
    use warnings;
    ok(!defined(readline($fh)), 'readline on a closed handle: undef');
    like("@w", qr/readline\(\) on closed filehandle/, '... with perl\'s warning');
}
{
    # wmax: print fails with ENOBUFS instead of queueing without bound.
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop(wmax=100000)') or die;
    $a->blocking(0);
    my ($ok, $fail) = (0, 0);
    for (1 .. 200) { if (print {$a} 'w' x 10_000) { $ok++ } else { $fail++; last } }
    ok($fail && $! == POSIX::ENOBUFS(), ':evloop(wmax=N): print fails with ENOBUFS once the queue is full');
    ok(!$a->error, '... which is not an error state');
    my $all = '';
    defined(my $pid = fork) or die;
    if (!$pid) { close $a; 1 while sysread($b, $all, 65536, length $all); exit(length($all) == 10_000 * $ok ? 0 : 1) }
    close $b;
    ok(close($a), 'close drains what was accepted');
    waitpid($pid, 0);
    is($?, 0, 'every accepted byte arrived, none of the refused ones');
}
done_testing;
