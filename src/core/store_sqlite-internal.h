/*
 * store_sqlite-internal.h — pieces of the SQLite backend shared between
 * store_sqlite.c (connections, running statements), store_sqlite_stmt.c
 * (the statement cache, transaction control), store_sqlite_guard.c
 * (namespace rules and SQL text handling), store_sqlite_codec.c (params and
 * rows as JSON), store_sqlite_file.c (the database file: its directory,
 * the process-wide write gate) and store_sqlite_ckpt.c (the file's
 * background checkpointer).
 */
#ifndef KEEL_STORE_SQLITE_INTERNAL_H
#define KEEL_STORE_SQLITE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sqlite3.h>

/* The namespace a connection is confined to. */
typedef struct keel__sq_guard {
    const char *ns;          /* module name (borrowed), NULL = the core */
    char        prefix[72];  /* "<ns>_" or "keel_" */
    int         privileged;  /* during migrations: keel_migrations allowed too */
    int         tx_control;  /* inside begin/commit/rollback: BEGIN etc. allowed */
    int         queue;       /* the dispatcher's statements: every module's
                              * <m>_outbox/<m>_inbox and keel_dead_letters */
    char        denied[256]; /* the last refusal ("module 'kv' may not …") */
    /* The statement being run: set by keel__sq_guard_begin before a
     * prepare, cleared by keel__sq_guard_end.  sql is borrowed (the text
     * handed to sqlite3_prepare_v2) and only read by the authorizer. */
    const char *sql;
    unsigned    ddl;         /* KEEL__SQ_DDL_* seen while compiling it */
} keel__sq_guard;

/* What kind of schema statement the authorizer has seen in the statement
 * being compiled: SQLite's own reads and writes of sqlite_master,
 * sqlite_sequence and sqlite_stat1 are only allowed inside these. */
#define KEEL__SQ_DDL_CREATE  1u  /* CREATE TABLE/INDEX/VIEW/TRIGGER */
#define KEEL__SQ_DDL_ENGINE  2u  /* the engine updated sqlite_master (end of a CREATE) */
#define KEEL__SQ_DDL_OTHER   4u  /* ALTER, DROP, ANALYZE, REINDEX: hold no user query */

/* Sets up g for ns (borrowed: must outlive g). */
void keel__sq_guard_init(keel__sq_guard *g, const char *ns);

/* Marks the start / end of running a statement: sql (borrowed; the backend
 * sets g->sql = NULL once it frees the text after prepare) gives its kind
 * (first word) and an ALTER's rename target.  The kind holds through the
 * step (ANALYZE reads sqlite_stat1 when it runs).  end returns 1 if the
 * statement was schema work (DDL), which is never cached. */
void keel__sq_guard_begin(keel__sq_guard *g, const char *sql);
int  keel__sq_guard_end(keel__sq_guard *g);

/* sqlite3_set_authorizer callback; ud is a keel__sq_guard.  Tables outside
 * the namespace, ATTACH/DETACH, pragmas other than a read-only whitelist and
 * unknown actions are SQLITE_DENY, with the reason in guard->denied. */
int keel__sq_authorize(void *ud, int action, const char *a1, const char *a2,
                       const char *db, const char *trigger);

/* 0, or KEEL_EDENIED (reason in g->denied) when sql names one of SQLite's
 * own tables (sqlite_master, sqlite_sequence …) outside string literals.
 * A quick first refusal with a clear message; the authorizer is the
 * guarantee (it also catches 'sqlite_master' written as a string).
 * Privileged (migration) connections may name them. */
int keel__sq_check_text(keel__sq_guard *g, const char *sql);

/* sql with $<digits> rewritten to ?<digits> outside literals, quoted
 * identifiers and comments.  New malloc'd string (caller frees), NULL on ENOMEM. */
char *keel__sq_rewrite_params(const char *sql);

/* 1 if s holds only whitespace, ';' and comments. */
int keel__sq_only_trivia(const char *s);

/* ---- store_sqlite_codec.c ----------------------------------------------- */

/* A parameter bound as bytes (keel_store_exec_blob): $index (1-based) gets
 * data[0..len), borrowed like params; data NULL binds NULL. */
typedef struct keel__sq_blob {
    int         index;
    const void *data;
    size_t      len;
} keel__sq_blob;

/* Binds params (a JSON array, borrowed; NULL = none) to stmt, and blob (NULL
 * = none) in place of the null params holds at its index.  Strings and the
 * blob are bound without a copy: they must outlive the step, and the caller
 * clears the bindings (or finalizes) before they go.  0, or
 * KEEL_EINVAL (wrong count or type) with a message in err, or KEEL_ESTORE
 * with SQLite's code in *src (the caller turns it into a message). */
int keel__sq_bind(sqlite3_stmt *stmt, const json_t *params, const keel__sq_blob *blob, int *src,
                  char *err, size_t errlen);
/* stmt's current row as a new JSON object (caller frees), or NULL with *rc
 * and err set. */
json_t *keel__sq_row(sqlite3_stmt *stmt, int *rc, char *err, size_t errlen);
/* Registers keel's SQL functions on db: decode(text, 'base64') → BLOB, as
 * PostgreSQL's.  0 or KEEL_ESTORE. */
