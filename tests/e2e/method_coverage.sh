#!/usr/bin/env bash
# method_coverage.sh — runs after every e2e test (ctest fixture cleanup): each
# method a built-in module serves must have been called at least once by the
# end-to-end suite, as recorded through KEEL_CALL_LOG by every keel process.
set -euo pipefail
: "${KEEL_BIN:?}" "${KEEL_CALL_LOG:?}"
[ -s "$KEEL_CALL_LOG" ] || { echo "no calls recorded in $KEEL_CALL_LOG"; exit 1; }
KEEL_CALL_LOG= KEEL_LOG_LEVEL=error "$KEEL_BIN" modules --json | python3 -c '
import json, sys
log = sys.argv[1]
called = set(l.strip() for l in open(log) if l.strip())
missing, total = [], 0
for m in json.load(sys.stdin)["modules"]:
    for me in m["methods"]:
        total += 1
        name = m["name"] + "." + me["name"]
        if name not in called:
            missing.append(name)
for name in missing:
    print("never called by the e2e suite:", name)
print(f"{total - len(missing)} passed, {len(missing)} failed")
sys.exit(1 if missing else 0)' "$KEEL_CALL_LOG"
