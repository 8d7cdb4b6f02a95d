/*
 * metrics_text.c — the scrape: merge every shard and write the Prometheus
 * text exposition format (version 0.0.4), plus registered collectors.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx-internal.h"
#include "core/metrics_shard-internal.h"
#include "core/events-internal.h"
#include "core/store-internal.h"

static const char *const bound_text[KEEL_METRICS_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};

static const char *const transport_name[KEEL_METRICS_TRANSPORTS] = {"local", "http", "cli", "remote"};

#define MAX_COLLECTORS 16
static struct {
    keel_metrics_collector fn;
    void *arg;
} collectors[MAX_COLLECTORS];
static pthread_mutex_t coll_mu = PTHREAD_MUTEX_INITIALIZER;

/* Appends; on a short buffer grows it and formats again from a copy of ap. */
static void mbuf_vprintf(keel_metrics_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    int n;
    size_t need, cap;
    char *p;

    va_copy(again, ap);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): the caller's va_start; the analyzer loses it across the format attribute */
    need = n < 0 ? 0 : b->len + (size_t)n + 1;
    if (n < 0) {
        b->oom = 1;
    } else if (b->p != NULL && need <= b->cap) {
        b->len += (size_t)n;
    } else {
        for (cap = b->cap ? b->cap : 16384; cap < need; cap *= 2)
            ;
        if ((p = realloc(b->p, cap)) == NULL) {
            b->oom = 1;
        } else {
            b->p = p;
            b->cap = cap;
            vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
            b->len += (size_t)n;
        }
    }
    va_end(again);
}

void keel__mbuf_printf(keel_metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom)
        return;
    va_start(ap, fmt);
    mbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void keel__mbuf_family(keel_metrics_buf *b, const char *name, const char *type, const char *help)
{
    keel__mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void keel__mbuf_label(keel_metrics_buf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            keel__mbuf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            keel__mbuf_printf(b, "\\n");
        else
            keel__mbuf_printf(b, "%c", *v);
    }
}

int keel__metrics_collector_add(keel_metrics_collector fn, void *arg)
{
    int i, rc = KEEL_ELIMIT;
    pthread_mutex_lock(&coll_mu);
    for (i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn == NULL) {
            collectors[i].fn = fn;
            collectors[i].arg = arg;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&coll_mu);
    return rc;
}

void keel__metrics_collector_remove(keel_metrics_collector fn, void *arg)
{
    int i;
    pthread_mutex_lock(&coll_mu);
    for (i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn == fn && collectors[i].arg == arg)
            collectors[i].fn = NULL;
    pthread_mutex_unlock(&coll_mu);
}

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* Sums slot/tr over every shard into *sum. */
static void merge_cell(int slot, unsigned tr, keel_metrics_cell *sum)
{
    const keel_metrics_shard *s;
    unsigned ci = (unsigned)slot / KEEL_METRICS_CHUNK;
    int i;
    memset(sum, 0, sizeof *sum);
    for (s = __atomic_load_n(&keel__metrics_shards, __ATOMIC_ACQUIRE); s; s = s->next) {
        const keel_metrics_cell *chunk = __atomic_load_n(&s->chunks[ci], __ATOMIC_ACQUIRE), *c;
        if (chunk == NULL)
            continue;
        c = &chunk[((unsigned)slot % KEEL_METRICS_CHUNK) * KEEL_METRICS_TRANSPORTS + tr];
        sum->calls += LD(&c->calls);
        sum->sum_ns += LD(&c->sum_ns);
        sum->bytes_in += LD(&c->bytes_in);
        sum->bytes_out += LD(&c->bytes_out);
        for (i = 0; i <= KEEL_METRICS_BUCKETS; i++)
            sum->buckets[i] += LD(&c->buckets[i]);
        for (i = 0; i < KEEL_METRICS_CODES; i++)
            sum->errors[i] += LD(&c->errors[i]);
    }
}

