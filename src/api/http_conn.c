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
 *
 * This file is the hook itself (the input filter's state machine over
 * request heads, Content-Length and chunked bodies; the output side);
 * http_conn_head.c parses a head, http_conn_refuse.c refuses and lingers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
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

#include "api/http_conn-internal.h"
#include "core/sbuf-internal.h"

keel_http_conn_stats keel__http_conn_stats;

static void conn_free(void *arg)
{
    http_conn *c = arg;
    if (c->out_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    keel__http_conn_backlog_free(c);
    if (c->flush_ev != NULL)
        event_free(c->flush_ev);
    if (c->wr_ev != NULL)
        event_free(c->wr_ev);
    if (c->rd_keep != NULL)
        event_free(c->rd_keep);
    if (c->timer != NULL)
        event_free(c->timer);
    keel__http_conn_release_inflight(c);
    keel__http_conn_unregister(c);
    atomic_fetch_sub(&keel__http_conn_stats.open, 1);
    free(c->answer);
    free(c);
}

/* The body limit of the route a head names: the descriptor's max_body, else
 * KEEL_MAX_UPLOAD for raw-upload methods and KEEL_MAX_BODY for JSON ones;
 * *factor: the in-flight bytes its call needs per body byte (1 for what is
 * not a method). */
static int64_t route_limit(http_conn *c, const conn_head *h, int64_t *factor)
{
    const keel_http_limits *lim = c->sc->limits;
    char mod[64], meth[128];
    keel_module_ctx *mc;
    const keel_method *m;

    *factor = 1;
    /* the router's own split: a path it would not route gets the JSON limit */
    if (h->path_long || !keel__http_split_call_path(h->path, mod, sizeof mod, meth, sizeof meth))
        return lim->max_body;
    if ((mc = keel__rt_find(c->sc->worker->rt, mod)) == NULL || (m = keel__mc_method(mc, meth)) == NULL)
        return lim->max_body;
    *factor = keel__http_method_factor(lim, m);
    return keel__http_method_limit(lim, m);
}

static int is_probe(const conn_head *h)
{
    return (strcmp(h->method, "GET") == 0 || strcmp(h->method, "HEAD") == 0) &&
           (strcmp(h->path, "/healthz") == 0 || strcmp(h->path, "/readyz") == 0);
}

/* Decides on a complete head; 0 = pass it, else refused. */
static int conn_check_head(http_conn *c, const conn_head *h)
{
    const keel_http_limits *lim = c->sc->limits;
    const char *rid = h->rid[0] ? h->rid : NULL;
    int64_t limit, factor;
    size_t wn;

    /* "METHOD /path", marked when the path was cut (by hand: per request) */
    wn = keel__strput(c->what, sizeof c->what, 0, h->method, SIZE_MAX);
    wn = keel__strput(c->what, sizeof c->what, wn, " ", 1);
    wn = keel__strput(c->what, sizeof c->what, wn, h->path, SIZE_MAX);
    if (h->path_long)
        keel__strput(c->what, sizeof c->what, wn, "…", SIZE_MAX);
    keel__http_ascii_only(c->what);
    if (strcmp(h->method, "TRACE") == 0 || strcmp(h->method, "CONNECT") == 0) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_METHOD, 405, "method_not_allowed", rid,
                    "%s is not served", h->method);
        return -1;
    }
    if (!keel__http_method_known(h->method)) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_METHOD, 501, "not_implemented", rid,
                    "unknown method %s", h->method);
        return -1;
    }
    if (h->not_path) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", rid, "the request target must be a path");
        return -1;
    }
    if (h->chunked && h->clen >= 0) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", rid,
                    "Content-Length and Transfer-Encoding together");
        return -1;
    }
    if (strcmp(h->method, "HEAD") == 0 && (h->chunked || h->clen > 0)) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", rid, "a HEAD request has no body");
        return -1;
    }
    if (h->expect_other) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 417, "expectation_failed", rid,
                    "only Expect: 100-continue is supported");
        return -1;
    }
    if (c->over_cap && c->requests == 0 && !is_probe(h)) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_CONNS, 503, "unavailable", rid,
                    "too many connections (KEEL_MAX_CONNECTIONS=%d)", lim->max_connections);
        return -1;
    }
    limit = route_limit(c, h, &factor);
    /* a body whose working memory could never fit the in-flight budget, not
     * even alone, is too large for this server: a 503 would be retried forever */
    if (lim->max_inflight > 0 && lim->max_inflight / factor < limit
        && h->clen > lim->max_inflight / factor) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BODY, 413, "too_large", rid,
                    "a body of %lld bytes needs %lld x that in memory for %s, over "
                    "KEEL_MAX_INFLIGHT_BYTES=%lld: at most %lld bytes fit",
                    (long long)h->clen, (long long)factor, h->path,
                    (long long)lim->max_inflight, (long long)(lim->max_inflight / factor));
        return -1;
    }
    if (lim->max_inflight > 0 && lim->max_inflight / factor < limit)
        limit = lim->max_inflight / factor;
    if (h->clen > limit) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BODY, 413, "too_large", rid,
                    "a body of %lld bytes is over the limit of %lld bytes for %s",
                    (long long)h->clen, (long long)limit, h->path);
        return -1;
    }
    keel__http_conn_release_inflight(c);   /* the previous request of this connection is answered */
    if (h->clen > 0 && lim->max_inflight > 0) {
        /* the call's working memory, not only its body: the body, its
         * contiguous copy, what the handler parses it into (docs/http.md) */
        if (!keel__mem_take(&keel__http_conn_stats.inflight_bytes, h->clen * factor,
                                      lim->max_inflight)) {
            keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_INFLIGHT, 503, "unavailable", rid,
                        "request bodies in flight are over KEEL_MAX_INFLIGHT_BYTES=%lld; retry",
                        (long long)lim->max_inflight);
            return -1;
        }
        c->reserved = h->clen * factor;
        c->reserved_req = c->requests + 1;
        keel__http_conn_register(c);
    }
    c->body_limit = limit;
    c->factor = factor;
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

    if (keel__http_conn_backlog_full(c, dst))
        return 0;
    if (c->started_ms == 0) {
        c->started_ms = keel__now_ms();
        keel__http_conn_arm(c, lim->request_timeout_ms);
    }
    if (p == NULL)
        return 0;
    r = keel__http_head_parse(&h, p, n);
    if (r == 0 && n > lim->max_header) {
        const char *eol = memchr(p, '\n', n);
        if (eol == NULL)
            keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_URI, 414, "uri_too_long", NULL,
                        "the request line is over %zu bytes", lim->max_header);
        else
            keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_HEADERS, 431, "headers_too_large", h.rid[0] ? h.rid : NULL,
                        "the request head is over %zu bytes (KEEL_MAX_HEADER_BYTES)", lim->max_header);
        return 0;
    }
    if (r == 0)
        return 0;
    if (r == -2) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_HEADERS, 431, "headers_too_large", NULL,
                    "more than %d header lines", CONN_MAX_HEADERS);
        return 0;
    }
    if (r < 0) {
        keel__strput(c->what, sizeof c->what, 0, h.method[0] ? h.method : "-", SIZE_MAX);
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", h.rid[0] ? h.rid : NULL, "%s", h.bad);
        return 0;
    }
    if (conn_check_head(c, &h) != 0)
        return 0;
    if (keel__http_conn_fast(c, &h, (size_t)r, src)) {
        conn_request_done(c);
        return 1;
    }
    evbuffer_remove_buffer(src, dst, (size_t)r);
    c->requests++;
    keel__http_conn_register(c);   /* from the first head: every answer is counted */
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
                keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "chunk size line too long");
            return 0;
        }
        if (!isxdigit((unsigned char)line[0])) {
            keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "malformed chunk size");
            return 0;
        }
        sz = strtoull(line, &end, 16);
        if ((*end != '\0' && *end != ';' && *end != ' ' && *end != '\t') || end - line > 15) {
            keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "malformed chunk size");
            return 0;
        }
        c->body_seen += (int64_t)sz;
        if (c->body_seen > c->body_limit) {
            keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BODY, 413, "too_large", NULL,
                        "a chunked body over the limit of %lld bytes", (long long)c->body_limit);
            return 0;
        }
        if (c->sc->limits->max_inflight > 0 && sz > 0) {
            /* body_limit is at most the budget / factor: no overflow */
            if (!keel__mem_take(&keel__http_conn_stats.inflight_bytes,
                                          (int64_t)sz * c->factor, c->sc->limits->max_inflight)) {
                keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_INFLIGHT, 503, "unavailable", NULL,
                            "request bodies in flight are over KEEL_MAX_INFLIGHT_BYTES=%lld; retry",
                            (long long)c->sc->limits->max_inflight);
                return 0;
            }
            c->reserved += (int64_t)sz * c->factor;
            c->reserved_req = c->requests;   /* the head passed: this request's chunks */
            keel__http_conn_register(c);
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
                keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_BAD, 400, "bad_request", NULL, "chunk data not followed by CRLF");
            return 0;
        }
        c->st = ST_CHUNK_SIZE;
        return 1;
    case ST_TRAILER:
        if ((r = chunk_line(src, dst, line, sizeof line)) <= 0) {
            if (r < 0)
                keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_HEADERS, 431, "headers_too_large", NULL,
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

/* A Content-Length body goes to evhttp in pieces of this size, copied into
 * buffers of exactly that size.  Moving libevent's own chains kept their
 * slack: a socket read of 4 KiB lands in an 8 KiB chain, which this filter
 * and then evhttp moved on before the next read filled it, so a body of B
 * bytes held ~2B (+ the allocator's headers) until the handler ran —
 * measured 2.85 × for a 127 MB upload. */

static void conn_free_piece(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)(uintptr_t)data);
}

