#!/usr/bin/env bash
# e2e_compute.sh — compute offline (CLI: synth → aggregate, exit codes,
# batch -j 2, --format ndjson/csv, stdin) and over HTTP (text/csv and JSON).
. "$(dirname "$0")/lib.sh"

K="$KEEL_BIN"
T="$E2E_TMP"
export KEEL_DATABASE_URL="sqlite:$T/cli.db"

# ---- synth ---------------------------------------------------------------------
"$K" compute synth --seed 3 --plan "walk:60,trot-left:60,canter-right:40,jump:1.2,halt:10" \
    --rate 100 --truth "$T/truth.json" >"$T/a.csv"
expect_eq "synth exit" "$?" 0
expect_eq "synth header" "$(head -1 "$T/a.csv")" "time,ax,ay,az,gx,gy,gz"
"$K" compute synth --seed 3 --plan "walk:60,trot-left:60,canter-right:40,jump:1.2,halt:10" \
    --rate 100 --out "$T/a2.csv"
if cmp -s "$T/a.csv" "$T/a2.csv"; then ok "synth is deterministic (stdout = --out)"; else fail "synth differs between runs"; fi
"$K" compute synth --seed 4 --plan "trot:60,gallop:20" --rate 50 --time-unit ms --accel-unit g \
    --gyro-unit deg/s --delimiter ';' --out "$T/b.csv"
expect_eq "synth variant exit" "$?" 0
set +e
"$K" compute synth --plan "swim:10" >/dev/null 2>"$T/err"; rc=$?
set -e
expect_eq "synth bad plan → 2" "$rc" 2
expect_contains "synth bad plan message" "$(cat "$T/err")" "unknown gait 'swim'"

# ---- aggregate -----------------------------------------------------------------
OUT=$("$K" compute aggregate "$T/a.csv")
expect_eq "aggregate exit" "$?" 0
expect_eq "jump_count = truth" "$(jget "$OUT" jump_count)" "$(jget "$(cat "$T/truth.json")" jump_count)"
expect_eq "samples" "$(jget "$OUT" samples)" "$(($(wc -l <"$T/a.csv") - 1))"
python3 - "$OUT" "$T/truth.json" <<'EOF' && ok "gait times within 5% of truth" || fail "gait times off"
import json, sys
s = json.loads(sys.argv[1]); t = json.load(open(sys.argv[2]))
D = s["duration_s"]
bad = [g for g in t["gaits"] if abs(s["gaits"][g]["time_s"] - t["gaits"][g]["time_s"]) > 0.05 * D]
sys.exit(1 if bad else 0)
EOF
OUTB=$("$K" compute aggregate "$T/b.csv")
expect_eq "detected time unit" "$(jget "$OUTB" assumed.time_unit)" "ms"
expect_eq "detected accel unit" "$(jget "$OUTB" assumed.accel_unit)" "g"
expect_eq "detected gyro unit" "$(jget "$OUTB" assumed.gyro_unit)" "deg/s"
expect_eq "detected delimiter" "$(jget "$OUTB" assumed.delimiter)" ";"
expect_eq "detected decimal" "$(jget "$OUTB" assumed.decimal)" ","

OUTS=$("$K" compute aggregate - <"$T/a.csv")
expect_eq "stdin = file" "$(jget "$OUTS" gaits.trot.time_s)" "$(jget "$OUT" gaits.trot.time_s)"

ND=$("$K" compute aggregate -j 2 --format ndjson "$T/a.csv" "$T/b.csv" "$T/a.csv")
expect_eq "ndjson: one line per file" "$(printf '%s\n' "$ND" | wc -l)" 3
expect_eq "ndjson order kept" "$(printf '%s\n' "$ND" | sed -n 2p | python3 -c 'import json,sys;print(json.load(sys.stdin)["file"])')" "$T/b.csv"
CSV=$("$K" compute aggregate -j2 --format csv "$T/a.csv" "$T/b.csv")
expect_eq "csv: header + 2 rows" "$(printf '%s\n' "$CSV" | wc -l)" 3
expect_contains "csv header" "$(printf '%s\n' "$CSV" | head -1)" "file,duration_s,samples,rate_hz"

