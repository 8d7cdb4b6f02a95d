#!/usr/bin/env bash
# e2e_cli.sh — the CLI of the real binary: help, exit codes, config layers,
# generic module calls, migrate, health.
. "$(dirname "$0")/lib.sh"
cd "$E2E_TMP"
export KEEL_DATABASE_URL="sqlite:$E2E_TMP/cli.db"
export KEEL_LOG_LEVEL=error

# run CMD...: sets OUT, ERR, RC
run() {
    set +e
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$E2E_TMP/out"); ERR=$(cat "$E2E_TMP/err")
}

run "$KEEL_BIN" --help;            expect_eq "--help exits 0" "$RC" 0; expect_contains "--help lists serve" "$OUT" "serve"
run "$KEEL_BIN";                   expect_eq "no command is a usage error" "$RC" 2
run "$KEEL_BIN" frobnicate;        expect_eq "unknown command exits 2" "$RC" 2; expect_contains "unknown command named" "$ERR" "frobnicate"
run "$KEEL_BIN" version;           expect_eq "version exits 0" "$RC" 0; expect_contains "version prints" "$OUT" "keel "
for c in serve modules call config migrate health; do
    run "$KEEL_BIN" $c --help;     expect_eq "$c --help exits 0" "$RC" 0
done
run "$KEEL_BIN" modules;           expect_eq "modules exits 0" "$RC" 0; expect_contains "modules lists echo" "$OUT" "echo"
run "$KEEL_BIN" modules --json;    expect_eq "modules --json is JSON" "$(jget "$OUT" modules.0.placement)" "local"

# Generic calls.
run "$KEEL_BIN" call echo.echo '{"a":[1,2]}'
expect_eq "call echo exits 0" "$RC" 0; expect_eq "call echo returns input" "$(jget "$OUT" a.1)" "2"
echo '{"from":"stdin"}' >in.json
run "$KEEL_BIN" call echo.echo @in.json;   expect_eq "call @file" "$(jget "$OUT" from)" "stdin"
run bash -c "\"$KEEL_BIN\" call echo.echo - <in.json"; expect_eq "call - (stdin)" "$(jget "$OUT" from)" "stdin"
run "$KEEL_BIN" call echo.echo '{"a":';    expect_eq "malformed JSON exits 3" "$RC" 3; expect_contains "malformed JSON explained" "$ERR" "invalid JSON"
run "$KEEL_BIN" call echo.echo '[1]';      expect_eq "non-object input exits 3" "$RC" 3
run "$KEEL_BIN" call echo;                 expect_eq "call without METHOD exits 2" "$RC" 2
run "$KEEL_BIN" call nope.x '{}';          expect_eq "call unknown module exits 2" "$RC" 2
run "$KEEL_BIN" call echo.nope '{}';       expect_eq "call unknown method exits 2" "$RC" 2
run "$KEEL_BIN" call echo.echo @missing.json; expect_eq "unreadable input file exits 3" "$RC" 3
run "$KEEL_BIN" echo echo --json '{"k":"v"}'; expect_eq "module method --json" "$(jget "$OUT" k)" "v"
run "$KEEL_BIN" echo --help;               expect_eq "module --help exits 0" "$RC" 0; expect_contains "module --help lists methods" "$OUT" "echo"
run "$KEEL_BIN" echo nope;                 expect_eq "module unknown method exits 2" "$RC" 2
run "$KEEL_BIN" echo echo stray;           expect_eq "stray argument exits 2" "$RC" 2

if "$KEEL_BIN" modules | grep -q '^kv '; then
    run "$KEEL_BIN" kv put --key a --value 1;  expect_eq "kv put via flags" "$RC" 0
    run "$KEEL_BIN" kv get --key a;            expect_eq "kv get via flags" "$(jget "$OUT" value)" "1"
    run "$KEEL_BIN" kv list --prefix a --limit 10; expect_eq "kv list via flags" "$(jget "$OUT" items.0.key)" "a"
    run "$KEEL_BIN" kv delete --key a;         expect_eq "kv delete via flags" "$(jget "$OUT" deleted)" "true"
    run "$KEEL_BIN" kv get --key a;            expect_eq "kv get after delete exits 1 (not found)" "$RC" 1
    run "$KEEL_BIN" kv get --key missing;      expect_eq "kv get missing exits 1 (not found)" "$RC" 1
    run "$KEEL_BIN" kv list --limit abc;       expect_eq "kv list --limit abc exits 3" "$RC" 3
    run "$KEEL_BIN" kv get --nokey a;          expect_eq "unknown option exits 3" "$RC" 3
    run "$KEEL_BIN" migrate;                   expect_eq "migrate exits 0" "$RC" 0; expect_contains "migrate reports" "$OUT" "migration"
    run "$KEEL_BIN" migrate --status;          expect_eq "migrate --status exits 0" "$RC" 0; expect_contains "migrate --status lists kv" "$OUT" "kv"
    run "$KEEL_BIN" migrate --bogus;           expect_eq "migrate --bogus exits 2" "$RC" 2
