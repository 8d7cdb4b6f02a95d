/*
 * http_call.c — a call handed to the handler worker pool, and its reply.
 *
 * The loop thread moves the request body into the call (evbuffer chains
 * change owner, no copy), copies the Content-Type and query, and submits the
 * call.  The worker checks the token, builds the input, runs the method
 * (keel__call_root) and serialises the reply; the loop that owns the request
 * sends it.  If the client went away meanwhile, the loop drops the reply.
 *
 * Ownership: the call (and its ctx, arena and body) is created on the loop,
 * used by exactly one worker while it runs, and freed on the loop after the
 * reply was handed to evhttp or dropped.  The evhttp_request is only ever
 * touched on the loop thread.
 *
 * Noticing that the client left: evhttp 2.1 stops reading a connection
 * once its request is complete, so it would only find out when the reply
 * is written.  While a call runs, the loop watches the socket itself (one
 * EV_READ event, MSG_PEEK): end of file or a reset closes the connection
 * at once, as nginx does for a client that closes before its answer (499);
 * bytes of a pipelined next request just end the watch.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api/http-internal.h"
#include "core/metrics-internal.h"

typedef struct http_call {
    keel_job                  job;    /* first: the pool links it */
    keel_http_worker         *w;
    /* loop thread only */
    struct evhttp_request    *req;    /* NULL once the connection closed */
    struct evhttp_request    *orphan; /* detached by evhttp on EOF: ours to free */
    struct evhttp_connection *evcon;
    struct event             *watch;  /* EOF on the socket while the call runs */
    /* worker while it runs, then the loop */
    keel_ctx                 *ctx;
    keel_module_ctx          *mc;
    const keel_method        *m;
    struct evbuffer          *body;   /* moved out of req */
    char                     *ctype;  /* copies, may be NULL */
    char                     *query;
    char                     *cenc;   /* Content-Encoding */
    keel_http_answer           reply;
    int64_t                   t0_ns;
    char                      path[160];
} http_call;

static void call_free(http_call *c)
{
    if (c->watch)
        event_free(c->watch);
    keel__ctx_free(c->ctx); /* before the body: a raw input borrows it */
    if (c->body)
        evbuffer_free(c->body);
    free(c->ctype);
    free(c->query);
    free(c->cenc);
    free(c->reply.text);
    free(c->reply.raw);
    free(c);
}

/* ---- worker thread ------------------------------------------------------------ */

/* Bodies from this size on give their freed chains back to the system. */
#define KEEL__HTTP_TRIM_BYTES (4 << 20)

/* evbuffer_pullup gathers libevent's chains (a few KiB each, from the heap)
 * into one buffer and frees them as it goes; glibc keeps that freed heap
 * resident, so until now every large body cost twice its size for as long
 * as the handler ran (measured: 127 MB CSV, RSS +121 MiB).  malloc_trim
 * hands the free pages back (madvise): a few ms against seconds of work. */
static void keel__http_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void call_run(keel_job *job)
{
    http_call *c = (http_call *)job;
    keel_ctx *ctx = c->ctx;
    const char *module = keel_module_name(c->mc);
    keel_http_body b;
    json_t *in = NULL, *out = NULL;
    const char *wire;
    size_t wire_len;
    int rc;

    rc = keel__authorize(ctx, c->mc, c->m, keel__ctx_token(ctx));
    if (rc != 0)
        goto out;
    b.len = evbuffer_get_length(c->body);
    b.data = b.len ? (const char *)evbuffer_pullup(c->body, -1) : "";
    if (b.len >= KEEL__HTTP_TRIM_BYTES)
        keel__http_trim();
    b.ctype = c->ctype;
    b.query = c->query;
    if (!b.data) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    wire = b.data;
    wire_len = b.len;
    if (c->w->limits != NULL && (rc = keel__http_decode_body(ctx, c->m, c->w->limits, c->cenc, &b)) != 0) {
        if (rc == KEEL_EUNAVAIL)
            c->reply.retry_after = 1;
        goto out;
    }
    if (b.data != wire && wire_len > 0)
        /* decoded into its own buffer: the compressed bytes are not needed
         * while the handler runs (46 MB of a 3 h ride at 200 Hz) */
        evbuffer_drain(c->body, wire_len);
    rc = keel__http_read_input(ctx, c->mc, c->m, &b, &in);
    if (rc != 0)
        goto out;
    rc = keel__call_root(ctx, module, c->m->name, in, &out);
    keel__metrics_ctx_bytes(ctx, wire_len, 0); /* as received; the reply's bytes: keel__http_send */
    if (rc == 0 && (c->m->flags & KEEL_RAW_OUT) && !keel__ctx_is_peer(ctx)) {
        /* a download: the bytes the handler left on ctx, not its JSON (a keel
         * peer gets the JSON: the remote client speaks nothing else) */
        const char *ct = NULL, *enc = NULL;
        c->reply.raw = keel__ctx_take_raw_out(ctx, &c->reply.raw_len, &ct, &enc);
        if (c->reply.raw != NULL) {
            c->reply.status = 200;
            snprintf(c->reply.raw_ctype, sizeof c->reply.raw_ctype, "%s", ct);
            snprintf(c->reply.raw_enc, sizeof c->reply.raw_enc, "%s", enc ? enc : "");
            goto out;
        }
    }
    if (rc == 0) {
        keel__http_answer_json(&c->reply, 200, out ? out : json_object());
        out = NULL;
    }
out:
    if (rc != 0)
        keel__http_answer_error(&c->reply, ctx, rc, module);
    json_decref(in);
    json_decref(out);
}

