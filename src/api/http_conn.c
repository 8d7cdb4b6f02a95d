/*
 * http_conn.c — the connection hook: keel sees every request's line and
 * headers before evhttp does (docs/architecture.md, wave-2 decision 1).
 *
 * libevent 2.1.12 shows a request only once its body is read, and answers
 * some errors itself in HTML.  evhttp_set_bevcb hands evhttp a filtering
 * bufferevent over the socket one; its input filter parses each request's
 * head incrementally (consumed / incomplete / error) and passes the bytes
 * through unchanged when the request is acceptable.  Before any body byte is
 * buffered it enforces the head size and header count (431/414/400), the
 * method (TRACE/CONNECT 405, unknown 501), the route's body limit from the
 * descriptor (413), the in-flight body budget (503 + Retry-After), and for
 * the whole request the deadline KEEL_REQUEST_TIMEOUT_MS (408).  Connections
 * beyond KEEL_MAX_CONNECTIONS are accepted; their first request is served
 * only if it is a probe (/healthz, /readyz), anything else or silence gets
 * 503.  A refusal is written straight to the socket bufferevent as JSON
 * with X-Request-Id and Connection: close, logged as one access-log line,
 * counted; evhttp never sees that request.  The connection then lingers
 * (write side shut, input discarded) until the client has been quiet for
 * 1 s (10 s at most), so a client still sending can read the answer, and
 * is closed through evhttp (an EOF event on the filter).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api/http-internal.h"

keel_http_conn_stats keel__http_conn_stats;

#define CONN_MAX_HEADERS   100      /* header lines per request */
#define CONN_LINGER_MS     1000     /* after a refusal: close after this long without input */
#define CONN_LINGER_MAX_MS 10000    /* ... or after this long in all (nginx's lingering_time) */
#define CONN_FLUSH_MS      5000     /* a client that does not read its refusal */
#define CONN_OVERCAP_MS    1000     /* an excess connection's time to ask for a probe */
#define CONN_RETRY_MS      10       /* refusal waiting for evhttp's previous answer */
#define CONN_CHUNK_LINE    256      /* chunk size line with extensions */

enum conn_state {
    ST_HEAD = 0,      /* reading a request line and headers */
    ST_BODY,          /* Content-Length body: body_left bytes to pass */
    ST_CHUNK_SIZE,    /* chunked: a size line */
    ST_CHUNK_DATA,    /* chunked: chunk_left data bytes */
    ST_CHUNK_CRLF,    /* chunked: CRLF after the data */
    ST_TRAILER,       /* chunked: trailer lines up to an empty one */
    ST_REFUSING,      /* answer queued: drop input, wait to write it */
    ST_FLUSHING,      /* answer written to the socket bufferevent */
    ST_LINGER         /* write side shut: drop input, then close */
};

typedef struct http_conn {
    const keel_http_scope *sc;
    struct bufferevent    *bev;       /* the filter (evhttp's) */
    struct bufferevent    *under;     /* the socket bufferevent */
    struct event          *timer;
    struct event          *flush_ev;  /* moves evhttp's output down (see conn_out_cb) */
    struct event          *wr_ev;     /* the socket is writable again (conn_out) */
    struct evbuffer_cb_entry *out_cb;
    enum conn_state        st;
    int                    over_cap;  /* beyond KEEL_MAX_CONNECTIONS when accepted */
    int                    requests;  /* heads passed to evhttp */
    int64_t                started_ms;/* first byte of the current request, 0 = between */
    int64_t                body_left; /* ST_BODY */
    int64_t                chunk_left;
    int64_t                body_seen; /* chunked: data bytes so far */
    int64_t                body_limit;
    int64_t                reserved;  /* in-flight bytes this connection holds */
    int64_t                until_ms;  /* ST_FLUSHING end / ST_LINGER end without input */
    int64_t                linger_end;/* ST_LINGER end however much input arrives */
    int                    midbody;   /* refused after its head went to evhttp */
    size_t                 last_in;   /* ST_REFUSING: evhttp's unread input at the last try */
    char                  *answer;    /* ST_REFUSING: the whole response */
    size_t                 answer_len;
    char                   peer[64];
    char                   what[300]; /* "POST /v1/kv/put" of the current request */
} http_conn;

