/*
 * test_store_blob.c — bytes through the store on SQLite
 * (keel_store_exec_blob, keel_store_one_blob): the cases both backends share
 * (store_blob_cases.h), that SQLite keeps them as a BLOB, and the clear
 * refusal of a backend older than keel_store_vt v3.
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
#include "fakes/faulty_store.h"
#include "store_sqlite_fixture.h"
#include "store_blob_cases.h"

static keel_store *open_module(const char *ns, const char *migration)
{
    keel_migration migs[] = { {1, "0001_init", migration}, {0} };
    keel_store *st = open_ns(ns);
    if (keel__store_migrate(st, ns, migs, NULL, err, sizeof err) != 0)
        fail_msg("migrate %s: %s", ns, err);
    return st;
}

/* SQLite stores the bytes as a BLOB (not TEXT: typeof), NULs and all. */
static void test_blob_sqlite_type(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    json_int_t id = put(st, "\0\x1f\x8b", 3);
    json_t *row = col(st, "SELECT typeof(b) AS ty, length(b) AS n FROM a_blobs WHERE id = $1",
                      id);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(row, "ty")), "blob");
    assert_int_equal(json_integer_value(json_object_get(row, "n")), 3);
    json_decref(row);
    keel_store_close(st);
}

/* A backend without the v3 members: KEEL_ESTORE naming what is missing, not
 * a crash or a silent text bind. */
static void test_blob_old_backend(void **state)
{
    struct keel_faulty f;
    keel_store *st = NULL;
    json_t *p = json_pack("[n,s]", "t");
    void *out = NULL;
    size_t n = 0;

    (void)state;
    keel_faulty_store_init(&f, &keel_store_sqlite);
    assert_int_equal(keel_faulty_open(&f, dbpath, "a", &st, err, sizeof err), 0);
    assert_int_equal(exec_j(st, A_MIG, NULL, NULL), 0);
    assert_int_equal(keel_store_exec_blob(st, INS, p, 1, "x", 1, NULL), KEEL_ESTORE);
    assert_non_null(strstr(keel_store_errmsg(st), "no binary values"));
    assert_int_equal(keel_store_one_blob(st, "SELECT b FROM a_blobs", NULL, &out, &n),
                     KEEL_ESTORE);
    assert_non_null(strstr(keel_store_errmsg(st), "keel_store_one_blob"));
    assert_null(out);
    json_decref(p);
    keel_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BLOB_CASES,
        cmocka_unit_test_setup_teardown(test_blob_sqlite_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_old_backend, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
