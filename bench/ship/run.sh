#!/usr/bin/env bash
# bench/ship/run.sh — what shipping keel costs, side by side with its peers:
#   size on disk (and FROM scratch image size, with podman),
#   exec → first HTTP 200 on the health URL (median of RUNS starts),
#   idle RSS after start, RSS under load (wrk -c$CONNS -d${DURATION}s).
# Peers in the same run: the static keel, the same keel linked dynamically
# (same Release flags), nginx (a `return 200` location) and python3
# http.server.  Prints a Markdown table; raw numbers go to $OUT/results.json.
#
#   bench/ship/run.sh                 (RUNS=50 DURATION=5 CONNS=32)
# Needs: gcc, cmake, wrk, curl; optional: nginx, podman.  Loopback only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=${RUNS:-50}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/keel-bench-ship.XXXXXX")}
mkdir -p "$OUT"
die() { echo "bench/ship: $*" >&2; exit 1; }
for t in gcc cmake wrk curl python3; do command -v "$t" >/dev/null || die "missing $t"; done

# ---- binaries -------------------------------------------------------------------
static_bin=${KEEL_STATIC_BIN:-}
if [ -z "$static_bin" ]; then
    static_bin=$("$here/scripts/build-static.sh" "$here/build-bench-ship-static" | tail -1)
fi
dyn_build=$here/build-bench-ship-dyn
mods=(-UKEEL_MODULES)   # default list, unless KEEL_MODULES is set (build-static.sh reads it too)
[ -n "${KEEL_MODULES:-}" ] && mods=("-DKEEL_MODULES=$KEEL_MODULES")
cmake -S "$here" -B "$dyn_build" -DCMAKE_BUILD_TYPE=Release -DKEEL_TESTS=OFF "${mods[@]}" >"$OUT/dyn.configure.log" 2>&1 \
    || die "dynamic configure failed: $OUT/dyn.configure.log"
cmake --build "$dyn_build" -j2 --target keel >"$OUT/dyn.build.log" 2>&1 || die "dynamic build failed: $OUT/dyn.build.log"
mkdir -p "$OUT/bin"; dyn_bin=$OUT/bin/keel
strip --strip-all -o "$dyn_bin" "$dyn_build/keel"
gcc -O2 -Wall -Wextra -o "$OUT/startup" "$here/bench/ship/startup.c" || die "cannot build startup.c"

. "$here/bench/lib.sh"   # free_port

# ---- sizes ------------------------------------------------------------------------
size_static=$(stat -c %s "$static_bin")
size_dyn=$(stat -c %s "$dyn_bin")
# what the dynamic binary needs on disk besides itself (its shared libraries)
size_dyn_libs=$(ldd "$dyn_bin" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u \
    | xargs -r readlink -f | xargs -r stat -c %s | awk '{s+=$1} END{print s+0}')
image_size=""
if command -v podman >/dev/null 2>&1; then
    ctx=$OUT/image
    "$here/scripts/verify-scratch.sh" --rootfs "$ctx/rootfs" "$static_bin" >/dev/null
    sed -n '/^FROM scratch/,$p' "$here/Dockerfile" | sed -e 's#--from=build ##' -e 's# /rootfs/# rootfs/#' \
        >"$ctx/Containerfile.local"
    if timeout 120 podman build -q --format docker -t localhost/keel:bench-ship -f "$ctx/Containerfile.local" "$ctx" \
        >"$OUT/podman.log" 2>&1; then
        image_size=$(podman image inspect localhost/keel:bench-ship --format '{{.Size}}')
        podman rmi -f localhost/keel:bench-ship >/dev/null 2>&1 || true
    fi
fi

# ---- servers ------------------------------------------------------------------------
# Each peer: NAME, health URL path, load method + path, command (port as @PORT@).
cat >"$OUT/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body   = '{"hello":"world","n":42}'
wrk.headers["Content-Type"] = "application/json"
EOF
mkdir -p "$OUT/www" "$OUT/nginx/logs" "$OUT/keel-static" "$OUT/keel-dynamic"
echo ok >"$OUT/www/index.html"
cat >"$OUT/nginx/nginx.conf.in" <<'EOF'
worker_processes 2;
pid nginx.pid;
error_log stderr error;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:__PORT__;
        location = /healthz { return 200 "ok\n"; }
        location = /v1/echo/echo { return 200 '{"hello":"world","n":42}'; }
    }
}
EOF

