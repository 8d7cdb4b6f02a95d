/*
 * test_store_sqlite.c — the SQLite backend: $N parameters, types, error
 * mapping, single statements, the namespace authorizer, URLs, the cache,
 * the dispatcher's queue access and the process-wide write gate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "fakes/tmpdir.h"

static char tmpdir[64];
static char dbpath[128];
static char err[512];

static int setup(void **state)
{
    (void)state;
    return keel_test_tmppath(tmpdir, sizeof tmpdir, dbpath, sizeof dbpath, "store", "%s/sub/dir/keel.db");
}

static int teardown(void **state)
{
    (void)state;
    return keel_test_rmtree(tmpdir);
}

static keel_store *open_ns(const char *ns)
{
    keel_store *st = NULL;
    int rc = keel__store_open_url(dbpath, ns, &st, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %s", ns ? ns : "(core)", err);
    return st;
}

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    return v;
}

static int exec_j(keel_store *st, const char *sql, const char *params, json_t **rows)
{
    json_t *p = params ? J(params) : NULL;
    int rc = keel_store_exec(st, sql, p, rows);
    json_decref(p);
    return rc;
}

static void test_open_creates_dirs_and_pragmas(void **state)
{
    keel_store *st = open_ns("t");
    json_t *row = NULL;
    struct stat sb;
    char dir[128];
    (void)state;

    snprintf(dir, sizeof dir, "%s/sub/dir", tmpdir);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0750);
    assert_string_equal(keel_store_backend_name(st), "sqlite");
    assert_string_equal(keel_store_errmsg(st), "");
    assert_int_equal(keel_store_one(st, "PRAGMA journal_mode", NULL, &row), 0);
    assert_string_equal(json_string_value(json_object_get(row, "journal_mode")), "wal");
    json_decref(row);
    assert_int_equal(keel_store_one(st, "PRAGMA foreign_keys", NULL, &row), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "foreign_keys")), 1);
    json_decref(row);
    /* FULL by default: in WAL mode NORMAL may lose the last commits on power loss */
    assert_int_equal(keel_store_one(st, "PRAGMA synchronous", NULL, &row), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "synchronous")), 2); /* FULL */
    json_decref(row);
    keel_store_close(st);
}

/* store_sync / store_busy_ms / store_cache reach the connection; a module
 * still cannot change the level itself. */
static void test_configure(void **state)
{
    keel_store *st = open_ns("t");
    keel_store_opts normal = {.sync = "normal"}, bad = {.sync = "fast"}, dflt = {0};
    json_t *row = NULL;
    (void)state;

    assert_int_equal(keel__store_configure(st, &normal, err, sizeof err), 0);
    assert_int_equal(keel_store_one(st, "PRAGMA synchronous", NULL, &row), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "synchronous")), 1);
    json_decref(row);
    assert_int_equal(keel__store_configure(st, &bad, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "fast"));
    assert_int_equal(keel__store_configure(st, &dflt, err, sizeof err), 0);
    assert_int_equal(keel_store_one(st, "PRAGMA synchronous", NULL, &row), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "synchronous")), 2);
    json_decref(row);
    assert_int_equal(exec_j(st, "PRAGMA synchronous = OFF", NULL, NULL), KEEL_EDENIED);
    /* the authorizer is back on after configure */
    assert_int_equal(exec_j(st, "PRAGMA writable_schema = 1", NULL, NULL), KEEL_EDENIED);
    keel_store_close(st);
}

