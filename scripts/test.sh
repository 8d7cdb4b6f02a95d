#!/usr/bin/env bash
# scripts/test.sh — install what is missing, build, and run every test:
#   1. release build, warnings as errors: unit (cmocka) + end-to-end (real binary) tests
#   2. ASan+UBSan build, warnings as errors: the same suite again
#   3. ThreadSanitizer (clang): unit tests + the e2e tests that drive the threads
#   4. the static binary + scratch-image checks (scripts/verify-scratch.sh)
#   after stage 1: a compute-only binary and a scaffolded module
#   (tests/build/variants.sh), and lint (scripts/lint.sh: cppcheck, clang-tidy)
# Ends with one line "N passed, N failed" over all of it; exits non-zero on any failure.
# KEEL_TEST_FAST=1 skips the sanitizer, tsan and static stages (local iteration only).
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh test || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }

JOBS=${KEEL_TEST_JOBS:-$(nproc)}
# The tests labelled pg run against a throw-away PostgreSQL cluster that a
# ctest fixture starts (scripts/pg-cluster.sh, as user nobody when root, on a
# free loopback port) and stops after them, also when they fail.  Should
# ctest itself be killed, stop what is left here.
stop_clusters() {
    local d
    for d in build/pg-cluster build-asan/pg-cluster; do
        [ -d "$d" ] && scripts/pg-cluster.sh stop "$d" >/dev/null 2>&1
    done
    return 0
}
trap stop_clusters EXIT
PASS=0
FAIL=0
T0=$SECONDS
# stage_time NAME: how long the stage just finished took, and the run so far
stage_time() { echo "=== $1: $((SECONDS - STAGE_T0)) s (run so far $((SECONDS - T0)) s)"; STAGE_T0=$SECONDS; }
STAGE_T0=$SECONDS
LOGDIR=$(mktemp -d --suffix=-keel-test -p "${TMPDIR:-/tmp}")

# suite NAME BUILD_DIR [cmake args...]: configure, build, run ctest, count.
suite() {
    local name=$1 dir=$2; shift 2
    echo "=== $name: configure + build ($dir)"
    if ! cmake -S . -B "$dir" -DKEEL_WERROR=ON "$@" >"$LOGDIR/$name.cmake.log" 2>&1; then
        cat "$LOGDIR/$name.cmake.log"; echo "=== $name: configure FAILED"; FAIL=$((FAIL+1)); return
    fi
    if ! cmake --build "$dir" -j"$JOBS" >"$LOGDIR/$name.build.log" 2>&1; then
        grep -E "error|warning" "$LOGDIR/$name.build.log" | head -40
        echo "=== $name: build FAILED"; FAIL=$((FAIL+1)); return
    fi
    echo "=== $name: ctest"
    ctest --test-dir "$dir" -j"$JOBS" --output-on-failure --timeout 600 2>&1 | tee "$LOGDIR/$name.ctest.log"
    local line total failed
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$LOGDIR/$name.ctest.log" | tail -1)
    if [ -z "$line" ]; then
        echo "=== $name: no ctest summary"; FAIL=$((FAIL+1)); return
    fi
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
    PASS=$((PASS + total - failed))
    FAIL=$((FAIL + failed))
}

# counted NAME CMD…: runs a script that ends with "N passed, N failed" and adds its counts.
counted() {
    local name=$1 line; shift
    echo "=== $name"
    "$@" 2>&1 | tee "$LOGDIR/$name.log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGDIR/$name.log" | tail -1)
    if [ -z "$line" ]; then echo "=== $name: no summary line"; FAIL=$((FAIL+1)); return; fi
    PASS=$((PASS + ${line%% passed*}))
    FAIL=$((FAIL + $(sed -E 's/.*, ([0-9]+) failed/\1/' <<<"$line")))
}