/* Passes k (> 0) bytes of body from src to dst; last: they end the body.
 * Less than a piece waits for more unless it is the end.  Returns the bytes
 * passed. */
static size_t conn_pass_body(struct evbuffer *src, struct evbuffer *dst, size_t k, int last)
{
    size_t done = 0;

    while (k - done >= CONN_PASS_BYTES) {
        char *piece = malloc(CONN_PASS_BYTES);
        if (piece == NULL)
            break;   /* out of memory: the chains as they are, below */
        evbuffer_remove(src, piece, CONN_PASS_BYTES);
        if (evbuffer_add_reference(dst, piece, CONN_PASS_BYTES, conn_free_piece, NULL) != 0) {
            evbuffer_prepend(src, piece, CONN_PASS_BYTES);
            free(piece);
            break;
        }
        done += CONN_PASS_BYTES;
    }
    if (done < k && (last || k - done >= CONN_PASS_BYTES)) {
        evbuffer_remove_buffer(src, dst, k - done);
        done = k;
    }
    return done;
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
    if (c->st < ST_REFUSING)
        keel__http_conn_keep_read(c);
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
            k = conn_pass_body(src, dst, k, (int64_t)k == c->body_left);
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
    c->flush_armed = 0;
    bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
    if (c->rd_keep_off && c->st < ST_REFUSING)
        keel__http_conn_keep_read(c);   /* evhttp reads again once it has answered */
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
    /* an answer is several additions (status line, each header, the
     * body): one activation serves them all */
    if (info->n_added > 0 && !c->flush_armed) {
        c->flush_armed = 1;
        event_active(c->flush_ev, EV_TIMEOUT, 0);
    }
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
    c->fd = -1;
    c->timer = event_new(base, -1, 0, keel__http_conn_timer_cb, c);
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
    if (c->out_cb == NULL || keel__http_conn_backlog_init(c) != 0) {
        bufferevent_free(bev);   /* conn_free runs and counts the connection out */
        return NULL;
    }
    atomic_fetch_add(&keel__http_conn_stats.accepted, 1);
    if (c->over_cap)
        keel__http_conn_arm(c, CONN_OVERCAP_MS);
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
