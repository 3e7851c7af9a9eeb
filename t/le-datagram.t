# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Datagram: UDP v4/v6 and unix datagram sockets on every
# engine (reactor, fake proactor, io_uring), batching, truncation,
# ICMP errors, write-behind with watermarks, pause/resume, close inside
# a callback, lifetime.
use v5.36;
use Test::More;
use Errno qw(ECONNREFUSED EMSGSIZE EBADF ENOENT);
use File::Temp ();
use Scalar::Util ();
use Socket qw(AF_INET AF_INET6 AF_UNIX SOCK_DGRAM SOL_SOCKET SO_SNDBUF
    pack_sockaddr_in inet_aton);
use FindBin ();
use lib "$FindBin::Bin/lib";
use EvlTest qw(uring_loop);

use Linux::Event;
use Linux::Event::Loop;
use Linux::Event::Datagram;

my @engines = (
    [ reactor => sub { Linux::Event->new } ],
    [ fake    => sub { Linux::Event::Loop->new(model => 'proactor', backend => 'fake') } ],
    [ uring   => sub { Linux::Event::Loop->new(model => 'proactor', backend => 'uring') } ],
);

# Runs the loop until $done->() is true or 5 seconds pass.
sub run_until ($loop, $done) {
    my $deadline = time + 5;
    while (!$done->() && time < $deadline) {
        $loop->run_once(0.05);
    }
    return $done->();
}

sub echo_test ($name, $loop, $host) {
    my @got;
    my $server = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => $host,
        port        => 0,
        on_datagram => sub ($d, $bytes, $peer) { $d->send_to("echo:$bytes", $peer) },
        on_error    => sub ($d, $errno, $msg) { diag "server: $msg" },
    );
    ok($server->sockport > 0, "$name: server bound to a port");
    is($server->sockhost, $host, "$name: sockhost");
    my $client = Linux::Event::Datagram->new(
        loop        => $loop,
        peer_host   => $host,
        peer_port   => $server->sockport,
        on_datagram => sub ($d, $bytes, $peer) { push @got, [ $bytes, $peer ] },
    );
    ok($client->send('ping'), "$name: send");
    ok($client->send(''),     "$name: an empty datagram");
    ok(run_until($loop, sub { @got == 2 }), "$name: replies arrive");
    is($got[0][0], 'echo:ping', "$name: the reply");
    is($got[1][0], 'echo:',     "$name: the empty one");
    my ($h, $p) = Linux::Event::Datagram::unpack_addr($got[0][1]);
    is($h, $host,              "$name: peer host");
    is($p, $server->sockport,  "$name: peer port");
    $client->close;
    $server->close;
    ok($server->is_closed, "$name: closed");
    ok(!$server->send_to('x', $got[0][1]), "$name: send_to after close fails");
    is($! + 0, EBADF, "$name: with EBADF");
    return;
}

