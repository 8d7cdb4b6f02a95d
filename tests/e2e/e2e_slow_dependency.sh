#!/usr/bin/env bash
# e2e_slow_dependency.sh — a slow remote module stalls nothing else
# (docs/http.md, "Thread model"; issue: serving).
#
#   B  keel serve with compute only (a second process)
#   P  delay_proxy.py in front of B: every response held 2 s
#   G  the gateway at its default configuration (every module local except
#      compute, which is remote at P; auth on; default KEEL_THREADS and pool)
#
# 16 concurrent compute.aggregate calls through G wait on P while a second
# client calls echo and /healthz (and kv.get with a token, the worker path).
# Behaviour checked in every build: all 16 calls answer 200 with the same
# result as B directly, they ran concurrently (not one after the other), and
# every probe call answers 200.  Timing checked in release builds only
# (KEEL_E2E_TIMING=1, set by CMake unless sanitized or Debug): the p99 of
# echo and /healthz stays under 20 ms.
. "$(dirname "$0")/lib.sh"

BUILT=$("$KEEL_BIN" modules 2>/dev/null | awk '/^[a-z]/ {print $1}' || true)
for m in compute echo kv auth; do
    grep -qx "$m" <<<"$BUILT" || { echo "SKIP - e2e_slow_dependency needs module $m (have: $BUILT)"; e2e_done; exit 0; }
done

keel_serve B KEEL_MODULES_LOCAL=compute KEEL_AUTH_DISABLED=1
PPORT=$(free_port)
python3 "$(dirname "$0")/delay_proxy.py" "$PPORT" "$B" 2 >"$E2E_TMP/proxy.log" 2>&1 &
E2E_PIDS+=("$!")
wait_port "$PPORT" || true
keel_serve G KEEL_REMOTE_COMPUTE="http://127.0.0.1:$PPORT" \
    KEEL_AUTH_DEFAULT_SCOPES=compute:read,kv:read,kv:write

http POST "http://127.0.0.1:$G/v1/auth/register" -H 'Content-Type: application/json' \
    --data-binary '{"email":"slow@example.org","password":"correct horse"}'
expect_status "register" 200
http POST "http://127.0.0.1:$G/v1/auth/login" -H 'Content-Type: application/json' \
    --data-binary '{"email":"slow@example.org","password":"correct horse"}'
expect_status "login" 200
TOKEN=$(jget "$HTTP_BODY" token)
http POST "http://127.0.0.1:$G/v1/kv/put" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKEN" --data-binary '{"key":"k","value":"v"}'
expect_status "kv.put" 200

# a short session: the test is about waiting, not about moving megabytes
"$KEEL_BIN" compute synth --seed 3 --plan "walk:20,trot-left:20,halt:5" --rate 50 \
    >"$E2E_TMP/session.csv" 2>/dev/null
jq -cRs '{csv: .}' "$E2E_TMP/session.csv" >"$E2E_TMP/aggregate.json"
http POST "http://127.0.0.1:$B/v1/compute/aggregate" -H 'Content-Type: application/json' \
    --data-binary "@$E2E_TMP/aggregate.json"
expect_status "compute.aggregate on B directly" 200
echo "$HTTP_BODY" >"$E2E_TMP/direct.json"

