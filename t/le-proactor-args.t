# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Argument checking of the proactor, its Fake hooks, Operation and Error:
# every croak text, word for word, and the order of the checks.
use v5.36;
use strict;
use warnings;
use Test::More;

use Linux::Event::Proactor;
use Linux::Event::Error;

my $loop = Linux::Event::Proactor->new;

# croaks($code, $text): dies with exactly "$text at <file> line <n>."
sub croaks ($code, $text, $name = $text) {
    local $@;
    my $ok = eval { $code->(); 1 };
    ok(!$ok, "$name: dies") or return;
    like($@, qr/^\Q$text\E at \S+ line \d+\.$/, $name);
}

my $cb = sub ($op, $r, $d) { };

subtest 'constructor' => sub {
    croaks(sub { Linux::Event::Proactor->new(backend => 'poll') }, 'backend must be fake or uring');
    croaks(sub { Linux::Event::Proactor->new(backend => {}) }, 'backend must be fake or uring', 'object backend');
    croaks(sub { Linux::Event::Proactor->new(clock => bless({}, 'Local::NoTick')) }, 'clock must provide tick()');
    croaks(sub { Linux::Event::Proactor->new(clock => {}) }, 'clock must provide tick()', 'unblessed clock');
    {
        package Local::TickOnly;
        sub tick { 1 }
    }
    croaks(sub { Linux::Event::Proactor->new(clock => bless({}, 'Local::TickOnly')) }, 'clock must provide now_ns()');
    croaks(sub { Linux::Event::Proactor::Backend::Fake->_new }, 'loop is required');
    croaks(sub { Linux::Event::Proactor::Backend::Uring->_new }, 'loop is required', 'uring: loop is required');
};

subtest 'uring backend options' => sub {
    my $U = 'Linux::Event::Proactor::Backend::Uring';
    my %loop = (loop => { queue_size => 64 });
    croaks(sub { $U->_new(%loop, queue_size => 0) }, 'queue_size must be a positive integer');
    croaks(sub { $U->_new(%loop, queue_size => 'x') }, 'queue_size must be a positive integer', 'queue_size x');
    croaks(sub { $U->_new(%loop, queue_size => 65536) }, 'queue_size must be at most 32768');
    croaks(sub { $U->_new(%loop, cqe_entries => -1) }, 'cqe_entries must be a positive integer');
    croaks(sub { $U->_new(%loop, submit_batch_size => 'many') }, 'submit_batch_size must be a positive integer');
    croaks(sub { $U->_new(%loop, provided_buffer_size => 0) }, 'provided_buffer_size must be a positive integer');
    croaks(sub { $U->_new(%loop, provided_buffer_size => 1000) }, 'provided_buffer_size must be a power of two');
    croaks(sub { $U->_new(%loop, provided_buffer_count => 'a') }, 'provided_buffer_count must be a positive integer');
    croaks(sub { $U->_new(%loop, provided_buffer_count => 3) }, 'provided_buffer_count must be a power of two');
    croaks(sub { $U->_new(%loop, provided_buffer_group => -1) }, 'provided_buffer_group must be a non-negative integer');
    my $b = $U->_new(%loop, submit_batch_size => 0, provided_buffer_group => 0, cqe_entries => 1024);
    is($b->{ring_entries}, 512, 'cqe_entries sizes the ring');
    is($b->name, 'uring', 'name');
    for my $k (qw(accept_sources recv_sources provided_buffers provided_buffer_size)) {
        ok(exists $b->{$k}, "key $k exists");
    }
    is($b->{provided_buffer_size}, 4096, 'provided_buffer_size default');
};

subtest 'unknown arguments' => sub {
    croaks(sub { $loop->read(fh => 1, len => 1, extra => 1) }, 'unknown argument: extra');
    croaks(sub { $loop->read(zz => 1, fh => 1, aa => 2) }, 'unknown argument: aa', 'first in sorted order');
    croaks(sub { $loop->read(zz => 1, yy => 1) }, 'unknown argument: yy', 'before the required keys');
    croaks(sub { $loop->read(buf => 'x') }, 'unknown argument: buf', 'a key of another op');
    croaks(sub { $loop->write(fh => 1, buf => 'x', len => 1) }, 'unknown argument: len');
    croaks(sub { $loop->after(1, fh => 1) }, 'unknown argument: fh', 'after');
    croaks(sub { $loop->at(1, zz => 1, bb => 1) }, 'unknown argument: bb', 'at');
    croaks(sub { $loop->splice(in_fh => 1, out_fh => 1, len => 1, fh => 1) }, 'unknown argument: fh', 'splice');
};