/* ---- counters ------------------------------------------------------------ */

static const char *const refuse_names[KEEL_HTTP_REFUSE_N] = {
    [KEEL_HTTP_REFUSE_BAD]      = "bad_request",
    [KEEL_HTTP_REFUSE_HEADERS]  = "headers_too_large",
    [KEEL_HTTP_REFUSE_URI]      = "uri_too_long",
    [KEEL_HTTP_REFUSE_METHOD]   = "method",
    [KEEL_HTTP_REFUSE_BODY]     = "body_too_large",
    [KEEL_HTTP_REFUSE_TIMEOUT]  = "request_timeout",
    [KEEL_HTTP_REFUSE_CONNS]    = "too_many_connections",
    [KEEL_HTTP_REFUSE_INFLIGHT] = "inflight_budget",
};

const char *keel__http_refuse_name(int reason)
{
    return reason >= 0 && reason < KEEL_HTTP_REFUSE_N ? refuse_names[reason] : "?";
}

/* ---- timers and closing ---------------------------------------------------- */

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);

static void conn_arm(http_conn *c, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    if (c->timer != NULL)
        event_add(c->timer, &tv);
}

static void conn_release_inflight(http_conn *c)
{
    if (c->reserved > 0)
        atomic_fetch_sub(&keel__http_conn_stats.inflight_bytes, c->reserved);
    c->reserved = 0;
}

