#!/usr/bin/env bash
# e2e_upload_budget.sh — the in-flight budget (issue 23): five 100 MB
# uploads at once against KEEL_MAX_INFLIGHT_BYTES = 256 MiB.  Each reserves
# its call's working memory, KEEL_UPLOAD_MEM_FACTOR (default 2) × its body
# (compute.aggregate declares no factor of its own), so the budget admits one
# (2 × 100 MB ≤ 256 MiB < 4 × 100 MB); the other four get 503 unavailable
# with Retry-After before any byte of their bodies is sent; the admitted one
# is answered 200; a body whose working memory could never fit (140 % of the
# body size here) is a 413 at its head; a chunked body is counted chunk by
# chunk; the reserved bytes (/metrics) never pass the budget; the server's
# peak RSS stays within the budget + 64 MiB (the issue's bound); and once the
# admitted one is answered its bytes are given back (keep-alive or not) and a
# retry is admitted.
#
# Deterministic on a loaded machine: all five heads are sent before any body
# byte, so no admitted request can finish (and release its bytes) before the
# last head is judged — which one is admitted is up to the scheduler, how many
# is not.
. "$(dirname "$0")/lib.sh"

[ -r /proc/self/status ] || { echo "skip: no /proc/<pid>/status to read VmHWM from"; exit 77; }

# Release builds run the issue's numbers; sanitizer and debug builds
# (KEEL_E2E_TIMING=0) the same arithmetic at a tenth of the bytes.
if [ "${KEEL_E2E_TIMING:-1}" = 1 ]; then BUDGET=268435456; SIZE=100000000
else BUDGET=26843545; SIZE=10000000; fi
F=2   # KEEL_UPLOAD_MEM_FACTOR's default (docs/http.md, "The in-flight budget")
ADM=$(free_port)
if ! keel_serve S KEEL_AUTH_DISABLED=1 KEEL_MAX_INFLIGHT_BYTES=$BUDGET KEEL_ADMIN_PORT="$ADM" \
        KEEL_CALL_TIMEOUT_MS=300000 KEEL_REQUEST_TIMEOUT_MS=300000; then
    fail "server S did not start"; e2e_done; exit 1
fi
"$KEEL_BIN" compute synth --plan "walk:20,trot-left:20,canter-right:20" --rate 100 --seed 5 \
    --out "$E2E_TMP/pattern.csv"

rc=0
python3 - "$S" "$ADM" "$S_PID" "$E2E_TMP/pattern.csv" "$SIZE" "$F" >"$E2E_TMP/out" 2>"$E2E_TMP/py.err" <<'PY' || rc=$?
import json, re, select, socket, sys, threading, time
port, adm, pid, pattern, size = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
factor = int(sys.argv[6])

def status(key):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1

# `size` bytes of valid CSV (100 MB: 1.77 M samples, ~4.9 h at 100 Hz): the
# pattern's gait columns cycled under a time that keeps rising.
rows = [l.split(",", 1)[1] for l in open(pattern).read().splitlines()[1:]]
parts, n, i = ["time,ax,ay,az,gx,gy,gz\n"], 22, 0
while n < size:
    line = "%.2f,%s\n" % (i / 100, rows[i % len(rows)])
    parts.append(line); n += len(line); i += 1
body = "".join(parts).encode()
del parts
print("samples", i)
print("clen", len(body))

