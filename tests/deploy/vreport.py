"""vreport.py — how the deployment checks (validate.py, validate_k8s.py)
report: "ok   - …", "FAIL - …" (counted in failures), "skip: …", and the
TOOLS switch (run the external validators; validate.py --no-tools clears it).
"""

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
