/*
 * store.c — the keel_store handle: opening (by backend or by URL), single
 * statements, migration scripts and the privileged mode.  Connections come
 * from store_pool.c; transactions are store_tx.c.
 *
 * Backends (store_sqlite.c, store_pg.c) implement keel_store_vt; this file
 * knows nothing about SQL dialects.  A statement on a root handle runs on the
 * calling thread's transaction connection when it is inside keel_store_tx on
 * that handle, else on a borrowed connection given back right after.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_handle-internal.h"

#define KEEL_STORE_POOL_DEFAULT    4
#define KEEL_STORE_TIMEOUT_DEFAULT 30000

static const keel_store_ext *builtin_ext(const keel_store_vt *vt)
{
    if (vt == &keel_store_sqlite)
        return &keel__store_sqlite_ext;
    if (vt == &keel_store_postgres)
        return &keel__store_pg_ext;
    return NULL;
}

/* A root with nslots empty slots (one pre-filled with conn when given). */
static keel_store *root_new(const keel_store_vt *vt, const keel_store_ext *ext,
                            const keel_store_opts *opts, int nslots, void *conn)
{
    keel_store *st = calloc(1, sizeof *st);
    int i;

    if (st == NULL)
        return NULL;
    st->slots = calloc((size_t)nslots, sizeof *st->slots);
    if (st->slots == NULL || pthread_mutex_init(&st->mu, NULL) != 0) {
        free(st->slots);
        free(st);
        return NULL;
    }
    if (pthread_cond_init(&st->cv, NULL) != 0) {
        pthread_mutex_destroy(&st->mu);
        free(st->slots);
        free(st);
        return NULL;
    }
    st->vt = vt;
    st->ext = ext;
    st->nslots = nslots;
    if (opts != NULL)
        st->opts = *opts;
    st->opts.grant_to = NULL;
    if (st->opts.pool_size <= 0)
        st->opts.pool_size = KEEL_STORE_POOL_DEFAULT;
    if (st->opts.statement_timeout_ms <= 0)
        st->opts.statement_timeout_ms = KEEL_STORE_TIMEOUT_DEFAULT;
    for (i = 0; i < nslots; i++)
        st->slots[i].priv = -1;
    st->slots[0].conn = conn;
    atomic_store_explicit(&st->n_open, conn != NULL, memory_order_relaxed);
    return st;
}

keel_store *keel__store_wrap_ext(const keel_store_vt *vt, const keel_store_ext *ext, void *conn)
{
    if (vt == NULL || conn == NULL)
        return NULL;
    return root_new(vt, ext, NULL, 1, conn);
}

keel_store *keel_store_wrap(const keel_store_vt *vt, void *conn)
{
    return keel__store_wrap_ext(vt, builtin_ext(vt), conn);
}

static int set_opts(keel_store *st, const keel_store_opts *opts, char *err, size_t errlen);

/* lazy: no connection yet; the first borrow opens one (the pool's path for
 * a closed slot) and applies the settings there */
static int open_vt(const keel_store_vt *vt, const keel_store_ext *ext, const char *url,
                   const char *ns, const keel_store_opts *opts, int lazy, keel_store **st,
                   char *err, size_t errlen)
{
    void *conn = NULL;
    keel_store *r = NULL;
    int rc, n;

    *st = NULL;
    if (!lazy && (rc = vt->open(url, ns, &conn, err, errlen)) != 0)   /* fail fast on a bad URL */
        return rc;
    n = vt == &keel_store_postgres
        ? (opts != NULL && opts->pool_size > 0 ? opts->pool_size : KEEL_STORE_POOL_DEFAULT)
        : 1;
    r = root_new(vt, ext, opts, n, conn);
    if (r == NULL || (r->url = strdup(url)) == NULL ||
        (ns != NULL && (r->ns = strdup(ns)) == NULL) ||
        (opts != NULL && opts->grant_to != NULL &&
         (r->grant_to = strdup(opts->grant_to)) == NULL)) {
        if (r == NULL && conn != NULL)
            vt->close(conn);
        keel_store_close(r);
        snprintf(err, errlen, "out of memory opening the store");
        return KEEL_ENOMEM;
    }
    r->opts.grant_to = r->grant_to;
    {
        keel_store_opts none;
        memset(&none, 0, sizeof none);
        rc = lazy ? set_opts(r, opts != NULL ? opts : &none, err, errlen)
                  : keel__store_configure(r, opts != NULL ? opts : &none, err, errlen);
        if (rc != 0) {
            keel_store_close(r);
            return rc;
        }
    }
    *st = r;
    return 0;
}

int keel_store_open(const keel_store_vt *vt, const char *url, const char *ns,
                    keel_store **st, char *err, size_t errlen)
{
    if (st != NULL)
        *st = NULL;
    if (vt == NULL || vt->open == NULL || st == NULL || url == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "keel_store_open: missing backend, url or handle");
        return KEEL_EINVAL;
    }
    return open_vt(vt, builtin_ext(vt), url, ns, NULL, 0, st, err, errlen);
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

