/*
 * compute.c — descriptor, JSON handlers and the local typed interface.
 *
 * Pure module: no storage, no config, no network.  The handlers translate
 * JSON (or a raw text/csv / NDJSON body) to the C functions of the other
 * files and back; errors carry a message naming row and column.
 */
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"
#include "compute_embedded.h"
#include "trend.h"

/* ---- options --------------------------------------------------------------- */

static compute_unit unit_of(const json_t *in, const char *key)
{
    const char *s = json_string_value(json_object_get(in, key));
    if (!s)
        return COMPUTE_UNIT_AUTO;
    if (strcmp(s, "s") == 0) return COMPUTE_TIME_S;
    if (strcmp(s, "ms") == 0) return COMPUTE_TIME_MS;
    if (strcmp(s, "m/s2") == 0) return COMPUTE_ACCEL_MS2;
    if (strcmp(s, "g") == 0) return COMPUTE_ACCEL_G;
    if (strcmp(s, "mg") == 0) return COMPUTE_ACCEL_MG;
    if (strcmp(s, "rad/s") == 0) return COMPUTE_GYRO_RADS;
    if (strcmp(s, "deg/s") == 0) return COMPUTE_GYRO_DEGS;
    return COMPUTE_UNIT_AUTO;
}

/* ---- local typed interface -------------------------------------------------- */

/* A summary as JSON from CSV text (gz = 0) or a gzip member of at most
 * max_csv decoded bytes (gz = 1): aggregate_csv and aggregate_csv_gz. */
static int summary_json(keel_ctx *ctx, const void *data, size_t len, int gz, size_t max_csv,
                        const compute_options *opt, json_t **summary)
{
    char err[320] = "";
    compute_summary *s = malloc(sizeof *s);
    int rc;

    *summary = NULL;
    if (!s)
        return KEEL_ENOMEM;
    if (!data) {
        rc = keel_ctx_error(ctx, KEEL_EINVAL, "aggregate: no CSV given");
        goto out;
    }
    rc = gz ? compute_aggregate_gz(data, len, max_csv, opt, s, err, sizeof err)
            : compute_aggregate_buffer(data, len, opt, s, err, sizeof err);
    if (rc < 0) {
        keel_ctx_error(ctx, rc, "%s", err);
        goto out;
    }
    *summary = compute_summary_json(s);
    if (!*summary)
        rc = KEEL_ENOMEM;
out:
    free(s);
    return rc;
}

/* compute is pure: self (its module ctx) carries nothing these need. */
static int local_aggregate_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv,
                               size_t len, const compute_options *opt, json_t **summary)
{
    KEEL_IFACE_COUNT("compute", "aggregate_csv");
    (void)self;
    return summary_json(ctx, csv, len, 0, 0, opt, summary);
}

static int local_aggregate(keel_module_ctx *self, keel_ctx *ctx, const compute_samples *samples,
                           const compute_options *opt, compute_summary *out)
{
    KEEL_IFACE_COUNT("compute", "aggregate");
    char err[320] = "";
    int rc = compute_aggregate_samples(samples, opt, out, err, sizeof err);

    (void)self;
    if (rc < 0)
        keel_ctx_error(ctx, rc, "%s", err);
    return rc;
}

static int local_trend(keel_module_ctx *self, keel_ctx *ctx, const json_t *sessions,
                       json_t **out)
{
    KEEL_IFACE_COUNT("compute", "trend");
    char err[320] = "";
    int rc = compute_trend_run(sessions, NULL, out, err, sizeof err);

    (void)self;
    if (rc < 0)
        keel_ctx_error(ctx, rc, "%s", err[0] ? err : "trend failed");
    return rc;
}