# exit codes: 2 usage, 3 bad data
printf 'time,ax,ay,az,gx,gy,gz\n' >"$T/header_only.csv"
printf 'time,ax,ay,az,gx,gy\n0,0,0,9.8,0,0\n' >"$T/missing.csv"
printf 'time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n0.01,0,0,x9,0,0,0\n' >"$T/garbage.csv"
head -c 4096 "$K" >"$T/binary.csv"
set +e
"$K" compute aggregate --format yaml "$T/a.csv" >/dev/null 2>&1; expect_eq "bad --format → 2" "$?" 2
"$K" compute aggregate >/dev/null 2>&1; expect_eq "no file → 2" "$?" 2
"$K" compute aggregate "$T/header_only.csv" >/dev/null 2>"$T/err"; expect_eq "header only → 3" "$?" 3
expect_contains "header only message" "$(cat "$T/err")" "no data rows"
"$K" compute aggregate "$T/missing.csv" >/dev/null 2>"$T/err"; expect_eq "missing column → 3" "$?" 3
expect_contains "missing column message" "$(cat "$T/err")" "'gz'"
"$K" compute aggregate "$T/garbage.csv" >/dev/null 2>"$T/err"; expect_eq "garbage cell → 3" "$?" 3
expect_contains "garbage names row/column" "$(cat "$T/err")" "row 2 (line 3), column 'az'"
"$K" compute aggregate "$T/binary.csv" >/dev/null 2>&1; expect_eq "binary → 3" "$?" 3
"$K" compute aggregate "$T/nope.csv" >/dev/null 2>&1; expect_eq "unreadable → 3" "$?" 3
ND=$("$K" compute aggregate --format ndjson "$T/a.csv" "$T/missing.csv" 2>/dev/null); rc=$?
set -e
expect_eq "batch with one bad file → 3" "$rc" 3
expect_contains "batch keeps the good one" "$ND" '"jump_count":1'
expect_contains "batch reports the bad one" "$ND" '"code":"bad_data"'
"$K" compute aggregate --help | grep -q -- "--format" && ok "aggregate --help" || fail "aggregate --help"
"$K" compute synth --help | grep -q -- "--plan" && ok "synth --help" || fail "synth --help"
"$K" compute trend --help | grep -q -- "NDJSON" && ok "trend --help" || fail "trend --help"

# ---- windows: one row per analysis window, NDJSON and CSV ----------------------
"$K" compute windows "$T/a.csv" >"$T/w.ndjson"
expect_eq "windows exit" "$?" 0
"$K" compute windows --format csv -- "$T/a.csv" >"$T/w.csv"
expect_eq "windows csv exit" "$?" 0
NW=$(wc -l <"$T/w.ndjson")
expect_eq "windows: csv rows = ndjson lines" "$(($(wc -l <"$T/w.csv") - 1))" "$NW"
expect_eq "windows csv header" "$(head -1 "$T/w.csv")" \
    "file,t_start,t_end,gait,confidence,stride_hz,cadence_spm,regularity,yaw_rate,rein,lead,dba,symmetry_pct"
python3 - "$T/w.ndjson" "$T/truth.json" "$OUT" <<'EOF' && ok "windows: tile the session, add up to the summary, gait of the truth segment" || fail "windows off"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = json.load(open(sys.argv[2]))
summ = json.loads(sys.argv[3])
assert len(rows) > 80, len(rows)
assert all(abs(a["t_end"] - b["t_start"]) < 0.002 for a, b in zip(rows, rows[1:]))
for g, v in summ["gaits"].items():
    tot = sum(r["t_end"] - r["t_start"] for r in rows if r["gait"] == g)
    assert abs(tot - v["time_s"]) < 0.2, (g, tot, v["time_s"])
