#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# ithreads: a new thread's copy of a Stream is inert (using it croaks), and
# neither the copy nor its destruction disturbs the parent's stream.  Run
# in a child perl so that perl's "Scalars leaked" warning at thread exit,
# which a shared C state would cause, can be checked too.
use v5.36;
use Test::More;
use EvlTest qw(has);
plan skip_all => 'this perl has no ithreads' unless has('threads');

my $script = <<'PERL';
use v5.36; use threads; use Socket;
BEGIN { open(STDERR, '>&', \*STDOUT) or die; $| = 1 }
use Linux::Event; use Linux::Event::Stream;
my $loop = Linux::Event->new;
socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die;
my @got;
my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
    on_message => sub ($s, $m, $d) { push @got, $m; $loop->stop });
my $t = threads->create(sub {
    my $ok = eval { $s->write("x\n"); 1 };
    return $ok ? 'used' : $@;
});
my $res = $t->join;
print "thread: $res";
syswrite($b, "hello\n");
$loop->after(5, sub ($l) { $l->stop });
$loop->run;
print "got: @got\n";
$s->write("back\n");
sysread($b, my $buf, 100);
print "peer: $buf";
PERL

my @inc = map { "-I$_" } grep { m{blib|t/lib} } @INC;
my $out = do {
    open(my $p, '-|', $^X, @inc, '-e', $script) or die "spawn: $!";
    local $/; my $o = <$p>; close $p; $o;
};
is($?, 0, 'exits cleanly');
like($out, qr/^thread: Linux::Event::Stream: a thread's copy of a stream cannot be used/m,
    "the thread's copy croaks");
like($out, qr/^got: hello$/m, "the parent's stream still delivers");
like($out, qr/^peer: back$/m, 'and writes');
unlike($out, qr/Scalars leaked|panic|Segmentation/, 'no refcount damage') or diag $out;
done_testing;
