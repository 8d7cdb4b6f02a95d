"""kustomize_lite.py — renders the subset of kustomize that deploy/k8s uses,
for machines without `kubectl kustomize` (validate.py prefers the real one).

    render(dir) -> list of objects

Supported: resources (files and directories), patches (strategic-merge patch
files: maps merge, null deletes a key, lists of maps merge by "name", other
lists are replaced), replicas, configMapGenerator and secretGenerator
(literals, envs, files; behavior create/merge) with the name-hash suffix and
the references in pod specs renamed to it.  Anything else in a
kustomization.yaml is an error, so a recipe using more than this fails
loudly instead of rendering wrong.
"""
import base64
import hashlib
import json
import os

import yaml

# libyaml's parser when PyYAML has it (the same YAML, a fraction of the CPU of
# the pure-Python one); validate.py loads through these too.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_load(stream):
    return yaml.load(stream, Loader=_LOADER)


def yaml_load_all(stream):
    return yaml.load_all(stream, Loader=_LOADER)


KNOWN = {"apiVersion", "kind", "resources", "patches", "replicas", "configMapGenerator",
         "secretGenerator"}


class KustomizeError(Exception):
    pass


def merge(base, patch):
    """Strategic merge of patch into base (both plain YAML values)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v)
            else:
                out[k] = v
        return out
    if (isinstance(base, list) and isinstance(patch, list)
            and all(isinstance(x, dict) and "name" in x for x in base + patch)):
        out = list(base)
        for item in patch:
            for i, old in enumerate(out):
                if old["name"] == item["name"]:
                    out[i] = merge(old, item)
                    break
            else:
                out.append(item)
        return out
    return patch


def _env_file(path):
    pairs = []
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            pairs.append((k.strip(), v))
    return pairs


def _gen_data(d, g):
    data = {}
    for lit in g.get("literals") or []:
        k, _, v = lit.partition("=")
        data[k] = v
    for e in g.get("envs") or []:
        data.update(_env_file(os.path.join(d, e)))
    for f in g.get("files") or []:
        k, _, p = f.partition("=")
        if not p:
            k, p = os.path.basename(k), k
        path = os.path.join(d, p)
        if not os.path.exists(path):
            raise KustomizeError(f"{d}: generator file {p} does not exist")
        data[k] = open(path).read()
    return data


def _suffix(obj):
    h = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()
    return "".join(c for c in h if c in "bcdfghkmt2456789")[:10].ljust(10, "k")


def _build(d):
    kpath = os.path.join(d, "kustomization.yaml")
    if not os.path.exists(kpath):
        raise KustomizeError(f"{d}: no kustomization.yaml")
    k = yaml_load(open(kpath)) or {}
    extra = set(k) - KNOWN
    if extra:
        raise KustomizeError(f"{kpath}: fields this renderer does not support: {sorted(extra)}")
    objs, gens = [], {}
    for r in k.get("resources") or []:
        p = os.path.join(d, r)
        if os.path.isdir(p):
            sub, subgens = _build(p)
            objs += sub
            gens.update(subgens)
        else:
            objs += [o for o in yaml_load_all(open(p)) if o is not None]
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for g in k.get(key) or []:
            name, behavior = g["name"], g.get("behavior", "create")
            data = _gen_data(d, g)
            if behavior == "merge":
                if (kind, name) not in gens:
                    raise KustomizeError(f"{kpath}: merge into unknown {kind} {name}")
                gens[(kind, name)].update(data)
            elif (kind, name) in gens:
                raise KustomizeError(f"{kpath}: {kind} {name} generated twice")
            else:
                gens[(kind, name)] = dict(data)
    for p in k.get("patches") or []:
        if set(p) != {"path"}:
            raise KustomizeError(f"{kpath}: only `patches: - path: FILE` is supported")
        patch = yaml_load(open(os.path.join(d, p["path"])))
        hits = [i for i, o in enumerate(objs) if o.get("kind") == patch.get("kind")
                and o["metadata"]["name"] == patch["metadata"]["name"]]
        if len(hits) != 1:
            raise KustomizeError(f"{kpath}: patch {p['path']} matches {len(hits)} objects")
        objs[hits[0]] = merge(objs[hits[0]], patch)
    for r in k.get("replicas") or []:
        for o in objs:
            if o.get("kind") == "Deployment" and o["metadata"]["name"] == r["name"]:
                o["spec"]["replicas"] = r["count"]
    return objs, gens


def _rename_refs(pod, names):
    def ren(kind, n):
        return names.get((kind, n), n)
    for v in pod.get("volumes") or []:
        if "configMap" in v:
            v["configMap"]["name"] = ren("ConfigMap", v["configMap"]["name"])
        if "secret" in v:
            v["secret"]["secretName"] = ren("Secret", v["secret"]["secretName"])
    for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
        for ef in c.get("envFrom") or []:
            if "configMapRef" in ef:
                ef["configMapRef"]["name"] = ren("ConfigMap", ef["configMapRef"]["name"])
            if "secretRef" in ef:
                ef["secretRef"]["name"] = ren("Secret", ef["secretRef"]["name"])
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "configMapKeyRef" in vf:
                vf["configMapKeyRef"]["name"] = ren("ConfigMap", vf["configMapKeyRef"]["name"])
            if "secretKeyRef" in vf:
                vf["secretKeyRef"]["name"] = ren("Secret", vf["secretKeyRef"]["name"])


def render(d):
    objs, gens = _build(d)
    names, out = {}, []
    for (kind, name), data in sorted(gens.items()):
        if kind == "ConfigMap":
            o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
        else:
            o = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": name},
                 "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
        o["metadata"]["name"] = f"{name}-{_suffix(o)}"
        names[(kind, name)] = o["metadata"]["name"]
        out.append(o)
    for o in objs:
        pod = (o.get("spec") or {}).get("template", {}).get("spec")
        if pod is not None:
            _rename_refs(pod, names)
        out.append(o)
    return out
