#!/usr/bin/env bash
# bench/events/run_pg.sh [BUILD_DIR] — keel_bench_events on PostgreSQL at full
# durability: a throw-away cluster (scripts/pg-cluster.sh) switched back to
# fsync=on, synchronous_commit=on, full_page_writes=on (the test cluster runs
# with them off), a fresh database per run.  Rows: batch tx=100 with 1 and 3
# dispatching processes, single tx=100 with 1 and 3, batch tx=1 with 1 and 3.
# BENCH_EVENTS (default 20000; tx=1 runs use a tenth) events per run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
BIN="$BUILD/keel_bench_events"
N=${BENCH_EVENTS:-20000}
DIR=$(mktemp -d /tmp/keel-bench-pg-XXXXXX)
chmod 0755 "$DIR"   # the cluster runs as nobody when we are root (scripts/pg-cluster.sh)
[ -x "$BIN" ] || { echo "no $BIN (build the tree first)" >&2; exit 2; }
trap '"$ROOT/scripts/pg-cluster.sh" stop "$DIR/pg" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
URL=$("$ROOT/scripts/pg-cluster.sh" start "$DIR/pg")
psql -q "$URL" -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
     -c "ALTER SYSTEM SET full_page_writes = on"
"$ROOT/scripts/pg-cluster.sh" restart "$DIR/pg"
psql -qAt "$URL" -c "SELECT name || '=' || setting FROM pg_settings WHERE name IN
                     ('fsync', 'synchronous_commit', 'full_page_writes')" | tr '\n' ' '; echo
run=0
one() {   # N TX shape REPLICAS
    run=$((run + 1))
    psql -q "$URL" -c "CREATE DATABASE bench$run"
    echo "load $(cut -d' ' -f1-3 /proc/loadavg): $(/usr/bin/time -f 'cpu %U+%S s' "$BIN" "$1" "$2" "$3" \
         "${URL%/postgres}/bench$run" "$4" 2>&1 | tr '\n' ' ')"
}
one "$N" 100 batch 1
one "$N" 100 batch 3
one "$N" 100 single 1
one "$N" 100 single 3
one $((N / 10)) 1 batch 1
one $((N / 10)) 1 batch 3