static void labels(keel_metrics_buf *b, int slot, unsigned tr)
{
    keel__mbuf_printf(b, "module=\"");
    keel__mbuf_label(b, keel__metrics_names[slot].module);
    keel__mbuf_printf(b, "\",method=\"");
    keel__mbuf_label(b, keel__metrics_names[slot].method);
    keel__mbuf_printf(b, "\",transport=\"%s\"", transport_name[tr]);
}

/* The per-method families.  Series appear once a method was called over a
 * transport (the Go client's habit for labelled vectors). */
static void render_methods(keel_metrics_buf *b)
{
    int n = __atomic_load_n(&keel__metrics_nslots, __ATOMIC_ACQUIRE), slot, i, fam;
    size_t ncells = (size_t)n * KEEL_METRICS_TRANSPORTS;
    keel_metrics_cell *all = calloc(ncells ? ncells : 1, sizeof *all);
    unsigned tr;

    if (all == NULL) {
        b->oom = 1;
        return;
    }
    for (slot = 0; slot < n; slot++)
        for (tr = 0; tr < KEEL_METRICS_TRANSPORTS; tr++)
            merge_cell(slot, tr, &all[(size_t)slot * KEEL_METRICS_TRANSPORTS + tr]);
    for (fam = 0; fam < 5; fam++) {
        static const char *const fname[] = {
            "keel_method_calls_total", "keel_method_errors_total", "keel_method_duration_seconds",
            "keel_method_request_bytes_total", "keel_method_response_bytes_total"};
        static const char *const fhelp[] = {
            "Calls of a method, by the transport the call arrived on.",
            "Calls of a method that failed, by error code (docs/http.md error table).",
            "Time from dispatch to the handler's return, in seconds.",
            "Request body bytes received for a method (http and remote transports).",
            "Response body bytes sent for a method (http and remote transports)."};
        keel__mbuf_family(b, fname[fam], fam == 2 ? "histogram" : "counter", fhelp[fam]);
        for (slot = 0; slot < n; slot++)
            for (tr = 0; tr < KEEL_METRICS_TRANSPORTS; tr++) {
                const keel_metrics_cell *c = &all[(size_t)slot * KEEL_METRICS_TRANSPORTS + tr];
                uint64_t cum = 0;
                if (c->calls == 0)
                    continue;
                switch (fam) {
                case 0:
                    keel__mbuf_printf(b, "keel_method_calls_total{");
                    labels(b, slot, tr);
                    keel__mbuf_printf(b, "} %llu\n", (unsigned long long)c->calls);
                    break;
                case 1:
                    for (i = 0; i < KEEL_METRICS_CODES; i++) {
                        if (c->errors[i] == 0)
                            continue;
                        keel__mbuf_printf(b, "keel_method_errors_total{");
                        labels(b, slot, tr);
                        keel__mbuf_printf(b, ",code=\"%s\"} %llu\n", i ? keel_errname(-i) : "unknown",
                                          (unsigned long long)c->errors[i]);
                    }
                    break;
                case 2:
                    for (i = 0; i <= KEEL_METRICS_BUCKETS; i++) {
                        cum += c->buckets[i];
                        keel__mbuf_printf(b, "keel_method_duration_seconds_bucket{");
                        labels(b, slot, tr);
                        keel__mbuf_printf(b, ",le=\"%s\"} %llu\n",
                                          i < KEEL_METRICS_BUCKETS ? bound_text[i] : "+Inf",
                                          (unsigned long long)cum);
                    }
                    keel__mbuf_printf(b, "keel_method_duration_seconds_sum{");
                    labels(b, slot, tr);
                    keel__mbuf_printf(b, "} %.9f\n", (double)c->sum_ns / 1e9);
                    keel__mbuf_printf(b, "keel_method_duration_seconds_count{");
                    labels(b, slot, tr);
                    /* the count is the +Inf bucket, so a scrape racing a
                     * call still gives a consistent histogram */
                    keel__mbuf_printf(b, "} %llu\n", (unsigned long long)cum);
                    break;
                default:
                    if (tr != KEEL_TR_HTTP && tr != KEEL_TR_REMOTE)
                        break;
                    keel__mbuf_printf(b, "%s{", fname[fam]);
                    labels(b, slot, tr);
                    keel__mbuf_printf(b, "} %llu\n",
                                      (unsigned long long)(fam == 3 ? c->bytes_in : c->bytes_out));
                }
            }
    }
    free(all);
}

