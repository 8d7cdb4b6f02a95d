#!/usr/bin/env bash
# e2e_placement.sh — the same module code in one process or split over two,
# by configuration alone (docs/placement.md).
#
#   1. all modules in one process
#   2. B runs compute+auth (+kv, auth's dependency); gateway G runs
#      echo,kv,riding with KEEL_REMOTE_COMPUTE/KEEL_REMOTE_AUTH pointing at B
#      (auth enforced on G through the remote auth), and gateway O does the
#      same with auth off on loopback (local development).  Processes trust
#      each other through KEEL_SERVICE_TOKEN only: nothing runs with auth
#      disabled in the split.  HTTP and CLI.  Riding in its own process R
#      behind gateway GR: two users, each seeing only their own data.
#   3. B killed (kill -9, between riding uploads on O): uploads still answer
#      200 'pending' at once; calls that need B get a fast 503 naming the
#      module, kv keeps working, /v1/modules shows the breaker open; B
#      restarted on the same port: calls recover within a few seconds and
#      every session uploaded around the kill ends 'ready'.
#   4. KEEL_EXPOSE=<module>:PORT serves only that module there, and a gateway
#      can use that port as the module's remote address.
# Steps for modules not built into KEEL_BIN are reported as SKIP.
. "$(dirname "$0")/lib.sh"

BUILT=$("$KEEL_BIN" modules 2>/dev/null | awk '/^[a-z]/ {print $1}' || true)
has() { grep -qx "$1" <<<"$BUILT"; }
skip() { echo "SKIP - $*"; }
for m in echo kv auth; do
    has "$m" || { echo "e2e_placement needs module $m in the build (have: $BUILT)"; exit 1; }
done
ms_now() { date +%s%3N; }

# serve_on VAR PORT [ENV=VAL ...]: keel_serve on a fixed port (for restarts).
serve_on() {
    local var=$1 port=$2; shift 2
    mkdir -p "$E2E_TMP/$var"
    ( cd "$E2E_TMP/$var" && exec env KEEL_PORT="$port" KEEL_HOST=127.0.0.1 KEEL_THREADS=2 \
        KEEL_DATABASE_URL="sqlite:$E2E_TMP/$var/keel.db" "$@" "$KEEL_BIN" serve ) \
        >>"$E2E_TMP/$var.log" 2>&1 &
    local pid=$! i
    E2E_PIDS+=("$pid")
    printf -v "$var" '%s' "$port"
    printf -v "${var}_PID" '%s' "$pid"
    for i in $(seq 1 200); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { echo "keel ($var) exited; log:"; cat "$E2E_TMP/$var.log"; return 1; }
        sleep 0.05
    done
    echo "keel ($var) not healthy; log:"; cat "$E2E_TMP/$var.log"; return 1
}

