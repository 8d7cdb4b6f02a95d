#!/usr/bin/env python3
"""login_load.py PORT [SECONDS] [RATE] — password hashing must not stall the server.

Open-loop load: RATE logins per second (default 20) of one registered user,
each on its own keep-alive connection from a small pool of sender threads,
while one probe thread asks GET /healthz back to back (a fresh request every
10 ms).  Prints p50 / p99 / max of both, and the login status counts.
The user bench@example.com / "correct horse battery" must exist.
"""
import http.client, json, sys, threading, time

port = int(sys.argv[1])
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
body = json.dumps({"email": "bench@example.com", "password": "correct horse battery"})
lock = threading.Lock()
logins, probes, statuses = [], [], {}
stop = time.monotonic() + secs


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))] if xs else float("nan")


def login_once():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.monotonic()
    c.request("POST", "/v1/auth/login", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    dt = (time.monotonic() - t0) * 1000
    c.close()
    with lock:
        logins.append(dt)
        statuses[r.status] = statuses.get(r.status, 0) + 1


def sender():
    # the schedule is fixed in advance: a slow answer does not slow the offered load
    t = time.monotonic()
    threads = []
    while t < stop:
        th = threading.Thread(target=login_once, daemon=True)
        th.start()
        threads.append(th)
        t += 1.0 / rate
        time.sleep(max(0.0, t - time.monotonic()))
    for th in threads:
        th.join(60)


def prober():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < stop:
        t0 = time.monotonic()
        c.request("GET", "/healthz")
        c.getresponse().read()
        with lock:
            probes.append((time.monotonic() - t0) * 1000)
        time.sleep(0.01)


ts = [threading.Thread(target=sender), threading.Thread(target=prober)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps({
    "logins": len(logins), "login_status": statuses,
    "login_ms": {"p50": round(pct(logins, 50), 1), "p99": round(pct(logins, 99), 1),
                 "max": round(max(logins or [0]), 1)},
    "healthz": len(probes),
    "healthz_ms": {"p50": round(pct(probes, 50), 2), "p99": round(pct(probes, 99), 2),
                   "max": round(max(probes or [0]), 2)},
}))
