/*
 * store-internal.h — what the runtime needs from the store beyond keel/store.h:
 * opening by URL, migrations, and the privileged paths migrations use.
 *
 * Modules never include this.  The runtime (src/core/runtime.c) opens one
 * handle per module with keel__store_open_url(url, module_name, …), runs
 * keel__store_migrate on it, and hands it out as keel_module_store().
 */
#ifndef KEEL_STORE_INTERNAL_H
#define KEEL_STORE_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

#include "keel/module.h"
#include "keel/store.h"

/* Options of a store handle (zero = backend default), from the configuration. */
typedef struct keel_store_opts {
    int         busy_ms;              /* wait this long for another writer (SQLite busy timeout) */
    int         no_cache;             /* 1: prepare every statement afresh (measurements) */
    const char *sync;                 /* "off", "normal", "full" or "extra"; NULL = "full" */
    int         pool_size;            /* connections per handle (PostgreSQL; SQLite: 1); 0 = 4 */
    int         statement_timeout_ms; /* PostgreSQL statement_timeout, and the longest wait
                                       * for a free pooled connection; 0 = 30000 */
    const char *grant_to;             /* provisioning with an admin URL: the runtime login
                                       * that gets each module role (NULL = none) */
    int         checkpoint_pages;     /* SQLite: a background thread checkpoints once the
                                       * log holds this many pages (store_sqlite_ckpt.c);
                                       * 0 = SQLite's own, on the committing connection */
    int         group_commit;         /* SQLite at sync "full": commits share syncs of the
                                       * log (store_sqlite_gsync.c); 0 = one sync each */
} keel_store_opts;

/* Opens a store handle choosing the backend by URL scheme:
 *   "sqlite:PATH", "sqlite://PATH" or a plain path  → keel_store_sqlite
 *   "postgres://…", "postgresql://…"                 → keel_store_postgres
 *   any other "scheme://…"                           → KEEL_ECONFIG
 * ns: module name (tables <ns>_*) or NULL for the core (tables keel_*);
 * borrowed.  opts: borrowed, NULL = defaults.  *st new (keel_store_close
 * frees), NULL on error; message in err. */
int keel__store_open_url(const char *url, const char *ns, keel_store **st,
                         char *err, size_t errlen);
int keel__store_open_url_opts(const char *url, const char *ns, const keel_store_opts *opts,
                              keel_store **st, char *err, size_t errlen);
/* As keel__store_open_url_opts, but the handle holds no connection yet: the
 * first statement opens it.  For a database this process has already opened
 * with the same url and opts (so both are known to work), whose schema this
 * handle need not touch at start (keel__store_migrations_current). */
int keel__store_open_url_lazy(const char *url, const char *ns, const keel_store_opts *opts,
                              keel_store **st, char *err, size_t errlen);
/* 1 if url names a PostgreSQL database. */
int keel__store_url_is_pg(const char *url);
/* The login (user) a postgres url names, into buf.  KEEL_ECONFIG (message in
 * err) when the url is invalid or names none. */
int keel__store_pg_url_user(const char *url, char *buf, size_t len, char *err, size_t errlen);

/* Applies the pending migrations of module (migs: borrowed, {0}-terminated,
 * NULL = none) on st.  Creates keel_migrations(module, version, name,
 * applied_at, PRIMARY KEY(module, version)) if needed.  Each pending migration
 * (version > the recorded maximum) runs in its own transaction together with
 * its record row: a failing migration leaves nothing behind.  Versions must be
 * >= 1 and strictly increasing, else KEEL_ECONFIG naming the migration.
 * *applied (may be NULL) = how many ran.  0 or KEEL_E* with a message in err
 * naming module and migration. */
int keel__store_migrate(keel_store *st, const char *module, const keel_migration *migs,
                        int *applied, char *err, size_t errlen);

/* `keel backup`: copies the SQLite database url names to dest (a new file,
 * mode 0600; never overwritten: KEEL_ECONFLICT if it exists) with VACUUM
 * INTO, a consistent snapshot taken while others keep writing.  KEEL_EINVAL
 * for a PostgreSQL or in-memory url, KEEL_EIO/KEEL_ESTORE otherwise, with a
 * message in err; a failed copy leaves no file behind. */
int keel__store_sqlite_backup(const char *url, const char *dest, char *err, size_t errlen);

