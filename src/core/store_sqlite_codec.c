/*
 * store_sqlite_codec.c — JSON in and out of SQLite statements: a params
 * array bound to $1, $2, … and a result row as a JSON object (BLOBs as
 * base64 text, as the PostgreSQL backend reads BYTEA); bytes bound and read
 * as they are for keel_store_exec_blob / keel_store_one_blob.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "core/json-internal.h"
#include "core/store-internal.h"
#include "core/store_sqlite-internal.h"

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

int keel__sq_bind(sqlite3_stmt *stmt, const json_t *params, const keel__sq_blob *blob, int *srcp,
                  char *err, size_t errlen)
{
    int want = sqlite3_bind_parameter_count(stmt), i, src = SQLITE_OK;
    size_t got = 0;

    *srcp = SQLITE_OK;
    if (params != NULL && !json_is_array(params)) {
        sq_err(err, errlen, "params must be a JSON array");
        return KEEL_EINVAL;
    }
    got = json_array_size(params);
    if (got != (size_t)want) {
        sq_err(err, errlen, "statement has %d parameter(s), got %zu", want, got);
        return KEEL_EINVAL;
    }
    for (i = 0; i < want; i++) {
        const json_t *v = json_array_get(params, (size_t)i);
        if (blob != NULL && blob->index == i + 1) {
            /* SQLITE_STATIC as for strings: the caller's bytes, not a copy
             * (keel_store_exec_blob); a NULL pointer binds NULL */
            src = sqlite3_bind_blob64(stmt, i + 1, blob->data, blob->len, SQLITE_STATIC);
            if (src != SQLITE_OK) {
                *srcp = src;
                return KEEL_ESTORE;
            }
            continue;
        }
        switch (json_typeof(v)) {
        case JSON_INTEGER: src = sqlite3_bind_int64(stmt, i + 1, json_integer_value(v)); break;
        case JSON_REAL:    src = sqlite3_bind_double(stmt, i + 1, json_real_value(v)); break;
        case JSON_STRING:
            /* SQLITE_STATIC: params outlive the statement's use — the one
             * caller (store_sqlite.c) resets and clears the bindings or
             * finalizes before it returns.  TRANSIENT copied every value,
             * one more copy of a 127 MB CSV while it was stored (issue 23). */
            src = sqlite3_bind_text64(stmt, i + 1, json_string_value(v),
                                      json_string_length(v), SQLITE_STATIC, SQLITE_UTF8);
            break;
        case JSON_TRUE:    src = sqlite3_bind_int(stmt, i + 1, 1); break;
        case JSON_FALSE:   src = sqlite3_bind_int(stmt, i + 1, 0); break;
        case JSON_NULL:    src = sqlite3_bind_null(stmt, i + 1); break;
        default:
            sq_err(err, errlen, "parameter $%d: objects and arrays cannot be bound "
                   "(store them as text)", i + 1);
            return KEEL_EINVAL;
        }
        if (src != SQLITE_OK) {
            *srcp = src;
            return KEEL_ESTORE;
        }
    }
    return 0;
}

json_t *keel__sq_row(sqlite3_stmt *stmt, int *rc, char *err, size_t errlen)
{
    int i, n = sqlite3_column_count(stmt);
    json_t *row = json_object();

    if (row == NULL)
        goto nomem;
    for (i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        json_t *v = NULL;
        switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(stmt, i)); break;
        case SQLITE_FLOAT:   v = json_real(sqlite3_column_double(stmt, i)); break;
        case SQLITE_NULL:    v = json_null(); break;
        case SQLITE_TEXT: {
            const char *t = (const char *)sqlite3_column_text(stmt, i);
            size_t tn = (size_t)sqlite3_column_bytes(stmt, i);
            if (t != NULL && !keel__utf8_valid(t, tn)) {
                sq_err(err, errlen, "column '%s': text is not valid UTF-8", name);
                *rc = KEEL_ESTORE;
                json_decref(row);
                return NULL;
            }
            v = json_stringn_nocheck(t ? t : "", t ? tn : 0);
            break;
        }
        default: {   /* BLOB: base64 text, as the PostgreSQL backend reads BYTEA */
            char *b64 = keel__base64(sqlite3_column_blob(stmt, i),
                                     (size_t)sqlite3_column_bytes(stmt, i));
            v = b64 != NULL ? json_string(b64) : NULL;
            free(b64);
            break;
        }
        }
        if (v == NULL || name == NULL || json_object_set_new(row, name, v) != 0)
            goto nomem;
    }
    return row;
