#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Stream under load: a byte-exact 100 MB transfer through two
# Streams under backpressure (a relay pausing its reader while its writer is
# blocked), and 10,000 connect / echo / close cycles over loopback TCP with
# the fd count and RSS flat.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Digest::MD5;
use Linux::Event;
use Linux::Event::Stream;
use Linux::Event::Listen;
use Linux::Event::Connect;

my $loop = Linux::Event->new;

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    return ($a, $b);
}

# -- 100 MB: source stream -> relay (pause on high water) -> sink, MD5 compared
{
    my $total = 100 * 1024 * 1024;
    my ($src_a, $src_b) = pair();
    my ($dst_a, $dst_b) = pair();
    my $md5_in = Digest::MD5->new;
    my $md5_out = Digest::MD5->new;
    my ($sent, $got, $maxq) = (0, 0, 0);
    my $block = join '', map { chr(($_ * 7) & 255) } 0 .. 65535;

    my $out = Linux::Event::Stream->new(loop => $loop, fh => $dst_a, on_read => sub {},
        high_watermark => 256 * 1024, low_watermark => 64 * 1024);
    my $relay;
    $relay = Linux::Event::Stream->new(loop => $loop, fh => $src_b,
        on_read => sub ($s, $bytes, $d) {
            $out->write($bytes);
            $maxq = $out->buffered_bytes if $out->buffered_bytes > $maxq;
            $s->pause_read if $out->is_write_blocked;
        });
    my $sink = Linux::Event::Stream->new(loop => $loop, fh => $dst_b,
        on_read => sub ($s, $bytes, $d) { $got += length $bytes; $md5_out->add($bytes) });
    my $feed = Linux::Event::Stream->new(loop => $loop, fh => $src_a, on_read => sub {},
        high_watermark => 1 << 20, low_watermark => 1 << 18);
    my $tick;
    $tick = sub ($loop) {
        while ($sent < $total && !$feed->is_write_blocked) {
            my $chunk = substr($block, 0, ($sent + 65536 > $total) ? $total - $sent : 65536);
            $md5_in->add($chunk);
            $feed->write($chunk);
            $sent += length $chunk;
        }
        $relay->resume_read if !$out->is_write_blocked;
        $loop->stop if $got >= $total;
        $loop->after(0.001, $tick) unless $got >= $total;
    };
    $loop->after(0, $tick);
    my $guard = $loop->after(60, sub ($l) { $l->stop });
    $loop->run;
    $loop->cancel($guard);
    is($got, $total, '100 MB arrived');
    is($md5_out->hexdigest, $md5_in->hexdigest, 'byte-exact (MD5)');
    ok($maxq < 2 * 1024 * 1024, "relay queue stayed bounded ($maxq bytes)");
    $_->close for $out, $relay, $sink, $feed;
}

# -- one long run: a message's Perl value must not live until run returns
# (the loop runs no FREETMPS), or 1M messages would hold ~200 MB
SKIP: {
    skip 'RSS is meaningless under AddressSanitizer', 1 if ($ENV{LD_PRELOAD} // '') =~ /asan/;
    sub rss_now { open(my $f, '<', '/proc/self/status') or return 0; while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ } 0 }
    my ($a, $b) = pair();
    my ($got, $rss_early, $rss_late) = (0, 0, 0);
    my $line = 'x' x 50;
    Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
        on_message => sub ($s, $m, $d) { $s->write_message($m) });
    my $c = Linux::Event::Stream->new(loop => $loop, fh => $b, codec => 'line',
        on_message => sub ($s, $m, $d) {
            $got++;
            $rss_early = rss_now() if $got == 50_000;
            if ($got >= 300_000) { $rss_late = rss_now(); $loop->stop; return }
            $s->write_message($line) for 1 .. ($got % 100 == 0 ? 100 : 0);
        });
    $c->write_message($line) for 1 .. 100;
    $loop->run;
    ok($rss_late - $rss_early < 8192,
        "300k messages in one run: RSS flat ($rss_early -> $rss_late kB)");
    $_->close for $c;
}

# -- 10,000 connect / echo / close cycles: fd count and RSS flat
{
    sub nfds { opendir(my $d, '/proc/self/fd') or return -1; my @f = readdir $d; scalar @f }
    sub rss_kb { open(my $f, '<', '/proc/self/status') or return 0; while (<$f>) { return $1 if /^VmRSS:\s+(\d+)/ } 0 }
    my $listen = Linux::Event::Listen->new(loop => $loop, host => '127.0.0.1', port => 0,
        on_accept => sub ($loop, $fh, $peer, $l) {
            Linux::Event::Stream->new(loop => $loop, fh => $fh, codec => 'line',
                on_message => sub ($s, $m, $d) { $s->write_message($m) });
        });
    my $port = $listen->sockport;
    my ($done, $fail) = (0, 0);
    my $cycle;
    $cycle = sub {
        Linux::Event::Connect->new(loop => $loop, host => '127.0.0.1', port => $port,
            on_error => sub ($r, $e, $d) { $fail++; $loop->stop },
            on_connect => sub ($r, $fh, $d) {
                my $s = Linux::Event::Stream->new(loop => $loop, fh => $fh, codec => 'line',
                    on_message => sub ($s, $m, $d) {
                        $fail++ unless $m eq "ping $done";
                        $s->close;
                        $done++;
                        if ($done % 2000 == 0 || $done >= 10_000) { $loop->stop } else { $cycle->() }
                    });
                $s->write_message("ping $done");
            });
    };
    my @marks;
    for my $round (1 .. 5) {
        $cycle->();
        $loop->run;
        last if $fail;
        push @marks, [nfds(), rss_kb()];
    }
    is($fail, 0, 'no failed cycle');
    is($done, 10_000, '10,000 cycles');
    # The first round warms allocators up; compare the later ones.
    is($marks[-1][0], $marks[1][0], "fd count flat ($marks[1][0] -> $marks[-1][0])");
    SKIP: {
        # ASan's quarantine holds freed memory: RSS grows by design there.
        skip 'RSS is meaningless under AddressSanitizer', 1 if ($ENV{LD_PRELOAD} // '') =~ /asan/;
        ok($marks[-1][1] - $marks[1][1] < 4096, "RSS flat ($marks[1][1] -> $marks[-1][1] kB)");
    }
    $listen->cancel;
}

done_testing;
