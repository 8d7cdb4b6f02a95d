/*
 * test_events.c — keel_emit / the dispatcher / keel_event_tx / dead letters /
 * jobs / locks, through a real runtime over a temp SQLite file with two
 * modules made for the test: "prod" emits prod.thing, "cons" subscribes and
 * applies each event as one row in cons_effects through keel_event_tx.
 * test_events_pg runs the same binary on PostgreSQL (KEEL_TEST_RT_BACKEND=pg,
 * test_runtime.h), where the locks also exclude a second runtime.
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

static int setup_env(void **state, const char *const *envv)
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

static int setup(void **state) { return setup_env(state, env); }
static int setup_prune(void **state) { return setup_env(state, env_prune); }

static int teardown(void **state)
{
    fixture *f = *state;
    keel__ctx_free(f->prod);
    keel__ctx_free(f->cons);
    return keel_test_rt_stop(&f->t);
}

static keel_store *prod_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "prod")); }
static keel_store *cons_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "cons")); }

static json_int_t count(keel_store *st, const char *sql)
{
    json_t *row = NULL;
    json_int_t n;
    assert_int_equal(keel_store_one(st, sql, NULL, &row), 0);
    n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

/* Waits up to 10 s for sql's n to reach want. */
static json_int_t wait_count(keel_store *st, const char *sql, json_int_t want)
{
    json_int_t n = -1;
    int i;
    for (i = 0; i < 2000 && (n = count(st, sql)) != want; i++)
        usleep(5000);
    return n;
}

typedef struct emit_job {
    keel_ctx   *ctx;
    int         from, to, fail;
    const char *order_key;
    int         then_fail;   /* fn returns this after emitting (rollback test) */
} emit_job;

static int emit_tx(keel_store *tx, void *arg)
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

/* ---- tests --------------------------------------------------------------- */

static void test_emit_commits_with_caller(void **state)
{
    fixture *f = *state;
    emit_job rolled = { f->prod, 0, 5, 0, NULL, KEEL_ECONFLICT };
    emit_job kept = { f->prod, 5, 25, 0, NULL, 0 };

    /* no dispatcher yet: rows stay in the outbox */
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &rolled), KEEL_ECONFLICT);
    assert_int_equal(count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox"), 0);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &kept), 0);
    assert_int_equal(count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox"), 20);
    /* the same idempotency key again while queued: nothing new */
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &kept), 0);
    assert_int_equal(count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox"), 20);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects", 20), 20);
    assert_int_equal(wait_count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox", 0), 0);
    assert_int_equal(count(cons_store(f), "SELECT count(DISTINCT n) AS n FROM cons_effects "
                                          "WHERE n >= 5 AND n < 25"), 20);
}

static void test_emit_checks(void **state)
{
    fixture *f = *state;
    json_t *bad = json_pack("{ss}", "n", "x"), *good = json_pack("{si}", "n", 1);
    char longkey[300];

    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.thing", bad, NULL), KEEL_EINVAL);
    assert_non_null(strstr(keel_ctx_errmsg(f->prod), "payload"));
    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.nothing", good, NULL), KEEL_EINVAL);
    /* cons may not emit prod's topic (nor write prod's outbox) */
    assert_int_equal(keel_emit(f->cons, cons_store(f), "prod.thing", good, NULL), KEEL_EINVAL);
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.thing", good, longkey), KEEL_EINVAL);
    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.thing", NULL, NULL), KEEL_EINVAL);
    assert_int_equal(count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox"), 0);
    /* a module's own connection cannot reach another module's outbox */
    assert_int_equal(keel_store_exec(cons_store(f), "DELETE FROM prod_outbox", NULL, NULL),
                     KEEL_EDENIED);
    json_decref(bad);
    json_decref(good);
}

/* The principal of the emitting call reaches the handler's ctx. */
static void test_principal_travels(void **state)
{
    fixture *f = *state;
    json_t *p = json_pack("{si}", "n", 4242);

    keel__ctx_set_principal_new(f->prod, json_pack("{sisss[s]}", "user_id", 77, "email",
                                                   "a@example.org", "scopes", "prod:write"));
    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.thing", p, "who"), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects WHERE n = 4242", 1), 1);
    assert_int_equal(count(keel__events_of(f->t.rt)->core,
                           "SELECT count(*) AS n FROM keel_dead_letters"), 0);
    json_decref(p);
}

