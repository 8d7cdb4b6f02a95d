/*
 * events_fixture.h — what the event tests share (test_events.c,
 * test_events_ops.c): two modules made for the test — "prod" emits
 * prod.thing, "cons" subscribes and applies each event as one row in
 * cons_effects through keel_event_tx — a runtime over a temp SQLite file
 * (or PostgreSQL, KEEL_TEST_RT_BACKEND=pg) with fast retries, and helpers
 * to count rows, wait for a count and emit in a transaction.
 */
#ifndef KEEL_TESTS_EVENTS_FIXTURE_H
#define KEEL_TESTS_EVENTS_FIXTURE_H

#include "store_count.h"

/* ---- the two test modules ---------------------------------------------- */

static const char thing_schema[] =
    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
    "\"fail\":{\"type\":\"integer\"}},\"required\":[\"n\"],\"additionalProperties\":false}";

static const keel_topic prod_topics[] = {
    {.name = "prod.thing", .schema = thing_schema, .summary = "a thing happened"},
    {0}
};

static const keel_method no_methods[] = {{0}};

const keel_module test_module_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods,
    .topics = prod_topics,
};

/* Failure control: events whose payload "fail" is f fail while fail_left[f] > 0
 * (then decrement); f = 9 always fails. */
static atomic_int fail_left[10];
static atomic_int calls;
static atomic_int job_runs;

static int cons_apply(keel_store *tx, void *arg)
{
    const keel_event *e = arg;
    const json_t *prin = NULL;
    json_t *p = json_pack("[ss?Is?]", e->key, e->order_key,
                          json_integer_value(json_object_get(e->payload, "n")), e->topic);
    int rc;
    (void)prin;
    if (p == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(tx, "INSERT INTO cons_effects (ikey, okey, n, topic) VALUES ($1, $2, $3, $4)",
                         p, NULL);
    json_decref(p);
    return rc;
}

static int cons_on_thing(keel_ctx *ctx, const keel_event *ev)
{
    json_int_t f = json_integer_value(json_object_get(ev->payload, "fail"));
    const json_t *prin = keel_ctx_principal(ctx);
    atomic_fetch_add(&calls, 1);
    if (keel_ctx_transport(ctx) != KEEL_TR_EVENT)
        return keel_ctx_error(ctx, KEEL_EINTERNAL, "wrong transport");
    if (json_integer_value(json_object_get(ev->payload, "n")) == 4242 &&
        json_integer_value(json_object_get(prin, "user_id")) != 77)
        return keel_ctx_error(ctx, KEEL_EINTERNAL, "principal not carried");
    if (f > 0 && f < 10) {
        if (f == 9)
            return keel_ctx_error(ctx, KEEL_EUNAVAIL, "always failing");
        if (atomic_fetch_sub(&fail_left[f], 1) > 0)
            return keel_ctx_error(ctx, KEEL_EUNAVAIL, "failing for now");
    }
    return keel_event_tx(ctx, ev, cons_apply, (void *)ev);
}

static int cons_on_job(keel_ctx *ctx, const keel_event *ev)
{
    json_int_t f = json_integer_value(json_object_get(ev->payload, "fail"));
    atomic_fetch_add(&job_runs, 1);
    if (f > 0 && f < 10 && atomic_fetch_sub(&fail_left[f], 1) > 0)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "failing for now");
    return keel_event_tx(ctx, ev, cons_apply, (void *)ev);
}

static const keel_subscription cons_subs[] = {
    {.topic = "prod.thing", .handler = cons_on_thing, .max_attempts = 3},
    {.topic = "tick", .handler = cons_on_job, .flags = KEEL_SUB_JOB},
    {.topic = "tock", .handler = cons_on_job, .flags = KEEL_SUB_JOB | KEEL_SUB_BATCH},
    {0}
};

static const keel_migration cons_migs[] = {
    {1, "0001_effects", "CREATE TABLE cons_effects (seq INTEGER PRIMARY KEY, ikey TEXT, okey TEXT,"
                        " n INTEGER, topic TEXT)"},
    {0}
};

const keel_module test_module_cons = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs,
};

static const keel_module *const mods[] = { &test_module_prod, &test_module_cons, NULL };
static const char *const env[] = {
    "KEEL_EVENTS_BACKOFF_MS=1", "KEEL_EVENTS_BACKOFF_MAX_MS=5", "KEEL_EVENTS_POLL_MS=5",
    "KEEL_EVENTS_WORKERS=2", "KEEL_EVENTS_BATCH=7", NULL
};

typedef struct fixture {
    struct keel_test_rt t;
    keel_ctx *prod;        /* a call context "inside" prod */
    keel_ctx *cons;
} fixture;

/* Inbox keys kept an hour (the default retention is a week): the horizon of
 * this configuration is 10 attempts x (30 s lease + 5 ms backoff). */
static const char *const env_prune[] = {
    "KEEL_EVENTS_BACKOFF_MS=1", "KEEL_EVENTS_BACKOFF_MAX_MS=5", "KEEL_EVENTS_POLL_MS=5",
    "KEEL_EVENTS_WORKERS=2", "KEEL_EVENTS_BATCH=7", "KEEL_EVENTS_INBOX_RETENTION_MS=3600000", NULL
};

static inline int setup_env(void **state, const char *const *envv)
{
    static fixture f;
    char err[512];
    int i;

    memset(&f, 0, sizeof f);
    for (i = 0; i < 10; i++)
        atomic_store(&fail_left[i], 0);
    atomic_store(&calls, 0);
    atomic_store(&job_runs, 0);
    if (keel_test_rt_start(&f.t, "events", mods, envv, err, sizeof err) != 0) {
        fprintf(stderr, "runtime: %s\n", err);
        return -1;
    }
    f.prod = keel__ctx_new(f.t.rt, KEEL_TR_CLI, NULL, 0);
    f.cons = keel__ctx_new(f.t.rt, KEEL_TR_CLI, NULL, 0);
    keel__ctx_set_callee(f.prod, keel__rt_find(f.t.rt, "prod"));
    keel__ctx_set_callee(f.cons, keel__rt_find(f.t.rt, "cons"));
    *state = &f;
    return 0;
}

static inline int setup(void **state) { return setup_env(state, env); }
static inline int setup_prune(void **state) { return setup_env(state, env_prune); }

static inline int teardown(void **state)
{
    fixture *f = *state;
    keel__ctx_free(f->prod);
    keel__ctx_free(f->cons);
    return keel_test_rt_stop(&f->t);
}

static inline keel_store *prod_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "prod")); }
static inline keel_store *cons_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "cons")); }

typedef struct emit_job {
    keel_ctx   *ctx;
    int         from, to, fail;
    const char *order_key;
    int         then_fail;   /* fn returns this after emitting (rollback test) */
} emit_job;

static inline int emit_tx(keel_store *tx, void *arg)
{
    emit_job *j = arg;
    int i, rc;
    for (i = j->from; i < j->to; i++) {
        char key[32];
        keel_emit_opts o = { .order_key = j->order_key };
        json_t *p = j->fail ? json_pack("{sisi}", "n", i, "fail", j->fail) : json_pack("{si}", "n", i);
        snprintf(key, sizeof key, "k%d", i);
        rc = keel_emit_ex(j->ctx, tx, "prod.thing", p, key, &o);
        json_decref(p);
        if (rc != 0)
            return rc;
    }
    return j->then_fail;
}

#endif
