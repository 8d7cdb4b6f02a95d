/*
 * test_store_pg.c — the PostgreSQL backend against a real, throw-away server
 * (scripts/pg-cluster.sh; skipped with a message when there is none): values
 * both ways, errors with the server's message, transactions, savepoints,
 * retried serialization failures and deadlocks, the pool (parallel
 * transactions, a bounded wait), prepared statements per connection,
 * reconnecting after the server drops connections, statement timeout,
 * sslmode, and module namespaces (schema + role): module a cannot read b.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "fakes/pgtest.h"

static char url[512];
static char err[512];

static keel_store *open_ns(const char *ns, int pool, int timeout_ms)
{
    keel_store_opts o = { .pool_size = pool, .statement_timeout_ms = timeout_ms };
    keel_store *st = NULL;
    if (keel__store_open_url_opts(url, ns, &o, &st, err, sizeof err) != 0)
        fail_msg("open %s: %s", ns, err);
    return st;
}

/* A module store with its namespace provisioned and one migration applied. */
static keel_store *open_module(const char *ns, const char *migration_sql, int pool)
{
    keel_migration migs[] = { {1, "0001_init", migration_sql}, {0} };
    keel_store *st = open_ns(ns, pool, 5000);
    int n = 0;
    if (keel__store_migrate(st, ns, migs, &n, err, sizeof err) != 0)
        fail_msg("migrate %s: %s", ns, err);
    return st;
}

static int exec_j(keel_store *st, const char *sql, const char *params, json_t **rows)
{
    json_t *p = params != NULL ? json_loads(params, 0, NULL) : NULL;
    int rc = keel_store_exec(st, sql, p, rows);
    json_decref(p);
    return rc;
}

static json_t *one(keel_store *st, const char *sql, const char *params)
{
    json_t *p = params != NULL ? json_loads(params, 0, NULL) : NULL, *row = NULL;
    int rc = keel_store_one(st, sql, p, &row);
    json_decref(p);
    if (rc != 0)
        fail_msg("%s: %s (%s)", sql, keel_strerror(rc), keel_store_errmsg(st));
    return row;
}

static const char T_MIG[] =
    "CREATE TABLE t_rows (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER, d REAL,"
    " ok BOOLEAN, b BLOB, UNIQUE (v));\n"
    "CREATE TABLE t_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);";

static int setup(void **state)
{
    (void)state;
    return keel_test_pg_db(url, sizeof url, "store") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    keel_test_pg_drop(url);
    return 0;
}

/* ---- values both ways ----------------------------------------------------- */

static void test_types(void **state)
{
    keel_store *st = open_module("t", T_MIG, 2);
    json_t *row;
    (void)state;

    assert_string_equal(keel_store_backend_name(st), "postgres");
    /* INTEGER PRIMARY KEY became an identity, INTEGER a 64-bit BIGINT, REAL a double */
    row = one(st, "INSERT INTO t_rows (v, n, d, ok, b) VALUES ($1, $2, $3, $4, $5) RETURNING id",
              "[\"héllo\", 9223372036854775807, 0.1, true, \"a2VlbA==\"]");
    assert_int_equal(json_integer_value(json_object_get(row, "id")), 1);
    json_decref(row);
    row = one(st, "SELECT id, v, n, d, ok, b FROM t_rows WHERE id = $1", "[1]");
    assert_string_equal(json_string_value(json_object_get(row, "v")), "héllo");
    assert_true(json_is_integer(json_object_get(row, "n")));
    assert_true(json_integer_value(json_object_get(row, "n")) == INT64_MAX);
    assert_true(json_is_real(json_object_get(row, "d")));
    assert_true(json_real_value(json_object_get(row, "d")) == 0.1);
    assert_true(json_is_true(json_object_get(row, "ok")));
    assert_string_equal(json_string_value(json_object_get(row, "b")), "a2VlbA==");
    json_decref(row);
    /* nulls, false, an integer 0 into a BOOLEAN, negative and real numbers */
    row = one(st, "INSERT INTO t_rows (v, n, d, ok, b) VALUES ($1, $2, $3, $4, $5) RETURNING id, ok",
              "[\"x\", -9223372036854775807, -1e300, 0, null]");
    assert_int_equal(json_integer_value(json_object_get(row, "id")), 2);
    assert_true(json_is_false(json_object_get(row, "ok")));
    json_decref(row);
    row = one(st, "SELECT n, d, b, (SELECT count(*) FROM t_rows) AS c, "
                  "(SELECT sum(n) FROM t_rows WHERE id = 1) AS s FROM t_rows WHERE v = $1", "[\"x\"]");
    assert_true(json_integer_value(json_object_get(row, "n")) == -INT64_MAX);
    assert_true(json_real_value(json_object_get(row, "d")) == -1e300);
    assert_true(json_is_null(json_object_get(row, "b")));
    assert_int_equal(json_integer_value(json_object_get(row, "c")), 2);
    assert_true(json_is_integer(json_object_get(row, "s")));   /* numeric sum: integral */
    json_decref(row);
    /* a BOOLEAN parameter from false, a text one from an integer */
    row = one(st, "SELECT count(*) AS c FROM t_rows WHERE ok = $1 AND v <> $2", "[false, 5]");
    assert_int_equal(json_integer_value(json_object_get(row, "c")), 1);
    json_decref(row);
    /* bad input: objects, wrong counts, malformed base64 for a BYTEA */
    assert_int_equal(exec_j(st, "SELECT v FROM t_rows WHERE v = $1", "[{\"a\":1}]", NULL), KEEL_EINVAL);
    assert_int_equal(exec_j(st, "SELECT v FROM t_rows WHERE v = $1", "[]", NULL), KEEL_EINVAL);
    assert_non_null(strstr(keel_store_errmsg(st), "1 parameter(s), got 0"));
    assert_int_equal(exec_j(st, "UPDATE t_rows SET b = $1", "[\"!!!\"]", NULL), KEEL_EINVAL);
    assert_int_equal(exec_j(st, "SELECT v FROM t_rows WHERE n = $1", "[\"abc\"]", NULL), KEEL_EINVAL);
    assert_non_null(strstr(keel_store_errmsg(st), "invalid input syntax"));
    keel_store_close(st);
}

