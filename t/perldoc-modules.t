# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# `perldoc Linux::Event::Loop` works from the build tree: scripts/dev.sh
# installs Debian's perl-doc (without it perldoc is a stub that only says
# to install it), and perldoc renders the modules' POD.
use v5.36;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $top = abs_path($ENV{EVL_TOP_SRCDIR} // dirname(__FILE__) . '/..');

my $dev = do { open(my $fh, '<', "$top/scripts/dev.sh") or die "dev.sh: $!"; local $/; <$fh> };
my ($packages) = $dev =~ /^PACKAGES="([^"]*)"/m;
ok($packages, 'scripts/dev.sh lists its packages');
like($packages // '', qr/(?:^|\s)perl-doc(?:\s|$)/, 'and perl-doc is one of them');

my $stub = `perldoc -V 2>&1` // '';
SKIP: {
    skip 'perldoc is missing or a stub here (Debian: perl-doc; scripts/dev.sh installs it)', 5
        if $? != 0 || $stub =~ /install the perl-doc package/;

    # The blib the tests run from comes first on @INC.
    local $ENV{PERL5LIB} = join ':', map { abs_path($_) } grep { m{(?:\A|/)blib/(?:lib|arch)\z} } @INC;
    for my $mod (qw(Linux::Event Linux::Event::Loop Linux::Event::Fork
        Linux::Event::Fork::Exit PerlIO::evloop)) {
        my $text = `perldoc -T -t $mod 2>&1`;
        like($text, qr/^NAME\s+\Q$mod\E - /m, "perldoc $mod shows its POD");
    }
}

done_testing;
