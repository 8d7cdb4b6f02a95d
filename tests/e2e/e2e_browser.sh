#!/usr/bin/env bash
# e2e_browser.sh — the dashboard in a real browser: headless Debian chromium
# driven by playwright-core (pinned in tests/browser/package-lock.json,
# installed by scripts/deps.sh test).  keel runs with two users (A with a
# horse and a synthetic session, B with a horse of their own) and an admin;
# tests/browser/dashboard.mjs signs in, opens a session, checks the pictures
# against the API's numbers, uploads a file, checks B sees none of A's horses,
# opens Operations, and fails on any console error or CSP violation.
# Screenshots: $KEEL_ARTIFACTS (default <build>/artifacts)/browser/.
# Skipped (77) with the reason when chromium or playwright-core is missing.
. "$(dirname "$0")/lib.sh"

SRC=${KEEL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHROMIUM=${KEEL_CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || { echo "skip: chromium is not installed (apt-get install chromium; scripts/deps.sh test)"; exit 77; }
command -v node >/dev/null || { echo "skip: node is not installed (scripts/deps.sh test)"; exit 77; }
[ -f "$SRC/tests/browser/node_modules/playwright-core/package.json" ] || {
    echo "skip: playwright-core is not installed (cd tests/browser && npm ci; scripts/deps.sh test does it)"; exit 77; }
SHOTS=${KEEL_ARTIFACTS:-$(dirname "$KEEL_BIN")/artifacts}/browser
mkdir -p "$SHOTS"

AUTH_ENV=(KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1)
keel_serve S "${AUTH_ENV[@]}"
U="http://127.0.0.1:$S"
J=(-H 'Content-Type: application/json')
PW=hunter22-browser

user() { # EMAIL → prints a token
    http POST "$U/v1/auth/register" "${J[@]}" -d "{\"email\":\"$1\",\"password\":\"$PW\"}"
    http POST "$U/v1/auth/login" "${J[@]}" -d "{\"email\":\"$1\",\"password\":\"$PW\"}"
    jget "$HTTP_BODY" token
}
TA=$(user ann@example.com)
TB=$(user bob@example.com)
horse() { # TOKEN NAME → prints the id
    http POST "$U/v1/riding/create_horse" -H "Authorization: Bearer $1" "${J[@]}" -d "{\"name\":\"$2\"}"
    jget "$HTTP_BODY" id
}
HA=$(horse "$TA" "Comet")
horse "$TA" "Dancer" >/dev/null
horse "$TB" "Bob's own" >/dev/null
"$KEEL_BIN" compute synth --seed 11 --plan "walk:40,trot-left:60,canter-right:40,jump:1,canter-left:30,walk:20" \
    >"$E2E_TMP/a.csv" 2>"$E2E_TMP/synth.err" || "$KEEL_BIN" compute synth --seed 11 \
    --plan "walk:40,trot-left:60,canter-right:40,walk:20" >"$E2E_TMP/a.csv"
"$KEEL_BIN" compute synth --seed 12 --plan "walk:30,trot:40,walk:10" >"$E2E_TMP/upload.csv"
http POST "$U/v1/riding/upload_session?horse_id=$HA&started_at=2026-05-01T10:00:00Z" \
    -H "Authorization: Bearer $TA" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/a.csv"
expect_status "A uploads a session" 200
SID=$(jget "$HTTP_BODY" session_id)
http POST "$U/v1/riding/get_session" -H "Authorization: Bearer $TA" "${J[@]}" \
    -d "{\"session_id\":$SID,\"wait_ms\":30000}"
expect_eq "its summary is computed (riding.session_uploaded)" "$(jget "$HTTP_BODY" status)" ready
ADMIN=$(env KEEL_DATABASE_URL="$(e2e_db_url S)" "${AUTH_ENV[@]}" "$KEEL_BIN" auth create-admin \
        --email ops@example.com 2>/dev/null | grep -o 'kt_[A-Za-z0-9_-]*' | head -1)
[ -n "$ADMIN" ] && ok "an admin token" || fail "auth create-admin printed no token"

env KEEL_URL="$U" CHROMIUM="$CHROMIUM" A_EMAIL=ann@example.com B_EMAIL=bob@example.com PASSWORD="$PW" \
    ADMIN_TOKEN="$ADMIN" SESSION_ID="$SID" UPLOAD_CSV="$E2E_TMP/upload.csv" SHOTS="$SHOTS" \
    HOME="$E2E_TMP" node "$SRC/tests/browser/dashboard.mjs" >"$E2E_TMP/browser.out" 2>&1 && rc=0 || rc=$?
cat "$E2E_TMP/browser.out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$E2E_TMP/browser.out" | tail -1)
E2E_PASS=$((E2E_PASS + ${line%% passed*}))
n=${line#*passed, }; E2E_FAIL=$((E2E_FAIL + ${n%% failed*}))
[ -n "$line" ] || fail "the browser driver did not finish (exit $rc)"
echo "# screenshots: $SHOTS"
e2e_done