/* Status for `keel migrate --status`: *out = new reference to
 * {"module":…, "current":N, "pending":M,
 *  "migrations":[{"version":1,"name":"0001_x","applied":true,"applied_at":"…"},…]}
 * (also lists recorded versions unknown to this binary with "unknown":true). */
int keel__store_migrations_status(keel_store *st, const char *module,
                                  const keel_migration *migs, json_t **out);

/* Every recorded migration, read through core (a SQLite handle with ns
 * NULL; creates keel_migrations if needed): *rows new,
 * [{"module":…, "version":N, "name":…}, …].  0 or KEEL_E*. */
int keel__store_migrations_all(keel_store *core, json_t **rows);
/* 1 when rows (from keel__store_migrations_all) record exactly migs for
 * module: every version, by the same name, and nothing else -- so
 * keel__store_migrate would change nothing and check nothing that fails. */
int keel__store_migrations_current(const json_t *rows, const char *module,
                                   const keel_migration *migs);

/* Applies opts to st (borrowed; copied): to one connection now (so a bad
 * setting fails here) and to every connection the pool opens later.  A
 * backend without the hook ignores it.  KEEL_ECONFIG for an unknown sync
 * level, with a message in err. */
int keel__store_configure(keel_store *st, const keel_store_opts *opts, char *err, size_t errlen);

/* Base64 (RFC 4648, padded), the text form of BLOB/BYTEA values in rows and
 * parameters.  New malloc'd buffers (caller frees), NULL on ENOMEM; unbase64
 * also NULL on malformed input, *outlen = decoded bytes. */
char          *keel__base64(const void *data, size_t len);
unsigned char *keel__unbase64(const char *text, size_t len, size_t *outlen);

/* ---- privileged paths (migrate.c only) ------------------------------------ */

/* Optional internal operations of a backend, beyond keel_store_vt.  Same
 * versioning rules: version first, append only. */
typedef struct keel_store_ext {
    unsigned version; /* 2 */
    /* Runs a script of several statements (no parameters), statement by
     * statement (prepared in a loop over the tail).  Rows are discarded. */
    int  (*exec_script)(void *conn, const char *sql, char *err, size_t errlen);
    /* on = 1: the connection may also touch the core's keel_migrations table
     * (namespace check relaxed for that one table); on = 0: back to normal. */
    void (*set_privileged)(void *conn, int on);
    /* since v2 (each may be NULL) */
    /* Connection settings (keel__store_configure), applied to each
     * connection of the handle once. */
    int  (*configure)(void *conn, const keel_store_opts *opts, char *err, size_t errlen);
    /* Like set_privileged, for backends where it can fail (PostgreSQL: SET
     * ROLE / search_path).  Called on each borrowed connection whose state
     * differs from the handle's; used instead of set_privileged when set. */
    int  (*set_mode)(void *conn, int privileged, char *err, size_t errlen);
    /* Creates what a module's namespace needs (PostgreSQL: role keel_<ns>,
     * schema <ns>, the core schema keel and keel_migrations; grant_to may be
     * NULL), inside the caller's transaction.  Idempotent. */
    int  (*provision)(void *conn, const char *grant_to, char *err, size_t errlen);
    /* Serialises migrations of module across processes until the end of the
     * current transaction (PostgreSQL: pg_advisory_xact_lock). */
    int  (*lock)(void *conn, const char *module, char *err, size_t errlen);
    /* since v3 (may be NULL) */
    /* on = 1: a module's connection may also touch every module's event
     * queue tables (<m>_outbox, <m>_inbox) and keel_dead_letters, as the
     * core's may; statements prepared meanwhile are not cached.  The event
     * dispatcher sets it around its own statements only, inside a
     * subscriber's transaction (events_dispatch.c). */
    void (*set_queue)(void *conn, int on);
    /* since v4 (each may be NULL) */
    /* on = 1: a commit made on this thread until defer(0) may report success
     * before it is durable, and leave the wait to wait_deferred, which the
     * store layer calls once it has given the connection back (SQLite's
     * group commit, store_sqlite_gsync.c).  0, or KEEL_E* with err set: the
     * commit happened but is not known to be on disk. */
    void (*defer)(int on);
    int  (*wait_deferred)(char *err, size_t errlen);
} keel_store_ext;

