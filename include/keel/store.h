/*
 * keel/store.h — one storage contract, several backends.
 *
 * Modules see a keel_store: a handle bound to their own namespace.  Tables a
 * module creates and touches are named <module>_*; any other table is refused
 * (KEEL_EDENIED) — on SQLite by sqlite3_set_authorizer, on PostgreSQL by a
 * schema and role per module.  SQL is written once for both backends:
 *   - parameters are $1, $2, … (the SQLite backend rewrites them to ?1, ?2);
 *   - new ids come back with INSERT … RETURNING id;
 *   - types, both directions (docs/store.md has the table): JSON integer ↔
 *     int64 (INTEGER/BIGINT), real ↔ double (REAL/DOUBLE PRECISION), string ↔
 *     text, true/false ↔ BOOLEAN columns (1/0 for any other column), null ↔
 *     NULL; a BLOB/BYTEA column reads as base64 text.  Bytes without
 *     base64 or JSON: keel_store_exec_blob binds them, keel_store_one_blob
 *     reads them.
 * Every statement is prepared (never string-built from values).
 *
 * A handle from keel_module_store() is shared by every thread of the process.
 * Outside a transaction each statement borrows a connection (PostgreSQL: from
 * a per-process pool; SQLite: the one connection, one writer at a time).
 * keel_store_tx hands its function a handle bound to one connection for the
 * whole transaction: use that one inside.
 */
#ifndef KEEL_STORE_H
#define KEEL_STORE_H

#include <stddef.h>
#include <jansson.h>

typedef struct keel_store keel_store;

/* Runs one statement.  params: borrowed JSON array or NULL.  rows: if not
 * NULL, set to a new reference (caller frees) to an array of objects, one per
 * result row, keyed by column name; NULL on error.  0 or KEEL_E*:
 * KEEL_EDENIED (another module's table), KEEL_ECONFLICT (constraint),
 * KEEL_EUNAVAIL (busy/connection lost), KEEL_ESTORE (anything else). */
int keel_store_exec(keel_store *st, const char *sql, const json_t *params, json_t **rows);

/* Like keel_store_exec but expects at most one row: *row is a new reference
 * to that object, or NULL with KEEL_ENOTFOUND when there is none. */
int keel_store_one(keel_store *st, const char *sql, const json_t *params, json_t **row);

/* Like keel_store_exec, with parameter $blob_index (1-based) bound to the
 * bytes data[0..len) as a BLOB (SQLite) / binary BYTEA (PostgreSQL), without
 * a copy into JSON or base64: data is borrowed for the call.  params holds
 * every parameter, with JSON null at blob_index (a placeholder: anything
 * else there is KEEL_EINVAL).  data NULL binds SQL NULL (len ignored); len 0
 * with data an empty blob.  On PostgreSQL $blob_index must be inferred as
 * BYTEA (a BYTEA column, or write $N::bytea), else KEEL_EINVAL; at most
 * 2^31 - 1 bytes (libpq's limit).  The same namespace rules, errors and
 * transaction handling as keel_store_exec; KEEL_ESTORE "… has no binary
 * values" from a backend older than keel_store_vt v3. */
int keel_store_exec_blob(keel_store *st, const char *sql, const json_t *params,
                         int blob_index, const void *data, size_t len, json_t **rows);

/* Runs a query expected to return at most one row and reads its first
 * column as bytes: *data a new malloc'd buffer of *len bytes (caller frees;
 * one extra NUL byte after them, not counted).  A BLOB/BYTEA column gives
 * its bytes, a TEXT column its UTF-8 bytes; any other type is KEEL_EINVAL.
 * A NULL value: 0 with *data NULL and *len 0 (an empty blob gives a
 * non-NULL *data and *len 0).  No row: KEEL_ENOTFOUND; more than one:
 * KEEL_ESTORE.  On PostgreSQL the result comes in binary format (no hex
 * text).  Errors as keel_store_exec; *data NULL on any error. */
int keel_store_one_blob(keel_store *st, const char *sql, const json_t *params,
                        void **data, size_t *len);

/* Runs fn(tx, arg) in one transaction, tx being a handle bound to one
 * connection until fn returns (borrowed: valid only inside fn).  Committed if
 * fn returns 0, rolled back otherwise (fn's code is returned); a failing
 * BEGIN/COMMIT returns its KEEL_E* with the backend's message in
 * keel_store_errmsg.  keel_store_tx(tx, …) inside fn is a savepoint: its
 * failure rolls back only its own work and the outer fn decides what to do.
 * Calling keel_store_exec on the outer (shared) handle from inside fn, on the
 * same thread, uses the transaction's connection too. */
