# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Reactor watchers: watch/unwatch, replacement, dispatch contract (also
# through $watcher->{_dispatch_cb}), oneshot, closed and reused fds,
# Watcher methods.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM);
use File::Temp qw(tempfile);

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

sub dies_like ($code, $re, $name) {
	my $ok = eval { $code->(); 1 };
	ok(!$ok, "$name dies");
	like($@, $re, "$name message");
}

sub make_loop () { Linux::Event->new(model => 'reactor') }

use constant { READABLE => 0x01, WRITABLE => 0x02, ERR => 0x40, HUP => 0x80 };

subtest 'watch arguments' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	dies_like(sub { $loop->watch(undef, read => sub { }) }, qr/^fh is required/, 'no fh');
	dies_like(sub { $loop->watch($r, read => sub { }, zz => 1, aa => 2) }, qr/^unknown args: aa, zz/, 'unknown keys');
	dies_like(sub { $loop->watch($r, read => 1) }, qr/^read must be a coderef or undef/, 'read');
	dies_like(sub { $loop->watch($r, write => 'x') }, qr/^write must be a coderef or undef/, 'write');
	dies_like(sub { $loop->watch($r, error => {}) }, qr/^error must be a coderef or undef/, 'error');
	open(my $mem, '<', \"abc") or die;
	dies_like(sub { $loop->watch($mem, read => sub { }) }, qr/^fh has no fileno/, 'in-memory handle');
	no warnings 'once';
	dies_like(sub { $loop->watch(\*NEVER_OPENED, read => sub { }) }, qr/^fh has no fileno/, 'unopened glob');

	# epoll refuses a regular file (EPERM); libevloop accepts it as
	# always ready (issue 12), so the watch succeeds and can be undone.
	my ($tfh, $tname) = tempfile(UNLINK => 1);
	ok(eval { $loop->watch($tfh, read => sub { }); 1 }, 'regular file accepted') or diag($@);
	ok($loop->unwatch($tfh), 'and unwatched');
	is($loop->unwatch($tfh), 0, 'no stale entry for it');
};

subtest 'callbacks get exactly ($loop, $fh, $watcher)' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my @got;
	my $wat = $loop->watch($r, read => sub ($l, $fh, $wt) { @got = ($l, $fh, $wt); sysread($fh, my $b, 9); $l->stop });
	syswrite($w, 'x');
	$loop->run;
	is(scalar @got, 3, 'three arguments');
	is($got[0], $loop, 'the facade');
	is($got[1], $r, 'the handle');
	is($got[2], $wat, 'the watcher');
};

subtest 'watch replaces the watcher of the same fd' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my $seen = '';
	my $old = $loop->watch($r, read => sub ($l, $fh, $wt) { $seen .= 'old'; $l->stop });
	my $new = $loop->watch($r, read => sub ($l, $fh, $wt) { $seen .= 'new'; $wt->cancel; $l->stop });
	is($old->is_active, 0, 'old watcher inactive');
	is($old->fh, undef, 'old watcher fh undef');
	is($old->cancel, 0, 'old cancel returns 0');
	$loop->after(0.02, sub ($l) { syswrite($w, 'x') });
	$loop->run;
	is($seen, 'new', 'only the replacement fired');

	# A different handle object on the same fd number also replaces.
	open(my $dup, '<&=', fileno($r)) or die;
	my $a = $loop->watch($r, read => sub { });
	my $b = $loop->watch($dup, read => sub { });
	is($a->is_active, 0, 'same fd number, other handle: replaced');
	$b->cancel;
};

subtest 'unwatch and cancel' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	is($loop->unwatch($r), 0, 'never watched: 0');
	my $wat = $loop->watch($r, read => sub ($l, $fh, $wt) { });
	is($wat->is_active, 1, 'active');
	is($loop->unwatch($r), 1, 'unwatch: 1');
	is($loop->unwatch($r), 0, 'again: 0');
	is($wat->cancel, 0, 'cancel after unwatch: 0');
	is($wat->is_active, 0, 'inactive');
	is($loop->unwatch(undef), 0, 'unwatch(undef)');
	my $w2 = $loop->watch($r, read => sub ($l, $fh, $wt) { });
	is($w2->cancel, 1, 'cancel: 1');
	is($w2->cancel, 0, 'cancel again: 0');
};