inside = ok = 0
for r in rows:
    for s in t["segments"]:
        if r["t_start"] >= s["start"] + 1 and r["t_end"] <= s["end"] - 1:
            inside += 1; ok += r["gait"] == s["gait"]
assert ok >= 0.9 * inside and inside > 40, (ok, inside)
EOF
set +e
"$K" compute windows "$T/a.csv" "$T/missing.csv" >"$T/w2.ndjson" 2>/dev/null; rc=$?
set -e
expect_eq "windows with a bad file → 3" "$rc" 3
expect_eq "windows: the good file's rows, then the error record" "$(wc -l <"$T/w2.ndjson")" "$((NW + 1))"
expect_contains "windows error record" "$(tail -1 "$T/w2.ndjson")" '"code":"bad_data"'
"$K" compute windows --help | grep -q -- "pandas" && ok "windows --help" || fail "windows --help"
PANDAS_PY=""
for py in python3 /usr/bin/python3; do
    if "$py" -c 'import pandas' 2>/dev/null; then PANDAS_PY=$py; break; fi
done
if [ -n "$PANDAS_PY" ]; then
    "$PANDAS_PY" - "$T/w.ndjson" "$T/w.csv" <<'EOF' && ok "pandas reads windows (read_json lines=True, read_csv)" || fail "pandas cannot read windows"
import sys, pandas as pd
a = pd.read_json(sys.argv[1], lines=True)
b = pd.read_csv(sys.argv[2])
assert list(a.columns) == list(b.columns), (list(a.columns), list(b.columns))
assert len(a) == len(b) and a.t_start.dtype.kind == "f" and b.cadence_spm.dtype.kind == "f"
assert (a.gait == b.gait).all()
assert a.groupby("gait").cadence_spm.median().loc["trot"] > 60
EOF
else
    echo "skip: pandas windows check (neither python3 nor /usr/bin/python3 has pandas; apt-get install python3-pandas)"
fi

# trend from NDJSON built out of aggregate summaries
for i in 1 2 3; do
    printf '{"horse_id":1,"date":"2026-03-0%s","summary":%s}\n' "$i" "$("$K" compute aggregate --format ndjson "$T/a.csv")"
done >"$T/sessions.ndjson"
TR=$("$K" compute trend "$T/sessions.ndjson")
expect_eq "trend exit" "$?" 0
expect_contains "trend has horses" "$TR" '"horses"'
TR2=$("$K" compute trend - <"$T/sessions.ndjson")
expect_eq "trend stdin = file" "$TR2" "$TR"

# ---- batch: --files-from, ids from the name, aggregate | trend, -- ------------
mkdir -p "$T/rides"
cp "$T/a.csv" "$T/rides/bella_2026-03-01.csv"
cp "$T/a.csv" "$T/rides/bella_2026-03-08.csv"
cp "$T/a.csv" "$T/rides/-odd.csv"
printf '%s\n\n%s\n%s\n' "$T/rides/bella_2026-03-01.csv" "$T/nope.csv" "$T/rides/bella_2026-03-08.csv" >"$T/list"
set +e
"$K" compute aggregate --format ndjson -j 2 --files-from "$T/list" --name-pattern '{horse_id}_{date}.csv' \
    >"$T/batch.ndjson" 2>/dev/null; rc=$?
set -e
expect_eq "files-from with a bad name → 3" "$rc" 3
expect_eq "files-from: one record per listed file, in order" \
    "$(python3 -c 'import json,sys;print(" ".join(str(json.loads(l).get("horse_id", "-")) for l in open(sys.argv[1])))' "$T/batch.ndjson")" "bella - bella"
