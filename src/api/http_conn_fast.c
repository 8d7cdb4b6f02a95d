/*
 * http_conn_fast.c — the liveness probe answered by the connection hook.
 *
 * `GET /healthz` (and HEAD) says only that the process serves HTTP; its
 * answer is fixed.  Through evhttp it cost as much as any call: a request
 * object, its header list, a URI parse, a context, a JSON reply built and
 * evhttp's printf'd status line and headers (10.7 µs of CPU per probe, 2.3x
 * nginx answering from its configuration).  The hook has already parsed
 * the head, so for a plain probe it writes the same answer itself, the way
 * HAProxy's monitor-uri or an nginx `return 200` does: the same status,
 * headers (Content-Type, X-Request-Id — the client's when valid —, Date,
 * Content-Length) and body, the same access-log line and counters.
 *
 * Only when nothing differs from what evhttp would do:
 *   - GET or HEAD of exactly /healthz, no query string, no body;
 *   - HTTP/1.1 without Connection: close (closing stays evhttp's);
 *   - no header the router reads beyond the request id (X-Forwarded-For,
 *     traceparent, tracestate, X-Keel-Deadline-Ms, X-Keel-Caller: they
 *     change the logged client, the trace ids, or the answer);
 *   - not draining, not an excess connection;
 *   - every request this connection passed to evhttp is answered and its
 *     answer has left the filter, so answers stay in request order, and
 *     every answer has reached the kernel, so a client that does not read
 *     cannot make answers pile up in memory.
 * Anything else goes to evhttp as before.  evhttp sees none of these
 * bytes, so its idle timer would run out on a connection that sends only
 * probes: re-enabling reading on the filter restarts it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api/http_conn-internal.h"
#include "core/metrics-internal.h"

static const char body[] = "{\"status\":\"ok\"}\n";

/* 1 when the probe in h may be answered here (see above). */
static int fast_ok(const http_conn *c, const conn_head *h)
{
    int get = strcmp(h->method, "GET") == 0;

    if (!(get || strcmp(h->method, "HEAD") == 0) || strcmp(h->path, "/healthz") != 0 ||
        h->path_long || h->query || h->clen > 0 || h->chunked || h->http10 || h->close ||
        h->routed || h->expect_other)
        return 0;
    if (c->over_cap || c->sc->worker->draining || c->answered != c->requests || c->bev == NULL)
        return 0;
    /* and the last answer has reached the kernel: a client that sends
     * probes without reading the answers gets evhttp's way, which stops
     * reading while it writes (answering here, every answer would wait in
     * memory: 10 M pipelined probes held 2 GB) */
    return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_output(c->under)) == 0;
}

/* Writes len bytes of p after whatever the socket bufferevent still holds. */
static void fast_write(http_conn *c, const char *p, size_t len)
{
    evutil_socket_t fd = bufferevent_getfd(c->under);

    if (fd >= 0 && evbuffer_get_length(bufferevent_get_output(c->under)) == 0) {
        ssize_t n;
        do
            n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return;   /* the peer is gone: the read side sees the end */
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    if (len > 0)
        bufferevent_write(c->under, p, len);
}

int keel__http_conn_fast(http_conn *c, const conn_head *h, size_t head_len, struct evbuffer *src)
{
    const char *date;
    char out[256];
    keel_ctx *ctx;
    keel__access a = {0};
    int64_t t0 = keel__now_ns();
    int get, n;

    if (!fast_ok(c, h) || (date = keel__http_date()) == NULL)
        return 0;
    get = h->method[0] == 'G';
    if ((ctx = keel__ctx_new(c->sc->worker->rt, KEEL_TR_HTTP, h->rid[0] ? h->rid : NULL, 0)) == NULL)
        return 0;   /* out of memory: evhttp's way, which answers 500 */
    n = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "X-Request-Id: %s\r\nDate: %s\r\nContent-Length: %zu\r\n\r\n%s",
                 keel_ctx_request_id(ctx), date, sizeof body - 1, get ? body : "");
    if (n <= 0 || (size_t)n >= sizeof out) {
        keel__ctx_free(ctx);
        return 0;
    }
    keel__metrics_count(KEEL_MC_HTTP_STARTED, 1);
    evbuffer_drain(src, head_len);
    fast_write(c, out, (size_t)n);
    keel__http_conn_peer_addr(c);
    keel__ctx_set_client(ctx, c->peer);
    a.method = get ? "GET" : "HEAD";
    a.path = "/healthz";
    a.status = 200;
    a.bytes_out = get ? sizeof body - 1 : 0;
    a.duration_us = (keel__now_ns() - t0) / 1000;
    keel__http_finished(ctx, &a, 0);
    keel__ctx_free(ctx);
    atomic_fetch_add(&keel__http_conn_stats.fast, 1);
    /* evhttp's idle timer: it saw no request, but the connection is busy */
    bufferevent_enable(c->bev, EV_READ);
    return 1;
}
