#!/usr/bin/env bash
# bench/dispatch/run.sh [BUILD_DIR] — HTTP throughput of keel vs a bare evhttp
# peer on 127.0.0.1, then the dispatch microbenchmark if it was built.
#
#   wrk -t2 -c32 -d5s POST {"msg":"hi"} → /v1/echo/echo
#     peer      bench/dispatch/peer_evhttp.c (one loop, jansson parse+dump)
#     keel-1    keel serve, KEEL_THREADS=1, KEEL_LOG_LEVEL=warn
#     keel-1log keel serve, KEEL_THREADS=1, access log at info (to a file)
#     keel-2    keel serve, KEEL_THREADS=2, KEEL_LOG_LEVEL=warn
#     keel-1nm  keel-1 with KEEL_METRICS=false (the cost of per-method metrics)
#     keel-1tr  keel-1 with every call traced (KEEL_TRACE_SAMPLE=1) and exported
#               to a collector stand-in (tests/e2e/otlp_collector.py --discard)
# BENCH_DURATION (default 5s) and BENCH_CONNS (default 32) override wrk's;
# BENCH_ROUNDS (default 1) repeats the four runs, alternating, and reports
# the median (the machine is shared: one round is noisy).
# Needs: wrk, cc, pkg-config, libevent-dev, libjansson-dev, curl, python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
KEEL="$BUILD/keel"
DUR=${BENCH_DURATION:-5s}
CONNS=${BENCH_CONNS:-32}
ROUNDS=${BENCH_ROUNDS:-1}
[ -x "$KEEL" ] || { echo "no keel binary at $KEEL (pass the build dir)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }

. "$HERE/../lib.sh"
bench_tmp dispatch
# bench NAME PORT PID: checks one answer, runs wrk, prints
# "NAME req/s p50 p99 cpu-us/req" (server CPU time per request: robust to a
# busy machine, unlike req/s)
bench() {
    local name=$1 port=$2 pid=$3 url="http://127.0.0.1:$2/v1/echo/echo" got out rps t0 t1 n cpu
    got=$(curl -sS -H 'Content-Type: application/json' -d '{"msg":"hi"}' "$url")
    [ "$got" = '{"msg":"hi"}' ] || { echo "$name: unexpected answer '$got'" >&2; return 1; }
    t0=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$CONNS" -d"$DUR" --latency -s "$HERE/post.lua" "$url")
    t1=$(cpu_ticks "$pid")
    echo "$out" > "$TMP/$name.wrk"
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        echo "$name: errors during the run:" >&2; grep 'Non-2xx\|Socket errors' <<<"$out" >&2; return 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu=$(python3 -c 'import os,sys; a=[float(x) for x in sys.argv[1:]]; print("%.2f" % ((a[1]-a[0]) * 1e6 / os.sysconf("SC_CLK_TCK") / a[2]))' "$t0" "$t1" "$n")
    printf '%-10s %12s %10s %10s %12s\n' "$name" "$rps" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" "$cpu"
    local var="RPS_${name//-/_}" cvar="CPU_${name//-/_}"
    printf -v "$var" '%s' "${!var:-} $rps"
    printf -v "$cvar" '%s' "${!cvar:-} $cpu"
}
start_keel() { # NAME THREADS LOGLEVEL [ENV=VAL…] → port in PORT
    local name=$1 threads=$2 level=$3
    shift 3
    PORT=$(free_port)
    mkdir -p "$TMP/$name"
    ( cd "$TMP/$name" && exec env KEEL_PORT="$PORT" KEEL_HOST=127.0.0.1 KEEL_THREADS="$threads" \
        KEEL_AUTH_DISABLED=1 KEEL_LOG_LEVEL="$level" KEEL_MODULES_LOCAL=echo \
        KEEL_DATABASE_URL="sqlite:$TMP/$name/keel.db" "$@" "$KEEL" serve ) >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_up "$PORT" "$!"
}
stop_last() { local p=${PIDS[-1]}; kill "$p"; wait "$p" 2>/dev/null || true; unset 'PIDS[-1]'; }

cc -O2 -o "$TMP/peer" "$HERE/peer_evhttp.c" $(pkg-config --cflags --libs libevent jansson)
# the collector stand-in answers 200 without parsing: its own CPU stays small
# (it shares the cores with wrk and keel all the same)
OTLP_PORT=$(free_port)
python3 "$HERE/../../tests/e2e/otlp_collector.py" "$OTLP_PORT" /dev/null --discard & PIDS+=($!)
for i in $(seq 1 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$OTLP_PORT" 2>/dev/null && break
    sleep 0.05
done
# trace_counts PORT: "exported dropped" from keel's /metrics
trace_counts() {
    curl -sS "http://127.0.0.1:$1/metrics" | awk '/^keel_trace_spans_exported_total / {e=$2} /^keel_trace_spans_dropped_total / {d=$2} END {print e+0, d+0}'
}

echo "== HTTP: wrk -t2 -c$CONNS -d$DUR, POST {\"msg\":\"hi\"} /v1/echo/echo on 127.0.0.1 ($(nproc) cores), $ROUNDS round(s)"
echo "   load average before: $(cut -d" " -f1-3 /proc/loadavg)"
printf '%-10s %12s %10s %10s %12s\n' server req/s p50 p99 cpu-us/req
for round in $(seq 1 "$ROUNDS"); do
    PORT=$(free_port)
    "$TMP/peer" "$PORT" & PIDS+=($!)
    wait_up "$PORT" "$!"
    bench peer "$PORT" "${PIDS[-1]}"; stop_last
    start_keel keel-1 1 warn;    bench keel-1 "$PORT" "${PIDS[-1]}";    stop_last
    start_keel keel-1log 1 info; bench keel-1log "$PORT" "${PIDS[-1]}"; stop_last
    start_keel keel-2 2 warn;    bench keel-2 "$PORT" "${PIDS[-1]}";    stop_last
    start_keel keel-1nm 1 warn KEEL_METRICS=false; bench keel-1nm "$PORT" "${PIDS[-1]}"; stop_last
    start_keel keel-1tr 1 warn KEEL_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" KEEL_TRACE_SAMPLE=1
    bench keel-1tr "$PORT" "${PIDS[-1]}"
    sleep 1.2   # the exporter's last interval
    echo "   keel-1tr spans exported, dropped: $(trace_counts "$PORT")"
    stop_last
done
echo "   load average after: $(cut -d" " -f1-3 /proc/loadavg)"
python3 - "$RPS_peer" "$RPS_keel_1" "$RPS_keel_1log" "$RPS_keel_2" \
          "$CPU_peer" "$CPU_keel_1" "$CPU_keel_1log" "$CPU_keel_2" "$RPS_keel_1nm" "$CPU_keel_1nm" \
          "$RPS_keel_1tr" "$CPU_keel_1tr" <<'PY'
import statistics, sys
r = [statistics.median(map(float, a.split())) for a in sys.argv[1:5]]
c = [statistics.median(map(float, a.split())) for a in sys.argv[5:9]]
names = ["peer", "keel-1", "keel-1log", "keel-2"]
print("median req/s:       " + ", ".join("%s %.0f" % (n, v) for n, v in zip(names, r)))
print("median cpu-us/req:  " + ", ".join("%s %.2f" % (n, v) for n, v in zip(names, c)))
print("req/s ratio vs peer: " + ", ".join("%s %.2f" % (n, v / r[0]) for n, v in zip(names[1:], r[1:])))
print("cpu/req ratio vs peer: " + ", ".join("%s %.2f" % (n, v / c[0]) for n, v in zip(names[1:], c[1:])))
nm_r, nm_c = (statistics.median(map(float, a.split())) for a in sys.argv[9:11])
print("metrics on/off (keel-1 / keel-1nm): req/s %.3f, cpu/req %.3f" % (r[1] / nm_r, c[1] / nm_c))
print("access log at info vs warn (keel-1log / keel-1): req/s %.3f, cpu/req %.3f" % (r[2] / r[1], c[2] / c[1]))
tr_r, tr_c = (statistics.median(map(float, a.split())) for a in sys.argv[11:13])
print("tracing on (sample 1, exported) vs off (keel-1tr / keel-1): req/s %.3f, cpu/req %.3f" % (tr_r / r[1], tr_c / c[1]))
PY

BIN=$(find "$BUILD" -maxdepth 3 -type f -name 'keel_bench_dispatch' -perm -u+x 2>/dev/null | head -1)
if [ -n "$BIN" ]; then
    echo "== dispatch microbenchmark ($BIN)"
    "$BIN"
else
    echo "== dispatch microbenchmark not built (no keel_bench_dispatch under $BUILD)"
fi
