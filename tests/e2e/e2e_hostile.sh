#!/usr/bin/env bash
# e2e_hostile.sh — a hostile client against the real binary, on loopback,
# bounded in count and time (about 30 s).  After each case: /healthz and an
# echo call answer (within 100 ms in a release build; sanitizer builds check
# behaviour, not time), RSS stays under 64 MB, and the log holds one line per
# refused request.  While 2,000 idle connections are open, /healthz on a new
# connection still answers: the connection cap refuses the excess, not the probe.
. "$(dirname "$0")/lib.sh"

if ! keel_serve H KEEL_AUTH_DISABLED=1 KEEL_REQUEST_TIMEOUT_MS=2000 KEEL_MAX_CONNECTIONS=1000 \
        KEEL_TIMEOUT_MS=30000; then
    fail "server did not start"; e2e_done; exit 1
fi
# Timing and RSS are release-build promises: an ASan/UBSan binary (shadow memory,
# quarantine) checks behaviour only, and its report must stay empty.
TIMED=1
if grep -q __asan_init "$KEEL_BIN" 2>/dev/null; then TIMED=0; fi

out=$(python3 - "$H" "$H_PID" "$E2E_TMP/H.log" "$TIMED" <<'PY'
import json, os, socket, sys, time

PORT, PID, LOG, TIMED = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
ADDR = ("127.0.0.1", PORT)
results = []

def ok(what):   results.append(("ok", what)); print("ok   - " + what, flush=True)
def fail(what): results.append(("FAIL", what)); print("FAIL - " + what, flush=True)

def conn(timeout=5.0):
    s = socket.create_connection(ADDR, timeout=timeout)
    s.settimeout(timeout)
    return s

def read_reply(s, limit=1 << 20):
    """Reads one response (head + Content-Length body) or until EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout, BrokenPipeError):
            break
        if not b:
            break
        data += b
        if len(data) > limit:
            break
    head, _, body = data.partition(b"\r\n\r\n")
    status, clen = 0, None
    lines = head.split(b"\r\n")
    if lines and lines[0].startswith(b"HTTP/1."):
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            status = 0
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if "content-length" in hdrs:
        clen = int(hdrs["content-length"])
        while len(body) < clen:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            body += b
    return status, hdrs, body

def exchange(raw, timeout=5.0, shut=False):
    s = conn(timeout)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if shut:
            s.shutdown(socket.SHUT_WR)
        return read_reply(s)
    finally:
        s.close()

def is_json_error(body):
    try:
        j = json.loads(body)
        return isinstance(j.get("error"), dict) and isinstance(j["error"].get("code"), str)
    except Exception:
        return False

def refusals():
    with open(LOG, "rb") as f:
        return sum(1 for l in f if b"\"reason\":\"" in l)

def rss_kb():
    with open("/proc/%d/status" % PID) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    return -1

def timed(raw):
    t = time.monotonic()
    st, _, body = exchange(raw, timeout=5.0)
    return st, body, (time.monotonic() - t) * 1000

def trickle(socks, piece, want, limit_s):
    """Sends piece on every socket every 100 ms until each has an answer;
    returns how many answered `want` with a JSON error."""
    import select
    left, good, t_end = list(socks), 0, time.monotonic() + limit_s
    while left and time.monotonic() < t_end:
        r, _, _ = select.select(left, [], [], 0.1)
        for s in r:
            st, h, b = read_reply(s)
            good += st == want and is_json_error(b)
            left.remove(s); s.close()
        for s in left:
            try: s.send(piece)
            except OSError: pass
    for s in left: s.close()
    return good

HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
ECHO_BODY = b'{"probe":1}'
ECHO = (b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(ECHO_BODY)) + ECHO_BODY

def alive(case):
    """/healthz and echo answer (fast in release), RSS bounded."""
    best = {}
    for name, raw, want in (("healthz", HEALTH, 200), ("echo", ECHO, 200)):
        times, st = [], 0
        for _ in range(3):    # best of three: a shared CI machine may stall one try
            st, body, ms = timed(raw)
            times.append(ms)
            if st == want and (not TIMED or ms <= 100):
                break
        best[name] = min(times)
        if st != want:
            fail("%s: %s after the case gave %d" % (case, name, st))
        elif TIMED and min(times) > 100:
            fail("%s: %s took %.1f ms (limit 100)" % (case, name, min(times)))
    rss = rss_kb()
    if not TIMED:
        ok("%s: alive (sanitizer build: RSS %d KB not checked)" % (case, rss))
    elif 0 < rss < 64 * 1024:
        ok("%s: alive (healthz %.1f ms, echo %.1f ms), RSS %d KB" % (case, best["healthz"], best["echo"], rss))
    else:
        fail("%s: RSS %d KB (limit 64 MB)" % (case, rss))

def expect_refusals(case, before, n, wait=3.0):
    deadline = time.monotonic() + wait
    got = refusals() - before
    while got < n and time.monotonic() < deadline:
        time.sleep(0.05)
        got = refusals() - before
    time.sleep(0.1)
    got = refusals() - before
    if got == n:
        ok("%s: %d refusal line(s) in the log" % (case, n))
    else:
        fail("%s: %d refusal line(s) in the log, want %d" % (case, got, n))

def expect(case, st, hdrs, body, want):
    if st == want and is_json_error(body) and hdrs.get("x-request-id") and \
            hdrs.get("content-type", "").startswith("application/json"):
        ok("%s → %d JSON with X-Request-Id" % (case, want))
    else:
        fail("%s: %d %r %r, want %d JSON" % (case, st, hdrs, body[:200], want))

# ---- 1. a 1 MB header line -------------------------------------------------
c = "1 MB header line"; r0 = refusals()
st, h, b = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
expect(c, st, h, b, 431); expect_refusals(c, r0, 1); alive(c)

# ---- 2. 10,000 headers -----------------------------------------------------
c = "10,000 headers"; r0 = refusals()
st, h, b = exchange(b"GET /healthz HTTP/1.1\r\n" + b"X-H: v\r\n" * 10000 + b"\r\n")
expect(c, st, h, b, 431); expect_refusals(c, r0, 1); alive(c)

# ---- 3. JSON nested 100,000 levels -------------------------------------------
c = "JSON nested 100k levels"; r0 = refusals()
body = b"[" * 100000 + b"]" * 100000
st, h, b = exchange(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
expect(c, st, h, b, 400); expect_refusals(c, r0, 0); alive(c)

# ---- 4. huge numbers and exponents ----------------------------------------------
c = "huge numbers"; r0 = refusals(); good = True
for num in (b"1e999999", b"-1e999999", b"1e-999999", b"123456789012345678901234567890",
            b"-9223372036854775809", b"0." + b"0" * 5000 + b"1", b"9" * 20000):
    body = b'{"n":' + num + b"}"
    st, h, b = exchange(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(body) + body)
    if not ((st == 200 and json.loads(b)) or (st == 400 and is_json_error(b))):
        good = False; fail("%s: %s… gave %d %r" % (c, num[:20], st, b[:120]))
if good: ok("%s: each answered 200 or a JSON 400" % c)
expect_refusals(c, r0, 0); alive(c)

# ---- 5. invalid UTF-8 in body, path and query -------------------------------
c = "invalid UTF-8"; r0 = refusals()
body = b'{"s":"\xff\xfe"}'
st, h, b = exchange(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
expect(c + " in the body", st, h, b, 400)
st, h, b = exchange(b"GET /v1/\xff\xfe/x HTTP/1.1\r\nHost: x\r\n\r\n")
if st in (400, 404, 405) and is_json_error(b): ok("%s in the path → %d JSON" % (c, st))
else: fail("%s in the path: %d %r" % (c, st, b[:200]))
st, h, b = exchange(b"POST /v1/echo/echo?x=%ff%fe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}")
expect(c + " in the query", st, h, b, 400)
expect_refusals(c, r0, 0); alive(c)

# ---- 6. duplicate JSON keys -----------------------------------------------------
c = "duplicate JSON keys"; r0 = refusals()
body = b'{"a":1,"a":2}'
st, h, b = exchange(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body)
expect(c, st, h, b, 400); expect_refusals(c, r0, 0); alive(c)

# ---- 7. 200 slowloris connections trickling headers ---------------------------
c = "200 slowloris connections"; r0 = refusals()
socks = []
for i in range(200):
    s = conn(8.0); s.sendall(b"GET /healthz HTTP/1.1\r\n"); socks.append(s)
n408 = trickle(socks, b"X-Slow: 1\r\n", 408, 6.0)
if n408 == 200: ok("%s: each answered 408 JSON by the request deadline" % c)
else: fail("%s: %d of 200 answered 408" % (c, n408))
expect_refusals(c, r0, 200); alive(c)

# ---- 8. a chunked upload that never ends; one that grows too big ----------------
c = "chunked upload that never ends"; r0 = refusals()
s = conn(8.0)
s.sendall(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")
if trickle([s], b"1\r\n \r\n", 408, 6.0) == 1: ok("%s → 408 JSON by the request deadline" % c)
else: fail("%s: no 408" % c)
s = conn(8.0)
s.sendall(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n")
chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
try:
    for i in range(4): s.sendall(chunk)
except OSError: pass
st, h, b = read_reply(s); s.close()
expect("chunked upload over the JSON limit", st, h, b, 413)
expect_refusals(c, r0, 2); alive(c)

# The refusal is decided on a chunk size line that the hook has already
# passed to evhttp.  When that line came alone in a read, evhttp was never
# told of it, kept it unread, and the answer waited for it for good: an
# empty reply (seen under load).  The pause makes the line its own read.
c = "chunked: the over-limit size line alone"; r0 = refusals()
s = conn(5.0)
s.sendall(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n" + chunk)
time.sleep(0.3)
s.sendall(b"100000\r\n")
st, h, b = read_reply(s); s.close()
expect(c, st, h, b, 413); expect_refusals(c, r0, 1); alive(c)

# evhttp reads a chunk only whole: a request that times out in the middle
# of one leaves that part unread in evhttp, which held the 408 back.
c = "chunked: deadline in the middle of a chunk"; r0 = refusals()
s = conn(6.0)
s.sendall(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n100\r\n" + b" " * 10)
st, h, b = read_reply(s); s.close()
expect(c, st, h, b, 408); expect_refusals(c, r0, 1); alive(c)

# After a refusal the connection lingers while the client still sends, so a
# client that writes its whole upload before it reads gets the answer (a
# close with unread input sends a reset, which some clients turn into a
# lost answer).  Here the client sends for 2.5 s, past the 1 s quiet time.
c = "refused upload still sending"; r0 = refusals()
s = conn(8.0)
s.sendall(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 10737418240\r\n\r\n")
reset = False
try:
    t_end = time.monotonic() + 2.5
    while time.monotonic() < t_end:
        s.sendall(b" " * 65536); time.sleep(0.05)
except OSError:
    reset = True
st, h, b = read_reply(s); s.close()
if reset: fail("%s: the server closed while the client was still sending" % c)
else: ok("%s: the connection stayed open while the client sent" % c)
expect(c, st, h, b, 413); expect_refusals(c, r0, 1); alive(c)

# ---- 9. Content-Length of 10 GB with a short body --------------------------------
c = "Content-Length 10 GB"; r0 = refusals()
st, h, b = exchange(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 10737418240\r\n\r\n{}")
expect(c, st, h, b, 413); expect_refusals(c, r0, 1); alive(c)

# ---- 10. 2,000 idle connections ----------------------------------------------------
c = "2,000 idle connections"; r0 = refusals()
idle = [conn(10.0) for _ in range(2000)]
st, body, ms = timed(HEALTH)
if st == 200: ok("%s: /healthz on a new connection answers while they are open (%.1f ms)" % (c, ms))
else: fail("%s: /healthz on a new connection gave %d" % (c, st))
st, h, b = exchange(ECHO)
expect(c + ": a non-probe request beyond the cap", st, h, b, 503)
time.sleep(1.5)            # excess connections get 1 s to ask for a probe
n503 = 0
for s in idle:
    s.setblocking(False)
    try:
        d = s.recv(4096)
        n503 += d.startswith(b"HTTP/1.1 503")
    except BlockingIOError:
        pass
    except OSError:
        pass
for s in idle: s.close()
time.sleep(0.5)            # let the server see them go before the checks below
if 900 <= n503 <= 1100: ok("%s: %d excess connections answered 503 and closed (cap 1000)" % (c, n503))
else: fail("%s: %d excess connections answered 503, want about 1000" % (c, n503))
expect_refusals(c, r0, n503 + 1); alive(c)

# ---- 11. half-closed sockets -----------------------------------------------------------
c = "half-closed sockets"; r0 = refusals()
st, h, b = exchange(HEALTH, shut=True)
if st == 200: ok("%s: a whole request then SHUT_WR is answered" % c)
else: fail("%s: a whole request then SHUT_WR gave %d" % (c, st))
for i in range(50):
    s = conn(); s.sendall(b"POST /v1/echo/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"); s.shutdown(socket.SHUT_WR)
    read_reply(s); s.close()
ok("%s: 50 cut-off requests closed" % c)
expect_refusals(c, r0, 0); alive(c)

# ---- 12. very long URLs, methods, request lines ----------------------------------------
c = "very long URL"; r0 = refusals()
st, h, b = exchange(b"GET /v1/echo/echo?x=" + b"A" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
expect(c, st, h, b, 414)
st, h, b = exchange(b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
if st == 404 and is_json_error(b): ok("an 8 KB path under the cap → 404 JSON")
else: fail("an 8 KB path: %d %r" % (st, b[:100]))
for raw, want in ((b"TRACE / HTTP/1.1\r\n\r\n", 405), (b"CONNECT x:443 HTTP/1.1\r\n\r\n", 405),
                  (b"BREW /pot HTTP/1.1\r\n\r\n", 501), (b"GET / HTTP/9.9\r\n\r\n", 400),
                  (b"\x00\x01\x02garbage\r\n\r\n", 400), (b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", 400),
                  (b"POST /v1/echo/echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
                  (b"POST /v1/echo/echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
                  (b"GET /healthz HTTP/1.1\r\nExpect: tea\r\n\r\n", 417)):
    st, h, b = exchange(raw)
    expect("%r" % raw[:24], st, h, b, want)
expect_refusals(c, r0, 10); alive(c)

# ---- pipelining: answers stay in order around a refusal ------------------------------------
c = "pipelined requests"; r0 = refusals()
s = conn()
s.sendall(HEALTH + ECHO + b"TRACE / HTTP/1.1\r\n\r\n")
data = b""
while True:                # the refusal closes the connection: read to EOF
    try: b = s.recv(65536)
    except OSError: break
    if not b: break
    data += b
s.close()
import re
got = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
if got == [200, 200, 405]: ok("%s: 200, 200, then the refusal 405, in order" % c)
else: fail("%s: got %r" % (c, got))
expect_refusals(c, r0, 1); alive(c)

print("SUMMARY %d %d" % (sum(1 for r in results if r[0] == "ok"), sum(1 for r in results if r[0] != "ok")))
PY
) || true
echo "$out" | grep -v '^SUMMARY'
sum=$(echo "$out" | grep '^SUMMARY' || echo "SUMMARY 0 1")
E2E_PASS=$((E2E_PASS + $(echo "$sum" | awk '{print $2}')))
E2E_FAIL=$((E2E_FAIL + $(echo "$sum" | awk '{print $3}')))
# Pipelining without reading (http_conn_backlog.c): a client that sends
# requests and never reads the answers is held back by TCP, not buffered:
# before, 20 M pipelined probes in 4 s made the server read 696 MB and grow
# to 797 MB.  Then a client that pipelines 3,000 requests (~250 KB, several
# times the hook's 64 KiB backlog) and reads afterwards gets every answer,
# in order.
RSS0=$(awk '/VmRSS/ {print $2}' "/proc/$H_PID/status")
READ0=$(awk '/rchar/ {print $2}' "/proc/$H_PID/io")
python3 - "$H" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
one = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
       b"GET /healthz HTTP/1.1\r\nHost: x\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n")
s.settimeout(0.2)
t = time.time()
while time.time() - t < 3:
    try:
        s.sendall(one * 500)
    except socket.timeout:
        pass
time.sleep(5)
PY
FLOOD=$!
sleep 3.5
RSS1=$(awk '/VmRSS/ {print $2}' "/proc/$H_PID/status")
READ1=$(awk '/rchar/ {print $2}' "/proc/$H_PID/io")
echo "# a client pipelining without reading: server read $(( (READ1 - READ0) / 1024 )) KiB, RSS $RSS0 -> $RSS1 KiB"
if [ $((READ1 - READ0)) -lt $((16 * 1024 * 1024)) ]; then ok "a client that does not read is held back (read < 16 MiB)"
else fail "the server read $((READ1 - READ0)) bytes from a client that does not read"; fi
# RSS means nothing under ASan (freed memory waits in its quarantine): as
# for the cases above, only in a release build
if [ "${KEEL_E2E_TIMING:-0}" != 1 ]; then ok "sanitizer build: RSS +$((RSS1 - RSS0)) KiB not checked"
elif [ $((RSS1 - RSS0)) -lt $((64 * 1024)) ]; then ok "and the server does not grow (RSS +$((RSS1 - RSS0)) KiB)"
else fail "RSS grew by $((RSS1 - RSS0)) KiB"; fi
http GET "http://127.0.0.1:$H/healthz"
expect_status "another client is served meanwhile" 200
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null || true
PIPE=$(python3 - "$H" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
reqs = []
for i in range(3000):
    if i % 3 == 2:
        body = b'{"i":%d}' % i
        reqs.append(b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    else:
        reqs.append(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
s.sendall(b"".join(reqs))
buf, n, order_ok = b"", 0, True
while n < 3000:
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    if b"\r\n\r\n" not in buf:
        break
    head, _, buf = buf.partition(b"\r\n\r\n")
    clen = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(buf) < clen:
        buf += s.recv(65536)
    body, buf = buf[:clen], buf[clen:]
    want = b'{"i":%d}\n' % n if n % 3 == 2 else b'{"status":"ok"}\n'
    order_ok &= body == want
    n += 1
print(n, order_ok)
PY
)
expect_eq "3,000 pipelined requests read afterwards: every answer, in order" "$PIPE" "3000 True"

kill -0 "$H_PID" 2>/dev/null && ok "server still running after every case" || fail "server died"
keel_stop H
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$E2E_TMP/H.log"; then
    fail "sanitizer report in the server log: $(grep -m3 -E 'Sanitizer|runtime error' "$E2E_TMP/H.log")"
else
    ok "no sanitizer report in the server log"
fi
e2e_done
