#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Taking :evline off (binmode ':pop') and putting it back leaves :evloop
# as a handle without :evline has it: the flush binmode does first no
# longer gives :evloop's read-ahead back, which left its buffer idle, so
# an ungetc went into the buffer instead of a :pending as under :perlio,
# and the next :pop of :evline seeked over the pushed-back byte.  Found by
# fuzz/layer.
use v5.36;
use Test::More;
use IO::Handle;
use lib 't/lib';
use EvlTest qw(temp_path);
use PerlIO::evloop;

my $path = temp_path();
open(my $init, '>:raw', $path) or die "$path: $!";
print $init "abwordword";
close $init;

# Whether the top layer is the buffer layer (:evline comes off and on
# only then; over a :pending the :perlio run has nothing to compare).
sub toggle ($fh) {
    my @l = PerlIO::get_layers($fh);
    return 1 if $l[-1] eq 'perlio' || $l[-1] eq 'pending';
    binmode($fh, ':evline') or return 0 if $l[-1] eq 'evloop';
    return binmode($fh, ':pop');
}

for my $layers ('', ':evloop:evline') {
    my $name = $layers || ':perlio';
    open(my $fh, "<$layers", $path) or die "open $layers: $!";
    is(scalar readline($fh), 'abwordword', "$name: the line");
    ok(!$fh->flush, "$name: flush on a read-only handle fails (IO::Handle)");
    ok(toggle($fh), "$name: :evline off");
    ok($fh->ungetc(255), "$name: ungetc");
    my @want = ('unix', $layers ? 'evloop' : 'perlio', 'pending');
    is(join(',', PerlIO::get_layers($fh)), join(',', @want),
       "$name: the byte is in a :pending, the buffer has no room after EOF");
    ok(toggle($fh), "$name: :evline on and off again, if it can be");
    is(scalar readline($fh), chr(255), "$name: the pushed-back byte reads back");
    ok(!defined readline($fh), "$name: then EOF");
    close $fh;
}

for my $layers ('', ':evloop') {
    my $name = $layers || ':perlio';
    open(my $fh, "<$layers", $path) or die "open $layers: $!";
    ok($fh->ungetc(255), "$name: ungetc before any read");
    is(join(',', PerlIO::get_layers($fh)), join(',', 'unix', $layers ? 'evloop' : 'perlio'),
       "$name: into the idle buffer");
    ok(toggle($fh), "$name: :evline on") if $layers;
    ok(toggle($fh), "$name: and off again") if $layers;
    is(join(',', PerlIO::get_layers($fh)), join(',', 'unix', $layers ? 'evloop' : 'perlio'),
       "$name: layers as before");
    is(scalar getc($fh), chr(255), "$name: the pushed-back byte reads first");
    is(scalar readline($fh), 'abwordword', "$name: then the file");
    close $fh;
}
done_testing;
