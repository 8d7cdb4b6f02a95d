/*
 * test_store_sqlite_guard.c — the SQLite namespace authorizer
 * (src/core/store_sqlite_guard.c): a module's connection reads and writes
 * its own tables only — other modules' tables, the core's, sqlite_master in
 * any spelling, RENAME targets, views and triggers, system tables outside
 * migrations are refused — and the dispatcher's queue access is scoped.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_namespace_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_holes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_access_scoped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
