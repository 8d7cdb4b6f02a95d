/*
 * store_pg_exec.c — one statement on a PostgreSQL connection: the
 * per-connection cache of prepared statements (PQprepare once per SQL text,
 * PQexecPrepared after), JSON parameters converted by the type the server
 * inferred for each $N, result columns converted by their type OID, and
 * SQLSTATE classes mapped to KEEL_E*; bytes bound and read in binary format
 * for keel_store_exec_blob / keel_store_one_blob.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "core/store-internal.h"
#include "core/store_pg-internal.h"

/* Type OIDs (pg_type.dat; stable across releases). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
    OID_TEXT = 25, OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_BPCHAR = 1042,
    OID_VARCHAR = 1043, OID_NUMERIC = 1700
};

static void copy_msg(char *dst, size_t len, const char *src)
{
    size_t n;
    snprintf(dst, len, "%s", src != NULL ? src : "");
    n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
}

static int lost(const keel__pg_conn *c)
{
    return PQstatus(c->pg) != CONNECTION_OK;
}

int keel__pg_fail(keel__pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

    snprintf(c->sqlstate, sizeof c->sqlstate, "%s", state != NULL ? state : "");
    if (msg == NULL) {
        char tmp[400];
        copy_msg(tmp, sizeof tmp, PQerrorMessage(c->pg));
        snprintf(c->lasterr, sizeof c->lasterr, "%s%s%s", what ? what : "", what ? ": " : "",
                 tmp[0] ? tmp : "no answer from the database");
    } else {
        snprintf(c->lasterr, sizeof c->lasterr, "%s%s%s%s%s", what ? what : "",
                 what ? ": " : "", msg, detail ? " — " : "", detail ? detail : "");
    }
    if (lost(c)) {
        size_t n = strlen(c->lasterr);
        snprintf(c->lasterr + n, sizeof c->lasterr - n, " (connection to the database lost)");
        return KEEL_EUNAVAIL;
    }
    if (state == NULL)
        return KEEL_ESTORE;
    if (strncmp(state, "23", 2) == 0)
        return KEEL_ECONFLICT;
    if (strcmp(state, "42501") == 0)
        return KEEL_EDENIED;
    if (strcmp(state, "42P01") == 0 && c->ns != NULL && msg != NULL) {
        /* relation "x" does not exist: a table outside the module's prefix is
         * another namespace's (SQLite answers KEEL_EDENIED for those too). */
        const char *q = strchr(msg, '"');
        size_t n = strlen(c->ns);
        if (q != NULL && !(strncmp(q + 1, c->ns, n) == 0 && q[n + 1] == '_')) {
            char name[128];
            const char *e = strchr(q + 1, '"');
            size_t l = e != NULL ? (size_t)(e - q - 1) : 0;
            snprintf(name, sizeof name, "%.*s", (int)(l < 120 ? l : 120), q + 1);
            snprintf(c->lasterr, sizeof c->lasterr, "module '%s' may not access table '%s' "
                     "(not in schema %s)", c->ns, name, c->ns);
            return KEEL_EDENIED;
        }
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0 || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "53", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        return KEEL_EUNAVAIL;
    if (strcmp(state, "57014") == 0)
        return KEEL_ETIMEDOUT;
    if (strncmp(state, "22", 2) == 0)
        return KEEL_EINVAL;
    return KEEL_ESTORE;
}

int keel__pg_simple(keel__pg_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType s = PQresultStatus(res);
    int rc = 0;

    c->sqlstate[0] = '\0';
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        rc = keel__pg_fail(c, res, NULL);
    PQclear(res);
    return rc;
}

/* ---- prepared statements --------------------------------------------------- */

static void stmt_free(keel__pg_conn *c, keel__pg_stmt *s, int server)
{
    if (s->sql == NULL)
        return;
    if (server && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
        PQclear(PQexec(c->pg, sql));   /* best effort: names are never reused */
    }
    free(s->sql);
    free(s->types);
    memset(s, 0, sizeof *s);
}

