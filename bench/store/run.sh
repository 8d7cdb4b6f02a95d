#!/usr/bin/env bash
# bench/store/run.sh [BUILD_DIR] — the store backends under keel's own load:
# requests/s of riding's upload (an 85 KB CSV, aggregated by compute, stored
# in one transaction) and list_sessions, and the latency of kv put under 64
# connections, on
#   sqlite-1   one `keel serve` on SQLite (KEEL_STORE_SYNC=full, the default)
#   pg-1       one `keel serve` on PostgreSQL, direct
#   pg-1-nginx the same behind deploy/nginx.conf (tests/deploy/nginx_local.py)
#   pg-3-nginx three replicas on one PostgreSQL behind deploy/nginx.conf
# PostgreSQL is Debian's, a throw-away cluster (scripts/pg-cluster.sh) with
# fsync and synchronous_commit turned back on, so both backends make a commit
# durable before answering.  Load: wrk (as bench/serving), BENCH_DURATION
# (default 5s) each, BENCH_CONNS (default 16) connections for upload and
# list, 64 for kv put.  Every server runs with its defaults (KEEL_THREADS=2,
# pool 4, auth on: every call carries a bearer token).  Prints one line per
# measurement and writes $OUT (default bench/store/out/results.txt).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
KEEL="$BUILD/keel"
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNS:-16}
OUT=${OUT:-$HERE/out/results.txt}
[ -x "$KEEL" ] || { echo "no keel binary at $KEEL (pass the build dir)" >&2; exit 2; }
for t in wrk nginx psql curl python3; do
    command -v "$t" >/dev/null || { echo "$t is not installed (scripts/deps.sh bench)" >&2; exit 2; }
done
. "$ROOT/bench/lib.sh"
bench_tmp store
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

# ---- PostgreSQL, durable ---------------------------------------------------------
PG=$TMP/pg
chmod 0755 "$TMP"
ADMIN=$("$ROOT/scripts/pg-cluster.sh" start "$PG/c")
trap '"$ROOT/scripts/pg-cluster.sh" stop "$PG/c" >/dev/null 2>&1 || true; bench_cleanup' EXIT
printf 'fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n' >>"$PG/c/data/postgresql.conf"
"$ROOT/scripts/pg-cluster.sh" restart "$PG/c"
echo "# postgres $(psql -At "$ADMIN" -c 'SHOW server_version'), fsync=$(psql -At "$ADMIN" -c 'SHOW fsync'),"\
     "synchronous_commit=$(psql -At "$ADMIN" -c 'SHOW synchronous_commit')" | tee -a "$OUT"

