#!/usr/bin/env bash
# scripts/deps.sh — installs the Debian 12 packages keel needs, only those missing.
#   scripts/deps.sh build   compiler, CMake and the libraries (what run.sh needs)
#   scripts/deps.sh test    build + cmocka and the tools the test suite drives
#   scripts/deps.sh bench   test + wrk, hyperfine, pandas/scipy (benchmarks' peers)
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config libevent-dev libjansson-dev libsqlite3-dev libssl-dev libpq-dev zlib1g-dev libargon2-dev ca-certificates jq curl"
# docker-compose (config check only), nginx-light (nginx -t and a live upstream test) and podman
# (offline image build) serve the deployment checks; nodejs/npm the Kubernetes schema check;
# prometheus gives promtool, which checks the /metrics exposition.
# cppcheck and clang-tidy: scripts/lint.sh (a stage of scripts/test.sh)
# postgresql: the throw-away cluster of the tests labelled pg (scripts/pg-cluster.sh);
# postgresql-server-dev-15: the static archives libpgcommon.a/libpgport.a the static link needs.
# chromium: the dashboard's browser test (tests/e2e/e2e_browser.sh, driven by playwright-core).
TEST_PKGS="libcmocka-dev curl python3 python3-yaml json-schema-test-suite util-linux procps locales docker-compose nginx-light podman cppcheck clang-tidy postgresql postgresql-server-dev-15 prometheus chromium"
BENCH_PKGS="wrk hyperfine golang-go python3-pandas python3-scipy python3-numpy time"

want=$BUILD_PKGS
case "${1:-build}" in
    build) ;;
    test)  want="$want $TEST_PKGS" ;;
    bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
    *) echo "usage: scripts/deps.sh build|test|bench" >&2; exit 2 ;;
esac

case "${1:-build}" in
    test|bench) command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
esac

missing=()
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
install_npm_deps() {
    # The Kubernetes schema check (tests/deploy), the OpenAPI check (tests/openapi) and the
    # browser test (tests/browser) pin their npm packages in lockfiles.
    case "${1:-build}" in test|bench) ;; *) return 0 ;; esac
    if [ -f tests/deploy/package-lock.json ] && [ ! -d tests/deploy/node_modules/kubernetes-models ]; then
        (cd tests/deploy && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            echo "warning: npm ci in tests/deploy failed: the Kubernetes schema check will say skip" >&2
    fi
    if [ -f tests/openapi/package-lock.json ] && [ ! -d tests/openapi/node_modules/@apidevtools/swagger-parser ]; then
        (cd tests/openapi && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            echo "warning: npm ci in tests/openapi failed: the OpenAPI validation will say skip" >&2
    fi
    # playwright-core drives Debian's chromium; it downloads no browser of its own
    if [ -f tests/browser/package-lock.json ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
        (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            echo "warning: npm ci in tests/browser failed: the browser test will say skip" >&2
    fi
}
cd "$(dirname "$0")/.."
if [ ${#missing[@]} -eq 0 ]; then install_npm_deps "${1:-build}"; exit 0; fi

echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# RUNLEVEL=1: packages with a service (nginx) install without starting it.
$SUDO env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm_deps "${1:-build}"
