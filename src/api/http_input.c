/*
 * http_input.c — the input object of POST /v1/{module}/{method}: a JSON
 * object body, or a raw body for KEEL_RAW_IN methods, plus the query
 * parameters coerced by the method's input schema (http-internal.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/http-internal.h"
#include "core/json-internal.h"
#include "core/schema-internal.h"

/* Lower-cased media type of a Content-Type value, without parameters. */
static void media_type(const char *ctype, char *buf, size_t len)
{
    size_t n = 0;
    while (ctype && (*ctype == ' ' || *ctype == '\t'))
        ctype++;
    for (; ctype && *ctype && *ctype != ';' && *ctype != ' ' && n + 1 < len; ctype++)
        buf[n++] = (char)tolower((unsigned char)*ctype);
    buf[n] = '\0';
}

/* Is mt one of the comma-separated raw_types of m? */
static int raw_type_listed(const keel_method *m, const char *mt)
{
    const char *p = m->raw_types;
    size_t mlen = strlen(mt);
    if (!(m->flags & KEEL_RAW_IN) || !p || mlen == 0)
        return 0;
    while (*p) {
        const char *e;
        while (*p == ' ' || *p == ',')
            p++;
        e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == mlen && strncasecmp(p, mt, mlen) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Adds the query parameters of uri to in, coerced by the input schema.
 * A name also present in the body is an error. */
static int merge_query(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                       const char *q, json_t *in)
{
    const struct keel_schema *schema = keel__mc_in_schema(mc, m);
    struct evkeyvalq kv;
    struct evkeyval *p;
    char err[256];
    int rc = 0;

    TAILQ_INIT(&kv);
    if (!q || !*q)
        return 0;
    if (m->flags & KEEL_BODY_ONLY)  /* secrets in a URL end up in every proxy's access log */
        return keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s takes no query parameters: send its input "
                              "as the JSON body", keel_module_name(mc), m->name);
    if (evhttp_parse_query_str(q, &kv) != 0) {
        rc = keel_ctx_error(ctx, KEEL_EINVAL, "malformed query string");
        goto out;
    }
    TAILQ_FOREACH(p, &kv, next) {
        json_t *v = NULL;
        if (json_object_get(in, p->key)) {
            rc = keel_ctx_error(ctx, KEEL_EINVAL, "parameter '%s' given more than once (query or body)", p->key);
            goto out;
        }
        if (schema) {
            err[0] = '\0';
            rc = keel__schema_coerce(schema, p->key, p->value, &v, err, sizeof err);
            if (rc != 0) {
                rc = keel_ctx_error(ctx, KEEL_EINVAL, "query parameter %s", err[0] ? err : p->key);
                goto out;
            }
        } else {
            v = json_string(p->value);
        }
        /* json_string and object keys refuse bytes that are not UTF-8: that
         * is the caller's input, not a lack of memory. */
        if (!v) {
            rc = keel_ctx_error(ctx, KEEL_EINVAL, "query parameter: value is not UTF-8 text");
            goto out;
        }
        if (json_object_set_new(in, p->key, v) != 0) {
            json_t *name = json_string(p->key);
            rc = name ? KEEL_ENOMEM
                      : keel_ctx_error(ctx, KEEL_EINVAL, "query parameter: name is not UTF-8 text");
            json_decref(name);
            goto out;
        }
    }
out:
    evhttp_clear_headers(&kv);
    return rc;
}

int keel__http_read_input(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                          const keel_http_body *b, json_t **in)
{
    size_t len = b->len;
    const char *body = len ? b->data : "";
    char mt[128];
    json_error_t jerr;
    int rc = 0;

    *in = NULL;
    media_type(b->ctype, mt, sizeof mt);
    /* A method may list application/json as a raw type (a JSON array body):
     * a JSON object body is still the method's input. */
    if (strcmp(mt, "application/json") == 0 && len > 0 && raw_type_listed(m, mt)) {
        *in = keel__json_parse(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (json_is_object(*in))
            goto query;
        json_decref(*in);
        *in = NULL;
    }
    if (raw_type_listed(m, mt)) {
        keel_arena *a = keel_ctx_arena(ctx);
        const char *ctype = a ? keel_arena_strdup(a, mt) : NULL;
        *in = json_object();
        if (!*in || !ctype) {
            rc = KEEL_ENOMEM;
            goto out;
        }
        /* the body outlives ctx (http-internal.h, keel_http_body); mt is
         * on this stack frame, so ctx gets the arena's copy */
        keel__ctx_set_raw(ctx, body, len, ctype);
    } else if (len == 0 && (mt[0] == '\0' || strcmp(mt, "application/json") == 0)) {
        *in = json_object();
        if (!*in) {
            rc = KEEL_ENOMEM;
            goto out;
        }
    } else if (strcmp(mt, "application/json") != 0) {
        if (m->flags & KEEL_RAW_IN)
            rc = keel_ctx_error(ctx, KEEL_EMEDIA, "Content-Type '%s' not accepted: use application/json or %s",
                                mt[0] ? mt : "(none)", m->raw_types ? m->raw_types : "?");
        else
            rc = keel_ctx_error(ctx, KEEL_EMEDIA, "Content-Type '%s' not accepted: use application/json",
                                mt[0] ? mt : "(none)");
        goto out;
    } else {
        *in = keel__json_parse(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!*in) {
            rc = keel_ctx_error(ctx, KEEL_EBADDATA, "malformed JSON body: %s (line %d, column %d)",
                                jerr.text, jerr.line, jerr.column);
            goto out;
        }
        if (!json_is_object(*in)) {
            rc = keel_ctx_error(ctx, KEEL_EINVAL, "request body must be a JSON object");
            goto out;
        }
    }
query:
    rc = merge_query(ctx, mc, m, b->query, *in);
out:
    if (rc != 0 && *in) {
        json_decref(*in);
        *in = NULL;
    }
    return rc;
}
