/*
 * http_metrics.c — GET /metrics, GET /openapi.json and the HTTP server's own
 * counters.
 *
 * /metrics answers the Prometheus text format (metrics_text.c).  On the
 * public listener it needs a bearer token with scope "admin" (unless auth is
 * disabled or not built); on the admin listener (KEEL_ADMIN_PORT, loopback
 * by default) it is open, for scrapers.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/http-internal.h"
#include "core/metrics-internal.h"

/* The connection hook's counters (http_conn.c): plain atomics read here. */
static void conn_collect(void *arg, keel_runtime *rt, keel_metrics_buf *b)
{
    int i;
    (void)arg;
    (void)rt;
    keel__mbuf_family(b, "keel_http_connections_open", "gauge", "HTTP connections open now.");
    keel__mbuf_printf(b, "keel_http_connections_open %d\n", atomic_load(&keel__http_conn_stats.open));
    keel__mbuf_family(b, "keel_http_connections_accepted_total", "counter",
                      "HTTP connections accepted on every listener.");
    keel__mbuf_printf(b, "keel_http_connections_accepted_total %llu\n",
                      (unsigned long long)atomic_load(&keel__http_conn_stats.accepted));
    keel__mbuf_family(b, "keel_http_requests_refused_total", "counter",
                      "Requests the connection hook answered itself, by reason (docs/http.md).");
    for (i = 0; i < KEEL_HTTP_REFUSE_N; i++)
        keel__mbuf_printf(b, "keel_http_requests_refused_total{reason=\"%s\"} %llu\n",
                          keel__http_refuse_name(i),
                          (unsigned long long)atomic_load(&keel__http_conn_stats.refused[i]));
    keel__mbuf_family(b, "keel_http_probes_answered_by_hook_total", "counter",
                      "GET/HEAD /healthz answered by the connection hook without evhttp "
                      "(also counted in keel_http_requests_total).");
    keel__mbuf_printf(b, "keel_http_probes_answered_by_hook_total %llu\n",
                      (unsigned long long)atomic_load(&keel__http_conn_stats.fast));
    keel__mbuf_family(b, "keel_http_inflight_body_bytes", "gauge",
                      "Request body bytes reserved against KEEL_MAX_INFLIGHT_BYTES.");
    keel__mbuf_printf(b, "keel_http_inflight_body_bytes %lld\n",
                      (long long)atomic_load(&keel__http_conn_stats.inflight_bytes));
}

void keel__http_metrics_start(void)
{
    keel__metrics_collector_add(conn_collect, NULL);
}

void keel__http_metrics_stop(void)
{
    keel__metrics_collector_remove(conn_collect, NULL);
}

/* The bearer token of req, or NULL (borrowed from req's headers). */
static const char *bearer(struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return *auth ? auth : NULL;
}

int keel__http_admin_allowed(struct evhttp_request *req, keel_http_scope *sc, keel_ctx *ctx)
{
    const char *token = bearer(req);
    keel_module_ctx *authn = keel__rt_authn(sc->worker->rt);

    if (sc->admin)
        return 0;
    if (token != NULL && authn != NULL && keel__mc_placement(authn) != KEEL_PLACE_LOCAL)
        /* no remote token check on the event loop (the /readyz rule) */
        return keel_ctx_error(ctx, KEEL_EFORBIDDEN, "auth runs in another process: scrape "
                              "/metrics on the admin listener (KEEL_ADMIN_PORT)");
    return keel__authorize_admin(ctx, token);
}

static void send_json_error(struct evhttp_request *req, keel_ctx *ctx, int rc, const char *allow)
{
    struct evbuffer *ob = evbuffer_new();
    json_t *body = keel__ctx_error_body(ctx, rc);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    int status = keel_http_status(rc);

    evhttp_add_header(oh, "Content-Type", "application/json");
    evhttp_add_header(oh, "X-Request-Id", keel_ctx_request_id(ctx));
    if (allow)
        evhttp_add_header(oh, "Allow", allow);
    if (status == 401)
        evhttp_add_header(oh, "WWW-Authenticate", "Bearer");
    if (ob)
        evbuffer_add_printf(ob, "%s\n", text ? text : "{\"error\":{\"code\":\"out_of_memory\"}}");
    keel__metrics_http_status(status);
    keel__http_reply(req, status, "Error", ob);
    if (ob)
        evbuffer_free(ob);
    free(text);
    json_decref(body);
}

static void free_text(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    free(arg);
}

/* GET /metrics on ctx; always answers. */
static void serve_metrics(struct evhttp_request *req, keel_http_scope *sc, keel_ctx *ctx)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evbuffer *ob = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        send_json_error(req, ctx, keel_ctx_error(ctx, KEEL_ENOTALLOWED, "/metrics: use GET"), "GET, HEAD");
        return;
    }
    if ((rc = keel__http_admin_allowed(req, sc, ctx)) != 0) {
        send_json_error(req, ctx, rc, NULL);
        return;
    }
    if ((rc = keel__metrics_render(sc->worker->rt, &text, &len)) != 0 || (ob = evbuffer_new()) == NULL
        || evbuffer_add_reference(ob, text, len, free_text, text) != 0) {
        send_json_error(req, ctx, rc ? rc : KEEL_ENOMEM, NULL);
        goto out;
    }
    text = NULL; /* the evbuffer frees it once written: the send is asynchronous */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Request-Id", keel_ctx_request_id(ctx));
    keel__metrics_http_status(200);
    keel__http_reply(req, 200, "OK", ob);
out:
    if (ob)
        evbuffer_free(ob);
    free(text);
}

/* GET /openapi.json: open (it describes the API, not its data). */
static void serve_openapi(struct evhttp_request *req, keel_http_scope *sc, keel_ctx *ctx)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    json_t *doc;
    char *text;
    struct evbuffer *ob;

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        send_json_error(req, ctx, keel_ctx_error(ctx, KEEL_ENOTALLOWED, "/openapi.json: use GET"), "GET, HEAD");
        return;
    }
    doc = keel__openapi(sc->worker->rt, sc->module);
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL || (ob = evbuffer_new()) == NULL
        || evbuffer_add_reference(ob, text, strlen(text), free_text, text) != 0) {
        free(text);
        send_json_error(req, ctx, KEEL_ENOMEM, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Request-Id", keel_ctx_request_id(ctx));
    keel__metrics_http_status(200);
    keel__http_reply(req, 200, "OK", ob);
    evbuffer_free(ob);
}

int keel__http_observe_route(struct evhttp_request *req, keel_http_scope *sc, const char *path)
{
    keel_ctx *ctx;
    int metrics = strcmp(path, "/metrics") == 0;
    if (!metrics && strcmp(path, "/openapi.json") != 0)
        return 0;
    ctx = keel__ctx_new(sc->worker->rt, KEEL_TR_HTTP, NULL, 0);
    if (ctx == NULL) {
        evhttp_send_error(req, 500, "out of memory");
        return 1;
    }
    if (metrics)
        serve_metrics(req, sc, ctx);
    else
        serve_openapi(req, sc, ctx);
    keel__ctx_free(ctx);
    return 1;
}
