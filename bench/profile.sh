#!/usr/bin/env bash
# Where each endpoint's time goes: perf samples of a release Tessera (SQLite) under wrk
# load, one endpoint after the other, summarised by shared object and by symbol family
# (signing, verification, SQLite, kernel/scheduling, HTTP, allocation).
#   bench/profile.sh            # DURATION=5 (seconds of samples per endpoint)
# Needs perf (linux-perf) able to sample: `perf stat -e instructions true` tells.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export TESSERA_LOG_FILTER=warn
cargo build --release -q -p tessera
BIN=target/release/tessera
echo bench-password-1 | $BIN --data-dir "$WORK/d" user create --username bench --email b@example.com --password-stdin >/dev/null
secret=$($BIN --data-dir "$WORK/d" --output json client create --id bench --grant client_credentials --scope read |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
$BIN --data-dir "$WORK/d" serve --bind 127.0.0.1:18901 >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18901/readyz >/dev/null && break; sleep 0.1; done
BASE=http://127.0.0.1:18901
AUTH="Basic $(printf '%s' "bench:$secret" | base64 -w0)"
LOGIN='{"username":"bench","password":"bench-password-1"}'
login() { curl -sf -X POST $BASE/auth/token/ -H 'Content-Type: application/json' -d "$LOGIN"; }
ACCESS=$(login | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
CC=$(curl -sf -X POST $BASE/oauth/token -H "Authorization: $AUTH" -d grant_type=client_credentials |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

summarise() { # NAME
    perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
        python3 -c '
import re, sys
families = [
    ("RSA / bignum (aws-lc)", r"rsaz|bn_|RSA|mont|aws_lc.*(mul|sqr|exp)"),
    ("other aws-lc (SHA, HMAC, ECDSA)", r"aws_lc|sha256|hmac"),
    ("argon2", r"argon2|blake2"),
    ("SQLite", r"sqlite3|sqlx"),
    ("kernel: scheduling, futex, wakeups", r"\[k\].*(schedule|switch|futex|wake|spin|idle|irq|syscall)"),
    ("kernel: network and other", r"\[k\]"),
    ("allocation", r"malloc|free|realloc|memmove|memcpy|memset"),
    ("HTTP (hyper, axum, tower)", r"hyper|axum|tower|http::"),
    ("JSON (serde)", r"serde"),
    ("tokio runtime", r"tokio"),
]
totals = {name: 0.0 for name, _ in families}
other = 0.0
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
    if not m:
        continue
    pct, sym = float(m.group(1)), m.group(2)
    for name, pat in families:
        if re.search(pat, sym):
            totals[name] += pct
            break
    else:
        other += pct
top = sorted(totals.items(), key=lambda kv: -kv[1])
print("| " + sys.argv[1] + " | " + "; ".join(f"{n} {p:.0f} %" for n, p in top if p >= 3) + f"; other {other:.0f} % |")
' "$1"
}

run() { # NAME PATH [env for bench/req.lua] ; THREADS
    wrk -t2 -c8 -d$((DURATION + 3))s -s bench/req.lua "$BASE$2" >"$WORK/wrk.txt" &
    local w=$!
    sleep 1.5
    perf record -q -F 499 -g -p "$PID" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
    wait $w || true
    summarise "$1"
}
echo "| endpoint | share of the server's CPU samples |"
echo "|---|---|"
METHOD=POST CTYPE=application/json BODY="$LOGIN" run login /auth/token/
METHOD=POST CTYPE=application/json BODY="{\"token\":\"$ACCESS\"}" run verify /auth/token/verify/
METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$AUTH" BODY="token=$CC" run introspect /oauth/introspect
METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$AUTH" BODY="grant_type=client_credentials" run client_credentials /oauth/token
run jwks /.well-known/jwks.json
run discovery /.well-known/openid-configuration
# Refresh: rotation chains, one per connection.
: >"$WORK/chains"
for _ in $(seq 1 10); do login | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh"])' >>"$WORK/chains"; done
TOKENS_FILE="$WORK/chains" CHAIN_PER_THREAD=4 wrk -t2 -c8 -d$((DURATION + 3))s -s bench/chain.lua "$BASE/auth/token/refresh/" >"$WORK/wrk.txt" &
w=$!
sleep 1.5
perf record -q -F 499 -g -p "$PID" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
wait $w || true
summarise refresh
