#!/usr/bin/env bash
# Password-login throughput on SQLite of two Tessera builds, interleaved (A B A B …): wrk
# logs one user in over and over (bench/login.lua), every login a correct one, so the
# throttle's reads are on the path but never refuse. For before/after comparisons:
#   bench/login_ab.sh OLD_BINARY NEW_BINARY     # ROUNDS=5 DURATION=5s CONNECTIONS=8
# Argon2id dominates a login: read the ratio, not the absolute rate.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
. bench/common.sh
start_bench_server a "$A" 18711
start_bench_server b "$B" 18712
: >"$WORK/rows.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for s in a:18711 b:18712; do
        port=${s##*:}
        wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/login.lua \
            "http://127.0.0.1:$port" >"$WORK/out.txt"
        python3 bench/wrk_row.py "$WORK/out.txt" "${s%%:*}" | tee -a "$WORK/rows.txt" >&2
    done
done
python3 bench/medians.py "$WORK/rows.txt" a "$DURATION" "$CONNECTIONS" "$ROUNDS" logins/s
