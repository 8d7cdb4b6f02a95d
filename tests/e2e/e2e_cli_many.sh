#!/usr/bin/env bash
# e2e_cli_many.sh — several rides from a laptop in one command (issue 23):
# `keel riding upload_session --url … -j N --from-name started_at=FORMAT -- FILE…`
# makes one session per file, prints one JSON line per file in input order,
# takes each session's start from its file name (or, --from-column, from the
# CSV's own Unix-time column), keeps going past a bad
# file and exits with the first failure's status.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
if ! keel_serve S KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1; then
    fail "server S did not start"; e2e_done; exit 1
fi
B="http://127.0.0.1:$S/v1"
J=(-H 'Content-Type: application/json')
http POST "$B/auth/register" "${J[@]}" -d '{"email":"many@example.com","password":"hunter22"}'
expect_status "register" 200
http POST "$B/auth/login" "${J[@]}" -d '{"email":"many@example.com","password":"hunter22"}'
TOKEN=$(jget "$HTTP_BODY" token)
A=(-H "Authorization: Bearer $TOKEN")
http POST "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d '{"name":"Season"}'
expect_status "create horse" 200
HORSE=$(jget "$HTTP_BODY" id)

# Five different rides named as a logger would name them; the dates are the
# truth the sessions' started_at must show.
D="$E2E_TMP/rides"
mkdir -p "$D"
dates=(2026-03-01_0800 2026-03-08_0930 2026-03-15_1015 2026-03-22_0745 2026-03-29_1600)
want=(2026-03-01T08:00:00Z 2026-03-08T09:30:00Z 2026-03-15T10:15:00Z 2026-03-22T07:45:00Z 2026-03-29T16:00:00Z)
for i in 0 1 2 3 4; do
    "$KEEL_BIN" compute synth --plan "walk:20,trot-left:20" --rate 50 --seed $((i + 11)) \
        --out "$D/ride_${dates[$i]}.csv"
done
gzip "$D/ride_${dates[4]}.csv"   # one arrives as .csv.gz: sent as it is
files=("$D/ride_${dates[0]}.csv" "$D/ride_${dates[1]}.csv" "$D/ride_${dates[2]}.csv" \
       "$D/ride_${dates[3]}.csv" "$D/ride_${dates[4]}.csv.gz")

set +e
KEEL_TOKEN=$TOKEN "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" --horse_id "$HORSE" \
    -j 3 --from-name 'started_at=%Y-%m-%d_%H%M' -- "${files[@]}" >"$E2E_TMP/many.out" 2>"$E2E_TMP/many.err"
rc=$?
set -e
expect_eq "five files, -j 3: exit 0" "$rc" 0
expect_eq "one JSON line per file" "$(wc -l <"$E2E_TMP/many.out")" 5
check=$(python3 - "$E2E_TMP/many.out" "${files[@]}" -- "${want[@]}" <<'EOF'
import json, sys
args = sys.argv[2:]
cut = args.index("--")
files, want = args[:cut], args[cut + 1:]
lines = [json.loads(l) for l in open(sys.argv[1])]
bad = []
for i, l in enumerate(lines):
    if l.get("file") != files[i]:
        bad.append("line %d is %s, want %s (input order)" % (i, l.get("file"), files[i]))
    elif l.get("status") != 200:
        bad.append("%s: status %s" % (files[i], l.get("status")))
    elif l["result"].get("started_at") != want[i]:
        bad.append("%s: started_at %s, want %s" % (files[i], l["result"].get("started_at"), want[i]))
ids = {l.get("result", {}).get("session_id") for l in lines}
if len(ids) != len(files):
    bad.append("sessions are not distinct: %s" % sorted(map(str, ids)))
print("; ".join(bad) if bad else "ok")
EOF
)
expect_eq "lines in input order, each its own session, started_at from the file name" "$check" ok
http POST "$B/riding/list_sessions" "${A[@]}" "${J[@]}" -d '{"horse_id":'"$HORSE"'}'
expect_eq "the server holds the five sessions" \
    "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["sessions"]))' "$HTTP_BODY")" 5

# Keep going past bad files: a missing one, a name without a date, and a
# file already uploaded (409); the good one in the middle is stored and the
# exit status is the first failure's (3: bad input).
"$KEEL_BIN" compute synth --plan "walk:20,canter-right:20" --rate 50 --seed 99 \
    --out "$D/ride_2026-04-05_0900.csv"
cp "$D/ride_2026-04-05_0900.csv" "$D/nodate.csv"
set +e
KEEL_TOKEN=$TOKEN "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" --horse_id "$HORSE" \
    --from-name 'started_at=%Y-%m-%d_%H%M' --csv @"$D/missing_2026-04-01_0800.csv" \
    --csv @"$D/ride_2026-04-05_0900.csv" --csv @"$D/nodate.csv" --csv @"${files[0]}" \
    >"$E2E_TMP/bad.out" 2>"$E2E_TMP/bad.err"
