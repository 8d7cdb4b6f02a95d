#!/usr/bin/env python3
"""validate.py — checks keel's deployment manifests (deploy/).

    python3 tests/deploy/validate.py --keel build/keel [--deploy DIR]

1. Every YAML file parses (python3-yaml).
2. docker-compose.yml: the services, images, replicas, split compute,
   _FILE secrets, healthchecks and nginx upstream keel relies on;
   `docker-compose config -q` when docker-compose is installed.
3. k8s/*.yaml: required keys, probes (/healthz liveness, /readyz readiness),
   securityContext (non-root 65534, read-only root), resources, selectors that
   match, Services that reach a named port, the mounted Secret behind
   KEEL_DATABASE_URL_FILE, kustomization listing every file; then schema
   validation of every object (kubernetes-models, tests/deploy/node_modules).
4. Every KEEL_ variable in any manifest is a key `keel config --json` declares
   (or such a key + _FILE), and each workload's whole environment is loaded by
   the real binary (`keel config --json` under `env -i`): unknown variables,
   bad values and unknown modules fail.
5. nginx.conf passes `nginx -t` (upstream host mapped to 127.0.0.1) when nginx
   is installed.

A check that cannot run prints "skip: <reason>"; any failed check exits 1.
Here: the Dockerfile, compose and nginx checks and main; the Kubernetes checks
are validate_k8s.py, keel's configuration surface vkeel.py, reporting vreport.py.
"""
import argparse
import re
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse


from kustomize_lite import yaml_load
import nginx_local

import vreport as R
from vreport import ok, fail, skip, check, get
from vkeel import Keel, image_env, check_env_names, check_placement, check_modules_local
from validate_k8s import check_k8s, OPERATOR_FILES, grace_ms

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- docker-compose -----------------------------------------------------------

def compose_env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def duration_s(v):
    """Compose durations: 30s, 1m30s, 1h, 500ms."""
    total, v = 0.0, str(v)
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", v):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


def host_ports(svc):
    """The host ports a service publishes (short and long syntax)."""
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            if p.get("published"):
                out.append((str(p.get("host_ip", "")), str(p["published"])))
            continue
        parts = str(p).split(":")
        if len(parts) == 3:
            out.append((parts[0], parts[1]))
        elif len(parts) == 2:
            out.append(("", parts[0]))
    return out


def run_recipe(path):
    """Runs the `$ ` lines of the compose file's header in a scratch copy of
    its directory under umask 077 (a careful operator's), then checks that
    every file secret is readable by uid 65534 (keel) — Compose mounts a
    file secret with the host file's owner and mode."""
    lines = []
    for line in open(path):
        if not line.startswith("#"):
            break
        m = re.match(r"#\s+\$ (.*)", line.rstrip("\n"))
        if m:
            lines.append(m.group(1))
    if not check(bool(lines), "compose: the header has the setup commands (`$ ` lines)"):
        return
    if not shutil.which("openssl"):
        skip("openssl not installed: the compose setup commands not run")
        return
    doc = yaml_load(open(path))
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["bash", "-ec", "umask 077\n" + "\n".join(lines)], cwd=tmp,
                             capture_output=True, text=True, timeout=30)
        if not check(out.returncode == 0, "compose: the header's setup commands run"
                     + ("" if out.returncode == 0 else f": {out.stderr.strip()[:300]}")):
            return
        for name, sec in (doc.get("secrets") or {}).items():
            f = os.path.join(tmp, sec.get("file", ""))
            if not check(os.path.isfile(f), f"compose: the setup writes secret {name} ({sec.get('file')})"):
                continue
            st = os.stat(f)
            readable = bool(st.st_mode & 0o004 or (st.st_uid == 65534 and st.st_mode & 0o400)
                            or (st.st_gid == 65534 and st.st_mode & 0o040))
            check(readable, f"compose: secret {name} is readable by uid 65534 after the setup "
                  f"(mode {oct(st.st_mode & 0o777)}, owner {st.st_uid}:{st.st_gid})")
            if name == "db_url":
                url = open(f).read()
                check(url.startswith("postgres://") and "change" not in url.lower(),
                      "compose: db_url is a postgres:// URL with a generated password")


def nginx_directive(conf, name, block=None):
    """Values of `name ...;` in nginx.conf (inside `block {` when given)."""
    text = conf
    if block:
        m = re.search(r"\b" + re.escape(block) + r"\s*\{(.*?)\}", conf, re.S)
        text = m.group(1) if m else ""
    text = "\n".join(l.split("#", 1)[0] for l in text.splitlines())
    return [v.strip() for v in re.findall(r"(?:^|[\s;{])" + re.escape(name) + r"\s+([^;]*);", text)]


