/*
 * store_sqlite.c — the SQLite backend of keel_store_vt.
 *
 * One connection per module namespace.  SQL uses $1, $2, … (portable with
 * PostgreSQL); they are rewritten to ?1, ?2 outside string literals, quoted
 * identifiers and comments, then bound from the JSON params array.  Every
 * statement is prepared; exec accepts exactly one statement (scripts are for
 * migrations only, through keel__store_sqlite_ext.exec_script).  An authorizer
 * confines the connection to tables <ns>_* (keel_* for the core).  The
 * statement cache and transaction control are in store_sqlite_stmt.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_sqlite-internal.h"

#define SQ_BUSY_MS    5000

#define SQ_SYNC_FULL       2      /* index of "full" in sq_configure's levels */
#define SQ_AUTOCHECKPOINT  1000   /* SQLite's default wal_autocheckpoint */

void keel__sq_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* SQLite result code → KEEL_E*, message into err. */
int keel__sq_fail(keel__sq_conn *c, int src, char *err, size_t errlen)
{
    int prim = src & 0xff;

    if (prim == SQLITE_AUTH) {
        keel__sq_err(err, errlen, "%s", c->guard.denied[0] ? c->guard.denied : sqlite3_errmsg(c->db));
        return KEEL_EDENIED;
    }
    keel__sq_err(err, errlen, "%s", sqlite3_errmsg(c->db));
    switch (prim) {
    case SQLITE_CONSTRAINT: return KEEL_ECONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:     return KEEL_EUNAVAIL;
    case SQLITE_NOMEM:      return KEEL_ENOMEM;
    default:                return KEEL_ESTORE;
    }
}

/* ---- the vtable ---------------------------------------------------------- */

/* A commit whose durability the store layer waits for after it has given
 * the connection back (sq_defer / sq_wait_deferred): the connection is then
 * free for the next transaction while this one waits for the shared sync,
 * which is what lets commits of one module's connection share a sync. */
static __thread int             sq_deferring;
static __thread keel__sq_gsync *sq_pend;
static __thread uint64_t        sq_pend_ticket;

/* After a statement or COMMIT ended with no transaction open: if it
 * committed a write and the connection commits through the file's group
 * commit, its ticket is taken now (its frames are written) and it waits
 * until that is on disk (store_sqlite_gsync.c) — here, or after the store
 * layer gives the connection back when it asked to (sq_defer). */
int keel__sq_durable(keel__sq_conn *c, char *err, size_t errlen)
{
    uint64_t t;

    if (!c->wrote || c->gsync == NULL || !sqlite3_get_autocommit(c->db))
        return 0;
    c->wrote = 0;
    t = keel__sq_gsync_ticket(c->gsync);
    if (!sq_deferring)
        return keel__sq_gsync_wait(c->gsync, t, err, errlen);
    if (sq_pend != NULL && sq_pend != c->gsync) {
        /* a second file in one deferred call: the first waits now */
        int rc = keel__sq_gsync_wait(sq_pend, sq_pend_ticket, err, errlen);
        if (rc != 0)
            return rc;
    }
    sq_pend = c->gsync;
    sq_pend_ticket = t;
    return 0;
}

static void sq_defer(int on)
{
    sq_deferring = on != 0;
}

static int sq_wait_deferred(char *err, size_t errlen)
{
    keel__sq_gsync *g = sq_pend;

    sq_pend = NULL;
    return g != NULL ? keel__sq_gsync_wait(g, sq_pend_ticket, err, errlen) : 0;
}

/* The WAL hook: runs after every commit that wrote log frames, on the
 * committing thread.  Notes the commit for keel__sq_durable, then reports the log's
 * size to the file's checkpointer, or does what SQLite's own hook
 * (wal_autocheckpoint, which installing this one turns off) would. */
static int sq_wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    keel__sq_conn *c = ud;

    c->wrote = 1;
    if (c->ckpt != NULL)
        return keel__sq_ckpt_hook(c->ckpt, db, name, frames);
    if (frames >= SQ_AUTOCHECKPOINT)
        sqlite3_wal_checkpoint(db, name);
    return SQLITE_OK;
}