void keel__pg_cache_clear(keel__pg_conn *c)
{
    int i;
    for (i = 0; i < KEEL_PG_CACHE; i++)
        stmt_free(c, &c->cache[i], 1);
}

static void stmt_forget(keel__pg_conn *c, keel__pg_stmt *s)
{
    stmt_free(c, s, 1);
}

/* The prepared statement for sql (prepared now if not cached). */
static keel__pg_stmt *stmt_get(keel__pg_conn *c, const char *sql, int *rc)
{
    keel__pg_stmt *s = NULL;
    PGresult *res = NULL;
    int i, slot = 0;

    for (i = 0; i < KEEL_PG_CACHE; i++) {
        if (c->cache[i].sql != NULL && strcmp(c->cache[i].sql, sql) == 0) {
            c->cache[i].used = ++c->clock;
            return &c->cache[i];
        }
    }
    for (i = 0; i < KEEL_PG_CACHE; i++) {   /* a free slot, else the least recently used */
        if (c->cache[i].sql == NULL) {
            slot = i;
            break;
        }
        if (c->cache[i].used < c->cache[slot].used)
            slot = i;
    }
    s = &c->cache[slot];
    stmt_free(c, s, 1);
    snprintf(s->name, sizeof s->name, "keel_s%u", ++c->next_id);
    res = PQprepare(c->pg, s->name, sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *rc = keel__pg_fail(c, res, NULL);
        goto fail;
    }
    PQclear(res);
    res = PQdescribePrepared(c->pg, s->name);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *rc = keel__pg_fail(c, res, NULL);
        goto fail;
    }
    s->nparams = PQnparams(res);
    if (s->nparams > 0 && (s->types = calloc((size_t)s->nparams, sizeof *s->types)) == NULL) {
        *rc = KEEL_ENOMEM;
        goto fail;
    }
    for (i = 0; i < s->nparams; i++)
        s->types[i] = PQparamtype(res, i);
    PQclear(res);
    if ((s->sql = strdup(sql)) == NULL) {
        *rc = KEEL_ENOMEM;
        stmt_free(c, s, 1);
        return NULL;
    }
    s->used = ++c->clock;
    return s;
fail:
    PQclear(res);
    free(s->types);
    s->types = NULL;
    s->nparams = 0;
    return NULL;
}

/* ---- values in ------------------------------------------------------------- */

typedef struct pg_params {
    char       **values;
    int         *lengths;
    int         *formats;
    char        *owned;     /* one buffer for converted numbers, 32 bytes each */
    unsigned char **blobs;  /* decoded bytea, owned */
    int          n;         /* entries in each array */
} pg_params;

static void params_free(pg_params *p)
{
    int i;
    if (p->blobs != NULL)
        for (i = 0; i < p->n; i++)
            free(p->blobs[i]);
    free(p->blobs);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->owned);
    memset(p, 0, sizeof *p);
}