subtest 'required keys and values' => sub {
    croaks(sub { $loop->read(len => 1) }, 'fh is required', 'read fh');
    croaks(sub { $loop->read(fh => 1) }, 'len is required');
    croaks(sub { $loop->read(fh => 1, len => undef) }, 'len must be defined');
    croaks(sub { $loop->read(fh => 1, len => -1) }, 'len must be non-negative');
    ok($loop->read(fh => undef, len => 0), 'an undefined fh is accepted by read');
    ok($loop->read(fh => 1, 'len', 3), 'pairs');
    croaks(sub { $loop->read(fh => 1, 'len') },
        "Odd name/value argument for subroutine 'Linux::Event::Proactor::read'",
        'a dangling key croaks, as the (\$self, %arg) signature of 0.010 did');

    croaks(sub { $loop->write(buf => 'x') }, 'fh is required', 'write fh');
    croaks(sub { $loop->write(fh => 1) }, 'buf is required');
    croaks(sub { $loop->write(fh => 1, buf => undef) }, 'buf must be defined');

    croaks(sub { $loop->recv(fh => 1) }, 'len is required', 'recv len');
    croaks(sub { $loop->recv(fh => 1, len => -2) }, 'len must be non-negative', 'recv len < 0');
    croaks(sub { $loop->recv(fh => 1, len => 1, flags => undef) }, 'flags must be defined');
    croaks(sub { $loop->recv(fh => 1, len => 1, flags => '1.5') }, 'flags must be an integer');
    croaks(sub { $loop->recv(fh => 1, len => 1, flags => 'x') }, 'flags must be an integer', 'flags x');
    croaks(sub { $loop->recv(fh => 1, len => 1, flags => '') }, 'flags must be an integer', 'flags empty');
    ok($loop->recv(fh => 1, len => 1, flags => -3), 'negative integer flags pass the check');

    croaks(sub { $loop->send(fh => 1) }, 'buf is required', 'send buf');
    croaks(sub { $loop->send(fh => 1, buf => 'x', flags => 'a') }, 'flags must be an integer', 'send flags');

    croaks(sub { $loop->accept() }, 'fh is required', 'accept fh');

    croaks(sub { $loop->connect(addr => 'x') }, 'fh is required', 'connect fh');
    croaks(sub { $loop->connect(fh => 1) }, 'addr is required');
    croaks(sub { $loop->connect(fh => 1, addr => undef) }, 'addr must be defined');

    croaks(sub { $loop->shutdown(how => 'both') }, 'fh is required', 'shutdown fh');
    croaks(sub { $loop->shutdown(fh => 1) }, 'how is required');
    croaks(sub { $loop->shutdown(fh => 1, how => undef) }, 'how must be defined');
    my $how = q{how must be 'read', 'write', 'both', SHUT_RD, SHUT_WR, or SHUT_RDWR};
    croaks(sub { $loop->shutdown(fh => 1, how => 'sideways') }, $how);
    croaks(sub { $loop->shutdown(fh => 1, how => 999) }, $how, 'how 999');
    croaks(sub { $loop->shutdown(fh => 1, how => 3) }, $how, 'how 3');
    croaks(sub { $loop->shutdown(fh => 1, how => []) }, $how, 'how ref');
    croaks(sub { $loop->shutdown(fh => 1, how => 'x', on_complete => 1) }, 'on_complete must be a coderef',
           'on_complete is checked before how is normalised');

    croaks(sub { $loop->close() }, 'fh is required', 'close fh');
    croaks(sub { $loop->close(fh => undef) }, 'fh is required', 'close needs a defined fh');

    croaks(sub { $loop->splice(out_fh => 1, len => 1) }, 'in_fh is required');
    croaks(sub { $loop->splice(in_fh => 1, len => 1) }, 'out_fh is required');
    croaks(sub { $loop->splice(in_fh => 1, out_fh => 1) }, 'len is required', 'splice len');
    croaks(sub { $loop->splice(in_fh => 1, out_fh => 1, len => undef) }, 'len must be defined', 'splice len undef');
    croaks(sub { $loop->splice(in_fh => 1, out_fh => 1, len => -1) }, 'len must be non-negative', 'splice len < 0');
    croaks(sub { $loop->splice(in_fh => 1, out_fh => 1, len => 1, flags => 'z') }, 'flags must be an integer', 'splice flags');

    croaks(sub { $loop->after(undef) }, 'after requires seconds');
    croaks(sub { $loop->at(undef) }, 'at requires deadline');

    for my $m (qw(read write recv send accept connect shutdown close)) {
        my %a = (fh => 1, len => 1, buf => 'x', addr => 'a', how => 'read');
        my %need = (read => [qw(fh len)], write => [qw(fh buf)], recv => [qw(fh len)],
                    send => [qw(fh buf)], accept => ['fh'], connect => [qw(fh addr)],
                    shutdown => [qw(fh how)], close => ['fh']);
        my %args = map { $_ => $a{$_} } @{ $need{$m} };
        croaks(sub { $loop->$m(%args, on_complete => 'nope') }, 'on_complete must be a coderef', "$m on_complete");
        ok($loop->$m(%args, on_complete => undef), "$m: undefined on_complete is fine");
    }
    croaks(sub { $loop->after(1, on_complete => {}) }, 'on_complete must be a coderef', 'after on_complete');
    croaks(sub { $loop->splice(in_fh => 1, out_fh => 1, len => 1, on_complete => []) },
           'on_complete must be a coderef', 'splice on_complete');
};

