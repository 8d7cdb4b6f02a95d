# bench/lib.sh — what the benchmark scripts share; source it after `set -euo pipefail`:
#
#   . "$ROOT/bench/lib.sh"; bench_tmp serving    # $TMP, removed with every started server
#   port=$(free_port); keel serve … & PIDS+=($!); wait_up "$port" $!
#   t0=$(cpu_ticks "$pid") … t1=$(cpu_ticks "$pid")
#
# bench_tmp NAME: makes $TMP and sets an EXIT trap that kills and reaps every
# pid in PIDS, then removes $TMP.
bench_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/keel-bench-$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
}
bench_cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
# free_port: a loopback TCP port that was free a moment ago
free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}
# wait_up PORT PID: until GET /healthz answers 2xx (10 s), or the pid exits
wait_up() {
    local i
    for i in $(seq 1 200); do
        curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "server exited early" >&2; return 1; }
        sleep 0.05
    done
    echo "server did not come up on port $1" >&2
    return 1
}
# cpu_ticks PID: user+system clock ticks the process has used so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# stop_last: kill and reap the last pid in PIDS
stop_last() { local p=${PIDS[-1]}; kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; unset 'PIDS[-1]'; }
