#!/usr/bin/env bash
# bench/uploads/run.sh [BUILD_DIR] — real-size rides over HTTP (issue 23):
# for each session size (1 h at 100 Hz; 3 h at 200 Hz unless BENCH_SHORT=1)
# and each encoding on the wire (plain text/csv, Content-Encoding: gzip), a
# fresh `keel serve` (SQLite, auth on, defaults otherwise) takes ONE upload;
# we record the upload's wall time (curl, request sent → answer: the session
# stored 'pending'), the time until its summary is stored (the upload's
# start → get_session with wait_ms answering 'ready'; issue 18), the
# server's peak RSS (VmHWM from /proc/<pid>/status, the whole process since
# start, read after the answer) and the stored bytes (the gzip member
# get_session_csv answers with Accept-Encoding: gzip; the row holds those
# bytes as a BLOB since 130eb4e, its base64 before).  Then the download back, plain and gzip, compared
# by SHA-256.  BENCH_RUNS (default 3) repeats each cell; the median is
# printed.  Writes $OUT (default bench/uploads/out/results.txt).
#
# The machine is shared (2 cores, other builds and tests running): wall times
# move by tens of percent between runs.  Read them as orders of magnitude.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
KEEL="$BUILD/keel"
RUNS=${BENCH_RUNS:-3}
OUT=${OUT:-$HERE/out/results.txt}
[ -x "$KEEL" ] || { echo "no keel binary at $KEEL (pass the build dir)" >&2; exit 2; }
for t in curl python3 gzip sha256sum; do
    command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 2; }
done
. "$ROOT/bench/lib.sh"
bench_tmp uploads
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

SIZES=("1h100:walk:900,trot-left:900,canter-right:900,walk:900:100")
[ "${BENCH_SHORT:-0}" = 1 ] || SIZES+=("3h200:walk:2700,trot-left:2700,canter-right:2700,walk:2700:200")
[ "${BENCH_LONG_ONLY:-0}" = 1 ] && SIZES=("${SIZES[@]:1}")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

one() {  # one NAME CSV ENCODING → "ms ready_ms rss_kb stored"
    local csv=$1 enc=$2 port pid tok ms rss sha t0 ready st
    port=$(free_port)
    mkdir -p "$TMP/srv"; rm -f "$TMP/srv/keel.db"*
    ( cd "$TMP/srv" && exec env KEEL_PORT="$port" KEEL_HOST=127.0.0.1 KEEL_DATABASE_URL=sqlite:keel.db \
        KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1 KEEL_CALL_TIMEOUT_MS=600000 \
        KEEL_REQUEST_TIMEOUT_MS=600000 KEEL_LOG_LEVEL=warn "$KEEL" serve ) >"$TMP/srv.log" 2>&1 &
    pid=$!; PIDS+=("$pid")
    wait_up "$port" "$pid"
    local B="http://127.0.0.1:$port/v1" J=(-H 'Content-Type: application/json')
    curl -fsS "$B/auth/register" "${J[@]}" -d '{"email":"b@example.com","password":"hunter22"}' >/dev/null
    tok=$(curl -fsS "$B/auth/login" "${J[@]}" -d '{"email":"b@example.com","password":"hunter22"}' |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    local A=(-H "Authorization: Bearer $tok")
    curl -fsS "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d '{"name":"b"}' >/dev/null
    local body=("--data-binary" "@$csv") hdr=(-H 'Content-Type: text/csv')
    [ "$enc" = gzip ] && body=("--data-binary" "@$csv.gz") && hdr+=(-H 'Content-Encoding: gzip')
    t0=$(date +%s%N)
    ms=$(curl -fsS -o "$TMP/up.json" -w '%{time_total}' "${A[@]}" "${hdr[@]}" "${body[@]}" \
         "$B/riding/upload_session?horse_id=1&started_at=2026-05-01T08:00:00Z") ||
        { echo "upload failed; server log:" >&2; tail -5 "$TMP/srv.log" >&2; exit 1; }
    ms=$(awk '{printf "%d", $1 * 1000}' <<<"$ms")
    st=pending
    while [ "$st" = pending ]; do
        st=$(curl -fsS "${A[@]}" "${J[@]}" -d '{"session_id":1,"wait_ms":30000}' "$B/riding/get_session" |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    done
    ready=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$st" = ready ] || { echo "summary $st; server log:" >&2; tail -5 "$TMP/srv.log" >&2; exit 1; }
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    curl -fsS -H 'Accept-Encoding: gzip' "${A[@]}" "${J[@]}" -d '{"session_id":1}' \
         "$B/riding/get_session_csv" -o "$TMP/dl.gz" ||
        { echo "download failed; server log:" >&2; tail -5 "$TMP/srv.log" >&2; exit 1; }
    sha=$(curl -fsS "${A[@]}" "${J[@]}" -d '{"session_id":1}' "$B/riding/get_session_csv" | sha256sum | cut -d' ' -f1)
    [ "$sha" = "$(sha256sum <"$csv" | cut -d' ' -f1)" ] && [ "$(gzip -dc "$TMP/dl.gz" | sha256sum | cut -d' ' -f1)" = "$sha" ] ||
        { echo "download differs from the upload" >&2; exit 1; }
    echo "$ms $ready $rss $(stat -c %s "$TMP/dl.gz")"
    stop_last
}

for s in "${SIZES[@]}"; do
    name=${s%%:*}; rest=${s#*:}; rate=${rest##*:}; plan=${rest%:*}
    "$KEEL" compute synth --plan "$plan" --rate "$rate" --seed 1 --out "$TMP/$name.csv"
    gzip -6 -c "$TMP/$name.csv" >"$TMP/$name.csv.gz"
    csv_bytes=$(stat -c %s "$TMP/$name.csv"); gz_bytes=$(stat -c %s "$TMP/$name.csv.gz")
    for enc in plain gzip; do
        : >"$TMP/ms"; : >"$TMP/ready"; : >"$TMP/rss"
        for r in $(seq 1 "$RUNS"); do
            read -r ms ready rss stored < <(one "$TMP/$name.csv" "$enc")
            echo "$ms" >>"$TMP/ms"; echo "$ready" >>"$TMP/ready"; echo "$rss" >>"$TMP/rss"
        done
        line=$(printf '%-6s %-5s csv %9d B  wire %9d B  upload %6d ms  summary ready %6d ms (medians of %d)  peak RSS %7d kB  stored gzip %9d B (%.1f%% of the CSV)' \
            "$name" "$enc" "$csv_bytes" "$([ "$enc" = gzip ] && echo "$gz_bytes" || echo "$csv_bytes")" \
            "$(median <"$TMP/ms")" "$(median <"$TMP/ready")" "$RUNS" "$(median <"$TMP/rss")" "$stored" \
            "$(python3 -c "print($stored * 100 / $csv_bytes)")")
        echo "$line" | tee -a "$OUT"
    done
done
