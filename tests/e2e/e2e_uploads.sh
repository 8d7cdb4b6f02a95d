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
expect_contains "trailing garbage: bad_data, says why" "$HTTP_BODY" "not another gzip member"
head -c $(( $(stat -c %s "$E2E_TMP/small.csv.gz") - 100 )) "$E2E_TMP/small.csv.gz" >"$E2E_TMP/cut.gz"
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/cut.gz"
expect_status "truncated gzip" 400
expect_contains "truncated gzip says so" "$HTTP_BODY" "truncated"
http POST "$GU/v1/compute/aggregate" -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' \
    --data-binary @"$E2E_TMP/small.csv"
expect_status "plain bytes sent as gzip" 400
expect_contains "not gzip: bad_data" "$HTTP_BODY" "bad_data"

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

# ---- a long session, stored and downloaded ----------------------------------
# 1 h at 100 Hz (walk, trot, canter, walk: 21 MB of CSV) in a release build;
# sanitizer and debug builds (KEEL_E2E_TIMING=0) check the same behaviour on
# 10 minutes, a sixth of the bytes.  KEEL_UPLOADS_PLAN overrides (measuring).
if [ "${KEEL_E2E_TIMING:-1}" = 1 ]; then
    PLAN=${KEEL_UPLOADS_PLAN:-"walk:900,trot-left:900,canter-right:900,walk:900"}
else
    PLAN=${KEEL_UPLOADS_PLAN:-"walk:150,trot-left:150,canter-right:150,walk:150"}
fi
RATE=${KEEL_UPLOADS_RATE:-100}
AUTH_ENV=(KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1)
if ! keel_serve S "${AUTH_ENV[@]}" KEEL_CALL_TIMEOUT_MS=300000 KEEL_REQUEST_TIMEOUT_MS=300000; then
    fail "server S did not start"; e2e_done; exit 1
fi
B="http://127.0.0.1:$S/v1"
J=(-H 'Content-Type: application/json')
for who in rider stranger; do
    http POST "$B/auth/register" "${J[@]}" -d '{"email":"'$who'@example.com","password":"hunter22"}'
    expect_status "register $who" 200
    http POST "$B/auth/login" "${J[@]}" -d '{"email":"'$who'@example.com","password":"hunter22"}'
    expect_status "login $who" 200
    printf -v "TOKEN_$who" '%s' "$(jget "$HTTP_BODY" token)"
done
A=(-H "Authorization: Bearer $TOKEN_rider")
X=(-H "Authorization: Bearer $TOKEN_stranger")
http POST "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d '{"name":"Endurance"}'
expect_status "create horse" 200
HORSE=$(jget "$HTTP_BODY" id)

t0=$(date +%s%N)
"$KEEL_BIN" compute synth --plan "$PLAN" --rate "$RATE" --seed 1 --out "$E2E_TMP/ride.csv"
"$KEEL_BIN" compute synth --plan "$PLAN" --rate "$RATE" --seed 2 --out "$E2E_TMP/ride2.csv"
gzip -c "$E2E_TMP/ride2.csv" >"$E2E_TMP/ride2.csv.gz"
echo "# generated two sessions ($PLAN at $RATE Hz) and gzipped one in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
CSV_BYTES=$(stat -c %s "$E2E_TMP/ride.csv")
GZ_BYTES=$(stat -c %s "$E2E_TMP/ride2.csv.gz")
SHA1=$(sha256sum "$E2E_TMP/ride.csv" | cut -d' ' -f1)
SHA2=$(sha256sum "$E2E_TMP/ride2.csv" | cut -d' ' -f1)
SAMPLES=$(( $(wc -l <"$E2E_TMP/ride.csv") - 1 ))

upload() {  # upload NAME STARTED_AT [curl args…]: sets SID, MS
    local name=$1 at=$2; shift 2
    local t0; t0=$(date +%s%N)
    http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=$at" "${A[@]}" "$@"
    MS=$(( ($(date +%s%N) - t0) / 1000000 ))
    expect_status "$name" 200
    SID=$(jget "$HTTP_BODY" session_id)
}
upload "upload the plain CSV ($CSV_BYTES bytes)" 2026-05-01T08:00:00Z \
    -H 'Content-Type: text/csv' --data-binary @"$E2E_TMP/ride.csv"
SID1=$SID; MS1=$MS
expect_eq "plain: content_hash is the CSV's SHA-256" "$(jget "$HTTP_BODY" content_hash)" "$SHA1"
expect_eq "plain: bytes" "$(jget "$HTTP_BODY" bytes)" "$CSV_BYTES"
expect_eq "plain: the upload answers before the summary" "$(jget "$HTTP_BODY" status)" pending
# the summary lands later (riding.session_uploaded); wait for it
t0=$(date +%s%N)
http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d '{"session_id":'"$SID1"',"wait_ms":30000}'
echo "# plain: summary ready $(( ($(date +%s%N) - t0) / 1000000 )) ms after the upload answered"
expect_eq "plain: ready" "$(jget "$HTTP_BODY" status)" ready
expect_eq "plain: summary of every sample" "$(jget "$HTTP_BODY" summary.samples)" "$SAMPLES"
upload "upload the other session gzipped ($GZ_BYTES bytes on the wire)" 2026-05-02T08:00:00Z \
    -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' --data-binary @"$E2E_TMP/ride2.csv.gz"
