"""vkeel.py — keel's own configuration surface for the deployment checks:
the KEEL_ variables the image sets (image_env), the keys `keel config --json`
declares and the environments the real binary accepts (Keel), and the
placement checks every workload's environment goes through.
"""
import json
import os
import subprocess
import tempfile

from vreport import fail, check

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