# ---- the load scripts -----------------------------------------------------------
"$KEEL" compute synth --seed 3 --plan "walk:10,trot-left:60,walk:15" --rate 50 >"$TMP/s.csv"
cat >"$TMP/upload.lua" <<'LUA'
-- a distinct CSV per request (riding refuses the same content twice: 409):
-- one extra sample at the end whose gz encodes thread and counter
local base, n, id = nil, 0, 0
local threads = {}
function setup(thread) thread:set("id", #threads + 1); table.insert(threads, thread) end
function init(args)
  local f = io.open(args[1]); base = f:read("*a"); f:close()
  id = tonumber(wrk.thread:get("id")) or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/csv"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
end
function request()
  n = n + 1
  local body = base .. string.format("85.00000,0.%04d,0.0,9.8100,0.0,0.0,0.%05d\n", id, n)
  return wrk.format(nil, nil, nil, body)
end
local seen = {}
function response(status, headers, body)
  if status >= 300 and not seen[status] then
    seen[status] = true
    io.stderr:write(string.format("status %d: %s\n", status, string.sub(body, 1, 160)))
  end
end
function done(summary, latency, requests)
  io.write(string.format("codes non2xx=%d\n", summary.errors.status))
end
LUA
cat >"$TMP/json.lua" <<'LUA'
-- POST a fixed JSON body (args: token, body)
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.body = args[2]
end
local seen = {}
function response(status, headers, body)
  if status >= 300 and not seen[status] then
    seen[status] = true
    io.stderr:write(string.format("status %d: %s\n", status, string.sub(body, 1, 160)))
  end
end
function done(summary, latency, requests)
  io.write(string.format("codes non2xx=%d\n", summary.errors.status))
end
LUA
cat >"$TMP/kvput.lua" <<'LUA'
-- kv put of a distinct key per request (args: token)
local n, id = 0, 0
local threads = {}
function setup(thread) thread:set("id", #threads + 1); table.insert(threads, thread) end
function init(args)
  id = tonumber(wrk.thread:get("id")) or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"key":"bench-%d-%d","value":"v%d"}', id, n, n))
end
local seen = {}
function response(status, headers, body)
  if status >= 300 and not seen[status] then
    seen[status] = true
    io.stderr:write(string.format("status %d: %s\n", status, string.sub(body, 1, 160)))
  end
end
function done(summary, latency, requests)
  io.write(string.format("codes non2xx=%d\n", summary.errors.status))
end
LUA

# ---- servers -----------------------------------------------------------------------
# serve NAME URL: one keel serve; sets PORT_NAME
serve() {
    local name=$1 url=$2 port; port=$(free_port)
    mkdir -p "$TMP/$name"
    ( cd "$TMP/$name" && exec env KEEL_HOST=127.0.0.1 KEEL_PORT="$port" KEEL_DATABASE_URL="$url" \
        KEEL_REPLICAS="${REPLICAS:-1}" KEEL_LOG_LEVEL=warn \
        KEEL_AUTH_DEFAULT_SCOPES=riding:write,compute:read,kv:read,kv:write \
        "$KEEL" serve ) >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_up "$port" $!
    printf -v "PORT_$name" '%s' "$port"
}
nginx_up() { # PORT...: deploy/nginx.conf in front of them; sets NGINX_PORT
    local d=$TMP/nginx-$1; mkdir -p "$d/logs"
    NGINX_PORT=$(free_port)
    python3 "$ROOT/tests/deploy/nginx_local.py" "$ROOT/deploy/nginx.conf" "$d/nginx.conf" "$NGINX_PORT" "$@"
    sed -i 's|access_log logs/access.log;|access_log off;|' "$d/nginx.conf"
    nginx -p "$d" -c "$d/nginx.conf" -g "daemon off; pid nginx.pid;" >"$d/out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/nginx-health" 2>/dev/null && break; sleep 0.05; done
}
# setup BASE: a user, a token, a horse with 20 sessions, a horse for uploads;
# sets TOKEN HORSE UPHORSE
setup_data() {
    local base=$1 i
    curl -sS -o /dev/null -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
        -d '{"email":"bench@example.com","password":"bench-password-1"}' || true
    TOKEN=$(curl -fsS -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"bench@example.com","password":"bench-password-1"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
    HORSE=$(curl -fsS -X POST "$base/v1/riding/create_horse" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "{\"name\":\"Bench $RANDOM$RANDOM\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
    # uploads go to a horse of their own: the listed horse keeps exactly 20 sessions
    UPHORSE=$(curl -fsS -X POST "$base/v1/riding/create_horse" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "{\"name\":\"Up $RANDOM$RANDOM\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
    for i in $(seq 1 20); do
        sed "\$a 86.00000,0.9999,0.0,9.8100,0.0,0.0,0.$i" "$TMP/s.csv" >"$TMP/seed.csv"
        curl -fsS -o /dev/null -X POST \
            "$base/v1/riding/upload_session?horse_id=$HORSE&started_at=2026-01-$(printf %02d "$i")T10:00:00Z" \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' --data-binary "@$TMP/seed.csv"
    done
}
# measure SETUP BASE: the three loads against BASE, one line each
measure() {
    local name=$1 base=$2 out rps p99 bad
    setup_data "$base"
    out=$(wrk -t2 -c"$CONNS" -d"$DUR" --latency -s "$TMP/upload.lua" \
        "$base/v1/riding/upload_session?horse_id=$UPHORSE&started_at=2026-02-01T10:00:00Z" -- "$TMP/s.csv" "$TOKEN")
    rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out"); bad=$(sed -n 's/^codes non2xx=//p' <<<"$out")
    p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    echo "$name upload        rps=$rps p99=$p99 non2xx=$bad conns=$CONNS" | tee -a "$OUT"
    out=$(wrk -t2 -c"$CONNS" -d"$DUR" --latency -s "$TMP/json.lua" "$base/v1/riding/list_sessions" \
        -- "$TOKEN" "{\"horse_id\":$HORSE}")
    rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out"); bad=$(sed -n 's/^codes non2xx=//p' <<<"$out")
    p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    echo "$name list_sessions rps=$rps p99=$p99 non2xx=$bad conns=$CONNS" | tee -a "$OUT"
    out=$(wrk -t2 -c64 -d"$DUR" --latency -s "$TMP/kvput.lua" "$base/v1/kv/put" -- "$TOKEN")
    rps=$(awk '/^Requests\/sec/{print $2}' <<<"$out"); bad=$(sed -n 's/^codes non2xx=//p' <<<"$out")
    p99=$(awk '$1=="99%"{print $2}' <<<"$out"); p50=$(awk '$1=="50%"{print $2}' <<<"$out")
    echo "$name kv_put        rps=$rps p50=$p50 p99=$p99 non2xx=$bad conns=64" | tee -a "$OUT"
}
stop_all() { while [ ${#PIDS[@]} -gt 0 ]; do stop_last; done; }

newdb() { psql -q -v ON_ERROR_STOP=1 "$ADMIN" -c "CREATE DATABASE $1" >/dev/null; echo "${ADMIN%/*}/$1"; }

serve s1 "sqlite:$TMP/s1/keel.db"
measure sqlite-1 "http://127.0.0.1:$PORT_s1"
stop_all

serve p1 "$(newdb bench_p1)"
measure pg-1 "http://127.0.0.1:$PORT_p1"
nginx_up "$PORT_p1"
measure pg-1-nginx "http://127.0.0.1:$NGINX_PORT"
stop_all

url=$(newdb bench_p3)
REPLICAS=3 serve ra "$url"; REPLICAS=3 serve rb "$url"; REPLICAS=3 serve rc "$url"
nginx_up "$PORT_ra" "$PORT_rb" "$PORT_rc"
measure pg-3-nginx "http://127.0.0.1:$NGINX_PORT"
stop_all
echo "# written to $OUT"
