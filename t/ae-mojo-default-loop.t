# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Loop->default: one reactor per process, made at first use;
# a forked child keeps the same object, rebuilt there by the fork rule.
# Mojo::Reactor::LinuxEvent without Linux::Event fails loudly.
use v5.36;
use Test::More;
use Linux::Event::Loop;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 30;

my $loop = Linux::Event::Loop->default;
isa_ok($loop, 'Linux::Event::Loop');
is($loop->model, 'reactor', 'a reactor');
is(Linux::Event::Loop->default, $loop, 'the same object on every call');
my $fired;
$loop->after(0, sub { $fired = 1 });
$loop->run_once(0);
ok($fired, 'it runs');

pipe(my $r, my $w) or die $!;
my $pid = fork // die "fork: $!";
if (!$pid) {
    close $r;
    my $same = Linux::Event::Loop->default == $loop ? 1 : 0;
    my $ran  = 0;
    $loop->after(0.01, sub { $ran = 1; $loop->stop });
    $loop->run;
    syswrite $w, "same=$same ran=$ran";
    POSIX::_exit(0);
}
close $w;
my $got = do { local $/; <$r> };
waitpid $pid, 0;
is($got, 'same=1 ran=1', 'a forked child keeps the object and its loop works there');
my $again;
$loop->after(0, sub { $again = 1 });
$loop->run_once(0);
ok($again, 'the parent\'s loop is untouched');

SKIP: {
    skip 'Mojolicious is not installed', 3 if !eval { require Mojo::Reactor::Poll; 1 };
    my @inc = map { "-I$_" } grep { !ref } @INC;
    my $code =
        'BEGIN { unshift @INC, sub { die "no evloop here\n" if $_[1] eq "Linux/Event/Loop.pm"; return } }'
        . ' use Mojo::IOLoop; print ref(Mojo::IOLoop->singleton->reactor), "\n"';
    local $ENV{MOJO_REACTOR} = 'Mojo::Reactor::LinuxEvent';
    my $kid = open(my $out, '-|') // die "fork: $!";
    if (!$kid) {
        open STDERR, '>&', \*STDOUT or die;
        exec $^X, @inc, '-e', $code or die "exec: $!";
    }
    my $text = do { local $/; <$out> };
    close $out;
    isnt($? >> 8, 0, 'Mojo with MOJO_REACTOR=Mojo::Reactor::LinuxEvent and no Linux::Event: fails');
    like(
        $text,
        qr/Mojo::Reactor::LinuxEvent: cannot load Linux::Event: no evloop here/,
        '... saying why'
    );
    unlike($text, qr/Mojo::Reactor::Poll/, '... never on Mojo::Reactor::Poll');
}

done_testing;