static void conn_free(void *arg)
{
    http_conn *c = arg;
    if (c->out_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    if (c->flush_ev != NULL)
        event_free(c->flush_ev);
    if (c->wr_ev != NULL)
        event_free(c->wr_ev);
    if (c->timer != NULL)
        event_free(c->timer);
    conn_release_inflight(c);
    atomic_fetch_sub(&keel__http_conn_stats.open, 1);
    free(c->answer);
    free(c);
}

/* Closes the connection through evhttp: it frees the evcon, the filter and
 * this context.  c is gone when this returns. */
static void conn_close(http_conn *c)
{
    bufferevent_trigger_event(c->bev, BEV_EVENT_EOF | BEV_EVENT_READING, 0);
}

/* ---- refusing ------------------------------------------------------------ */

static void conn_peer(http_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    evutil_socket_t fd = bufferevent_getfd(c->under);
    void *a = NULL;

    if (c->peer[0] != '\0' || fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        a = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (ss.ss_family == AF_INET6)
        a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (a == NULL || inet_ntop(ss.ss_family, a, c->peer, sizeof c->peer) == NULL)
        snprintf(c->peer, sizeof c->peer, "?");
}

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

/* Messages quote the client's bytes: keep them printable ASCII so the JSON
 * body and the log line stay valid whatever arrived. */
static void ascii_only(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Error";
    }
}

/* Queues the JSON answer for the current request and stops passing bytes.
 * rid: the request's X-Request-Id when it had a valid one, else NULL. */
static void conn_refuse(http_conn *c, int reason, int status, const char *code, const char *rid,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void conn_refuse(http_conn *c, int reason, int status, const char *code, const char *rid,
                        const char *fmt, ...)
{
    char msg[384], extra[96] = "";
    json_t *body = NULL;
    char *text = NULL;
    keel_ctx *ctx;
    va_list ap;
    int n;

    if (c->st >= ST_REFUSING)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ascii_only(msg);
    conn_peer(c);
    ctx = keel__ctx_new(c->sc->worker->rt, KEEL_TR_HTTP, rid, 0);
    atomic_fetch_add(&keel__http_conn_stats.refused[reason], 1);
    keel_log(ctx, KEEL_LOG_INFO, "http %s %d refused (%s) from %s: %s",
             c->what[0] ? c->what : "-", status, refuse_names[reason], c->peer, msg);
    if (status == 503)
        snprintf(extra, sizeof extra, "Retry-After: 1\r\n");
    else if (status == 405)
        snprintf(extra, sizeof extra, "Allow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n");
    body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    free(c->answer);
    c->answer_len = 0;
    if ((c->answer = malloc(1024 + sizeof msg)) != NULL) {
        n = snprintf(c->answer, 1024 + sizeof msg, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nX-Request-Id: %s\r\n%sConnection: close\r\n\r\n%s\n",
                     status, reason_phrase(status), (text ? strlen(text) : 2) + 1,
                     ctx ? keel_ctx_request_id(ctx) : "-", extra, text ? text : "{}");
        c->answer_len = n > 0 && (size_t)n < 1024 + sizeof msg ? (size_t)n : 0;
    }
    json_decref(body);
    free(text);
    keel__ctx_free(ctx);
    conn_release_inflight(c);
    c->midbody = c->st != ST_HEAD;
    c->last_in = (size_t)-1;
    c->st = ST_REFUSING;
    conn_arm(c, 0);
}

/* ST_REFUSING: the answer goes out once evhttp is done with every earlier
 * request of this connection (reading enabled, nothing unread, nothing
 * unwritten), so pipelined answers stay in order.  A request refused after
 * its head went to evhttp may leave evhttp holding a piece it waits to
 * complete (part of a chunk it reads only whole): unread input that has not
 * changed since the last try, with reading enabled and nothing unwritten,
 * is that piece, and will never be read. */
static void conn_try_answer(http_conn *c)
{
    size_t in = evbuffer_get_length(bufferevent_get_input(c->bev));
    int idle = (bufferevent_get_enabled(c->bev) & EV_READ) &&
               evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;

    if (!idle || (in != 0 && !(c->midbody && in == c->last_in))) {
        c->last_in = idle ? in : (size_t)-1;
        conn_arm(c, CONN_RETRY_MS);
        return;
    }
    if (c->answer != NULL)
        bufferevent_write(c->under, c->answer, c->answer_len);
    free(c->answer);
    c->answer = NULL;
    c->st = ST_FLUSHING;
    c->until_ms = keel__now_ms() + CONN_FLUSH_MS;
    conn_arm(c, CONN_RETRY_MS);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    int64_t now = keel__now_ms();
    (void)fd;
    (void)what;

    switch (c->st) {
    case ST_REFUSING:
        conn_try_answer(c);
        return;
    case ST_FLUSHING:
        if (evbuffer_get_length(bufferevent_get_output(c->under)) == 0) {
            evutil_socket_t s = bufferevent_getfd(c->under);
            if (s >= 0)
                shutdown(s, SHUT_WR);   /* FIN after the answer; keep reading */
            c->st = ST_LINGER;
            c->until_ms = now + CONN_LINGER_MS;
            c->linger_end = now + CONN_LINGER_MAX_MS;
            conn_arm(c, CONN_LINGER_MS);
        } else if (now >= c->until_ms) {
            conn_close(c);
        } else {
            conn_arm(c, CONN_RETRY_MS * 5);
        }
        return;
    case ST_LINGER:
        /* close once the client stopped sending (closing with unread input
         * would send a reset, and a client may then lose the answer) */
        if (now >= c->until_ms || now >= c->linger_end)
            conn_close(c);
        else
            conn_arm(c, (c->until_ms < c->linger_end ? c->until_ms : c->linger_end) - now);
        return;
    default:
        break;
    }
    /* a request (or an excess connection's first one) ran out of time */
    if (c->started_ms == 0 && c->over_cap && c->requests == 0) {
        conn_refuse(c, KEEL_HTTP_REFUSE_CONNS, 503, "unavailable", NULL,
                    "too many connections (KEEL_MAX_CONNECTIONS=%d)",
                    c->sc->limits->max_connections);
        return;
    }
    if (c->started_ms != 0)
        conn_refuse(c, KEEL_HTTP_REFUSE_TIMEOUT, 408, "request_timeout", NULL,
                    "the request did not arrive within %lld ms (KEEL_REQUEST_TIMEOUT_MS)",
                    (long long)c->sc->limits->request_timeout_ms);
}

/* ---- the request head ------------------------------------------------------ */

typedef struct conn_head {
    char    method[16];
    char    path[256];      /* up to '?', truncated */
    int     path_long;      /* path did not fit */
    int64_t clen;           /* -1 = none */
    int     chunked;
    int     expect_other;   /* Expect: something other than 100-continue */
    int     not_path;       /* the target is not /… or * (checked after the method) */
    char    rid[65];
    const char *bad;        /* why it is malformed, NULL = fine */
} conn_head;

static int is_tchar(unsigned char ch)
{
    return isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
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
            snprintf(h->rid, sizeof h->rid, "%.*s", (int)(ve - v), v);
    }
}

/* Parses the head in buf[0, n).  Returns its length (up to and including
 * the empty line), 0 when incomplete, -1 when malformed (h->bad says why)
 * or -2 with more than CONN_MAX_HEADERS lines. */
static ssize_t head_parse(conn_head *h, const char *buf, size_t n)
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
        snprintf(h->path, sizeof h->path, "%.*s", (int)(h->path_long ? sizeof h->path - 1 : plen),
                 sp1 + 1);
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

/* The body limit of the route a head names: the descriptor's max_body, else
 * KEEL_MAX_UPLOAD for raw-upload methods and KEEL_MAX_BODY for JSON ones. */
static int64_t route_limit(http_conn *c, const conn_head *h)
{
    const keel_http_limits *lim = c->sc->limits;
    char mod[64], meth[128];
    keel_module_ctx *mc;
    const keel_method *m;

    if (h->path_long || sscanf(h->path, "/v1/%63[a-z0-9_]/%127[a-z0-9_]", mod, meth) != 2)
        return lim->max_body;
    if ((mc = keel__rt_find(c->sc->worker->rt, mod)) == NULL || (m = keel__mc_method(mc, meth)) == NULL)
        return lim->max_body;
    if (m->max_body > 0)
        return (int64_t)m->max_body;
    return (m->flags & KEEL_RAW_IN) ? lim->max_upload : lim->max_body;
}

static int is_probe(const conn_head *h)
{
    return (strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0) &&
           (strcmp(h->path, "/healthz") == 0 || strcmp(h->path, "/readyz") == 0);
}

static int method_known(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL};
    int i;
    for (i = 0; ok[i] != NULL; i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

/* Decides on a complete head; 0 = pass it, else refused. */
static int conn_check_head(http_conn *c, const conn_head *h)
{
    const keel_http_limits *lim = c->sc->limits;
    const char *rid = h->rid[0] ? h->rid : NULL;
    int64_t limit;

    snprintf(c->what, sizeof c->what, "%s %s%s", h->method, h->path, h->path_long ? "…" : "");
    ascii_only(c->what);
    if (strcmp(h->method, "TRACE") == 0 || strcmp(h->method, "CONNECT") == 0) {
        conn_refuse(c, KEEL_HTTP_REFUSE_METHOD, 405, "method_not_allowed", rid,
                    "%s is not served", h->method);
        return -1;
    }
    if (!method_known(h->method)) {
        conn_refuse(c, KEEL_HTTP_REFUSE_METHOD, 501, "not_implemented", rid,
                    "unknown method %s", h->method);
        return -1;
    }
    if (h->not_path) {
        conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", rid, "the request target must be a path");
        return -1;
    }
    if (h->chunked && h->clen >= 0) {
        conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", rid,
                    "Content-Length and Transfer-Encoding together");
        return -1;
    }
    if (strcmp(h->method, "HEAD") == 0 && (h->chunked || h->clen > 0)) {
        conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", rid, "a HEAD request has no body");
        return -1;
    }
    if (h->expect_other) {
        conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 417, "expectation_failed", rid,
                    "only Expect: 100-continue is supported");
        return -1;
    }
    if (c->over_cap && c->requests == 0 && !is_probe(h)) {
        conn_refuse(c, KEEL_HTTP_REFUSE_CONNS, 503, "unavailable", rid,
                    "too many connections (KEEL_MAX_CONNECTIONS=%d)", lim->max_connections);
        return -1;
    }
    limit = route_limit(c, h);
    if (h->clen > limit) {
        conn_refuse(c, KEEL_HTTP_REFUSE_BODY, 413, "too_large", rid,
                    "a body of %lld bytes is over the limit of %lld bytes for %s",
                    (long long)h->clen, (long long)limit, h->path);
        return -1;
    }
    conn_release_inflight(c);   /* the previous request of this connection is answered */
    if (h->clen > 0 && lim->max_inflight > 0) {
        int64_t now = atomic_fetch_add(&keel__http_conn_stats.inflight_bytes, h->clen) + h->clen;
        c->reserved = h->clen;
        if (now > lim->max_inflight) {
            conn_refuse(c, KEEL_HTTP_REFUSE_INFLIGHT, 503, "unavailable", rid,
                        "request bodies in flight are over KEEL_MAX_INFLIGHT_BYTES=%lld; retry",
                        (long long)lim->max_inflight);
            return -1;
        }
    }
    c->body_limit = limit;
    return 0;
}

