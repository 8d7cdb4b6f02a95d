/* test_trace.c — W3C traceparent parsing and formatting (Trace Context
 * level 1, §3.2), parent-based sampling, a new span id per hop with the
 * caller's span as parent, the bounded export queue (full → dropped and
 * counted), and the OTLP/HTTP JSON shape (opentelemetry-proto's JSON
 * encoding). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/metrics-internal.h"
#include "core/trace-internal.h"

/* ---- traceparent ---------------------------------------------------------- */

static void test_parse_valid(void **state)
{
    /* the example of W3C Trace Context §3.2.2.5 / Appendix */
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t pid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    keel_trace_ctx t;
    (void)state;
    assert_int_equal(keel__traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
    assert_int_equal(t.valid, 1);
    assert_memory_equal(t.trace_id, tid, 16);
    assert_memory_equal(t.parent_id, pid, 8);
    assert_int_equal(t.flags, 0x01);
    assert_int_equal(keel__traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t), 0);
    assert_int_equal(t.flags, 0x00);
    /* a later version: read as 00, more fields may follow after a dash (§3.3) */
    assert_int_equal(keel__traceparent_parse(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like", &t), 0);
    assert_memory_equal(t.trace_id, tid, 16);
    assert_int_equal(keel__traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
}

static void test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        /* version ff is forbidden */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* version 00 is exactly 55 characters */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
        /* a later version: the 56th character must be a dash */
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        /* upper case hex is invalid (HEXDIGLC) */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* all-zero ids are invalid */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* not hex, wrong separators */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        NULL
    };
    keel_trace_ctx t;
    size_t i;
    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        memset(&t, 0xaa, sizeof t);
        if (keel__traceparent_parse(bad[i], &t) != -1)
            fail_msg("accepted: '%s'", bad[i]);
        assert_int_equal(t.valid, 0);
    }
    assert_int_equal(keel__traceparent_parse(NULL, &t), -1);
}

