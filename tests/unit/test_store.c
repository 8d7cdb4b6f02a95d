/*
 * test_store.c — the keel_store handle: one/exec, transactions and nesting,
 * concurrent use from several threads, and the fault sweep (SQLite's
 * do_faultsim_test): for N = 1, 2, … fault call N of a multi-statement
 * transaction until it completes without reaching N; every run ends in
 * success or a documented code and leaves all-or-nothing data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
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

static int setup(void **state)
{
    (void)state;
    return keel_test_tmppath(tmpdir, sizeof tmpdir, dbpath, sizeof dbpath, "store", "sqlite:%s/keel.db");
}

static int teardown(void **state)
{
    (void)state;
    return keel_test_rmtree(tmpdir);
}

static keel_store *open_t(void)
{
    keel_store *st = NULL;
    if (keel_store_open(&keel_store_sqlite, dbpath, "t", &st, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    assert_int_equal(keel_store_exec(st, "CREATE TABLE IF NOT EXISTS t_rows "
                                     "(id INTEGER PRIMARY KEY, v TEXT NOT NULL)", NULL, NULL), 0);
    return st;
}

static long long count_rows(keel_store *st)
{
    json_t *row = NULL;
    long long n;
    assert_int_equal(keel_store_one(st, "SELECT count(*) AS n FROM t_rows", NULL, &row), 0);
    n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

static int insert(keel_store *st, int id)
{
    json_t *p = json_pack("[is]", id, "v");
    int rc = keel_store_exec(st, "INSERT INTO t_rows (id, v) VALUES ($1, $2)", p, NULL);
    json_decref(p);
    return rc;
}

static void test_one_and_exec(void **state)
{
    keel_store *st = open_t();
    json_t *row = (json_t *)1, *p;
    (void)state;

    assert_string_equal(keel_store_backend_name(st), "sqlite");
    assert_int_equal(keel_store_one(st, "SELECT v FROM t_rows WHERE id = 1", NULL, &row),
                     KEEL_ENOTFOUND);
    assert_null(row);
    assert_int_equal(insert(st, 1), 0);
    assert_int_equal(insert(st, 2), 0);
    assert_int_equal(keel_store_one(st, "SELECT v FROM t_rows WHERE id = 1", NULL, &row), 0);
    assert_string_equal(json_string_value(json_object_get(row, "v")), "v");
    json_decref(row);
    assert_int_equal(keel_store_one(st, "SELECT v FROM t_rows", NULL, &row), KEEL_ESTORE);
    assert_null(row);
    assert_non_null(strstr(keel_store_errmsg(st), "at most one row"));
    /* RETURNING gives new ids (portable with PostgreSQL) */
    p = json_pack("[s]", "w");
    assert_int_equal(keel_store_one(st, "INSERT INTO t_rows (v) VALUES ($1) RETURNING id", p, &row), 0);
    json_decref(p);
    assert_int_equal(json_integer_value(json_object_get(row, "id")), 3);
    json_decref(row);
    assert_int_equal(keel_store_exec(NULL, "SELECT 1", NULL, NULL), KEEL_EINVAL);
    assert_int_equal(keel_store_exec(st, NULL, NULL, NULL), KEEL_EINVAL);
    assert_null(keel_store_wrap(&keel_store_sqlite, NULL));
    keel_store_close(NULL);
    keel_store_close(st);
}

static int tx_two(keel_store *st, void *arg)
{
    int rc, *base = arg;
    if ((rc = insert(st, *base)) != 0)
        return rc;
    return insert(st, *base + 1);
}

static int tx_fail_after_one(keel_store *st, void *arg)
{
    int rc = insert(st, *(int *)arg);
    return rc != 0 ? rc : KEEL_EINVAL;
}

static int tx_nested_ok(keel_store *st, void *arg)
{
    int rc = insert(st, 100);
    return rc != 0 ? rc : keel_store_tx(st, tx_two, arg);
}

static int tx_nested_ignores_failure(keel_store *st, void *arg)
{
    int rc = insert(st, 200);
    if (rc != 0)
        return rc;
    (void)keel_store_tx(st, tx_fail_after_one, arg);  /* inner fails, outer carries on */
    return 0;
}

static int tx_nested_then_fail(keel_store *st, void *arg)
{
    int rc = keel_store_tx(st, tx_two, arg);
    return rc != 0 ? rc : KEEL_EINVAL;
}

static int row_exists(keel_store *st, int id)
{
    json_t *p = json_pack("[i]", id), *row = NULL;
    int rc = keel_store_one(st, "SELECT id FROM t_rows WHERE id = $1", p, &row);
    json_decref(p);
    json_decref(row);
    return rc == 0;
}

