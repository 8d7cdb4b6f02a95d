#!/usr/bin/env bash
# e2e_riding.sh — the riding application end to end over HTTP and the CLI:
# register, login, horses, CSV uploads of synthetic sessions with known
# gaits, summaries (pending at the upload, ready through get_session's
# wait_ms), a trend with flags, scopes (401/403), duplicates (409),
# malformed CSV (400 with its row), unknown horse (404), a second user who
# sees none of it until it is shared, and the operator CLI (create-admin,
# riding list_horses).
. "$(dirname "$0")/lib.sh"

AUTH_ENV=(KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1 KEEL_AUTH_LOCKOUT_FAILURES=3 KEEL_AUTH_LOCKOUT_BASE_S=60)
keel_serve S "${AUTH_ENV[@]}"
B="http://127.0.0.1:$S/v1"
DB=$(e2e_db_url S)
J=(-H 'Content-Type: application/json')

# ---- synthetic sessions (compute synth: deterministic, known ground truth) ----
synth() { # NAME SEED PLAN
    "$KEEL_BIN" compute synth --seed "$2" --plan "$3" --rate 100 >"$E2E_TMP/$1.csv" \
        2>"$E2E_TMP/$1.err" || { cat "$E2E_TMP/$1.err" >&2; fail "synth $1"; }
}
synth trot1   1 "walk:60,trot-left:150,trot-right:150,walk:40"
synth canter2 2 "walk:40,canter-left:120,canter-right:120,walk:30"
synth trot3   3 "walk:60,trot-left:150,trot-right:150,walk:40"
synth trot4   4 "walk:30,trot-left:300,walk:30"

# ---- users and tokens ---------------------------------------------------------
http POST "$B/auth/register" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter22"}'
expect_status "register" 200
expect_eq "default scopes" "$(jget "$HTTP_BODY" scopes)" '["riding:write", "compute:read"]'
http POST "$B/auth/register" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter22"}'
expect_status "register twice" 409
http POST "$B/auth/register" "${J[@]}" -d '{"email":"nope","password":"hunter22"}'
expect_status "register bad email" 400
http POST "$B/auth/register" "${J[@]}" -d '{"email":"x@example.com","password":"short"}'
expect_status "register short password" 400

http POST "$B/auth/login" "${J[@]}" -d '{"email":"rider@example.com","password":"wrong-one"}'
expect_status "login wrong password" 401
# lockout after lockout_failures (3 here) failed logins from one address:
# answered at once with 429 and Retry-After, in auth's own tables
http POST "$B/auth/register" "${J[@]}" -d '{"email":"locked@example.com","password":"hunter22"}'
for i in 1 2 3; do
    http POST "$B/auth/login" "${J[@]}" -d '{"email":"locked@example.com","password":"guess-'$i'"}'
done
expect_status "third wrong password" 401
t0=$(date +%s%3N)
curl -sS -D "$E2E_TMP/h429" -o "$E2E_TMP/b429" -X POST "$B/auth/login" "${J[@]}" \
    -d '{"email":"locked@example.com","password":"hunter22"}' >/dev/null
dt=$(( $(date +%s%3N) - t0 ))
expect_contains "locked out, even with the right password" "$(head -1 "$E2E_TMP/h429")" " 429"
RA=$(tr -d '\r' <"$E2E_TMP/h429" | awk -F': ' 'tolower($1)=="retry-after" {print $2}')
[ -n "$RA" ] && [ "$RA" -ge 55 ] && [ "$RA" -le 60 ] && ok "429 says when to retry (Retry-After: $RA)" \
    || fail "Retry-After: '$RA', want the 60 s lockout"
[ "$dt" -lt 1000 ] && ok "429 answered at once (${dt} ms)" || fail "429 took ${dt} ms"
# passwords never in a URL: auth methods refuse query parameters
http POST "$B/auth/login?email=rider@example.com&password=hunter22" "${J[@]}" -d '{}'
expect_status "login with the password in the query string" 400
expect_contains "says to use the body" "$(jget "$HTTP_BODY" error.message)" "no query parameters"

http POST "$B/auth/login" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter22"}'
expect_status "login" 200
TOKEN=$(jget "$HTTP_BODY" token)
expect_contains "token shape" "$TOKEN" "kt_"
A=(-H "Authorization: Bearer $TOKEN")

http POST "$B/auth/whoami" "${A[@]}"
expect_status "whoami" 200
expect_eq "whoami email" "$(jget "$HTTP_BODY" email)" "rider@example.com"

