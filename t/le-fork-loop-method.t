# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# $loop->fork and $loop->fork_helper are methods of the loop facade and of
# both engines: a program that never loads the Fork module runs a command
# with them (the module is loaded on first use), their croaks name the
# caller's line, and loading the module, before or after the loop classes,
# warns about nothing.
use v5.36;
use Test::More;
use lib 't/lib';
use EvlTest qw(uring_loop);

use Linux::Event;
use Linux::Event::Reactor;
use Linux::Event::Proactor;

ok(!$INC{'Linux/Event/Fork.pm'}, 'the Fork module is not loaded yet');

# echo through $loop->fork: its output and its exit.
sub echo_through ($loop) {
    my ($out, $exit) = ('');
    my $child = $loop->fork(
        cmd       => [ $^X, '-e', 'print "out\n"; exit 3' ],
        on_stdout => sub ($c, $bytes) { $out .= $bytes },
        on_exit   => sub ($c, $e) { $exit = $e; $loop->stop },
    );
    $loop->run;
    return ($child, $out, $exit);
}

my @loops = (
    [ 'facade, reactor'       => sub { Linux::Event->new } ],
    [ 'reactor engine'        => sub { Linux::Event::Reactor->new } ],
    [ 'facade, proactor fake' => sub { Linux::Event->new(model => 'proactor', backend => 'fake') } ],
    [ 'proactor engine, fake' => sub { Linux::Event::Proactor->new(backend => 'fake') } ],
);
# io_uring absent or forbidden: a recorded skip; any other failure fails.
push @loops, [ 'facade, proactor uring' => sub { Linux::Event->new(model => 'proactor') } ]
    if uring_loop(sub { Linux::Event->new(model => 'proactor') });

for my $case (@loops) {
    my ($name, $make) = @$case;
    subtest $name => sub {
        my $loop = $make->();
        my ($child, $out, $exit) = echo_through($loop);
        isa_ok($child, 'Linux::Event::Fork::Child');
        is($out,         "out\n", 'the output arrived');
        is($exit->code,  3,       'the exit code arrived');
        is($child->loop, $loop,   'the child belongs to this loop');

        my $helper = $loop->fork_helper;
        isa_ok($helper, 'Linux::Event::Fork');
        is($loop->fork_helper(max_children => 2), $helper, 'one helper per loop');
        is($helper->max_children, 2, 'fork_helper sets its limit');
        is($helper->loop, $loop, 'the helper is on this loop');

        my $line = __LINE__ + 1;
        ok(!eval { $loop->fork(cmd => 'ls'); 1 }, 'a bad spec croaks');
        like($@, qr/^cmd must be an arrayref at \Q${\__FILE__}\E line $line\.$/,
            'the contract text, at the caller');
        $line = __LINE__ + 1;
        ok(!eval { $loop->fork_helper(bogus => 1); 1 }, 'a bad fork_helper arg croaks');
        like($@, qr/^unknown args: bogus at \Q${\__FILE__}\E line $line\.$/, 'at the caller');
    };
}
ok($INC{'Linux/Event/Fork.pm'}, 'the first fork loaded the Fork module');

# Old programs `use Linux::Event::Fork`, before or after the loop classes:
# the methods are the same and nothing is redefined.
my @inc = map { ('-I', $_) } @INC;
for my $order ('Linux::Event::Fork; use Linux::Event', 'Linux::Event; use Linux::Event::Fork') {
    my $prog = <<"PERL";
use v5.36;
BEGIN { \$SIG{__WARN__} = sub { print "warning: \@_" } }
use $order;
my \$loop = Linux::Event->new;
\$loop->fork(cmd => ['true'], on_exit => sub (\$c, \$e) { print "exit ", \$e->code, "\\n"; \$loop->stop });
\$loop->run;
PERL
    my $got = do {
        open(my $fh, '-|', $^X, '-w', @inc, '-e', $prog) or die "perl: $!";
        local $/;
        <$fh>;
    };
    is($got, "exit 0\n", "use $order: runs, no warning");
}

done_testing;
