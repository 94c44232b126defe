#!/usr/bin/env bash
# Tessera against the systems a user would otherwise pick, on this machine, in one run:
#   - djangorestframework-simplejwt (RS256, rotation + blacklist) under gunicorn, 2 sync
#     workers, SQLite: the original design's production stack (bench/peers/simplejwt);
#   - panva's node oidc-provider (client credentials, introspection, refresh; memory
#     adapter; opaque access tokens, and JWT ones through a resource indicator)
#     (bench/peers/node);
#   - Tessera on SQLite (durable: synchronous=FULL) and on PostgreSQL;
#   - the example client service's protected endpoint with tessera-client, and the same
#     handler without verification.
# Every scenario loads each system in turn with wrk on loopback, round after round
# (A B A B …), so machine drift spreads over all of them; medians of the rounds. Two
# references are measured in every round too (criterion): raw RS256 signing (aws-lc-rs)
# and one Argon2id hash with the server's default parameters.
#
#   bench/compare.sh     # ROUNDS=3 DURATION=10s CONNECTIONS=8; SCENARIOS="login refresh …"
#
# Installs the peers into bench/.peers (pip, npm; gitignored) the first time. Needs wrk
# (apt-get install wrk), node and PostgreSQL on 127.0.0.1:5432 (user postgres, trust).
# Prints a Markdown report; writes the chart to $CHART (bench/compare.svg).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
SCENARIOS=${SCENARIOS:-login refresh verify introspect jwks discovery client_credentials protected}
CHART=${CHART:-bench/compare.svg}
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
PEERS=bench/.peers
DB=tessera_compare_$$
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
for tool in wrk node npm psql curl openssl; do
    command -v $tool >/dev/null || { echo "$tool not found (wrk: apt-get install wrk)" >&2; exit 1; }
done
export TESSERA_LOG_FILTER=warn RUST_LOG=warn NODE_ENV=production
PASSWORD=bench-password-1
T1=18611 T2=18612 DJ=18601 NODE=18602 NODE_MINT=18603 SVC=18621
for port in $T1 $T2 $DJ $NODE $NODE_MINT $SVC; do
    ! curl -s -o /dev/null "http://127.0.0.1:$port/" || { echo "port $port is taken" >&2; exit 1; }
done

# --- the peers, installed once into bench/.peers ---------------------------------------
if [ ! -x "$PEERS/venv/bin/gunicorn" ]; then
    python3 -m venv "$PEERS/venv"
    "$PEERS/venv/bin/pip" install -q -r bench/peers/simplejwt/requirements.txt matplotlib==3.11.2
fi
mkdir -p "$PEERS/node"
cp bench/peers/node/package.json bench/peers/node/server.mjs "$PEERS/node/"
[ -d "$PEERS/node/node_modules/oidc-provider" ] || (cd "$PEERS/node" && npm install -q --no-audit --no-fund >/dev/null)
cargo build --release -q -p tessera -p client-service --features client-service/bench-unverified
cargo bench -q -p tessera-token --bench tokens --no-run 2>/dev/null
cargo bench -q -p tessera-server --bench password --no-run 2>/dev/null
BIN=target/release/tessera

wait_http() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }

# --- Tessera, SQLite and PostgreSQL ---------------------------------------------------------
psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $DB"
declare -A SECRET
start_tessera() { # NAME PORT [--database-url URL]
    local name=$1 port=$2; shift 2
    local cli=("$BIN" --data-dir "$WORK/$name" "$@")
    echo "$PASSWORD" | "${cli[@]}" user create --username bench --email bench@example.com --password-stdin >/dev/null
    SECRET[$name]=$("${cli[@]}" --output json client create --id bench --grant client_credentials --scope read | json client_secret)
    "${cli[@]}" serve --bind "127.0.0.1:$port" >/dev/null 2>"$WORK/$name.log" &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/readyz"
}
start_tessera sqlite $T1
T1_PID=${PIDS[-1]}
start_tessera postgres $T2 --database-url "$PG_BASE/$DB"
target/release/client-service --authority http://127.0.0.1:$T1 --bind 127.0.0.1:$SVC \
    --database "sqlite:$WORK/service.db" --bench-unverified-route >/dev/null 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$SVC/api/test/"

# --- simplejwt under gunicorn -------------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/dj.pem" 2>/dev/null
openssl pkey -in "$WORK/dj.pem" -pubout -out "$WORK/dj.pub"
export BENCH_DJANGO_SECRET=$(head -c 32 /dev/urandom | base64) BENCH_DJANGO_DB=$WORK/django.sqlite3 \
    BENCH_JWT_PRIVATE=$WORK/dj.pem BENCH_JWT_PUBLIC=$WORK/dj.pub
