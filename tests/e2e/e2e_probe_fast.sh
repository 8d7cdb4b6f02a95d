#!/usr/bin/env bash
# e2e_probe_fast.sh — GET/HEAD /healthz answered by the connection hook
# (src/api/http_conn_fast.c, docs/http.md "Liveness"): the same answer as
# through evhttp (status, header names, body, the client's request id), the
# same access-log line and counters, answers in request order when probes
# are pipelined between calls, and a connection that sends only probes is
# not closed as idle.  Whatever the hook must not answer (Connection:
# close, HTTP/1.0, a query, a traceparent) still goes through evhttp, and
# what libevent says about closing connections is a JSON log line.
. "$(dirname "$0")/lib.sh"

ADM=$(free_port)
keel_serve S KEEL_ADMIN_PORT="$ADM" KEEL_TIMEOUT_MS=1000 || { fail "server"; e2e_done; }
BA="http://127.0.0.1:$ADM"

scrape() { curl -sS "$BA/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
F0=$(scrape keel_http_probes_answered_by_hook_total)

OUT=$(python3 - "$S" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s

def answers(s, n):
    """n whole answers read from s: [(status, {header: value}, body)]"""
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return out
            buf += d
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        clen = int(hdrs.get("content-length", "0"))
        body = b""
        if not out_is_head[len(out)]:
            while len(buf) < clen:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            body, buf = buf[:clen], buf[clen:]
        out.append((lines[0], hdrs, body.decode()))
    return out

res = []
# 1. the hook's answer and evhttp's (traceparent sends it there) side by side
s = conn()
out_is_head = [False, False, True]
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: probe-1\r\n\r\n")
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: probe-2\r\n"
          b"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n")
s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
a = answers(s, 3)
fast, slow, head = a
res.append("same_status=%s" % (fast[0] == slow[0] == "HTTP/1.1 200 OK"))
res.append("same_headers=%s" % (sorted(fast[1]) == sorted(slow[1])))
res.append("same_body=%s" % (fast[2] == slow[2] == '{"status":"ok"}\n'))
res.append("rid=%s,%s" % (fast[1].get("x-request-id"), slow[1].get("x-request-id")))
res.append("head=%s:%s:%s" % (head[0].split(" ")[1], head[1].get("content-length"), repr(head[2])))
s.close()

# 2. pipelined between calls: answers in request order
s = conn()
echo = lambda i: (b"POST /v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 7\r\n\r\n{\"i\":%d}" % i)
probe = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
s.sendall(echo(1) + probe + echo(2) + probe + probe + echo(3))
out_is_head = [False] * 6
a = answers(s, 6)
res.append("order=" + "|".join(b.strip() for _, _, b in a))
s.close()

# 3. only probes for longer than KEEL_TIMEOUT_MS (1 s): still open
s = conn()
out_is_head = [False] * 12
ok = 0
for i in range(12):
    s.sendall(probe)
    got = answers(s, 1)
    out_is_head = out_is_head[1:]
    ok += len(got) == 1 and got[0][0] == "HTTP/1.1 200 OK"
    time.sleep(0.2)
res.append("kept=%d" % ok)
s.close()

# 4. what the hook leaves to evhttp still works (and is counted there)
for req in [b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"GET /healthz HTTP/1.0\r\n\r\n",
            b"GET /healthz?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]:
    s = conn()
    s.sendall(req)
    d = b""
    while True:
        x = s.recv(4096)
        if not x:
            break
        d += x
    res.append("evhttp=%s" % (d.split(b"\r\n")[0].decode().replace(" ", "_")))
    s.close()
# 5. closing connections: libevent's warning about them (evlog.c) must not
#    reach the log as a bare "[warn]" line
for i in range(50):
    s = conn()
    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    while s.recv(4096):
        pass
    s.close()
print(" ".join(res))
EOF
)
echo "# $OUT"
for want in same_status=True same_headers=True same_body=True rid=probe-1,probe-2 \
            "head=200:16:''" 'order={"i":1}|{"status":"ok"}|{"i":2}|{"status":"ok"}|{"status":"ok"}|{"i":3}' \
            kept=12; do
    case " $OUT " in *" $want "*) ok "$want" ;; *) fail "want $want" ;; esac
done
N=$(grep -o 'evhttp=HTTP/1.[01]_200_OK' <<<"$OUT" | wc -l)
expect_eq "Connection: close, HTTP/1.0 and a query go through evhttp" "$N" 3

F1=$(scrape keel_http_probes_answered_by_hook_total)
# probe-1 (first on its connection) and the 12 sent one at a time; the HEAD
# and the pipelined ones only when evhttp had answered what came before
# them by the time they were read (timing): 13 to 17
D=$((F1 - F0))
if [ "$D" -ge 13 ] && [ "$D" -le 17 ]; then ok "probes the hook answered: $D"
else fail "probes the hook answered: $D, want 13..17"; fi
sleep 0.3   # the loop flushes its access lines when it next waits
L=$(grep -c '"request_id":"probe-1","msg":"http GET /healthz 200' "$E2E_TMP/S.log")
expect_eq "the hook's probe has its access-log line" "$L" 1
python3 - "$E2E_TMP/S.log" <<'EOF' && ok "every probe logged, with the fields of any request" || fail "probe log lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"/healthz"' in l and l.startswith("{")]
need = {"request_id", "method", "path", "status", "bytes_in", "bytes_out", "duration_us", "peer"}
ok = len(lines) >= 17 + 3 and all(need <= set(l) for l in lines)
sys.exit(0 if ok else 1)
EOF
python3 - "$E2E_TMP/S.log" <<'EOF' && ok "every log line is JSON (libevent's own messages too)" || fail "a log line is not JSON"
import json, sys
bad = []
for l in open(sys.argv[1]):
    try:
        json.loads(l)
    except ValueError:
        bad.append(l.strip())
print("\n".join(bad[:3]), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
http GET "http://127.0.0.1:$S/healthz"
expect_status "still serving after the probes" 200
keel_stop S
e2e_done
