#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every C example of docs/c-api.md (a ```c block after a line
# "<!-- example: NAME -->") compiles against the build tree, runs, exits 0
# and prints exactly what its leading comment says after "Prints:" (lines
# " *     text"), so the guide cannot drift from the headers.  Every
# complete program of docs/perl-guide.md (a ```perl block that starts with
# "use v5.36;") runs and exits 0.
use v5.36;
use Test::More;
use File::Temp ();
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = $ENV{EVL_TOP_BUILDDIR}
    or plan skip_all => 'EVL_TOP_BUILDDIR unset: run through make check';
my $src = abs_path($ENV{srcdir} // dirname(__FILE__) . '/..');
my $cc = $ENV{CC} || 'cc';

open my $fh, '<', "$src/docs/c-api.md" or die "docs/c-api.md: $!";
my $doc = do { local $/; <$fh> };
close $fh;

my %examples;
while ($doc =~ /^<!-- example: ([\w-]+) -->\n```c\n(.*?)^```$/msg) {
    ok(!exists $examples{$1}, "example $1 appears once");
    $examples{$1} = $2;
}
is_deeply([sort keys %examples], [qw(evloop-fork evloop-perlio libevloop)],
    'one example for each library');

my $dir = File::Temp::tempdir('evl-docs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @inc = map { "-I$src/$_" } qw(loop fork perlio);
my $libevloop = "-L$top/loop/.libs -levloop -Wl,-rpath,$top/loop/.libs";
# A sanitizer build's libraries pull in libasan after the program's libc.
local $ENV{ASAN_OPTIONS} = 'verify_asan_link_order=0:detect_leaks=0';

for my $name (sort keys %examples) {
    my $code = $examples{$name};
    my ($prints) = $code =~ m{^ \* Prints:\n((?: \*     .*\n)+)}m;
    ok(defined $prints, "$name: states its output") or next;
    (my $want = $prints) =~ s/^ \*     //mg;

    my ($cflags, $libs) = ("-Werror", $libevloop);
    if ($name eq 'evloop-perlio') {
        chomp(my $ccopts = `$^X -MExtUtils::Embed -e ccopts`);
        chomp(my $ldopts = `$^X -MExtUtils::Embed -e ldopts`);
        $cflags = $ccopts;
        $libs = "-L$top/perlio/.libs -levloop-perlio -Wl,-rpath,$top/perlio/.libs "
            . "$libevloop $ldopts";
    }
    my $c = "$dir/$name.c";
    open my $out, '>', $c or die "$c: $!";
    print $out $code;
    close $out;
    my $log = `$cc -Wall $cflags @inc -o '$dir/$name' '$c' $libs 2>&1`;
    is($?, 0, "$name: compiles and links") or do { diag $log; next };
    my $got = `timeout 60 '$dir/$name' 2>&1`;
    is($?, 0, "$name: exits 0");
    is($got, $want, "$name: prints what the guide says");
}

# The Perl guide's programs, against the build tree (the blib dirs this
# test runs with).
open $fh, '<', "$src/docs/perl-guide.md" or die "docs/perl-guide.md: $!";
my $guide = do { local $/; <$fh> };
close $fh;
my @programs = $guide =~ /^```perl\n(use v5\.36;\n.*?)^```$/msg;
ok(@programs >= 5, 'the Perl guide has complete programs');
my @blib = map { "-I$_" } grep { m{blib} } @INC;
require lib;
lib->import("$src/t/lib");
require EvlTest;
for my $i (0 .. $#programs) {
    my $code = $programs[$i];
    SKIP: {
        skip 'io_uring unavailable', 1
            if $code =~ /proactor/ && !EvlTest::has('uring');
        my $pl = "$dir/guide-$i.pl";
        open my $out, '>', $pl or die "$pl: $!";
        print $out $code;
        close $out;
        my $got = `timeout 60 $^X @blib '$pl' 2>&1`;
        is($?, 0, "perl-guide program $i runs") or diag "$code\n---\n$got";
    }
}

done_testing;