int keel__store_url_is_pg(const char *url)
{
    char scheme[32];
    if (url == NULL)
        return 0;
    url_scheme(url, scheme, sizeof scheme);
    return strcmp(scheme, "postgres") == 0 || strcmp(scheme, "postgresql") == 0;
}

static int open_url(const char *url, const char *ns, const keel_store_opts *opts, int lazy,
                    keel_store **st, char *err, size_t errlen)
{
    char scheme[32];

    if (st == NULL)
        return KEEL_EINVAL;
    *st = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(err, errlen, "empty database url");
        return KEEL_ECONFIG;
    }
    url_scheme(url, scheme, sizeof scheme);
    if (scheme[0] == '\0' || strcmp(scheme, "sqlite") == 0 || strcmp(scheme, "file") == 0)
        return open_vt(&keel_store_sqlite, &keel__store_sqlite_ext, url, ns, opts, lazy,
                       st, err, errlen);
    if (keel__store_url_is_pg(url))
        return open_vt(&keel_store_postgres, &keel__store_pg_ext, url, ns, opts, lazy,
                       st, err, errlen);
    snprintf(err, errlen, "unknown database url scheme '%s' (expected sqlite: or postgres://)",
             scheme);
    return KEEL_ECONFIG;
}

int keel__store_open_url_opts(const char *url, const char *ns, const keel_store_opts *opts,
                              keel_store **st, char *err, size_t errlen)
{
    return open_url(url, ns, opts, 0, st, err, errlen);
}

int keel__store_open_url_lazy(const char *url, const char *ns, const keel_store_opts *opts,
                              keel_store **st, char *err, size_t errlen)
{
    return open_url(url, ns, opts, 1, st, err, errlen);
}

int keel__store_open_url(const char *url, const char *ns, keel_store **st,
                         char *err, size_t errlen)
{
    return keel__store_open_url_opts(url, ns, NULL, st, err, errlen);
}

void keel_store_close(keel_store *st)
{
    int i;

    if (st == NULL || st->root != NULL)   /* transaction handles are not owned */
        return;
    for (i = 0; i < st->nslots; i++)
        if (st->slots[i].conn != NULL)
            st->vt->close(st->slots[i].conn);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st->slots);
    free(st->url);
    free(st->ns);
    free(st->grant_to);
    free(st->sync);
    free(st);
}

const keel_store_opts *keel__store_opts(const keel_store *st)
{
    return st->root != NULL ? &st->root->opts : &st->opts;
}

int keel__store_with_conn(keel_store *st, keel__store_conn_op op, void *arg)
{
    keel_store *tx = st->root != NULL ? st : keel__store_thread_tx(st);
    keel__store_slot *slot = NULL;
    char *err = keel__store_errbuf(st);
    int rc, drc;

    err[0] = '\0';
    if (tx != NULL)
        return op(tx, tx->slot->conn, arg, err, KEEL_STORE_ERRMAX);
    rc = keel__store_borrow(st, &slot, err, KEEL_STORE_ERRMAX);
    if (rc != 0)
        return rc;
    /* an autocommit write waits for its durability after the connection is
     * given back (SQLite's group commit), so others can use it meanwhile */
    keel__store_defer(st, 1);
    rc = op(st, slot->conn, arg, err, KEEL_STORE_ERRMAX);
    keel__store_defer(st, 0);
    keel__store_giveback(st, slot);
    drc = keel__store_wait_deferred(st, err, KEEL_STORE_ERRMAX);
    return rc != 0 ? rc : drc;
}

void keel__store_defer(const keel_store *st, int on)
{
    const keel_store *root = st != NULL && st->root != NULL ? st->root : st;

    if (root != NULL && root->ext != NULL && root->ext->version >= 4 && root->ext->defer != NULL)
        root->ext->defer(on);
}

int keel__store_wait_deferred(const keel_store *st, char *err, size_t errlen)
{
    const keel_store *root = st != NULL && st->root != NULL ? st->root : st;

    if (root == NULL || root->ext == NULL || root->ext->version < 4 ||
        root->ext->wait_deferred == NULL)
        return 0;
    return root->ext->wait_deferred(err, errlen);
}

typedef struct exec_args {
    const char   *sql;
    const json_t *params;
    json_t      **rows;
} exec_args;

static int exec_op(keel_store *st, void *conn, void *arg, char *err, size_t errlen)
{
    exec_args *a = arg;
    int rc = st->vt->exec(conn, a->sql, a->params, a->rows, err, errlen);
    if (rc != 0 && a->rows != NULL && *a->rows != NULL) {
        json_decref(*a->rows);
        *a->rows = NULL;
    }
    return rc;
}

