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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

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


def check_compose(keel, deploy):
    path = os.path.join(deploy, "docker-compose.yml")
    with open(path) as f:
        doc = yaml.safe_load(f)
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
        secret_files[f"/run/secrets/{sname}"] = ("sqlite::memory:" if sname == "db_url" else
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
                f.write(conf.replace(f"server keel:{port}", f"server 127.0.0.1:{port}"))
            out = subprocess.run([ngx_bin, "-t", "-q", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
                                  "-e", "/dev/stderr"], capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, "nginx -t accepts nginx.conf"
              + ("" if out.returncode == 0 else f": {out.stderr.strip()[:400]}"))
    else:
        skip("nginx not installed (apt-get install -y nginx-light): nginx.conf not checked by nginx -t")


# ---- kubernetes -----------------------------------------------------------------

def load_k8s(kdir):
    objs = []
    for fn in sorted(os.listdir(kdir)):
        if not fn.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(kdir, fn)) as f:
            try:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                fail(f"k8s/{fn}: YAML does not parse: {e}")
                continue
        ok(f"k8s/{fn} parses ({len(docs)} object(s))")
        for d in docs:
            objs.append((fn, d))
    return objs


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
    # Placeholder database URLs (postgres://…) are checked for shape only until
    # the Postgres backend is linked: the config load gets sqlite::memory:.
    files = {p: ("sqlite::memory:" if v.startswith(("postgres://", "postgresql://")) else v)
             for p, v in files.items()}
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
    return env


