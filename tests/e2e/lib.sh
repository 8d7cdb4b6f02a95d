# tests/e2e/lib.sh — shared helpers for end-to-end tests of the real binary.
# Source it:  . "$(dirname "$0")/lib.sh"
# Needs: KEEL_BIN (ctest sets it), curl, python3.
set -euo pipefail
: "${KEEL_BIN:?KEEL_BIN must point at the keel binary}"

E2E_TMP=$(mktemp -d --suffix=-keel-e2e -p "${TMPDIR:-/tmp}")
E2E_PIDS=()
E2E_PASS=0
E2E_FAIL=0

E2E_DBS=()
# KEEL_E2E_BACKEND=pg runs the suite on PostgreSQL: every database the test
# asks for (e2e_db_url) is a fresh one on the throw-away cluster of
# scripts/pg-cluster.sh (admin URL in $KEEL_TEST_PG_DIR/url), dropped at exit.
E2E_BACKEND=${KEEL_E2E_BACKEND:-sqlite}
if [ "$E2E_BACKEND" = pg ]; then
    E2E_PG_ADMIN=${KEEL_TEST_PG_URL:-$(cat "${KEEL_TEST_PG_DIR:-/nonexistent}/url" 2>/dev/null || true)}
    if [ -z "$E2E_PG_ADMIN" ]; then
        echo "skip: KEEL_E2E_BACKEND=pg but no PostgreSQL cluster (postgresql not installed?)"
        exit 77
    fi
    echo "# backend: postgres ($E2E_PG_ADMIN)"
fi

# e2e_db_url NAME: the database URL for NAME (same NAME, same database).
e2e_db_url() {
    local name=$1
    if [ "$E2E_BACKEND" != pg ]; then
        echo "sqlite:$E2E_TMP/$name/keel.db"
        return
    fi
    local db="keel_e2e_$$_$(echo "$name" | tr -c 'a-zA-Z0-9\n' _ | tr 'A-Z' 'a-z')"
    if [ ! -f "$E2E_TMP/db.$db" ]; then
        psql -q -v ON_ERROR_STOP=1 "$E2E_PG_ADMIN" -c "CREATE DATABASE $db" >/dev/null
        : >"$E2E_TMP/db.$db"
        E2E_DBS+=("$db")
    fi
    echo "${E2E_PG_ADMIN%/*}/$db"
}

e2e_cleanup() {
    local p
    for p in "${E2E_PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${E2E_PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    if [ "$E2E_BACKEND" = pg ]; then
        for p in $(ls "$E2E_TMP" 2>/dev/null | sed -n 's/^db\.//p'); do
            psql -q "$E2E_PG_ADMIN" -c "DROP DATABASE IF EXISTS $p WITH (FORCE)" >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

# free_port: prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}

# keel_serve VAR [ENV=VAL ...] [-- extra args]: starts `keel serve` on a free
# port with its own data dir, waits for /healthz, and stores the port in VAR
# and the pid in VAR_PID.  Logs go to $E2E_TMP/VAR.log.
keel_serve() {
    local var=$1; shift
    local port; port=$(free_port)
    local envs=() args=()
    while [ $# -gt 0 ]; do
        if [ "$1" = "--" ]; then shift; args=("$@"); break; fi
        envs+=("$1"); shift
    done
    mkdir -p "$E2E_TMP/$var"
    local dburl; dburl=$(e2e_db_url "$var")
    ( cd "$E2E_TMP/$var" && exec env KEEL_PORT="$port" KEEL_HOST=127.0.0.1 KEEL_THREADS=2 KEEL_CHECK_OUTPUT=1 \
        KEEL_DATABASE_URL="$dburl" "${envs[@]}" \
        "$KEEL_BIN" serve "${args[@]}" ) >"$E2E_TMP/$var.log" 2>&1 &
    local pid=$!
    E2E_PIDS+=("$pid")
    printf -v "$var" '%s' "$port"
    printf -v "${var}_PID" '%s' "$pid"
    local i
    for i in $(seq 1 200); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "keel serve ($var) exited early; log:" >&2; cat "$E2E_TMP/$var.log" >&2; return 1
        fi
        sleep 0.05
    done
    echo "keel serve ($var) did not become healthy; log:" >&2; cat "$E2E_TMP/$var.log" >&2
    return 1
}

# keel_stop VAR: SIGTERM the server started as VAR and wait for it.
keel_stop() {
    local pidvar="${1}_PID"
    local pid=${!pidvar}
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# http METHOD URL [curl args...]: sets HTTP_STATUS and HTTP_BODY.
http() {
    local method=$1 url=$2; shift 2
    local out="$E2E_TMP/body.$$"
    HTTP_STATUS=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$url" "$@" || echo 000)
    HTTP_BODY=$(cat "$out" 2>/dev/null || true)
}

# http_until STATUS METHOD URL [curl args…]: http until it answers STATUS, for
# up to 5 s (state that a background pass publishes, e.g. /readyz, which
# reads the health checker's last pass: health_interval_ms, default 1 s).
http_until() {
    local want=$1 i; shift
    for i in $(seq 1 50); do
        http "$@"
        [ "$HTTP_STATUS" = "$want" ] && return 0
        sleep 0.1
    done
    return 0
}

# jget JSON PATH: prints a value by a dotted path (a.b.0.c); "" if absent.
jget() {
    python3 -c '
import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split(".") if sys.argv[2] else []:
    if isinstance(v,list): v=v[int(k)] if int(k)<len(v) else None
    elif isinstance(v,dict): v=v.get(k)
    else: v=None
    if v is None: break
print("" if v is None else (json.dumps(v) if isinstance(v,(dict,list,bool)) else v))' "$1" "$2"
}

ok()   { E2E_PASS=$((E2E_PASS+1)); echo "ok   - $*"; }
fail() { E2E_FAIL=$((E2E_FAIL+1)); echo "FAIL - $*"; }

# expect_eq WHAT GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
# expect_status WHAT WANT (uses HTTP_STATUS / HTTP_BODY)
expect_status() {
    if [ "$HTTP_STATUS" = "$2" ]; then ok "$1 → $2"; else fail "$1: status $HTTP_STATUS, want $2; body: ${HTTP_BODY:0:300}"; fi
}
# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() { case "$2" in *"$3"*) ok "$1";; *) fail "$1: '${2:0:300}' lacks '$3'";; esac; }

# e2e_done: prints the summary and exits non-zero on any failure.
e2e_done() {
    echo "$E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s).
wait_port() {
    local i
    for i in $(seq 1 100); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on $1" >&2; return 1
}

# collector PORTVAR FILE [--hang]: an OTLP/HTTP JSON stand-in
# (otlp_collector.py) on a free port, spans appended to FILE as NDJSON;
# --hang accepts and never answers.  Sets PORTVAR to its port.
collector() {
    local port; port=$(free_port)
    python3 "$(dirname "${BASH_SOURCE[0]}")/otlp_collector.py" "$port" "$2" ${3:-} >>"$E2E_TMP/collector.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_port "$port"
    printf -v "$1" '%s' "$port"
}
