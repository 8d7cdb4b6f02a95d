/*
 * keel/authn.h — the contract between the HTTP gateway and an auth module.
 *
 * The core knows nothing of users or tokens.  A module whose descriptor sets
 * KEEL_MOD_AUTHN promises that its typed iface *begins* with these members, so
 * the gateway can fetch it with keel_iface() — the local vtable, or the remote
 * client when auth runs in another process — and call authenticate().
 */
#ifndef KEEL_AUTHN_H
#define KEEL_AUTHN_H

#include <jansson.h>

typedef struct keel_ctx        keel_ctx;
typedef struct keel_module_ctx keel_module_ctx;

/* v2: authenticate takes the auth module's own context first (wave-2
 * decision 5); v1 (caller's ctx only) is gone.  The gateway asks for v2. */
#define KEEL_AUTHN_IFACE_V2 2u

typedef struct keel_authn_iface {
    unsigned version;   /* >= KEEL_AUTHN_IFACE_V2 */
    /* since v2 */
    /* self: the auth module (from keel_iface).  ctx: the caller's call.
     * Checks token (may be NULL: no Authorization header) for scope.
     * 0 and *principal = new reference {"user_id":…,"email":…,"scopes":[…]};
     * KEEL_EUNAUTH (missing/bad/expired/revoked token), KEEL_EFORBIDDEN
     * (valid token, scope missing), KEEL_EUNAVAIL (auth unreachable). */
    int (*authenticate)(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                        const char *scope, json_t **principal);
} keel_authn_iface;

#endif /* KEEL_AUTHN_H */
