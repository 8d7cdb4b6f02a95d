/*
 * store.c — the keel_store handle: one backend connection behind a recursive
 * mutex, transactions with a depth counter, and the last error message.
 *
 * Backends (store_sqlite.c, later store_postgres.c) implement keel_store_vt;
 * this file knows nothing about SQL dialects.  The handle may be used by
 * several HTTP loop threads at once: every exec holds the mutex, and
 * keel_store_tx holds it from BEGIN to COMMIT so a transaction never
 * interleaves with another thread's statements.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"

#define KEEL_STORE_ERRMAX 512

struct keel_store {
    const keel_store_vt  *vt;
    const keel_store_ext *ext;     /* NULL = none */
    void                 *conn;    /* owned */
    pthread_mutex_t       mu;      /* recursive */
    int                   depth;   /* nesting of keel_store_tx */
    int                   doomed;  /* a nested tx failed: the outermost rolls back */
    char                  errmsg[KEEL_STORE_ERRMAX];
};

static void store_seterr(keel_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void store_seterr(keel_store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
}

keel_store *keel__store_wrap_ext(const keel_store_vt *vt, const keel_store_ext *ext, void *conn)
{
    keel_store *st = NULL;
    pthread_mutexattr_t attr;

    if (vt == NULL || conn == NULL)
        return NULL;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        goto out;
    if (pthread_mutexattr_init(&attr) != 0) {
        free(st);
        st = NULL;
        goto out;
    }
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (pthread_mutex_init(&st->mu, &attr) != 0) {
        free(st);
        st = NULL;
    }
    pthread_mutexattr_destroy(&attr);
    if (st != NULL) {
        st->vt = vt;
        st->ext = ext;
        st->conn = conn;
    }
out:
    return st;
}

keel_store *keel_store_wrap(const keel_store_vt *vt, void *conn)
{
    const keel_store_ext *ext = vt == &keel_store_sqlite ? &keel__store_sqlite_ext : NULL;
    return keel__store_wrap_ext(vt, ext, conn);
}

int keel_store_open(const keel_store_vt *vt, const char *url, const char *ns,
                    keel_store **st, char *err, size_t errlen)
{
    void *conn = NULL;
    int rc;

    if (st != NULL)
        *st = NULL;
    if (vt == NULL || vt->open == NULL || st == NULL || url == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "keel_store_open: missing backend, url or handle");
        return KEEL_EINVAL;
    }
    rc = vt->open(url, ns, &conn, err, errlen);
    if (rc != 0)
        goto out;
    *st = keel_store_wrap(vt, conn);
    if (*st == NULL) {
        vt->close(conn);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "out of memory opening the store");
        rc = KEEL_ENOMEM;
    }
out:
    return rc;
}

/* The URL's scheme ("postgres" in "postgres://…"), into buf; "" if none. */
static void url_scheme(const char *url, char *buf, size_t len)
{
    const char *p = url;

    buf[0] = '\0';
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
           (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (p == url || *p != ':' || (size_t)(p - url) >= len)
        return;
    /* "C:\…" style drive letters are paths, not schemes. */
    if (p - url == 1 && p[1] != '/')
        return;
    memcpy(buf, url, (size_t)(p - url));
    buf[p - url] = '\0';
}

int keel__store_open_url(const char *url, const char *ns, keel_store **st,
                         char *err, size_t errlen)
{
    char scheme[32];

    if (st != NULL)
        *st = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(err, errlen, "empty database url");
        return KEEL_ECONFIG;
    }
    url_scheme(url, scheme, sizeof scheme);
    if (scheme[0] == '\0' || strcmp(scheme, "sqlite") == 0 || strcmp(scheme, "file") == 0)
        return keel_store_open(&keel_store_sqlite, url, ns, st, err, errlen);
    if (strcmp(scheme, "postgres") == 0 || strcmp(scheme, "postgresql") == 0) {
        snprintf(err, errlen, "postgres backend not built in this version "
                 "(use KEEL_DATABASE_URL=sqlite:PATH)");
        return KEEL_ECONFIG;
    }
    snprintf(err, errlen, "unknown database url scheme '%s' (expected sqlite: or postgres://)",
             scheme);
    return KEEL_ECONFIG;
}

