/*
 * http_reply.c — every answer keel sends through evhttp goes out here, so a
 * HEAD request gets no body (http-internal.h, keel__http_reply); and what
 * an answered request counts and logs, wherever it was answered.
 */
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/http-internal.h"
#include "core/metrics-internal.h"

void keel__http_finished(keel_ctx *ctx, const keel__access *a, size_t in_len)
{
    keel__metrics_ctx_bytes(ctx, in_len, a->bytes_out);
    keel__metrics_http_status(a->status);
    keel__metrics_count(KEEL_MC_HTTP_FINISHED, 1);
    keel__log_access(ctx, a);
}

void keel__http_reply(struct evhttp_request *req, int status, const char *reason,
                      struct evbuffer *body)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        struct evbuffer *ob = evhttp_request_get_output_buffer(req);
        size_t n = (body != NULL ? evbuffer_get_length(body) : 0) +
                   (ob != NULL ? evbuffer_get_length(ob) : 0);
        char len[24];
        if (status >= 200 && status != 204 && status != 304) {
            snprintf(len, sizeof len, "%zu", n);
            evhttp_remove_header(evhttp_request_get_output_headers(req), "Content-Length");
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
        }
        if (ob != NULL)
            evbuffer_drain(ob, evbuffer_get_length(ob));
        body = NULL;
    }
    evhttp_send_reply(req, status, reason, body);
}
