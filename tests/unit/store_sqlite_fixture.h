/*
 * store_sqlite_fixture.h — what the SQLite store tests share
 * (test_store_sqlite.c, test_store_sqlite_guard.c): a database file in a
 * fresh temporary directory per test, opening it for a namespace, and
 * running a statement with parameters given as JSON text.
 */
#ifndef KEEL_TESTS_STORE_SQLITE_FIXTURE_H
#define KEEL_TESTS_STORE_SQLITE_FIXTURE_H

#include "fakes/tmpdir.h"

/* per test binary: the temporary directory, the database in it, the last error */
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

static inline keel_store *open_ns(const char *ns)
{
    keel_store *st = NULL;
    int rc = keel__store_open_url(dbpath, ns, &st, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %s", ns ? ns : "(core)", err);
    return st;
}

static inline json_t *J(const char *text)
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

#endif
