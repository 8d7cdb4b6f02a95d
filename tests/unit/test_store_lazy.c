/*
 * test_store_lazy.c — start-up on a database whose migrations are all
 * applied opens no connection per module (runtime.c keel_open_core): the
 * core handle reads keel_migrations once, and each module's store opens on
 * its first statement.  What must still hold:
 *   - the first start migrates (and so opens) every module's store;
 *   - a restart opens none, and the first statement opens one, confined to
 *     the module's own tables like any other;
 *   - a module with a new migration is migrated at the restart;
 *   - a history this binary does not match (a renamed migration) still
 *     stops the start with the migration named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/runtime-internal.h"
#include "core/store-internal.h"
#include "fakes/tmpdir.h"

static char tmpdir[64];
static char dburl[160];

static const keel_method no_methods[] = {{0}};
static const keel_migration a_v1[] = {
    {1, "0001_items", "CREATE TABLE la_items (id INTEGER PRIMARY KEY, v TEXT)"},
    {0}
};
static const keel_migration a_v2[] = {
    {1, "0001_items", "CREATE TABLE la_items (id INTEGER PRIMARY KEY, v TEXT)"},
    {2, "0002_more", "CREATE TABLE la_more (id INTEGER PRIMARY KEY)"},
    {0}
};
static const keel_migration a_renamed[] = {
    {1, "0001_things", "CREATE TABLE la_items (id INTEGER PRIMARY KEY, v TEXT)"},
    {0}
};
static const keel_migration b_v1[] = {
    {1, "0001_secret", "CREATE TABLE lb_secret (id INTEGER PRIMARY KEY);"
                       "INSERT INTO lb_secret (id) VALUES (7)"},
    {0}
};

static keel_module m_a = {.abi = KEEL_ABI, .name = "la", .version = "1",
                          .methods = no_methods, .migrations = a_v1};
static const keel_module m_b = {.abi = KEEL_ABI, .name = "lb", .version = "1",
                                .methods = no_methods, .migrations = b_v1};
static const keel_module *const mods[] = {&m_a, &m_b, NULL};

static int setup(void **state)
{
    (void)state;
    m_a.migrations = a_v1;
    return keel_test_tmppath(tmpdir, sizeof tmpdir, dburl, sizeof dburl, "lazy",
                             "sqlite:%s/keel.db");
}

static int teardown(void **state)
{
    (void)state;
    return keel_test_rmtree(tmpdir);
}

/* A started runtime on dburl, or NULL with the reason in err. */
static keel_runtime *start(char *err, size_t errlen)
{
    char db[200], data[100];
    char *envp[] = {"KEEL_LOG_LEVEL=error", db, data, NULL};
    keel_runtime *rt = NULL;

    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", dburl);
    snprintf(data, sizeof data, "KEEL_DATA_DIR=%s", tmpdir);
    if (keel__rt_new(mods, &rt, err, errlen) != 0)
        return NULL;
    if (keel__rt_configure(rt, NULL, envp, NULL, err, errlen) != 0 ||
        keel__rt_start(rt, NULL, err, errlen) != 0) {
        keel__rt_free(rt);
        return NULL;
    }
    return rt;
}

static void stop(keel_runtime *rt)
{
    keel__rt_stop(rt);
    keel__rt_free(rt);
}

static int open_conns(keel_runtime *rt, const char *module)
{
    keel__store_pool_stats ps;
    keel_module_ctx *mc = keel__rt_find(rt, module);
    assert_non_null(mc);
    assert_int_equal(keel__store_pool_read(keel_module_store(mc), &ps), 0);
    return ps.open;
}

static keel_store *store_of(keel_runtime *rt, const char *module)
{
    keel_module_ctx *mc = keel__rt_find(rt, module);
    assert_non_null(mc);
    return keel_module_store(mc);
}

static void test_restart_opens_no_module_connection(void **state)
{
    char err[512];
    keel_runtime *rt;
    json_t *rows = NULL;
    (void)state;

    rt = start(err, sizeof err);
    if (rt == NULL)
        fail_msg("first start: %s", err);
    assert_int_equal(open_conns(rt, "la"), 1);   /* migrated: opened */
    assert_int_equal(open_conns(rt, "lb"), 1);
    stop(rt);

    rt = start(err, sizeof err);
    if (rt == NULL)
        fail_msg("restart: %s", err);
    assert_int_equal(open_conns(rt, "la"), 0);
    assert_int_equal(open_conns(rt, "lb"), 0);

    /* the first statement opens the connection, with the usual settings */
    assert_int_equal(keel_store_exec(store_of(rt, "la"),
                                     "INSERT INTO la_items (v) VALUES ('x')", NULL, NULL), 0);
    assert_int_equal(open_conns(rt, "la"), 1);
    assert_int_equal(keel_store_exec(store_of(rt, "la"), "PRAGMA foreign_keys", NULL, &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "foreign_keys")), 1);
    json_decref(rows);
    rows = NULL;

    /* and it is confined to the module's tables like an eager one */
    assert_int_not_equal(keel_store_exec(store_of(rt, "la"), "SELECT id FROM lb_secret",
                                         NULL, &rows), 0);
    assert_null(rows);
    assert_int_not_equal(keel_store_exec(store_of(rt, "la"), "SELECT module FROM keel_migrations",
                                         NULL, &rows), 0);
    assert_null(rows);
    assert_int_equal(open_conns(rt, "lb"), 0);
    stop(rt);
}

/* A first start on the empty database (every migration applied), stopped;
 * then the module's list becomes next. */
static void migrated_then(const keel_migration *next)
{
    char err[512];
    keel_runtime *rt = start(err, sizeof err);
    if (rt == NULL)
        fail_msg("first start: %s", err);
    stop(rt);
    m_a.migrations = next;
}

static void test_new_migration_applies_at_restart(void **state)
{
    char err[512];
    keel_runtime *rt;
    (void)state;

    migrated_then(a_v2);
    rt = start(err, sizeof err);
    if (rt == NULL)
        fail_msg("restart with 0002: %s", err);
    assert_int_equal(open_conns(rt, "la"), 1);   /* migrated */
    assert_int_equal(open_conns(rt, "lb"), 0);   /* current: lazy */
    assert_int_equal(keel_store_exec(store_of(rt, "la"), "SELECT id FROM la_more", NULL, NULL), 0);
    stop(rt);
}

static void test_renamed_migration_still_stops_start(void **state)
{
    char err[512];
    keel_runtime *rt;
    (void)state;

    migrated_then(a_renamed);
    err[0] = '\0';
    rt = start(err, sizeof err);
    assert_null(rt);
    if (strstr(err, "0001_items") == NULL || strstr(err, "0001_things") == NULL)
        fail_msg("unexpected error: %s", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_opens_no_module_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_migration_applies_at_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_migration_still_stops_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