static void test_params_and_types(void **state)
{
    keel_store *st = open_ns("t");
    json_t *rows = NULL, *r;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_types (i INTEGER, r REAL, s TEXT, b INTEGER, "
                            "f INTEGER, n TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "INSERT INTO t_types VALUES ($1, $2, $3, $4, $5, $6)",
                            "[9007199254740993, 2.5, \"h\\u00e9llo\", true, false, null]", NULL), 0);
    /* $N reused and out of order */
    assert_int_equal(exec_j(st, "INSERT INTO t_types (i, s) VALUES ($2, $1)", "[\"x\", 7]", NULL), 0);
    assert_int_equal(exec_j(st, "SELECT * FROM t_types WHERE i = $1 OR i = $1 + 0",
                            "[9007199254740993]", &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    r = json_array_get(rows, 0);
    assert_true(json_is_integer(json_object_get(r, "i")));
    assert_true(json_integer_value(json_object_get(r, "i")) == 9007199254740993LL);
    assert_true(json_is_real(json_object_get(r, "r")));
    assert_true(json_real_value(json_object_get(r, "r")) == 2.5);
    assert_string_equal(json_string_value(json_object_get(r, "s")), "h\xc3\xa9llo");
    assert_int_equal(json_integer_value(json_object_get(r, "b")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "f")), 0);
    assert_true(json_is_null(json_object_get(r, "n")));
    json_decref(rows);
    assert_int_equal(exec_j(st, "SELECT i, s FROM t_types WHERE s = $1", "[\"x\"]", &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "i")), 7);
    json_decref(rows);
    keel_store_close(st);
}

/* decode($1, 'base64') stores bytes, as PostgreSQL's decode() does; the
 * RFC 4648 §10 vectors: "Zm9vYg==" is "foob", "Zm9vYmFy" is "foobar". */
static void test_decode_base64(void **state)
{
    keel_store *st = open_ns("t");
    json_t *rows = NULL, *r;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_bytes (b BLOB)", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "INSERT INTO t_bytes VALUES (decode($1, 'base64')), "
                            "(decode($2, 'base64')), (decode($3, 'base64')), ($1)",
                            "[\"Zm9vYg==\", \"Zm9vYmFy\", null]", NULL), 0);
    assert_int_equal(exec_j(st, "SELECT typeof(b) AS t, length(b) AS n, b FROM t_bytes "
                            "ORDER BY rowid", NULL, &rows), 0);
    r = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(r, "t")), "blob");
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 4);
    assert_string_equal(json_string_value(json_object_get(r, "b")), "Zm9vYg==");
    r = json_array_get(rows, 1);
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 6);
    assert_string_equal(json_string_value(json_object_get(r, "b")), "Zm9vYmFy");
    assert_true(json_is_null(json_object_get(json_array_get(rows, 2), "b")));
    /* without decode() the base64 text is stored: it reads back the same */
    r = json_array_get(rows, 3);
    assert_string_equal(json_string_value(json_object_get(r, "t")), "text");
    assert_string_equal(json_string_value(json_object_get(r, "b")), "Zm9vYg==");
    json_decref(rows);
    assert_int_equal(exec_j(st, "SELECT decode($1, 'base64') AS b", "[\"not base64!\"]", NULL),
                     KEEL_ESTORE);
    assert_int_equal(exec_j(st, "SELECT decode($1, 'hex') AS b", "[\"00\"]", NULL), KEEL_ESTORE);
    keel_store_close(st);
}

static void test_bad_params(void **state)
{
    keel_store *st = open_ns("t");
    json_t *rows = (json_t *)1;
    (void)state;

    assert_int_equal(exec_j(st, "SELECT $1 AS a", "[{\"x\":1}]", &rows), KEEL_EINVAL);
    assert_null(rows);
    assert_non_null(strstr(keel_store_errmsg(st), "$1"));
    assert_int_equal(exec_j(st, "SELECT $1 AS a", "[[1]]", NULL), KEEL_EINVAL);
    assert_int_equal(exec_j(st, "SELECT $1 AS a", "[]", NULL), KEEL_EINVAL);
    assert_non_null(strstr(keel_store_errmsg(st), "1 parameter"));
    assert_int_equal(exec_j(st, "SELECT $1 AS a", "[1, 2]", NULL), KEEL_EINVAL);
    assert_int_equal(exec_j(st, "SELECT $1 AS a", "{\"a\":1}", NULL), KEEL_EINVAL);
    assert_int_equal(exec_j(st, "SELECT 1 AS a", "[1]", NULL), KEEL_EINVAL);
    assert_int_equal(exec_j(st, "", NULL, NULL), KEEL_EINVAL);
    keel_store_close(st);
}