post() { # post PORT PATH JSON [curl args]
    local port=$1 path=$2 body=$3; shift 3
    http POST "http://127.0.0.1:$port$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# A session CSV from compute's own generator, as {"csv": …} for keel call.
if has compute; then
    "$KEEL_BIN" compute synth --seed 7 >"$E2E_TMP/session.csv" 2>"$E2E_TMP/synth.err" ||
        "$KEEL_BIN" compute synth >"$E2E_TMP/session.csv" 2>>"$E2E_TMP/synth.err" || true
    jq -cRs '{csv: .}' "$E2E_TMP/session.csv" >"$E2E_TMP/aggregate.json"
fi

# ---- 1. everything in one process -------------------------------------------
keel_serve ONE KEEL_AUTH_DISABLED=1
post "$ONE" /v1/kv/put '{"key":"a","value":"1"}';   expect_status "one: kv.put" 200
post "$ONE" /v1/kv/get '{"key":"a"}';               expect_status "one: kv.get" 200
expect_eq "one: kv.get value" "$(jget "$HTTP_BODY" value)" "1"
post "$ONE" /v1/echo/echo '{"x":[1,2]}';            expect_status "one: echo" 200
http GET "http://127.0.0.1:$ONE/v1/modules"
expect_eq "one: auth placed local" "$(jq -r '[.modules[].placement] | unique | join(",")' <<<"$HTTP_BODY")" "local"
if has compute; then
    post "$ONE" /v1/compute/aggregate "@$E2E_TMP/aggregate.json"; expect_status "one: compute.aggregate" 200
    ONE_AGG=$HTTP_BODY
else
    skip "one: compute.aggregate (compute not built)"
fi
keel_stop ONE

# ---- 2. compute and auth in process B ----------------------------------------
B_LOCAL=auth,kv; has compute && B_LOCAL=compute,$B_LOCAL
G_LOCAL=echo,kv; has riding && G_LOCAL=$G_LOCAL,riding
BPORT=$(free_port)
SVC=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')   # the service credential
printf '%s' "$SVC" >"$E2E_TMP/service_token"
B_ENV=(KEEL_MODULES_LOCAL=$B_LOCAL KEEL_SERVICE_TOKEN_FILE="$E2E_TMP/service_token"
       KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1
       KEEL_AUTH_DEFAULT_SCOPES=riding:write,compute:read,kv:read,kv:write)
serve_on B "$BPORT" "${B_ENV[@]}"
REMOTE_ENV=(KEEL_MODULES_LOCAL=$G_LOCAL KEEL_REMOTE_AUTH=http://127.0.0.1:$BPORT
            KEEL_SERVICE_TOKEN="$SVC")
has compute && REMOTE_ENV+=(KEEL_REMOTE_COMPUTE=http://127.0.0.1:$BPORT)
keel_serve G "${REMOTE_ENV[@]}"
# O's retries of riding.session_uploaded come every ≤ 3 s (default: doubling up
# to 5 min), so section 3's summaries arrive soon after B is back; 100 attempts
# span ≥ 150 s (each wait at least half of its 3 s by the jitter).  B is down
# while section 3 checks the gateway without it: ~5 s on a quiet machine, and
# 20-57 s at load 6-8 (each python3 start then costs ~0.8 s), where 10
# attempts had dead-lettered the sessions before B came back.
keel_serve O "${REMOTE_ENV[@]}" KEEL_AUTH_DISABLED=1 KEEL_EVENTS_BACKOFF_MAX_MS=3000 \
    KEEL_EVENTS_MAX_ATTEMPTS=100

http GET "http://127.0.0.1:$G/v1/modules"
# place JSON MODULE: "placement url breaker" of MODULE in /v1/modules' answer
place() { jq -r --arg m "$2" '[.modules[] | select(.name == $m)][0]
                              | "\(.placement) \(.url // "") \(.remote.breaker // "")"' <<<"$1"; }
expect_eq "G: auth placed remote" "$(place "$HTTP_BODY" auth)" "remote http://127.0.0.1:$BPORT closed"
expect_eq "G: kv placed local" "$(place "$HTTP_BODY" kv)" "local  "

# Auth through the remote auth module: register and log in via the gateway.
post "$G" /v1/auth/register '{"email":"ann@example.org","password":"correct horse"}'
expect_status "G: auth.register (forwarded to B)" 200
post "$G" /v1/auth/login '{"email":"ann@example.org","password":"correct horse"}'
expect_status "G: auth.login (forwarded to B)" 200
TOKEN=$(jget "$HTTP_BODY" token)
[ -n "$TOKEN" ] && ok "G: login gave a token" || fail "G: no token in ${HTTP_BODY:0:200}"
post "$G" /v1/kv/put '{"key":"k","value":"v"}' -H "Authorization: Bearer $TOKEN"
expect_status "G: kv.put with a token checked by remote auth" 200
post "$G" /v1/kv/put '{"key":"k","value":"v"}' -H "Authorization: Bearer nope"
expect_status "G: kv.put with a bad token" 401
post "$G" /v1/kv/get '{"key":"k"}' -H "Authorization: Bearer $TOKEN" -H "X-Request-Id: r-e2e-placement-1"
expect_status "G: kv.get" 200
post "$G" /v1/auth/whoami '{}' -H "Authorization: Bearer $TOKEN" -H "X-Request-Id: r-e2e-placement-2"
expect_status "G: auth.whoami (remote, with the caller's token checked on G)" 200
if grep -q "r-e2e-placement-2" "$E2E_TMP/B.log"; then ok "request id reached B"; else fail "request id not in B's log"; fi

if has compute; then
    post "$G" /v1/compute/aggregate "@$E2E_TMP/aggregate.json" -H "Authorization: Bearer $TOKEN"
    expect_status "G: compute.aggregate (remote)" 200
    expect_eq "G: same result as in one process" "$(jget "$HTTP_BODY" "")" "$(jget "$ONE_AGG" "")"
    post "$O" /v1/compute/aggregate '{"csv":"not,a\nsession"}'
    case "$HTTP_STATUS" in 4??) ok "O: bad CSV keeps its 4xx across the wire ($HTTP_STATUS $(jget "$HTTP_BODY" error.code))";;
        *) fail "O: bad CSV gave $HTTP_STATUS ${HTTP_BODY:0:200}";; esac
    out=$(cd "$E2E_TMP" && env "${REMOTE_ENV[@]}" KEEL_DATABASE_URL="sqlite:$E2E_TMP/cli.db" \
          "$KEEL_BIN" call compute.aggregate "@$E2E_TMP/aggregate.json" 2>"$E2E_TMP/cli.err"); rc=$?
    expect_eq "CLI: keel call compute.aggregate through B exits 0" "$rc" "0"
    expect_eq "CLI: same result" "$(jget "$out" "")" "$(jget "$ONE_AGG" "")"
else
    skip "compute over the wire (compute not built)"
fi
set +e
out=$(cd "$E2E_TMP" && env "${REMOTE_ENV[@]}" KEEL_DATABASE_URL="sqlite:$E2E_TMP/cli.db" \
      "$KEEL_BIN" call auth.check_token "{\"token\":\"$TOKEN\"}" 2>"$E2E_TMP/cli.err"); rc=$?
set -e
expect_eq "CLI: keel call auth.check_token goes to B, exit 0" "$rc" "0"
expect_eq "CLI: principal from B" "$(jget "$out" email)" "ann@example.org"

if has riding; then
    # ---- riding through the gateway: riding local on G, compute and auth on B
    AUTH=(-H "Authorization: Bearer $TOKEN")
    post "$G" /v1/riding/create_rider '{"name":"Ann"}' "${AUTH[@]}"
    expect_status "G: riding.create_rider" 200
    RIDER=$(jget "$HTTP_BODY" id)
    post "$G" /v1/riding/create_horse "{\"name\":\"Bucephalus\",\"rider_ids\":[$RIDER]}" "${AUTH[@]}"
    expect_status "G: riding.create_horse" 200
    HORSE=$(jget "$HTTP_BODY" id)
    http POST "http://127.0.0.1:$G/v1/riding/upload_session?horse_id=$HORSE&started_at=2026-03-01T10:00:00Z" \
        -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/session.csv" "${AUTH[@]}"
    expect_status "G: riding.upload_session" 200
    expect_eq "G: the upload answers pending" "$(jget "$HTTP_BODY" status)" pending
    GS=$(jget "$HTTP_BODY" session_id)
    post "$G" /v1/riding/get_session "{\"session_id\":$GS,\"wait_ms\":30000}" "${AUTH[@]}"
    expect_eq "G: session ready with a summary (from remote compute)" "$(jget "$HTTP_BODY" status) $([ -n "$(jget "$HTTP_BODY" summary)" ] && echo yes)" "ready yes"
    expect_eq "G: summary equals compute's own" "$(jget "$HTTP_BODY" summary)" "$(jget "$ONE_AGG" "")"
    # riding's stored gzip member went to B as it is (Content-Encoding: gzip),
    # not as the CSV in a JSON string: B's access line counts its bytes
    AGG_IN=$(grep -a '"path":"/v1/compute/aggregate"' "$E2E_TMP/B.log" | tail -1 \
             | jq -r '.bytes_in // empty' 2>/dev/null || true)
    CSV_BYTES=$(stat -c %s "$E2E_TMP/session.csv")
    [ -n "$AGG_IN" ] && [ "$AGG_IN" -gt 0 ] && [ $((AGG_IN * 2)) -lt "$CSV_BYTES" ] \
        && ok "G -> B: compute.aggregate got the gzip member ($AGG_IN bytes for a $CSV_BYTES-byte CSV)" \
        || fail "G -> B: compute.aggregate body ${AGG_IN:-?} bytes for a $CSV_BYTES-byte CSV (want the gzip member)"
    # the dashboard's pictures: compute's per-window output and trace, from B
    post "$G" /v1/riding/session_windows "{\"session_id\":$GS}" "${AUTH[@]}"
    expect_status "G: riding.session_windows (windows from remote compute)" 200
    GW=$HTTP_BODY
    post "$G" /v1/riding/session_trace "{\"session_id\":$GS,\"max_points\":100}" "${AUTH[@]}"
    expect_status "G: riding.session_trace (trace from remote compute)" 200
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); w=json.loads(sys.argv[2])["windows"]; t=json.loads(sys.argv[3])
d=s["duration_s"]; ok=abs(w[-1]["t_end"]-d)<1e-3 and 0<len(t["t"])<=100 and t["samples"]==s["samples"]
sys.exit(0 if ok else 1)' <(echo "$ONE_AGG") "$GW" "$HTTP_BODY" \
        && ok "G: windows tile the session, trace within max_points with every sample" \
        || fail "G: windows/trace disagree with the summary: ${GW:0:200}"
    printf 'time,ax,ay,az,gx,gy,gz\n0.00,1,2,3,4,5,6\n0.01,1,oops,3,4,5,6\n' >"$E2E_TMP/bad.csv"
    http POST "http://127.0.0.1:$G/v1/riding/upload_session?horse_id=$HORSE&started_at=2026-03-02T10:00:00Z" \
        -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/bad.csv" "${AUTH[@]}"
    expect_status "G: a malformed CSV: refused at the upload (compute's parser, on G)" 400
    expect_eq "G: still bad_data" "$(jget "$HTTP_BODY" error.code)" "bad_data"
    expect_contains "G: with compute's row and column" "$(jget "$HTTP_BODY" error.message)" "row 2 (line 3), column 'ay'"

    # ---- riding in its own process R, behind gateway GR: two users ------------
    keel_serve R KEEL_MODULES_LOCAL=riding KEEL_REMOTE_AUTH="http://127.0.0.1:$BPORT" \
        KEEL_REMOTE_COMPUTE="http://127.0.0.1:$BPORT" KEEL_SERVICE_TOKEN="$SVC"
    keel_serve GR KEEL_MODULES_LOCAL=echo,kv KEEL_REMOTE_AUTH="http://127.0.0.1:$BPORT" \
        KEEL_REMOTE_COMPUTE="http://127.0.0.1:$BPORT" KEEL_REMOTE_RIDING="http://127.0.0.1:$R" \
        KEEL_SERVICE_TOKEN="$SVC"
    post "$GR" /v1/auth/register '{"email":"bob@example.org","password":"battery staple"}'
    post "$GR" /v1/auth/login '{"email":"bob@example.org","password":"battery staple"}'
    expect_status "GR: second user logs in" 200
    BOB=(-H "Authorization: Bearer $(jget "$HTTP_BODY" token)")
    post "$GR" /v1/riding/create_horse '{"name":"Comet"}' "${AUTH[@]}"
    expect_status "GR: ann creates a horse on R" 200
    expect_eq "GR: R saw ann as the owner" "$(jget "$HTTP_BODY" role)" owner
    RH=$(jget "$HTTP_BODY" id)
    http POST "http://127.0.0.1:$GR/v1/riding/upload_session?horse_id=$RH&started_at=2026-03-01T10:00:00Z" \
        -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/session.csv" "${AUTH[@]}"
    expect_status "GR: ann uploads (R asks compute on B)" 200
    RS=$(jget "$HTTP_BODY" session_id)
    post "$GR" /v1/riding/list_horses '{}' "${BOB[@]}"
    expect_status "GR: bob lists horses" 200
    expect_eq "GR: bob sees no horse" "$(jget "$HTTP_BODY" horses)" "[]"
    post "$GR" /v1/riding/get_session "{\"session_id\":$RS}" "${BOB[@]}"
    expect_status "GR: bob reads ann's session" 404
    post "$GR" /v1/riding/delete_session "{\"session_id\":$RS}" "${BOB[@]}"
    expect_status "GR: bob deletes ann's session" 404
    post "$GR" /v1/riding/share_horse "{\"horse_id\":$RH,\"email\":\"bob@example.org\",\"role\":\"viewer\"}" "${AUTH[@]}"
    expect_status "GR: ann shares with bob (R resolves the email on B)" 200
    post "$GR" /v1/riding/get_session "{\"session_id\":$RS}" "${BOB[@]}"
    expect_status "GR: bob reads the shared session" 200
    post "$GR" /v1/riding/delete_session "{\"session_id\":$RS}" "${BOB[@]}"
    expect_status "GR: a viewer cannot delete" 403
    # R on its own: user tokens are checked through B; a forged principal is not trusted
    post "$R" /v1/riding/list_horses '{}'
    expect_status "R direct, no token" 401
    post "$R" /v1/riding/list_horses '{}' "${BOB[@]}"
    expect_status "R direct, bob's own token (checked on B)" 200
    expect_eq "R direct: bob sees only the shared horse" "$(jget "$HTTP_BODY" horses.0.role)" viewer
    post "$R" /v1/riding/list_horses '{}' -H 'X-Keel-Principal: {"operator":true,"scopes":["admin"]}'
    expect_status "R direct, a forged principal without the service token" 401
    post "$R" /v1/riding/list_horses '{}' -H "Authorization: Bearer ${SVC}x" \
        -H 'X-Keel-Principal: {"operator":true,"scopes":["admin"]}'
    expect_status "R direct, a wrong service token" 401
    post "$R" /v1/auth/lookup_user '{"email":"bob@example.org"}' "${BOB[@]}"
    expect_status "R: internal methods are not served to users" 404
    post "$BPORT" /v1/auth/lookup_user '{"email":"bob@example.org"}' "${BOB[@]}"
    expect_status "B: auth.lookup_user is not served to users" 404
    post "$BPORT" /v1/compute/aggregate "@$E2E_TMP/aggregate.json" "${BOB[@]}"
    expect_status "B: a data scientist calls split compute with their own token" 200
    post "$BPORT" /v1/compute/aggregate "@$E2E_TMP/aggregate.json"
    expect_status "B: compute without a token" 401
    keel_stop GR
    keel_stop R
