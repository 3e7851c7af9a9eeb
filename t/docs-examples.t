#!/usr/bin/perl
# Every C example of docs/c-api.md (a ```c block after a line
# "<!-- example: NAME -->") compiles against the build tree, runs, exits 0
# and prints exactly what its leading comment says after "Prints:" (lines
# " *     text"), so the guide cannot drift from the headers.
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

done_testing;