expect_contains "the unmatched name is an error record" "$(sed -n 2p "$T/batch.ndjson")" "does not match --name-pattern"
grep -v '"error"' "$T/batch.ndjson" | "$K" compute trend --format csv - >"$T/trend.csv"
expect_eq "aggregate | trend without editing" "$?" 0
expect_eq "trend csv header" "$(head -1 "$T/trend.csv")" "horse_id,metric,n,baseline_n,latest,baseline,change,change_pct,z,z_basis,slope_30d"
expect_contains "trend csv rows" "$(cat "$T/trend.csv")" "bella,gaits.trot.time_s,2,"
expect_eq "trend ndjson: one line per horse" "$(grep -v '"error"' "$T/batch.ndjson" | "$K" compute trend --format ndjson - | wc -l)" 1
CSVM=$("$K" compute aggregate --format csv --meta horse_id=7,date=2026-03-02 -- "$T/rides/-odd.csv")
expect_contains "-- ends options; --meta columns after file" "$(printf '%s\n' "$CSVM" | head -1)" "file,horse_id,date,duration_s,"
expect_contains "--meta values in the row" "$(printf '%s\n' "$CSVM" | sed -n 2p)" "-odd.csv,7,2026-03-02,"
expect_contains "compute defaults lists trend's options" "$("$K" compute defaults)" "baseline_n"
expect_contains "compute defaults lists aggregate's options" "$("$K" compute defaults)" "halt_rms"
expect_eq "defaults --format json: aggregate" "$("$K" compute defaults --format json | python3 -c 'import json,sys;print(json.load(sys.stdin)["aggregate"]["halt_rms"]["default"])')" "0.5"
echo '{"halt_rms": 2.0, "jump_min_air_s": 0.5}' >"$T/aopts.json"
expect_eq "aggregate --options-file, --options and --opt: the later wins, recorded in options" \
    "$("$K" compute aggregate --options-file "$T/aopts.json" --options '{"halt_rms": 1.5}' --opt jump_min_air_s=1.5 "$T/a.csv" | python3 -c 'import json,sys;o=json.load(sys.stdin)["options"];print(o["halt_rms"], o["jump_min_air_s"], o["window_s"])')" "1.5 1.5 4.0"
expect_eq "a shortest flight of 1.5 s: the 1.2 m jump (~0.99 s) is not counted" \
    "$("$K" compute aggregate --opt jump_min_air_s=1.5 "$T/a.csv" | python3 -c 'import json,sys;print(json.load(sys.stdin)["jump_count"])')" "0"
expect_eq "defaults --format json" "$("$K" compute defaults --format json | python3 -c 'import json,sys;print(json.load(sys.stdin)["trend"]["z_threshold"]["default"])')" "2.5"
echo '{"baseline_n": 2, "acwr_max": 1.2}' >"$T/topts.json"
expect_eq "trend --options-file and --opt recorded in options" \
    "$("$K" compute trend --options-file "$T/topts.json" --opt baseline_n=4 "$T/sessions.ndjson" | python3 -c 'import json,sys;o=json.load(sys.stdin)["options"];print(o["baseline_n"], o["acwr_max"])')" "4 1.2"
