#!/usr/bin/env bash
# Refresh and login throughput of Tessera with 1, 2 and 3 replicas on one PostgreSQL
# database, against one replica on SQLite (the reference), measured in the same run and
# interleaved (S P1 P2 P3, S P1 P2 P3, …) so machine drift spreads over all of them.
#
# Load: wrk, one process per replica, the same total number of connections in every
# configuration, split evenly across the replicas (a client-side round-robin). Refresh
# requests each present a never-used token: every wrk connection follows its own
# rotation chain (bench/chain.lua). Everything shares this machine's cores: the
# replicas, PostgreSQL and wrk.
#
#   bench/replicas.sh                    # ROUNDS=3 DURATION=5s CONNECTIONS=6 by default
#
# Needs: wrk (apt-get install wrk), PostgreSQL on 127.0.0.1:5432 (user postgres, trust),
# a release build (made here). Prints a Markdown table of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-6}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
DB=tessera_bench_$$
WORK=$(mktemp -d)
export TESSERA_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export TESSERA_ISSUER=http://tessera.bench
export TESSERA_LOG_FILTER=warn
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release -q -p tessera
BIN=target/release/tessera
psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $DB"
PG_URL="$PG_BASE/$DB"
echo "bench-password-1" | $BIN --data-dir "$WORK/sqlite" user create --username bench --email bench@example.com --password-stdin >/dev/null
echo "bench-password-1" | $BIN --database-url "$PG_URL" user create --username bench --email bench@example.com --password-stdin >/dev/null

# start_servers KIND N: starts N replicas, sets PORTS.
start_servers() {
    local kind=$1 n=$2
    PORTS=()
    PIDS=()
    for i in $(seq 1 "$n"); do
        local port=$((18100 + i))
        if [ "$kind" = sqlite ]; then
            $BIN --data-dir "$WORK/sqlite" serve --bind "127.0.0.1:$port" >/dev/null 2>"$WORK/server-$i.log" &
        else
            $BIN --data-dir "$WORK/pg-$i" --database-url "$PG_URL" serve --bind "127.0.0.1:$port" >/dev/null 2>"$WORK/server-$i.log" &
        fi
        PIDS+=($!)
        PORTS+=("$port")
    done
    for port in "${PORTS[@]}"; do
        for _ in $(seq 1 100); do
            curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
            sleep 0.1
        done
    done
}

stop_servers() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

# mint PORT COUNT FILE: COUNT fresh refresh tokens from logins at PORT.
mint() {
    : >"$3"
    for _ in $(seq 1 "$2"); do
        curl -sf -X POST "http://127.0.0.1:$1/auth/token/" -H 'content-type: application/json' \
            -d '{"username":"bench","password":"bench-password-1"}' |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh"])' >>"$3"
    done
}

# load SCENARIO: runs wrk against every replica at once; prints "rps p99_ms errors".
load() {
    local scenario=$1 per=$((CONNECTIONS / ${#PORTS[@]})) i=0
    local outs=() pids=()
    if [ "$scenario" = refresh ]; then
        for port in "${PORTS[@]}"; do
            i=$((i + 1))
            mint "$port" $((2 * per)) "$WORK/tokens-$i" # one chain and a spare per thread
        done
        i=0
    fi
    for port in "${PORTS[@]}"; do
        i=$((i + 1))
        local out="$WORK/wrk-$i.txt"
        outs+=("$out")
        if [ "$scenario" = refresh ]; then
            TOKENS_FILE="$WORK/tokens-$i" wrk -t"$per" -c"$per" -d"$DURATION" --latency \
                -s bench/chain.lua "http://127.0.0.1:$port/auth/token/refresh/" >"$out" &
        else
            wrk -t"$per" -c"$per" -d"$DURATION" --latency -s bench/login.lua \
                "http://127.0.0.1:$port" >"$out" &
        fi
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "${outs[@]}" >>"$WORK/raw-$scenario.txt"
    python3 - "${outs[@]}" <<'PY'
import re, sys
rps = errors = 0.0
p99 = 0.0
for path in sys.argv[1:]:
    text = open(path).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors += sum(int(g) for g in m.groups()) if m else 0
    m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", text)
    v = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    p99 = max(p99, v)
print(f"{rps:.1f} {p99:.1f} {int(errors)}")
PY
}

IFS=, read -ra CONFIGS <<<"${CONFIGS:-sqlite 1,postgres 1,postgres 2,postgres 3}"
RESULTS="$WORK/results.txt"
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    for config in "${CONFIGS[@]}"; do
        set -- $config
        start_servers "$1" "$2"
        for scenario in refresh login; do
            echo "$round $1 $2 $scenario $(load "$scenario")" | tee -a "$RESULTS" >&2
        done
        stop_servers
    done
done

python3 - "$RESULTS" "$ROUNDS" "$DURATION" "$CONNECTIONS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
data = {}
for _, kind, n, scenario, rps, p99, errors in rows:
    data.setdefault((scenario, kind, n), []).append((float(rps), float(p99), int(errors)))
print(f"rounds={sys.argv[2]} duration={sys.argv[3]} connections={sys.argv[4]} (split across replicas)\n")
print("| scenario | backend | replicas | req/s (median) | ratio to SQLite ×1 | p99 ms (median) | errors (non-2xx, socket) |")
print("|---|---|---|---|---|---|---|")
for scenario in ("refresh", "login"):
    ref = statistics.median(r for r, _, _ in data[(scenario, "sqlite", "1")])
    for kind, n in (("sqlite", "1"), ("postgres", "1"), ("postgres", "2"), ("postgres", "3")):
        runs = data[(scenario, kind, n)]
        rps = statistics.median(r for r, _, _ in runs)
        p99 = statistics.median(p for _, p, _ in runs)
        errs = sum(e for _, _, e in runs)
        print(f"| {scenario} | {kind} | {n} | {rps:.0f} | {rps / ref:.2f}× | {p99:.1f} | {errs} |")
PY
