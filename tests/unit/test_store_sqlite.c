/*
 * test_store_sqlite.c — the SQLite backend: $N parameters, types, error
 * mapping, single statements, URLs, the cache and the process-wide write
 * gate.  The namespace authorizer is test_store_sqlite_guard.c.
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

#include "store_sqlite_fixture.h"

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

/* Savepoints are prepared once per connection and level (store_sqlite.c,
 * c->sp) up to level 4; deeper ones are prepared each time.  Level d
 * inserts d, nests d + 1 (up to 6), and levels 3 and 6 then fail: a failed
 * savepoint undoes itself and everything nested in it, at a cached level
 * (3 is savepoint level 2) and past the cache (6 is level 5), whether the
 * statements are new (first pass), reused (second) or re-prepared after a
 * schema change (third).  Only the backend reaches the cached statements:
 * a module's exec of the same text is still refused. */
static int sp_level(keel_store *tx, void *arg)
{
    intptr_t d = (intptr_t)arg;
    char sql[64];

    snprintf(sql, sizeof sql, "INSERT INTO t_sp (d) VALUES (%d)", (int)d);
    assert_int_equal(exec_j(tx, sql, NULL, NULL), 0);
    if (d < 6)
        (void)keel_store_tx(tx, sp_level, (void *)(d + 1));
    return d == 3 || d == 6 ? KEEL_ECONFLICT : 0;
}

static void test_savepoints_cached(void **state)
{
    static const char *const refused[] = {
        "SAVEPOINT keel_sp1", "RELEASE keel_sp1", "ROLLBACK TO keel_sp1", "RELEASE keel_sp5", NULL
    };
    keel_store *st = open_ns("t");
    json_t *rows = NULL;
    int pass, i;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_sp (d INTEGER)", NULL, NULL), 0);
    for (pass = 0; pass < 3; pass++) {
        assert_int_equal(exec_j(st, "DELETE FROM t_sp", NULL, NULL), 0);
        if (pass == 2)
            assert_int_equal(exec_j(st, "CREATE TABLE t_sp2 (x INTEGER)", NULL, NULL), 0);
        assert_int_equal(keel_store_tx(st, sp_level, (void *)(intptr_t)1), 0);
        assert_int_equal(exec_j(st, "SELECT d FROM t_sp ORDER BY d", NULL, &rows), 0);
        assert_int_equal(json_array_size(rows), 2);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "d")), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "d")), 2);
        json_decref(rows);
        rows = NULL;
    }
    for (i = 0; refused[i] != NULL; i++)
        assert_int_equal(exec_j(st, refused[i], NULL, NULL), KEEL_EDENIED);
    keel_store_close(st);
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
        cmocka_unit_test_setup_teardown(test_configure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_survives_schema_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_measure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_gate_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoints_cached, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
