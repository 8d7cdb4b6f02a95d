/*
 * http_conn_refuse.c — how the connection hook refuses a request: the JSON
 * answer (request id, log line, counter), written after evhttp's answers to
 * earlier requests, then the write side shut and input dropped until the
 * client is quiet (a lingering close); and the timers that refuse a request
 * over its deadline or an excess connection that asks for no probe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api/http_conn-internal.h"

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

void keel__http_conn_arm(http_conn *c, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    if (c->timer != NULL)
        event_add(c->timer, &tv);
}

void keel__http_conn_release_inflight(http_conn *c)
{
    if (c->reserved > 0)
        atomic_fetch_sub(&keel__http_conn_stats.inflight_bytes, c->reserved);
    c->reserved = 0;
    c->reserved_req = 0;
}

/* Connections by socket: libevent 2.1 has no getter for a filter's context,
 * and an answer knows only its evhttp connection.  Shared by the loops of
 * every worker; an entry is used only by the loop that owns the connection
 * (the socket is open, so no other connection has it). */
static pthread_mutex_t conn_by_fd_mu = PTHREAD_MUTEX_INITIALIZER;
typedef struct conn_slot { http_conn *c; } conn_slot;
static conn_slot *conn_by_fd;
static size_t conn_by_fd_n;

void keel__http_conn_register(http_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->under);
    if (c->fd >= 0 || fd < 0)
        return;
    pthread_mutex_lock(&conn_by_fd_mu);
    if ((size_t)fd >= conn_by_fd_n) {
        size_t n = conn_by_fd_n ? conn_by_fd_n : 256;
        while (n <= (size_t)fd)
            n *= 2;
        conn_slot *t = realloc(conn_by_fd, n * sizeof *t);
        if (t != NULL) {
            memset(t + conn_by_fd_n, 0, (n - conn_by_fd_n) * sizeof *t);
            conn_by_fd = t;
            conn_by_fd_n = n;
        }
    }
    if ((size_t)fd < conn_by_fd_n) {   /* out of memory: released at the next request, as before */
        conn_by_fd[fd].c = c;
        c->fd = fd;
    }
    pthread_mutex_unlock(&conn_by_fd_mu);
}

void keel__http_conn_unregister(http_conn *c)
{
    if (c->fd < 0)
        return;
    pthread_mutex_lock(&conn_by_fd_mu);
    if (conn_by_fd[c->fd].c == c)
        conn_by_fd[c->fd].c = NULL;
    pthread_mutex_unlock(&conn_by_fd_mu);
    c->fd = -1;
}

/* Answers go out in request order, each through here once (answers evhttp
 * or the observe routes send themselves are not counted, so c->answered
 * only lags: then the bytes wait for the next request or the close, never
 * leave before their request is answered). */
void keel__http_conn_answered(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    http_conn *c = NULL;

    if (fd < 0)
        return;
    pthread_mutex_lock(&conn_by_fd_mu);
    if ((size_t)fd < conn_by_fd_n)
        c = conn_by_fd[fd].c;
    pthread_mutex_unlock(&conn_by_fd_mu);
    if (c == NULL || c->bev != bev)
        return;
    c->answered++;
    if (c->reserved_req > 0 && c->reserved_req == c->answered)
        keel__http_conn_release_inflight(c);
}

/* Closes the connection through evhttp: it frees the evcon, the filter and
 * this context.  c is gone when this returns. */
void keel__http_conn_close(http_conn *c)
{
    bufferevent_trigger_event(c->bev, BEV_EVENT_EOF | BEV_EVENT_READING, 0);
}


/* ---- refusing ------------------------------------------------------------ */

void keel__http_conn_peer_addr(http_conn *c)
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

/* Messages quote the client's bytes: keep them printable ASCII so the JSON
 * body and the log line stay valid whatever arrived. */
void keel__http_ascii_only(char *s)
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