int keel__sq_run(keel__sq_conn *c, const char *sql, const json_t *params,
                 const keel__sq_blob *blob, keel__sq_row_fn row_fn, void *arg,
                 char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    int rc, cached = 0, src, gated = 0;

    if (c == NULL || sql == NULL)
        return KEEL_EINVAL;
    rc = keel__sq_prepare(c, sql, &stmt, &cached, err, errlen);
    if (rc != 0)
        goto out;
    if ((rc = keel__sq_bind(stmt, params, blob, &src, err, errlen)) != 0) {
        if (src != SQLITE_OK)
            rc = keel__sq_fail(c, src, err, errlen);
        goto out;
    }
    c->wrote = 0;
    /* a write outside a transaction is a transaction of its own: it takes
     * the file's gate too (store_sqlite_file.c) */
    if (!c->gated && !c->guard.tx_control && sqlite3_get_autocommit(c->db) &&
        !sqlite3_stmt_readonly(stmt)) {
        if (keel__sq_gate_enter(c->gate, c->busy_ms) != 0) {
            keel__sq_err(err, errlen, "database is locked (waited %d ms for this process's other "
                   "writers)", c->busy_ms);
            rc = KEEL_EUNAVAIL;
            goto out;
        }
        gated = 1;
    }
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW)
        if (row_fn != NULL && (rc = row_fn(stmt, arg, err, errlen)) != 0)
            goto out;
    if (src != SQLITE_DONE)
        rc = keel__sq_fail(c, sqlite3_extended_errcode(c->db), err, errlen);
out:
    if (gated)
        keel__sq_gate_leave(c->gate);
    keel__sq_guard_end(&c->guard);   /* whatever a re-prepare in step left */
    if (stmt != NULL) {
        if (cached) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
        } else {
            sqlite3_finalize(stmt);
        }
    }
    /* an autocommit write is a commit: durable before it is reported */
    if (rc == 0)
        rc = keel__sq_durable(c, err, errlen);
    return rc;
}

