# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# AnyEvent::Impl::LinuxEvent is chosen by PERL_ANYEVENT_MODEL and by
# autodetection once Linux::Event is loaded; it never lets AnyEvent fall
# back to another model when Linux::Event cannot load; the AE:: fast
# paths are its own.
use v5.36;
use Test::More;

plan skip_all => 'AnyEvent is not installed (scripts/dev.sh installs libanyevent-perl)'
    if !eval { require AnyEvent; 1 };

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

# Children see the build tree as this test does.
my @inc = map { "-I$_" } grep { !ref } @INC;

sub run_perl ($code, %env) {
    local @ENV{ keys %env } = values %env;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT or die;
        exec $^X, @inc, '-e', $code or die "exec: $!";
    }
    local $/;
    my $text = <$out>;
    close $out;
    return ($? >> 8, $text // '');
}

my ($rc, $out) =
    run_perl('use AnyEvent; print AnyEvent::detect()', PERL_ANYEVENT_MODEL => 'LinuxEvent');
is($rc, 0, 'PERL_ANYEVENT_MODEL=LinuxEvent: runs');
is($out, 'AnyEvent::Impl::LinuxEvent', '... and selects the model');

($rc, $out) = run_perl('use EV; use Linux::Event; use AnyEvent; print AnyEvent::detect()',
    PERL_ANYEVENT_MODEL => '');
is($out, 'AnyEvent::Impl::LinuxEvent', 'autodetection: Linux::Event loaded first wins over EV')
    if eval { require EV; 1 };
($rc, $out) = run_perl('use Linux::Event::Loop; use AnyEvent; print AnyEvent::detect()',
    PERL_ANYEVENT_MODEL => '');
is($out, 'AnyEvent::Impl::LinuxEvent', 'autodetection: Linux::Event::Loop is enough');

# Linux::Event refuses to load: the program stops with a clear message
# instead of running on another model.
($rc, $out) = run_perl(
    'BEGIN { unshift @INC, sub { die "no evloop here\n" if $_[1] eq "Linux/Event/Loop.pm"; return } }'
        . ' use AnyEvent; AnyEvent::detect(); print "MODEL=$AnyEvent::MODEL\n"',
    PERL_ANYEVENT_MODEL => 'LinuxEvent'
);
isnt($rc, 0, 'Linux::Event unloadable: the program fails');
like(
    $out,
    qr/AnyEvent::Impl::LinuxEvent: cannot load Linux::Event: no evloop here/,
    '... saying why'
);
unlike($out, qr/MODEL=/, '... and never runs on another model');

# In this process.
$ENV{PERL_ANYEVENT_MODEL} = 'LinuxEvent';
is(AnyEvent::detect(), 'AnyEvent::Impl::LinuxEvent', 'detect in-process');
require Linux::Event::Loop;
is(
    AnyEvent::Impl::LinuxEvent->loop,
    Linux::Event::Loop->default,
    'the model runs on the shared default loop'
);
for my $f (qw(io timer signal child idle)) {
    is(\&{"AE::$f"}, \&{"AnyEvent::Impl::LinuxEvent::_ae_$f"}, "AE::$f is the model's own");
}
is(prototype(\&AE::io), '$$$', 'AE::io keeps its prototype');
is(prototype(\&AE::timer), '$$$', 'AE::timer keeps its prototype');
is(\&AE::time, \&Time::HiRes::time, 'AE::time is Time::HiRes::time');

done_testing;