int keel__sq_functions(sqlite3 *db);

/* ---- store_sqlite_file.c ------------------------------------------------ */

/* The write gate of one database file, shared by the process's connections
 * to it.  get returns it for path (sqlite3_db_filename; "" or NULL gives
 * NULL: no gate), counting a reference; put drops one.  enter waits up to
 * timeout_ms for the gate (0, or KEEL_EUNAVAIL); a thread already holding
 * it enters again at once; leave undoes one enter.  NULL g: all no-ops. */
typedef struct keel__sq_gate keel__sq_gate;
keel__sq_gate *keel__sq_gate_get(const char *path);
void keel__sq_gate_put(keel__sq_gate *g);
int  keel__sq_gate_enter(keel__sq_gate *g, int timeout_ms);
void keel__sq_gate_leave(keel__sq_gate *g);

/* The gate's background checkpointer (store_sqlite_ckpt.c), started on the
 * first call with pages > 0 (the later calls return the same one), stopped
 * when the gate's last connection is put.  NULL when the gate is NULL or the
 * thread cannot start: the caller keeps SQLite's own checkpoint then.  sync
 * is the PRAGMA synchronous level 0..3 (off..extra), busy_ms how long a
 * RESTART waits for the gate and readers. */
typedef struct keel__sq_ckpt keel__sq_ckpt;
keel__sq_ckpt *keel__sq_gate_checkpointer(keel__sq_gate *g, int pages, int sync, int busy_ms);
/* The checkpointer of the file at path (sqlite3_db_filename), NULL if none.
 * For tests: valid while a connection to the file stays open. */
keel__sq_ckpt *keel__sq_ckpt_of(const char *path);

/* The gate's group commit (store_sqlite_gsync.c) for the log at wal
 * (sqlite3_filename_wal), made on the first call, freed with the gate.
 * NULL when the gate is NULL or on ENOMEM: the caller stays at FULL. */
typedef struct keel__sq_gsync keel__sq_gsync;
keel__sq_gsync *keel__sq_gate_gsync(keel__sq_gate *g, const char *wal);

/* mkdir -p of path's parent directory, mode 0750.  0 or KEEL_E* with a
 * message in err. */
int keel__sq_make_parent(const char *path, char *err, size_t errlen);

/* ---- store_sqlite_ckpt.c ------------------------------------------------ */

/* What the checkpointer has done: passes by mode, passes that met a busy
 * lock (retried later), log frames copied back; failed = its connection
 * could not open. */
typedef struct keel__sq_ckpt_stats {
    uint64_t passive, restart, truncate, busy, frames;
    int      failed;
} keel__sq_ckpt_stats;

/* Starts the thread for the file at path (its gate: borrowed, outlives it).
 * NULL on ENOMEM or when no thread can start. */
keel__sq_ckpt *keel__sq_ckpt_start(const char *path, keel__sq_gate *gate, int pages, int sync,
                                   int busy_ms);
/* Last TRUNCATE pass, joins the thread, frees k.  NULL: no-op. */
void keel__sq_ckpt_stop(keel__sq_ckpt *k);
/* The sqlite3_wal_hook of serving connections; ud is the keel__sq_ckpt. */
int  keel__sq_ckpt_hook(void *ud, sqlite3 *db, const char *name, int frames);
/* Tests: on = 1 keeps the thread from starting a pass until on = 0. */
void keel__sq_ckpt_hold(keel__sq_ckpt *k, int on);
/* Tests: waits up to timeout_ms until done(stats, arg) returns nonzero
 * (checked after every pass); returns its last answer, the stats in *out. */
int  keel__sq_ckpt_wait(keel__sq_ckpt *k, int (*done)(const keel__sq_ckpt_stats *, void *),
                        void *arg, int timeout_ms, keel__sq_ckpt_stats *out);

/* ---- store_sqlite_gsync.c ----------------------------------------------- */

/* Group commit of one file's log (the file's comment says how it works). */
keel__sq_gsync *keel__sq_gsync_new(const char *wal);
void keel__sq_gsync_free(keel__sq_gsync *g);
/* Right after a commit at synchronous=NORMAL returned (its frames are
 * written): its ticket, in commit order.  NULL g: 0. */
uint64_t keel__sq_gsync_ticket(keel__sq_gsync *g);
/* Waits until a sync of the log that started after ticket was handed out
 * has finished.  0, or KEEL_ESTORE with a message in err when that sync
 * failed.  NULL g or ticket 0: 0 at once. */
int  keel__sq_gsync_wait(keel__sq_gsync *g, uint64_t ticket, char *err, size_t errlen);
/* Syncs run so far. */
uint64_t keel__sq_gsync_syncs(keel__sq_gsync *g);
/* Tests: sync replaces fdatasync (NULL restores it); it gets the log's
 * descriptor and returns 0 or -1 with errno set. */
void keel__sq_gsync_set_sync(keel__sq_gsync *g, int (*sync)(int fd));
/* Tests: the group commit of the file at path (sqlite3_db_filename), NULL
 * if none; valid while a connection to the file stays open. */
