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
 * The processes and the race are tests/fakes/evcrash.c, shared with
 * test_events_replicas_pg (the same on PostgreSQL with three consumers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "keel/keel.h"
#include "fakes/evcrash.h"
#include "fakes/tmpdir.h"

#define EVENTS  10000
#define PER_TX  25
#define KILLS   5

static const keel_module *const *mods = keel_evcrash_mods_plain;
static char dir[64], url[128];

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
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    keel_evcrash c = { url, mods, EVENTS, PER_TX, 0, 0 };
    keel_evcrash_race r = { .consumers = 1, .kills = KILLS, .seconds = 120, .q = q };

    print_message("seed %u\n", seed);
    srand(seed);
    assert_int_equal(keel_test_tmppath(dir, sizeof dir, url, sizeof url, "evcrash",
                                       "sqlite:%s/keel.db"), 0);
    /* create the schema once before the race */
    assert_int_equal(keel_evcrash_migrate(&c), 0);
    if (keel_evcrash_run(&c, &r) != 0)
        fail_msg("%s", r.failure);
    print_message("%d kills; %lld effects, %lld distinct, %lld handler calls "
                  "(%lld redeliveries), outbox %lld, inbox %lld, dead %lld\n",
                  r.killed, r.effects, r.distinct, r.calls, r.calls - r.effects, r.outbox,
                  r.inbox, r.dead);
    assert_true(r.killed >= KILLS);
    assert_int_equal(r.effects, EVENTS);
    assert_int_equal(r.distinct, EVENTS);
    assert_int_equal(r.inbox, EVENTS);
    assert_int_equal(r.outbox, 0);
    assert_int_equal(r.dead, 0);
    assert_true(r.calls >= r.effects);
    keel_test_rmtree(dir);
}

static void test_kill9_consumer(void **state)
{
    (void)state;
    mods = keel_evcrash_mods_plain;
    kill9_consumer();
}

static void test_kill9_consumer_batch(void **state)
{
    (void)state;
    mods = keel_evcrash_mods_batch;
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
