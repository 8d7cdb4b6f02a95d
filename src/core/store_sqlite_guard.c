/*
 * store_sqlite_guard.c — what keeps a SQLite connection inside its namespace
 * (the authorizer and the check on SQL text), and the $N → ?N rewrite.
 * See store_sqlite-internal.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "core/store_sqlite-internal.h"

void keel__sq_guard_init(keel__sq_guard *g, const char *ns)
{
    memset(g, 0, sizeof *g);
    g->ns = ns;
    snprintf(g->prefix, sizeof g->prefix, "%s_", ns != NULL ? ns : "keel");
}

static int sq_token(const char **pp, char *buf, size_t len, int *quoted);

void keel__sq_guard_begin(keel__sq_guard *g, const char *sql)
{
    char word[16];
    const char *p = sql;
    int q;

    g->sql = sql;
    g->ddl = 0;
    g->denied[0] = '\0';
    /* ANALYZE deletes from sqlite_stat1 before the authorizer hears ANALYZE:
     * the statement's first word says what it is */
    if (p != NULL && sq_token(&p, word, sizeof word, &q) && !q) {
        if (strcasecmp(word, "CREATE") == 0)
            g->ddl = KEEL__SQ_DDL_CREATE;
        else if (strcasecmp(word, "ALTER") == 0 || strcasecmp(word, "DROP") == 0 ||
                 strcasecmp(word, "ANALYZE") == 0 || strcasecmp(word, "REINDEX") == 0)
            g->ddl = KEEL__SQ_DDL_OTHER;
    }
}

int keel__sq_guard_end(keel__sq_guard *g)
{
    int ddl = g->ddl != 0;
    g->sql = NULL;
    g->ddl = 0;   /* an automatic re-prepare inside step starts clean */
    return ddl;
}

/* ---- the namespace authorizer -------------------------------------------- */

/* <module>_outbox / <module>_inbox and their indexes (<module>_outbox_due):
 * the event queue tables the core's dispatcher reads and writes for every
 * module (keel/events.h).  Nothing else of a module is the core's. */
static int is_queue_table(const char *name)
{
    static const char *const words[] = { "_outbox", "_inbox", NULL };
    int i;

    for (i = 0; words[i] != NULL; i++) {
        const char *p = strstr(name, words[i]);
        size_t n = strlen(words[i]);
        if (p != NULL && p > name && (p[n] == '\0' || p[n] == '_'))
            return 1;
    }
    return 0;
}

static int in_ns(const keel__sq_guard *g, const char *name)
{
    size_t n = strlen(g->prefix);
    if (name == NULL)
        return 0;
    if (strncasecmp(name, g->prefix, n) == 0 && name[n] != '\0')
        return 1;
    if ((g->ns == NULL || g->queue) && is_queue_table(name))
        return 1;
    if (g->queue && strcasecmp(name, "keel_dead_letters") == 0)
        return 1;
    return g->privileged && strcasecmp(name, "keel_migrations") == 0;
}

/* SQLite's own tables (sqlite_master, sqlite_sequence, sqlite_stat1 …).
 * The engine reads and writes them itself while compiling DDL (its nested
 * statements go through the authorizer too).  They hold every namespace's
 * table names and definitions, so a module reaches them only through that
 * engine work (internal_ok), and migrations may read them. */
static int is_internal_table(const char *name)
{
    return name != NULL && strncasecmp(name, "sqlite_", 7) == 0;
}

static int is_schema_table(const char *name)
{
    return name != NULL && (strcasecmp(name, "sqlite_master") == 0 ||
                            strcasecmp(name, "sqlite_temp_master") == 0 ||
                            strcasecmp(name, "sqlite_schema") == 0 ||
                            strcasecmp(name, "sqlite_temp_schema") == 0);
}

/* May this action touch SQLite's table name (col: the column read)?
 * Writes to the schema table are SQLite's alone (it refuses user writes
 * without writable_schema, a pragma nobody may run); its UPDATE there starts
 * the engine's phase of a CREATE (or of a table-valued pragma's first use),
 * after which it reads back only ROWID — a CREATE TABLE … AS SELECT reads
 * its user query before.  Anything else — a read of any sqlite_* table, a
 * write to sqlite_sequence or sqlite_stat1 — only inside DDL that holds no
 * user query (ALTER, DROP, ANALYZE, REINDEX), and never from a trigger or
 * view body (trigger names it). */
