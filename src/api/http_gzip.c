/*
 * http_gzip.c — gzip request bodies (Content-Encoding: gzip, or
 * Content-Type: application/gzip) for raw-upload methods, decoded before
 * the handler sees the body (the decoder and its caps: core/gunzip.c).
 *
 * The connection hook limits what arrives; the decoded bytes are capped by
 * the method's body limit and KEEL_MAX_GZIP_RATIO, and their growth is
 * reserved against KEEL_MAX_INFLIGHT_BYTES, which otherwise counts only the
 * compressed bytes that arrived.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http-internal.h"

/* ---- the body of one call ---------------------------------------------------- */

typedef struct decoded_body {
    char              *data;
    int64_t            reserved;
    keel_gunzip_limits lim;
} decoded_body;

static void decoded_free(void *arg)
{
    decoded_body *d = arg;
    free(d->data);
    keel__gunzip_release(&d->lim, d->reserved);
}

/* Trimmed value equals word (case-insensitive)? */
static int token_is(const char *v, const char *word)
{
    size_t n = strlen(word);
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, word, n) != 0)
        return 0;
    v += n;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v == '\0';
}

static int media_is_gzip(const char *ctype)
{
    char mt[64];
    size_t n = 0;
    while (ctype && (*ctype == ' ' || *ctype == '\t'))
        ctype++;
    for (; ctype && *ctype && *ctype != ';' && *ctype != ' ' && n + 1 < sizeof mt; ctype++)
        mt[n++] = (char)tolower((unsigned char)*ctype);
    mt[n] = '\0';
    return strcmp(mt, "application/gzip") == 0 || strcmp(mt, "application/x-gzip") == 0;
}

int64_t keel__http_method_limit(const keel_http_limits *lim, const keel_method *m)
{
    if (m == NULL)
        return lim->max_body;
    if (m->max_body > 0)
        return (int64_t)m->max_body;
    return (m->flags & KEEL_RAW_IN) ? lim->max_upload : lim->max_body;
}

int64_t keel__http_method_factor(const keel_http_limits *lim, const keel_method *m)
{
    if (m == NULL)
        return 1;
    if (m->mem_factor > 0)
        return (int64_t)m->mem_factor;
    if ((m->flags & KEEL_RAW_IN) && lim->upload_mem_factor > 1)
        return lim->upload_mem_factor;
    return 1;
}

int keel__http_decode_body(keel_ctx *ctx, const keel_method *m, const keel_http_limits *lim,
                           const char *cenc, keel_http_body *b)
{
    int by_header = 0, by_type, rc;
    keel_arena *a;
    decoded_body *d;
    char msg[256];
    size_t len = 0;

    if (cenc != NULL && *cenc != '\0' && !token_is(cenc, "identity")) {
        if (!token_is(cenc, "gzip") && !token_is(cenc, "x-gzip"))
            return keel_ctx_error(ctx, KEEL_EMEDIA, "Content-Encoding '%.60s' not accepted: "
                                  "send gzip, or no Content-Encoding", cenc);
        by_header = 1;
    }
    by_type = media_is_gzip(b->ctype);
    if (!by_header && !by_type)
        return 0;
    if (!(m->flags & KEEL_RAW_IN) || m->raw_types == NULL)
        return keel_ctx_error(ctx, KEEL_EMEDIA, "gzip bodies are accepted by raw-upload methods "
                              "only; send this method's JSON uncompressed");
    if (by_header && by_type)
        return keel_ctx_error(ctx, KEEL_EMEDIA, "Content-Encoding: gzip with Content-Type: "
                              "application/gzip would be gzip twice: send one of them");
    a = keel_ctx_arena(ctx);
    d = a != NULL ? keel_arena_alloc(a, sizeof *d) : NULL;
    if (d == NULL)
        return KEEL_ENOMEM;
    memset(d, 0, sizeof *d);
    d->lim.max_out = keel__http_method_limit(lim, m);
    d->lim.max_out_name = m->max_body > 0 ? "the method's limit" : "KEEL_MAX_UPLOAD";
    d->lim.max_ratio = lim->max_gzip_ratio;
    d->lim.inflight = &keel__http_conn_stats.inflight_bytes;
    d->lim.max_inflight = lim->max_inflight;
    d->lim.factor = keel__http_method_factor(lim, m);
    msg[0] = '\0';
    rc = keel__gunzip(b->data, b->len, &d->lim, &d->data, &len, &d->reserved, msg, sizeof msg);
    if (rc == KEEL_ETOOBIG) {
        keel_ctx_error_field_new(ctx, "limit", json_integer(
            msg[0] && strstr(msg, "KEEL_MAX_GZIP_RATIO") ? (json_int_t)lim->max_gzip_ratio
                                                         : (json_int_t)d->lim.max_out));
        return keel_ctx_error(ctx, rc, "%s", msg);
    }
    if (rc == KEEL_EUNAVAIL)
        return keel_ctx_error(ctx, rc, "request bodies in flight (decoded) are over "
                              "KEEL_MAX_INFLIGHT_BYTES=%lld; retry", (long long)lim->max_inflight);
    if (rc == KEEL_EBADDATA)
        return keel_ctx_error(ctx, rc, "%s", msg);
    if (rc != 0)
        return rc;
    if (keel_arena_cleanup(a, decoded_free, d) != 0) {
        decoded_free(d);
        return KEEL_ENOMEM;
    }
    b->data = len ? d->data : "";
    b->len = len;
    if (by_type) {
        /* application/gzip carries the method's first raw type ("text/csv") */
        const char *t = m->raw_types, *e;
        while (*t == ' ' || *t == ',')
            t++;
        for (e = t; *e && *e != ',' && *e != ' '; e++)
            ;
        b->ctype = keel_arena_strndup(a, t, (size_t)(e - t));
        if (b->ctype == NULL)
            return KEEL_ENOMEM;
    }
    return 0;
}

int keel__http_accepts_gzip(const char *ae)
{
    int star = 0, gzip = -1;  /* -1: gzip not named */

    while (ae != NULL && *ae != '\0') {
        const char *e = ae, *semi;
        char name[32];
        size_t n;
        int q_zero = 0;

        while (*e != '\0' && *e != ',')
            e++;
        while (ae < e && (*ae == ' ' || *ae == '\t'))
            ae++;
        semi = memchr(ae, ';', (size_t)(e - ae));
        n = (size_t)((semi ? semi : e) - ae);
        while (n > 0 && (ae[n - 1] == ' ' || ae[n - 1] == '\t'))
            n--;
        if (semi != NULL) {
            /* ;q=0, ;q=0.0, ;q=0.000 refuse; anything else accepts */
            const char *q = semi + 1;
            while (q < e && (*q == ' ' || *q == '\t'))
                q++;
            if (q + 2 <= e && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                q += 2;
                q_zero = *q == '0';
                for (q++; q_zero && q < e && *q != ' ' && *q != '\t'; q++)
                    q_zero = *q == '.' || *q == '0';
            }
        }
        if (n < sizeof name) {
            memcpy(name, ae, n);
            name[n] = '\0';
            if (strcasecmp(name, "gzip") == 0 || strcasecmp(name, "x-gzip") == 0)
                gzip = !q_zero;
            else if (strcmp(name, "*") == 0)
                star = !q_zero;
        }
        ae = *e ? e + 1 : e;
    }
    return gzip >= 0 ? gzip : star;
}
