#!/usr/bin/env bash
# e2e_observability.sh — /metrics over loopback: the Prometheus text format
# (promtool), per-method counts by transport, who may scrape (admin token on
# the public port, open on KEEL_ADMIN_PORT), and KEEL_METRICS=false.
. "$(dirname "$0")/lib.sh"

J='Content-Type: application/json'
ADM=$(free_port)
keel_serve S KEEL_ADMIN_PORT="$ADM"
B="http://127.0.0.1:$S"
BA="http://127.0.0.1:$ADM"
MODS=$(curl -sS "$B/v1/modules")

# metric NAME{LABELS}: the value of one series in the last scrape ($SCRAPE)
metric() {
    awk -v s="$1" 'index($0, s" ") == 1 { print $2; found=1 } END { if (!found) print "absent" }' <<<"$SCRAPE"
}

# ---- counts ------------------------------------------------------------------
for i in 1 2 3; do http POST "$B/v1/echo/echo" -H "$J" -d '{"msg":"hello"}'; done
expect_status "echo call" 200
http POST "$B/v1/echo/echo" -H "$J" -d '{"msg":'
expect_status "malformed body" 400
http TRACE "$B/v1/echo/echo"
expect_status "TRACE refused by the connection hook" 405
http GET "$BA/metrics"
expect_status "GET /metrics on the admin listener, no token" 200
SCRAPE=$HTTP_BODY
expect_eq "the refusal counted by reason" "$(metric 'keel_http_requests_refused_total{reason="method"}')" 1
case "$(metric 'keel_http_connections_accepted_total')" in absent|0) fail "connections accepted: $(metric keel_http_connections_accepted_total)";; *) ok "connections accepted counted";; esac
H=$(curl -sS -D - -o /dev/null "$BA/metrics" | tr -d '\r')
expect_contains "text format content type" "$H" "text/plain; version=0.0.4"
expect_eq "echo calls over http" "$(metric 'keel_method_calls_total{module="echo",method="echo",transport="http"}')" 3
# 3 bodies of 15 bytes ({"msg":"hello"}); the malformed one never reached the method
expect_eq "echo request bytes" "$(metric 'keel_method_request_bytes_total{module="echo",method="echo",transport="http"}')" 45
expect_eq "echo +Inf bucket = calls" \
    "$(metric 'keel_method_duration_seconds_bucket{module="echo",method="echo",transport="http",le="+Inf"}')" 3
expect_eq "400 counted" "$(metric 'keel_http_responses_total{code="400"}')" 1
case "$(metric 'process_open_fds')" in absent|0) fail "process_open_fds: $(metric process_open_fds)";; *) ok "process_open_fds present";; esac
case "$(metric 'process_start_time_seconds')" in
absent) fail "process_start_time_seconds absent";;
*) now=$(date +%s); st=$(metric 'process_start_time_seconds'); st=${st%.*}
   if [ $((now - st)) -ge 0 ] && [ $((now - st)) -lt 120 ]; then ok "start time is within the last 2 minutes"
   else fail "process_start_time_seconds $st vs now $now"; fi;;
esac
# store pools (kv's store: SQLite, one connection, idle between calls) and the
# event families (riding subscribes; nothing uploaded: every counter 0)
expect_eq "kv pool size" "$(metric 'keel_store_pool_size{module="kv"}')" 1
expect_eq "kv pool busy" "$(metric 'keel_store_pool_connections{module="kv",state="busy"}')" 0
expect_eq "riding deliveries handled" "$(metric 'keel_events_handled_total{module="riding"}')" 0
expect_eq "riding dead lettered" "$(metric 'keel_events_dead_lettered_total{module="riding"}')" 0
expect_eq "riding outbox depth (dispatcher's read)" "$(metric 'keel_events_queue_depth{module="riding"}')" 0
expect_eq "riding outbox oldest age" "$(metric 'keel_events_oldest_age_seconds{module="riding"}')" 0.000
if command -v promtool >/dev/null; then
    if out=$(promtool check metrics <<<"$SCRAPE" 2>&1); then ok "promtool check metrics"
    else fail "promtool check metrics: $out"; fi
else
    echo "skip - promtool not installed (Debian package prometheus; scripts/deps.sh test)"
fi