static int local_windows_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv,
                             size_t len, const compute_options *opt, json_t **windows)
{
    KEEL_IFACE_COUNT("compute", "windows_csv");
    char err[320] = "";
    int rc;

    (void)self;
    *windows = NULL;
    if (!csv)
        return keel_ctx_error(ctx, KEEL_EINVAL, "windows: no CSV given");
    rc = compute_windows_json(csv, len, opt, windows, err, sizeof err);
    if (rc < 0)
        keel_ctx_error(ctx, rc, "%s", err);
    return rc;
}

static int local_trace_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                           const compute_options *opt, int max_points, json_t **trace)
{
    KEEL_IFACE_COUNT("compute", "trace_csv");
    char err[320] = "";
    int rc;

    (void)self;
    *trace = NULL;
    if (!csv)
        return keel_ctx_error(ctx, KEEL_EINVAL, "trace: no CSV given");
    rc = compute_trace_buffer(csv, len, opt, max_points, trace, err, sizeof err);
    if (rc < 0)
        keel_ctx_error(ctx, rc, "%s", err);
    return rc;
}

static int local_aggregate_csv_gz(keel_module_ctx *self, keel_ctx *ctx, const void *gz,
                                  size_t len, size_t max_csv, const compute_options *opt,
                                  json_t **summary)
{
    KEEL_IFACE_COUNT("compute", "aggregate_csv_gz");
    (void)self;
    return summary_json(ctx, gz, len, 1, max_csv, opt, summary);
}

const compute_iface compute_local = {
    .version = COMPUTE_IFACE_VERSION,
    .aggregate_csv = local_aggregate_csv,
    .aggregate = local_aggregate,
    .trend = local_trend,
    .windows_csv = local_windows_csv,
    .trace_csv = local_trace_csv,
    .aggregate_csv_gz = local_aggregate_csv_gz,
};

/* ---- JSON handlers ------------------------------------------------------------ */

/* The CSV of a raw-input call (text/csv body or the csv field), its unit
 * options and its thresholds ("options", into *params; opt->params points
 * there).  KEEL_EINVAL naming the bad option key. */
static int csv_input(keel_ctx *ctx, const json_t *in, const char *what, const char **data,
                     size_t *len, compute_options *opt, compute_params *params)
{
    char err[160];
    opt->time_unit = unit_of(in, "time_unit");
    opt->accel_unit = unit_of(in, "accel_unit");
    opt->gyro_unit = unit_of(in, "gyro_unit");
    opt->params = params;
    if (compute_params_from_json(params, json_object_get(in, "options"), err, sizeof err) < 0)
        return keel_ctx_error(ctx, KEEL_EINVAL, "%s", err);
    if (keel_ctx_input_text(ctx, in, data, len) < 0)
        return keel_ctx_error(ctx, KEEL_EINVAL,
                              "%s: send the session as a text/csv body or as {\"csv\": \"...\"}",
                              what);
    return 0;
}

static int h_aggregate(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *data = NULL;
    size_t len = 0;
    compute_options opt;
    compute_params params;
    int rc;

    *out = NULL;
    if ((rc = csv_input(ctx, in, "aggregate", &data, &len, &opt, &params)) != 0)
        return rc;
    return local_aggregate_csv(keel_ctx_module(ctx), ctx, data, len, &opt, out);
}

static int h_windows(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *data = NULL;
    size_t len = 0;
    compute_options opt;
    compute_params params;
    json_t *w = NULL;
    int rc;

    *out = NULL;
    if ((rc = csv_input(ctx, in, "windows", &data, &len, &opt, &params)) != 0)
        return rc;
    rc = local_windows_csv(keel_ctx_module(ctx), ctx, data, len, &opt, &w);
    if (rc == 0 && (*out = json_pack("{s:o,s:o*}", "windows", w, "options",
                                     compute_params_json(&params))) == NULL)
        rc = KEEL_ENOMEM;
    return rc;
}