/* The refusal as an access line with the same fields as a served request
 * (method and path when the head was read, status, bytes, duration, peer)
 * and the reason; msg (printable ASCII, no query string: c->what stops at
 * '?') is the human summary's note. */
static void conn_log_refusal(http_conn *c, keel_ctx *ctx, int status, const char *reason,
                             const char *msg, size_t bytes_out)
{
    char method[32] = "-", note[480];
    const char *sp = strchr(c->what, ' ');
    keel__access a = {.method = method, .path = sp != NULL ? sp + 1 : "-", .status = status,
                      .reason = reason, .note = note};
    size_t n = sp != NULL ? (size_t)(sp - c->what) : strlen(c->what);

    if (n > 0 && n < sizeof method) {
        memcpy(method, c->what, n);
        method[n] = '\0';
    }
    snprintf(note, sizeof note, "refused %s: %s", reason, msg);
    a.bytes_in = c->body_seen > 0 ? (size_t)c->body_seen : 0;
    a.bytes_out = bytes_out;
    a.duration_us = c->started_ms > 0 ? (keel__now_ms() - c->started_ms) * 1000 : 0;
    if (ctx != NULL)
        keel__ctx_set_client(ctx, c->peer);
    keel__log_access(ctx, &a);
}

void keel__http_conn_refuse(http_conn *c, int reason, int status, const char *code, const char *rid,
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
    keel__http_ascii_only(msg);
    keel__http_conn_peer_addr(c);
    ctx = keel__ctx_new(c->sc->worker->rt, KEEL_TR_HTTP, rid, 0);
    atomic_fetch_add(&keel__http_conn_stats.refused[reason], 1);
    if (status == 503)
        snprintf(extra, sizeof extra, "Retry-After: 1\r\n");
    else if (status == 405)
        snprintf(extra, sizeof extra, "Allow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n");
    body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    conn_log_refusal(c, ctx, status, refuse_names[reason], msg, (text ? strlen(text) : 2) + 1);
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
    keel__http_conn_release_inflight(c);
    c->midbody = c->st != ST_HEAD;
    c->last_in = (size_t)-1;
    c->st = ST_REFUSING;
    keel__http_conn_arm(c, 0);
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
        keel__http_conn_arm(c, CONN_RETRY_MS);
        return;
    }
    if (c->answer != NULL)
        bufferevent_write(c->under, c->answer, c->answer_len);
    free(c->answer);
    c->answer = NULL;
    c->st = ST_FLUSHING;
    c->until_ms = keel__now_ms() + CONN_FLUSH_MS;
    keel__http_conn_arm(c, CONN_RETRY_MS);
}

void keel__http_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
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
            keel__http_conn_arm(c, CONN_LINGER_MS);
        } else if (now >= c->until_ms) {
            keel__http_conn_close(c);
        } else {
            keel__http_conn_arm(c, CONN_RETRY_MS * 5);
        }
        return;
    case ST_LINGER:
        /* close once the client stopped sending (closing with unread input
         * would send a reset, and a client may then lose the answer) */
        if (now >= c->until_ms || now >= c->linger_end)
            keel__http_conn_close(c);
        else
            keel__http_conn_arm(c, (c->until_ms < c->linger_end ? c->until_ms : c->linger_end) - now);
        return;
    default:
        break;
    }
    /* a request (or an excess connection's first one) ran out of time */
    if (c->started_ms == 0 && c->over_cap && c->requests == 0) {
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_CONNS, 503, "unavailable", NULL,
                    "too many connections (KEEL_MAX_CONNECTIONS=%d)",
                    c->sc->limits->max_connections);
        return;
    }
    if (c->started_ms != 0)
        keel__http_conn_refuse(c, KEEL_HTTP_REFUSE_TIMEOUT, 408, "request_timeout", NULL,
                    "the request did not arrive within %lld ms (KEEL_REQUEST_TIMEOUT_MS)",
                    (long long)c->sc->limits->request_timeout_ms);
}

