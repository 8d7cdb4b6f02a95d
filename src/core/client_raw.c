/*
 * client_raw.c — keel_client_call_raw (include/keel/client.h): a raw body
 * for a KEEL_RAW_IN method, the way the HTTP gateway hands one over, from a
 * typed client.
 *
 * Placed remotely, the bytes go on the wire as they are (remote vtable
 * call_raw: Content-Type, Content-Encoding, the parameters as the query
 * string), never copied into a JSON string.  Placed here, the method runs
 * with the body as its raw input and the parameters as its input object —
 * what the gateway does for POST /v1/m/f?params with that body: a gzip body
 * is decoded first by the gateway's decoder (core/gunzip.c) under the same
 * caps (the method's max_body, else KEEL_MAX_UPLOAD; KEEL_MAX_GZIP_RATIO)
 * and with the same errors, so a caller sees one behaviour in every
 * placement.  In-process, nothing is reserved against
 * KEEL_MAX_INFLIGHT_BYTES (that budget counts request bodies).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keel/client.h"
#include "core/ctx-internal.h"
#include "core/gunzip-internal.h"

/* Is the media type of ctype (parameters and case ignored) one of the
 * comma-separated raw_types of m? */
static int raw_type_ok(const keel_method *m, const char *ctype)
{
    const char *p = m->raw_types, *e;
    size_t n = 0;

    if (ctype == NULL || p == NULL)
        return 0;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    while (ctype[n] && ctype[n] != ';' && ctype[n] != ' ' && ctype[n] != '\t')
        n++;
    while (n > 0 && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        for (e = p; *e && *e != ',' && *e != ' '; e++)
            ;
        if ((size_t)(e - p) == n && strncasecmp(p, ctype, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* 0 = no encoding, 1 = gzip, -1 = one we do not speak. */
static int encoding_of(const char *cenc)
{
    if (cenc == NULL || *cenc == '\0' || strcasecmp(cenc, "identity") == 0)
        return 0;
    if (strcasecmp(cenc, "gzip") == 0 || strcasecmp(cenc, "x-gzip") == 0)
        return 1;
    return -1;
}

/* Decodes a gzip body for a method run here, as keel__http_decode_body does
 * (errors and their messages alike).  *out malloc'd on success. */
static int decode_local(keel_ctx *ctx, const keel_method *m, const keel_raw_body *b, char **out,
                        size_t *outlen)
{
    keel_config *cfg = keel__rt_config(ctx->rt);
    keel_gunzip_limits lim = {
        .max_out = m->max_body > 0 ? (int64_t)m->max_body : keel__config_int(cfg, NULL, "max_upload"),
        .max_out_name = m->max_body > 0 ? "the method's limit" : "KEEL_MAX_UPLOAD",
        .max_ratio = keel__config_int(cfg, NULL, "max_gzip_ratio"),
    };
    char msg[256] = "";
    int64_t reserved = 0;
    int rc = keel__gunzip(b->data, b->len, &lim, out, outlen, &reserved, msg, sizeof msg);

    if (rc == KEEL_ETOOBIG)
        keel_ctx_error_field_new(ctx, "limit", json_integer(
            strstr(msg, "KEEL_MAX_GZIP_RATIO") ? (json_int_t)lim.max_ratio : (json_int_t)lim.max_out));
    if (rc != 0 && msg[0])
        keel_ctx_error(ctx, rc, "%s", msg);
    return rc;
}

int keel_client_call_raw(keel_ctx *ctx, const char *module, const char *method,
                         const char *content_type, const char *content_encoding,
                         const void *body, size_t len, const json_t *params, json_t **out)
{
    keel_raw_body b = { body != NULL ? body : "", body != NULL ? len : 0, content_type,
                        content_encoding };
    keel_module_ctx *mc = NULL;
    const keel_method *m = NULL;
    keel_ctx *child = NULL;
    char *decoded = NULL;
    size_t dlen = 0;
    json_t *reply = NULL;
    int rc, gz = encoding_of(content_encoding);

    if (out != NULL)
        *out = NULL;
    if (ctx->depth >= KEEL_CTX_MAX_DEPTH)
        return keel_ctx_error(ctx, KEEL_EINTERNAL, "call depth limit (%d) reached calling %s.%s",
                              KEEL_CTX_MAX_DEPTH, module, method);
    if ((rc = keel__lookup(ctx, module, method, &mc, &m)) != 0)
        return rc;
    if (!(m->flags & KEEL_RAW_IN) || !raw_type_ok(m, content_type))
        return keel_ctx_error(ctx, KEEL_EMEDIA, "%s.%s takes no raw body of type '%.60s'%s%s",
                              module, method, content_type ? content_type : "(none)",
                              (m->flags & KEEL_RAW_IN) && m->raw_types ? ": use " : "",
                              (m->flags & KEEL_RAW_IN) && m->raw_types ? m->raw_types : "");
    if (gz < 0)
        return keel_ctx_error(ctx, KEEL_EMEDIA, "Content-Encoding '%.60s' not accepted: "
                              "send gzip, or no Content-Encoding", content_encoding);
    if (params != NULL && !json_is_object(params))
        return keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s: the parameters of a raw call must be a "
                              "JSON object", module, method);
    if (json_object_size(params) > 0 && (m->flags & KEEL_BODY_ONLY))
        return keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s takes no query parameters: a raw call "
                              "cannot carry its parameters", module, method);
    if ((child = keel__ctx_child(ctx)) == NULL)
        return KEEL_ENOMEM;
    if (keel__mc_placement(mc) == KEEL_PLACE_REMOTE) {
        child->raw_call = &b;
    } else if (gz) {
        if ((rc = decode_local(child, m, &b, &decoded, &dlen)) != 0)
            goto out;
        keel__ctx_set_raw(child, dlen ? decoded : "", dlen, content_type);
    } else {
        keel__ctx_set_raw(child, (const char *)b.data, b.len, content_type);
    }
    rc = keel__route(child, mc, m, params, &reply);
    if (rc == 0 && out != NULL) {
        *out = reply;
        reply = NULL;
    }
out:
    if (rc != 0)
        keel__ctx_propagate_error(ctx, child);
    keel__ctx_free(child);
    free(decoded);
    json_decref(reply);
    return rc;
}
