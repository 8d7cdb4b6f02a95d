/*
 * test_events_emit.c — the multi-row emit (events_emit.c): rows emitted in a
 * transaction are buffered on it and written KEEL__EV_EMIT_CHUNK at a time
 * by one INSERT, before savepoints begin and are released, and before the
 * commit (keel__store_tx_buffer, store_tx.c).  What must hold as with one
 * INSERT per emit: the events exist if and only if the caller's writes
 * commit — also when the caller fails after a full chunk was already
 * written, and for a savepoint that rolls back; rows keep emit order across
 * chunks; a duplicate key is still nothing new.  No dispatcher runs here:
 * the rows stay in the outbox.  test_events_emit_pg runs it on PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/events-internal.h"
#include "fakes/test_runtime.h"

static const keel_topic prod_topics[] = {{.name = "prod.thing"}, {0}};
static const keel_method no_methods[] = {{0}};
static const keel_migration prod_migs[] = {
    {1, "0001_own", "CREATE TABLE prod_own (n INTEGER)"}, {0}
};
static const keel_module mod_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods,
    .topics = prod_topics, .migrations = prod_migs,
};
static int on_thing(keel_ctx *ctx, const keel_event *ev) { (void)ctx; (void)ev; return 0; }
static const keel_subscription cons_subs[] = {{.topic = "prod.thing", .handler = on_thing}, {0}};
static const keel_module mod_cons = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods, .subs = cons_subs,
};
static const keel_module *const mods[] = { &mod_prod, &mod_cons, NULL };

typedef struct fixture {
    struct keel_test_rt t;
    keel_ctx *prod;
} fixture;

static int setup(void **state)
{
    static fixture f;
    char err[512];

    memset(&f, 0, sizeof f);
    if (keel_test_rt_start(&f.t, "evemit", mods, NULL, err, sizeof err) != 0) {
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

static keel_store *prod_store(fixture *f) { return keel_module_store(keel__rt_find(f->t.rt, "prod")); }

static json_int_t count(fixture *f, const char *sql)
{
    json_t *row = NULL;
    json_int_t n;
    assert_int_equal(keel_store_one(prod_store(f), sql, NULL, &row), 0);
    n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

/* Emits n in [from, to) with key "k<n>" and writes one prod_own row; then
 * nests `inner` (if set) and returns fail. */
typedef struct job {
    keel_ctx   *ctx;
    int         from, to, fail;
    struct job *inner;
    int         inner_rc;   /* what the nested call returned */
} job;

static int emit_tx(keel_store *tx, void *arg)
{
    job *j = arg;
    int i, rc = 0;

    for (i = j->from; i < j->to && rc == 0; i++) {
        char key[32];
        json_t *p = json_pack("{si}", "n", i);
        snprintf(key, sizeof key, "k%d", i);
        rc = keel_emit(j->ctx, tx, "prod.thing", p, key);
        json_decref(p);
    }
    if (rc == 0)
        rc = keel_store_exec(tx, "INSERT INTO prod_own (n) VALUES (1)", NULL, NULL);
    if (rc == 0 && j->inner != NULL)
        j->inner_rc = keel_store_tx(tx, emit_tx, j->inner);
    return rc != 0 ? rc : j->fail;
}

/* 250 events in one transaction: three INSERTs (100, 100, 50), every row
 * there in emit order; the same keys again add nothing. */
/* The multi-row insert: every row's parameters numbered on from the last
 * row's, the literal attempts 0 in each, the template's head and tail kept. */
static void test_multi_sql_text(void **state)
{
    static const char insert[] =
        "INSERT INTO m_outbox (a, b) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)"
        " ON CONFLICT DO NOTHING";
    char *sql;

    (void)state;
    sql = keel__ev_multi_sql(insert, 1);
    assert_non_null(sql);
    assert_string_equal(sql, insert);
    free(sql);
    sql = keel__ev_multi_sql(insert, 2);
    assert_non_null(sql);
    assert_string_equal(sql, "INSERT INTO m_outbox (a, b) VALUES "
                        "($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11), "
                        "($12, $13, $14, $15, $16, $17, 0, $18, $19, $20, $21, $22)"
                        " ON CONFLICT DO NOTHING");
    free(sql);
    sql = keel__ev_multi_sql(insert, 100);
    assert_non_null(sql);
    assert_non_null(strstr(sql, ", ($1090, $1091, $1092, $1093, $1094, $1095, 0, $1096, $1097,"
                                " $1098, $1099, $1100) ON CONFLICT DO NOTHING"));
    free(sql);
    assert_null(keel__ev_multi_sql(insert, 0));
    assert_null(keel__ev_multi_sql("INSERT INTO m_outbox DEFAULT VALUES", 2));
}

static void test_chunks_keep_order(void **state)
{
    fixture *f = *state;
    job a = { f->prod, 0, 250, 0, NULL, 0 };
    json_t *rows = NULL;
    size_t i;

    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), 0);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_outbox"), 250);
    assert_int_equal(keel_store_exec(prod_store(f), "SELECT payload FROM prod_outbox ORDER BY id",
                                     NULL, &rows), 0);
    for (i = 0; i < json_array_size(rows); i++) {
        json_t *p = json_loads(json_string_value(json_object_get(json_array_get(rows, i),
                                                                 "payload")), 0, NULL);
        assert_int_equal(json_integer_value(json_object_get(p, "n")), (json_int_t)i);
        json_decref(p);
    }
    json_decref(rows);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), 0);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_outbox"), 250);
}

/* The caller fails after 150 emits — one full INSERT of 100 already
 * written, 50 buffered: none of them, and not its own write, is left. */
static void test_failure_after_a_chunk_rolls_back_all(void **state)
{
    fixture *f = *state;
    job a = { f->prod, 0, 150, KEEL_ECONFLICT, NULL, 0 };

    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &a), KEEL_ECONFLICT);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_outbox"), 0);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_own"), 0);
}

/* A nested keel_store_tx (a savepoint) that fails takes its emits with it;
 * one that succeeds keeps them; the outer emits stay either way. */
static void test_savepoints(void **state)
{
    fixture *f = *state;
    job bad = { f->prod, 1000, 1005, KEEL_ECONFLICT, NULL, 0 };
    job outer = { f->prod, 0, 7, 0, &bad, 0 };
    job good = { f->prod, 2000, 2130, 0, NULL, 0 };
    job outer2 = { f->prod, 100, 103, 0, &good, 0 };

    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &outer), 0);
    assert_int_equal(outer.inner_rc, KEEL_ECONFLICT);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_outbox"), 7);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_own"), 1);
    assert_int_equal(keel_store_tx(prod_store(f), emit_tx, &outer2), 0);
    assert_int_equal(outer2.inner_rc, 0);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_outbox"), 7 + 3 + 130);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_own"), 3);
}

/* Outside a transaction (the module's root store) a row is written at once. */
static void test_outside_a_transaction(void **state)
{
    fixture *f = *state;
    json_t *p = json_pack("{si}", "n", 1);

    assert_int_equal(keel_emit(f->prod, prod_store(f), "prod.thing", p, "solo"), 0);
    json_decref(p);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM prod_outbox"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_sql_text),
        cmocka_unit_test_setup_teardown(test_chunks_keep_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_after_a_chunk_rolls_back_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_a_transaction, setup, teardown),
    };
    if (keel_test_rt_skip())
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
