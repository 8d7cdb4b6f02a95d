#!/usr/bin/env bash
# scripts/fuzz.sh [TARGET|all] [SECONDS] — builds the libFuzzer targets in
# tests/fuzz/ (clang, ASan + UBSan) into build-fuzz/ and runs TARGET (default
# all) for SECONDS each (default 60) on its corpus tests/fuzz/corpus/<target>/,
# one at a time, niced.  New inputs go to build-fuzz/corpus/<target>/ (the
# checked-in seeds stay small); a crash leaves build-fuzz/crash-* and fails.
# Ends with "N passed, N failed".  FUZZ_JOBS_ARGS adds libFuzzer flags.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build-fuzz
TARGET=${1:-all}
SECS=${2:-60}
CC=${FUZZ_CC:-clang-14}
PASS=0 FAIL=0
mkdir -p "$OUT"
command -v "$CC" >/dev/null || { echo "FAIL - $CC not installed (apt-get install clang-14 libclang-rt-14-dev)"; echo "0 passed, 1 failed"; exit 1; }

FLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/tests")
# target -> extra sources and libraries
declare -A SRCS=(
    [http_conn]="-levent -ljansson"
    [json_schema]="$ROOT/src/core/schema.c $ROOT/src/core/schema_validate.c $ROOT/src/core/schema_normalize.c $ROOT/src/core/schema_text.c -ljansson -lm"
)
targets=("${!SRCS[@]}")
[ "$TARGET" = all ] || targets=("$TARGET")
for t in "${targets[@]}"; do
    [ -n "${SRCS[$t]+x}" ] || { echo "FAIL - unknown target $t (${!SRCS[*]})"; FAIL=$((FAIL+1)); continue; }
    # shellcheck disable=SC2086
    if ! "$CC" "${FLAGS[@]}" -o "$OUT/fuzz_$t" "$ROOT/tests/fuzz/fuzz_$t.c" ${SRCS[$t]} >"$OUT/build_$t.log" 2>&1; then
        cat "$OUT/build_$t.log"; echo "FAIL - $t: build"; FAIL=$((FAIL+1)); continue
    fi
    mkdir -p "$OUT/corpus/$t"
    # shellcheck disable=SC2086
    if (cd "$OUT" && nice -n 19 "./fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 \
            -timeout=10 -rss_limit_mb=2048 ${FUZZ_ARGS:-} "$OUT/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" \
            >"$OUT/run_$t.log" 2>&1); then
        echo "ok   - $t: ${SECS}s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/run_$t.log" | grep -o '[0-9]*$') runs, $(grep -oE 'cov: [0-9]+' "$OUT/run_$t.log" | tail -1) edges, no crash"
        PASS=$((PASS+1))
    else
        tail -40 "$OUT/run_$t.log"; echo "FAIL - $t: crash (input in $OUT/crash-*)"; FAIL=$((FAIL+1))
    fi
done
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
