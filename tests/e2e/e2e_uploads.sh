#!/usr/bin/env bash
# e2e_uploads.sh — real-size rides over HTTP (issue 23): gzip request bodies
# and their bomb guard, a long session generated here uploaded plain and
# gzipped, its summary, the stored CSV downloaded back with the same SHA-256,
# a body over KEEL_MAX_UPLOAD refused before it is read, and a stranger who
# cannot download someone else's CSV.
. "$(dirname "$0")/lib.sh"

command -v gzip >/dev/null || { echo "skip: gzip not installed"; exit 77; }
command -v sha256sum >/dev/null || { echo "skip: sha256sum not installed"; exit 77; }

# ---- gzip bodies: a small server, small limits ------------------------------
if ! keel_serve G KEEL_AUTH_DISABLED=1 KEEL_MAX_UPLOAD=2097152; then
    fail "server G did not start"; e2e_done; exit 1
fi
GU="http://127.0.0.1:$G"
"$KEEL_BIN" compute synth --plan "walk:30,trot-left:30" --rate 100 --seed 3 --out "$E2E_TMP/small.csv"
gzip -6 -c "$E2E_TMP/small.csv" >"$E2E_TMP/small.csv.gz"
half=$(( $(wc -l <"$E2E_TMP/small.csv") / 2 ))
head -n "$half" "$E2E_TMP/small.csv" | gzip -c >"$E2E_TMP/members.gz"
tail -n +"$((half + 1))" "$E2E_TMP/small.csv" | gzip -c >>"$E2E_TMP/members.gz"

agg() {  # agg NAME [curl args…]: compute.aggregate's summary of a body into AGG
    local name=$1; shift
    http POST "$GU/v1/compute/aggregate" "$@"
    expect_status "$name" 200
    AGG=$HTTP_BODY
}
agg "aggregate, plain CSV" -H 'Content-Type: text/csv' --data-binary @"$E2E_TMP/small.csv"
plain=$AGG
expect_eq "the plain CSV has 60 s × 100 Hz samples" "$(jget "$plain" samples)" 6000
agg "aggregate, Content-Encoding: gzip" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/small.csv.gz"
expect_eq "gzip body: the same summary as plain" "$AGG" "$plain"
agg "aggregate, Content-Type: application/gzip (.csv.gz as it is)" \
    -H 'Content-Type: application/gzip' --data-binary @"$E2E_TMP/small.csv.gz"
expect_eq "application/gzip: the same summary as plain" "$AGG" "$plain"
agg "aggregate, two concatenated gzip members (RFC 1952 2.2)" -H 'Content-Type: text/csv' \
    -H 'Content-Encoding: gzip' --data-binary @"$E2E_TMP/members.gz"
expect_eq "concatenated members are one body: the same summary" "$AGG" "$plain"

{ cat "$E2E_TMP/small.csv.gz"; printf 'trailing'; } >"$E2E_TMP/trailing.gz"
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/trailing.gz"
expect_status "gzip with trailing garbage" 400
expect_contains "trailing garbage: invalid_input, says why" "$HTTP_BODY" "not another gzip member"
head -c $(( $(stat -c %s "$E2E_TMP/small.csv.gz") - 100 )) "$E2E_TMP/small.csv.gz" >"$E2E_TMP/cut.gz"
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/cut.gz"
expect_status "truncated gzip" 400
expect_contains "truncated gzip says so" "$HTTP_BODY" "truncated"
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/small.csv"
expect_status "plain bytes sent as gzip" 400
expect_contains "not gzip: invalid_input" "$HTTP_BODY" "invalid_input"

# A bomb: 10 MB of zeros gzip to ~10 KB (deflate's ~1000:1).  The ratio cap
# (200) stops it at ~2 MB of output: answered at once.
head -c 10000000 /dev/zero | gzip -9 >"$E2E_TMP/bomb.gz"
t0=$(date +%s%N)
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/bomb.gz"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_status "10 KB gzip bomb" 413
expect_contains "bomb: too_large names KEEL_MAX_GZIP_RATIO" "$HTTP_BODY" "KEEL_MAX_GZIP_RATIO=200"
expect_eq "bomb: the error carries the limit" "$(jget "$HTTP_BODY" error.limit)" 200
if [ "$ms" -lt 5000 ]; then ok "bomb refused in ${ms} ms"; else fail "bomb took ${ms} ms"; fi
# Past the absolute cap: 3 MB of digits gzip well under the ratio, over KEEL_MAX_UPLOAD (2 MiB).
python3 -c 'import sys
for i in range(300000): sys.stdout.write("%09d\n" % i)' | gzip -9 >"$E2E_TMP/big.gz"
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/big.gz"
expect_status "gzip expanding past KEEL_MAX_UPLOAD" 413
expect_contains "absolute cap named" "$HTTP_BODY" "KEEL_MAX_UPLOAD"
expect_eq "absolute cap: the error carries the limit" "$(jget "$HTTP_BODY" error.limit)" 2097152

http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: br' \
    --data-binary @"$E2E_TMP/small.csv.gz"
expect_status "Content-Encoding: br" 415
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: application/gzip' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/small.csv.gz"
expect_status "gzip twice (header and type)" 415
printf '{"session_id":1}' | gzip -c >"$E2E_TMP/json.gz"
http POST "$GU/v1/riding/get_session" -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/json.gz"
expect_status "gzip to a JSON method" 415
http POST "$GU/v1/echo/echo" -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/json.gz"
expect_status "gzip to a cheap method on the loop (echo)" 415
http GET "$GU/healthz"
expect_status "server G still healthy" 200
keel_stop G

e2e_done
