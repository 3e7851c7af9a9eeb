# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The callback queue and the Operation life cycle: deferral, settle-once,
# detach, late on_complete, callbacks queued during a drain, exceptions.
use v5.36;
use strict;
use warnings;
use Test::More;

use Linux::Event::Proactor;
use Linux::Event::Error;

sub new_loop { return Linux::Event::Proactor->new(@_) }

subtest 'states and predicates are exactly 1 or 0' => sub {
    my $loop = new_loop();
    my $p = $loop->_new_op(kind => 'read', data => 'd');
    is_deeply([map { $p->$_ } qw(is_pending is_done is_cancelled is_terminal success failed)],
              [1, 0, 0, 0, 0, 0], 'pending');
    is($p->state, 'pending', 'state');
    my $d = $loop->_new_op(kind => 'read');
    $d->_settle_success({ bytes => 0 });
    is_deeply([map { $d->$_ } qw(is_pending is_done is_cancelled is_terminal success failed)],
              [0, 1, 0, 1, 1, 0], 'done');
    my $e = $loop->_new_op(kind => 'read');
    my $err = Linux::Event::Error->new(code => 5);
    $e->_settle_error($err);
    is_deeply([map { $e->$_ } qw(is_pending is_done is_cancelled is_terminal success failed)],
              [0, 1, 0, 1, 0, 1], 'failed');
    is($e->error, $err, 'the same error object');
    is($e->result, undef, 'no result');
    my $c = $loop->_new_op(kind => 'read');
    $c->_settle_cancelled;
    is_deeply([map { $c->$_ } qw(is_pending is_done is_cancelled is_terminal success failed)],
              [0, 0, 1, 1, 0, 0], 'cancelled');
    is($c->state, 'cancelled', 'state cancelled');
    is($p->loop, $loop, 'loop is the engine');
};

subtest 'callbacks take exactly three arguments' => sub {
    my $loop = new_loop();
    my @args;
    my $op = $loop->_new_op(kind => 'timeout', data => { k => 1 },
        on_complete => sub { @args = @_ });
    $op->_settle_success({ expired => 1 });
    is(scalar(@args), 0, 'not inline');
    is($loop->drain_callbacks, 1, 'drained');
    is(scalar(@args), 3, 'three arguments');
    is($args[0], $op, 'the op');
    is_deeply($args[1], { expired => 1 }, 'the result');
    is_deeply($args[2], { k => 1 }, 'the data');
    is($op->data, undef, 'data cleared after the callback');
    is($op->_has_callback, 0, 'callback cleared');
};

subtest 'never inline' => sub {
    my $loop = new_loop();
    my $ran = 0;
    my $op = $loop->after(100, on_complete => sub ($o, $r, $d) { $ran++ });
    $op->cancel;
    is($ran, 0, 'not on cancel');
    my $t = $loop->_new_op(kind => 'read');
    $t->_settle_success({});
    $t->on_complete(sub ($o, $r, $d) { $ran++ });
    is($ran, 0, 'not on on_complete of a terminal op');
    my $r = $loop->read(fh => 1, len => 1, on_complete => sub ($o, $r, $d) { $ran++ });
    $loop->_fake_complete_read_success($r->_backend_token, 'x');
    is($ran, 0, 'not in a hook');
    is($loop->run_once, 3, 'three queued');
    is($ran, 3, 'all ran');
};

subtest 'on_complete late, and again after a run' => sub {
    my $loop = new_loop();
    my @seen;
    my $op = $loop->_new_op(kind => 'timeout', data => 'ctx');
    $op->_settle_success({ expired => 1 });
    is($op->on_complete(sub ($o, $r, $d) { push @seen, [1, $d] }), $op, 'returns the op');
    is($op->data, 'ctx', 'data kept until the callback');
    is($loop->run_once, 1, 'ran');
    is_deeply(\@seen, [[1, 'ctx']], 'late callback saw the data');
    $op->on_complete(sub ($o, $r, $d) { push @seen, [2, $d] });
    is($loop->run_once, 1, 'a callback set after the first ran gets its own run');
    is_deeply($seen[1], [2, undef], 'with the data already cleared');
};

subtest 'detach' => sub {
    my $loop = new_loop();
    my $ran = 0;
    my $op = $loop->after(100, data => 'x', on_complete => sub ($o, $r, $d) { $ran++ });
    is($op->detach, $op, 'returns the op');
    is($op->data, undef, 'data gone at once');
    is($op->_has_callback, 0, 'callback gone');
    ok($op->cancel, 'still cancellable');
    is($loop->run_once, 0, 'nothing queued for a detached op');
    is($ran, 0, 'never runs');
    ok($op->is_cancelled, 'state recorded');
    $op->on_complete(sub ($o, $r, $d) { $ran++ });
    is($loop->run_once, 0, 'a detached op never queues');

    my $q = $loop->_new_op(kind => 'x', on_complete => sub ($o, $r, $d) { $ran++ });
    $q->_settle_success({});
    $q->detach;
    is($loop->run_once, 1, 'an entry already queued still counts');
    is($ran, 0, 'but its callback is suppressed');
};

subtest 'settle once, through every path' => sub {
    my $loop = new_loop();
    my $op = $loop->read(fh => 1, len => 1);
    $loop->_fake_complete_read_success($op->_backend_token, 'x');
    ok(!eval { $op->_settle_cancelled; 1 }, 'no second settlement');
    like($@, qr/already terminal/, 'already terminal');
    is($op->cancel, 0, 'cancel on a terminal op: 0');
    is($loop->_cancel_op($op), 0, '_cancel_op on a terminal op: 0');
    is_deeply($op->result, { bytes => 1, data => 'x', eof => 0 }, 'result unchanged');
};