/* ---- the input filter ---------------------------------------------------- */

/* Request finished passing: the deadline stops until the next one starts. */
static void conn_request_done(http_conn *c)
{
    c->st = ST_HEAD;
    c->started_ms = 0;
    if (c->timer != NULL)
        event_del(c->timer);
}

static int conn_step_head(http_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    const keel_http_limits *lim = c->sc->limits;
    size_t have = evbuffer_get_length(src), n = have < lim->max_header + 1 ? have : lim->max_header + 1;
    const char *p = (const char *)evbuffer_pullup(src, (ev_ssize_t)n);
    conn_head h;
    ssize_t r;

    if (c->started_ms == 0) {
        c->started_ms = keel__now_ms();
        conn_arm(c, lim->request_timeout_ms);
    }
    if (p == NULL)
        return 0;
    r = head_parse(&h, p, n);
    if (r == 0 && n > lim->max_header) {
        const char *eol = memchr(p, '\n', n);
        if (eol == NULL)
            conn_refuse(c, KEEL_HTTP_REFUSE_URI, 414, "uri_too_long", NULL,
                        "the request line is over %zu bytes", lim->max_header);
        else
            conn_refuse(c, KEEL_HTTP_REFUSE_HEADERS, 431, "headers_too_large", h.rid[0] ? h.rid : NULL,
                        "the request head is over %zu bytes (KEEL_MAX_HEADER_BYTES)", lim->max_header);
        return 0;
    }
    if (r == 0)
        return 0;
    if (r == -2) {
        conn_refuse(c, KEEL_HTTP_REFUSE_HEADERS, 431, "headers_too_large", NULL,
                    "more than %d header lines", CONN_MAX_HEADERS);
        return 0;
    }
    if (r < 0) {
        snprintf(c->what, sizeof c->what, "%s", h.method[0] ? h.method : "-");
        conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", h.rid[0] ? h.rid : NULL, "%s", h.bad);
        return 0;
    }
    if (conn_check_head(c, &h) != 0)
        return 0;
    evbuffer_remove_buffer(src, dst, (size_t)r);
    c->requests++;
    c->body_seen = 0;
    if (h.chunked) {
        c->st = ST_CHUNK_SIZE;
    } else if (h.clen > 0 && strcmp(h.method, "HEAD") != 0) {
        c->st = ST_BODY;
        c->body_left = h.clen;
    } else {
        conn_request_done(c);
    }
    return 1;
}

