#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Every Perl module, test helper and example is perltidy-clean and has no
# perlcritic violation under the settings checked in at the top of the tree
# (.perltidyrc, .perlcriticrc).  Skips only when Perl::Tidy or Perl::Critic
# is missing (Debian: perltidy, libperl-critic-perl; scripts/dev.sh installs
# them).
#
# Checking every file takes perltidy and perlcritic several seconds, so a
# file that passed is remembered in t/style.cache (in the build tree) under
# a digest of its path, its text, both settings files and both tools'
# versions: only a changed file is checked again, and a failure is never
# remembered.
use v5.36;
use Test::More;
use File::Basename qw(dirname);
use File::Find qw(find);
use Cwd qw(abs_path);
use Digest::MD5 qw(md5_hex);

my $top = abs_path($ENV{srcdir} // dirname(__FILE__) . '/..');

# The generated PerlIO/evloop.pm is checked through its template.
my @files;
find(
    {
        no_chdir => 1,
        wanted   => sub { push @files, $_ if /\.pm(?:\.in)?\z/ && !m{/PerlIO/evloop\.pm\z} },
    },
    "$top/perlio/lib"
);
push @files, glob("$top/t/lib/*.pm"), glob("$top/examples/*.pl"), "$top/t/style.t";
@files = sort @files;

for my $mod (qw(Perl::Tidy Perl::Critic)) {
    plan skip_all => "$mod is not installed (Debian: perltidy, libperl-critic-perl)"
        unless eval "require $mod; 1";    ## no critic (ProhibitStringyEval)
}

ok(@files >= 40, 'found the Perl files') or diag "only: @files";

sub slurp ($path) {
    open(my $fh, '<:raw', $path) or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# .perltidyrc is passed as arguments: the same options, but given a profile
# file perltidy reads and expands it again on every call (80 ms a file).
my $tidyrc     = slurp("$top/.perltidyrc");
my $tidy_argv  = join ' ', '-npro', grep { !/\A\s*(?:#|\z)/ } split /\n/, $tidyrc;
my $versions   = "$Perl::Tidy::VERSION $Perl::Critic::VERSION";
my $settings   = md5_hex(join "\0", $tidyrc, slurp("$top/.perlcriticrc"), $versions);
my $cache_file = -d 't' ? 't/style.cache' : undef;
my %passed;
if ($cache_file && open(my $fh, '<', $cache_file)) {
    %passed = map { chomp; ($_ => 1) } <$fh>;
}
my @now_passed;

my $critic;
for my $file (@files) {
    (my $name = $file) =~ s{\A\Q$top\E/}{};
    my $src = slurp($file);
    my $key = md5_hex(join "\0", $settings, $name, $src);
    if ($passed{$key}) {
        pass("perltidy- and perlcritic-clean: $name (unchanged since it passed)");
        push @now_passed, $key;
        next;
    }

    my ($tidy, $err) = ('', '');
    my $failed = Perl::Tidy::perltidy(
        source      => \$src,
        destination => \$tidy,
        stderr      => \$err,
        errorfile   => \$err,
        argv        => $tidy_argv,
    );
    my $tidy_ok = !$failed && $tidy eq $src;
    my $how     = $err || "run: perltidy --profile=.perltidyrc -b -bext=/ $name";
    ok($tidy_ok, "perltidy-clean: $name") or diag $how;

    # A template has no file name perlcritic could match its package to.
    if (!$critic) {
        $critic = Perl::Critic->new(-profile => "$top/.perlcriticrc");
        Perl::Critic::Violation::set_format("%l:%c: %m (%p)\n");
    }
    my @v = $critic->critique($file =~ /\.in\z/ ? \$src : $file);
    ok(!@v, "perlcritic-clean: $name") or diag map { "$name:$_" } @v;

    push @now_passed, $key if $tidy_ok && !@v;
}

if ($cache_file && open(my $fh, '>', $cache_file)) {
    print $fh map { "$_\n" } @now_passed;
    close $fh;
}

done_testing;
