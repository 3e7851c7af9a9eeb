# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Reactor callbacks run without a scope of their own per event (issue 18
# item 6): their temporaries must still be freed before the next
# callback, a caller's live temporaries must survive them, and a die
# still leaves the loop usable.
use v5.36;
use Test::More;

use Linux::Event;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

package Guard {
    our ($live, $made) = (0, 0);
    sub new ($class, $tag = '') { $live++; $made++; return bless { tag => $tag }, $class }
    sub DESTROY ($self) { $live-- }
}

my $loop = Linux::Event->new;

sub ready_pipes ($n) {
    my @p;
    for (1 .. $n) {
        pipe(my $r, my $w) or die "pipe: $!";
        syswrite($w, 'x');
        push @p, [$r, $w];
    }
    return @p;
}

# A long run: nothing kept per callback (call_sv's save-stack entry
# included), so 200,000 callbacks leave RSS where 20,000 did.  First in
# the file: memory freed by later blocks would hide growth.
SKIP: {
    skip 'RSS is meaningless under AddressSanitizer', 1 if ($ENV{LD_PRELOAD} // '') =~ /asan/;
    sub rss_kb { open(my $f, '<', '/proc/self/status') or return 0; while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ } 0 }
    my $waker = $loop->waker;
    my ($n, $early, $late) = (0, 0, 0);
    my $w = $loop->watch($waker->fh, read => sub ($l, $fh, $w) {
        $waker->drain;
        $n++;
        $early = rss_kb() if $n == 20_000;
        if ($n >= 200_000) { $late = rss_kb(); $w->cancel; $l->stop; return }
        $waker->signal;
    });
    $waker->signal;
    $loop->run;
    is($n, 200_000, '200,000 wakeup callbacks');
    cmp_ok($late - $early, '<', 1024, "RSS flat over them ($early -> $late kB)");
}

# 200 fds ready in one wait: each callback leaves a temporary (its last
# statement's value) and a large mortal string; the next callback must
# find the earlier ones gone.
{
    my @p = ready_pipes(200);
    my ($calls, $max_live) = (0, 0);
    my @w;
    for my $pp (@p) {
        push @w, $loop->watch($pp->[0], read => sub ($l, $fh, $w) {
            $max_live = $Guard::live if $Guard::live > $max_live;
            $calls++;
            $w->cancel;
            my $big = sprintf('%s', 'y' x 100_000);   # a temporary copy
            Guard->new;                                  # left on the tmps stack
        });
    }
    $loop->run_once(0);
    is($calls, 200, 'every ready fd dispatched in one run_once');
    is($max_live, 0, "a callback's temporaries are freed before the next callback");
    is($Guard::live, 0, 'and none is left after the batch');
}

# A caller's temporaries (an expression still being evaluated around
# run_once) survive the callbacks run inside it.
{
    my @p = ready_pipes(3);
    my $seen_alive = 0;
    my $outer_made;
    my @w = map {
        $loop->watch($_->[0], read => sub ($l, $fh, $w) {
            $w->cancel;
            $seen_alive++ if $Guard::live >= 1;
            Guard->new;
        })
    } @p;
    my @r = (Guard->new('outer'), $loop->run_once(0), $Guard::live);
    is(ref $r[0], 'Guard', "the caller's temporary is intact");
    is($seen_alive, 3, 'alive during every callback');
    is($r[-1], 1, 'only it is alive after run_once');
    @r = ();
    is($Guard::live, 0, 'and it goes with its owner');
}

# A nested run_once from inside a callback: the inner callbacks free
# their temporaries, the outer callback's own live ones survive.
{
    my @p = ready_pipes(2);
    my ($outer_ok, $inner_calls) = (0, 0);
    my $inner_w = $loop->watch($p[1][0], read => sub ($l, $fh, $w) {
        $w->cancel;
        $inner_calls++;
        Guard->new;
    });
    my $outer_w = $loop->watch($p[0][0], read => sub ($l, $fh, $w) {
        $w->cancel;
        my $mine = Guard->new('mine');
        my @x = (Guard->new('tmp'), $loop->run_once(0));
        $outer_ok = ref($x[0]) eq 'Guard' && $mine->{tag} eq 'mine';
    });
    $loop->run_once(0);
    ok($outer_ok, "an outer callback's values survive a nested run_once");
    is($Guard::live, 0, 'nothing left over');
}

# A die propagates out of run, its temporaries are freed, and the loop
# dispatches again afterwards.
{
    my @p = ready_pipes(2);
    my $after = 0;
    my $w1 = $loop->watch($p[0][0], read => sub ($l, $fh, $w) {
        $w->cancel;
        my $g = Guard->new;
        die "boom\n";
    });
    ok(!eval { $loop->run; 1 }, 'run dies');
    is($@, "boom\n", 'with the callback error');
    is($Guard::live, 0, "the dead callback's temporaries are freed");
    my $w2 = $loop->watch($p[1][0], read => sub ($l, $fh, $w) { $after++; $w->cancel; $l->stop });
    $loop->run;
    is($after, 1, 'the loop dispatches after the error');
}

done_testing;
