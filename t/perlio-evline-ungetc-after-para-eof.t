#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline: an ungetc that goes wholly into a :pending (the buffer has no
# room in front after a read met EOF) leaves the handle's EOF flag up, as
# PerlIOBuf_unread does.  Before, :evline took the flag down anyway, so a
# paragraph readline, once it had read the pushed-back newline, asked
# :evloop for more instead of stopping at PerlIO_eof; that fill left
# :evloop's buffer idle, the next ungetc went into it rather than into a
# :pending, and a seek to the current position then went back over the
# byte where :perlio's drops the :pending and keeps its place.  Found by
# fuzz/layer (its reproducer: file "\n"; slurp; ungetc 10; paragraph
# readline; ungetc 0; seek; slurp).
use v5.36;
use Test::More;
use IO::Handle;
use Fcntl qw(SEEK_CUR);
use lib 't/lib';
use EvlTest qw(temp_path);
use PerlIO::evloop;

my $path = temp_path();

# Runs the sequence over $layers and returns what it saw, step by step.
sub run_seq ($layers, $content, $second) {
    open(my $init, '>:raw', $path) or die "$path: $!";
    print $init $content;
    close $init;
    open(my $fh, "+<$layers", $path) or die "open $layers: $!";
    my @seen;
    {
        local $/;
        push @seen, 'slurp ' . (readline($fh) // 'undef');
    }
    push @seen, 'ungetc ' . $fh->ungetc(10);
    push @seen, 'layers ' . join(',', grep { $_ eq 'pending' } PerlIO::get_layers($fh));
    push @seen, 'eof ' . (eof($fh) ? 1 : 0) if $second eq 'eof';
    {
        local $/ = '';
        push @seen, 'para ' . (readline($fh) // 'undef');
    }
    push @seen, 'ungetc ' . $fh->ungetc(0);
    push @seen, 'layers ' . join(',', grep { $_ eq 'pending' } PerlIO::get_layers($fh));
    push @seen, 'seek ' . (seek($fh, 0, SEEK_CUR) ? 1 : 0);
    push @seen, 'print ' . (print {$fh} ($second eq 'print' ? 'P' : '') ? 1 : 0);
    seek($fh, 0, SEEK_CUR);
    {
        local $/;
        push @seen, 'rest ' . (readline($fh) // 'undef');
    }
    close $fh or die "close: $!";
    open(my $r, '<:raw', $path) or die "$path: $!";
    local $/;
    push @seen, 'file ' . unpack('H*', readline($r) // '');
    return \@seen;
}

for my $content ("\n", "ab\n\n\n") {
    for my $second ('', 'print', 'eof') {
        my $case = sprintf 'content %s, %s', unpack('H*', $content), $second || 'empty print';
        my $want = run_seq('', $content, $second);
        is_deeply(run_seq(':evloop', $content, $second), $want, ":evloop as :perlio ($case)");
        is_deeply(run_seq(':evloop:evline', $content, $second),
                  $want, ":evloop:evline as :perlio ($case)");
    }
}

# What :perlio does there, pinned, so the comparison above cannot pass on
# a :perlio that changed under it unnoticed.
my $perlio = run_seq('', "\n", '');
is($perlio->[2], 'layers pending', ':perlio: the first pushed-back byte is in a :pending');
is($perlio->[5], 'layers pending', ':perlio: so is the second, the EOF flag stayed up');
is($perlio->[8], 'rest undef', ':perlio: the seek dropped the :pending, the slurp is at EOF');
done_testing;
