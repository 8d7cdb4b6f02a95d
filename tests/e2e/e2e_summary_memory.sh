#!/usr/bin/env bash
# e2e_summary_memory.sh — the summary of a stored session in bounded memory
# (issue 23: "Aggregation of a stored session streams; it never needs the
# whole CSV twice in memory").
#
# A session is uploaded to a server that does not dispatch events
# (KEEL_EVENTS_DISPATCH=0: it stays pending, its CSV stored as it came), the
# server is stopped, and a second one on the same database runs the
# summary alone, its VmRSS sampled every 20 ms.  Checked:
#   - the summary is ready and covers every sample;
#   - its peak RSS above the idle server's is under 2.25 x the CSV: the
#     CSV once (SQLite's, while a piece is read) or the gzip's copies while
#     it is stored, 2.0 x measured — reading the CSV back whole, copying it,
#     then compressing it beside the copies measured 2.6 x;
#   - with KEEL_MAX_INFLIGHT_BYTES at 2.5 x the CSV the summary still runs:
#     its reservation (keel_ctx_mem_reserve, 2 x) is what it needs, not the
#     upload's 3 x, which the budget refused as too big (the session failed);
#   - the session's CSV downloads back with the sent file's SHA-256, plain
#     (decompressed under the budget) and as gzip (the stored member), each
#     from a restarted, idle server; the gzip download's peak RSS growth is
#     under 3 x the member: the store's copy and the answer's buffer (the
#     member read as bytes, keel_store_one_blob: 1.7-2.1 x measured; through
#     base64 text in a JSON string it was 3.5 x).
# Sanitizer and debug builds (KEEL_E2E_TIMING=0) skip the RSS bound (ASan's
# shadow memory) and use 10 minutes.  SUMMARY_MEM_PLAN / _RATE override
# (measuring: the 3 h at 200 Hz of docs/riding.md).
. "$(dirname "$0")/lib.sh"

command -v sha256sum >/dev/null || { echo "skip: sha256sum not installed"; exit 77; }

if [ "${KEEL_E2E_TIMING:-1}" = 1 ]; then
    PLAN=${SUMMARY_MEM_PLAN:-"walk:900,trot-left:900,canter-right:900,walk:900"}
else
    PLAN=${SUMMARY_MEM_PLAN:-"walk:150,trot-left:150,canter-right:150,walk:150"}
fi
RATE=${SUMMARY_MEM_RATE:-100}
"$KEEL_BIN" compute synth --plan "$PLAN" --rate "$RATE" --seed 11 --out "$E2E_TMP/ride.csv"
CSV_BYTES=$(stat -c %s "$E2E_TMP/ride.csv")
SHA=$(sha256sum "$E2E_TMP/ride.csv" | cut -d' ' -f1)
SAMPLES=$(( $(wc -l <"$E2E_TMP/ride.csv") - 1 ))
echo "# $PLAN at $RATE Hz: $CSV_BYTES bytes, $SAMPLES samples"

AUTH_ENV=(KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1)
LONG=(KEEL_CALL_TIMEOUT_MS=600000 KEEL_REQUEST_TIMEOUT_MS=600000)
if ! keel_serve S "${AUTH_ENV[@]}" "${LONG[@]}" KEEL_EVENTS_DISPATCH=0; then
    fail "server S did not start"; e2e_done; exit 1
fi
B="http://127.0.0.1:$S/v1"
J=(-H 'Content-Type: application/json')
http POST "$B/auth/register" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter22"}'
http POST "$B/auth/login" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter22"}'
expect_status "login" 200
TOKEN=$(jget "$HTTP_BODY" token)
A=(-H "Authorization: Bearer $TOKEN")
http POST "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d '{"name":"Endurance"}'
HORSE=$(jget "$HTTP_BODY" id)
# the idle server's RSS (the second one starts its summary at once: this
# one, same binary and configuration, stands in for it)
BASE=$(awk '/VmRSS/ {print $2}' /proc/"$S_PID"/status)
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-06-01T06:00:00Z" "${A[@]}" \
    -H 'Content-Type: text/csv' --data-binary @"$E2E_TMP/ride.csv"
expect_status "upload answered" 200
SID=$(jget "$HTTP_BODY" session_id)
http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d '{"session_id":'"$SID"'}'
expect_eq "no dispatcher: the session stays pending" "$(jget "$HTTP_BODY" status)" pending
keel_stop S

# the summary alone, under a budget of 2.5 x the CSV; VmRSS every 20 ms
BUDGET=${SUMMARY_MEM_BUDGET:-$((5 * CSV_BYTES / 2))}
if ! keel_serve S "${AUTH_ENV[@]}" "${LONG[@]}" ${SUMMARY_MEM_ENV:-} KEEL_MAX_INFLIGHT_BYTES=$BUDGET; then
    fail "server S did not restart"; e2e_done; exit 1