/* A delivery is a span: CONSUMER, named subscriber.topic, a root of its own
 * trace (the outbox keeps no trace context). */
static void test_delivery_span(void **state)
{
    fixture *f = *state;
    json_t *p = json_pack("{si}", "n", 4343);
    keel_span s[16];
    static const uint8_t zero[8];
    size_t n, i, found = 0;

    keel__trace_set_sample(1);
    assert_int_equal(keel__trace_queue_open(64), 0);
    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.thing", p, "span"), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects WHERE n = 4343", 1), 1);
    keel__events_stop(f->t.rt);
    n = keel__trace_pop(s, 16);
    for (i = 0; i < n; i++)
        if (strcmp(s[i].module, "cons") == 0 && strcmp(s[i].method, "prod.thing") == 0) {
            found++;
            assert_int_equal(s[i].kind, KEEL_SPAN_CONSUMER);
            assert_int_equal(s[i].transport, KEEL_TR_EVENT);
            assert_int_equal(s[i].rc, 0);
            assert_memory_equal(s[i].parent_id, zero, 8);
            assert_memory_not_equal(s[i].span_id, zero, 8);
        }
    assert_int_equal(found, 1);
    keel__trace_queue_free();
    json_decref(p);
}

typedef struct redeliver { const keel_event *ev; } redeliver;

/* keel_event_tx applies a key once: the second delivery writes nothing. */
static void test_event_tx_applies_once(void **state)
{
    fixture *f = *state;
    json_t *p = json_pack("{si}", "n", 7);
    keel_event e = { .id = 1, .topic = "prod.thing", .emitter = "prod", .payload = p,
                     .key = "once", .attempt = 1, .max_attempts = 3 };

    assert_int_equal(keel_event_tx(f->cons, &e, cons_apply, &e), 0);
    e.attempt = 2;
    assert_int_equal(keel_event_tx(f->cons, &e, cons_apply, &e), 0);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_effects"), 1);
    /* a failing apply records nothing, so the next delivery applies it */
    e.key = "later";
    assert_int_equal(keel_store_exec(cons_store(f), "DROP TABLE cons_effects", NULL, NULL), 0);
    assert_int_not_equal(keel_event_tx(f->cons, &e, cons_apply, &e), 0);
    assert_int_equal(keel_store_exec(cons_store(f), keel_test_rt_pg()
                                     ? "CREATE TABLE cons_effects (seq BIGINT GENERATED BY DEFAULT"
                                       " AS IDENTITY PRIMARY KEY, ikey TEXT, okey TEXT, n BIGINT,"
                                       " topic TEXT)"
                                     : "CREATE TABLE cons_effects (seq INTEGER PRIMARY KEY,"
                                       " ikey TEXT, okey TEXT, n INTEGER, topic TEXT)", NULL, NULL), 0);
    assert_int_equal(keel_event_tx(f->cons, &e, cons_apply, &e), 0);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_effects"), 1);
    json_decref(p);
}

/* Fails twice (max_attempts 3): the third delivery applies it. */
static void test_hot_retry(void **state)
{
    fixture *f = *state;
    emit_job j = { f->prod, 100, 101, 1, NULL, 0 };

    atomic_store(&fail_left[1], 2);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &j), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects", 1), 1);
    assert_int_equal(atomic_load(&calls), 3);
    assert_int_equal(count(keel__events_of(f->t.rt)->core,
                           "SELECT count(*) AS n FROM keel_dead_letters"), 0);
}

/* Waits up to 10 s for cons's delivery counters to reach the given values
 * (a round adds them after its rows are committed, just after the row
 * counts a test waits for change). */
