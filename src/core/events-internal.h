/*
 * events-internal.h — the event/job machinery shared by events.c (setup),
 * events_emit.c (emit, enqueue, inbox), events_dispatch.c (the dispatcher
 * threads), events_admin.c (keel jobs, statistics) and locks.c.  See keel/events.h and docs/events.md.
 *
 * Tables (recorded in keel_migrations as module "keel.events" and
 * "keel.events.<module>"; on SQLite created on the core's connection, on
 * PostgreSQL in the module's schema by its role: events_pg.c):
 *   <m>_outbox   one row per (event, subscriber) or job; the queue itself.
 *                run_at is the next moment the row may be claimed: a claim
 *                sets it to now + lease, a failure to now + backoff, so an
 *                expired lease needs no sweeper.  A completed row is deleted.
 *   <m>_inbox    (topic, ikey) a subscriber has applied (keel_event_tx).
 *   keel_dead_letters  deliveries that failed max_attempts times.
 * The core's connection may touch <m>_outbox/<m>_inbox of every module (the
 * SQLite guard allows the core those two names, nothing else of a module;
 * on PostgreSQL the login is a member of every module role: events_pg.c).
 */
#ifndef KEEL_EVENTS_INTERNAL_H
#define KEEL_EVENTS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <jansson.h>

#include "keel/events.h"
#include "core/runtime-internal.h"
#include "core/schema-internal.h"
#include "core/metrics-internal.h"

/* Per-module statements, with the module's table names filled in. */
enum keel__ev_stmt {
    KEEL__EV_INSERT,     /* module connection: keel_emit / keel_jobs_enqueue */
    KEEL__EV_INBOX,      /* module connection: keel_event_tx */
    KEEL__EV_CLAIM,      /* core connection from here on */
    KEEL__EV_COMPLETE,
    KEEL__EV_RESCHEDULE,
    KEEL__EV_DEAD,
    KEEL__EV_DEAD_DEL,
    KEEL__EV_LIST,
    KEEL__EV_SHOW,
    KEEL__EV_STATS,
    KEEL__EV_UNDEAD,
    KEEL__EV_PICK,       /* one-transaction rounds: the claim as a read */
    KEEL__EV_BUMP,       /* one-transaction rounds: a failed pick's attempt */
    KEEL__EV_INBOX_MANY, /* subscriber's connection: a batch's keys, one statement */
    KEEL__EV_INBOX_DEL,  /* ... and a failed delivery's key taken back */
    KEEL__EV_INBOX_PRUNE,/* core connection: keys applied before $1, $2 at a time */
    KEEL__EV_NSTMT
};

/* A module with an outbox and an inbox (it emits, subscribes or has jobs). */
typedef struct keel__ev_box {
    keel_module_ctx *mc;
    char            *sql[KEEL__EV_NSTMT];  /* owned */
    /* subscribers started here that receive from this outbox (its topics'
     * subscribers, and the module itself for its jobs): the dispatcher
     * claims per subscriber.  Array owned, names borrow descriptors. */
    const char     **claim_subs;
    keel_module_ctx **claim_tx;   /* [k]: claim_subs[k] if its rounds run in
                                   * one transaction on its store, else NULL */
    size_t           nclaim;
    char            *emit_chunk;  /* owned: KEEL__EV_INSERT for KEEL__EV_EMIT_CHUNK rows */
    /* the outbox's gauges for /metrics, refreshed by the dispatcher
     * (keel__ev_refresh_gauges) and only read by a scrape, which never runs
     * SQL: rows queued, min(created_at) of them (wall ms, 0 = none), rows
     * retrying, dead letters; at_ms = when read (0 = never: not shown) */
    _Atomic int64_t  g_queued, g_oldest_ms, g_retrying, g_dead, g_at_ms;
} keel__ev_box;

/* Deliveries of one subscribing module since start (relaxed atomics: added
 * once per round by the thread that ran it, summed by a scrape). */
typedef struct keel__ev_mstat {
    _Atomic uint64_t handled, failed, retried, dead;
} keel__ev_mstat;

/* Rows per multi-row emit INSERT (events_emit.c): 900 parameters, under
 * SQLite's 32766 and PostgreSQL's 65535. */
#define KEEL__EV_EMIT_CHUNK 100
/* insert (KEEL__EV_INSERT's text) made an INSERT of n rows; malloc'd. */
char *keel__ev_multi_sql(const char *insert, size_t n);

/* An emitted topic: who emits it, its schema, who receives it. */
typedef struct keel__ev_topic {
    const keel_topic  *t;
    keel_module_ctx   *emitter;
    keel__ev_box      *box;       /* the emitter's */
    keel_schema       *schema;    /* NULL = any object */
    keel_module_ctx  **subs;      /* subscribing modules, nsubs of them */
    size_t             nsubs;
} keel__ev_topic;

typedef struct keel__ev_lock {
    char                 *name;
    struct keel__ev_lock *next;
} keel__ev_lock;

