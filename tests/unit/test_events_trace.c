/*
 * test_events_trace.c — an event's delivery continues the trace of the call
 * that emitted it (docs/observability.md, Tracing; docs/events.md).  The
 * outbox row keeps the emitting call's W3C traceparent (its span as parent,
 * its flags) and tracestate, so:
 *   - the delivery's CONSUMER span is in the caller's trace, a child of the
 *     emitting span, with a span id of its own;
 *   - the handler's ctx carries the tracestate (a remote call it makes
 *     sends it on);
 *   - an unsampled call's delivery records nothing (parent-based sampling,
 *     W3C trace-flags bit 0), whatever KEEL_TRACE_SAMPLE says;
 *   - a row emitted outside any traced call starts a root trace.
 * test_events_trace_pg runs it on PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "fakes/test_runtime.h"

static const keel_topic prod_topics[] = {{.name = "prod.thing"}, {0}};
static const keel_method no_methods[] = {{0}};
static const keel_module mod_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods,
    .topics = prod_topics,
};

static atomic_int delivered;
static char seen_state[3][64];   /* tracestate the handler saw, by payload n */

static int on_thing(keel_ctx *ctx, const keel_event *ev)
{
    json_int_t n = json_integer_value(json_object_get(ev->payload, "n"));
    const char *ts = keel__ctx_tracestate(ctx);
    if (n >= 0 && n < 3)
        snprintf(seen_state[n], sizeof seen_state[n], "%s", ts ? ts : "(none)");
    atomic_fetch_add(&delivered, 1);
    return 0;
}
static const keel_subscription cons_subs[] = {{.topic = "prod.thing", .handler = on_thing}, {0}};
static const keel_module mod_cons = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods, .subs = cons_subs,
};
static const keel_module *const mods[] = { &mod_prod, &mod_cons, NULL };

/* W3C Trace Context §3.2 examples' ids */
static const char tp_on[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
static const uint8_t trace_on[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const char tp_off[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
static const uint8_t trace_off[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                      0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};

static void emit_in_call(keel_runtime *rt, const char *tp, const char *ts, int n,
                         uint8_t span_out[8])
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    keel_module_ctx *prod = keel__rt_find(rt, "prod");
    json_t *p = json_pack("{si}", "n", n);
    keel_span_live l;
    char key[16];

    assert_non_null(ctx);
    keel__ctx_set_callee(ctx, prod);
    if (tp != NULL) {
        assert_int_equal(keel__ctx_set_traceparent(ctx, tp), 0);
        keel__ctx_set_tracestate(ctx, ts);
        keel__trace_begin(ctx, &l);   /* the emitting call's span, as dispatch starts it */
        memcpy(span_out, keel__ctx_trace(ctx)->span_id, 8);
    }
    snprintf(key, sizeof key, "k%d", n);
    assert_int_equal(keel_emit(ctx, keel_module_store(prod), "prod.thing", p, key), 0);
    json_decref(p);
    keel__ctx_free(ctx);
}

static void test_delivery_continues_trace(void **state)
{
    struct keel_test_rt t;
    char err[512];
    uint8_t emit_span[8], ignored[8];
    static const uint8_t zero[8];
    keel_span s[32];
    size_t n, i, consumer = 0;
    int waited;

    (void)state;
    memset(&t, 0, sizeof t);
    if (keel_test_rt_start(&t, "evtrace", mods, NULL, err, sizeof err) != 0)
        fail_msg("runtime: %s", err);
    keel__trace_set_sample(1);
    assert_int_equal(keel__trace_queue_open(64), 0);
    emit_in_call(t.rt, tp_on, "congo=t61rcWkgMzE", 0, emit_span);
    emit_in_call(t.rt, tp_off, "rojo=00f067aa0ba902b7", 1, ignored);
    emit_in_call(t.rt, NULL, NULL, 2, ignored);
    assert_int_equal(keel__events_start(t.rt, NULL, 0), 0);
    for (waited = 0; atomic_load(&delivered) < 3 && waited < 1000; waited++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    assert_int_equal(atomic_load(&delivered), 3);
    keel__events_stop(t.rt);

    n = keel__trace_pop(s, 32);
    for (i = 0; i < n; i++) {
        /* nothing of the unsampled call's trace, its delivery included */
        assert_memory_not_equal(s[i].trace_id, trace_off, 16);
        if (s[i].kind != KEEL_SPAN_CONSUMER)
            continue;
        consumer++;
        assert_string_equal(s[i].module, "cons");
        assert_string_equal(s[i].method, "prod.thing");
        if (memcmp(s[i].trace_id, trace_on, 16) == 0) {
            assert_memory_equal(s[i].parent_id, emit_span, 8);
            assert_memory_not_equal(s[i].span_id, emit_span, 8);
        } else {   /* emitted outside a traced call: a root */
            assert_memory_equal(s[i].parent_id, zero, 8);
        }
    }
    assert_int_equal(consumer, 2);
    assert_string_equal(seen_state[0], "congo=t61rcWkgMzE");
    assert_string_equal(seen_state[1], "rojo=00f067aa0ba902b7");
    assert_string_equal(seen_state[2], "(none)");
    keel__trace_queue_free();
    assert_int_equal(keel_test_rt_stop(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_continues_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
