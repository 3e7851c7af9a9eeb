# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# One loop: IO::Async::Loop::LinuxEvent, Future::IO::Impl::LinuxEvent and
# Linux::Event code on Linux::Event::Loop->default; whichever runs the
# loop (IO::Async's run, a future's get, Linux::Event's run) drives all.
use v5.36;
use Test::More;

use IO::Async::Loop;
use IO::Async::Loop::LinuxEvent;
use IO::Async::Timer::Countdown;
use Future::IO;
use Future::IO::Impl::LinuxEvent;
use Linux::Event::Loop;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

my $le  = Linux::Event::Loop->default;
my $ioa = IO::Async::Loop->new;
isa_ok($ioa, 'IO::Async::Loop::LinuxEvent');

my %seen;
sub round ($how) {
    %seen = ();
    my $timer = IO::Async::Timer::Countdown->new(delay => 0.02, on_expire => sub { $seen{ioasync}++ });
    $ioa->add($timer);
    $timer->start;
    my $f = Future::IO->sleep(0.03)->on_done(sub { $seen{fio}++ });
    $le->after(0.01, sub ($l) { $seen{le}++ });
    $ioa->later(sub { $seen{later}++ });
    $how->($f);
    $ioa->remove($timer);
    return join ',', map {"$_=$seen{$_}"} sort keys %seen;
}

my $all = 'fio=1,ioasync=1,later=1,le=1';
is(round(sub ($f) { $ioa->watch_time(after => 0.1, code => sub { $ioa->stop }); $ioa->run }),
    $all, 'IO::Async run drives Future::IO and Linux::Event');
is(round(sub ($f) { Future::IO->sleep(0.1)->get }), $all, 'a Future::IO get drives IO::Async and Linux::Event');
is(round(sub ($f) { $le->after(0.1, sub ($l) { $l->stop }); $le->run }),
    $all, 'Linux::Event run drives IO::Async and Future::IO');

done_testing;
