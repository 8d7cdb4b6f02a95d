#!/usr/bin/env bash
# e2e_replicas.sh — several keel processes on one database.
#   SQLite (the default backend): KEEL_REPLICAS=3 refuses to start, naming why.
#   PostgreSQL (KEEL_E2E_BACKEND=pg, ctest's e2e_replicas_pg): three replicas
#   A, B, C on one database: upload on A, read and trend on B, delete on C;
#   the same file uploaded to A and B at once gives one session and one 409;
#   a replica killed (SIGKILL) in the middle of an upload loses nothing that
#   was acknowledged and leaves no half session; `keel migrate --status`.
. "$(dirname "$0")/lib.sh"

J=(-H 'Content-Type: application/json')

if [ "$E2E_BACKEND" != pg ]; then
    out=$(cd "$E2E_TMP" && KEEL_REPLICAS=3 KEEL_PORT=0 KEEL_DATABASE_URL="sqlite:$E2E_TMP/r.db" \
          timeout 10 "$KEEL_BIN" serve 2>&1; echo "exit=$?")
    expect_contains "KEEL_REPLICAS=3 on SQLite refuses to start" "$out" "KEEL_REPLICAS=3 but the database is SQLite"
    case "$out" in *"exit=0"*|*"exit=124"*) fail "refusal exits non-zero: $out";; *) ok "refusal exits non-zero";; esac
    out=$(cd "$E2E_TMP" && KEEL_REPLICAS=1 KEEL_DATABASE_URL="sqlite:$E2E_TMP/r.db" "$KEEL_BIN" migrate 2>&1) \
        && ok "one replica on SQLite migrates" || fail "one replica on SQLite: $out"
    e2e_done
    exit 0
fi

DB=$(e2e_db_url R)
ENV=(KEEL_DATABASE_URL="$DB" KEEL_REPLICAS=3 KEEL_AUTH_PBKDF2_ITERATIONS=1000)
keel_serve RA "${ENV[@]}"
keel_serve RB "${ENV[@]}"
keel_serve RC "${ENV[@]}"
A="http://127.0.0.1:$RA/v1" B="http://127.0.0.1:$RB/v1" C="http://127.0.0.1:$RC/v1"
ok "three replicas started on one postgres database (migrations raced safely)"

"$KEEL_BIN" compute synth --seed 7 --plan "walk:30,trot-left:120,walk:20" --rate 100 >"$E2E_TMP/s1.csv"
"$KEEL_BIN" compute synth --seed 8 --plan "walk:30,canter-left:90,walk:20" --rate 100 >"$E2E_TMP/s2.csv"
"$KEEL_BIN" compute synth --seed 9 --plan "walk:20,trot-right:60,walk:10" --rate 100 >"$E2E_TMP/dup.csv"
"$KEEL_BIN" compute synth --seed 10 --plan "walk:600,trot-left:900,walk:300" --rate 100 >"$E2E_TMP/big.csv"

# a user registered on A logs in on B: one user table
http POST "$A/auth/register" "${J[@]}" -d '{"email":"r@example.com","password":"hunter22"}'
expect_status "register on A" 200
http POST "$B/auth/login" "${J[@]}" -d '{"email":"r@example.com","password":"hunter22"}'
expect_status "login on B" 200
TOK=(-H "Authorization: Bearer $(jget "$HTTP_BODY" token)")
http POST "$C/riding/create_horse" "${TOK[@]}" "${J[@]}" -d '{"name":"Shared"}'
expect_status "create horse on C" 200
HORSE=$(jget "$HTTP_BODY" id)

upload() { # BASE CSV DATE
    http POST "$1/riding/upload_session?horse_id=$HORSE&started_at=$3" "${TOK[@]}" \
        -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/$2.csv"
}
upload "$A" s1 2026-06-01T10:00:00Z
expect_status "upload on A" 200
S1=$(jget "$HTTP_BODY" session_id)
upload "$A" s2 2026-06-03T10:00:00Z
expect_status "second upload on A" 200
S2=$(jget "$HTTP_BODY" session_id)
http POST "$B/riding/get_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$S1,\"wait_ms\":30000}"
expect_status "read A's session on B" 200
expect_eq "B sees A's session" "$(jget "$HTTP_BODY" session_id)" "$S1"
# whichever replica's dispatcher summarized it, B's wait sees it (polled every 200 ms)
expect_eq "B sees its summary stored" "$(jget "$HTTP_BODY" status)" ready
http POST "$B/riding/get_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$S2,\"wait_ms\":30000}"
expect_eq "and the second one's" "$(jget "$HTTP_BODY" status)" ready
http POST "$B/riding/horse_trend" "${TOK[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
expect_status "trend on B" 200
expect_eq "trend over both sessions" "$(jget "$HTTP_BODY" horses.0.sessions)" 2
http POST "$C/riding/delete_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "delete on C" 200
http POST "$A/riding/get_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$S1}"
expect_status "gone on A too" 404

