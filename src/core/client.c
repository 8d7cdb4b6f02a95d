/*
 * client.c — helpers for typed module clients (include/keel/client.h).
 *
 * Thin wrappers over keel_call: ownership that suits marshalling code
 * (steal the input), json_pack / json_unpack with errors on the ctx.
 */
#include <stdarg.h>

#include "keel/client.h"

int keel_client_call(keel_ctx *ctx, const char *module, const char *method,
                     json_t *in, json_t **out)
{
    json_t *reply = NULL;
    int rc;

    if (out)
        *out = NULL;
    rc = keel_call(ctx, module, method, in, &reply);
    if (rc == 0 && out) {
        *out = reply;
        reply = NULL;
    }
    json_decref(reply);
    json_decref(in);
    return rc;
}

int keel_client_callf(keel_ctx *ctx, const char *module, const char *method,
                      json_t **out, const char *fmt, ...)
{
    json_error_t jerr;
    json_t *in;
    va_list ap;

    if (out)
        *out = NULL;
    va_start(ap, fmt);
    in = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (!in)
        return keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s: cannot build the input: %s",
                              module, method, jerr.text);
    return keel_client_call(ctx, module, method, in, out);
}

int keel_client_unpack(keel_ctx *ctx, const char *what, const json_t *reply,
                       const char *fmt, ...)
{
    json_error_t jerr;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = json_vunpack_ex((json_t *)reply, &jerr, 0, fmt, ap);
    va_end(ap);
    if (rc != 0)
        return keel_ctx_error(ctx, KEEL_EIO, "%s: unexpected reply: %s", what ? what : "call",
                              jerr.text);
    return 0;
}