/* One line of a chunked body into dst: its content in line (NUL-ended,
 * without the line end).  1 done, 0 incomplete, -1 too long. */
static int chunk_line(struct evbuffer *src, struct evbuffer *dst, char *line, size_t cap)
{
    size_t eol_len = 0, len;
    struct evbuffer_ptr e = evbuffer_search_eol(src, NULL, &eol_len, EVBUFFER_EOL_CRLF);

    if (e.pos < 0)
        return evbuffer_get_length(src) >= cap ? -1 : 0;
    len = (size_t)e.pos;
    if (len >= cap)
        return -1;
    evbuffer_copyout(src, line, len);
    line[len] = '\0';
    evbuffer_remove_buffer(src, dst, len + eol_len);
    return 1;
}

static int conn_step_chunked(http_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    char line[CONN_CHUNK_LINE];
    int r;

    switch (c->st) {
    case ST_CHUNK_SIZE: {
        char *end;
        unsigned long long sz;
        if ((r = chunk_line(src, dst, line, sizeof line)) <= 0) {
            if (r < 0)
                conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "chunk size line too long");
            return 0;
        }
        if (!isxdigit((unsigned char)line[0])) {
            conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "malformed chunk size");
            return 0;
        }
        sz = strtoull(line, &end, 16);
        if ((*end != '\0' && *end != ';' && *end != ' ' && *end != '\t') || end - line > 15) {
            conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "malformed chunk size");
            return 0;
        }
        c->body_seen += (int64_t)sz;
        if (c->body_seen > c->body_limit) {
            conn_refuse(c, KEEL_HTTP_REFUSE_BODY, 413, "too_large", NULL,
                        "a chunked body over the limit of %lld bytes", (long long)c->body_limit);
            return 0;
        }
        if (c->sc->limits->max_inflight > 0 && sz > 0) {
            int64_t now = atomic_fetch_add(&keel__http_conn_stats.inflight_bytes, (int64_t)sz) + (int64_t)sz;
            c->reserved += (int64_t)sz;
            if (now > c->sc->limits->max_inflight) {
                conn_refuse(c, KEEL_HTTP_REFUSE_INFLIGHT, 503, "unavailable", NULL,
                            "request bodies in flight are over KEEL_MAX_INFLIGHT_BYTES=%lld; retry",
                            (long long)c->sc->limits->max_inflight);
                return 0;
            }
        }
        c->chunk_left = (int64_t)sz;
        c->st = sz == 0 ? ST_TRAILER : ST_CHUNK_DATA;
        return 1;
    }
    case ST_CHUNK_DATA: {
        size_t have = evbuffer_get_length(src);
        size_t k = (int64_t)have < c->chunk_left ? have : (size_t)c->chunk_left;
        if (k == 0)
            return 0;
        evbuffer_remove_buffer(src, dst, k);
        c->chunk_left -= (int64_t)k;
        if (c->chunk_left == 0)
            c->st = ST_CHUNK_CRLF;
        return 1;
    }
    case ST_CHUNK_CRLF:
        if ((r = chunk_line(src, dst, line, 3)) <= 0 || line[0] != '\0') {
            if (r != 0)
                conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "chunk data not followed by CRLF");
            return 0;
        }
        c->st = ST_CHUNK_SIZE;
        return 1;
    case ST_TRAILER:
        if ((r = chunk_line(src, dst, line, sizeof line)) <= 0) {
            if (r < 0)
                conn_refuse(c, KEEL_HTTP_REFUSE_HEADERS, 431, "headers_too_large", NULL,
                            "chunked trailer line too long");
            return 0;
        }
        if (line[0] == '\0')
            conn_request_done(c);
        return 1;
    default:
        return 0;
    }
}