int keel_store_exec(keel_store *st, const char *sql, const json_t *params, json_t **rows)
{
    exec_args a = { sql, params, rows };
    int rc;

    if (rows != NULL)
        *rows = NULL;
    if (st == NULL || sql == NULL)
        return KEEL_EINVAL;
    rc = keel__store_with_conn(st, exec_op, &a);
    if (rc != 0 && rows != NULL && *rows != NULL) {   /* written, but not durable */
        json_decref(*rows);
        *rows = NULL;
    }
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
        keel__store_seterr(st, "expected at most one row, got %zu", json_array_size(rows));
        rc = KEEL_ESTORE;
        goto out;
    }
    if (row != NULL)
        *row = json_incref(json_array_get(rows, 0));
out:
    json_decref(rows);
    return rc;
}

const char *keel_store_backend_name(const keel_store *st)
{
    return st != NULL && st->vt->name != NULL ? st->vt->name : "";
}

/* Generic script runner for backends without exec_script: split on complete
 * statements (sqlite3_complete understands strings, comments and trigger
 * bodies) and run each through vt->exec. */
static int script_split_exec(keel_store *st, void *conn, const char *sql, char *err, size_t errlen)
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
        rc = st->vt->exec(conn, stmt, NULL, NULL, err, errlen);
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
        rc = st->vt->exec(conn, start, NULL, NULL, err, errlen);
out:
    free(stmt);
    return rc;
}

static int script_op(keel_store *st, void *conn, void *arg, char *err, size_t errlen)
{
    if (st->ext != NULL && st->ext->exec_script != NULL)
        return st->ext->exec_script(conn, arg, err, errlen);
    return script_split_exec(st, conn, arg, err, errlen);
}

int keel__store_exec_script(keel_store *st, const char *sql, char *err, size_t errlen)
{
    int rc;

    if (st == NULL || sql == NULL)
        return KEEL_EINVAL;
    rc = keel__store_with_conn(st, script_op, (void *)sql);
    if (rc != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", keel_store_errmsg(st)[0] ? keel_store_errmsg(st)
                                                             : keel_strerror(rc));
    return rc;
}

void keel__store_set_privileged(keel_store *st, int on)
{
    keel_store *root;
    if (st == NULL)
        return;
    root = st->root != NULL ? st->root : st;
    pthread_mutex_lock(&root->mu);
    root->privileged = on != 0;
    pthread_mutex_unlock(&root->mu);
}

typedef struct admin_args {
    int         lock;      /* 1 = lock, 0 = provision */
    const char *what;      /* module (lock) or grant_to (provision) */
} admin_args;

static int admin_op(keel_store *st, void *conn, void *arg, char *err, size_t errlen)
{
    admin_args *a = arg;
    const keel_store_ext *ext = st->ext;

    if (ext == NULL || ext->version < 2)
        return 0;
    if (a->lock)
        return ext->lock != NULL ? ext->lock(conn, a->what, err, errlen) : 0;
    return ext->provision != NULL ? ext->provision(conn, a->what, err, errlen) : 0;
}

static int admin_call(keel_store *st, int lock, const char *what, char *err, size_t errlen)
{
    admin_args a = { lock, what };
    int rc;
    if (st == NULL)
        return KEEL_EINVAL;
    rc = keel__store_with_conn(st, admin_op, &a);
    if (rc != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", keel_store_errmsg(st)[0] ? keel_store_errmsg(st)
                                                             : keel_strerror(rc));
    return rc;
}

/* Records opts as the handle's settings; each connection applies them on
 * its next borrow (cfg_gen). */
static int set_opts(keel_store *st, const keel_store_opts *opts, char *err, size_t errlen)
{
    char *sync = NULL;

    if (opts->sync != NULL && (sync = strdup(opts->sync)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    pthread_mutex_lock(&st->mu);
    free(st->sync);
    st->sync = sync;
    st->opts.busy_ms = opts->busy_ms;
    st->opts.no_cache = opts->no_cache;
    st->opts.sync = st->sync;
    if (opts->statement_timeout_ms > 0)
        st->opts.statement_timeout_ms = opts->statement_timeout_ms;
    st->cfg_gen++;
    pthread_mutex_unlock(&st->mu);
    return 0;
}

int keel__store_configure(keel_store *st, const keel_store_opts *opts, char *err, size_t errlen)
{
    int rc;

    if (st == NULL || opts == NULL || st->root != NULL)
        return 0;
    if ((rc = set_opts(st, opts, err, errlen)) != 0)
        return rc;
    /* one connection now, so a bad setting fails here; the rest on borrow */
    {
        keel__store_slot *slot = NULL;
        char *buf = keel__store_errbuf(st);
        buf[0] = '\0';
        rc = keel__store_borrow_ex(st, &slot, 0, buf, KEEL_STORE_ERRMAX);
        keel__store_giveback(st, slot);
    }
    if (rc != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", keel_store_errmsg(st)[0] ? keel_store_errmsg(st)
                                                             : keel_strerror(rc));
    return rc;
}

int keel__store_provision(keel_store *st, const char *grant_to, char *err, size_t errlen)
{
    return admin_call(st, 0, grant_to, err, errlen);
}

int keel__store_lock(keel_store *st, const char *module, char *err, size_t errlen)
{
    return admin_call(st, 1, module, err, errlen);
}
