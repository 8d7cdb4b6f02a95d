/*
 * http-internal.h — keel's HTTP server (libevent 2.1 evhttp).
 *
 * Thread model (docs/http.md): KEEL_THREADS event loops, each with its own
 * event_base and its own evhttp per listener, all listening on the same port
 * with SO_REUSEPORT; the kernel spreads connections over them.  Handlers run
 * synchronously on the loop thread that read the request.  The main thread
 * only waits for SIGTERM/SIGINT and then asks every loop to drain.
 *
 * Files: http.c (listeners, loops, signals, drain), http_routes.c (one
 * request: routing, headers, errors, reply), http_input.c (body and query
 * into the call's input), http_expose.c (KEEL_EXPOSE), http_probe.c (the
 * `keel health` client).
 */
#ifndef KEEL_HTTP_INTERNAL_H
#define KEEL_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/runtime-internal.h"

struct evhttp_request;

/* Serves HTTP until SIGTERM/SIGINT, then stops accepting, lets requests in
 * flight finish (bounded by KEEL_HTTP_GRACE_MS; a second signal cuts it
 * short) and returns 0.  The caller then runs keel__rt_stop.  rt borrowed,
 * configured and started.  KEEL_ECONFIG (bad host/port/expose) or KEEL_EIO
 * (bind failed) with a message in err. */
int keel__http_serve(keel_runtime *rt, char *err, size_t errlen);

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
 * for this long (idle keep-alive connections are then closed). */
#define KEEL_HTTP_QUIET_MS 1000

typedef struct keel_http_worker {
    keel_runtime *rt;           /* borrowed */
    int64_t       call_timeout_ms; /* cap for the ctx deadline, 0 = none */
    int           draining;     /* set on the loop thread: answer with Connection: close */
    int           pending;      /* responses handed to evhttp, not yet written or dropped */
    int64_t       last_input_ms;/* monotonic ms of the last byte read while draining */
} keel_http_worker;

/* What one evhttp (one listener) serves. */
typedef struct keel_http_scope {
    keel_http_worker *worker;   /* borrowed */
    const char       *module;   /* NULL = all modules; else only /v1/<module>/… */
} keel_http_scope;

/* The input of a call (http_input.c): the JSON object body, or {} with the
 * raw body set on ctx (keel__ctx_set_raw) for KEEL_RAW_IN methods listing
 * the request's media type, plus the query parameters coerced by the input
 * schema.  *in new reference, NULL on error.  KEEL_EMEDIA (Content-Type),
 * KEEL_EBADDATA (malformed JSON), KEEL_EINVAL (not an object, bad or repeated
 * parameter), KEEL_ENOMEM — with the detail on ctx. */
int keel__http_read_input(struct evhttp_request *req, keel_ctx *ctx, keel_module_ctx *mc,
                          const keel_method *m, json_t **in);

/* evhttp generic callback: arg is a keel_http_scope.  Answers every request
 * (JSON body, X-Request-Id) and logs one line. */
void keel__http_request_cb(struct evhttp_request *req, void *arg);

#endif /* KEEL_HTTP_INTERNAL_H */
