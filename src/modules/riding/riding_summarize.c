/*
 * riding_summarize.c — the only place riding talks to compute.
 *
 * Through compute's typed interface: keel_iface() hands out compute_local (a
 * plain C call, no JSON in or out of the CSV path) when compute runs in this
 * process, compute_client (keel_call over HTTP) when it is placed elsewhere.
 * compute reports a malformed CSV on our ctx (KEEL_EBADDATA, message and row
 * field), which the caller returns unchanged.
 *
 * Next wave: upload_session will store the CSV and emit
 * riding.session_uploaded; the event handler then calls riding_summarize()
 * and fills riding_sessions.summary.  Nothing else needs to move.
 */
#include <stdlib.h>

#include "riding-internal.h"
#include "compute/compute.h"

/* compute's vtable, and *cm its module ctx (the first argument of each call). */
static const compute_iface *compute_of(keel_ctx *ctx, keel_module_ctx **cm)
{
    const compute_iface *c = keel_iface(ctx, "compute", COMPUTE_IFACE_V2, cm);

    if (c == NULL)
        keel_ctx_error_field_new(ctx, "module", json_string("compute"));
    return c;
}

int riding_summarize(keel_ctx *ctx, const char *csv, size_t len, json_t **summary)
{
    keel_module_ctx *cm;
    const compute_iface *c = compute_of(ctx, &cm);

    *summary = NULL;
    if (c == NULL || c->aggregate_csv == NULL)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "compute is not available");
    return c->aggregate_csv(cm, ctx, csv, len, NULL, summary);
}

int riding_summarize_gz(keel_ctx *ctx, const unsigned char *gz, size_t len, size_t csv_bytes,
                        json_t **summary)
{
    keel_module_ctx *cm;
    const compute_iface *c = compute_of(ctx, &cm);
    char *csv = NULL;
    int rc;

    *summary = NULL;
    if (c == NULL || c->aggregate_csv == NULL)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "compute is not available");
    if (c->version >= COMPUTE_IFACE_V4 && c->aggregate_csv_gz != NULL)
        return c->aggregate_csv_gz(cm, ctx, gz, len, csv_bytes, NULL, summary);
    /* a compute built before the gzip member (iface v3 and older: both
     * its local table and its client sent the CSV as text): the CSV
     * decompressed once, then as before */
    rc = riding_csv_inflate(ctx, gz, len, csv_bytes, &csv);
    if (rc == 0)
        rc = c->aggregate_csv(cm, ctx, csv, csv_bytes, NULL, summary);
    free(csv);
    return rc;
}

int riding_trend(keel_ctx *ctx, const json_t *sessions, json_t **out)
{
    keel_module_ctx *cm;
    const compute_iface *c = compute_of(ctx, &cm);

    *out = NULL;
    if (c == NULL || c->trend == NULL)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "compute is not available");
    return c->trend(cm, ctx, sessions, out);
}

/* v3 members: a compute built before them (or a remote one: the skew check
 * already refuses a different version) has none. */
static const compute_iface *compute_v3(keel_ctx *ctx, keel_module_ctx **cm)
{
    const compute_iface *c = compute_of(ctx, cm);

    if (c == NULL || c->version < COMPUTE_IFACE_V3) {
        keel_ctx_error(ctx, KEEL_EUNAVAIL, "compute is not available (or older than iface v3)");
        return NULL;
    }
    return c;
}

int riding_windows(keel_ctx *ctx, const char *csv, size_t len, json_t **windows)
{
    keel_module_ctx *cm;
    const compute_iface *c = compute_v3(ctx, &cm);

    *windows = NULL;
    if (c == NULL || c->windows_csv == NULL)
        return KEEL_EUNAVAIL;
    return c->windows_csv(cm, ctx, csv, len, NULL, windows);
}

int riding_trace(keel_ctx *ctx, const char *csv, size_t len, int max_points, json_t **trace)
{
    keel_module_ctx *cm;
    const compute_iface *c = compute_v3(ctx, &cm);

    *trace = NULL;
    if (c == NULL || c->trace_csv == NULL)
        return KEEL_EUNAVAIL;
    return c->trace_csv(cm, ctx, csv, len, NULL, max_points, trace);
}
