/*
 * echo.h — the smallest module: returns its input.  Used by the dispatch
 * benchmark, the docs and the HTTP tests.
 */
#ifndef ECHO_H
#define ECHO_H

#include <stddef.h>
#include "keel/keel.h"

#define ECHO_IFACE_V1 1u

typedef struct echo_iface {
    unsigned version;               /* ECHO_IFACE_V1 */
    /* since v1 */
    /* Returns its input: *out = in (borrowed from the caller) in-process; the
     * client (echo placed remotely) copies the reply into the ctx's arena, so
     * *out lives as long as ctx.  *outlen = len. */
    int (*echo)(keel_ctx *ctx, const char *in, size_t len, const char **out, size_t *outlen);
} echo_iface;

extern const keel_module keel_module_echo;

#endif
