#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline over a read-write file: a truncate that grows the file after a
# read reached its end (flushing gives the unread tail back to the file)
# leaves the tail and the new bytes readable, as under :perlio.  Found by
# fuzz/layer: :evline read nothing more (:evloop's EOF flag was stale).
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use EvlTest qw(temp_path);

my $path = temp_path();
for my $layers ('', ':evloop', ':evloop:evline') {
    open(my $init, '>:raw', $path) or die "$path: $!";
    print $init "line\nno newline at the end";
    close $init;
    open(my $fh, "+<$layers", $path) or die "open $layers: $!";
    {
        local $/ = \7;
        is(scalar readline($fh), "line\nno", ($layers || ':perlio') . ': a 7-byte record');
    }
    ok(truncate($fh, 40), 'truncate grows the file');
    local $/;
    is(scalar readline($fh), " newline at the end" . ("\0" x 14),
       ($layers || ':perlio') . ': the tail and the new bytes read after the truncate');
    ok(close($fh), 'close');
}
done_testing;
