/*
 * test_migrate.c — per-module migrations: apply once, all-or-nothing per
 * migration, history checks, the keel_migrations privilege, status, and a
 * fault sweep over a migration run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "fakes/faulty_store.h"
#include "fakes/tmpdir.h"

static char tmpdir[64];
static char dbpath[128];
static char err[512];

static const keel_migration migs_v2[] = {
    {1, "0001_create", "CREATE TABLE m_a (id INTEGER PRIMARY KEY, v TEXT);\n"
                       "-- a comment; with a semicolon\n"
                       "CREATE INDEX m_a_v ON m_a (v);"},
    {2, "0002_more", "CREATE TABLE m_b (id INTEGER PRIMARY KEY);\n"
                     "INSERT INTO m_b (id) VALUES (1), (2);\n"
                     "CREATE TRIGGER m_b_t AFTER INSERT ON m_b BEGIN "
                     "  UPDATE m_a SET v = 'x'; UPDATE m_a SET v = 'y'; END;"},
    {0}
};

static int setup(void **state)
{
    (void)state;
    return keel_test_tmppath(tmpdir, sizeof tmpdir, dbpath, sizeof dbpath, "migrate", "sqlite:%s/keel.db");
}

static int teardown(void **state)
{
    (void)state;
    return keel_test_rmtree(tmpdir);
}

static keel_store *open_ns(const char *ns)
{
    keel_store *st = NULL;
    if (keel__store_open_url(dbpath, ns, &st, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    return st;
}

static int table_exists(keel_store *st, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 AS one FROM %s LIMIT 1", table);
    return keel_store_exec(st, sql, NULL, NULL) == 0;
}

static long long recorded(const char *module)
{
    keel_store *core = open_ns(NULL);
    json_t *row = NULL, *p = json_pack("[s]", module);
    long long n = -1;
    if (!table_exists(core, "keel_migrations"))
        n = 0;      /* the run failed before creating it */
    else if (keel_store_one(core, "SELECT count(*) AS n FROM keel_migrations WHERE module = $1",
                       p, &row) == 0)
        n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    json_decref(p);
    keel_store_close(core);
    return n;
}