OUT=$(python3 - "$G" "$TOKEN" "$E2E_TMP/aggregate.json" "$E2E_TMP/direct.json" <<'PYEOF'
import http.client, json, sys, threading, time
port, token = int(sys.argv[1]), sys.argv[2]
agg = open(sys.argv[3], "rb").read()
direct = json.loads(open(sys.argv[4]).read())
slow = []
def slow_call():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.monotonic()
    c.request("POST", "/v1/compute/aggregate", agg,
              {"Content-Type": "application/json", "Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read()
    ok = r.status == 200 and json.loads(body) == direct
    slow.append((r.status, ok, time.monotonic() - t0))
    c.close()
PROBES = (("echo", "POST", "/v1/echo/echo", b'{"msg":"hi"}', {"Content-Type": "application/json"}),
          ("healthz", "GET", "/healthz", None, {}),
          ("kv.get", "POST", "/v1/kv/get", b'{"key":"k"}',
           {"Content-Type": "application/json", "Authorization": "Bearer " + token}))
def probe_round(c, lat, bad):
    for name, method, path, body, hdrs in PROBES:
        s = time.monotonic()
        try:
            c.request(method, path, body, hdrs)
            r = c.getresponse()
            r.read()
        except OSError as e:              # a stalled loop: no answer within 5 s
            lat[name].append((time.monotonic() - s) * 1000)
            bad.append("%s %s" % (name, type(e).__name__))
            c.close()
            continue
        lat[name].append((time.monotonic() - s) * 1000)
        if r.status != 200:
            bad.append("%s %d" % (name, r.status))
# the same probes with nothing waiting: what this machine gives right now
base = {"echo": [], "healthz": [], "kv.get": []}
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
t0 = time.monotonic()
while time.monotonic() - t0 < 2:
    probe_round(c, base, [])
    time.sleep(0.005)
threads = [threading.Thread(target=slow_call) for _ in range(16)]
t0 = time.monotonic()
for t in threads:
    t.start()
time.sleep(0.3)                       # the 16 are waiting on the proxy now
lat = {"echo": [], "healthz": [], "kv.get": []}
bad = []
while any(t.is_alive() for t in threads):
    probe_round(c, lat, bad)
    time.sleep(0.005)
for t in threads:
    t.join()
# and once more after: the machine's load moves; the baseline is the worse
after = {"echo": [], "healthz": [], "kv.get": []}
t1 = time.monotonic()
while time.monotonic() - t1 < 1:
    probe_round(c, after, [])
    time.sleep(0.005)
def p99(v):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * 0.99))] if v else -1
print(json.dumps({
    "slow_ok": sum(1 for s in slow if s[1]), "slow_status": sorted({s[0] for s in slow}),
    "slow_wall_s": round(time.monotonic() - t0, 2),
    "slow_max_s": round(max(s[2] for s in slow), 2),
    "bad": bad[:5], "n": len(lat["echo"]),
    "p99_echo_ms": round(p99(lat["echo"]), 2), "p99_healthz_ms": round(p99(lat["healthz"]), 2),
    "p99_kv_get_ms": round(p99(lat["kv.get"]), 2),
    "max_echo_ms": round(max(lat["echo"] or [-1]), 2),
    "base_p99_echo_ms": round(max(p99(base["echo"]), p99(after["echo"])), 2),
    "base_p99_healthz_ms": round(max(p99(base["healthz"]), p99(after["healthz"])), 2),
    "slow_s": sorted(round(s[2], 2) for s in slow),
}))
PYEOF
)
echo "# $OUT"
expect_eq "all 16 slow calls answered 200 with B's result" "$(jget "$OUT" slow_ok)" 16
expect_eq "probe calls during the wait all answered 200" "$(jget "$OUT" bad)" "[]"
n=$(jget "$OUT" n)
[ "$n" -ge 20 ] && ok "probe calls made during the wait: $n" || fail "only $n probe rounds during the wait"
# each call waits 2 s for the skew check and 2 s for itself: concurrent, the
# 16 end after ~4 s; one after the other they would take 64 s
wall=$(jget "$OUT" slow_wall_s)
# lt A B: A < B, both decimal numbers (anything else is false)
lt() {
    local n='^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$'
    [[ $1 =~ $n ]] && [[ $2 =~ $n ]] && awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 < b + 0)}'
}
lt "$wall" 12 &&
    ok "the 16 slow calls ran concurrently (${wall} s)" || fail "the 16 slow calls took ${wall} s"
# Timing: the absolute bound (p99 < 20 ms) where the machine can show it —
# the same probes without the slow calls (measured just before and just
# after, same run; the worse of the two) have a p99 under 10 ms; on a machine too loaded for that, the p99 during
# the wait must stay within 2x the baseline + 10 ms (a stalled loop would
# add the remote's 2 s).
if [ "${KEEL_E2E_TIMING:-0}" = 1 ]; then
    for k in echo healthz; do
        v=$(jget "$OUT" "p99_${k}_ms"); b=$(jget "$OUT" "base_p99_${k}_ms")
        if lt "$b" 10; then
            lt "$v" 20 &&
                ok "p99 $k = $v ms < 20 ms while 16 calls wait on the slow remote (baseline $b ms)" ||
                fail "p99 $k = $v ms, want < 20 ms (baseline $b ms)"
        else
            echo "SKIP - absolute p99 bound for $k: the machine is loaded (baseline p99 $b ms >= 10 ms)"
            lt "$v" "$(awk -v b="$b" 'BEGIN {print 2 * b + 10}')" &&
                ok "p99 $k = $v ms within 2x baseline ($b ms) + 10 ms while 16 calls wait" ||
                fail "p99 $k = $v ms, want < 2 x $b + 10 ms"
        fi
    done
else
    echo "SKIP - p99 timing (KEEL_E2E_TIMING is not 1: sanitizer or debug build; behaviour only)"
fi
keel_stop G
keel_stop B
e2e_done
