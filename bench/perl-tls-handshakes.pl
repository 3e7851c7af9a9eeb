#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-tls-handshakes.pl - the issue 15 load check: N (10000) TLS
# handshakes between two Linux::Event::Streams over socketpairs on one
# loop, one echo each, printing RSS every N/10 and the fd count at the
# end, which must stay flat.  (t/le-tls.t runs 1000 of them: 10000 take
# about 45 s on the 2-core development machine.)
# usage: perl -Mblib bench/perl-tls-handshakes.pl [N]
use v5.36;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use File::Temp ();
use Time::HiRes qw(time);
use Linux::Event;
use Linux::Event::Stream;

my $n   = shift // 10_000;
my $dir = File::Temp::tempdir(CLEANUP => 1);
system('sh', '-c', "cd '$dir' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        . "-nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=localhost "
        . "-addext subjectAltName=DNS:localhost >/dev/null 2>&1") == 0
    or die "openssl req failed\n";
my $loop = Linux::Event->new;
my $rss  = sub { open(my $f, '<', '/proc/self/statm') or die; (split ' ', <$f>)[1] * 4 };
my $fds  = sub { opendir(my $d, '/proc/self/fd') or die; scalar grep { /^\d+$/ } readdir $d };
my $t0   = time;
for my $i (1 .. $n) {
    socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    my $ok = 0;
    my $srv = Linux::Event::Stream->new(loop => $loop, fh => $y,
        tls     => { server => 1, cert_file => "$dir/cert.pem", key_file => "$dir/key.pem" },
        on_read => sub ($s, $m, $d) { $s->write($m); $s->close_after_drain });
    my $cli = Linux::Event::Stream->new(loop => $loop, fh => $x,
        tls     => { ca_file => "$dir/cert.pem", hostname => 'localhost' },
        on_read => sub ($s, $m, $d) { $ok = 1; $s->close });
    $cli->write('x');
    $loop->run_once(1) until $ok;
    $srv->close;
    printf "%6d handshakes  rss %d kB  fds %d\n", $i, $rss->(), $fds->() if $i % int($n / 10 || 1) == 0;
}
my $t = time - $t0;
printf "%d handshakes (both ends in this process) in %.1f s: %.0f/s\n", $n, $t, $n / $t;