/* keel_store_ext.defer / .wait_deferred of st's backend (no-ops without). */
void keel__store_defer(const keel_store *st, int on);
int  keel__store_wait_deferred(const keel_store *st, char *err, size_t errlen);

/* The built-in backends' internal operations. */
extern const keel_store_ext keel__store_sqlite_ext;
extern const keel_store_ext keel__store_pg_ext;

/* Like keel_store_wrap, with explicit internal operations (ext may be NULL:
 * scripts are then split with sqlite3_complete() and run through vt->exec,
 * and set_privileged is a no-op).  keel_store_wrap picks ext itself for the
 * built-in backends. */
keel_store *keel__store_wrap_ext(const keel_store_vt *vt, const keel_store_ext *ext, void *conn);

/* Runs a multi-statement script on st (holding its lock). 0 or KEEL_E*; the
 * message is in err and on the handle. */
int  keel__store_exec_script(keel_store *st, const char *sql, char *err, size_t errlen);
/* Toggles the privileged mode described in keel_store_ext.set_privileged
 * (applied to each connection when it is next borrowed). */
void keel__store_set_privileged(keel_store *st, int on);
/* keel_store_ext.provision / .lock on st's connection (no-ops when the
 * backend has none).  0 or KEEL_E* with the message in err. */
int  keel__store_provision(keel_store *st, const char *grant_to, char *err, size_t errlen);
int  keel__store_lock(keel_store *st, const char *module, char *err, size_t errlen);
/* The handle's options (borrowed). */
const keel_store_opts *keel__store_opts(const keel_store *st);

/* keel_store_ext.set_queue on transaction handle tx's connection.  0, or
 * KEEL_EINVAL when tx is no transaction handle or the backend has none. */
int  keel__store_tx_queue(keel_store *tx, int on);

/* Runs fn(arg) once the transaction st is in commits (after its lock is
 * released), or at once when st is not in a transaction.  Nothing runs if
 * it rolls back.  One hook per transaction (the event dispatcher's wake-up);
 * a second call replaces the first. */
void keel__store_after_commit(keel_store *st, void (*fn)(void *), void *arg);

/* Writes a caller buffers on transaction st (the event outbox's multi-row
 * emit): flush(tx, arg) runs on the transaction's connection before every
 * savepoint begins, before a savepoint that succeeded is released and before
 * the commit, so what was buffered inside a savepoint is written inside it;
 * a flush error fails that step (the savepoint or the whole transaction).
 * drop(arg, 0) discards what is buffered when a savepoint rolls back (all of
 * it was buffered inside that savepoint); drop(arg, 1) runs once when the
 * transaction ends, committed or not, and frees arg.  One buffer per
 * transaction: returns the registered arg when flush is already registered
 * (arg is then ignored), arg when it was registered now, NULL when st is not
 * in a transaction or another buffer is registered (write directly then). */
void *keel__store_tx_buffer(keel_store *st, int (*flush)(keel_store *tx, void *arg),
                            void (*drop)(void *arg, int end), void *arg);

/* ---- pool use (store_pool.c) ------------------------------------------ */

/* A root handle's connections as /metrics shows them, read with relaxed
 * loads (no lock, no wait): size = slots, open = connected, busy = borrowed;
 * waits = borrows that had to wait, timeouts = waits that gave up,
 * refused = non-waiting borrows that found none free. */
typedef struct keel__store_pool_stats {
    int                size, open, busy;
    unsigned long long waits, timeouts, refused;
} keel__store_pool_stats;
/* 0, or KEEL_EINVAL for a transaction handle or NULL. */
int keel__store_pool_read(const keel_store *root, keel__store_pool_stats *ps);

/* On the calling thread, borrows that find every connection busy fail at
 * once (KEEL_EUNAVAIL) instead of waiting, while on (health hooks on the
 * event loop: docs/observability.md "Health").  Returns the previous
 * setting; keel__store_nowait_refused says whether a borrow was refused
 * since the last keel__store_nowait(1). */
int keel__store_nowait(int on);
int keel__store_nowait_refused(void);

/* SQLite's allocations in this process, in bytes: now and the high-water
 * mark (store_sqlite.c; every connection of every module counts). */
void keel__store_sqlite_memory(long long *used, long long *highwater);

#endif /* KEEL_STORE_INTERNAL_H */
