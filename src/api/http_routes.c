/*
 * http_routes.c — one HTTP request: route, headers in, body, call, reply.
 *
 *   POST /v1/{module}/{method}   JSON object body (or a raw body for
 *                                KEEL_RAW_IN methods), query parameters
 *                                coerced by the input schema
 *   GET  /v1/modules             keel__rt_describe (filtered on an expose port)
 *   GET  /healthz                alive: 200 {"status":"ok"}
 *   GET  /readyz                 keel__rt_ready: 200, or 503 with detail
 *   GET  /ui/…                   the dashboard's files (http_ui.c)
 *
 * Every answer is JSON with X-Request-Id; errors are keel__ctx_error_body
 * with the status from keel_http_status().  Probes and KEEL_CHEAP public
 * methods run here on the loop thread; every other call goes to the worker
 * pool through http_call.c (http-internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/http-internal.h"
#include "core/json-internal.h"
#include "core/metrics-internal.h"

/* One response handed to evhttp: counted until written or dropped. */
typedef struct http_pending {
    keel_http_worker         *w;
    struct evhttp_connection *evcon;
} http_pending;

static void pending_release(http_pending *p)
{
    p->w->pending--;
    free(p);
}

static void pending_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    pending_release(arg);
}

static void pending_complete(struct evhttp_request *req, void *arg)
{
    http_pending *p = arg;
    (void)req;
    evhttp_connection_set_closecb(p->evcon, NULL, NULL);
    pending_release(p);
}

static const char *status_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:  return status < 400 ? "OK" : "Error";
    }
}

static const char *command_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:     return "GET";
    case EVHTTP_REQ_POST:    return "POST";
    case EVHTTP_REQ_HEAD:    return "HEAD";
    case EVHTTP_REQ_PUT:     return "PUT";
    case EVHTTP_REQ_DELETE:  return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE:   return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH:   return "PATCH";
    default:                 return "?";
    }
}

/* An incoming X-Request-Id is reused only if short and plain. */
static int request_id_ok(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 64 || !(isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':'))
            return 0;
    }
    return i > 0;
}

void keel__http_answer_json(keel_http_answer *r, int status, json_t *body)
{
    r->status = status;
    free(r->text);
    r->text = body ? keel__json_dump(body, JSON_COMPACT) : NULL;
    json_decref(body);
}

void keel__http_answer_error(keel_http_answer *r, keel_ctx *ctx, int err, const char *module)
{
    json_t *body, *obj;
    json_int_t ra;
    body = ctx ? keel__ctx_error_body(ctx, err) : NULL;
    if (!body)
        body = json_pack("{s:{s:s,s:s}}", "error", "code", keel_errname(err),
                         "message", keel_strerror(err));
    obj = body ? json_object_get(body, "error") : NULL;
    if (err == KEEL_EUNAVAIL && module && json_is_object(obj) && !json_object_get(obj, "module"))
        json_object_set_new(obj, "module", json_string(module));
    /* a handler that knows how long to wait says so (auth's login lockout) */
    ra = json_integer_value(json_object_get(obj, "retry_after_s"));
    if (ra > 0 && ra < 86400 * 30)
        r->retry_after = (int)ra;
    keel__http_answer_json(r, keel_http_status(err), body);
}

#define reply_error keel__http_answer_error
#define reply_json  keel__http_answer_json

/* Keeps only the "modules" entries named module (describe / ready output). */
static void filter_modules(json_t *doc, const char *module)
{
    json_t *mods = json_object_get(doc, "modules");
    size_t i;
    if (json_is_array(mods)) {
        for (i = json_array_size(mods); i-- > 0;) {
            const char *name = json_string_value(json_object_get(json_array_get(mods, i), "name"));
            if (!name || strcmp(name, module) != 0)
                json_array_remove(mods, i);
        }
    } else if (json_is_object(mods)) {
        json_t *keep = json_object_get(mods, module);
        json_incref(keep);
        json_object_clear(mods);
        if (keep)
            json_object_set_new(mods, module, keep);
    }
}

/* Ready state of the one module left by filter_modules: "ready": bool, or
 * "status": "ok" or "remote"; absent entry = not ready. */