def head(sock):
    sock.sendall(("POST /v1/compute/aggregate HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                  "Content-Length: %d\r\n\r\n" % len(body)).encode())

def answer(sock, timeout):
    """The whole answer (status, headers, JSON body) or None."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            if b"\r\n\r\n" in data:
                h, rest = data.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", h)
                if m and len(rest) >= int(m.group(1)):
                    return h.decode(), rest[:int(m.group(1))].decode()
            b = sock.recv(65536)
            if not b:
                return (data.decode(errors="replace"), "") if data else None
            data += b
    except socket.timeout:
        return None

def gauge():
    try:
        s = socket.create_connection(("127.0.0.1", adm), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        m = re.search(rb"\nkeel_http_inflight_body_bytes (\d+)", data)
        return int(m.group(1)) if m else -1
    except OSError:
        return -1

print("baseline_hwm", status("VmHWM"))
peak = {"gauge": 0, "rss": 0}
stop = threading.Event()
def sampler():
    while not stop.is_set():
        g = gauge()
        peak["gauge"] = max(peak["gauge"], g)
        peak["rss"] = max(peak["rss"], status("VmRSS"))
        time.sleep(0.02)
threading.Thread(target=sampler, daemon=True).start()

socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
sent = []
for s in socks:
    head(s); sent.append(time.monotonic())
# The refused ones answer at once; wait up to 20 s for them on a loaded machine.
refused, pending = {}, dict(enumerate(socks))
deadline = time.monotonic() + 20
while pending and time.monotonic() < deadline:
    r, _, _ = select.select(list(pending.values()), [], [], 0.5)
    for s in r:
        k = socks.index(s)
        a = answer(s, 5)
        refused[k] = (a, int((time.monotonic() - sent[k]) * 1000))
        del pending[k]
    if len(refused) >= 4:
        # give a wrongly refused fifth a moment to show itself
        r, _, _ = select.select(list(pending.values()), [], [], 0.5)
        if not r:
            break
print("refused", len(refused))
for k, (a, ms) in sorted(refused.items()):
    h, b = a if a else ("", "")
    code = json.loads(b)["error"]["code"] if b.startswith("{") else "?"
    ra = re.search(r"(?i)\r\nretry-after: *(\S+)", h)
    print("refusal", h.split("\r\n")[0].split(" ")[1] if h else "none", code,
          ra.group(1) if ra else "none", ms)
print("admitted", len(pending))
# the refused ones' bytes are released: only the admitted one stays reserved
print("reserved_after_refusals", gauge())
# a body whose working memory alone is over the budget can never be admitted:
# 413 at its head (a 503 would have it retried forever), no body byte sent
c = socket.create_connection(("127.0.0.1", port), timeout=10)
t0 = time.monotonic()
c.sendall(("POST /v1/compute/aggregate HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
           "Content-Length: %d\r\n\r\n" % (len(body) * 14 // 10)).encode())
a = answer(c, 20)
code = json.loads(a[1])["error"]["code"] if a and a[1].startswith("{") else "?"
print("never_fits", a[0].split("\r\n")[0].split(" ")[1] if a and a[0].startswith("HTTP/") else "none",
      code, int((time.monotonic() - t0) * 1000))
c.close()
# a chunked body is counted chunk by chunk: a 100 MB chunk announced now is
# refused at its size line, before its data
c = socket.create_connection(("127.0.0.1", port), timeout=10)
t0 = time.monotonic()
c.sendall(b"POST /v1/compute/aggregate HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n" + (b"%x\r\n" % len(body)))
a = answer(c, 20)
print("chunked", a[0].split("\r\n")[0].split(" ")[1] if a and a[0].startswith("HTTP/") else "none",
      int((time.monotonic() - t0) * 1000))
c.close()

# the admitted ones get their bodies, all at once
results = {}
def upload(k, s):
    t0 = time.monotonic()
    try:
        s.settimeout(300)
        s.sendall(body)
        a = answer(s, 300)
    except OSError as e:
        a = ("error " + str(e), "")
    results[k] = (a, int((time.monotonic() - t0) * 1000))
ts = [threading.Thread(target=upload, args=kv) for kv in pending.items()]
for t in ts: t.start()
for t in ts: t.join()
for k, (a, ms) in sorted(results.items()):
    h, b = a if a else ("none", "")
    st = h.split("\r\n")[0].split(" ")[1] if h.startswith("HTTP/") else h
    samples = json.loads(b).get("samples", -1) if st == "200" else -1
    print("upload", st, samples, ms)
# answered, their connections still open (keep-alive): evhttp has freed the
# bodies, so their bytes are given back without waiting for the next request
# or the close (KEEL_TIMEOUT_MS, 30 s by default, of blocked uploads)
t_end = time.monotonic() + 5
while gauge() != 0 and time.monotonic() < t_end:
    time.sleep(0.05)
print("gauge_answered_open", gauge())
for s in socks:
    s.close()
stop.set()
time.sleep(0.1)
print("peak_gauge", peak["gauge"])
print("peak_rss_sampled", peak["rss"])
print("peak_hwm", status("VmHWM"))
# closed: every reservation is released, so a retry is admitted
t_end = time.monotonic() + 5
while gauge() != 0 and time.monotonic() < t_end:
    time.sleep(0.05)
print("gauge_after", gauge())
s = socket.create_connection(("127.0.0.1", port), timeout=10)
# on one keep-alive connection: a bodiless request, then a small upload,
# whose bytes are given back once answered although the connection stays
small = open(pattern, "rb").read()
s.sendall(b"GET /v1/compute/aggregate HTTP/1.1\r\nHost: x\r\n\r\n")
a = answer(s, 30)
s.sendall(b"POST /v1/compute/aggregate HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
          b"Content-Length: %d\r\n\r\n" % len(small) + small)
a = answer(s, 60)
print("small", a[0].split("\r\n")[0].split(" ")[1] if a else "none")
t_end = time.monotonic() + 5
while gauge() != 0 and time.monotonic() < t_end:
    time.sleep(0.05)
print("gauge_small_open", gauge())
head(s)
# admitted: its bytes are reserved and no answer comes before its body (the
# body itself is not sent — the two above showed what an admitted one gets)
t_end = time.monotonic() + 10
while gauge() != factor * len(body) and time.monotonic() < t_end:
    time.sleep(0.05)
print("retry_reserved", gauge())
r, _, _ = select.select([s], [], [], 0.5)
print("retry_answered_before_body", 1 if r else 0)
s.close()
PY
cat "$E2E_TMP/out"
[ $rc -eq 0 ] || { cat "$E2E_TMP/py.err" >&2; fail "the client script failed"; }
val() { awk -v k="$1" '$1 == k {v = $2} END {print (v == "" ? 0 : v)}' "$E2E_TMP/out"; }

CLEN=$(val clen)
if [ "$CLEN" -ge "$SIZE" ] && [ $((F * CLEN)) -le $BUDGET ] && [ $((2 * F * CLEN)) -gt $BUDGET ] &&
   [ $((F * CLEN * 14 / 10)) -gt $BUDGET ]; then
    ok "each body is $CLEN bytes, $F × that reserved: one fits the budget of $BUDGET, two do not, nor 1.4 × the body"
else fail "body size $CLEN does not make the test's arithmetic hold"; fi
expect_eq "four of five refused" "$(val refused)" 4
expect_eq "one of five admitted" "$(val admitted)" 1
n=0
while read -r _ st code ra ms; do
    n=$((n + 1))
    expect_eq "refusal $n: 503" "$st" 503
    expect_eq "refusal $n: unavailable" "$code" unavailable
    expect_eq "refusal $n: Retry-After: 1" "$ra" 1
    # no body byte was sent: the answer came before the body was read
    if [ "${KEEL_E2E_TIMING:-1}" != 1 ] || [ "$ms" -lt 2000 ]; then ok "refusal $n answered in ${ms} ms, with no body sent"
    else fail "refusal $n took ${ms} ms"; fi
done < <(grep '^refusal ' "$E2E_TMP/out")
expect_eq "the refused ones' bytes released: the admitted one's working memory stays reserved" \
    "$(val reserved_after_refusals)" $((F * CLEN))
read -r _ st code ms < <(grep '^never_fits ' "$E2E_TMP/out")
expect_eq "a body whose working memory alone passes the budget: 413 at its head" "$st" 413
expect_eq "…too_large" "$code" too_large
if [ "${KEEL_E2E_TIMING:-1}" != 1 ] || [ "$ms" -lt 2000 ]; then ok "…answered in ${ms} ms, with no body sent"
else fail "…took ${ms} ms"; fi
read -r _ st ms < <(grep '^chunked ' "$E2E_TMP/out")
expect_eq "a chunked body: one body-sized chunk past the budget is a 503 at its size line" "$st" 503
echo "# chunked refusal in $ms ms"
n=0
while read -r _ st samples ms; do
    n=$((n + 1))
    expect_eq "admitted upload $n: 200" "$st" 200
    expect_eq "admitted upload $n: every sample summarised" "$samples" "$(val samples)"
    echo "# admitted upload $n: body sent + summary in $ms ms"
done < <(grep '^upload ' "$E2E_TMP/out")
expect_eq "one upload answered" "$n" 1

G=$(val peak_gauge)
if [ "$G" -le $BUDGET ] && [ "$G" -ge $((F * CLEN)) ]; then ok "reserved body bytes peaked at $G ≤ $BUDGET"
else fail "reserved body bytes peaked at $G (budget $BUDGET)"; fi
expect_eq "answered, connections still open: every reservation released" "$(val gauge_answered_open)" 0
expect_eq "every reservation released once the connections closed" "$(val gauge_after)" 0
expect_eq "a small upload after a bodiless request, one keep-alive connection: 200" "$(val small)" 200
expect_eq "…its bytes given back with the connection still open" "$(val gauge_small_open)" 0
expect_eq "a retry after they closed is admitted: its working memory reserved" "$(val retry_reserved)" $((F * CLEN))
expect_eq "…and not answered before its body" "$(val retry_answered_before_body)" 0

# Peak RSS: the issue's bound, the budget + 64 MiB (320 MiB here) — the
# process's own baseline (11–14 MiB: code, SQLite caches, the workers' stacks)
# and the allocator's slack fit in the 64 MiB.  Not tuned to a measurement:
# the reservation is what keeps the process under it (one 100 MB body × its
# working memory of ~2 × the body, measured ~200 MiB); before the reservation
# covered the working memory, the budget admitted two bodies and the process
# peaked at 370–392 MiB, over it.  Sanitizer builds keep shadow memory and a
# quarantine: no RSS bound there.
BASE=$(val baseline_hwm)
HWM=$(val peak_hwm)
BOUND=$((BUDGET + (64 << 20)))
echo "# server VmHWM: baseline $((BASE >> 20)) MiB, peak $((HWM >> 20)) MiB (sampled VmRSS $(( $(val peak_rss_sampled) >> 20 )) MiB); budget $((BUDGET >> 20)) MiB; bound $((BOUND >> 20)) MiB; growth / admitted body $(awk -v h="$HWM" -v b="$BASE" -v c="$CLEN" 'BEGIN {printf "%.2f", (h - b) / c}')"
if [ "${KEEL_E2E_TIMING:-1}" != 1 ]; then
    echo "# skip the RSS bound: sanitizer or debug build (KEEL_E2E_TIMING=0)"
elif [ "$HWM" -le "$BOUND" ]; then ok "peak RSS $((HWM >> 20)) MiB ≤ the budget + 64 MiB ($((BOUND >> 20)) MiB)"
else fail "peak RSS $((HWM >> 20)) MiB over the budget + 64 MiB ($((BOUND >> 20)) MiB)"; fi

keel_stop S
e2e_done
