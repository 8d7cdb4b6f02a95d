#!/usr/bin/env bash
# bench/json/run.sh [BUILD_DIR] — keel's JSON reader/writer vs jansson's in
# one process (keel_bench_json, built with the tree): ns per parse and per
# dump of an event payload, an echo body and a 64 KiB document, and the
# ratio (jansson time / keel time; > 1 = keel faster).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
[ -x "$BUILD/keel_bench_json" ] || { echo "no $BUILD/keel_bench_json (build the tree first)" >&2; exit 2; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/keel_bench_json" "${BENCH_JSON_ITERS:-200000}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
