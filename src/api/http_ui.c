/*
 * http_ui.c — GET /ui/…: the dashboard (docs/ui.md), served from the assets
 * compiled into the binary (ui-internal.h).
 *
 * Static files only: the pages call the same /v1 methods, /readyz and
 * /metrics as any client, with the user's bearer token, so the dashboard
 * has no rights of its own.  Every answer carries a Content-Security-Policy
 * that allows nothing but this origin (no inline script or style, no other
 * host, no framing), nosniff and no-referrer.  Assets revalidate (ETag,
 * Cache-Control: no-cache): names are fixed, so a long max-age would keep
 * an old app.js after an upgrade.  Only the main and admin listeners serve
 * it (an expose port serves one module's API).
 */
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/http-internal.h"
#include "api/ui-internal.h"
#include "core/metrics-internal.h"

const keel_ui_asset *keel__ui_find(const char *name)
{
    const keel_ui_asset *a;

    if (name == NULL)
        return NULL;
    if (*name == '\0')
        name = "index.html";
    for (a = keel__ui_assets; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static void common_headers(struct evkeyvalq *oh)
{
    evhttp_add_header(oh, "Content-Security-Policy", KEEL_UI_CSP);
    evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
    evhttp_add_header(oh, "X-Frame-Options", "DENY");
}

/* If-None-Match names etag (or is "*"): the client's copy is current. */
static int not_modified(struct evhttp_request *req, const char *etag)
{
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");

    return inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

/* An error as JSON like every other keel error (keel__http_send). */
static void ui_error(struct evhttp_request *req, keel_http_scope *sc, const char *path,
                     int64_t t0, int err, const char *allow, const char *what)
{
    keel_ctx *ctx = keel__ctx_new(sc->worker->rt, KEEL_TR_HTTP, NULL, 0);
    keel_http_answer r = {0};

    keel__metrics_count(KEEL_MC_HTTP_STARTED, 1);  /* keel__http_send counts it finished */
    common_headers(evhttp_request_get_output_headers(req));
    r.allow = allow;
    keel__http_answer_error(&r, ctx, ctx ? keel_ctx_error(ctx, err, "%s", what) : err, NULL);
    keel__http_send(req, sc->worker, ctx, path, &r, t0);
}

int keel__http_ui_route(struct evhttp_request *req, keel_http_scope *sc, const char *path)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    const keel_ui_asset *a;
    struct evbuffer *ob;
    int64_t t0;

    if (sc->module != NULL || strncmp(path, "/ui", 3) != 0 || (path[3] != '\0' && path[3] != '/'))
        return 0;
    t0 = keel__now_ns();
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        ui_error(req, sc, path, t0, KEEL_ENOTALLOWED, "GET, HEAD", "/ui/: use GET");
        return 1;
    }
    if (path[3] == '\0') {  /* /ui → /ui/, so the pages' relative links resolve */
        common_headers(oh);
        evhttp_add_header(oh, "Location", "/ui/");
        keel__metrics_http_status(301);
        keel__http_reply(req, 301, "Moved Permanently", NULL);
        return 1;
    }
    if ((a = keel__ui_find(path + 4)) == NULL) {
        ui_error(req, sc, path, t0, KEEL_ENOTFOUND, NULL, "no such dashboard file");
        return 1;
    }
    common_headers(oh);
    evhttp_add_header(oh, "ETag", a->etag);
    evhttp_add_header(oh, "Cache-Control", "no-cache");
    if (not_modified(req, a->etag)) {
        keel__metrics_http_status(304);
        keel__http_reply(req, 304, "Not Modified", NULL);
        return 1;
    }
    evhttp_add_header(oh, "Content-Type", a->type);
    ob = evbuffer_new();
    if (ob == NULL || evbuffer_add_reference(ob, a->data, a->len, NULL, NULL) != 0) {
        if (ob != NULL)
            evbuffer_free(ob);
        evhttp_remove_header(oh, "Content-Type");
        ui_error(req, sc, path, t0, KEEL_ENOMEM, NULL, "out of memory");
        return 1;
    }
    keel__metrics_http_status(200);
    keel__http_reply(req, 200, "OK", ob);
    evbuffer_free(ob);
    return 1;
}
