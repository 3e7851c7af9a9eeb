# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every proactor operation on the Fake backend: submission, the test
# hooks, result shapes, errors, cancellation and the exact counts of
# run_once / drain_callbacks.
use v5.36;
use strict;
use warnings;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM SHUT_RD SHUT_WR SHUT_RDWR pack_sockaddr_un);

use Linux::Event::Proactor;
use Linux::Event::Error;

sub new_loop { return Linux::Event::Proactor->new(@_) }

# A callback that records exactly what it was given (and dies on a
# fourth argument, as a signature would).
sub recorder ($log) {
    return sub ($op, $result, $data) {
        push @$log, { state => $op->state, success => $op->success,
                      failed => $op->failed, result => $result, data => $data,
                      error => $op->error, kind => $op->kind };
    };
}

subtest 'constructor and fields' => sub {
    my $loop = new_loop();
    isa_ok($loop, 'Linux::Event::Proactor');
    is(ref($loop), 'Linux::Event::Proactor', 'a blessed hash');
    is($loop->backend_name, 'fake', 'fake is the default of the class');
    isa_ok($loop->{backend}, 'Linux::Event::Proactor::Backend::Fake');
    is($loop->{backend}->name, 'fake', 'backend name');
    is($loop->{next_op_id}, 1, 'next_op_id starts at 1');
    is($loop->{queue_size}, 64, 'queue_size defaults to 64');
    is_deeply($loop->{ops_by_token}, {}, 'empty registry');
    is_deeply($loop->{callback_queue}, [], 'empty queue');
    is($loop->{callback_head}, 0, 'callback_head');
    is($loop->live_op_count, 0, 'no live ops');
    is($loop->is_running, 0, 'not running');
    ok($loop->clock->can('tick') && $loop->clock->can('now_ns'), 'a clock');
    is(new_loop(queue_size => 8)->{queue_size}, 8, 'queue_size kept');
    is(new_loop(backend => 'fake', whatever => 1)->backend_name, 'fake',
       'unknown constructor keys are not rejected');
    is(scalar(my @r = $loop->stop), 0, 'stop returns an empty list');
};

subtest 'read' => sub {
    my $loop = new_loop();
    my @log;
    my $op = $loop->read(fh => \*STDIN, len => 10, data => 'ctx', on_complete => recorder(\@log));
    isa_ok($op, 'Linux::Event::Operation');
    is($op->state, 'pending', 'pending');
    is($op->kind, 'read', 'kind');
    my $t = $op->_backend_token;
    is($t, 1, 'first token is 1');
    ok(exists $loop->{ops_by_token}{$t}, 'registered');
    is($loop->live_op_count, 1, 'one live op');
    is_deeply($loop->{backend}{pending_reads}{$t}{len}, 10, 'pending record');

    is($loop->_fake_complete_read_success($t, 'hello'), $op, 'hook returns the op');
    is($op->state, 'done', 'settled at once');
    ok(!exists $loop->{ops_by_token}{$t}, 'unregistered');
    is($loop->live_op_count, 0, 'no live ops');
    is_deeply($op->result, { bytes => 5, data => 'hello', eof => 0 }, 'result hash');
    is(scalar(@log), 0, 'callback deferred');
    is($loop->run_once, 1, 'run_once: one callback');
    is(scalar(@log), 1, 'ran once');
    is_deeply($log[0], { state => 'done', success => 1, failed => 0,
        result => { bytes => 5, data => 'hello', eof => 0 }, data => 'ctx',
        error => undef, kind => 'read' }, 'callback saw the settled op');
    is($op->data, undef, 'data cleared after the callback');
    is($loop->run_once, 0, 'nothing left');

    my $eof = $loop->read(fh => undef, len => 3);
    $loop->_fake_complete_read_success($eof->_backend_token, '');
    is_deeply($eof->result, { bytes => 0, data => '', eof => 1 }, 'eof: bytes 0, eof 1');
    is($loop->run_once, 0, 'no callback: 0');
};