typedef struct keel__events {
    keel_runtime   *rt;
    keel_store     *core;          /* the core's connection (owned) */
    int             pg;            /* PostgreSQL: events_pg.c's statements */
    keel__ev_box   *boxes;
    size_t          nboxes;
    keel__ev_topic *topics;
    size_t          ntopics;
    size_t          topics_cap;    /* allocated entries (each with its subs array) */
    /* configuration (core keys events_*) */
    int             workers, batch, max_attempts;
    int64_t         lease_ms, poll_ms, backoff_ms, backoff_max_ms, call_timeout_ms;
    int64_t         inbox_retention_ms;   /* 0 = inbox keys are kept forever */
    /* dispatcher */
    pthread_mutex_t mu;
    pthread_cond_t  cv;            /* wake-ups: emits, stop */
    uint64_t        wake_seq;
    int             claiming;      /* 0 once quiesced */
    int             nthreads;
    pthread_t      *threads;
    /* counters since start: [i] for rt->mods[i] as the subscriber */
    keel__ev_mstat *mstat;
    /* the next wall ms a dispatcher thread refreshes the outboxes' gauges */
    _Atomic int64_t gauges_next_ms;
    /* the next wall ms a dispatcher thread prunes the inboxes */
    _Atomic int64_t prune_next_ms;
    /* named locks: in-process, plus (PostgreSQL) session advisory locks
     * on one connection of their own, opened on first use (locks.c) */
    pthread_mutex_t lk_mu;
    pthread_cond_t  lk_cv;
    keel__ev_lock  *locks;
    pthread_mutex_t lk_pg_mu;      /* serialises lk_store */
    keel_store     *lk_store;      /* owned; NULL until a lock is taken on PostgreSQL */
} keel__events;

/* Opens the core connection, checks every descriptor's topics and
 * subscriptions, creates the tables and builds the statements.  Called by
 * keel__rt_start / keel__rt_migrate once the module stores are open; a
 * no-op when no built-in module emits or subscribes (rt keeps NULL).
 * core: a core handle (ns NULL, rt's store options) the runtime already
 * opened on the same database, or NULL; taken (*core = NULL) when the
 * events need one, so they open no second.
 * KEEL_ECONFIG/KEEL_EDEP with a message naming the module. */
int  keel__events_open(keel_runtime *rt, keel_store **core, char *err, size_t errlen);
/* Starts the dispatcher threads (keel serve, tests, benchmarks).  Modules
 * must be started.  No-op if nothing subscribes locally or events_dispatch
 * is false. */
int  keel__events_start(keel_runtime *rt, char *err, size_t errlen);
/* Stops claiming (shutdown step "the dispatcher stops claiming"). */
void keel__events_quiesce(keel_runtime *rt);
/* Quiesces, then waits for in-flight handlers and joins the threads. */
void keel__events_stop(keel_runtime *rt);
/* Stops, closes the core connection and frees everything.  Idempotent. */
void keel__events_close(keel_runtime *rt);

/* {"queued":N,"oldest_age_ms":N,"retrying":N,"dead":N} for module m's
 * outbox, or NULL when m has none (new reference).  The seam /metrics
 * reads too, with keel__events_counters for the process totals. */
json_t *keel__events_module_stats(keel_runtime *rt, const char *module);
/* {"handled":N,"failed":N,"retried":N,"dead_lettered":N} since start, of
 * every subscriber (module NULL) or of module's deliveries; NULL when there
 * are no events or no such module. */
json_t *keel__events_counters(keel_runtime *rt, const char *module);
/* The keel_events_* families of rt for /metrics: counters by subscriber,
 * gauges by outbox as the dispatcher last read them.  Runs no SQL. */
void    keel__events_metrics(keel_runtime *rt, keel_metrics_buf *b);
/* Reads every outbox's depth, oldest row, retrying rows and dead letters
 * into its gauges, if KEEL__EV_GAUGE_MS have passed since the last read
 * (or force); dispatcher threads call it as they poll. */
void    keel__ev_refresh_gauges(keel__events *ev, int force);
#define KEEL__EV_GAUGE_MS 1000
/* Deletes every inbox's keys applied more than events_inbox_retention_ms
 * ago, KEEL__EV_PRUNE_BATCH per statement (each its own transaction, so the
 * write lock is not held across the whole prune), if KEEL__EV_PRUNE_MS have
 * passed since the last prune (or force).  Dispatcher threads call it as
 * they poll.  Returns the keys deleted. */
long    keel__ev_prune_inboxes(keel__events *ev, int force);
#define KEEL__EV_PRUNE_MS    1000
#define KEEL__EV_PRUNE_BATCH 1000
#define KEEL__EV_PRUNE_PASS  100

