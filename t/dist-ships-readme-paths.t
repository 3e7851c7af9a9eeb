#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# The tarball has every file README.md tells its reader about: each
# repository path README names (in `code`, a code block or a link target)
# that git tracks is in the file list `make distdir` produces, so a reader
# of an unpacked `make dist` can run `bench/run-perlio.sh` as README says.
# Runs only in a git checkout (the list of what should be there is git's).
use v5.36;
use Test::More;
use File::Temp ();
use File::Find ();

my $top = $ENV{EVL_TOP_BUILDDIR}
    or plan skip_all => 'EVL_TOP_BUILDDIR unset: run through make check';
my $src  = $ENV{EVL_TOP_SRCDIR} // $top;
my $make = $ENV{EVL_MAKE} || 'make';

my @tracked = split /\0/, `git -C '$src' ls-files -z 2>/dev/null`;
plan skip_all => 'not a git checkout (a tarball build): nothing to compare with'
    if $? != 0 || !@tracked;
my %tracked_file = map { $_ => 1 } @tracked;
my %tracked_dir;
for my $f (@tracked) {
    my $dir = $f;
    $tracked_dir{$dir} = 1 while $dir =~ s{/[^/]+\z}{};
}

# The paths README names: words of code spans, code blocks and link targets.
open(my $fh, '<', "$src/README.md") or die "README.md: $!";
my $readme = do { local $/; <$fh> };
my @spans;
push @spans, $1 while $readme =~ /```[^\n]*\n(.*?)```/sg;
push @spans, $1 while $readme =~ /^(?: {4}|\t)(.+)$/mg;
push @spans, $1 while $readme =~ /(?<!`)`([^`\n]+)`(?!`)/g;
push @spans, $1 while $readme =~ /\]\(([^)\s]+)\)/g;
my %named;
for my $word (map { split /[\s,;()\[\]"'=<>|]+/ } @spans) {
    $word =~ s{\A\./}{};
    $word =~ s{[.:]+\z}{};
    next if $word !~ m{[/.]} || $word =~ m{\A(?:\.\./|/)};
    (my $dir = $word) =~ s{/+\z}{};
    $named{$word} = 'file' if $tracked_file{$word};
    $named{"$dir/"} = 'dir' if $tracked_dir{$dir};
}
cmp_ok(scalar keys %named, '>=', 10, 'README names repository paths')
    or diag explain [sort keys %named];

# What `make distdir` puts in the tarball, in a temporary directory.
# A nested make must not join the outer make's jobserver or inherit -k/-n.
local $ENV{MAKEFLAGS} = '';
local $ENV{MFLAGS}    = '';
my $tmp     = File::Temp::tempdir('evl-distdir-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $distdir = "$tmp/dist";
my $out     = `$make -s -C '$top' distdir distdir='$distdir' 2>&1`;
is($?, 0, 'make distdir succeeds') or diag $out;
my (%dist_file, %dist_dir);
File::Find::find(
    sub {
        (my $rel = $File::Find::name) =~ s{\A\Q$distdir\E/?}{};
        return if $rel eq '';
        if   (-d $_) { $dist_dir{$rel}  = 1 }
        else         { $dist_file{$rel} = 1 }
    },
    $distdir
);

for my $path (sort keys %named) {
    if ($named{$path} eq 'file') {
        ok($dist_file{$path}, "README names $path: it is in the tarball");
    } else {
        (my $dir = $path) =~ s{/\z}{};
        ok($dist_dir{$dir}, "README names $path: the tarball has that directory");
    }
}

done_testing;
