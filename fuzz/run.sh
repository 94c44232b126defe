#!/usr/bin/env bash
# Fuzz every target for SECONDS each (default 15), starting from the committed seeds
# (forged tokens among them). Needs a nightly toolchain and cargo-fuzz (installed here
# when missing). A crash, or a unit running past 10 s (-timeout; libFuzzer's default is 20
# minutes), stops the script with the reproducer in fuzz/artifacts/.
#   fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-15}
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
for target in verify_token jwks client_auth phc; do
    mkdir -p "corpus/$target"
    cp seeds/$target/* "corpus/$target/"
    echo "== fuzz $target for ${seconds}s"
    cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 2>&1 | grep -E "^Done|ERROR|SUMMARY" || true
    [ -z "$(ls -A artifacts/$target 2>/dev/null)" ] || { echo "fuzz $target found a crash: fuzz/artifacts/$target"; exit 1; }
done
