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

/* Opens a store handle choosing the backend by URL scheme:
 *   "sqlite:PATH", "sqlite://PATH" or a plain path  → keel_store_sqlite
 *   "postgres://…", "postgresql://…"                 → KEEL_ECONFIG
 *        ("postgres backend not built in this version")
 *   any other "scheme://…"                           → KEEL_ECONFIG
 * ns: module name (tables <ns>_*) or NULL for the core (tables keel_*);
 * borrowed.  *st new (keel_store_close frees), NULL on error; message in err. */
int keel__store_open_url(const char *url, const char *ns, keel_store **st,
                         char *err, size_t errlen);

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

/* Status for `keel migrate --status`: *out = new reference to
 * {"module":…, "current":N, "pending":M,
 *  "migrations":[{"version":1,"name":"0001_x","applied":true,"applied_at":"…"},…]}
 * (also lists recorded versions unknown to this binary with "unknown":true). */
int keel__store_migrations_status(keel_store *st, const char *module,
                                  const keel_migration *migs, json_t **out);

/* Connection settings from the configuration (store_busy_ms, store_cache,
 * store_sync), applied right after open.  Zero fields mean "backend default". */
typedef struct keel_store_opts {
    int         busy_ms;   /* wait this long for another writer (SQLite busy timeout) */
    int         no_cache;  /* 1: prepare every statement afresh (measurements) */
    const char *sync;      /* "off", "normal", "full" or "extra"; NULL = "full" */
} keel_store_opts;

/* Applies opts to st (borrowed).  A backend without the hook ignores it.
 * KEEL_ECONFIG for an unknown sync level, with a message in err. */
int keel__store_configure(keel_store *st, const keel_store_opts *opts, char *err, size_t errlen);

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
    /* since v2: connection settings (keel__store_configure). */
    int  (*configure)(void *conn, const keel_store_opts *opts, char *err, size_t errlen);
} keel_store_ext;

/* The SQLite backend's internal operations. */
extern const keel_store_ext keel__store_sqlite_ext;

/* Like keel_store_wrap, with explicit internal operations (ext may be NULL:
 * scripts are then split with sqlite3_complete() and run through vt->exec,
 * and set_privileged is a no-op).  keel_store_wrap picks ext itself for the
 * built-in backends. */
keel_store *keel__store_wrap_ext(const keel_store_vt *vt, const keel_store_ext *ext, void *conn);

/* Runs a multi-statement script on st (holding its lock). 0 or KEEL_E*; the
 * message is in err and on the handle. */
int  keel__store_exec_script(keel_store *st, const char *sql, char *err, size_t errlen);
/* Toggles the privileged mode described in keel_store_ext.set_privileged. */
void keel__store_set_privileged(keel_store *st, int on);

#endif /* KEEL_STORE_INTERNAL_H */