static void expect_counters(fixture *f, json_int_t handled, json_int_t failed,
                            json_int_t retried, json_int_t dead)
{
    json_t *c = NULL;
    int i;
    for (i = 0; i < 2000; i++) {
        json_decref(c);
        c = keel__events_counters(f->t.rt, "cons");
        assert_non_null(c);
        if (json_integer_value(json_object_get(c, "handled")) == handled &&
            json_integer_value(json_object_get(c, "failed")) == failed &&
            json_integer_value(json_object_get(c, "retried")) == retried &&
            json_integer_value(json_object_get(c, "dead_lettered")) == dead)
            break;
        usleep(5000);
    }
    assert_int_equal(json_integer_value(json_object_get(c, "handled")), handled);
    assert_int_equal(json_integer_value(json_object_get(c, "failed")), failed);
    assert_int_equal(json_integer_value(json_object_get(c, "retried")), retried);
    assert_int_equal(json_integer_value(json_object_get(c, "dead_lettered")), dead);
    json_decref(c);
}

/* line (with its newline) is in the /metrics text of f's runtime. */
static void expect_metric(fixture *f, const char *line)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(keel__metrics_render(f->t.rt, &text, &len), 0);
    if (strstr(text, line) == NULL)
        fail_msg("not in /metrics: %s", line);
    free(text);
}

/* Always failing: dead after max_attempts (3); retry replays it; once the
 * subscriber is fixed it applies. */
static void test_dead_letter_and_retry(void **state)
{
    fixture *f = *state;
    emit_job j = { f->prod, 200, 201, 2, NULL, 0 };
    keel_store *core;
    json_t *out = NULL, *filter = json_pack("{ss}", "state", "dead"), *dl;

    atomic_store(&fail_left[2], 1000);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &j), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    core = keel__events_of(f->t.rt)->core;
    assert_int_equal(wait_count(core, "SELECT count(*) AS n FROM keel_dead_letters", 1), 1);
    assert_int_equal(atomic_load(&calls), 3);
    assert_int_equal(count(prod_store(f), "SELECT count(*) AS n FROM prod_outbox"), 0);
    assert_int_equal(keel_jobs_list(f->cons, filter, &out), 0);
    dl = json_array_get(json_object_get(out, "dead"), 0);
    assert_non_null(dl);
    assert_int_equal(json_integer_value(json_object_get(dl, "attempts")), 3);
    assert_non_null(strstr(json_string_value(json_object_get(dl, "last_error")), "failing for now"));
    json_decref(out);
    /* the stats the /v1/modules page shows */
    out = keel__events_module_stats(f->t.rt, "prod");
    assert_int_equal(json_integer_value(json_object_get(out, "dead")), 1);
    assert_int_equal(json_integer_value(json_object_get(out, "queued")), 0);
    json_decref(out);
    /* the counters: max_attempts 3, every attempt failing -> 3 failed
     * attempts, the first 2 rescheduled, the 3rd dead-lettered, none handled */
    expect_counters(f, 0, 3, 2, 1);
    expect_metric(f, "keel_events_handled_total{module=\"cons\"} 0\n");
    expect_metric(f, "keel_events_failed_total{module=\"cons\"} 3\n");
    expect_metric(f, "keel_events_retried_total{module=\"cons\"} 2\n");
    expect_metric(f, "keel_events_dead_lettered_total{module=\"cons\"} 1\n");
    /* the gauges as the dispatcher reads them (forced here, not waited for):
     * prod's outbox is empty, its one dead letter waits */
    keel__ev_refresh_gauges(keel__events_of(f->t.rt), 1);
    expect_metric(f, "keel_events_queue_depth{module=\"prod\"} 0\n");
    expect_metric(f, "keel_events_oldest_age_seconds{module=\"prod\"} 0.000\n");
    expect_metric(f, "keel_events_dead_letters{module=\"prod\"} 1\n");
    /* /v1/modules: cons's deliveries */
    out = keel__rt_describe(f->t.rt);
    {
        size_t k;
        json_t *m, *evs = NULL;
        json_array_foreach(json_object_get(out, "modules"), k, m)
            if (strcmp(json_string_value(json_object_get(m, "name")), "cons") == 0)
                evs = json_object_get(m, "events");
        assert_non_null(evs);
        assert_int_equal(json_integer_value(json_object_get(evs, "dead_lettered")), 1);
        assert_int_equal(json_integer_value(json_object_get(evs, "failed")), 3);
    }
    json_decref(out);
    /* fix the subscriber, replay */
    atomic_store(&fail_left[2], 0);
    assert_int_equal(keel_jobs_retry(f->cons, 99999, &out), KEEL_ENOTFOUND);
    assert_int_equal(keel_jobs_retry(f->cons, 0, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "retried")), 1);
    json_decref(out);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects WHERE n = 200", 1), 1);
    assert_int_equal(count(core, "SELECT count(*) AS n FROM keel_dead_letters"), 0);
    /* the replay's one attempt succeeded: handled 1, the rest unchanged */
    expect_counters(f, 1, 3, 2, 1);
    keel__ev_refresh_gauges(keel__events_of(f->t.rt), 1);
    expect_metric(f, "keel_events_dead_letters{module=\"prod\"} 0\n");
    json_decref(filter);
}

