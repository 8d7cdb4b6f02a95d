# tests/e2e/lib.sh — shared helpers for end-to-end tests of the real binary.
# Source it:  . "$(dirname "$0")/lib.sh"
# Needs: KEEL_BIN (ctest sets it), curl, jq, python3.
set -euo pipefail
: "${KEEL_BIN:?KEEL_BIN must point at the keel binary}"

# python3 through a version manager's shim (pyenv's is a shell script that
# runs a dozen processes: 0.5 s of CPU a start where the interpreter alone
# takes 0.12 s) is resolved once: the interpreter's directory goes first in
# PATH for this test and everything it starts.
if e2e_py=$(command -v python3) && [ "$(head -c2 "$e2e_py" 2>/dev/null)" = '#!' ] &&
        e2e_py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$e2e_py" ]; then
    PATH="$(dirname "$e2e_py"):$PATH"
fi
unset e2e_py

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

# free_port: prints a TCP port that is free on 127.0.0.1 right now (the
# kernel's pick for port 0): tests/e2e/free_port.c, which ctest names in
# E2E_FREE_PORT, else the same in python.
free_port() {
    if [ -x "${E2E_FREE_PORT:-}" ]; then
        "$E2E_FREE_PORT"
    else
        python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
    fi
}

# keel_serve VAR [ENV=VAL ...] [-- extra args]: starts `keel serve` on a free
# port with its own data dir, waits for /healthz and the first health pass,
# and stores the port in VAR
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
        # live, and every module's first health check done (/readyz says
        # "starting" until then: docs/observability.md)
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null &&
           ! curl -sS "http://127.0.0.1:$port/readyz" 2>/dev/null | grep -q '"starting"'; then
            return 0
        fi
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

# jget JSON PATH: prints a value by a dotted path (a.b.0.c); "" if absent or
# null.  Strings print raw; objects, arrays and booleans as Python's
# json.dumps writes them ({"a": [1, 2]}, non-ASCII as \uXXXX: tests compare
# against that form); numbers as jq prints them (1.0 prints as 1).  Input
# that is not JSON is an error (exit status non-zero).
jget() {
    jq -rn --arg j "$1" --arg p "$2" '
      def hex4: [(./4096|floor)%16, (./256|floor)%16, (./16|floor)%16, .%16]
                | map("0123456789abcdef"[.:.+1]) | join("");
      def ascii: explode | map(if . < 128 then [.] | implode
                               elif . < 65536 then "\\u" + hex4
                               else (. - 65536) as $c | "\\u" + ((55296 + ($c/1024|floor))|hex4)
                                    + "\\u" + ((56320 + $c%1024)|hex4) end) | join("");
      def pyjson: if type == "object" then
                      "{" + ([to_entries[] | (.key|tojson|ascii) + ": " + (.value|pyjson)] | join(", ")) + "}"
                  elif type == "array" then "[" + (map(pyjson) | join(", ")) + "]"
                  elif type == "string" then tojson | ascii
                  else tojson end;
      reduce ($p | if . == "" then empty else split(".")[] end) as $k ($j | fromjson;
          if type == "array" then ($k | tonumber) as $i | (if $i < length then .[$i] else null end)
          elif type == "object" then .[$k]
          else null end)
      | if . == null then "" elif type == "object" or type == "array" or type == "boolean" then pyjson else . end'
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
        (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
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
