#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The mask constants: one XS definition (perlio/xs/reactor.xs) exposed by
# every package whose contract names them, with the seed's values, as
# constant subs (inlined like `use constant` ones).
use v5.36;
use Test::More;
use Linux::Event;
use Linux::Event::Loop;
use Linux::Event::Reactor;
use Linux::Event::Reactor::Backend::Epoll;
use Linux::Event::Backend::Epoll;
use B ();

my %want = (READABLE => 0x01, WRITABLE => 0x02, PRIO => 0x04, RDHUP => 0x08,
    ET => 0x10, ONESHOT => 0x20, ERR => 0x40, HUP => 0x80);
for my $pkg (qw(Linux::Event::Loop Linux::Event::Reactor
    Linux::Event::Reactor::Backend::Epoll Linux::Event::Backend::Epoll)) {
    for my $name (sort keys %want) {
        my $cv = $pkg->can($name);
        ok($cv, "$pkg has $name") or next;
        is($cv->(), $want{$name}, "$pkg\::$name is $want{$name}");
        ok(B::svref_2object($cv)->CvFLAGS & B::CVf_CONST(), "$pkg\::$name is a constant sub");
    }
}
my $loop = Linux::Event->new(model => 'reactor');
is($loop->READABLE | $loop->HUP, 0x81, 'called as methods on a loop');
is(Linux::Event::Loop::ONESHOT(), 0x20, 'called as a function');
done_testing;
