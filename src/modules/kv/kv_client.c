/*
 * kv_client.c — kv_iface implemented over keel_call, for callers in a process
 * where kv is placed remotely (keel_iface hands this out instead of kv_local).
 * Same contract as kv.h; values travel as JSON strings.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

/* self (kv as placed remotely) is not needed: the call goes by name. */
static int c_put_ttl(keel_module_ctx *self, keel_ctx *ctx, const char *key, const char *value,
                     size_t len, long long ttl_s)
{
    json_t *in = NULL, *out = NULL;
    int rc;

    (void)self;
    if (key == NULL || value == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "kv put: key and value are required");
    in = json_pack("{ssss%}", "key", key, "value", value, len);
    if (in == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "kv put: key or value is not valid UTF-8");
    if (ttl_s > 0 && json_object_set_new(in, "ttl_s", json_integer(ttl_s)) != 0) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_call(ctx, "kv", "put", in, &out);
out:
    json_decref(out);
    json_decref(in);
    return rc;
}

static int c_put(keel_module_ctx *self, keel_ctx *ctx, const char *key, const char *value,
                 size_t len)
{
    return c_put_ttl(self, ctx, key, value, len, 0);
}

static int c_get(keel_module_ctx *self, keel_ctx *ctx, const char *key, char **value,
                 size_t *len)
{
    json_t *in = NULL, *out = NULL;
    const json_t *v;
    int rc;

    (void)self;
    *value = NULL;
    *len = 0;
    if (key == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "kv get: key is required");
    in = json_pack("{ss}", "key", key);
    if (in == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "kv get: key is not valid UTF-8");
    rc = keel_call(ctx, "kv", "get", in, &out);
    if (rc != 0)
        goto out;
    v = json_object_get(out, "value");
    if (!json_is_string(v)) {
        rc = keel_ctx_error(ctx, KEEL_EBADDATA, "kv get: reply has no string value");
        goto out;
    }
    *value = malloc(json_string_length(v) + 1);
    if (*value == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    memcpy(*value, json_string_value(v), json_string_length(v) + 1);
    *len = json_string_length(v);
out:
    json_decref(out);
    json_decref(in);
    return rc;
}

static int c_del(keel_module_ctx *self, keel_ctx *ctx, const char *key, int *deleted)
{
    json_t *in = NULL, *out = NULL;
    int rc;

    (void)self;
    if (deleted != NULL)
        *deleted = 0;
    if (key == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "kv delete: key is required");
    in = json_pack("{ss}", "key", key);
    if (in == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "kv delete: key is not valid UTF-8");
    rc = keel_call(ctx, "kv", "delete", in, &out);
    if (rc == 0 && !json_is_boolean(json_object_get(out, "deleted")))
        rc = keel_ctx_error(ctx, KEEL_EBADDATA, "kv delete: reply has no boolean deleted");
    if (rc == 0 && deleted != NULL)
        *deleted = json_is_true(json_object_get(out, "deleted"));
    json_decref(out);
    json_decref(in);
    return rc;
}

const kv_iface kv_client = {
    .version = KV_IFACE_VERSION,
    .put     = c_put,
    .get     = c_get,
    .del     = c_del,
    .put_ttl = c_put_ttl,
};
