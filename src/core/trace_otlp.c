/*
 * trace_otlp.c — spans as an OTLP/HTTP JSON ExportTraceServiceRequest
 * (opentelemetry-proto, "JSON Protobuf Encoding"): ids are lower-case hex
 * strings, 64-bit integers (the times) are decimal strings, enums integers.
 *
 * Written straight into one buffer: building the document with jansson
 * cost ~50 µs a span on a loaded machine (an object, a pack and a free per
 * attribute), which is the exporter's whole budget at 20k calls/s.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sbuf-internal.h"
#include "core/trace-internal.h"

static const char *const tr_names[] = {"local", "http", "cli", "remote", "event"};

typedef keel_sbuf obuf;

static void put(obuf *b, const char *s, size_t n)
{
    keel__sbuf_put(b, s, n);
}

static void puts_(obuf *b, const char *s)
{
    keel__sbuf_puts(b, s);
}

/* A JSON string body (no quotes), escaped as keel's JSON writer does;
 * other bytes as they are (names and the service name are UTF-8). */
static void put_esc(obuf *b, const char *s)
{
    keel__sbuf_json_escaped(b, s, strlen(s));
}

static void put_attr(obuf *b, const char *key, const char *value, int first)
{
    puts_(b, first ? "{\"key\":\"" : ",{\"key\":\"");
    puts_(b, key);
    puts_(b, "\",\"value\":{\"stringValue\":\"");
    put_esc(b, value);
    puts_(b, "\"}}");
}

static void put_span(obuf *b, const keel_span *s, int first)
{
    static const uint8_t zero[8];
    const char *tr = s->transport < sizeof tr_names / sizeof tr_names[0] ? tr_names[s->transport] : "?";
    char hex[33], num[64];

    puts_(b, first ? "{\"traceId\":\"" : ",{\"traceId\":\"");
    keel__trace_hex(s->trace_id, 16, hex);
    put(b, hex, 32);
    puts_(b, "\",\"spanId\":\"");
    keel__trace_hex(s->span_id, 8, hex);
    put(b, hex, 16);
    if (memcmp(s->parent_id, zero, sizeof zero) != 0) {  /* a root has none */
        puts_(b, "\",\"parentSpanId\":\"");
        keel__trace_hex(s->parent_id, 8, hex);
        put(b, hex, 16);
    }
    puts_(b, "\",\"name\":\"");
    put_esc(b, s->module);
    puts_(b, ".");
    put_esc(b, s->method);
    snprintf(num, sizeof num, "\",\"kind\":%d,\"startTimeUnixNano\":\"%" PRId64, (int)s->kind, s->start_ns);
    puts_(b, num);
    snprintf(num, sizeof num, "\",\"endTimeUnixNano\":\"%" PRId64 "\",\"attributes\":[", s->end_ns);
    puts_(b, num);
    put_attr(b, "keel.module", s->module, 1);
    put_attr(b, "keel.method", s->method, 0);
    put_attr(b, "keel.transport", tr, 0);
    if (s->rc != 0) {
        /* success leaves the status unset (OpenTelemetry: only errors are marked) */
        put_attr(b, "keel.error_code", keel_errname(s->rc), 0);
        puts_(b, "],\"status\":{\"code\":2,\"message\":\"");
        put_esc(b, keel_errname(s->rc));
        puts_(b, "\"}}");
    } else {
        puts_(b, "]}");
    }
}

char *keel__otlp_encode(const keel_span *spans, size_t n, const char *service,
                        const char *instance, size_t *len)
{
    obuf b = {0};
    size_t i;

    /* a span is ~400 bytes with short names: one allocation */
    if ((b.p = malloc(512 + n * 560)) == NULL)
        return NULL;
    b.cap = 512 + n * 560;
    b.p[0] = '\0';
    puts_(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    put_attr(&b, "service.name", service ? service : "keel", 1);
    put_attr(&b, "service.instance.id", instance ? instance : "", 0);
    puts_(&b, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"keel\",\"version\":\"" KEEL_VERSION "\"},\"spans\":[");
    for (i = 0; i < n; i++)
        put_span(&b, &spans[i], i == 0);
    puts_(&b, "]}]}]}");
    if (len != NULL)
        *len = b.len;
    return keel__sbuf_take(&b);
}