static int module_ready(const json_t *doc, const char *module)
{
    const json_t *mods = json_object_get(doc, "modules"), *e = NULL, *v;
    const char *st;
    if (json_is_array(mods))
        e = json_array_get(mods, 0);
    else if (json_is_object(mods))
        e = json_object_get(mods, module);
    if (!json_is_object(e))
        return 0;
    if (json_is_boolean(v = json_object_get(e, "ready")))
        return json_is_true(v);
    st = json_string_value(json_object_get(e, "status"));
    return st && (strcmp(st, "ok") == 0 || strcmp(st, "remote") == 0);
}

/* The request headers keel reads, found in one pass over the list (the
 * first occurrence wins, as with evhttp_find_header): six lookups with
 * strcasecmp over every header showed in the per-request profile, and the
 * two that stayed (Content-Encoding, X-Forwarded-For) ~700 instructions
 * each on an echo call. */
typedef struct http_hdrs {
    const char *rid, *caller, *tp, *ts, *deadline, *auth, *ctype, *cenc, *xff;
} http_hdrs;

static void read_headers(struct evkeyvalq *h, http_hdrs *out)
{
    struct evkeyval *kv;
    memset(out, 0, sizeof *out);
    TAILQ_FOREACH(kv, h, next) {
        const char *k = kv->key, **slot = NULL;
        switch (k[0] | 0x20) {
        case 'x':
            if (strcasecmp(k, "X-Request-Id") == 0)
                slot = &out->rid;
            else if (strcasecmp(k, "X-Keel-Caller") == 0)
                slot = &out->caller;
            else if (strcasecmp(k, "X-Keel-Deadline-Ms") == 0)
                slot = &out->deadline;
            else if (strcasecmp(k, "X-Forwarded-For") == 0)
                slot = &out->xff;
            break;
        case 't':
            if (strcasecmp(k, "traceparent") == 0)
                slot = &out->tp;
            else if (strcasecmp(k, "tracestate") == 0)
                slot = &out->ts;
            break;
        case 'a':
            if (strcasecmp(k, "Authorization") == 0)
                slot = &out->auth;
            break;
        case 'c':
            if (strcasecmp(k, "Content-Type") == 0)
                slot = &out->ctype;
            else if (strcasecmp(k, "Content-Encoding") == 0)
                slot = &out->cenc;
            break;
        default:
            break;
        }
        if (slot && !*slot)
            *slot = kv->value;
    }
}

/* A call from a keel peer that presented the service token: its forwarded
 * principal (X-Keel-Principal; absent = nobody) and client address
 * (X-Keel-Client) become ours, and keel__authorize accepts them as they are:
 * the peer checked the caller's token and scope at its edge, as an
 * in-process keel_call is not checked again. */
static int keel_peer_principal(keel_ctx *ctx, struct evkeyvalq *h)
{
    const char *client = evhttp_find_header(h, "X-Keel-Client");
    json_t *p = NULL;

    if (keel__principal_parse(evhttp_find_header(h, "X-Keel-Principal"), &p) != 0)
        return keel_ctx_error(ctx, KEEL_EINVAL, "X-Keel-Principal: not a keel principal");
    keel__ctx_set_peer_principal_new(ctx, p);
    if (client != NULL && strlen(client) < 64 && strspn(client, "0123456789abcdefABCDEF.:")
                                                    == strlen(client))
        keel__ctx_set_client(ctx, client);
    return 0;
}

/* 1 when the call went to a worker (it answers later), 0 when r holds the
 * answer. */
