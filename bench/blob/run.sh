#!/usr/bin/env bash
# bench/blob/run.sh [BUILD_DIR] — memory of storing and reading back one
# gzip member through the store, riding's old way (base64 in a JSON string,
# decode() in SQL) and the new one (keel_store_exec_blob /
# keel_store_one_blob), each in its own process on a fresh database
# (keel_bench_blob, built with the tree; the comment at its top says what is
# measured).  The member: a synthetic ride (BENCH_PLAN at BENCH_RATE Hz,
# default 3 h at 200 Hz) compressed by gzip -3 (riding's zlib level).
# SQLite always; PostgreSQL too when KEEL_TEST_PG_URL names a cluster's
# admin URL (a database keel_bench_blob is created on it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
for b in keel keel_bench_blob; do
    [ -x "$BUILD/$b" ] || { echo "no $BUILD/$b (build the tree first)" >&2; exit 2; }
done
PLAN=${BENCH_PLAN:-"walk:2700,trot-left:2700,canter-right:2700,walk:2700"}
RATE=${BENCH_RATE:-200}
TMP=$(mktemp -d --suffix=-keel-blob)
trap 'rm -rf "$TMP"' EXIT
env -u KEEL_TEST_PG_URL "$BUILD/keel" compute synth --plan "$PLAN" --rate "$RATE" --seed 11 --out "$TMP/ride.csv"
gzip -3 -c "$TMP/ride.csv" >"$TMP/ride.csv.gz"
echo "# $PLAN at $RATE Hz: CSV $(stat -c %s "$TMP/ride.csv") bytes, gzip -3 $(stat -c %s "$TMP/ride.csv.gz") bytes"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for way in old new; do
    rm -f "$TMP"/db*
    "$BUILD/keel_bench_blob" "$way" "$TMP/ride.csv.gz" "sqlite:$TMP/db-$way.db"
done
if [ -n "${KEEL_TEST_PG_URL:-}" ]; then
    base=${KEEL_TEST_PG_URL%/*}
    for way in old new; do
        PGOPTIONS="-c client_min_messages=warning" psql -q "$KEEL_TEST_PG_URL" -c "DROP DATABASE IF EXISTS keel_bench_blob" \
             -c "CREATE DATABASE keel_bench_blob" >/dev/null
        "$BUILD/keel_bench_blob" "$way" "$TMP/ride.csv.gz" "$base/keel_bench_blob"
    done
    psql -q "$KEEL_TEST_PG_URL" -c "DROP DATABASE keel_bench_blob" >/dev/null
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
