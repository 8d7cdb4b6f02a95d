#!/usr/bin/env bash
# e2e_topology.sh — deploy/docker-compose.yml's topology as real processes on
# this machine (images other than keel's cannot be pulled here):
#   postgres   Debian's PostgreSQL (scripts/pg-cluster.sh; ctest's pg fixture)
#   migrate    `keel migrate` with the migrate service's environment
#   keel x3    `keel serve` with the keel service's environment, 3 replicas
#   compute    one instance of the scaled compute service
#   compute-direct  the data scientists' instance
#   nginx      Debian's nginx running deploy/nginx.conf (tests/deploy/nginx_local.py
#              turns the upstream name into the replicas' loopback ports)
# Every environment is read from the compose file: only host names
# (postgres, keel, compute) become 127.0.0.1:PORT, /run/secrets/NAME a file
# written the way the file's header says, and KEEL_PORT a free port.
# Exercised: register/login, upload, list_sessions and horse_trend through
# nginx (spread over the replicas), compute-direct called with a user token.
. "$(dirname "$0")/lib.sh"
src=${KEEL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
compose=$src/deploy/docker-compose.yml

if [ "$E2E_BACKEND" != pg ]; then
    echo "skip: the compose topology runs on PostgreSQL (ctest's e2e_topology sets KEEL_E2E_BACKEND=pg)"
    exit 77
fi
ngx=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -z "$ngx" ]; then
    echo "skip: nginx not installed (apt-get install -y nginx-light): the topology needs it"
    exit 77
fi

# ---- ports, secrets, environments -------------------------------------------
declare -A PORT
for s in A B C compute direct nginx; do PORT[$s]=$(free_port); done
mkdir -p "$E2E_TMP/secrets"
DB=$(e2e_db_url topology)
printf '%s' "$DB" >"$E2E_TMP/secrets/db_url"
openssl rand -hex 32 >"$E2E_TMP/secrets/service_token"