static int param_one(keel__pg_conn *c, const json_t *v, Oid type, int i, pg_params *p)
{
    char *num = p->owned + (size_t)i * 32;
    int is_bool = type == OID_BOOL;

    switch (json_typeof(v)) {
    case JSON_NULL:
        p->values[i] = NULL;
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        snprintf(num, 32, "%s", is_bool ? (json_is_true(v) ? "t" : "f")
                                        : (json_is_true(v) ? "1" : "0"));
        break;
    case JSON_INTEGER:
        if (is_bool)
            snprintf(num, 32, "%s", json_integer_value(v) != 0 ? "t" : "f");
        else
            snprintf(num, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        double d = json_real_value(v);
        if ((type == OID_INT2 || type == OID_INT4 || type == OID_INT8) && d == floor(d) &&
            fabs(d) < 9.2e18)
            snprintf(num, 32, "%lld", (long long)d);
        else
            snprintf(num, 32, "%.17g", d);
        break;
    }
    case JSON_STRING:
        if (type == OID_BYTEA) {
            size_t n = 0;
            p->blobs[i] = keel__unbase64(json_string_value(v), json_string_length(v), &n);
            if (p->blobs[i] == NULL) {
                snprintf(c->lasterr, sizeof c->lasterr,
                         "parameter $%d: a BYTEA value is base64 text", i + 1);
                return KEEL_EINVAL;
            }
            p->values[i] = (char *)p->blobs[i];
            p->lengths[i] = (int)n;
            p->formats[i] = 1;
            return 0;
        }
        p->values[i] = (char *)json_string_value(v);
        return 0;
    default:
        snprintf(c->lasterr, sizeof c->lasterr, "parameter $%d: objects and arrays cannot be "
                 "bound (store them as text)", i + 1);
        return KEEL_EINVAL;
    }
    p->values[i] = num;
    return 0;
}

/* The parameter keel_store_exec_blob binds as bytes (index 0 = none). */
typedef struct pg_blob {
    int         index;
    const void *data;
    size_t      len;
} pg_blob;

static int params_build(keel__pg_conn *c, const keel__pg_stmt *s, const json_t *params,
                        const pg_blob *blob, pg_params *p)
{
    size_t got = json_array_size(params);
    int i, rc, n = s->nparams > 0 ? s->nparams : 1;

    memset(p, 0, sizeof *p);
    if (params != NULL && !json_is_array(params)) {
        snprintf(c->lasterr, sizeof c->lasterr, "params must be a JSON array");
        return KEEL_EINVAL;
    }
    if (got != (size_t)s->nparams) {
        snprintf(c->lasterr, sizeof c->lasterr, "statement has %d parameter(s), got %zu",
                 s->nparams, got);
        return KEEL_EINVAL;
    }
    p->values = calloc((size_t)n, sizeof *p->values);
    p->lengths = calloc((size_t)n, sizeof *p->lengths);
    p->formats = calloc((size_t)n, sizeof *p->formats);
    p->owned = calloc((size_t)n, 32);
    p->blobs = calloc((size_t)n, sizeof *p->blobs);
    p->n = n;
    if (!p->values || !p->lengths || !p->formats || !p->owned || !p->blobs) {
        snprintf(c->lasterr, sizeof c->lasterr, "out of memory");
        return KEEL_ENOMEM;
    }
    for (i = 0; i < s->nparams; i++) {
        if (blob->index == i + 1) {
            /* binary format: the caller's bytes as they are, no hex or
             * base64 text (libpq copies them into its output buffer) */
            if (s->types[i] != OID_BYTEA) {
                snprintf(c->lasterr, sizeof c->lasterr, "parameter $%d: bytes are bound to "
                         "BYTEA only (the server inferred type %u; write $%d::bytea)",
                         i + 1, (unsigned)s->types[i], i + 1);
                return KEEL_EINVAL;
            }
            if (blob->len > (size_t)INT32_MAX) {
                snprintf(c->lasterr, sizeof c->lasterr, "parameter $%d: %zu bytes, more than "
                         "a parameter can carry", i + 1, blob->len);
                return KEEL_EINVAL;
            }
            p->values[i] = blob->data == NULL ? NULL
                           : blob->len > 0 ? (char *)(uintptr_t)blob->data : (char *)"";
            p->lengths[i] = (int)blob->len;
            p->formats[i] = 1;
            continue;
        }
        if ((rc = param_one(c, json_array_get(params, (size_t)i), s->types[i], i, p)) != 0)
            return rc;
    }
    return 0;
}

