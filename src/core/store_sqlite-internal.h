/*
 * store_sqlite-internal.h — pieces of the SQLite backend shared between
 * store_sqlite.c (connections, statements, cache) and store_sqlite_guard.c
 * (namespace rules and SQL text handling).
 */
#ifndef KEEL_STORE_SQLITE_INTERNAL_H
#define KEEL_STORE_SQLITE_INTERNAL_H

/* The namespace a connection is confined to. */
typedef struct keel__sq_guard {
    const char *ns;          /* module name (borrowed), NULL = the core */
    char        prefix[72];  /* "<ns>_" or "keel_" */
    int         privileged;  /* during migrations: keel_migrations allowed too */
    int         tx_control;  /* inside begin/commit/rollback: BEGIN etc. allowed */
    char        denied[256]; /* the last refusal ("module 'kv' may not …") */
} keel__sq_guard;

/* Sets up g for ns (borrowed: must outlive g). */
void keel__sq_guard_init(keel__sq_guard *g, const char *ns);

/* sqlite3_set_authorizer callback; ud is a keel__sq_guard.  Tables outside
 * the namespace, ATTACH/DETACH, pragmas other than a read-only whitelist and
 * unknown actions are SQLITE_DENY, with the reason in guard->denied. */
int keel__sq_authorize(void *ud, int action, const char *a1, const char *a2,
                       const char *db, const char *trigger);

/* 0, or KEEL_EDENIED (reason in g->denied) when sql names one of SQLite's
 * own tables (sqlite_master, sqlite_sequence …) outside string literals. */
int keel__sq_check_text(keel__sq_guard *g, const char *sql);

/* sql with $<digits> rewritten to ?<digits> outside literals, quoted
 * identifiers and comments.  New malloc'd string (caller frees), NULL on ENOMEM. */
char *keel__sq_rewrite_params(const char *sql);

/* 1 if s holds only whitespace, ';' and comments. */
int keel__sq_only_trivia(const char *s);

#endif /* KEEL_STORE_SQLITE_INTERNAL_H */