/* ---- loop thread ---------------------------------------------------------------- */

static void call_closed(struct evhttp_connection *evcon, void *arg)
{
    http_call *c = arg;
    (void)evcon;
    /* EOF or timeout: evhttp detached the request (no connection) and left
     * it to us; when evhttp frees the whole connection (end of a drain) it
     * frees the request itself. */
    if (c->req && !evhttp_request_get_connection(c->req))
        c->orphan = c->req;
    c->req = NULL;
    c->evcon = NULL;
    if (c->watch)
        event_del(c->watch); /* its socket is being closed */
}

static void call_watch(evutil_socket_t fd, short what, void *arg)
{
    http_call *c = arg;
    struct evhttp_connection *evcon;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    (void)what;
    if (n > 0)
        return;  /* a pipelined request: evhttp reads it after the reply */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(c->watch, NULL);
        return;
    }
    /* EOF or reset: free the connection now; evhttp frees req with it */
    evcon = c->evcon;
    c->req = NULL;
    c->evcon = NULL;
    if (evcon)
        evhttp_connection_free(evcon);
}

static void call_done(keel_job *job, int ran)
{
    http_call *c = (http_call *)job;
    keel_http_worker *w = c->w;

    w->pending--;
    if (c->watch) {
        event_free(c->watch);
        c->watch = NULL;
    }
    if (!c->req) {
        keel__access acc = {.method = "POST", .path = c->path, .status = 499,
                            .note = "client closed the connection, reply dropped",
                            .bytes_in = c->reply.bytes_in,
                            .duration_us = (keel__now_ns() - c->t0_ns) / 1000};
        keel__log_access(c->ctx, &acc);
        keel__metrics_http_status(499);
        keel__metrics_count(KEEL_MC_HTTP_FINISHED, 1);
        if (c->orphan)
            evhttp_request_free(c->orphan);
        if (w->pool)
            keel__pool_note_dropped(w->pool);
        call_free(c);
        return;
    }
    evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    if (!ran) {
        /* drained before any worker took it (wave-2 decision 6) */
        keel__http_answer_error(&c->reply, c->ctx, keel_ctx_error(c->ctx, KEEL_EUNAVAIL,
                               "the server is shutting down: call not started, retry"), NULL);
        c->reply.retry_after = 1;
    }
    keel__http_send(c->req, w, c->ctx, c->path, &c->reply, c->t0_ns);
    c->ctx = NULL; /* keel__http_send freed it */
    call_free(c);
}

int keel__http_call_submit(struct evhttp_request *req, keel_http_worker *w, keel_ctx *ctx,
                           keel_module_ctx *mc, const keel_method *m, const char *path,
                           int64_t t0_ns, keel_http_answer *r)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *ctype = evhttp_find_header(h, "Content-Type");
    const char *cenc = evhttp_find_header(h, "Content-Encoding");
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    http_call *c = calloc(1, sizeof *c);
    evutil_socket_t fd;
    int rc = KEEL_ENOMEM;

    if (!c || !(c->body = evbuffer_new()) || (ctype && !(c->ctype = strdup(ctype)))
        || (query && !(c->query = strdup(query))) || (cenc && !(c->cenc = strdup(cenc)))
        || evbuffer_add_buffer(c->body, evhttp_request_get_input_buffer(req)) != 0)
        goto fail;
    c->reply.bytes_in = evbuffer_get_length(c->body); /* as received, for the access log */
    keel__ctx_set_accept_gzip(ctx, keel__http_accepts_gzip(evhttp_find_header(h, "Accept-Encoding")));
    c->job.run = call_run;
    c->job.done = call_done;
    c->job.home = w->mailbox;
    c->w = w;
    c->req = req;
    c->evcon = evhttp_request_get_connection(req);
    c->mc = mc;
    c->m = m;
    c->ctx = ctx;
    c->t0_ns = t0_ns;
    snprintf(c->path, sizeof c->path, "%s", path);
    rc = w->pool ? keel__pool_submit(w->pool, &c->job) : KEEL_EUNAVAIL;
    if (rc != 0)
        goto fail;
    w->pending++;
    evhttp_connection_set_closecb(c->evcon, call_closed, c);
    fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon));
    if (fd >= 0) {
        c->watch = event_new(evhttp_connection_get_base(c->evcon), fd, EV_READ, call_watch, c);
        if (c->watch)
            event_add(c->watch, NULL); /* without it the reply is dropped only on write */
    }
    return 1;
fail:
    if (c) {
        c->ctx = NULL; /* still the caller's */
        call_free(c);
    }
    if (rc == KEEL_EUNAVAIL) {
        keel__http_answer_error(r, ctx, keel_ctx_error(ctx, KEEL_EUNAVAIL,
                               w->draining ? "the server is shutting down: retry"
                                           : "every handler worker is busy and the queue is full: retry"),
                               NULL);
        r->retry_after = 1;
    } else {
        keel__http_answer_error(r, ctx, rc, NULL);
    }
    return 0;
}
