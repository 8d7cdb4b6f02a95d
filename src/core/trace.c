/*
 * trace.c — W3C trace context, span ids, sampling and the span of a call
 * (trace-internal.h).  The export queue is trace_queue.c, the OTLP JSON
 * encoding trace_otlp.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "core/ctx-internal.h"
#include "core/metrics-internal.h"
#include "core/trace-internal.h"

/* Stored as parts per 2^63 so the hot path compares integers. */
static uint64_t sample_bound = (uint64_t)1 << 63;  /* 1.0 */
static double   sample_ratio = 1.0;

static const char hexd[] = "0123456789abcdef";

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;  /* upper case is invalid in traceparent (W3C §3.2.2) */
}

static int hex_bytes(const char *s, uint8_t *out, size_t n)
{
    size_t i;
    uint8_t any = 0;
    for (i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
        any |= out[i];
    }
    return any ? 0 : 1;  /* 1: all zero */
}

int keel__traceparent_parse(const char *s, keel_trace_ctx *out)
{
    uint8_t ver, flags;
    size_t len;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -1;
    len = strlen(s);
    if (len < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return -1;
    if (hex_bytes(s, &ver, 1) < 0 || ver == 0xff)
        return -1;
    /* version 00 is exactly 55 characters; a later version may append
     * fields after another dash, and is read as 00 (§3.3) */
    if (ver == 0 ? len != 55 : (len > 55 && s[55] != '-'))
        return -1;
    if (hex_bytes(s + 3, out->trace_id, 16) != 0 || hex_bytes(s + 36, out->parent_id, 8) != 0
        || hex_bytes(s + 53, &flags, 1) < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->flags = flags;
    out->valid = 1;
    return 0;
}

void keel__trace_hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hexd[b[i] >> 4];
        out[2 * i + 1] = hexd[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void keel__traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8],
                              uint8_t flags, char *out)
{
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    keel__trace_hex(trace_id, 16, out + 3);
    out[35] = '-';
    keel__trace_hex(span_id, 8, out + 36);
    out[52] = '-';
    /* version 00 defines the sampled bit only: send the others as zero,
     * as OpenTelemetry's propagator does */
    flags &= KEEL_TRACE_SAMPLED;
    keel__trace_hex(&flags, 1, out + 53);
}

/* splitmix64 per thread, seeded from getrandom(2): a few ns per id (ids
 * are made on every call); the seed makes them unpredictable across
 * processes and restarts. */
static uint64_t trace_next(void)
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    uint64_t z;
    if (!seeded) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
            state = (uint64_t)keel__now_ns() ^ ((uint64_t)(uintptr_t)&state << 17);
        seeded = 1;
    }
    z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void keel__trace_random_id(uint8_t *b, size_t n)
{
    uint8_t any;
    size_t i;
    do {
        any = 0;
        for (i = 0; i < n; i += 8) {
            uint64_t z = trace_next();
            size_t k = n - i < 8 ? n - i : 8;
            memcpy(b + i, &z, k);
        }
        for (i = 0; i < n; i++)
            any |= b[i];
    } while (!any);  /* all zero is the invalid id (W3C §3.2.2.3/4) */
}

void keel__trace_set_sample(double ratio)
{
    if (!(ratio > 0))
        ratio = 0;
    if (ratio > 1)
        ratio = 1;
    sample_ratio = ratio;
    sample_bound = ratio >= 1 ? (uint64_t)1 << 63 : (uint64_t)(ratio * 9223372036854775808.0);
}

double keel__trace_sample(void)
{
    return sample_ratio;
}

int keel__trace_sample_root(const uint8_t trace_id[16])
{
    uint64_t v = 0;
    int i;
    if (sample_bound >= (uint64_t)1 << 63)
        return 1;
    for (i = 8; i < 16; i++)
        v = v << 8 | trace_id[i];
    return (v & 0x7fffffffffffffffULL) < sample_bound;
}

static int64_t unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void keel__trace_begin(keel_ctx *ctx, keel_span_live *l)
{
    keel_trace_ctx *t = &ctx->trace;
    if (!t->valid) {  /* a root: no (valid) incoming traceparent */
        keel__trace_random_id(t->trace_id, 16);
        memset(t->parent_id, 0, sizeof t->parent_id);
        t->flags = keel__trace_sample_root(t->trace_id) ? KEEL_TRACE_SAMPLED : 0;
        t->valid = 1;
    }
    keel__trace_random_id(t->span_id, 8);
    l->start_ns = (t->flags & KEEL_TRACE_SAMPLED) && keel__trace_queue_on() ? unix_ns() : 0;
}

static void copy_name(char *dst, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= KEEL_TRACE_NAME_MAX)
        n = KEEL_TRACE_NAME_MAX - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

void keel__trace_end(keel_ctx *ctx, const keel_span_live *l, const char *module,
                     const char *method, keel_span_kind kind, int rc)
{
    const keel_trace_ctx *t = &ctx->trace;
    keel_span s;
    if (l->start_ns == 0)
        return;
    memcpy(s.trace_id, t->trace_id, sizeof s.trace_id);
    memcpy(s.span_id, t->span_id, sizeof s.span_id);
    memcpy(s.parent_id, t->parent_id, sizeof s.parent_id);
    s.kind = (uint8_t)kind;
    s.transport = (uint8_t)ctx->tr;
    s.rc = rc;
    s.start_ns = l->start_ns;
    s.end_ns = unix_ns();
    copy_name(s.module, module);
    copy_name(s.method, method);
    if (keel__trace_push(&s) != 0)
        keel__metrics_count(KEEL_MC_TRACE_DROPPED, 1);
}

const keel_trace_ctx *keel__ctx_trace(const keel_ctx *ctx)
{
    return &ctx->trace;
}
