#!/usr/bin/env bash
# bench/events/run.sh [BUILD_DIR] — events/s emitted + handled by one keel
# process on SQLite, with emit-to-handle latency (keel_bench_events, built
# with the tree).  Runs, at the store's default durability unless
# KEEL_STORE_SYNC is set:
#   batch  tx=100   handler subscription KEEL_SUB_BATCH (one commit per claimed batch)
#   single tx=100   one handler transaction per event
#   batch  tx=1     producers committing every event
#   single tx=1
# BENCH_EVENTS (default 20000) events per run; 1 KiB payloads.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
BIN="$BUILD/keel_bench_events"
N=${BENCH_EVENTS:-20000}
[ -x "$BIN" ] || { echo "no $BIN (build the tree first)" >&2; exit 2; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" "$N" 100 batch
"$BIN" "$N" 100 single
"$BIN" "$N" 1 batch
"$BIN" "$N" 1 single
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