# svc_env SERVICE: its KEEL_ environment, one NAME=VALUE a line, localized
svc_env() {
    python3 - "$compose" "$1" "$E2E_TMP/secrets" "${PORT[A]}" "${PORT[compute]}" <<'PY'
import sys, urllib.parse, yaml
path, svc, secrets, keel_port, compute_port = sys.argv[1:]
doc = yaml.safe_load(open(path))
env = doc["services"][svc].get("environment") or {}
hosts = {"keel": keel_port, "compute": compute_port}
for k, v in env.items():
    v = "" if v is None else str(v)
    if not k.startswith("KEEL_"):
        continue
    if k == "KEEL_PORT":
        continue                      # each process gets its own
    if v.startswith("/run/secrets/"):
        v = f"{secrets}/{v.rsplit('/', 1)[1]}"
    elif v.startswith("http://"):
        u = urllib.parse.urlparse(v)
        if u.hostname not in hosts:
            sys.exit(f"{svc}: {k}={v} names a host this test does not run")
        v = f"http://127.0.0.1:{hosts[u.hostname]}{u.path}"
    print(f"{k}={v}")
PY
}
mapfile -t GW_ENV < <(svc_env keel)
mapfile -t CO_ENV < <(svc_env compute)
mapfile -t DI_ENV < <(svc_env compute-direct)
mapfile -t MI_ENV < <(svc_env migrate)
[ ${#GW_ENV[@]} -gt 3 ] && [ ${#CO_ENV[@]} -gt 2 ] || { fail "could not read the compose environments"; e2e_done; exit 1; }
echo "# gateway environment (from the compose file): ${GW_ENV[*]}"

# run_svc NAME PORT ENV...: keel serve with exactly that environment (+ host/port)
run_svc() {
    local name=$1 port=$2; shift 2
    mkdir -p "$E2E_TMP/$name"
    ( cd "$E2E_TMP/$name" && exec env -i PATH="$PATH" KEEL_HOST=127.0.0.1 KEEL_PORT="$port" \
        KEEL_CALL_LOG="${KEEL_CALL_LOG:-}" "$@" "$KEEL_BIN" serve ) >"$E2E_TMP/$name.log" 2>&1 &
    E2E_PIDS+=($!)
    eval "${name}_PID=$!"
}
wait_ready() { # NAME PORT
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "http://127.0.0.1:$2/readyz" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "$1 did not become ready: $(tail -3 "$E2E_TMP/$1.log")"
    return 1
}

# ---- start in compose's order --------------------------------------------------
out=$(cd "$E2E_TMP" && env -i PATH="$PATH" "${MI_ENV[@]}" "$KEEL_BIN" migrate 2>&1) \
    && ok "migrate (the one-shot service's environment) provisions and migrates" \
    || fail "migrate: $out"
run_svc compute "${PORT[compute]}" "${CO_ENV[@]}"
run_svc direct "${PORT[direct]}" "${DI_ENV[@]}"
wait_ready compute "${PORT[compute]}" && ok "compute serves"
wait_ready direct "${PORT[direct]}" && ok "compute-direct serves"
for r in A B C; do run_svc "$r" "${PORT[$r]}" "${GW_ENV[@]}"; done
for r in A B C; do wait_ready "$r" "${PORT[$r]}" && ok "keel replica $r serves (KEEL_REPLICAS, Postgres)"; done

if [ "$E2E_FAIL" -gt 0 ]; then
    echo "# a process did not start: not exercising the topology"
    e2e_done
    exit 1
fi
mkdir -p "$E2E_TMP/nginx/logs"
python3 "$src/tests/deploy/nginx_local.py" "$src/deploy/nginx.conf" "$E2E_TMP/nginx/nginx.conf" \
    "${PORT[nginx]}" "${PORT[A]}" "${PORT[B]}" "${PORT[C]}"
"$ngx" -p "$E2E_TMP/nginx" -c "$E2E_TMP/nginx/nginx.conf" -g "daemon off; pid nginx.pid;" \
    >"$E2E_TMP/nginx.out" 2>&1 &
E2E_PIDS+=($!)
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:${PORT[nginx]}/nginx-health" 2>/dev/null && break; sleep 0.05
done
N=http://127.0.0.1:${PORT[nginx]}/v1
J=(-H 'Content-Type: application/json')

# ---- the riding flow through nginx --------------------------------------------
http POST "$N/auth/register" "${J[@]}" -d '{"email":"t@example.com","password":"hunter22hunter"}'
expect_status "register through nginx" 200
http POST "$N/auth/login" "${J[@]}" -d '{"email":"t@example.com","password":"hunter22hunter"}'
expect_status "login through nginx" 200
TOKEN=$(jget "$HTTP_BODY" token)
TOK=(-H "Authorization: Bearer $TOKEN")
http POST "$N/riding/create_horse" "${TOK[@]}" "${J[@]}" -d '{"name":"Topo"}'
expect_status "create_horse through nginx" 200
HORSE=$(jget "$HTTP_BODY" id)
SIDS=()
for d in 1 2 3; do
    "$KEEL_BIN" compute synth --seed "$d" --plan "walk:20,trot-left:60,walk:10" --rate 100 >"$E2E_TMP/t$d.csv"
    http POST "$N/riding/upload_session?horse_id=$HORSE&started_at=2026-08-0${d}T10:00:00Z" "${TOK[@]}" \
        -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/t$d.csv"
    expect_status "upload $d through nginx" 200
    SIDS+=("$(jget "$HTTP_BODY" session_id)")
done
for sid in "${SIDS[@]}"; do  # summaries come from the dispatcher (riding → compute over HTTP)
    http POST "$N/riding/get_session" "${TOK[@]}" "${J[@]}" -d "{\"session_id\":$sid,\"wait_ms\":30000}"
    expect_eq "session $sid summarized" "$(jget "$HTTP_BODY" status)" ready
done
good=0
for _ in $(seq 1 9); do
    http POST "$N/riding/list_sessions" "${TOK[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
    [ "$HTTP_STATUS" = 200 ] && [ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["sessions"]))' "$HTTP_BODY")" = 3 ] \
        && good=$((good+1))
done
expect_eq "list_sessions through nginx: 9 of 9 see all 3 sessions, whichever replica answers" "$good" 9
http POST "$N/riding/horse_trend" "${TOK[@]}" "${J[@]}" -d "{\"horse_id\":$HORSE}"
expect_status "horse_trend through nginx" 200
expect_eq "trend over the 3 sessions" "$(jget "$HTTP_BODY" horses.0.sessions)" 3
spread=0
for r in A B C; do
    n=$(grep -c '/v1/riding/' "$E2E_TMP/$r.log" || true)
    echo "     replica $r served $n riding calls"
    [ "$n" -ge 1 ] && spread=$((spread+1))
done
expect_eq "nginx spread the riding calls over the 3 replicas" "$spread" 3
n=$(grep -c 'compute' "$E2E_TMP/compute.log" || true)
[ "$n" -ge 1 ] && ok "the gateway called the compute service ($n log lines)" \
               || fail "the compute service saw no call from the gateway"

# ---- compute-direct: a data scientist with their own token ----------------------
"$KEEL_BIN" compute synth --seed 4 --plan "walk:10,trot-left:30" --rate 100 >"$E2E_TMP/ds.csv"
D=http://127.0.0.1:${PORT[direct]}/v1
http POST "$D/compute/aggregate" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/ds.csv"
expect_status "compute-direct without a token" 401
http POST "$D/compute/aggregate" "${TOK[@]}" -H 'Content-Type: text/csv' --data-binary "@$E2E_TMP/ds.csv"
expect_status "compute-direct with a user token (checked by the gateway's auth)" 200

echo "# ran for real: Debian postgresql ($(psql --version | awk '{print $3}')), migrate, 3 keel replicas,"
echo "#   compute, compute-direct, Debian nginx $("$ngx" -v 2>&1 | sed 's|.*/||') running deploy/nginx.conf"
echo "# checked statically only (tests/deploy/validate.py, e2e_ship): images and tags, networks,"
echo "#   published ports, healthchecks, stop_grace_period, the secrets' modes, the compose schema,"
echo "#   nginx's resolver (Docker DNS) and the second compute replica"
e2e_done
