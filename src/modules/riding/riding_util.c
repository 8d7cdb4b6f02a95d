/*
 * riding_util.c — small shared helpers: RFC 3339 parsing,
 * a query mapped row by row into a list, the API shape of a session row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "riding-internal.h"

int64_t riding_now(void)
{
    return (int64_t)time(NULL);
}

/* n decimal digits at *p into *v; advances *p.  -1 if not digits. */
static int digits(const char **p, int n, int *v)
{
    int i, x = 0;
    for (i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int riding_rfc3339_utc(const char *in, char *out, size_t len)
{
    const char *p = in;
    int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
    struct tm tm = {0};
    time_t t;

    if (in == NULL || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-'
        || digits(&p, 2, &d))
        return KEEL_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return KEEL_EINVAL;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':'
        || digits(&p, 2, &s))
        return KEEL_EINVAL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return KEEL_EINVAL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return KEEL_EINVAL;
    } else {
        return KEEL_EINVAL;
    }
    if (*p != '\0' || y < 1900 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)
        || h > 23 || mi > 59 || s > 60)
        return KEEL_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s > 59 ? 59 : s;  /* a leap second folds onto :59 */
    t = timegm(&tm) - sign * (oh * 3600 + om * 60);
    if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return KEEL_EINVAL;
    return 0;
}

int riding_query_list(keel_store *st, const char *sql, const json_t *params,
                      int (*item)(keel_store *st, const json_t *row, json_t **item),
                      json_t **list)
{
    json_t *rows = NULL, *arr = json_array(), *v, *it;
    size_t i;
    int rc;

    *list = NULL;
    if (arr == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, sql, params, &rows);
    if (rc != 0)
        goto out;
    json_array_foreach(rows, i, v) {
        it = NULL;
        rc = item(st, v, &it);
        if (rc == 0 && json_array_append_new(arr, it) != 0)
            rc = KEEL_ENOMEM;
        if (rc != 0)
            goto out;
    }
    *list = arr;
    arr = NULL;
out:
    json_decref(arr);
    json_decref(rows);
    return rc;
}

json_t *riding_session_json(const json_t *row)
{
    const char *text = json_string_value(json_object_get(row, "summary"));
    const char *status = json_string_value(json_object_get(row, "status"));
    json_t *summary = text ? json_loads(text, 0, NULL) : NULL;
    json_t *rider = json_object_get(row, "rider_id");
    json_t *by = json_object_get(row, "uploaded_by");
    json_t *error = json_object_get(row, "error");
    json_t *out;

    out = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:o}",
                    "session_id", json_object_get(row, "id"),
                    "horse_id", json_object_get(row, "horse_id"),
                    "rider_id", rider ? rider : json_null(),
                    "uploaded_by", by ? by : json_null(),
                    "started_at", json_object_get(row, "started_at"),
                    "content_hash", json_object_get(row, "content_hash"),
                    "bytes", json_object_get(row, "bytes"),
                    "status", status ? status : (summary ? "ready" : "pending"),
                    "summary", summary ? summary : json_null());
    /* the error only says something when the summary failed */
    if (out != NULL && status != NULL && strcmp(status, "failed") == 0 && json_is_string(error)
        && json_object_set(out, "error", error) != 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}
