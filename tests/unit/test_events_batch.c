/*
 * test_events_batch.c — rounds run in one transaction: a subscriber whose
 * subscriptions are all KEEL_SUB_BATCH gets claim, handlers and completion
 * committed together on its own connection (events_dispatch.c).  What must
 * hold there as in the split rounds: a failing handler undoes only its own
 * writes and is retried or dead-lettered alone (the others in its batch run
 * once), and per-key ordering holds across retries and dead letters.
 *
 * Two modules made for the test: "prod" emits prod.thing; "bat" subscribes
 * with KEEL_SUB_BATCH and writes one row per event into bat_effects through
 * keel_event_tx.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/events-internal.h"
#include "fakes/test_runtime.h"
#include "store_count.h"

#define NMAX 512

static const keel_topic prod_topics[] = {{.name = "prod.thing"}, {0}};
static const keel_method no_methods[] = {{0}};
static const keel_module mod_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods, .topics = prod_topics,
};

/* Failure control, by the payload's "fail": 9 always fails; 3 and 5 fail
 * while fail_left[f] > 0; 7 writes its effect, then fails (once) inside
 * keel_event_tx, so its write must be undone; 8 does the same in a handler
 * that ignores keel_event_tx's result and returns 0. */
static atomic_int fail_left[10];
static atomic_int calls[NMAX];

static int bat_apply(keel_store *tx, void *arg)
{
    const keel_event *e = arg;
    json_int_t n = json_integer_value(json_object_get(e->payload, "n"));
    json_t *p = json_pack("[ss?I]", e->key, e->order_key, n);
    int rc;

    if (p == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(tx, "INSERT INTO bat_effects (ikey, okey, n) VALUES ($1, $2, $3)", p, NULL);
    json_decref(p);
    json_int_t f = json_integer_value(json_object_get(e->payload, "fail"));
    if (rc == 0 && (f == 7 || f == 8) && atomic_fetch_sub(&fail_left[f], 1) > 0)
        return KEEL_EUNAVAIL;   /* after the insert: it must not stay */
    return rc;
}

static int bat_on_thing(keel_ctx *ctx, const keel_event *ev)
{
    json_int_t n = json_integer_value(json_object_get(ev->payload, "n"));
    json_int_t f = json_integer_value(json_object_get(ev->payload, "fail"));

    if (n >= 0 && n < NMAX)
        atomic_fetch_add(&calls[n], 1);
    if (f == 9)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "always failing");
    if ((f == 3 || f == 5) && atomic_fetch_sub(&fail_left[f], 1) > 0)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "failing for now");
    if (f == 8) {   /* a handler that ignores keel_event_tx's failure */
        (void)keel_event_tx(ctx, ev, bat_apply, (void *)ev);
        return 0;
    }
    return keel_event_tx(ctx, ev, bat_apply, (void *)ev);
}

static const keel_subscription bat_subs[] = {
    {.topic = "prod.thing", .handler = bat_on_thing, .max_attempts = 3, .flags = KEEL_SUB_BATCH},
    {0}
};
static const keel_migration bat_migs[] = {
    {1, "0001_effects", "CREATE TABLE bat_effects (seq INTEGER PRIMARY KEY, ikey TEXT, okey TEXT,"
                        " n INTEGER)"},
    {0}
};
static const keel_module mod_bat = {
    .abi = KEEL_ABI, .name = "bat", .version = "1", .methods = no_methods,
    .migrations = bat_migs, .subs = bat_subs,
};

static const keel_module *const mods[] = { &mod_prod, &mod_bat, NULL };
static const char *const env[] = {
    "KEEL_EVENTS_BACKOFF_MS=1", "KEEL_EVENTS_BACKOFF_MAX_MS=5", "KEEL_EVENTS_POLL_MS=5",
    "KEEL_EVENTS_WORKERS=2", "KEEL_EVENTS_BATCH=16", NULL
};

typedef struct fixture {
    struct keel_test_rt t;
    keel_ctx *prod;
} fixture;

static int setup(void **state)
{
    static fixture f;
    char err[512];
    int i;

    memset(&f, 0, sizeof f);
    for (i = 0; i < 10; i++)
        atomic_store(&fail_left[i], 0);
    for (i = 0; i < NMAX; i++)
        atomic_store(&calls[i], 0);
    if (keel_test_rt_start(&f.t, "evbatch", mods, env, err, sizeof err) != 0) {
        fprintf(stderr, "runtime: %s\n", err);
        return -1;
    }
    f.prod = keel__ctx_new(f.t.rt, KEEL_TR_CLI, NULL, 0);
    keel__ctx_set_callee(f.prod, keel__rt_find(f.t.rt, "prod"));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    keel__ctx_free(f->prod);
    return keel_test_rt_stop(&f->t);
}

static keel_store *bat_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "bat")); }
static keel_store *core(fixture *f) { return keel__events_of(f->t.rt)->core; }

/* Events n in [from, to), with fail and order key; n == fail_n gets fail. */
typedef struct emit_job {
    keel_ctx   *ctx;
    int         from, to, fail_n, fail;
    const char *okey;
} emit_job;

static int emit_tx(keel_store *tx, void *arg)
{
    emit_job *j = arg;
    int i, rc = 0;
    for (i = j->from; i < j->to && rc == 0; i++) {
        char key[32];
        keel_emit_opts o = { .order_key = j->okey };
        json_t *p = i == j->fail_n ? json_pack("{sisi}", "n", i, "fail", j->fail)
                                   : json_pack("{si}", "n", i);
        snprintf(key, sizeof key, "k%d", i);
        rc = keel_emit_ex(j->ctx, tx, "prod.thing", p, key, &o);
        json_decref(p);
    }
    return rc;
}

