/*
 * store_sqlite.c — the SQLite backend of keel_store_vt.
 *
 * One connection per module namespace.  SQL uses $1, $2, … (portable with
 * PostgreSQL); they are rewritten to ?1, ?2 outside string literals, quoted
 * identifiers and comments, then bound from the JSON params array.  Every
 * statement is prepared; exec accepts exactly one statement (scripts are for
 * migrations only, through keel__store_sqlite_ext.exec_script).  An authorizer
 * confines the connection to tables <ns>_* (keel_* for the core).  Prepared
 * statements are kept in a small per-connection LRU cache keyed by SQL text.
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

#define SQ_CACHE_SIZE 16
#define SQ_BUSY_MS    5000
#define SQ_SP_LEVELS  4

typedef struct sq_cached {
    char         *sql;   /* original text ($N form), owned; NULL = free slot */
    sqlite3_stmt *stmt;
    uint64_t      used;  /* LRU clock */
    int           queue; /* prepared with the dispatcher's queue access: only
                          * found again while that access is granted */
} sq_cached;

#define SQ_SYNC_FULL       2      /* index of "full" in sq_configure's levels */
#define SQ_AUTOCHECKPOINT  1000   /* SQLite's default wal_autocheckpoint */

typedef struct sq_conn {
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
    sq_cached cache[SQ_CACHE_SIZE];
    /* SAVEPOINT / RELEASE / ROLLBACK TO of nesting levels 1..SQ_SP_LEVELS,
     * prepared once: an event handler in a batch round nests two levels per
     * event, and preparing them each time was ~6 % of a delivery.  Kept
     * apart from cache[]: only sq_savepoint reaches them, so a module's
     * keel_store_exec of the same text still meets the authorizer. */
    sqlite3_stmt *sp[3][SQ_SP_LEVELS];
    /* BEGIN IMMEDIATE, COMMIT, ROLLBACK, prepared once for the same reason
     * (three prepares per transaction were ~2 % of an events batch round)
     * and kept apart from cache[] like sp[]. */
    sqlite3_stmt *ctl[3];
} sq_conn;

static void sq_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sq_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* SQLite result code → KEEL_E*, message into err. */
static int sq_fail(sq_conn *c, int src, char *err, size_t errlen)
{
    int prim = src & 0xff;

    if (prim == SQLITE_AUTH) {
        sq_err(err, errlen, "%s", c->guard.denied[0] ? c->guard.denied : sqlite3_errmsg(c->db));
        return KEEL_EDENIED;
    }
    sq_err(err, errlen, "%s", sqlite3_errmsg(c->db));
    switch (prim) {
    case SQLITE_CONSTRAINT: return KEEL_ECONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:     return KEEL_EUNAVAIL;
    case SQLITE_NOMEM:      return KEEL_ENOMEM;
    default:                return KEEL_ESTORE;
    }
}

/* ---- statement cache ---------------------------------------------------- */

static void cache_clear(sq_conn *c)
{
    int i, op;

    for (op = 0; op < 3; op++)
        for (i = 0; i < SQ_SP_LEVELS; i++) {
            sqlite3_finalize(c->sp[op][i]);
            c->sp[op][i] = NULL;
        }
    for (i = 0; i < 3; i++) {
        sqlite3_finalize(c->ctl[i]);
        c->ctl[i] = NULL;
    }
    for (i = 0; i < SQ_CACHE_SIZE; i++) {
        sqlite3_finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
        c->cache[i].stmt = NULL;
        c->cache[i].sql = NULL;
    }
}

/* Prepares sql (one statement) or takes it from the cache.  *cached = 1 when
 * the statement belongs to the cache (reset, not finalized, after use). */
