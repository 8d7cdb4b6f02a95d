/*
 * test_store_sqlite_gsync.c — group commit (store_sqlite_gsync.c): at
 * store_sync=full a commit is reported only after a sync of the log that
 * started after it; concurrent commits on one module's connection share
 * syncs (the connection is given back before the wait); a failed sync is
 * the caller's error; without group commit there is no shared sync.
 *
 * The sync is replaced by a fake (keel__sq_gsync_set_sync) that records when
 * it ran and can be slowed or failed: what is checked is the ordering the
 * design promises, not the disk.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_sqlite-internal.h"

#include "store_sqlite_fixture.h"

static pthread_mutex_t fk_mu = PTHREAD_MUTEX_INITIALIZER;
static int      fk_sleep_us;      /* how long a sync takes */
static int      fk_fail;          /* 1: syncs fail with EIO */
static uint64_t fk_done;          /* syncs finished */
static int64_t  fk_last_start;    /* when the last finished sync started (ns) */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fake_sync(int fd)
{
    int64_t start = now_ns();

    (void)fd;
    if (fk_sleep_us > 0)
        usleep((useconds_t)fk_sleep_us);
    pthread_mutex_lock(&fk_mu);
    fk_done++;
    fk_last_start = start;
    pthread_mutex_unlock(&fk_mu);
    if (fk_fail) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static keel_store *open_gc(int group_commit)
{
    keel_store_opts o = {.sync = "full", .group_commit = group_commit};
    keel_store *st = NULL;

    if (keel__store_open_url_opts(dbpath, "t", &o, &st, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    fk_sleep_us = 0;
    fk_fail = 0;
    fk_done = 0;
    return st;
}

static keel__sq_gsync *gsync(void)
{
    char real[4096];
    assert_non_null(realpath(dbpath, real));
    return keel__sq_gsync_of(real);
}

typedef struct one_tx {
    int64_t fn_end;   /* when the transaction's function returned: COMMIT is after */
} one_tx;

static int insert_fn(keel_store *tx, void *arg)
{
    one_tx *o = arg;
    int rc = exec_j(tx, "INSERT INTO t_n (n) VALUES (1)", NULL, NULL);
    o->fn_end = now_ns();
    return rc;
}

/* A commit returns after a sync that started after it. */
static void test_commit_waits_for_a_later_sync(void **state)
{
    keel_store *st = open_gc(1);
    keel__sq_gsync *g;
    one_tx o = {0};
    int64_t start;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_n (n INTEGER)", NULL, NULL), 0);
    g = gsync();
    assert_non_null(g);
    keel__sq_gsync_set_sync(g, fake_sync);
    fk_sleep_us = 20000;
    assert_int_equal(keel_store_tx(st, insert_fn, &o), 0);
    pthread_mutex_lock(&fk_mu);
    start = fk_last_start;
    assert_true(fk_done >= 1);
    pthread_mutex_unlock(&fk_mu);
    assert_true(start >= o.fn_end);
    /* an autocommit write too */
    fk_done = 0;
    assert_int_equal(exec_j(st, "INSERT INTO t_n (n) VALUES (2)", NULL, NULL), 0);
    assert_true(fk_done >= 1);
    /* a read commits nothing and waits for nothing */
    fk_done = 0;
    assert_int_equal(exec_j(st, "SELECT count(*) FROM t_n", NULL, NULL), 0);
    assert_int_equal(fk_done, 0);
    keel__sq_gsync_set_sync(g, NULL);
    keel_store_close(st);
}

typedef struct writer {
    keel_store *st;
    int         base, n, fails;
} writer;

static void *write_many(void *arg)
{
    writer *w = arg;
    int i;
    for (i = 0; i < w->n; i++) {
        json_t *p = json_pack("[i]", w->base + i);
        if (keel_store_exec(w->st, "INSERT INTO t_n (n) VALUES ($1)", p, NULL) != 0)
            w->fails++;
        json_decref(p);
    }
    return NULL;
}

/* 16 threads on one module handle (one SQLite connection): with a 5 ms sync
 * they share syncs; one sync per commit would be 320 syncs and 1.6 s. */
static void test_commits_share_syncs(void **state)
{
    enum { T = 16, N = 20 };
    keel_store *st = open_gc(1);
    keel__sq_gsync *g;
    pthread_t th[T];
    writer w[T];
    json_t *rows = NULL;
    int i;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_n (n INTEGER)", NULL, NULL), 0);
    g = gsync();
    assert_non_null(g);
    keel__sq_gsync_set_sync(g, fake_sync);
    fk_sleep_us = 5000;
    fk_done = 0;
    for (i = 0; i < T; i++) {
        w[i] = (writer){ st, i * 1000, N, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
    }
    for (i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].fails, 0);
    }
    assert_int_equal(exec_j(st, "SELECT count(*) AS c FROM t_n", NULL, &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "c")), T * N);
    json_decref(rows);
    /* every commit waited for a sync (the first test), and most shared one */
    assert_true(fk_done >= 1);
    assert_true(fk_done <= T * N / 4);
    keel__sq_gsync_set_sync(g, NULL);
    keel_store_close(st);
}

/* A failed sync is the committer's error, with a message; the next commit
 * after a good sync is fine again. */
static void test_failed_sync_is_an_error(void **state)
{
    keel_store *st = open_gc(1);
    keel__sq_gsync *g;
    one_tx o = {0};
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_n (n INTEGER)", NULL, NULL), 0);
    g = gsync();
    keel__sq_gsync_set_sync(g, fake_sync);
    fk_fail = 1;
    assert_int_equal(keel_store_tx(st, insert_fn, &o), KEEL_ESTORE);
    assert_non_null(strstr(keel_store_errmsg(st), "could not be synced"));
    assert_int_equal(exec_j(st, "INSERT INTO t_n (n) VALUES (2)", NULL, NULL), KEEL_ESTORE);
    assert_non_null(strstr(keel_store_errmsg(st), "could not be synced"));
    fk_fail = 0;
    assert_int_equal(exec_j(st, "INSERT INTO t_n (n) VALUES (3)", NULL, NULL), 0);
    keel__sq_gsync_set_sync(g, NULL);
    keel_store_close(st);
}

/* group_commit off: SQLite syncs each commit itself; there is no shared sync. */
static void test_off_means_full(void **state)
{
    keel_store *st = open_gc(0);
    json_t *rows = NULL;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_n (n INTEGER)", NULL, NULL), 0);
    assert_int_equal(exec_j(st, "INSERT INTO t_n (n) VALUES (1)", NULL, NULL), 0);
    assert_null(gsync());
    assert_int_equal(exec_j(st, "PRAGMA synchronous", NULL, &rows), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "synchronous")), 2);
    json_decref(rows);
    keel_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_waits_for_a_later_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_share_syncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off_means_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