http POST "$B/auth/create_token" "${A[@]}" "${J[@]}" -d '{"scopes":["riding:read"],"name":"readonly"}'
expect_status "create read-only token" 200
RO=(-H "Authorization: Bearer $(jget "$HTTP_BODY" token)")
http POST "$B/auth/create_token" "${A[@]}" "${J[@]}" -d '{"scopes":["riding:read"],"ttl_s":60}'
expect_status "create a short-lived token" 200
SHORT=$(jget "$HTTP_BODY" token)
http POST "$B/auth/revoke_token" "${A[@]}" "${J[@]}" -d "{\"token_id\":$(jget "$HTTP_BODY" token_id)}"
expect_status "revoke a token" 200
http POST "$B/riding/list_horses" -H "Authorization: Bearer $SHORT"
expect_status "revoked token" 401
expect_contains "revoked token says so" "$HTTP_BODY" "revoked"
http POST "$B/auth/check_token" "${J[@]}" -d "{\"token\":\"$TOKEN\",\"scope\":\"riding:read\"}"
expect_status "check_token (public)" 200
expect_eq "check_token answers the principal" "$(jget "$HTTP_BODY" email)" "rider@example.com"
http POST "$B/auth/create_token" "${A[@]}" "${J[@]}" -d '{"scopes":["admin"]}'
expect_status "cannot grant a scope one lacks" 403
# a login token (24 h) cannot mint a year-long token without the password
http POST "$B/auth/create_token" "${A[@]}" "${J[@]}" -d '{"scopes":["riding:read"],"ttl_s":31536000}'
expect_status "year-long token from a login token" 403
http POST "$B/auth/create_token" "${A[@]}" "${J[@]}" -d '{"scopes":["riding:read"],"ttl_s":604800,"password":"hunter22","name":"dashboard"}'
expect_status "7-day dashboard token with the password" 200
http POST "$B/auth/list_tokens" "${A[@]}" "${J[@]}" -d '{}'
expect_status "list tokens" 200
expect_contains "the dashboard token is listed" "$HTTP_BODY" '"dashboard"'
case "$HTTP_BODY" in *kt_*) fail "list_tokens shows a token";; *) ok "list_tokens never shows a token";; esac
# change_password keeps this session and revokes the others; revoke_all signs out everywhere
http POST "$B/auth/login" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter22"}'
OTHER=(-H "Authorization: Bearer $(jget "$HTTP_BODY" token)")
http POST "$B/auth/change_password" "${OTHER[@]}" "${J[@]}" -d '{"password":"hunter22","new_password":"hunter23"}'
expect_status "change password" 200
http POST "$B/auth/whoami" "${A[@]}"
expect_status "the other sessions are revoked" 401
http POST "$B/auth/revoke_all" "${OTHER[@]}" "${J[@]}" -d '{}'
expect_status "revoke_all" 200
http POST "$B/auth/whoami" "${OTHER[@]}"
expect_status "revoke_all signs the caller out too" 401
http POST "$B/auth/login" "${J[@]}" -d '{"email":"rider@example.com","password":"hunter23"}'
expect_status "login with the new password" 200
TOKEN=$(jget "$HTTP_BODY" token)
A=(-H "Authorization: Bearer $TOKEN")
http POST "$B/auth/create_token" "${A[@]}" "${J[@]}" -d '{"scopes":["riding:read"],"name":"readonly"}'
RO=(-H "Authorization: Bearer $(jget "$HTTP_BODY" token)")

# ---- horses ------------------------------------------------------------------
http POST "$B/riding/create_rider" "${A[@]}" "${J[@]}" -d '{"name":"Ann"}'
expect_status "create rider" 200
RIDER=$(jget "$HTTP_BODY" id)
http POST "$B/riding/create_horse" "${A[@]}" "${J[@]}" -d "{\"name\":\"Comet\",\"rider_ids\":[$RIDER]}"
expect_status "create horse" 200
HORSE=$(jget "$HTTP_BODY" id)

http POST "$B/riding/create_rider" "${A[@]}" "${J[@]}" -d '{"name":"Ben"}'
RIDER2=$(jget "$HTTP_BODY" id)
http POST "$B/riding/add_rider_to_horse" "${A[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE,\"rider_id\":$RIDER2}"
expect_status "add a second rider" 200
expect_eq "horse has two riders" "$(jget "$HTTP_BODY" rider_ids)" "[$RIDER, $RIDER2]"
http POST "$B/riding/list_riders" "${A[@]}"
expect_status "list riders" 200
expect_eq "second rider listed" "$(jget "$HTTP_BODY" riders.1.name)" Ben

