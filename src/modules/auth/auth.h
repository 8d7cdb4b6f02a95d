/*
 * auth.h — the auth module's typed interface.
 *
 * auth_iface begins with the members of keel_authn_iface (keel/authn.h), in
 * the same order and types: the descriptor sets KEEL_MOD_AUTHN and the HTTP
 * gateway calls authenticate() for every non-public method, through the local
 * vtable (auth_local) when auth runs in this process or through auth_client
 * (marshals to keel_call(ctx, "auth", "check_token", …)) when it is placed in
 * another one.  Usage from any module:
 *
 *     keel_module_ctx *am;
 *     const auth_iface *a = keel_iface(ctx, "auth", AUTH_IFACE_V2, &am);
 *     json_t *who = NULL;
 *     int rc = a ? a->authenticate(am, ctx, token, "riding:read", &who) : KEEL_EUNAVAIL;
 *
 * Scopes: "admin" (grants all), "<module>:read", "<module>:write" (implies
 * read).  "auth:self" is held by every valid token.
 *
 * Versioning: append-only within a version line; new members at the end
 * fenced by "since vN", AUTH_IFACE_VERSION moved.  v2 started a new line
 * (auth's own module ctx first: wave-2 decision 5, KEEL_AUTHN_IFACE_V2).
 */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include "keel/keel.h"

#define AUTH_IFACE_V2      2u
#define AUTH_IFACE_VERSION AUTH_IFACE_V2   /* what this header describes */
_Static_assert(AUTH_IFACE_VERSION >= KEEL_AUTHN_IFACE_V2, "auth_iface is a keel_authn_iface");

typedef struct auth_iface {
    unsigned version; /* AUTH_IFACE_VERSION */

    /* since v2 — the keel_authn_iface prefix; self: auth's module ctx */

    /* Checks token (borrowed, may be NULL) for scope (borrowed; NULL = any
     * valid token).  0 and *principal = new reference (caller frees)
     * {"user_id","email","scopes":[…],"token_id"}; otherwise *principal = NULL
     * and KEEL_EUNAUTH (missing, malformed, unknown, expired or revoked
     * token), KEEL_EFORBIDDEN (valid token without the scope), KEEL_EUNAVAIL
     * (auth not started or unreachable), KEEL_E* (store).  The reason is set
     * on ctx (keel_ctx_error). */
    int (*authenticate)(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                        const char *scope, json_t **principal);
} auth_iface;

/* The two implementations (borrowed, static).  Callers use keel_iface(). */
extern const auth_iface auth_local;
extern const auth_iface auth_client;

/* The module descriptor (registry symbol). */
extern const keel_module keel_module_auth;

#endif /* AUTH_AUTH_H */
