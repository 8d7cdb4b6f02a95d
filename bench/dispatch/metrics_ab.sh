#!/usr/bin/env bash
# bench/dispatch/metrics_ab.sh [BUILD_DIR] — per-method metrics on vs off on
# the echo benchmark, as an A/B on a shared machine: both servers run at once
# (keel serve, one loop, log at warn, KEEL_METRICS true / false) and wrk
# (-t2 -c32, POST {"msg":"hi"} /v1/echo/echo) alternates between them in
# ABBA order for BENCH_PAIRS pairs of BENCH_DURATION (default 8 × 3s), so
# load that comes and goes hits both alike.  Prints each run, then the
# median req/s and server CPU µs/request of each and the on/off ratios
# (issue 19's target: metrics cost ≤ 3 % req/s).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
KEEL="$BUILD/keel"
DUR=${BENCH_DURATION:-3s}
PAIRS=${BENCH_PAIRS:-8}
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }
. "$HERE/../lib.sh"
bench_tmp metrics_ab
start() { # NAME METRICS → port in PORT_<NAME>, pid in PID_<NAME>
    local port; port=$(free_port)
    mkdir -p "$TMP/$1"
    ( cd "$TMP/$1" && exec env KEEL_PORT="$port" KEEL_HOST=127.0.0.1 KEEL_THREADS=1 KEEL_AUTH_DISABLED=1 \
        KEEL_LOG_LEVEL=warn KEEL_MODULES_LOCAL=echo KEEL_METRICS="$2" \
        KEEL_DATABASE_URL="sqlite:$TMP/$1/keel.db" "$KEEL" serve ) >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
    wait_up "$port" "$!"
    printf -v "PORT_$1" '%s' "$port"
    printf -v "PID_$1" '%s' "$!"
}
run() { # NAME: one wrk run, appends "rps cpu_us_per_req" to $TMP/NAME.runs
    local port="PORT_$1" pid="PID_$1" t0 t1 out n rps
    t0=$(cpu_ticks "${!pid}")
    out=$(wrk -t2 -c32 -d"$DUR" -s "$HERE/post.lua" "http://127.0.0.1:${!port}/v1/echo/echo")
    t1=$(cpu_ticks "${!pid}")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "$1: errors" >&2; exit 1; fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    python3 -c 'import os,sys; a=[float(x) for x in sys.argv[2:]]; print(sys.argv[1], "%.2f" % ((a[1]-a[0]) * 1e6 / os.sysconf("SC_CLK_TCK") / a[2]))' \
        "$rps" "$t0" "$t1" "$n" | tee -a "$TMP/$1.runs" | sed "s/^/$1 /"
}
start on true
start off false
echo "== metrics on/off: wrk -t2 -c32 -d$DUR, $PAIRS ABBA pairs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then run on; run off; else run off; run on; fi
done
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$TMP/on.runs" "$TMP/off.runs" <<'PY'
import statistics, sys
on = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
off = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
med = lambda xs, k: statistics.median(x[k] for x in xs)
print("median req/s: on %.0f, off %.0f; median CPU us/req: on %.2f, off %.2f"
      % (med(on, 0), med(off, 0), med(on, 1), med(off, 1)))
print("metrics on/off: req/s %.3f, cpu/req %.3f" % (med(on, 0) / med(off, 0), med(on, 1) / med(off, 1)))
# each pair ran back to back: the ratio within a pair cancels slow drifts
pr = sorted(a[0] / b[0] for a, b in zip(on, off))
pc = sorted(a[1] / b[1] for a, b in zip(on, off))
print("per-pair ratios, median: req/s %.3f (%.3f..%.3f), cpu/req %.3f (%.3f..%.3f)"
      % (statistics.median(pr), pr[0], pr[-1], statistics.median(pc), pc[0], pc[-1]))
PY
