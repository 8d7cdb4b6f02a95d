/*
 * test_store_blob_pg.c — bytes through the store on PostgreSQL
 * (keel_store_exec_blob, keel_store_one_blob) against the throw-away
 * cluster (scripts/pg-cluster.sh; skipped without one): the cases both
 * backends share (store_blob_cases.h), that the bytes are BYTEA, and that a
 * parameter the server does not infer as BYTEA is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "fakes/pgtest.h"
#include "store_blob_cases.h"

static char url[512];
static char err[512];

static int setup(void **state)
{
    (void)state;
    return keel_test_pg_db(url, sizeof url, "blob") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    keel_test_pg_drop(url);
    return 0;
}

static keel_store *open_module(const char *ns, const char *migration)
{
    keel_migration migs[] = { {1, "0001_init", migration}, {0} };
    keel_store_opts o = { .pool_size = 2, .statement_timeout_ms = 10000 };
    keel_store *st = NULL;

    if (keel__store_open_url_opts(url, ns, &o, &st, err, sizeof err) != 0)
        fail_msg("open %s: %s", ns, err);
    if (keel__store_migrate(st, ns, migs, NULL, err, sizeof err) != 0)
        fail_msg("migrate %s: %s", ns, err);
    return st;
}

/* BYTEA, and a text parameter refused (binary format is the column's). */
static void test_blob_pg_type(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    json_int_t id = put(st, "\0\x1f\x8b", 3);
    json_t *row = col(st, "SELECT pg_typeof(b)::text AS ty, length(b) AS n FROM a_blobs "
                          "WHERE id = $1", id);
    json_t *p = json_pack("[n]");

    (void)state;
    assert_string_equal(json_string_value(json_object_get(row, "ty")), "bytea");
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 3);
    json_decref(row);
    assert_int_equal(keel_store_exec_blob(st, "INSERT INTO a_blobs (t) VALUES ($1)", p, 1,
                                          "x", 1, NULL), KEEL_EINVAL);
    assert_non_null(strstr(keel_store_errmsg(st), "BYTEA"));
    /* a cast makes any place a BYTEA one */
    assert_int_equal(keel_store_exec_blob(st, "INSERT INTO a_blobs (b) VALUES ($1::bytea)", p, 1,
                                          "x", 1, NULL), 0);
    json_decref(p);
    keel_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BLOB_CASES,
        cmocka_unit_test_setup_teardown(test_blob_pg_type, setup, teardown),
    };
    char admin[512];

    if (keel_test_pg_admin(admin, sizeof admin) != 0)
        return KEEL_TEST_SKIP;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
