/*
 * test_events_ops.c — the event machinery's operations side, on the
 * fixture of events_fixture.h: named locks (in one runtime, and across two
 * on PostgreSQL), the unprivileged login of a provisioned PostgreSQL
 * database, a subscription to an unknown topic refused, processed keys
 * pruned after their retention, and a retention shorter than the retry
 * horizon refused.  test_events_ops_pg runs it on PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/events-internal.h"
#include "core/trace-internal.h"
#include "fakes/pgtest.h"
#include "fakes/test_runtime.h"
#include "events_fixture.h"

static void test_locks(void **state)
{
    fixture *f = *state;
    int64_t t0;

    assert_int_equal(keel_lock(f->prod, "prod.reindex", 0), 0);
    assert_int_equal(keel_lock(f->cons, "prod.reindex", 0), KEEL_ETIMEDOUT);
    t0 = keel__now_ms();
    assert_int_equal(keel_lock(f->cons, "prod.reindex", 100), KEEL_ETIMEDOUT);
    assert_true(keel__now_ms() - t0 >= 95);
    assert_int_equal(keel_lock(f->cons, "other", 0), 0);
    assert_int_equal(keel_unlock(f->prod, "prod.reindex"), 0);
    assert_int_equal(keel_unlock(f->prod, "prod.reindex"), KEEL_ENOTFOUND);
    assert_int_equal(keel_lock(f->cons, "prod.reindex", 0), 0);
    assert_int_equal(keel_unlock(f->cons, "prod.reindex"), 0);
    assert_int_equal(keel_unlock(f->cons, "other"), 0);
    assert_int_equal(keel_lock(f->cons, "", 0), KEEL_EINVAL);
}

/* PostgreSQL: a lock excludes another runtime on the same database (another
 * replica), and the database releases it when its holder goes away. */
static void test_locks_across_runtimes(void **state)
{
    fixture *f = *state;
    char db[300], err[512];
    char *envp[] = { db, "KEEL_LOG_LEVEL=error", NULL };
    keel_runtime *rt2 = NULL;
    keel_ctx *other;
    int64_t t0;

    if (!keel_test_rt_pg()) {
        print_message("skip: PostgreSQL only (test_events_pg runs it)\n");
        skip();
    }
    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", f->t.url);
    if (keel__rt_new(mods, &rt2, err, sizeof err) != 0 ||
        keel__rt_configure(rt2, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt2, NULL, err, sizeof err) != 0)
        fail_msg("second runtime: %s", err);
    other = keel__ctx_new(rt2, KEEL_TR_CLI, NULL, 0);
    keel__ctx_set_callee(other, keel__rt_find(rt2, "cons"));
    assert_int_equal(keel_lock(f->prod, "prod.reindex", 0), 0);
    t0 = keel__now_ms();
    assert_int_equal(keel_lock(other, "prod.reindex", 100), KEEL_ETIMEDOUT);
    assert_true(keel__now_ms() - t0 >= 95);
    assert_int_equal(keel_unlock(f->prod, "prod.reindex"), 0);
    assert_int_equal(keel_lock(other, "prod.reindex", 1000), 0);
    assert_int_equal(keel_lock(f->prod, "prod.reindex", 0), KEEL_ETIMEDOUT);
    /* the holder goes away without unlocking: its session ends, the lock is free */
    keel__ctx_free(other);
    keel__rt_stop(rt2);
    keel__rt_free(rt2);
    assert_int_equal(keel_lock(f->prod, "prod.reindex", 2000), 0);
    assert_int_equal(keel_unlock(f->prod, "prod.reindex"), 0);
}

/* PostgreSQL with a service login that is neither superuser nor owner, the
 * tables made through database_admin_url: the dispatcher reads prod's
 * outbox on the core's connection (the login is a member of keel_prod),
 * delivers, and dead-letters into keel.keel_dead_letters (granted).  The
 * login has no CREATE on the database nor on schema keel: the runtime's own
 * provisioning at start must not need it once the admin made everything
 * (it did: CREATE … IF NOT EXISTS checks the privilege before it looks). */
