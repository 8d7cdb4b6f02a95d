/*
 * trace-internal.h — spans: W3C trace context in and out, one span per
 * dispatched call, a bounded export queue (docs/observability.md, Tracing).
 *
 * The core makes the spans and queues them; it has no HTTP client, so the
 * exporter (src/api/trace_export.c) drains the queue on its own thread and
 * POSTs OTLP/HTTP JSON that trace_otlp.c encodes.  A request never waits on
 * the exporter: a full queue drops the span and counts it.
 */
#ifndef KEEL_TRACE_INTERNAL_H
#define KEEL_TRACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/runtime-internal.h"

/* Longest tracestate carried (W3C: propagate at least 512 characters;
 * longer values are dropped whole, as the spec allows). */
#define KEEL_TRACESTATE_MAX 512
/* "00-" 32 "-" 16 "-" 2 + NUL */
#define KEEL_TRACEPARENT_LEN 56
#define KEEL_TRACE_NAME_MAX 64

/* The trace context a keel_ctx carries. */
typedef struct keel_trace_ctx {
    uint8_t trace_id[16];
    uint8_t parent_id[8];  /* the caller's span; all zero = root */
    uint8_t span_id[8];    /* the span of the call running on this ctx; zero before dispatch */
    uint8_t flags;         /* W3C trace-flags; bit 0 = sampled */
    uint8_t valid;         /* trace_id is set (incoming or made by the first span) */
} keel_trace_ctx;

#define KEEL_TRACE_SAMPLED 0x01

/* OTLP SpanKind values. */
typedef enum keel_span_kind {
    KEEL_SPAN_INTERNAL = 1,
    KEEL_SPAN_SERVER   = 2,
    KEEL_SPAN_CLIENT   = 3,
    KEEL_SPAN_CONSUMER = 5
} keel_span_kind;

/* One finished span, as queued: fixed size, names copied. */
typedef struct keel_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    uint8_t kind;          /* keel_span_kind */
    uint8_t transport;     /* keel_transport */
    int     rc;            /* 0 or KEEL_E* */
    int64_t start_ns, end_ns; /* unix epoch ns */
    char    module[KEEL_TRACE_NAME_MAX];
    char    method[KEEL_TRACE_NAME_MAX];
} keel_span;

/* ---- W3C trace context --------------------------------------------------- */

/* Parses a traceparent header value (W3C Trace Context level 1, §3.2): lower-case
 * hex only, version ff refused, version 00 exactly 55 characters, a higher
 * version at least 55 with '-' after the flags, trace-id and parent-id not
 * all zero.  0 and *out filled (valid, parent_id, flags; span_id zero), or
 * -1 (the caller starts a new trace). */
int  keel__traceparent_parse(const char *s, keel_trace_ctx *out);
/* "00-<trace>-<span>-<flags>" into out (KEEL_TRACEPARENT_LEN bytes). */
void keel__traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8],
                              uint8_t flags, char *out);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void keel__trace_hex(const uint8_t *b, size_t n, char *out);
/* n random bytes, never all zero: a per-thread generator seeded from
 * getrandom(2) (ids must be unique and unguessable enough to not collide
 * across processes, not secret). */
void keel__trace_random_id(uint8_t *b, size_t n);

/* ---- sampling and spans -------------------------------------------------- */

/* Root-span sampling ratio 0..1 (KEEL_TRACE_SAMPLE); spans with a parent
 * inherit its sampled flag. */
void   keel__trace_set_sample(double ratio);
double keel__trace_sample(void);
/* The decision for a new root trace: the trace id's low 63 bits against the
 * ratio (like OpenTelemetry's TraceIdRatioBased), so it is a pure function
 * of the id. */
int  keel__trace_sample_root(const uint8_t trace_id[16]);

/* A span in progress on the stack of dispatch. */
typedef struct keel_span_live {
    int64_t start_ns;      /* unix ns, 0 when the span is not recorded */
} keel_span_live;

/* Starts the span of a call on ctx: a new trace (and the sampling decision)
 * when ctx has none, then a new span id whose parent is ctx's parent.
 * Records the start time only when the span is sampled and an exporter
 * takes spans. */
void keel__trace_begin(keel_ctx *ctx, keel_span_live *l);
/* Ends it: queues the span (names copied) when it is recorded. */
void keel__trace_end(keel_ctx *ctx, const keel_span_live *l, const char *module,
                     const char *method, keel_span_kind kind, int rc);

/* The trace context of ctx (borrowed), for logs and tests. */
const keel_trace_ctx *keel__ctx_trace(const keel_ctx *ctx);

/* ---- the export queue ---------------------------------------------------- */

/* Opens the queue with room for cap spans (rounded to at least 16) and makes
 * keel__trace_end record sampled spans.  Replaces an earlier queue only when
 * it is closed.  0, KEEL_ENOMEM. */
int  keel__trace_queue_open(size_t cap);
/* 1 while a queue takes spans. */
int  keel__trace_queue_on(void);
/* Stops recording; spans still queued stay until keel__trace_queue_free. */
void keel__trace_queue_close(void);
void keel__trace_queue_free(void);
/* Adds one span without blocking; 0, or -1 when full or closed (the span is
 * then counted in KEEL_MC_TRACE_DROPPED). */
int  keel__trace_push(const keel_span *s);
/* Takes up to max spans (one consumer thread only).  Returns how many. */
size_t keel__trace_pop(keel_span *out, size_t max);
/* Spans pushed since the queue opened (the exporter's wake-up signal). */
uint64_t keel__trace_pushed(void);
/* A consumer waiting for spans: keel__trace_wait returns when at least
 * want spans were pushed since it last returned, after timeout_ms, or after
 * keel__trace_wake. */
void keel__trace_wait(size_t want, int timeout_ms);
void keel__trace_wake(void);

/* ---- OTLP/HTTP JSON (trace_otlp.c) ---------------------------------------- */

/* An ExportTraceServiceRequest for n spans as JSON text: resourceSpans[0]
 * with service.name (service) and service.instance.id (instance), one
 * scopeSpans ("keel"), spans as the OTLP JSON encoding wants them (hex ids,
 * ns as strings).  New (free), NUL-terminated, length in *len; NULL on
 * ENOMEM. */
char *keel__otlp_encode(const keel_span *spans, size_t n, const char *service,
                        const char *instance, size_t *len);

#endif /* KEEL_TRACE_INTERNAL_H */
