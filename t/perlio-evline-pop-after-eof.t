#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline asks :evloop for more while a partial line waits, so :evloop
# can meet EOF with bytes still in its buffer; once :evline is popped, a
# paragraph readline (which asks eof first) read them as under :perlio
# instead of returning undef.  Found by fuzz/layer.
use strict;
use warnings;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM);
use lib 't/lib';
use PerlIO::evloop;

my $data = ('z' x 40) . ' ' . ('z' x 300);
for my $layers ('', ':evloop:evline') {
    my $name = $layers || ':perlio';
    for my $rs ('', undef) {
        my $rsname = defined $rs ? 'paragraph' : 'slurp';
        socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
        syswrite($b, $data) == length $data or die "syswrite: $!";
        shutdown($b, 1) or die "shutdown: $!";
        binmode($a, $layers) or die "binmode $layers: $!" if $layers;
        my $rec = do { local $/ = \300; readline($a) };
        is(length $rec, 300, "$name/$rsname: a 300-byte record");
        if ($layers) {
            ok(binmode($a, ':pop'), "$name/$rsname: :evline popped");
            is(join(',', PerlIO::get_layers($a)), 'unix,evloop', "$name/$rsname: :evloop left");
        }
        my $rest = do { local $/ = $rs; readline($a) };
        is($rest, substr($data, 300), "$name/$rsname: the rest");
        ok(!defined do { local $/ = $rs; readline($a) }, "$name/$rsname: then EOF");
        ok(eof($a), "$name/$rsname: eof");
        close $a;
        close $b;
    }
}
done_testing;