http POST "$B/riding/create_horse" "${J[@]}" -d '{"name":"NoToken"}'
expect_status "no token" 401
http POST "$B/riding/create_horse" -H "Authorization: Bearer kt_bogus" "${J[@]}" -d '{"name":"Bad"}'
expect_status "bad token" 401
http POST "$B/riding/create_horse" "${RO[@]}" "${J[@]}" -d '{"name":"ReadOnly"}'
expect_status "read-only token writes" 403
http POST "$B/riding/list_horses" "${RO[@]}"
expect_status "read-only token reads" 200

# ---- uploads -----------------------------------------------------------------
upload() { # CSVNAME DATE [HORSE]
    http POST "$B/riding/upload_session?horse_id=${3:-$HORSE}&rider_id=$RIDER&started_at=$2" \
        "${A[@]}" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/$1.csv"
}
# dominant gait of a session object (largest share)
dominant() {
    python3 -c 'import json,sys
g=json.loads(sys.argv[1])["summary"]["gaits"]
print(max(g, key=lambda k: g[k]["share"]))' "$1"
}

# the upload answers before the summary exists (docs/riding.md "Summaries are
# asynchronous"); get_session's wait_ms blocks until the handler stored it
settle() { # SESSION_ID → HTTP_BODY: the session once it left 'pending'
    http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d "{\"session_id\":$1,\"wait_ms\":30000}"
    expect_status "get_session $1 with wait_ms" 200
    expect_eq "session $1 ready" "$(jget "$HTTP_BODY" status)" ready
}

upload trot1 2026-05-01T10:00:00Z
expect_status "upload 1" 200
expect_eq "upload answers with the session pending" "$(jget "$HTTP_BODY" status)" pending
expect_eq "no summary in the upload's answer" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["summary"])' "$HTTP_BODY")" None
S1=$(jget "$HTTP_BODY" session_id)
settle "$S1"
expect_eq "session 1 dominant gait" "$(dominant "$HTTP_BODY")" trot
upload canter2 2026-05-03T10:00:00Z
expect_status "upload 2" 200
settle "$(jget "$HTTP_BODY" session_id)"
expect_eq "session 2 dominant gait" "$(dominant "$HTTP_BODY")" canter
upload trot3 2026-05-05T10:00:00Z
expect_status "upload 3" 200
S3=$(jget "$HTTP_BODY" session_id)
upload trot4 2026-05-07T09:00:00%2B02:00  # "+" must be URL-encoded
expect_status "upload 4" 200
expect_eq "started_at normalized to UTC" "$(jget "$HTTP_BODY" started_at)" "2026-05-07T07:00:00Z"
S4=$(jget "$HTTP_BODY" session_id)
settle "$S3"
settle "$S4"

upload trot1 2026-06-01T10:00:00Z
expect_status "duplicate upload" 409
expect_eq "duplicate names the stored session" "$(jget "$HTTP_BODY" error.session_id)" "$S1"

printf 'time,ax,ay,az,gx,gy,gz\n0.00,0.1,0.2,9.8,0,0,0\n0.01,zz,0.2,9.8,0,0,0\n' >"$E2E_TMP/bad.csv"
upload bad 2026-05-09T10:00:00Z
expect_status "malformed CSV" 400
expect_eq "malformed CSV error code" "$(jget "$HTTP_BODY" error.code)" bad_data
expect_contains "malformed CSV names its row" "$HTTP_BODY" "row 2 (line 3), column 'ax'"

upload trot1 2026-05-01T10:00:00Z 999999
expect_status "unknown horse" 404
http POST "$B/riding/upload_session?horse_id=$HORSE" "${A[@]}" -H 'Content-Type: text/csv' \
    --data-binary "@$E2E_TMP/trot1.csv"
expect_status "missing started_at" 400
upload trot1 yesterday
expect_status "bad started_at" 400
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-05-01T10:00:00Z" "${RO[@]}" \
    -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/trot1.csv"
expect_status "read-only token uploads" 403