for my $e (@engines) {
    my ($name, $make) = @$e;
    my $loop = $name eq 'uring' ? uring_loop($make) : $make->();
    next unless $loop;
    echo_test("$name v4", $loop, '127.0.0.1');
  SKIP: {
        my $s6;
        socket($s6, AF_INET6, SOCK_DGRAM, 0) && bind($s6, Socket::pack_sockaddr_in6(0, Socket::IN6ADDR_LOOPBACK()))
            or skip("no ::1 here: $!", 1);
        echo_test("$name v6", $loop, '::1');
    }

    # Many datagrams queued in one go all arrive, in order, in batches.
    my @got;
    my $server = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '127.0.0.1',
        batch       => 8,
        on_datagram => sub ($d, $bytes, $peer) { push @got, $bytes },
    );
    my $client = Linux::Event::Datagram->new(loop => $loop, port => 0, host => '127.0.0.1');
    my $to     = $server->sockaddr;
    $client->send_to("n$_", $to) for 1 .. 100;
    ok(run_until($loop, sub { @got == 100 }), "$name: 100 datagrams arrive");
    is_deeply(\@got, [ map {"n$_"} 1 .. 100 ], "$name: in order");

    # Larger than the buffer: reported, dropped, the next one arrives.
    my (@err, @ok);
    my $small = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '127.0.0.1',
        buffer_size => 16,
        on_datagram => sub ($d, $bytes, $peer) { push @ok, $bytes },
        on_error    => sub ($d, $errno, $msg) { push @err, [ $errno, $msg ] },
    );
    $client->send_to('x' x 100, $small->sockaddr);
    $client->send_to('fits',    $small->sockaddr);
    ok(run_until($loop, sub { @ok == 1 }), "$name: the datagram after a big one arrives");
    is(scalar @err, 1, "$name: one truncation reported");
    is($err[0][0], EMSGSIZE, "$name: as EMSGSIZE");
    like($err[0][1], qr/100 bytes truncated/, "$name: with the sizes");
    is_deeply(\@ok, ['fits'], "$name: the big one is not delivered");
    ok(!$small->is_closed, "$name: still open");

    # ECONNREFUSED on a connected socket to a closed port.
    socket(my $gone, AF_INET, SOCK_DGRAM, 0) or die;
    bind($gone, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die;
    my (undef, $gone_port) = Linux::Event::Datagram::unpack_addr(getsockname $gone);
    close $gone;
    my @refused;
    my $c = Linux::Event::Datagram->new(
        loop      => $loop,
        peer_host => '127.0.0.1',
        peer_port => $gone_port,
        on_error  => sub ($d, $errno, $msg) { push @refused, [ $errno, $msg ] },
    );
    ok($c->send('hello?'), "$name: the first send to a closed port goes out");
    ok(run_until($loop, sub { @refused > 0 }), "$name: an error comes back");
    is($refused[0][0], ECONNREFUSED, "$name: ECONNREFUSED");
    like($refused[0][1], qr/refused/i, "$name: with its text");
    ok(!$c->is_closed, "$name: the socket stays open");
    $c->close;

    # close_on_error: the same error closes it.
    my $closing_err;
    my $cc = Linux::Event::Datagram->new(
        loop           => $loop,
        peer_host      => '127.0.0.1',
        peer_port      => $gone_port,
        close_on_error => 1,
        on_error       => sub ($d, $errno, $msg) { $closing_err = $errno },
    );
    $cc->send('hello?');
    ok(run_until($loop, sub { $cc->is_closed }), "$name: close_on_error closes");
    is($closing_err, ECONNREFUSED, "$name: after on_error had ECONNREFUSED");

    # Pause, resume.
    my @p;
    my $ps = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '127.0.0.1',
        on_datagram => sub ($d, $bytes, $peer) { push @p, $bytes },
    );
    $ps->pause;
    $client->send_to("p$_", $ps->sockaddr) for 1 .. 3;
    $loop->run_once(0.05) for 1 .. 3;
    is(scalar @p, 0, "$name: nothing while paused");
    $ps->resume;
    ok(run_until($loop, sub { @p == 3 }), "$name: resumed");
    is_deeply(\@p, [qw(p1 p2 p3)], "$name: in order");

    # Close inside on_datagram: nothing more is delivered.
    my $n = 0;
    my $cs;
    $cs = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '127.0.0.1',
        on_datagram => sub ($d, $bytes, $peer) { $n++; $d->close },
    );
    $client->send_to("c$_", $cs->sockaddr) for 1 .. 5;
    ok(run_until($loop, sub { $n > 0 }), "$name: a datagram arrives");
    $loop->run_once(0.02) for 1 .. 3;
    is($n, 1, "$name: close inside the callback stops delivery");
    ok($cs->is_closed, "$name: closed");
    is($cs->fh, undef, "$name: its handle is gone");
}

# Unix datagram sockets, by path.
{
    my $loop = Linux::Event->new;
    my $dir  = File::Temp::tempdir(CLEANUP => 1);
    my @got;
    my $server = Linux::Event::Datagram->new(
        loop        => $loop,
        path        => "$dir/server",
        on_datagram => sub ($d, $bytes, $peer) {
            push @got, [ $bytes, defined $peer ? Linux::Event::Datagram::unpack_addr($peer) : () ];
            $d->send_to("re:$bytes", $peer) if defined $peer;
        },
    );
    my @reply;
    my $client = Linux::Event::Datagram->new(
        loop        => $loop,
        path        => "$dir/client",
        peer_path   => "$dir/server",
        on_datagram => sub ($d, $bytes, $peer) { push @reply, $bytes },
    );
    $client->send('unix');
    ok(run_until($loop, sub { @reply == 1 }), 'unix: reply arrives');
    is_deeply($got[0], [ 'unix', "$dir/client" ], 'unix: data and the sender path');
    is($reply[0], 're:unix', 'unix: reply');
    is($server->sockport, undef, 'unix: no port');

    # Only a peer: an unnamed socket, its datagrams arrive without a sender.
    my $anon = Linux::Event::Datagram->new(loop => $loop, peer_path => "$dir/server");
    ok($anon->send('anon'), 'unix: an unnamed sender sends');
    ok(run_until($loop, sub { @got == 2 }), 'unix: it arrives');
    is($got[1][0], 'anon', 'unix: its bytes');
    is(scalar @{ $got[1] }, 1, 'unix: no sender address') or diag explain $got[1];
}

