#!/usr/bin/env bash
# panva's openid-client and jose, then headless Chromium, against a live Tessera.
# Installs them with npm into interop/node/node_modules (from package-lock.json), starts a
# server on a random port with its own data directory, registers a user and four
# clients, runs oidc.mjs, browser.mjs, mfa.mjs (which needs Debian's oathtool) and, against a second server under http://localhost, passkey.mjs. Chromium is Debian's (/usr/bin/chromium, or
# $CHROMIUM); screenshots go to $SCREENSHOTS (default: a temporary directory).
# Usage: interop/node/run.sh [path/to/tessera]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/tessera}
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
data=$(mktemp -d)
server=""
bao_pid=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    [ -n "${pk_server:-}" ] && kill "$pk_server" 2>/dev/null || true
    [ -n "$bao_pid" ] && kill "$bao_pid" 2>/dev/null || true
    [ -n "${smtp_pid:-}" ] && kill "$smtp_pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
password="node-interop-password"
echo "$password" | "$bin" --data-dir "$data" user create --username alice --email alice@example.com --password-stdin >/dev/null
echo "$password" | "$bin" --data-dir "$data" user create --username bob --email bob@example.com --password-stdin >/dev/null
secret_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
bc_port=$(free_port)
web=$("$bin" --data-dir "$data" --output json client create --id web --name Orders --first-party \
    --redirect-uri http://127.0.0.1:9/callback --redirect-uri http://127.0.0.1:9/web \
    --post-logout-redirect-uri http://127.0.0.1:9/bye \
    --backchannel-logout-uri "http://127.0.0.1:$bc_port/bc" \
    --frontchannel-logout-uri http://127.0.0.1:9/fc | secret_of)
"$bin" --data-dir "$data" client create --id partner --name "Partner Reports" \
    --redirect-uri http://127.0.0.1:9/partner >/dev/null
svc=$("$bin" --data-dir "$data" --output json client create --id billing --grant client_credentials \
    --scope read:orders | secret_of)
# Signs its authorization requests (JAR) with a key oidc.mjs publishes at its listener.
jar=$("$bin" --data-dir "$data" --output json client create --id jar --first-party \
    --redirect-uri http://127.0.0.1:9/jar --jwks-uri "http://127.0.0.1:$bc_port/jwks.json" \
    --request-object-signing-alg ES256 --require-signed-request-object | secret_of)
# With aiosmtpd (CI's venv has it), sign-up is on and Chromium signs up through the mail.
smtp_pid=""
if command -v aiosmtpd >/dev/null; then
    smtp_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$data/maildir" >/dev/null 2>&1 &
    smtp_pid=$!
    for _ in $(seq 1 100); do (exec 9<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break; sleep 0.1; done
    export TESSERA_SIGNUP__ENABLED=true TESSERA_MAIL__SMTP_URL="smtp://127.0.0.1:$smtp_port" MAILDIR="$data/maildir"
fi
# The script's back-channel listener is on loopback.
export TESSERA_SSO__BACKCHANNEL_ALLOW_LOOPBACK=true
exec 3< <("$bin" --data-dir "$data" --output json serve --bind 127.0.0.1:0 2>"$data/server.log")
read -r line <&3
server=$(pgrep -f "tessera --data-dir $data --output json serve" | head -n1 || true)
issuer=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["listening"])' "$line")
node "$here/oidc.mjs" "$issuer" "$web" "$svc" alice "$password" "$bc_port" "$jar"
if command -v bao >/dev/null; then
    bao_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export BAO_ADDR="http://127.0.0.1:$bao_port" BAO_TOKEN="interop-root-$$"
    HOME="$data" bao server -dev -dev-root-token-id="$BAO_TOKEN" -dev-listen-address="127.0.0.1:$bao_port" >"$data/bao.log" 2>&1 &
    bao_pid=$!
    for _ in $(seq 1 100); do curl -sf "$BAO_ADDR/v1/sys/health" >/dev/null && break; sleep 0.1; done
fi
node "$here/algorithms.mjs" "$bin"
[ -n "$bao_pid" ] && kill "$bao_pid" 2>/dev/null && bao_pid=""
shots=${SCREENSHOTS:-$data/screenshots}
mkdir -p "$shots"
node "$here/browser.mjs" "$issuer" alice "$password" "$shots" "$web"
node "$here/mfa.mjs" "$issuer" bob "$password" "$shots" "$web"
# Passkeys need a domain as the relying party id (browsers refuse an IP address): a second
# server, under http://localhost:PORT.
pk_data="$data/passkeys"
cb_port=$(free_port)
mkdir -p "$pk_data"
echo "$password" | "$bin" --data-dir "$pk_data" user create --username carol --email carol@example.com --password-stdin >/dev/null
pk_web=$("$bin" --data-dir "$pk_data" --output json client create --id web --name Orders --first-party \
    --redirect-uri "http://127.0.0.1:$cb_port/web" | secret_of)
pk_port=$(free_port)
exec 4< <("$bin" --data-dir "$pk_data" --output json serve --bind "127.0.0.1:$pk_port" \
    --issuer "http://localhost:$pk_port" 2>"$pk_data/server.log")
read -r _ <&4
pk_server=$(pgrep -f "tessera --data-dir $pk_data --output json serve" | head -n1 || true)
node "$here/passkey.mjs" "http://localhost:$pk_port" carol "$password" "$shots" "$pk_web" "$cb_port"
