# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Mojo::IOLoop on Mojo::Reactor::LinuxEvent (MOJO_REACTOR): the singleton
# reactor on the shared loop, a server + client round trip, a
# Mojo::UserAgent request to a Mojolicious::Lite app (Mojo::Server::Daemon
# on 127.0.0.1 port 0), Mojo::IOLoop::Subprocess, prefork workers, and
# AnyEvent watchers driven by Mojo::IOLoop->start on the same loop.
use v5.36;
use Test::More;

BEGIN {
    $ENV{MOJO_REACTOR}   = 'Mojo::Reactor::LinuxEvent';
    $ENV{MOJO_LOG_LEVEL} = 'fatal';
    plan skip_all => 'Mojolicious is not installed (scripts/dev.sh installs libmojolicious-perl)'
        if !eval { require Mojolicious; 1 };
}
use Mojo::IOLoop;
use Mojo::IOLoop::Subprocess;
use Mojo::Server::Daemon;
use Mojo::UserAgent;
use Mojolicious::Lite;
use Linux::Event::Loop;

local $SIG{ALRM} = sub { die "timeout\n" };
alarm 90;

my $reactor = Mojo::IOLoop->singleton->reactor;
is(ref $reactor, 'Mojo::Reactor::LinuxEvent', 'the singleton reactor');
is($reactor->loop, Linux::Event::Loop->default, '... runs on the shared default loop');

subtest 'server + client round trip' => sub {
    my ($got, $server_got);
    my $id = Mojo::IOLoop->server(
        { address => '127.0.0.1' } => sub ($loop, $stream, $id) {
            $stream->on(read => sub ($s, $bytes) { $server_got .= $bytes; $s->write("echo:$bytes") }
            );
        }
    );
    my $port = Mojo::IOLoop->acceptor($id)->port;
    Mojo::IOLoop->client(
        { address => '127.0.0.1', port => $port } => sub ($loop, $err, $stream) {
            die $err if $err;
            $stream->on(read =>
                    sub ($s, $bytes) { $got .= $bytes; Mojo::IOLoop->stop if $got eq 'echo:ping' });
            $stream->write('ping');
        }
    );
    Mojo::IOLoop->start;
    is($server_got, 'ping', 'server read');
    is($got, 'echo:ping', 'client read the answer');
    Mojo::IOLoop->remove($id);
};