# ---- the same file to two replicas at once ----------------------------------
for r in 1 2 3; do
    pids=()
    for base in "$A" "$B"; do
        ( curl -sS -o /dev/null -w '%{http_code}\n' -X POST \
            "$base/riding/upload_session?horse_id=$HORSE&started_at=2026-06-1${r}T10:00:00Z" \
            "${TOK[@]}" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/dup.csv" \
            >>"$E2E_TMP/dup.$r" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    expect_eq "round $r: one 200 and one 409" "$(sort "$E2E_TMP/dup.$r" | tr '\n' ' ')" "200 409 "
    # the duplicate of round 1 stays a duplicate: delete it before the next round
    http POST "$A/riding/list_sessions" "${TOK[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
    n=$(python3 -c 'import json,sys; print(sum(1 for s in json.loads(sys.argv[1])["sessions"] if s["started_at"].startswith("2026-06-1")))' "$HTTP_BODY")
    expect_eq "round $r: one session stored" "$n" 1
    id=$(python3 -c 'import json,sys; print([s["session_id"] for s in json.loads(sys.argv[1])["sessions"] if s["started_at"].startswith("2026-06-1")][0])' "$HTTP_BODY")
    http POST "$C/riding/delete_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$id}"
done

# ---- kill a replica in the middle of an upload -------------------------------
# acknowledged uploads on C, then one slowed down (curl --limit-rate) that C
# is SIGKILLed in the middle of: what C acknowledged is all there, the
# killed one is absent or whole, never half.
acked=()
for d in 21 22 23; do
    "$KEEL_BIN" compute synth --seed $d --plan "walk:20,trot-left:40,walk:10" --rate 100 >"$E2E_TMP/k$d.csv"
    upload "$C" "k$d" "2026-07-${d}T10:00:00Z"
    [ "$HTTP_STATUS" = 200 ] && acked+=("$(jget "$HTTP_BODY" session_id)")
done
expect_eq "three uploads acknowledged by C" "${#acked[@]}" 3
size=$(stat -c %s "$E2E_TMP/big.csv")
( curl -sS -o "$E2E_TMP/killed.out" -w '%{http_code}' --limit-rate 400k -X POST \
    "$C/riding/upload_session?horse_id=$HORSE&started_at=2026-07-30T10:00:00Z" "${TOK[@]}" \
    -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/big.csv" >"$E2E_TMP/killed.code" 2>/dev/null ) &
upid=$!
sleep 0.7
kill -KILL "$RC_PID"
wait "$upid" 2>/dev/null || true
code=$(cat "$E2E_TMP/killed.code" 2>/dev/null || echo none)
[ "$code" != 200 ] && ok "the killed upload ($size bytes) was not acknowledged (curl: $code)" \
                   || fail "upload acknowledged although C was killed at 0.7 s"
http POST "$A/riding/list_sessions" "${TOK[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
expect_status "A still serves" 200
for id in "${acked[@]}"; do
    http POST "$B/riding/get_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$id}"
    expect_status "acknowledged session $id survives C's death" 200
done
# no session without its data: every listed session reads back whole
http POST "$A/riding/list_sessions" "${TOK[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
half=$(python3 -c 'import json,sys; print(sum(1 for s in json.loads(sys.argv[1])["sessions"] if s["started_at"].startswith("2026-07-30")))' "$HTTP_BODY")
expect_eq "the killed upload left no session" "$half" 0

# ---- migrate --status on postgres -------------------------------------------
out=$(cd "$E2E_TMP" && KEEL_DATABASE_URL="$DB" "$KEEL_BIN" migrate --status 2>&1) || true
expect_contains "migrate --status lists riding on postgres" "$out" '"riding"'
expect_contains "nothing pending" "$out" '"pending":0'

e2e_done
