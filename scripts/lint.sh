#!/usr/bin/env bash
# scripts/lint.sh [BUILD_DIR] — cppcheck and clang-tidy over the C tree.
#
# cppcheck: warning, performance and portability checks on src/ tests/ bench/,
# jansson's iteration macros from .lint/jansson.cfg.  clang-tidy: the checks in
# .clang-tidy (analyzer + bugprone, every exclusion named there) on every
# translation unit of BUILD_DIR/compile_commands.json (default build/, which
# must have been built: the generated *_embedded.h are needed).
# .lint/pending.txt lists files not yet clean, one "<tool> <path> <why>" a line:
# they are skipped by that tool only, and printed, so the debt stays visible.
# Ends with "N passed, N failed" (one count per tool); exit 1 on any finding.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build dir ${1:-build}"; echo "0 passed, 1 failed"; exit 1; }
cd "$ROOT"
PASS=0 FAIL=0
T=$(mktemp -d --suffix=-keel-lint)
trap 'rm -rf "$T"' EXIT
pending() { awk -v t="$1" '$1 == t {print $2}' .lint/pending.txt 2>/dev/null; }
while read -r tool path why; do
    case "$tool" in ''|'#'*) continue ;; esac
    echo "pending: $tool $path — $why"
done < <(grep -v '^#' .lint/pending.txt 2>/dev/null || true)

# ---- cppcheck --------------------------------------------------------------------
if command -v cppcheck >/dev/null; then
    git ls-files -co --exclude-standard 'src/*.c' 'tests/*.c' 'bench/*.c' | grep -vxF -f <(pending cppcheck; echo /dev/null) >"$T/cpp.files"
    cppcheck --quiet --enable=warning,performance,portability --inline-suppr --std=c11 \
        --library=.lint/jansson.cfg -I include -I src -I tests -I "$BUILD/gen" -D_GNU_SOURCE \
        -j"$(nproc)" --file-list="$T/cpp.files" --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        >"$T/cpp.out" 2>&1
    n=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: ' "$T/cpp.out" || true)
    if [ "$n" = 0 ]; then echo "ok   - cppcheck: $(wc -l <"$T/cpp.files") files clean"; PASS=$((PASS+1))
    else grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$T/cpp.out"; echo "FAIL - cppcheck: $n findings"; FAIL=$((FAIL+1)); fi
else echo "FAIL - cppcheck is not installed (./scripts/deps.sh test)"; FAIL=$((FAIL+1)); fi

# ---- clang-tidy --------------------------------------------------------------------
if command -v run-clang-tidy >/dev/null && [ -f "$BUILD/compile_commands.json" ]; then
    python3 - "$BUILD/compile_commands.json" "$ROOT" <(pending clang-tidy) >"$T/tidy.files" <<'PY'
import json, os, sys
root = sys.argv[2]
skip = {os.path.join(root, l.strip()) for l in open(sys.argv[3]) if l.strip()}
seen = set()
for e in json.load(open(sys.argv[1])):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(root + "/") and "/build" not in f[len(root):] and f not in skip and f not in seen:
        seen.add(f); print(f)
PY
    checks=()   # the analyzer only on request: ~5 s CPU per file (.clang-tidy)
    [ "${LINT_ANALYZER:-0}" = 1 ] || checks=(-checks=-clang-analyzer-*)
    run-clang-tidy -p "$BUILD" -j "$(nproc)" -quiet "${checks[@]}" $(sed 's/[.[\*^$()+?{|]/\\&/g; s/.*/^&$/' "$T/tidy.files") \
        2>&1 | sed "s/\x1b\[[0-9;]*m//g" >"$T/tidy.out"
    n=$(grep -cE '^/[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$T/tidy.out" || true)
    if [ "$n" = 0 ]; then echo "ok   - clang-tidy: $(wc -l <"$T/tidy.files") files clean"; PASS=$((PASS+1))
    else grep -E '^/[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$T/tidy.out" | sort -u; echo "FAIL - clang-tidy: $n findings"; FAIL=$((FAIL+1)); fi
else echo "FAIL - run-clang-tidy or $BUILD/compile_commands.json missing"; FAIL=$((FAIL+1)); fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