(
    cd bench/peers/simplejwt
    export DJANGO_SETTINGS_MODULE=benchsite.settings
    "../../../$PEERS/venv/bin/django-admin" migrate -v0 --pythonpath .
    "../../../$PEERS/venv/bin/python" -c "import django; django.setup(); from django.contrib.auth.models import User; User.objects.create_user('bench', 'bench@example.com', '$PASSWORD')"
)
(cd bench/peers/simplejwt && exec "../../../$PEERS/venv/bin/gunicorn" -w 2 -b 127.0.0.1:$DJ --log-level warning benchsite.wsgi) &
PIDS+=($!)
wait_http "http://127.0.0.1:$DJ/auth/token/"

# --- node oidc-provider (refresh tokens minted on demand at NODE_MINT) ----------------------
node "$PEERS/node/server.mjs" $NODE $NODE_MINT >/dev/null 2>"$WORK/node.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NODE/jwks"
wait_http "http://127.0.0.1:$NODE_MINT/?n=1"
NODE_AUTH="Basic $(printf 'bench:bench-secret-0123456789' | base64 -w0)"
T1_AUTH="Basic $(printf '%s' "bench:${SECRET[sqlite]}" | base64 -w0)"
T2_AUTH="Basic $(printf '%s' "bench:${SECRET[postgres]}" | base64 -w0)"
IDLE_RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$T1_PID/status)

LOGIN_BODY="{\"username\":\"bench\",\"password\":\"$PASSWORD\"}"
login() { curl -sf -X POST "http://127.0.0.1:$1/auth/token/" -H 'Content-Type: application/json' -d "$LOGIN_BODY"; }

# cc_token PORT TOKEN_PATH AUTH INTROSPECTION_PATH: a client_credentials access token,
# checked active by the server's introspection.
cc_token() {
    local t
    t=$(curl -sf -X POST "http://127.0.0.1:$1$2" -H "Authorization: $3" -d grant_type=client_credentials | json access_token)
    curl -sf -X POST "http://127.0.0.1:$1$4" -H "Authorization: $3" -d "token=$t" | grep -q '"active":true' ||
        { echo "introspection at $1 does not find its own token active" >&2; exit 1; }
    echo "$t"
}

# load SCENARIO SYSTEM URL LUA [THREADS]: one wrk run, one row into rows.txt.
load() {
    wrk -t"${5:-2}" -c"$CONNECTIONS" -d"$DURATION" --latency -s "bench/$4" "$3" >"$WORK/out.txt" 2>&1 || cat "$WORK/out.txt" >&2
    python3 bench/compare_report.py row "$WORK/out.txt" "$1" "$2" | tee -a "$WORK/rows.txt" >&2
}
# chain SCENARIO SYSTEM URL TOKENS_FILE FIELD FORM AUTH OFFSET: refresh chains, two wrk
# threads like every other scenario, each with CONNECTIONS/2 chains.
chain() {
    TOKENS_FILE=$4 CHAIN_FIELD=$5 CHAIN_FORM=$6 AUTH=$7 OFFSET=$8 CHAIN_PER_THREAD=$((CONNECTIONS / 2)) \
        load "$1" "$2" "$3" chain.lua 2
}

