/*
 * test_events.c — keel_emit / the dispatcher / keel_event_tx / dead letters /
 * jobs, through a real runtime over a temp SQLite file with the two test
 * modules of events_fixture.h ("prod" emits prod.thing, "cons" applies each
 * event as one row in cons_effects through keel_event_tx).  Locks, pruning
 * and the PostgreSQL roles: test_events_ops.c.  test_events_pg runs the same
 * binary on PostgreSQL (KEEL_TEST_RT_BACKEND=pg, test_runtime.h).
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
    };
    if (keel_test_rt_skip())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
