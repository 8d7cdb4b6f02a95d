/*
 * http_conn_head.c — the connection hook's request-head parser: the request
 * line and header fields of one request, read incrementally from the bytes
 * the client sent so far, with what the hook decides on (method, target,
 * Content-Length, Transfer-Encoding, Expect, X-Request-Id), and the split of
 * a /v1/<module>/<method> path the router uses too.  Pure: no I/O.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http_conn-internal.h"
#include "core/sbuf-internal.h"

/* An X-Request-Id keel takes over: 1..64 of [A-Za-z0-9-_.:]. */
static int rid_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':'))
            return 0;
    }
    return 1;
}


/* RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~, as two 64-bit masks
 * (bit c of word c / 64); a header name is scanned a byte at a time on
 * every request, where isalnum + strchr cost ~30 instructions a byte. */
static int is_tchar(unsigned char ch)
{
    static const uint64_t mask[2] = {UINT64_C(0x03ff6cfa00000000), UINT64_C(0x57ffffffc7fffffe)};
    return ch < 128 && (mask[ch >> 6] >> (ch & 63) & 1) != 0;
}

/* 1 if the comma-separated list [v, ve) holds token (any case). */
static int has_token(const char *v, const char *ve, const char *token)
{
    size_t n = strlen(token);
    while (v < ve) {
        const char *e = memchr(v, ',', (size_t)(ve - v)), *te;
        if (e == NULL)
            e = ve;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        for (te = e; te > v && (te[-1] == ' ' || te[-1] == '\t'); te--)
            ;
        if ((size_t)(te - v) == n && strncasecmp(v, token, n) == 0)
            return 1;
        v = e + 1;
    }
    return 0;
}

/* One header line [p, e) (no line end). */
static void head_field(conn_head *h, const char *p, const char *e)
{
    const char *colon = p, *v, *ve;
    size_t nlen;

    while (colon < e && is_tchar((unsigned char)*colon))
        colon++;
    if (colon == p || colon >= e || *colon != ':') {
        h->bad = p < e && (*p == ' ' || *p == '\t') ? "folded header line" : "malformed header line";
        return;
    }
    nlen = (size_t)(colon - p);
    for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++)
        ;
    for (ve = e; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
        ;
    for (const char *q = v; q < ve; q++)
        if ((unsigned char)*q < 0x20 && *q != '\t') {
            h->bad = "control character in a header value";
            return;
        }
    if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
        int64_t n = 0;
        const char *q;
        if (v == ve) {
            h->bad = "empty Content-Length";
            return;
        }
        for (q = v; q < ve; q++) {
            if (!isdigit((unsigned char)*q) || n > (INT64_MAX - 9) / 10) {
                h->bad = "Content-Length is not a number";
                return;
            }
            n = n * 10 + (*q - '0');
        }
        if (h->clen >= 0 && h->clen != n) {
            h->bad = "two different Content-Length headers";
            return;
        }
        h->clen = n;
    } else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
        if (h->chunked || (size_t)(ve - v) != 7 || strncasecmp(v, "chunked", 7) != 0) {
            h->bad = "only Transfer-Encoding: chunked is supported";
            return;
        }
        h->chunked = 1;
    } else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
        h->expect_other = !((size_t)(ve - v) == 12 && strncasecmp(v, "100-continue", 12) == 0);
    } else if (nlen == 12 && strncasecmp(p, "X-Request-Id", 12) == 0) {
        if (rid_ok(v, (size_t)(ve - v)))
            keel__strput(h->rid, sizeof h->rid, 0, v, (size_t)(ve - v));
    } else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
        h->close |= has_token(v, ve, "close");
    } else if ((nlen == 15 && strncasecmp(p, "X-Forwarded-For", 15) == 0) ||
               (nlen == 11 && strncasecmp(p, "traceparent", 11) == 0) ||
               (nlen == 10 && strncasecmp(p, "tracestate", 10) == 0) ||
               (nlen == 18 && strncasecmp(p, "X-Keel-Deadline-Ms", 18) == 0) ||
               (nlen == 13 && strncasecmp(p, "X-Keel-Caller", 13) == 0)) {
        h->routed = 1;
    }
}

/* Parses the head in buf[0, n).  Returns its length (up to and including
 * the empty line), 0 when incomplete, -1 when malformed (h->bad says why)
 * or -2 with more than CONN_MAX_HEADERS lines. */
ssize_t keel__http_head_parse(conn_head *h, const char *buf, size_t n)
{
    const char *p = buf, *end = buf + n, *eol, *sp1, *sp2, *q;
    int lines = 0;

    memset(h, 0, sizeof *h);
    h->clen = -1;
    while (p < end && (*p == '\r' || *p == '\n'))   /* stray CRLF before a request */
        p++;
    if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
        return 0;
    q = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
    sp1 = memchr(p, ' ', (size_t)(q - p));
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(q - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == p || (size_t)(sp1 - p) >= sizeof h->method ||
        sp2 == sp1 + 1 || (size_t)(q - sp2 - 1) != 8 ||
        (strncmp(sp2 + 1, "HTTP/1.1", 8) != 0 && strncmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
        h->bad = "malformed request line";
        return -1;
    }
    h->http10 = sp2[8] == '0';
    memcpy(h->method, p, (size_t)(sp1 - p));
    for (q = p; q < sp1; q++)
        if (!isupper((unsigned char)*q)) {
            h->bad = "malformed method";
            return -1;
        }
    for (q = sp1 + 1; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
            h->bad = "control character or space in the URI";
            return -1;
        }
    h->not_path = sp1[1] != '/' && !(sp2 - sp1 == 2 && sp1[1] == '*');
    {
        const char *pe = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
        size_t plen = (size_t)((pe ? pe : sp2) - (sp1 + 1));
        h->path_long = plen >= sizeof h->path;
        h->query = pe != NULL;
        keel__strput(h->path, sizeof h->path, 0, sp1 + 1, plen);
    }
    for (p = eol + 1;; p = eol + 1) {
        if (p >= end || (eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
            return 0;
        q = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (q == p)
            return h->bad ? -1 : (ssize_t)(eol + 1 - buf);
        if (++lines > CONN_MAX_HEADERS)
            return -2;
        if (memchr(p, '\0', (size_t)(q - p)) != NULL)
            h->bad = "NUL byte in a header";
        if (h->bad == NULL)
            head_field(h, p, q);
    }
}

int keel__http_method_known(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL};
    int i;
    for (i = 0; ok[i] != NULL; i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

/* "/v1/<module>/<method>": shared by the hook (a route's body limit) and the
 * router (dispatch); see http-internal.h. */
int keel__http_split_call_path(const char *path, char *mod, size_t modlen, char *meth, size_t methlen)
{
    const char *p = path + 4, *slash;
    size_t n, m;
    if (strncmp(path, "/v1/", 4) != 0 || !(slash = strchr(p, '/')))
        return 0;
    n = (size_t)(slash - p);
    m = strlen(slash + 1);
    if (n == 0 || n >= modlen || strchr(slash + 1, '/') || m == 0 || m >= methlen)
        return 0;
    memcpy(mod, p, n);
    mod[n] = '\0';
    memcpy(meth, slash + 1, m + 1);
    return 1;
}
