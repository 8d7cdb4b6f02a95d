/*
 * kv.c — the kv module: descriptor, JSON handlers and the local typed vtable.
 *
 * Storage is the module's namespaced store (table kv_items, migrations/).
 * Handlers reach it through their ctx; the typed vtable (kv_local) is called
 * with kv's own module ctx first and the CALLER's ctx second (see kv.h).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv.h"
#include "kv_embedded.h"

#define KV_LIST_DEFAULT 100
#define KV_LIST_MAX     1000
#define KV_PURGE_EVERY  64   /* puts between two purges of expired rows */

static const char SQL_PUT[] =
    "INSERT INTO kv_items (key, value, updated_at, expires_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
    "updated_at = excluded.updated_at, expires_at = excluded.expires_at";
static const char SQL_GET[] =
    "SELECT key, value, updated_at FROM kv_items "
    "WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)";
static const char SQL_DEL[] =
    "DELETE FROM kv_items WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2) "
    "RETURNING key";
static const char SQL_PURGE[] =
    "DELETE FROM kv_items WHERE expires_at IS NOT NULL AND expires_at <= $1";
static const char SQL_LIST[] =
    "SELECT key, value, updated_at FROM kv_items "
    "WHERE key > $1 AND key >= $2 AND substr(key, 1, length($2)) = $2 "
    "AND (expires_at IS NULL OR expires_at > $3) ORDER BY key LIMIT $4";

static long long (*kv_clock)(void);
static atomic_uint kv_puts;

static long long real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long now_ms(void)
{
    return kv_clock != NULL ? kv_clock() : real_now_ms();
}

void kv_set_clock(long long (*fn)(void))
{
    kv_clock = fn;
}

/* "2026-11-26T03:25:04.123Z" */
static void iso_time(long long ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];

    gmtime_r(&s, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

static int kv_fail(keel_ctx *ctx, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the detail on ctx (when there is one) and returns rc. */
static int kv_fail(keel_ctx *ctx, int rc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (ctx == NULL)
        return rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return keel_ctx_error(ctx, rc, "%s", msg);
}

static int store_fail(keel_ctx *ctx, keel_store *st, int rc)
{
    const char *msg = keel_store_errmsg(st);
    return kv_fail(ctx, rc, "kv: %s", msg[0] ? msg : keel_strerror(rc));
}

static int check_key(keel_ctx *ctx, const char *key)
{
    size_t n = key != NULL ? strlen(key) : 0;
    if (n == 0 || n > KV_KEY_MAX)
        return kv_fail(ctx, KEEL_EINVAL, "key must be 1..256 bytes");
    return 0;
}

/* ---- the operations, on an explicit store ------------------------------- */

static int op_put(keel_ctx *ctx, keel_store *st, const char *key, const char *value,
                  size_t len, long long ttl_s, json_t **out)
{
    json_t *params = NULL, *res = NULL;
    long long now = now_ms(), expires = ttl_s > 0 ? now + ttl_s * 1000 : 0;
    char stamp[32];
    int rc;

    if ((rc = check_key(ctx, key)) != 0)
        goto out;
    if (value == NULL || len > KV_VALUE_MAX) {
        rc = kv_fail(ctx, KEEL_ETOOBIG, "value must be at most 1 MiB");
        goto out;
    }
    if (ttl_s < 0) {
        rc = kv_fail(ctx, KEEL_EINVAL, "ttl_s must be >= 1 (or absent)");
        goto out;
    }
    iso_time(now, stamp, sizeof stamp);
    params = json_pack("[ss%so]", key, value, len, stamp,
                       expires ? json_integer(expires) : json_null());
    if (params == NULL) {
        rc = kv_fail(ctx, KEEL_EINVAL, "value is not valid UTF-8 text");
        goto out;
    }
    rc = keel_store_exec(st, SQL_PUT, params, NULL);
    if (rc != 0) {
        rc = store_fail(ctx, st, rc);
        goto out;
    }
    if (atomic_fetch_add(&kv_puts, 1) % KV_PURGE_EVERY == KV_PURGE_EVERY - 1) {
        json_t *p = json_pack("[I]", (json_int_t)now);
        if (p != NULL)
            keel_store_exec(st, SQL_PURGE, p, NULL);   /* best effort */
        json_decref(p);
    }
    if (out != NULL) {
        res = json_pack("{ssss}", "key", key, "updated_at", stamp);
        if (res == NULL || (expires && json_object_set_new(res, "expires_at",
                                                           json_integer(expires)) != 0)) {
            rc = KEEL_ENOMEM;
            goto out;
        }
        *out = res;
        res = NULL;
    }
out:
    json_decref(res);
    json_decref(params);
    return rc;
}

static int op_get(keel_ctx *ctx, keel_store *st, const char *key, json_t **row)
{
    json_t *params = NULL;
    int rc;

    *row = NULL;
    if ((rc = check_key(ctx, key)) != 0)
        return rc;
    params = json_pack("[sI]", key, (json_int_t)now_ms());
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, SQL_GET, params, row);
    if (rc == KEEL_ENOTFOUND)
        rc = kv_fail(ctx, rc, "key '%s' not found", key);
    else if (rc != 0)
        rc = store_fail(ctx, st, rc);
    json_decref(params);
    return rc;
}

static int op_del(keel_ctx *ctx, keel_store *st, const char *key, int *deleted)
{
    json_t *params = NULL, *rows = NULL;
    int rc;

    *deleted = 0;
    if ((rc = check_key(ctx, key)) != 0)
        return rc;
    params = json_pack("[sI]", key, (json_int_t)now_ms());
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, SQL_DEL, params, &rows);
    if (rc != 0)
        rc = store_fail(ctx, st, rc);
    else
        *deleted = json_array_size(rows) > 0;
    json_decref(rows);
    json_decref(params);
    return rc;
}

