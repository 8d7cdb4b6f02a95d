/*
 * client.c — compute_iface over keel_call, for processes where compute is
 * placed remotely (keel_iface hands this out instead of compute_local).
 * Same contract as compute.h; the summary travels as JSON, a CSV as a JSON
 * string (aggregate_csv, windows_csv, trace_csv) or, for aggregate_csv_gz,
 * as the caller's gzip bytes themselves: the request body, Content-Encoding:
 * gzip, never inflated or copied on this side (keel_client_call_raw).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/client.h"

#include "compute-internal.h"

static int put_opts(json_t *in, const compute_options *opt)
{
    int rc = 0;
    if (!opt)
        return 0;
    if (opt->time_unit == COMPUTE_TIME_S || opt->time_unit == COMPUTE_TIME_MS)
        rc |= json_object_set_new(in, "time_unit", json_string(opt->time_unit == COMPUTE_TIME_MS ? "ms" : "s"));
    if (opt->accel_unit == COMPUTE_ACCEL_MS2 || opt->accel_unit == COMPUTE_ACCEL_G ||
        opt->accel_unit == COMPUTE_ACCEL_MG)
        rc |= json_object_set_new(in, "accel_unit", json_string(opt->accel_unit == COMPUTE_ACCEL_G ? "g" :
                                                                opt->accel_unit == COMPUTE_ACCEL_MG ? "mg" : "m/s2"));
    if (opt->gyro_unit == COMPUTE_GYRO_RADS || opt->gyro_unit == COMPUTE_GYRO_DEGS)
        rc |= json_object_set_new(in, "gyro_unit", json_string(opt->gyro_unit == COMPUTE_GYRO_DEGS ? "deg/s" : "rad/s"));
    /* the thresholds travel too: the same result in every placement */
    if (opt->params) {
        json_t *o = compute_params_json(opt->params);
        rc |= !o || json_object_set_new(in, "options", o);
    }
    return rc ? KEEL_ENOMEM : 0;
}

/* self (compute as placed remotely) is not needed: calls go by name. */
static int c_aggregate_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                           const compute_options *opt, json_t **summary)
{
    json_t *in = NULL;
    int rc;

    (void)self;
    *summary = NULL;
    if (!csv)
        return keel_ctx_error(ctx, KEEL_EINVAL, "aggregate: no CSV given");
    in = json_object();
    if (!in)
        return KEEL_ENOMEM;
    json_t *s = json_stringn(csv, len);
    if (!s) {
        rc = keel_ctx_error(ctx, KEEL_EBADDATA, "aggregate: CSV is not valid UTF-8");
        goto out;
    }
    if (json_object_set_new(in, "csv", s) != 0 || (rc = put_opts(in, opt)) < 0) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_call(ctx, "compute", "aggregate", in, summary);
out:
    json_decref(in);
    return rc;
}

static int c_aggregate(keel_module_ctx *self, keel_ctx *ctx, const compute_samples *samples,
                       const compute_options *opt, compute_summary *out)
{
    char *csv = NULL;
    size_t len = 0;
    json_t *sum = NULL;
    FILE *f = NULL;
    int rc = 0;

    int no_gyro = samples && !samples->gx && !samples->gy && !samples->gz;
    if (!samples || !samples->t || !samples->ax || !samples->ay || !samples->az ||
        (!no_gyro && (!samples->gx || !samples->gy || !samples->gz)))
        return keel_ctx_error(ctx, KEEL_EINVAL,
                              "aggregate: t, ax, ay, az are required, and gx, gy, gz all or none");
    f = open_memstream(&csv, &len);
    if (!f)
        return KEEL_ENOMEM;
    fputs(no_gyro ? "time,ax,ay,az\n" : "time,ax,ay,az,gx,gy,gz\n", f);
    int nk = no_gyro ? 4 : 7;
    for (size_t i = 0; i < samples->n; i++) {
        const double v[7] = { samples->t[i], samples->ax[i], samples->ay[i], samples->az[i],
                              no_gyro ? 0 : samples->gx[i], no_gyro ? 0 : samples->gy[i],
                              no_gyro ? 0 : samples->gz[i] };
        for (int k = 0; k < nk; k++) {
            if (isfinite(v[k]))
                fprintf(f, "%.17g", v[k]); /* round-trips: same result in every placement */
            else
                fputs("NaN", f);
            fputc(k < nk - 1 ? ',' : '\n', f);
        }
    }
    if (fclose(f) != 0) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = c_aggregate_csv(self, ctx, csv, len, opt, &sum);
    if (rc < 0)
        goto out;
    rc = compute_summary_from_json(sum, out);
    if (rc < 0)
        keel_ctx_error(ctx, rc, "aggregate: the remote summary lacks a required field");
out:
    free(csv);
    json_decref(sum);
    return rc;
}