SID2=$SID; MS2=$MS
expect_eq "gzip: content_hash is the uncompressed CSV's SHA-256" "$(jget "$HTTP_BODY" content_hash)" "$SHA2"
expect_eq "gzip: bytes are the uncompressed size" "$(jget "$HTTP_BODY" bytes)" "$(stat -c %s "$E2E_TMP/ride2.csv")"
echo "# upload (answer, summary pending): plain $MS1 ms, gzip $MS2 ms"
gzip -c "$E2E_TMP/ride.csv" >"$E2E_TMP/ride.csv.gz"
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-05-03T08:00:00Z" "${A[@]}" \
    -H 'Content-Type: application/gzip' --data-binary @"$E2E_TMP/ride.csv.gz"
expect_status "the first session again, as a .csv.gz: the same file" 409
expect_eq "…found by the uncompressed hash" "$(jget "$HTTP_BODY" error.session_id)" "$SID1"

http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d '{"session_id":'"$SID2"',"wait_ms":30000}'
expect_status "get_session of the gzipped upload" 200
expect_eq "gzip: ready" "$(jget "$HTTP_BODY" status)" ready
expect_eq "its summary covers every sample" "$(jget "$HTTP_BODY" summary.samples)" \
    "$(( $(wc -l <"$E2E_TMP/ride2.csv") - 1 ))"

# downloads: plain, gzip decoded by curl, and the gzip bytes as sent
t0=$(date +%s%N)
curl -sS -o "$E2E_TMP/dl1.csv" -D "$E2E_TMP/dl1.h" -X POST "${A[@]}" "$B/riding/get_session_csv?session_id=$SID1"
echo "# download plain: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_contains "download: text/csv" "$(tr -d '\r' <"$E2E_TMP/dl1.h")" "Content-Type: text/csv"
expect_eq "download plain: the same SHA-256" "$(sha256sum <"$E2E_TMP/dl1.csv" | cut -d' ' -f1)" "$SHA1"
t0=$(date +%s%N)
curl -sS --compressed -o "$E2E_TMP/dl2.csv" -D "$E2E_TMP/dl2.h" "${A[@]}" "${J[@]}" \
    -d '{"session_id":'"$SID2"'}' "$B/riding/get_session_csv"
echo "# download gzip: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_contains "download with Accept-Encoding: gzip is gzip-encoded" "$(tr -d '\r' <"$E2E_TMP/dl2.h")" \
    "Content-Encoding: gzip"
expect_eq "download gzip: the same SHA-256 once decoded" "$(sha256sum <"$E2E_TMP/dl2.csv" | cut -d' ' -f1)" "$SHA2"
curl -sS -o "$E2E_TMP/dl3.gz" -H 'Accept-Encoding: gzip' "${A[@]}" "${J[@]}" \
    -d '{"session_id":'"$SID1"'}' "$B/riding/get_session_csv"
expect_eq "the gzip bytes gunzip to the first CSV" "$(gzip -dc "$E2E_TMP/dl3.gz" | sha256sum | cut -d' ' -f1)" "$SHA1"
STORED=$(stat -c %s "$E2E_TMP/dl3.gz")
echo "# stored gzip member: $STORED bytes for $CSV_BYTES bytes of CSV"

# a stranger: the answer for a session that does not exist, word for word
http POST "$B/riding/get_session_csv" "${X[@]}" "${J[@]}" -d '{"session_id":'"$SID1"'}'
expect_status "a stranger downloads the rider's CSV" 404
STRANGER=$(jget "$HTTP_BODY" error.message)
http POST "$B/riding/get_session_csv" "${X[@]}" "${J[@]}" -d '{"session_id":999999}'
expect_status "a session that does not exist" 404
expect_eq "the stranger's answer is the missing session's" \
    "${STRANGER/$SID1/N}" "$(jget "$HTTP_BODY" error.message | sed 's/999999/N/')"
http POST "$B/riding/get_session_csv" "${J[@]}" -d '{"session_id":'"$SID1"'}'
expect_status "no token" 401