nomem:
    json_decref(row);
    sq_err(err, errlen, "out of memory");
    *rc = KEEL_ENOMEM;
    return NULL;
}

/* ---- keel_store_one_blob ------------------------------------------------- */

typedef struct sq_one {
    void  **data;
    size_t *len;
    int     rows;
} sq_one;

/* keel__sq_run's row function: the first column of the first row copied
 * out (BLOB or TEXT bytes, NULL as NULL); a second row is an error. */
static int sq_row_blob(sqlite3_stmt *stmt, void *arg, char *err, size_t errlen)
{
    sq_one *o = arg;
    const void *b;
    size_t n;
    int type;

    if (++o->rows > 1) {
        sq_err(err, errlen, "expected at most one row, got more");
        return KEEL_ESTORE;
    }
    if (sqlite3_column_count(stmt) < 1) {
        sq_err(err, errlen, "the statement returns no column");
        return KEEL_EINVAL;
    }
    type = sqlite3_column_type(stmt, 0);
    if (type == SQLITE_NULL)
        return 0;
    if (type != SQLITE_BLOB && type != SQLITE_TEXT) {
        sq_err(err, errlen, "column '%s' is not a BLOB or TEXT value",
               sqlite3_column_name(stmt, 0));
        return KEEL_EINVAL;
    }
    /* the value as it is stored (no conversion): blob for a BLOB, the
     * UTF-8 bytes for TEXT; bytes() after blob(), as SQLite documents */
    b = sqlite3_column_blob(stmt, 0);
    n = (size_t)sqlite3_column_bytes(stmt, 0);
    if ((*o->data = malloc(n + 1)) == NULL) {
        sq_err(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    if (n > 0)
        memcpy(*o->data, b, n);
    ((unsigned char *)*o->data)[n] = '\0';
    *o->len = n;
    return 0;
}

int keel__sq_one_blob(void *conn, const char *sql, const json_t *params, void **data,
                      size_t *len, char *err, size_t errlen)
{
    sq_one o = {.data = data, .len = len};
    int rc;

    *data = NULL;
    *len = 0;
    rc = keel__sq_run(conn, sql, params, NULL, sq_row_blob, &o, err, errlen);
    if (rc == 0 && o.rows == 0)
        rc = KEEL_ENOTFOUND;
    if (rc != 0) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return rc;
}

/* decode(text, 'base64') → BLOB, as PostgreSQL's built-in decode(): a BLOB
 * parameter arrives as a base64 JSON string, which SQLite binds as TEXT (it
 * cannot tell base64 from any other string), so a module that wants the
 * bytes stored as bytes writes `decode($2, 'base64')` — the same SQL on both
 * backends.  NULL in, NULL out; another format or text that is not padded
 * base64 (RFC 4648 §4): an error naming it. */
static void sq_decode(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    const char *fmt, *t;
    unsigned char *b;
    size_t n = 0;
    int len;

    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(cx);
        return;
    }
    fmt = (const char *)sqlite3_value_text(argv[1]);
    if (fmt == NULL || strcmp(fmt, "base64") != 0) {
        sqlite3_result_error(cx, "decode(): only the 'base64' format is supported", -1);
        return;
    }
    t = (const char *)sqlite3_value_text(argv[0]);
    len = sqlite3_value_bytes(argv[0]);
    if (t == NULL || len == 0) {
        sqlite3_result_zeroblob(cx, 0);
        return;
    }
    if ((b = keel__unbase64(t, (size_t)len, &n)) == NULL) {
        sqlite3_result_error(cx, "decode(): not base64 text", -1);
        return;
    }
    sqlite3_result_blob64(cx, b, n, free);
}

int keel__sq_functions(sqlite3 *db)
{
    return sqlite3_create_function_v2(db, "decode", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC
                                      | SQLITE_INNOCUOUS, NULL, sq_decode, NULL, NULL, NULL)
           == SQLITE_OK ? 0 : KEEL_ESTORE;
}