static int internal_ok(keel__sq_guard *g, int action, const char *name, const char *col,
                       const char *trigger)
{
    if (g->privileged)
        return 1;
    if (trigger != NULL)
        return 0;
    if (action != SQLITE_READ && is_schema_table(name)) {
        if (action == SQLITE_UPDATE)
            g->ddl |= KEEL__SQ_DDL_ENGINE;
        return 1;
    }
    if (g->ddl & KEEL__SQ_DDL_OTHER)
        return 1;
    return (g->ddl & KEEL__SQ_DDL_ENGINE) && action == SQLITE_READ && is_schema_table(name) &&
           col != NULL && strcasecmp(col, "ROWID") == 0;
}

/* The next token of an SQL text: a word or quoted name (unquoted into buf,
 * truncated to len-1; *quoted set), or one punctuation character.  Skips
 * blanks and comments.  0 at the end. */
static int sq_token(const char **pp, char *buf, size_t len, int *quoted)
{
    const char *p = *pp;
    size_t n = 0;

    *quoted = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e != NULL ? e + 2 : p + strlen(p);
        } else {
            break;
        }
    }
    if (*p == '\0') {
        *pp = p;
        return 0;
    }
    if (*p == '"' || *p == '\'' || *p == '`' || *p == '[') {
        char close = *p == '[' ? ']' : *p;
        *quoted = 1;
        for (p++; *p != '\0'; p++) {
            if (*p == close) {
                if (close != ']' && p[1] == close) {
                    p++;            /* doubled quote: one literal character */
                } else {
                    p++;
                    break;
                }
            }
            if (n + 1 < len)
                buf[n++] = *p;
        }
    } else if (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
            if (n + 1 < len)
                buf[n++] = *p;
            p++;
        }
    } else {
        buf[n++] = *p++;
    }
    buf[n] = '\0';
    *pp = p;
    return 1;
}

static int sq_keyword(const char *tok, int quoted, const char *kw)
{
    return !quoted && strcasecmp(tok, kw) == 0;
}

/* For ALTER TABLE [schema.]name RENAME TO new: copies new into out and
 * returns 1; 0 for every other ALTER (RENAME [COLUMN] a TO b, ADD, DROP);
 * -1 if the text cannot be read as an ALTER TABLE. */
static int sq_rename_target(const char *sql, char *out, size_t len)
{
    char tok[128];
    int q;

    if (!sq_token(&sql, tok, sizeof tok, &q) || !sq_keyword(tok, q, "ALTER") ||
        !sq_token(&sql, tok, sizeof tok, &q) || !sq_keyword(tok, q, "TABLE") ||
        !sq_token(&sql, tok, sizeof tok, &q) || !sq_token(&sql, tok, sizeof tok, &q))
        return -1;
    if (sq_keyword(tok, q, ".") &&
        (!sq_token(&sql, tok, sizeof tok, &q) || !sq_token(&sql, tok, sizeof tok, &q)))
        return -1;
    if (!sq_keyword(tok, q, "RENAME"))
        return 0;
    if (!sq_token(&sql, tok, sizeof tok, &q))
        return -1;
    if (!sq_keyword(tok, q, "TO"))
        return 0;
    if (!sq_token(&sql, out, len, &q))
        return -1;
    return 1;
}

/* Table-valued functions that read no table: json_each/json_tree, and the
 * pragma_* functions, whose PRAGMA check follows (SQLITE_PRAGMA). */
static int is_table_function(const char *name)
{
    return name != NULL && (strcasecmp(name, "json_each") == 0 ||
                            strcasecmp(name, "json_tree") == 0 ||
                            strncasecmp(name, "pragma_", 7) == 0);
}

static int sq_deny(keel__sq_guard *g, const char *what, const char *name)
{
    if (g->ns != NULL)
        snprintf(g->denied, sizeof g->denied, "module '%s' may not %s '%s'",
                 g->ns, what, name ? name : "?");
    else
        snprintf(g->denied, sizeof g->denied, "the core may not %s '%s'",
                 what, name ? name : "?");
    return SQLITE_DENY;
}

/* Pragmas a connection may run: read-only queries of connection settings,
 * and schema introspection of its own tables. */
