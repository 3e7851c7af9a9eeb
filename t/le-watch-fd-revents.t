# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# watch by fd number, regular files, $watcher->revents, hangup =>, and
# watcher changes batched into at most one epoll_ctl per fd per wait.
use v5.36;
use Test::More;
use POSIX ();
use File::Temp ();

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my $R = Linux::Event::Loop::READABLE();
my $H = Linux::Event::Loop::HUP();

subtest 'bad input' => sub {
    my $loop = Linux::Event->new;
    my $line = __LINE__ + 1;
    ok(!eval { $loop->watch(1.5, read => sub { }); 1 }, 'fractional fd');
    like($@, qr/^watch: fd must be a non-negative integer or a file handle \(got '1.5'\) at \Q${\ __FILE__}\E line $line/,
        'names the method, the argument and the line');
    ok(!eval { $loop->watch(-3, read => sub { }); 1 }, 'negative fd');
    my $free = POSIX::dup(0);
    POSIX::close($free);
    ok(!eval { $loop->watch($free, read => sub { }); 1 }, 'an fd number that is not open');
    like($@, qr/fd $free is not an open file descriptor/, 'not-open message');
    ok(!eval { $loop->watch(0, read => 'x'); 1 }, 'non-code read');
    like($@, qr/^read must be a coderef or undef/, 'read message');
    ok(!eval { $loop->watch(0, hangup => []); 1 }, 'non-code hangup');
    like($@, qr/^hangup must be a coderef or undef/, 'hangup message');
    pipe(my $r, my $w) or die;
    close $r;
    ok(!eval { $loop->watch($r, read => sub { }); 1 }, 'closed handle');
};

subtest 'watch by fd number' => sub {
    my $loop = Linux::Event->new;
    pipe(my $r, my $w) or die;
    my $fd = fileno($r);
    my @seen;
    my $wt = $loop->watch($fd, read => sub ($l, $f, $watcher) {
        sysread($r, my $buf, 10);
        push @seen, [ $f, $buf, $watcher->revents ];
    });
    is($wt->fd, $fd, 'fd');
    is($wt->fh, undef, 'no handle is owned');
    syswrite($w, "abc");
    $loop->run_once(1);
    is_deeply(\@seen, [ [ $fd, 'abc', $R ] ], 'callback gets the fd number; revents READABLE');
    is($loop->unwatch($fd), 1, 'unwatch by fd number');
    close $r;    # the loop never closes what it does not own
    ok(!$wt->is_active, 'inactive');
};

subtest 'revents and hangup' => sub {
    my $loop = Linux::Event->new;
    pipe(my $r, my $w) or die;
    my @seen;
    $loop->watch($r, read => sub ($l, $fh, $wt) { push @seen, [ 'read', $wt->revents ] });
    close $w;
    $loop->run_once(1);
    is_deeply(\@seen, [ [ 'read', $H ] ], 'without hangup: HUP goes to read, revents says HUP');

    pipe($r, $w) or die;
    @seen = ();
    my $wt = $loop->watch($r,
        read   => sub ($l, $fh, $wt) { sysread($fh, my $b, 10); push @seen, [ 'read', $wt->revents ] },
        hangup => sub ($l, $fh, $wt) { push @seen, [ 'hangup', $wt->revents ]; $wt->cancel });
    syswrite($w, "x");
    close $w;
    $loop->run_once(1);
    is_deeply(\@seen, [ [ 'read', $R | $H ], [ 'hangup', $R | $H ] ], 'data then hangup: read, then hangup');
    ok(!$wt->is_active, 'hangup cancelled it');
};

subtest 'a regular file is always ready' => sub {
    my $loop = Linux::Event->new;
    my $tmp  = File::Temp->new;
    print $tmp "data\n";
    close $tmp;
    open(my $fh, '<', $tmp->filename) or die;
    my $n  = 0;
    my $wt = $loop->watch($fh, read => sub ($l, $f, $w) { $n++ });
    my $t0 = time;
    $loop->run_once for 1 .. 5;    # would block forever if the wait blocked
    is($n, 5, 'ready on each iteration, without blocking');
    $wt->disable_read;
    is($loop->run_once(0), 0, 'disabled: nothing');
    is($n, 5, 'no call');
};

subtest '100k enable/disable toggles: epoll_ctl batched' => sub {
    my $loop = Linux::Event->new;
    my $eng  = $loop->impl;
    pipe(my $r, my $w) or die;
    my $wt = $loop->watch($r, read => sub { });
    $loop->run_once(0);
    my $before = $eng->_epoll_ctl_count;
    for my $i (1 .. 100_000) {
        $wt->disable_read;
        $wt->enable_read;
        $loop->run_once(0) if $i % 1000 == 0;
    }
    my $pairs = $eng->_epoll_ctl_count - $before;
    ok($pairs <= 100, "100k disable+enable pairs, 100 waits: $pairs epoll_ctl calls (at most one per wait)");

    $before = $eng->_epoll_ctl_count;
    for my $i (1 .. 1000) {
        $i % 2 ? $wt->disable_read : $wt->enable_read;
        $loop->run_once(0);
    }
    my $each = $eng->_epoll_ctl_count - $before;
    ok($each <= 1000, "1000 toggles with a wait between: $each epoll_ctl calls (at most one per wait)");
};

done_testing;
