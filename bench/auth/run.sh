#!/usr/bin/env bash
# bench/auth/run.sh [BUILD_DIR] [SECONDS] [RATE] — login latency and /healthz
# latency while RATE logins/s (default 20) hash passwords (README.md here).
# Starts `keel serve` (release build, default KEEL_THREADS / KEEL_WORKERS,
# default password cost) on a free loopback port with the per-address rate
# limit off (every login comes from 127.0.0.1), registers one user and runs
# login_load.py.  Works against older builds too (unknown keys are ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
SECS=${2:-20}
RATE=${3:-20}
KEEL="$BUILD/keel"
[ -x "$KEEL" ] || { echo "no keel in $BUILD" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/keel-bench-auth.XXXXXX")
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
( cd "$TMP" && exec env KEEL_PORT="$PORT" KEEL_HOST=127.0.0.1 KEEL_LOG_LEVEL=warn \
    KEEL_AUTH_RATE_PER_MIN=0 KEEL_DATABASE_URL="sqlite:$TMP/keel.db" "$KEEL" serve ) >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { echo "keel serve exited:" >&2; cat "$TMP/server.log" >&2; exit 1; }
    sleep 0.05
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse battery"}'
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${RATE} logins/s for ${SECS}s, $("$KEEL" --version 2>/dev/null | head -1)"
python3 "$HERE/login_load.py" "$PORT" "$SECS" "$RATE"