keel__sq_gsync *keel__sq_gsync_of(const char *path);

/* ---- store_sqlite.c and store_sqlite_stmt.c ----------------------------- */

#define KEEL__SQ_CACHE_SIZE 16  /* cached statements per connection */
#define KEEL__SQ_SP_LEVELS  4   /* savepoint levels prepared once */

/* One cached statement of a connection. */
typedef struct keel__sq_cached {
    char         *sql;   /* original text ($N form), owned; NULL = free slot */
    sqlite3_stmt *stmt;
    uint64_t      used;  /* LRU clock */
    int           queue; /* prepared with the dispatcher's queue access: only
                          * found again while that access is granted */
} keel__sq_cached;

typedef struct keel__sq_conn {
    sqlite3  *db;
    char     *ns;          /* module name (owned), NULL = core */
    keel__sq_guard guard;  /* namespace rules; guard.ns borrows ns */
    int       cache_on;    /* store_cache=false disables (for measurements) */
    char      lasterr[256];/* message of the last failing begin/commit/savepoint */
    keel__sq_gate *gate;   /* the file's write gate (store_sqlite_file.c), NULL = none */
    keel__sq_ckpt *ckpt;   /* its checkpointer when this connection reports to it */
    keel__sq_gsync *gsync; /* its group commit when this connection runs at FULL through it */
    int       wrote;       /* the WAL hook saw a commit since the flag was cleared */
    int       gated;       /* this connection's write transaction holds the gate */
    int       busy_ms;     /* how long a writer waits for the gate or the lock */
    uint64_t  clock;
    keel__sq_cached cache[KEEL__SQ_CACHE_SIZE];
    /* SAVEPOINT / RELEASE / ROLLBACK TO of nesting levels 1..KEEL__SQ_SP_LEVELS,
     * prepared once: an event handler in a batch round nests two levels per
     * event, and preparing them each time was ~6 % of a delivery.  Kept
     * apart from cache[]: only keel__sq_savepoint reaches them, so a module's
     * keel_store_exec of the same text still meets the authorizer. */
    sqlite3_stmt *sp[3][KEEL__SQ_SP_LEVELS];
    /* BEGIN IMMEDIATE, COMMIT, ROLLBACK, prepared once for the same reason
     * (three prepares per transaction were ~2 % of an events batch round)
     * and kept apart from cache[] like sp[]. */
    sqlite3_stmt *ctl[3];
} keel__sq_conn;

/* printf into err (NULL or errlen 0: nothing). */
void keel__sq_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* SQLite result code src → KEEL_E*, its message (or the guard's refusal)
 * into err. */
int  keel__sq_fail(keel__sq_conn *c, int src, char *err, size_t errlen);
/* Called for each row keel__sq_run steps to; nonzero (KEEL_E*, err set)
 * stops the statement with that code. */
typedef int (*keel__sq_row_fn)(sqlite3_stmt *stmt, void *arg, char *err, size_t errlen);
/* Runs one statement on c (prepared or from the cache, the namespace rules
 * applied, params and blob bound, the file's gate taken for an autocommit
 * write, durable before it returns): row_fn(stmt, arg) per row (NULL: rows
 * discarded).  0 or KEEL_E* with a message in err. */
int  keel__sq_run(keel__sq_conn *c, const char *sql, const json_t *params,
                  const keel__sq_blob *blob, keel__sq_row_fn row_fn, void *arg,
                  char *err, size_t errlen);
/* The vtable's exec, exec_blob (store_sqlite.c) and one_blob
 * (store_sqlite_codec.c). */
int  keel__sq_exec(void *conn, const char *sql, const json_t *params, json_t **rows,
                   char *err, size_t errlen);
int  keel__sq_exec_blob(void *conn, const char *sql, const json_t *params, int blob_index,
                        const void *data, size_t len, json_t **rows, char *err, size_t errlen);
int  keel__sq_one_blob(void *conn, const char *sql, const json_t *params, void **data,
                       size_t *len, char *err, size_t errlen);
/* After a statement or COMMIT ended with no transaction open: waits until a
 * write it committed is durable (group commit), or defers that wait. */
int  keel__sq_durable(keel__sq_conn *c, char *err, size_t errlen);

/* store_sqlite_stmt.c: finalizes every prepared statement of c. */
void keel__sq_cache_clear(keel__sq_conn *c);
/* Prepares sql (one statement) or takes it from the cache.  *cached = 1 when
 * the statement belongs to the cache (reset, not finalized, after use). */
int  keel__sq_prepare(keel__sq_conn *c, const char *sql, sqlite3_stmt **stmt, int *cached,
                      char *err, size_t errlen);
/* The vtable's transaction control (store_sqlite_stmt.c). */
int  keel__sq_begin(void *conn);
int  keel__sq_begin_ex(void *conn, unsigned flags);
int  keel__sq_commit(void *conn);
int  keel__sq_rollback(void *conn);
int  keel__sq_savepoint(void *conn, int op, unsigned level);

#endif /* KEEL_STORE_SQLITE_INTERNAL_H */