def nginx_size(v):
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", v.strip())
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]


def nginx_time_s(v):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", v.strip())
    if not m:
        return None
    return int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def check_nginx_limits(keel, conf, genv, files):
    """nginx.conf against the gateway's effective configuration."""
    eff = keel.effective(genv, files)
    if eff is None:
        return
    idle_s = int(eff["KEEL_TIMEOUT_MS"]) / 1000
    kt = nginx_directive(conf, "keepalive_timeout", "upstream keel")
    kt_s = nginx_time_s(kt[0]) if kt else 60  # nginx's default for upstream keepalive
    check(kt_s is not None and kt_s < idle_s,
          f"nginx.conf: upstream keepalive_timeout {kt[0] if kt else '60s (default)'} < keel's idle "
          f"timeout KEEL_TIMEOUT_MS {eff['KEEL_TIMEOUT_MS']} ms (else a reused connection can be closed "
          f"under a POST)")
    body = nginx_directive(conf, "client_max_body_size")
    size = nginx_size(body[0]) if body else 1 << 20
    limit = int(eff["KEEL_MAX_UPLOAD"])
    check(size == limit, f"nginx.conf: client_max_body_size {body[0] if body else '1m (default)'} = "
          f"{size} bytes equals keel's KEEL_MAX_UPLOAD {limit}")
    servers = nginx_directive(conf, "server", "upstream keel")
    check(bool(nginx_directive(conf, "resolver")) and servers and all(" resolve" in f" {x} " for x in servers)
          and bool(nginx_directive(conf, "zone", "upstream keel")),
          "nginx.conf: a resolver, `resolve` on the upstream servers and a zone (replicas' addresses refresh)")