subtest 'submission internals' => sub {
    croaks(sub { $loop->_submit_op('frobnicate') }, 'backend does not support _submit_frobnicate');
    croaks(sub { $loop->_submit_op(undef) }, 'kind is required', '_submit_op kind');
    croaks(sub { $loop->{backend}->_submit_timeout(undef) }, 'deadline_ns is required');
    croaks(sub { $loop->_submit_op('timeout') }, 'deadline_ns is required', 'through _submit_op');
    {
        no warnings 'once';
        local *Linux::Event::Proactor::Backend::Fake::_submit_read = sub { return undef };
        croaks(sub { $loop->read(fh => 1, len => 1) }, 'token is required');
    }
    {
        no warnings 'once';
        local *Linux::Event::Proactor::Backend::Fake::_submit_read = sub { return 'same' };
        ok($loop->read(fh => 1, len => 1), 'first registration of token "same"');
        croaks(sub { $loop->read(fh => 1, len => 1) }, 'duplicate token registration: same');
    }
    croaks(sub { $loop->_new_op(data => 1) }, 'kind is required', '_new_op kind');
    croaks(sub { $loop->_new_op(kind => 'x', on_complete => 'y') }, 'callback must be a coderef', '_new_op callback');
    croaks(sub { Linux::Event::Operation->_new(kind => 'x') }, 'loop is required', 'Operation->_new loop');
    croaks(sub { Linux::Event::Operation->_new(loop => $loop) }, 'kind is required', 'Operation->_new kind');
    croaks(sub { Linux::Event::Operation->_new(loop => $loop, kind => 'k', callback => 1) },
           'callback must be a coderef', 'Operation->_new callback');
    my $op = Linux::Event::Operation->_new(loop => $loop, kind => 'custom', data => 'd');
    is($op->kind, 'custom', 'any kind');
    is($op->loop, $loop, 'bound to the engine');
    is($op->_backend_token, undef, 'unregistered');
    is($op->cancel, 0, 'cancel of an unregistered op: the Fake finds no token');
};