static int route_call(struct evhttp_request *req, keel_http_scope *sc, keel_ctx *ctx,
                      const http_hdrs *hd, const char *path, const char *module,
                      const char *method, int64_t t0_ns, keel_http_answer *r)
{
    keel_module_ctx *mc = keel__rt_find(sc->worker->rt, module);
    const keel_method *m;
    const char *auth = hd->auth;
    const char *token = NULL;
    struct evbuffer *buf;
    keel_http_body b;
    json_t *in = NULL, *out = NULL;
    int rc, peer;

    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        token = auth + 7;
        while (*token == ' ')
            token++;
    }
    /* a keel peer: the service credential (constant time), then its principal */
    peer = keel__service_token_ok(sc->worker->rt, token);
    if (!mc || (sc->module && strcmp(sc->module, module) != 0)) {
        rc = keel_ctx_error(ctx, KEEL_ENOMODULE, mc ? "module '%s' is not served on this port"
                                                    : "unknown module '%s'", module);
        goto out;
    }
    m = keel__mc_method(mc, method);
    if (!m || ((m->flags & KEEL_INTERNAL) && !peer)) {
        rc = keel_ctx_error(ctx, KEEL_ENOMETHOD, "unknown method '%s.%s'", module, method);
        goto out;
    }
    if (peer) {
        if ((rc = keel_peer_principal(ctx, evhttp_request_get_input_headers(req))) != 0)
            goto out;
    } else if (token != NULL && *token != '\0' && (rc = keel__ctx_set_token(ctx, token)) != 0) {
        /* kept on the ctx: checked by keel__authorize, and forwarded to a
         * remote module when no service token is configured */
        goto out;
    }
    /* Only a cheap method that needs no token check stays on the loop: the
     * check itself may wait on auth's store or on a remote auth. */
    if ((m->flags & (KEEL_CHEAP | KEEL_PUBLIC)) != (KEEL_CHEAP | KEEL_PUBLIC)
        || keel__mc_placement(mc) != KEEL_PLACE_LOCAL)
        return keel__http_call_submit(req, sc->worker, ctx, mc, m, path, t0_ns, r);
    buf = evhttp_request_get_input_buffer(req);
    b.len = evbuffer_get_length(buf);
    b.data = b.len ? (const char *)evbuffer_pullup(buf, -1) : "";
    b.ctype = hd->ctype;
    b.query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!b.data) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* a cheap method is never a raw upload: any Content-Encoding is a 415 here */
    rc = keel__http_decode_body(ctx, m, sc->limits, hd->cenc, &b);
    if (rc == 0)
        rc = keel__http_read_input(ctx, mc, m, &b, &in);
    if (rc != 0)
        goto out;
    rc = keel__call_root(ctx, module, method, in, &out);
    if (rc == 0) {
        reply_json(r, 200, out ? out : json_object());
        out = NULL;
    }
out:
    if (rc != 0)
        reply_error(r, ctx, rc, module);
    json_decref(in);
    json_decref(out);
    return 0;
}

/* /readyz details: on the admin listener, for an admin token, a keel
 * peer's service token, or anyone when every caller is the operator
 * (KEEL_AUTH_DISABLED, loopback).
 * Runs on the loop: a token check against a local auth is one indexed
 * read; the probes kubelet and nginx send carry no token and cost nothing. */
static int keel_ready_details_allowed(struct evhttp_request *req, keel_http_scope *sc,
                                      keel_ctx *ctx)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    const char *token = NULL;

    if (sc->admin)
        return 1;      /* the admin listener (KEEL_ADMIN_PORT) needs no token */
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        for (token = auth + 7; *token == ' '; token++)
            ;
    if (token != NULL && *token != '\0' && keel__service_token_ok(sc->worker->rt, token))
        return 1;
    if (token == NULL || *token == '\0')
        token = NULL;  /* only auth disabled answers yes without one */
    else if (keel__rt_authn(sc->worker->rt) != NULL
             && keel__mc_placement(keel__rt_authn(sc->worker->rt)) != KEEL_PLACE_LOCAL)
        return 0;      /* no remote token check on the event loop: peers only */
    return keel__authorize_scope(ctx, token, "admin") == 0 && keel_ctx_is_admin(ctx);
}