static int h_trace(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *mp = json_object_get(in, "max_points");
    const char *data = NULL;
    size_t len = 0;
    compute_options opt;
    compute_params params;
    int rc;

    *out = NULL;
    if ((rc = csv_input(ctx, in, "trace", &data, &len, &opt, &params)) != 0)
        return rc;
    return local_trace_csv(keel_ctx_module(ctx), ctx, data, len, &opt,
                           mp ? (int)json_integer_value(mp) : 1000, out);
}

/* NDJSON text → array of objects; KEEL_EBADDATA naming the line. */
static int ndjson_parse(keel_ctx *ctx, const char *data, size_t len, json_t **arr)
{
    json_t *a = json_array();
    size_t line = 0;
    const char *p = data, *end = data + len;
    int rc = 0;

    *arr = NULL;
    if (!a)
        return KEEL_ENOMEM;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *le = e ? e : end;
        line++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < le) {
            json_error_t je;
            json_t *v = json_loadb(q, (size_t)(le - q), 0, &je);
            if (!json_is_object(v)) {
                json_decref(v);
                rc = keel_ctx_error(ctx, KEEL_EBADDATA, "ndjson line %zu: %s", line,
                                    v ? "not an object" : je.text);
                goto out;
            }
            json_array_append_new(a, v);
        }
        p = e ? e + 1 : end;
    }
    *arr = a;
    a = NULL;
out:
    json_decref(a);
    return rc;
}