/* ---- JSON handlers -------------------------------------------------------- */

static int h_put(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *v = json_object_get(in, "value"), *ttl = json_object_get(in, "ttl_s");
    const char *key = json_string_value(json_object_get(in, "key"));

    if (!json_is_string(v))
        return keel_ctx_error(ctx, KEEL_EINVAL, "value must be a string");
    if (ttl != NULL && (!json_is_integer(ttl) || json_integer_value(ttl) < 1))
        return keel_ctx_error(ctx, KEEL_EINVAL, "ttl_s must be an integer >= 1");
    return op_put(ctx, keel_ctx_store(ctx), key, json_string_value(v), json_string_length(v),
                  ttl ? (long long)json_integer_value(ttl) : 0, out);
}

static int h_get(keel_ctx *ctx, const json_t *in, json_t **out)
{
    return op_get(ctx, keel_ctx_store(ctx), json_string_value(json_object_get(in, "key")), out);
}

static int h_delete(keel_ctx *ctx, const json_t *in, json_t **out)
{
    int deleted = 0, rc;

    rc = op_del(ctx, keel_ctx_store(ctx), json_string_value(json_object_get(in, "key")), &deleted);
    if (rc != 0)
        return rc;
    *out = json_pack("{sb}", "deleted", deleted);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

static int h_list(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    const json_t *jl = json_object_get(in, "limit");
    const char *prefix = json_string_value(json_object_get(in, "prefix"));
    const char *after = json_string_value(json_object_get(in, "after"));
    json_int_t limit = jl != NULL ? json_integer_value(jl) : KV_LIST_DEFAULT;
    json_t *params = NULL, *rows = NULL, *res = NULL;
    int rc;

    if (jl != NULL && (!json_is_integer(jl) || limit < 1 || limit > KV_LIST_MAX))
        return keel_ctx_error(ctx, KEEL_EINVAL, "limit must be 1..%d", KV_LIST_MAX);
    /* one row more than asked tells whether there is a next page */
    params = json_pack("[ssII]", after ? after : "", prefix ? prefix : "",
                       (json_int_t)now_ms(), limit + 1);
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(st, SQL_LIST, params, &rows);
    if (rc != 0) {
        rc = store_fail(ctx, st, rc);
        goto out;
    }
    res = json_object();
    if (res == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    if (json_array_size(rows) > (size_t)limit) {
        json_array_remove(rows, (size_t)limit);
        json_object_set(res, "next",
                        json_object_get(json_array_get(rows, (size_t)limit - 1), "key"));
    }
    if (json_object_set(res, "items", rows) != 0) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    *out = res;
    res = NULL;
out:
    json_decref(res);
    json_decref(rows);
    json_decref(params);
    return rc;
}

/* ---- the local typed vtable ------------------------------------------------ */

static keel_store *local_store(keel_module_ctx *self, keel_ctx *ctx, int *rc)
{
    keel_store *st = self != NULL ? keel_module_store(self) : NULL;

    *rc = st != NULL ? 0 : kv_fail(ctx, KEEL_EUNAVAIL, "kv is not started in this process");
    return st;
}

static int local_put(keel_module_ctx *self, keel_ctx *ctx, const char *key, const char *value,
                     size_t len, long long ttl_s)
{
    int rc;
    keel_store *st = local_store(self, ctx, &rc);
    return st != NULL ? op_put(ctx, st, key, value, len, ttl_s, NULL) : rc;
}

static int l_put_ttl(keel_module_ctx *self, keel_ctx *ctx, const char *key, const char *value,
                     size_t len, long long ttl_s)
{
    KEEL_IFACE_COUNT("kv", "put_ttl");
    return local_put(self, ctx, key, value, len, ttl_s);
}

static int l_put(keel_module_ctx *self, keel_ctx *ctx, const char *key, const char *value,
                 size_t len)
{
    KEEL_IFACE_COUNT("kv", "put");
    return local_put(self, ctx, key, value, len, 0);
}

static int l_get(keel_module_ctx *self, keel_ctx *ctx, const char *key, char **value,
                 size_t *len)
{
    KEEL_IFACE_COUNT("kv", "get");
    json_t *row = NULL;
    const json_t *v;
    int rc;
    keel_store *st = local_store(self, ctx, &rc);

    *value = NULL;
    *len = 0;
    if (st == NULL)
        return rc;
    rc = op_get(ctx, st, key, &row);
    if (rc != 0)
        return rc;
    v = json_object_get(row, "value");
    *value = malloc(json_string_length(v) + 1);
    if (*value == NULL) {
        rc = KEEL_ENOMEM;
    } else {
        memcpy(*value, json_string_value(v), json_string_length(v) + 1);
        *len = json_string_length(v);
    }
    json_decref(row);
    return rc;
}

static int l_del(keel_module_ctx *self, keel_ctx *ctx, const char *key, int *deleted)
{
    KEEL_IFACE_COUNT("kv", "del");
    int rc, d = 0;
    keel_store *st = local_store(self, ctx, &rc);

    if (st != NULL)
        rc = op_del(ctx, st, key, &d);
    if (deleted != NULL)
        *deleted = d;
    return rc;
}

const kv_iface kv_local = {
    .version = KV_IFACE_VERSION,
    .put     = l_put,
    .get     = l_get,
    .del     = l_del,
    .put_ttl = l_put_ttl,
};

/* ---- lifecycle ------------------------------------------------------------ */

static int kv_init(keel_module_ctx *mc)
{
    keel_store *st = keel_module_store(mc);

    if (st == NULL) {
        keel_log_module("kv", KEEL_LOG_ERROR, "kv: no store opened for the module");
        return KEEL_ESTORE;
    }
    /* What expired while the process was down goes with the first put
     * (reads skip expired rows anyway): start-up opens no connection. */
    atomic_store(&kv_puts, KV_PURGE_EVERY - 1);
    return 0;
}

static int kv_health(keel_module_ctx *mc, json_t **detail)
{
    (void)detail;
    return keel_store_exec(keel_module_store(mc), "SELECT 1 AS ok FROM kv_items LIMIT 1",
                           NULL, NULL);
}

static const keel_method kv_methods[] = {
    {.name = "put", .handler = h_put, .flags = KEEL_IDEMPOTENT,
     .summary = "Sets a key to a text value (optional ttl_s)",
     .in_schema = kv_schema_put_in, .out_schema = kv_schema_put_out},
    {.name = "get", .handler = h_get, .flags = KEEL_READONLY | KEEL_IDEMPOTENT,
     .summary = "Reads a key",
     .in_schema = kv_schema_get_in, .out_schema = kv_schema_get_out},
    {.name = "delete", .handler = h_delete, .flags = KEEL_IDEMPOTENT,
     .summary = "Deletes a key",
     .in_schema = kv_schema_delete_in, .out_schema = kv_schema_delete_out},
    {.name = "list", .handler = h_list, .flags = KEEL_READONLY | KEEL_IDEMPOTENT,
     .summary = "Lists keys by prefix, a page at a time",
     .in_schema = kv_schema_list_in, .out_schema = kv_schema_list_out},
    {0}
};

const keel_module keel_module_kv = {
    .abi           = KEEL_ABI,
    .name          = "kv",
    .version       = "1.0.0",
    .summary       = "Namespaced key/value store (with expiry)",
    .methods       = kv_methods,
    .migrations    = kv_migrations,
    .init          = kv_init,
    .health        = kv_health,
    .iface         = &kv_local,
    .iface_version = KV_IFACE_VERSION,
    .client        = &kv_client,
};