static int c_trend(keel_module_ctx *self, keel_ctx *ctx, const json_t *sessions, json_t **out)
{
    (void)self;
    *out = NULL;
    if (!json_is_array(sessions))
        return keel_ctx_error(ctx, KEEL_EINVAL, "trend: sessions must be an array");
    json_t *in = json_pack("{s:O}", "sessions", (json_t *)sessions);
    if (!in)
        return KEEL_ENOMEM;
    int rc = keel_call(ctx, "compute", "trend", in, out);
    json_decref(in);
    return rc;
}

/* {"csv": …, units…, options} for a raw-input method; NULL with rc set on failure. */
static json_t *csv_call_input(keel_ctx *ctx, const char *what, const char *csv, size_t len,
                              const compute_options *opt, int *rc)
{
    json_t *in, *s;

    if (!csv) {
        *rc = keel_ctx_error(ctx, KEEL_EINVAL, "%s: no CSV given", what);
        return NULL;
    }
    if ((s = json_stringn(csv, len)) == NULL) {
        *rc = keel_ctx_error(ctx, KEEL_EBADDATA, "%s: CSV is not valid UTF-8", what);
        return NULL;
    }
    in = json_pack("{s:o}", "csv", s);
    if (in == NULL || put_opts(in, opt) < 0) {
        json_decref(in);
        *rc = KEEL_ENOMEM;
        return NULL;
    }
    return in;
}

static int c_windows_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                         const compute_options *opt, json_t **windows)
{
    json_t *in, *out = NULL;
    int rc = 0;

    (void)self;
    *windows = NULL;
    if ((in = csv_call_input(ctx, "windows", csv, len, opt, &rc)) == NULL)
        return rc;
    rc = keel_call(ctx, "compute", "windows", in, &out);
    json_decref(in);
    if (rc == 0) {
        *windows = json_incref(json_object_get(out, "windows"));
        if (!json_is_array(*windows)) {
            json_decref(*windows);
            *windows = NULL;
            rc = keel_ctx_error(ctx, KEEL_EINTERNAL, "compute.windows answered without windows");
        }
    }
    json_decref(out);
    return rc;
}

static int c_trace_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                       const compute_options *opt, int max_points, json_t **trace)
{
    json_t *in;
    int rc = 0;

    (void)self;
    *trace = NULL;
    if ((in = csv_call_input(ctx, "trace", csv, len, opt, &rc)) == NULL)
        return rc;
    if (json_object_set_new(in, "max_points", json_integer(max_points)) != 0)
        rc = KEEL_ENOMEM;
    else
        rc = keel_call(ctx, "compute", "trace", in, trace);
    json_decref(in);
    return rc;
}

/* The gzip member goes as it is: the request body of compute.aggregate with
 * Content-Type: text/csv and Content-Encoding: gzip, units and thresholds in
 * the query.  The compute process decodes it under its own caps (the
 * method's body limit, KEEL_MAX_GZIP_RATIO); max_csv, which bounds the
 * local decoder, is checked there against those instead. */
static int c_aggregate_csv_gz(keel_module_ctx *self, keel_ctx *ctx, const void *gz, size_t len,
                              size_t max_csv, const compute_options *opt, json_t **summary)
{
    json_t *params;
    int rc;

    (void)self;
    (void)max_csv;
    *summary = NULL;
    if (gz == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "aggregate: no gzip given");
    if ((params = json_object()) == NULL || put_opts(params, opt) < 0) {
        json_decref(params);
        return KEEL_ENOMEM;
    }
    rc = keel_client_call_raw(ctx, "compute", "aggregate", "text/csv", "gzip", gz, len, params,
                              summary);
    json_decref(params);
    return rc;
}

const compute_iface compute_client = {
    .version = COMPUTE_IFACE_VERSION,
    .aggregate_csv = c_aggregate_csv,
    .aggregate = c_aggregate,
    .trend = c_trend,
    .windows_csv = c_windows_csv,
    .trace_csv = c_trace_csv,
    .aggregate_csv_gz = c_aggregate_csv_gz,
};