static enum bufferevent_filter_result conn_in(struct evbuffer *src, struct evbuffer *dst,
                                              ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                              void *arg)
{
    http_conn *c = arg;
    keel_http_worker *w = c->sc->worker;
    size_t dst0 = evbuffer_get_length(dst);
    (void)lim;
    (void)mode;

    if (w->draining && evbuffer_get_length(src) > 0)
        w->last_input_ms = keel__now_ms();
    for (;;) {
        int progress = 0;
        if (evbuffer_get_length(src) == 0)
            break;
        switch (c->st) {
        case ST_HEAD:
            progress = conn_step_head(c, src, dst);
            break;
        case ST_BODY: {
            size_t have = evbuffer_get_length(src);
            size_t k = (int64_t)have < c->body_left ? have : (size_t)c->body_left;
            evbuffer_remove_buffer(src, dst, k);
            c->body_left -= (int64_t)k;
            if (c->body_left == 0)
                conn_request_done(c);
            progress = k > 0;
            break;
        }
        case ST_CHUNK_SIZE:
        case ST_CHUNK_DATA:
        case ST_CHUNK_CRLF:
        case ST_TRAILER:
            progress = conn_step_chunked(c, src, dst);
            break;
        default:   /* refusing: the rest of this connection is dropped */
            if (c->st == ST_LINGER)
                c->until_ms = keel__now_ms() + CONN_LINGER_MS;
            evbuffer_drain(src, evbuffer_get_length(src));
            goto out;
        }
        if (c->st >= ST_REFUSING) {
            evbuffer_drain(src, evbuffer_get_length(src));
            break;
        }
        if (!progress)
            break;
    }
out:
    /* whatever reached dst, evhttp must be told of, also when a refusal
     * followed in the same call (a chunk size line is passed before it is
     * judged): unread, it would hold the refusal back for good */
    return evbuffer_get_length(dst) > dst0 ? BEV_OK : BEV_NEED_MORE;
}

/* ---- the output side -------------------------------------------------------- */

