#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# srv_evloop.pl - line-echo server on Linux::Event::Stream (evloop).
#
# Measures: Linux::Event::Listen + Linux::Event::Stream with the `line`
# codec (C framer, on_message per line, write_message back): evloop's
# idiomatic buffered line-stream stack, the row compared with
# AnyEvent::Handle, IO::Async::Stream and Mojo::IOLoop.
#   EVLOOP_MODEL=reactor (default): epoll readiness, the C stream reads and
#                         writes with recv/send.
#   EVLOOP_MODEL=proactor: the same Stream on a proactor loop: the C stream
#                         reads and writes through io_uring; Listen accepts
#                         with accept operations there.
# usage: srv_evloop.pl PORT          listens on 127.0.0.1 only; exits after 300 s
# Run from the build tree with: perl -Mblib=BUILDDIR srv_evloop.pl PORT
use v5.36;
use Linux::Event;
use Linux::Event::Listen;
use Linux::Event::Stream;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
my $port = shift or die "usage: $0 PORT\n";
my $model = $ENV{EVLOOP_MODEL} // 'reactor';
alarm 300;

my $loop = Linux::Event::Loop->new(model => $model);
sub serve ($fh) {
    setsockopt($fh, IPPROTO_TCP, TCP_NODELAY, 1);
    Linux::Event::Stream->new(
        loop       => $loop,
        fh         => $fh,
        codec      => 'line',
        on_message => sub ($s, $line, $data) { $s->write_message($line) },
    );
}
Linux::Event::Listen->new(
    loop      => $loop,
    host      => '127.0.0.1',
    port      => $port,
    on_accept => sub ($loop, $fh, $peer, $listen) { serve($fh) },
);
$loop->run;
