/*
 * keel/store.h — one storage contract, several backends.
 *
 * Modules see a keel_store: a handle bound to their own namespace.  Tables a
 * module creates and touches are named <module>_*; any other table is refused
 * (KEEL_EDENIED) — on SQLite by sqlite3_set_authorizer, on PostgreSQL by a
 * schema and role per module.  SQL is written once for both backends:
 *   - parameters are $1, $2, … (the SQLite backend rewrites them to ?1, ?2);
 *   - new ids come back with INSERT … RETURNING id;
 *   - types: INTEGER (64-bit), REAL, TEXT; JSON values map to them
 *     (true/false → 1/0, null → NULL).  No BLOBs: store text.
 * Every statement is prepared (never string-built from values).
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

/* Runs fn in one transaction: committed if fn returns 0, rolled back
 * otherwise (fn's code is returned).  Nested calls join the outer transaction. */
int keel_store_tx(keel_store *st, int (*fn)(keel_store *st, void *arg), void *arg);

/* "sqlite" or "postgres". */
const char *keel_store_backend_name(const keel_store *st);

/* Last backend message for this handle, for logs and error detail (borrowed,
 * may be "").  The handle is shared by the process's loop threads: read it
 * right after the failing call; a concurrent call may replace it. */
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
} keel_store_vt;

/* The built-in SQLite backend. */
extern const keel_store_vt keel_store_sqlite;

/* Wraps an opened backend connection in a handle (for tests and the runtime).
 * vt: borrowed, static.  conn: stolen (closed by keel_store_close). */
keel_store *keel_store_wrap(const keel_store_vt *vt, void *conn);
/* Opens url for namespace ns through vt; *st new (keel_store_close frees). */
int  keel_store_open(const keel_store_vt *vt, const char *url, const char *ns,
                     keel_store **st, char *err, size_t errlen);
void keel_store_close(keel_store *st);

#endif /* KEEL_STORE_H */