static int sq_prepare(sq_conn *c, const char *sql, sqlite3_stmt **stmt, int *cached,
                      char *err, size_t errlen)
{
    char *text = NULL;
    const char *tail = NULL;
    int i, slot = 0, rc = 0, src, ddl;

    *stmt = NULL;
    *cached = 0;
    /* a statement prepared with queue access (the authorizer allowed every
     * module's outbox) is found only by another statement run with it, and
     * one prepared without it only without: the dispatcher's claim and
     * completion are prepared once per connection, not once per round */
    if (c->cache_on && !c->guard.privileged && !c->guard.tx_control) {
        for (i = 0; i < SQ_CACHE_SIZE; i++) {
            if (c->cache[i].sql != NULL && c->cache[i].queue == (c->guard.queue != 0) &&
                strcmp(c->cache[i].sql, sql) == 0) {
                c->cache[i].used = ++c->clock;
                keel__sq_guard_begin(&c->guard, NULL);  /* a re-prepare starts clean */
                *stmt = c->cache[i].stmt;
                *cached = 1;
                goto out;
            }
        }
    }
    if ((rc = keel__sq_check_text(&c->guard, sql)) != 0) {
        sq_err(err, errlen, "%s", c->guard.denied);
        goto out;
    }
    text = keel__sq_rewrite_params(sql);
    if (text == NULL) {
        sq_err(err, errlen, "out of memory");
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* the statement's kind stays known through its step (ANALYZE reads
     * sqlite_stat1 when it runs); sq_exec ends the guard */
    keel__sq_guard_begin(&c->guard, text);
    src = sqlite3_prepare_v2(c->db, text, -1, stmt, &tail);
    c->guard.sql = NULL;   /* text is freed below */
    ddl = c->guard.ddl != 0;
    if (src != SQLITE_OK) {
        rc = sq_fail(c, src, err, errlen);
        goto out;
    }
    if (*stmt == NULL) {
        sq_err(err, errlen, "empty statement");
        rc = KEEL_EINVAL;
        goto out;
    }
    if (tail != NULL && !keel__sq_only_trivia(tail)) {
        sq_err(err, errlen, "several statements in one exec (only migrations may hold scripts)");
        rc = KEEL_EINVAL;
        goto out;
    }
    /* Statements prepared while privileged (or by begin/commit/rollback) are
     * never cached: the authorizer runs at prepare time only.  Nor is DDL,
     * whose rename check needs the text the cache does not keep. */
    if (!c->cache_on || c->guard.privileged || c->guard.tx_control || ddl)
        goto out;
    for (i = 0; i < SQ_CACHE_SIZE; i++) {   /* a free slot, else the least recently used */
        if (c->cache[i].sql == NULL) {
            slot = i;
            break;
        }
        if (c->cache[i].used < c->cache[slot].used)
            slot = i;
    }
    {
        char *copy = strdup(sql);
        if (copy == NULL)
            goto out;   /* not cached: finalized after use */
        sqlite3_finalize(c->cache[slot].stmt);
        free(c->cache[slot].sql);
        c->cache[slot].sql = copy;
        c->cache[slot].stmt = *stmt;
        c->cache[slot].used = ++c->clock;
        c->cache[slot].queue = c->guard.queue != 0;
        *cached = 1;
    }
out:
    if (rc != 0) {
        sqlite3_finalize(*stmt);
        *stmt = NULL;
    }
    free(text);
    return rc;
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
static int sq_durable(sq_conn *c, char *err, size_t errlen)
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
 * committing thread.  Notes the commit for sq_durable, then reports the log's
 * size to the file's checkpointer, or does what SQLite's own hook
 * (wal_autocheckpoint, which installing this one turns off) would. */
static int sq_wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    sq_conn *c = ud;

    c->wrote = 1;
    if (c->ckpt != NULL)
        return keel__sq_ckpt_hook(c->ckpt, db, name, frames);
    if (frames >= SQ_AUTOCHECKPOINT)
        sqlite3_wal_checkpoint(db, name);
    return SQLITE_OK;
}

static int sq_exec(void *conn, const char *sql, const json_t *params, json_t **rows,
                   char *err, size_t errlen)
{
    sq_conn *c = conn;
    sqlite3_stmt *stmt = NULL;
    json_t *acc = NULL;
    int rc, cached = 0, src, gated = 0;

    if (rows != NULL)
        *rows = NULL;
    if (c == NULL || sql == NULL)
        return KEEL_EINVAL;
    rc = sq_prepare(c, sql, &stmt, &cached, err, errlen);
    if (rc != 0)
        goto out;
    if ((rc = keel__sq_bind(stmt, params, &src, err, errlen)) != 0) {
        if (src != SQLITE_OK)
            rc = sq_fail(c, src, err, errlen);
        goto out;
    }
    if (rows != NULL && (acc = json_array()) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    c->wrote = 0;
    /* a write outside a transaction is a transaction of its own: it takes
     * the file's gate too (store_sqlite_file.c) */
    if (!c->gated && !c->guard.tx_control && sqlite3_get_autocommit(c->db) &&
        !sqlite3_stmt_readonly(stmt)) {
        if (keel__sq_gate_enter(c->gate, c->busy_ms) != 0) {
            sq_err(err, errlen, "database is locked (waited %d ms for this process's other "
                   "writers)", c->busy_ms);
            rc = KEEL_EUNAVAIL;
            goto out;
        }
        gated = 1;
    }
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *row;
        if (acc == NULL)
            continue;
        row = keel__sq_row(stmt, &rc, err, errlen);
        if (row == NULL)
            goto out;
        if (json_array_append_new(acc, row) != 0) {
            rc = KEEL_ENOMEM;
            goto out;
        }
    }
    if (src != SQLITE_DONE)
        rc = sq_fail(c, sqlite3_extended_errcode(c->db), err, errlen);
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
        rc = sq_durable(c, err, errlen);
    if (rc == 0 && rows != NULL) {
        *rows = acc;
        acc = NULL;
    }
    json_decref(acc);
    return rc;
}