def check_compose(keel, deploy):
    path = os.path.join(deploy, "docker-compose.yml")
    with open(path) as f:
        doc = yaml_load(f)
    ok("docker-compose.yml parses")
    svcs = doc.get("services") or {}
    for name in ("postgres", "migrate", "keel", "compute", "nginx"):
        check(name in svcs, f"compose: service {name} exists")
    if R.failures:
        return
    check(str(svcs["postgres"].get("image", "")).startswith("postgres:15"), "compose: postgres:15 image")
    gw, comp = svcs["keel"], svcs["compute"]
    replicas = get(gw, "deploy.replicas", 1)
    check(isinstance(replicas, int) and replicas >= 3, f"compose: keel runs {replicas} replicas (>= 3)")
    secrets_top = doc.get("secrets") or {}
    secret_files = {}
    for sname, s in secrets_top.items():
        # The value is the operator's; what keel must accept is a database URL, and a
        # service token of at least 32 characters (what `openssl rand -hex 32` writes).
        secret_files[f"/run/secrets/{sname}"] = (OPERATOR_FILES["db_url"] if sname == "db_url" else
                                                 "0" * 64 if sname == "service_token" else "x")
    for sname, svc in svcs.items():
        env = compose_env(svc)
        check_env_names(keel, f"compose {sname}", env)
        used = svc.get("secrets") or []
        used = [u if isinstance(u, str) else u.get("source") for u in used]
        for u in used:
            check(u in secrets_top, f"compose {sname}: secret {u} is declared")
        for k, v in env.items():
            if k.endswith("_FILE") and k.startswith("KEEL_"):
                check(v.startswith("/run/secrets/") and v.rsplit("/", 1)[1] in used,
                      f"compose {sname}: {k} reads a secret the service mounts")
            if k == "KEEL_DATABASE_URL":
                fail(f"compose {sname}: KEEL_DATABASE_URL in plain environment (use _FILE)")
        if str(svc.get("image", "")).startswith("keel"):
            keel_env = {k: v for k, v in env.items() if k.startswith("KEEL_")}
            keel.load(f"compose {sname}", keel_env, secret_files)
            if "KEEL_MODULES_LOCAL" in env:
                check_modules_local(keel, f"compose {sname}", env["KEEL_MODULES_LOCAL"])
            check_placement(keel, f"compose {sname}", keel_env)
            if sname != "migrate":
                hc = get(svc, "healthcheck.test")
                check(hc == ["CMD", "/keel", "health"], f"compose {sname}: healthcheck runs /keel health")
    for sname, svc in svcs.items():
        img = str(svc.get("image", ""))
        tag = img.rsplit(":", 1)[1] if ":" in img.rsplit("/", 1)[-1] else ""
        check(tag and tag != "latest", f"compose {sname}: image {img} is pinned by a tag (not latest)")
        n = get(svc, "deploy.replicas", 1)
        fixed = [hp for hp in host_ports(svc) if hp[1]]
        check(n == 1 or not fixed, f"compose {sname}: no fixed host port on a scaled service "
              f"({n} replicas, ports {svc.get('ports')})")
        if str(svc.get("image", "")).startswith("keel") and svc.get("command") == ["serve"]:
            env = compose_env(svc)
            try:
                delay = int(env.get("KEEL_DRAIN_DELAY_MS", "0"))
            except ValueError:
                delay = -1
            need = (delay + grace_ms()) / 1000
            got = duration_s(svc.get("stop_grace_period", "10s"))
            check(got > need, f"compose {sname}: stop_grace_period {svc.get('stop_grace_period', '10s (default)')} "
                  f"> drain delay {delay} ms + {grace_ms()} ms for calls in flight")
            if n > 1 and env.get("KEEL_MODULES_LOCAL") != "compute":
                check(env.get("KEEL_REPLICAS", "1").isdigit() and int(env.get("KEEL_REPLICAS", "1")) > 1,
                      f"compose {sname}: KEEL_REPLICAS>1 on a service with {n} replicas")
    direct = [n for n, svc in svcs.items() if compose_env(svc).get("KEEL_MODULES_LOCAL") == "compute"
              and get(svc, "deploy.replicas", 1) == 1
              and any(ip == "127.0.0.1" for ip, _ in host_ports(svc))]
    check(len(direct) == 1, f"compose: one compute instance published on the host's loopback for data "
          f"scientists ({direct})")
    run_recipe(path)
    genv, cenv = compose_env(gw), compose_env(comp)
    check(cenv.get("KEEL_MODULES_LOCAL") == "compute", "compose: compute service runs only compute")
    check("compute" not in genv.get("KEEL_MODULES_LOCAL", "compute").split(","),
          "compose: gateway does not run compute locally")
    u = urllib.parse.urlparse(genv.get("KEEL_REMOTE_COMPUTE", ""))
    check(u.scheme == "http" and u.hostname == "compute" and str(u.port) == cenv.get("KEEL_PORT", "8080"),
          f"compose: KEEL_REMOTE_COMPUTE={genv.get('KEEL_REMOTE_COMPUTE')} reaches the compute service port")
    truthy = lambda v: str(v).lower() in ("1", "true", "yes", "on")
    check(not truthy(genv.get("KEEL_AUTH_DISABLED", "")), "compose: gateway checks tokens (no KEEL_AUTH_DISABLED)")
    nets = lambda svc: set(svc.get("networks") or ["default"])
    ngx = svcs["nginx"]
    check(not nets(ngx) & nets(svcs["postgres"]), "compose: nginx and postgres share no network")
    check(not truthy(cenv.get("KEEL_AUTH_DISABLED", "")),
          "compose: compute checks callers (no KEEL_AUTH_DISABLED: refused off loopback)")
    check(not nets(ngx) & nets(comp), "compose: compute shares no network with nginx")
    for sname, env in (("keel", genv), ("compute", cenv)):
        f = env.get("KEEL_SERVICE_TOKEN_FILE", "")
        check(f.startswith("/run/secrets/") and f.rsplit("/", 1)[-1] in (svcs[sname].get("secrets") or []),
              f"compose: {sname} reads KEEL_SERVICE_TOKEN_FILE from a mounted secret")
    check(genv.get("KEEL_SERVICE_TOKEN_FILE") == cenv.get("KEEL_SERVICE_TOKEN_FILE"),
          "compose: gateway and compute share one service token")
    u = urllib.parse.urlparse(cenv.get("KEEL_REMOTE_AUTH", ""))
    check(u.scheme == "http" and u.hostname == "keel",
          f"compose: compute checks user tokens through the gateway's auth (KEEL_REMOTE_AUTH={cenv.get('KEEL_REMOTE_AUTH')})")
    check(any(str(v).startswith("./nginx.conf:") for v in ngx.get("volumes") or []),
          "compose: nginx mounts ./nginx.conf")
    conf = open(os.path.join(deploy, "nginx.conf")).read()
    port = genv.get("KEEL_PORT", "8080")
    check(f"server keel:{port}" in conf, f"nginx.conf: upstream server keel:{port} (the gateway service)")
    check("keepalive " in conf and 'proxy_set_header Connection ""' in conf and "proxy_http_version 1.1" in conf,
          "nginx.conf: upstream keepalive (HTTP/1.1, Connection cleared)")
    check_nginx_limits(keel, conf, {k: v for k, v in genv.items() if k.startswith("KEEL_")}, secret_files)
    dc = shutil.which("docker-compose")
    if not R.TOOLS:
        return
    if dc:
        out = subprocess.run([dc, "-f", path, "config", "-q"], capture_output=True, text=True,
                             timeout=60, cwd=deploy)
        check(out.returncode == 0, "docker-compose config -q accepts the file"
              + ("" if out.returncode == 0 else f": {out.stderr.strip()[:400]}"))
    else:
        skip("docker-compose not installed (apt-get install -y docker-compose): compose schema not checked")
    ngx_bin = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if ngx_bin:
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "logs"))
            with open(os.path.join(tmp, "nginx.conf"), "w") as f:
                # the container names become loopback addresses (nginx_local.py)
                f.write(nginx_local.localize(conf, "18080", [port]).replace(
                    "access_log logs/access.log;", "access_log off;"))
            out = subprocess.run([ngx_bin, "-t", "-q", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
                                  "-e", "/dev/stderr"], capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, "nginx -t accepts nginx.conf"
              + ("" if out.returncode == 0 else f": {out.stderr.strip()[:400]}"))
    else:
        skip("nginx not installed (apt-get install -y nginx-light): nginx.conf not checked by nginx -t")


