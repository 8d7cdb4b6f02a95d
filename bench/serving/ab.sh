#!/usr/bin/env bash
# bench/serving/ab.sh NAME=KEEL_BINARY... — the same load on several keel
# builds in one run, to say what a change bought: each binary serves
# `keel serve` at the default configuration (every module, auth on, access
# log at info to a file) with KEEL_THREADS=1 pinned on CPU 0, and wrk -t1
# -c32 on CPU 1 posts {"msg":"hi"} to /v1/echo/echo (AB_PATH, AB_LUA
# override) for AB_DURATION (default 4s).  AB_ROUNDS (default 3) rounds
# alternate the binaries; the medians of req/s, p99 and the server's CPU
# time per request are printed.  Needs wrk, curl, python3, taskset.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${AB_DURATION:-4s}
ROUNDS=${AB_ROUNDS:-3}
PATH_=${AB_PATH:-/v1/echo/echo}
[ $# -ge 1 ] || { echo "usage: $0 NAME=KEEL_BINARY..." >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/keel-ab.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
LUA=${AB_LUA:-$TMP/echo.lua}
[ -n "${AB_LUA:-}" ] || printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
    "'{\"msg\":\"hi\"}'" >"$LUA"
echo "== ab: $ROUNDS rounds, wrk -t1 -c32 -d$DUR POST $PATH_, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
    for nb in "$@"; do
        name=${nb%%=*} bin=${nb#*=}
        port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
        rm -rf "$TMP/db" && mkdir -p "$TMP/db"
        ( cd "$TMP/db" && exec taskset -c 0 env KEEL_HOST=127.0.0.1 KEEL_PORT="$port" KEEL_THREADS=1 \
            KEEL_DATABASE_URL="sqlite:$TMP/db/keel.db" "$bin" serve ) >"$TMP/$name.log" 2>&1 &
        PID=$!
        for i in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.05; done
        t0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
        out=$(taskset -c 1 wrk -t1 -c32 -d"$DUR" --latency -s "$LUA" "http://127.0.0.1:$port$PATH_")
        t1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
        kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
        if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "$name: errors" >&2; grep 'Non-2xx\|Socket errors' <<<"$out" >&2; exit 1; fi
        n=$(awk '/requests in/ {print $1}' <<<"$out")
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' <<<"$out")
        cpu=$(python3 -c 'import os,sys; a=[float(x) for x in sys.argv[1:]]; print("%.2f" % ((a[1]-a[0]) * 1e6 / os.sysconf("SC_CLK_TCK") / a[2]))' "$t0" "$t1" "$n")
        echo "$name $rps $p99 $cpu" >>"$TMP/results"
        printf '  round %d %-12s %10s req/s  p99 %8s ms  %7s cpu-us/req\n' "$r" "$name" "$rps" "$p99" "$cpu"
    done
done
python3 - "$TMP/results" "$@" <<'PY'
import statistics, sys
rows = {}
for l in open(sys.argv[1]):
    n, a, b, c = l.split()
    rows.setdefault(n, []).append((float(a), float(b), float(c)))
print("medians:")
for nb in sys.argv[2:]:
    n = nb.split("=", 1)[0]
    v = rows[n]
    print("  %-12s %10.0f req/s  p99 %7.2f ms  %7.2f cpu-us/req" % (
        n, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
        statistics.median(x[2] for x in v)))
PY