static int pragma_ok(keel__sq_guard *g, const char *name, const char *arg)
{
    static const char *const settings[] = {
        "foreign_keys", "journal_mode", "synchronous", "busy_timeout",
        "page_size", "page_count", "freelist_count", "encoding", "user_version",
        "schema_version", "data_version", "compile_options", NULL
    };
    static const char *const introspect[] = {
        "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check", NULL
    };
    int i;

    for (i = 0; settings[i] != NULL; i++)
        if (strcasecmp(name, settings[i]) == 0)
            return arg == NULL;
    for (i = 0; introspect[i] != NULL; i++)
        if (strcasecmp(name, introspect[i]) == 0)
            return arg != NULL && in_ns(g, arg);
    return 0;
}

int keel__sq_authorize(void *ud, int action, const char *a1, const char *a2,
                       const char *db, const char *trigger)
{
    keel__sq_guard *g = ud;
    (void)db;

    switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
        /* only the backend's begin/commit/rollback: a BEGIN sent through
         * exec would let other threads' statements join it */
        if (g->tx_control)
            return SQLITE_OK;
        snprintf(g->denied, sizeof g->denied, "%s%s%s may not control transactions "
                 "itself (use keel_store_tx)", g->ns ? "module '" : "the core",
                 g->ns ? g->ns : "", g->ns ? "'" : "");
        return SQLITE_DENY;
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_READ:
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
        /* a1 = table; reading the schema would reveal other namespaces */
        if (in_ns(g, a1) || (action == SQLITE_READ && is_table_function(a1)))
            return SQLITE_OK;
        if (is_internal_table(a1) && internal_ok(g, action, a1, a2, trigger))
            return SQLITE_OK;
        return sq_deny(g, "access table", a1);
    case SQLITE_CREATE_TABLE:   /* sqlite_sequence / sqlite_stat1 on demand */
    case SQLITE_CREATE_TEMP_TABLE:
        g->ddl |= KEEL__SQ_DDL_CREATE;
        return in_ns(g, a1) || is_internal_table(a1) ? SQLITE_OK : sq_deny(g, "access table", a1);
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE:
        g->ddl |= KEEL__SQ_DDL_OTHER;
        return in_ns(g, a1) || is_internal_table(a1) ? SQLITE_OK : sq_deny(g, "access table", a1);
    case SQLITE_ANALYZE:
        g->ddl |= KEEL__SQ_DDL_OTHER;
        return in_ns(g, a1) ? SQLITE_OK : sq_deny(g, "access table", a1);
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
        g->ddl |= KEEL__SQ_DDL_CREATE;
        return in_ns(g, a1) ? SQLITE_OK : sq_deny(g, "create or drop view", a1);
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW:
        g->ddl |= KEEL__SQ_DDL_OTHER;
        return in_ns(g, a1) ? SQLITE_OK : sq_deny(g, "create or drop view", a1);
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER:
        /* a1 = index/trigger name, a2 = its table: both in the namespace */
        g->ddl |= (action == SQLITE_CREATE_INDEX || action == SQLITE_CREATE_TEMP_INDEX ||
                   action == SQLITE_CREATE_TRIGGER || action == SQLITE_CREATE_TEMP_TRIGGER)
                  ? KEEL__SQ_DDL_CREATE : KEEL__SQ_DDL_OTHER;
        if (!in_ns(g, a2))
            return sq_deny(g, "access table", a2);
        if (in_ns(g, a1) || is_internal_table(a1))   /* sqlite_autoindex_<table>_N */
            return SQLITE_OK;
        return sq_deny(g, "create or drop index/trigger", a1);
    case SQLITE_ALTER_TABLE: {
        /* a2 = the table; the new name of a RENAME TO is not passed, so it
         * is read from the statement's text */
        char target[128];
        int r;
        g->ddl |= KEEL__SQ_DDL_OTHER;
        if (!in_ns(g, a2))
            return sq_deny(g, "access table", a2);
        r = g->sql != NULL ? sq_rename_target(g->sql, target, sizeof target) : -1;
        if (r < 0)
            return sq_deny(g, "alter (statement text unreadable) table", a2);
        if (r == 1 && !in_ns(g, target))
            return sq_deny(g, "rename a table to", target);
        return SQLITE_OK;
    }
    case SQLITE_REINDEX:
        /* a1 = each index, sqlite_autoindex_<table>_N for UNIQUE columns */
        g->ddl |= KEEL__SQ_DDL_OTHER;
        if (in_ns(g, a1) || (a1 != NULL && strncasecmp(a1, "sqlite_autoindex_", 17) == 0 &&
                             in_ns(g, a1 + 17)))
            return SQLITE_OK;
        return sq_deny(g, "reindex", a1);
    case SQLITE_PRAGMA:
        if (pragma_ok(g, a1, a2))
            return SQLITE_OK;
        if (a2 != NULL) {   /* name the table it was aimed at */
            char what[160];
            snprintf(what, sizeof what, "%s(%s)", a1, a2);
            return sq_deny(g, "run pragma", what);
        }
        return sq_deny(g, "run pragma", a1);
    case SQLITE_ATTACH:
        return sq_deny(g, "attach database", a1);
    case SQLITE_DETACH:
        return sq_deny(g, "detach database", a1);
    default:
        /* virtual tables and anything added later: refused */
        return sq_deny(g, "perform this operation on", a1 ? a1 : "the database");
    }
}