void keel_store_close(keel_store *st)
{
    if (st == NULL)
        return;
    st->vt->close(st->conn);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int keel_store_exec(keel_store *st, const char *sql, const json_t *params, json_t **rows)
{
    int rc;

    if (rows != NULL)
        *rows = NULL;
    if (st == NULL || sql == NULL)
        return KEEL_EINVAL;
    pthread_mutex_lock(&st->mu);
    st->errmsg[0] = '\0';
    rc = st->vt->exec(st->conn, sql, params, rows, st->errmsg, sizeof st->errmsg);
    if (rc != 0 && rows != NULL && *rows != NULL) {
        json_decref(*rows);
        *rows = NULL;
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int keel_store_one(keel_store *st, const char *sql, const json_t *params, json_t **row)
{
    json_t *rows = NULL;
    int rc;

    if (row != NULL)
        *row = NULL;
    rc = keel_store_exec(st, sql, params, &rows);
    if (rc != 0)
        goto out;
    if (json_array_size(rows) == 0) {
        rc = KEEL_ENOTFOUND;
        goto out;
    }
    if (json_array_size(rows) > 1) {
        pthread_mutex_lock(&st->mu);
        store_seterr(st, "expected at most one row, got %zu", json_array_size(rows));
        pthread_mutex_unlock(&st->mu);
        rc = KEEL_ESTORE;
        goto out;
    }
    if (row != NULL)
        *row = json_incref(json_array_get(rows, 0));
out:
    json_decref(rows);
    return rc;
}

int keel_store_tx(keel_store *st, int (*fn)(keel_store *st, void *arg), void *arg)
{
    int rc, crc;

    if (st == NULL || fn == NULL)
        return KEEL_EINVAL;
    pthread_mutex_lock(&st->mu);
    if (st->depth > 0) {
        /* Nested: join the outer transaction; a failure dooms it. */
        st->depth++;
        rc = fn(st, arg);
        st->depth--;
        if (rc != 0 && st->doomed == 0)
            st->doomed = rc;
        goto out;
    }
    st->errmsg[0] = '\0';
    rc = st->vt->begin(st->conn);
    if (rc != 0) {
        if (st->errmsg[0] == '\0')
            store_seterr(st, "begin failed: %s", keel_strerror(rc));
        goto out;
    }
    st->depth = 1;
    st->doomed = 0;
    rc = fn(st, arg);
    st->depth = 0;
    if (rc == 0 && st->doomed != 0)
        rc = st->doomed;   /* an inner tx failed and the outer fn ignored it */
    st->doomed = 0;
    if (rc == 0) {
        rc = st->vt->commit(st->conn);
        if (rc == 0)
            goto out;
        store_seterr(st, "commit failed: %s", keel_strerror(rc));
    }
    crc = st->vt->rollback(st->conn);
    if (crc != 0 && st->errmsg[0] == '\0')
        store_seterr(st, "rollback failed: %s", keel_strerror(crc));
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

const char *keel_store_backend_name(const keel_store *st)
{
    return st != NULL && st->vt->name != NULL ? st->vt->name : "";
}

const char *keel_store_errmsg(const keel_store *st)
{
    return st != NULL ? st->errmsg : "";
}

/* Generic script runner for backends without exec_script: split on complete
 * statements (sqlite3_complete understands strings, comments and trigger
 * bodies) and run each through vt->exec. */
static int script_split_exec(keel_store *st, const char *sql, char *err, size_t errlen)
{
    const char *start = sql, *p;
    char *stmt = NULL;
    int rc = 0;

    for (p = sql; *p != '\0'; p++) {
        size_t n;
        if (*p != ';')
            continue;
        n = (size_t)(p - start) + 1;
        stmt = malloc(n + 1);
        if (stmt == NULL) {
            rc = KEEL_ENOMEM;
            goto out;
        }
        memcpy(stmt, start, n);
        stmt[n] = '\0';
        if (!sqlite3_complete(stmt)) {
            free(stmt);
            stmt = NULL;
            continue;
        }
        rc = st->vt->exec(st->conn, stmt, NULL, NULL, err, errlen);
        free(stmt);
        stmt = NULL;
        if (rc != 0)
            goto out;
        start = p + 1;
    }
    /* A trailing statement without ';' (ignore pure whitespace). */
    for (p = start; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
        ;
    if (*p != '\0')
        rc = st->vt->exec(st->conn, start, NULL, NULL, err, errlen);
out:
    free(stmt);
    return rc;
}

int keel__store_exec_script(keel_store *st, const char *sql, char *err, size_t errlen)
{
    int rc;

    if (st == NULL || sql == NULL)
        return KEEL_EINVAL;
    pthread_mutex_lock(&st->mu);
    st->errmsg[0] = '\0';
    if (st->ext != NULL && st->ext->exec_script != NULL)
        rc = st->ext->exec_script(st->conn, sql, st->errmsg, sizeof st->errmsg);
    else
        rc = script_split_exec(st, sql, st->errmsg, sizeof st->errmsg);
    if (rc != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", st->errmsg[0] ? st->errmsg : keel_strerror(rc));
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void keel__store_set_privileged(keel_store *st, int on)
{
    if (st == NULL || st->ext == NULL || st->ext->set_privileged == NULL)
        return;
    pthread_mutex_lock(&st->mu);
    st->ext->set_privileged(st->conn, on);
    pthread_mutex_unlock(&st->mu);
}

int keel__store_configure(keel_store *st, const keel_store_opts *opts, char *err, size_t errlen)
{
    int rc;

    if (st == NULL || opts == NULL || st->ext == NULL || st->ext->version < 2 ||
        st->ext->configure == NULL)
        return 0;
    pthread_mutex_lock(&st->mu);
    rc = st->ext->configure(st->conn, opts, err, errlen);
    pthread_mutex_unlock(&st->mu);
    return rc;
}