static void test_tx(void **state)
{
    keel_store *st = open_t();
    int base = 10;
    (void)state;

    assert_int_equal(keel_store_tx(st, tx_two, &base), 0);
    assert_int_equal(count_rows(st), 2);
    base = 20;
    assert_int_equal(keel_store_tx(st, tx_fail_after_one, &base), KEEL_EINVAL);
    assert_int_equal(count_rows(st), 2);
    /* constraint violation inside: the whole tx goes */
    base = 30;
    assert_int_equal(insert(st, 31), 0);
    assert_int_equal(keel_store_tx(st, tx_two, &base), KEEL_ECONFLICT);
    assert_int_equal(count_rows(st), 3);
    /* nested commits with the outer */
    base = 40;
    assert_int_equal(keel_store_tx(st, tx_nested_ok, &base), 0);
    assert_int_equal(count_rows(st), 6);
    /* a failed inner tx is a savepoint rolled back: its row (50) goes, the
     * outer's row (200) stays when the outer fn carries on */
    base = 50;
    assert_int_equal(keel_store_tx(st, tx_nested_ignores_failure, &base), 0);
    assert_int_equal(count_rows(st), 7);
    assert_int_equal(row_exists(st, 200), 1);
    assert_int_equal(row_exists(st, 50), 0);
    /* a failing outer fn still rolls back everything, savepoints included */
    base = 60;
    assert_int_equal(keel_store_tx(st, tx_nested_then_fail, &base), KEEL_EINVAL);
    assert_int_equal(count_rows(st), 7);
    /* and the handle is usable afterwards */
    base = 70;
    assert_int_equal(keel_store_tx(st, tx_two, &base), 0);
    assert_int_equal(count_rows(st), 9);
    assert_int_equal(keel_store_tx(st, NULL, NULL), KEEL_EINVAL);
    keel_store_close(st);
}

/* ---- several threads on one handle -------------------------------------- */

#define THREADS 4
#define ROUNDS  100

static int tx_increment(keel_store *st, void *arg)
{
    json_t *row = NULL, *p;
    int rc;
    (void)arg;
    rc = keel_store_one(st, "SELECT v FROM t_rows WHERE id = 1", NULL, &row);
    if (rc != 0)
        return rc;
    p = json_pack("[s]", json_string_value(json_object_get(row, "v")));
    json_decref(row);
    /* read-modify-write: only correct if transactions do not interleave */
    rc = keel_store_exec(st, "UPDATE t_rows SET v = CAST(CAST($1 AS INTEGER) + 1 AS TEXT) "
                         "WHERE id = 1", p, NULL);
    json_decref(p);
    return rc;
}

static void *worker(void *arg)
{
    keel_store *st = arg;
    intptr_t fails = 0;
    int i;
    for (i = 0; i < ROUNDS; i++)
        if (keel_store_tx(st, tx_increment, NULL) != 0)
            fails++;
    return (void *)fails;
}

static void test_threads(void **state)
{
    keel_store *st = open_t();
    pthread_t th[THREADS];
    json_t *row = NULL;
    int i;
    (void)state;

    assert_int_equal(keel_store_exec(st, "INSERT INTO t_rows (id, v) VALUES (1, '0')", NULL, NULL), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, st), 0);
    for (i = 0; i < THREADS; i++) {
        void *fails = NULL;
        pthread_join(th[i], &fails);
        assert_int_equal((intptr_t)fails, 0);
    }
    assert_int_equal(keel_store_one(st, "SELECT v FROM t_rows WHERE id = 1", NULL, &row), 0);
    assert_string_equal(json_string_value(json_object_get(row, "v")), "400");
    json_decref(row);
    keel_store_close(st);
}

/* ---- the fault sweep ---------------------------------------------------- */

#define SWEEP_ROWS 5

static int tx_batch(keel_store *st, void *arg)
{
    int i, rc;
    (void)arg;
    for (i = 1; i <= SWEEP_ROWS; i++)
        if ((rc = insert(st, i)) != 0)
            return rc;
    return keel_store_exec(st, "UPDATE t_rows SET v = 'done' WHERE id = 1", NULL, NULL);
}

static void sweep(int persistent)
{
    struct keel_faulty f;
    keel_store *st = NULL;
    long n;
    int completed = 0;

    keel_faulty_store_init(&f, &keel_store_sqlite);
    assert_int_equal(keel_faulty_open(&f, dbpath, "t", &st, err, sizeof err), 0);
    assert_int_equal(keel_store_exec(st, "CREATE TABLE IF NOT EXISTS t_rows "
                                     "(id INTEGER PRIMARY KEY, v TEXT NOT NULL)", NULL, NULL), 0);
    for (n = 1; n < 100 && !completed; n++) {
        long long rows;
        int rc;

        keel_faulty_arm(&f, 0, 0);
        assert_int_equal(keel_store_exec(st, "DELETE FROM t_rows", NULL, NULL), 0);
        keel_faulty_arm(&f, n, persistent);
        rc = keel_store_tx(st, tx_batch, NULL);
        completed = f.faults == 0;
        keel_faulty_arm(&f, 0, 0);
        if (rc != 0 && rc != KEEL_EIO && rc != KEEL_EUNAVAIL)
            fail_msg("fault at call %ld: undocumented code %d (%s)", n, rc, keel_strerror(rc));
        if (completed)
            assert_int_equal(rc, 0);
        if (f.faults > 0)
            assert_int_not_equal(rc, 0);   /* this tx has no fallback: a fault must show */
        rows = count_rows(st);
        if (rc == 0) {
            json_t *row = NULL;
            assert_int_equal(rows, SWEEP_ROWS);
            assert_int_equal(keel_store_one(st, "SELECT v FROM t_rows WHERE id = 1", NULL, &row), 0);
            assert_string_equal(json_string_value(json_object_get(row, "v")), "done");
            json_decref(row);
        } else if (rows != 0) {
            fail_msg("fault at call %ld (rc %d): %lld rows left behind", n, rc, rows);
        }
    }
    assert_true(completed);
    /* begin + 5 inserts + update + commit = 8 counted calls */
    assert_int_equal(n - 1, 9);
    keel_store_close(st);
}

static void test_fault_sweep_transient(void **state)
{
    (void)state;
    sweep(0);
}

static void test_fault_sweep_persistent(void **state)
{
    (void)state;
    sweep(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_and_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_sweep_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_sweep_persistent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
