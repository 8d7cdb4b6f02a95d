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
"""
import argparse
import base64
import re
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

import kustomize_lite
from kustomize_lite import yaml_load, yaml_load_all
import nginx_local

HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0
TOOLS = True  # run the external validators (docker-compose, nginx, node)


def ok(msg):
    print(f"ok   - {msg}")


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL - {msg}")


def skip(msg):
    print(f"skip: {msg}")


def check(cond, msg):
    (ok if cond else fail)(msg)
    return cond


def get(d, path, default=None):
    """get(obj, "spec.template.spec") with lists indexed by int."""
    for k in path.split("."):
        if isinstance(d, list) and k.isdigit() and int(k) < len(d):
            d = d[int(k)]
        elif isinstance(d, dict) and k in d:
            d = d[k]
        else:
            return default
    return d


# ---- keel's own configuration surface ---------------------------------------

def image_env(dockerfile):
    """KEEL_ variables the final (FROM scratch) stage sets with ENV: every
    container starts with them, so a workload must not clash with them (e.g.
    KEEL_X in the image and KEEL_X_FILE in the manifest).  KEEL_CONFIG names a
    file inside the image and is left out."""
    env, final, cont = {}, False, ""
    for line in open(dockerfile):
        line = line.rstrip("\n")
        if line.startswith("FROM "):
            final = line.split()[1] == "scratch"
            continue
        if not final:
            continue
        if cont or line.startswith("ENV "):
            body = (line[4:] if line.startswith("ENV ") else line).rstrip("\\").strip()
            cont = line.endswith("\\")
            for word in body.split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    if k.startswith("KEEL_") and k != "KEEL_CONFIG":
                        env[k] = v
    return env


class Keel:
    def __init__(self, binary, base_env):
        self.bin = binary
        self.base_env = base_env
        out = subprocess.run([binary, "config", "--json"], env={}, capture_output=True,
                             text=True, timeout=20)
        if out.returncode != 0:
            raise SystemExit(f"validate: `{binary} config --json` failed: {out.stderr}")
        self.keys = {row["env"] for row in json.loads(out.stdout)}
        out = subprocess.run([binary, "modules", "--json"], env={}, capture_output=True,
                             text=True, timeout=20)
        if out.returncode != 0:
            raise SystemExit(f"validate: `{binary} modules --json` failed: {out.stderr}")
        mods = json.loads(out.stdout)["modules"]
        self.modules = [m["name"] for m in mods]
        self.deps = {m["name"]: list(m.get("deps") or []) for m in mods}

    def is_key(self, name):
        return name in self.keys or (name.endswith("_FILE") and name[:-5] in self.keys)

    def effective(self, env, files):
        """{KEEL_X: value} keel resolves for env (+ the image's ENV)."""
        env = {**self.base_env, **env}
        with tempfile.TemporaryDirectory() as tmp:
            for k, v in list(env.items()):
                if k.endswith("_FILE"):
                    p = os.path.join(tmp, k)
                    with open(p, "w") as f:
                        f.write(files.get(v, ""))
                    env[k] = p
            out = subprocess.run([self.bin, "config", "--json"], env=env, capture_output=True,
                                 text=True, timeout=20)
        if out.returncode != 0:
            fail(f"keel config --json failed: {out.stderr.strip()[:300]}")
            return None
        return {row["env"]: row["value"] for row in json.loads(out.stdout)}

    def load(self, where, env, files):
        """Runs `keel config --json` with the image's ENV overlaid by env; files
        maps a *_FILE path to the text it holds (written to a temp dir)."""
        env = {**self.base_env, **env}
        with tempfile.TemporaryDirectory() as tmp:
            for k, v in list(env.items()):
                if k.endswith("_FILE"):
                    if v not in files:
                        fail(f"{where}: {k}={v} is not a mounted secret file")
                        return
                    p = os.path.join(tmp, k)
                    with open(p, "w") as f:
                        f.write(files[v])
                    env[k] = p
            out = subprocess.run([self.bin, "config", "--json"], env=env, capture_output=True,
                                 text=True, timeout=20)
        problems = [l for l in out.stderr.splitlines() if l.strip()]
        check(out.returncode == 0 and not problems,
              f"{where}: keel loads its environment ({len(env)} KEEL_ variables)"
              + ("" if out.returncode == 0 and not problems
                 else f": exit {out.returncode}: {' | '.join(problems)[:400]}"))


def check_env_names(keel, where, names):
    bad = sorted(n for n in names if n.startswith("KEEL_") and not keel.is_key(n))
    check(not bad, f"{where}: every KEEL_ variable is a keel key"
          + (f"; unknown: {', '.join(bad)}" if bad else ""))


def check_placement(keel, where, env):
    """Every dependency of a local module is local too or has KEEL_REMOTE_<DEP>
    (keel refuses to start or migrate otherwise)."""
    local = [m for m in env.get("KEEL_MODULES_LOCAL", "").split(",") if m] or list(keel.modules)
    todo, seen, missing = list(local), set(), []
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        for d in keel.deps.get(m, []):
            if d in local:
                todo.append(d)
            elif not env.get(f"KEEL_REMOTE_{d.upper()}"):
                missing.append(f"{m} needs {d}")
    check(not missing, f"{where}: every dependency is local or remote"
          + (f"; placed nowhere: {', '.join(sorted(set(missing)))}" if missing else ""))


def check_modules_local(keel, where, value):
    mods = [m for m in str(value).split(",") if m]
    unknown = [m for m in mods if m not in keel.modules]
    check(mods and not unknown, f"{where}: KEEL_MODULES_LOCAL={value} names built-in modules"
          + (f"; unknown: {unknown}" if unknown else ""))
    return mods


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
    if failures:
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
    if not TOOLS:
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


# ---- kubernetes -----------------------------------------------------------------

def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_container(keel, where, c, pod, cm_data, secrets, probes):
    check(isinstance(c.get("image"), str) and ":" in c["image"] and not c["image"].endswith(":latest"),
          f"{where}: image {c.get('image')} has a pinned tag")
    sc = c.get("securityContext") or {}
    check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
    check(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
    for kind in ("requests", "limits"):
        r = get(c, f"resources.{kind}") or {}
        check("cpu" in r and "memory" in r, f"{where}: resources.{kind} cpu + memory")
    env = {}
    for ref in c.get("envFrom") or []:
        name = get(ref, "configMapRef.name")
        if name is not None:
            if check(name in cm_data, f"{where}: configMap {name} exists"):
                env.update(cm_data[name])
    for e in c.get("env") or []:
        env[e["name"]] = str(e.get("value", ""))
    check_env_names(keel, where, env)
    # every *_FILE points into a mounted Secret volume, at one of its keys
    vols = {v["name"]: v for v in get(pod, "volumes") or []}
    mounts = c.get("volumeMounts") or []
    files = {}
    for m in mounts:
        check(m["name"] in vols, f"{where}: volumeMount {m['name']} has a volume")
        sname = get(vols.get(m["name"], {}), "secret.secretName")
        if sname:
            if check(sname in secrets, f"{where}: secret {sname} exists"):
                for key, val in secrets[sname].items():
                    files[m["mountPath"].rstrip("/") + "/" + key] = val
    for k, v in env.items():
        if k.startswith("KEEL_") and k.endswith("_FILE"):
            check(v in files, f"{where}: {k}={v} is a key of a mounted Secret")
    mpaths = {m["mountPath"] for m in mounts}
    if sc.get("readOnlyRootFilesystem"):
        check("/tmp" in mpaths, f"{where}: writable /tmp mounted (read-only root)")
    if "KEEL_MODULES_LOCAL" in env:
        check_modules_local(keel, where, env["KEEL_MODULES_LOCAL"])
    check_placement(keel, where, env)
    keel.load(where, {k: v for k, v in env.items() if k.startswith("KEEL_")}, files)
    if probes:
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        check(str(ports.get("http")) == env.get("KEEL_PORT", "8080"),
              f"{where}: port 'http' {ports.get('http')} = KEEL_PORT {env.get('KEEL_PORT', '8080')}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = get(c, f"{probe}.httpGet.path")
            port = get(c, f"{probe}.httpGet.port")
            check(got == path and port in ("http", ports.get("http")),
                  f"{where}: {probe} GET {path} on the http port (got {got} on {port})")
    env["__files__"] = files
    return env


def grace_ms():
    """keel's bound on calls in flight after the listener closes
    (KEEL_HTTP_GRACE_MS in src/api/http-internal.h)."""
    path = os.path.join(HERE, "..", "..", "src", "api", "http-internal.h")
    m = re.search(r"#define KEEL_HTTP_GRACE_MS (\d+)", open(path).read())
    if not m:
        raise SystemExit("validate: KEEL_HTTP_GRACE_MS not found in src/api/http-internal.h")
    return int(m.group(1))


def db_url(env):
    """The database URL a workload opens: its _FILE secret, its value, or the
    image's default (the config-file layer: SQLite under /var/lib/keel)."""
    files = env.get("__files__") or {}
    if "KEEL_DATABASE_URL_FILE" in env:
        return files.get(env["KEEL_DATABASE_URL_FILE"], "").strip()
    return env.get("KEEL_DATABASE_URL", "sqlite:/var/lib/keel/keel.db")


def mount_of(c, path):
    """(volume name, mountPath) of c's mount holding path, or None."""
    best = None
    for m in c.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best is None or len(mp) > len(best[1])):
            best = (m["name"], mp)
    return best


def check_database(P, name, d, env, has_hpa, has_pdb):
    """SQLite is one file with one writer: one replica, Recreate, on a volume
    that outlives the pod, no autoscaler or disruption budget; several
    replicas need PostgreSQL and KEEL_REPLICAS>1 (keel refuses SQLite then).
    The migrate init container opens the same database."""
    if env.get("KEEL_MODULES_LOCAL") == "compute":
        return
    url = db_url(env)
    replicas = get(d, "spec.replicas", 1)
    pod = get(d, "spec.template.spec") or {}
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    server = (pod.get("containers") or [{}])[0]
    inits = [c for c in pod.get("initContainers") or [] if (c.get("args") or [None])[0] == "migrate"]
    try:
        nrep = int(env.get("KEEL_REPLICAS", "1"))
    except ValueError:
        nrep = 0
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):].split("?")[0]
        check(replicas == 1 and not has_hpa and not has_pdb,
              f"{P} deployment {name}: SQLite runs one replica, no HPA, no PDB "
              f"(replicas {replicas}, hpa {has_hpa}, pdb {has_pdb})")
        check(get(d, "spec.strategy.type") == "Recreate",
              f"{P} deployment {name}: SQLite rolls with strategy Recreate (got {get(d, 'spec.strategy.type')})")
        for c in [server] + inits:
            m = mount_of(c, path)
            kind = sorted(k for k in vols.get(m[0], {}) if k != "name") if m else ["nothing mounted"]
            check(kind == ["persistentVolumeClaim"],
                  f"{P} deployment {name} {c.get('name')}: {path} is on a PersistentVolumeClaim (got {kind})")
        check(bool(inits), f"{P} deployment {name}: a migrate init container on the database volume")
    else:
        check(url.startswith(("postgres://", "postgresql://")),
              f"{P} deployment {name}: database URL is postgres:// (got {url[:30]!r})")
        check(nrep > 1 and (replicas > 1 or has_hpa),
              f"{P} deployment {name}: several replicas on PostgreSQL with KEEL_REPLICAS>1 "
              f"(replicas {replicas}, KEEL_REPLICAS {env.get('KEEL_REPLICAS', '1')})")
        for c in inits:
            ienv = {e["name"]: e.get("value") for e in c.get("env") or []}
            check(ienv.get("KEEL_DATABASE_URL_FILE") == env.get("KEEL_DATABASE_URL_FILE")
                  and mount_of(c, env.get("KEEL_DATABASE_URL_FILE", "")) is not None,
                  f"{P} deployment {name} init {c.get('name')}: migrates the database the server opens")
    if replicas > 1 or has_hpa:
        check(nrep > 1, f"{P} deployment {name}: KEEL_REPLICAS>1 where replicas > 1")


