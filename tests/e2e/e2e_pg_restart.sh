#!/usr/bin/env bash
# e2e_pg_restart.sh — keel serving on PostgreSQL while the server restarts
# and while it is down, on a cluster of its own (scripts/pg-cluster.sh; the
# shared fixture cluster must not restart under the other pg tests):
#   - a call in flight when the server restarts gets 503 "unavailable"
#     (JSON), its write is not applied, and the next call works;
#   - while the server is down calls get 503 fast, /readyz 503 and /healthz
#     200 (liveness must not restart replicas over a database outage);
#   - after it is back the next call works without restarting keel.
. "$(dirname "$0")/lib.sh"
src=${KEEL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v psql >/dev/null || { echo "skip: psql not installed (apt-get install postgresql)"; exit 77; }
chmod 0755 "$E2E_TMP"
PGD=$E2E_TMP/pgc
ADMIN=$("$src/scripts/pg-cluster.sh" start "$PGD" 2>"$E2E_TMP/pg.err") || {
    rc=$?; [ "$rc" = 77 ] && { echo "skip: postgresql not installed"; exit 77; }
    fail "could not start a cluster: $(tail -3 "$E2E_TMP/pg.err")"; e2e_done; exit 1; }
trap '"$src/scripts/pg-cluster.sh" stop "$PGD" >/dev/null 2>&1 || true; e2e_cleanup' EXIT
BIN=$(cat "$PGD/bindir")
as_owner() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi; }
psql -q -v ON_ERROR_STOP=1 "$ADMIN" -c "CREATE DATABASE restart" >/dev/null
# The throw-away cluster runs with synchronous_commit = off (pg-cluster.sh,
# for speed): a commit may then still sit in the WAL buffers when the
# immediate restart below drops them, and the put acknowledged before the
# restart would be gone.  This test asserts durability across the restart, so
# its database commits synchronously.
psql -q -v ON_ERROR_STOP=1 "$ADMIN" -c "ALTER DATABASE restart SET synchronous_commit = on" >/dev/null
DB=${ADMIN%/*}/restart
J='Content-Type: application/json'

keel_serve S KEEL_AUTH_DISABLED=1 KEEL_DATABASE_URL="$DB"
base=http://127.0.0.1:$S
http POST "$base/v1/kv/put" -H "$J" -d '{"key":"k","value":"before"}'
expect_status "put before the restart" 200

# ---- a call in flight across a restart -----------------------------------------
# psql holds kv's table locked, so the put waits inside the server; then the
# server restarts (fast: every session is terminated)
psql -q "${ADMIN%/*}/restart" -c "BEGIN; LOCK TABLE kv.kv_items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30);" \
    >/dev/null 2>&1 &
locker=$!
# poll_sql SQL: until it prints 1 (10 s)
poll_sql() {
    local i
    for i in $(seq 1 100); do
        [ "$(psql -At "${ADMIN%/*}/restart" -c "$1" 2>/dev/null)" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}
poll_sql "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'kv.kv_items'::regclass" \
    || fail "psql did not take the lock"
curl -sS -o "$E2E_TMP/inflight.body" -w '%{http_code}' -X POST "$base/v1/kv/put" -H "$J" \
    -d '{"key":"k","value":"in-flight"}' >"$E2E_TMP/inflight.code" 2>/dev/null &
inflight=$!
if poll_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%kv_items%'" \
        && kill -0 "$inflight" 2>/dev/null; then
    ok "the put is in flight (waiting on the lock in the server)"
else
    fail "the put did not wait: $(cat "$E2E_TMP/inflight.code")"
fi
# Immediate, not fast: a fast shutdown ends the locker's session (releasing its
# lock) and the put's at about the same time, and the put could be granted the
# lock and commit in between (seen once under load); SIGQUIT ends every
# session without releasing anything, as a crash or a node loss would.
as_owner "$BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -m immediate -w -t 60 restart >/dev/null
wait "$inflight" || true
wait "$locker" 2>/dev/null || true
expect_eq "in flight at the restart: 503" "$(cat "$E2E_TMP/inflight.code")" 503
expect_contains "as JSON unavailable" "$(cat "$E2E_TMP/inflight.body")" '"unavailable"'
http POST "$base/v1/kv/get" -H "$J" -d '{"key":"k"}'
expect_status "the next call works" 200
expect_eq "the interrupted write was not applied" "$(jget "$HTTP_BODY" value)" before

# ---- the server down, then back ------------------------------------------------
as_owner "$BIN/pg_ctl" -D "$PGD/data" -m fast -w -t 30 stop >/dev/null
t0=$(date +%s%N)
http POST "$base/v1/kv/get" -H "$J" -d '{"key":"k"}'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_status "a call while the database is down" 503
[ "$ms" -lt 6000 ] && ok "answered in ${ms} ms (no hang)" || fail "took ${ms} ms while the database was down"
http_until 503 GET "$base/readyz"   # the health checker's next pass
expect_status "/readyz while the database is down" 503
http GET "$base/healthz"
expect_status "/healthz while the database is down (liveness stays up)" 200
as_owner "$BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 start >/dev/null
http POST "$base/v1/kv/put" -H "$J" -d '{"key":"k","value":"after"}'
expect_status "the first call after the server is back" 200
http POST "$base/v1/kv/get" -H "$J" -d '{"key":"k"}'
expect_eq "and the data is there" "$(jget "$HTTP_BODY" value)" after
http_until 200 GET "$base/readyz"
expect_status "/readyz again" 200
kill -0 "$S_PID" 2>/dev/null && ok "the same keel process throughout" || fail "keel exited"

e2e_done