/* ---- $N → ?N ----------------------------------------------------------- */

/* Copies sql with $<digits> rewritten to ?<digits> outside '…' literals,
 * "…" / `…` / […] identifiers and comments.  New malloc'd string. */
char *keel__sq_rewrite_params(const char *sql)
{
    size_t n = strlen(sql), i = 0;
    char *out = malloc(n + 1);

    if (out == NULL)
        return NULL;
    while (i < n) {
        char ch = sql[i];
        if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
            char close = ch == '[' ? ']' : ch;
            out[i] = sql[i];
            i++;
            while (i < n) {
                out[i] = sql[i];
                i++;
                if (sql[i - 1] == close) {
                    if (close != ']' && i < n && sql[i] == close) { /* doubled quote */
                        out[i] = sql[i];
                        i++;
                        continue;
                    }
                    break;
                }
            }
        } else if (ch == '-' && i + 1 < n && sql[i + 1] == '-') {
            while (i < n && sql[i] != '\n') {
                out[i] = sql[i];
                i++;
            }
        } else if (ch == '/' && i + 1 < n && sql[i + 1] == '*') {
            out[i] = sql[i];
            out[i + 1] = sql[i + 1];
            i += 2;
            while (i < n && !(sql[i] == '*' && i + 1 < n && sql[i + 1] == '/')) {
                out[i] = sql[i];
                i++;
            }
            if (i < n) {
                out[i] = sql[i];
                out[i + 1] = sql[i + 1];
                i += 2;
            }
        } else {
            /* not inside an identifier such as a$1 (SQLite and PostgreSQL allow '$' there) */
            int in_ident = i > 0 && (isalnum((unsigned char)sql[i - 1]) || sql[i - 1] == '_' ||
                                     sql[i - 1] == '$');
            out[i] = (ch == '$' && !in_ident && i + 1 < n && sql[i + 1] >= '0' &&
                      sql[i + 1] <= '9') ? '?' : ch;
            i++;
        }
    }
    out[n] = '\0';
    return out;
}

/* The first identifier in sql (outside '…' literals and comments) that
 * names one of SQLite's own tables (sqlite_*, not followed by '(' as the
 * sqlite_version() functions are), copied into name; 0 if none. */
static int sq_names_internal(const char *sql, char *name, size_t len)
{
    const char *p = sql;

    while (*p != '\0') {
        if (*p == '\'') {
            for (p++; *p != '\0'; p++)
                if (*p == '\'' && *++p != '\'')
                    break;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e != NULL ? e + 2 : p + strlen(p);
            continue;
        }
        if (strncasecmp(p, "sqlite_", 7) == 0 &&
            (p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '$'))) {
            const char *e = p, *q;
            while (isalnum((unsigned char)*e) || *e == '_' || *e == '$')
                e++;
            for (q = e; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'; q++)
                ;
            if (*q != '(') {
                snprintf(name, len, "%.*s", (int)(e - p), p);
                return 1;
            }
            p = e;
            continue;
        }
        p++;
    }
    return 0;
}

int keel__sq_check_text(keel__sq_guard *g, const char *sql)
{
    char name[64];

    if (g->privileged || !sq_names_internal(sql, name, sizeof name))
        return 0;
    sq_deny(g, "access table", name);
    return KEEL_EDENIED;
}

/* 1 if s holds only whitespace, ';' and comments. */
int keel__sq_only_trivia(const char *s)
{
    while (*s != '\0') {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ';') {
            s++;
        } else if (s[0] == '-' && s[1] == '-') {
            while (*s != '\0' && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            if (e == NULL)
                return 1;
            s = e + 2;
        } else {
            return 0;
        }
    }
    return 1;
}