subtest 'read cancelling the watcher skips write' => sub {
	my $loop = make_loop();
	socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die;
	syswrite($b, 'hi');
	my @order;
	$loop->watch($a,
		read  => sub ($l, $fh, $wt) { push @order, 'read'; $wt->cancel; $l->stop },
		write => sub ($l, $fh, $wt) { push @order, 'write' });
	$loop->run;
	is_deeply(\@order, ['read'], 'no write after cancel');

	# Without the cancel, read then write; disable_write in read skips write.
	syswrite($b, 'hi');
	@order = ();
	my $n = 0;
	$loop->watch($a,
		read  => sub ($l, $fh, $wt) { push @order, 'read'; sysread($fh, my $x, 9); $wt->disable_write if ++$n == 2; $l->stop },
		write => sub ($l, $fh, $wt) { push @order, 'write' });
	$loop->run;
	is_deeply(\@order, [qw(read write)], 'read before write');
	syswrite($b, 'hi');
	@order = ();
	$loop->run;
	is_deeply(\@order, ['read'], 'disable_write inside read suppresses write');
};

subtest '_dispatch_cb runs the dispatch contract' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my $fd = fileno($r);
	my @order;
	my %cb = (
		read  => sub ($l, $fh, $wt) { push @order, 'read' },
		write => sub ($l, $fh, $wt) { push @order, 'write' },
		error => sub ($l, $fh, $wt) { push @order, 'error' },
	);
	my $wat = $loop->watch($r, read => $cb{read}, write => $cb{write});
	is(ref($wat->{_dispatch_cb}), 'CODE', 'the watcher has _dispatch_cb');
	$wat->{_dispatch_cb}->($loop, $r, $fd, READABLE | WRITABLE, undef);
	is_deeply(\@order, [qw(read write)], 'read before write');

	@order = ();
	$wat->{_dispatch_cb}->($loop, $r, $fd, ERR, undef);
	is_deeply(\@order, [qw(read write)], 'ERR without error cb: read + write');

	@order = ();
	$wat->{_dispatch_cb}->($loop, $r, $fd, HUP, undef);
	is_deeply(\@order, ['read'], 'HUP: read');

	@order = ();
	$wat = $loop->watch($r, %cb);
	$wat->{_dispatch_cb}->($loop, $r, $fd, ERR | READABLE | WRITABLE, undef);
	is_deeply(\@order, ['error'], 'ERR with error cb: error alone');

	@order = ();
	$wat->disable_error;
	$wat->{_dispatch_cb}->($loop, $r, $fd, ERR, undef);
	is_deeply(\@order, [qw(read write)], 'disabled error cb: read + write');

	@order = ();
	$wat = $loop->watch($r,
		read  => sub ($l, $fh, $wt) { push @order, 'read'; $wt->cancel },
		write => $cb{write});
	$wat->{_dispatch_cb}->($loop, $r, $fd, READABLE | WRITABLE, undef);
	is_deeply(\@order, ['read'], 'mutation rule: no write after the read cancelled');

	@order = ();
	$wat = $loop->watch($r,
		read  => sub ($l, $fh, $wt) { push @order, 'read'; $l->watch($r, read => $cb{read}) },
		write => $cb{write});
	$wat->{_dispatch_cb}->($loop, $r, $fd, READABLE | WRITABLE, undef);
	is_deeply(\@order, ['read'], 'mutation rule: no write after the read replaced');

	# A die propagates to the caller of _dispatch_cb.
	$wat = $loop->watch($r, read => sub ($l, $fh, $wt) { die "inner\n" });
	ok(!eval { $wat->{_dispatch_cb}->($loop, $r, $fd, READABLE, undef); 1 }, 'die propagates');
	is($@, "inner\n", 'with its message');
	$wat->cancel;

	@order = ();
	$wat->{_dispatch_cb}->($loop, $r, $fd, READABLE, undef);
	is_deeply(\@order, [], 'no watcher for the fd: nothing');
};

