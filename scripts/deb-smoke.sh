#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# scripts/deb-smoke.sh - installs the Debian packages that `scripts/dev.sh
# deb` built, uses them from outside the source tree as a user would, and
# purges them again.
#
#   scripts/deb-smoke.sh [DIR]     DIR: where the .debs are (default
#                                  $EVL_DEB_DIR, else ${TMPDIR:-/tmp}/evloop-deb)
#
# Checks, printed as TAP ("ok N - ..."; exit 1 when any failed):
#   - apt-get installs libevloop0, libevloop-dev and liblinux-event-perl;
#   - perl -MLinux::Event runs a timer, loading the module from perl's
#     vendor tree; perl -MPerlIO::evloop reads a file through :evloop;
#   - man finds Linux::Event::Loop (3pm);
#   - a C program built with `pkg-config --cflags --libs evloop` runs a
#     timer on a loop and links the installed libevloop.so.0;
#   - apt-get purge removes the packages and every file they installed.
# It installs into this machine's /usr (as root, or through sudo), and
# purges on every exit, also after a failed check.
set -uo pipefail

dir=${1:-${EVL_DEB_DIR:-${TMPDIR:-/tmp}/evloop-deb}}
PKGS=(libevloop0 libevloop-dev liblinux-event-perl)
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

