#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run.sh - the headline benchmark: a Perl line-echo server over loopback TCP,
# evloop (Linux::Event::Stream, reactor and proactor) against EV +
# AnyEvent::Handle, IO::Async::Stream and Mojo::IOLoop, all driven by the
# same C client (echo_client.c from ../shared/bench-reference) in one run.
#
# Per run: client lines/s, and the server's CPU per line (pcpu: the
# server's own CPU clock).  Server and client are pinned to different CPUs;
# server order rotates every repetition; each server is a fresh process on a
# fresh 127.0.0.1 port.
#
# usage (from the build tree, after `make`):
#   bench/echo/run.sh                    # REPS=3, 1 and 50 connections
#   REPS=5 CONFIGS="1:1:20000 50:1:2000 50:8:4000" bench/echo/run.sh
#   SERVERS="ioasync ioasync_le" REF=ioasync bench/echo/run.sh
#                                        # IO::Async: LinuxEvent vs Epoll
# prints a TSV per run and a summary table of medians and ratios.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(cd "$here/../.." && pwd)}
REPS=${REPS:-3}
CONFIGS=${CONFIGS:-"1:1:20000 50:1:2000 50:8:4000"}
SERVERS=${SERVERS:-"evloop evloop_uring ae_ev ioasync mojo_ev ae_le mojo_le"}
SRV_CPU=${SRV_CPU:-1}; CLI_CPU=${CLI_CPU:-0}; WARM=${WARM:-200}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
OUT=${OUT:-$work/echo.tsv}
cc -O2 -o "$work/echo_client" "$here/echo_client.c" || exit 1
cc -O2 -o "$work/pcpu" "$here/pcpu.c" || exit 1
PERL_EVLOOP="perl -I$build/blib/lib -I$build/blib/arch"

cmd_for() {
    case $1 in
    evloop)       echo "env EVLOOP_MODEL=reactor $PERL_EVLOOP $here/srv_evloop.pl" ;;
    evloop_uring) echo "env EVLOOP_MODEL=proactor $PERL_EVLOOP $here/srv_evloop.pl" ;;
    ae_ev)        echo "env PERL_ANYEVENT_MODEL=EV perl $here/srv_ae_handle.pl" ;;
    ev_raw)       echo "perl $here/srv_ev_raw.pl" ;;
    ioasync)      echo "env IO_ASYNC_LOOP=Epoll perl $here/srv_ioasync.pl" ;;
    ioasync_le)   echo "env IO_ASYNC_LOOP=LinuxEvent $PERL_EVLOOP $here/srv_ioasync.pl" ;;
    mojo_ev)      echo "env MOJO_REACTOR=Mojo::Reactor::EV perl $here/srv_mojo.pl" ;;
    # The same servers on the evloop backends (issue 13).
    ae_le)        echo "env PERL_ANYEVENT_MODEL=LinuxEvent $PERL_EVLOOP $here/srv_ae_handle.pl" ;;
    mojo_le)      echo "env MOJO_REACTOR=Mojo::Reactor::LinuxEvent $PERL_EVLOOP $here/srv_mojo.pl" ;;
    *) echo "unknown server $1" >&2; exit 1 ;;
    esac
}

printf 'server\tconns\tdepth\trep\tlines_per_sec\tsrv_cpu_us_per_line\tsrv_util\n' > "$OUT"
read -r -a LIST <<< "$SERVERS"
port=$((20000 + RANDOM % 8000))
for rep in $(seq 1 "$REPS"); do
    k=$(( (rep - 1) % ${#LIST[@]} ))
    ORDER=("${LIST[@]:k}" "${LIST[@]:0:k}")
    for cfg in $CONFIGS; do
        IFS=: read -r c d n <<< "$cfg"
        for s in "${ORDER[@]}"; do
            port=$((port + 1))
            taskset -c "$SRV_CPU" $(cmd_for "$s") "$port" &
            pid=$!
            for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
            sleep 0.1
            t0=$("$work/pcpu" "$pid")
            res=$(taskset -c "$CLI_CPU" "$work/echo_client" -p "$port" -c "$c" -d "$d" -n "$n" -w "$WARM" -t 120)
            rc=$?
            t1=$("$work/pcpu" "$pid")
            kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            if [ $rc -ne 0 ]; then echo "FAIL $s $cfg rep $rep rc=$rc" >&2; continue; fi
            lps=${res##*lines_per_sec=}; secs=${res#*with_warmup_secs=}; secs=${secs%% *}
            awk -v s="$s" -v c="$c" -v d="$d" -v r="$rep" -v lps="$lps" -v secs="$secs" \
                -v t0="$t0" -v t1="$t1" -v tot=$((c * (n + WARM))) \
                'BEGIN { dt = t1 - t0; printf "%s\t%s\t%s\t%s\t%s\t%.3f\t%.2f\n", s, c, d, r, lps, dt * 1e6 / tot, dt / secs }' >> "$OUT"
            tail -n 1 "$OUT"
        done
    done
done
perl "$here/summarize.pl" echo "$OUT" "${REF:-ae_ev}"
