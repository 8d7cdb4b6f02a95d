/*
 * store_blob.c — bytes through the store without JSON or base64:
 * keel_store_exec_blob binds one parameter as a BLOB/BYTEA from the
 * caller's buffer, keel_store_one_blob reads the first column of the only
 * row into a malloc'd buffer.  Both run on the same connection exec would
 * (a transaction's, or a borrowed one) through the backend's v3 members;
 * a backend without them answers KEEL_ESTORE.  Storing a 50 MB gzip as
 * base64 in a JSON string held 3.3–4.8 x its size (issue 23).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_handle-internal.h"

typedef struct blob_args {
    const char   *sql;
    const json_t *params;
    int           index;      /* exec: the bytes' $N */
    const void   *data;       /* exec: borrowed */
    size_t        len;
    json_t      **rows;       /* exec */
    void        **out;        /* one: malloc'd */
    size_t       *outlen;
} blob_args;

static int missing(keel_store *st, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "the %s store backend has no binary values (%s needs "
             "keel_store_vt v3)", st->vt->name != NULL ? st->vt->name : "?", what);
    return KEEL_ESTORE;
}

static int exec_blob_op(keel_store *st, void *conn, void *arg, char *err, size_t errlen)
{
    blob_args *a = arg;
    int rc;

    if (st->vt->version < 3 || st->vt->exec_blob == NULL)
        return missing(st, err, errlen, "keel_store_exec_blob");
    rc = st->vt->exec_blob(conn, a->sql, a->params, a->index, a->data, a->len, a->rows,
                           err, errlen);
    if (rc != 0 && a->rows != NULL && *a->rows != NULL) {
        json_decref(*a->rows);
        *a->rows = NULL;
    }
    return rc;
}

int keel_store_exec_blob(keel_store *st, const char *sql, const json_t *params,
                         int blob_index, const void *data, size_t len, json_t **rows)
{
    blob_args a = {.sql = sql, .params = params, .index = blob_index, .data = data,
                   .len = len, .rows = rows};
    int rc;

    if (rows != NULL)
        *rows = NULL;
    if (st == NULL || sql == NULL)
        return KEEL_EINVAL;
    if (blob_index < 1 || !json_is_array(params) ||
        (size_t)blob_index > json_array_size(params) ||
        !json_is_null(json_array_get(params, (size_t)blob_index - 1))) {
        keel__store_seterr(st, "keel_store_exec_blob: params needs null at $%d, the bytes' "
                           "place", blob_index);
        return KEEL_EINVAL;
    }
    rc = keel__store_with_conn(st, exec_blob_op, &a);
    if (rc != 0 && rows != NULL && *rows != NULL) {   /* written, but not durable */
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}

static int one_blob_op(keel_store *st, void *conn, void *arg, char *err, size_t errlen)
{
    blob_args *a = arg;

    if (st->vt->version < 3 || st->vt->one_blob == NULL)
        return missing(st, err, errlen, "keel_store_one_blob");
    return st->vt->one_blob(conn, a->sql, a->params, a->out, a->outlen, err, errlen);
}

int keel_store_one_blob(keel_store *st, const char *sql, const json_t *params,
                        void **data, size_t *len)
{
    void *out = NULL;
    size_t outlen = 0;
    blob_args a = {.sql = sql, .params = params, .out = &out, .outlen = &outlen};
    int rc;

    if (data != NULL)
        *data = NULL;
    if (len != NULL)
        *len = 0;
    if (st == NULL || sql == NULL || data == NULL || len == NULL)
        return KEEL_EINVAL;
    rc = keel__store_with_conn(st, one_blob_op, &a);
    if (rc != 0) {
        free(out);
        return rc;
    }
    *data = out;
    *len = outlen;
    return 0;
}