rc=$?
set -e
expect_eq "bad files among good ones: exit 3, the first failure's (a file that cannot be read)" "$rc" 3
lines=$(python3 -c '
import json, sys
print(" ".join("%s:%s:%s" % (l["file"].rsplit("/", 1)[1], l["status"], l.get("error", {}).get("code", "-"))
               for l in map(json.loads, open(sys.argv[1]))))' "$E2E_TMP/bad.out")
expect_eq "every file answered, in order" "$lines" \
    "missing_2026-04-01_0800.csv:0:invalid_input ride_2026-04-05_0900.csv:200:- nodate.csv:0:invalid_input ride_${dates[0]}.csv:409:already_exists"
expect_contains "stderr names the failed files" "$(cat "$E2E_TMP/bad.err")" "nodate.csv: failed"

# --from-column: started_at from the CSV's own clock.  A logger writing Unix
# time: seconds in one file (1780300800 = 2026-06-01T08:00:00Z), milliseconds
# in a gzipped one (1780392600000 ms = 2026-06-02T09:30:00Z); synth's
# relative clock (0.00, 0.02, …) is refused as not a date.
python3 - "$D/ride_${dates[0]}.csv" "$D/epoch_s.csv" 1780300800 1 <<'EOF2'
import sys
src, dst, t0, scale = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rows = open(src).read().splitlines()
with open(dst, "w") as f:
    f.write(rows[0] + "\n")
    for r in rows[1:]:
        t, rest = r.split(",", 1)
        f.write("%.3f,%s\n" % ((t0 + float(t)) * scale, rest))
EOF2
python3 - "$D/ride_${dates[1]}.csv" "$D/epoch_ms.csv" 1780392600 1000 <<'EOF2'
import sys
src, dst, t0, scale = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rows = open(src).read().splitlines()
with open(dst, "w") as f:
    f.write(rows[0] + "\n")
    for r in rows[1:]:
        t, rest = r.split(",", 1)
        f.write("%.0f,%s\n" % ((t0 + float(t)) * scale, rest))
EOF2
gzip "$D/epoch_ms.csv"
http POST "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d '{"name":"Logger"}'
HORSE_L=$(jget "$HTTP_BODY" id)
set +e
KEEL_TOKEN=$TOKEN "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" --horse_id "$HORSE_L" \
    -j 2 --from-column started_at=time -- "$D/epoch_s.csv" "$D/epoch_ms.csv.gz" "$D/ride_${dates[2]}.csv" \
    >"$E2E_TMP/col.out" 2>"$E2E_TMP/col.err"
rc=$?
set -e
expect_eq "--from-column: the relative clock fails, exit 3" "$rc" 3
cols=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    print(o["status"], o.get("result", {}).get("started_at") or o["error"]["code"])' "$E2E_TMP/col.out" | tr '\n' ' ')
expect_eq "--from-column: seconds, milliseconds (.csv.gz), relative refused" "$cols" \
    "200 2026-06-01T08:00:00Z 200 2026-06-02T09:30:00Z 0 invalid_input "
expect_contains "…the refusal says why" "$(cat "$E2E_TMP/col.out")" "not a Unix time"
set +e
KEEL_TOKEN=$TOKEN "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" --horse_id "$HORSE_L" \
    --from-column started_at=clock -- "$D/ride_${dates[3]}.csv" >"$E2E_TMP/col.out" 2>/dev/null
rc=$?
set -e
expect_eq "--from-column naming a column the file lacks: exit 3" "$rc" 3
expect_contains "…says which" "$(cat "$E2E_TMP/col.out")" "no column 'clock'"

# Usage errors: exit 2, nothing sent.
for args in "-j 0 -- ${files[0]}" "-j 65 -- ${files[0]}" "--from-name started_at -- ${files[0]}" "-j 2" \
            "--from-column started_at -- ${files[0]}" \
            "--from-column started_at=time --from-name started_at=%Y -- ${files[0]}"; do
    set +e
    # shellcheck disable=SC2086  # the words are the flags under test
    KEEL_TOKEN=$TOKEN "$KEEL_BIN" riding upload_session --url "http://127.0.0.1:$S" \
        --horse_id "$HORSE" $args >/dev/null 2>"$E2E_TMP/usage.err"
    rc=$?
    set -e
    expect_eq "usage error '$args': exit 2" "$rc" 2
done
set +e
KEEL_TOKEN=$TOKEN "$KEEL_BIN" riding list_sessions --url "http://127.0.0.1:$S" --horse_id "$HORSE" \
    -j 2 >/dev/null 2>"$E2E_TMP/usage.err"
rc=$?
set -e
expect_eq "-j on a method that takes no file: exit 2" "$rc" 2
expect_contains "…says so" "$(cat "$E2E_TMP/usage.err")" "need a method that takes a file"
"$KEEL_BIN" riding upload_session --help >"$E2E_TMP/help.out"
expect_contains "--help documents -j and --from-name" "$(cat "$E2E_TMP/help.out")" "--from-name FIELD=FORMAT"
expect_contains "--help documents --from-column" "$(cat "$E2E_TMP/help.out")" "--from-column"

keel_stop S
e2e_done