/* ---- values out ------------------------------------------------------------ */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* BYTEA text output ("\x0a1b…") → base64 JSON string. */
static json_t *bytea_value(const char *t, size_t len)
{
    unsigned char *raw;
    char *b64;
    json_t *v = NULL;
    size_t i, n;

    if (len < 2 || t[0] != '\\' || t[1] != 'x')
        return json_stringn(t, len);
    n = (len - 2) / 2;
    raw = malloc(n + 1);
    if (raw == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        int hi = hexval(t[2 + 2 * i]), lo = hexval(t[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            free(raw);
            return NULL;
        }
        raw[i] = (unsigned char)(hi * 16 + lo);
    }
    b64 = keel__base64(raw, n);
    if (b64 != NULL)
        v = json_string(b64);
    free(b64);
    free(raw);
    return v;
}

static json_t *column_value(const PGresult *res, int r, int col)
{
    const char *t;
    size_t len;
    char *end;

    if (PQgetisnull(res, r, col))
        return json_null();
    t = PQgetvalue(res, r, col);
    len = (size_t)PQgetlength(res, r, col);
    switch (PQftype(res, col)) {
    case OID_BOOL:
        return json_boolean(t[0] == 't');
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: {
        long long n;
        errno = 0;
        n = strtoll(t, &end, 10);
        return errno == 0 && *end == '\0' ? json_integer(n) : json_stringn(t, len);
    }
    case OID_NUMERIC:
        if (strpbrk(t, ".eE") == NULL) {   /* sum(bigint) and friends: integral */
            long long n;
            errno = 0;
            n = strtoll(t, &end, 10);
            if (errno == 0 && *end == '\0')
                return json_integer(n);
        }
        /* fall through */
    case OID_FLOAT4: case OID_FLOAT8: {
        double d = strtod(t, &end);
        return isfinite(d) ? json_real(d) : json_null();
    }
    case OID_BYTEA:
        return bytea_value(t, len);
    default:
        return json_stringn(t, len);
    }
}

static int rows_build(keel__pg_conn *c, const PGresult *res, json_t **rows)
{
    int r, col, nr = PQntuples(res), nc = PQnfields(res);
    json_t *acc = json_array();

    if (acc == NULL)
        goto nomem;
    for (r = 0; r < nr; r++) {
        json_t *row = json_object();
        if (row == NULL || json_array_append_new(acc, row) != 0)
            goto nomem;
        for (col = 0; col < nc; col++) {
            json_t *v = column_value(res, r, col);
            if (v == NULL) {
                snprintf(c->lasterr, sizeof c->lasterr, "column '%s': value is not valid "
                         "UTF-8 or not readable", PQfname(res, col));
                json_decref(acc);
                return KEEL_ESTORE;
            }
            if (json_object_set_new(row, PQfname(res, col), v) != 0)
                goto nomem;
        }
    }
    *rows = acc;
    return 0;
nomem:
    json_decref(acc);
    snprintf(c->lasterr, sizeof c->lasterr, "out of memory");
    return KEEL_ENOMEM;
}

/* ---- exec ------------------------------------------------------------------ */

/* Runs sql with params (and blob in its place) on c, results in
 * result_format (0 text, 1 binary): *res the successful result (caller
 * PQclears), or KEEL_E* with the message in c->lasterr. */
static int pg_run(keel__pg_conn *c, const char *sql, const json_t *params, const pg_blob *blob,
                  int result_format, PGresult **out)
{
    keel__pg_stmt *s = NULL;
    PGresult *res = NULL;
    pg_params p;
    ExecStatusType st;
    int rc = 0, again = 1;

    *out = NULL;
    memset(&p, 0, sizeof p);
    c->lasterr[0] = '\0';
    c->sqlstate[0] = '\0';
    if (!c->privileged && (rc = keel__pg_check_sql(c->ns, sql, c->lasterr, sizeof c->lasterr)) != 0)
        goto out;
retry:
    if ((s = stmt_get(c, sql, &rc)) == NULL)
        goto out;
    params_free(&p);
    if ((rc = params_build(c, s, params, blob, &p)) != 0)
        goto out;
    res = PQexecPrepared(c->pg, s->name, s->nparams, (const char *const *)p.values,
                         p.lengths, p.formats, result_format);
    st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = res;
        res = NULL;
        goto out;
    }
    rc = keel__pg_fail(c, res, NULL);
    /* DDL changed a table under a cached plan ("cached plan must not change
     * result type"): prepare again, once, outside a transaction. */
    if (again && strcmp(c->sqlstate, "0A000") == 0 &&
        PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
        again = 0;
        PQclear(res);
        res = NULL;
        stmt_forget(c, s);
        goto retry;
    }
out:
    PQclear(res);
    params_free(&p);
    return rc;
}

