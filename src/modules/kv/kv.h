/*
 * kv.h — the kv module's typed interface: a namespaced key/value store.
 *
 * Usage from another module (in-process or remote, same struct):
 *
 *     const kv_iface *kv = keel_iface(ctx, "kv", KV_IFACE_V1);
 *     if (kv == NULL) return KEEL_EUNAVAIL;
 *     int rc = kv->put(ctx, "login:alice", "3", 1);
 *
 * Keys are 1..256 bytes, values up to 1 MiB (KV_KEY_MAX, KV_VALUE_MAX); both
 * are text (a value may hold any bytes but NUL is only safe over the local
 * path).  Errors are negative KEEL_E* codes: KEEL_EINVAL (bad key/value),
 * KEEL_ENOTFOUND (get of a missing or expired key), KEEL_EUNAVAIL (store busy
 * or kv not reachable), KEEL_ESTORE.  Detail goes to keel_ctx_error(ctx, …).
 *
 * Where the data lives.  The local vtable (kv_local) is handed out by
 * keel_iface() to callers in the same process, with the CALLER's ctx.  It must
 * still write kv's own namespaced store (tables kv_*), not the caller's: the
 * kv module keeps its keel_module_ctx in a file-static pointer set by its
 * init hook (one process runs at most one kv instance) and uses
 * keel_module_store() on it directly — no JSON, no dispatch, no keel_call.
 * When kv is not started in this process the local functions return
 * KEEL_EUNAVAIL.  The client vtable (kv_client) does the same through
 * keel_call(ctx, "kv", …), for placements where kv runs in another process.
 *
 * Versioning: append-only.  New members go at the end, fenced by "since vN",
 * with KV_IFACE_VN bumped; callers check version and NULL first.
 */
#ifndef KV_KV_H
#define KV_KV_H

#include <stddef.h>
#include "keel/keel.h"

#define KV_IFACE_V1  1u

#define KV_KEY_MAX   256u            /* bytes */
#define KV_VALUE_MAX (1024u * 1024u) /* bytes */

typedef struct kv_iface {
    unsigned version; /* KV_IFACE_V1 */

    /* since v1 */

    /* Sets key to value[0..len) (no expiry; replaces any previous value and
     * its ttl).  key, value: borrowed.  0 or KEEL_E*. */
    int (*put)(keel_ctx *ctx, const char *key, const char *value, size_t len);

    /* Reads key.  On 0, *value is a new malloc'd buffer of *len bytes plus a
     * terminating NUL (caller frees with free()).  On error *value = NULL,
     * *len = 0; KEEL_ENOTFOUND when the key is absent or expired. */
    int (*get)(keel_ctx *ctx, const char *key, char **value, size_t *len);

    /* Deletes key.  *deleted = 1 if it existed (and was not expired), else 0.
     * deleted may be NULL.  0 or KEEL_E*. */
    int (*del)(keel_ctx *ctx, const char *key, int *deleted);

    /* Like put, with an expiry ttl_s seconds from now (ttl_s >= 1; 0 = no
     * expiry).  Expired keys are invisible to get/list/del. */
    int (*put_ttl)(keel_ctx *ctx, const char *key, const char *value, size_t len,
                   long long ttl_s);
} kv_iface;

/* The two implementations (borrowed, static).  Callers use keel_iface(). */
extern const kv_iface kv_local;
extern const kv_iface kv_client;

/* The module descriptor (registry symbol). */
extern const keel_module keel_module_kv;

/* For tests: replaces the wall clock (ms since the Unix epoch) used for
 * updated_at and ttl; NULL restores the real clock.  Not thread-safe. */
void kv_set_clock(long long (*now_ms)(void));

#endif /* KV_KV_H */