int keel_store_tx(keel_store *st, int (*fn)(keel_store *tx, void *arg), void *arg);

/* keel_store_tx flags. */
enum keel_store_tx_flags {
    /* Serialization failures (SQLSTATE 40001) and deadlocks (40P01) roll back
     * and run fn again, up to 5 attempts with a growing, jittered pause
     * (5 ms … 160 ms).  fn must then be safe to run more than once: keep its
     * effects in the database.  Without the flag they end as KEEL_EUNAVAIL. */
    KEEL_TX_RETRYABLE    = 1u << 0,
    /* SERIALIZABLE isolation on PostgreSQL (READ COMMITTED otherwise);
     * SQLite transactions are always serializable.  Pair with RETRYABLE. */
    KEEL_TX_SERIALIZABLE = 1u << 1
};

/* keel_store_tx with flags (keel_store_tx_flags); flags apply to the
 * outermost transaction only (a nested call is a savepoint either way). */
int keel_store_tx_ex(keel_store *st, unsigned flags, int (*fn)(keel_store *tx, void *arg),
                     void *arg);

/* "sqlite" or "postgres". */
const char *keel_store_backend_name(const keel_store *st);

/* Last backend message of the calling thread's last call on this handle (or
 * on a transaction handle derived from it), for logs and error detail
 * (borrowed, may be "", valid until this thread's next store call).  Other
 * threads' calls do not replace it. */
const char *keel_store_errmsg(const keel_store *st);

/* ---- backend vtable (for backend authors and test fakes) ----------------- *
 * A backend connection is opaque (void *).  version first; members are only
 * appended, fenced by "since vN"; callers check version and NULL first. */
typedef struct keel_store_vt {
    unsigned    version;   /* 1 */
    const char *name;      /* "sqlite" */
    /* Open a connection for namespace ns (module name, or NULL for the core's
     * own tables keel_*).  url: backend-specific ("sqlite:./var/keel.db",
     * a plain path, or "postgres://…").  *conn new (close frees). */
    int  (*open)(const char *url, const char *ns, void **conn, char *err, size_t errlen);
    void (*close)(void *conn);
    int  (*exec)(void *conn, const char *sql, const json_t *params, json_t **rows,
                 char *err, size_t errlen);
    int  (*begin)(void *conn);
    int  (*commit)(void *conn);
    int  (*rollback)(void *conn);
    /* since v2 (each may be NULL) */
    /* BEGIN with keel_store_tx_flags (isolation); NULL = begin. */
    int  (*begin_ex)(void *conn, unsigned flags);
    /* Savepoint number level (1 = outermost nested): op is KEEL_SP_*. */
    int  (*savepoint)(void *conn, int op, unsigned level);
    /* The connection's last error message (borrowed, may be ""). */
    const char *(*errmsg)(void *conn);
    /* 1 if the last failure was a serialization failure or a deadlock. */
    int  (*retryable)(void *conn);
    /* 0 if the connection is lost (the handle then drops it and opens a new
     * one on the next use); called before each use of an idle connection. */
    int  (*healthy)(void *conn);
    /* since v3 (each may be NULL: the handle then answers KEEL_ESTORE) */
    /* exec with parameter blob_index bound to data[0..len) as bytes
     * (keel_store_exec_blob; params has null there). */
    int  (*exec_blob)(void *conn, const char *sql, const json_t *params, int blob_index,
                      const void *data, size_t len, json_t **rows, char *err, size_t errlen);
    /* The first column of the only row as bytes (keel_store_one_blob):
     * *data malloc'd (NUL after *len bytes), NULL for SQL NULL. */
    int  (*one_blob)(void *conn, const char *sql, const json_t *params, void **data,
                     size_t *len, char *err, size_t errlen);
} keel_store_vt;

/* keel_store_vt.savepoint ops. */
enum { KEEL_SP_BEGIN = 1, KEEL_SP_RELEASE = 2, KEEL_SP_ROLLBACK = 3 };

/* The built-in backends: SQLite, and PostgreSQL through libpq. */
extern const keel_store_vt keel_store_sqlite;
extern const keel_store_vt keel_store_postgres;

/* Wraps an opened backend connection in a handle (for tests and the runtime):
 * a pool of that one connection, never reopened.
 * vt: borrowed, static.  conn: stolen (closed by keel_store_close). */
keel_store *keel_store_wrap(const keel_store_vt *vt, void *conn);
/* Opens url for namespace ns through vt (one connection now, more on demand
 * for backends with a pool); *st new (keel_store_close frees). */
int  keel_store_open(const keel_store_vt *vt, const char *url, const char *ns,
                     keel_store **st, char *err, size_t errlen);
void keel_store_close(keel_store *st);

#endif /* KEEL_STORE_H */