static void test_rewrite_skips_literals(void **state)
{
    keel_store *st = open_ns("t");
    json_t *rows = NULL, *r;
    (void)state;

    assert_int_equal(exec_j(st, "SELECT '$1 it''s $2' AS s, \"$1\" AS \"q$2\", $1 AS p "
                            "/* $3 */ -- $4\n", "[\"v\"]", &rows), 0);
    r = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(r, "s")), "$1 it's $2");
    /* "$1" is an identifier that SQLite falls back to reading as a string */
    assert_string_equal(json_string_value(json_object_get(r, "q$2")), "$1");
    assert_string_equal(json_string_value(json_object_get(r, "p")), "v");
    json_decref(rows);
    /* '$' inside an identifier is not a parameter */
    assert_int_equal(exec_j(st, "SELECT $1 AS a$1, $2 AS b_$2x", "[1, 2]", &rows), 0);
    r = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "a$1")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "b_$2x")), 2);
    json_decref(rows);
    keel_store_close(st);
}

/* Runs inside a transaction of another handle on the same file. */
static int insert_on_other(keel_store *st, void *arg)
{
    keel_store *other = arg;
    assert_int_equal(keel_store_exec(st, "INSERT INTO t_u (k) VALUES ('held')", NULL, NULL), 0);
    assert_int_equal(exec_j(other, "INSERT INTO t_u (k) VALUES ('c')", NULL, NULL), KEEL_EUNAVAIL);
    assert_non_null(strstr(keel_store_errmsg(other), "locked"));
    return KEEL_EINVAL;   /* roll back */
}

static void test_error_mapping(void **state)
{
    keel_store *st = open_ns("t");
    keel_store *other = NULL;
    json_t *rows = NULL;
    (void)state;

    /* a BLOB reads as base64 text (RFC 4648: 00 → "AA==", "keel" → "a2VlbA==") */
    assert_int_equal(exec_j(st, "SELECT x'00' AS b, x'6b65656c' AS k, x'' AS e", NULL, &rows), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "b")), "AA==");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "k")), "a2VlbA==");
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "e")), "");
    json_decref(rows);
    rows = NULL;
    assert_int_equal(exec_j(st, "CREATE TABLE t_u (k TEXT PRIMARY KEY, p INTEGER "
                            "REFERENCES t_u(k))", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "INSERT INTO t_u (k) VALUES ($1)", "[\"a\"]", NULL), 0);
    assert_int_equal(exec_j(st, "INSERT INTO t_u (k) VALUES ($1)", "[\"a\"]", NULL), KEEL_ECONFLICT);
    assert_non_null(strstr(keel_store_errmsg(st), "UNIQUE"));
    /* foreign keys are on */
    assert_int_equal(exec_j(st, "INSERT INTO t_u (k, p) VALUES ('b', 'zz')", NULL, NULL),
                     KEEL_ECONFLICT);
    assert_int_equal(exec_j(st, "SELEC 1", NULL, NULL), KEEL_ESTORE);
    assert_non_null(strstr(keel_store_errmsg(st), "syntax error"));
    assert_int_equal(exec_j(st, "SELECT * FROM t_missing", NULL, NULL), KEEL_ESTORE);
    /* several statements are for migrations only */
    assert_int_equal(exec_j(st, "SELECT 1; SELECT 2", NULL, NULL), KEEL_EINVAL);
    assert_non_null(strstr(keel_store_errmsg(st), "several statements"));
    assert_int_equal(exec_j(st, "SELECT 1 AS a; -- trailing\n ; /* c */", NULL, NULL), 0);

    /* transactions only through keel_store_tx */
    assert_int_equal(exec_j(st, "BEGIN", NULL, NULL), KEEL_EDENIED);
    assert_non_null(strstr(keel_store_errmsg(st), "keel_store_tx"));
    assert_int_equal(exec_j(st, "SAVEPOINT s1", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(st, "COMMIT", NULL, NULL), KEEL_EDENIED);

    /* busy: another connection holds the write lock (short busy timeout) */
    other = open_ns("t");
    {
        keel_store_opts o = {.busy_ms = 50};
        assert_int_equal(keel__store_configure(other, &o, err, sizeof err), 0);
    }
    assert_int_equal(keel_store_tx(st, insert_on_other, other), KEEL_EINVAL);
    assert_int_equal(exec_j(other, "INSERT INTO t_u (k) VALUES ('c')", NULL, NULL), 0);
    keel_store_close(other);
    keel_store_close(st);
}

