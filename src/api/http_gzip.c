/*
 * http_gzip.c — gzip request bodies (Content-Encoding: gzip, or
 * Content-Type: application/gzip) for raw-upload methods, decoded before
 * the handler sees the body.
 *
 * The connection hook limits what arrives; a compressed body can still
 * expand a thousandfold (deflate's limit is ~1032:1), so the decoder checks
 * its output as it grows, never after: inflate writes into a buffer that
 * doubles up to the cap, and the cap is the smaller of the method's body
 * limit and KEEL_MAX_GZIP_RATIO × the compressed size (never less than
 * GZIP_RATIO_FLOOR, so a tiny, very regular file is not refused).  A 10 KB
 * bomb meant to become 10 GB stops after ~2 MB of output.  The growth is
 * also reserved against KEEL_MAX_INFLIGHT_BYTES, which otherwise counts only
 * the compressed bytes that arrived.
 *
 * Concatenated gzip members are one body (RFC 1952 §2.2; gzip -d does the
 * same), the caps apply to their sum.  Anything after the last member that
 * is not another member — trailing garbage, zero padding — is refused:
 * a truncated or altered upload must not become a shorter session.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "api/http-internal.h"

/* Decoded size the ratio cap always allows (1 MiB): below it a bomb
 * costs nothing, and small regular files may compress past the ratio. */
#define GZIP_RATIO_FLOOR ((int64_t)1 << 20)
/* First output buffer: the usual ratio for CSV of decimals, at least 64 KiB. */
#define GZIP_FIRST_GUESS 8

