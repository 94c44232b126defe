# Sourced by the load scripts after `cd` to the repository: a scratch directory ($WORK)
# and the servers they start (their pids pushed onto $PIDS), both removed on exit, with
# their children (pip's `bao` is a wrapper that starts the real server); wrk required;
# servers quiet.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
export TESSERA_LOG_FILTER=warn
# One user `bench` (password bench-password-1) in its own data directory, and a server of
# BINARY on PORT, ready: the A/B scripts' servers. Usage: start_bench_server NAME BINARY PORT
start_bench_server() {
    echo bench-password-1 | "$2" --data-dir "$WORK/$1" user create --username bench --email b@example.com --password-stdin >/dev/null
    "$2" --data-dir "$WORK/$1" serve --bind "127.0.0.1:$3" >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$3/readyz" >/dev/null && break; sleep 0.1; done
}
