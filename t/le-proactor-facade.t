# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The proactor through the Linux::Event::Loop facade (skipped until the
# facade is in the tree).
use v5.36;
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use EvlTest qw(uring_loop);

plan skip_all => 'Linux::Event::Loop is not in this tree'
    unless eval { require Linux::Event::Loop; 1 };

subtest 'fake backend through the facade' => sub {
    my $loop = Linux::Event::Loop->new(model => 'proactor', backend => 'fake');
    isa_ok($loop->{impl}, 'Linux::Event::Proactor');
    is($loop->backend_name, 'fake', 'backend_name');
    my @seen;
    my $op = $loop->splice(in_fh => 'IN', out_fh => 'OUT', len => 10, data => 'ctx',
        on_complete => sub ($op, $res, $ctx) { push @seen, [$op->loop, $res, $ctx] });
    is($op->loop, $loop->{impl}, '$op->loop is the engine, not the facade');
    is($loop->live_op_count, 1, 'live_op_count');
    is($loop->{impl}{backend}->_fake_complete_splice_success($op->_backend_token, 10), 1, 'hook');
    is($loop->run_once, 1, 'run_once');
    is_deeply($seen[0][1], { bytes => 10 }, 'result');
    is($seen[0][2], 'ctx', 'data');

    my $t = $loop->after(0, on_complete => sub ($op, $r, $d) { push @seen, 'timer' });
    is($loop->run_once, 2, 'after through the facade');
    my $c = $loop->at($loop->clock->now_s - 1);
    $c->cancel;
    is($loop->drain_callbacks, 0, 'drain_callbacks through the facade');
    ok(!eval { $loop->watch(\*STDIN, read => sub { }); 1 }, 'no reactor methods');
    like($@, qr/loop model 'proactor' does not support watch\(\)/, 'croak text');
};

subtest 'uring is the default backend of the facade' => sub {
    my $loop = uring_loop(sub { Linux::Event::Loop->new(model => 'proactor') }) or return;
    is($loop->backend_name, 'uring', 'uring');
    pipe(my $r, my $w) or die $!;
    syswrite($w, 'via facade');
    my $got;
    $loop->read(fh => $r, len => 64, on_complete => sub ($op, $res, $d) { $got = $res->{data} });
    $loop->run_once while $loop->live_op_count;
    $loop->drain_callbacks;
    is($got, 'via facade', 'read');
};

done_testing;
