#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evline: ungetc when :evloop's buffer has no room in front (after a read
# met EOF) reads back as under :perlio, and :evline stays on :evloop (the
# pushed-back byte's :pending layer goes over :evline, not between the
# two, where :evline read it as :evloop's buffer); after a fixed-record
# read met EOF (:evloop's buffer idle then, as :perlio's) the byte goes
# into the buffer, as under :perlio, and a seek to the current position
# lands in front of it.  Found by fuzz/layer.
use strict;
use warnings;
use Test::More;
use IO::Handle;
use lib 't/lib';
use EvlTest qw(temp_path);

my $path = temp_path();
for my $layers ('', ':evloop', ':evloop:evline') {
    my $name = $layers || ':perlio';
    open(my $init, '>:raw', $path) or die "$path: $!";
    print $init "one\ntwo\n";
    close $init;
    open(my $fh, "<$layers", $path) or die "open $layers: $!";
    my @lines = readline($fh);
    is(scalar @lines, 2, "$name: read to EOF");
    ok($fh->ungetc(ord 'A'), "$name: ungetc");
    ok($fh->ungetc(ord "\n"), "$name: ungetc again");
    my @want = ('unix', $layers ? ('evloop', $layers =~ /evline/ ? 'evline' : ()) : 'perlio');
    is(join(',', PerlIO::get_layers($fh)), join(',', @want, 'pending'),
       "$name: the pushed-back bytes sit on top of the layers as opened");
    is(scalar readline($fh), "\n", "$name: the last byte pushed back reads first");
    is(scalar readline($fh), "A", "$name: then the first");
    ok(!defined readline($fh), "$name: then EOF");
    ok(close($fh), "$name: close");
}
for my $layers ('', ':evloop', ':evloop:evline') {
    my $name = $layers || ':perlio';
    open(my $init, '>:raw', $path) or die "$path: $!";
    print $init "one\ntwo\n";
    close $init;
    open(my $fh, "+<$layers", $path) or die "open $layers: $!";
    my @lines = readline($fh);
    {
        local $/ = \2;
        ok(!defined readline($fh), "$name: a 2-byte record at EOF is undef");
    }
    ok($fh->ungetc(ord 'A'), "$name: ungetc");
    is(join(',', PerlIO::get_layers($fh)), join(',', 'unix', $layers ? ('evloop', $layers =~ /evline/ ? 'evline' : ()) : 'perlio'),
       "$name: the byte went into the buffer (no :pending)");
    ok(seek($fh, 0, 1), "$name: seek to the current position");
    is(tell($fh), 7, "$name: which is in front of the pushed-back byte");
    print {$fh} "X";
    ok(close($fh), "$name: close");
    open(my $r, '<:raw', $path) or die;
    is(do { local $/; <$r> }, "one\ntwoX", "$name: the write replaced the last byte");
}
done_testing;