subtest 'write and send' => sub {
    my $loop = new_loop();
    for my $kind (qw(write send)) {
        my @log;
        my $op = $loop->$kind(fh => 'H', buf => 'abcdef', data => $kind,
            ($kind eq 'send' ? (flags => 0) : ()), on_complete => recorder(\@log));
        my $t = $op->_backend_token;
        my $rec = $loop->{backend}{"pending_${kind}s"}{$t};
        is($rec->{size}, 6, "$kind: size recorded");
        is($rec->{flags}, 0, 'send flags recorded') if $kind eq 'send';
        my $hook = "_fake_complete_${kind}_success";
        $loop->$hook($t, 3);
        is_deeply($op->result, { bytes => 3 }, "$kind: a partial transfer is a success");
        ok($op->success, "$kind: success");
        is($loop->drain_callbacks, 1, "$kind: drained");
        is($log[0]{data}, $kind, "$kind: data");
    }
    my $s = $loop->send(fh => 'H', buf => 'x');
    is($loop->{backend}{pending_sends}{ $s->_backend_token }{flags}, 0, 'flags default to 0');
};

subtest 'recv' => sub {
    my $loop = new_loop();
    my @log;
    my $op = $loop->recv(fh => 'S', len => 4, flags => 64, data => 7, on_complete => recorder(\@log));
    is($loop->{backend}{pending_recvs}{ $op->_backend_token }{flags}, 64, 'flags recorded');
    $loop->_fake_complete_recv_success($op->_backend_token, 'abcd');
    is_deeply($op->result, { bytes => 4, data => 'abcd', eof => 0 }, 'result');
    is($loop->run_once, 1, 'one callback');
    is($log[0]{data}, 7, 'data');
};

subtest 'accept' => sub {
    my $loop = new_loop();
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
    my $addr = pack_sockaddr_un('/tmp/peer');
    my @log;
    my $op = $loop->accept(fh => $x, data => 'a', on_complete => recorder(\@log));
    $loop->_fake_complete_accept_success($op->_backend_token, $y, $addr);
    is_deeply($op->result, { fh => $y, addr => $addr }, 'fh and addr');
    my $op2 = $loop->accept(fh => $x);
    $loop->_fake_complete_accept_success($op2->_backend_token, $y);
    is_deeply($op2->result, { fh => $y, addr => undef }, 'addr defaults to undef');
    is($loop->run_once, 1, 'one callback (the second op has none)');
    is($log[0]{result}{fh}, $y, 'callback got the handle');
};

subtest 'connect, shutdown, close' => sub {
    my $loop = new_loop();
    my @log;
    my $c = $loop->connect(fh => 'S', addr => 'packed', on_complete => recorder(\@log));
    my $s = $loop->shutdown(fh => 'S', how => 'write', on_complete => recorder(\@log));
    my $k = $loop->close(fh => 'S', on_complete => recorder(\@log));
    is($loop->{backend}{pending_connects}{ $c->_backend_token }{addr}, 'packed', 'addr recorded');
    is($loop->{backend}{pending_shutdowns}{ $s->_backend_token }{how}, SHUT_WR,
       'how normalised before the backend sees it');
    is_deeply([map { $_->_backend_token } $c, $s, $k], [1, 2, 3], 'tokens 1, 2, 3');
    $loop->_fake_complete_connect_success($c->_backend_token);
    $loop->_fake_complete_shutdown_success($s->_backend_token);
    $loop->_fake_complete_close_success($k->_backend_token);
    is_deeply([map { $_->result } $c, $s, $k], [{}, {}, {}], 'empty result hashes');
    is($loop->drain_callbacks, 3, 'drain: 3');
    is($loop->drain_callbacks, 0, 'drain again: 0');
    is_deeply([map { $_->{kind} } @log], [qw(connect shutdown close)], 'FIFO order');

    my %how = (read => SHUT_RD, write => SHUT_WR, both => SHUT_RDWR,
               0 => 0, 1 => 1, 2 => 2);
    for my $h (sort keys %how) {
        my $op = $loop->shutdown(fh => 'S', how => $h);
        is($loop->{backend}{pending_shutdowns}{ $op->_backend_token }{how}, $how{$h}, "how $h");
    }
};

