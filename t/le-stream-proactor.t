#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# t/le-stream.t on a proactor loop: a Stream drives the :evloop layer's
# stream there too (reads and writes are operations).
use v5.36;
$ENV{LE_STREAM_MODEL} = 'proactor';
my $t = __FILE__ =~ s/le-stream-proactor\.t\z/le-stream.t/r;
do "./$t" // do { die $@ if $@; die "$t: $!" };