int keel__pg_exec_blob(void *conn, const char *sql, const json_t *params, int blob_index,
                       const void *data, size_t len, json_t **rows, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    pg_blob blob = {.index = blob_index, .data = data, .len = len};
    PGresult *res = NULL;
    int rc;

    if (rows != NULL)
        *rows = NULL;
    if (c == NULL || sql == NULL)
        return KEEL_EINVAL;
    rc = pg_run(c, sql, params, &blob, 0, &res);
    if (rc == 0 && rows != NULL)
        rc = rows_build(c, res, rows);
    PQclear(res);
    if (rc != 0 && err != NULL && errlen > 0)
        copy_msg(err, errlen, c->lasterr[0] ? c->lasterr : keel_strerror(rc));
    return rc;
}

int keel__pg_exec(void *conn, const char *sql, const json_t *params, json_t **rows,
                  char *err, size_t errlen)
{
    return keel__pg_exec_blob(conn, sql, params, 0, NULL, 0, rows, err, errlen);
}

/* The first column of the only row, in binary format: BYTEA's bytes, or a
 * text type's (its binary form is its text). */
static int one_value(keel__pg_conn *c, const PGresult *res, void **data, size_t *len)
{
    Oid type;
    size_t n;

    if (PQntuples(res) == 0)
        return KEEL_ENOTFOUND;
    if (PQntuples(res) > 1) {
        snprintf(c->lasterr, sizeof c->lasterr, "expected at most one row, got %d",
                 PQntuples(res));
        return KEEL_ESTORE;
    }
    if (PQnfields(res) < 1) {
        snprintf(c->lasterr, sizeof c->lasterr, "the statement returns no column");
        return KEEL_EINVAL;
    }
    type = PQftype(res, 0);
    if (type != OID_BYTEA && type != OID_TEXT && type != OID_VARCHAR && type != OID_BPCHAR) {
        snprintf(c->lasterr, sizeof c->lasterr, "column '%s' is not BYTEA or text (type %u)",
                 PQfname(res, 0), (unsigned)type);
        return KEEL_EINVAL;
    }
    if (PQgetisnull(res, 0, 0))
        return 0;
    n = (size_t)PQgetlength(res, 0, 0);
    if ((*data = malloc(n + 1)) == NULL) {
        snprintf(c->lasterr, sizeof c->lasterr, "out of memory");
        return KEEL_ENOMEM;
    }
    memcpy(*data, PQgetvalue(res, 0, 0), n);
    ((unsigned char *)*data)[n] = '\0';
    *len = n;
    return 0;
}

int keel__pg_one_blob(void *conn, const char *sql, const json_t *params, void **data,
                      size_t *len, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    pg_blob none = {0};
    PGresult *res = NULL;
    int rc;

    *data = NULL;
    *len = 0;
    if (c == NULL || sql == NULL)
        return KEEL_EINVAL;
    rc = pg_run(c, sql, params, &none, 1, &res);
    if (rc == 0)
        rc = one_value(c, res, data, len);
    PQclear(res);
    if (rc != 0 && rc != KEEL_ENOTFOUND && err != NULL && errlen > 0)
        copy_msg(err, errlen, c->lasterr[0] ? c->lasterr : keel_strerror(rc));
    return rc;
}
