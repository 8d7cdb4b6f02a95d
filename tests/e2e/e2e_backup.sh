#!/usr/bin/env bash
# e2e_backup.sh — `keel backup FILE` on SQLite: taken while the server keeps
# writing, restorable (a server opened on the copy reads back what was
# written before it, and SQLite's integrity check passes), mode 0600, never
# overwrites a file, refuses PostgreSQL (pg_dump) and in-memory databases.
. "$(dirname "$0")/lib.sh"

if [ "$E2E_BACKEND" = pg ]; then
    echo "skip: keel backup is for SQLite (PostgreSQL: pg_dump, docs/store.md)"
    exit 77
fi
J='Content-Type: application/json'
keel_serve S KEEL_AUTH_DISABLED=1
DB=$E2E_TMP/S/keel.db
base=http://127.0.0.1:$S/v1

# 200 keys before the backup, the values the restore must return
for i in $(seq 1 200); do
    curl -fsS -o /dev/null -X POST "$base/kv/put" -H "$J" -d "{\"key\":\"before$i\",\"value\":\"v$i-$((i * 7919 % 1000))\"}" \
        || { fail "kv put before$i"; break; }
done
# a writer that keeps going while the backup runs
( i=0; while :; do i=$((i+1))
      curl -fsS -o /dev/null -X POST "$base/kv/put" -H "$J" -d "{\"key\":\"during$i\",\"value\":\"x$i\"}" || true
  done ) &
writer=$!
E2E_PIDS+=("$writer")
sleep 0.5
out=$(cd "$E2E_TMP" && KEEL_DATABASE_URL="sqlite:$DB" "$KEEL_BIN" backup "$E2E_TMP/copy.db" 2>&1) && rc=0 || rc=$?
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null || true
expect_eq "backup while serving and writing exits 0 ($out)" "$rc" 0
expect_eq "the copy is mode 0600 (it holds hashes and tokens)" "$(stat -c %a "$E2E_TMP/copy.db" 2>/dev/null)" 600
http GET "http://127.0.0.1:$S/healthz"
expect_status "the server kept serving" 200

# SQLite's own check of the copy, and its rows (python's sqlite3, not keel)
chk=$(python3 - "$E2E_TMP/copy.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
ok = c.execute("PRAGMA integrity_check").fetchone()[0]
t = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'kv%items'")][0]
before = c.execute(f"SELECT count(*) FROM {t} WHERE key LIKE 'before%'").fetchone()[0]
during = c.execute(f"SELECT count(*) FROM {t} WHERE key LIKE 'during%'").fetchone()[0]
# a snapshot: the "during" keys it holds are a prefix 1..n, no holes
ids = sorted(int(r[0][6:]) for r in c.execute(f"SELECT key FROM {t} WHERE key LIKE 'during%'"))
print(ok, before, "prefix" if ids == list(range(1, len(ids) + 1)) else f"holes:{ids[:5]}", during)
PY
)
set -- $chk
expect_eq "integrity_check of the copy" "$1" ok
expect_eq "the copy holds the 200 keys written before it" "$2" 200
expect_eq "the copy is a snapshot (writes during it form a prefix)" "$3" prefix
echo "     the copy caught $4 of the writes made during the backup"

# restore: a server on the copy reads back the values
keel_serve R KEEL_AUTH_DISABLED=1 KEEL_DATABASE_URL="sqlite:$E2E_TMP/copy.db"
good=0
for i in 1 57 123 200; do
    http POST "http://127.0.0.1:$R/v1/kv/get" -H "$J" -d "{\"key\":\"before$i\"}"
    [ "$(jget "$HTTP_BODY" value)" = "v$i-$((i * 7919 % 1000))" ] && good=$((good+1))
done
expect_eq "restored server reads back the values written before the backup" "$good" 4
keel_stop R

# never overwrites
sum=$(sha256sum "$E2E_TMP/copy.db" | cut -d' ' -f1)
out=$(cd "$E2E_TMP" && KEEL_DATABASE_URL="sqlite:$DB" "$KEEL_BIN" backup "$E2E_TMP/copy.db" 2>&1) && rc=0 || rc=$?
[ "$rc" -ne 0 ] && ok "a second backup to the same file fails (exit $rc)" || fail "backup overwrote an existing file"
expect_contains "it says why" "$out" "refusing to overwrite"
expect_eq "the existing file is untouched" "$(sha256sum "$E2E_TMP/copy.db" | cut -d' ' -f1)" "$sum"
: >"$E2E_TMP/empty.db"
out=$(cd "$E2E_TMP" && KEEL_DATABASE_URL="sqlite:$DB" "$KEEL_BIN" backup "$E2E_TMP/empty.db" 2>&1) && rc=0 || rc=$?
[ "$rc" -ne 0 ] && ok "an existing empty file is not overwritten either" || fail "backup wrote into an existing empty file"

# what it refuses
out=$(cd "$E2E_TMP" && KEEL_DATABASE_URL="postgres://keel@127.0.0.1:1/keel" "$KEEL_BIN" backup "$E2E_TMP/pg.db" 2>&1) && rc=0 || rc=$?
[ "$rc" -ne 0 ] && ok "backup of a PostgreSQL URL is refused (exit $rc)" || fail "backup accepted a postgres URL"
expect_contains "it points at pg_dump" "$out" "pg_dump"
[ ! -e "$E2E_TMP/pg.db" ] && ok "no file left behind" || fail "a refused backup left $E2E_TMP/pg.db"
out=$(cd "$E2E_TMP" && KEEL_DATABASE_URL="sqlite:$E2E_TMP/nothere.db" "$KEEL_BIN" backup "$E2E_TMP/n.db" 2>&1) && rc=0 || rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$E2E_TMP/nothere.db" ] && [ ! -e "$E2E_TMP/n.db" ] \
    && ok "a missing database is an error, creates nothing (exit $rc)" \
    || fail "missing database: rc=$rc, $(ls "$E2E_TMP" | tr '\n' ' ')"
out=$(cd "$E2E_TMP" && "$KEEL_BIN" backup 2>&1) && rc=0 || rc=$?
expect_eq "no FILE: usage error" "$rc" 2

e2e_done
