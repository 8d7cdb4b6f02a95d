#!/usr/bin/env bash
# bench/compute/run.sh — keel compute vs a pandas/numpy/scipy reference.
#
#   bench/compute/run.sh [KEEL_BIN]        (default: $KEEL_BIN, else build/keel)
#
# 1. `keel compute synth` writes a >= 100 MB synthetic session CSV (200 Hz).
# 2. `keel compute aggregate` on it, best of 3, pinned to one core.
# 3. reference.py (pandas/numpy/scipy, one thread) on the same file, best of 3,
#    and a field-by-field check that both give the same summary.
# 4. trend: 10 000 session lines, `keel compute trend` vs trend_ref.py (pandas
#    groupby, batched Theil-Sen), best of 3, with a number-by-number check.
# Prints MB/s, the keel/pandas ratio and peak RSS (/usr/bin/time -v).
# Bounded: about a minute on a 2-core machine.  Work files go to $BENCH_TMP
# (default a fresh mktemp dir, removed at exit).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KEEL=${1:-${KEEL_BIN:-$ROOT/build/keel}}
PY=${PYTHON:-/usr/bin/python3}   # Debian's python3 has python3-pandas/numpy/scipy
REPS=${REPS:-3}
CORE=${CORE:-0}

[ -x "$KEEL" ] || { echo "run.sh: no keel binary at $KEEL (pass it as \$1 or KEEL_BIN)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time missing: apt-get install -y time" >&2; exit 2; }
"$PY" -c 'import pandas, numpy, scipy' 2>/dev/null ||
    { echo "run.sh: $PY lacks pandas/numpy/scipy (apt-get install -y python3-pandas python3-scipy)" >&2; exit 2; }

if [ -n "${BENCH_TMP:-}" ]; then
    TMP=$BENCH_TMP; mkdir -p "$TMP"
else
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/keel-bench.XXXXXX"); trap 'rm -rf "$TMP"' EXIT
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1   # one core for numpy too
PIN=(taskset -c "$CORE")

# The machine is shared: wall time includes waiting for the CPU, so both the
# best wall time and the best CPU time (user+sys) of REPS runs are kept.
# measure MODE LABEL OUTFILE CMD...: runs CMD REPS times on one core; stdout of
# the last run goes to OUTFILE.  MODE "process": times from /usr/bin/time -v;
# MODE "internal": the command prints "wall cpu" seconds of its own work as its
# first line (the Python references exclude interpreter start-up and imports:
# the fairest number for pandas).  Sets WALL, CPU (s) and RSS (KB, max).
measure() {
    local mode=$1 label=$2 out=$3; shift 3
    WALL= CPU= RSS=0
    for _ in $(seq "$REPS"); do
        /usr/bin/time -v -o "$TMP/time.txt" "${PIN[@]}" "$@" > "$out"
        local w c r
        if [ "$mode" = internal ]; then
            read -r w c < "$out"
        else
            w=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$TMP/time.txt")
            c=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$TMP/time.txt")
        fi
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
        if [ -z "$WALL" ] || awk -v a="$w" -v b="$WALL" 'BEGIN{exit !(a<b)}'; then WALL=$w; fi
        if [ -z "$CPU" ] || awk -v a="$c" -v b="$CPU" 'BEGIN{exit !(a<b)}'; then CPU=$c; fi
        [ "$r" -gt "$RSS" ] && RSS=$r
    done
    printf '  %-36s wall %7.3f s  cpu %7.3f s  peak RSS %5d MB\n' "$label" "$WALL" "$CPU" $((RSS / 1024))
}

echo "== machine: $(getconf _NPROCESSORS_ONLN) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"

# ---- 1. a >= 100 MB session ---------------------------------------------------
LAP="walk:600,trot-left:600,canter-left:240,jump:1.1,walk:240,trot-right:600,canter-right:240,jump:1.2,halt:60"
PLAN="$LAP,$LAP,$LAP,$LAP"          # 4 laps = 10 320 s at 200 Hz ≈ 122 MB
CSV=$TMP/big.csv
"$KEEL" compute synth --seed 1 --plan "$PLAN" --rate 200 --out "$CSV" >/dev/null
BYTES=$(stat -c %s "$CSV")
[ "$BYTES" -ge 100000000 ] || { echo "run.sh: synth wrote only $BYTES bytes (< 100 MB)" >&2; exit 1; }
MB=$(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1e6}')
echo "== aggregate: $CSV ($MB MB, $(wc -l < "$CSV") lines)"

# ---- 2. keel ------------------------------------------------------------------
measure process "keel compute aggregate" "$TMP/keel.json" "$KEEL" compute aggregate "$CSV"
K_W=$WALL K_C=$CPU

# ---- 3. pandas reference --------------------------------------------------------
measure internal "pandas reference.py (work only)" "$TMP/ref.out" "$PY" "$HERE/reference.py" "$CSV"
P_W=$WALL P_C=$CPU
"$PY" "$HERE/reference.py" "$CSV" --compare "$TMP/keel.json" 2>&1 >/dev/null | sed "s/^/  /" ||
    echo "  WARNING: summaries differ"

awk -v mb="$MB" -v kw="$K_W" -v kc="$K_C" -v pw="$P_W" -v pc="$P_C" 'BEGIN{
    printf "  MB/s by wall: keel %.1f, pandas %.1f, keel/pandas %.1fx\n", mb/kw, mb/pw, pw/kw
    printf "  MB/s by cpu:  keel %.1f, pandas %.1f, keel/pandas %.1fx\n", mb/kc, mb/pc, pc/kc
    printf "  target >= 300 MB/s per core: %s; target >= 40x pandas: %s\n",
           (mb/kw >= 300 ? "met" : "NOT met"), (pw/kw >= 40 ? "met" : "NOT met") }'

# ---- 4. trend -----------------------------------------------------------------
SESS=$TMP/sessions.ndjson
"$PY" "$HERE/gen_sessions.py" --horses 200 --sessions 50 --seed 1 --out "$SESS"
echo "== trend: $(wc -l < "$SESS") session lines, 200 horses ($(awk -v b="$(stat -c %s "$SESS")" 'BEGIN{printf "%.1f", b/1e6}') MB)"
measure process "keel compute trend" "$TMP/trend.json" "$KEEL" compute trend "$SESS"
T_KW=$WALL T_KC=$CPU
measure internal "pandas trend_ref.py (groupby)" "$TMP/tref.out" "$PY" "$HERE/trend_ref.py" "$SESS"
T_PW=$WALL T_PC=$CPU
"$PY" "$HERE/trend_ref.py" "$SESS" --check "$TMP/trend.json" 2>&1 >/dev/null | sed "s/^/  /" ||
    echo "  WARNING: trend outputs differ"
awk -v kw="$T_KW" -v kc="$T_KC" -v pw="$T_PW" -v pc="$T_PC" 'BEGIN{
    printf "  keel/pandas %.1fx by wall, %.1fx by cpu\n", pw/kw, pc/kc }'
