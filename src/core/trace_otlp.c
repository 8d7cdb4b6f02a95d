/*
 * trace_otlp.c — spans as an OTLP/HTTP JSON ExportTraceServiceRequest
 * (opentelemetry-proto, "JSON Protobuf Encoding"): ids are lower-case hex
 * strings, 64-bit integers (the times) are decimal strings, enums integers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/trace-internal.h"

static const char *const tr_names[] = {"local", "http", "cli", "remote", "event"};

static json_t *attr_str(const char *key, const char *value)
{
    return json_pack("{s:s, s:{s:s}}", "key", key, "value", "stringValue", value);
}

static int add(json_t *arr, json_t *v)
{
    return v == NULL || json_array_append_new(arr, v) != 0 ? -1 : 0;
}

static json_t *span_json(const keel_span *s)
{
    char tid[33], sid[17], pid[17], t0[24], t1[24], name[2 * KEEL_TRACE_NAME_MAX + 2];
    const char *tr = s->transport < sizeof tr_names / sizeof tr_names[0] ? tr_names[s->transport] : "?";
    static const uint8_t zero[8];
    json_t *o, *attrs = json_array();

    keel__trace_hex(s->trace_id, 16, tid);
    keel__trace_hex(s->span_id, 8, sid);
    snprintf(t0, sizeof t0, "%" PRId64, s->start_ns);
    snprintf(t1, sizeof t1, "%" PRId64, s->end_ns);
    snprintf(name, sizeof name, "%s.%s", s->module, s->method);
    if (attrs == NULL || add(attrs, attr_str("keel.module", s->module)) != 0
        || add(attrs, attr_str("keel.method", s->method)) != 0
        || add(attrs, attr_str("keel.transport", tr)) != 0
        || (s->rc != 0 && add(attrs, attr_str("keel.error_code", keel_errname(s->rc))) != 0)) {
        json_decref(attrs);
        return NULL;
    }
    o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "traceId", tid, "spanId", sid,
                  "name", name, "kind", (int)s->kind, "startTimeUnixNano", t0,
                  "endTimeUnixNano", t1, "attributes", attrs);
    if (o == NULL)
        return NULL;
    if (memcmp(s->parent_id, zero, sizeof zero) != 0) {  /* a root has none */
        keel__trace_hex(s->parent_id, 8, pid);
        if (json_object_set_new(o, "parentSpanId", json_string(pid)) != 0)
            goto fail;
    }
    /* success leaves the status unset (OpenTelemetry: only errors are marked) */
    if (s->rc != 0 && json_object_set_new(o, "status", json_pack("{s:i, s:s}", "code", 2, "message",
                                                                  keel_errname(s->rc))) != 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *keel__otlp_encode(const keel_span *spans, size_t n, const char *service,
                          const char *instance)
{
    json_t *arr = json_array(), *res;
    size_t i;

    if (arr == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (add(arr, span_json(&spans[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    res = json_pack("{s:[{s:{s:[o, o]}, s:[{s:{s:s, s:s}, s:o}]}]}",
                    "resourceSpans",
                    "resource", "attributes",
                    attr_str("service.name", service ? service : "keel"),
                    attr_str("service.instance.id", instance ? instance : ""),
                    "scopeSpans", "scope", "name", "keel", "version", KEEL_VERSION,
                    "spans", arr);
    return res;
}