/* Same ordering key: a retrying event holds the later ones back; a dead one
 * releases them.  Other keys are not held. */
static void test_ordering_key(void **state)
{
    fixture *f = *state;
    emit_job first = { f->prod, 300, 301, 3, "horse-1", 0 };   /* fails 2x, then ok */
    emit_job rest = { f->prod, 301, 305, 0, "horse-1", 0 };
    emit_job doomed = { f->prod, 400, 401, 9, "horse-2", 0 };   /* always fails: dead */
    emit_job after = { f->prod, 401, 403, 0, "horse-2", 0 };
    json_t *rows = NULL;
    size_t i;

    atomic_store(&fail_left[3], 2);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &first), 0);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &rest), 0);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &doomed), 0);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &after), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects", 7), 7);
    assert_int_equal(keel_store_exec(cons_store(f), "SELECT n FROM cons_effects WHERE okey = 'horse-1'"
                                     " ORDER BY seq", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, i), "n")), 300 + (int)i);
    json_decref(rows);
    assert_int_equal(keel_store_exec(cons_store(f), "SELECT n FROM cons_effects WHERE okey = 'horse-2'"
                                     " ORDER BY seq", NULL, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "n")), 401);
    json_decref(rows);
    assert_int_equal(count(keel__events_of(f->t.rt)->core,
                           "SELECT count(*) AS n FROM keel_dead_letters"), 1);
}

static void test_jobs_run_at(void **state)
{
    fixture *f = *state;
    json_t *p = json_pack("{si}", "n", 500);
    int64_t due = keel__wall_ms() + 400;

    assert_int_equal(keel_jobs_enqueue(f->cons, "nope", p, 0, NULL), KEEL_EINVAL);
    assert_int_equal(keel_jobs_enqueue(f->prod, "tick", p, 0, NULL), KEEL_EINVAL);
    assert_int_equal(keel_jobs_enqueue(f->cons, "tick", p, due, "t1"), 0);
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    usleep(150000);
    assert_int_equal(atomic_load(&job_runs), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects WHERE topic = 'tick'", 1), 1);
    assert_true(keel__wall_ms() >= due);
    json_decref(p);
}

/* KEEL_SUB_BATCH: a claimed batch runs in one transaction; one failure
 * rolls it back and the rows run one by one: still each applied once. */
static void test_batch_subscription(void **state)
{
    fixture *f = *state;
    int i;

    atomic_store(&fail_left[5], 1);
    for (i = 0; i < 20; i++) {
        char key[16];
        json_t *p = i == 13 ? json_pack("{sisi}", "n", 600 + i, "fail", 5) : json_pack("{si}", "n", 600 + i);
        snprintf(key, sizeof key, "tock%d", i);
        assert_int_equal(keel_jobs_enqueue(f->cons, "tock", p, 0, key), 0);
        json_decref(p);
    }
    assert_int_equal(keel__events_start(f->t.rt, NULL, 0), 0);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_effects", 20), 20);
    assert_int_equal(wait_count(cons_store(f), "SELECT count(*) AS n FROM cons_outbox", 0), 0);
    assert_int_equal(count(cons_store(f), "SELECT count(DISTINCT ikey) AS n FROM cons_effects"), 20);
    assert_int_equal(count(cons_store(f), "SELECT count(*) AS n FROM cons_inbox WHERE topic = 'tock'"), 20);
    /* the rolled-back group ran again row by row: more calls than rows */
    assert_true(atomic_load(&job_runs) > 20);
}

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
        cmocka_unit_test_setup_teardown(test_emit_commits_with_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_principal_travels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_span, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_tx_applies_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordering_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_run_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_subscription, setup, teardown),
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
