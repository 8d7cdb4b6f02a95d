/*
 * http-internal.h — keel's HTTP server (libevent 2.1 evhttp).
 *
 * Thread model (docs/http.md): KEEL_THREADS event loops, each with its own
 * event_base and its own evhttp per listener, all listening on the same port
 * with SO_REUSEPORT; the kernel spreads connections over them.  A method
 * flagged KEEL_CHEAP | KEEL_PUBLIC and the probes run on the loop thread;
 * every other call runs on the handler worker pool (pool-internal.h) and its
 * reply comes back to the loop through the loop's mailbox.  The main thread
 * only waits for SIGTERM/SIGINT and then drains (docs/architecture.md,
 * wave-2 decision 6).
 *
 * Files: http.c (listeners, loops, signals, drain), http_routes.c (one
 * request: routing, headers, errors, reply), http_call.c (a call handed to
 * a worker and its reply), http_pool.c (the pool and the mailboxes),
 * http_input.c (body and query into the call's input), http_expose.c
 * (KEEL_EXPOSE), http_probe.c (the `keel health` client).
 */
#ifndef KEEL_HTTP_INTERNAL_H
#define KEEL_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "api/pool-internal.h"
#include "core/gunzip-internal.h"
#include "core/membudget-internal.h"
#include "core/runtime-internal.h"

struct evhttp_request;
struct event_base;
struct bufferevent;
struct evbuffer;

/* Called once on the serving thread as soon as every listener accepts and
 * the loops run: what need not stand between exec and the first answer (the
 * event dispatcher, the health checker's first pass) starts here, while the
 * loops already answer (docs/architecture.md, "The start-up order").  A
 * nonzero result stops the server as SIGTERM would (what was accepted
 * meanwhile drains) and becomes keel__http_serve's result, err set. */
typedef int (*keel__http_listening_fn)(keel_runtime *rt, char *err, size_t errlen);

/* Serves HTTP until SIGTERM/SIGINT, then stops accepting, lets requests in
 * flight finish (bounded by KEEL_HTTP_GRACE_MS; a second signal cuts it
 * short) and returns 0.  The caller then runs keel__rt_stop.  rt borrowed,
 * configured and started; on_listening may be NULL.  KEEL_ECONFIG (bad
 * host/port/expose) or KEEL_EIO (bind failed) with a message in err. */
int keel__http_serve(keel_runtime *rt, keel__http_listening_fn on_listening, char *err,
                     size_t errlen);

/* GET /healthz on host:port with a raw socket (no curl in a scratch image).
 * host NULL, "", "0.0.0.0" or "::" probe the loopback address.  0 when the
 * answer is 200; KEEL_EUNAVAIL (refused, other status), KEEL_ETIMEDOUT
 * (nothing within timeout_ms), KEEL_EINVAL (host does not resolve). */
int keel__http_health_probe(const char *host, int port, int timeout_ms);

/* ---- KEEL_EXPOSE ---------------------------------------------------------- */

#define KEEL_HTTP_MAX_EXPOSE 16

typedef struct keel_http_expose {
    char module[64];  /* [a-z][a-z0-9_]* */
    int  port;        /* 0..65535 (0 = any free port, logged) */
} keel_http_expose;

/* Parses "compute:8081,auth:8082" (spaces around items allowed; "" = none)
 * into out[0..*n).  KEEL_ECONFIG with err naming the bad item: malformed
 * item, bad module name, bad port, duplicate module or port, more than
 * KEEL_HTTP_MAX_EXPOSE items. */
int keel__http_expose_parse(const char *text, keel_http_expose *out, size_t *n,
                            char *err, size_t errlen);

/* ---- one loop ------------------------------------------------------------ */

/* How long a drain may take after the first signal. */
#define KEEL_HTTP_GRACE_MS 10000
/* Drain ends early once no response is being written and no byte arrived
 * for this long (idle keep-alive connections are then closed) — at once
 * when no connection is open at all. */
#define KEEL_HTTP_QUIET_MS 1000

/* One event loop as the request code sees it (every field is the loop
 * thread's, except the borrowed shared ones). */
