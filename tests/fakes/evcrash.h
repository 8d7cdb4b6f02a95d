/*
 * evcrash.h — the producer and consumer processes of the kill -9 tests
 * (test_events_crash on SQLite, test_events_replicas_pg on PostgreSQL).
 *
 * Module "prod" emits prod.thing {"n": i} with key e<i> (and, with nkeys,
 * ordering key h<i % nkeys>); module "cons" applies each event once through
 * keel_event_tx as one row of cons_effects (seq, ikey, okey, n: no unique
 * constraint, so a double application shows) and logs every handler call,
 * applied or not, in cons_calls.  Processes are forked; the parent never
 * starts a runtime, so forking stays clean.
 */
#ifndef KEEL_TEST_EVCRASH_H
#define KEEL_TEST_EVCRASH_H

#include <sys/types.h>

#include "keel/module.h"
#include "core/runtime-internal.h"

typedef struct keel_evcrash {
    const char               *url;     /* KEEL_DATABASE_URL */
    const keel_module *const *mods;    /* keel_evcrash_mods_plain or _batch */
    int                       events;  /* emitted by the producer */
    int                       per_tx;  /* events per producer transaction */
    int                       nkeys;   /* 0 = no ordering key */
    int                       pg;      /* tables are schema-qualified (PostgreSQL) */
} keel_evcrash;

/* The race and what it left in the database. */
typedef struct keel_evcrash_race {
    int        consumers;   /* in: running at once */
    int        kills;       /* in: at least this many kill -9 (a random consumer each) */
    int        seconds;     /* in: give up after */
    long long (*q)(const char *sql);   /* in: one integer from the database, -1 on error */
    /* out */
    int        killed;
    long long  effects, distinct, calls, outbox, inbox, dead;
    long long  out_of_order;   /* effects applied before an earlier one of their key */
    char       failure[200];   /* why the race itself failed, "" if it did not */
} keel_evcrash_race;

/* cons as a plain subscriber (claim, handler, completion commit apart) or
 * with KEEL_SUB_BATCH (one transaction per round on SQLite). */
extern const keel_module *const keel_evcrash_mods_plain[];
extern const keel_module *const keel_evcrash_mods_batch[];

/* In a child: a started runtime (lease 300 ms, poll 20 ms, batch 50,
 * 2 workers); _exit(2) when it cannot start. */
keel_runtime *keel_evcrash_rt(const keel_evcrash *c);
/* Forks a child that creates the schema and exits; 0 when it did. */
int keel_evcrash_migrate(const keel_evcrash *c);
/* Forks the producer: c->events events in transactions of c->per_tx, a
 * pause of 3 ms between them; exits 0 when all are committed. */
pid_t keel_evcrash_producer(const keel_evcrash *c);
/* Forks a consumer: dispatches until killed. */
pid_t keel_evcrash_consumer(const keel_evcrash *c);

/* The whole race: the producer and r->consumers consumers start; until the
 * producer is done and r->kills kills happened, a random consumer is killed
 * with SIGKILL every 100–400 ms (rand(): seed it) and restarted; then the
 * consumers drain the queue, are killed, and the counts are read.  0, or -1
 * with r->failure set.  The schema must exist (keel_evcrash_migrate). */
int keel_evcrash_run(const keel_evcrash *c, keel_evcrash_race *r);

#endif /* KEEL_TEST_EVCRASH_H */
