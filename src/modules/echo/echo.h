/*
 * echo.h — the smallest module: returns its input.  Used by the dispatch
 * benchmark, the docs and the HTTP tests.
 */
#ifndef ECHO_H
#define ECHO_H

#include <stddef.h>
#include "keel/keel.h"

/* v2: every member takes echo's own module ctx first (wave-2 decision 5);
 * the v1 line (caller's ctx only) is gone.  ECHO_IFACE_VERSION is the
 * version this header describes. */
#define ECHO_IFACE_V2      2u
#define ECHO_IFACE_VERSION ECHO_IFACE_V2

typedef struct echo_iface {
    unsigned version;               /* ECHO_IFACE_VERSION */
    /* since v2 */
    /* Returns its input: *out = in (borrowed from the caller) in-process; the
     * client (echo placed remotely) copies the reply into the ctx's arena, so
     * *out lives as long as ctx.  *outlen = len.  self: echo (keel_iface). */
    int (*echo)(keel_module_ctx *self, keel_ctx *ctx, const char *in, size_t len,
                const char **out, size_t *outlen);
} echo_iface;

extern const keel_module keel_module_echo;

#endif