set +e
"$K" compute trend --opt bogus=1 "$T/sessions.ndjson" >/dev/null 2>"$T/err"; expect_eq "trend unknown option → 3" "$?" 3
expect_contains "unknown option named" "$(cat "$T/err")" "options.bogus: unknown option"
"$K" compute trend --opt z_threshold=0 "$T/sessions.ndjson" >/dev/null 2>"$T/err"; expect_eq "trend option out of range → 3" "$?" 3
"$K" compute aggregate --meta duration_s=1 "$T/a.csv" >/dev/null 2>&1; expect_eq "--meta on a summary field → 2" "$?" 2
# aggregate's thresholds (docs/compute.md "aggregate options")
"$K" compute aggregate --opt halt_rmz=1 "$T/a.csv" >/dev/null 2>"$T/err"; expect_eq "aggregate unknown option → 3" "$?" 3
expect_contains "aggregate unknown option named" "$(cat "$T/err")" "options.halt_rmz: unknown option"
"$K" compute aggregate --opt halt_rms=abc "$T/a.csv" >/dev/null 2>"$T/err"; expect_eq "aggregate non-number option → 3" "$?" 3
expect_contains "aggregate non-number option named" "$(cat "$T/err")" "options.halt_rms: must be a number"
"$K" compute windows --options '{"window_s": 1}' "$T/a.csv" >/dev/null 2>"$T/err"; expect_eq "windows option out of range → 3" "$?" 3
expect_contains "windows option out of range named" "$(cat "$T/err")" "options.window_s"
"$K" compute aggregate --opt halt_rms "$T/a.csv" >/dev/null 2>&1; expect_eq "aggregate --opt without = → 2" "$?" 2
# --set is keel's own configuration: a compute threshold there is refused with a pointer to --opt
"$K" compute aggregate --set burst_max_cv=0.5 "$T/a.csv" >/dev/null 2>"$T/err"; expect_eq "aggregate --set with a compute key → 2" "$?" 2
expect_contains "--set with a compute key points to --opt" "$(cat "$T/err")" "compute: --opt key=value"
"$K" compute aggregate --options '[1]' "$T/a.csv" >/dev/null 2>&1; expect_eq "aggregate --options not an object → 2" "$?" 2
"$K" compute trend --format yaml "$T/sessions.ndjson" >/dev/null 2>&1; expect_eq "trend bad --format → 2" "$?" 2
set -e

# ---- HTTP ----------------------------------------------------------------------
keel_serve S KEEL_AUTH_DISABLED=1 || { fail "keel serve did not start"; e2e_done; exit 1; }
B="http://127.0.0.1:$S"
if ! curl -fsS -o /dev/null "$B/healthz"; then
    echo "skip: HTTP server not answering /healthz"
else
    http POST "$B/v1/compute/aggregate" -H 'Content-Type: text/csv' --data-binary @"$T/a.csv"
    expect_status "POST aggregate text/csv" 200
    expect_eq "HTTP = CLI (trot time)" "$(jget "$HTTP_BODY" gaits.trot.time_s)" "$(jget "$OUT" gaits.trot.time_s)"
    python3 -c 'import json,sys;print(json.dumps({"csv":open(sys.argv[1]).read(),"accel_unit":"m/s2"}))' "$T/a.csv" >"$T/a.json"
    http POST "$B/v1/compute/aggregate" -H 'Content-Type: application/json' --data-binary @"$T/a.json"
    expect_status "POST aggregate JSON" 200
    expect_eq "JSON = CSV body (jumps)" "$(jget "$HTTP_BODY" jump_count)" "1"
    http POST "$B/v1/compute/aggregate" -H 'Content-Type: text/csv' --data-binary @"$T/garbage.csv"
    expect_status "POST aggregate bad data" 400
    expect_eq "bad data code" "$(jget "$HTTP_BODY" error.code)" "bad_data"
    expect_contains "bad data message" "$(jget "$HTTP_BODY" error.message)" "column 'az'"
    http POST "$B/v1/compute/aggregate" -H 'Content-Type: text/csv' --data-binary @"$T/header_only.csv"
    expect_status "POST aggregate header only" 400
    http POST "$B/v1/compute/aggregate" -H 'Content-Type: application/json' -d '{"csv":"x","bogus":1}'
    expect_status "POST aggregate unknown field" 400
    http POST "$B/v1/compute/synth" -H 'Content-Type: application/json' -d '{"plan":"walk:10,jump:0.9","seed":2,"rate":50}'
    expect_status "POST synth" 200
    expect_eq "synth truth over HTTP" "$(jget "$HTTP_BODY" truth.jump_count)" "1"
    http POST "$B/v1/compute/trend" -H 'Content-Type: application/x-ndjson' --data-binary @"$T/sessions.ndjson"
    expect_status "POST trend ndjson" 200
    expect_contains "trend over HTTP" "$HTTP_BODY" '"horses"'
fi
e2e_done
