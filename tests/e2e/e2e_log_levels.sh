#!/usr/bin/env bash
# e2e_log_levels.sh — the log level per module (issue 19, "Logs";
# docs/observability.md "Log levels"): KEEL_LOG_LEVEL=info,kv=debug turns on
# kv's per-call debug line and not echo's; admin.log_levels and
# admin.set_log_level read and change the levels of the serving process
# (scope admin); SIGHUP re-reads the config file (a bad value leaves the
# levels as they were, and the process keeps serving); a bad
# KEEL_LOG_LEVEL stops the start with a message.
. "$(dirname "$0")/lib.sh"

J=(-H 'Content-Type: application/json')
CFG="$E2E_TMP/keel.json"
echo '{"log_level": "info,kv=debug"}' >"$CFG"

# the log lines written so far that say "<module>.<method>: ok" at debug
debug_lines() {  # debug_lines LOG CALL
    python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    if not l.startswith('{'):
        continue
    d = json.loads(l)
    if d.get("level") == "debug" and d.get("msg") == sys.argv[2] + ": ok":
        n += 1
print(n)
PY
}
# waits up to 5 s for the log to hold text (event loops write idle)
wait_log() {  # wait_log LOG TEXT
    for _ in $(seq 1 100); do grep -q -- "$2" "$1" && return 0; sleep 0.05; done
    return 1
}

keel_serve S KEEL_CONFIG="$CFG" KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1 || { fail "server S"; e2e_done; }
B="http://127.0.0.1:$S/v1"
ADMIN=$(cd "$E2E_TMP/S" && KEEL_DATABASE_URL="$(e2e_db_url S)" \
        "$KEEL_BIN" auth create-admin --email ops@example.com 2>/dev/null)
TOK=$(jget "$ADMIN" token.token)
A=(-H "Authorization: Bearer $TOK")

http POST "$B/admin/log_levels" "${J[@]}" -d '{}'
expect_status "admin.log_levels without a token" 401
http POST "$B/auth/create_token" "${J[@]}" "${A[@]}" -d '{"scopes":["kv:read","kv:write"],"name":"kv"}'
KVTOK=$(jget "$HTTP_BODY" token)
http POST "$B/admin/set_log_level" "${J[@]}" -H "Authorization: Bearer $KVTOK" -d '{"level":"debug"}'
expect_status "admin.set_log_level without scope admin" 403

http POST "$B/admin/log_levels" "${J[@]}" "${A[@]}" -d '{}'
expect_status "admin.log_levels" 200
expect_eq "levels from the config file" "$(jget "$HTTP_BODY" level)" "info,kv=debug"
expect_eq "kv at debug" "$(jget "$HTTP_BODY" modules.kv)" "debug"
expect_eq "echo follows the default" "$(jget "$HTTP_BODY" modules.echo)" "info"
expect_eq "admin runs here too" "$(jget "$HTTP_BODY" modules.admin)" "info"

http POST "$B/kv/put" "${J[@]}" "${A[@]}" -d '{"key":"a","value":"1"}'
expect_status "kv.put" 200
http POST "$B/echo/echo" "${J[@]}" -d '{"x":1}'
expect_status "echo.echo" 200
wait_log "$E2E_TMP/S.log" '"msg":"kv.put: ok"' || true
sleep 0.3  # echo's line (if any) comes from an event loop's buffer
expect_eq "kv.put logs its debug line" "$(debug_lines "$E2E_TMP/S.log" kv.put)" 1
expect_eq "echo.echo does not (info)" "$(debug_lines "$E2E_TMP/S.log" echo.echo)" 0
line=$(grep '"msg":"kv.put: ok"' "$E2E_TMP/S.log" | head -1)
expect_contains "the debug line names its module" "$line" '"module":"kv"'
expect_contains "and its request" "$line" '"request_id":"r-'

# at run time: echo to debug, kv back to the default
http POST "$B/admin/set_log_level" "${J[@]}" "${A[@]}" -d '{"module":"echo","level":"debug"}'
expect_status "admin.set_log_level echo=debug" 200
expect_eq "the answer has the new levels" "$(jget "$HTTP_BODY" level)" "info,echo=debug,kv=debug"
http POST "$B/admin/set_log_level" "${J[@]}" "${A[@]}" -d '{"module":"kv","level":"default"}'
expect_status "admin.set_log_level kv=default" 200
expect_eq "kv follows the default again" "$(jget "$HTTP_BODY" modules.kv)" "info"
http POST "$B/echo/echo" "${J[@]}" -d '{"x":2}'
http POST "$B/kv/get" "${J[@]}" "${A[@]}" -d '{"key":"a"}'
expect_status "kv.get" 200
wait_log "$E2E_TMP/S.log" '"msg":"echo.echo: ok"' || true
sleep 0.3
expect_eq "echo.echo now logs at debug" "$(debug_lines "$E2E_TMP/S.log" echo.echo)" 1
expect_eq "kv.get does not" "$(debug_lines "$E2E_TMP/S.log" kv.get)" 0
expect_contains "the change is logged with who made it" "$(cat "$E2E_TMP/S.log")" \
    "log level: echo=debug by user"
