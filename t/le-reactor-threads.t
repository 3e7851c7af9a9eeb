# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# ithreads: a thread may wake a loop through its waker; the loop's C
# state is never owned by two threads.
use v5.36;
use Config;
use Test::More;

BEGIN {
	plan skip_all => 'perl without ithreads' if !$Config{useithreads};
}
use threads;

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

my $loop = Linux::Event->new;
my $waker = $loop->waker;
pipe(my $r, my $w) or die;
my $wat = $loop->watch($r, read => sub ($l, $fh, $wt) { });
my @seen;
$loop->watch($waker->fh, read => sub ($l, $fh, $wt) { push @seen, $waker->drain; $l->stop });

my $thr = threads->create(sub {
	my @inside;
	push @inside, eval { $loop->after(1, sub { }); 1 } ? 'after worked' : $@ =~ /another thread/ ? 'inert' : "other: $@";
	push @inside, 'watcher ' . $wat->is_active;
	$waker->signal(7);
	return join ',', @inside;
});
$loop->run;
is($thr->join, 'inert,watcher 0', 'a thread\'s copies of the loop and its watchers are inert');
is_deeply(\@seen, [7], 'a thread woke the loop through the waker');

# The thread's exit freed its copies without touching ours.
is($wat->is_active, 1, 'watcher still active');
my $fired = 0;
$loop->after(0, sub ($l) { $fired++ });
$loop->run_once(0);
is($fired, 1, 'the loop still runs');
$waker->drain;    # stop() signalled it too
$waker->signal(2);
is($waker->drain, 2, 'the waker still works');

done_testing;
