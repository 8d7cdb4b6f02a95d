/*
 * trace_export.c — sends queued spans to an OpenTelemetry collector as
 * OTLP/HTTP JSON (trace_export-internal.h).
 *
 * One thread, off the request path: it waits until a batch has gathered or
 * a second has passed, takes the spans from the core's queue
 * (src/core/trace_queue.c), encodes them (trace_otlp.c) and POSTs them with
 * the remote client's deadline-bounded HTTP/1.1 (remote_http.c).  A
 * collector that is down, slow or answering non-2xx loses that batch, and
 * the loss is counted (keel_trace_spans_dropped_total); meanwhile requests
 * keep queueing without waiting, and drop when the queue is full.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/remote-internal.h"
#include "api/trace_export-internal.h"
#include "core/metrics-internal.h"
#include "core/trace-internal.h"

#define EXPORT_INTERVAL_MS 1000
#define EXPORT_WARN_EVERY_MS 60000

typedef struct trace_exporter {
    pthread_t       th;
    int             stop;          /* set by keel__trace_export_stop (atomic) */
    keel_http_pool *pool;
    char            path[32];      /* "/v1/traces" or "" when the URL names it */
    char            service[128];
    char            instance[40];  /* service.instance.id: a random UUID per process */
    size_t          batch;
    int             timeout_ms;
    int64_t         warned_ms;     /* last failure logged */
    unsigned long   failures;      /* since the last log line */
    int             failing;       /* the last export failed */
    int             flush_ms;      /* the shutdown flush's bound (keel__trace_export_stop) */
    keel_span      *buf;
} trace_exporter;

static trace_exporter *exporter;

static void export_failed(trace_exporter *x, size_t n, const char *why)
{
    int64_t now = keel__now_ms();
    keel__metrics_count(KEEL_MC_TRACE_DROPPED, n);
    x->failures++;
    x->failing = 1;
    /* a collector that is down fails every second: say so once a minute */
    if (x->warned_ms == 0 || now - x->warned_ms >= EXPORT_WARN_EVERY_MS) {
        keel_log(NULL, KEEL_LOG_WARN, "trace export to %s%s%s failed (%lu time(s)): %s; "
                 "spans dropped", keel__http_pool_hostport(x->pool), keel__http_pool_base(x->pool),
                 x->path, x->failures, why);
        x->warned_ms = now;
        x->failures = 0;
    }
}

static void export_send(trace_exporter *x, size_t n, int64_t deadline_ms)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    size_t blen = 0;
    char *body = keel__otlp_encode(x->buf, n, x->service, x->instance, &blen);
    keel_http_reply rep = {0};
    char err[256] = "";
    int rc;

    if (body == NULL) {
        export_failed(x, n, "out of memory encoding the spans");
        return;
    }
    rc = keel__http_request(x->pool, "POST", x->path, headers, body, blen, 0,
                            deadline_ms, &rep, err, sizeof err);
    free(body);
    if (rc != 0) {
        export_failed(x, n, err[0] ? err : keel_strerror(rc));
    } else if (rep.status < 200 || rep.status > 299) {
        snprintf(err, sizeof err, "HTTP %d", rep.status);
        export_failed(x, n, err);
    } else {
        keel__metrics_count(KEEL_MC_TRACE_EXPORTED, n);
        x->failing = 0;
    }
    keel__http_reply_clear(&rep);
}