typedef struct keel_http_worker {
    keel_runtime *rt;           /* borrowed */
    int64_t       call_timeout_ms; /* cap for the ctx deadline, 0 = none */
    int           draining;     /* set on the loop thread: answer with Connection: close */
    int           pending;      /* calls on a worker + responses handed to evhttp, not yet
                                 * written or dropped */
    int64_t       last_input_ms;/* monotonic ms of the last byte read while draining */
    keel_pool    *pool;         /* borrowed, shared by every loop */
    keel_mailbox *mailbox;      /* owned by the loop: finished calls come back here */
    const atomic_int *stopping; /* borrowed: 1 once SIGTERM arrived (/readyz answers 503) */
    const struct keel_http_limits *limits; /* borrowed: the server's (gzip bodies' caps) */
} keel_http_worker;

/* Limits the connection hook enforces (http_conn.c), one set per server. */
typedef struct keel_http_limits keel_http_limits;
struct keel_http_limits {
    size_t  max_header;          /* request line + headers (KEEL_MAX_HEADER_BYTES) */
    int64_t max_body;            /* JSON bodies (KEEL_MAX_BODY) */
    int64_t max_upload;          /* KEEL_RAW_IN bodies (KEEL_MAX_UPLOAD) */
    int64_t request_timeout_ms;  /* head + body of one request (KEEL_REQUEST_TIMEOUT_MS) */
    int     max_connections;     /* per process (KEEL_MAX_CONNECTIONS), 0 = no cap */
    int64_t max_inflight;        /* working memory of requests being received or handled:
                                  * each body × its method's factor; 0 = no cap */
    int64_t upload_mem_factor;   /* the factor of raw uploads that declare none (KEEL_UPLOAD_MEM_FACTOR) */
    int64_t max_gzip_ratio;      /* decoded / compressed size of a gzip body (KEEL_MAX_GZIP_RATIO) */
};

/* What one evhttp (one listener) serves. */
typedef struct keel_http_scope {
    keel_http_worker *worker;   /* borrowed */
    const char       *module;   /* NULL = all modules; else only /v1/<module>/… */
    const keel_http_limits *limits; /* borrowed, the server's */
    int               admin;    /* the admin listener: operator endpoints need no token */
} keel_http_scope;

/* ---- the connection hook (http_conn.c) ------------------------------------ */

/* Why the hook refused a request (index into keel_http_conn_stats.refused). */
enum keel_http_refuse {
    KEEL_HTTP_REFUSE_BAD = 0,    /* 400/417: malformed line, header, chunk framing */
    KEEL_HTTP_REFUSE_HEADERS,    /* 431: head over KEEL_MAX_HEADER_BYTES or 100 lines */
    KEEL_HTTP_REFUSE_URI,        /* 414: request line over KEEL_MAX_HEADER_BYTES */
    KEEL_HTTP_REFUSE_METHOD,     /* 405 TRACE/CONNECT, 501 unknown */
    KEEL_HTTP_REFUSE_BODY,       /* 413: over the route's body limit */
    KEEL_HTTP_REFUSE_TIMEOUT,    /* 408: KEEL_REQUEST_TIMEOUT_MS */
    KEEL_HTTP_REFUSE_CONNS,      /* 503: over KEEL_MAX_CONNECTIONS and not a probe */
    KEEL_HTTP_REFUSE_INFLIGHT,   /* 503: KEEL_MAX_INFLIGHT_BYTES */
    KEEL_HTTP_REFUSE_N
};

/* Process-wide counters of the hook: plain atomics, read by anyone
 * (metrics, /readyz) without a lock. */
typedef struct keel_http_conn_stats {
    atomic_int         open;                          /* connections now */
    atomic_ullong      accepted;                      /* since start */
    atomic_llong       inflight_bytes;                /* reserved request bodies */
    atomic_ullong      refused[KEEL_HTTP_REFUSE_N];   /* by reason */
    atomic_ullong      fast;                          /* /healthz probes it answered (http_conn_fast.c) */
} keel_http_conn_stats;
extern keel_http_conn_stats keel__http_conn_stats;

/* Reservations on inflight_bytes: keel__mem_take (core/membudget-internal.h). */

/* "body_too_large" … for a keel_http_refuse value. */
const char *keel__http_refuse_name(int reason);

/* evhttp_set_bevcb callback: arg is the listener's keel_http_scope (its
 * limits and worker outlive every connection).  A filtering bufferevent
 * over a new socket one; NULL on ENOMEM (evhttp then drops the socket). */
