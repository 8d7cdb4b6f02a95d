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
# the summary is computed after the upload answered: wait for it
http POST "$B/riding/get_session" "${ANN[@]}" "${J[@]}" -d "{\"session_id\":$SID,\"wait_ms\":30000}"
expect_eq "the session's summary is ready" "$(jget "$HTTP_BODY" status)" ready
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

# ---- /ui/: the dashboard's files, compiled in ---------------------------------
CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
hdr() { # FILE NAME → the header's value (last occurrence), CR stripped
    tr -d '\r' <"$1" | awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1)==n {v=substr($0, length($1)+3)} END {print v}'
}
get() { # PATH [curl args] → $E2E_TMP/h (headers), $E2E_TMP/b (body), HTTP_STATUS
    rm -f "$E2E_TMP/b"; : >"$E2E_TMP/b"
    HTTP_STATUS=$(curl -sS --path-as-is -D "$E2E_TMP/h" -o "$E2E_TMP/b" -w '%{http_code}' "$U$1" "${@:2}" || echo 000)
    HTTP_BODY=$(cat "$E2E_TMP/b")
}
get /ui/
expect_status "GET /ui/" 200
expect_eq "/ui/ is HTML" "$(hdr "$E2E_TMP/h" Content-Type)" "text/html; charset=utf-8"
expect_eq "CSP exact" "$(hdr "$E2E_TMP/h" Content-Security-Policy)" "$CSP"
expect_eq "nosniff" "$(hdr "$E2E_TMP/h" X-Content-Type-Options)" "nosniff"
expect_eq "revalidated, not cached blind" "$(hdr "$E2E_TMP/h" Cache-Control)" "no-cache"
expect_contains "the page loads its script as a module" "$HTTP_BODY" '<script type="module" src="app.js"></script>'
# nothing inline for the CSP to refuse: no script body, no style attribute or element, no on* handler
python3 - "$E2E_TMP/b" <<'PY' && ok "no inline script, style or event handler" || fail "inline code in index.html"
import re, sys
t = open(sys.argv[1]).read()
assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", t)
assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", t, re.I)
PY
for f in app.js api.js charts.js riding.js ops.js; do
    get "/ui/$f"
    expect_status "GET /ui/$f" 200
    expect_eq "$f is JavaScript (RFC 9239)" "$(hdr "$E2E_TMP/h" Content-Type)" "text/javascript; charset=utf-8"
    expect_eq "$f has the CSP too" "$(hdr "$E2E_TMP/h" Content-Security-Policy)" "$CSP"
    # no CDN: the only URL in the code is the SVG namespace
    expect_eq "$f fetches nothing from elsewhere" \
        "$(grep -oE "https?://[^'\"\` ]*" "$E2E_TMP/b" | grep -v '^http://www.w3.org/2000/svg$' || true)" ""
    expect_eq "$f has no innerHTML" "$(grep -c 'innerHTML\|outerHTML\|insertAdjacentHTML\|document.write' "$E2E_TMP/b" || true)" "0"
done
get /ui/app.css
expect_eq "app.css is CSS" "$(hdr "$E2E_TMP/h" Content-Type)" "text/css; charset=utf-8"
get /ui/icon.svg
expect_eq "icon.svg is SVG" "$(hdr "$E2E_TMP/h" Content-Type)" "image/svg+xml"
get /ui/app.js
ETAG=$(hdr "$E2E_TMP/h" ETag)
expect_contains "ETag is a strong quoted tag" "$ETAG" '"'
get /ui/app.js -H "If-None-Match: $ETAG"
expect_status "If-None-Match with the current ETag" 304
expect_eq "304 has no body" "$HTTP_BODY" ""
get /ui/app.js -H 'If-None-Match: "stale"'
expect_status "If-None-Match with another ETag" 200
get /ui/app.js -I
expect_status "HEAD /ui/app.js" 200
get /ui
expect_status "/ui redirects" 301
expect_eq "to /ui/" "$(hdr "$E2E_TMP/h" Location)" "/ui/"
get /ui/ -X POST -d x
expect_status "POST /ui/" 405
expect_eq "405 says GET" "$(hdr "$E2E_TMP/h" Allow)" "GET, HEAD"
get /ui/nope.js
expect_status "unknown asset" 404
expect_eq "404 is JSON" "$(hdr "$E2E_TMP/h" Content-Type)" "application/json"
expect_eq "404 code" "$(jget "$HTTP_BODY" error.code)" "not_found"
# traversal: every spelling is a name that is not in the table (nothing is
# decoded, joined or opened), so a JSON 404 — never the file, never /v1
for p in "/ui/../v1/modules" "/ui/../../etc/passwd" "/ui/%2e%2e/v1/modules" "/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd" \
         "/ui/..%2fv1%2fmodules" "/ui//etc/passwd" "/ui/./index.html" "/ui/%2fetc%2fpasswd" "/ui/index.html%00" \
         "/ui/.%2e/.%2e/etc/passwd" "/ui/..\\..\\etc\\passwd"; do
    get "$p"
    expect_status "traversal $p" 404
    expect_eq "traversal $p: JSON not_found" "$(jget "$HTTP_BODY" error.code)" "not_found"
done

e2e_done
