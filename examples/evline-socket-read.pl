#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# :evloop:evline on a non-blocking socket: readline returns only whole
# lines; a partial line waits (undef, $! EAGAIN) until its newline arrives.
use v5.36;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Errno qw(EAGAIN);

socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
binmode($b, ':evloop:evline');
$b->blocking(0);

syswrite($a, "first line\nsecond ha");
my $line = <$b>;
print "got: $line";
$line = <$b>;
say "partial line held back: ", (!defined $line && $! == EAGAIN ? 'yes' : 'no');
syswrite($a, "lf\n");
$line = <$b>;
print "got: $line";
