# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Dropping the last reference to a loop frees it and everything it owns:
# no reference cycles, no leaked descriptors, flat memory.
use v5.36;
use Test::More;
use Scalar::Util qw(weaken);

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 120;

sub open_fds () {
	opendir(my $d, "/proc/self/fd") or die "no /proc/self/fd: $!";
	my $n = grep { /^\d+$/ } readdir($d);
	return $n;
}

sub rss_kb () {
	open(my $f, '<', '/proc/self/statm') or die;
	my (undef, $res) = split ' ', scalar <$f>;
	return $res * 4;
}

{
	package t::Guard;
	my $alive = 0;
	sub new { $alive++; bless {}, shift }
	sub DESTROY { $alive-- }
	sub alive { $alive }
}

sub one_loop ($i) {
	my $loop = Linux::Event->new;
	pipe(my $r, my $w) or die "pipe: $!";
	my $g1 = t::Guard->new;
	my $g2 = t::Guard->new;
	my $watcher = $loop->watch($r,
		read  => sub ($l, $fh, $wt) { sysread($fh, my $b, 16); $g1 },
		data  => t::Guard->new);
	$loop->after(10, sub ($l) { $g2 });
	$loop->after(0, sub ($l) { syswrite($w, 'x') });
	$loop->signal('USR1', sub ($l, $s, $c, $d) { }, data => t::Guard->new) if $i % 2;
	$loop->waker->signal if $i % 3 == 0;
	$loop->sched;
	$loop->run_once(0);
	$loop->run_once(0);
	return;
}

one_loop($_) for 1 .. 500;    # warm up allocators and caches
my $fds  = open_fds();
my $rss  = rss_kb();
one_loop($_) for 1 .. 10_000;
is(open_fds(), $fds, 'open descriptors flat over 10,000 loops');
SKIP: {
    # ASan keeps freed memory in quarantine: RSS says nothing there.
    skip 'RSS is meaningless under AddressSanitizer', 1 if ($ENV{LD_PRELOAD} // '') =~ /asan/;
    cmp_ok(rss_kb() - $rss, '<', 4096, 'resident memory flat (under 4 MiB growth)');
}
is(t::Guard::alive(), 0, 'every callback, data and closure was freed');

# The loop object itself is freed (no cycle through watchers or the waker).
{
	my $loop = Linux::Event->new;
	my $impl = $loop->impl;
	weaken(my $wl = $loop);
	weaken(my $wi = $impl);
	undef $impl;
	pipe(my $r, my $w) or die;
	my $wat = $loop->watch($r, read => sub ($l, $fh, $wt) { });
	$loop->waker;
	$loop->sched;
	$loop->backend;
	$loop->timer;
	$loop->pid($$ == 1 ? 2 : 1, sub ($l, $p, $s, $d) { }) if 0;
	undef $loop;
	ok(!defined $wl, 'facade freed');
	ok(!defined $wi, 'engine freed');
	is($wat->is_active, 0, 'its watcher was cancelled');
}

# A callback dropping the last outside reference to its loop is safe.
{
	my $loop = Linux::Event->new;
	my $ran = 0;
	my $holder = { loop => $loop };
	undef $loop;
	$holder->{loop}->after(0, sub ($l) { $ran++; delete $holder->{loop} });
	$holder->{loop}->run_once(0);
	is($ran, 1, 'callback ran');
	ok(!exists $holder->{loop}, 'and the loop is gone afterwards');
}

done_testing;