/* Every way kv could reach auth's table is refused with a message naming it. */
static void test_namespace_denied(void **state)
{
    static const char *const attempts[] = {
        "SELECT * FROM auth_users",
        "SELECT count(*) AS n FROM auth_users",
        "SELECT * FROM AUTH_USERS",
        "SELECT * FROM main.auth_users",
        "INSERT INTO auth_users (email) VALUES ('x')",
        "UPDATE auth_users SET email = 'y'",
        "DELETE FROM auth_users",
        "DROP TABLE auth_users",
        "ALTER TABLE auth_users ADD COLUMN z TEXT",
        "CREATE INDEX kv_steal ON auth_users (email)",
        "CREATE TABLE auth_more (x INTEGER)",
        "SELECT k.key FROM kv_items k JOIN auth_users a ON a.email = k.key",
        "SELECT (SELECT email FROM auth_users LIMIT 1) AS e",
        "SELECT * FROM pragma_table_info('auth_users')",
        "WITH x AS (SELECT * FROM auth_users) SELECT * FROM x",
        NULL
    };
    keel_store *kv = open_ns("kv"), *auth = open_ns("auth"), *core = open_ns(NULL);
    json_t *rows = NULL;
    int i;
    (void)state;

    assert_int_equal(exec_j(auth, "CREATE TABLE auth_users (email TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "INSERT INTO auth_users VALUES ('a@b')", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_items (key TEXT PRIMARY KEY)", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "CREATE TABLE KV_Mixed (x INTEGER)", NULL, NULL), 0);
    for (i = 0; attempts[i] != NULL; i++) {
        int rc = exec_j(kv, attempts[i], NULL, &rows);
        if (rc != KEEL_EDENIED)
            fail_msg("%s: got %d (%s)", attempts[i], rc, keel_store_errmsg(kv));
        assert_null(rows);
        assert_non_null(strstr(keel_store_errmsg(kv), "module 'kv' may not"));
        assert_non_null(strstr(keel_store_errmsg(kv), "auth_"));
    }
    assert_int_equal(exec_j(kv, "SELECT * FROM auth_users", NULL, NULL), KEEL_EDENIED);
    assert_string_equal(keel_store_errmsg(kv), "module 'kv' may not access table 'auth_users'");

    /* views and triggers cannot launder access */
    if (exec_j(kv, "CREATE VIEW kv_v AS SELECT * FROM auth_users", NULL, NULL) == 0)
        assert_int_equal(exec_j(kv, "SELECT * FROM kv_v", NULL, NULL), KEEL_EDENIED);
    if (exec_j(kv, "CREATE TRIGGER kv_t AFTER INSERT ON kv_items BEGIN "
               "DELETE FROM auth_users; END", NULL, NULL) == 0)
        assert_int_equal(exec_j(kv, "INSERT INTO kv_items VALUES ('k')", NULL, NULL), KEEL_EDENIED);

    /* schema, attach, pragmas */
    assert_int_equal(exec_j(kv, "SELECT name FROM sqlite_master", NULL, NULL), KEEL_EDENIED);
    assert_string_equal(keel_store_errmsg(kv), "module 'kv' may not access table 'sqlite_master'");
    assert_int_equal(exec_j(kv, "SELECT name FROM \"SQLITE_SCHEMA\"", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_copy AS SELECT sql FROM sqlite_schema", NULL, NULL),
                     KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "SELECT * FROM sqlite_sequence", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "SELECT * FROM dbstat", NULL, NULL), KEEL_EDENIED);
    /* harmless look-alikes pass: a literal, a function, json_each, AUTOINCREMENT */
    assert_int_equal(exec_j(kv, "SELECT 'sqlite_master' AS s, sqlite_version() AS v", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "SELECT value FROM json_each('[1,2]')", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    json_decref(rows);
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_auto (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                            "v TEXT UNIQUE)", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "INSERT INTO kv_auto (v) VALUES ('a') RETURNING id", NULL, &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), 1);
    json_decref(rows);
    assert_int_equal(exec_j(kv, "ALTER TABLE kv_auto RENAME TO kv_auto2", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ALTER TABLE kv_auto2 ADD COLUMN w TEXT", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ANALYZE kv_auto2", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "DROP TABLE kv_auto2", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ATTACH DATABASE ':memory:' AS x", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "PRAGMA writable_schema = 1", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "PRAGMA foreign_keys = OFF", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "PRAGMA table_info(auth_users)", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "PRAGMA table_info(kv_items)", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    /* the migrations table belongs to the core */
    assert_int_equal(exec_j(core, "CREATE TABLE keel_migrations (module TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "SELECT * FROM keel_migrations", NULL, NULL), KEEL_EDENIED);
    keel__store_set_privileged(kv, 1);
    assert_int_equal(exec_j(kv, "SELECT * FROM keel_migrations", NULL, NULL), 0);
    keel__store_set_privileged(kv, 0);
    assert_int_equal(exec_j(kv, "SELECT * FROM keel_migrations", NULL, NULL), KEEL_EDENIED);

    /* its own tables still work; the core is confined to keel_* */
    assert_int_equal(exec_j(kv, "INSERT INTO kv_mixed VALUES (1)", NULL, NULL), 0);
    assert_int_equal(exec_j(core, "SELECT * FROM kv_items", NULL, NULL), KEEL_EDENIED);
    assert_string_equal(keel_store_errmsg(core), "the core may not access table 'kv_items'");
    /* auth's data is untouched */
    assert_int_equal(exec_j(auth, "SELECT * FROM auth_users", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    keel_store_close(kv);
    keel_store_close(auth);
    keel_store_close(core);
}

/* Holes found in review: a rename whose target is another namespace, the
 * schema table named as a string literal (SQLite reads 'x' as a table name
 * in FROM), writes to SQLite's bookkeeping tables, and schema reads smuggled
 * through CREATE … AS SELECT, views and triggers.  Migrations may read the
 * schema; nothing else may. */
static void test_namespace_holes(void **state)
{
    static const char *const attempts[] = {
        /* first: a table-valued pragma's first use makes SQLite write the schema */
        "SELECT p.name, m.sql FROM pragma_table_info('kv_x') p, 'sqlite_master' m",
        "ALTER TABLE kv_x RENAME TO auth_tokens",
        "ALTER TABLE kv_x RENAME TO 'auth_tokens'",
        "ALTER TABLE \"kv_x\" RENAME /* c */ TO [auth_tokens]",
        "ALTER TABLE main.kv_x RENAME TO `keel_migrations`",
        "SELECT name, sql FROM 'sqlite_master'",
        "SELECT sql FROM 'SQLITE_SCHEMA'",
        "SELECT sql FROM main.'sqlite_master'",
        "SELECT * FROM 'sqlite_temp_master'",
        "SELECT * FROM 'sqlite_sequence'",
        "DELETE FROM 'sqlite_sequence'",
        "UPDATE 'sqlite_sequence' SET seq = 0",
        "SELECT * FROM 'sqlite_stat1'",
        "CREATE TABLE kv_copy AS SELECT sql FROM 'sqlite_schema'",
        "INSERT INTO kv_x (v) SELECT sql FROM 'sqlite_master'",
        NULL
    };
    keel_store *kv = open_ns("kv"), *auth = open_ns("auth");
    json_t *rows = NULL;
    int i;
    (void)state;

    assert_int_equal(exec_j(auth, "CREATE TABLE auth_users (email TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "CREATE TABLE auth_seq (id INTEGER PRIMARY KEY AUTOINCREMENT)",
                            NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "INSERT INTO auth_seq DEFAULT VALUES", NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "CREATE INDEX auth_users_email ON auth_users (email)", NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "ANALYZE auth_users", NULL, NULL), 0);   /* sqlite_stat1 */
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_x (v TEXT)", NULL, NULL), 0);
    for (i = 0; attempts[i] != NULL; i++) {
        int rc = exec_j(kv, attempts[i], NULL, &rows);
        if (rc != KEEL_EDENIED)
            fail_msg("%s: got %d (%s)", attempts[i], rc, keel_store_errmsg(kv));
        assert_null(rows);
        assert_non_null(strstr(keel_store_errmsg(kv), "module 'kv' may not"));
    }
    /* nothing was renamed away, auth's sequence is intact */
    assert_int_equal(exec_j(kv, "INSERT INTO kv_x VALUES ('still here')", NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "INSERT INTO auth_seq DEFAULT VALUES RETURNING id", NULL, &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), 2);
    json_decref(rows);

    /* views and triggers store their SELECT unchecked; using them is checked */
    assert_int_equal(exec_j(kv, "CREATE VIEW kv_v AS SELECT sql FROM 'sqlite_master'", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "SELECT * FROM kv_v", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_log (s TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "CREATE TRIGGER kv_t AFTER INSERT ON kv_x BEGIN "
                            "INSERT INTO kv_log SELECT sql FROM 'sqlite_master'; END", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "INSERT INTO kv_x VALUES ('fires')", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(kv, "DROP TRIGGER kv_t", NULL, NULL), 0);

    /* the engine's own schema work still passes: every DDL form */
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_a (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                            "u TEXT UNIQUE)", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "INSERT INTO kv_a (u) VALUES ('a')", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_c AS SELECT v FROM kv_x", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "CREATE INDEX kv_a_i ON kv_a (u, id)", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ALTER TABLE kv_a RENAME TO kv_b", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ALTER TABLE kv_b RENAME COLUMN u TO w", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ALTER TABLE kv_b RENAME \"to\" TO z", NULL, NULL), KEEL_ESTORE);
    assert_int_equal(exec_j(kv, "ALTER TABLE kv_b ADD COLUMN x TEXT", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "ANALYZE kv_b", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "REINDEX kv_b", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "DROP INDEX kv_a_i", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "DROP VIEW kv_v", NULL, NULL), 0);
    assert_int_equal(exec_j(kv, "DROP TABLE kv_b", NULL, NULL), 0);

    /* migrations (privileged) may look at the schema */
    keel__store_set_privileged(kv, 1);
    assert_int_equal(exec_j(kv, "SELECT name FROM sqlite_master WHERE name = 'kv_x'", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    keel__store_set_privileged(kv, 0);
    assert_int_equal(exec_j(kv, "SELECT name FROM sqlite_master WHERE name = 'kv_x'", NULL, NULL),
                     KEEL_EDENIED);
    keel_store_close(kv);
    keel_store_close(auth);
}

static void test_urls(void **state)
{
    keel_store *st = (keel_store *)1;
    char url[160];
    (void)state;

    snprintf(url, sizeof url, "sqlite:%s", dbpath);
    assert_int_equal(keel__store_open_url(url, "t", &st, err, sizeof err), 0);
    keel_store_close(st);
    /* postgres: a server that is not there is unavailable (503), a URL libpq
     * cannot parse is a configuration error */
    assert_int_equal(keel__store_open_url("postgres://u@127.0.0.1:1/db?connect_timeout=2", "t",
                                          &st, err, sizeof err), KEEL_EUNAVAIL);
    assert_null(st);
    assert_non_null(strstr(err, "cannot connect to postgres"));
    assert_int_equal(keel__store_open_url("postgresql://h/db?no_such_option=1", "t", &st, err,
                                          sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "invalid postgres url"));
    assert_int_equal(keel__store_open_url("mysql://h/db", "t", &st, err, sizeof err),
                     KEEL_ECONFIG);
    assert_non_null(strstr(err, "mysql"));
    assert_int_equal(keel__store_open_url("", "t", &st, err, sizeof err), KEEL_ECONFIG);
    assert_int_equal(keel__store_open_url("sqlite:", "t", &st, err, sizeof err), KEEL_ECONFIG);
    assert_int_equal(keel__store_open_url(dbpath, "Bad-Name", &st, err, sizeof err), KEEL_ECONFIG);
    assert_int_equal(keel__store_open_url(dbpath, "keel", &st, err, sizeof err), KEEL_ECONFIG);
    assert_int_equal(keel__store_open_url("/proc/nope/x.db", "t", &st, err, sizeof err) < 0, 1);
    assert_null(st);
    assert_int_equal(keel_store_open(NULL, dbpath, "t", &st, err, sizeof err), KEEL_EINVAL);
}

static void test_cache_survives_schema_change(void **state)
{
    keel_store *st = open_ns("t");
    json_t *rows = NULL;
    char sql[64];
    int i;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_c (a INTEGER)", NULL, NULL), 0);
    for (i = 0; i < 50; i++) {
        json_t *p = json_pack("[i]", i);
        assert_int_equal(keel_store_exec(st, "INSERT INTO t_c (a) VALUES ($1)", p, NULL), 0);
        json_decref(p);
    }
    /* more distinct statements than cache slots: eviction keeps results right */
    for (i = 0; i < 40; i++) {
        json_t *row = NULL;
        snprintf(sql, sizeof sql, "SELECT count(*) AS n FROM t_c WHERE a >= %d", i);
        assert_int_equal(keel_store_one(st, sql, NULL, &row), 0);
        assert_int_equal(json_integer_value(json_object_get(row, "n")), 50 - i);
        json_decref(row);
    }
    assert_int_equal(exec_j(st, "SELECT * FROM t_c WHERE a = $1", "[3]", &rows), 0);
    json_decref(rows);
    assert_int_equal(exec_j(st, "ALTER TABLE t_c ADD COLUMN b TEXT", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "SELECT * FROM t_c WHERE a = $1", "[3]", &rows), 0);
    assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "b")));
    json_decref(rows);
    /* a cached statement does not keep the table locked */
    assert_int_equal(exec_j(st, "DROP TABLE t_c", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "SELECT * FROM t_c WHERE a = $1", "[3]", NULL), KEEL_ESTORE);
    keel_store_close(st);
}

static double bench_ns(const char *cache)
{
    keel_store *st;
    struct timespec a, b;
    json_t *p = json_pack("[i]", 5), *rows = NULL;
    int i, n = 20000;

    keel_store_opts o = {.no_cache = strcmp(cache, "0") == 0};

    st = open_ns("t");
    assert_int_equal(keel__store_configure(st, &o, err, sizeof err), 0);
    assert_int_equal(exec_j(st, "CREATE TABLE IF NOT EXISTS t_b (k INTEGER PRIMARY KEY, v TEXT)",
                            NULL, NULL), 0);
    assert_int_equal(exec_j(st, "INSERT OR REPLACE INTO t_b VALUES (5, 'five')", NULL, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++) {
        assert_int_equal(keel_store_exec(st, "SELECT k, v FROM t_b WHERE k = $1", p, &rows), 0);
        json_decref(rows);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    json_decref(p);
    keel_store_close(st);
    return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
}

/* Not an assertion on speed (shared machine): prints the measurement. */
static void test_cache_measure(void **state)
{
    double on, off;
    (void)state;
    off = bench_ns("0");
    on = bench_ns("1");
    print_message("point select by key, 20000 runs: cache on %.0f ns/op, off %.0f ns/op\n", on, off);
    assert_true(on > 0 && off > 0);
}

/* Queue access (the dispatcher's one-transaction rounds): granted on a
 * transaction handle for the statements run meanwhile, never cached, so the
 * module's same text afterwards is refused again; other modules' tables
 * stay refused even while it is on. */
static const char *const q_sql = "SELECT count(*) AS n FROM auth_outbox";

static int queue_tx(keel_store *tx, void *arg)
{
    json_t *rows = NULL;
    (void)arg;
    assert_int_equal(exec_j(tx, q_sql, NULL, NULL), KEEL_EDENIED);
    assert_int_equal(keel__store_tx_queue(tx, 1), 0);
    assert_int_equal(exec_j(tx, q_sql, NULL, &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "n")), 1);
    json_decref(rows);
    assert_int_equal(exec_j(tx, "INSERT INTO keel_dead_letters (x) VALUES (1)", NULL, NULL), 0);
    assert_int_equal(exec_j(tx, "SELECT * FROM auth_users", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(keel__store_tx_queue(tx, 0), 0);
    assert_int_equal(exec_j(tx, q_sql, NULL, NULL), KEEL_EDENIED);
    return 0;
}

static void test_queue_access_scoped(void **state)
{
    keel_store *kv = open_ns("kv"), *auth = open_ns("auth"), *core = open_ns(NULL);
    (void)state;

    assert_int_equal(exec_j(auth, "CREATE TABLE auth_users (email TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(core, "CREATE TABLE auth_outbox (x INTEGER)", NULL, NULL), 0);
    assert_int_equal(exec_j(core, "INSERT INTO auth_outbox VALUES (1)", NULL, NULL), 0);
    assert_int_equal(exec_j(core, "CREATE TABLE keel_dead_letters (x INTEGER)", NULL, NULL), 0);
    assert_int_equal(keel__store_tx_queue(kv, 1), KEEL_EINVAL);   /* not a transaction */
    assert_int_equal(keel_store_tx(kv, queue_tx, NULL), 0);
    assert_int_equal(exec_j(kv, q_sql, NULL, NULL), KEEL_EDENIED);
    keel_store_close(kv);
    keel_store_close(auth);
    keel_store_close(core);
}

/* The write gate: a thread in a write transaction that opens another on a
 * second connection to the same file is not deadlocked by the gate; it
 * meets SQLite's lock and gets KEEL_EUNAVAIL after the busy timeout. */
static int inner_write(keel_store *tx, void *arg)
{
    (void)arg;
    return exec_j(tx, "INSERT INTO auth_users VALUES ('inner')", NULL, NULL);
}

static int outer_write(keel_store *tx, void *arg)
{
    keel_store *auth = arg;
    struct timespec t0, t1;
    int rc;

    assert_int_equal(exec_j(tx, "INSERT INTO kv_items VALUES ('outer')", NULL, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = keel_store_tx(auth, inner_write, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(rc, KEEL_EUNAVAIL);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 5000);
    return 0;
}

static void test_write_gate_nested(void **state)
{
    keel_store *kv = open_ns("kv"), *auth = open_ns("auth");
    keel_store_opts quick = {.busy_ms = 100};
    json_t *row = NULL;
    (void)state;

    assert_int_equal(keel__store_configure(auth, &quick, err, sizeof err), 0);
    assert_int_equal(exec_j(kv, "CREATE TABLE kv_items (key TEXT)", NULL, NULL), 0);
    assert_int_equal(exec_j(auth, "CREATE TABLE auth_users (email TEXT)", NULL, NULL), 0);
    assert_int_equal(keel_store_tx(kv, outer_write, auth), 0);
    assert_int_equal(keel_store_one(kv, "SELECT count(*) AS n FROM kv_items", NULL, &row), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 1);
    json_decref(row);
    /* the gate was left: the other connection writes now */
    assert_int_equal(keel_store_tx(auth, inner_write, NULL), 0);
    keel_store_close(kv);
    keel_store_close(auth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_dirs_and_pragmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_params_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_base64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_skips_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_holes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_survives_schema_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_measure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_access_scoped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_gate_nested, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
