#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# 30 MB printed to a slow reader arrives intact: over a blocking pipe (print
# and close wait) and a non-blocking socket (print queues, close drains).
use strict;
use warnings;
use Test::More;
use Digest::MD5 qw(md5_hex);
use IO::Handle;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);

my $block = join '', map { chr(($_ * 131 + 7) % 256) } 0 .. 65535;
my $data = ($block x 480) . "the end\n";   # about 30 MB
my $want = md5_hex($data);

# The reader takes 4 KB at a time and reports the digest of what it got.
sub slow_reader {
    my ($in, @close) = @_;
    pipe(my $res_r, my $res_w) or die $!;
    defined(my $pid = fork) or die "fork: $!";
    if ($pid == 0) {
        close $_ for $res_r, @close;
        my $md5 = Digest::MD5->new;
        my $total = 0;
        while (my $n = sysread($in, my $buf, 4096)) { $md5->add($buf); $total += $n }
        syswrite($res_w, $md5->hexdigest . " $total");
        exit 0;
    }
    close $res_w;
    close $in;
    return ($pid, $res_r);
}

{
    pipe(my $r, my $w) or die $!;
    binmode($w, ':evloop') or die;
    my ($pid, $res) = slow_reader($r, $w);
    ok((print {$w} $data), 'blocking pipe: one 30 MB print returns true');
    ok(close($w), 'close returns true');
    my $report = <$res>;
    waitpid($pid, 0);
    is($report, "$want " . length($data), 'the reader got every byte (MD5 and length)');
}

{
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die $!;
    binmode($a, ':evloop') or die;
    my ($pid, $res) = slow_reader($b, $a);
    $a->blocking(0);
    my $ok = 1;
    # Many prints, as a program would make them.
    for (my $off = 0; $off < length $data; $off += 1_000_000) {
        $ok &&= print {$a} substr($data, $off, 1_000_000);
    }
    ok($ok, 'non-blocking socket: every print returns true (queued, not dropped)');
    ok(close($a), 'close drains the queue and returns true');
    my $report = <$res>;
    waitpid($pid, 0);
    is($report, "$want " . length($data), 'the reader got every byte (MD5 and length)');
}

done_testing;