static void gz_msg(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void gz_msg(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (msg == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
}

/* Grows *buf (capacity *cap, reserved bytes *reserved) towards want, never
 * past hard; reserves the growth against the in-flight budget.  0, or
 * KEEL_EUNAVAIL (budget) / KEEL_ENOMEM. */
static int gz_grow(const keel_gunzip_limits *lim, char **buf, size_t *cap, size_t want,
                   int64_t *reserved)
{
    /* the decoded bytes are what the handler works on: reserved with the
     * method's factor, as the hook reserved the compressed ones */
    int64_t add = (int64_t)(want - *cap) * (lim->factor > 1 ? lim->factor : 1);
    char *nb;

    if (lim->inflight != NULL && lim->max_inflight > 0) {
        if (!keel__mem_take(lim->inflight, add, lim->max_inflight))
            return KEEL_EUNAVAIL;
        *reserved += add;
    }
    nb = realloc(*buf, want);
    if (nb == NULL)
        return KEEL_ENOMEM;
    *buf = nb;
    *cap = want;
    return 0;
}

void keel__http_gunzip_release(const keel_gunzip_limits *lim, int64_t reserved)
{
    if (lim != NULL && lim->inflight != NULL && reserved > 0)
        atomic_fetch_sub(lim->inflight, (long long)reserved);
}

int keel__http_gunzip(const void *in, size_t inlen, const keel_gunzip_limits *lim, char **out,
                      size_t *outlen, int64_t *reserved, char *msg, size_t msglen)
{
    int64_t hard = lim->max_out > 0 ? lim->max_out : INT64_MAX - 1;
    int by_ratio = 0, zrc = Z_OK, rc = 0, members = 0;
    size_t cap = 0, want;
    char *buf = NULL;
    z_stream zs;

    *out = NULL;
    *outlen = 0;
    *reserved = 0;
    if (lim->max_ratio > 0 && (int64_t)inlen <= (INT64_MAX / lim->max_ratio)) {
        int64_t r = (int64_t)inlen * lim->max_ratio;
        if (r < GZIP_RATIO_FLOOR)
            r = GZIP_RATIO_FLOOR;
        if (r < hard) {
            hard = r;
            by_ratio = 1;
        }
    }
    if (inlen == 0) {
        gz_msg(msg, msglen, "the gzip body is empty (truncated upload?)");
        return KEEL_EINVAL;
    }
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper only, not zlib or raw */
        return KEEL_ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = 0;
    want = inlen > SIZE_MAX / GZIP_FIRST_GUESS ? SIZE_MAX : inlen * GZIP_FIRST_GUESS;
    if (want < 65536)
        want = 65536;
    if ((int64_t)want > hard)
        want = (size_t)hard + 1;
    if ((rc = gz_grow(lim, &buf, &cap, want, reserved)) != 0)
        goto out;
    for (;;) {
        size_t done = (size_t)(zs.next_in - (const Bytef *)in);
        /* zlib counts in uInt: feed at most 1 GiB at a time */
        if (zs.avail_in == 0 && done < inlen)
            zs.avail_in = (uInt)((inlen - done) > (1u << 30) ? (1u << 30) : (inlen - done));
        if (*outlen == cap) {
            /* the buffer may hold one byte more than the cap, so a body of
             * exactly the cap is told apart from one that goes on */
            want = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
            if ((int64_t)want > hard + 1)
                want = (size_t)hard + 1;
            if ((rc = gz_grow(lim, &buf, &cap, want, reserved)) != 0)
                goto out;
        }
        zs.next_out = (Bytef *)buf + *outlen;
        zs.avail_out = (uInt)((cap - *outlen) > (1u << 30) ? (1u << 30) : (cap - *outlen));
        {
            uInt before = zs.avail_out;
            zrc = inflate(&zs, Z_NO_FLUSH);
            *outlen += before - zs.avail_out;
        }
        if ((int64_t)*outlen > hard) {
            rc = KEEL_ETOOBIG;
            if (by_ratio)
                gz_msg(msg, msglen, "the gzip body expands more than %lld times its %zu "
                       "compressed bytes (KEEL_MAX_GZIP_RATIO=%lld): refused as a "
                       "decompression bomb", (long long)lim->max_ratio, inlen,
                       (long long)lim->max_ratio);
            else
                gz_msg(msg, msglen, "the gzip body expands past the limit of %lld bytes (%s)",
                       (long long)hard, lim->max_out_name ? lim->max_out_name
                                                          : "the method's limit");
            goto out;
        }
        if (zrc == Z_STREAM_END) {
            size_t used = (size_t)(zs.next_in - (const Bytef *)in);
            members++;
            if (used == inlen)
                break;
            /* another member must start right here (RFC 1952 ID1 ID2) */
            if (inlen - used < 2 || ((const unsigned char *)in)[used] != 0x1f
                || ((const unsigned char *)in)[used + 1] != 0x8b) {
                rc = KEEL_EINVAL;
                gz_msg(msg, msglen, "%zu bytes after the end of gzip member %d are not "
                       "another gzip member", inlen - used, members);
                goto out;
            }
            if (inflateReset(&zs) != Z_OK) {
                rc = KEEL_ENOMEM;
                goto out;
            }
            continue;
        }
        if (zrc == Z_OK)
            continue;
        if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* output full: grow (or refuse) above */
        rc = KEEL_EINVAL;
        if (zrc == Z_BUF_ERROR)
            gz_msg(msg, msglen, "the gzip body is truncated: it ends %s",
                   *outlen == 0 && members == 0 ? "inside the gzip header"
                                               : "before the end of its last member");
        else if (zrc == Z_MEM_ERROR)
            rc = KEEL_ENOMEM;
        else
            gz_msg(msg, msglen, "the gzip body is corrupt at compressed byte %zu: %s",
                   (size_t)(zs.next_in - (const Bytef *)in), zs.msg ? zs.msg : "invalid data");
        goto out;
    }
out:
    inflateEnd(&zs);
    if (rc != 0) {
        free(buf);
        keel__http_gunzip_release(lim, *reserved);
        *reserved = 0;
        *outlen = 0;
        return rc;
    }
    *out = buf;
    return 0;
}

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
    keel__http_gunzip_release(&d->lim, d->reserved);
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
    rc = keel__http_gunzip(b->data, b->len, &d->lim, &d->data, &len, &d->reserved, msg, sizeof msg);
    if (rc == KEEL_ETOOBIG) {
        keel_ctx_error_field_new(ctx, "limit", json_integer(
            msg[0] && strstr(msg, "KEEL_MAX_GZIP_RATIO") ? (json_int_t)lim->max_gzip_ratio
                                                         : (json_int_t)d->lim.max_out));
        return keel_ctx_error(ctx, rc, "%s", msg);
    }
    if (rc == KEEL_EUNAVAIL)
        return keel_ctx_error(ctx, rc, "request bodies in flight (decoded) are over "
                              "KEEL_MAX_INFLIGHT_BYTES=%lld; retry", (long long)lim->max_inflight);
    if (rc == KEEL_EINVAL)
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