/* keel__sq_run's row function for exec: each row appended to the array. */
static int sq_row_json(sqlite3_stmt *stmt, void *arg, char *err, size_t errlen)
{
    json_t *row;
    int rc = 0;

    if ((row = keel__sq_row(stmt, &rc, err, errlen)) == NULL)
        return rc;
    if (json_array_append_new(arg, row) != 0) {
        keel__sq_err(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    return 0;
}

int keel__sq_exec_blob(void *conn, const char *sql, const json_t *params, int blob_index,
                       const void *data, size_t len, json_t **rows, char *err, size_t errlen)
{
    keel__sq_blob blob = {.index = blob_index, .data = data, .len = len};
    json_t *acc = NULL;
    int rc;

    if (rows != NULL) {
        *rows = NULL;
        if ((acc = json_array()) == NULL)
            return KEEL_ENOMEM;
    }
    rc = keel__sq_run(conn, sql, params, blob_index > 0 ? &blob : NULL,
                      acc != NULL ? sq_row_json : NULL, acc, err, errlen);
    if (rc == 0 && rows != NULL) {
        *rows = acc;
        acc = NULL;
    }
    json_decref(acc);
    return rc;
}

int keel__sq_exec(void *conn, const char *sql, const json_t *params, json_t **rows,
                  char *err, size_t errlen)
{
    return keel__sq_exec_blob(conn, sql, params, 0, NULL, 0, rows, err, errlen);
}

static void sq_close(void *conn)
{
    keel__sq_conn *c = conn;
    if (c == NULL)
        return;
    keel__sq_cache_clear(c);
    if (c->gated)
        keel__sq_gate_leave(c->gate);
    /* closed before the gate goes: the gate's last put stops the
     * checkpointer this connection's WAL hook points at */
    sqlite3_close_v2(c->db);
    keel__sq_gate_put(c->gate);
    free(c->ns);
    free(c);
}

static int valid_ns(const char *ns)
{
    const char *p;
    if (ns[0] < 'a' || ns[0] > 'z' || strlen(ns) > 64)
        return 0;
    for (p = ns; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return strcmp(ns, "keel") != 0 && strncmp(ns, "sqlite", 6) != 0;
}

static int sq_setup(keel__sq_conn *c, char *err, size_t errlen)
{
    static const char *const pragmas[] = {
        /* synchronous=FULL until keel__store_configure says otherwise: in
         * WAL mode NORMAL may lose the last commits on power loss */
        "PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL", NULL
    };
    int i, src;

    /* the busy timeout first: switching to WAL needs a lock another
     * process (a dispatcher, a CLI command) may hold for a moment;
     * keel__store_configure may change it afterwards */
    sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
    c->busy_ms = SQ_BUSY_MS;
    for (i = 0; pragmas[i] != NULL; i++) {
        sqlite3_stmt *stmt = NULL;
        src = sqlite3_prepare_v2(c->db, pragmas[i], -1, &stmt, NULL);
        if (src == SQLITE_OK)
            while ((src = sqlite3_step(stmt)) == SQLITE_ROW)
                ;
        sqlite3_finalize(stmt);
        if (src != SQLITE_DONE) {
            int rc = keel__sq_fail(c, src, err, errlen);
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (%s)", pragmas[i]);
            return rc;
        }
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_limit(c->db, SQLITE_LIMIT_ATTACHED, 0);
    if (keel__sq_functions(c->db) != 0)
        return KEEL_ESTORE;
    return sqlite3_set_authorizer(c->db, keel__sq_authorize, &c->guard) == SQLITE_OK ? 0 : KEEL_ESTORE;
}

static int sq_open(const char *url, const char *ns, void **conn, char *err, size_t errlen)
{
    const char *path = url;
    keel__sq_conn *c = NULL;
    int rc = 0, src;

    *conn = NULL;
    if (strncmp(path, "sqlite://", 9) == 0)
        path += 9;
    else if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    if (sqlite3_threadsafe() == 0) {
        keel__sq_err(err, errlen, "this SQLite is built with SQLITE_THREADSAFE=0; keel needs 1 or 2");
        return KEEL_ECONFIG;
    }
    if (path[0] == '\0') {
        keel__sq_err(err, errlen, "database url '%s' names no file", url);
        return KEEL_ECONFIG;
    }
    if (ns != NULL && !valid_ns(ns)) {
        keel__sq_err(err, errlen, "invalid store namespace '%s' (need [a-z][a-z0-9_]*, not keel/sqlite*)", ns);
        return KEEL_ECONFIG;
    }
    if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0 &&
        (rc = keel__sq_make_parent(path, err, errlen)) != 0)
        return rc;
    c = calloc(1, sizeof *c);
    if (c == NULL || (ns != NULL && (c->ns = strdup(ns)) == NULL)) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    keel__sq_guard_init(&c->guard, c->ns);
    c->cache_on = 1;
    src = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (src != SQLITE_OK) {
        keel__sq_err(err, errlen, "cannot open %s: %s", path,
               c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
        rc = (src & 0xff) == SQLITE_CANTOPEN ? KEEL_EIO : KEEL_ESTORE;
        goto out;
    }
    rc = sq_setup(c, err, errlen);
    if (rc == 0)
        c->gate = keel__sq_gate_get(sqlite3_db_filename(c->db, "main"));
out:
    if (rc != 0) {
        sq_close(c);
        return rc;
    }
    *conn = c;
    return 0;
}


void keel__store_sqlite_memory(long long *used, long long *highwater)
{
    *used = (long long)sqlite3_memory_used();
    *highwater = (long long)sqlite3_memory_highwater(0);
}

static const char *sq_errmsg(void *conn)
{
    keel__sq_conn *c = conn;
    return c != NULL ? c->lasterr : "";
}

static int sq_exec_script(void *conn, const char *sql, char *err, size_t errlen)
{
    keel__sq_conn *c = conn;
    const char *p = sql, *tail = NULL;
    int rc, src;

    if ((rc = keel__sq_check_text(&c->guard, sql)) != 0) {
        keel__sq_err(err, errlen, "%s", c->guard.denied);
        return rc;
    }
    c->wrote = 0;
    while (p != NULL && *p != '\0') {
        sqlite3_stmt *stmt = NULL;
        keel__sq_guard_begin(&c->guard, p);   /* p stays valid through the step */
        src = sqlite3_prepare_v2(c->db, p, -1, &stmt, &tail);
        if (src != SQLITE_OK) {
            keel__sq_guard_end(&c->guard);
            rc = keel__sq_fail(c, src, err, errlen);
            break;
        }
        if (stmt == NULL) {         /* only whitespace/comments left */
            keel__sq_guard_end(&c->guard);
            break;
        }
        while ((src = sqlite3_step(stmt)) == SQLITE_ROW)
            ;
        if (src != SQLITE_DONE)
            rc = keel__sq_fail(c, sqlite3_extended_errcode(c->db), err, errlen);
        sqlite3_finalize(stmt);
        keel__sq_guard_end(&c->guard);
        if (rc != 0)
            break;
        p = tail;
    }
    return rc == 0 ? keel__sq_durable(c, err, errlen) : rc;
}

/* store_busy_ms, store_cache, store_sync (keel__store_configure). */
static int sq_configure(void *conn, const keel_store_opts *o, char *err, size_t errlen)
{
    static const char *const levels[] = {"off", "normal", "full", "extra", NULL};
    keel__sq_conn *c = conn;
    const char *sync = o->sync != NULL && o->sync[0] != '\0' ? o->sync : "full";
    char sql[64];
    int i, src;

    for (i = 0; levels[i] != NULL && strcasecmp(sync, levels[i]) != 0; i++)
        ;
    if (levels[i] == NULL) {
        keel__sq_err(err, errlen, "store_sync=%s: use off, normal, full or extra", sync);
        return KEEL_ECONFIG;
    }
    if (o->busy_ms > 0) {
        sqlite3_busy_timeout(c->db, o->busy_ms);
        c->busy_ms = o->busy_ms;
    }
    if (o->no_cache) {
        keel__sq_cache_clear(c);
        c->cache_on = 0;
    }
    /* serving connections: the file's checkpointer copies the log back,
     * not the request whose commit made it long (store_sqlite_ckpt.c);
     * installing a WAL hook turns SQLite's autocheckpoint off */
    if (o->checkpoint_pages > 0 && c->ckpt == NULL)
        c->ckpt = keel__sq_gate_checkpointer(c->gate, o->checkpoint_pages, i, c->busy_ms);
    /* FULL with group commit: the connection runs at NORMAL and each commit
     * waits for a sync of the log it shares with the others
     * (store_sqlite_gsync.c); without a gate (:memory:) or on ENOMEM, FULL */
    c->gsync = NULL;
    if (i == SQ_SYNC_FULL && o->group_commit) {
        const char *file = sqlite3_db_filename(c->db, "main");
        if (file != NULL && file[0] != '\0')
            c->gsync = keel__sq_gate_gsync(c->gate, sqlite3_filename_wal(file));
    }
    if (c->ckpt != NULL || c->gsync != NULL)
        sqlite3_wal_hook(c->db, sq_wal_hook, c);
    /* a setting no module may change: run with the authorizer off for the
     * one statement (literal text, level from the table above) */
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", c->gsync != NULL ? "normal" : levels[i]);
    sqlite3_set_authorizer(c->db, NULL, NULL);
    src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (sqlite3_set_authorizer(c->db, keel__sq_authorize, &c->guard) != SQLITE_OK && src == SQLITE_OK)
        src = SQLITE_ERROR;
    return src == SQLITE_OK ? 0 : keel__sq_fail(c, src, err, errlen);
}

static void sq_set_privileged(void *conn, int on)
{
    keel__sq_conn *c = conn;
    c->guard.privileged = on != 0;
}

static void sq_set_queue(void *conn, int on)
{
    keel__sq_conn *c = conn;
    c->guard.queue = on != 0;
}

const keel_store_vt keel_store_sqlite = {
    .version  = 3,
    .name     = "sqlite",
    .open     = sq_open,
    .close    = sq_close,
    .exec     = keel__sq_exec,
    .begin    = keel__sq_begin,
    .commit   = keel__sq_commit,
    .rollback = keel__sq_rollback,
    .begin_ex  = keel__sq_begin_ex,
    .savepoint = keel__sq_savepoint,
    .errmsg    = sq_errmsg,
    .exec_blob = keel__sq_exec_blob,
    .one_blob  = keel__sq_one_blob,
};

const keel_store_ext keel__store_sqlite_ext = {
    .version        = 4,
    .exec_script    = sq_exec_script,
    .set_privileged = sq_set_privileged,
    .configure      = sq_configure,
    .set_queue      = sq_set_queue,
    .defer          = sq_defer,
    .wait_deferred  = sq_wait_deferred,
};
