/*
 * test_events_crash.c — at-least-once delivery with effects applied once,
 * across kill -9.
 *
 * A producer process emits 10,000 events (transactions of 25) while a
 * consumer process dispatches them; the test kills the consumer with SIGKILL
 * at random moments, at least KILLS times, restarting it each time.  At the
 * end every event has been applied exactly once: cons_effects holds 10,000
 * rows with 10,000 distinct keys (it has no unique constraint: a double
 * application would show), the outbox is empty and nothing is dead.
 * The consumer's lease is 300 ms so work held by a killed consumer comes
 * back quickly.  Bounded: the whole test gives up after 120 s.
 * synchronous=NORMAL: a killed process loses no committed transaction in WAL
 * mode at NORMAL (only a power loss can); FULL would add an fsync per
 * delivery and make the run take minutes on a loaded machine without
 * testing anything more about kill -9.
 * Run twice: a plain subscriber (claim, handler and completion commit
 * apart) and a KEEL_SUB_BATCH one (they commit together).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "keel/keel.h"
#include "core/events-internal.h"
#include "fakes/tmpdir.h"

#define EVENTS  10000
#define PER_TX  25
#define KILLS   5

static const keel_topic prod_topics[] = {
    {.name = "prod.thing", .schema = "{\"type\":\"object\",\"required\":[\"n\"]}"},
    {0}
};
static const keel_method no_methods[] = {{0}};
static const keel_module mod_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods, .topics = prod_topics,
};

static int apply(keel_store *tx, void *arg)
{
    const keel_event *e = arg;
    json_t *p = json_pack("[sI]", e->key, json_integer_value(json_object_get(e->payload, "n")));
    int rc = p != NULL ? keel_store_exec(tx, "INSERT INTO cons_effects (ikey, n) VALUES ($1, $2)",
                                         p, NULL) : KEEL_ENOMEM;
    json_decref(p);
    return rc;
}

static int on_thing(keel_ctx *ctx, const keel_event *ev)
{
    /* every invocation, outside the transaction: shows redeliveries happened */
    json_t *p = json_pack("[s]", ev->key);
    if (p != NULL)
        keel_store_exec(keel_ctx_store(ctx), "INSERT INTO cons_calls (ikey) VALUES ($1)", p, NULL);
    json_decref(p);
    return keel_event_tx(ctx, ev, apply, (void *)ev);
}

static const keel_subscription cons_subs[] = {
    {.topic = "prod.thing", .handler = on_thing, .max_attempts = 1000}, {0}
};
static const keel_migration cons_migs[] = {
    {1, "0001_effects", "CREATE TABLE cons_effects (seq INTEGER PRIMARY KEY, ikey TEXT, n INTEGER);"
                        "CREATE TABLE cons_calls (seq INTEGER PRIMARY KEY, ikey TEXT);"},
    {0}
};
static const keel_module mod_cons = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs,
};
/* the same consumer with KEEL_SUB_BATCH: its rounds run in one transaction
 * (claim, handlers, completion: events_dispatch.c) */
static const keel_subscription cons_subs_batch[] = {
    {.topic = "prod.thing", .handler = on_thing, .max_attempts = 1000, .flags = KEEL_SUB_BATCH},
    {0}
};
static const keel_module mod_cons_batch = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs_batch,
};
static const keel_module *const mods_plain[] = { &mod_prod, &mod_cons, NULL };
static const keel_module *const mods_batch[] = { &mod_prod, &mod_cons_batch, NULL };
static const keel_module *const *mods = mods_plain;

static char dir[64], url[128];

static keel_runtime *child_rt(void)
{
    char db[160];
    char *envp[] = { db, "KEEL_LOG_LEVEL=error", "KEEL_EVENTS_LEASE_MS=300",
                     "KEEL_EVENTS_POLL_MS=20", "KEEL_EVENTS_BATCH=50", "KEEL_EVENTS_WORKERS=2",
                     "KEEL_STORE_BUSY_MS=20000", "KEEL_STORE_SYNC=normal", NULL };
    keel_runtime *rt = NULL;
    char err[512];

    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", url);
    if (keel__rt_new(mods, &rt, err, sizeof err) != 0 ||
        keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "child runtime: %s\n", err);
        _exit(2);
    }
    return rt;
}

typedef struct batch { keel_ctx *ctx; int from; } batch;

static int emit_batch(keel_store *tx, void *arg)
{
    batch *b = arg;
    int i, rc = 0;
    for (i = b->from; i < b->from + PER_TX && rc == 0; i++) {
        char key[32];
        json_t *p = json_pack("{si}", "n", i);
        snprintf(key, sizeof key, "e%05d", i);
        rc = keel_emit(b->ctx, tx, "prod.thing", p, key);
        json_decref(p);
    }
    return rc;
}