else
    skip "riding flow through the split gateway (riding not built)"
fi

# ---- 3. B goes away ----------------------------------------------------------
# riding on O (auth off) summarizes through compute on B.  B is killed with
# -9 between uploads: the uploads still answer 200 at once with 'pending',
# and after B is back every session ends 'ready' (issue 18).
KILL_SIDS=()
upload_o() { # upload_o SEED DATE: one synthetic session to O's horse; its id into KILL_SIDS
    "$KEEL_BIN" compute synth --seed "$1" --plan "walk:20,trot-left:60,walk:10" --rate 100 \
        >"$E2E_TMP/k$1.csv" 2>/dev/null
    local t0; t0=$(ms_now)
    http POST "http://127.0.0.1:$O/v1/riding/upload_session?horse_id=$OH&started_at=$2" \
        -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/k$1.csv"
    local dt=$(( $(ms_now) - t0 ))
    expect_eq "O: upload (seed $1) answers 200 pending" "$HTTP_STATUS $(jget "$HTTP_BODY" status)" "200 pending"
    [ "$dt" -lt 1000 ] && ok "O: upload (seed $1) answered in ${dt} ms" || fail "O: upload (seed $1) took ${dt} ms"
    KILL_SIDS+=("$(jget "$HTTP_BODY" session_id)")
}
if has riding && has compute; then
    post "$O" /v1/riding/create_horse '{"name":"Killjoy"}'
    expect_status "O: riding.create_horse" 200
    OH=$(jget "$HTTP_BODY" id)
    upload_o 21 2026-04-01T10:00:00Z
    kill -9 "$B_PID"; wait "$B_PID" 2>/dev/null || true
    B_DOWN_AT=$(ms_now)
    upload_o 22 2026-04-02T10:00:00Z
    upload_o 23 2026-04-03T10:00:00Z
    upload_o 24 2026-04-04T10:00:00Z
    post "$O" /v1/riding/get_session "{\"session_id\":${KILL_SIDS[1]}}"
    expect_eq "O without B: the session waits, pending" "$(jget "$HTTP_BODY" status)" pending
