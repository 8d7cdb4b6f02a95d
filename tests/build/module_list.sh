#!/usr/bin/env bash
# tests/build/module_list.sh — the module list has one source and no traps.
# Configures (never builds) a copy of the tree in a temp dir:
#   1. a fresh folder builds src/modules/modules.txt's list;
#   2. modules.txt changes → a folder that never chose a list follows it, and says so;
#   3. a folder with a hand-chosen list is warned, naming what is not built;
#   4. a list missing a dependency is a configure error naming both modules;
#   5. an unknown module is a configure error.
# Needs KEEL_SOURCE_DIR.  Prints ok/FAIL lines and "N passed, N failed".
set -uo pipefail
SRC=${KEEL_SOURCE_DIR:?}
PASS=0 FAIL=0
ok()   { echo "ok   - $1"; PASS=$((PASS+1)); }
fail() { echo "FAIL - $1"; FAIL=$((FAIL+1)); }
T=$(mktemp -d --suffix=-keel-modlist)
trap 'rm -rf "$T"' EXIT
# the tree as committed plus the working changes (no build folders)
(cd "$SRC" && git ls-files -co --exclude-standard -z 2>/dev/null | grep -zv '^build' |
    xargs -0 tar cf - 2>/dev/null) | (mkdir -p "$T/src" && cd "$T/src" && tar xf -)
[ -f "$T/src/CMakeLists.txt" ] || { echo "FAIL - could not copy the tree"; echo "0 passed, 1 failed"; exit 1; }
conf() { cmake -S "$T/src" -B "$T/b" -DKEEL_TESTS=OFF "$@" >"$T/log" 2>&1; }
registry() { grep -o 'keel_module_[a-z0-9_]*,' "$T/b/gen/keel_modules.c" | sed 's/keel_module_//;s/,//' | paste -sd, -; }
src_list() { grep -Ev '^[[:space:]]*(#|$)' "$T/src/src/modules/modules.txt" | paste -sd, -; }

if conf; then
    [ "$(registry)" = "$(src_list)" ] && ok "fresh folder: registry = modules.txt ($(registry))" ||
        fail "fresh folder: registry $(registry) != $(src_list)"
else fail "fresh configure failed: $(tail -5 "$T/log")"; fi

# 2. the source list loses echo (nothing depends on it)
sed -i '/^echo$/d' "$T/src/src/modules/modules.txt"
if conf; then
    [ "$(registry)" = "$(src_list)" ] && ok "modules.txt changed: the folder follows it ($(registry))" ||
        fail "modules.txt changed but registry is $(registry)"
    grep -q "src/modules/modules.txt changed" "$T/log" && ok "and configure says so" ||
        fail "no message about the changed list: $(grep -i keel "$T/log" | head -3)"
else fail "reconfigure after a list change failed: $(tail -5 "$T/log")"; fi

# 3. a hand-chosen list stays, with a warning naming what is not built
if conf -DKEEL_MODULES=compute; then
    [ "$(registry)" = compute ] && ok "-DKEEL_MODULES=compute: registry is compute only" ||
        fail "-DKEEL_MODULES=compute: registry $(registry)"
    tr -s ' \n' '  ' <"$T/log" | grep -q "differs from.*Not built: kv, auth, riding" &&
        ok "warned: KEEL_MODULES differs, naming kv, auth, riding as not built" ||
        fail "no clear drift warning: $(grep -A3 -i 'warning' "$T/log" | head -6)"
    conf && [ "$(registry)" = compute ] && ok "a plain reconfigure keeps the chosen list" ||
        fail "a plain reconfigure lost the chosen list: $(registry)"
else fail "configure -DKEEL_MODULES=compute failed: $(tail -5 "$T/log")"; fi

# 4. a missing dependency
rm -rf "$T/b"
if conf -DKEEL_MODULES="kv;riding"; then
    fail "KEEL_MODULES=kv;riding configured although riding needs compute"
else
    grep -q "module 'riding' needs module 'compute'" "$T/log" &&
        ok "KEEL_MODULES=kv;riding: configure error names riding and compute" ||
        fail "missing-dependency error unclear: $(grep -i error -A3 "$T/log" | head -6)"
fi

# 5. an unknown module
rm -rf "$T/b"
if conf -DKEEL_MODULES="compute;nosuch"; then fail "an unknown module configured"
else
    grep -q "names 'nosuch'" "$T/log" && ok "unknown module: configure error names it" ||
        fail "unknown-module error unclear: $(tail -5 "$T/log")"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
