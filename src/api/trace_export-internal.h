/*
 * trace_export-internal.h — the OTLP/HTTP JSON span exporter of `keel serve`
 * (docs/observability.md, Tracing).
 */
#ifndef KEEL_TRACE_EXPORT_INTERNAL_H
#define KEEL_TRACE_EXPORT_INTERNAL_H

#include <stddef.h>

#include "core/runtime-internal.h"

/* With otlp_endpoint set: opens the span queue (trace_queue) and starts the
 * exporter thread, which POSTs batches of trace_batch spans (or what
 * gathered within a second) to <endpoint>/v1/traces, each bounded by
 * otlp_timeout_ms.  A no-op success without an endpoint.  KEEL_ECONFIG for
 * a bad URL (http:// only), KEEL_ENOMEM, with err. */
int  keel__trace_export_start(keel_runtime *rt, char *err, size_t errlen);
/* Stops recording, sends what is queued within flush_ms (an export already
 * in flight first ends within otlp_timeout_ms; what is not sent is counted
 * dropped) and joins the thread.  Idempotent. */
void keel__trace_export_stop(int flush_ms);

/* keel serve's shutdown flush */
#define KEEL_TRACE_FLUSH_MS 2000
/* a one-shot command's: short, so a collector that is down or stuck delays
 * the command's exit by no more than this */
#define KEEL_TRACE_CLI_FLUSH_MS 500

#endif /* KEEL_TRACE_EXPORT_INTERNAL_H */