else
    keel_stop B
fi
t0=$(ms_now)
post "$G" /v1/kv/get '{"key":"k"}' -H "Authorization: Bearer $TOKEN"
dt=$(( $(ms_now) - t0 ))
expect_status "G without B: kv.get needs auth" 503
expect_eq "G without B: error names auth" "$(jget "$HTTP_BODY" error.code) $(jget "$HTTP_BODY" error.module)" "unavailable auth"
[ "$dt" -lt 1000 ] && ok "G without B: answered in ${dt} ms" || fail "G without B: took ${dt} ms"

post "$O" /v1/kv/put '{"key":"z","value":"still here"}'
expect_status "O without B: kv.put keeps working" 200
post "$O" /v1/kv/get '{"key":"z"}'
expect_status "O without B: kv.get" 200
post "$O" /v1/echo/echo '{"still":"up"}'
expect_status "O without B: echo" 200
if has riding; then
    post "$O" /v1/riding/create_rider '{"name":"Bo"}'
    expect_status "O without B: riding.create_rider (no compute needed)" 200
fi
RM=auth; RPATH=/v1/auth/check_token; RBODY="{\"token\":\"$TOKEN\"}"
if has compute; then RM=compute; RPATH=/v1/compute/aggregate; RBODY="@$E2E_TMP/aggregate.json"; fi
worst=0; opened=""
for i in 1 2 3 4 5 6; do
    t0=$(ms_now)
    post "$O" "$RPATH" "$RBODY"
    dt=$(( $(ms_now) - t0 )); [ "$dt" -gt "$worst" ] && worst=$dt
    case "$(jget "$HTTP_BODY" error.message)" in *"circuit open"*) opened=yes;; esac
    if [ "$HTTP_STATUS" != 503 ] || [ "$(jget "$HTTP_BODY" error.module)" != "$RM" ]; then
        fail "O without B: $RM call $i gave $HTTP_STATUS ${HTTP_BODY:0:200}"
    fi