# ---- reading back ------------------------------------------------------------
http POST "$B/riding/list_sessions" "${RO[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
expect_status "list sessions" 200
expect_eq "four sessions stored" "$(python3 -c 'import json,sys;print(len(json.loads(sys.argv[1])["sessions"]))' "$HTTP_BODY")" 4
expect_eq "newest first" "$(jget "$HTTP_BODY" sessions.0.session_id)" "$S4"
http POST "$B/riding/get_session" "${RO[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "get session" 200
expect_eq "summary samples" "$([ "$(jget "$HTTP_BODY" summary.samples)" -gt 30000 ] && echo yes)" yes
http POST "$B/riding/get_session" "${RO[@]}" "${J[@]}" -d '{"session_id":424242}'
expect_status "unknown session" 404

http POST "$B/riding/horse_trend" "${RO[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
expect_status "horse trend" 200
expect_eq "trend sessions" "$(jget "$HTTP_BODY" horses.0.sessions)" 4
expect_eq "trend last session" "$(jget "$HTTP_BODY" horses.0.last_session_id)" "$S4"
expect_contains "trend flags the one-rein session" "$(jget "$HTTP_BODY" horses.0.flags)" rein_imbalance

# ---- a second user sees nothing of the first one's data -------------------------
http POST "$B/auth/register" "${J[@]}" -d '{"email":"other@example.com","password":"hunter22"}'
expect_status "register a second user" 200
http POST "$B/auth/login" "${J[@]}" -d '{"email":"other@example.com","password":"hunter22"}'
O=(-H "Authorization: Bearer $(jget "$HTTP_BODY" token)")
http POST "$B/riding/list_horses" "${O[@]}"
expect_status "second user lists horses" 200
expect_eq "second user sees no horse" "$(jget "$HTTP_BODY" horses)" "[]"
http POST "$B/riding/list_riders" "${O[@]}"
expect_eq "second user sees no rider" "$(jget "$HTTP_BODY" riders)" "[]"
for m in get_session delete_session; do
    http POST "$B/riding/$m" "${O[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
    expect_status "second user $m of the first user's session" 404
done
for m in list_sessions horse_trend; do
    http POST "$B/riding/$m" "${O[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
    expect_status "second user $m of the first user's horse" 404
    expect_eq "$m: same answer as for no horse" "$(jget "$HTTP_BODY" error.message)" "horse $HORSE not found"
done
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-07-01T10:00:00Z" "${O[@]}" \
    -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/trot3.csv"
expect_status "second user uploads to the first user's horse" 404
http POST "$B/riding/share_horse" "${O[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE,\"email\":\"other@example.com\",\"role\":\"editor\"}"
expect_status "second user shares the first user's horse with themself" 404
# shared as viewer: reads, cannot upload
http POST "$B/riding/share_horse" "${A[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE,\"email\":\"other@example.com\",\"role\":\"viewer\"}"
expect_status "owner shares as viewer" 200
http POST "$B/riding/list_horses" "${O[@]}"
expect_eq "viewer lists the shared horse" "$(jget "$HTTP_BODY" horses.0.id)" "$HORSE"
expect_eq "viewer's role" "$(jget "$HTTP_BODY" horses.0.role)" viewer
http POST "$B/riding/get_session" "${O[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "viewer reads a session" 200
http POST "$B/riding/upload_session?horse_id=$HORSE&started_at=2026-07-01T10:00:00Z" "${O[@]}" \
    -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/trot3.csv"
expect_status "viewer uploads" 403
http POST "$B/riding/unshare_horse" "${A[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE,\"email\":\"other@example.com\"}"
expect_status "owner unshares" 200
http POST "$B/riding/get_session" "${O[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "unshared: not found again" 404

# ---- operator CLI --------------------------------------------------------------
OUT=$(env KEEL_DATABASE_URL="$DB" "${AUTH_ENV[@]}" "$KEEL_BIN" auth create-admin --email a@b.c \
      2>"$E2E_TMP/admin.err") && rc=0 || rc=$?
expect_eq "create-admin exit" "$rc" 0
ADMIN=$(jget "$OUT" token.token)
expect_contains "create-admin prints a token" "$ADMIN" "kt_"
http POST "$B/auth/list_users" -H "Authorization: Bearer $ADMIN"
expect_status "admin lists users" 200
expect_contains "users listed" "$HTTP_BODY" "rider@example.com"
http POST "$B/auth/list_users" "${A[@]}"
expect_status "rider lists users" 403
env KEEL_DATABASE_URL="$DB" "$KEEL_BIN" auth create-admin --email not-an-email >/dev/null 2>&1 && rc=0 || rc=$?
expect_eq "create-admin bad email exit" "$rc" 3
# someone registered other@ first: create-admin does not promote it with their password
env KEEL_DATABASE_URL="$DB" "${AUTH_ENV[@]}" "$KEEL_BIN" auth create-admin --email other@example.com \
    >/dev/null 2>"$E2E_TMP/squat.err" && rc=0 || rc=$?
