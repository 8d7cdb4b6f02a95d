#!/usr/bin/env bash
# tests/build/variants.sh — builds other than the default, run by scripts/test.sh:
#   1. compute only (-DKEEL_MODULES=compute): the data scientist's binary.
#      Only compute is registered, `keel compute synth | aggregate` works with
#      no server and no database; its size is printed.
#   2. the scaffold: a copy of the tree (temp dir), scripts/new-module.sh vet
#      --method note --method notes:ro, then with no other edit: configure,
#      build, vet's unit test, the schema and registry tests, the module-list
#      check, and e2e_vet.sh (HTTP, CLI, placement); a second scaffold of vet
#      is refused.
# Prints ok/FAIL lines and "N passed, N failed".  KEEL_TEST_JOBS sets -j.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
JOBS=${KEEL_TEST_JOBS:-$(nproc)}
unset KEEL_TEST_JOBS   # keel warns about unknown KEEL_* variables
PASS=0 FAIL=0
ok()   { echo "ok   - $1"; PASS=$((PASS+1)); }
fail() { echo "FAIL - $1"; FAIL=$((FAIL+1)); }
T=$(mktemp -d --suffix=-keel-variants)
trap 'rm -rf "$T"' EXIT

# ---- 1. compute only -----------------------------------------------------------
B="$T/compute"
if cmake -S "$SRC" -B "$B" -DKEEL_MODULES=compute -DKEEL_TESTS=OFF -DKEEL_WERROR=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$T/c.log" 2>&1 &&
   timeout 900 cmake --build "$B" -j"$JOBS" --target keel >>"$T/c.log" 2>&1; then
    ok "compute-only build"
    mods=$("$B/keel" modules 2>/dev/null | awk '/^[a-z]/ {print $1}' | paste -sd, -)
    [ "$mods" = compute ] && ok "compute-only: keel modules lists compute only" || fail "compute-only modules: '$mods'"
    if (cd "$T" && env -u KEEL_DATABASE_URL "$B/keel" compute synth --seed 5 >"$T/s.csv" &&
        env -u KEEL_DATABASE_URL "$B/keel" compute aggregate "$T/s.csv" >"$T/agg.json"); then
        grep -q '"samples"' "$T/agg.json" && ok "compute-only: synth | aggregate offline" ||
            fail "compute-only: aggregate printed $(head -c 200 "$T/agg.json")"
    else fail "compute-only: synth/aggregate failed"; fi
    strip -o "$T/keel.stripped" "$B/keel" 2>/dev/null &&
        echo "     compute-only keel: $(stat -c %s "$B/keel") bytes, $(stat -c %s "$T/keel.stripped") stripped (dynamic)"
else fail "compute-only build: $(grep -E 'error|Error' "$T/c.log" | head -5)"; fi
rm -rf "$B"

# ---- 2. the scaffold in a copy ----------------------------------------------------
C="$T/tree"
mkdir -p "$C"
(cd "$SRC" && git ls-files -co --exclude-standard -z | grep -zEv '^build' | xargs -0 tar cf -) | (cd "$C" && tar xf -)
(cd "$C" && git init -q 2>/dev/null || true)
if (cd "$C" && ./scripts/new-module.sh vet --method note --method notes:ro) >"$T/s.log" 2>&1; then
    ok "new-module.sh vet --method note --method notes:ro"
else fail "new-module.sh: $(cat "$T/s.log")"; fi
# docs/modules.md's worked example is exactly what the scaffold wrote
for f in vet.h vet.c; do
    awk -v tag="<!-- scaffold:$f -->" '$0 == tag {on=1; next} on && /^<!-- \/scaffold -->/ {on=0}
        on && !/^```/ {print}' "$C/docs/modules.md" >"$T/doc.$f"
    if [ -s "$T/doc.$f" ] && diff -q "$T/doc.$f" "$C/src/modules/vet/$f" >/dev/null; then
        ok "docs/modules.md shows the scaffold's $f as written"
    else fail "docs/modules.md's $f differs from the scaffold's: $(diff "$T/doc.$f" "$C/src/modules/vet/$f" | head -5)"; fi
done
(cd "$C" && ./scripts/new-module.sh vet) >/dev/null 2>&1 && fail "a second 'vet' was not refused" ||
    ok "a second scaffold of vet is refused"
B="$C/build"
if cmake -S "$C" -B "$B" -DKEEL_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$T/b.log" 2>&1 &&
   timeout 1200 cmake --build "$B" -j"$JOBS" --target keel test_vet test_schema test_registry >>"$T/b.log" 2>&1; then
    ok "scaffolded tree builds with warnings as errors"
    for t in test_vet test_schema test_registry; do
        (cd "$B" && KEEL_SOURCE_DIR="$C" KEEL_LOG_LEVEL=error "./$t" >"$T/$t.log" 2>&1) && ok "scaffold: $t" ||
            fail "scaffold: $t: $(grep -E 'FAIL|ERROR|error' "$T/$t.log" | head -5)"
    done
    "$C/scripts/modules.sh" check >"$T/m.log" 2>&1 && ok "scaffold: module list derived everywhere" ||
        fail "scaffold: $(cat "$T/m.log")"
    if KEEL_BIN="$B/keel" KEEL_SOURCE_DIR="$C" timeout 300 bash "$C/tests/e2e/e2e_vet.sh" >"$T/e.log" 2>&1; then
        ok "scaffold: e2e_vet.sh ($(tail -1 "$T/e.log"))"
    else fail "scaffold: e2e_vet.sh: $(grep FAIL "$T/e.log" | head -5)"; fi
else fail "scaffolded tree build: $(grep -E 'error|Error' "$T/b.log" | head -8)"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
