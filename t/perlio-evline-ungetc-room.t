#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline's ungetc puts the bytes where :perlio's would: into :evloop's
# buffer when PerlIOBuf_unread would find room there, else into a
# :pending over :evline, and the handle's EOF flag comes down only with
# bytes in the buffer.  Each sequence runs over :perlio, :evloop and
# :evloop:evline and must see the same.  Both were found by fuzz/layer.
#
# After a paragraph readline met EOF.  An ungetc that goes wholly into a
# :pending (no room in front after a read met EOF) leaves the EOF flag
# up, as PerlIOBuf_unread does.  :evline used to take it down anyway, so
# a paragraph readline, once it had read the pushed-back newline, asked
# :evloop for more instead of stopping at PerlIO_eof; that fill left
# :evloop's buffer idle, the next ungetc went into it rather than into a
# :pending, and a seek to the current position then went back over the
# byte where :perlio's drops the :pending and keeps its place.
#
# With writes queued.  :perlio's unread flushes them first and then has
# the whole (idle) buffer to offer.  :evline judged the room before that
# flush, by what an earlier read at EOF had left (no room in front), and
# put the byte in a :pending; a seek then dropped it without moving back.
use v5.36;
use Test::More;
use IO::Handle;
use Fcntl qw(SEEK_CUR);
use lib 't/lib';
use EvlTest qw(temp_path);
use PerlIO::evloop;

my $path = temp_path();

# $content in a new file, opened '+<' over $layers.
sub open_with ($layers, $content) {
    open(my $init, '>:raw', $path) or die "$path: $!";
    print $init $content;
    close $init;
    open(my $fh, "+<$layers", $path) or die "open $layers: $!";
    return $fh;
}

# After a paragraph readline met EOF: file; slurp; ungetc 10; paragraph
# readline; ungetc 0; seek; print; slurp.  Returns what it saw, step by
# step.
sub para_eof_seq ($layers, $content, $second) {
    my $fh = open_with($layers, $content);
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
    my $printed = print {$fh} $second eq 'print' ? 'P' : '';
    push @seen, 'print ' . ($printed ? 1 : 0);
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
        my $want = para_eof_seq('', $content, $second);
        is_deeply(para_eof_seq(':evloop', $content, $second), $want, ":evloop as :perlio ($case)");
        is_deeply(para_eof_seq(':evloop:evline', $content, $second),
            $want, ":evloop:evline as :perlio ($case)");
    }
}

# What :perlio does there, pinned, so the comparison above cannot pass on
# a :perlio that changed under it unnoticed.
my $perlio = para_eof_seq('', "\n", '');
is($perlio->[2], 'layers pending', ':perlio: the first pushed-back byte is in a :pending');
is($perlio->[5], 'layers pending', ':perlio: so is the second, the EOF flag stayed up');
is($perlio->[8], 'rest undef', ':perlio: the seek dropped the :pending, the slurp is at EOF');

# With writes queued: read to EOF, print (with or without a seek first),
# ungetc, seek to the current position, slurp.
sub queued_write_seq ($layers, $content, $seek_before_print) {
    my $fh = open_with($layers, $content);
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
        my $want = queued_write_seq('', $content, $seek);
        is_deeply(queued_write_seq(':evloop', $content, $seek), $want,
            ":evloop as :perlio ($case)");
        is_deeply(queued_write_seq(':evloop:evline', $content, $seek),
            $want, ":evloop:evline as :perlio ($case)");
    }
}

# :perlio there, pinned: the byte went into the buffer, and the seek
# gave it back, landing on the print's last byte.
$perlio = queued_write_seq('', '', 0);
is($perlio->[3], 'pending 0', ':perlio: no :pending, the buffer took the byte');
is($perlio->[5], 'tell 2000', ':perlio: the seek went back over it');
is($perlio->[6], 'rest Q', ':perlio: and reads the last byte printed');
done_testing;
