/*
 * peer_evhttp.c — the baseline for bench/dispatch/run.sh: a bare libevent
 * evhttp server on one loop that does what keel's POST /v1/echo/echo does
 * minus keel (no routing table, ctx, schema, auth, logging): parse the JSON
 * body with jansson, dump it back as application/json.  GET /healthz → 200.
 *
 *   cc -O2 -o peer peer_evhttp.c $(pkg-config --cflags --libs libevent jansson)
 *   ./peer PORT
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

static void peer_cb(struct evhttp_request *req, void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer *out = evbuffer_new();
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "{}";
    json_t *v;
    char *text;
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (strcmp(evhttp_request_get_uri(req), "/healthz") == 0) {
        evbuffer_add_printf(out, "{\"status\":\"ok\"}\n");
        evhttp_send_reply(req, 200, "OK", out);
        evbuffer_free(out);
        return;
    }
    v = json_loadb(body, len ? len : 2, 0, NULL);
    text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (text) {
        evbuffer_add_printf(out, "%s\n", text);
        evhttp_send_reply(req, 200, "OK", out);
    } else {
        evbuffer_add_printf(out, "{\"error\":{\"code\":\"bad_data\",\"message\":\"malformed JSON\"}}\n");
        evhttp_send_reply(req, 400, "Bad Request", out);
    }
    free(text);
    json_decref(v);
    evbuffer_free(out);
}

static void peer_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;
    struct evhttp *http;
    struct event *term;
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* same loop flags as keel, so the ratio shows keel's own cost */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    http = base ? evhttp_new(base) : NULL;
    if (!http || evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
        fprintf(stderr, "peer: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    evhttp_set_gencb(http, peer_cb, NULL);
    term = evsignal_new(base, SIGTERM, peer_stop, base);
    event_add(term, NULL);
    event_base_dispatch(base);
    event_free(term);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