struct bufferevent *keel__http_conn_new(struct event_base *base, void *arg);

/* The client's address of req's connection (numeric, no port) into buf.
 * 0, or -1 when unknown. */
int keel__http_conn_peer(struct evhttp_request *req, char *buf, size_t len);
/* req is being answered: its connection gives back the in-flight bytes it
 * reserved for req (evhttp frees the body once the answer is written), so
 * an idle keep-alive connection holds none of the budget. */
void keel__http_conn_answered(struct evhttp_request *req);

/* "/v1/<module>/<method>" → the names into mod/meth (NUL-terminated);
 * 1 if the path has that shape and both fit, else 0. */
int keel__http_split_call_path(const char *path, char *mod, size_t modlen, char *meth, size_t methlen);

/* The current time as an HTTP Date value ("Sun, 06 Dec 2026 19:40:00 GMT"),
 * formatted at most once a second per thread; NULL if the clock cannot be
 * read.  Valid on the calling thread until its next call. */
const char *keel__http_date(void);

/* What the input of a call is built from; every pointer borrowed and
 * alive until the call's ctx is freed (the raw body is handed to ctx). */
typedef struct keel_http_body {
    const char *data;    /* the request body, len bytes (not NUL-terminated) */
    size_t      len;
    const char *ctype;   /* Content-Type header, or NULL */
    const char *query;   /* raw query string without '?', or NULL */
} keel_http_body;

/* The input of a call (http_input.c): the JSON object body, or {} with the
 * raw body set on ctx (keel__ctx_set_raw) for KEEL_RAW_IN methods listing
 * the request's media type, plus the query parameters coerced by the input
 * schema.  *in new reference, NULL on error.  KEEL_EMEDIA (Content-Type),
 * KEEL_EBADDATA (malformed JSON), KEEL_EINVAL (not an object, bad or repeated
 * parameter), KEEL_ENOMEM — with the detail on ctx.  Any thread. */
int keel__http_read_input(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                          const keel_http_body *b, json_t **in);

/* ---- gzip bodies (http_gzip.c) ------------------------------------------------ */

/* The body limit of method m: its descriptor's max_body, else KEEL_MAX_UPLOAD
 * for KEEL_RAW_IN methods and KEEL_MAX_BODY for JSON ones (m NULL: the latter). */
int64_t keel__http_method_limit(const keel_http_limits *lim, const keel_method *m);

/* In-flight bytes reserved per body byte of method m: its descriptor's
 * mem_factor, else KEEL_UPLOAD_MEM_FACTOR for KEEL_RAW_IN methods and 1 for
 * JSON ones (m NULL: 1).  Never below 1. */
int64_t keel__http_method_factor(const keel_http_limits *lim, const keel_method *m);

/* The decoder and its caps (keel_gunzip_limits, keel__gunzip): core/gunzip-internal.h. */

/* 1 when an Accept-Encoding value accepts gzip: lists gzip, x-gzip or *
 * with a q-value other than 0 (RFC 9110 §12.5.3).  NULL = no. */
int keel__http_accepts_gzip(const char *accept_encoding);

/* Worker thread, before keel__http_read_input: a body sent with
 * Content-Encoding: gzip (cenc) or Content-Type: application/gzip to a
 * KEEL_RAW_IN method is replaced by its decoded bytes (owned by ctx's arena,
 * with its in-flight reservation); application/gzip becomes the method's
 * first raw type.  Any other encoding, or gzip for a JSON method: KEEL_EMEDIA.
 * Errors as keel__gunzip, with the detail (and "limit") on ctx. */
int keel__http_decode_body(keel_ctx *ctx, const keel_method *m, const keel_http_limits *lim,
                           const char *cenc, keel_http_body *b);

/* evhttp generic callback: arg is a keel_http_scope.  Answers every request
 * (JSON body, X-Request-Id) and logs one line — at once, or when the call
 * handed to a worker comes back. */
void keel__http_request_cb(struct evhttp_request *req, void *arg);

/* ---- replies (http_routes.c) ------------------------------------------------- */

