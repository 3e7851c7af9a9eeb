# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# `use Linux::Event::Fork max_children => N`, the form Linux::Event::Fork
# 0.005 took (its t/12 uses it): the loops' own helpers made after it start
# with that limit, so a second $loop->fork is queued; fork_helper's own
# max_children still wins; a bad import croaks from the use line.
use v5.36;
use Test::More;
use Linux::Event;
use Linux::Event::Fork max_children => 1;

my $loop  = Linux::Event->new;
my $cmd   = [$^X, '-e', 'exit 0'];
my $exits = 0;
my @got   = map {
    $loop->fork(cmd => $cmd, on_exit => sub ($c, $e) { $exits++ })
} 1 .. 3;
isa_ok($got[0], 'Linux::Event::Fork::Child', 'the first fork');
isa_ok($got[$_], 'Linux::Event::Fork::Request', "fork $_ (queued)") for 1, 2;
is($loop->fork_helper->max_children, 1, "the loop's helper has the imported limit");
is($got[2]->cancel, 1, 'a queued request can be cancelled');
$loop->fork_helper->drain(on_done => sub ($h) { $loop->stop });
$loop->run;
is($exits, 2, 'two children ran, one after the other; the cancelled one never did');

my $other = Linux::Event->new;
is($other->fork_helper(max_children => 3)->max_children, 3, "fork_helper's own limit wins");
is(Linux::Event::Fork->new($other)->max_children, 0, 'helpers made with new keep their default');

eval "use Linux::Event::Fork bogus => 1; 1" and fail('bogus import accepted');
like(
    $@,
    qr/^unknown args: bogus at \(eval \d+\) line 1\b/,
    'unknown import: croaks from the use line'
);
eval "use Linux::Event::Fork max_children => -1; 1" and fail('negative limit accepted');
like(
    $@,
    qr/^max_children must be a non-negative integer at \(eval \d+\) line 1\b/,
    'bad max_children: croaks from the use line'
);
done_testing;
