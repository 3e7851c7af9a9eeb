#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# One version everywhere: configure's, pkg-config's, evloop.h's macros, every
# module's $VERSION (as perl reads them), and the newest Changes entry all
# agree, and the version is above Linux::Event 0.010's, so that programs
# saying `use Linux::Event 0.010;` keep working.
use v5.36;
use Test::More;
use File::Find ();

my $src   = $ENV{EVL_TOP_SRCDIR}   or plan skip_all => 'EVL_TOP_SRCDIR unset: run through make check';
my $build = $ENV{EVL_TOP_BUILDDIR} or plan skip_all => 'EVL_TOP_BUILDDIR unset: run through make check';

sub slurp ($path) {
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

my ($version) = slurp("$src/configure.ac") =~ /^AC_INIT\(\[evloop\],\s*\[([^\]]+)\]/m;
ok(defined $version, "configure.ac's AC_INIT has a version") or BAIL_OUT('no version');
like($version, qr/\A\d+\.\d{3}\z/, "$version is a decimal Perl version (x.yyy)");
cmp_ok(version->parse($version), '>', version->parse('0.010'), 'above Linux::Event 0.010');

my ($pc) = slurp("$build/loop/evloop.pc") =~ /^Version:\s*(\S+)/m;
is($pc, $version, 'pkg-config Version');

my $h = slurp("$src/loop/evloop.h");
my %m = $h =~ /^#define EVL_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)/mg;
is(sprintf('%d.%03d', $m{MAJOR}, $m{MINOR}), $version, 'evloop.h EVL_VERSION_MAJOR.MINOR');
is($m{PATCH}, 0, 'evloop.h EVL_VERSION_PATCH');

my ($deb) = slurp("$src/debian/changelog") =~ /\Aevloop \(([^)-]+)-\d+\)/;
is($deb, $version, 'debian/changelog (upstream part)');

my ($changes) = slurp("$src/Changes") =~ /^(\d+\.\d+)\s/m;
is($changes, $version, 'the newest Changes entry');

# Each module's $VERSION as perl computes it, without running the module
# (the way ExtUtils::MakeMaker's parse_version reads it).
my @pm;
File::Find::find(sub { push @pm, $File::Find::name if /\.pm\z/ }, "$src/perlio/lib/Linux");
cmp_ok(scalar @pm, '>=', 30, 'found the Linux::Event modules');
for my $file (sort @pm) {
    my @v = slurp($file) =~ /^\s*our\s+\$VERSION\s*=\s*'([^']*)'/mg;
    ok(@v >= 1, "$file sets \$VERSION") or next;
    is($_, $version, "$file \$VERSION") for @v;
}
require PerlIO::evloop;
is($PerlIO::evloop::VERSION, $version, 'PerlIO::evloop (the XS module) $VERSION');
require Linux::Event;
ok(eval { Linux::Event->VERSION('0.010'); 1 }, 'use Linux::Event 0.010 still works') or diag $@;

done_testing;