def check_k8s(keel, deploy):
    kdir = os.path.join(deploy, "k8s")
    objs = load_k8s(kdir)
    files = {fn for fn, _ in objs}
    by_kind = {}
    for fn, o in objs:
        if o.get("kind") == "Kustomization":
            listed = set(o.get("resources") or [])
            check(listed == files - {fn}, f"k8s/{fn}: lists every manifest"
                  + ("" if listed == files - {fn} else f" (missing {sorted(files - {fn} - listed)},"
                     f" extra {sorted(listed - files)})"))
            continue
        ok_keys = all(o.get(k) for k in ("apiVersion", "kind")) and get(o, "metadata.name")
        check(ok_keys, f"k8s/{fn}: apiVersion, kind, metadata.name")
        by_kind.setdefault(o.get("kind"), []).append((fn, o))
    cm_data = {get(o, "metadata.name"): {k: str(v) for k, v in (o.get("data") or {}).items()}
               for _, o in by_kind.get("ConfigMap", [])}
    secrets = {}
    for _, o in by_kind.get("Secret", []):
        data = {k: str(v) for k, v in (o.get("stringData") or {}).items()}
        for k in (o.get("data") or {}):
            data[k] = "x"
        if "service_token" in data:
            # the manifest's placeholder is too short on purpose (keel refuses to start
            # with it); the operator's real one is `openssl rand -hex 32`
            check(len(data["service_token"]) < 32, "k8s: the service_token placeholder cannot be used as is")
            data["service_token"] = "0" * 64
        secrets[get(o, "metadata.name")] = data
    for name, data in cm_data.items():
        check_env_names(keel, f"configmap {name}", data)
    deployments = {}
    for fn, d in by_kind.get("Deployment", []):
        name = get(d, "metadata.name")
        pod = get(d, "spec.template.spec") or {}
        tlabels = get(d, "spec.template.metadata.labels") or {}
        check(labels_match(get(d, "spec.selector.matchLabels"), tlabels),
              f"deployment {name}: selector matches its pod labels")
        psc = pod.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65534
              and psc.get("runAsGroup") == 65534, f"deployment {name}: runAsNonRoot as 65534:65534")
        containers = pod.get("containers") or []
        check(len(containers) == 1, f"deployment {name}: one container")
        for c in pod.get("initContainers") or []:
            check_container(keel, f"deployment {name} init {c.get('name')}", c, pod, cm_data, secrets, False)
        envs = [check_container(keel, f"deployment {name} {c.get('name')}", c, pod, cm_data, secrets, True)
                for c in containers]
        deployments[name] = (d, tlabels, envs[0] if envs else {}, containers)
    computes = [n for n, (_, _, env, _) in deployments.items() if env.get("KEEL_MODULES_LOCAL") == "compute"]
    gateways = [n for n in deployments if n not in computes]
    check(len(computes) == 1 and len(gateways) == 1, f"k8s: one gateway ({gateways}) and one compute ({computes}) Deployment")
    services = {}
    for fn, s in by_kind.get("Service", []):
        name = get(s, "metadata.name")
        sel = get(s, "spec.selector") or {}
        hits = [n for n, (_, labels, _, _) in deployments.items() if labels_match(sel, labels)]
        check(len(hits) == 1, f"service {name}: selects exactly one Deployment ({hits})")
        for p in get(s, "spec.ports") or []:
            tp = p.get("targetPort", p.get("port"))
            names = {cp.get("name") for n in hits for c in deployments[n][3] for cp in c.get("ports") or []}
            nums = {cp.get("containerPort") for n in hits for c in deployments[n][3] for cp in c.get("ports") or []}
            check(tp in names or tp in nums, f"service {name}: targetPort {tp} is a container port")
        services[name] = (hits, {p.get("port") for p in get(s, "spec.ports") or []})
    if gateways and computes:
        genv = deployments[gateways[0]][2]
        u = urllib.parse.urlparse(genv.get("KEEL_REMOTE_COMPUTE", ""))
        target = services.get(u.hostname)
        check(u.scheme == "http" and target is not None and computes[0] in target[0] and u.port in target[1],
              f"k8s: KEEL_REMOTE_COMPUTE={genv.get('KEEL_REMOTE_COMPUTE')} is a Service port of the compute Deployment")
        check("KEEL_DATABASE_URL_FILE" in genv and "KEEL_DATABASE_URL" not in genv,
              "k8s: gateway reads the database URL from a mounted Secret (_FILE)")
        truthy = lambda v: str(v).lower() in ("1", "true", "yes", "on")
        check(not truthy(genv.get("KEEL_AUTH_DISABLED", "")), "k8s: gateway checks tokens (no KEEL_AUTH_DISABLED)")
        cenv, clabels = deployments[computes[0]][2], deployments[computes[0]][1]
        check(not truthy(cenv.get("KEEL_AUTH_DISABLED", "")),
              "k8s: compute checks callers (no KEEL_AUTH_DISABLED: refused off loopback)")
        check("KEEL_SERVICE_TOKEN_FILE" in genv and genv.get("KEEL_SERVICE_TOKEN_FILE") == cenv.get("KEEL_SERVICE_TOKEN_FILE"),
              "k8s: gateway and compute read one service token from a mounted Secret")
        u = urllib.parse.urlparse(cenv.get("KEEL_REMOTE_AUTH", ""))
        check(u.scheme == "http" and u.hostname in services and gateways[0] in services[u.hostname][0],
              f"k8s: compute checks user tokens through the gateway's auth (KEEL_REMOTE_AUTH={cenv.get('KEEL_REMOTE_AUTH')})")
        glabels = deployments[gateways[0]][1]
        guarded = False
        for _, np_ in by_kind.get("NetworkPolicy", []):
            if not labels_match(get(np_, "spec.podSelector.matchLabels") or {}, clabels):
                continue
            peers = [f for rule in get(np_, "spec.ingress") or [] for f in rule.get("from") or []]
            guarded = "Ingress" in (get(np_, "spec.policyTypes") or []) and bool(peers) and all(
                labels_match(get(f, "podSelector.matchLabels") or {}, glabels) and len(f) == 1 for f in peers)
        check(guarded, "k8s: compute admits ingress from gateway pods only (NetworkPolicy)")
        replicas = get(deployments[gateways[0]][0], "spec.replicas", 1)
        check(isinstance(replicas, int) and replicas >= 3, f"k8s: gateway runs {replicas} replicas (>= 3)")
    for fn, h in by_kind.get("HorizontalPodAutoscaler", []):
        t = get(h, "spec.scaleTargetRef.name")
        check(get(h, "spec.scaleTargetRef.kind") == "Deployment" and t in deployments,
              f"hpa {get(h, 'metadata.name')}: targets Deployment {t}")
    for fn, p in by_kind.get("PodDisruptionBudget", []):
        sel = get(p, "spec.selector.matchLabels") or {}
        check(any(labels_match(sel, l) for _, l, _, _ in deployments.values()),
              f"pdb {get(p, 'metadata.name')}: selects a Deployment")
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
    check_compose(keel, a.deploy)
    check_k8s(keel, a.deploy)
    print(f"{'FAILED' if failures else 'passed'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
