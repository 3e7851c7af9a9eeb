#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The layer loads by itself on first use and stacks like a buffering layer.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempfile);

my ($tmp, $path) = tempfile(UNLINK => 1);
print $tmp "one\ntwo\n";
close $tmp;

ok(open(my $fh, "<:evloop", $path), "open <:evloop loads PerlIO::evloop") or diag $!;
ok($INC{'PerlIO/evloop.pm'}, 'PerlIO::evloop was required by the open');
is_deeply([PerlIO::get_layers($fh)], ['unix', 'evloop'], 'evloop sits on unix');
is(scalar(<$fh>), "one\n", 'first line');
is(scalar(<$fh>), "two\n", 'second line');
ok(eof($fh), 'eof after the last line');
ok(close($fh), 'close');
like($PerlIO::evloop::VERSION, qr/^\d+\.\d{3}$/, 'module version is a decimal Perl version');
done_testing;