: >"$WORK/rows.txt"
for round in $(seq 0 $((ROUNDS - 1))); do
    for scenario in $SCENARIOS; do
        case $scenario in
        login)
            for s in sqlite:$T1 postgres:$T2 simplejwt:$DJ; do
                METHOD=POST CTYPE=application/json BODY="$LOGIN_BODY" load login "${s%%:*}" "http://127.0.0.1:${s##*:}/auth/token/" req.lua
            done ;;
        refresh)
            for s in sqlite:$T1 postgres:$T2 simplejwt:$DJ; do
                : >"$WORK/chains"
                for _ in $(seq 1 $((CONNECTIONS + 2))); do login "${s##*:}" | json refresh >>"$WORK/chains"; done
                chain refresh "${s%%:*}" "http://127.0.0.1:${s##*:}/auth/token/refresh/" "$WORK/chains" refresh 0 "" 0
            done
            curl -sf "http://127.0.0.1:$NODE_MINT/?n=$((CONNECTIONS + 2))" >"$WORK/chains"
            chain refresh oidc-provider "http://127.0.0.1:$NODE/token" "$WORK/chains" refresh_token 1 "$NODE_AUTH" 0 ;;
        verify)
            # Fresh access tokens (they live 5 minutes; a round is longer).
            for port in $T1 $T2 $DJ; do login $port | json access >"$WORK/access-$port"; done
            for s in sqlite:$T1 postgres:$T2 simplejwt:$DJ; do
                METHOD=POST CTYPE=application/json BODY="{\"token\":\"$(cat "$WORK/access-${s##*:}")\"}" \
                    load verify "${s%%:*}" "http://127.0.0.1:${s##*:}/auth/token/verify/" req.lua
            done ;;
        introspect)
            # Fresh tokens, checked active (node's memory adapter forgets old ones).
            T1_CC=$(cc_token $T1 /oauth/token "$T1_AUTH" /oauth/introspect)
            T2_CC=$(cc_token $T2 /oauth/token "$T2_AUTH" /oauth/introspect)
            NODE_CC=$(cc_token $NODE /token "$NODE_AUTH" /token/introspection)
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$T1_AUTH" BODY="token=$T1_CC" load introspect sqlite "http://127.0.0.1:$T1/oauth/introspect" req.lua
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$T2_AUTH" BODY="token=$T2_CC" load introspect postgres "http://127.0.0.1:$T2/oauth/introspect" req.lua
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$NODE_AUTH" BODY="token=$NODE_CC" load introspect oidc-provider "http://127.0.0.1:$NODE/token/introspection" req.lua ;;
        jwks)
            load jwks sqlite "http://127.0.0.1:$T1/.well-known/jwks.json" req.lua
            load jwks postgres "http://127.0.0.1:$T2/.well-known/jwks.json" req.lua
            load jwks oidc-provider "http://127.0.0.1:$NODE/jwks" req.lua ;;
        discovery)
            for s in sqlite:$T1 postgres:$T2 oidc-provider:$NODE; do
                load discovery "${s%%:*}" "http://127.0.0.1:${s##*:}/.well-known/openid-configuration" req.lua
            done ;;
        client_credentials)
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$T1_AUTH" BODY="grant_type=client_credentials" load client_credentials sqlite "http://127.0.0.1:$T1/oauth/token" req.lua
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$T2_AUTH" BODY="grant_type=client_credentials" load client_credentials postgres "http://127.0.0.1:$T2/oauth/token" req.lua
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$NODE_AUTH" BODY="grant_type=client_credentials" load client_credentials oidc-provider "http://127.0.0.1:$NODE/token" req.lua
            METHOD=POST CTYPE=application/x-www-form-urlencoded AUTH="$NODE_AUTH" BODY="grant_type=client_credentials&resource=urn:bench:api&scope=api" load client_credentials oidc-provider-jwt "http://127.0.0.1:$NODE/token" req.lua ;;
        protected)
            login $SVC | json access >"$WORK/access-svc"
            AUTH="Bearer $(cat "$WORK/access-svc")" load protected client-service "http://127.0.0.1:$SVC/api/test/" req.lua
            AUTH="Bearer $(cat "$WORK/access-svc")" load protected unverified "http://127.0.0.1:$SVC/bench/unverified/" req.lua ;;
        esac
    done
    # The references, in every round: raw RS256 signing, one Argon2id hash.
    cargo bench -q -p tessera-token --bench tokens -- --warm-up-time 1 --measurement-time 3 'raw_aws_lc/RS256_sign' 2>/dev/null |
        python3 bench/compare_report.py raw rs256_sign | tee -a "$WORK/rows.txt" >&2
    cargo bench -q -p tessera-server --bench password -- --warm-up-time 1 --measurement-time 3 2>/dev/null |
        python3 bench/compare_report.py raw argon2id | tee -a "$WORK/rows.txt" >&2
done
PEAK_RSS_KB=$(awk '/VmHWM/ {print $2}' /proc/$T1_PID/status)
VERSIONS="$("$PEERS/venv/bin/python" -c 'import django, rest_framework, rest_framework_simplejwt, gunicorn; print(f"Django {django.__version__}, DRF {rest_framework.VERSION}, simplejwt {rest_framework_simplejwt.__version__}, gunicorn {gunicorn.__version__}")'); oidc-provider $(node -p "require('./$PEERS/node/node_modules/oidc-provider/package.json').version") on node $(node --version); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); $(psql --version | cut -d' ' -f3-)"
"$PEERS/venv/bin/python" bench/compare_report.py report "$WORK/rows.txt" "$CHART" \
    "rounds=$ROUNDS duration=$DURATION connections=$CONNECTIONS" "$VERSIONS" "$IDLE_RSS_KB" "$PEAK_RSS_KB"