http POST "$B/admin/set_log_level" "${J[@]}" "${A[@]}" -d '{"module":"nosuch","level":"debug"}'
expect_status "a module not built in" 404
http POST "$B/admin/set_log_level" "${J[@]}" "${A[@]}" -d '{"level":"loud"}'
expect_status "a level that is none" 400
http POST "$B/admin/set_log_level" "${J[@]}" "${A[@]}" -d '{"level":"default"}'
expect_status "default without a module" 400
http POST "$B/admin/set_log_level?level=debug" "${J[@]}" "${A[@]}" -d '{}'
expect_status "input from the query string" 400

# SIGHUP: the config file again (the run-time change goes)
echo '{"log_level": "warn,riding=debug"}' >"$CFG"
kill -HUP "$S_PID"
wait_log "$E2E_TMP/S.log" 'SIGHUP: log level warn,riding=debug' && ok "SIGHUP logged the new levels" \
    || fail "no SIGHUP line: $(tail -3 "$E2E_TMP/S.log")"
http POST "$B/admin/log_levels" "${J[@]}" "${A[@]}" -d '{}'
expect_eq "levels after SIGHUP" "$(jget "$HTTP_BODY" level)" "warn,riding=debug"
expect_eq "echo's run-time level is gone" "$(jget "$HTTP_BODY" modules.echo)" "warn"
echo '{"log_level": "warn,nosuch=debug"}' >"$CFG"
kill -HUP "$S_PID"
wait_log "$E2E_TMP/S.log" 'SIGHUP: levels unchanged' && ok "a bad re-read is refused and logged" \
    || fail "no refusal line"
expect_contains "the refusal names the module" "$(grep 'SIGHUP: levels unchanged' "$E2E_TMP/S.log")" nosuch
http POST "$B/admin/log_levels" "${J[@]}" "${A[@]}" -d '{}'
expect_eq "levels unchanged" "$(jget "$HTTP_BODY" level)" "warn,riding=debug"
http GET "http://127.0.0.1:$S/readyz"
expect_status "still serving and ready after two SIGHUPs" 200
kill -0 "$S_PID" 2>/dev/null && ok "the process is alive" || fail "SIGHUP stopped the process"
keel_stop S

# every process has the admin module, whatever KEEL_MODULES_LOCAL says: a
# compute-only process answers for its own levels
keel_serve C KEEL_MODULES_LOCAL=compute KEEL_AUTH_DISABLED=1 KEEL_LOG_LEVEL=warn,compute=debug \
    || { fail "server C"; e2e_done; }
http POST "http://127.0.0.1:$C/v1/admin/log_levels" "${J[@]}" -d '{}'
expect_status "admin.log_levels on a compute-only process" 200
expect_eq "its own levels" "$(jget "$HTTP_BODY" level)" "warn,compute=debug"
expect_eq "placement says local" "$(curl -sS "http://127.0.0.1:$C/v1/modules" | python3 -c '
import json,sys; print([m["placement"] for m in json.load(sys.stdin)["modules"] if m["name"]=="admin"])')" "['local']"
keel_stop C

# a bad KEEL_LOG_LEVEL stops the start, naming what is wrong
out=$(cd "$E2E_TMP" && KEEL_LOG_LEVEL=info,nosuch=debug KEEL_PORT=0 "$KEEL_BIN" serve 2>&1 </dev/null; echo "rc=$?")
expect_contains "unknown module refused" "$out" "'nosuch' is not a module built in"
expect_contains "exit 2" "$out" "rc=2"
out=$(cd "$E2E_TMP" && KEEL_LOG_LEVEL=info,kv=loud KEEL_PORT=0 "$KEEL_BIN" serve 2>&1 </dev/null; echo "rc=$?")
expect_contains "unknown level refused" "$out" "'loud': use debug, info, warn, error or off"
expect_contains "exit 2" "$out" "rc=2"

e2e_done
