# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# What the uring proactor's per-op shortcuts must not change: every
# result hash and data string is the caller's own (a kept one is never
# overwritten by a later completion that reuses the read buffer), an
# Operation nobody keeps still completes and leaves the registry, one
# that is kept (or that a destructor reads) gets its result, engine-made
# tokens and ops_by_token, the callback is the code given at submission,
# and run's loop in XS.
use v5.36;
use strict;
use warnings;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM);
use Scalar::Util qw(refaddr);
use lib 't/lib';
use EvlTest qw(uring_loop settle);

use Linux::Event::Proactor;
use Linux::Event::Loop;

# Without io_uring (ENOSYS, EPERM) the file is one skipped test.
uring_loop(sub { Linux::Event::Proactor->new(backend => 'uring') }) or do { done_testing; exit };

$SIG{PIPE} = 'DEFAULT';
alarm 60;

sub new_loop { return Linux::Event::Proactor->new(backend => 'uring') }

sub pair () {
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
    return ($x, $y);
}


# Kept results: small messages into big buffers (copied out, the buffer
# reused by the next recv) and one that fills most of its buffer (handed
# over), in sequence, each result and each data SV kept and one of them
# modified before the next completion.
{
    my $loop = new_loop();
    my ($x, $y) = pair();
    my @msgs = ('first', 'second', 'y' x 3000, 'third', '', '');
    my (@res, @dref);
    my $i = 0;
    my $cb;
    $cb = sub ($op, $res, $d) {
        push @res, $res;
        push @dref, \$res->{data};
        ${ $dref[0] } .= '!' if $i == 1;    # the caller's own string
        if (++$i < @msgs) {
            syswrite($y, $msgs[$i]) if length $msgs[$i];
            shutdown($y, 1) if $i == 4;
            $op->loop->recv(fh => $x, len => 4096, on_complete => $cb);
        } else {
            $op->loop->stop;
        }
    };
    $loop->recv(fh => $x, len => 4096, on_complete => $cb);
    syswrite($y, $msgs[0]);
    $loop->run;
    undef $cb;
    is(scalar @res, 6, 'six recv completions');
    is_deeply([sort keys %{ $res[1] }],
        [qw(bytes data eof)], 'a result has exactly bytes, data, eof');
    is(${ $dref[0] }, 'first!', 'first data kept, and writable without touching later results');
    is($res[0]{data}, 'first!', '... it is the hash\'s own value');
    is($res[1]{data}, 'second', 'second data not overwritten by later reads');
    is($res[2]{data}, 'y' x 3000, 'a mostly full buffer handed over intact');
    is($res[3]{data}, 'third', 'a read after it: its own data');
    is_deeply($res[4], { bytes => 0, data => '', eof => 1 }, 'eof result');
    is($res[5]{eof}, 1, 'eof again after the peer shut down');
    is_deeply([map { $_->{bytes} } @res], [5, 6, 3000, 5, 0, 0], 'bytes of each');
    is_deeply([map { $_->{eof} } @res], [0, 0, 0, 0, 1, 1], 'eof of each');
    $res[1]{bytes} = 99;
    delete $res[1]{eof};
    is_deeply(
        $res[1],
        { bytes => 99, data => 'second' },
        'a result hash is an ordinary, writable hash'
    );
    isnt(refaddr($res[0]), refaddr($res[1]), 'each completion has its own hash');
}

# Two reads in flight at once, completing in the same pass: each gets
# its own bytes.
{
    my $loop = new_loop();
    my ($x1, $y1) = pair();
    my ($x2, $y2) = pair();
    my %got;
    my @ops = map {
        my ($fh, $name) = @$_;
        $loop->recv(
            fh          => $fh,
            len         => 65536,
            on_complete => sub ($op, $res, $d) { $got{$name} = $res }
        );
    } [$x1, 'one'], [$x2, 'two'];
    syswrite($y1, 'aaaa');
    syswrite($y2, 'bb');
    settle($loop, @ops);
    is($got{one}{data}, 'aaaa', 'first of two concurrent reads');
    is($got{two}{data}, 'bb', 'second of two concurrent reads');
}

# An Operation nobody keeps, without a callback: it still completes,
# leaves ops_by_token and live_op_count, and its bytes arrive.  One that
# is kept gets its result.
{
    my $loop = new_loop();
    my ($x, $y) = pair();
    $loop->send(fh => $x, buf => 'dropped');
    my $kept = $loop->send(fh => $x, buf => 'kept');
    is($loop->live_op_count, 2, 'two sends in flight');
    my $n = 0;
    $loop->run_once while $loop->live_op_count > 0 && ++$n < 1000;
    is($loop->live_op_count, 0, 'both completed');
    is_deeply([keys %{ $loop->{ops_by_token} }], [], 'ops_by_token is empty');
    sysread($y, my $buf, 100);
    is($buf, 'droppedkept', 'the dropped send was performed');
    is($kept->state, 'done', 'kept send is done');
    is_deeply($kept->result, { bytes => 4 }, 'kept send has its result');

    # Errors: a dropped op's error goes nowhere, a kept one's is there.
    close $y;
    $loop->send(fh => $x, buf => 'x');
    my $err = $loop->send(fh => $x, buf => 'y');
    settle($loop, $err);
    is($loop->live_op_count, 0, 'failed sends leave the registry');
    ok($err->failed, 'kept failed send is failed');
    is($err->error->name, 'EPIPE', '... with EPIPE');
}

