#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run-prefork.sh - pre-fork scaling (issue 14): examples/prefork-echo.pl
# with 1 worker and with 2 workers (SO_REUSEPORT listeners, one loop per
# process), driven by the same C client as run.sh (echo_client.c), many
# connections so the kernel spreads them over the workers.
#
# On a 2-core machine the client shares the cores with the workers: it is
# one process busy on one core, so 2 workers can never get 2 whole cores
# and the gain is bounded (and noisy).  Nothing is pinned here, on
# purpose: pinning would put the client and a worker on one core.
#
# usage (from the build tree, after `make`):
#   bench/echo/run-prefork.sh                       # REPS=3, 50 conns x 2000 lines
#   REPS=1 CONNS=20 LINES=500 bench/echo/run-prefork.sh   # a smoke run
# prints one TSV line per run (workers, rep, lines/s) and the medians.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(cd "$here/../.." && pwd)}
top=$(cd "$here/../.." && pwd)
REPS=${REPS:-3}
CONNS=${CONNS:-50}
LINES=${LINES:-2000}
DEPTH=${DEPTH:-1}
WORKERS=${WORKERS:-"1 2"}
work=$(mktemp -d)
srv=
cleanup() {
    [ -n "$srv" ] && kill -TERM "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/echo_client" "$here/echo_client.c" || exit 1

printf 'workers\trep\tlines_per_sec\n'
for rep in $(seq 1 "$REPS"); do
    for w in $WORKERS; do
        rm -f "$work/port"
        perl -I"$build/blib/lib" -I"$build/blib/arch" "$top/examples/prefork-echo.pl" \
            --serve --workers "$w" --port 0 --port-file "$work/port" >"$work/srv.out" 2>&1 &
        srv=$!
        # The workers report on stdout once they listen.
        for _ in $(seq 1 200); do
            [ "$(grep -c ' ready$' "$work/srv.out")" -ge "$w" ] && break
            sleep 0.05
        done
        port=$(cat "$work/port")
        out=$("$work/echo_client" -p "$port" -c "$CONNS" -n "$LINES" -d "$DEPTH" -t 120) || {
            echo "echo_client failed: $out" >&2
            exit 1
        }
        lps=$(printf '%s\n' "$out" | sed -n 's/.*lines_per_sec=\([0-9.]*\).*/\1/p')
        printf '%s\t%s\t%s\n' "$w" "$rep" "$lps" | tee -a "$work/runs.tsv"
        kill -TERM "$srv"
        wait "$srv"
        srv=
    done
done
echo
echo "median lines/s by workers ($CONNS connections, $LINES lines each, depth $DEPTH):"
for w in $WORKERS; do
    med=$(awk -v w="$w" '$1 == w { print $3 }' "$work/runs.tsv" | sort -n |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    printf '  %s worker(s): %s\n' "$w" "$med"
done