static void test_unprivileged_login(void **state)
{
    char admin[512], dburl[512], url[600], role[64], sql[400], db[700], adm[700], err[512];
    char *envp[] = { db, adm, "KEEL_LOG_LEVEL=error", "KEEL_EVENTS_POLL_MS=5",
                     "KEEL_EVENTS_BACKOFF_MS=1", "KEEL_EVENTS_BACKOFF_MAX_MS=5", NULL };
    const char *at;
    keel_runtime *rt = NULL;
    keel_ctx *ctx;
    json_t *ok, *bad, *out = NULL;
    int i;
    (void)state;

    if (!keel_test_rt_pg()) {
        print_message("skip: PostgreSQL only (test_events_pg runs it)\n");
        skip();
    }
    ok = json_pack("{si}", "n", 1);
    bad = json_pack("{sisi}", "n", 2, "fail", 9);
    assert_int_equal(keel_test_pg_admin(admin, sizeof admin), 0);
    assert_int_equal(keel_test_pg_db(dburl, sizeof dburl, "evlogin"), 0);
    snprintf(role, sizeof role, "evlogin_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN", role);
    assert_int_equal(keel_test_pg_sql(admin, sql), 0);
    at = strchr(strstr(dburl, "://") + 3, '@');
    assert_non_null(at);
    snprintf(url, sizeof url, "postgres://%s%s", role, at);
    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", url);
    snprintf(adm, sizeof adm, "KEEL_DATABASE_ADMIN_URL=%s", dburl);
    if (keel__rt_new(mods, &rt, err, sizeof err) != 0 ||
        keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof err) != 0)
        fail_msg("runtime as %s: %s", role, err);
    ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
    keel__ctx_set_callee(ctx, keel__rt_find(rt, "prod"));
    assert_int_equal(keel_emit(ctx, keel_module_store(keel__rt_find(rt, "prod")), "prod.thing",
                               ok, "one"), 0);
    assert_int_equal(keel_emit(ctx, keel_module_store(keel__rt_find(rt, "prod")), "prod.thing",
                               bad, "two"), 0);
    assert_int_equal(keel__events_start(rt, err, sizeof err), 0);
    keel_store *cons = keel_module_store(keel__rt_find(rt, "cons"));
    assert_int_equal(wait_count(cons, "SELECT count(*) AS n FROM cons_effects", 1), 1);
    assert_int_equal(wait_count(keel__events_of(rt)->core,
                                "SELECT count(*) AS n FROM keel_dead_letters", 1), 1);
    assert_int_equal(keel_jobs_purge(ctx, 0, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "purged")), 1);
    for (i = 0; i < 2 && keel_lock(ctx, "prod.x", 0) == 0; i++)
        assert_int_equal(keel_unlock(ctx, "prod.x"), 0);
    assert_int_equal(i, 2);
    json_decref(out);
    json_decref(ok);
    json_decref(bad);
    keel__ctx_free(ctx);
    keel__rt_stop(rt);
    keel__rt_free(rt);
    keel_test_pg_drop(dburl);
    snprintf(sql, sizeof sql, "DROP OWNED BY %s; DROP ROLE IF EXISTS %s", role, role);
    assert_int_equal(keel_test_pg_sql(admin, sql), 0);
}

/* A subscription to a topic nobody declares stops the start-up. */
static const keel_subscription stray_subs[] = {
    {.topic = "ghost.boo", .handler = cons_on_thing}, {0}
};
static const keel_module test_module_stray = {
    .abi = KEEL_ABI, .name = "stray", .version = "1", .methods = no_methods, .subs = stray_subs,
};

static void test_unknown_topic_refused(void **state)
{
    static const keel_module *const bad[] = { &test_module_prod, &test_module_stray, NULL };
    struct keel_test_rt t;
    char err[512] = "";
    (void)state;
    assert_int_equal(keel_test_rt_start(&t, "events-bad", bad, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "ghost.boo"));
}

/* Processed keys older than events_inbox_retention_ms are pruned by the
 * dispatcher, in batches (2,500 old keys: three statements); younger keys
 * stay and still stop a redelivery; a pruned key's event applies again if it
 * is emitted again (the documented trade-off, docs/events.md). */
static void test_inbox_pruned(void **state)
{
    fixture *f = *state;
    json_int_t now = (json_int_t)keel__wall_ms();
    json_t *p = json_pack("[I]", now - 2 * 3600 * 1000);
    json_t *q = json_pack("[I]", now - 60 * 1000);
    emit_job again = { f->prod, 0, 2, 0, NULL, 0 };   /* keys k0 (pruned) and k1 (kept) */

    assert_int_equal(keel_store_exec(cons_store(f),
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500)"
        " INSERT INTO cons_inbox (topic, ikey, applied_at) SELECT 'prod.thing', 'old' || i, $1 FROM c",
        p, NULL), 0);
    assert_int_equal(keel_store_exec(cons_store(f), "INSERT INTO cons_inbox (topic, ikey, applied_at)"
                                     " VALUES ('prod.thing', 'k0', $1)", p, NULL), 0);
    assert_int_equal(keel_store_exec(cons_store(f), "INSERT INTO cons_inbox (topic, ikey, applied_at)"
                                     " VALUES ('prod.thing', 'k1', $1), ('prod.thing', 'young', $1)",
                                     q, NULL), 0);
    json_decref(p);
    json_decref(q);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_inbox"), 2503);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_inbox", 2), 2);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_inbox WHERE ikey IN "
                                          "('k1', 'young')"), 2);
    /* k0's key is gone: emitted again it applies; k1's is kept: it does not */
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &again), 0);
    assert_int_equal(wait_count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox", 0), 0);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_effects WHERE ikey = 'k0'"), 1);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_effects WHERE ikey = 'k1'"), 0);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_inbox"), 3);
    /* a forced pass finds nothing more to prune */
    assert_int_equal(keel__ev_prune_inboxes(keel__events_of(f->t.rt), 1), 0);
}

/* A retention shorter than a delivery's retries could prune a key a
 * redelivery still needs: refused at start, naming the key. */
static void test_inbox_retention_refused(void **state)
{
    static const char *const short_env[] = { "KEEL_EVENTS_INBOX_RETENTION_MS=60000", NULL };
    struct keel_test_rt t;
    char err[512] = "";
    (void)state;
    /* default horizon: 10 attempts x (30 s lease + 300 s backoff cap) */
    assert_int_equal(keel_test_rt_start(&t, "events-retention", mods, short_env, err, sizeof err), -1);
    assert_non_null(strstr(err, "events_inbox_retention_ms"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locks_across_runtimes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbox_pruned, setup_prune, teardown),
        cmocka_unit_test(test_inbox_retention_refused),
        cmocka_unit_test(test_unknown_topic_refused),
        cmocka_unit_test(test_unprivileged_login),
    };
    if (keel_test_rt_skip())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