static void render_iface(keel_metrics_buf *b)
{
    int n = __atomic_load_n(&keel__metrics_niface, __ATOMIC_ACQUIRE), i;
    keel__mbuf_family(b, "keel_iface_calls_total", "counter",
                      "Typed in-process calls through keel_iface(), by vtable member.");
    for (i = 0; i < n; i++) {
        const keel_metrics_shard *s;
        uint64_t sum = 0;
        for (s = __atomic_load_n(&keel__metrics_shards, __ATOMIC_ACQUIRE); s; s = s->next)
            sum += LD(&s->iface[i]);
        keel__mbuf_printf(b, "keel_iface_calls_total{module=\"");
        keel__mbuf_label(b, keel__metrics_iface_names[i].module);
        keel__mbuf_printf(b, "\",method=\"");
        keel__mbuf_label(b, keel__metrics_iface_names[i].method);
        keel__mbuf_printf(b, "\"} %llu\n", (unsigned long long)sum);
    }
}

/* Breaker state of every remote module: 0 closed, 1 half-open, 2 open. */
static void render_remote(keel_metrics_buf *b, keel_runtime *rt)
{
    size_t i;
    keel__mbuf_family(b, "keel_remote_breaker_state", "gauge",
                      "Circuit breaker of a remote module: 0 closed, 1 half-open, 2 open.");
    for (i = 0; rt && rt->remote && rt->remote->status && i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        json_t *st;
        const char *state;
        if (mc->place != KEEL_PLACE_REMOTE || (st = rt->remote->status(rt->remote_self, mc)) == NULL)
            continue;
        state = json_string_value(json_object_get(st, "breaker"));
        keel__mbuf_printf(b, "keel_remote_breaker_state{module=\"");
        keel__mbuf_label(b, mc->desc->name);
        keel__mbuf_printf(b, "\"} %d\n", !state || strcmp(state, "closed") == 0 ? 0
                                         : strcmp(state, "open") == 0 ? 2 : 1);
        json_decref(st);
    }
}

/* Every local module's store pool, read without its lock (store_pool.c). */
static void render_pools(keel_metrics_buf *b, keel_runtime *rt)
{
    static const char *const fam[][3] = {
        {"keel_store_pool_connections", "gauge",
         "Connections of a module's store, by state: busy (borrowed), idle (open, free)."},
        {"keel_store_pool_size", "gauge", "Connections a module's store may open (store_pool_size; SQLite 1)."},
        {"keel_store_pool_waits_total", "counter",
         "Borrows that found every connection busy and waited."},
        {"keel_store_pool_timeouts_total", "counter",
         "Waits that ended without a connection (KEEL_EUNAVAIL, a 503)."},
        {"keel_store_pool_busy_refusals_total", "counter",
         "Non-waiting borrows (health hooks) that found every connection busy."},
    };
    size_t f, i;
    for (f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        keel__mbuf_family(b, fam[f][0], fam[f][1], fam[f][2]);
        for (i = 0; rt != NULL && i < rt->n; i++) {
            keel_module_ctx *mc = &rt->mods[i];
            keel__store_pool_stats ps;
            if (mc->place != KEEL_PLACE_LOCAL || mc->store == NULL ||
                keel__store_pool_read(mc->store, &ps) != 0)
                continue;
            if (f == 0) {
                keel__mbuf_printf(b, "%s{module=\"", fam[f][0]);
                keel__mbuf_label(b, mc->desc->name);
                keel__mbuf_printf(b, "\",state=\"busy\"} %d\n", ps.busy);
                keel__mbuf_printf(b, "%s{module=\"", fam[f][0]);
                keel__mbuf_label(b, mc->desc->name);
                keel__mbuf_printf(b, "\",state=\"idle\"} %d\n", ps.open - ps.busy > 0 ? ps.open - ps.busy : 0);
                continue;
            }
            keel__mbuf_printf(b, "%s{module=\"", fam[f][0]);
            keel__mbuf_label(b, mc->desc->name);
            keel__mbuf_printf(b, "\"} %llu\n", f == 1 ? (unsigned long long)ps.size
                              : (unsigned long long)(f == 2 ? ps.waits : f == 3 ? ps.timeouts
                                                     : ps.refused));
        }
    }
}

