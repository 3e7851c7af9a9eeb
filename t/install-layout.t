#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# `make install DESTDIR=...` puts every piece where its user looks: the Perl
# modules in a directory of perl's @INC (for the default prefix and for
# --prefix=/usr), a man page per module that man(1) finds by module name,
# and a libevloop that a C program builds against through pkg-config.
# `make uninstall` then removes every file it installed.
use v5.36;
use Test::More;
use File::Temp ();
use File::Find ();
use Config;

my $top = $ENV{EVL_TOP_BUILDDIR}
    or plan skip_all => 'EVL_TOP_BUILDDIR unset: run through make check';
my $make = $ENV{EVL_MAKE} || 'make';
my $dest = File::Temp::tempdir('evl-install-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub installed_files () {
    my @f;
    File::Find::find(sub { push @f, $File::Find::name if -f || -l }, $dest);
    return sort @f;
}

# A nested make must not join the outer make's jobserver or inherit -k/-n.
local $ENV{MAKEFLAGS} = '';
local $ENV{MFLAGS}    = '';
my $out = `$make -s -C '$top' install DESTDIR='$dest' 2>&1`;
is($?, 0, 'make install DESTDIR succeeds') or diag $out;

my @files = installed_files();
my ($pc) = grep { m{/pkgconfig/evloop\.pc\z} } @files;
ok($pc, 'evloop.pc installed') or BAIL_OUT('no evloop.pc');
my %pcvar = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } do { open my $fh, "<", $pc or die $!; <$fh> };
my $prefix = $pcvar{prefix};

# The Perl modules: Linux/Event.pm and the XS object side by side.
my ($event_pm) = grep { m{/Linux/Event\.pm\z} } @files;
ok($event_pm, 'Linux/Event.pm installed') or BAIL_OUT('no Linux/Event.pm');
(my $archdir = $event_pm) =~ s{/Linux/Event\.pm\z}{};
ok(-f "$archdir/auto/PerlIO/evloop/evloop.$Config{dlext}", 'XS object beside the modules');
ok(!-e "$archdir/auto/PerlIO/evloop/evloop.la", 'no libtool .la in perl\'s tree');
(my $live_archdir = $archdir) =~ s{\A\Q$dest\E}{};
SKIP: {
    skip "prefix $prefix is not one perl searches (e.g. make distcheck)", 1
        unless $prefix eq '/usr/local' || $prefix eq '/usr';
    ok((grep { $_ eq $live_archdir } @INC), "$live_archdir is in perl's \@INC");
}

# The installed modules load and run from that directory alone.
my $perl_out = `$^X -I'$archdir' -MLinux::Event -e 'my \$l = Linux::Event->new; my \$n = 0; \$l->after(0, sub { \$n++; \$l->stop }); \$l->run; print "\$n \$INC{q(Linux/Event.pm)}\\n"' 2>&1`;
like($perl_out, qr{\A1 \Q$archdir\E/Linux/Event\.pm$}, 'an installed program runs a loop')
    or diag $perl_out;

# Man pages: one per module, named so that `man Linux::Event::Loop` finds it.
for my $mod (qw(Linux::Event Linux::Event::Loop Linux::Event::Stream PerlIO::evloop
    Linux::Event::Fork)) {
    my ($page) = grep { m{/man3/\Q$mod\E\.3pm\z} } @files;
    ok($page, "man page for $mod") or next;
    open my $fh, '<', $page or die $!;
    my $text = do { local $/; <$fh> };
    like($text, qr/^\.TH "?\Q$mod\E"? 3pm/m, "$mod page has its title in section 3pm");
}
my $npm = () = grep { m{\.pm\z} } @files;
my $nman = () = grep { m{\.3pm\z} } @files;
is($nman, $npm, 'as many man pages as installed modules');

# A C program built with pkg-config against the installed libevloop.
SKIP: {
    my $cc = $ENV{CC} || 'cc';
    skip 'pkg-config not installed', 3 unless `pkg-config --version 2>/dev/null`;
    my $pcdir = $pc =~ s{/evloop\.pc\z}{}r;
    local $ENV{PKG_CONFIG_PATH}       = $pcdir;
    local $ENV{PKG_CONFIG_SYSROOT_DIR} = $dest;
    my $flags = `pkg-config --cflags --libs evloop 2>&1`;
    is($?, 0, 'pkg-config knows evloop') or diag $flags;
    chomp $flags;
    my $src = "$dest/prog.c";
    open my $c, '>', $src or die $!;
    print $c <<'C';
#include <evloop.h>
#include <stdio.h>
static int fired;
static void on_timer(evl_timer *t) { (void)t; fired++; }
int main(void)
{
    evl_loop *loop;
    evl_timer t;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0 || evl_timer_init(loop, &t) < 0 ||
        evl_timer_start(&t, on_timer, 1000, 0) < 0)
        return 1;
    while (!fired)
        if (evl_loop_run_once(loop, -1) < 0)
            return 2;
    evl_loop_free(loop);
    printf("fired %d\n", fired);
    return 0;
}
C
    close $c;
    my $cout = `$cc -o '$dest/prog' '$src' $flags 2>&1`;
    is($?, 0, 'the program compiles and links') or diag $cout;
    chomp(my $libdir = `pkg-config --variable=libdir evloop`);
    local $ENV{LD_LIBRARY_PATH} = $libdir;    # the sysroot is already in it
    # A sanitizer build's library pulls in libasan after the program's libc.
    local $ENV{ASAN_OPTIONS} = 'verify_asan_link_order=0:detect_leaks=0';
    is(`'$dest/prog' 2>&1`, "fired 1\n", 'and runs on the installed library');
    unlink "$dest/prog", $src;
}

$out = `$make -s -C '$top' uninstall DESTDIR='$dest' 2>&1`;
is($?, 0, 'make uninstall succeeds') or diag $out;
is_deeply([installed_files()], [], 'make uninstall leaves no file behind');

done_testing;
