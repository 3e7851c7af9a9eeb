#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline: an ungetc made while :evloop holds queued writes goes into the
# buffer, as under :perlio, whose unread flushes the writes first and
# then has the whole (idle) buffer to offer.  :evline used to judge the
# room before that flush, by the read state an earlier read at EOF had
# left (no room in front), and put the byte in a :pending instead; a
# seek then dropped it without moving back, one byte further on than
# :perlio.  Found by fuzz/layer (a read to EOF, a print with no seek
# between, ungetc, seek to the current position, slurp).
use v5.36;
use Test::More;
use IO::Handle;
use Fcntl qw(SEEK_CUR);
use lib 't/lib';
use EvlTest qw(temp_path);
use PerlIO::evloop;

my $path = temp_path();

sub run_seq ($layers, $content, $seek_before_print) {
    open(my $init, '>:raw', $path) or die "$path: $!";
    print $init $content;
    close $init;
    open(my $fh, "+<$layers", $path) or die "open $layers: $!";
    my @seen;
    {
        local $/ = "\r\n";
        my @l = readline($fh);
        push @seen, 'lines ' . scalar @l;
    }
    seek($fh, 0, SEEK_CUR) if $seek_before_print;
    my $printed = print {$fh} "\n" . ('Q' x 2000);
    push @seen, 'print ' . ($printed ? 1 : 0);
    push @seen, 'ungetc ' . $fh->ungetc(255);
    push @seen, 'pending ' . scalar grep { $_ eq 'pending' } PerlIO::get_layers($fh);
    push @seen, 'seek ' . (seek($fh, 0, SEEK_CUR) ? 1 : 0);
    push @seen, 'tell ' . tell($fh);
    {
        local $/;
        push @seen, 'rest ' . (readline($fh) // 'undef');
    }
    close $fh or die "close: $!";
    return \@seen;
}

for my $content ('', "ab\r\ncd") {
    for my $seek (0, 1) {
        my $case = sprintf 'content %s, %s', unpack('H*', $content) || 'empty',
            $seek ? 'seek before the print' : 'print straight after the read';
        my $want = run_seq('', $content, $seek);
        is_deeply(run_seq(':evloop', $content, $seek), $want, ":evloop as :perlio ($case)");
        is_deeply(run_seq(':evloop:evline', $content, $seek),
            $want, ":evloop:evline as :perlio ($case)");
    }
}

# :perlio there, pinned: the byte went into the buffer, and the seek
# gave it back, landing on the print's last byte.
my $perlio = run_seq('', '', 0);
is($perlio->[3], 'pending 0', ':perlio: no :pending, the buffer took the byte');
is($perlio->[5], 'tell 2000', ':perlio: the seek went back over it');
is($perlio->[6], 'rest Q', ':perlio: and reads the last byte printed');
done_testing;
