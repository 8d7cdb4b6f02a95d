/*
 * fuzz_http_conn.c — the connection hook's input filter (src/api/http_conn*.c)
 * on arbitrary bytes, delivered in arbitrary pieces.
 *
 * The first input byte picks the piece size; the rest is what a client sends.
 * The filter runs as libevent would run it (src = the socket side, dst =
 * what evhttp reads).  Checked: no crash or sanitizer report, every byte is
 * either passed or dropped, nothing is invented, and a refused connection
 * passes nothing more.  The runtime is stubbed: routes fall back to
 * KEEL_MAX_BODY, refusals are built but not logged, and the /healthz fast
 * path (http_conn_fast.c) finds no context, so probes go the evhttp way.
 */
#include "../../src/api/http_conn.c"
#include "../../src/api/http_conn_head.c"
#include "../../src/api/http_conn_refuse.c"
#include "../../src/api/http_conn_fast.c"
#include "../../src/api/http_conn_backlog.c"
#include "../../src/api/http_conn_keep.c"

/* ---- stubs for the few runtime calls the filter makes --------------------- */
keel_ctx *keel__ctx_new(keel_runtime *rt, keel_transport tr, const char *rid, int64_t dl)
{
    (void)rt; (void)tr; (void)rid; (void)dl;
    return NULL;
}
void keel__ctx_free(keel_ctx *ctx) { (void)ctx; }
const char *keel_ctx_request_id(const keel_ctx *ctx) { (void)ctx; return "-"; }
void keel_log(keel_ctx *ctx, keel_log_level lvl, const char *fmt, ...)
{
    (void)ctx; (void)lvl; (void)fmt;
}
keel_module_ctx *keel__rt_find(keel_runtime *rt, const char *name) { (void)rt; (void)name; return NULL; }
const keel_method *keel__mc_method(keel_module_ctx *mc, const char *name) { (void)mc; (void)name; return NULL; }
int64_t keel__now_ms(void) { return 1000; }
void keel__log_access(keel_ctx *ctx, const keel__access *a) { (void)ctx; (void)a; }
int64_t keel__now_ns(void) { return 1000000000; }
const char *keel__http_date(void) { return "Mon, 07 Dec 2026 00:00:00 GMT"; }
void keel__ctx_set_client(keel_ctx *ctx, const char *client) { (void)ctx; (void)client; }
void keel__metrics_count(keel_metrics_counter m, uint64_t v) { (void)m; (void)v; }
void keel__http_finished(keel_ctx *ctx, const keel__access *a, size_t in) { (void)ctx; (void)a; (void)in; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const keel_http_limits lim = {
        .max_header = 1024, .max_body = 4096, .max_upload = 8192,
        .request_timeout_ms = 30000, .max_connections = 0, .max_inflight = 1 << 20,
    };
    keel_http_worker w = {0};
    keel_http_scope sc = {.worker = &w, .module = NULL, .limits = &lim};
    static struct event_base *base;
    http_conn c = {0};
    struct evbuffer *src = evbuffer_new(), *dst = evbuffer_new();
    size_t piece, off = 1, in = 0;

    if (size < 1 || src == NULL || dst == NULL)
        goto out;
    piece = (size_t)data[0] % 64 + 1;
    c.sc = &sc;
    if (base == NULL && (base = event_base_new()) == NULL)
        abort();
    c.under = bufferevent_socket_new(base, -1, 0);   /* no socket: no peer address */
    while (off < size) {
        size_t n = size - off < piece ? size - off : piece;
        size_t before_dst = evbuffer_get_length(dst), before_src;
        int refused_before = c.st >= ST_REFUSING;
        evbuffer_add(src, data + off, n);
        off += n;
        in += n;
        before_src = evbuffer_get_length(src);
        conn_in(src, dst, -1, BEV_NORMAL, &c);
        /* bytes only move from src to dst or are dropped */
        if (evbuffer_get_length(dst) - before_dst > before_src - evbuffer_get_length(src))
            __builtin_trap();
        if (refused_before && evbuffer_get_length(dst) != before_dst)
            __builtin_trap();
        if (c.st >= ST_REFUSING && (c.answer == NULL && c.st == ST_REFUSING))
            __builtin_trap();   /* a refusal always has its answer ready */
    }
    if (evbuffer_get_length(dst) > in)
        __builtin_trap();
out:
    if (c.under != NULL)
        bufferevent_free(c.under);
    if (base != NULL)   /* bufferevents are finalised by the loop: run it once */
        event_base_loop(base, EVLOOP_NONBLOCK);
    free(c.answer);
    keel__http_conn_release_inflight(&c);
    evbuffer_free(src);
    evbuffer_free(dst);
    return 0;
}
