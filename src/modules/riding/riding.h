/*
 * riding.h — the riding module's typed interface.
 *
 * Riders, horses and sensor sessions (docs/riding.md).  Other modules read a
 * stored session summary without JSON plumbing:
 *
 *     keel_module_ctx *rm;
 *     const riding_iface *r = keel_iface(ctx, "riding", RIDING_IFACE_V2, &rm);
 *     json_t *summary = NULL;
 *     int rc = r ? r->session_summary(rm, ctx, session_id, &summary) : KEEL_EUNAVAIL;
 *
 * keel_iface hands out riding_local (reads the store of self, riding's own
 * module ctx, with errors on the caller's ctx) or riding_client (keel_call →
 * get_session) when riding is placed in another process.
 *
 * Versioning: append-only within a version line; new members at the end
 * fenced by "since vN", RIDING_IFACE_VERSION moved.  v2 started a new line
 * (self first: wave-2 decision 5).
 */
#ifndef RIDING_RIDING_H
#define RIDING_RIDING_H

#include <stdint.h>
#include "keel/keel.h"

#define RIDING_IFACE_V2      2u
#define RIDING_IFACE_VERSION RIDING_IFACE_V2   /* what this header describes */

typedef struct riding_iface {
    unsigned version; /* RIDING_IFACE_VERSION */

    /* since v2 — self: riding's module ctx (keel_iface); ctx: the caller's */

    /* The compute summary of session_id.  0 and *summary = new reference
     * (caller frees); else *summary = NULL and KEEL_ENOTFOUND (no such
     * session, or its summary is not computed yet), KEEL_EUNAVAIL (riding
     * not started / unreachable), KEEL_E*. */
    int (*session_summary)(keel_module_ctx *self, keel_ctx *ctx, int64_t session_id,
                           json_t **summary);
} riding_iface;

/* The two implementations (borrowed, static).  Callers use keel_iface(). */
extern const riding_iface riding_local;
extern const riding_iface riding_client;

/* The module descriptor (registry symbol). */
extern const keel_module keel_module_riding;

#endif /* RIDING_RIDING_H */
