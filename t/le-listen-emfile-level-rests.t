# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A level-triggered Listen (max_accept_per_tick given) out of descriptors
# rests its watcher until its retry timer instead of firing again at once:
# the socket stays readable with connections queued, and each wake-up only
# met EMFILE again, a busy loop calling on_emfile tens of thousands of
# times a second.  Once descriptors are free every queued connection is
# accepted.
#
# The child perl runs under `ulimit -n 30` and holds descriptors until an
# open fails, so the next accept meets EMFILE.  100 non-blocking loop
# iterations then call on_emfile about once (the timer is 50 ms away; a
# slow machine may see it fire a few times), where the busy loop called it
# 100 times.
use v5.36;
use Test::More;
use File::Temp ();

my $child = <<'EOF';
use v5.36;
use Linux::Event;
use Linux::Event::Listen;
use IO::Socket::INET;
alarm 30;
my $loop = Linux::Event->new;
my ($emfile, $accepted, @keep) = (0, 0);
my $l = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
    max_accept_per_tick => 16,
    on_accept => sub ($loop, $fh, $peer, $l) { $accepted++; push @keep, $fh },
    on_emfile => sub ($loop, $err, $l) { $emfile++ });
my @clients = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $l->sockport)
    // die "connect: $!" } 1 .. 5;
my @hold;
while (open(my $fh, '<', '/dev/null')) { push @hold, $fh }
die "open: $!" unless $!{EMFILE};
$loop->run_once(0) for 1 .. 100;
say "emfile $emfile accepted $accepted";
@hold = ();
$loop->run_once(1) while $accepted < 5;
say "after accepted $accepted";
EOF

my $out = do {
    my $tmp = File::Temp->new(SUFFIX => '.pl');
    print {$tmp} $child;
    close $tmp;
    my $inc = join ' ', map { "-I'$_'" } grep { !ref } @INC;
    qx{ulimit -n 30 && "$^X" $inc "$tmp" 2>&1};
};
is($?, 0, 'the child ran') or diag($out);
my ($emfile, $accepted) = $out =~ /^emfile (\d+) accepted (\d+)$/m;
ok(defined $emfile, 'it hit EMFILE and reported') or diag($out);
cmp_ok($emfile, '>=', 1, 'on_emfile was called');
cmp_ok($emfile, '<', 50, 'but not once per loop iteration (no busy loop)');
like($out, qr/^after accepted 5$/m,
    'every queued connection is accepted once descriptors are free');

done_testing;
