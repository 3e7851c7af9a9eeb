# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Future::IO::Impl::LinuxEvent on a proactor loop: the suites of
# Test::Future::IO::Impl with reads, writes, accepts and connects as
# io_uring operations; poll croaks there.
use v5.36;
use Test2::V0;
use Test::Future::IO::Impl;

use Future::IO;
use Future::IO::Impl::LinuxEvent;
use EvlTest qw(uring_loop);

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my $pro = uring_loop(sub { Linux::Event::Loop->new(model => 'proactor') });
if (!$pro) {
    done_testing;
    exit 0;
}
my $I = 'Future::IO::Impl::LinuxEvent';
$I->set_loop($pro);
ref_is($I->loop, $pro, 'set_loop');

run_tests($_) for qw(sleep sysread syswrite accept connect waitpid);

subtest 'the operations are io_uring operations' => sub {
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $f = Future::IO->sysread($rd, 10);
    $pro->run_once(0);    # the prepare hook submits it
    is($pro->live_op_count, 1, 'one operation in flight');
    syswrite($wr, 'hi');
    is(scalar $f->get, 'hi', 'and it completes');
    is($pro->live_op_count, 0, 'none left');
};

like(dies { $I->poll(\*STDIN, $I->POLLIN) }, qr/needs a reactor loop/, 'poll croaks on a proactor');
like(dies { $I->set_loop('x') }, qr/loop must be a Linux::Event::Loop/, 'set_loop checks its argument');

done_testing;