def check_dockerfile(dockerfile):
    """The image's build stage installs every library CMakeLists.txt links
    (a missing -dev package fails `docker compose build`).  Needs dpkg."""
    root = os.path.join(HERE, "..", "..")
    cm = open(os.path.join(root, "CMakeLists.txt")).read()
    mods = []
    for m in re.finditer(r"pkg_check_modules\(\w+ REQUIRED ([^)]*)\)", cm.split("add_library(keel_deps")[0]):
        mods += m.group(1).split()
    text = open(dockerfile).read()
    build = re.split(r"^FROM scratch", text, flags=re.M)[0]
    build = "\n".join(l for l in build.splitlines() if not l.lstrip().startswith("#"))
    if not R.TOOLS:
        return
    if not shutil.which("dpkg") or not shutil.which("pkg-config") or not shutil.which("pg_config"):
        skip("dpkg/pkg-config/pg_config not installed: the Dockerfile's build packages not checked")
        return
    paths = {}
    for mod in mods:
        pc = subprocess.run(["pkg-config", "--path", mod], capture_output=True, text=True).stdout.strip()
        paths[pc or f"(no {mod}.pc)"] = mod
    if "libpq" in mods:
        libdir = subprocess.run(["pg_config", "--pkglibdir"], capture_output=True, text=True).stdout.strip()
        paths[os.path.join(libdir, "libpgcommon.a")] = "libpgcommon.a, the static libpq link"
    # one dpkg -S for all: each call reads the whole package database
    out = subprocess.run(["dpkg", "-S"] + list(paths), capture_output=True, text=True).stdout
    owners = {}
    for line in out.splitlines():
        pkg, _, path = line.partition(": ")
        owners[path.strip()] = pkg.split(":")[0]
    for path, what in paths.items():
        owner = owners.get(path, "")
        check(owner and re.search(rf"(?<![\w-]){re.escape(owner)}(?![\w-])", build) is not None,
              f"Dockerfile: the build stage installs {owner or '?'} ({what})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keel", default=os.environ.get("KEEL_BIN"), help="keel binary (default $KEEL_BIN)")
    ap.add_argument("--no-tools", action="store_true",
                    help="skip docker-compose, nginx -t and the k8s schema check (structure and keys only)")
    ap.add_argument("--dockerfile", default=os.path.join(HERE, "..", "..", "Dockerfile"),
                    help="the image whose ENV every workload starts with")
    ap.add_argument("--deploy", default=os.path.join(HERE, "..", "..", "deploy"), help="deploy/ directory")
    a = ap.parse_args()
    if not a.keel or not os.access(a.keel, os.X_OK):
        raise SystemExit("validate: --keel BIN (or KEEL_BIN) must name the keel binary")
    R.TOOLS = not a.no_tools
    keel = Keel(a.keel, image_env(a.dockerfile))
    check_dockerfile(a.dockerfile)
    check_compose(keel, a.deploy)
    check_k8s(keel, a.deploy)
    print(f"{'FAILED' if R.failures else 'passed'}: {R.failures} failure(s)")
    return 1 if R.failures else 0


if __name__ == "__main__":
    sys.exit(main())