/* What a route decided. */
typedef struct keel_http_answer {
    int         status;
    char       *text;        /* owned: the JSON body (malloc'd), NULL = out of memory */
    const char *allow;       /* Allow header for 405, or NULL */
    int         retry_after; /* seconds for Retry-After, 0 = none */
    /* a KEEL_RAW_OUT answer instead of text: owned bytes, sent as they are */
    void       *raw;
    size_t      raw_len;
    char        raw_ctype[64];
    char        raw_enc[16];  /* Content-Encoding, "" = none */
    size_t      bytes_in;     /* request body as received, when moved out of the request */
} keel_http_answer;

/* Fills r with the JSON error for err (ctx detail if ctx; "module" added to
 * an unavailable error when module is given).  Any thread. */
void keel__http_answer_error(keel_http_answer *r, keel_ctx *ctx, int err, const char *module);
/* Fills r with status and body (steals body; NULL = out of memory).  Any thread. */
void keel__http_answer_json(keel_http_answer *r, int status, json_t *body);
/* evhttp_send_reply(req, status, reason, body), for HEAD too: libevent 2.1
 * sends whatever body it is given, also to a HEAD request, and then adds
 * no Content-Length, so the next answer on a kept-alive connection is read
 * as the rest of that body.  For HEAD the body's length is announced and
 * the body dropped (RFC 9110, 9.3.2).  body: the request's own output
 * buffer may already hold it (NULL then), or a buffer the caller frees. */
void keel__http_reply(struct evhttp_request *req, int status, const char *reason,
                      struct evbuffer *body);
/* An answered request's counters (bytes, status, finished) and its access
 * line: evhttp's answers (keel__http_send) and the hook's (/healthz). */
void keel__http_finished(keel_ctx *ctx, const keel__access *a, size_t in_len);
/* Loop thread: sends r (consumes r->text) with the common headers
 * (Content-Type, X-Request-Id, Allow, WWW-Authenticate, Retry-After,
 * Connection: close while draining), writes the access-log line and frees
 * ctx (may be NULL) before evhttp takes the reply. */
void keel__http_send(struct evhttp_request *req, keel_http_worker *w, keel_ctx *ctx,
                     const char *path, keel_http_answer *r, int64_t t0_ns);

/* ---- calls on a worker (http_call.c) ------------------------------------------ */

/* Loop thread: hands the call of m (module mc) under ctx to the worker
 * pool, with the body moved out of req (no copy); the worker checks the
 * token kept on ctx, builds the input and runs keel__call_root.  1 when the pool took it: ctx and req are the call's until its
 * reply is sent or dropped.  0 when the pool refused it (full or draining):
 * r holds the 503 to send, and ctx stays the caller's. */
int keel__http_call_submit(struct evhttp_request *req, keel_http_worker *w, keel_ctx *ctx,
                           keel_module_ctx *mc, const keel_method *m, const char *path,
                           int64_t t0_ns, keel_http_answer *r);

/* ---- observability (http_metrics.c) --------------------------------------- */

/* Answers GET /metrics and GET /openapi.json and returns 1; 0 when
 * path is not one of them.  The reply is sent before it returns. */
int keel__http_observe_route(struct evhttp_request *req, keel_http_scope *sc, const char *path);
/* Answers GET /ui and /ui/… (the dashboard, http_ui.c) and returns 1; 0 when
 * path is not under /ui or sc is an expose port.  The reply is sent before
 * it returns. */
int keel__http_ui_route(struct evhttp_request *req, keel_http_scope *sc, const char *path);
/* 0 when req may see operator detail: it came in on the admin listener, or
 * carries a bearer token with scope "admin" (auth disabled or not built:
 * always).  Else KEEL_EUNAUTH / KEEL_EFORBIDDEN / KEEL_EUNAVAIL on ctx. */
int keel__http_admin_allowed(struct evhttp_request *req, keel_http_scope *sc, keel_ctx *ctx);
/* Registers (start) and removes (stop) the connection hook's families
 * on /metrics: connections open/accepted, refusals by reason. */
void keel__http_metrics_start(void);
void keel__http_metrics_stop(void);

/* The OpenAPI 3.1 document of every method served by rt (openapi.c);
 * only_module NULL = all, else that module's (an expose port).  New ref,
 * NULL on ENOMEM. */
json_t *keel__openapi(keel_runtime *rt, const char *only_module);

#endif /* KEEL_HTTP_INTERNAL_H */