/* KEEL_MC_* rows: name, type, help; a gauge row names two counters. */
static void render_server(keel_metrics_buf *b)
{
    uint64_t sum[KEEL_MC__COUNT] = {0}, st[600] = {0};
    const keel_metrics_shard *s;
    int i;
    for (s = __atomic_load_n(&keel__metrics_shards, __ATOMIC_ACQUIRE); s; s = s->next) {
        for (i = 0; i < KEEL_MC__COUNT; i++)
            sum[i] += LD(&s->counters[i]);
        for (i = 0; i < 600; i++)
            st[i] += LD(&s->http_status[i]);
    }
    keel__mbuf_family(b, "keel_http_requests_in_flight", "gauge",
                      "HTTP requests received and not yet answered.");
    keel__mbuf_printf(b, "keel_http_requests_in_flight %lld\n",
                      (long long)(sum[KEEL_MC_HTTP_STARTED] - sum[KEEL_MC_HTTP_FINISHED]));
    keel__mbuf_family(b, "keel_http_responses_total", "counter", "HTTP responses by status code.");
    for (i = 0; i < 600; i++)
        if (st[i] != 0)
            keel__mbuf_printf(b, "keel_http_responses_total{code=\"%d\"} %llu\n", i,
                              (unsigned long long)st[i]);
    keel__mbuf_family(b, "keel_trace_spans_exported_total", "counter",
                      "Spans the OTLP collector accepted.");
    keel__mbuf_printf(b, "keel_trace_spans_exported_total %llu\n",
                      (unsigned long long)sum[KEEL_MC_TRACE_EXPORTED]);
    keel__mbuf_family(b, "keel_trace_spans_dropped_total", "counter",
                      "Spans lost because the export queue was full or the collector failed.");
    keel__mbuf_printf(b, "keel_trace_spans_dropped_total %llu\n",
                      (unsigned long long)sum[KEEL_MC_TRACE_DROPPED]);
}

int keel__metrics_render(keel_runtime *rt, char **text, size_t *len)
{
    keel_metrics_buf b = {0};
    int i;
    *text = NULL;
    *len = 0;
    render_methods(&b);
    render_iface(&b);
    render_server(&b);
    keel__metrics_process(&b);
    keel__mbuf_family(&b, "keel_build_info", "gauge", "The keel version of this process (always 1).");
    keel__mbuf_printf(&b, "keel_build_info{version=\"%s\"} 1\n", KEEL_VERSION);
    render_remote(&b, rt);
    render_pools(&b, rt);
    if (rt != NULL)
        keel__events_metrics(rt, &b);
    pthread_mutex_lock(&coll_mu);
    for (i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn != NULL)
            collectors[i].fn(collectors[i].arg, rt, &b);
    pthread_mutex_unlock(&coll_mu);
    if (b.oom || b.p == NULL) {
        free(b.p);
        return KEEL_ENOMEM;
    }
    *text = b.p;
    *len = b.len;
    return 0;
}
