#!/usr/bin/env bash
# bench/remote/run.sh [BUILD_DIR] [N] — what placement costs (README.md here).
# Starts `keel serve` with only echo local on a free loopback port
# (KEEL_THREADS=1, KEEL_LOG_LEVEL=warn), builds remote_bench.c against the
# build's libkeelrt.a and prints the latency table: in-process keel_call,
# remote keel_call, raw HTTP POST with the same client code, and b/c.
# N (default 20000) calls per series, sequential, one connection each.
# Needs: cc, pkg-config, libevent-dev, libjansson-dev, libsqlite3-dev, libssl-dev, libargon2-dev, curl, python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
N=${2:-20000}
KEEL="$BUILD/keel"
[ -x "$KEEL" ] && [ -f "$BUILD/libkeelrt.a" ] || { echo "no keel build in $BUILD (pass the build dir)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/keel-bench-remote.XXXXXX")
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

PKGS="libevent_core libevent_extra libevent_pthreads jansson sqlite3 libcrypto libargon2"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC/include" -I"$SRC/src" $(pkg-config --cflags $PKGS) \
   -o "$TMP/remote_bench" "$HERE/remote_bench.c" "$BUILD/libkeelrt.a" \
   $(pkg-config --libs $PKGS) -lpthread -lm

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
( cd "$TMP" && exec env KEEL_PORT="$PORT" KEEL_HOST=127.0.0.1 KEEL_THREADS=1 KEEL_LOG_LEVEL=warn \
    KEEL_MODULES_LOCAL=echo KEEL_DATABASE_URL="sqlite:$TMP/keel.db" "$KEEL" serve ) >"$TMP/server.log" 2>&1 &
PID=$!
for i in $(seq 1 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { echo "keel serve exited:" >&2; cat "$TMP/server.log" >&2; exit 1; }
    sleep 0.05
done
echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, N=$N, keel $("$KEEL" --version 2>/dev/null | head -1)"
(cd "$TMP" && ./remote_bench "$PORT" "$N")
