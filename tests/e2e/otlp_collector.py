#!/usr/bin/env python3
"""otlp_collector.py PORT FILE [--hang|--discard] — an OpenTelemetry collector stand-in
on 127.0.0.1:PORT.  POST /v1/traces with Content-Type application/json and
an OTLP/HTTP JSON body (an object with "resourceSpans") is appended to FILE
as one line and answered 200 {} (ExportTraceServiceResponse); anything else
is answered 400/404 and appended as {"bad": why}.  --hang accepts requests
and never answers (a collector that is stuck); --discard answers 200 without
reading the JSON (for benchmarks: the collector's own cost stays small)."""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, FILE = int(sys.argv[1]), sys.argv[2]
HANG = "--hang" in sys.argv[3:]
DISCARD = "--discard" in sys.argv[3:]
LOCK = threading.Lock()


def record(obj):
    with LOCK, open(FILE, "a") as f:
        f.write(json.dumps(obj, separators=(",", ":")) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # the reply goes out in two writes (head, body): without this, Nagle
        # holds the body until keel's delayed ACK, 40 ms per export
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if HANG:
            time.sleep(3600)
            return
        if DISCARD:
            return self.answer(200, {})
        if self.path != "/v1/traces":
            record({"bad": "path " + self.path})
            return self.answer(404, {})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            record({"bad": "content-type " + str(self.headers.get("Content-Type"))})
            return self.answer(415, {})
        try:
            doc = json.loads(body)
            if not isinstance(doc.get("resourceSpans"), list):
                raise ValueError("no resourceSpans")
        except ValueError as e:
            record({"bad": str(e)})
            return self.answer(400, {})
        record(doc)
        self.answer(200, {})


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