# Write-behind: a full socket buffer queues, the watermarks and on_drain
# follow, and every datagram arrives in order.
{
    my $loop = Linux::Event->new;
    socketpair(my $a, my $b, AF_UNIX, SOCK_DGRAM, 0) or die "socketpair: $!";
    setsockopt($a, SOL_SOCKET, SO_SNDBUF, 4096) or die;
    my $drained = 0;
    my $w       = Linux::Event::Datagram->new(
        loop           => $loop,
        fh             => $a,
        high_watermark => 8000,
        low_watermark  => 2000,
        on_drain       => sub ($d) { $drained++ },
    );
    my @got;
    my $r = Linux::Event::Datagram->new(
        loop        => $loop,
        fh          => $b,
        on_datagram => sub ($d, $bytes, $peer) { push @got, substr($bytes, 0, 8) },
    );
    ok($w->send(sprintf('%08d', $_) . ('z' x 192)), "send $_") for 1 .. 3;
    $w->send(sprintf('%08d', $_) . ('z' x 192)) for 4 .. 600;
    ok($w->queued_count > 0,    'write-behind: the socket refused some, they are queued');
    is($w->queued_bytes, $w->queued_count * 200, 'queued_bytes counts them');
    ok($w->is_write_blocked,    'above high_watermark: blocked');
    is($drained, 0,             'no drain yet');
    ok(run_until($loop, sub { @got == 600 }), 'every datagram arrives');
    is_deeply(\@got, [ map { sprintf '%08d', $_ } 1 .. 600 ], 'in order');
    ok(!$w->is_write_blocked, 'not blocked after the drain');
    ok($drained >= 1,         'on_drain ran');
    is($w->queued_bytes, 0,   'nothing queued');
    $w->close;
    ok(defined fileno($a), 'close leaves a fh handle open');
}

# Multicast over loopback, when the kernel lets us.
SKIP: {
    my $loop  = Linux::Event->new;
    my $group = '239.255.77.' . (1 + $$ % 250);
    my @got;
    my $m = eval {
        Linux::Event::Datagram->new(
            loop        => $loop,
            host        => '0.0.0.0',
            port        => 0,
            reuseaddr   => 1,
            on_datagram => sub ($d, $bytes, $peer) { push @got, $bytes },
        );
    } or skip("no multicast socket: $@", 4);
    $m->join_multicast($group, 'lo') or skip("cannot join $group on lo: $!", 4);
    ok(!$m->join_multicast($group, 'lo'), 'joining twice fails');
    socket(my $s, AF_INET, SOCK_DGRAM, 0) or die;
    setsockopt($s, Socket::IPPROTO_IP(), Socket::IP_MULTICAST_IF(), inet_aton('127.0.0.1'))
        or skip("IP_MULTICAST_IF on lo: $!", 3);
    send($s, 'group!', 0, pack_sockaddr_in($m->sockport, inet_aton($group)))
        or skip("sending to $group: $!", 3);
    run_until($loop, sub { @got > 0 }) or skip('multicast over lo does not loop back here', 3);
    is($got[0], 'group!', 'multicast datagram received');
    ok($m->leave_multicast($group, 'lo'), 'leave');

    # The multicast option joins at start (a second join then fails).
    my $opt = Linux::Event::Datagram->new(
        loop         => $loop,
        port         => 0,
        multicast    => [$group],
        multicast_if => 'lo',
    );
    ok(!$opt->join_multicast($group, 'lo'), 'multicast => joined at start');
}

