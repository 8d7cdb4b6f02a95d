#!/usr/bin/env bash
# bench/serving/run.sh [BUILD_DIR] — keel at its default configuration vs Go
# net/http vs a raw evhttp+jansson server vs nginx, in one run, pinned.
#
#   one core: every server on CPU 0 (taskset -c 0; keel KEEL_THREADS=1, Go
#             GOMAXPROCS=1, nginx 1 worker), wrk -t1 on CPU 1
#     echo    POST {"msg":"hi"}: keel /v1/echo/echo, go /echo, raw /
#     kv.get  keel POST /v1/kv/get with a bearer token (the worker path)
#     healthz GET /healthz: keel, go, raw, nginx
#   two threads: keel KEEL_THREADS=2 vs Go GOMAXPROCS=2 on both CPUs, wrk
#             -t2 on both CPUs too (there are only two)
#   start-up: exec → first 200 (bench/ship/startup.c), keel on an already
#             migrated database vs the Go peer; also the static keel (what
#             the image ships) when BENCH_KEEL_STATIC or build-static/keel
#             exists
#
# keel runs as `keel serve` with every module, auth on and the access log at
# its default level (info, to a file).  Each round runs every server once;
# BENCH_ROUNDS (default 3) rounds alternate them, and every ratio is taken
# within one round, then the median over the rounds is printed (the
# machine is shared: absolute req/s move with everybody else's work).
# BENCH_DURATION (default 5s) and BENCH_CONNS (default 32) set wrk's -d/-c.
# Needs: wrk, go (golang-go), nginx (nginx-light), cc, pkg-config,
# libevent-dev, libjansson-dev, curl, python3, taskset.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
KEEL="$BUILD/keel"
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNS:-32}
ROUNDS=${BENCH_ROUNDS:-3}
[ -x "$KEEL" ] || { echo "no keel binary at $KEEL (pass the build dir)" >&2; exit 2; }
for t in wrk go nginx taskset curl python3 cc; do
    command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (server and load generator pinned apart)" >&2; exit 2; }

. "$ROOT/bench/lib.sh"
bench_tmp serving

# ---- peers, built now ----------------------------------------------------------
cc -O2 -o "$TMP/raw" "$ROOT/bench/dispatch/peer_evhttp.c" $(pkg-config --cflags --libs libevent jansson)
( cd "$TMP" && cp "$HERE/go_echo.go" . && GOCACHE="$TMP/gocache" GO111MODULE=off go build -o go_echo go_echo.go )
gcc -O2 -o "$TMP/startup" "$ROOT/bench/ship/startup.c"
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
    "'{\"msg\":\"hi\"}'" >"$TMP/echo.lua"

# ---- keel's database: migrated once, a user with a token and a kv entry ----------
mkdir -p "$TMP/keel"
KEEL_ENV=(KEEL_HOST=127.0.0.1 KEEL_DATABASE_URL="sqlite:$TMP/keel/keel.db"
          KEEL_AUTH_DEFAULT_SCOPES=kv:read,kv:write)
PORT=$(free_port)
( cd "$TMP/keel" && exec env "${KEEL_ENV[@]}" KEEL_PORT="$PORT" "$KEEL" serve ) >"$TMP/keel-setup.log" 2>&1 &
PIDS+=($!)
wait_up "$PORT" "${PIDS[-1]}"
curl -fsS -H 'Content-Type: application/json' -d '{"email":"bench@example.org","password":"correct horse"}' \
    "http://127.0.0.1:$PORT/v1/auth/register" >/dev/null
