# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork: max_children, the queue, Request, drain,
# cancel_queued, introspection.
use v5.36;
use Test::More;

use Linux::Event;
use Linux::Event::Fork;

my $loop = Linux::Event->new;

# At most 2 of 10 at once; all start and finish; drain fires once.
{
	my $fork = Linux::Event::Fork->new($loop, max_children => 2);
	my ($max_seen, $done, $drains) = (0, 0, 0);
	my @kinds;
	for my $i (1 .. 10) {
		my $h = $fork->spawn(cmd => [ 'true' ], tag => "job$i",
			on_start => sub ($c) { $max_seen = $fork->running if $fork->running > $max_seen },
			on_exit => sub ($c, $e) { $done++ });
		push @kinds, ref $h;
	}
	is_deeply([ @kinds[0, 1, 2] ],
		[ 'Linux::Event::Fork::Child', 'Linux::Event::Fork::Child', 'Linux::Event::Fork::Request' ],
		'Child, Child, then Requests');
	is($fork->running, 2, 'running 2');
	is($fork->queued, 8, 'queued 8');
	$fork->drain(on_done => sub ($f) {
		$drains++;
		is($f, $fork, 'drain gets the helper');
		is($f->running, 0, 'running 0 inside drain');
		is($f->queued, 0, 'queued 0 inside drain');
		$loop->stop;
	});
	$loop->run;
	is($done, 10, 'all 10 finished');
	is($max_seen, 2, 'never more than 2 running');
	is($drains, 1, 'drain fired once');
	# Idle: a new drain fires before drain returns.
	my $now = 0;
	is($fork->drain(on_done => sub { $now++ }), 1, 'drain returns 1');
	is($now, 1, 'idle helper: drain fires synchronously');
}

# Requests: tag, data, started, child; cancel before the start.
{
	my $fork = Linux::Event::Fork->new($loop, max_children => 1);
	my @started;
	my $first = $fork->spawn(cmd => [ 'sleep', '0.2' ], on_exit => sub {});
	my @req = map {
		my $t = $_;
		$fork->spawn(cmd => [ 'true' ], tag => $t, data => [$t],
			on_start => sub ($c) { push @started, $c->tag }, on_exit => sub {})
	} qw(a b c d);
	is(ref $req[0], 'Linux::Event::Fork::Request', 'queued');
	is($req[1]->tag, 'b', 'request tag');
	is_deeply($req[1]->data, ['b'], 'request data');
	is($req[0]->started, 0, 'not started');
	is($req[0]->child, undef, 'no child yet');
	is($req[1]->cancel, 1, 'cancel a queued request');
	is($req[1]->cancel, 0, 'twice: 0');
	is($req[1]->is_cancelled, 1, 'is_cancelled');
	is($fork->queued, 3, 'a cancelled request leaves the queue at once');
	is($fork->cancel_queued(sub ($r) { $r->tag eq 'c' }), 1, 'cancel_queued by tag');
	is($fork->queued, 2, 'queued 2');
	$fork->drain(on_done => sub { $loop->stop });
	$loop->run;
	is_deeply(\@started, [ qw(a d) ], 'the others started, in order');
	is($req[0]->started, 1, 'started');
	is(ref $req[0]->child, 'Linux::Event::Fork::Child', 'with its child');
	is($req[0]->cancel, 0, 'cancel of a started request: 0');
}

# cancel_queued without a predicate: all of them; they never start.
{
	my $fork = Linux::Event::Fork->new($loop, max_children => 1);
	my $started = 0;
	$fork->spawn(cmd => [ 'true' ], on_exit => sub {});
	$fork->spawn(cmd => [ 'true' ], on_start => sub { $started++ }) for 1 .. 3;
	is($fork->cancel_queued, 3, 'three cancelled');
	$fork->drain(on_done => sub { $loop->stop });
	$loop->run;
	is($started, 0, 'none started');
}

# max_children at runtime: raising starts queued work at once; 0 means
# no limit (the seed stalled).
{
	my $fork = Linux::Event::Fork->new($loop, max_children => 1);
	my @h = map { $fork->spawn(cmd => [ 'sleep', '0.1' ], on_exit => sub {}) } 1 .. 3;
	is($fork->running, 1, 'running 1');
	is($fork->queued, 2, 'queued 2');
	is($fork->max_children(3), 3, 'setter returns the limit');
	is($fork->queued, 0, 'queued 0 at once');
	is($fork->running, 3, 'running 3 at once');
	$fork->drain(on_done => sub { $loop->stop });
	$loop->run;

	$fork->max_children(1);
	$fork->spawn(cmd => [ 'sleep', '0.1' ], on_exit => sub {}) for 1 .. 3;
	is($fork->queued, 2, 'queued again');
	$fork->max_children(0);
	is($fork->queued, 0, 'max_children(0): everything starts');
	is($fork->running, 3, 'and counts');
	my $drained = 0;
	$fork->drain(on_done => sub { $drained++; $loop->stop });
	is($drained, 0, 'drain waits for children started without a limit');
	$loop->run;
	is($drained, 1, 'then fires');
}

# A bad spec croaks from spawn even when it would be queued.
{
	my $fork = Linux::Event::Fork->new($loop, max_children => 1);
	$fork->spawn(cmd => [ 'true' ], on_exit => sub { $loop->stop });
	ok(!eval { $fork->spawn(cmd => 'true'); 1 }, 'queued spec checked at spawn');
	like($@, qr/^cmd must be an arrayref/, 'message');
	is($fork->queued, 0, 'nothing queued');
	$loop->run;
}

# A drain callback's exception is a warning; drain is one-shot and
# replaced by a later one.
{
	my $fork = Linux::Event::Fork->new($loop);
	my @w;
	local $SIG{__WARN__} = sub { push @w, @_ };
	$fork->spawn(cmd => [ 'true' ], on_exit => sub {});
	my ($first, $second) = (0, 0);
	$fork->drain(on_done => sub { $first++ });
	$fork->drain(on_done => sub { $second++; $loop->stop; die "drain died\n" });
	$loop->run;
	is($first, 0, 'replaced drain never fires');
	is($second, 1, 'the last one fires');
	like($w[0] // '', qr/drain on_done died: drain died/, 'its exception is a warning');
}

done_testing;
