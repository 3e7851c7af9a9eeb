# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A thread's copy of a Linux::Event::Datagram is inert: its methods croak,
# its end frees nothing, and the original keeps working.
use v5.36;
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest qw(has);
use Test::More;
BEGIN { plan skip_all => 'this perl has no threads' unless has('threads') }
use threads;
use Linux::Event;
use Linux::Event::Datagram;

my $loop = Linux::Event->new;
my @got;
my $d = Linux::Event::Datagram->new(
    loop        => $loop,
    host        => '127.0.0.1',
    on_datagram => sub ($dg, $bytes, $peer) { push @got, $bytes },
);
my $thr = threads->create(sub { return eval { $d->send_to('x', $d->sockaddr); 1 } ? 'sent' : $@ });
like($thr->join, qr/^send_to\(\): a thread's copy of a Linux::Event::Datagram cannot be used/,
    "a thread's copy croaks");
ok($d->send_to('after', $d->sockaddr), 'the original still sends');
my $deadline = time + 5;
$loop->run_once(0.05) while !@got && time < $deadline;
is_deeply(\@got, ['after'], 'and receives');
done_testing;
