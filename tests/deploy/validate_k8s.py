"""validate_k8s.py — the Kubernetes part of validate.py: every recipe under
deploy/k8s built (kustomize_lite, or kubectl kustomize), its objects checked
for what keel relies on (probes, securityContext, resources, selectors,
Services, mounted secrets, the database and drain settings, generated
references), then schema-validated (validate-k8s.mjs, kubernetes-models).
"""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse

import yaml

import kustomize_lite
from kustomize_lite import yaml_load, yaml_load_all
import vreport as R
from vreport import ok, fail, skip, check, get
from vkeel import check_env_names, check_placement, check_modules_local

HERE = os.path.dirname(os.path.abspath(__file__))


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
    if not R.TOOLS:
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
    kubectl = shutil.which("kubectl") if R.TOOLS else None
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
