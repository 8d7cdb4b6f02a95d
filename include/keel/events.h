/*
 * keel/events.h — durable events, background jobs and named locks, without
 * a broker: the queue is a table in the store.
 *
 * Emitting.  keel_emit(ctx, tx, topic, payload, key) inserts one row per
 * subscriber into the emitting module's outbox table <module>_outbox, on the
 * caller's transaction handle: the event exists if and only if the caller's
 * writes commit.  The payload is validated against the topic's schema
 * (keel_topic.schema, a JSON file embedded like method schemas) and the row
 * records the caller's principal; the handler later runs as that principal.
 *
 * Delivering.  The dispatcher (threads started by `keel serve` after every
 * module started, stopped before any module stops; never in one-shot CLI
 * commands) claims due rows in batches with a lease, runs the subscriber's
 * handler and deletes the rows it completed.  Guarantees:
 *   - at least once: a handler may see an event again (crash, lease expiry);
 *     writes made through keel_event_tx apply at most once, because the
 *     subscriber's inbox (<module>_inbox) records the key in the same
 *     transaction;
 *   - per ordering key (keel_emit_opts.order_key) commit order: an event is
 *     not claimed while an older event with the same key and subscriber is
 *     still queued, retrying or leased; a dead-lettered one releases them;
 *     events without a key are unordered;
 *   - failures are retried with capped exponential backoff and jitter; after
 *     max_attempts the delivery moves to the dead-letter table (keel jobs
 *     list|show|retry|purge, or POST /v1/jobs/… as an admin);
 *   - a process killed with its work leased loses nothing: the lease expires
 *     (events_lease_ms) and the rows are claimed again.
 * On SQLite one process dispatches at a time in practice (writers serialise);
 * on PostgreSQL replicas share the claims with FOR UPDATE SKIP LOCKED
 * (docs/events.md).
 *
 * Ownership follows jansson's words, as everywhere in keel.
 */
#ifndef KEEL_EVENTS_H
#define KEEL_EVENTS_H

#include <stdint.h>
#include <jansson.h>

#include "keel/module.h"
#include "keel/store.h"

/* One delivery, as a handler sees it.  Every pointer is borrowed for the
 * handler call. */
struct keel_event {
    int64_t       id;           /* row id in the emitter's outbox */
    const char   *topic;        /* "riding.session_uploaded", or the job kind */
    const char   *emitter;      /* module whose outbox held it */
    const json_t *payload;      /* validated against the topic schema at emit */
    const char   *key;          /* idempotency key (never NULL) */
    const char   *order_key;    /* NULL = unordered */
    int           attempt;      /* 1 on the first delivery */
    int           max_attempts; /* the delivery dead-letters after this attempt fails */
    int64_t       emitted_ms;   /* wall clock, ms since the epoch */
};

/* Options of keel_emit_ex; zero = default. */
typedef struct keel_emit_opts {
    const char *order_key;  /* events with the same key reach each subscriber in commit order */
    int64_t     delay_ms;   /* deliver no sooner than now + delay_ms */
} keel_emit_opts;

/* Emits topic (declared in the caller's module's keel_module.topics) with
 * payload (borrowed; an object valid for the topic's schema) on tx (the
 * caller module's store, or the tx handle inside keel_store_tx).  key: the
 * idempotency key (borrowed; NULL = a fresh random one); emitting the same
 * key twice while the first is still queued inserts nothing.  Topics nobody
 * subscribes to are accepted and store nothing.  0, or KEEL_EINVAL (unknown
 * topic, another module's topic, payload not matching the schema, key longer
 * than 200 bytes; message on ctx), or the store's error. */
int keel_emit(keel_ctx *ctx, keel_store *tx, const char *topic, const json_t *payload,
              const char *key);
/* keel_emit with options (opts may be NULL). */
int keel_emit_ex(keel_ctx *ctx, keel_store *tx, const char *topic, const json_t *payload,
                 const char *key, const keel_emit_opts *opts);

/* Enqueues a job of kind (a KEEL_SUB_JOB subscription of the caller's module)
 * for the caller's module, due at run_at_ms (wall clock ms; 0 = now).
 * payload: borrowed object (NULL = {}).  key: idempotency key as in keel_emit
 * (NULL = random).  Uses the module's store outside any transaction; to
 * enqueue atomically with other writes use keel_jobs_enqueue_tx. */
int keel_jobs_enqueue(keel_ctx *ctx, const char *kind, const json_t *payload,
                      int64_t run_at_ms, const char *key);
int keel_jobs_enqueue_tx(keel_ctx *ctx, keel_store *tx, const char *kind, const json_t *payload,
                         int64_t run_at_ms, const char *key);

/* Runs fn(tx, arg) in one transaction on the subscriber's store together with
 * the record of (ev->topic, ev->key) in <module>_inbox.  If the key is
 * already recorded (a redelivery of work that committed), fn is not called
 * and 0 is returned: nothing applies twice.  fn's non-zero code rolls back
 * both and is returned. */
int keel_event_tx(keel_ctx *ctx, const keel_event *ev,
                  int (*fn)(keel_store *tx, void *arg), void *arg);

/* ---- named locks ----------------------------------------------------------
 * keel_lock waits up to timeout_ms (0 = try once, < 0 = forever) for the lock
 * called name (any string up to 200 bytes; share a prefix with the module
 * name by convention) and holds it until keel_unlock.  In-process (a mutex
 * table) on SQLite; pg_advisory_lock on PostgreSQL (released by the server
 * when the holder's connection dies).  Not re-entrant: locking a name the
 * caller's thread holds waits like anyone else.  0, KEEL_ETIMEDOUT, or
 * KEEL_EINVAL. */
int keel_lock(keel_ctx *ctx, const char *name, int64_t timeout_ms);
/* Releases name; KEEL_ENOTFOUND if it is not held. */
int keel_unlock(keel_ctx *ctx, const char *name);

/* ---- administration (the jobs module serves these; callers must be admins)
 * Every *out is a new reference (caller frees), NULL on error. */

/* {"queued":[…], "dead":[…]} rows without payloads.  filter (borrowed, may be
 * NULL): {"state":"queued"|"dead"|"all", "module":…, "topic":…, "limit":N}. */
int keel_jobs_list(keel_ctx *ctx, const json_t *filter, json_t **out);
/* One row with its payload and last error: state "queued" (module + id in
 * that module's outbox) or "dead" (id in the dead-letter table). */
int keel_jobs_show(keel_ctx *ctx, const char *state, const char *module, int64_t id, json_t **out);
/* Moves dead letter id (0 = all of them) back to its outbox with attempts 0,
 * due now.  *out = {"retried":N}. */
int keel_jobs_retry(keel_ctx *ctx, int64_t id, json_t **out);
/* Deletes dead letter id (0 = all).  *out = {"purged":N}. */
int keel_jobs_purge(keel_ctx *ctx, int64_t id, json_t **out);

#endif /* KEEL_EVENTS_H */
