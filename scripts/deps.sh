#!/usr/bin/env bash
# scripts/deps.sh — installs the Debian 12 packages keel needs, only those missing.
#   scripts/deps.sh build   compiler, CMake and the libraries (what run.sh needs)
#   scripts/deps.sh test    build + cmocka and the tools the test suite drives
#   scripts/deps.sh bench   test + wrk, hyperfine, pandas/scipy (benchmarks' peers)
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config libevent-dev libjansson-dev libsqlite3-dev libssl-dev ca-certificates"
TEST_PKGS="libcmocka-dev curl python3 python3-yaml json-schema-test-suite util-linux procps locales"
BENCH_PKGS="wrk hyperfine python3-pandas python3-scipy python3-numpy time"

want=$BUILD_PKGS
case "${1:-build}" in
    build) ;;
    test)  want="$want $TEST_PKGS" ;;
    bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
    *) echo "usage: scripts/deps.sh build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