static void test_format(void **state)
{
    keel_trace_ctx t;
    char out[KEEL_TRACEPARENT_LEN];
    (void)state;
    assert_int_equal(keel__traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
    keel__traceparent_format(t.trace_id, t.parent_id, t.flags, out);
    assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    /* we send version 00 whatever came in, and unknown flags as zero
     * (§3.2.2.5.2: vendors MUST set the unused bits to zero) */
    assert_int_equal(keel__traceparent_parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-x", &t), 0);
    keel__traceparent_format(t.trace_id, t.parent_id, t.flags, out);
    assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

static void test_random_ids(void **state)
{
    enum { N = 2000 };
    static uint8_t ids[N][8];
    static const uint8_t zero[8];
    size_t i, k;
    (void)state;
    for (i = 0; i < N; i++) {
        keel__trace_random_id(ids[i], 8);
        assert_memory_not_equal(ids[i], zero, 8);
        for (k = 0; k < i; k++)
            assert_memory_not_equal(ids[i], ids[k], 8);
    }
}

/* ---- spans through dispatch ------------------------------------------------ */

static keel_runtime *rt;
static keel_trace_ctx seen_outer, seen_inner;

static int h_inner(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)in;
    seen_inner = *keel__ctx_trace(ctx);
    *out = json_object();
    return 0;
}

static int h_outer(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_t *r = NULL;
    int rc;
    (void)in;
    seen_outer = *keel__ctx_trace(ctx);
    rc = keel_call(ctx, "tr", "inner", NULL, &r);
    json_decref(r);
    if (rc != 0)
        return rc;
    *out = json_object();
    return 0;
}

static int h_fail(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)in; (void)out;
    return keel_ctx_error(ctx, KEEL_ENOTFOUND, "nothing here");
}

static const keel_method tr_methods[] = {
    {.name = "outer", .handler = h_outer, .flags = KEEL_PUBLIC},
    {.name = "inner", .handler = h_inner, .flags = KEEL_PUBLIC},
    {.name = "fail", .handler = h_fail, .flags = KEEL_PUBLIC},
    {0}
};
static const keel_module m_tr = {.abi = KEEL_ABI, .name = "tr", .methods = tr_methods};

static int setup(void **state)
{
    const keel_module *mods[] = {&m_tr, NULL};
    char *noenv[] = {NULL};
    char err[512];
    (void)state;
    if (keel__rt_new(mods, &rt, err, sizeof(err)) != 0
        || keel__rt_configure(rt, NULL, noenv, NULL, err, sizeof(err)) != 0)
        return -1;
    return keel__rt_start(rt, NULL, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    keel__trace_queue_free();
    keel__rt_free(rt);
    return 0;
}

/* One root call of tr.method on a new HTTP ctx with traceparent tp (NULL = none). */
static int call_root(const char *method, const char *tp)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    json_t *out = NULL;
    int rc;
    assert_non_null(ctx);
    if (tp != NULL)
        keel__ctx_set_traceparent(ctx, tp);
    rc = keel__call_root(ctx, "tr", method, NULL, &out);
    json_decref(out);
    keel__ctx_free(ctx);
    return rc;
}

static void drain(void)
{
    keel_span s[64];
    while (keel__trace_pop(s, 64) > 0)
        ;
}

static void test_span_per_hop(void **state)
{
    static const uint8_t zero[8];
    static const uint8_t pid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    keel_span s[8];
    size_t n;
    (void)state;
    keel__trace_set_sample(1);
    assert_int_equal(keel__trace_queue_open(64), 0);
    drain();
    assert_int_equal(call_root("outer", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), 0);
    /* the HTTP hop: same trace, parent = the caller's span, an id of its own */
    assert_memory_equal(seen_outer.trace_id, seen_inner.trace_id, 16);
    assert_memory_equal(seen_outer.parent_id, pid, 8);
    assert_memory_not_equal(seen_outer.span_id, zero, 8);
    assert_memory_not_equal(seen_outer.span_id, pid, 8);
    /* the nested keel_call: parent = the outer span, a new id again */
    assert_memory_equal(seen_inner.parent_id, seen_outer.span_id, 8);
    assert_memory_not_equal(seen_inner.span_id, seen_outer.span_id, 8);
    assert_memory_not_equal(seen_inner.span_id, zero, 8);
    assert_int_equal(seen_inner.flags & KEEL_TRACE_SAMPLED, 1);

    /* both were queued, inner first (it ends first), with kinds and names */
    n = keel__trace_pop(s, 8);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].module, "tr");
    assert_string_equal(s[0].method, "inner");
    assert_int_equal(s[0].kind, KEEL_SPAN_INTERNAL);
    assert_int_equal(s[0].transport, KEEL_TR_LOCAL);
    assert_memory_equal(s[0].span_id, seen_inner.span_id, 8);
    assert_memory_equal(s[0].parent_id, seen_outer.span_id, 8);
    assert_string_equal(s[1].method, "outer");
    assert_int_equal(s[1].kind, KEEL_SPAN_SERVER);
    assert_int_equal(s[1].transport, KEEL_TR_HTTP);
    assert_memory_equal(s[1].parent_id, pid, 8);
    assert_true(s[1].start_ns > 1600000000LL * 1000000000LL);  /* unix time, not monotonic */
    assert_true(s[1].start_ns <= s[0].start_ns && s[0].end_ns <= s[1].end_ns);
    assert_int_equal(s[1].rc, 0);

    /* a root: a new trace, no parent */
    assert_int_equal(call_root("outer", NULL), 0);
    assert_memory_equal(seen_outer.parent_id, zero, 8);
    assert_int_equal(seen_outer.valid, 1);
    assert_memory_equal(seen_inner.parent_id, seen_outer.span_id, 8);
    assert_int_equal(keel__trace_pop(s, 8), 2);

    /* a failing call carries its code */
    assert_int_equal(call_root("fail", NULL), KEEL_ENOTFOUND);
    assert_int_equal(keel__trace_pop(s, 8), 1);
    assert_int_equal(s[0].rc, KEEL_ENOTFOUND);
    keel__trace_queue_close();
}

