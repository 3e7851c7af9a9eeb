#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A blocking wait inside :evloop runs %SIG handlers (EINTR, then perl's
# deferred-signal check, then the wait goes on); a die in a handler reaches
# the caller and leaves the handle usable; a handler that closes the handle
# it interrupted makes the read fail cleanly.  Everything is synchronised
# through pipes: the child signals, the handler acks, then the child writes.
use strict;
use warnings;
use Test::More;
use IO::Handle;

# Returns (data reader with :evloop, ack writer, child pid).  The child:
# for each byte on the command pipe, sends SIGUSR1, waits for the ack, then
# writes a line to the data pipe.
sub setup {
    pipe(my $data_r, my $data_w) or die;
    pipe(my $cmd_r, my $cmd_w) or die;
    pipe(my $ack_r, my $ack_w) or die;
    $_->autoflush(1) for $data_w, $cmd_w, $ack_w;
    my $parent = $$;
    defined(my $pid = fork) or die "fork: $!";
    if ($pid == 0) {
        close $_ for $data_r, $cmd_w, $ack_w;
        my $n = 0;
        while (sysread($cmd_r, my $c, 1)) {
            kill 'USR1', $parent;
            sysread($ack_r, my $a, 1) or last;
            $n++;
            syswrite($data_w, "line $n\n");
        }
        exit 0;
    }
    close $_ for $data_w, $cmd_r, $ack_r;
    binmode($data_r, ':evloop') or die;
    return ($data_r, $cmd_w, $ack_w, $pid);
}

my ($r, $cmd, $ack, $pid) = setup();
{
    my $ran = 0;
    local $SIG{USR1} = sub { $ran++; syswrite($ack, 'a') };
    syswrite($cmd, 'x');
    is(scalar <$r>, "line 1\n", 'readline waited through the signal and got the line');
    is($ran, 1, 'the %SIG handler ran during the wait');
}
{
    local $SIG{USR1} = sub { syswrite($ack, 'a'); die "from handler\n" };
    # The signal may be taken just before readline starts; either way the
    # die must come out of this eval.
    my $l = eval { syswrite($cmd, 'x'); scalar <$r> };
    is($@, "from handler\n", 'a die in the handler reaches the caller of readline');
    is($l, undef, '... which returned nothing');
}
is(scalar <$r>, "line 2\n", 'the handle still works afterwards, nothing lost');
{
    local $SIG{USR1} = sub { close $r; syswrite($ack, 'a') };
    no warnings 'closed';
    syswrite($cmd, 'x');
    my $l = eval { scalar <$r> };
    is($@, '', 'no exception when the handler closes the handle mid-read');
    is($l, undef, 'the interrupted readline returns undef');
    ok(!defined fileno($r), 'the handle is closed');
}
close $cmd;
close $ack;
waitpid($pid, 0);

# A blocking write waiting for room also runs handlers.
{
    pipe(my $rd, my $wr) or die;
    pipe(my $go_r, my $go_w) or die;
    binmode($wr, ':evloop') or die;
    my $parent = $$;
    defined(my $kid = fork) or die;
    if ($kid == 0) {
        close $wr; close $go_w;
        sysread($go_r, my $x, 1);        # the parent's pipe is full by now
        kill 'USR1', $parent;
        sysread($go_r, $x, 1);           # the handler ran
        my $n = 0;
        while (my $k = sysread($rd, my $buf, 65536)) { $n += $k }
        exit($n == 1_000_000 ? 0 : 1);
    }
    close $rd; close $go_r;
    $go_w->autoflush(1);
    my $ran = 0;
    local $SIG{USR1} = sub { $ran++; syswrite($go_w, 'b') };
    # 64 KB fills the pipe; tell the child once the first flush blocks.
    my $ok = print {$wr} 'q' x 60_000;
    syswrite($go_w, 'a');
    $ok &&= print {$wr} 'q' x 940_000;
    ok($ok, 'a print that waited for room returned true');
    ok(close($wr), 'close');
    waitpid($kid, 0);
    is($ran, 1, 'the handler ran while the write waited');
    is($?, 0, 'every byte arrived');
}
done_testing;
