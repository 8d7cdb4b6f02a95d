/*
 * test_store_sqlite_ckpt.c — the background checkpointer
 * (store_sqlite_ckpt.c): with store_checkpoint_pages > 0 a commit leaves its
 * pages in the log and answers; the file's thread copies them back, empties
 * the log when idle, restarts it when it has fallen behind, and leaves no
 * log behind at close.  With 0, SQLite checkpoints on the committing
 * connection as before (the contrast the first test would fail on).
 *
 * Sizes are SQLite's: a commit of a 4 MiB value writes > 1024 pages of
 * 4096 bytes to the log, more than the 1000 pages of SQLite's
 * autocheckpoint (sqlite.org/wal.html, "Automatic Checkpoint").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_sqlite-internal.h"

#include "store_sqlite_fixture.h"

#define BIG (4u << 20)

static keel_store *open_pages(int pages)
{
    keel_store_opts o = {.checkpoint_pages = pages};
    keel_store *st = NULL;

    if (keel__store_open_url_opts(dbpath, "t", &o, &st, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    return st;
}

static long long fsize(const char *suffix)
{
    char p[160];
    struct stat sb;

    snprintf(p, sizeof p, "%s%s", dbpath, suffix);
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static keel__sq_ckpt *ckpt(void)
{
    char real[4096];
    assert_non_null(realpath(dbpath, real));
    return keel__sq_ckpt_of(real);
}

/* one transaction writing a string of n bytes */
static void write_big(keel_store *st, size_t n)
{
    char *s = malloc(n + 1);
    json_t *p;

    assert_non_null(s);
    memset(s, 'x', n);
    s[n] = '\0';
    p = json_pack("[s]", s);
    assert_non_null(p);
    assert_int_equal(keel_store_exec(st, "INSERT INTO t_big (b) VALUES ($1)", p, NULL), 0);
    json_decref(p);
    free(s);
}

static int passive_done(const keel__sq_ckpt_stats *s, void *arg) { (void)arg; return s->passive >= 1; }
static int truncate_done(const keel__sq_ckpt_stats *s, void *arg) { (void)arg; return s->truncate >= 1; }
static int restart_done(const keel__sq_ckpt_stats *s, void *arg) { (void)arg; return s->restart >= 1; }

/* The commit returns with its pages in the log only; the thread copies
 * them back, then empties the log once idle; closing leaves no log. */
static void test_background(void **state)
{
    keel_store *st = open_pages(100);
    keel__sq_ckpt *k;
    keel__sq_ckpt_stats s;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_big (b TEXT)", NULL, NULL), 0);
    k = ckpt();
    assert_non_null(k);
    keel__sq_ckpt_hold(k, 1);
    write_big(st, BIG);
    assert_true(fsize("-wal") >= (long long)BIG);
    assert_true(fsize("") < (long long)BIG / 4);   /* the committer copied nothing back */
    keel__sq_ckpt_hold(k, 0);
    assert_true(keel__sq_ckpt_wait(k, passive_done, NULL, 10000, &s));
    assert_true(s.frames >= BIG / 4096);
    assert_true(fsize("") >= (long long)BIG);
    /* no commit for a second: the log file is emptied */
    assert_true(keel__sq_ckpt_wait(k, truncate_done, NULL, 10000, &s));
    assert_int_equal(fsize("-wal"), 0);
    keel_store_close(st);
    assert_true(fsize("-wal") <= 0);
}

/* store_checkpoint_pages = 0: no thread, SQLite's autocheckpoint runs in
 * the commit that passed 1000 pages. */
static void test_autocheckpoint_when_off(void **state)
{
    keel_store *st = open_pages(0);
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_big (b TEXT)", NULL, NULL), 0);
    assert_null(ckpt());
    write_big(st, BIG);
    assert_true(fsize("") >= (long long)BIG);
    keel_store_close(st);
}

/* A log grown past 64 × pages (commits while the thread was held: a
 * checkpointer that has fallen behind) gets a RESTART, after which the
 * next commit writes from the log's start: the file does not grow. */
static void test_restart_bounds_the_log(void **state)
{
    keel_store *st = open_pages(4);   /* RESTART from 256 frames */
    keel__sq_ckpt *k;
    long long wal;
    int i;
    (void)state;

    assert_int_equal(exec_j(st, "CREATE TABLE t_big (b TEXT)", NULL, NULL), 0);
    k = ckpt();
    assert_non_null(k);
    keel__sq_ckpt_hold(k, 1);
    for (i = 0; i < 10; i++)
        write_big(st, 32u * 4096u);   /* > 32 pages each */
    keel__sq_ckpt_hold(k, 0);
    write_big(st, 4096);              /* reports the log's length again */
    assert_true(keel__sq_ckpt_wait(k, restart_done, NULL, 10000, NULL));
    wal = fsize("-wal");
    assert_true(wal >= 320LL * 4096);
    write_big(st, 4096);
    assert_int_equal(fsize("-wal"), wal);
    keel_store_close(st);
}

/* Two handles on one file share one checkpointer; it stops with the last. */
static void test_one_per_file(void **state)
{
    keel_store *a = open_pages(100), *b = open_pages(100);
    keel__sq_ckpt *k;
    (void)state;

    k = ckpt();
    assert_non_null(k);
    keel_store_close(a);
    assert_ptr_equal(ckpt(), k);
    keel_store_close(b);
    assert_null(ckpt());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_background, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autocheckpoint_when_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_bounds_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_per_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
