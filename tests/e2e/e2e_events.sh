#!/usr/bin/env bash
# e2e_events.sh — `keel jobs` through the CLI and HTTP of the real binary.
# The delivery machinery itself (retries, ordering, dead letters, crash
# recovery) is tested in test_events and test_events_crash with modules made
# for the test; this checks the operator's doors and their errors.
. "$(dirname "$0")/lib.sh"
cd "$E2E_TMP"
export KEEL_DATABASE_URL="sqlite:$E2E_TMP/events.db"
export KEEL_LOG_LEVEL=error

run() {
    set +e
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$E2E_TMP/out"); ERR=$(cat "$E2E_TMP/err")
}

if ! "$KEEL_BIN" modules | grep -q '^jobs '; then
    echo "skip: the jobs module is not built in (KEEL_MODULES)"; e2e_done; exit 0
fi
run "$KEEL_BIN" jobs --help;                 expect_eq "jobs --help exits 0" "$RC" 0
expect_contains "jobs --help lists retry" "$OUT" "retry"
run "$KEEL_BIN" jobs list
if [ "$RC" = 0 ]; then
    expect_eq "jobs list: no dead letters" "$(jget "$OUT" dead)" "[]"
    run "$KEEL_BIN" jobs show --id 424242;   expect_eq "jobs show of a missing dead letter exits 1" "$RC" 1
    expect_contains "jobs show says what is missing" "$ERR" "424242"
    run "$KEEL_BIN" jobs retry --id 424242;  expect_eq "jobs retry of a missing id exits 1" "$RC" 1
    run "$KEEL_BIN" jobs purge --all true;   expect_eq "jobs purge --all on nothing" "$(jget "$OUT" purged)" "0"
else
    # no built-in module emits or subscribes: every jobs method says so
    expect_eq "jobs list without event modules exits 4" "$RC" 4
    expect_contains "jobs list explains" "$ERR" "no module emits"
    run "$KEEL_BIN" jobs show --id 1;        expect_eq "jobs show exits 4" "$RC" 4
    run "$KEEL_BIN" jobs retry --id 1;       expect_eq "jobs retry exits 4" "$RC" 4
    run "$KEEL_BIN" jobs purge --id 1;       expect_eq "jobs purge exits 4" "$RC" 4
fi
run "$KEEL_BIN" jobs retry;                  expect_eq "jobs retry needs id or all" "$RC" 3
run "$KEEL_BIN" jobs retry --id 0;           expect_eq "jobs retry --id 0 is invalid" "$RC" 3
run "$KEEL_BIN" jobs list --state nope;      expect_eq "jobs list --state nope is invalid" "$RC" 3

# HTTP: admin only
keel_serve S KEEL_AUTH_DISABLED=0
http POST "http://127.0.0.1:$S/v1/jobs/list" -H 'Content-Type: application/json' -d '{}'
expect_status "jobs.list without a token" 401
http GET "http://127.0.0.1:$S/v1/modules"
expect_contains "/v1/modules lists jobs" "$HTTP_BODY" '"name":"jobs"'
keel_stop S
e2e_done
