/*
 * kv.h — the kv module's typed interface: a namespaced key/value store.
 *
 * Usage from another module (in-process or remote, same struct):
 *
 *     keel_module_ctx *kvm;
 *     const kv_iface *kv = keel_iface(ctx, "kv", KV_IFACE_V2, &kvm);
 *     if (kv == NULL) return KEEL_EUNAVAIL;
 *     int rc = kv->put(kvm, ctx, "login:alice", "3", 1);
 *
 * Keys are 1..256 bytes, values up to 1 MiB (KV_KEY_MAX, KV_VALUE_MAX); both
 * are text (a value may hold any bytes but NUL is only safe over the local
 * path).  Errors are negative KEEL_E* codes: KEEL_EINVAL (bad key/value),
 * KEEL_ENOTFOUND (get of a missing or expired key), KEEL_EUNAVAIL (store busy
 * or kv not reachable), KEEL_ESTORE.  Detail goes to keel_ctx_error(ctx, …).
 *
 * Where the data lives.  The local vtable (kv_local) is handed out by
 * keel_iface() to callers in the same process together with kv's own module
 * ctx (self, first argument of every member; wave-2 decision 5), while ctx
 * is the CALLER's call.  The local functions write kv's namespaced store
 * (tables kv_*) through keel_module_store(self) — no JSON, no dispatch, no
 * keel_call, no static pointer.  When kv has no open store (not started in
 * this process) they return KEEL_EUNAVAIL.  The client vtable (kv_client)
 * does the same through keel_call(ctx, "kv", …), for placements where kv
 * runs in another process.
 *
 * Versioning: append-only within a version line.  New members go at the end,
 * fenced by "since vN", with KV_IFACE_VN added and KV_IFACE_VERSION moved;
 * callers check version and NULL first.  v2 started a new line (self first);
 * v1 is gone.
 */
#ifndef KV_KV_H
#define KV_KV_H

#include <stddef.h>
#include "keel/keel.h"

#define KV_IFACE_V2      2u
#define KV_IFACE_VERSION KV_IFACE_V2   /* what this header describes */

#define KV_KEY_MAX   256u            /* bytes */
#define KV_VALUE_MAX (1024u * 1024u) /* bytes */

typedef struct kv_iface {
    unsigned version; /* KV_IFACE_VERSION */

    /* since v2 — self: kv's module ctx from keel_iface(); ctx: the caller's */

    /* Sets key to value[0..len) (no expiry; replaces any previous value and
     * its ttl).  key, value: borrowed.  0 or KEEL_E*. */
    int (*put)(keel_module_ctx *self, keel_ctx *ctx, const char *key, const char *value, size_t len);

    /* Reads key.  On 0, *value is a new malloc'd buffer of *len bytes plus a
     * terminating NUL (caller frees with free()).  On error *value = NULL,
     * *len = 0; KEEL_ENOTFOUND when the key is absent or expired. */
    int (*get)(keel_module_ctx *self, keel_ctx *ctx, const char *key, char **value, size_t *len);

    /* Deletes key.  *deleted = 1 if it existed (and was not expired), else 0.
     * deleted may be NULL.  0 or KEEL_E*. */
    int (*del)(keel_module_ctx *self, keel_ctx *ctx, const char *key, int *deleted);

    /* Like put, with an expiry ttl_s seconds from now (ttl_s >= 1; 0 = no
     * expiry).  Expired keys are invisible to get/list/del. */
    int (*put_ttl)(keel_module_ctx *self, keel_ctx *ctx, const char *key,
                   const char *value, size_t len, long long ttl_s);
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
