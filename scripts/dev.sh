#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# scripts/dev.sh - one-command set-up for a fresh Debian 12 machine.
#
#   scripts/dev.sh demo    install what is missing, build, run the demo
#   scripts/dev.sh check   install what is missing, build, run every test
#   scripts/dev.sh deb     install what is missing (debhelper, lintian), build
#                          the Debian packages from a copy of the tree, check
#                          them with lintian, print their paths
#   scripts/dev.sh bench [c|perlio|dispatch|fork|proactor|accept|echo ...]
#                          install the benchmarks' peers (libev-dev,
#                          libuv1-dev, the Perl event loops), build, run the
#                          README's benchmarks (all, or those named; c is
#                          bench/run.sh with the proactor's, about 10 min)
#   scripts/dev.sh fuzz [seconds]
#                          install clang, build the libFuzzer harnesses
#                          (make fuzz) and run each for seconds (default
#                          60), two at a time; a crash fails the command
#                          and its reproducer's path is printed
#   scripts/dev.sh load [seconds]
#                          build, then run bench/load/'s load and soak
#                          scripts: 10,000 sequential connections, 10,000
#                          concurrent idle ones, a soak of seconds (default
#                          60) and a 1,000-child storm; each prints its
#                          figures, and growth (fds, RSS) fails the command
#
# Packages come from Debian only (apt-get; sudo when not root).  The build
# is in-tree; autoreconf and configure run only when their output is
# missing, so repeating the command is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="build-essential autoconf automake libtool pkg-config perl libperl-dev
          liburing-dev check libsubunit-dev perltidy libperl-critic-perl perl-doc"
# Test dependencies of IO::Async::Loop::LinuxEvent and Future::IO::Impl::LinuxEvent.
# (IO::Async::LoopTests needs Test::Fatal, Test::Refcount, Test::Metrics::Any;
# Test::Future::IO::Impl needs Test2::V0.)
PACKAGES="$PACKAGES libio-async-perl libio-async-loop-epoll-perl libfuture-perl libfuture-io-perl
          libtest-fatal-perl libtest-refcount-perl libtest-metrics-any-perl libtest2-suite-perl"
# The framework backends' tests: AnyEvent, Mojolicious (Mojo::Reactor::EV
# needs EV), IO::Socket::SSL for Mojolicious' TLS paths.
PACKAGES="$PACKAGES libanyevent-perl libmojolicious-perl libev-perl libio-socket-ssl-perl"
# TLS streams (issue 15): OpenSSL 3 to build, the openssl tool and the CA
# store for the tests, Net::SSLeay/IO::Socket::SSL as peers.
PACKAGES="$PACKAGES libssl-dev openssl ca-certificates libnet-ssleay-perl"

# The libFuzzer harnesses (make fuzz) and make check-valgrind: test-only.
PACKAGES="$PACKAGES clang-14 libclang-rt-14-dev valgrind"
# Debian packaging (scripts/dev.sh deb): debhelper brings dh-autoreconf.
DEB_PACKAGES="debhelper dpkg-dev lintian"
# The benchmarks' peers: C (make bench) and Perl (bench/*.pl, bench/echo).
BENCH_PACKAGES="libev-dev libuv1-dev libev-perl libanyevent-perl
                libio-async-perl libio-async-loop-epoll-perl libmojolicious-perl
                libanyevent-handle-udp-perl"

