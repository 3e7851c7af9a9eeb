#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A UDP echo server and a client with a fixed peer on one loop: the client
# sends three datagrams, the server answers each to its sender, and a
# datagram to a closed port comes back as ECONNREFUSED.
use v5.36;
use Linux::Event;
use Linux::Event::Datagram;

my $loop   = Linux::Event->new;
my $server = Linux::Event::Datagram->new(
    loop        => $loop,
    host        => '127.0.0.1',
    port        => 0,
    on_datagram => sub ($dgram, $bytes, $peer_addr) {
        my ($host, $port) = Linux::Event::Datagram::unpack_addr($peer_addr);
        say "server: '$bytes' from $host:$port";
        $dgram->send_to("echo: $bytes", $peer_addr);
    },
);

my $replies = 0;
my $refused;
my $client = Linux::Event::Datagram->new(
    loop        => $loop,
    peer_host   => '127.0.0.1',
    peer_port   => $server->sockport,
    on_datagram => sub ($dgram, $bytes, $peer_addr) {
        say "client: $bytes";
        $refused->send('anyone?') if ++$replies == 3;
    },
);
$client->send("datagram $_") for 1 .. 3;

# A port nobody listens on: borrow one, then let it go.
my $probe       = Linux::Event::Datagram->new(loop => $loop, host => '127.0.0.1');
my $closed_port = $probe->sockport;
$probe->close;
$refused = Linux::Event::Datagram->new(
    loop      => $loop,
    peer_host => '127.0.0.1',
    peer_port => $closed_port,
    on_error  => sub ($dgram, $errno, $message) {
        say "closed port: $message";
        $loop->stop;
    },
);
$loop->after(5, sub { die "no answer\n" });
$loop->run;