expect_eq "create-admin on an existing user without --password exit" "$rc" 2
expect_contains "says why" "$(cat "$E2E_TMP/squat.err")" "--password"
http POST "$B/auth/list_users" "${O[@]}"
expect_status "the squatter is not an admin" 403
# /readyz details are for admins only
http GET "http://127.0.0.1:$S/readyz"
expect_status "readyz without a token" 200
expect_eq "readyz without a token: status only" "$HTTP_BODY" '{"status":"ok"}'
http GET "http://127.0.0.1:$S/readyz" -H "Authorization: Bearer $ADMIN"
expect_contains "readyz with an admin token: details" "$HTTP_BODY" '"modules"'

# the operator acts for a user with --owner: the horse is theirs
OUT=$(env KEEL_DATABASE_URL="$DB" "$KEEL_BIN" --owner other@example.com riding create_horse --name Owned \
      2>"$E2E_TMP/owner.err") && rc=0 || rc=$?
expect_eq "cli --owner exit" "$rc" 0
OWNED=$(jget "$OUT" id)
http POST "$B/riding/list_horses" "${O[@]}"
expect_contains "the --owner horse belongs to that user" "$(jget "$HTTP_BODY" horses)" "\"id\": $OWNED"
OUT=$(env KEEL_DATABASE_URL="$DB" "$KEEL_BIN" riding create_horse --name Barn 2>/dev/null)
BARN=$(jget "$OUT" id)
expect_eq "an operator horse has no owner" "$(jget "$OUT" owner_id)" ""
http POST "$B/riding/list_sessions" "${O[@]}" "${J[@]}" -d "{\"horse_id\":$BARN}"
expect_status "operator rows are admin-only" 404
env KEEL_DATABASE_URL="$DB" "$KEEL_BIN" riding assign-owner --horse_id "$BARN" --email other@example.com \
    >/dev/null 2>&1 && rc=0 || rc=$?
expect_eq "assign-owner exit" "$rc" 0
http POST "$B/riding/list_sessions" "${O[@]}" "${J[@]}" -d "{\"horse_id\":$BARN}"
expect_status "assigned: now the user's" 200

OUT=$(env KEEL_DATABASE_URL="$DB" "$KEEL_BIN" riding list_horses 2>"$E2E_TMP/cli.err") && rc=0 || rc=$?
expect_eq "cli list_horses exit" "$rc" 0
expect_eq "cli sees the horse" "$(jget "$OUT" horses.0.name)" Comet
expect_eq "cli sees its sessions" "$(jget "$OUT" horses.0.sessions)" 4

# ---- delete ----------------------------------------------------------------------
http POST "$B/riding/delete_session" "${A[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "delete session" 200
http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "deleted session is gone" 404
upload trot1 2026-05-01T10:00:00Z
expect_status "re-upload after delete" 200
settle "$(jget "$HTTP_BODY" session_id)"

# ---- a one-shot CLI upload runs no dispatcher: it summarizes before answering ----
synth trot5 5 "walk:30,trot-left:60,walk:10"
OUT=$(env KEEL_DATABASE_URL="$DB" "${AUTH_ENV[@]}" "$KEEL_BIN" --owner rider@example.com riding \
      upload_session --horse_id "$HORSE" --started_at 2026-08-01T10:00:00Z \
      --csv "@$E2E_TMP/trot5.csv" 2>"$E2E_TMP/cliup.err") && rc=0 || rc=$?
expect_eq "cli upload exit status" "$rc" 0
expect_eq "cli upload answers ready (summarized inline)" "$(jget "$OUT" status)" ready
S5=$(jget "$OUT" session_id)
# the server's dispatcher then delivers the CLI's event: the session is ready already
http POST "$B/riding/get_session" "${A[@]}" "${J[@]}" -d "{\"session_id\":$S5}"
expect_eq "cli session read over HTTP" "$(jget "$HTTP_BODY" status) $(jget "$HTTP_BODY" summary.samples)" \
    "ready $(jget "$OUT" summary.samples)"

e2e_done
