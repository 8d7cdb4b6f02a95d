/* test_health_pool.c — /readyz never waits for a database connection
 * (docs/observability.md "Health"): with every connection of a module's
 * store held by handlers (here: a thread in a transaction), the module's
 * health hook must not wait for one.  /readyz answers at once from the last
 * check that reached the database, with {"pool":"busy"} as the detail, and
 * the refusal is counted in keel_store_pool_busy_refusals_total.  Before the
 * non-waiting borrow the probe waited for the holder: 1.5 s here (SQLite's one
 * connection is waited for without a bound; PostgreSQL's pool up to
 * database_statement_timeout_ms).  Runs on SQLite and, as
 * test_health_pool_pg, on PostgreSQL with a pool of 2 both held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/ctx-internal.h"
#include "core/metrics-internal.h"
#include "core/thread-internal.h"
#include "fakes/test_runtime.h"

static atomic_int hook_runs;

static int db_health(keel_module_ctx *mc, json_t **detail)
{
    (void)detail;
    atomic_fetch_add(&hook_runs, 1);
    return keel_store_exec(keel_module_store(mc), "SELECT count(*) AS n FROM db_items", NULL, NULL);
}

static const keel_method no_methods[] = {{0}};
static const keel_migration db_migs[] = {
    {1, "0001_items", "CREATE TABLE db_items (id INTEGER PRIMARY KEY)"},
    {0}
};
static const keel_module m_db = {.abi = KEEL_ABI, .name = "db", .version = "1",
                                 .methods = no_methods, .migrations = db_migs,
                                 .health = db_health};
static const keel_module *const mods[] = {&m_db, NULL};

/* A handler's transaction that holds its connection until released. */
typedef struct holder {
    keel_store     *st;
    atomic_int      in;       /* connections held */
    atomic_int      release;
    int             hold_ms;  /* let go after this long whatever happens */
} holder;

static int hold_tx(keel_store *tx, void *arg)
{
    holder *h = arg;
    int64_t until = keel__now_ms() + h->hold_ms;
    int rc = keel_store_exec(tx, "SELECT count(*) AS n FROM db_items", NULL, NULL);
    atomic_fetch_add(&h->in, 1);
    while (!atomic_load(&h->release) && keel__now_ms() < until)
        usleep(1000);
    return rc;
}

static void *hold_main(void *arg)
{
    holder *h = arg;
    keel_store_tx(h->st, hold_tx, h);
    return NULL;
}

static const char *mod_field(json_t *doc, const char *field)
{
    const json_t *v = json_object_get(json_object_get(json_object_get(doc, "modules"), "db"), field);
    return json_is_string(v) ? json_string_value(v) : "(absent)";
}

static void test_busy_pool_does_not_stall_readyz(void **state)
{
    static const char *const env[] = {"KEEL_DATABASE_POOL_SIZE=2", NULL};
    struct keel_test_rt t;
    char err[512];
    holder h;
    pthread_t th[2];
    json_t *doc;
    int ok = 0, i, n;
    int64_t t0, dt;
    char *text = NULL;
    size_t len = 0;
    (void)state;

    if (keel_test_rt_start(&t, "hpool", mods, env, err, sizeof err) != 0)
        fail_msg("runtime: %s", err);
    /* a free pool: the hook reaches the database */
    doc = keel__rt_ready(t.rt, NULL, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(mod_field(doc, "status"), "ok");
    json_decref(doc);

    /* hold every connection (1 on SQLite, 2 on PostgreSQL) */
    memset(&h, 0, sizeof h);
    h.st = keel_module_store(keel__rt_find(t.rt, "db"));
    h.hold_ms = 1500;
    n = keel_test_rt_pg() ? 2 : 1;
    for (i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hold_main, &h), 0);
    for (i = 0; i < 2000 && atomic_load(&h.in) < n; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&h.in), n);

    t0 = keel__now_ms();
    doc = keel__rt_ready(t.rt, NULL, &ok);
    dt = keel__now_ms() - t0;
    print_message("readyz with the pool held: %lld ms\n", (long long)dt);
    assert_true(dt < 200);   /* the holder lets go after 1500 ms */
    assert_int_equal(ok, 1); /* the last check was ok */
    assert_string_equal(mod_field(doc, "status"), "ok");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            json_object_get(doc, "modules"), "db"), "detail"), "pool")), "busy");
    json_decref(doc);

    /* the refusal and the held connections are on /metrics */
    assert_int_equal(keel__metrics_render(t.rt, &text, &len), 0);
    assert_non_null(strstr(text, "keel_store_pool_busy_refusals_total{module=\"db\"} 1\n"));
    assert_non_null(strstr(text, n == 2 ? "keel_store_pool_connections{module=\"db\",state=\"busy\"} 2\n"
                                        : "keel_store_pool_connections{module=\"db\",state=\"busy\"} 1\n"));
    assert_non_null(strstr(text, n == 2 ? "keel_store_pool_size{module=\"db\"} 2\n"
                                        : "keel_store_pool_size{module=\"db\"} 1\n"));
    free(text);

    atomic_store(&h.release, 1);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    /* free again: the hook reaches the database, nothing held */
    doc = keel__rt_ready(t.rt, NULL, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(mod_field(doc, "status"), "ok");
    assert_null(json_object_get(json_object_get(json_object_get(doc, "modules"), "db"), "detail"));
    json_decref(doc);
    assert_int_equal(keel__metrics_render(t.rt, &text, &len), 0);
    assert_non_null(strstr(text, "keel_store_pool_connections{module=\"db\",state=\"busy\"} 0\n"));
    free(text);
    assert_int_equal(keel_test_rt_stop(&t), 0);
}

/* A failed check is what a busy pool repeats: the database was down at the
 * last look, so a busy pool does not make the module ready. */
static void test_busy_pool_repeats_last_failure(void **state)
{
    struct keel_test_rt t;
    char err[512];
    holder h;
    pthread_t th[2];
    json_t *doc;
    keel_store *st;
    int ok = 1, i, n;
    static const char *const env[] = {"KEEL_DATABASE_POOL_SIZE=2", NULL};
    (void)state;

    if (keel_test_rt_start(&t, "hpool2", mods, env, err, sizeof err) != 0)
        fail_msg("runtime: %s", err);
    st = keel_module_store(keel__rt_find(t.rt, "db"));
    assert_int_equal(keel_store_exec(st, "ALTER TABLE db_items RENAME TO db_gone", NULL, NULL), 0);
    doc = keel__rt_ready(t.rt, NULL, &ok);
    assert_int_equal(ok, 0);
    json_decref(doc);
    assert_int_equal(keel_store_exec(st, "ALTER TABLE db_gone RENAME TO db_items", NULL, NULL), 0);

    memset(&h, 0, sizeof h);
    h.st = st;
    h.hold_ms = 1500;
    n = keel_test_rt_pg() ? 2 : 1;
    for (i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hold_main, &h), 0);
    for (i = 0; i < 2000 && atomic_load(&h.in) < n; i++)
        usleep(1000);
    ok = 1;
    doc = keel__rt_ready(t.rt, NULL, &ok);
    assert_int_equal(ok, 0);
    assert_string_not_equal(mod_field(doc, "status"), "ok");
    json_decref(doc);
    atomic_store(&h.release, 1);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    doc = keel__rt_ready(t.rt, NULL, &ok);
    assert_int_equal(ok, 1);
    json_decref(doc);
    assert_int_equal(keel_test_rt_stop(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_pool_does_not_stall_readyz),
        cmocka_unit_test(test_busy_pool_repeats_last_failure),
    };
    if (keel_test_rt_skip())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
