#!/usr/bin/env bash
# Refresh throughput on SQLite (synchronous=FULL) of two Tessera builds, interleaved
# (A B A B …): each wrk connection follows a rotation chain (bench/chain.lua), so
# every request presents a never-used token. For before/after comparisons of a change:
#   bench/refresh_ab.sh OLD_BINARY NEW_BINARY     # ROUNDS=3 DURATION=5s CONNECTIONS=8
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
. bench/common.sh
start_bench_server a "$A" 18701
start_bench_server b "$B" 18702
: >"$WORK/rows.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for s in a:18701 b:18702; do
        port=${s##*:}
        : >"$WORK/chains"
        for _ in $(seq 1 $((CONNECTIONS + 2))); do
            curl -sf -X POST "http://127.0.0.1:$port/auth/token/" -H 'Content-Type: application/json' \
                -d '{"username":"bench","password":"bench-password-1"}' |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh"])' >>"$WORK/chains"
        done
        TOKENS_FILE="$WORK/chains" CHAIN_PER_THREAD=$((CONNECTIONS / 2)) wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency \
            -s bench/chain.lua "http://127.0.0.1:$port/auth/token/refresh/" >"$WORK/out.txt"
        python3 bench/wrk_row.py "$WORK/out.txt" "${s%%:*}" | tee -a "$WORK/rows.txt" >&2
    done
done
python3 bench/medians.py "$WORK/rows.txt" a "$DURATION" "$CONNECTIONS" "$ROUNDS" refreshes/s
