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
SCHEMA="$ROOT/src/core/schema.c $ROOT/src/core/schema_validate.c $ROOT/src/core/schema_normalize.c $ROOT/src/core/schema_text.c $ROOT/src/core/json_parse.c $ROOT/src/core/sbuf.c"
C=$ROOT/src/modules/compute
# target -> extra sources and libraries; "@rt" links the whole runtime
# (build-fuzz/rt/libkeelrt.a: core, api and the compute module, built once with
# the same instrumentation)
declare -A SRCS=(
    [http_conn]="$ROOT/src/core/sbuf.c -levent -ljansson"
    [json]="$ROOT/src/core/json_parse.c $ROOT/src/core/json_dump.c $ROOT/src/core/sbuf.c -ljansson"
    [json_schema]="$SCHEMA -ljansson -lm"
    [cli_coerce]="$SCHEMA $ROOT/src/core/schema_coerce.c -ljansson -lm"
    [config]="$ROOT/src/core/config.c $ROOT/src/core/config_keys.c -ljansson"
    [csv_aggregate]="-I$C $C/csv.c $C/csv_header.c $C/datetime.c $C/columns.c $C/aggregate*.c $C/declip.c $C/gait.c $C/gait_sym.c $C/timeline.c $C/rein.c $C/jumps.c $C/summary.c $C/summary_inputs.c $C/summary_breakdown.c $C/bouts.c $C/lead.c $C/windows.c $C/params.c $C/options.c $C/rising.c -ljansson -lm"
    [remote_reply]="-ljansson"
    [http_input]="@rt"
)
# libkeelrt.a built with clang, ASan + UBSan and fuzzer coverage (no main)
build_rt() {
    [ -n "${RT_LIBS:-}" ] && return 0
    echo "     building the runtime for the @rt targets (build-fuzz/rt)"
    if ! CC=$CC cmake -S "$ROOT" -B "$OUT/rt" -DKEEL_SANITIZE=ON -DKEEL_TESTS=OFF -DKEEL_MODULES=compute -DCMAKE_BUILD_TYPE=Debug \
            -DCMAKE_C_FLAGS="-O1 -fsanitize=fuzzer-no-link" >"$OUT/build_rt.log" 2>&1 ||
       ! nice -n 19 cmake --build "$OUT/rt" --target keelrt -j"${FUZZ_BUILD_JOBS:-2}" >>"$OUT/build_rt.log" 2>&1; then
        tail -30 "$OUT/build_rt.log"; return 1
    fi
    RT_LIBS="$OUT/rt/libkeelrt.a -I$OUT/rt/gen $(pkg-config --libs libevent_core libevent_extra libevent_pthreads jansson sqlite3 libcrypto libpq libargon2 zlib) -lpthread -lm"
}
mapfile -t targets < <(printf '%s\n' "${!SRCS[@]}" | sort)
[ "$TARGET" = all ] || targets=("$TARGET")
for t in "${targets[@]}"; do
    [ -n "${SRCS[$t]+x}" ] || { echo "FAIL - unknown target $t (${!SRCS[*]})"; FAIL=$((FAIL+1)); continue; }
    extra=${SRCS[$t]}
    if [ "$extra" = @rt ]; then
        build_rt || { echo "FAIL - $t: runtime build ($OUT/build_rt.log)"; FAIL=$((FAIL+1)); continue; }
        extra=$RT_LIBS
    fi
    # shellcheck disable=SC2086
    if ! "$CC" "${FLAGS[@]}" -o "$OUT/fuzz_$t" "$ROOT/tests/fuzz/fuzz_$t.c" $extra >"$OUT/build_$t.log" 2>&1; then
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
