#!/usr/bin/env bash
# client_credentials grants/s and introspections/s against a live Tessera (SQLite,
# release build), with wrk; and, in the same run, the raw RS256 signing rate of aws-lc-rs
# (criterion), the floor a signing endpoint cannot beat. Rounds alternate the two
# endpoints; medians are reported.
#   bench/oauth.sh        # ROUNDS=3 DURATION=5s CONNECTIONS=8
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export TESSERA_LOG_FILTER=warn

cargo build --release -q -p tessera
BIN=target/release/tessera
secret=$($BIN --data-dir "$WORK" --output json client create --id bench --grant client_credentials \
    --scope read | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
$BIN --data-dir "$WORK" serve --bind 127.0.0.1:18200 >/dev/null 2>"$WORK/server.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18200/readyz >/dev/null && break; sleep 0.1; done
AUTH="Basic $(printf '%s' "bench:$secret" | base64 -w0)"
token=$(curl -sf -X POST http://127.0.0.1:18200/oauth/token -H "Authorization: $AUTH" \
    -d grant_type=client_credentials | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

run() { # NAME PATH BODY
    AUTH="$AUTH" BODY="$3" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/form.lua \
        "http://127.0.0.1:18200$2" >"$WORK/$1.txt"
    python3 - "$WORK/$1.txt" "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
n = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print(sys.argv[2], rps, p99, int(n.group(1)) if n else 0)
PY
}

: >"$WORK/results.txt"
for _ in $(seq 1 "$ROUNDS"); do
    run client_credentials /oauth/token "grant_type=client_credentials&scope=read" | tee -a "$WORK/results.txt" >&2
    run introspect /oauth/introspect "token=$token" | tee -a "$WORK/results.txt" >&2
done
kill "$PID"; PID=""
cargo bench -q -p tessera-token --bench tokens -- --warm-up-time 1 --measurement-time 3 'raw_aws_lc/RS256_sign' 2>/dev/null \
    | grep -A2 'raw_aws_lc/RS256_sign' | tee "$WORK/raw.txt" >&2
python3 - "$WORK/results.txt" "$WORK/raw.txt" "$DURATION" "$CONNECTIONS" "$ROUNDS" <<'PY'
import re, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
raw = open(sys.argv[2]).read()
m = re.search(r"time:\s+\[[\d.]+ \S+ ([\d.]+) (ns|µs|us|ms)", raw)
median_us = float(m.group(1)) * {"ns": 0.001, "µs": 1, "us": 1, "ms": 1000}[m.group(2)]
per_core = 1e6 / median_us
print(f"rounds={sys.argv[5]} duration={sys.argv[3]} connections={sys.argv[4]}; raw RS256 sign (criterion median, same run): {median_us:.1f} µs = {per_core:.0f}/s per core, {2*per_core:.0f}/s on 2 cores\n")
print("| endpoint | req/s (median) | p99 ms (median) | non-2xx | ratio to raw signing on 2 cores |")
print("|---|---|---|---|---|")
for name in ("client_credentials", "introspect"):
    runs = [(float(r), float(p), int(e)) for n, r, p, e in rows if n == name]
    rps = statistics.median(r for r, _, _ in runs)
    p99 = statistics.median(p for _, p, _ in runs)
    print(f"| {name} | {rps:.0f} | {p99:.1f} | {sum(e for _, _, e in runs)} | {rps / (2 * per_core):.2f} |")
PY
