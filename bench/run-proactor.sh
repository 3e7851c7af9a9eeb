#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run-proactor.sh - builds bench/ and measures the proactor (io_uring)
# engine of evl_stream against its peers.
#
# Measures what bench/proactor_echo and bench/proactor_file report (see
# the header of each .c file): loopback TCP echo, evl_stream on a proactor
# loop vs the same code on a reactor loop vs raw liburing; and file read
# throughput, evl_stream read-ahead at depth 1/2/4 vs a read(2) loop.
# Both programs run all their contenders in one process, in rotating
# order; the whole set is repeated RUNS times.  The tables show, per
# figure, the median over runs of each contender's value, and the median
# over runs of the same-run ratios: above 1.00 means the first named is
# faster (less CPU per line or MiB, or more lines or MB per second).
# The issue's targets: proactor/uring >= 0.90 (echo), raN/read >= 1.00
# (file).
#
# usage: RUNS=5 bench/run-proactor.sh       (from anywhere in the tree)
#   ECHO_ARGS, FILE_ARGS   override the programs' arguments
#   COLD_ARGS              arguments of a second proactor_file run with
#                          COLD=1 (the file dropped from the page cache
#                          before every pass), default "2 64 1"; COLD_ARGS=
#                          skips it
#   BENCH_LIBS="proactor uring read ra2"    run only some contenders
#   OUT=file               keep the raw RESULT/RATIO lines
# Bounded: each program run is killed after 300 s (each also has its own
# alarm); the echo listens on 127.0.0.1 port 0 only; the file lives in
# /tmp unlinked from the moment it is made.
set -eu -o pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
ECHO_ARGS=${ECHO_ARGS:-}
FILE_ARGS=${FILE_ARGS:-}
COLD_ARGS=${COLD_ARGS-2 64 1}
OUT=${OUT:-$(mktemp "${TMPDIR:-/tmp}/evl-bench-px.XXXXXX")}

make -j2 bench >/dev/null

: > "$OUT"
for run in $(seq 1 "$RUNS"); do
    echo "proactor run $run/$RUNS" >&2
    # word splitting of the *_ARGS is wanted: they are argument lists
    # shellcheck disable=SC2086
    {
        timeout 300 ./bench/proactor_echo $ECHO_ARGS
        timeout 300 ./bench/proactor_file $FILE_ARGS
        if [ -n "$COLD_ARGS" ]; then
            COLD=1 timeout 300 ./bench/proactor_file $COLD_ARGS
        fi
    } | sed "s/^/$run /" >> "$OUT"
done

grep '^1 #' "$OUT" | sed 's/^1 //'
echo "# $RUNS runs; values are medians over runs; ratios are same-run speed ratios, >1.00 = the first named is faster"
# One table per bench; its columns are the contenders and ratio pairs in
# the order the program printed them, so new contenders need no edit here.
# mawk has no asort: medians by insertion sort over the few samples.
awk '
function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) {
        t = v[i] + 0
        for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
        v[j + 1] = t
    }
    if (n == 0) return ""
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(list, cnt, b, x) {
    if (!((b, x) in seen)) { seen[b, x] = 1; cnt[b]++; list[b, cnt[b]] = x }
}
$2 == "RESULT" || $2 == "RATIO" {
    b = $3
    if (!(b in nb)) { nb[b] = 1; benches[++nbench] = b }
    add(figs, nfig, b, $4)
}
$2 == "RESULT" {
    add(libs, nlib, b, $5)
    unit[b, $4] = $7
    val[b, $4, $5] = val[b, $4, $5] " " $6
}
$2 == "RATIO" {
    add(pairs, npair, b, $5)
    rat[b, $4, $5] = rat[b, $4, $5] " " $6
}
END {
    for (k = 1; k <= nbench; k++) {
        b = benches[k]
        printf "\n| %-14s | %-8s", b " figure", "unit"
        for (l = 1; l <= nlib[b]; l++) printf " | %11s", libs[b, l]
        for (p = 1; p <= npair[b]; p++) printf " | %19s", pairs[b, p]
        printf " |\n|----------------|----------"
        for (l = 1; l <= nlib[b]; l++) printf "|------------:"
        for (p = 1; p <= npair[b]; p++) printf "|--------------------:"
        printf "|\n"
        for (f = 1; f <= nfig[b]; f++) {
            fig = figs[b, f]
            printf "| %-14s | %-8s", fig, unit[b, fig]
            for (l = 1; l <= nlib[b]; l++) {
                m = median(val[b, fig, libs[b, l]])
                if (m == "") printf " | %11s", "-"
                else printf " | %11.1f", m
            }
            for (p = 1; p <= npair[b]; p++) {
                m = median(rat[b, fig, pairs[b, p]])
                if (m == "") printf " | %19s", "-"
                else printf " | %19.2f", m
            }
            printf " |\n"
        }
    }
}' "$OUT"
echo
echo "raw lines: $OUT"
