#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The Write slot's fast path for short prints (an inlined copy of 1..32
# bytes, a tail call for longer ones) is byte-exact at every length, and
# its bytes reach the file at exactly :perlio's flush points: the file's
# size after every print is the same under both layers.  Also through a
# read-write handle with buffered input (which must take the general path).
use v5.36;
use Test::More;
use lib 't/lib';
use EvlTest qw(temp_path read_all_raw);

my @lens = (0 .. 80, 100, 4000, 8191, 8192, 8193, 20000);
srand(18);
my @seq = map { $lens[int rand @lens] } 1 .. 3000;
push @seq, 0 .. 80;
# The text of length n is the first n bytes of one pattern string.
my $text = join '', map { chr(($_ * 37 + 11) % 256) } 1 .. 20000;

sub run_prints ($layer, $path) {
    open(my $fh, ">$layer", $path) or die "open >$layer: $!";
    my @sizes;
    my $i = 0;
    for my $n (@seq) {
        my $s = substr($text, 0, $n) . chr($i++ % 256);   # lengths n+1, varied tails
        print {$fh} $s or die "print: $!";
        push @sizes, -s $path;
    }
    close $fh or die "close: $!";
    return (\@sizes, read_all_raw($path));
}

my ($p1, $p2) = (temp_path(), temp_path());
my ($sz_perlio, $data_perlio) = run_prints(':perlio', $p1);
my ($sz_evloop, $data_evloop) = run_prints(':evloop', $p2);
is(length $data_evloop, length $data_perlio, 'same length');
ok($data_evloop eq $data_perlio, 'same bytes at every print length');
my $first_diff = (grep { $sz_perlio->[$_] != $sz_evloop->[$_] } 0 .. $#seq)[0];
ok(!defined $first_diff, 'the file grows at the same prints as under :perlio')
    or diag "first difference after print $first_diff: :perlio $sz_perlio->[$first_diff], :evloop $sz_evloop->[$first_diff]";

# Read-write: input waiting in the buffer sends prints the general way
# (PerlIOBuf_write flushes the read side first, moving the fd back).
for my $layer (':perlio', ':evloop') {
    my $p = $layer eq ':perlio' ? $p1 : $p2;
    open(my $fh, '>', $p) or die; print {$fh} "line1\nline2\nline3\n"; close $fh;
    open($fh, "+<$layer", $p) or die "open +<$layer: $!";
    my $l = <$fh>;
    print {$fh} "XY";
    close $fh or die;
}
is(read_all_raw($p2), read_all_raw($p1), 'a short print after a readline on +< lands where :perlio puts it');

done_testing;