/* libevent 2.1.12's filter moves output down only when data is added while
 * EV_WRITE is enabled, or when the socket side wants more.  evhttp adds its
 * answer first and enables EV_WRITE after, so an answer could sit in the
 * filter until the next write event that never comes (a hung reply, seen in
 * e2e_hostile as one fresh connection in six).  Every addition therefore
 * schedules a flush for when evhttp's send call has returned. */
static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    (void)fd;
    (void)what;
    bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
}

static void conn_wr_cb(evutil_socket_t fd, short what, void *arg)
{
    conn_flush_cb(fd, what, arg);
}

/* The output filter writes evhttp's bytes straight to the socket, so the
 * filter's buffer is empty only once the kernel has them.  evhttp frees a
 * "Connection: close" connection as soon as that buffer drains: bytes
 * parked in the socket bufferevent would be freed unsent.  When the socket
 * is full, wr_ev waits for it.  A refusal of ours in the socket bufferevent
 * goes first. */
static enum bufferevent_filter_result conn_out(struct evbuffer *src, struct evbuffer *dst,
                                               ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                               void *arg)
{
    http_conn *c = arg;
    evutil_socket_t fd = bufferevent_getfd(c->under);
    int wrote = 0;
    (void)dst;
    (void)lim;
    (void)mode;

    if (fd < 0 || evbuffer_get_length(bufferevent_get_output(c->under)) > 0)
        return BEV_NEED_MORE;
    while (evbuffer_get_length(src) > 0) {
        int n = evbuffer_write(src, fd);
        if (n > 0) {
            wrote = 1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->wr_ev == NULL)
                c->wr_ev = event_new(bufferevent_get_base(c->bev), fd, EV_WRITE, conn_wr_cb, c);
            if (c->wr_ev != NULL)
                event_add(c->wr_ev, NULL);
            break;
        }
        /* the peer is gone: drop the answer; the read side sees the end */
        evbuffer_drain(src, evbuffer_get_length(src));
        wrote = 1;
    }
    return wrote ? BEV_OK : BEV_NEED_MORE;
}

static void conn_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    http_conn *c = arg;
    (void)buf;
    if (info->n_added > 0)
        event_active(c->flush_ev, EV_TIMEOUT, 0);
}

/* ---- the hook ------------------------------------------------------------ */

struct bufferevent *keel__http_conn_new(struct event_base *base, void *arg)
{
    const keel_http_scope *sc = arg;
    struct bufferevent *under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct bufferevent *bev = NULL;
    http_conn *c = calloc(1, sizeof *c);
    int open;

    if (under == NULL || c == NULL)
        goto fail;
    c->sc = sc;
    c->under = under;
    c->timer = event_new(base, -1, 0, conn_timer_cb, c);
    c->flush_ev = event_new(base, -1, 0, conn_flush_cb, c);
    if (c->timer == NULL || c->flush_ev == NULL)
        goto fail;
    open = atomic_fetch_add(&keel__http_conn_stats.open, 1) + 1;
    c->over_cap = sc->limits->max_connections > 0 && open > sc->limits->max_connections;
    bev = bufferevent_filter_new(under, conn_in, conn_out, BEV_OPT_CLOSE_ON_FREE, conn_free, c);
    if (bev == NULL) {
        atomic_fetch_sub(&keel__http_conn_stats.open, 1);
        goto fail;
    }
    c->bev = bev;
    c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), conn_out_cb, c);
    if (c->out_cb == NULL) {
        bufferevent_free(bev);   /* conn_free runs and counts the connection out */
        return NULL;
    }
    atomic_fetch_add(&keel__http_conn_stats.accepted, 1);
    if (c->over_cap)
        conn_arm(c, CONN_OVERCAP_MS);
    return bev;
fail:
    if (c != NULL && c->timer != NULL)
        event_free(c->timer);
    if (c != NULL && c->flush_ev != NULL)
        event_free(c->flush_ev);
    free(c);
    if (under != NULL)
        bufferevent_free(under);
    return NULL;
}

int keel__http_conn_peer(struct evhttp_request *req, char *buf, size_t len)
{
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    char *addr = NULL;
    ev_uint16_t port = 0;

    if (evcon == NULL || len == 0)
        return -1;
    evhttp_connection_get_peer(evcon, &addr, &port);
    if (addr == NULL)
        return -1;
    snprintf(buf, len, "%s", addr);
    return 0;
}