get '/hello' => sub ($c) { $c->render(text => 'Hello ' . ($c->param('who') // 'World')) };
post '/echo' => sub ($c) { $c->render(text => $c->req->body) };

subtest 'Mojo::UserAgent to a Mojolicious::Lite app on port 0' => sub {
    my $daemon =
        Mojo::Server::Daemon->new(app => app, listen => ['http://127.0.0.1'], silent => 1)->start;
    my $port = Mojo::IOLoop->acceptor($daemon->acceptors->[0])->port;
    my $ua   = Mojo::UserAgent->new;

    # Blocking requests run the user agent's own IOLoop (a second reactor
    # on its own loop) with the app served there.
    my $blocking = Mojo::UserAgent->new;
    $blocking->server->app(app);
    my $tx = $blocking->get('/hello?who=evloop');
    is($tx->result->code, 200, 'blocking request: status');
    is($tx->result->body, 'Hello evloop', 'blocking request: body');
    is(ref $blocking->ioloop->reactor, 'Mojo::Reactor::LinuxEvent', '... on a reactor of ours');
    isnt($blocking->ioloop->reactor->loop, $reactor->loop, '... with its own loop');

    my @bodies;
    for my $n (1 .. 3) {
        $ua->post(
            "http://127.0.0.1:$port/echo" => "n$n" => sub ($ua, $tx) {
                push @bodies, $tx->result->body;
                Mojo::IOLoop->stop if @bodies == 3;
            }
        );
    }
    Mojo::IOLoop->start;
    is(join(',', sort @bodies), 'n1,n2,n3', 'three concurrent non-blocking requests');
    my $promise = $ua->get_p("http://127.0.0.1:$port/hello")->then(sub ($tx) { $tx->result->body });
    my $body;
    $promise->then(sub ($b) { $body = $b })->wait;
    is($body, 'Hello World', 'promise wait');
};

subtest 'Mojo::IOLoop::Subprocess' => sub {
    my ($result, $err, $progress);
    my $sub = Mojo::IOLoop::Subprocess->new;
    $sub->on(progress => sub ($sp, @d) { $progress = "@d" });
    $sub->run(
        sub ($sp) { $sp->progress('half'); return ($$, 'done') },
        # Stop here: the servers and keep-alive connections of the
        # subtests above would keep start() running until they time out.
        sub ($sp, $e, @r) { ($err, $result) = ($e, [@r]); Mojo::IOLoop->stop }
    );
    Mojo::IOLoop->start;
    ok(!$err, 'no error') or diag $err;
    isnt($result->[0], $$, 'ran in another process');
    is($result->[1], 'done', 'result came back');
    is($progress, 'half', 'progress came back');
    my $p = Mojo::IOLoop::Subprocess->new->run_p(sub { 6 * 7 });
    my $v;
    $p->then(sub { $v = shift })->wait;
    is($v, 42, 'run_p');
};

# Prefork runs in a process of its own: its workers exit through perl's
# exit, which would run this test's END blocks.
my $PREFORK = <<'END_PREFORK';
use v5.36;
use Mojolicious::Lite;
use Mojo::Server::Prefork;
use File::Temp ();
get '/hello' => sub ($c) { $c->render(text => 'Hello ' . $c->param('who')) };
my $pid_file = File::Temp->new;
my $prefork = Mojo::Server::Prefork->new(app => app, listen => ['http://127.0.0.1'], silent => 1,
    workers => 2, heartbeat_interval => 0.5, pid_file => "$pid_file.pid");
my (@pids, $port);
$prefork->on(spawn => sub ($p, $pid) { push @pids, $pid });

# Once both workers are up, a child process asks them and tells us
# through a pipe; then the manager stops.
$prefork->on(wait => sub ($p) {
    return if defined $port || @pids < 2;
    $port = Mojo::IOLoop->acceptor($p->acceptors->[0])->port;
    pipe(my $r, my $w) or die $!;
    my $kid = fork // die $!;
    if (!$kid) {
        close $r;
        require Mojo::UserAgent;
        my $ua = Mojo::UserAgent->new;
        my $text = eval { $ua->get("http://127.0.0.1:$port/hello?who=worker")->result->body } // "ERR $@";
        syswrite $w, $text;
        POSIX::_exit(0);
    }
    close $w;
    my $body = do { local $/; <$r> };
    waitpid $kid, 0;
    print "reactor=", ref(Mojo::IOLoop->singleton->reactor), " workers=", scalar(@pids), " body=$body\n";
    kill 'QUIT', $$;
});
$prefork->run;
END_PREFORK

subtest 'prefork workers' => sub {
    my @inc = map { "-I$_" } grep { !ref } @INC;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) { exec $^X, @inc, '-e', $PREFORK or die "exec: $!" }
    my $text = do { local $/; <$out> };
    close $out;
    is($? >> 8, 0, 'the prefork server ran and stopped');
    is(
        $text,
        "reactor=Mojo::Reactor::LinuxEvent workers=2 body=Hello worker\n",
        'a worker answered'
    );
};

subtest 'AnyEvent and Linux::Event run under Mojo::IOLoop->start' => sub {
    plan skip_all => 'AnyEvent is not installed' if !eval { require AnyEvent; 1 };
    local $ENV{PERL_ANYEVENT_MODEL} = 'LinuxEvent';
    is(AnyEvent::detect(), 'AnyEvent::Impl::LinuxEvent', 'AnyEvent model');
    my ($ae, $le);
    my $t = AE::timer(0.01, 0, sub { $ae = 1 });
    Linux::Event::Loop->default->after(0.02, sub { $le = 1 });
    Mojo::IOLoop->timer(0.04 => sub { Mojo::IOLoop->stop });
    Mojo::IOLoop->start;
    ok($ae, 'an AnyEvent timer ran');
    ok($le, 'a Linux::Event timer ran');
};

done_testing;