install_missing() {
    local missing=()
    for p in $PACKAGES ${1:-}; do
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

# The .debs go to EVL_DEB_DIR (default ${TMPDIR:-/tmp}/evloop-deb, which
# must lie outside the tree), not to the tree's parent as with a plain
# dpkg-buildpackage: the build runs in a fresh copy of the tree's files
# (git ls-files in a git checkout, so an in-tree build's output stays
# behind) in EVL_DEB_DIR/evloop-VERSION, because dh's clean step would
# otherwise wipe the in-tree build and its test logs.  Build log:
# EVL_DEB_DIR/build.log.  lintian errors fail the command.
deb() {
    install_missing "$DEB_PACKAGES"
    local version changelog
    version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' configure.ac)
    changelog=$(dpkg-parsechangelog -S Version)
    if [ -z "$version" ] || [ "${changelog%-*}" != "$version" ]; then
        echo "dev.sh deb: debian/changelog is at $changelog but configure.ac's AC_INIT at" \
             "'$version': add a debian/changelog entry $version-1 (dch -v $version-1)" >&2
        return 1
    fi
    local out
    out=$(realpath -m "${EVL_DEB_DIR:-${TMPDIR:-/tmp}/evloop-deb}")
    case "$out/" in
    "$PWD"/*)
        echo "dev.sh deb: EVL_DEB_DIR=$out is inside the source tree" >&2
        return 1 ;;
    esac
    local src=$out/evloop-$version
    rm -rf "$src"
    rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out"/build.log
    mkdir -p "$src"
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # tracked and new (not ignored) files, as they are in the work tree
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
            tar --null -T - -cf - | tar -xf - -C "$src"
    else
        # a tarball: copy everything, dh's clean step removes build output
        tar -cf - . | tar -xf - -C "$src"
    fi
    echo "dev.sh deb: dpkg-buildpackage -b -us -uc in $src (log: $out/build.log)"
    (cd "$src" &&
        DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
            dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1) || {
        tail -n 40 "$out/build.log" >&2
        echo "dev.sh deb: dpkg-buildpackage failed, log: $out/build.log" >&2
        return 1
    }
    rm -rf "$src"
    # lintian's exit status is non-zero on errors only; warnings are shown.
    echo "dev.sh deb: lintian $out/*.changes"
    lintian "$out"/*.changes || {
        echo "dev.sh deb: lintian reported errors (lintian -i $out/*.changes explains)" >&2
        return 1
    }
    echo "dev.sh deb: built"
    ls -1 "$out"/*.deb
}

# The README's benchmarks (its Performance section), each from the top of
# the build tree.  Run one at a time: they measure, so nothing else of
# this script runs beside them.
bench() {
    local names=("$@") b
    [ ${#names[@]} -gt 0 ] || names=(c perlio dispatch fork proactor accept echo)
    for b in "${names[@]}"; do
        case "$b" in
        c | perlio | dispatch | fork | proactor | accept | echo) ;;
        *) echo "dev.sh bench: unknown benchmark $b (c perlio dispatch fork proactor accept echo)" >&2
           return 2 ;;
        esac
    done
    install_missing "$BENCH_PACKAGES"
    build
    # A configure that ran before the peers were installed did not find
    # them (m4/evl_bench.m4): look again with the same arguments.
    if grep -q '^EVL_BENCH_MISSING = .' Makefile; then
        ./config.status --recheck && ./config.status
    fi
    make -j"$(nproc)" bench
    for b in "${names[@]}"; do
        echo "== dev.sh bench $b"
        case "$b" in
        c)        bench/run.sh ;;
        perlio)   bench/run-perlio.sh ;;
        dispatch) bench/run-perl-dispatch.sh ;;
        fork)     perl -Mblib bench/perl-fork.pl ;;
        proactor) perl -Mblib bench/perl-proactor.pl ;;
        accept)   perl -Mblib bench/perl-accept.pl ;;
        echo)     REPS=3 CONFIGS="1:1:10000 50:1:2000 50:8:4000" bench/echo/run.sh ;;
        esac
    done
}

# Runs every harness of fuzz/ for $1 seconds, two at a time (the 2-core
# machines CI uses).  New inputs go to a scratch copy of the corpus, so
# fuzz/corpus stays as committed; crashes go to EVL_FUZZ_DIR (default
# ${TMPDIR:-/tmp}/evloop-fuzz), one log per harness there.
fuzz() {
    local secs=${1:-60} out name failed=0
    build
    # A configure that ran before clang was installed did not find it.
    if ! grep -q '^fuzz: config.h' Makefile; then
        ./config.status --recheck && ./config.status
    fi
    make fuzz
    out=$(realpath -m "${EVL_FUZZ_DIR:-${TMPDIR:-/tmp}/evloop-fuzz}")
    rm -rf "$out"
    mkdir -p "$out"
    run_one() {
        local name=$1 work=$out/$1.corpus
        mkdir -p "$work" "$out/$1.crash"
        # -max_len: the harnesses ignore longer inputs anyway.
        if fuzz/"$name" -max_total_time="$secs" -timeout=25 -rss_limit_mb=1024 \
                -max_len=2048 -artifact_prefix="$out/$name.crash/" -print_final_stats=1 \
                "$work" fuzz/corpus/"$name" >"$out/$name.log" 2>&1; then
            echo "dev.sh fuzz: $name ok ($(grep -oE 'Done [0-9]+ runs' "$out/$name.log"))"
            return 0
        fi
        echo "dev.sh fuzz: $name FAILED, log $out/$name.log:"
        # The layer harness says where the transcripts differ on the lines
        # after "disagrees"; the input itself, in base64, lets a log from
        # another machine (CI) be replayed here.
        grep -E -A8 'ERROR|SUMMARY|fuzz-|disagrees|Test unit written' "$out/$name.log" |
            grep -vE '^ *#[0-9]+ 0x|^--$' | head -n 30
        local f
        for f in "$out/$name.crash"/*; do
            [ -e "$f" ] || continue
            echo "dev.sh fuzz: reproducer: $f (fuzz/$name $f replays it); base64:"
            base64 -w 0 "$f" | head -c 8192
            echo
        done
        return 1
    }
    local names=(framer_line framer_netstring framer_u32be framer_delimiter framer_fixed
                 framer_length_prefix framer_varint stream layer)
    local pids=() i
    for name in "${names[@]}"; do
        run_one "$name" &
        pids+=($!)
        if [ ${#pids[@]} -ge 2 ]; then
            wait "${pids[0]}" || failed=$((failed + 1))
            pids=("${pids[@]:1}")
        fi
    done
    for i in "${pids[@]}"; do
        wait "$i" || failed=$((failed + 1))
    done
    echo "dev.sh fuzz: ${#names[@]} harnesses, $failed failed (logs in $out)"
    [ "$failed" -eq 0 ]
}

# bench/load/'s scripts one after the other (they measure, so nothing
# else of this script runs beside them); every one runs, and the command
# fails if any did.
load() {
    local secs=${1:-60} failed=0
    build
    local perl=(perl -Iblib/lib -Iblib/arch)
    echo "== dev.sh load: sequential 10000"
    "${perl[@]}" bench/load/sequential.pl 10000 || failed=$((failed + 1))
    echo "== dev.sh load: idle 10000"
    "${perl[@]}" bench/load/idle.pl 10000 || failed=$((failed + 1))
    echo "== dev.sh load: soak $secs s"
    "${perl[@]}" bench/load/soak.pl "$secs" || failed=$((failed + 1))
    echo "== dev.sh load: children 1000"
    "${perl[@]}" bench/load/children.pl 1000 || failed=$((failed + 1))
    echo "dev.sh load: 4 scripts, $failed failed"
    [ "$failed" -eq 0 ]
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
deb)
    deb
    ;;
bench)
    shift
    bench "$@"
    ;;
fuzz)
    install_missing
    fuzz "${2:-60}"
    ;;
load)
    install_missing
    load "${2:-60}"
    ;;
*)
    echo "usage: scripts/dev.sh demo|check|deb|bench [name...]|fuzz [seconds]|load [seconds]" >&2
    exit 2
    ;;
esac