TOKEN=$(curl -fsS -H 'Content-Type: application/json' -d '{"email":"bench@example.org","password":"correct horse"}' \
    "http://127.0.0.1:$PORT/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -fsS -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
    -d '{"key":"bench","value":"v"}' "http://127.0.0.1:$PORT/v1/kv/put" >/dev/null
stop_last
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer %s"\n' \
    "'{\"key\":\"bench\"}'" "$TOKEN" >"$TMP/kv.lua"

# ---- one measurement -------------------------------------------------------------
# bench NAME URL LUA|- PID CPUS THREADS: checks one answer, runs wrk pinned on
# CPUS, appends "NAME rps p99_ms cpu_us" to $TMP/results
bench() {
    local name=$1 url=$2 lua=$3 pid=$4 cpus=$5 wt=$6 out t0 t1 n rps p99 cpu args=()
    if [ "$lua" != - ]; then args=(-s "$lua"); fi
    if [ "$lua" = - ]; then
        curl -fsS -o /dev/null "$url" || { echo "$name: no 200 from $url" >&2; return 1; }
    fi
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c "$cpus" wrk -t"$wt" -c"$CONNS" -d"$DUR" --latency "${args[@]}" "$url")
    t1=$(cpu_ticks "$pid")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        echo "$name: errors during the run:" >&2; grep 'Non-2xx\|Socket errors' <<<"$out" >&2; return 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' <<<"$out")
    cpu=$(python3 -c 'import os,sys; a=[float(x) for x in sys.argv[1:]]; print("%.2f" % ((a[1]-a[0]) * 1e6 / os.sysconf("SC_CLK_TCK") / a[2]))' "$t0" "$t1" "$n")
    printf '%s %s %s %s %s\n' "$ROUND" "$name" "$rps" "$p99" "$cpu" >>"$TMP/results"
    printf '  %-16s %10s req/s  p99 %8s ms  %8s cpu-us/req\n' "$name" "$rps" "$p99" "$cpu"
}
start_keel() { # THREADS CPUS
    PORT=$(free_port)
    ( cd "$TMP/keel" && exec taskset -c "$2" env "${KEEL_ENV[@]}" KEEL_PORT="$PORT" KEEL_THREADS="$1" \
        "$KEEL" serve ) >>"$TMP/keel.log" 2>&1 &
    PIDS+=($!)
    wait_up "$PORT" "${PIDS[-1]}"
}
start_go() { # PROCS CPUS
    PORT=$(free_port)
    GOMAXPROCS=$1 taskset -c "$2" "$TMP/go_echo" "$PORT" >>"$TMP/go.log" 2>&1 &
    PIDS+=($!)
    wait_up "$PORT" "${PIDS[-1]}"
}
start_raw() {
    PORT=$(free_port)
    taskset -c 0 "$TMP/raw" "$PORT" >>"$TMP/raw.log" 2>&1 &
    PIDS+=($!)
    wait_up "$PORT" "${PIDS[-1]}"
}
start_nginx() {
    PORT=$(free_port)
    mkdir -p "$TMP/nginx"
    sed -e "s|@PORT@|$PORT|g" -e "s|@TMP@|$TMP/nginx|g" "$HERE/nginx.conf.in" >"$TMP/nginx/nginx.conf"
    taskset -c 0 nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >>"$TMP/nginx.log" 2>&1 &
    PIDS+=($!)
    wait_up "$PORT" "${PIDS[-1]}"
}