subtest '_unregister_op' => sub {
    my $loop = new_loop();
    my $op = $loop->after(1);
    my $t = $op->_backend_token;
    is($loop->live_op_count, 1, 'live');
    is($loop->_unregister_op($t), $op, 'returns the op');
    is($loop->live_op_count, 0, 'live 0');
    is($loop->_unregister_op($t), undef, 'twice: undef');
    is($loop->_unregister_op(undef), undef, 'undef token: undef');
    is($loop->live_op_count, 0, 'never below 0');
    $loop->{ops_by_token}{x} = $op;
    $loop->{live_op_count} = 0;
    is($loop->_unregister_op('x'), $op, 'a hand-made entry');
    is($loop->live_op_count, 0, 'count stays at 0');
};

subtest 'callbacks queued during a drain are not lost' => sub {
    my $loop = new_loop();
    my @order;
    my $b = $loop->after(100, on_complete => sub ($o, $r, $d) { push @order, 'B' });
    my $c = $loop->read(fh => 1, len => 1, on_complete => sub ($o, $r, $d) { push @order, 'C' });
    my $a = $loop->after(100, on_complete => sub ($o, $r, $d) {
        push @order, 'A';
        $b->cancel;                                               # queues B
        $loop->_fake_complete_read_success($c->_backend_token, 'z'); # queues C
    });
    $a->cancel;
    is($loop->drain_callbacks, 3, 'A, then B and C queued by A, in one drain');
    is_deeply(\@order, [qw(A B C)], 'FIFO');
    is_deeply($loop->{callback_queue}, [], 'queue empty');

    my @n;
    my $x = $loop->_new_op(kind => 'x', on_complete => sub ($o, $r, $d) {
        push @n, 'x';
        is($o->loop->drain_callbacks, 1, 'a nested drain runs what is queued');
    });
    my $y = $loop->_new_op(kind => 'y', on_complete => sub ($o, $r, $d) { push @n, 'y' });
    $x->_settle_success({});
    $y->_settle_success({});
    is($loop->drain_callbacks, 1, 'the outer drain counts its own');
    is_deeply(\@n, [qw(x y)], 'each ran once');
};

subtest 'a callback that dies' => sub {
    my $loop = new_loop();
    my @ran;
    my $a = $loop->_new_op(kind => 'a', data => 'A', on_complete => sub ($o, $r, $d) { push @ran, 'a'; die "boom\n" });
    my $b = $loop->_new_op(kind => 'b', on_complete => sub ($o, $r, $d) { push @ran, 'b' });
    $a->_settle_success({});
    $b->_settle_success({});
    ok(!eval { $loop->run_once; 1 }, 'run_once dies');
    is($@, "boom\n", 'with the callback\'s exception');
    is_deeply(\@ran, ['a'], 'the drain stopped there');
    is($a->data, undef, 'the dead callback was still cleaned up');
    is($a->_has_callback, 0, 'and forgotten');
    is(scalar(@{ $loop->{callback_queue} }), 1, 'b is still queued');
    is($loop->run_once, 1, 'the next run_once runs it');
    is_deeply(\@ran, ['a', 'b'], 'b ran once');
    is($loop->run_once, 0, 'a never runs again');

    my $obj = bless { why => 'object' }, 'Local::Err';
    my $c = $loop->_new_op(kind => 'c', on_complete => sub ($o, $r, $d) { die $obj });
    $c->_settle_success({});
    ok(!eval { $loop->drain_callbacks; 1 }, 'drain_callbacks dies');
    is($@, $obj, 'an exception object propagates as is');

    my $d = $loop->_new_op(kind => 'd', on_complete => sub ($o, $r, $d) { die "in run\n" });
    $d->_settle_success({});
    ok(!eval { $loop->run; 1 }, 'run dies');
    is($@, "in run\n", 'with it');
    is($loop->is_running, 0, 'and is no longer running');
    my $n = 0;
    $loop->after(0, on_complete => sub ($o, $r, $d) { $n++; $o->loop->stop });
    $loop->run;
    is($n, 1, 'the next run works');

    my $e = $loop->_new_op(kind => 'e', on_complete => sub ($o, $r, $d) { die "direct\n" });
    $e->_settle_success({});
    ok(!eval { $e->_run_callback; 1 }, '_run_callback rethrows');
    is($@, "direct\n", 'its exception');
    is($loop->drain_callbacks, 1, 'the queue entry is then a no-op');
};

subtest '_enqueue_callback and _drain_callback_queue' => sub {
    my $loop = new_loop();
    my $n = 0;
    my $op = $loop->_new_op(kind => 'k', on_complete => sub ($o, $r, $d) { $n++ });
    $loop->_enqueue_callback($op);
    $loop->_enqueue_callback($op);
    is($loop->_drain_callback_queue, 2, 'both entries count');
    is($n, 1, 'a callback runs once');
    push @{ $loop->{callback_queue} }, 'junk';
    is($loop->drain_callbacks, 1, 'foreign entries count and are skipped');
};

subtest 'op outlives its engine' => sub {
    my $op;
    {
        my $loop = new_loop();
        $op = $loop->read(fh => 1, len => 1, data => 'kept', on_complete => sub ($o, $r, $d) { });
    }
    is($op->loop, undef, 'loop is undef once the engine is gone');
    is($op->state, 'cancelled', 'state readable: cancelled with its engine');
    is($op->cancel, 0, 'cancel: 0 (already terminal)');
    is($op->data, 'kept', 'data kept');
};

subtest 'magical arguments' => sub {
    my $loop = new_loop();
    my $s = 'hello';
    my $op = $loop->read(fh => 1, len => length($s), data => substr($s, 1, 3));
    is($op->data, 'ell', 'an lvalue substr as data');
};

done_testing;
