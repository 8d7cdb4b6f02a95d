#!/usr/bin/env bash
# e2e_health.sh — health priorities (issue 19, "Health"; docs/observability.md
# "Health"): kv's store broken under a running server (its table dropped, so
# its health query fails).  With KEEL_HEALTH_PRIORITY=kv=degraded /readyz
# answers 200 "degraded" and names kv in the details; with kv critical (the
# default) it answers 503.  Details only for an admin token or on the admin
# listener; /healthz answers 200 throughout.
. "$(dirname "$0")/lib.sh"

if [ "$E2E_BACKEND" = pg ]; then echo "skip: the store is broken with sqlite3 here"; exit 77; fi
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3 CLI"; exit 77; }
J=(-H 'Content-Type: application/json')
ADMIN_PORT=$(free_port)

keel_serve H KEEL_HEALTH_PRIORITY=kv=degraded KEEL_ADMIN_PORT="$ADMIN_PORT" \
    KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1 || { fail "server H"; e2e_done; }
R="http://127.0.0.1:$H/readyz"
ADMIN=$(cd "$E2E_TMP/H" && KEEL_DATABASE_URL="$(e2e_db_url H)" \
        "$KEEL_BIN" auth create-admin --email ops@example.com 2>/dev/null)
A=(-H "Authorization: Bearer $(jget "$ADMIN" token.token)")

http GET "$R" "${A[@]}"
expect_status "/readyz, all healthy" 200
expect_eq "status ok" "$(jget "$HTTP_BODY" status)" ok
expect_eq "kv's priority as configured" "$(jget "$HTTP_BODY" modules.kv.priority)" degraded
expect_eq "auth keeps the default" "$(jget "$HTTP_BODY" modules.auth.priority)" critical
expect_eq "nothing degraded" "$(jget "$HTTP_BODY" degraded)" "[]"

# break kv: its health query reads kv_items
sqlite3 "$E2E_TMP/H/keel.db" 'PRAGMA busy_timeout=5000; DROP TABLE kv_items;' >/dev/null
# /readyz reads the health checker's last pass (one a second): wait for it
http_until 200 GET "$R" "${A[@]}"
t0=$(date +%s%N)
while [ "$(jget "$HTTP_BODY" status)" != degraded ] && [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]; do
    sleep 0.1; http GET "$R" "${A[@]}"
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 3000 ] && ok "the next health pass saw it (${ms} ms)" || fail "kv's failure took ${ms} ms to show"
http GET "$R"
expect_status "/readyz, a degraded module down, no token" 200
expect_eq "no token: status only" "$HTTP_BODY" '{"status":"degraded"}'
http GET "$R" "${A[@]}"
expect_status "/readyz, a degraded module down, admin token" 200
expect_eq "status degraded" "$(jget "$HTTP_BODY" status)" degraded
expect_eq "kv listed as degraded" "$(jget "$HTTP_BODY" degraded)" '["kv"]'
expect_eq "kv's own status is its error" "$(jget "$HTTP_BODY" modules.kv.status)" store_error
expect_eq "the others are ok" "$(jget "$HTTP_BODY" modules.auth.status)" ok
http GET "http://127.0.0.1:$ADMIN_PORT/readyz"
expect_status "/readyz on the admin listener, no token" 200
expect_eq "details on the admin listener" "$(jget "$HTTP_BODY" degraded)" '["kv"]'
http GET "http://127.0.0.1:$H/healthz"
expect_status "/healthz is liveness only" 200
keel_stop H

# the same broken store with kv critical (its default): not ready
keel_serve H2 KEEL_DATABASE_URL="sqlite:$E2E_TMP/H/keel.db" KEEL_ADMIN_PORT="$ADMIN_PORT" \
    || { fail "server H2"; e2e_done; }
R="http://127.0.0.1:$H2/readyz"
http GET "$R"
expect_status "/readyz, a critical module down, no token" 503
expect_eq "no token: status only" "$HTTP_BODY" '{"status":"unavailable"}'
http GET "$R" "${A[@]}"
expect_status "/readyz, a critical module down, admin token" 503
expect_eq "kv critical by default" "$(jget "$HTTP_BODY" modules.kv.priority)" critical
expect_eq "kv failing" "$(jget "$HTTP_BODY" modules.kv.status)" store_error
expect_eq "nothing merely degraded" "$(jget "$HTTP_BODY" degraded)" "[]"
http GET "http://127.0.0.1:$H2/healthz"
expect_status "/healthz still 200" 200
keel_stop H2

# a bad KEEL_HEALTH_PRIORITY stops the start
out=$(cd "$E2E_TMP" && KEEL_HEALTH_PRIORITY=kv=low KEEL_PORT=0 "$KEEL_BIN" serve 2>&1 </dev/null; echo "rc=$?")
expect_contains "a bad priority is refused" "$out" "use module=critical or module=degraded"
expect_contains "exit 2" "$out" "rc=2"

e2e_done