else
    echo "skip: kv module not built in (KEEL_MODULES)"
fi

# Configuration layers and errors.
echo '{"port": 9000, "threads": 3}' > cfg.json
run env KEEL_PORT=9100 "$KEEL_BIN" --config cfg.json --set threads=4 config --json
expect_eq "env beats file" "$(python3 -c 'import json,sys;print([e["value"] for e in json.load(sys.stdin) if e["key"]=="port"][0])' <<<"$OUT")" "9100"
expect_eq "flag beats file" "$(python3 -c 'import json,sys;print([e["source"] for e in json.load(sys.stdin) if e["key"]=="threads"][0])' <<<"$OUT")" "flag"
run env KEEL_DATABASE_URL=sqlite:/secret/path "$KEEL_BIN" config
expect_contains "secrets are redacted" "$OUT" "<redacted>"
case "$OUT" in *"/secret/path"*) fail "secret leaked by keel config";; *) ok "secret value not printed";; esac
run env KEEL_PORT=abc "$KEEL_BIN" config;  expect_eq "bad env value exits 2" "$RC" 2; expect_contains "bad value names key and source" "$ERR" "KEEL_PORT=abc (environment)"
echo 9300 > port.txt
run env KEEL_PORT_FILE="$E2E_TMP/port.txt" "$KEEL_BIN" config --json
expect_eq "_FILE reads the value" "$(python3 -c 'import json,sys;print([e["value"] for e in json.load(sys.stdin) if e["key"]=="port"][0])' <<<"$OUT")" "9300"
run env KEEL_PROT=1 "$KEEL_BIN" config;    expect_eq "unknown KEEL_ var is only a warning" "$RC" 0; expect_contains "unknown var warned" "$ERR" "KEEL_PROT"
run "$KEEL_BIN" --set nope=1 config;       expect_eq "unknown flag key exits 2" "$RC" 2
run "$KEEL_BIN" --config /nonexistent.json config; expect_eq "missing config file exits 2" "$RC" 2
run env KEEL_LOG_LEVEL=loud "$KEEL_BIN" config; expect_eq "bad log level exits 2" "$RC" 2
run "$KEEL_BIN" serve extra;               expect_eq "serve with stray argument exits 2" "$RC" 2

# health against nothing, then against a server.
run "$KEEL_BIN" health --port "$(free_port)"; expect_eq "health with no server exits 1" "$RC" 1
if keel_serve S KEEL_AUTH_DISABLED=1 KEEL_LOG_LEVEL=info; then
    run "$KEEL_BIN" health --port "$S";   expect_eq "health with a server exits 0" "$RC" 0
    # the port and host come from the configuration like every other key
    run env KEEL_PORT="$S" "$KEEL_BIN" health;  expect_eq "health finds the port in KEEL_PORT" "$RC" 0
    printf '{"port": %s, "health_host": "127.0.0.1"}\n' "$S" > "$E2E_TMP/health.json"
    run env -u KEEL_PORT "$KEEL_BIN" --config "$E2E_TMP/health.json" health
    expect_eq "health finds the port in the config file" "$RC" 0
    run env -u KEEL_PORT "$KEEL_BIN" --set port="$S" --set health_host=127.0.0.2 health
    expect_eq "health_host from a flag is the one probed (nothing on 127.0.0.2)" "$RC" 1
    keel_stop S
    grep -q '"level"' "$E2E_TMP/S.log" && ok "server logs are JSON lines when not a TTY" || fail "server log not JSON: $(head -c 300 "$E2E_TMP/S.log")"
fi
e2e_done