def check_drain(P, name, d, env):
    """SIGTERM: keel answers /readyz 503 at once, keeps serving
    KEEL_DRAIN_DELAY_MS, then closes the listener and gives calls in flight up
    to KEEL_HTTP_GRACE_MS.  The readiness probe must see the 503 within the
    delay, and the pod's grace period must cover delay + grace.  A preStop
    exec needs a shell the scratch image does not have."""
    pod = get(d, "spec.template.spec") or {}
    c = (pod.get("containers") or [{}])[0]
    try:
        delay = int(env.get("KEEL_DRAIN_DELAY_MS", "0"))
    except ValueError:
        delay = -1
    rp = c.get("readinessProbe") or {}
    seen_ms = 1000 * rp.get("periodSeconds", 10) * rp.get("failureThreshold", 3)
    check(delay >= seen_ms, f"{P} deployment {name}: KEEL_DRAIN_DELAY_MS {delay} >= readiness "
          f"period x failureThreshold ({seen_ms} ms): endpoints drop the pod before keel stops listening")
    tgp = pod.get("terminationGracePeriodSeconds", 30)
    check(tgp * 1000 > delay + grace_ms(),
          f"{P} deployment {name}: terminationGracePeriodSeconds {tgp} s > drain delay {delay} ms "
          f"+ {grace_ms()} ms for calls in flight")
    check(get(c, "lifecycle.preStop.exec") is None,
          f"{P} deployment {name}: no preStop exec (the scratch image has no shell)")