# broadcast => 1 sets SO_BROADCAST.
{
    my $loop = Linux::Event->new;
    my $b    = Linux::Event::Datagram->new(loop => $loop, port => 0, broadcast => 1);
    ok(unpack('i', getsockopt($b->fh, SOL_SOCKET, Socket::SO_BROADCAST())), 'broadcast => 1');
    my $n = Linux::Event::Datagram->new(loop => $loop, port => 0);
    ok(!unpack('i', getsockopt($n->fh, SOL_SOCKET, Socket::SO_BROADCAST())), 'not by default');
}

# Names go through the loop's resolver; sends made meanwhile are kept.
{
    my $loop = Linux::Event->new;
    my @got;
    my $server = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '127.0.0.1',
        on_datagram => sub ($d, $bytes, $peer) { push @got, $bytes },
    );
    my $client = Linux::Event::Datagram->new(
        loop      => $loop,
        peer_host => 'localhost',
        peer_port => $server->sockport,
        family    => 'inet',
    );
    is($client->fh, undef, 'resolving: no socket yet');
    ok($client->send('early'), 'a send while resolving is kept');
    ok(run_until($loop, sub { @got == 1 }), 'it arrives once resolved');
    is($got[0], 'early', 'the early send');

    my @err;
    my $bad = Linux::Event::Datagram->new(
        loop      => $loop,
        peer_host => 'no-such-host.invalid',
        peer_port => 9,
        on_error  => sub ($d, $errno, $msg) { push @err, [ $errno, $msg ] },
    );
    ok(run_until($loop, sub { @err > 0 }), 'an unresolvable name is reported');
    is($err[0][0], ENOENT, 'as ENOENT');
    like($err[0][1], qr/no-such-host\.invalid/, 'naming the host');
    ok($bad->is_closed, 'and the datagram closes');

    # A host name to bind to, through the resolver too.
    my $named = Linux::Event::Datagram->new(loop => $loop, host => 'localhost', family => 'inet');
    is($named->sockport, undef, 'binding a name: no socket yet');
    ok(run_until($loop, sub { defined $named->sockport }), 'bound once resolved');
    is($named->sockhost, '127.0.0.1', 'to the address of the name');

    # Dropped while its name resolves: freed at once, nothing calls back.
    my $called = 0;
    my $early  = Linux::Event::Datagram->new(
        loop        => $loop,
        peer_host   => 'localhost',
        peer_port   => 9,
        on_error    => sub { $called++ },
        on_datagram => sub { $called++ },
    );
    Scalar::Util::weaken(my $weak = $early);
    undef $early;
    ok(!defined $weak, 'a datagram dropped while resolving is freed');
    $loop->run_once(0.05) for 1 .. 10;
    is($called, 0, 'and its callbacks never run');
}

# A callback that dies: the exception reaches the caller of run_once,
# and the Datagram keeps working.
{
    my $loop = Linux::Event->new;
    my @got;
    my $d = Linux::Event::Datagram->new(
        loop        => $loop,
        host        => '127.0.0.1',
        on_datagram => sub ($dg, $bytes, $peer) {
            push @got, $bytes;
            die "boom\n" if $bytes eq 'die';
        },
    );
    $d->send_to($_, $d->sockaddr) for qw(die live);
    my $deadline = time + 5;
    my $err;
    while (@got < 2 && time < $deadline) {
        eval { $loop->run_once(0.05); 1 } or $err //= $@;
    }
    is($err, "boom\n", 'a dying on_datagram reaches run_once');
    is_deeply(\@got, [qw(die live)], 'and the next datagram still arrives');
}

# Dropping a Datagram without close frees it: the fd count stays flat.
{
    my $loop = Linux::Event->new;
    opendir(my $dh, '/proc/self/fd') or die;
    my $fds = sub { rewinddir $dh; scalar grep { !/^\./ } readdir $dh };
    my $before = $fds->();
    for (1 .. 1000) {
        my $d = Linux::Event::Datagram->new(
            loop        => $loop,
            host        => '127.0.0.1',
            on_datagram => sub ($d, $b, $p) { },
        );
        $d->send_to('x', $d->sockaddr) if $_ % 100 == 0;
    }
    $loop->run_once(0);
    is($fds->(), $before, '1000 dropped datagrams leave no fd behind');

    # Dropping the loop first stops the datagram without a crash.
    my $d = Linux::Event::Datagram->new(loop => $loop, host => '127.0.0.1');
    undef $loop;
    ok(!$d->send('x'), 'after the loop went, send fails');
    ok($d->is_closed, 'the datagram closed with its loop');
}

done_testing;