/* ---- errors carry the server's message ------------------------------------ */

static void test_errors(void **state)
{
    keel_store *st = open_module("t", T_MIG, 2);
    (void)state;

    assert_int_equal(exec_j(st, "INSERT INTO t_rows (v) VALUES ('a')", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "INSERT INTO t_rows (v) VALUES ('a')", NULL, NULL), KEEL_ECONFLICT);
    assert_non_null(strstr(keel_store_errmsg(st), "duplicate key"));
    assert_int_equal(exec_j(st, "INSERT INTO t_rows (v, n) VALUES (NULL, 1)", NULL, NULL), KEEL_ECONFLICT);
    assert_int_equal(exec_j(st, "SELECT 1 +", NULL, NULL), KEEL_ESTORE);
    assert_non_null(strstr(keel_store_errmsg(st), "syntax error"));
    assert_int_equal(exec_j(st, "SELEC 1", NULL, NULL), KEEL_EDENIED);   /* not a known statement */
    assert_int_equal(exec_j(st, "SELECT 1; SELECT 2", NULL, NULL), KEEL_ESTORE);
    /* the session and the transaction belong to the store */
    assert_int_equal(exec_j(st, "BEGIN", NULL, NULL), KEEL_EDENIED);
    assert_non_null(strstr(keel_store_errmsg(st), "keel_store_tx"));
    assert_int_equal(exec_j(st, "  set role keel_admin", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(st, "RESET ROLE", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(st, "/* c */ SAVEPOINT s", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(st, "DO $$ BEGIN RESET ROLE; END $$", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(st, "SELECT set_config('role', 'keel_admin', false)", NULL, NULL),
                     KEEL_EDENIED);
    /* but the words may appear inside literals */
    assert_int_equal(exec_j(st, "SELECT 'set_config' AS s", NULL, NULL), 0);
    keel_store_close(st);
}

/* ---- transactions and savepoints ------------------------------------------ */

static int ins(keel_store *st, const char *v)
{
    json_t *p = json_pack("[s]", v);
    int rc = keel_store_exec(st, "INSERT INTO t_rows (v) VALUES ($1)", p, NULL);
    json_decref(p);
    return rc;
}

static long long count(keel_store *st)
{
    json_t *row = one(st, "SELECT count(*) AS n FROM t_rows", NULL);
    long long n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

static int tx_fail(keel_store *tx, void *arg)
{
    int rc = ins(tx, arg);
    return rc != 0 ? rc : KEEL_EINVAL;
}

static int tx_outer(keel_store *tx, void *arg)
{
    int rc;
    (void)arg;
    if ((rc = ins(tx, "outer")) != 0)
        return rc;
    /* a nested failure (a unique violation aborts the statement) is a
     * savepoint: rolled back alone, the outer transaction carries on */
    assert_int_equal(keel_store_tx(tx, tx_fail, "inner"), KEEL_EINVAL);
    assert_int_equal(keel_store_tx(tx, tx_fail, "outer"), KEEL_ECONFLICT);
    return ins(tx, "after");
}

static int tx_uses_root(keel_store *tx, void *arg)
{
    keel_store *root = arg;
    /* the shared handle, on this thread, inside the transaction: same connection */
    int rc = ins(root, "via-root");
    (void)tx;
    return rc != 0 ? rc : KEEL_EINVAL;
}

static void test_tx(void **state)
{
    keel_store *st = open_module("t", T_MIG, 1);
    (void)state;

    assert_int_equal(keel_store_tx(st, tx_fail, "gone"), KEEL_EINVAL);
    assert_int_equal(count(st), 0);
    assert_int_equal(keel_store_tx(st, tx_outer, NULL), 0);
    assert_int_equal(count(st), 2);   /* outer, after */
    /* pool of one: no deadlock, and the root's statement rolls back with the tx */
    assert_int_equal(keel_store_tx(st, tx_uses_root, st), KEEL_EINVAL);
    assert_int_equal(count(st), 2);
    keel_store_close(st);
}

/* ---- retries: serialization failures and deadlocks ------------------------ */

#define RETRY_THREADS 4
#define RETRY_ROUNDS  15

static int tx_increment(keel_store *tx, void *arg)
{
    json_t *row = NULL, *p;
    int rc;
    (void)arg;
    rc = keel_store_one(tx, "SELECT n FROM t_counter WHERE id = 1", NULL, &row);
    if (rc != 0)
        return rc;
    p = json_pack("[I]", json_integer_value(json_object_get(row, "n")) + 1);
    json_decref(row);
    rc = keel_store_exec(tx, "UPDATE t_counter SET n = $1 WHERE id = 1", p, NULL);
    json_decref(p);
    return rc;
}

struct retry_arg { keel_store *st; unsigned flags; int fails; };

static void *retry_worker(void *v)
{
    struct retry_arg *a = v;
    int i;
    for (i = 0; i < RETRY_ROUNDS; i++)
        if (keel_store_tx_ex(a->st, a->flags, tx_increment, NULL) != 0)
            a->fails++;
    return NULL;
}

static void test_retry_serializable(void **state)
{
    keel_store *st = open_module("t", T_MIG, RETRY_THREADS);
    pthread_t th[RETRY_THREADS];
    struct retry_arg a[RETRY_THREADS];
    json_t *row;
    int i, fails = 0;
    (void)state;

    assert_int_equal(exec_j(st, "INSERT INTO t_counter (id, n) VALUES (1, 0)", NULL, NULL), 0);
    for (i = 0; i < RETRY_THREADS; i++) {
        a[i] = (struct retry_arg){ st, KEEL_TX_SERIALIZABLE | KEEL_TX_RETRYABLE, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, retry_worker, &a[i]), 0);
    }
    for (i = 0; i < RETRY_THREADS; i++) {
        pthread_join(th[i], NULL);
        fails += a[i].fails;
    }
    /* read-modify-write is exact under SERIALIZABLE: every committed tx
     * counted once, and a failed one (5 conflicts in a row) counted nowhere */
    row = one(st, "SELECT n FROM t_counter WHERE id = 1", NULL);
    assert_int_equal(json_integer_value(json_object_get(row, "n")),
                     RETRY_THREADS * RETRY_ROUNDS - fails);
    assert_true(fails <= RETRY_THREADS * RETRY_ROUNDS / 4);
    json_decref(row);
    keel_store_close(st);
}

struct dl_arg { keel_store *st; int first, second; int rc; };

static int tx_lock_two(keel_store *tx, void *v)
{
    struct dl_arg *a = v;
    json_t *p = json_pack("[i]", a->first);
    int rc = keel_store_exec(tx, "UPDATE t_counter SET n = n + 1 WHERE id = $1", p, NULL);
    json_decref(p);
    if (rc != 0)
        return rc;
    usleep(200 * 1000);   /* both hold their first row now */
    p = json_pack("[i]", a->second);
    rc = keel_store_exec(tx, "UPDATE t_counter SET n = n + 1 WHERE id = $1", p, NULL);
    json_decref(p);
    return rc;
}

static void *dl_worker(void *v)
{
    struct dl_arg *a = v;
    a->rc = keel_store_tx_ex(a->st, KEEL_TX_RETRYABLE, tx_lock_two, a);
    return NULL;
}

static void test_retry_deadlock(void **state)
{
    keel_store *st = open_module("t", T_MIG, 2);
    struct dl_arg a = { st, 1, 2, -1 }, b = { st, 2, 1, -1 };
    pthread_t ta, tb;
    json_t *row;
    (void)state;

    assert_int_equal(exec_j(st, "INSERT INTO t_counter (id, n) VALUES (1, 0), (2, 0)", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "ALTER ROLE CURRENT_USER SET deadlock_timeout = '50ms'", NULL,
                            NULL), KEEL_EDENIED);   /* not for modules */
    assert_int_equal(pthread_create(&ta, NULL, dl_worker, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, dl_worker, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    /* the server broke the deadlock (40P01) by failing one; it was retried */
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    row = one(st, "SELECT sum(n) AS s FROM t_counter", NULL);
    assert_int_equal(json_integer_value(json_object_get(row, "s")), 4);
    json_decref(row);
    keel_store_close(st);
}

/* ---- the pool ------------------------------------------------------------- */

static int tx_sleep(keel_store *tx, void *arg)
{
    char sql[64];
    if (strcmp(arg, "hold") == 0) {   /* the caller's own code holds the connection */
        usleep(1600 * 1000);
        return keel_store_exec(tx, "SELECT 1 AS one", NULL, NULL);
    }
    snprintf(sql, sizeof sql, "SELECT pg_sleep(%s) AS z", (const char *)arg);
    return keel_store_exec(tx, sql, NULL, NULL);
}

struct sleep_arg { keel_store *st; const char *secs; int rc; };

static void *sleep_worker(void *v)
{
    struct sleep_arg *a = v;
    a->rc = keel_store_tx(a->st, tx_sleep, (void *)a->secs);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_pool(void **state)
{
    keel_store *st = open_module("t", T_MIG, 2);
    struct sleep_arg a[3] = { { st, "0.6", -1 }, { st, "0.6", -1 }, { st, "0.6", -1 } };
    pthread_t th[3];
    double t0;
    int i;
    (void)state;

    /* two transactions run side by side: no lock held across fn */
    t0 = now_s();
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sleep_worker, &a[i]), 0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(a[0].rc, 0);
    assert_int_equal(a[1].rc, 0);
    assert_true(now_s() - t0 < 1.1);
    keel_store_close(st);

    /* a third caller waits for a free connection at most the statement
     * timeout (here 1 s), then gets 503 unavailable */
    st = open_ns("t", 2, 1000);
    for (i = 0; i < 2; i++) {
        a[i] = (struct sleep_arg){ st, "0.3", -1 };
        assert_int_equal(pthread_create(&th[i], NULL, sleep_worker, &a[i]), 0);
    }
    usleep(100 * 1000);
    assert_int_equal(exec_j(st, "SELECT 1 AS one", NULL, NULL), 0);   /* waited, then ran */
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 2; i++) {
        a[i] = (struct sleep_arg){ st, "hold", -1 };
        assert_int_equal(pthread_create(&th[i], NULL, sleep_worker, &a[i]), 0);
    }
    usleep(200 * 1000);
    assert_int_equal(exec_j(st, "SELECT 1 AS one", NULL, NULL), KEEL_EUNAVAIL);
    assert_non_null(strstr(keel_store_errmsg(st), "no free database connection"));
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(a[0].rc, 0);
    /* the statement timeout itself: 504 */
    assert_int_equal(exec_j(st, "SELECT pg_sleep(2) AS z", NULL, NULL), KEEL_ETIMEDOUT);
    assert_non_null(strstr(keel_store_errmsg(st), "statement timeout"));
    keel_store_close(st);
}

/* ---- prepared once per connection ----------------------------------------- */

static void test_prepared(void **state)
{
    keel_store *st = open_module("t", T_MIG, 1);
    json_t *row;
    int i;
    (void)state;

    for (i = 0; i < 5; i++)
        assert_int_equal(exec_j(st, "SELECT count(*) AS c FROM t_rows WHERE v = $1", "[\"q\"]",
                                NULL), 0);
    row = one(st, "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = $1",
              "[\"SELECT count(*) AS c FROM t_rows WHERE v = $1\"]");
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 1);
    json_decref(row);
    keel_store_close(st);
}

/* ---- the server drops every connection: 503 in flight, then it works ------ */

static void *kill_all(void *v)
{
    char admin[512];
    const char *db = strrchr(url, '/') + 1;
    char sql[256];
    (void)v;
    usleep(300 * 1000);
    assert_int_equal(keel_test_pg_admin(admin, sizeof admin), 0);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = '%.*s' AND pid <> pg_backend_pid()", (int)strcspn(db, "?"), db);
    assert_int_equal(keel_test_pg_sql(admin, sql), 0);
    return NULL;
}

static void test_reconnect(void **state)
{
    keel_store *st = open_module("t", T_MIG, 2);
    pthread_t th;
    json_t *row;
    (void)state;

    assert_int_equal(exec_j(st, "INSERT INTO t_rows (v) VALUES ('kept')", NULL, NULL), 0);
    assert_int_equal(pthread_create(&th, NULL, kill_all, NULL), 0);
    /* in flight while the server goes: unavailable, with the server's words */
    assert_int_equal(exec_j(st, "SELECT pg_sleep(3) AS z", NULL, NULL), KEEL_EUNAVAIL);
    assert_non_null(strstr(keel_store_errmsg(st), "terminat"));
    pthread_join(th, NULL);
    /* the next statement gets a fresh connection (the idle one was dropped too) */
    row = one(st, "SELECT count(*) AS n FROM t_rows", NULL);
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 1);
    json_decref(row);
    keel_store_close(st);
}

/* ---- sslmode is libpq's ----------------------------------------------------- */

static void test_sslmode(void **state)
{
    char u[600];
    keel_store *st = NULL;
    (void)state;

    /* the throw-away cluster has no TLS: require must refuse, disable connect */
    snprintf(u, sizeof u, "%s%ssslmode=require", url, strchr(url, '?') ? "&" : "?");
    assert_int_equal(keel__store_open_url(u, "t", &st, err, sizeof err), KEEL_EUNAVAIL);
    assert_non_null(strstr(err, "SSL"));
    snprintf(u, sizeof u, "%s%ssslmode=disable", url, strchr(url, '?') ? "&" : "?");
    assert_int_equal(keel__store_open_url(u, "t", &st, err, sizeof err), 0);
    keel_store_close(st);
}

/* ---- namespaces: a schema and a role per module ---------------------------- */

static void test_namespaces(void **state)
{
    keel_store *a = open_module("a", "CREATE TABLE a_items (id INTEGER PRIMARY KEY, v TEXT);", 1);
    keel_store *b = open_module("b", "CREATE TABLE b_items (id INTEGER PRIMARY KEY, v TEXT);"
                                     "INSERT INTO b_items (v) VALUES ('secret');", 1);
    json_t *row, *st = NULL;
    keel_migration migs[] = { {1, "0001_init", "CREATE TABLE a_items (id INTEGER PRIMARY KEY);"},
                              {0} };
    (void)state;

    assert_int_equal(exec_j(a, "INSERT INTO a_items (v) VALUES ('mine')", NULL, NULL), 0);
    /* b's table, by schema or by name, read or write: refused by the server */
    assert_int_equal(exec_j(a, "SELECT * FROM b.b_items", NULL, NULL), KEEL_EDENIED);
    assert_non_null(strstr(keel_store_errmsg(a), "permission denied"));
    assert_int_equal(exec_j(a, "SELECT * FROM b_items", NULL, NULL), KEEL_EDENIED);
    assert_non_null(strstr(keel_store_errmsg(a), "may not access table 'b_items'"));
    assert_int_equal(exec_j(a, "INSERT INTO b.b_items (v) VALUES ('x')", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(a, "CREATE TABLE b.b_more (x TEXT)", NULL, NULL), KEEL_EDENIED);
    assert_int_equal(exec_j(a, "SELECT * FROM keel.keel_migrations", NULL, NULL), KEEL_EDENIED);
    /* b reads its own */
    row = one(b, "SELECT v FROM b_items", NULL);
    assert_string_equal(json_string_value(json_object_get(row, "v")), "secret");
    json_decref(row);
    /* the module owns its tables as role keel_a, in schema a */
    row = one(a, "SELECT current_user AS u, current_schema() AS s, "
                 "(SELECT tableowner FROM pg_tables WHERE tablename = 'a_items') AS o", NULL);
    assert_string_equal(json_string_value(json_object_get(row, "u")), "keel_a");
    assert_string_equal(json_string_value(json_object_get(row, "s")), "a");
    assert_string_equal(json_string_value(json_object_get(row, "o")), "keel_a");
    json_decref(row);
    /* migrate --status on postgres */
    assert_int_equal(keel__store_migrations_status(a, "a", migs, &st), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "current")), 1);
    assert_int_equal(json_integer_value(json_object_get(st, "pending")), 0);
    json_decref(st);
    keel_store_close(a);
    keel_store_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_serializable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_deadlock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sslmode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
    };
    char admin[512];

    if (keel_test_pg_admin(admin, sizeof admin) != 0)
        return KEEL_TEST_SKIP;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
