#!/usr/bin/env bash
# The SQLite read cache under a mixed load, two builds interleaved (A B A B …): wrk
# verifies the access tokens of USERS distinct users (bench/verify_many.lua) while one
# more connection writes on the same server all along: WRITER=refresh rotates a refresh
# chain (bench/chain.lua; refresh rows, no cached table), WRITER=login logs one user in
# again and again (its last_login, a refresh row, an audit event). For before/after
# comparisons of the cache's invalidation:
#   bench/cache_ab.sh OLD_BINARY NEW_BINARY   # WRITER=refresh USERS=300 ROUNDS=3 DURATION=10s CONNECTIONS=8
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2
WRITER=${WRITER:-refresh}
USERS=${USERS:-300}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
. bench/common.sh
login() { # PORT USER FIELD
    curl -sf -X POST "http://127.0.0.1:$1/auth/token/" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$2\",\"password\":\"bench-password-1\"}" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$3'])"
}
start() { # NAME BINARY PORT
    for n in $(seq 1 "$USERS"); do
        echo bench-password-1 | "$2" --data-dir "$WORK/$1" user create --username "u$n" \
            --email "u$n@example.com" --password-stdin >/dev/null
    done
    TESSERA_THROTTLE__ENABLED=false "$2" --data-dir "$WORK/$1" serve --bind "127.0.0.1:$3" >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$3/readyz" >/dev/null && break; sleep 0.1; done
    for n in $(seq 1 "$USERS"); do login "$3" "u$n" access; done >"$WORK/$1.tokens"
}
start a "$A" 18711
start b "$B" 18712
: >"$WORK/rows.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for s in a:18711 b:18712; do
        name=${s%%:*} port=${s##*:}
        if [ "$WRITER" = login ]; then
            METHOD=POST CTYPE=application/json BODY='{"username":"u1","password":"bench-password-1"}' \
                wrk -t1 -c1 -d"$DURATION" -s bench/req.lua \
                "http://127.0.0.1:$port/auth/token/" >"$WORK/writes.txt" &
        else
            for _ in 1 2; do login "$port" u1 refresh; done >"$WORK/chain"
            TOKENS_FILE="$WORK/chain" wrk -t1 -c1 -d"$DURATION" -s bench/chain.lua \
                "http://127.0.0.1:$port/auth/token/refresh/" >"$WORK/writes.txt" &
        fi
        writer=$!
        TOKENS_FILE="$WORK/$name.tokens" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency \
            -s bench/verify_many.lua "http://127.0.0.1:$port/auth/token/verify/" >"$WORK/out.txt"
        wait "$writer"
        python3 bench/wrk_row.py "$WORK/out.txt" "$name" | tee -a "$WORK/rows.txt" >&2
        echo "$name latency p50/p75/p90/p99: $(grep -A4 'Latency Distribution' "$WORK/out.txt" | tail -4 | awk '{print $2}' | paste -sd/)" >&2
        echo "$name $WRITER writes/s during the run: $(grep -oP 'Requests/sec:\s+\K[\d.]+' "$WORK/writes.txt")" >&2
    done
done
python3 bench/medians.py "$WORK/rows.txt" a "$DURATION" "$CONNECTIONS" "$ROUNDS" verifications/s
