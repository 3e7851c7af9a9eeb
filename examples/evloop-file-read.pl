#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The :evloop layer on a plain file: readline, read and print behave as
# under :perlio, over libevloop's stream buffer.
use v5.36;
use File::Temp ();

my ($out, $path) = File::Temp::tempfile(UNLINK => 1);
binmode($out, ':evloop');
print $out "line $_\n" for 1 .. 5;
close $out or die "close: $!";

open(my $in, '<:evloop', $path) or die "open: $!";    # loads PerlIO::evloop
while (my $line = <$in>) {
    print "read: $line";
}
say "layers: ", join(' ', PerlIO::get_layers($in));
close $in;