static int h_trend(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_t *owned = NULL;
    const json_t *sessions = json_object_get(in, "sessions");
    char err[320] = "";
    int rc = 0;

    *out = NULL;
    if (!sessions) {
        const char *data = NULL;
        size_t len = 0;
        if (keel_ctx_input_text(ctx, in, &data, &len) < 0)
            return keel_ctx_error(ctx, KEEL_EINVAL,
                                  "trend: send {\"sessions\": [...]}, {\"ndjson\": \"...\"} or an application/x-ndjson body");
        /* a JSON body may also be the whole array */
        const char *q = data;
        while (q < data + len && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
            q++;
        if (q < data + len && *q == '[') {
            json_error_t je;
            owned = json_loadb(q, len - (size_t)(q - data), 0, &je);
            if (!json_is_array(owned)) {
                rc = keel_ctx_error(ctx, KEEL_EBADDATA, "trend: bad JSON array: %s", je.text);
                goto out;
            }
        } else if ((rc = ndjson_parse(ctx, data, len, &owned)) < 0) {
            goto out;
        }
        sessions = owned;
    }
    rc = compute_trend_run(sessions, json_object_get(in, "options"), out, err, sizeof err);
    if (rc < 0)
        keel_ctx_error(ctx, rc, "%s", err[0] ? err : "trend failed");
out:
    json_decref(owned);
    return rc;
}

/* Synth options from JSON (already validated against synth.in.json). */
static void synth_opts_json(const json_t *in, compute_synth_opts *o)
{
    const json_t *v;
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->plan = "walk:60,trot:60,canter:60";
    o->rate_hz = 100;
    o->noise = 1;
    o->drift = 1;
    if ((v = json_object_get(in, "plan"))) o->plan = json_string_value(v);
    if ((v = json_object_get(in, "seed"))) o->seed = (uint64_t)json_integer_value(v);
    if ((v = json_object_get(in, "rate"))) o->rate_hz = json_number_value(v);
    if ((v = json_object_get(in, "noise"))) o->noise = json_number_value(v);
    if ((v = json_object_get(in, "drift"))) o->drift = json_number_value(v);
    if ((v = json_object_get(in, "roll_deg"))) o->roll_deg = json_number_value(v);
    if ((v = json_object_get(in, "pitch_deg"))) o->pitch_deg = json_number_value(v);
    if ((v = json_object_get(in, "yaw_deg"))) o->yaw_deg = json_number_value(v);
    if ((v = json_object_get(in, "trot_asym"))) o->trot_asym = json_number_value(v);
    o->time_ms = unit_of(in, "time_unit") == COMPUTE_TIME_MS;
    o->accel_g = unit_of(in, "accel_unit") == COMPUTE_ACCEL_G;
    o->gyro_deg = unit_of(in, "gyro_unit") == COMPUTE_GYRO_DEGS;
    v = json_object_get(in, "delimiter");
    o->semicolon = v && json_string_value(v) && strcmp(json_string_value(v), ";") == 0;
}

/* Over the wire a session is at most this many samples (~3 h at 100 Hz). */
#define SYNTH_MAX_SAMPLES 1100000.0

static int h_synth(keel_ctx *ctx, const json_t *in, json_t **out)
{
    compute_synth_opts o;
    char err[320] = "";
    char *csv = NULL;
    size_t len = 0;
    json_t *truth = NULL;
    int rc;

    *out = NULL;
    synth_opts_json(in, &o);
    rc = compute_synth(&o, NULL, &truth, err, sizeof err);
    if (rc < 0) {
        keel_ctx_error(ctx, rc, "%s", err);
        goto out;
    }
    double n = json_number_value(json_object_get(truth, "duration_s")) * o.rate_hz;
    if (n > SYNTH_MAX_SAMPLES) {
        rc = keel_ctx_error(ctx, KEEL_ELIMIT, "synth: %.0f samples requested, at most %.0f over the API "
                            "(use `keel compute synth` for longer sessions)", n, SYNTH_MAX_SAMPLES);
        goto out;
    }
    json_decref(truth);
    truth = NULL;
    rc = compute_synth_buffer(&o, &csv, &len, &truth, err, sizeof err);
    if (rc < 0) {
        keel_ctx_error(ctx, rc, "%s", err);
        goto out;
    }
    *out = json_pack("{s:s#,s:O}", "csv", csv, len, "truth", truth);
    if (!*out)
        rc = KEEL_ENOMEM;
out:
    free(csv);
    json_decref(truth);
    return rc;
}

static const keel_method compute_methods[] = {
    { .name = "aggregate", .handler = h_aggregate,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_RAW_IN,
      .summary = "one riding session (sensor CSV) to its summary: gaits, rein, symmetry, jumps, load",
      .in_schema = compute_schema_aggregate_in, .out_schema = compute_schema_aggregate_out,
      .raw_types = "text/csv", .raw_field = "csv" },
    { .name = "trend", .handler = h_trend,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_RAW_IN,
      .summary = "session summaries of one or many horses to baselines, changes and training load",
      .in_schema = compute_schema_trend_in, .out_schema = compute_schema_trend_out,
      .raw_types = "application/x-ndjson,application/json", .raw_field = "ndjson" },
    { .name = "windows", .handler = h_windows,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_RAW_IN,
      .summary = "one riding session (sensor CSV) to its analysis windows: gait, cadence, rein per 2 s",
      .in_schema = compute_schema_windows_in, .out_schema = compute_schema_windows_out,
      .raw_types = "text/csv", .raw_field = "csv" },
    { .name = "trace", .handler = h_trace,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_RAW_IN,
      .summary = "one riding session (sensor CSV) to its vertical acceleration, min/max per bucket",
      .in_schema = compute_schema_trace_in, .out_schema = compute_schema_trace_out,
      .raw_types = "text/csv", .raw_field = "csv" },
    { .name = "synth", .handler = h_synth, .flags = KEEL_READONLY | KEEL_IDEMPOTENT,
      .summary = "a deterministic synthetic session (CSV) with its ground truth",
      .in_schema = compute_schema_synth_in, .out_schema = compute_schema_synth_out },
    { 0 }
};

const keel_module keel_module_compute = {
    .abi = KEEL_ABI,
    .name = "compute",
    .version = "1.0.0",
    .summary = "pure riding analytics: aggregate a session, trend many, synthesize test data",
    .methods = compute_methods,
    .cli = compute_cli,
    .iface = &compute_local,
    .iface_version = COMPUTE_IFACE_VERSION,
    .client = &compute_client,
};
