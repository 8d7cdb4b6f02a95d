#!/usr/bin/env bash
# e2e_ui.sh — the dashboard's server side over HTTP with curl: the two riding
# methods its pictures need (session_windows, session_trace: compute's own
# numbers, owner-checked like get_session) and compute.windows / compute.trace
# they are built on; then /ui/ (assets compiled into the binary: content types,
# the exact Content-Security-Policy, ETag revalidation, JSON 404 for unknown
# assets, traversal attempts).  The browser test is e2e_browser.sh.
. "$(dirname "$0")/lib.sh"

keel_serve S KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1
U="http://127.0.0.1:$S"
B="$U/v1"
J=(-H 'Content-Type: application/json')

login() { # EMAIL → prints a token
    http POST "$B/auth/register" "${J[@]}" -d "{\"email\":\"$1\",\"password\":\"hunter22\"}"
    http POST "$B/auth/login" "${J[@]}" -d "{\"email\":\"$1\",\"password\":\"hunter22\"}"
    jget "$HTTP_BODY" token
}
ANN=(-H "Authorization: Bearer $(login ann@example.com)")
BOB=(-H "Authorization: Bearer $(login bob@example.com)")

# ---- the riding methods the pictures need ------------------------------------
"$KEEL_BIN" compute synth --seed 5 --plan "walk:30,trot-left:40,canter-right:30,walk:20" \
    >"$E2E_TMP/s.csv" 2>/dev/null || fail "compute synth"
http POST "$B/riding/create_horse" "${ANN[@]}" "${J[@]}" -d '{"name":"Comet"}'
HORSE=$(jget "$HTTP_BODY" id)
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-05-01T10:00:00Z" "${ANN[@]}" \
    -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/s.csv"
expect_status "upload a session" 200
SID=$(jget "$HTTP_BODY" session_id)
SUMMARY=$(jget "$HTTP_BODY" summary)

http POST "$B/riding/session_windows" "${ANN[@]}" "${J[@]}" -d "{\"session_id\":$SID}"
expect_status "session_windows" 200
WIN=$HTTP_BODY
# compute's own answer on the same file, over its own method
http POST "$B/compute/windows" "${ANN[@]}" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/s.csv"
expect_status "compute.windows on the same CSV" 200
expect_eq "riding's windows are compute's" "$(jget "$WIN" windows)" "$(jget "$HTTP_BODY" windows)"
# docs/compute.md "windows": the rows tile the session and add up to the summary
python3 - "$WIN" "$SUMMARY" <<'EOF' && ok "windows tile the session, gait times = the summary's" || fail "windows vs summary"
import json, sys
w = json.loads(sys.argv[1]); s = json.loads(sys.argv[2])
rows = w["windows"]; assert w["count"] == len(rows) > 0
end = 0.0; per = {}
for r in rows:
    assert abs(r["t_start"] - end) < 1e-6, r
    end = r["t_end"]; per[r["gait"]] = per.get(r["gait"], 0) + r["t_end"] - r["t_start"]
assert abs(end - s["duration_s"]) < 1e-3
for g, v in s["gaits"].items():
    assert abs(per.get(g, 0) - v["time_s"]) < 0.01, (g, per.get(g), v["time_s"])
EOF

http POST "$B/riding/session_trace" "${ANN[@]}" "${J[@]}" -d "{\"session_id\":$SID,\"max_points\":200}"
expect_status "session_trace" 200
TR=$HTTP_BODY
http POST "$B/compute/trace?max_points=200" "${ANN[@]}" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/s.csv"
expect_status "compute.trace on the same CSV" 200
expect_eq "riding's trace is compute's" "$(jget "$TR" max)" "$(jget "$HTTP_BODY" max)"
python3 - "$TR" "$SUMMARY" <<'EOF' && ok "trace: 100..200 buckets over the whole session, min <= max" || fail "trace shape: ${TR:0:300}"
import json, sys
t = json.loads(sys.argv[1]); s = json.loads(sys.argv[2])
n = len(t["t"]); assert 100 <= n <= 200 and len(t["min"]) == n == len(t["max"])
assert t["samples"] == s["samples"] and t["unit"] == "m/s2"
assert t["bucket_s"] * 200 >= s["duration_s"]
assert all(a <= b for a, b in zip(t["min"], t["max"]))
EOF
http POST "$B/riding/session_trace" "${ANN[@]}" "${J[@]}" -d "{\"session_id\":$SID,\"max_points\":5001}"
expect_status "max_points above 5000" 400
http POST "$B/riding/session_trace" "${ANN[@]}" "${J[@]}" -d "{\"session_id\":$SID,\"max_points\":9}"
expect_status "max_points below 10" 400

# owner checks: a stranger gets exactly what a missing session gets
for m in session_windows session_trace; do
    http POST "$B/riding/$m" "${ANN[@]}" "${J[@]}" -d '{"session_id":999999}'
    expect_status "$m of a missing session" 404
    MISSING=$(jget "$HTTP_BODY" error.message)
    http POST "$B/riding/$m" "${BOB[@]}" "${J[@]}" -d "{\"session_id\":$SID}"
    expect_status "$m of another user's session" 404
    expect_eq "$m: the same answer as missing" "$(jget "$HTTP_BODY" error.message)" \
        "${MISSING/999999/$SID}"
    http POST "$B/riding/$m" "${J[@]}" -d "{\"session_id\":$SID}"
    expect_status "$m without a token" 401
done
http POST "$B/riding/share_horse" "${ANN[@]}" "${J[@]}" \
    -d "{\"horse_id\":$HORSE,\"email\":\"bob@example.com\",\"role\":\"viewer\"}"
expect_status "share the horse with bob" 200
http POST "$B/riding/session_windows" "${BOB[@]}" "${J[@]}" -d "{\"session_id\":$SID}"
expect_status "shared: bob reads the windows" 200
http POST "$B/riding/session_trace" "${BOB[@]}" "${J[@]}" -d "{\"session_id\":$SID}"
expect_status "shared: bob reads the trace" 200

e2e_done