fi
B="http://127.0.0.1:$S/v1"
( peak=0
  while kill -0 "$S_PID" 2>/dev/null; do
      r=$(awk '/VmRSS/ {print $2}' /proc/"$S_PID"/status 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$peak" ] && { peak=$r; echo "$peak" >"$E2E_TMP/peak"; }; [ -n "${SUMMARY_MEM_TRACE:-}" ] && echo "$(date +%T.%N) $r" >>"$SUMMARY_MEM_TRACE"
      sleep 0.02
  done ) &
SAMPLER=$!
E2E_PIDS+=("$SAMPLER")
t0=$(date +%s%N)
st=pending n=0
while [ "$st" = pending ] && [ $n -lt 20 ]; do
    http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d '{"session_id":'"$SID"',"wait_ms":30000}'
    st=$(jget "$HTTP_BODY" status); n=$((n + 1))
done
sleep 0.1
PEAK=$(cat "$E2E_TMP/peak" 2>/dev/null || echo 0)
GROWTH=$(( (PEAK - BASE) * 1024 ))
echo "# summary: ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms; RSS idle $BASE kB, peak $PEAK kB: +$GROWTH bytes = $(python3 -c "print(f'{$GROWTH / $CSV_BYTES:.2f}')") x the CSV"
expect_eq "summary ready under a budget of 2.5 x the CSV (error: $(jget "$HTTP_BODY" error 2>/dev/null || true))" "$st" ready
expect_eq "the summary covers every sample" "$(jget "$HTTP_BODY" summary.samples)" "$SAMPLES"
if [ "${KEEL_E2E_TIMING:-1}" = 1 ]; then
    if [ $((GROWTH * 4)) -lt $((CSV_BYTES * 9)) ]; then
        ok "the summary's peak RSS growth is under 2.25 x the CSV"
    else
        fail "the summary's peak RSS grew $GROWTH bytes, 2.25 x the CSV is $((CSV_BYTES * 9 / 4))"
    fi
fi

# downloads back, each from an idle server (restarted: what the summary
# left in the heap does not hide what a download takes), VmRSS every 20 ms
# while it runs: plain (decompressed under the same budget) and as gzip
rss_kb() { awk '/VmRSS/ {print $2}' /proc/"$S_PID"/status 2>/dev/null || echo 0; }
# runs "$@" (a download); PEAK_GROWTH = the server's peak VmRSS above its
# RSS just before, in bytes
peak_during() {
    local before peak r pid rc
    before=$(rss_kb); peak=$before
    "$@" & pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        r=$(rss_kb); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.02
    done
    wait "$pid"; rc=$?
    PEAK_GROWTH=$(( (peak - before) * 1024 ))
    return $rc
}
restart_idle() {
    keel_stop S
    if ! keel_serve S "${AUTH_ENV[@]}" "${LONG[@]}" ${SUMMARY_MEM_ENV:-} KEEL_MAX_INFLIGHT_BYTES=$BUDGET; then
        fail "server S did not restart"; e2e_done; exit 1
    fi
    B="http://127.0.0.1:$S/v1"
    http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d '{"session_id":'"$SID"'}'
}
restart_idle
peak_during curl -sS -o "$E2E_TMP/back.csv" -w '%{http_code}' "${A[@]}" "${J[@]}" \
    -d '{"session_id":'"$SID"'}' "$B/riding/get_session_csv" >"$E2E_TMP/code"
echo "# plain download: peak RSS +$PEAK_GROWTH bytes = $(python3 -c "print(f'{$PEAK_GROWTH / $CSV_BYTES:.2f}')") x the CSV"
expect_eq "plain download answered" "$(cat "$E2E_TMP/code")" 200
expect_eq "plain download: the sent file's SHA-256" "$(sha256sum "$E2E_TMP/back.csv" | cut -d' ' -f1)" "$SHA"
restart_idle
peak_during curl -sS -o "$E2E_TMP/back2.csv.gz" -w '%{http_code}' "${A[@]}" "${J[@]}" \
    -H 'Accept-Encoding: gzip' -d '{"session_id":'"$SID"'}' "$B/riding/get_session_csv" >"$E2E_TMP/code"
GZ_BYTES=$(stat -c %s "$E2E_TMP/back2.csv.gz")
echo "# gzip download: peak RSS +$PEAK_GROWTH bytes = $(python3 -c "print(f'{$PEAK_GROWTH / $GZ_BYTES:.2f}')") x the gzip ($GZ_BYTES bytes)"
if [ "${KEEL_E2E_TIMING:-1}" = 1 ]; then
    if [ $((PEAK_GROWTH)) -lt $((GZ_BYTES * 3)) ]; then
        ok "the gzip download's peak RSS growth is under 3 x the member"
    else
        fail "the gzip download's peak RSS grew $PEAK_GROWTH bytes, 3 x the member is $((GZ_BYTES * 3))"
    fi
fi
expect_eq "gzip download answered" "$(cat "$E2E_TMP/code")" 200
expect_eq "gzip download: the sent file's SHA-256" "$(gzip -dc "$E2E_TMP/back2.csv.gz" | sha256sum | cut -d' ' -f1)" "$SHA"

e2e_done
