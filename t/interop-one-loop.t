# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# One loop hosts every framework: a Linux::Event::Stream echo server,
# an AnyEvent timer and condvar, a Mojo::UserAgent request to a
# Mojolicious::Lite app, and (when their backends are installed) an
# IO::Async timer and a Future::IO sleep, all done in one run of
# Linux::Event::Loop->default.
use v5.36;
use Test::More;

BEGIN {
    $ENV{PERL_ANYEVENT_MODEL} = 'LinuxEvent';
    $ENV{MOJO_REACTOR}        = 'Mojo::Reactor::LinuxEvent';
    $ENV{MOJO_LOG_LEVEL}      = 'fatal';
    plan skip_all => 'AnyEvent and Mojolicious are needed (scripts/dev.sh installs them)'
        if !eval { require AnyEvent; require Mojolicious::Lite; 1 };
}
use IO::Socket::INET;
use Linux::Event::Loop;
use Linux::Event::Listen;
use Linux::Event::Stream;
use Mojo::IOLoop;
use Mojo::UserAgent;
use Mojo::Server::Daemon;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;

my $loop = Linux::Event::Loop->default;
my %done;

# Which optional backends join (the other helpers' modules).
my $ioasync  = eval { require IO::Async::Loop::LinuxEvent; 1 };
my $futureio = eval { require Future::IO; require Future::IO::Impl::LinuxEvent; 1 };
my $want     = 4 + ($ioasync ? 1 : 0) + ($futureio ? 1 : 0);
my $finish   = sub ($what) {
    $done{$what} = 1;
    $loop->stop if keys %done == $want;
};

# Linux::Event::Stream echo server and a plain client socket.
my $listen = Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => 0,
    on_accept => sub ($loop, $fh, $peer, $listen) {
        Linux::Event::Stream->new(
            loop       => $loop,
            fh         => $fh,
            codec      => 'line',
            on_message => sub ($stream, $line, $data) { $stream->write_message("echo: $line") },
        );
    },
);
my $port   = $listen->fh->sockport;
my $client = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die $!;
$client->blocking(0);
syswrite $client, "hello\n";
my $echo = '';
my $cw;
$cw = $loop->watch(
    $client,
    read => sub ($l, $fh, $w) {
        sysread $fh, $echo, 100, length $echo;
        if ($echo =~ /\n/) { $w->cancel; $finish->('stream') }
    }
);

# AnyEvent: a timer sends a condvar whose callback reports.
my $cv = AE::cv(sub { $finish->('anyevent') if $_[0]->recv eq 'tick' });
my $t  = AE::timer(0.01, 0, sub { $cv->send('tick') });

# Mojo: a Mojolicious::Lite app on Mojo::Server::Daemon, port 0.
my $app = Mojolicious::Lite->new;
$app->routes->get('/hi' => sub ($c) { $c->render(text => 'hi from mojo') });
my $daemon =
    Mojo::Server::Daemon->new(app => $app, listen => ['http://127.0.0.1'], silent => 1)->start;
my $mport = Mojo::IOLoop->acceptor($daemon->acceptors->[0])->port;
my $ua    = Mojo::UserAgent->new(ioloop => Mojo::IOLoop->singleton);
my $body;
$ua->get(
    "http://127.0.0.1:$mport/hi" => sub ($ua, $tx) { $body = $tx->result->body; $finish->('mojo') }
);

# Linux::Event's own timer.
$loop->after(0.02, sub ($l) { $finish->('linux-event') });

# IO::Async and Future::IO, when their backends are there.
my $ia;
if ($ioasync) {
    $ia = IO::Async::Loop::LinuxEvent->new;
    $ia->watch_time(after => 0.01, code => sub { $finish->('ioasync') });
}
my $f;
if ($futureio) {
    $f = Future::IO->sleep(0.01)->on_done(sub { $finish->('futureio') });
}

$loop->after(20, sub ($l) { $l->stop });    # a bound, not a sync point
$loop->run;

is($echo, "echo: hello\n", 'Linux::Event::Stream echo');
ok($done{anyevent}, 'AnyEvent timer and condvar');
is($body, 'hi from mojo', 'Mojo::UserAgent request to the Lite app');
ok($done{'linux-event'}, 'Linux::Event timer');
SKIP: {
    skip 'IO::Async::Loop::LinuxEvent is not installed', 1 if !$ioasync;
    ok($done{ioasync}, 'IO::Async timer');
}
SKIP: {
    skip 'Future::IO::Impl::LinuxEvent is not installed', 1 if !$futureio;
    ok($done{futureio}, 'Future::IO sleep');
}
is(scalar(keys %done), $want, 'everything finished in one run');

done_testing;