done
[ "$worst" -lt 1000 ] && ok "O without B: 6 × 503 {unavailable, module:$RM}, slowest ${worst} ms" \
                      || fail "O without B: slowest call ${worst} ms"
# riding's summary retries on O call compute too and share its breaker: once
# its cool-down passed, any call may be the half-open probe (refused), so the
# open circuit is looked for in all six answers, not only the last
expect_eq "O: calls failed fast on the open circuit" "$opened" yes
http GET "http://127.0.0.1:$O/v1/modules"
case "$(place "$HTTP_BODY" "$RM" | awk '{print $3}')" in  # half_open: a retry's probe in flight
    open|half_open) ok "O: /v1/modules shows the breaker open" ;;
    *) fail "O: /v1/modules breaker: $(place "$HTTP_BODY" "$RM")" ;;
esac
set +e
t0=$(ms_now)
(cd "$E2E_TMP" && env "${REMOTE_ENV[@]}" KEEL_DATABASE_URL="sqlite:$E2E_TMP/cli.db" \
    "$KEEL_BIN" call auth.check_token "{\"token\":\"$TOKEN\"}" >/dev/null 2>"$E2E_TMP/cli.err"); rc=$?
dt=$(( $(ms_now) - t0 ))
set -e
expect_eq "CLI without B: exit 4 (unavailable)" "$rc" "4"
expect_contains "CLI without B: says which module" "$(cat "$E2E_TMP/cli.err")" "auth"
[ "$dt" -lt 1000 ] && ok "CLI without B: ${dt} ms" || fail "CLI without B: ${dt} ms"

