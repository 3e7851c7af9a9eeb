#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# ithreads clone :evloop handles into a working copy with its own stream;
# a forked child using (or merely exiting with) an inherited handle does not
# disturb the parent: queued output is written once, reads go on.
use strict;
use warnings;
use Test::More;
use IO::Handle;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use lib 't/lib';
use EvlTest qw(has temp_path read_all_raw);

my $path = temp_path();
{
    open(my $f, '>', $path) or die;
    print $f "line $_\n" for 1 .. 100;
    close $f;
}

SKIP: {
    skip 'this perl has no threads', 7 unless has('threads');
    require threads;
    open(my $fh, "<:evloop", $path) or die "open: $!";
    is(scalar <$fh>, "line 1\n", 'parent reads line 1');
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop:evline') or die;
    syswrite($b, "to thread\n");
    my $t = threads->create(sub {
        my $got = <$a>;
        print {$a} "from thread\n";
        $a->flush;
        return join(',', PerlIO::get_layers($fh)) . '|' . join(',', PerlIO::get_layers($a)) . '|' . $got;
    });
    my $res = $t->join;
    is($res, "unix,evloop|unix,evloop,evline|to thread\n", 'the clones have the same layers and read');
    is(sysread($b, my $buf, 100), 12, 'the thread wrote through its clone of the socket');
    is($buf, "from thread\n", '... the right bytes');
    is(scalar <$fh>, "line 2\n", "the parent's file handle goes on");
    print {$a} "from parent\n";
    $a->flush;
    sysread($b, $buf, 100);
    is($buf, "from parent\n", "the parent's socket handle still works");
    syswrite($b, "back\n");
    is(scalar <$a>, "back\n", '... both ways');
}

{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop') or die;
    print {$a} "before fork ";      # queued: fork flushes it once
    defined(my $pid = fork) or die;
    if ($pid == 0) {
        print {$a} "child\n";
        close $a;
        exit 0;
    }
    waitpid($pid, 0);
    print {$a} "parent\n";
    close $a;
    my $all = '';
    1 while sysread($b, $all, 100, length $all);
    is($all, "before fork child\nparent\n", 'queued output is written once across a fork');
}
{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die;
    binmode($a, ':evloop') or die;
    syswrite($b, "a\nb\nc\n");
    is(scalar <$a>, "a\n", 'parent reads a line; the rest is buffered');
    defined(my $pid = fork) or die;
    if ($pid == 0) {
        print {$a} "child\n";
        exit 0;    # global destruction flushes and pops the child's copy
    }
    waitpid($pid, 0);
    is($?, 0, 'the child used its copy and exited');
    is(scalar <$a>, "b\n", "the parent's buffered input is intact");
    is(scalar <$a>, "c\n", '... all of it');
    is(sysread($b, my $buf, 100), 6, "the child's output arrived once");
    is($buf, "child\n", '... as written');
}
{
    # A file shares its offset with the child: fork() flushes, which under
    # :perlio gives the read-ahead back to the fd, and the child's reading
    # then moves the parent too.  :evloop does exactly the same.
    my @res;
    for my $layer ('', ':evloop') {
        open(my $fh, "<$layer", $path) or die "open: $!";
        my $first = <$fh>;
        defined(my $pid = fork) or die;
        if ($pid == 0) {
            my $n = () = <$fh>;
            exit($n == 99 ? 0 : 1);
        }
        waitpid($pid, 0);
        push @res, join '|', $first, $?, scalar(() = <$fh>);
    }
    is($res[1], $res[0], 'a child reading an inherited file: the parent sees what it sees under :perlio');
}
done_testing;