static void test_apply_once(void **state)
{
    keel_store *st = open_ns("m");
    json_t *status = NULL, *list;
    int applied = -1;
    (void)state;

    assert_int_equal(keel__store_migrate(st, "m", migs_v2, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 2);
    assert_true(table_exists(st, "m_a"));
    assert_true(table_exists(st, "m_b"));
    assert_int_equal(recorded("m"), 2);
    assert_int_equal(keel__store_migrate(st, "m", migs_v2, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 0);
    /* the module connection is back to its namespace afterwards */
    assert_int_equal(keel_store_exec(st, "SELECT * FROM keel_migrations", NULL, NULL), KEEL_EDENIED);

    assert_int_equal(keel__store_migrations_status(st, "m", migs_v2, &status), 0);
    assert_int_equal(json_integer_value(json_object_get(status, "current")), 2);
    assert_int_equal(json_integer_value(json_object_get(status, "pending")), 0);
    list = json_object_get(status, "migrations");
    assert_int_equal(json_array_size(list), 2);
    assert_true(json_is_true(json_object_get(json_array_get(list, 1), "applied")));
    assert_non_null(json_string_value(json_object_get(json_array_get(list, 0), "applied_at")));
    json_decref(status);
    /* a binary that lost its migrations refuses the newer database */
    assert_int_equal(keel__store_migrate(st, "m", NULL, &applied, err, sizeof err), KEEL_ECONFIG);
    keel_store_close(st);
}

static void test_failing_migration_leaves_nothing(void **state)
{
    static const keel_migration bad[] = {
        {1, "0001_create", "CREATE TABLE m_a (id INTEGER PRIMARY KEY, v TEXT);\n"
                           "-- a comment; with a semicolon\n"
                           "CREATE INDEX m_a_v ON m_a (v);"},
        {2, "0002_broken", "CREATE TABLE m_c (id INTEGER);\nINSERT INTO m_c VALUES (1);\n"
                           "CREATE TABLE m_d (oops;"},
        {0}
    };
    keel_store *st = open_ns("m");
    json_t *status = NULL;
    int applied = -1;
    (void)state;

    assert_int_equal(keel__store_migrate(st, "m", bad, &applied, err, sizeof err), KEEL_ESTORE);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(err, "0002_broken"));
    assert_non_null(strstr(err, "syntax error"));
    assert_true(table_exists(st, "m_a"));
    assert_false(table_exists(st, "m_c"));
    assert_int_equal(recorded("m"), 1);
    assert_int_equal(keel__store_migrations_status(st, "m", bad, &status), 0);
    assert_int_equal(json_integer_value(json_object_get(status, "current")), 1);
    assert_int_equal(json_integer_value(json_object_get(status, "pending")), 1);
    json_decref(status);
    /* fixed in the next build: resumes at 2 */
    assert_int_equal(keel__store_migrate(st, "m", migs_v2, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 1);
    keel_store_close(st);
}

static void test_bad_lists_and_history(void **state)
{
    static const keel_migration zero_first[] = { {-1, "0000_x", "SELECT 1"}, {0} };
    static const keel_migration not_increasing[] = {
        {1, "0001_a", "CREATE TABLE m_a (x INTEGER)"}, {1, "0001_b", "SELECT 1"}, {0} };
    static const keel_migration renamed[] = { {1, "0001_other", "SELECT 1"}, {0} };
    static const keel_migration older[] = { {1, "0001_create", "SELECT 1"}, {0} };
    static const keel_migration gap[] = {
        {1, "0001_create", "SELECT 1"}, {2, "0002_more", "SELECT 1"}, {3, "0003_x", "SELECT 1"},
        {0} };
    static const keel_migration inserted_below[] = {
        {1, "0001_create", "SELECT 1"}, {2, "0002_more", "SELECT 1"}, {0} };
    static const keel_migration only_1_and_3[] = {
        {1, "0001_create", "CREATE TABLE m_a (x INTEGER)"}, {3, "0003_x", "SELECT 1"}, {0} };
    static const keel_migration foreign[] = {
        {1, "0001_steal", "CREATE TABLE m_ok (x INTEGER); CREATE TABLE other_x (y INTEGER);"}, {0} };
    static const keel_migration with_begin[] = {
        {1, "0001_tx", "CREATE TABLE m_tx (x INTEGER); COMMIT; BEGIN; SELECT 1;"}, {0} };
    keel_store *st = open_ns("m");
    int applied = -1;
    (void)state;

    assert_int_equal(keel__store_migrate(st, "m", zero_first, &applied, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "0000_x"));
    assert_int_equal(keel__store_migrate(st, "m", not_increasing, &applied, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "0001_b"));
    assert_false(table_exists(st, "m_a"));   /* checked before anything runs */

    /* a migration that reaches outside the namespace is refused as a whole */
    assert_int_equal(keel__store_migrate(st, "m", foreign, &applied, err, sizeof err), KEEL_EDENIED);
    assert_non_null(strstr(err, "other_x"));
    assert_false(table_exists(st, "m_ok"));
    assert_int_equal(recorded("m"), 0);

    /* a migration may not manage its own transaction */
    assert_int_equal(keel__store_migrate(st, "m", with_begin, &applied, err, sizeof err), KEEL_EDENIED);
    assert_non_null(strstr(err, "0001_tx"));
    assert_false(table_exists(st, "m_tx"));
    assert_int_equal(keel__store_migrate(st, "m", only_1_and_3, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 2);
    assert_int_equal(keel__store_migrate(st, "m", renamed, &applied, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "0001_other"));
    assert_int_equal(keel__store_migrate(st, "m", older, &applied, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "does not know"));
    assert_int_equal(keel__store_migrate(st, "m", inserted_below, &applied, err, sizeof err), KEEL_ECONFIG);
    assert_int_equal(keel__store_migrate(st, "m", gap, &applied, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "0002_more"));
    assert_int_equal(keel__store_migrate(NULL, "m", gap, &applied, err, sizeof err), KEEL_EINVAL);
    keel_store_close(st);
}

static void test_status_unknown(void **state)
{
    static const keel_migration just_one[] = {
        {1, "0001_create", "CREATE TABLE m_a (x INTEGER)"}, {0} };
    keel_store *st = open_ns("m");
    json_t *status = NULL, *last;
    (void)state;

    assert_int_equal(keel__store_migrate(st, "m", migs_v2, NULL, err, sizeof err), 0);
    assert_int_equal(keel__store_migrations_status(st, "m", just_one, &status), 0);
    last = json_array_get(json_object_get(status, "migrations"), 1);
    assert_true(json_is_true(json_object_get(last, "unknown")));
    assert_int_equal(json_integer_value(json_object_get(last, "version")), 2);
    json_decref(status);
    keel_store_close(st);
}

/* Fault call N of a migration run, for every N until the run completes:
 * each run ends in 0 or a documented code, and every recorded migration has
 * its tables while no unrecorded one left any. */
static void test_fault_sweep(void **state)
{
    struct keel_faulty f;
    int persistent;
    (void)state;

    for (persistent = 0; persistent <= 1; persistent++) {
        long n;
        int completed = 0;
        for (n = 1; n < 100 && !completed; n++) {
            keel_store *st = NULL;
            long long rec;
            int rc, applied = -1;
            char cmd[160];

            snprintf(cmd, sizeof cmd, "rm -f %s/keel.db*", tmpdir);
            assert_int_equal(system(cmd), 0);
            keel_faulty_store_init(&f, &keel_store_sqlite);
            assert_int_equal(keel_faulty_open(&f, dbpath, "m", &st, err, sizeof err), 0);
            keel_faulty_arm(&f, n, persistent);
            rc = keel__store_migrate(st, "m", migs_v2, &applied, err, sizeof err);
            completed = f.faults == 0;
            keel_faulty_arm(&f, 0, 0);
            if (rc != 0 && rc != KEEL_EIO && rc != KEEL_EUNAVAIL)
                fail_msg("fault at %ld: code %d (%s)", n, rc, err);
            rec = recorded("m");
            assert_int_equal(rec, applied);
            assert_int_equal(table_exists(st, "m_a"), applied >= 1);
            assert_int_equal(table_exists(st, "m_b"), applied >= 2);
            /* a later clean run completes the job */
            assert_int_equal(keel__store_migrate(st, "m", migs_v2, NULL, err, sizeof err), 0);
            assert_int_equal(recorded("m"), 2);
            keel_store_close(st);
        }
        assert_true(completed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_migration_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lists_and_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_sweep, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