/* Routes a request to *r; 1 when a worker answers it later. */
static int route(struct evhttp_request *req, keel_http_scope *sc, keel_ctx *ctx,
                 const http_hdrs *hd, const char *path, int64_t t0_ns, keel_http_answer *r)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    int is_get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    char mod[64], meth[64];
    json_t *doc;
    int ok = 0;

    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0
        || strcmp(path, "/v1/modules") == 0) {
        if (!is_get) {
            r->allow = "GET, HEAD";
            reply_error(r, ctx, keel_ctx_error(ctx, KEEL_ENOTALLOWED, "%s %s: use GET",
                                               command_name(cmd), path), NULL);
            return 0;
        }
        if (path[1] == 'h') {
            reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
            return 0;
        }
        if (path[1] == 'r') {
            doc = keel__rt_ready(sc->worker->rt, ctx, &ok);
            /* draining (wave-2 decision 6): tell the balancer at once */
            if (doc && sc->worker->stopping && atomic_load(sc->worker->stopping)) {
                ok = 0;
                json_object_set_new(doc, "draining", json_true());
            }
            if (doc && sc->worker->pool) {
                keel_pool_stats st;
                keel__pool_stats(sc->worker->pool, &st);
                json_object_set_new(doc, "workers", json_pack("{s:i,s:i,s:i,s:I,s:I,s:I,s:I}",
                    "started", st.workers, "busy", st.busy, "queued", st.queued,
                    "done", (json_int_t)st.done, "rejected", (json_int_t)st.rejected,
                    "drained", (json_int_t)st.drained, "dropped", (json_int_t)st.dropped));
            }
            if (doc && sc->module) {
                /* a module's own port: that module is all it serves, so its
                 * failure is a 503 whatever its priority */
                filter_modules(doc, sc->module);
                ok = ok && module_ready(doc, sc->module);
                json_object_set_new(doc, "status", json_string(ok ? "ok" : "unavailable"));
                json_object_set_new(doc, "degraded", json_array());
            }
            if (doc && !ok)
                json_object_set_new(doc, "status", json_string("unavailable"));
            if (doc && !keel_ready_details_allowed(req, sc, ctx)) {
                /* counts, workers and internal URLs are for admins: behind a
                 * proxy every caller looks like loopback, so no address rule;
                 * "degraded" (200) says something is down without naming it */
                json_t *d = json_object_get(doc, "draining");
                json_t *s0 = json_object_get(doc, "starting");
                json_t *st = json_pack("{s:O}", "status", json_object_get(doc, "status"));
                if (st && json_is_true(d))
                    json_object_set(st, "draining", d);
                if (st && json_is_true(s0))
                    json_object_set(st, "starting", s0);
                json_decref(doc);
                doc = st;
            }
        } else {
            doc = keel__rt_describe(sc->worker->rt);
            ok = 1;
            if (doc && sc->module)
                filter_modules(doc, sc->module);
        }
        if (!doc)
            reply_error(r, ctx, KEEL_ENOMEM, NULL);
        else
            reply_json(r, ok ? 200 : 503, doc);
        return 0;
    }
    if (keel__http_split_call_path(path, mod, sizeof mod, meth, sizeof meth)) {
        if (cmd != EVHTTP_REQ_POST) {
            r->allow = "POST";
            reply_error(r, ctx, keel_ctx_error(ctx, KEEL_ENOTALLOWED, "%s %s: use POST",
                                               command_name(cmd), path), NULL);
            return 0;
        }
        return route_call(req, sc, ctx, hd, path, mod, meth, t0_ns, r);
    }
    reply_error(r, ctx, keel_ctx_error(ctx, KEEL_ENOTFOUND, "no route for %s %s",
                                       command_name(cmd), path), NULL);
    return 0;
}

/* Deadline from X-Keel-Deadline-Ms (remaining budget of a calling keel
 * process), capped by call_timeout_ms.  -1 if the header is malformed. */
static int64_t request_deadline(keel_http_worker *w, const char *hdr)
{
    int64_t now = keel__now_ms(), budget = w->call_timeout_ms;
    if (hdr) {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(hdr, &end, 10);
        if (end == hdr || *end || errno || v < 0)
            return -1;
        if (budget <= 0 || v < budget)
            budget = v;
        if (budget == 0)
            return now; /* the caller's budget is spent */
    }
    return budget > 0 ? now + budget : 0;
}