static void sq_close(void *conn)
{
    sq_conn *c = conn;
    if (c == NULL)
        return;
    cache_clear(c);
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

static int sq_setup(sq_conn *c, char *err, size_t errlen)
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
            int rc = sq_fail(c, src, err, errlen);
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
    sq_conn *c = NULL;
    int rc = 0, src;

    *conn = NULL;
    if (strncmp(path, "sqlite://", 9) == 0)
        path += 9;
    else if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    if (sqlite3_threadsafe() == 0) {
        sq_err(err, errlen, "this SQLite is built with SQLITE_THREADSAFE=0; keel needs 1 or 2");
        return KEEL_ECONFIG;
    }
    if (path[0] == '\0') {
        sq_err(err, errlen, "database url '%s' names no file", url);
        return KEEL_ECONFIG;
    }
    if (ns != NULL && !valid_ns(ns)) {
        sq_err(err, errlen, "invalid store namespace '%s' (need [a-z][a-z0-9_]*, not keel/sqlite*)", ns);
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
        sq_err(err, errlen, "cannot open %s: %s", path,
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

/* BEGIN / COMMIT / ROLLBACK: the only way transactions are controlled. */
static int sq_simple(sq_conn *c, const char *sql)
{
    int rc;

    c->lasterr[0] = '\0';
    c->guard.tx_control = 1;
    rc = sq_exec(c, sql, NULL, NULL, c->lasterr, sizeof c->lasterr);
    c->guard.tx_control = 0;
    return rc;
}

enum { SQ_CTL_BEGIN, SQ_CTL_COMMIT, SQ_CTL_ROLLBACK };
static int sq_ctl_exec(sq_conn *c, int op, const char *sql);

/* A write transaction holds the file's gate from BEGIN to its end. */
static int sq_begin(void *conn)
{
    sq_conn *c = conn;
    int rc;

    if (!c->gated) {
        if (keel__sq_gate_enter(c->gate, c->busy_ms) != 0) {
            snprintf(c->lasterr, sizeof c->lasterr, "database is locked (waited %d ms for "
                     "this process's other writers)", c->busy_ms);
            return KEEL_EUNAVAIL;
        }
        c->gated = 1;
    }
    if ((rc = sq_ctl_exec(c, SQ_CTL_BEGIN, "BEGIN IMMEDIATE")) != 0 && sqlite3_get_autocommit(c->db)) {
        keel__sq_gate_leave(c->gate);
        c->gated = 0;
    }
    return rc;
}

/* After COMMIT or ROLLBACK: the gate is left once no transaction is open. */
static int sq_tx_ended(sq_conn *c, int rc)
{
    if (c->gated && sqlite3_get_autocommit(c->db)) {
        keel__sq_gate_leave(c->gate);
        c->gated = 0;
    }
    return rc;
}
/* SQLite transactions are serializable: the flags change nothing. */
static int sq_begin_ex(void *conn, unsigned flags) { (void)flags; return sq_begin(conn); }

/* A transaction-control statement run from *slot (prepared on first use),
 * or through sq_simple when slot is NULL (store_cache=false, deep levels). */
static int sq_slot_exec(sq_conn *c, sqlite3_stmt **slot, const char *sql)
{
    int src;

    if (slot == NULL)
        return sq_simple(c, sql);
    c->lasterr[0] = '\0';
    c->guard.tx_control = 1;   /* at prepare, and at a re-prepare inside step */
    src = *slot != NULL ? SQLITE_OK : sqlite3_prepare_v2(c->db, sql, -1, slot, NULL);
    if (src == SQLITE_OK) {
        src = sqlite3_step(*slot);
        sqlite3_reset(*slot);
    }
    c->guard.tx_control = 0;
    return src == SQLITE_DONE ? 0 : sq_fail(c, src, c->lasterr, sizeof c->lasterr);
}

/* A savepoint statement of sq_savepoint, from c->sp when level is cached. */
static int sq_sp_exec(sq_conn *c, int op, unsigned level, const char *sql)
{
    return sq_slot_exec(c, level >= 1 && level <= SQ_SP_LEVELS && c->cache_on
                           ? &c->sp[op][level - 1] : NULL, sql);
}

static int sq_ctl_exec(sq_conn *c, int op, const char *sql)
{
    return sq_slot_exec(c, c->cache_on ? &c->ctl[op] : NULL, sql);
}

static int sq_savepoint(void *conn, int op, unsigned level)
{
    char sql[64];
    int rc;

    switch (op) {
    case KEEL_SP_BEGIN:
        snprintf(sql, sizeof sql, "SAVEPOINT keel_sp%u", level);
        return sq_sp_exec(conn, 0, level, sql);
    case KEEL_SP_RELEASE:
        break;
    case KEEL_SP_ROLLBACK:
        snprintf(sql, sizeof sql, "ROLLBACK TO keel_sp%u", level);
        if ((rc = sq_sp_exec(conn, 2, level, sql)) != 0)
            return rc;
        break;
    default: return KEEL_EINVAL;
    }
    snprintf(sql, sizeof sql, "RELEASE keel_sp%u", level);
    return sq_sp_exec(conn, 1, level, sql);
}

static const char *sq_errmsg(void *conn)
{
    sq_conn *c = conn;
    return c != NULL ? c->lasterr : "";
}
static int sq_commit(void *conn)
{
    sq_conn *c = conn;
    int rc;

    c->wrote = 0;
    rc = sq_tx_ended(c, sq_ctl_exec(c, SQ_CTL_COMMIT, "COMMIT"));
    return rc == 0 ? sq_durable(c, c->lasterr, sizeof c->lasterr) : rc;
}
static int sq_rollback(void *conn)
{
    sq_conn *c = conn;
    if (sqlite3_get_autocommit(c->db))
        return sq_tx_ended(c, 0);  /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    return sq_tx_ended(c, sq_ctl_exec(c, SQ_CTL_ROLLBACK, "ROLLBACK"));
}

static int sq_exec_script(void *conn, const char *sql, char *err, size_t errlen)
{
    sq_conn *c = conn;
    const char *p = sql, *tail = NULL;
    int rc, src;

    if ((rc = keel__sq_check_text(&c->guard, sql)) != 0) {
        sq_err(err, errlen, "%s", c->guard.denied);
        return rc;
    }
    c->wrote = 0;
    while (p != NULL && *p != '\0') {
        sqlite3_stmt *stmt = NULL;
        keel__sq_guard_begin(&c->guard, p);   /* p stays valid through the step */
        src = sqlite3_prepare_v2(c->db, p, -1, &stmt, &tail);
        if (src != SQLITE_OK) {
            keel__sq_guard_end(&c->guard);
            rc = sq_fail(c, src, err, errlen);
            break;
        }
        if (stmt == NULL) {         /* only whitespace/comments left */
            keel__sq_guard_end(&c->guard);
            break;
        }
        while ((src = sqlite3_step(stmt)) == SQLITE_ROW)
            ;
        if (src != SQLITE_DONE)
            rc = sq_fail(c, sqlite3_extended_errcode(c->db), err, errlen);
        sqlite3_finalize(stmt);
        keel__sq_guard_end(&c->guard);
        if (rc != 0)
            break;
        p = tail;
    }
    return rc == 0 ? sq_durable(c, err, errlen) : rc;
}

/* store_busy_ms, store_cache, store_sync (keel__store_configure). */
static int sq_configure(void *conn, const keel_store_opts *o, char *err, size_t errlen)
{
    static const char *const levels[] = {"off", "normal", "full", "extra", NULL};
    sq_conn *c = conn;
    const char *sync = o->sync != NULL && o->sync[0] != '\0' ? o->sync : "full";
    char sql[64];
    int i, src;

    for (i = 0; levels[i] != NULL && strcasecmp(sync, levels[i]) != 0; i++)
        ;
    if (levels[i] == NULL) {
        sq_err(err, errlen, "store_sync=%s: use off, normal, full or extra", sync);
        return KEEL_ECONFIG;
    }
    if (o->busy_ms > 0) {
        sqlite3_busy_timeout(c->db, o->busy_ms);
        c->busy_ms = o->busy_ms;
    }
    if (o->no_cache) {
        cache_clear(c);
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
    return src == SQLITE_OK ? 0 : sq_fail(c, src, err, errlen);
}

static void sq_set_privileged(void *conn, int on)
{
    sq_conn *c = conn;
    c->guard.privileged = on != 0;
}

static void sq_set_queue(void *conn, int on)
{
    sq_conn *c = conn;
    c->guard.queue = on != 0;
}

const keel_store_vt keel_store_sqlite = {
    .version  = 2,
    .name     = "sqlite",
    .open     = sq_open,
    .close    = sq_close,
    .exec     = sq_exec,
    .begin    = sq_begin,
    .commit   = sq_commit,
    .rollback = sq_rollback,
    .begin_ex  = sq_begin_ex,
    .savepoint = sq_savepoint,
    .errmsg    = sq_errmsg,
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