static void run_producer(void)
{
    keel_runtime *rt = child_rt();
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
    batch b;
    int rc;

    keel__ctx_set_callee(ctx, keel__rt_find(rt, "prod"));
    b.ctx = ctx;
    for (b.from = 0; b.from < EVENTS; b.from += PER_TX) {
        while ((rc = keel_store_tx(keel_module_store(keel__rt_find(rt, "prod")), emit_batch, &b))
               == KEEL_EUNAVAIL)
            usleep(1000);   /* busy: the consumer holds the write lock */
        if (rc != 0) {
            fprintf(stderr, "producer: %s\n", keel_strerror(rc));
            _exit(3);
        }
        usleep(3000);
    }
    keel__ctx_free(ctx);
    keel__rt_stop(rt);
    keel__rt_free(rt);
    _exit(0);
}

static pid_t start_consumer(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        keel_runtime *rt = child_rt();
        char err[256];
        if (keel__events_start(rt, err, sizeof err) != 0)
            _exit(4);
        for (;;)
            pause();
    }
    return pid;
}

/* SELECT returning one integer, through a plain connection (the parent
 * never starts a runtime, so forking stays clean). */
static long long q(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    const char *path = url + strlen("sqlite:");

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void kill9_consumer(void)
{
    pid_t prod, cons;
    int kills = 0, status;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    time_t give_up = time(NULL) + 120;
    long long effects = 0, distinct, calls, outbox, dead, inbox;

    print_message("seed %u\n", seed);
    srand(seed);
    assert_int_equal(keel_test_tmppath(dir, sizeof dir, url, sizeof url, "evcrash",
                                       "sqlite:%s/keel.db"), 0);
    /* create the schema once before the race */
    if ((prod = fork()) == 0) {
        keel_runtime *rt = child_rt();
        keel__rt_stop(rt);
        keel__rt_free(rt);
        _exit(0);
    }
    assert_int_equal(waitpid(prod, &status, 0), prod);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    if ((prod = fork()) == 0)
        run_producer();
    cons = start_consumer();
    while (time(NULL) < give_up) {
        int alive = waitpid(prod, &status, WNOHANG) == 0;
        if (!alive && prod > 0) {
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            prod = 0;
        }
        if (kills >= KILLS && prod == 0)
            break;
        usleep(100000 + (useconds_t)(rand() % 300000));
        if (waitpid(cons, &status, WNOHANG) == cons)
            fail_msg("the consumer exited by itself (status %d)", status);
        kill(cons, SIGKILL);
        waitpid(cons, &status, 0);
        kills++;
        cons = start_consumer();
    }
    if (prod > 0) {
        kill(prod, SIGKILL);
        waitpid(prod, &status, 0);
        fail_msg("producer did not finish in time");
    }
    /* the last consumer finishes the queue */
    while (time(NULL) < give_up && (q("SELECT count(*) FROM prod_outbox") != 0 ||
                                    q("SELECT count(*) FROM cons_effects") < EVENTS)) {
        if (waitpid(cons, &status, WNOHANG) == cons)
            fail_msg("the consumer exited by itself (status %d)", status);
        usleep(50000);
    }
    kill(cons, SIGKILL);
    waitpid(cons, &status, 0);

    effects = q("SELECT count(*) FROM cons_effects");
    distinct = q("SELECT count(DISTINCT ikey) FROM cons_effects");
    calls = q("SELECT count(*) FROM cons_calls");
    outbox = q("SELECT count(*) FROM prod_outbox");
    inbox = q("SELECT count(*) FROM cons_inbox");
    dead = q("SELECT count(*) FROM keel_dead_letters");
    print_message("%d kills; %lld effects, %lld distinct, %lld handler calls "
                  "(%lld redeliveries), outbox %lld, inbox %lld, dead %lld\n",
                  kills, effects, distinct, calls, calls - effects, outbox, inbox, dead);
    assert_true(kills >= KILLS);
    assert_int_equal(effects, EVENTS);
    assert_int_equal(distinct, EVENTS);
    assert_int_equal(inbox, EVENTS);
    assert_int_equal(outbox, 0);
    assert_int_equal(dead, 0);
    assert_true(calls >= effects);
    keel_test_rmtree(dir);
}

static void test_kill9_consumer(void **state)
{
    (void)state;
    mods = mods_plain;
    kill9_consumer();
}

static void test_kill9_consumer_batch(void **state)
{
    (void)state;
    mods = mods_batch;
    kill9_consumer();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_consumer),
        cmocka_unit_test(test_kill9_consumer_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