static void body_free(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void keel__http_send(struct evhttp_request *req, keel_http_worker *w, keel_ctx *ctx,
                     const char *path, keel_http_answer *r, int64_t t0_ns)
{
    static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}\n";
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    /* the request's own output buffer: evhttp sends what it holds */
    struct evbuffer *ob = evhttp_request_get_output_buffer(req);
    http_pending *p = malloc(sizeof *p);
    keel__access acc = {0};
    size_t in_len;
    const char *date;
    char ra[16];

    /* the JSON text (or a raw answer's bytes) moves into the reply without a copy */
    if (ob && r->raw && evbuffer_add_reference(ob, r->raw, r->raw_len, body_free, NULL) == 0) {
        r->raw = NULL;
    } else if (ob && r->text && evbuffer_add_reference(ob, r->text, strlen(r->text), body_free, NULL) == 0) {
        r->text = NULL;
        evbuffer_add(ob, "\n", 1); /* cosmetic: the body is whole JSON without it */
    } else {
        r->status = 500;
        if (ob)
            evbuffer_add_reference(ob, oom, sizeof oom - 1, NULL, NULL);
    }
    if (r->raw_ctype[0] && r->status == 200) {
        evhttp_add_header(oh, "Content-Type", r->raw_ctype);
        if (r->raw_enc[0])
            evhttp_add_header(oh, "Content-Encoding", r->raw_enc);
        evhttp_add_header(oh, "Vary", "Accept-Encoding");
    } else {
        evhttp_add_header(oh, "Content-Type", "application/json");
    }
    if (ctx)
        evhttp_add_header(oh, "X-Request-Id", keel_ctx_request_id(ctx));
    if ((date = keel__http_date()) != NULL)
        evhttp_add_header(oh, "Date", date);  /* evhttp's own is formatted per answer */
    if (r->allow)
        evhttp_add_header(oh, "Allow", r->allow);
    if (r->status == 401)
        evhttp_add_header(oh, "WWW-Authenticate", "Bearer");
    if (r->retry_after > 0) {
        snprintf(ra, sizeof ra, "%d", r->retry_after);
        evhttp_add_header(oh, "Retry-After", ra);
    }
    if (w->draining)
        evhttp_add_header(oh, "Connection", "close");
    in_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    acc.method = command_name(evhttp_request_get_command(req));
    acc.path = path ? path : "-";
    acc.status = r->status;
    acc.bytes_in = r->bytes_in ? r->bytes_in : in_len; /* a worker call moved its body out */
    acc.bytes_out = ob && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD
                    ? evbuffer_get_length(ob) : 0;
    acc.duration_us = (keel__now_ns() - t0_ns) / 1000;
    keel__http_finished(ctx, &acc, in_len);
    if (p) {
        p->w = w;
        p->evcon = evhttp_request_get_connection(req);
        w->pending++;
        evhttp_request_set_on_complete_cb(req, pending_complete, p);
        evhttp_connection_set_closecb(p->evcon, pending_closed, p);
    }
    keel__ctx_free(ctx);
    keel__http_conn_answered(req);
    keel__http_reply(req, r->status, status_reason(r->status), NULL);
    free(r->text);
    r->text = NULL;
    free(r->raw);
    r->raw = NULL;
}

void keel__http_request_cb(struct evhttp_request *req, void *arg)
{
    keel_http_scope *sc = arg;
    keel_http_worker *w = sc->worker;
    int64_t t0 = keel__now_ns();
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    http_hdrs hd;
    keel_transport tr;
    int64_t deadline;
    keel_http_answer r = {0};
    keel_ctx *ctx;
    const char *rid, *tp;

    read_headers(evhttp_request_get_input_headers(req), &hd);
    rid = hd.rid;
    tp = hd.tp;
    tr = hd.caller && strcmp(hd.caller, "keel") == 0 ? KEEL_TR_REMOTE : KEEL_TR_HTTP;
    deadline = request_deadline(w, hd.deadline);

    if (!path || !*path)
        path = "/";
    if (keel__http_observe_route(req, sc, path) || keel__http_ui_route(req, sc, path))
        return;
    keel__metrics_count(KEEL_MC_HTTP_STARTED, 1);
    ctx = keel__ctx_new(w->rt, tr, rid && request_id_ok(rid) ? rid : NULL, deadline > 0 ? deadline : 0);
    if (!ctx) {
        reply_error(&r, NULL, KEEL_ENOMEM, NULL);
        goto out;
    }
    if (tp && keel__ctx_set_traceparent(ctx, tp) == 0)  /* W3C rules: trace.c */
        keel__ctx_set_tracestate(ctx, hd.ts);
    {
        /* the client address: the peer, or behind a trusted proxy its last
         * X-Forwarded-For hop (login limits key on it) */
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        char *peer = NULL, client[64];
        ev_uint16_t pport = 0;
        if (evcon != NULL)
            evhttp_connection_get_peer(evcon, &peer, &pport);
        keel__client_addr(w->rt, peer, hd.xff, client, sizeof client);
        keel__ctx_set_client(ctx, client);
    }
    if (deadline < 0)
        reply_error(&r, ctx, keel_ctx_error(ctx, KEEL_EINVAL,
                                            "X-Keel-Deadline-Ms: not a non-negative integer"), NULL);
    else if (deadline > 0 && deadline <= keel__now_ms())
        reply_error(&r, ctx, keel_ctx_error(ctx, KEEL_ETIMEDOUT, "deadline already exceeded"), NULL);
    else if (route(req, sc, ctx, &hd, path, t0, &r))
        return; /* a worker has it: http_call.c answers */
out:
    keel__http_send(req, w, ctx, path, &r, t0);
}
