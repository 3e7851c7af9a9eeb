# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Loop->default: one reactor per process, made at first use,
# the same object in a forked child, where it works (fork rule).
use v5.36;
use Test::More;
use POSIX ();

use Linux::Event::Loop;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

my $d = Linux::Event::Loop->default;
isa_ok($d, 'Linux::Event::Loop');
is($d->model, 'reactor', 'a reactor');
is(Linux::Event::Loop->default, $d, 'the same object every call');
isnt(Linux::Event::Loop->new(model => 'reactor'), $d, 'new still makes new loops');

my $fired = 0;
$d->after(0.01, sub ($loop) { $fired = 1; $loop->stop });
$d->run;
is($fired, 1, 'it runs');

pipe(my $rd, my $wr) or die "pipe: $!";
my $pid = fork // die "fork: $!";
if (!$pid) {
    my $same = Linux::Event::Loop->default == $d ? 1 : 0;
    my $ok   = 0;
    Linux::Event::Loop->default->after(0.01, sub ($loop) { $ok = 1; $loop->stop });
    Linux::Event::Loop->default->run;
    syswrite($wr, "$same$ok");
    POSIX::_exit(0);
}
close $wr;
my $got = '';
sysread($rd, $got, 2);
waitpid($pid, 0);
is($got, '11', 'a forked child gets the same object, and its loop runs there');

$fired = 0;
$d->after(0.01, sub ($loop) { $fired = 1; $loop->stop });
$d->run;
is($fired, 1, "the parent's loop still runs after the child used its copy");

done_testing;
