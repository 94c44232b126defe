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