# B back on the same port: the breaker lets a probe through after its cool-down.
serve_on B "$BPORT" "${B_ENV[@]}"
t0=$(ms_now); recovered=""
[ -n "${B_DOWN_AT:-}" ] && echo "#    B was down for $(( t0 - B_DOWN_AT )) ms"
while [ $(( $(ms_now) - t0 )) -lt 8000 ]; do
    post "$O" "$RPATH" "$RBODY"
    if [ "$HTTP_STATUS" = 200 ] || { [ "$RM" = auth ] && [ "$HTTP_STATUS" = 401 ]; }; then
        recovered=$(( $(ms_now) - t0 )); break
    fi
    sleep 0.2
done
[ -n "$recovered" ] && ok "O: $RM recovered ${recovered} ms after B restarted" \
                    || fail "O: $RM did not recover: $HTTP_STATUS ${HTTP_BODY:0:200}"
http GET "http://127.0.0.1:$O/v1/modules"
expect_eq "O: breaker closed again" "$(place "$HTTP_BODY" "$RM" | awk '{print $3}')" "closed"
post "$G" /v1/auth/login '{"email":"ann@example.org","password":"correct horse"}'
expect_status "G: auth back (B's data survived the restart)" 200
if has riding && has compute; then
    # O's dispatcher retries with backoff (≤ 3 s here): every session gets its summary
    for sid in "${KILL_SIDS[@]}"; do
        for try in 1 2 3; do  # a wait ends at the call's deadline (10 s)
            post "$O" /v1/riding/get_session "{\"session_id\":$sid,\"wait_ms\":30000}"
            [ "$(jget "$HTTP_BODY" status)" = pending ] || break
        done
        expect_eq "O: session $sid ready after compute came back" \
            "$(jget "$HTTP_BODY" status) $([ "$(jget "$HTTP_BODY" summary.samples)" -gt 8000 ] && echo yes)" "ready yes"
    done
