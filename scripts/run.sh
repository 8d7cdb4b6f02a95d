#!/usr/bin/env bash
# scripts/run.sh — install what is missing, build, and serve the whole app on
# the embedded SQLite store (./var/keel.db) at http://localhost:${KEEL_PORT:-8080}.
# Extra arguments go to `keel serve` (e.g. --set port=9090).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKEEL_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p var
echo "keel: serving on http://localhost:${KEEL_PORT:-8080} (data in ./var/keel.db); Ctrl-C to stop"
echo "keel: first token: ./build/keel auth create-admin --email you@example.com"
exec ./build/keel serve "$@"