subtest 'splice' => sub {
    my $loop = new_loop();
    my @log;
    my $op = $loop->splice(in_fh => 'IN', out_fh => 'OUT', len => 100, flags => 1,
                           data => 'sp', on_complete => recorder(\@log));
    my $b = $loop->{backend};
    my $t = $op->_backend_token;
    is($b->{pending_splices}{$t}{len}, 100, 'recorded');
    ok(!$loop->can('_fake_complete_splice_success'), 'no splice forwarder on the engine');
    is($b->_fake_complete_splice_success($t, 0), 1, 'hook returns 1');
    is_deeply($op->result, { bytes => 0 }, 'zero bytes is a success');
    is($b->_fake_complete_splice_success($t, 0), 0, 'then 0: nothing pending');
    is($loop->run_once, 1, 'callback');
    is($log[0]{result}{bytes}, 0, 'callback saw 0 bytes');

    my $e = $loop->splice(in_fh => 'IN', out_fh => 'OUT', len => 5);
    is($b->_fake_complete_splice_error($e->_backend_token, code => 32, name => 'EPIPE'), 1, 'error hook');
    ok($e->failed, 'failed');
    is($e->error->name, 'EPIPE', 'error name');

    my $c = $loop->splice(in_fh => 'IN', out_fh => 'OUT', len => 5);
    ok($c->cancel, 'cancel');
    is_deeply($b->{pending_splices}, {}, 'cancel removes the splice record too');
};

subtest 'errors through the hooks' => sub {
    my $loop = new_loop();
    for my $kind (qw(read write recv send accept connect shutdown close)) {
        my @log;
        my %args = (fh => 'F', on_complete => recorder(\@log), data => $kind);
        $args{len} = 1 if $kind eq 'read' || $kind eq 'recv';
        $args{buf} = 'x' if $kind eq 'write' || $kind eq 'send';
        $args{addr} = 'a' if $kind eq 'connect';
        $args{how} = 'both' if $kind eq 'shutdown';
        my $op = $loop->$kind(%args);
        my $hook = "_fake_complete_${kind}_error";
        is($loop->$hook($op->_backend_token, code => 104, name => 'ECONNRESET',
                        message => 'Connection reset by peer'), $op, "$kind: hook returns op");
        is($op->state, 'done', "$kind: done");
        is($op->success, 0, "$kind: success 0");
        is($op->failed, 1, "$kind: failed 1");
        is($op->result, undef, "$kind: no result");
        isa_ok($op->error, 'Linux::Event::Error');
        is($op->error->code, 104, "$kind: code");
        is($loop->run_once, 1, "$kind: one callback");
        is($log[0]{result}, undef, "$kind: callback result undef");
        is($log[0]{error}->name, 'ECONNRESET', "$kind: callback sees the error");
        is($log[0]{data}, $kind, "$kind: data");
    }
    my $op = $loop->read(fh => 'F', len => 1);
    $loop->_fake_complete_read_error($op->_backend_token, code => 5);
    is($op->error->name, 'EUNKNOWN', 'name defaults to EUNKNOWN');
    is($op->error->message, '', 'message defaults to empty');
};

subtest 'cancel on every kind' => sub {
    my $loop = new_loop();
    my %args = (read => [len => 1], write => [buf => 'x'], recv => [len => 1],
                send => [buf => 'x'], accept => [], connect => [addr => 'a'],
                shutdown => [how => 'read'], close => []);
    for my $kind (sort keys %args) {
        my @log;
        my $op = $loop->$kind(fh => 'F', @{ $args{$kind} }, on_complete => recorder(\@log));
        my $t = $op->_backend_token;
        is($op->cancel, 1, "$kind: cancel returns 1");
        is($op->is_cancelled, 1, "$kind: cancelled at once");
        ok(!exists $loop->{ops_by_token}{$t}, "$kind: unregistered");
        is($loop->live_op_count, 0, "$kind: live count");
        is($op->cancel, 0, "$kind: second cancel returns 0");
        is(scalar(@log), 0, "$kind: callback not inline");
        is($loop->run_once, 1, "$kind: run_once 1 after a cancel");
        is($log[0]{state}, 'cancelled', "$kind: callback saw cancelled");
        is($log[0]{result}, undef, "$kind: result undef");
        my $hook = "_fake_complete_${kind}_success";
        my @extra = $kind =~ /read|recv/ ? ('x') : $kind eq 'accept' ? (\*STDIN)
                  : $kind =~ /write|send/ ? (1) : ();
        ok(!eval { $loop->$hook($t, @extra); 1 },
           "$kind: a hook on a cancelled op croaks");
        like($@, qr/^no pending \Q$kind\E for token \Q$t\E at /, "$kind: no pending");
    }
};

