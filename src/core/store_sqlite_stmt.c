/*
 * store_sqlite_stmt.c — the SQLite backend's prepared statements: the
 * per-connection LRU cache keyed by SQL text (store_sqlite.c runs what it
 * hands out), and transaction control (BEGIN / COMMIT / ROLLBACK and the
 * savepoints, each prepared once per connection and kept apart from the
 * cache so a module's text never reaches them past the authorizer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_sqlite-internal.h"

/* ---- statement cache ---------------------------------------------------- */

void keel__sq_cache_clear(keel__sq_conn *c)
{
    int i, op;

    for (op = 0; op < 3; op++)
        for (i = 0; i < KEEL__SQ_SP_LEVELS; i++) {
            sqlite3_finalize(c->sp[op][i]);
            c->sp[op][i] = NULL;
        }
    for (i = 0; i < 3; i++) {
        sqlite3_finalize(c->ctl[i]);
        c->ctl[i] = NULL;
    }
    for (i = 0; i < KEEL__SQ_CACHE_SIZE; i++) {
        sqlite3_finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
        c->cache[i].stmt = NULL;
        c->cache[i].sql = NULL;
    }
}

/* Prepares sql (one statement) or takes it from the cache.  *cached = 1 when
 * the statement belongs to the cache (reset, not finalized, after use). */
int keel__sq_prepare(keel__sq_conn *c, const char *sql, sqlite3_stmt **stmt, int *cached,
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
        for (i = 0; i < KEEL__SQ_CACHE_SIZE; i++) {
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
        keel__sq_err(err, errlen, "%s", c->guard.denied);
        goto out;
    }
    text = keel__sq_rewrite_params(sql);
    if (text == NULL) {
        keel__sq_err(err, errlen, "out of memory");
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* the statement's kind stays known through its step (ANALYZE reads
     * sqlite_stat1 when it runs); keel__sq_exec ends the guard */
    keel__sq_guard_begin(&c->guard, text);
    src = sqlite3_prepare_v2(c->db, text, -1, stmt, &tail);
    c->guard.sql = NULL;   /* text is freed below */
    ddl = c->guard.ddl != 0;
    if (src != SQLITE_OK) {
        rc = keel__sq_fail(c, src, err, errlen);
        goto out;
    }
    if (*stmt == NULL) {
        keel__sq_err(err, errlen, "empty statement");
        rc = KEEL_EINVAL;
        goto out;
    }
    if (tail != NULL && !keel__sq_only_trivia(tail)) {
        keel__sq_err(err, errlen, "several statements in one exec (only migrations may hold scripts)");
        rc = KEEL_EINVAL;
        goto out;
    }
    /* Statements prepared while privileged (or by begin/commit/rollback) are
     * never cached: the authorizer runs at prepare time only.  Nor is DDL,
     * whose rename check needs the text the cache does not keep. */
    if (!c->cache_on || c->guard.privileged || c->guard.tx_control || ddl)
        goto out;
    for (i = 0; i < KEEL__SQ_CACHE_SIZE; i++) {   /* a free slot, else the least recently used */
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

/* BEGIN / COMMIT / ROLLBACK: the only way transactions are controlled. */
static int sq_simple(keel__sq_conn *c, const char *sql)
{
    int rc;

    c->lasterr[0] = '\0';
    c->guard.tx_control = 1;
    rc = keel__sq_exec(c, sql, NULL, NULL, c->lasterr, sizeof c->lasterr);
    c->guard.tx_control = 0;
    return rc;
}

enum { SQ_CTL_BEGIN, SQ_CTL_COMMIT, SQ_CTL_ROLLBACK };
static int sq_ctl_exec(keel__sq_conn *c, int op, const char *sql);

/* A write transaction holds the file's gate from BEGIN to its end. */
int keel__sq_begin(void *conn)
{
    keel__sq_conn *c = conn;
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
static int sq_tx_ended(keel__sq_conn *c, int rc)
{
    if (c->gated && sqlite3_get_autocommit(c->db)) {
        keel__sq_gate_leave(c->gate);
        c->gated = 0;
    }
    return rc;
}
/* SQLite transactions are serializable: the flags change nothing. */
int keel__sq_begin_ex(void *conn, unsigned flags) { (void)flags; return keel__sq_begin(conn); }

/* A transaction-control statement run from *slot (prepared on first use),
 * or through sq_simple when slot is NULL (store_cache=false, deep levels). */
static int sq_slot_exec(keel__sq_conn *c, sqlite3_stmt **slot, const char *sql)
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
    return src == SQLITE_DONE ? 0 : keel__sq_fail(c, src, c->lasterr, sizeof c->lasterr);
}

/* A savepoint statement of keel__sq_savepoint, from c->sp when level is cached. */
static int sq_sp_exec(keel__sq_conn *c, int op, unsigned level, const char *sql)
{
    return sq_slot_exec(c, level >= 1 && level <= KEEL__SQ_SP_LEVELS && c->cache_on
                           ? &c->sp[op][level - 1] : NULL, sql);
}

static int sq_ctl_exec(keel__sq_conn *c, int op, const char *sql)
{
    return sq_slot_exec(c, c->cache_on ? &c->ctl[op] : NULL, sql);
}

int keel__sq_savepoint(void *conn, int op, unsigned level)
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

int keel__sq_commit(void *conn)
{
    keel__sq_conn *c = conn;
    int rc;

    c->wrote = 0;
    rc = sq_tx_ended(c, sq_ctl_exec(c, SQ_CTL_COMMIT, "COMMIT"));
    return rc == 0 ? keel__sq_durable(c, c->lasterr, sizeof c->lasterr) : rc;
}
int keel__sq_rollback(void *conn)
{
    keel__sq_conn *c = conn;
    if (sqlite3_get_autocommit(c->db))
        return sq_tx_ended(c, 0);  /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    return sq_tx_ended(c, sq_ctl_exec(c, SQ_CTL_ROLLBACK, "ROLLBACK"));
}
