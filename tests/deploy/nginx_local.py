#!/usr/bin/env python3
"""nginx_local.py — deploy/nginx.conf for real processes on this machine.

    nginx_local.py SRC DST LISTEN_PORT UPSTREAM_PORT...

Changes only what names the container world: the upstream line
`server keel:8080 ...;` becomes one `server 127.0.0.1:PORT ...;` per replica
(`resolve` is dropped: an address literal has nothing to re-resolve, and
Debian's nginx 1.22 predates the parameter), `listen 80` becomes the loopback
port, and the logs go to files under the prefix.  Everything else — keepalive,
timeouts, body size, retries — runs as written.
"""
import re
import sys


def localize(conf, port, replicas):
    m = re.search(r"^(\s*)server keel:8080( [^;]*)?;", conf, re.M)
    if not m:
        raise SystemExit("nginx.conf: no 'server keel:8080' upstream line")
    params = " ".join(p for p in (m.group(2) or "").split() if p != "resolve")
    servers = "".join(f"{m.group(1)}server 127.0.0.1:{p}{' ' + params if params else ''};\n" for p in replicas)
    conf = conf[:m.start()] + servers.rstrip("\n") + conf[m.end():]
    if "listen 80;" not in conf:
        raise SystemExit("nginx.conf: no 'listen 80;'")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    conf = re.sub(r"access_log /dev/stdout;", "access_log logs/access.log;", conf)
    conf = re.sub(r"error_log\s+/dev/stderr warn;", "error_log logs/error.log warn;", conf)
    return conf


if __name__ == "__main__":
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    src, dst, port, *reps = sys.argv[1:]
    with open(dst, "w") as f:
        f.write(localize(open(src).read(), port, reps))
