/*
 * ctx_raw.c — raw answers of KEEL_RAW_OUT methods (downloads).
 *
 * A handler's JSON output is what every door understands; a download (a
 * stored CSV) is bytes that should not become a JSON string twice their
 * size.  So the handler leaves the bytes on its ctx next to a small JSON
 * output, and only the doors that speak bytes — HTTP to an end client, the
 * CLI — take them (keel__ctx_take_raw_out).  Nested keel_call children and
 * keel peers see the JSON output; the bytes are freed with the ctx.
 */
#include <stdlib.h>
#include <string.h>

#include "core/ctx-internal.h"
#include "core/runtime-internal.h"

int keel_ctx_set_output_raw(keel_ctx *ctx, void *data, size_t len, const char *ctype,
                            const char *encoding)
{
    if (ctx->m == NULL || !(ctx->m->flags & KEEL_RAW_OUT)) {
        free(data);
        return keel_ctx_error(ctx, KEEL_EINTERNAL, "a raw answer from a method not flagged "
                              "KEEL_RAW_OUT");
    }
    if (ctype == NULL || strlen(ctype) >= sizeof ctx->raw_out_ctype
        || (encoding != NULL && strlen(encoding) >= sizeof ctx->raw_out_enc)) {
        free(data);
        return keel_ctx_error(ctx, KEEL_EINVAL, "raw answer: content type or encoding too long");
    }
    free(ctx->raw_out);
    ctx->raw_out = data;
    ctx->raw_out_len = len;
    memcpy(ctx->raw_out_ctype, ctype, strlen(ctype) + 1);
    if (encoding != NULL)
        memcpy(ctx->raw_out_enc, encoding, strlen(encoding) + 1);
    else
        ctx->raw_out_enc[0] = '\0';
    return 0;
}

int keel_ctx_accepts_gzip(const keel_ctx *ctx)
{
    return ctx != NULL && ctx->accept_gzip;
}

void keel__ctx_set_accept_gzip(keel_ctx *ctx, int yes)
{
    ctx->accept_gzip = yes != 0;
}

void *keel__ctx_take_raw_out(keel_ctx *ctx, size_t *len, const char **ctype, const char **enc)
{
    void *d = ctx->raw_out;

    *len = d != NULL ? ctx->raw_out_len : 0;
    *ctype = d != NULL ? ctx->raw_out_ctype : NULL;
    *enc = d != NULL && ctx->raw_out_enc[0] != '\0' ? ctx->raw_out_enc : NULL;
    ctx->raw_out = NULL;
    ctx->raw_out_len = 0;
    return d;
}

int keel__ctx_is_peer(const keel_ctx *ctx)
{
    return ctx->peer;
}