subtest 'timers' => sub {
    my $loop = new_loop();
    my @log;
    my $op = $loop->after(0.02, data => 't', on_complete => recorder(\@log));
    is($op->kind, 'timeout', 'kind timeout');
    is($loop->run_once, 0, 'run_once before expiry: 0');
    select(undef, undef, undef, 0.03);
    is($loop->run_once, 2, 'expiry with a callback: 2');
    is_deeply($log[0]{result}, { expired => 1 }, 'expired => 1');
    ok(!exists $loop->{ops_by_token}{ $op->_backend_token }, 'unregistered');

    my $quiet = $loop->after(0);
    is($quiet->state, 'pending', 'after(0) is not settled inline');
    is($loop->run_once, 1, 'expiry without a callback: 1');
    ok($quiet->success, 'settled');

    my $neg = $loop->after(-5);
    is($loop->run_once, 1, 'a negative delay is 0');

    my @order;
    my $at = $loop->clock->now_s;
    $loop->at($at + 0.002, on_complete => sub ($o, $r, $d) { push @order, 'c' });
    $loop->at($at + 0.001, on_complete => sub ($o, $r, $d) { push @order, 'a' });
    $loop->at($at + 0.001, on_complete => sub ($o, $r, $d) { push @order, 'b' });
    $loop->at($at - 1, on_complete => sub ($o, $r, $d) { push @order, 'past' });
    is(scalar(@order), 0, 'a past deadline is not settled inline');
    select(undef, undef, undef, 0.01);
    is($loop->run_once, 8, '4 expiries + 4 callbacks');
    is_deeply(\@order, [qw(past a b c)], 'deadline order, FIFO on ties');

    my @two;
    $loop->after(0.03, on_complete => sub ($o, $r, $d) { push @two, 'late' });
    $loop->after(0.005, on_complete => sub ($o, $r, $d) { push @two, 'early' });
    select(undef, undef, undef, 0.01);
    $loop->run_once;
    is_deeply(\@two, ['early'], 'only the due timer');
    select(undef, undef, undef, 0.03);
    $loop->run_once;
    is_deeply(\@two, [qw(early late)], 'then the later one');

    my @c;
    my $cx = $loop->after(0.01, on_complete => sub ($o, $r, $d) { push @c, $o->state });
    ok($cx->cancel, 'cancel a timer');
    is($loop->run_once, 1, 'cancel callback');
    select(undef, undef, undef, 0.02);
    is($loop->run_once, 0, 'a cancelled timer never expires');
    is_deeply(\@c, ['cancelled'], 'only the cancel');
    is($loop->{backend}->_next_deadline_ns, undef, 'no timers left');
};

subtest 'run and stop' => sub {
    my $loop = new_loop();
    my @seen;
    $loop->after(0.01, on_complete => sub ($op, $r, $d) {
        push @seen, $op->loop->is_running;
        $op->loop->stop;
    });
    $loop->run;
    is_deeply(\@seen, [1], 'callback ran inside run, is_running 1');
    is($loop->is_running, 0, 'not running afterwards');

    $loop->stop;
    my $n = 0;
    $loop->after(0, on_complete => sub ($op, $r, $d) { $n++; $op->loop->stop });
    $loop->run;
    is($n, 1, 'stop before run has no effect: run still runs');
};

done_testing;