fi
keel_stop G
keel_stop O
keel_stop B

# ---- 4. KEEL_EXPOSE ----------------------------------------------------------
XM=auth; has compute && XM=compute
XP=$(free_port)
keel_serve X KEEL_AUTH_DISABLED=1 KEEL_EXPOSE="$XM:$XP"
for i in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$XP/healthz" 2>/dev/null && break; sleep 0.05; done
if [ "$XM" = compute ]; then
    post "$XP" /v1/compute/aggregate "@$E2E_TMP/aggregate.json"; expect_status "expose: compute served on its port" 200
else
    post "$XP" /v1/auth/register '{"email":"bo@example.org","password":"12345678x"}'; expect_status "expose: auth served on its port" 200
fi
post "$XP" /v1/kv/get '{"key":"a"}'
expect_status "expose: kv is not served on the $XM port" 404
expect_eq "expose: error code" "$(jget "$HTTP_BODY" error.code)" "unknown_module"
post "$X" /v1/kv/put '{"key":"a","value":"1"}'; expect_status "expose: main port serves everything" 200
# A gateway that knows only the exposed port.
keel_serve Y KEEL_AUTH_DISABLED=1 KEEL_MODULES_LOCAL=echo,kv "KEEL_REMOTE_$(tr a-z A-Z <<<"$XM")=http://127.0.0.1:$XP"
if [ "$XM" = compute ]; then
    post "$Y" /v1/compute/aggregate "@$E2E_TMP/aggregate.json"; expect_status "Y: compute via the exposed port" 200
else
    post "$Y" /v1/auth/login '{"email":"bo@example.org","password":"12345678x"}'; expect_status "Y: auth via the exposed port" 200
fi
keel_stop Y
keel_stop X

e2e_done
