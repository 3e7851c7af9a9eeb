#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# open with "-|:evloop" and "|-:evloop" and a command list.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use EvlTest qw(temp_path read_all_raw);

{
    ok(open(my $fh, '-|:evloop', $^X, '-e', 'print "one\ntwo\n"; print "x" x 20000, "\n"; print "tail"'),
       'open -|:evloop with a list');
    is_deeply([PerlIO::get_layers($fh)], ['unix', 'evloop'], 'layers: unix evloop');
    is(scalar <$fh>, "one\n", 'first line');
    is(scalar <$fh>, "two\n", 'second line');
    is(length(scalar <$fh>), 20001, 'a long line across fills');
    is(scalar <$fh>, 'tail', 'the tail');
    ok(eof($fh), 'eof');
    ok(close($fh), 'close returns true');
    is($?, 0, 'exit status 0');
}
{
    open(my $fh, '-|:evloop', $^X, '-e', 'print "bye\n"; exit 3') or die $!;
    is(scalar <$fh>, "bye\n", 'output of a failing command');
    ok(!close($fh), 'close returns false for a non-zero exit');
    is($? >> 8, 3, 'exit status 3 in $?');
}
{
    my $out = temp_path();
    ok(open(my $fh, '|-:evloop', $^X, '-e',
            'open my $o, ">", shift or die; print {$o} uc while <STDIN>', $out),
       'open |-:evloop with a list');
    is_deeply([PerlIO::get_layers($fh, output => 1)], ['unix', 'evloop'], 'layers: unix evloop');
    print {$fh} "line $_\n" for 1 .. 5000;
    printf {$fh} "%s\n", 'last';
    ok(close($fh), 'close waits for the child and returns true');
    is(read_all_raw($out), join('', map { "LINE $_\n" } 1 .. 5000) . "LAST\n", 'the child got every line');
}
{
    ok(open(my $fh, '-|:evloop:evline', $^X, '-e', '$|=1; print "a\nb"'), 'open -|:evloop:evline');
    is_deeply([PerlIO::get_layers($fh)], ['unix', 'evloop', 'evline'], 'layers: unix evloop evline');
    is(join('|', <$fh>), "a\n|b", 'lines then the tail');
    close $fh;
}
done_testing;