static keel_store *prod_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "prod")); }

/* One event failing once, one always: the others of their batch run once
 * each (a failure undoes its own savepoint, not the batch). */
static void test_failure_stays_in_its_savepoint(void **state)
{
    fixture *f = *state;
    emit_job a = { f->prod, 0, 30, 13, 5, NULL };
    emit_job b = { f->prod, 30, 60, 47, 9, NULL };
    int n;

    atomic_store(&fail_left[5], 1);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), 0);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &b), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(core(f), "SELECT count(*) AS n FROM keel_dead_letters", 1), 1);
    assert_int_equal(wait_count(bat_store(f), "SELECT count(*) AS n FROM bat_effects", 59), 59);
    assert_int_equal(wait_count(core(f), "SELECT count(*) AS n FROM prod_outbox", 0), 0);
    assert_int_equal(count(bat_store(f), "SELECT count(DISTINCT ikey) AS n FROM bat_effects"), 59);
    assert_int_equal(count(core(f), "SELECT count(*) AS n FROM bat_inbox"), 59);
    assert_int_equal(count(core(f), "SELECT attempts AS n FROM keel_dead_letters"), 3);
    for (n = 0; n < 60; n++)
        assert_int_equal(atomic_load(&calls[n]), n == 13 ? 2 : n == 47 ? 3 : 1);
}

/* A handler whose keel_event_tx wrote, then failed: the write is undone,
 * the retry writes once. */
static void test_failed_write_is_undone(void **state)
{
    fixture *f = *state;
    emit_job a = { f->prod, 100, 110, 104, 7, NULL };

    atomic_store(&fail_left[7], 1);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(bat_store(f), "SELECT count(*) AS n FROM bat_effects", 10), 10);
    assert_int_equal(wait_count(core(f), "SELECT count(*) AS n FROM prod_outbox", 0), 0);
    assert_int_equal(count(bat_store(f), "SELECT count(*) AS n FROM bat_effects WHERE n = 104"), 1);
    assert_int_equal(atomic_load(&calls[104]), 2);
    assert_int_equal(atomic_load(&calls[105]), 1);
}

/* The round's claim and completion run on bat's connection with queue
 * access and are prepared once (the statement cache keeps them apart): the
 * same texts sent by bat itself still meet the authorizer — prod's outbox is
 * not bat's to read or delete from. */
static void test_queue_statements_stay_the_dispatchers(void **state)
{
    fixture *f = *state;
    emit_job a = { f->prod, 200, 230, -1, 0, NULL };
    keel__ev_box *box = keel__ev_box_find(keel__events_of(f->t.rt), "prod");
    json_t *pick = json_pack("[Isi]", (json_int_t)keel__wall_ms(), "bat", 10);
    json_t *done = json_pack("[s]", "[1,2,3]");
    json_t *rows = NULL;

    assert_non_null(box);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(bat_store(f), "SELECT count(*) AS n FROM bat_effects", 30), 30);
    assert_int_equal(wait_count(core(f), "SELECT count(*) AS n FROM prod_outbox", 0), 0);
    assert_int_not_equal(keel_store_exec(bat_store(f), box->sql[KEEL__EV_PICK], pick, &rows), 0);
    assert_null(rows);
    assert_int_not_equal(keel_store_exec(bat_store(f), box->sql[KEEL__EV_COMPLETE], done, NULL), 0);
    json_decref(pick);
    json_decref(done);
}

/* keel_event_tx joins the round's transaction (no savepoint of its own):
 * when it fails, the delivery fails even though the handler returned 0, so
 * the event is retried and applied once — not completed unapplied. */
static void test_ignored_event_tx_failure_retries(void **state)
{
    fixture *f = *state;
    emit_job a = { f->prod, 120, 130, 125, 8, NULL };

    atomic_store(&fail_left[8], 1);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(core(f), "SELECT count(*) AS n FROM prod_outbox", 0), 0);
    assert_int_equal(count(bat_store(f), "SELECT count(*) AS n FROM bat_effects"), 10);
    assert_int_equal(count(bat_store(f), "SELECT count(*) AS n FROM bat_effects WHERE n = 125"), 1);
    assert_int_equal(atomic_load(&calls[125]), 2);
    assert_int_equal(atomic_load(&calls[124]), 1);
}

/* Same ordering key: a retrying event holds the later ones back, a dead one
 * releases them, in one-transaction rounds too. */
static void test_ordering_across_retries(void **state)
{
    fixture *f = *state;
    emit_job h1 = { f->prod, 200, 206, 200, 3, "h1" };    /* 200 fails twice, then ok */
    emit_job h2 = { f->prod, 300, 303, 300, 9, "h2" };    /* 300 dies; 301, 302 follow */
    json_t *rows = NULL;
    size_t i;

    atomic_store(&fail_left[3], 2);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &h1), 0);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &h2), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(bat_store(f), "SELECT count(*) AS n FROM bat_effects", 8), 8);
    assert_int_equal(keel_store_exec(bat_store(f), "SELECT n FROM bat_effects WHERE okey = 'h1'"
                                     " ORDER BY seq", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 6);
    for (i = 0; i < 6; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, i), "n")),
                         200 + (int)i);
    json_decref(rows);
    assert_int_equal(keel_store_exec(bat_store(f), "SELECT n FROM bat_effects WHERE okey = 'h2'"
                                     " ORDER BY seq", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "n")), 301);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "n")), 302);
    json_decref(rows);
    assert_int_equal(atomic_load(&calls[200]), 3);
    assert_int_equal(atomic_load(&calls[300]), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failure_stays_in_its_savepoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_is_undone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordering_across_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_event_tx_failure_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_statements_stay_the_dispatchers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
