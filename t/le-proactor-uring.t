# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every proactor operation on the io_uring backend, for real: pipes,
# socketpairs, files and TCP on 127.0.0.1.
use v5.36;
use strict;
use warnings;
use Test::More;
use File::Temp ();
use Socket qw(AF_UNIX AF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR SHUT_WR
              MSG_PEEK INADDR_LOOPBACK pack_sockaddr_in sockaddr_in inet_aton);
use Time::HiRes ();
use lib 't/lib';
use EvlTest qw(uring_loop settle);

use Linux::Event::Proactor;

# Without io_uring (ENOSYS, EPERM) the file is one skipped test; any other
# failure to make a loop is a failing test.
uring_loop(sub { Linux::Event::Proactor->new(backend => 'uring') }) or do { done_testing; exit };

# A SIGPIPE would kill the test: every EPIPE must come back as an error.
$SIG{PIPE} = 'DEFAULT';
alarm 60;

sub new_loop { return Linux::Event::Proactor->new(backend => 'uring', @_) }


sub listener () {
    socket(my $l, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($l, SOL_SOCKET, SO_REUSEADDR, 1);
    bind($l, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die "bind: $!";
    listen($l, 8) or die "listen: $!";
    return $l;
}

subtest 'basics' => sub {
    my $loop = new_loop();
    is($loop->backend_name, 'uring', 'backend_name');
    isa_ok($loop->{backend}, 'Linux::Event::Proactor::Backend::Uring');
    is($loop->run_once, 0, 'nothing in flight: run_once returns 0 at once');
    ok(!eval { $loop->_fake_complete_read_success(1, 'x'); 1 }, 'no fake hooks');
    like($@, qr/^active backend does not support _fake_complete_read_success at /, 'croak text');
    ok(!eval { $loop->read(fh => 'nope', len => 1); 1 }, 'fh must be a handle');
    like($@, qr/^fh is not an open file handle at /, 'croak text');
    open(my $mem, '<', \"in memory") or die;
    ok(!eval { $loop->read(fh => $mem, len => 1); 1 }, 'an in-memory handle has no fd');
    ok(!eval { $loop->send(fh => \*STDOUT, buf => "x", flags => -1); 1 }, 'negative flags');
    like($@, qr/^flags must be non-negative at /, 'croak text');
    is($loop->live_op_count, 0, 'nothing registered by refused submissions');
};

subtest 'read and write on a pipe' => sub {
    my $loop = new_loop();
    pipe(my $r, my $w) or die $!;
    my @log;
    my $rd = $loop->read(fh => $r, len => 100, data => 'rd',
        on_complete => sub ($op, $res, $d) { push @log, [$op->state, $res, $d] });
    my $buf = 'hello';
    my $wr = $loop->write(fh => $w, buf => $buf, on_complete => sub ($op, $res, $d) { push @log, ['w', $res] });
    $buf = 'XXXXX';    # the op kept its own copy
    ok(exists $loop->{ops_by_token}{ $rd->_backend_token }, 'registered');
    is($loop->live_op_count, 2, 'two live');
    settle($loop, $rd, $wr);
    is_deeply($wr->result, { bytes => 5 }, 'write result');
    is_deeply($rd->result, { bytes => 5, data => 'hello', eof => 0 }, 'read result');
    is_deeply([sort { $a->[0] cmp $b->[0] } @log],
              [['done', { bytes => 5, data => 'hello', eof => 0 }, 'rd'], ['w', { bytes => 5 }]],
              'both callbacks, with data');
    is($loop->live_op_count, 0, 'none live');
    ok(!exists $loop->{ops_by_token}{ $rd->_backend_token }, 'unregistered');

    close $w;
    my $eof = $loop->read(fh => $r, len => 10);
    settle($loop, $eof);
    is_deeply($eof->result, { bytes => 0, data => '', eof => 1 }, 'eof');
};

subtest 'run_once counts and blocking' => sub {
    my $loop = new_loop();
    pipe(my $r, my $w) or die $!;
    syswrite($w, 'abc');
    my $rd = $loop->read(fh => $r, len => 3, on_complete => sub ($o, $res, $d) { });
    is($loop->run_once, 2, 'a completion and its callback');
    my $quiet = $loop->read(fh => $r, len => 3);
    syswrite($w, 'x');
    is($loop->run_once, 1, 'a completion without a callback');

    my $t0 = Time::HiRes::time();
    my $t = $loop->after(0.05);
    is($loop->run_once, 1, 'run_once waits for the timer');
    ok(Time::HiRes::time() - $t0 >= 0.04, 'it did wait');

    my $late = $loop->_new_op(kind => 'x');
    $late->_settle_success({});
    $late->on_complete(sub ($o, $r, $d) { });
    my $slow = $loop->read(fh => $r, len => 1);    # in flight, never completes
    $t0 = Time::HiRes::time();
    is($loop->run_once, 1, 'a queued callback: no wait even with an op in flight');
    ok(Time::HiRes::time() - $t0 < 1, 'promptly');
    ok($slow->cancel, 'cancel the read');
    is($loop->run_once, 0, 'nothing in flight, nothing queued: 0');
    is($loop->run_once(0.01), 0, 'an explicit timeout is accepted');
};

subtest 'files: reads follow the file position' => sub {
    my $loop = new_loop();
    my $tmp = File::Temp->new;
    print $tmp "0123456789";
    close $tmp;
    open(my $f, '<', $tmp->filename) or die $!;
    my $a = $loop->read(fh => $f, len => 4);
    settle($loop, $a);
    my $b = $loop->read(fh => fileno($f), len => 100);
    settle($loop, $b);
    is($a->result->{data}, '0123', 'first chunk');
    is($b->result->{data}, '456789', 'then the rest (an fd number works too)');

    open(my $o, '>', $tmp->filename) or die $!;
    my $w = $loop->write(fh => $o, buf => "written\n");
    settle($loop, $w);
    ok($w->success, 'file write');
    close $o;
    open($f, '<', $tmp->filename) or die $!;
    is(scalar(<$f>), "written\n", 'content on disk');
};

subtest 'recv and send on a socketpair' => sub {
    my $loop = new_loop();
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
    my $s = $loop->send(fh => $x, buf => 'ping', flags => 0);
    settle($loop, $s);
    is_deeply($s->result, { bytes => 4 }, 'send');
    my $peek = $loop->recv(fh => $y, len => 10, flags => MSG_PEEK);
    settle($loop, $peek);
    is($peek->result->{data}, 'ping', 'MSG_PEEK is honoured');
    my $r = $loop->recv(fh => $y, len => 2);
    settle($loop, $r);
    is_deeply($r->result, { bytes => 2, data => 'pi', eof => 0 }, 'a short recv: the peeked bytes were still there');
    shutdown($x, SHUT_WR);
    my $r2 = $loop->recv(fh => $y, len => 10);
    settle($loop, $r2);
    is($r2->result->{data}, 'ng', 'rest');
    my $r3 = $loop->recv(fh => $y, len => 10);
    settle($loop, $r3);
    is($r3->result->{eof}, 1, 'eof after shutdown');
};

subtest 'EPIPE is an error, never a SIGPIPE' => sub {
    my $loop = new_loop();
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
    close $y;
    my @log;
    my $s = $loop->send(fh => $x, buf => 'x', on_complete => sub ($op, $res, $d) { push @log, [$op->failed, $res] });
    settle($loop, $s);
    ok($s->failed, 'send failed');
    is($s->error->code, 32, 'code 32');
    is($s->error->name, 'EPIPE', 'name EPIPE');
    ok(length $s->error->message, 'a message');
    is_deeply(\@log, [[1, undef]], 'callback: failed, undef result');

    my $w = $loop->write(fh => $x, buf => 'x');
    settle($loop, $w);
    is($w->error && $w->error->name, 'EPIPE', 'a write to a socket: EPIPE');

    pipe(my $pr, my $pw) or die $!;
    close $pr;
    my $pwop = $loop->write(fh => $pw, buf => 'x');
    settle($loop, $pwop);
    is($pwop->error && $pwop->error->name, 'EPIPE', 'a write to a widowed pipe: EPIPE');
};

subtest 'accept and connect over TCP' => sub {
    my $loop = new_loop();
    my $l = listener();
    my ($port) = sockaddr_in(getsockname($l));
    my @log;
    my $acc = $loop->accept(fh => $l, data => 'acc',
        on_complete => sub ($op, $res, $d) { push @log, [$op->kind, $d] });
    socket(my $c, AF_INET, SOCK_STREAM, 0) or die $!;
    my $con = $loop->connect(fh => $c, addr => pack_sockaddr_in($port, inet_aton('127.0.0.1')),
        on_complete => sub ($op, $res, $d) { push @log, [$op->kind, $res] });
    settle($loop, $acc, $con);
    ok($acc->success, 'accept done');
    is_deeply($con->result, {}, 'connect result {}');
    my $res = $acc->result;
    is_deeply([sort keys %$res], [qw(addr fh)], 'exactly fh and addr');
    my ($pport, $paddr) = sockaddr_in($res->{addr});
    is($paddr, inet_aton('127.0.0.1'), 'peer address');
    is($pport, (sockaddr_in(getsockname($c)))[0], 'peer port');
    my $fh = $res->{fh};
    ok(defined fileno($fh), 'a Perl handle');
    my $fl = fcntl($fh, Fcntl::F_GETFD(), 0);
    ok($fl & Fcntl::FD_CLOEXEC(), 'close-on-exec');
    syswrite($c, "over tcp\n");
    my $line = <$fh>;
    is($line, "over tcp\n", 'readable through perl');
    syswrite($fh, 'back');
    sysread($c, my $got, 10);
    is($got, 'back', 'writable through perl');

    my $rd = $loop->recv(fh => $fh, len => 64);
    my $sd = $loop->send(fh => $c, buf => 'via ops');
    settle($loop, $rd, $sd);
    is($rd->result->{data}, 'via ops', 'ops on the accepted handle');

    my @acc = map { $loop->accept(fh => $l) } 1 .. 2;
    my @cli;
    for (1 .. 2) {
        socket(my $s, AF_INET, SOCK_STREAM, 0) or die $!;
        connect($s, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or die $!;
        push @cli, $s;
    }
    settle($loop, @acc);
    ok((grep { $_->success } @acc) == 2, 'two pending accepts take one connection each');
    isnt(fileno($acc[0]->result->{fh}), fileno($acc[1]->result->{fh}), 'different sockets');

    close $l;
    socket(my $c2, AF_INET, SOCK_STREAM, 0) or die $!;
    my $refused = $loop->connect(fh => $c2, addr => pack_sockaddr_in($port, inet_aton('127.0.0.1')));
    settle($loop, $refused);
    ok($refused->failed, 'connect to a closed port fails');
    is($refused->error->name, 'ECONNREFUSED', 'ECONNREFUSED');
    is($refused->error->code, 111, 'code 111');

    ok(!eval { $loop->connect(fh => $c2, addr => ''); 1 }, 'an empty address');
    like($@, qr/^addr must be a packed socket address at /, 'croak text');
};

subtest 'shutdown' => sub {
    my $loop = new_loop();
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
    my $op = $loop->shutdown(fh => $x, how => 'write');
    settle($loop, $op);
    is_deeply($op->result, {}, 'result {}');
    is(sysread($y, my $buf, 10), 0, 'the peer sees EOF');
    my $bad = $loop->shutdown(fh => $y, how => 'both');
    settle($loop, $bad);
    ok($bad->success, 'shutdown both');
    pipe(my $r, my $w) or die $!;
    my $ns = $loop->shutdown(fh => $r, how => 'read');
    settle($loop, $ns);
    is($ns->error && $ns->error->name, 'ENOTSOCK', 'a pipe is not a socket');
};

subtest 'close closes perl\'s handle and the file' => sub {
    my $loop = new_loop();
    pipe(my $r, my $w) or die $!;
    my $wfd = fileno($w);
    print {$w} "buffered";    # in perl's buffer: close must flush it
    my @log;
    my $op = $loop->close(fh => $w, data => 'c', on_complete => sub ($o, $res, $d) { push @log, [$res, $d] });
    is(fileno($w), undef, 'perl\'s handle is closed at once');
    settle($loop, $op);
    is_deeply($op->result, {}, 'result {}');
    is_deeply(\@log, [[{}, 'c']], 'callback');
    sysread($r, my $got, 100);
    is($got, 'buffered', 'buffered output was flushed');
    is(sysread($r, $got, 100), 0, 'the file is closed: EOF for the reader');

    # The fd number is free again and perl must never close it later.
    open(my $again, '<', $0) or die $!;
    is(fileno($again), $wfd, 'the number is reused');
    undef $w;    # dropping the old handle must not close the new fd
    ok(defined(sysread($again, my $x, 1)), 'the new handle still works');

    pipe(my $cr, my $cw) or die $!;
    close $cw;
    my $bad = eval { $loop->close(fh => $cw); 1 };
    ok(!$bad, 'closing a closed handle croaks');
    like($@, qr/^fh is not an open file handle at /, 'croak text');

    socketpair(my $sx, my $sy, AF_UNIX, SOCK_STREAM, 0) or die $!;
    my $cs = $loop->close(fh => $sx);
    settle($loop, $cs);
    is(sysread($sy, my $e, 1), 0, 'a closed socket: the peer sees EOF');
};

subtest 'splice' => sub {
    my $loop = new_loop();
    pipe(my $r, my $w) or die $!;
    my $tmp = File::Temp->new;
    open(my $out, '>', $tmp->filename) or die $!;
    syswrite($w, 'spliced bytes');
    my @log;
    my $op = $loop->splice(in_fh => $r, out_fh => $out, len => 100, flags => 0,
        on_complete => sub ($o, $res, $d) { push @log, $res });
    settle($loop, $op);
    is_deeply($op->result, { bytes => 13 }, 'bytes');
    is_deeply(\@log, [{ bytes => 13 }], 'callback');
    close $out;
    open(my $in, '<', $tmp->filename) or die $!;
    is(scalar(<$in>), 'spliced bytes', 'in the file');

    close $w;
    open($out, '>', $tmp->filename) or die $!;
    my $zero = $loop->splice(in_fh => $r, out_fh => $out, len => 100);
    settle($loop, $zero);
    is_deeply($zero->result, { bytes => 0 }, '0 bytes at EOF is a success');

    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
    my $bad = $loop->splice(in_fh => $x, out_fh => $y, len => 10);
    settle($loop, $bad);
    ok($bad->failed, 'splice needs a pipe on one side');
    is($bad->error->name, 'EINVAL', 'EINVAL');
};

subtest 'timeouts' => sub {
    my $loop = new_loop();
    my @order;
    my $now = $loop->clock->now_s;
    my $a = $loop->after(0.02, data => 'a', on_complete => sub ($o, $r, $d) { push @order, [$d, $r] });
    my $b = $loop->at($loop->clock->now_s + 0.01, data => 'b', on_complete => sub ($o, $r, $d) { push @order, [$d, $r] });
    my $p = $loop->at($now - 1, data => 'past', on_complete => sub ($o, $r, $d) { push @order, [$d, $r] });
    is($p->state, 'pending', 'a past deadline is not settled inline');
    settle($loop, $a, $b, $p);
    is_deeply(\@order, [['past', { expired => 1 }], ['b', { expired => 1 }], ['a', { expired => 1 }]],
              'deadline order, each a success {expired => 1}');
    ok($a->success && !$a->failed, 'success, not failure');
    my $x = $loop->after(10, on_complete => sub ($o, $r, $d) { push @order, $o->state });
    is($x->cancel, 1, 'cancel a timer');
    is($x->state, 'cancelled', 'at once');
    is($loop->run_once, 1, 'its callback');
    is($order[-1], 'cancelled', 'saw cancelled');
};

subtest 'cancel' => sub {
    my $loop = new_loop();
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, 0) or die $!;
    my @log;
    my $op = $loop->recv(fh => $y, len => 10, on_complete => sub ($o, $r, $d) { push @log, $o->state });
    $loop->run_once(0);    # in the kernel now
    is($op->cancel, 1, 'cancel returns 1');
    is($op->state, 'cancelled', 'cancelled when cancel returns');
    is($loop->live_op_count, 0, 'unregistered');
    is(scalar(@log), 0, 'callback not inline');
    is($loop->run_once, 1, 'run_once: the callback only');
    is_deeply(\@log, ['cancelled'], 'ran');
    is($op->cancel, 0, 'cancel again: 0');

    # Not yet handed to the kernel: still cancelled properly.
    my $fresh = $loop->recv(fh => $y, len => 10);
    is($fresh->cancel, 1, 'cancel before any run_once');

    # Data already there: the kernel completes the recv first and the
    # data is not lost.
    syswrite($x, 'keep me');
    my $won = $loop->recv(fh => $y, len => 10);
    is($won->cancel, 0, 'cancel returns 0: the recv completed first');
    ok($won->success, 'done');
    is($won->result->{data}, 'keep me', 'with its data');

    my $acc_l = listener();
    my $acc = $loop->accept(fh => $acc_l);
    is($acc->cancel, 1, 'cancel an accept');
    my $t = $loop->after(100);
    my $c2 = $loop->read(fh => $y, len => 1);
    is($c2->cancel, 1, 'cancel with a timer pending');
    ok($t->is_pending, 'the timer is untouched');
    $t->cancel;
};

subtest 'buffers and handles live as long as the kernel needs them' => sub {
    my $loop = new_loop();
    pipe(my $r, my $w) or die $!;
    {
        my $op = $loop->read(fh => $r, len => 4096);    # no callback, dropped at once
    }
    undef $r;    # the op keeps the handle open
    syswrite($w, 'late data');
    my $n = 0;
    $n += $loop->run_once while $loop->live_op_count && $n < 100;
    is($loop->live_op_count, 0, 'the dropped op completed');
    my $big = 'z' x 200_000;
    pipe(my $r2, my $w2) or die $!;
    my $wr = $loop->write(fh => $w2, buf => $big);
    undef $big;
    my $got = '';
    while ($wr->is_pending) {
        $loop->run_once(0.01);
        sysread($r2, $got, 65536, length $got);
    }
    ok($wr->success, 'large write done');
    sysread($r2, $got, 65536, length $got) while length($got) < $wr->result->{bytes};
    is(length($got), $wr->result->{bytes}, 'every byte written arrived');
    is($got, 'z' x length($got), 'intact');
};

subtest 'exceptions and run' => sub {
    my $loop = new_loop();
    pipe(my $r, my $w) or die $!;
    syswrite($w, 'ab');
    my @ran;
    $loop->read(fh => $r, len => 1, on_complete => sub ($o, $res, $d) { push @ran, 1; die "cb died\n" });
    $loop->read(fh => $r, len => 1, on_complete => sub ($o, $res, $d) { push @ran, 2 });
    my $died = 0;
    for (1 .. 20) {
        last if @ran == 2;
        eval { $loop->run_once; 1 } or do { $died++; is($@, "cb died\n", 'the exception propagates') };
    }
    is($died, 1, 'once');
    is_deeply(\@ran, [1, 2], 'the other callback still ran');

    $loop->after(0.01, on_complete => sub ($o, $res, $d) { $o->loop->stop });
    $loop->run;
    is($loop->is_running, 0, 'run returns after stop');

    # Idle run: nothing in flight; a signal handler stops it.
    local $SIG{ALRM} = sub { $loop->stop };
    my ($u0, $s0) = times;
    my $t0 = Time::HiRes::time();
    Time::HiRes::alarm(0.2);
    $loop->run;
    my $wall = Time::HiRes::time() - $t0;
    my ($u1, $s1) = times;
    ok($wall >= 0.15, 'run waited for the signal');
    ok(($u1 - $u0) + ($s1 - $s0) < $wall / 2, 'without spinning');
    alarm 60;
};

done_testing;
