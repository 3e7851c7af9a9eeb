#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Internal::carp_not is the one list of evloop's packages that
# every module's @CARP_NOT comes from: each package the distribution
# declares is on it (a package left off would make croaks passing through
# it name a line inside evloop), and each module that croaks takes its
# @CARP_NOT from the list rather than a copy of it.
use v5.36;
use Test::More;
use File::Find ();

my $src = $ENV{EVL_TOP_SRCDIR} or plan skip_all => 'EVL_TOP_SRCDIR unset: run through make check';

use Linux::Event::Internal ();
my %listed = map { $_ => 1 } Linux::Event::Internal::carp_not();

my @pm;
File::Find::find(sub { push @pm, $File::Find::name if /\.pm(?:\.in)?\z/ },
    "$src/perlio/lib/Linux", "$src/perlio/lib/PerlIO");
# PerlIO/evloop.pm is generated from evloop.pm.in in a build in the source tree.
@pm = grep { !(/\.pm\z/ && -e "$_.in") } @pm;
cmp_ok(scalar @pm, '>', 30, 'found the modules under perlio/lib') or BAIL_OUT('no modules');

for my $path (sort @pm) {
    open my $fh, '<', $path or die "$path: $!";
    my $text = do { local $/; <$fh> };
    my $name = $path =~ s{\A\Q$src\E/}{}r;
    for my $pkg ($text =~ /^package\s+([\w:]+)\s*;/mg) {
        ok($listed{$pkg}, "$name: package $pkg is in carp_not()");
    }
    next if $name =~ m{/Internal\.pm\z} || $text !~ /\bcroak\b/;
    like($text, qr/^our \@CARP_NOT = Linux::Event::Internal::carp_not\(\);$/m,
        "$name sets \@CARP_NOT from carp_not()");
    unlike($text, qr/^our \@CARP_NOT = qw/m, "$name has no copy of the list");
}

# Packages that live in XS only (no .pm declares them) are on the list too.
ok($listed{$_}, "$_ is in carp_not()") for qw(Linux::Event::Fork::XS);

done_testing;