static void test_sampling(void **state)
{
    keel_span s[8];
    (void)state;
    assert_int_equal(keel__trace_queue_open(64), 0);
    drain();
    /* parent sampled: followed even when roots are never sampled */
    keel__trace_set_sample(0);
    assert_int_equal(call_root("outer", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), 0);
    assert_int_equal(seen_inner.flags & KEEL_TRACE_SAMPLED, 1);
    assert_int_equal(keel__trace_pop(s, 8), 2);
    /* roots under ratio 0: ids still made and propagated, nothing queued */
    assert_int_equal(call_root("outer", NULL), 0);
    assert_int_equal(seen_inner.flags & KEEL_TRACE_SAMPLED, 0);
    assert_int_equal(seen_inner.valid, 1);
    assert_memory_equal(seen_inner.parent_id, seen_outer.span_id, 8);
    assert_int_equal(keel__trace_pop(s, 8), 0);
    /* parent not sampled: followed even when every root is sampled */
    keel__trace_set_sample(1);
    assert_int_equal(call_root("outer", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), 0);
    assert_int_equal(seen_inner.flags & KEEL_TRACE_SAMPLED, 0);
    assert_int_equal(keel__trace_pop(s, 8), 0);
    /* an invalid traceparent is a root: sampled by the ratio */
    assert_int_equal(call_root("outer", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-00"), 0);
    assert_int_equal(seen_outer.flags & KEEL_TRACE_SAMPLED, 1);
    assert_int_equal(keel__trace_pop(s, 8), 2);
    keel__trace_queue_close();
}

static void test_sample_ratio(void **state)
{
    uint8_t tid[16] = {0};
    (void)state;
    /* TraceIdRatioBased: the low 8 bytes (big-endian, top bit ignored)
     * against ratio * 2^63 */
    keel__trace_set_sample(0.5);
    tid[8] = 0x3f; tid[15] = 0xff;   /* 0x3f..ff < 2^62 */
    assert_int_equal(keel__trace_sample_root(tid), 1);
    tid[8] = 0x40; tid[15] = 0x00;   /* exactly 2^62: not below */
    assert_int_equal(keel__trace_sample_root(tid), 0);
    tid[8] = 0xbf;                   /* the top bit does not count: 0x3f.. again */
    assert_int_equal(keel__trace_sample_root(tid), 1);
    keel__trace_set_sample(0);
    tid[8] = 0; tid[15] = 0; tid[14] = 1;
    assert_int_equal(keel__trace_sample_root(tid), 0);
    keel__trace_set_sample(1);
    memset(tid + 8, 0xff, 8);
    assert_int_equal(keel__trace_sample_root(tid), 1);
}

static double dropped_total(void)
{
    char *text = NULL, *p;
    size_t len;
    double v;
    assert_int_equal(keel__metrics_render(rt, &text, &len), 0);
    p = strstr(text, "\nkeel_trace_spans_dropped_total ");
    assert_non_null(p);
    v = strtod(p + strlen("\nkeel_trace_spans_dropped_total "), NULL);
    free(text);
    return v;
}

static void test_queue_full_drops(void **state)
{
    keel_span s[32];
    double before;
    int i;
    (void)state;
    keel__trace_queue_free();
    keel__trace_set_sample(1);
    assert_int_equal(keel__trace_queue_open(16), 0);
    before = dropped_total();
    /* 10 calls of outer are 20 spans into 16 cells: 4 dropped, never waited for */
    for (i = 0; i < 10; i++)
        assert_int_equal(call_root("outer", NULL), 0);
    assert_true(dropped_total() - before == 4);
    assert_int_equal(keel__trace_pop(s, 32), 16);
    /* room again: the next call's spans are queued */
    assert_int_equal(call_root("outer", NULL), 0);
    assert_int_equal(keel__trace_pop(s, 32), 2);
    assert_true(dropped_total() - before == 4);
    /* closed: nothing is recorded (an unconfigured exporter costs nothing) */
    keel__trace_queue_close();
    assert_int_equal(call_root("outer", NULL), 0);
    assert_int_equal(keel__trace_pop(s, 32), 0);
    assert_true(dropped_total() - before == 4);
}

enum { PRODUCERS = 4, PER_PRODUCER = 50000 };
static int refused[PRODUCERS];
static int producers_done;

static void *producer(void *arg)
{
    int k = (int)(intptr_t)arg, i;
    keel_span s;
    memset(&s, 0, sizeof s);
    snprintf(s.module, sizeof s.module, "p%d", k);
    for (i = 0; i < PER_PRODUCER; i++) {
        s.start_ns = (int64_t)k << 32 | i;
        s.end_ns = s.start_ns + 1;
        if (keel__trace_push(&s) != 0)
            refused[k]++;
    }
    __atomic_add_fetch(&producers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Four producers and one consumer at once: every span is popped once and
 * whole, in its producer's order, or refused as full — none lost or torn. */
static void test_queue_concurrent(void **state)
{
    pthread_t th[PRODUCERS];
    static keel_span got[256];
    int64_t next[PRODUCERS] = {0};
    long popped = 0, total_refused = 0;
    int k;
    (void)state;
    keel__trace_queue_free();
    assert_int_equal(keel__trace_queue_open(1024), 0);
    for (k = 0; k < PRODUCERS; k++)
        assert_int_equal(pthread_create(&th[k], NULL, producer, (void *)(intptr_t)k), 0);
    for (;;) {
        int done = __atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) == PRODUCERS;
        size_t n = keel__trace_pop(got, 256), i;
        for (i = 0; i < n; i++) {
            int p = (int)(got[i].start_ns >> 32);
            int64_t seq = got[i].start_ns & 0xffffffff;
            assert_true(p >= 0 && p < PRODUCERS);
            assert_true(got[i].end_ns == got[i].start_ns + 1);
            assert_int_equal(got[i].module[0], 'p');
            assert_int_equal(got[i].module[1] - '0', p);
            assert_true(seq >= next[p]);   /* a producer's spans keep their order */
            next[p] = seq + 1;
        }
        popped += (long)n;
        if (done && n == 0)
            break;
    }
    for (k = 0; k < PRODUCERS; k++) {
        pthread_join(th[k], NULL);
        total_refused += refused[k];
    }
    assert_int_equal(popped + total_refused, (long)PRODUCERS * PER_PRODUCER);
    assert_true(popped > 0);
    keel__trace_queue_free();
}

/* ---- OTLP JSON -------------------------------------------------------------- */

static const char *attr(const json_t *attrs, const char *key)
{
    size_t i;
    const json_t *a;
    json_array_foreach(attrs, i, a)
        if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0)
            return json_string_value(json_object_get(json_object_get(a, "value"), "stringValue"));
    return NULL;
}

static void test_otlp_json(void **state)
{
    keel_span sp[2];
    keel_trace_ctx t;
    json_t *doc, *rs, *spans, *a, *b;
    char *text;
    size_t len = 0;
    (void)state;
    memset(sp, 0, sizeof sp);
    assert_int_equal(keel__traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), 0);
    memcpy(sp[0].trace_id, t.trace_id, 16);
    memcpy(sp[0].span_id, (const uint8_t[8]){0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}, 8);
    sp[0].kind = KEEL_SPAN_SERVER;
    sp[0].transport = KEEL_TR_HTTP;
    sp[0].start_ns = 1700000000123456789LL;
    sp[0].end_ns = 1700000000223456789LL;
    strcpy(sp[0].module, "compute");
    strcpy(sp[0].method, "aggregate");
    sp[1] = sp[0];
    memcpy(sp[1].parent_id, sp[0].span_id, 8);
    sp[1].span_id[7] = 0x32;
    sp[1].kind = KEEL_SPAN_CLIENT;
    sp[1].transport = KEEL_TR_LOCAL;
    sp[1].rc = KEEL_ENOTFOUND;

    text = keel__otlp_encode(sp, 2, "gate\"way", "inst-1", &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    doc = json_loads(text, 0, NULL);   /* well-formed JSON, names escaped */
    free(text);
    assert_non_null(doc);
    rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
    assert_non_null(rs);
    assert_string_equal(attr(json_object_get(json_object_get(rs, "resource"), "attributes"),
                             "service.name"), "gate\"way");
    assert_string_equal(attr(json_object_get(json_object_get(rs, "resource"), "attributes"),
                             "service.instance.id"), "inst-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
        json_object_get(rs, "scopeSpans"), 0), "scope"), "name")), "keel");
    spans = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
    assert_int_equal(json_array_size(spans), 2);
    a = json_array_get(spans, 0);
    b = json_array_get(spans, 1);
    /* ids: lower-case hex strings; a root has no parentSpanId */
    assert_string_equal(json_string_value(json_object_get(a, "traceId")), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(json_string_value(json_object_get(a, "spanId")), "b7ad6b7169203331");
    assert_null(json_object_get(a, "parentSpanId"));
    assert_string_equal(json_string_value(json_object_get(b, "parentSpanId")), "b7ad6b7169203331");
    assert_string_equal(json_string_value(json_object_get(b, "spanId")), "b7ad6b7169203332");
    assert_string_equal(json_string_value(json_object_get(a, "name")), "compute.aggregate");
    /* enums are integers (SPAN_KIND_SERVER = 2, CLIENT = 3), fixed64 are strings */
    assert_int_equal(json_integer_value(json_object_get(a, "kind")), 2);
    assert_int_equal(json_integer_value(json_object_get(b, "kind")), 3);
    assert_string_equal(json_string_value(json_object_get(a, "startTimeUnixNano")), "1700000000123456789");
    assert_string_equal(json_string_value(json_object_get(a, "endTimeUnixNano")), "1700000000223456789");
    assert_string_equal(attr(json_object_get(a, "attributes"), "keel.module"), "compute");
    assert_string_equal(attr(json_object_get(a, "attributes"), "keel.method"), "aggregate");
    assert_string_equal(attr(json_object_get(a, "attributes"), "keel.transport"), "http");
    assert_string_equal(attr(json_object_get(b, "attributes"), "keel.transport"), "local");
    /* success: status unset; failure: STATUS_CODE_ERROR = 2 and the code */
    assert_null(json_object_get(a, "status"));
    assert_null(attr(json_object_get(a, "attributes"), "keel.error_code"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "status"), "code")), 2);
    assert_string_equal(attr(json_object_get(b, "attributes"), "keel.error_code"), "not_found");
    json_decref(doc);
}

static void test_config_sample(void **state)
{
    const keel_module *mods[] = {&m_tr, NULL};
    keel_runtime *r2;
    char err[512];
    char *bad[] = {"KEEL_TRACE_SAMPLE=1.5", NULL}, *bad2[] = {"KEEL_TRACE_SAMPLE=half", NULL};
    char *good[] = {"KEEL_TRACE_SAMPLE=0.25", NULL};
    (void)state;
    assert_int_equal(keel__rt_new(mods, &r2, err, sizeof(err)), 0);
    assert_int_equal(keel__rt_configure(r2, NULL, bad, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "trace_sample"));
    assert_int_equal(keel__rt_configure(r2, NULL, bad2, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_int_equal(keel__rt_configure(r2, NULL, good, NULL, err, sizeof(err)), 0);
    assert_true(keel__trace_sample() == 0.25);
    keel__rt_free(r2);
    keel__trace_set_sample(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_random_ids),
        cmocka_unit_test(test_span_per_hop),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_sample_ratio),
        cmocka_unit_test(test_queue_full_drops),
        cmocka_unit_test(test_queue_concurrent),
        cmocka_unit_test(test_otlp_json),
        cmocka_unit_test(test_config_sample),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