tsan_stage() {
    local dir=build-tsan cc=${KEEL_TSAN_CC:-clang-14} rep="$LOGDIR/tsan-reports" line total failed n
    echo "=== tsan: configure + build ($dir, $cc)"
    if ! command -v "$cc" >/dev/null; then
        echo "=== tsan: $cc not installed (apt-get install clang-14)"; FAIL=$((FAIL+1)); return
    fi
    if ! CC=$cc cmake -S . -B "$dir" -DKEEL_WERROR=ON -DKEEL_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            >"$LOGDIR/tsan.cmake.log" 2>&1 || ! cmake --build "$dir" -j"$JOBS" >"$LOGDIR/tsan.build.log" 2>&1; then
        grep -E "error|warning" "$LOGDIR/tsan.build.log" "$LOGDIR/tsan.cmake.log" | head -40
        echo "=== tsan: build FAILED"; FAIL=$((FAIL+1)); return
    fi
    # the compute sweeps are single-threaded arithmetic on generated sessions:
    # nothing for TSan to find, and minutes of its time (release and ASan run them)
    echo "=== tsan: ctest (unit + e2e_http, e2e_events; not the compute sweeps)"
    mkdir -p "$rep"
    TSAN_OPTIONS="log_path=$rep/report second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
    KEEL_AUTH_ARGON2_MEMORY_KIB=64 KEEL_AUTH_ARGON2_PASSES=1 \
        ctest --test-dir "$dir" -j"$JOBS" --output-on-failure --timeout 300 -FC e2e_calls \
              -R '^(test_[a-z_]+|e2e_(http|events))$' -E '(_pg|test_events_crash|test_compute_sweep.*)$' \
              2>&1 | tee "$LOGDIR/tsan.ctest.log"
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$LOGDIR/tsan.ctest.log" | tail -1)
    if [ -z "$line" ]; then
        echo "=== tsan: no ctest summary"; FAIL=$((FAIL+1)); return
    fi
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
    PASS=$((PASS + total - failed))
    FAIL=$((FAIL + failed))
    n=$(find "$rep" -type f | wc -l)
    if [ "$n" -eq 0 ]; then
        PASS=$((PASS+1)); echo "ok   - tsan: no ThreadSanitizer report"
    else
        head -60 "$rep"/*; FAIL=$((FAIL+1)); echo "FAIL - tsan: $n ThreadSanitizer report file(s)"
    fi
}

echo "=== PostgreSQL: test_store_pg and e2e_{riding,http}_pg run on a throw-away cluster"
suite release build -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage_time release

# compute-only binary and a scaffolded module built in a copy of the tree (bounded: two builds)
KEEL_TEST_JOBS=$JOBS counted build-variants bash tests/build/variants.sh
stage_time build-variants
# cppcheck + clang-tidy over the tree (scripts/lint.sh; uses build/compile_commands.json)
counted lint bash scripts/lint.sh build
stage_time lint
# every libFuzzer target a few seconds on its seeds (ASan + UBSan; a crash fails);
# the first run also builds an instrumented runtime for http_input (build-fuzz/rt)
counted fuzz-smoke bash scripts/fuzz.sh all "${KEEL_FUZZ_SMOKE_SECONDS:-5}"
stage_time fuzz-smoke

if [ "${KEEL_TEST_FAST:-0}" != 1 ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    KEEL_AUTH_ARGON2_MEMORY_KIB=${KEEL_AUTH_ARGON2_MEMORY_KIB:-64} KEEL_AUTH_ARGON2_PASSES=${KEEL_AUTH_ARGON2_PASSES:-1} \
        suite asan-ubsan build-asan -DCMAKE_BUILD_TYPE=Debug -DKEEL_SANITIZE=ON
    stage_time asan-ubsan

    # ThreadSanitizer (clang): the unit tests (test_remote, test_remote_call and test_http_pool
    # drive the remote pool and breakers from many threads, test_events the
    # dispatcher) and the e2e tests that drive the loop threads and worker
    # pool (e2e_http) and the dispatcher in a server (e2e_events).  The
    # latency-bound e2e tests (e2e_slow_dependency, e2e_placement) time out
    # under TSan's 5-15x slowdown on a shared machine, so they stay out.  Reports
    # of the servers those start go to files (log_path): any file fails the
    # stage, as a failing test does.  scripts/tsan.supp: third-party code only.
    tsan_stage
    stage_time tsan

    echo "=== static binary + scratch image"
    if [ -x scripts/build-static.sh ] && [ -x scripts/verify-scratch.sh ]; then
        if ./scripts/build-static.sh >"$LOGDIR/static.log" 2>&1 && ./scripts/verify-scratch.sh build-static/keel 2>&1 | tee "$LOGDIR/verify.log"; then
            PASS=$((PASS+1)); echo "ok   - static build + verify-scratch"
        else
            tail -30 "$LOGDIR/static.log"; FAIL=$((FAIL+1)); echo "FAIL - static build + verify-scratch"
        fi
    else
        echo "FAIL - scripts/build-static.sh or scripts/verify-scratch.sh missing"; FAIL=$((FAIL+1))
    fi
    stage_time static
fi

rm -rf "$LOGDIR"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