# A destructor on the Operation class (added at run time) can read an op
# nobody else holds as it goes: such an op still gets its result.
{
    my $loop = new_loop();
    my ($x, $y) = pair();
    my @seen;
    {
        no warnings 'once';
        *Linux::Event::Operation::DESTROY = sub ($op) { push @seen, [$op->kind, $op->result] };
    }
    $loop->send(fh => $x, buf => 'abc');
    my $n = 0;
    $loop->run_once while $loop->live_op_count > 0 && ++$n < 1000;
    delete $Linux::Event::Operation::{DESTROY};
    is_deeply(\@seen, [['send', { bytes => 3 }]], 'DESTROY of a dropped send sees its result');
    @seen = ();
    $loop->send(fh => $x, buf => 'de');
    $n = 0;
    $loop->run_once while $loop->live_op_count > 0 && ++$n < 1000;
    is_deeply(\@seen, [], 'DESTROY removed again');
    sysread($y, my $buf, 100);
    is($buf, 'abcde', 'both sends performed');
}

# Tokens the engine makes: integers from next_op_id, the key of the op in
# ops_by_token while it is in flight, gone at completion.
{
    my $loop = new_loop();
    my ($x, $y) = pair();
    my $first = $loop->{next_op_id};
    my $r1    = $loop->recv(fh => $x, len => 10, on_complete => sub { });
    my $r2    = $loop->recv(fh => $x, len => 10);
    my ($t1, $t2) = map { $_->_backend_token } $r1, $r2;
    is($t1, $first, 'first token is next_op_id');
    is($t2, $first + 1, 'tokens count up');
    ok($t1 =~ /\A[0-9]+\z/, 'a token is an integer');
    is_deeply(
        [sort { $a <=> $b } keys %{ $loop->{ops_by_token} }],
        [$t1, $t2],
        'ops_by_token keys are the tokens'
    );
    is(refaddr(${ $loop->{ops_by_token}{$t1} }), refaddr($$r1), 'ops_by_token holds the op');
    my %copy = %{ $loop->{ops_by_token} };
    is(scalar keys %copy, 2, 'ops_by_token copies as a hash');
    ok(exists $loop->{ops_by_token}{"$t2"}, 'looked up by string');
    syswrite($y, 'abc');
    settle($loop, $r1);
    ok(!exists $loop->{ops_by_token}{$t1}, 'completed op left ops_by_token');
    ok(exists $loop->{ops_by_token}{$t2}, 'the other is still there');
    is($loop->live_op_count, 1, 'live_op_count follows');
    is($r1->_backend_token, $t1, 'the token is still the op\'s after completion');
    syswrite($y, 'd');
    settle($loop, $r2);
    is($loop->live_op_count, 0, 'all done');
    is_deeply(
        $r2->result,
        { bytes => 1, data => 'd', eof => 0 },
        'result of an op without a callback'
    );
}

# The callback is the code given when the op was submitted, whatever
# happens to the variable that held it.
{
    my $loop = new_loop();
    my ($x, $y) = pair();
    my @ran;
    my $cb = sub ($op, $res, $d) { push @ran, "first:$d:$res->{data}" };
    my $op = $loop->recv(fh => $x, len => 10, data => 'ctx', on_complete => $cb);
    $cb = sub { push @ran, 'second' };
    syswrite($y, 'q');
    settle($loop, $op);
    is_deeply(\@ran, ['first:ctx:q'], 'the submitted callback ran, with data');
    is($op->data, undef, 'data cleared after the callback');
    $op->on_complete($cb);
    $loop->drain_callbacks;
    is_deeply(\@ran, ['first:ctx:q', 'second'], 'a late callback runs too');
}

# run: stop from a callback, an exception from a callback, run again.
for my $facade (0, 1) {
    my $loop = $facade ? Linux::Event::Loop->new(model => 'proactor') : new_loop();
    my $name = $facade ? 'facade' : 'engine';
    my ($x, $y) = pair();
    my $n = 0;
    my $cb;
    $cb = sub ($op, $res, $d) {
        die "boom\n" if $res->{data} eq 'die';
        return $op->loop->stop if ++$n == 3;
        syswrite($y, 'm');
        $op->loop->recv(fh => $x, len => 10, on_complete => $cb);
    };
    $loop->recv(fh => $x, len => 10, on_complete => $cb);
    syswrite($y, 'm');
    $loop->run;
    is($n, 3, "$name: run returns after stop from the third callback");
    ok(!$loop->is_running, "$name: not running after run");
    $loop->recv(fh => $x, len => 10, on_complete => $cb);
    syswrite($y, 'die');
    ok(!eval { $loop->run; 1 }, "$name: a callback's exception leaves run");
    is($@, "boom\n", "$name: ... with its message");
    ok(!$loop->is_running, "$name: not running after the exception");
    $n = 1;
    $loop->recv(fh => $x, len => 10, on_complete => $cb);
    syswrite($y, 'm');
    $loop->run;
    is($n, 3, "$name: run works again");
    undef $cb;
}

done_testing;
