#!/usr/bin/env bash
# The example client service's protected endpoint under load, with tessera-client's
# verification (`GET /api/test/`: cached-JWKS RS256 verification + the local shadow user
# from SQLite) against the same handler with verification removed
# (`GET /bench/unverified/`, served only with --bench-unverified-route). Both against one
# release build of Tessera and of the service; rounds alternate the two; medians.
#   bench/client_service.sh        # ROUNDS=3 DURATION=5s CONNECTIONS=8
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
. bench/common.sh
export RUST_LOG=warn

cargo build --release -q -p tessera -p client-service --features client-service/bench-unverified
echo 'bench-password-long' | target/release/tessera --data-dir "$WORK/auth" user create \
    --username alice --email alice@example.com --password-stdin >/dev/null
target/release/tessera --data-dir "$WORK/auth" serve --bind 127.0.0.1:18400 >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18400/readyz >/dev/null && break; sleep 0.1; done
target/release/client-service --authority http://127.0.0.1:18400 --bind 127.0.0.1:18401 \
    --database "sqlite:$WORK/users.db" --bench-unverified-route >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18401/api/test/ && break; sleep 0.1; done
# Log in through the service (makes the shadow user); the token lives 5 min, runs are shorter.
ACCESS=$(curl -sf -X POST http://127.0.0.1:18401/auth/token/ -H 'Content-Type: application/json' \
    -d '{"email": "alice@example.com", "password": "bench-password-long"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
cat >"$WORK/bearer.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $ACCESS"
LUA

: >"$WORK/results.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for route in /api/test/ /bench/unverified/; do
        wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/bearer.lua" \
            "http://127.0.0.1:18401$route" >"$WORK/out.txt"
        python3 bench/wrk_row.py "$WORK/out.txt" "$route" | tee -a "$WORK/results.txt" >&2
    done
done
python3 bench/medians.py "$WORK/results.txt" "/bench/unverified/" "$DURATION" "$CONNECTIONS" "$ROUNDS" req/s