static void *export_main(void *arg)
{
    trace_exporter *x = arg;
    int64_t flush_until;
    size_t n;

    while (!__atomic_load_n(&x->stop, __ATOMIC_ACQUIRE)) {
        /* after a failure, the next try waits a whole interval (a refusing
         * collector would otherwise be retried in a loop while the queue
         * refills); else a full batch goes at once, a partial one after
         * the interval */
        keel__trace_wait(x->failing ? SIZE_MAX : x->batch, EXPORT_INTERVAL_MS);
        while (!__atomic_load_n(&x->stop, __ATOMIC_ACQUIRE)
               && (n = keel__trace_pop(x->buf, x->batch)) > 0) {
            export_send(x, n, keel__now_ms() + x->timeout_ms);
            if (n < x->batch || x->failing)
                break;
        }
    }
    /* shutdown: what is queued goes out within the flush budget; a
     * collector that just failed gets no more of it */
    flush_until = keel__now_ms() + x->flush_ms;
    while ((n = keel__trace_pop(x->buf, x->batch)) > 0) {
        int64_t now = keel__now_ms(), dl = now + x->timeout_ms;
        if (now >= flush_until || x->failing) {
            keel__metrics_count(KEEL_MC_TRACE_DROPPED, n);
            continue;
        }
        export_send(x, n, dl < flush_until ? dl : flush_until);
    }
    return NULL;
}

static void export_free(trace_exporter *x)
{
    if (x == NULL)
        return;
    keel__http_pool_free(x->pool);
    free(x->buf);
    free(x);
}

int keel__trace_export_start(keel_runtime *rt, char *err, size_t errlen)
{
    const keel_config *cfg = keel__rt_config(rt);
    const char *url = keel__config_get(cfg, NULL, "otlp_endpoint");
    const char *svc = keel__config_get(cfg, NULL, "service_name");
    keel_remote_url u;
    trace_exporter *x;
    uint8_t id[16];
    char hex[33];
    size_t blen;
    int rc;

    if (exporter != NULL || url == NULL || url[0] == '\0')
        return 0;
    if ((rc = keel__remote_url_parse(url, &u, err, errlen)) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "otlp_endpoint: %s", why);
        return rc;
    }
    if ((x = calloc(1, sizeof *x)) == NULL)
        return KEEL_ENOMEM;
    /* the collector's base URL gets /v1/traces (as OTEL_EXPORTER_OTLP_ENDPOINT);
     * a URL that already ends in it is used as it is */
    blen = strlen(u.base);
    snprintf(x->path, sizeof x->path, "%s",
             blen >= 10 && strcmp(u.base + blen - 10, "/v1/traces") == 0 ? "" : "/v1/traces");
    snprintf(x->service, sizeof x->service, "%s", svc && svc[0] ? svc : "keel");
    keel__trace_random_id(id, sizeof id);
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);  /* RFC 9562 version 4 */
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);  /* variant 10 */
    keel__trace_hex(id, sizeof id, hex);
    snprintf(x->instance, sizeof x->instance, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
    x->batch = (size_t)keel__config_int(cfg, NULL, "trace_batch");
    x->timeout_ms = (int)keel__config_int(cfg, NULL, "otlp_timeout_ms");
    if (keel__http_pool_new(&u, 1, &x->pool) != 0
        || (x->buf = calloc(x->batch, sizeof *x->buf)) == NULL
        || keel__trace_queue_open((size_t)keel__config_int(cfg, NULL, "trace_queue")) != 0) {
        export_free(x);
        snprintf(err, errlen, "trace exporter: out of memory");
        return KEEL_ENOMEM;
    }
    if (pthread_create(&x->th, NULL, export_main, x) != 0) {
        keel__trace_queue_close();
        export_free(x);
        snprintf(err, errlen, "trace exporter: cannot start its thread");
        return KEEL_ENOMEM;
    }
    exporter = x;
    keel_log(NULL, KEEL_LOG_INFO, "tracing: spans to %s%s (sampling new traces at %g)", url,
             x->path, keel__trace_sample());
    return 0;
}

void keel__trace_export_stop(int flush_ms)
{
    trace_exporter *x = exporter;
    if (x == NULL)
        return;
    x->flush_ms = flush_ms;     /* read by the thread after it sees stop */
    keel__trace_queue_close();  /* calls still finishing record nothing more */
    __atomic_store_n(&x->stop, 1, __ATOMIC_RELEASE);
    keel__trace_wake();
    pthread_join(x->th, NULL);
    exporter = NULL;
    export_free(x);
}
