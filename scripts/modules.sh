#!/usr/bin/env bash
# scripts/modules.sh list | sync | check — the module list and what derives from it.
#
# src/modules/modules.txt is the one source of truth (one name a line,
# registry order).  Derived from it:
#   - CMake's default KEEL_MODULES (CMakeLists.txt reads the file);
#   - the split deployment's gateway list, KEEL_MODULES_LOCAL = every module
#     but compute (compute runs in its own process), written in
#     deploy/docker-compose.yml, deploy/k8s/base/keel.env, the README's split
#     example and docs/operations.md.
#   list   print the modules, one a line
#   sync   rewrite the derived lists in place
#   check  exit 1 naming every file that disagrees, every module folder not
#          listed and every listed module without a folder (a ctest test)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIST="$ROOT/src/modules/modules.txt"
DERIVED=(deploy/docker-compose.yml deploy/k8s/base/keel.env README.md docs/operations.md)

modules() { grep -Ev '^[[:space:]]*(#|$)' "$LIST" | tr -d '[:blank:]'; }
gateway() { modules | grep -vx compute | paste -sd, -; }

# rewrite FILE → stdout: every KEEL_MODULES_LOCAL value but "compute" alone
rewrite() {
    GW="$(gateway)" perl -pe 's/(KEEL_MODULES_LOCAL(?:: |=))(?!compute\b)[a-z][a-z0-9_]*(?:,[a-z][a-z0-9_]*)*/$1$ENV{GW}/g' "$1"
}

case "${1:-}" in
list)
    modules ;;
sync)
    for f in "${DERIVED[@]}"; do
        tmp=$(mktemp --suffix=-keel-modules)
        rewrite "$ROOT/$f" >"$tmp"
        if cmp -s "$tmp" "$ROOT/$f"; then rm -f "$tmp"; else cat "$tmp" >"$ROOT/$f"; rm -f "$tmp"; echo "updated $f"; fi
    done ;;
check)
    bad=0
    for f in "${DERIVED[@]}"; do
        if ! grep -q KEEL_MODULES_LOCAL "$ROOT/$f"; then
            echo "FAIL - $f no longer shows KEEL_MODULES_LOCAL (update scripts/modules.sh)"; bad=1; continue
        fi
        if ! rewrite "$ROOT/$f" | diff -u "$ROOT/$f" - >/dev/null; then
            echo "FAIL - $f lists modules other than src/modules/modules.txt says (gateway: $(gateway)):"
            rewrite "$ROOT/$f" | diff -u "$ROOT/$f" - | grep -E '^[-+][^-+]' | sed 's/^/    /' || true
            bad=1
        fi
    done
    for d in "$ROOT"/src/modules/*/; do
        m=$(basename "$d")
        [ -f "$d/CMakeLists.txt" ] || continue
        modules | grep -qx "$m" || { echo "FAIL - src/modules/$m has no line in src/modules/modules.txt"; bad=1; }
    done
    while read -r m; do
        [ -f "$ROOT/src/modules/$m/CMakeLists.txt" ] ||
            { echo "FAIL - src/modules/modules.txt lists '$m' but src/modules/$m/CMakeLists.txt is missing"; bad=1; }
    done < <(modules)
    if [ "$bad" = 0 ]; then echo "ok   - module list: $(modules | paste -sd, -) (gateway $(gateway)) agrees everywhere"; fi
    exit "$bad" ;;
*)
    echo "usage: scripts/modules.sh list | sync | check" >&2; exit 2 ;;
esac
