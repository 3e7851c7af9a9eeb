#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run-perlio.sh - builds the tree and runs bench/perlio_bench.pl: the
# :evloop / :evline PerlIO layers against :perlio and against a pure-Perl
# non-blocking line reader, all contenders in the same run (see the header
# of perlio_bench.pl for what each figure measures).
#
# Prints per-round RESULT/RATIO lines on stderr and a markdown table of
# medians and median same-round ratios on stdout.  Targets (the issue):
# :evloop >= 1.00 x :perlio for readline, 64 KiB read and print; :evline
# >= 1.50 x sysread+split on the socket.
#
# usage: bench/run-perlio.sh [KEY=VALUE ...]        (from anywhere in the tree)
#   ROUNDS=3 SIZE_MB=200 PRINT_LINES=5000000 SOCK_MB=100
#   ONLY=readline,block,print,socket
# (as arguments or in the environment).  Bounded: killed after 300 s (the
# script has its own 600 s alarm, and takes ~15 s with the defaults on 2
# cores); temporary files live in /tmp and are removed at exit; the socket
# is on 127.0.0.1, port 0.
# The run uses a private copy of blib/ (removed at exit): a rebuild in the
# tree while the benchmark runs rewrites evloop.so in place, which kills a
# process that has it mapped with SIGBUS.
set -eu -o pipefail
cd "$(dirname "$0")/.."

make -j2 >/dev/null
snap=$(mktemp -d "${TMPDIR:-/tmp}/evl-perlio-blib.XXXXXX")
trap 'rm -rf "$snap"' EXIT
cp -R blib "$snap/"
timeout 300 perl -I"$snap/blib/lib" -I"$snap/blib/arch" bench/perlio_bench.pl "$@"