subtest 'oneshot stays active; any mutator re-arms' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my $count = 0;
	my $wat = $loop->watch($r, oneshot => 1, read => sub ($l, $fh, $wt) { $count++ });
	is($wat->oneshot, 1, 'oneshot flag');
	$loop->after(0.02, sub ($l) { syswrite($w, 'a') });
	$loop->after(0.04, sub ($l) { syswrite($w, 'b') });
	$loop->after(0.08, sub ($l) { $l->stop });
	$loop->run;
	is($count, 1, 'one callback for two writes');
	is($wat->is_active, 1, 'still active');
	$wat->disable_read->enable_read;
	$loop->run_once(0.5);
	is($count, 2, 're-armed by disable_read/enable_read');
	$wat->data('x');    # not a mutator of the registration
	$loop->run_once(0.05);
	is($count, 2, 'not re-armed by data');
	$wat->edge_triggered(0);
	$loop->run_once(0.5);
	is($count, 3, 're-armed by a setter even with an unchanged value');
};

subtest 'closing a watched handle without unwatch' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my $fd = fileno($r);
	my $called = 0;
	my $wat = $loop->watch($r, read => sub ($l, $fh, $wt) { $called++ });
	close $r;
	$loop->after(0.02, sub ($l) { local $SIG{PIPE} = 'IGNORE'; syswrite($w, 'x') });
	$loop->after(0.06, sub ($l) { $l->stop });
	$loop->run;
	is($called, 0, 'no callback for the closed handle');

	# The fd number can be watched again (no "fd already watched").
	my ($r2, $w2);
	for (1 .. 200) {
		pipe(my $rr, my $ww) or die;
		if (fileno($rr) == $fd) { ($r2, $w2) = ($rr, $ww); last }
	}
	SKIP: {
		skip 'could not reuse the fd', 3 if !$r2;
		my $new = 0;
		my $nw = $loop->watch($r2, read => sub ($l, $fh, $wt) { $new++; sysread($fh, my $b, 9); $l->stop });
		is($wat->is_active, 0, 'the old watcher was replaced');
		syswrite($w2, 'y');
		$loop->run;
		is($new, 1, 'the new watcher fires');
		is($called, 0, 'the old one never did');
	}
};

subtest 'stale events after fd reuse within one batch' => sub {
	my $loop = make_loop();
	pipe(my $r1, my $w1) or die;
	pipe(my $r2, my $w2) or die;
	syswrite($w1, 'a');
	syswrite($w2, 'b');
	my @log;
	my ($first_fd, $second) = (fileno($r1), undef);
	# Whichever fires first closes the other and reopens its number.
	my %fh = (fileno($r1) => [$r1, $w1], fileno($r2) => [$r2, $w2]);
	my $cb = sub ($l, $fh, $wt) {
		push @log, fileno($fh);
		return if @log > 1;
		my ($other) = grep { $_ != fileno($fh) } keys %fh;
		my $victim = $fh{$other}[0];
		close $victim;
		pipe(my $nr, my $nw) or die;
		if (fileno($nr) == $other) {
			$second = $l->watch($nr, read => sub ($l, $fh, $wt) { push @log, 'new' });
			push @log, 'reopened';
			$fh{$other} = [$nr, $nw];
		}
	};
	$loop->watch($r1, read => $cb);
	$loop->watch($r2, read => $cb);
	$loop->run_once(0.5);
	SKIP: {
		skip 'the fd number was not reused', 2 if !grep { $_ eq 'reopened' } @log;
		is(scalar(grep { $_ ne 'reopened' } @log), 1, 'only the first watcher ran') or diag "@log";
		ok(!grep({ $_ eq 'new' } @log), 'the new watcher did not get the old event') or diag "@log";
	}
};

