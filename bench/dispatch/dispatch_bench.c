/*
 * dispatch_bench.c — what an in-process call costs.
 *
 *   typed    keel_iface(ctx, "echo", ECHO_IFACE_VERSION, &self)->echo(self, ctx, ...)
 *            (function pointer through the vtable; self fetched once, as callers do)
 *            counted per member: keel_iface_calls_total
 *   typed-nm the same with KEEL_METRICS=false (the cost of that count)
 *   direct   the same work through a plain noinline C call (the peer for typed)
 *   generic  keel_call(ctx, "echo", "echo", {"msg":"hi"}, &out) + json_decref(out)
 *   jansson  json_deep_copy({"msg":"hi"}) + json_decref: the JSON work alone (the peer for generic)
 *
 * Prints ns/op and ratios; machines are noisy, so compare ratios, not times.
 * Usage: keel_bench_dispatch [iterations-millions]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/metrics-internal.h"
#include "core/runtime-internal.h"
#include "modules/echo/echo.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static int direct_echo(keel_module_ctx *self, keel_ctx *ctx,
                                                 const char *in, size_t len,
                                                 const char **out, size_t *outlen)
{
    __asm__ volatile("" ::: "memory");
    (void)self;
    (void)ctx;
    *out = in;
    *outlen = len;
    return 0;
}

int main(int argc, char **argv)
{
    const keel_module *mods[] = {&keel_module_echo, NULL};
    keel_runtime *rt;
    keel_ctx *ctx;
    char err[512];
    char *env[] = {NULL};
    long n_typed = (argc > 1 ? atol(argv[1]) : 50) * 1000000L, n_gen = n_typed / 50, i;
    const echo_iface *e;
    keel_module_ctx *self = NULL;
    const char *o;
    size_t ol;
    volatile size_t sink = 0;
    double t0, t_typed, t_typed_nm, t_direct, t_gen, t_json;
    json_t *in = json_pack("{s:s}", "msg", "hi"), *out;
    int (*volatile direct)(keel_module_ctx *, keel_ctx *, const char *, size_t, const char **,
                           size_t *) = direct_echo;

    if (keel__rt_new(mods, &rt, err, sizeof(err)) != 0 ||
        keel__rt_configure(rt, NULL, env, NULL, err, sizeof(err)) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "runtime: %s\n", err);
        return 1;
    }
    ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    e = keel_iface(ctx, "echo", ECHO_IFACE_VERSION, &self);
    if (e == NULL) {
        fprintf(stderr, "no echo iface\n");
        return 1;
    }

    t0 = now_s();
    for (i = 0; i < n_typed; i++) {
        e->echo(self, ctx, "hi", 2, &o, &ol);
        sink += ol;
    }
    t_typed = (now_s() - t0) / (double)n_typed * 1e9;

    keel__metrics_set_enabled(0);
    t0 = now_s();
    for (i = 0; i < n_typed; i++) {
        e->echo(self, ctx, "hi", 2, &o, &ol);
        sink += ol;
    }
    t_typed_nm = (now_s() - t0) / (double)n_typed * 1e9;
    keel__metrics_set_enabled(1);

    t0 = now_s();
    for (i = 0; i < n_typed; i++) {
        direct(self, ctx, "hi", 2, &o, &ol);
        sink += ol;
    }
    t_direct = (now_s() - t0) / (double)n_typed * 1e9;

    t0 = now_s();
    for (i = 0; i < n_gen; i++) {
        if (keel_call(ctx, "echo", "echo", in, &out) != 0)
            return 1;
        sink += json_object_size(out);
        json_decref(out);
    }
    t_gen = (now_s() - t0) / (double)n_gen * 1e9;

    t0 = now_s();
    for (i = 0; i < n_gen; i++) {
        out = json_deep_copy(in);
        sink += json_object_size(out);
        json_decref(out);
    }
    t_json = (now_s() - t0) / (double)n_gen * 1e9;

    printf("%-34s %10s %10s\n", "in-process call", "ns/op", "vs peer");
    printf("%-34s %10.2f %10s\n", "direct C call (peer)", t_direct, "1.00x");
    printf("%-34s %10.2f %9.2fx\n", "typed keel_iface()->echo", t_typed, t_typed / t_direct);
    printf("%-34s %10.2f %9.2fx\n", "typed, KEEL_METRICS=false", t_typed_nm, t_typed_nm / t_direct);
    printf("%-34s %10.2f %10s\n", "jansson copy+free (peer)", t_json, "1.00x");
    printf("%-34s %10.2f %9.2fx\n", "generic keel_call echo.echo", t_gen, t_gen / t_json);
    printf("targets: typed <= 10 ns, generic <= 1000 ns   (sink %zu)\n", (size_t)sink);
    json_decref(in);
    keel__ctx_free(ctx);
    keel__rt_free(rt);
    return 0;
}
