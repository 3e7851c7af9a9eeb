#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A blocking :evloop socket handle writes whatever the kernel takes, as
# :perlio does, while the peer is not reading.  POLLOUT understates a
# socket's room (a unix socket reports it only with 3/4 of its buffer
# free), and the layer used to wait for it before every flush: a print the
# kernel would take hung on a peer that was not reading yet (found by
# fuzz/layer).  Each case fills half of what the socket holds, in a child
# that reports back; the parent gives it 60 s before calling it stuck.
use v5.36;
use Test::More;
use Errno qw(EAGAIN);
use POSIX ();
use IO::Handle ();
use IO::Select ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use PerlIO::evloop;

use constant CHUNK => 8192;

# What a socketpair takes in CHUNK-sized writes before EAGAIN.
sub capacity () {
    socketpair(my $w, my $peer, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $w->blocking(0);
    my $n = 0;
    while (1) {
        my $k = syswrite($w, 'c' x CHUNK);
        last unless defined $k;
        $n += $k;
    }
    $! == EAGAIN or die "capacity: $!";
    return $n;
}

my $cap = capacity();
cmp_ok($cap, '>=', 4 * CHUNK, "a socketpair holds $cap bytes");
my $want = int($cap / 2 / CHUNK) * CHUNK;

for my $layers (':perlio', ':evloop', ':evloop:evline') {
    socketpair(my $w, my $peer, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    pipe(my $status_r, my $status_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $status_r;
        binmode($w, $layers) or exit 9;
        my $ok = 1;
        for (1 .. $want / CHUNK) { $ok &&= print {$w} 'x' x CHUNK }
        $ok &&= $w->flush;
        syswrite($status_w, $ok ? "ok\n" : "failed: $!\n");
        POSIX::_exit(0);
    }
    close $status_w;
    my $line = IO::Select->new($status_r)->can_read(60) ? <$status_r> : undef;
    is($line, "ok\n", "$layers: $want of $cap bytes written and flushed, the peer not reading")
        or kill 'KILL', $pid;

    # Then the peer reads them all, unchanged.
    $peer->blocking(0);
    my $got = '';
    1 while sysread($peer, $got, 65536, length $got);
    is(length $got, $want, "$layers: the peer got them");
    is($got =~ tr/x//c, 0, "$layers: unchanged");
    waitpid($pid, 0);
}

done_testing;
