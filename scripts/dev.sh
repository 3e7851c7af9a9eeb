#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# scripts/dev.sh - one-command set-up for a fresh Debian 12 machine.
#
#   scripts/dev.sh demo    install what is missing, build, run the demo
#   scripts/dev.sh check   install what is missing, build, run every test
#
# Packages come from Debian only (apt-get; sudo when not root).  The build
# is in-tree; autoreconf and configure run only when their output is
# missing, so repeating the command is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="build-essential autoconf automake libtool pkg-config perl libperl-dev
          liburing-dev check libsubunit-dev perltidy libperl-critic-perl perl-doc"

install_missing() {
    local missing=()
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "dev.sh: installing ${missing[*]}"
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
    [ -x configure ] || autoreconf -fi
    [ -f Makefile ] || ./configure ${EVL_CONFIGURE_FLAGS:-}
    make -j"$(nproc)"
}

case "${1:-}" in
demo)
    install_missing
    build
    # Linux::Event::Listen + Stream (line codec) serving a forked client;
    # examples/line-echo is the same demo in C over libevloop alone.
    exec perl -Iblib/lib -Iblib/arch examples/line-echo.pl "${2:-2}" "${3:-4}" "${4:-8}"
    ;;
check)
    install_missing
    build
    make -j"$(nproc)" check
    ;;
*)
    echo "usage: scripts/dev.sh demo|check" >&2
    exit 2
    ;;
esac
