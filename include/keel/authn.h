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

typedef struct keel_ctx keel_ctx;

typedef struct keel_authn_iface {
    unsigned version;
    /* Checks token (may be NULL: no Authorization header) for scope.
     * 0 and *principal = new reference {"user_id":…,"email":…,"scopes":[…]};
     * KEEL_EUNAUTH (missing/bad/expired/revoked token), KEEL_EFORBIDDEN
     * (valid token, scope missing), KEEL_EUNAVAIL (auth unreachable). */
    int (*authenticate)(keel_ctx *ctx, const char *token, const char *scope,
                        json_t **principal);
} keel_authn_iface;

#endif /* KEEL_AUTHN_H */