n=0
failed=0
ok() {      # ok STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}

debs=()
for p in "${PKGS[@]}"; do
    f=("$dir/${p}_"*.deb)
    [ -f "${f[-1]}" ] || { echo "deb-smoke: no ${p}_*.deb in $dir (run scripts/dev.sh deb)" >&2; exit 1; }
    debs+=("${f[-1]}")
done

# Outside the tree, with nothing of a build tree in perl's or pkg-config's
# search paths: only the installed packages can answer.
work=$(mktemp -d "${TMPDIR:-/tmp}/evl-deb-smoke.XXXXXX")
purge() {
    $sudo apt-get purge -y -qq "${PKGS[@]}" >/dev/null 2>&1
    rm -rf "$work"
}
trap purge EXIT
cd "$work" || exit 1
unset PERL5LIB PERL5OPT PERLLIB PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# A leftover of an earlier run would hide a broken install.
$sudo apt-get purge -y -qq "${PKGS[@]}" >/dev/null 2>&1

out=$($sudo apt-get install -y -qq --no-install-recommends "${debs[@]}" 2>&1)
st=$?
ok $st "apt-get install ${debs[*]##*/}"
[ $st -eq 0 ] || { echo "$out" | sed 's/^/# /'; exit 1; }
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"
    ok $? "$p is installed"
done

vendorarch=$(perl -MConfig -e 'print $Config{vendorarch}')
out=$(perl -MLinux::Event -e '
    my $loop = Linux::Event->new;
    my $fired = 0;
    $loop->after(0.01, sub { $fired++; $loop->stop });
    $loop->run;
    print "$fired $INC{q(Linux/Event.pm)}\n";' 2>&1)
[ "$out" = "1 $vendorarch/Linux/Event.pm" ]
ok $? "perl -MLinux::Event runs a timer from $vendorarch"
[ "$out" = "1 $vendorarch/Linux/Event.pm" ] || echo "# got: $out"

printf 'one\ntwo\n' > data.txt
out=$(perl -MPerlIO::evloop -e '
    open(my $fh, "<:evloop", "data.txt") or die "open: $!";
    my @lines = <$fh>;
    my @layers = PerlIO::get_layers($fh);
    close $fh or die "close: $!";
    print scalar(@lines), " ", (grep({ $_ eq "evloop" } @layers) ? "evloop" : "-"),
        " $INC{q(PerlIO/evloop.pm)}\n";' 2>&1)
[ "$out" = "2 evloop $vendorarch/PerlIO/evloop.pm" ]
ok $? "perl -MPerlIO::evloop reads a file through :evloop"
[ "$out" = "2 evloop $vendorarch/PerlIO/evloop.pm" ] || echo "# got: $out"

# Docker-style images tell dpkg to skip /usr/share/man (path-exclude):
# then the page can only be checked in the package itself.
man_deb=${debs[2]}
if grep -qs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/* 2>/dev/null; then
    dpkg-deb -c "$man_deb" | grep -q '/usr/share/man/man3/Linux::Event::Loop\.3pm\.gz$'
    ok $? "Linux::Event::Loop.3pm is in ${man_deb##*/} (dpkg excludes /usr/share/man here)"
elif command -v man >/dev/null; then
    out=$(man -w Linux::Event::Loop 2>&1)
    [ "$out" = /usr/share/man/man3/Linux::Event::Loop.3pm.gz ]
    ok $? "man -w Linux::Event::Loop finds the installed page"
    [ "$out" = /usr/share/man/man3/Linux::Event::Loop.3pm.gz ] || echo "# got: $out"
else
    [ -f /usr/share/man/man3/Linux::Event::Loop.3pm.gz ]
    ok $? "/usr/share/man/man3/Linux::Event::Loop.3pm.gz installed (no man-db)"
fi

cat > prog.c <<'EOF'
#include <evloop.h>
#include <evloop-fork.h>
#include <stdio.h>

static int fired;

static void on_timer(evl_timer *t)
{
    fired++;
    evl_loop_stop(t->data);
}

int main(void)
{
    evl_loop *loop;
    evl_timer t;
    if (evl_loop_new(&loop, EVL_REACTOR, 0) < 0)
        return 2;
    evl_timer_init(loop, &t);
    t.data = loop;
    if (evl_timer_start(&t, on_timer, 1000000, 0) < 0)
        return 3;
    if (evl_loop_run(loop) < 0)
        return 4;
    evl_loop_free(loop);
    printf("fired %d\n", fired);
    return fired == 1 ? 0 : 1;
}
EOF
flags=$(pkg-config --cflags --libs evloop 2>&1)
ok $? "pkg-config --cflags --libs evloop: $flags"
# shellcheck disable=SC2086  # $flags is a list of compiler words
${CC:-cc} -Wall -Werror -o prog prog.c $flags 2>&1 | sed 's/^/# /'
ok "${PIPESTATUS[0]}" "a C program builds with the pkg-config flags"
out=$(./prog 2>&1)
[ "$out" = "fired 1" ]
ok $? "the C program runs a timer on a loop"
[ "$out" = "fired 1" ] || echo "# got: $out"
libdir=$(pkg-config --variable=libdir evloop)
# (ldd may name it /lib/...: merged /usr makes that the same file)
linked=$(ldd ./prog | awk '$1 == "libevloop.so.0" { print $3 }')
[ -n "$linked" ] && [ "$(readlink -f "$linked")" = "$(readlink -f "$libdir/libevloop.so.0")" ]
ok $? "it links $libdir/libevloop.so.0"

# Every non-directory a package shipped must be gone after the purge.
files=$(for p in "${PKGS[@]}"; do dpkg -L "$p"; done | while IFS= read -r f; do
            [ -d "$f" ] || echo "$f"; done)
$sudo apt-get purge -y -qq "${PKGS[@]}" >/dev/null 2>&1
ok $? "apt-get purge ${PKGS[*]}"
left=$(for p in "${PKGS[@]}"; do dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$p" 2>/dev/null; done |
           grep -v '^un ' || true)
[ -z "$left" ]
ok $? "no package left in dpkg's database"
[ -z "$left" ] || echo "# left: $left"
[ -n "$files" ]
ok $? "the packages had installed files to check"
left=$(echo "$files" | while IFS= read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done)
[ -z "$left" ]
ok $? "no file of the packages left on the system"
[ -z "$left" ] || echo "$left" | sed 's/^/# left: /'

echo "1..$n"
[ "$failed" -eq 0 ]
