#!/usr/bin/env bash
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# run-tls.sh - the TLS line-echo benchmark (issue 15): Linux::Event::Stream
# with tls (Listen tls => ...) against AnyEvent::Handle tls on EV and
# Mojo::IOLoop with IO::Socket::SSL on EV, all driven by one C client
# (tls_echo_client.c, OpenSSL) in one run: 50 connections x 1 and x 8
# lines in flight (lines/s, server CPU per line), then handshakes/s
# (50 connections at a time, full handshakes, one line each).
#
# A throw-away certificate is made with `openssl req` (ECDSA P-256) into a
# temporary directory.  Server and client are pinned to different CPUs;
# each server is a fresh process on a fresh 127.0.0.1 port.
#
# usage (from the build tree, after `make`):
#   bench/echo/run-tls.sh                          # REPS=3
#   REPS=1 CONFIGS="50:1:200" HANDSHAKES=200 bench/echo/run-tls.sh   # a smoke run
# prints a TSV per run and a table of medians.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(cd "$here/../.." && pwd)}
REPS=${REPS:-3}
CONFIGS=${CONFIGS:-"50:1:2000 50:8:4000"}
HANDSHAKES=${HANDSHAKES:-5000}
SERVERS=${SERVERS:-"evloop ae_ev mojo_ev"}
SRV_CPU=${SRV_CPU:-1}; CLI_CPU=${CLI_CPU:-0}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
OUT=${OUT:-$work/tls.tsv}
cc -O2 -o "$work/client" "$here/tls_echo_client.c" -lssl -lcrypto || exit 1
cc -O2 -o "$work/pcpu" "$here/pcpu.c" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost >/dev/null 2>&1 || exit 1
PERL_EVLOOP="perl -I$build/blib/lib -I$build/blib/arch"

cmd_for() {
    case $1 in
    evloop)  echo "$PERL_EVLOOP $here/srv_evloop_tls.pl" ;;
    ae_ev)   echo "env PERL_ANYEVENT_MODEL=EV perl $here/srv_ae_handle_tls.pl" ;;
    mojo_ev) echo "env MOJO_REACTOR=Mojo::Reactor::EV perl $here/srv_mojo_tls.pl" ;;
    *) echo "unknown server $1" >&2; exit 1 ;;
    esac
}

# Runs the client against server $1 with client args $2..; prints
# "<client output> srv_cpu_s=<server CPU seconds during the run>".
measure() {
    local s=$1; shift
    port=$((port + 1))
    taskset -c "$SRV_CPU" $(cmd_for "$s") "$port" "$work/cert.pem" "$work/key.pem" &
    local pid=$!
    for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    local c0; c0=$("$work/pcpu" "$pid")
    local res; res=$(taskset -c "$CLI_CPU" "$work/client" -p "$port" "$@")
    local c1; c1=$("$work/pcpu" "$pid")
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    echo "$res srv_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')"
}

printf 'server\tconns\tdepth\trep\tper_sec\tsrv_cpu_us_per_op\n' > "$OUT"
read -r -a LIST <<< "$SERVERS"
port=$((20000 + RANDOM % 8000))
for rep in $(seq 1 "$REPS"); do
    for cfg in $CONFIGS; do
        IFS=: read -r c d n <<< "$cfg"
        for s in "${LIST[@]}"; do
            r=$(measure "$s" -c "$c" -d "$d" -n "$n" -t 120)
            rate=$(sed -n 's/.*lines_per_sec=\([0-9.]*\).*/\1/p' <<< "$r")
            cpu=$(sed -n 's/.*srv_cpu_s=\([0-9.]*\).*/\1/p' <<< "$r")
            per=$(awk -v c="$cpu" -v l="$((c * n))" 'BEGIN { printf "%.2f", c * 1e6 / l }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$d" "$rep" "$rate" "$per" | tee -a "$OUT"
        done
    done
    for s in "${LIST[@]}"; do
        r=$(measure "$s" -c 50 -H "$HANDSHAKES" -t 120)
        rate=$(sed -n 's/.*handshakes_per_sec=\([0-9.]*\).*/\1/p' <<< "$r")
        cpu=$(sed -n 's/.*srv_cpu_s=\([0-9.]*\).*/\1/p' <<< "$r")
        per=$(awk -v c="$cpu" -v h="$HANDSHAKES" 'BEGIN { printf "%.2f", c * 1e6 / h }')
        printf '%s\thandshakes\t-\t%s\t%s\t%s\n' "$s" "$rep" "$rate" "$per" | tee -a "$OUT"
    done
done
echo "# medians (per_sec, server CPU us per line or handshake):"
perl -F'\t' -lane 'next if $. == 1; my $k = join "\t", @F[0 .. 2]; push @{ $r{$k} }, $F[4];
    push @{ $u{$k} }, $F[5];
    END { sub med { my @a = sort { $a <=> $b } @_; $a[$#a / 2] }
        print join "\t", $_, med(@{ $r{$_} }), med(@{ $u{$_} }) for sort keys %r }' "$OUT"