echo "== bench/serving: $ROUNDS round(s), wrk -c$CONNS -d$DUR, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$TMP/results"
for ROUND in $(seq 1 "$ROUNDS"); do
    echo "-- round $ROUND"
    start_keel 1 0
    bench keel-1-echo "http://127.0.0.1:$PORT/v1/echo/echo" "$TMP/echo.lua" "${PIDS[-1]}" 1 1
    bench keel-1-kvget "http://127.0.0.1:$PORT/v1/kv/get" "$TMP/kv.lua" "${PIDS[-1]}" 1 1
    bench keel-1-healthz "http://127.0.0.1:$PORT/healthz" - "${PIDS[-1]}" 1 1
    stop_last
    start_go 1 0
    bench go-1-echo "http://127.0.0.1:$PORT/echo" "$TMP/echo.lua" "${PIDS[-1]}" 1 1
    bench go-1-healthz "http://127.0.0.1:$PORT/healthz" - "${PIDS[-1]}" 1 1
    stop_last
    start_raw
    bench raw-1-echo "http://127.0.0.1:$PORT/echo" "$TMP/echo.lua" "${PIDS[-1]}" 1 1
    bench raw-1-healthz "http://127.0.0.1:$PORT/healthz" - "${PIDS[-1]}" 1 1
    stop_last
    start_nginx
    bench nginx-1-healthz "http://127.0.0.1:$PORT/healthz" - "${PIDS[-1]}" 1 1
    stop_last
    start_keel 2 0,1
    bench keel-2-echo "http://127.0.0.1:$PORT/v1/echo/echo" "$TMP/echo.lua" "${PIDS[-1]}" 0,1 2
    stop_last
    start_go 2 0,1
    bench go-2-echo "http://127.0.0.1:$PORT/echo" "$TMP/echo.lua" "${PIDS[-1]}" 0,1 2
    stop_last
done
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$TMP/results" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, name, rps, p99, cpu = line.split()
    rows[int(rnd)][name] = (float(rps), float(p99), float(cpu))
def med(f):
    v = [f(r) for r in rows.values()]
    return statistics.median(v)
names = sorted({n for r in rows.values() for n in r})
print("median over %d rounds:" % len(rows))
for n in names:
    print("  %-16s %10.0f req/s  p99 %7.2f ms  %7.2f cpu-us/req" % (
        n, med(lambda r: r[n][0]), med(lambda r: r[n][1]), med(lambda r: r[n][2])))
def ratio(a, b, i=0):
    return med(lambda r: r[a][i] / r[b][i])
print("ratios (within each round, median):")
for label, a, b, target in (
        ("keel echo / go, 1 core", "keel-1-echo", "go-1-echo", ">= 1.25"),
        ("keel echo / raw evhttp, 1 core", "keel-1-echo", "raw-1-echo", ">= 0.90"),
        ("keel kv.get / go echo, 1 core", "keel-1-kvget", "go-1-echo", "(worker path)"),
        ("keel echo / go, 2 threads", "keel-2-echo", "go-2-echo", ">= 1.30"),
        ("keel healthz / nginx, 1 core", "keel-1-healthz", "nginx-1-healthz", ">= 0.60"),
        ("keel healthz / go, 1 core", "keel-1-healthz", "go-1-healthz", "")):
    print("  %-32s req/s %5.2f   p99 %5.2f   cpu/req %5.2f   target %s" % (
        label, ratio(a, b, 0), ratio(a, b, 1), ratio(a, b, 2), target))
PY

echo "== start-up: exec -> first 200 (20 runs each; keel on a migrated database)"
PORT=$(free_port)
echo -n "  keel: "
( cd "$TMP/keel" && env "${KEEL_ENV[@]}" KEEL_PORT="$PORT" KEEL_THREADS=1 \
    "$TMP/startup" 20 "$PORT" /healthz -- "$KEEL" serve )
# the shipped binary is the static one (scripts/build-static.sh, the scratch
# image): no dynamic loader resolving libpq's krb5/ldap/gnutls chain at exec
STATIC=${BENCH_KEEL_STATIC:-$ROOT/build-static/keel}
if [ -x "$STATIC" ]; then
    PORT=$(free_port)
    echo -n "  keel static: "
    ( cd "$TMP/keel" && env "${KEEL_ENV[@]}" KEEL_PORT="$PORT" KEEL_THREADS=1 \
        "$TMP/startup" 20 "$PORT" /healthz -- "$STATIC" serve )
else
    echo "  keel static: skipped, no static binary at $STATIC (scripts/build-static.sh builds it)"
fi
PORT=$(free_port)
echo -n "  go:   "
"$TMP/startup" 20 "$PORT" /healthz -- "$TMP/go_echo" "$PORT"
