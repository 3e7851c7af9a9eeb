#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run.sh - builds bench/ and compares libevloop with libev and libuv.
#
# Measures: everything the three bench programs report (timer churn,
# fd-watcher dispatch, stream echo over socketpairs; see the header of
# each .c file).  Each program runs all three libraries in one process,
# and the whole set is repeated RUNS times, interleaved, so a noisy
# moment hurts one sample rather than one library.  The table shows, per
# figure, the median over runs of each library's value, and the median
# over runs of the same-run speed ratios evloop/libev and evloop/libuv:
# above 1.00 means evloop is faster (less CPU per operation, or more
# operations per second).
#
# usage: RUNS=5 bench/run.sh            (from the top of the build tree)
#   TIMER_ARGS, FD_ARGS, STREAM_ARGS   override the programs' arguments
#   BENCH_LIBS="evloop libev"          run only some libraries
#   OUT=file                           keep the raw RESULT/RATIO lines
#   PROACTOR=0                         skip bench/run-proactor.sh, which
#                                      otherwise runs at the end (its
#                                      contenders have other names, so
#                                      BENCH_LIBS=evloop... empties it)
# Bounded: each program run is killed after 600 s; sockets are
# socketpairs, so nothing listens on a port (run-proactor.sh's echo
# listens on 127.0.0.1 port 0 only).
set -eu -o pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
TIMER_ARGS=${TIMER_ARGS:-}
FD_ARGS=${FD_ARGS:-}
STREAM_ARGS=${STREAM_ARGS:-}
OUT=${OUT:-$(mktemp "${TMPDIR:-/tmp}/evl-bench.XXXXXX")}

make -j2 bench >/dev/null

: > "$OUT"
for run in $(seq 1 "$RUNS"); do
    echo "run $run/$RUNS" >&2
    # word splitting of the *_ARGS is wanted: they are argument lists
    # shellcheck disable=SC2086
    {
        timeout 600 ./bench/timer_churn $TIMER_ARGS
        timeout 600 ./bench/fd_dispatch $FD_ARGS
        timeout 600 ./bench/stream_echo $STREAM_ARGS
    } | sed "s/^/$run /" >> "$OUT"
done

grep '^1 #' "$OUT" | sed 's/^1 //'
echo "# $RUNS runs; values are medians over runs; ratios are same-run speed ratios, >1.00 = evloop faster"
echo
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
$2 == "RESULT" {
    key = $3 " " $4
    if (!(key in unit)) { order[++nkeys] = key; unit[key] = $7 }
    val[key, $5] = val[key, $5] " " $6
}
$2 == "RATIO" { rat[$3 " " $4, $5] = rat[$3 " " $4, $5] " " $6 }
END {
    printf "| %-22s | %-10s | %10s | %10s | %10s | %12s | %12s |\n", "figure", "unit", "evloop", "libev", "libuv", "evloop/libev", "evloop/libuv"
    printf "|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------", "------------", "-----------:", "-----------:", "-----------:", "-------------:", "-------------:"
    for (k = 1; k <= nkeys; k++) {
        key = order[k]
        split(key, kv, " ")
        printf "| %-22s | %-10s", kv[1] " " kv[2], unit[key]
        split("evloop libev libuv", libs, " ")
        for (l = 1; l <= 3; l++) {
            m = median(val[key, libs[l]])
            if (m == "") printf " | %10s", "-"
            else printf " | %10.1f", m
        }
        split("evloop/libev evloop/libuv", pairs, " ")
        for (p = 1; p <= 2; p++) {
            m = median(rat[key, pairs[p]])
            if (m == "") printf " | %12s", "-"
            else printf " | %12.2f", m
        }
        printf " |\n"
    }
}' "$OUT"
echo
echo "raw lines: $OUT"

# The proactor's benchmarks compare other contenders (raw liburing,
# read(2)), so they have their own script and tables; PROACTOR=0 skips
# them.
if [ "${PROACTOR:-1}" != 0 ]; then
    echo
    RUNS=$RUNS OUT="$OUT.px" bench/run-proactor.sh
fi