def check_generated_refs(P, objs):
    """Every ConfigMap and Secret a pod reads is generated with a content
    hash in its name, so a change rolls the pods."""
    names = {(o.get("kind"), get(o, "metadata.name")) for _, o in objs}
    for fn, o in objs:
        pod = get(o, "spec.template.spec")
        if pod is None:
            continue
        refs = []
        for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            refs += [("ConfigMap", get(e, "configMapRef.name")) for e in c.get("envFrom") or []
                     if get(e, "configMapRef.name")]
        refs += [("Secret", get(v, "secret.secretName")) for v in pod.get("volumes") or []
                 if get(v, "secret.secretName")]
        refs += [("ConfigMap", get(v, "configMap.name")) for v in pod.get("volumes") or []
                 if get(v, "configMap.name")]
        for kind, n in sorted(set(refs)):
            check((kind, n) in names and re.search(r"-[a-z0-9]{10}$", n) is not None,
                  f"{P} {get(o, 'metadata.name')}: {kind} {n} is generated with a content hash "
                  f"(a change rolls the pods)")


def check_k8s_recipe(keel, recipe, objs):
    P = f"k8s/{recipe}"
    by_kind = {}
    for fn, o in objs:
        ok_keys = all(o.get(k) for k in ("apiVersion", "kind")) and get(o, "metadata.name")
        check(ok_keys, f"k8s/{fn}: apiVersion, kind, metadata.name")
        by_kind.setdefault(o.get("kind"), []).append((fn, o))
    cm_data = {get(o, "metadata.name"): {k: str(v) for k, v in (o.get("data") or {}).items()}
               for _, o in by_kind.get("ConfigMap", [])}
    secrets = {}
    for _, o in by_kind.get("Secret", []):
        data = {k: str(v) for k, v in (o.get("stringData") or {}).items()}
        for k, v in (o.get("data") or {}).items():
            data[k] = base64.b64decode(v).decode()
        secrets[get(o, "metadata.name")] = data
    for name, data in cm_data.items():
        check_env_names(keel, f"{P} configmap {name}", data)
    deployments = {}
    for fn, d in by_kind.get("Deployment", []):
        name = get(d, "metadata.name")
        pod = get(d, "spec.template.spec") or {}
        tlabels = get(d, "spec.template.metadata.labels") or {}
        check(labels_match(get(d, "spec.selector.matchLabels"), tlabels),
              f"{P} deployment {name}: selector matches its pod labels")
        psc = pod.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65534
              and psc.get("runAsGroup") == 65534, f"{P} deployment {name}: runAsNonRoot as 65534:65534")
        containers = pod.get("containers") or []
        check(len(containers) == 1, f"{P} deployment {name}: one container")
        for c in pod.get("initContainers") or []:
            check_container(keel, f"{P} deployment {name} init {c.get('name')}", c, pod, cm_data, secrets, False)
        envs = [check_container(keel, f"{P} deployment {name} {c.get('name')}", c, pod, cm_data, secrets, True)
                for c in containers]
        deployments[name] = (d, tlabels, envs[0] if envs else {}, containers)
    computes = [n for n, (_, _, env, _) in deployments.items() if env.get("KEEL_MODULES_LOCAL") == "compute"]
    gateways = [n for n in deployments if n not in computes]
    check(len(computes) == 1 and len(gateways) == 1, f"{P}: one gateway ({gateways}) and one compute ({computes}) Deployment")
    services = {}
    for fn, s in by_kind.get("Service", []):
        name = get(s, "metadata.name")
        sel = get(s, "spec.selector") or {}
        hits = [n for n, (_, labels, _, _) in deployments.items() if labels_match(sel, labels)]
        check(len(hits) == 1, f"{P} service {name}: selects exactly one Deployment ({hits})")
        for p in get(s, "spec.ports") or []:
            tp = p.get("targetPort", p.get("port"))
            names = {cp.get("name") for n in hits for c in deployments[n][3] for cp in c.get("ports") or []}
            nums = {cp.get("containerPort") for n in hits for c in deployments[n][3] for cp in c.get("ports") or []}
            check(tp in names or tp in nums, f"{P} service {name}: targetPort {tp} is a container port")
        services[name] = (hits, {p.get("port") for p in get(s, "spec.ports") or []})
    if gateways and computes:
        genv = deployments[gateways[0]][2]
        u = urllib.parse.urlparse(genv.get("KEEL_REMOTE_COMPUTE", ""))
        target = services.get(u.hostname)
        check(u.scheme == "http" and target is not None and computes[0] in target[0] and u.port in target[1],
              f"{P}: KEEL_REMOTE_COMPUTE={genv.get('KEEL_REMOTE_COMPUTE')} is a Service port of the compute Deployment")
        truthy = lambda v: str(v).lower() in ("1", "true", "yes", "on")
        check(not truthy(genv.get("KEEL_AUTH_DISABLED", "")), f"{P}: gateway checks tokens (no KEEL_AUTH_DISABLED)")
        cenv, clabels = deployments[computes[0]][2], deployments[computes[0]][1]
        check(not truthy(cenv.get("KEEL_AUTH_DISABLED", "")),
              f"{P}: compute checks callers (no KEEL_AUTH_DISABLED: refused off loopback)")
        check("KEEL_SERVICE_TOKEN_FILE" in genv and genv.get("KEEL_SERVICE_TOKEN_FILE") == cenv.get("KEEL_SERVICE_TOKEN_FILE"),
              f"{P}: gateway and compute read one service token from a mounted Secret")
        u = urllib.parse.urlparse(cenv.get("KEEL_REMOTE_AUTH", ""))
        check(u.scheme == "http" and u.hostname in services and gateways[0] in services[u.hostname][0],
              f"{P}: compute checks user tokens through the gateway's auth (KEEL_REMOTE_AUTH={cenv.get('KEEL_REMOTE_AUTH')})")
        glabels = deployments[gateways[0]][1]
        guarded = False
        for _, np_ in by_kind.get("NetworkPolicy", []):
            if not labels_match(get(np_, "spec.podSelector.matchLabels") or {}, clabels):
                continue
            peers = [f for rule in get(np_, "spec.ingress") or [] for f in rule.get("from") or []]
            guarded = "Ingress" in (get(np_, "spec.policyTypes") or []) and bool(peers) and all(
                labels_match(get(f, "podSelector.matchLabels") or {}, glabels) and len(f) == 1 for f in peers)
        check(guarded, f"{P}: compute admits ingress from gateway pods only (NetworkPolicy)")
    for fn, h in by_kind.get("HorizontalPodAutoscaler", []):
        t = get(h, "spec.scaleTargetRef.name")
        check(get(h, "spec.scaleTargetRef.kind") == "Deployment" and t in deployments,
              f"{P} hpa {get(h, 'metadata.name')}: targets Deployment {t}")
    for fn, p in by_kind.get("PodDisruptionBudget", []):
        sel = get(p, "spec.selector.matchLabels") or {}
        check(any(labels_match(sel, l) for _, l, _, _ in deployments.values()),
              f"{P} pdb {get(p, 'metadata.name')}: selects a Deployment")
    hpas = [get(h, "spec.scaleTargetRef.name") for _, h in by_kind.get("HorizontalPodAutoscaler", [])]
    pdbs = [get(p, "spec.selector.matchLabels") or {} for _, p in by_kind.get("PodDisruptionBudget", [])]
    for name, (d, labels, env, containers) in deployments.items():
        check_database(P, name, d, env, name in hpas, any(labels_match(s_, labels) for s_ in pdbs))
        check_drain(P, name, d, env)
    check_generated_refs(P, objs)
    # schema validation of every object
    node = shutil.which("node")
    models = os.path.join(HERE, "node_modules", "kubernetes-models")
    if not TOOLS:
        return
    if not node:
        skip("node not installed: k8s objects not validated against the API schemas")
    elif not os.path.isdir(models):
        skip("kubernetes-models not installed (npm install --prefix tests/deploy): k8s schemas not checked")
    else:
        # kustomize folds long base64 values over lines; the API server's decoder skips the
        # newlines, the schema's "byte" format does not
        for _, o in objs:
            if o.get("kind") == "Secret":
                o["data"] = {k: "".join(str(v).split()) for k, v in (o.get("data") or {}).items()}
        payload = json.dumps([{"file": fn, "object": o} for fn, o in objs if o.get("kind") != "Kustomization"])
        out = subprocess.run([node, os.path.join(HERE, "validate-k8s.mjs")], input=payload,
                             capture_output=True, text=True, timeout=60, cwd=HERE)
        for line in out.stdout.splitlines():
            if line.startswith("FAIL"):
                fail(line[7:])
            elif line.startswith("ok"):
                ok(line[7:])
        if out.returncode != 0 and "FAIL" not in out.stdout:
            fail(f"validate-k8s.mjs exited {out.returncode}: {out.stderr.strip()[:400]}")