subtest 'fake hooks' => sub {
    my $r = $loop->read(fh => 1, len => 3);
    my $t = $r->_backend_token;
    croaks(sub { $loop->_fake_complete_read_success(undef, 'x') }, 'token is required');
    croaks(sub { $loop->_fake_complete_read_success($t, undef) }, 'chunk must be defined');
    croaks(sub { $loop->_fake_complete_read_success(9999, 'x') }, 'no pending read for token 9999');
    croaks(sub { $loop->_fake_complete_read_success($t, 'toolong') },
           "fake read chunk exceeds requested len for token $t");
    ok($r->is_pending && exists $loop->{ops_by_token}{$t}, 'a hook that croaks leaves the op pending and registered');
    $loop->_fake_complete_read_success($t, 'abc');
    ok($r->success, 'and it can then complete');

    my $rv = $loop->recv(fh => 1, len => 1);
    croaks(sub { $loop->_fake_complete_recv_success($rv->_backend_token, 'xy') },
           'fake recv chunk exceeds requested len for token ' . $rv->_backend_token);

    my $w = $loop->write(fh => 1, buf => 'abc');
    croaks(sub { $loop->_fake_complete_write_success($w->_backend_token, undef) }, 'bytes is required');
    croaks(sub { $loop->_fake_complete_write_success($w->_backend_token, -1) }, 'bytes must be non-negative');
    croaks(sub { $loop->_fake_complete_write_success($w->_backend_token, 4) },
           'fake write bytes exceeds submitted buffer size for token ' . $w->_backend_token);
    my $s = $loop->send(fh => 1, buf => 'abc');
    croaks(sub { $loop->_fake_complete_send_success($s->_backend_token, 9) },
           'fake send bytes exceeds submitted buffer size for token ' . $s->_backend_token);
    croaks(sub { $loop->_fake_complete_write_error($w->_backend_token, name => 'X') }, 'code is required');
    croaks(sub { $loop->_fake_complete_read_error(undef, code => 1) }, 'token is required', 'error hook token');

    my $a = $loop->accept(fh => 1);
    croaks(sub { $loop->_fake_complete_accept_success($a->_backend_token, undef) }, 'fh is required', 'accept hook fh');
    croaks(sub { $loop->_fake_complete_connect_success($a->_backend_token) },
           'no pending connect for token ' . $a->_backend_token, 'wrong kind');

    my $c = $loop->connect(fh => 1, addr => 'x');
    $loop->_unregister_op($c->_backend_token);
    croaks(sub { $loop->_fake_complete_connect_success($c->_backend_token) },
           'no registered op for token ' . $c->_backend_token);

    is($loop->{backend}->_fake_complete_splice_success(undef, 1), 0, 'splice hook: no token, 0');
    is($loop->{backend}->_fake_complete_splice_error(424242, code => 1), 0, 'splice hook: unknown token, 0');

    my $u = Linux::Event::Proactor->new;
    for my $hook (qw(_fake_complete_read_success _fake_complete_close_error)) {
        no strict 'refs';
        local $u->{backend} = bless {}, 'Local::Bare';
        croaks(sub { $u->$hook(1) }, "active backend does not support $hook");
    }
};

subtest 'operation methods' => sub {
    my $op = $loop->_new_op(kind => 'read');
    croaks(sub { $op->on_complete(undef) }, 'callback is required');
    croaks(sub { $op->on_complete('x') }, 'callback must be a coderef');
    $op->on_complete($cb);
    croaks(sub { $op->on_complete($cb) }, 'callback already set');
    $op->_settle_success({});
    croaks(sub { $op->_settle_success({}) }, 'operation already terminal');
    croaks(sub { $op->_settle_error(Linux::Event::Error->new(code => 1)) }, 'operation already terminal', 'settle error twice');
    croaks(sub { $op->_settle_cancelled }, 'operation already terminal', 'settle cancelled after done');
    croaks(sub { Linux::Event::Operation::state(bless {}, 'X') }, 'not a Linux::Event::Operation');
};

subtest 'error' => sub {
    croaks(sub { Linux::Event::Error->new(name => 'X') }, 'code is required');
    croaks(sub { Linux::Event::Error->new(code => undef) }, 'code is required', 'undefined code');
    my $e = Linux::Event::Error->new(code => 32, name => 'EPIPE', message => 'Broken pipe');
    is_deeply([$e->code, $e->name, $e->message], [32, 'EPIPE', 'Broken pipe'], 'accessors');
    my $d = Linux::Event::Error->new(code => '7');
    is_deeply([$d->code, $d->name, $d->message], ['7', 'EUNKNOWN', ''], 'defaults');
};

done_testing;