# ---- OpenAPI -----------------------------------------------------------------
http GET "$B/openapi.json"
expect_status "GET /openapi.json (no token)" 200
printf '%s' "$HTTP_BODY" > "$E2E_TMP/openapi.json"
printf '%s' "$MODS" > "$E2E_TMP/modules.json"
# every served method is a path with an input and an output schema (no npm needed)
missing=$(python3 - "$E2E_TMP/openapi.json" "$E2E_TMP/modules.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1])); mods = json.load(open(sys.argv[2]))["modules"]
for m in mods:
    if m.get("placement") == "none":
        continue
    for meth in m["methods"]:
        op = doc["paths"].get("/v1/%s/%s" % (m["name"], meth["name"]), {}).get("post")
        if not op or "schema" not in op["responses"]["200"].get("content", {}).get("application/json", {}):
            print("%s.%s" % (m["name"], meth["name"]))
PY
)
expect_eq "every served method in /openapi.json with an output schema" "$missing" ""
OA="$KEEL_SOURCE_DIR/tests/openapi"
if [ -d "$OA/node_modules/@apidevtools/swagger-parser" ] && command -v node >/dev/null; then
    while IFS= read -r line; do
        case "$line" in ok*) ok "openapi: ${line#ok   - }";; *) fail "openapi: ${line#FAIL - }";; esac
    done < <(node "$OA/validate.mjs" "$E2E_TMP/openapi.json" "$E2E_TMP/modules.json" 2>&1 || true)
else
    echo "skip - OpenAPI validator not installed (scripts/deps.sh test runs npm ci in tests/openapi)"
fi
# a raw upload lists its media type and its query parameters
expect_eq "riding upload_session takes text/csv" "$(python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); op=d["paths"].get("/v1/riding/upload_session",{}).get("post")
print("absent" if op is None else ("text/csv" in op["requestBody"]["content"] and any(p["name"]=="horse_id" and p["in"]=="query" for p in op.get("parameters",[]))))' "$E2E_TMP/openapi.json")" \
    "$(case "$MODS" in *'"name":"riding"'*) echo True;; *) echo absent;; esac)"

# ---- who may scrape ---------------------------------------------------------
case "$MODS" in *'"name":"auth"'*)
    http GET "$B/metrics"
    expect_status "public /metrics without a token" 401
    ADMIN=$(cd "$E2E_TMP/S" && KEEL_DATABASE_URL="sqlite:$E2E_TMP/S/keel.db" \
            "$KEEL_BIN" auth create-admin --email ops@example.com 2>/dev/null)
    TOK=$(jget "$ADMIN" token.token)
    http GET "$B/metrics" -H "Authorization: Bearer $TOK"
    expect_status "public /metrics with an admin token" 200
    http POST "$B/v1/auth/create_token" -H "$J" -H "Authorization: Bearer $TOK" -d '{"scopes":["kv:read"],"name":"ro"}'
    RO=$(jget "$HTTP_BODY" token)
    http GET "$B/metrics" -H "Authorization: Bearer $RO"
    expect_status "public /metrics with a non-admin token" 403
    http GET "$B/metrics" -H "Authorization: Bearer $RO.forged"
    expect_status "public /metrics with a bad token" 401
    ;;
*) echo "skip - auth not built: no token rules to check";;
esac
http POST "$BA/metrics" -d x
expect_status "POST /metrics" 405
keel_stop S

# the admin listener binds loopback by default, whatever KEEL_HOST is
keel_serve T KEEL_ADMIN_PORT=0 KEEL_HOST=0.0.0.0
line=$(grep -o 'admin listener[^"]*on [0-9.]*:[0-9]*' "$E2E_TMP/T.log" | head -1)
expect_contains "admin listener on loopback" "$line" "on 127.0.0.1:"
keel_stop T

# ---- KEEL_METRICS=false -----------------------------------------------------
keel_serve U KEEL_METRICS=false KEEL_ADMIN_PORT="$(free_port)"
UA=$(grep -o 'admin listener[^"]*on [0-9.]*:[0-9]*' "$E2E_TMP/U.log" | head -1 | sed 's/.*://')
http POST "http://127.0.0.1:$U/v1/echo/echo" -H "$J" -d '{"msg":"x"}'
http GET "http://127.0.0.1:$UA/metrics"
expect_status "/metrics with KEEL_METRICS=false" 200
SCRAPE=$HTTP_BODY
expect_eq "nothing counted when off" "$(metric 'keel_method_calls_total{module="echo",method="echo",transport="http"}')" absent
keel_stop U

e2e_done