RECIPES = ("sqlite", "postgres")
# what the operator writes before `kubectl apply -k` (values of the right shape)
OPERATOR_FILES = {"db_url": "postgres://keel:secret@postgres:5432/keel?sslmode=require",
                  "service_token": "0" * 64}


def check_k8s(keel, deploy):
    kdir = os.path.join(deploy, "k8s")
    # structure of the sources: every YAML parses and is used; no Secret is
    # committed; no generator drops the content hash
    for sub in sorted(os.listdir(kdir)):
        d = os.path.join(kdir, sub)
        if not os.path.isdir(d):
            fail(f"k8s/{sub}: only base/ and the recipes {RECIPES} belong in deploy/k8s")
            continue
        kpath = os.path.join(d, "kustomization.yaml")
        if not check(os.path.exists(kpath), f"k8s/{sub}: has a kustomization.yaml"):
            continue
        k = yaml_load(open(kpath)) or {}
        used = {r for r in k.get("resources") or [] if not r.startswith("..")}
        used |= {p["path"] for p in k.get("patches") or [] if "path" in p}
        for g in (k.get("configMapGenerator") or []):
            used |= set(g.get("envs") or [])
        files = {fn for fn in os.listdir(d) if fn.endswith((".yaml", ".yml", ".env"))} - {"kustomization.yaml"}
        check(files == used, f"k8s/{sub}: kustomization.yaml uses every file"
              + ("" if files == used else f" (unused {sorted(files - used)}, missing {sorted(used - files)})"))
        for fn in sorted(files):
            if not fn.endswith((".yaml", ".yml")):
                continue
            try:
                docs = [x for x in yaml_load_all(open(os.path.join(d, fn))) if x is not None]
            except yaml.YAMLError as e:
                fail(f"k8s/{sub}/{fn}: YAML does not parse: {e}")
                continue
            ok(f"k8s/{sub}/{fn} parses ({len(docs)} object(s))")
            for x in docs:
                if x.get("kind") == "Secret":
                    fail(f"k8s/{sub}/{fn}: a committed Secret ({get(x, 'metadata.name')}): generate it "
                         f"from a file the operator writes (secretGenerator)")
        check(not get(k, "generatorOptions.disableNameSuffixHash"),
              f"k8s/{sub}: generators keep the content hash (a ConfigMap change rolls the pods)")
    check(not os.path.exists(os.path.join(kdir, "kustomization.yaml")),
          "k8s: no default kustomization (pick deploy/k8s/sqlite or deploy/k8s/postgres)")
    kubectl = shutil.which("kubectl") if TOOLS else None
    for recipe in RECIPES:
        src = os.path.join(kdir, recipe)
        if not check(os.path.isdir(src), f"k8s/{recipe}: the recipe exists"):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(kdir, os.path.join(tmp, "k8s"))
            rdir = os.path.join(tmp, "k8s", recipe)
            k = yaml_load(open(os.path.join(rdir, "kustomization.yaml"))) or {}
            for g in k.get("secretGenerator") or []:
                for f in g.get("files") or []:
                    key, _, path = f.partition("=")
                    path = path or key
                    os.makedirs(os.path.dirname(os.path.join(rdir, path)), exist_ok=True)
                    with open(os.path.join(rdir, path), "w") as fh:
                        fh.write(OPERATOR_FILES.get(os.path.basename(path), "x"))
            if kubectl:
                out = subprocess.run([kubectl, "kustomize", rdir], capture_output=True, text=True, timeout=60)
                if not check(out.returncode == 0, f"k8s/{recipe}: kubectl kustomize renders it"
                             + ("" if out.returncode == 0 else f": {out.stderr.strip()[:300]}")):
                    continue
                objs = [o for o in yaml_load_all(out.stdout) if o is not None]
                how = "kubectl kustomize"
            else:
                try:
                    objs = kustomize_lite.render(rdir)
                except (kustomize_lite.KustomizeError, OSError, KeyError) as e:
                    fail(f"k8s/{recipe}: does not render: {e}")
                    continue
                how = "tests/deploy/kustomize_lite.py (kubectl not installed)"
        ok(f"k8s/{recipe}: rendered by {how}: {len(objs)} objects")
        check_k8s_recipe(keel, recipe, [(f"{recipe}/{o.get('kind')}", o) for o in objs])


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
    if not TOOLS:
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
    global TOOLS
    TOOLS = not a.no_tools
    keel = Keel(a.keel, image_env(a.dockerfile))
    check_dockerfile(a.dockerfile)
    check_compose(keel, a.deploy)
    check_k8s(keel, a.deploy)
    print(f"{'FAILED' if failures else 'passed'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
