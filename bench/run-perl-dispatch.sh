#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run-perl-dispatch.sh - builds the tree and runs bench/perl-dispatch.pl:
# Linux::Event (libevloop) against EV, AnyEvent (EV and pure-Perl
# backends), IO::Async and Mojo::IOLoop on timers, pipe readiness,
# signals and wakeups, each contender in its own process, all in one run.
#
# Prints per-process RESULT lines on stderr and a table of medians and
# evloop's ratios on stdout.  Targets (issue 5): >= 1.0x EV on timers and
# I/O dispatch, >= 3x IO::Async and Mojo.
#
# usage: bench/run-perl-dispatch.sh [ROUNDS=3] [SCALE=1] [ONLY=evloop,EV,...]
# Needs the Debian packages libev-perl, libanyevent-perl, libio-async-perl
# and libmojolicious-perl.  Bounded: killed after 1200 s (each contender
# process has its own 600 s alarm); nothing leaves the machine.
# The run uses a private copy of blib/ (removed at exit): a rebuild in the
# tree while the benchmark runs would rewrite evloop.so under it.
set -eu -o pipefail
cd "$(dirname "$0")/.."

make -j2 >/dev/null
snap=$(mktemp -d "${TMPDIR:-/tmp}/evl-dispatch-blib.XXXXXX")
trap 'rm -rf "$snap"' EXIT
cp -R blib "$snap/"
timeout 1200 perl -I"$snap/blib/lib" -I"$snap/blib/arch" bench/perl-dispatch.pl "$@"