# a body over KEEL_MAX_UPLOAD (256 MiB): 300 MiB announced, 1 KiB sent — the
# 413 comes before the body is read, so at once
out=$(python3 - "$S" "$TOKEN_rider" "$HORSE" <<'PY'
import socket, sys, time
port, token, horse = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
t0 = time.monotonic()
s.sendall(("POST /v1/riding/upload_session?horse_id=%s&started_at=2026-05-04T08:00:00Z HTTP/1.1\r\n"
           "Host: x\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\n"
           "Content-Length: %d\r\n\r\n" % (horse, token, 300 << 20)).encode() + b"t,ax\n" * 200)
data = b""
while b"\r\n\r\n" not in data:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.split(b"\r\n")[0].decode(), int((time.monotonic() - t0) * 1000))
PY
)
expect_contains "300 MiB announced: refused" "$out" " 413 "
ms=${out##* }
if [ "${KEEL_E2E_TIMING:-1}" != 1 ] || [ "$ms" -lt 2000 ]; then ok "…before the body is read (${ms} ms)"
else fail "the 413 took ${ms} ms"; fi

head -c 100000000 /dev/zero | gzip -9 >"$E2E_TMP/bomb100.gz"
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-05-05T08:00:00Z" "${A[@]}" \
    -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' --data-binary @"$E2E_TMP/bomb100.gz"
expect_status "a gzip bomb as a session (100 KB → 100 MB)" 413
expect_contains "…named as a bomb" "$HTTP_BODY" "decompression bomb"
http POST "$B/riding/list_sessions" "${A[@]}" "${J[@]}" -d '{"horse_id":'"$HORSE"'}'
expect_eq "two sessions stored, nothing from the refused ones" \
    "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["sessions"]))' "$HTTP_BODY")" 2

# ---- the CLI against the server: keel riding upload_session --url ----------
http POST "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d '{"name":"From the laptop"}'
HORSE2=$(jget "$HTTP_BODY" id)
t0=$(date +%s%N)
set +e
KEEL_TOKEN=$TOKEN_rider "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" \
    --horse_id "$HORSE2" --started_at 2026-05-01T08:00:00Z --csv @"$E2E_TMP/ride.csv" \
    >"$E2E_TMP/cli.out" 2>"$E2E_TMP/cli.err"
rc=$?
set -e
echo "# CLI --url upload (gzip on the wire; summary pending): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
expect_eq "CLI --url upload: exit 0" "$rc" 0
expect_eq "CLI --url upload: the session's hash is the CSV's" \
    "$(jget "$(cat "$E2E_TMP/cli.out")" content_hash)" "$SHA1"
if grep -q "MB/s" "$E2E_TMP/cli.err"; then fail "a progress line although stderr is a file"
else ok "no progress line when stderr is not a terminal"; fi
echo "$TOKEN_rider" >"$E2E_TMP/token"
set +e
KEEL_TOKEN= "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" --token-file "$E2E_TMP/token" \
    --horse_id "$HORSE2" --started_at 2026-05-03T08:00:00Z --csv @"$E2E_TMP/ride.csv.gz" \
    >/dev/null 2>"$E2E_TMP/cli.err"
rc=$?
set -e
expect_eq "the .csv.gz via --token-file: the same file, exit 1 (already_exists)" "$rc" 1
expect_contains "…says already uploaded" "$(cat "$E2E_TMP/cli.err")" "already_exists"
set +e
KEEL_TOKEN= "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" --horse_id "$HORSE2" \
    --started_at 2026-05-04T08:00:00Z --csv @"$E2E_TMP/small.csv" >/dev/null 2>"$E2E_TMP/cli.err"
rc=$?
set -e
expect_eq "no token: exit 1 (unauthorized, as a local call would)" "$rc" 1
expect_contains "…says unauthorized" "$(cat "$E2E_TMP/cli.err")" "unauthorized"
set +e
KEEL_TOKEN=$TOKEN_rider "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$(free_port)" \
    --horse_id "$HORSE2" --started_at 2026-05-04T08:00:00Z --csv @"$E2E_TMP/small.csv" \
    >/dev/null 2>"$E2E_TMP/cli.err"
rc=$?
set -e
expect_eq "nobody listening: exit 4 (unavailable)" "$rc" 4
if command -v script >/dev/null; then
    KEEL_TOKEN=$TOKEN_rider script -qec "'$KEEL_BIN' riding upload_session --url http://127.0.0.1:$S \
        --horse_id $HORSE2 --started_at 2026-05-05T08:00:00Z --csv @'$E2E_TMP/small.csv' \
        >/dev/null" /dev/null >"$E2E_TMP/tty.out" 2>&1 || true
    expect_contains "a progress line on a terminal" "$(tr '\r' '\n' <"$E2E_TMP/tty.out")" "100%"
else
    echo "# skip: no script(1) to give the CLI a terminal (util-linux)"
fi
echo "# server peak RSS (VmHWM): $(awk '/VmHWM/ {print $2, $3}' /proc/"$S_PID"/status)"
keel_stop S

# ---- the local CLI reads a .csv.gz as the CSV --------------------------------
mkdir -p "$E2E_TMP/local"
LOCAL=(env KEEL_DATABASE_URL="$(e2e_db_url local)")
"${LOCAL[@]}" "$KEEL_BIN" riding create_horse --name Local >/dev/null
set +e
"${LOCAL[@]}" "$KEEL_BIN" riding upload_session --horse_id 1 --started_at 2026-05-01T08:00:00Z \
    --csv @"$E2E_TMP/small.csv.gz" >"$E2E_TMP/local.out" 2>"$E2E_TMP/local.err"
rc=$?
set -e
expect_eq "local CLI --csv @small.csv.gz: exit 0" "$rc" 0
expect_eq "…stored as the uncompressed CSV" "$(jget "$(cat "$E2E_TMP/local.out")" content_hash)" \
    "$(sha256sum <"$E2E_TMP/small.csv" | cut -d' ' -f1)"

e2e_done