# rss_sum PID FIELD: FIELD (VmRSS/VmHWM) of PID plus its direct children, kB.
rss_sum() {
    local pid=$1 field=$2 total=0 p v
    for p in "$pid" $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        v=$(awk -v f="$field:" '$1==f{print $2}' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# measure NAME HEALTH LOADPATH LOADKIND CMD... (CMD may contain @PORT@)
results=()
measure() {
    local name=$1 health=$2 loadpath=$3 kind=$4; shift 4
    local port cmd=() a start idle idle_anon hwm rss rss_anon rps
    port=$(free_port)
    for a in "$@"; do cmd+=("${a//@PORT@/$port}"); done
    echo "== $name: ${cmd[*]}" >&2
    start=$("$OUT/startup" "$RUNS" "$port" "$health" -- "${cmd[@]}") || die "$name: start measurement failed"
    # once more in the background for the load test
    "${cmd[@]}" >"$OUT/$name.log" 2>&1 &
    local pid=$!
    for a in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$port$health" 2>/dev/null && break; sleep 0.02; done
    sleep 0.5
    idle=$(rss_sum "$pid" VmRSS)
    idle_anon=$(rss_sum "$pid" RssAnon)
    local wrkargs=(-t2 -c"$CONNS" -d"${DURATION}s" --latency)
    [ "$kind" = post ] && wrkargs+=(-s "$OUT/post.lua")
    wrk "${wrkargs[@]}" "http://127.0.0.1:$port$loadpath" >"$OUT/$name.wrk" 2>&1 || true
    hwm=$(rss_sum "$pid" VmHWM)
    rss=$(rss_sum "$pid" VmRSS)
    rss_anon=$(rss_sum "$pid" RssAnon)
    rps=$(awk '/^Requests\/sec:/{print $2}' "$OUT/$name.wrk")
    local non2xx; non2xx=$(awk '/Non-2xx/{print $NF}' "$OUT/$name.wrk")
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    results+=("$(python3 -c 'import json,sys
s=json.loads(sys.argv[2]); s.update(name=sys.argv[1], idle_rss_kb_bg=int(sys.argv[3]), load_hwm_kb=int(sys.argv[4]),
 load_rss_kb=int(sys.argv[5]), rps=float(sys.argv[6] or 0), non2xx=int(sys.argv[7] or 0), load=sys.argv[8],
 idle_anon_kb=int(sys.argv[9]), load_anon_kb=int(sys.argv[10]))
print(json.dumps(s))' "$name" "$start" "$idle" "$hwm" "$rss" "${rps:-0}" "${non2xx:-0}" "$kind $loadpath" \
    "$idle_anon" "$rss_anon")")
}

keel_env=(env KEEL_HOST=127.0.0.1 KEEL_PORT=@PORT@ KEEL_THREADS=2 KEEL_AUTH_DISABLED=1 KEEL_LOG_LEVEL=warn)
measure keel-static /healthz /v1/echo/echo post \
    "${keel_env[@]}" "KEEL_DATABASE_URL=sqlite:$OUT/keel-static/keel.db" "$static_bin" serve
measure keel-dynamic /healthz /v1/echo/echo post \
    "${keel_env[@]}" "KEEL_DATABASE_URL=sqlite:$OUT/keel-dynamic/keel.db" "$dyn_bin" serve
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    ngx=$(command -v nginx || echo /usr/sbin/nginx)
    measure nginx /healthz /v1/echo/echo post \
        sh -c "sed 's/__PORT__/@PORT@/' '$OUT/nginx/nginx.conf.in' >'$OUT/nginx/nginx-@PORT@.conf' && exec '$ngx' -p '$OUT/nginx' -c '$OUT/nginx/nginx-@PORT@.conf' -g 'daemon off;'"
else
    echo "skip: nginx not installed (apt-get install -y nginx-light)" >&2
fi
py=$(python3 -c 'import sys;print(sys.executable)')   # not a pyenv shim: time the interpreter
measure python-http.server / / get "$py" -m http.server @PORT@ --bind 127.0.0.1 -d "$OUT/www"

# ---- report ---------------------------------------------------------------------------
printf '%s\n' "${results[@]}" >"$OUT/results.ndjson"
python3 - "$OUT" "$size_static" "$size_dyn" "$size_dyn_libs" "${image_size:-}" "$RUNS" "$DURATION" "$CONNS" <<'EOF'
import json, sys
out, s_static, s_dyn, s_libs, img, runs, dur, conns = sys.argv[1:9]
rows = [json.loads(l) for l in open(f"{out}/results.ndjson")]
mb = lambda b: f"{int(b)/1e6:.2f} MB"
print(f"\nsizes: static keel {mb(s_static)} (stripped)  |  dynamic keel {mb(s_dyn)} + shared libs {mb(s_libs)}"
      + (f"  |  FROM scratch image {mb(img)} (podman, uncompressed)" if img else "  |  image: not built (no podman)"))
print(f"\nstart = exec → first 200 on the health URL, {runs} starts; load = wrk -t2 -c{conns} -d{dur}s;"
      " RSS = VmRSS (process + children), anon = RssAnon (private memory; the rest is clean,"
      " shareable file pages of the executable and libraries)\n")
print("| server | start median (ms) | start p90 (ms) | idle RSS (MB) | idle anon (MB) | RSS under load (MB) | anon under load (MB) | peak RSS (MB) | req/s | load |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['name']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {r['idle_rss_kb']/1024:.1f} | "
          f"{r['idle_anon_kb']/1024:.1f} | {r['load_rss_kb']/1024:.1f} | {r['load_anon_kb']/1024:.1f} | "
          f"{r['load_hwm_kb']/1024:.1f} | {r['rps']:.0f}"
          f"{' (' + str(r['non2xx']) + ' non-2xx)' if r['non2xx'] else ''} | {r['load']} |")
json.dump({"size_static": int(s_static), "size_dynamic": int(s_dyn), "size_dynamic_libs": int(s_libs),
           "image_size": int(img) if img else None, "servers": rows}, open(f"{out}/results.json", "w"), indent=1)
print(f"\nraw: {out}/results.json")
EOF
