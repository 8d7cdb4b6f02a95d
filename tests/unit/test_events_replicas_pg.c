/*
 * test_events_replicas_pg.c — several dispatchers on one PostgreSQL
 * database share the work, and kill -9 loses nothing and applies nothing
 * twice.
 *
 * The race of test_events_crash (tests/fakes/evcrash.c) with three consumer
 * processes on one database: they claim with FOR UPDATE SKIP LOCKED
 * (events_pg.c), one of them, chosen at random, is killed with SIGKILL at
 * random moments at least KILLS times and restarted.  Events carry one of
 * NKEYS ordering keys.  At the end every event was applied exactly once
 * (cons_effects has no unique constraint: a double application would show;
 * the inbox has one key per event), the outbox is empty, nothing is dead,
 * and per ordering key the effects were applied in emission order.
 * A killed consumer's claimed rows come back when its 300 ms lease lapses.
 * Then named locks across processes: one process holds a lock and is killed
 * with SIGKILL; another cannot take it before, and takes it after (the
 * server ends the dead process's session and its advisory locks with it).
 * Skipped (77) without a PostgreSQL cluster (pgtest.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/ctx-internal.h"
#include "fakes/evcrash.h"
#include "fakes/pgtest.h"

#define EVENTS    10000
#define PER_TX    100
#define NKEYS     64
#define CONSUMERS 3
#define KILLS     6

static char url[512];

static long long q(const char *sql)
{
    return keel_test_pg_int(url, sql);
}

static void test_replicas_kill9(void **state)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    keel_evcrash c = { url, keel_evcrash_mods_plain, EVENTS, PER_TX, NKEYS, 1 };
    keel_evcrash_race r = { .consumers = CONSUMERS, .kills = KILLS, .seconds = 240, .q = q };
    (void)state;

    print_message("seed %u\n", seed);
    srand(seed);
    assert_int_equal(keel_evcrash_migrate(&c), 0);
    if (keel_evcrash_run(&c, &r) != 0)
        fail_msg("%s", r.failure);
    print_message("%d kills of %d replicas; %lld effects, %lld distinct, %lld handler calls "
                  "(%lld redeliveries), outbox %lld, inbox %lld, dead %lld, out of order %lld\n",
                  r.killed, CONSUMERS, r.effects, r.distinct, r.calls, r.calls - r.effects,
                  r.outbox, r.inbox, r.dead, r.out_of_order);
    assert_true(r.killed >= KILLS);
    assert_int_equal(r.effects, EVENTS);
    assert_int_equal(r.distinct, EVENTS);
    assert_int_equal(r.inbox, EVENTS);
    assert_int_equal(r.outbox, 0);
    assert_int_equal(r.dead, 0);
    assert_int_equal(r.out_of_order, 0);
    assert_true(r.calls >= r.effects);
}

/* A child process that runs keel_lock("reindex", timeout_ms) and, when told
 * to hold, writes one byte to fd once it has the lock and waits to be
 * killed; else exits 0 if it got the lock, 1 if not. */
static pid_t lock_child(int64_t timeout_ms, int hold, int fd)
{
    keel_evcrash c = { url, keel_evcrash_mods_plain, 0, 1, 0, 1 };
    pid_t pid = fork();
    if (pid == 0) {
        keel_runtime *rt = keel_evcrash_rt(&c);
        keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
        int rc;
        keel__ctx_set_callee(ctx, keel__rt_find(rt, "prod"));
        rc = keel_lock(ctx, "reindex", timeout_ms);
        if (hold) {
            if (rc != 0 || write(fd, "!", 1) != 1)
                _exit(3);
            for (;;)
                pause();
        }
        _exit(rc == 0 ? 0 : 1);   /* exiting closes the session: the lock goes */
    }
    return pid;
}

static int exit_code(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void test_lock_dies_with_holder(void **state)
{
    int fds[2];
    char b;
    pid_t holder;
    (void)state;

    assert_int_equal(pipe(fds), 0);
    holder = lock_child(0, 1, fds[1]);
    assert_int_equal(read(fds[0], &b, 1), 1);       /* it holds the lock */
    assert_int_equal(exit_code(lock_child(200, 0, -1)), 1);   /* busy: timed out */
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    assert_int_equal(exit_code(lock_child(5000, 0, -1)), 0);  /* released by the server */
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicas_kill9),
        cmocka_unit_test(test_lock_dies_with_holder),
    };
    int rc;

    if (keel_test_pg_db(url, sizeof url, "evreplicas") != 0)
        return KEEL_TEST_SKIP;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    keel_test_pg_drop(url);
    return rc;
}
