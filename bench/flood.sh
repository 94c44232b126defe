#!/usr/bin/env bash
# A flood of wrong-password logins must not starve the cheap endpoints: p99 latency of
# GET /.well-known/jwks.json and POST /auth/token/verify/ measured idle and during a flood
# (32 connections posting wrong passwords), on one release server (SQLite), rounds
# alternating idle / flood; medians. Three servers: throttling off (a distributed flood:
# every attempt reaches Argon2id) with the hashing threads at the default niceness 10,
# under SCHED_IDLE (`hash_sched_idle`) and, as the reference, at niceness 0 (the server's
# own priority); and throttling on (defaults; the
# flood comes from one address, so it is refused before hashing). The flood's own
# login rate is reported too (hashing must still use the idle CPU).
#   bench/flood.sh        # ROUNDS=3 DURATION=5s CONNECTIONS=8
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
. bench/common.sh
cargo build --release -q -p tessera
BIN=target/release/tessera

start() { # NAME PORT THROTTLE_ENABLED HASH_NICE [HASH_SCHED_IDLE]
    mkdir -p "$WORK/$1"
    echo 'bench-password-1' | $BIN --data-dir "$WORK/$1" user create --username bench \
        --email bench@example.com --password-stdin >/dev/null
    TESSERA_THROTTLE__ENABLED=$3 TESSERA_PASSWORDS__HASH_NICE=$4 TESSERA_PASSWORDS__HASH_SCHED_IDLE=${5:-false} $BIN --data-dir "$WORK/$1" serve --bind 127.0.0.1:$2 >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$2/readyz >/dev/null && break; sleep 0.1; done
}
start off 18500 false 10
start on 18501 true 10
start nice0 18502 false 0
start idle 18503 false 10 true
# One access token per server, taken before any flood (they live 5 minutes; the run is
# shorter).
token_of() {
    curl -s -X POST "http://127.0.0.1:$1/auth/token/" -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"bench-password-1"}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}
declare -A TOKEN=([off]=$(token_of 18500) [on]=$(token_of 18501) [nice0]=$(token_of 18502) [idle]=$(token_of 18503))

cat >"$WORK/wrong.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"not-the-password"}'
wrk.path = "/auth/token/"
LUA

: >"$WORK/results.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for server in nice0:18502 off:18500 idle:18503 on:18501; do
        name=${server%%:*}; port=${server##*:}
        token=${TOKEN[$name]}
        printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
            "'{\"token\":\"$token\"}'" >"$WORK/verify.lua"
        for phase in idle flood; do
            flood=""
            if [ $phase = flood ]; then
                wrk -t1 -c32 -d"$(( ${DURATION%s} * 2 + 2 ))s" -s "$WORK/wrong.lua" \
                    "http://127.0.0.1:$port/auth/token/" >"$WORK/flood.txt" 2>&1 &
                flood=$!
                sleep 1
            fi
            wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/.well-known/jwks.json" >"$WORK/out.txt"
            python3 bench/wrk_row.py "$WORK/out.txt" "throttle-$name/jwks/$phase" | tee -a "$WORK/results.txt" >&2
            wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/verify.lua" \
                "http://127.0.0.1:$port/auth/token/verify/" >"$WORK/out.txt"
            python3 bench/wrk_row.py "$WORK/out.txt" "throttle-$name/verify/$phase" | tee -a "$WORK/results.txt" >&2
            if [ -n "$flood" ]; then
                wait "$flood"
                rps=$(grep -oP 'Requests/sec:\s+\K[\d.]+' "$WORK/flood.txt")
                echo "throttle-$name/logins/flood $rps 0 0" | tee -a "$WORK/results.txt" >&2
            fi
        done
    done
done
python3 - "$WORK/results.txt" "$DURATION" "$CONNECTIONS" "$ROUNDS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(name, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == name)
print(f"rounds={sys.argv[4]} duration={sys.argv[2]} connections={sys.argv[3]}; flood: 32 connections of wrong-password logins; reference: the same endpoint idle, same rounds\n")
print("| server | endpoint | p99 idle ms | p99 flood ms | p99 ratio | req/s idle | req/s flood |")
print("|---|---|---|---|---|---|---|")
labels = {"nice0": "throttle off, hash_nice 0 (reference)", "off": "throttle off, hash_nice 10", "idle": "throttle off, hash_sched_idle", "on": "throttle on, hash_nice 10"}
for t in ("nice0", "off", "idle", "on"):
    for e in ("jwks", "verify"):
        base = f"throttle-{t}/{e}"
        i, f = med(base + "/idle", 2), med(base + "/flood", 2)
        print(f"| {labels[t]} | {e} | {i:.2f} | {f:.2f} | {f / i:.2f} | {med(base + '/idle', 1):.0f} | {med(base + '/flood', 1):.0f} |")
print()
for t in ("nice0", "off", "idle", "on"):
    print(f"- {labels[t]}: the flood's own answers {med(f'throttle-{t}/logins/flood', 1):.1f}/s (median over rounds)")
PY
