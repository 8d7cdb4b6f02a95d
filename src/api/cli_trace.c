/*
 * cli_trace.c — spans of one-shot commands (docs/observability.md, Tracing).
 *
 * `keel <module> <method> …`, `keel call` and their `--url` form are calls
 * like any other: with KEEL_OTLP_ENDPOINT set they export their span (and,
 * locally, the spans of the calls it makes) through the same exporter as
 * `keel serve`, which a short-lived process must flush before it exits.
 * The flush is bounded by KEEL_TRACE_CLI_FLUSH_MS, so a collector that is
 * down or stuck never holds the command up for long; what does not go out
 * in time is dropped, as in serve.
 *
 * A command run inside a traced job (a CI step, a script) continues that
 * trace: TRACEPARENT and TRACESTATE in the environment are read like the
 * headers of an HTTP request — OpenTelemetry's environment carrier
 * (the "Environment Variables as Context Propagation Carriers" spec).
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/cli-internal.h"
#include "api/trace_export-internal.h"
#include "core/trace-internal.h"

void keel__cli_trace_start(keel_runtime *rt)
{
    char err[512] = "";
    /* a bad endpoint costs the command its spans, not its result */
    if (keel__trace_export_start(rt, err, sizeof err) != 0)
        fprintf(stderr, "keel: tracing off: %s\n", err[0] ? err : "cannot start the exporter");
}

void keel__cli_trace_stop(void)
{
    keel__trace_export_stop(KEEL_TRACE_CLI_FLUSH_MS);
}

keel_ctx *keel__cli_trace_ctx(keel_runtime *rt)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
    const char *tp = getenv("TRACEPARENT");
    /* an invalid value is ignored: the command starts a trace (W3C §3.2) */
    if (ctx != NULL && tp != NULL && keel__ctx_set_traceparent(ctx, tp) == 0)
        keel__ctx_set_tracestate(ctx, getenv("TRACESTATE"));
    return ctx;
}