subtest 'watcher methods' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my $rcb = sub ($l, $fh, $wt) { };
	my $wat = $loop->watch($r, read => $rcb, data => 'D');
	isa_ok($wat, 'Linux::Event::Watcher');
	is($wat->loop, $loop, 'loop');
	is($wat->fh, $r, 'fh');
	is($wat->fd, fileno($r), 'fd');
	is($wat->data, 'D', 'data');
	is($wat->data('E'), 'E', 'data set');
	is($wat->data, 'E', 'data kept');
	is_deeply([ $wat->read_enabled, $wat->write_enabled, $wat->error_enabled ], [1, 0, 0], 'enabled iff supplied');
	is($wat->edge_triggered, 0, 'edge_triggered default');
	is($wat->edge_triggered(5), 1, 'edge_triggered set returns 1');
	is($wat->edge_triggered(0), 0, 'and 0');
	is($wat->oneshot('yes'), 1, 'oneshot set');
	is($wat->oneshot(''), 0, 'oneshot clear');
	for my $m (qw(enable_read disable_read enable_write disable_write enable_error disable_error)) {
		is($wat->$m, $wat, "$m returns the watcher");
	}
	is($wat->on_write(sub ($l, $fh, $wt) { }), $wat, 'on_write returns the watcher');
	is($wat->write_enabled, 0, 'on_write does not enable');
	$wat->enable_write;
	is($wat->write_enabled, 1, 'enable_write does');
	is($wat->on_write(undef), $wat, 'on_write(undef)');
	is($wat->write_enabled, 0, 'removing disables');
	dies_like(sub { $wat->on_read(1) }, qr/^read handler must be a coderef or undef/, 'on_read');
	dies_like(sub { $wat->on_write([]) }, qr/^write handler must be a coderef or undef/, 'on_write');
	dies_like(sub { $wat->on_error('x') }, qr/^error handler must be a coderef or undef/, 'on_error');

	# on_read without a read handler at watch time: installed, not enabled.
	my $n = 0;
	my $w2 = $loop->watch($r, write => undef);
	$w2->on_read(sub ($l, $fh, $wt) { $n++ });
	syswrite($w, 'x');
	$loop->run_once(0.05);
	is($n, 0, 'installed but not enabled: no event');
	$w2->enable_read;
	$loop->run_once(0.5);
	is($n, 1, 'enabled: delivered');
	$w2->cancel;
	is($w2->fh, undef, 'fh undef after cancel');
	is($w2->{fh}, undef, 'and in the hash');
	$w2->enable_read;    # harmless on an inactive watcher
	is($w2->is_active, 0, 'still inactive');
};

subtest 'watchers hold their handle and loop weakly' => sub {
	my $loop = make_loop();
	my $called = 0;
	my $wat;
	{
		pipe(my $r, my $w) or die;
		$wat = $loop->watch($r, read => sub ($l, $fh, $wt) { $called++ });
		syswrite($w, 'x');
	}
	is($wat->{fh}, undef, 'the dropped handle is gone');
	$loop->run_once(0.05);
	is($called, 0, 'no callback for a dropped handle');

	my $weak_loop = $wat->{loop};
	ok(defined $weak_loop, 'loop reference in the watcher');
	undef $weak_loop;
	pipe(my $r, my $w) or die;
	my $w3 = $loop->watch($r, read => sub { });
	undef $loop;
	is($w3->loop, undef, 'the watcher did not keep the loop alive');
	is($w3->is_active, 0, 'and it was cancelled when the loop went');
};

subtest 'HUP that no callback takes does not wake every wait' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	close $w;
	my @log;
	my $wat = $loop->watch($r, write => sub ($l, $fh, $wt) { push @log, 'write' });
	is($loop->run_once(0), 1, 'the HUP is reported once');
	is_deeply([ map { $loop->run_once(0) } 1 .. 3 ], [0, 0, 0], 'then the fd is quiet');
	is($wat->is_active, 1, 'the watcher stays active');
	$wat->on_read(sub ($l, $fh, $wt) { push @log, 'read'; $wt->cancel });
	$wat->enable_read;
	is($loop->run_once(0), 1, 'a mutator brings it back');
	is_deeply(\@log, ['read'], 'and the HUP reaches the new read callback');
};

subtest 'the loop owns active watchers' => sub {
	my $loop = make_loop();
	pipe(my $r, my $w) or die;
	my $n = 0;
	$loop->watch($r, read => sub ($l, $fh, $wt) { $n++; sysread($fh, my $b, 9); $l->stop });
	syswrite($w, 'x');
	$loop->run;
	is($n, 1, 'a watcher whose object was dropped still fires');
};

done_testing;