/* ---- shared helpers (events.c) ------------------------------------------- */
keel__events   *keel__events_of(keel_runtime *rt);
keel__ev_box   *keel__ev_box_find(keel__events *ev, const char *module);
keel__ev_topic *keel__ev_topic_find(keel__events *ev, const char *topic);
const keel_subscription *keel__ev_sub_find(const keel_module *m, const char *topic);
/* Wall clock, ms since the epoch (rows are shared across processes). */
int64_t keel__wall_ms(void);
/* Wakes the dispatcher (an emit committed). */
void    keel__events_wake(keel__events *ev);

/* ---- PostgreSQL dialect (events_pg.c) ------------------------------------ */
/* The PostgreSQL form of statement stmt ('@' = module name). */
const char *keel__ev_pg_template(int stmt);
/* A JSON array of ids, [1,2], made a PostgreSQL array literal {1,2} in place. */
void        keel__ev_ids_param(char *ids);
/* keel_dead_letters created through admin (database_admin_url) and granted
 * to url's login; 0 or KEEL_E* with err set. */
int         keel__ev_pg_admin_core(keel__events *ev, const char *admin, const char *url,
                                   const keel_migration *migs, char *err, size_t errlen);
/* Closes the named locks' connection (locks.c; events.c's teardown). */
void        keel__locks_close(keel__events *ev);

/* ---- one delivery (events_deliver.c) ------------------------------------ */

/* A dispatcher thread. */
typedef struct keel__ev_worker {
    keel__events *ev;
    int           index;
    uint64_t      rnd;    /* splitmix64 state for jitter */
} keel__ev_worker;

/* The delivery of one claimed row as the handler sees it (fields borrow
 * from row; payload and principal are parsed into the given slots). */
typedef struct keel__ev_one {
    keel_event                e;
    keel_module_ctx          *sub;
    const keel_subscription  *s;
    json_t                   *payload;
    char                      msg[600];   /* why it failed */
} keel__ev_one;

/* What one round did, added to the process counters once it has committed. */
typedef struct keel__ev_counts {
    uint64_t handled, failed, retried, dead;
} keel__ev_counts;

/* A batch round's transaction on a subscriber's store, joined by the
 * keel_event_tx calls of the handler running in it on this thread: they run
 * on tx without a savepoint of their own, because what encloses the handler
 * (its savepoint in a one-transaction round, the whole group in a split
 * round) is undone when the delivery fails, and a failed keel_event_tx fails
 * the delivery even if the handler returns 0 (failed keeps its code).  Saves
 * a SAVEPOINT/RELEASE pair per event: two statements on SQLite, two round
 * trips on PostgreSQL. */
typedef struct keel__ev_join {
    keel_store *root;     /* the subscriber's store */
    keel_store *tx;       /* the round's transaction on it */
    int         failed;   /* first failing keel_event_tx's code, 0 = none */
    /* The delivery's inbox key was recorded with its batch's
     * (keel__ev_inbox_batch) when topic is set: keel_event_tx then only
     * runs fn if fresh (the key was new), once. */
    const char *topic, *key;
    int         fresh;
} keel__ev_join;
/* Set by the dispatcher around a handler (events_dispatch.c), read by
 * keel_event_tx (events_emit.c); NULL elsewhere. */
extern _Thread_local keel__ev_join *keel__ev_joined;

/* Runs the handler of row (in box's outbox) on the calling thread, as the
 * row's principal.  0, or the failure code with o->msg set.  o->payload is
 * the caller's to json_decref. */
int  keel__ev_run(keel__ev_worker *w, keel__ev_box *box, const json_t *row, keel__ev_one *o);
/* A failed delivery, on st (the core's connection, or a subscriber's
 * transaction with queue access): rescheduled with backoff, or moved to
 * keel_dead_letters once its attempts are spent; counted in cnt. */
void keel__ev_fail(keel__ev_worker *w, keel__ev_box *box, keel__ev_one *o, keel_store *st,
                   keel__ev_counts *cnt);
/* keel__ev_run, then keel__ev_fail on the core's connection if it failed.
 * 1 = completed, 0 = failed. */
int  keel__ev_deliver(keel__ev_worker *w, keel__ev_box *box, const json_t *row,
                      keel__ev_counts *cnt);
/* Records the inbox keys (topic, ikey) of rows[0..n) for subscriber sub in
 * one statement on tx (the round's transaction on sub's store); fresh[i] = 1
 * when row i's key was new, 0 when an earlier delivery applied it.  0 or
 * KEEL_E* (then deliver the rows with keel_event_tx's own inbox insert). */
int  keel__ev_inbox_batch(keel__events *ev, keel_store *tx, const char *sub,
                          json_t *const *rows, size_t n, char *fresh);
/* Takes a recorded key back (its delivery failed inside the round). */
int  keel__ev_inbox_undo(keel__events *ev, keel_store *tx, const char *sub, const json_t *row);
/* Adds c to subscriber sub's counters (lock-free: relaxed atomics). */
void keel__ev_count(keel__events *ev, const char *sub, const keel__ev_counts *c);

#endif /* KEEL_EVENTS_INTERNAL_H */
