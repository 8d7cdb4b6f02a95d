/*
 * test_compute_module.c — compute through the runtime: descriptor, pinned
 * iface layout, JSON handlers with schema checks, local vs client typed
 * calls (the client marshals over keel_call), synth and trend methods.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <zlib.h>

#include "keel/keel.h"
#include "core/runtime-internal.h"
#include "compute-internal.h"

extern const keel_module keel_module_compute;

typedef struct fixture {
    keel_runtime *rt;
    keel_ctx     *ctx;
    keel_module_ctx *cm;     /* compute's own module ctx (self of the typed calls) */
    char         *csv;
    size_t        len;
} fixture;

static int setup(void **state)
{
    static const keel_module *const mods[] = { &keel_module_compute, NULL };
    fixture *f = calloc(1, sizeof *f);
    char err[512];
    char *envp[] = { "KEEL_LOG_LEVEL=error", "KEEL_DATABASE_URL=sqlite::memory:", NULL };
    compute_synth_opts o = { .seed = 9, .plan = "walk:30,trot-left:40,canter-right:30,jump:1.0,halt:5",
                             .rate_hz = 100, .noise = 1, .drift = 1 };

    if (f == NULL)
        return -1;
    if (keel__rt_new(mods, &f->rt, err, sizeof err) != 0 ||
        keel__rt_configure(f->rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(f->rt, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    f->ctx = keel__ctx_new(f->rt, KEEL_TR_CLI, "r-test-compute", 0);
    f->cm = keel__rt_find(f->rt, "compute");
    if (compute_synth_buffer(&o, &f->csv, &f->len, NULL, err, sizeof err) != 0)
        return -1;
    *state = f;
    return f->ctx != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    keel__ctx_free(f->ctx);
    keel__rt_stop(f->rt);
    keel__rt_free(f->rt);
    free(f->csv);
    free(f);
    return 0;
}

static void test_descriptor(void **state)
{
    const keel_module *m = &keel_module_compute;
    static const char *const names[] = { "aggregate", "trend", "windows", "trace", "synth",
                                         NULL };
    (void)state;
    assert_int_equal(m->abi, KEEL_ABI);
    assert_string_equal(m->name, "compute");
    assert_null(m->migrations);
    assert_non_null(m->cli);
    assert_ptr_equal(m->iface, &compute_local);
    assert_ptr_equal(m->client, &compute_client);
    assert_int_equal(m->iface_version, COMPUTE_IFACE_VERSION);
    for (int i = 0; names[i]; i++) {
        assert_non_null(m->methods[i].name);
        assert_string_equal(m->methods[i].name, names[i]);
        assert_true(m->methods[i].flags & KEEL_READONLY);
        assert_true(m->methods[i].flags & KEEL_IDEMPOTENT);
        assert_non_null(m->methods[i].in_schema);
        assert_non_null(m->methods[i].out_schema);
    }
    assert_null(m->methods[5].name);
    assert_string_equal(m->methods[0].raw_types, "text/csv");
    assert_string_equal(m->methods[0].raw_field, "csv");
    assert_true(m->methods[1].flags & KEEL_RAW_IN);
    assert_string_equal(m->methods[1].raw_field, "ndjson");
    for (int i = 2; i < 4; i++) {   /* windows, trace: a CSV like aggregate */
        assert_true(m->methods[i].flags & KEEL_RAW_IN);
        assert_string_equal(m->methods[i].raw_types, "text/csv");
        assert_string_equal(m->methods[i].raw_field, "csv");
    }
    /* the vtable layout is a contract: append only */
    assert_int_equal(offsetof(compute_iface, version), 0);
    assert_int_equal(offsetof(compute_iface, aggregate_csv), sizeof(void *));
    assert_int_equal(offsetof(compute_iface, aggregate), 2 * sizeof(void *));
    assert_int_equal(offsetof(compute_iface, trend), 3 * sizeof(void *));
    assert_int_equal(offsetof(compute_iface, windows_csv), 4 * sizeof(void *));  /* since v3 */
    assert_int_equal(offsetof(compute_iface, trace_csv), 5 * sizeof(void *));
    assert_int_equal(offsetof(compute_iface, aggregate_csv_gz), 6 * sizeof(void *)); /* v4 */
    assert_int_equal(compute_local.version, COMPUTE_IFACE_VERSION);
    assert_int_equal(compute_client.version, COMPUTE_IFACE_VERSION);
}

static void test_handler_aggregate(void **state)
{
    fixture *f = *state;
    json_t *out = NULL;
    json_t *in = json_pack("{s:s#}", "csv", f->csv, f->len);
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), 0);
    assert_non_null(json_object_get(out, "gaits"));
    assert_int_equal(json_integer_value(json_object_get(out, "jump_count")), 1);
    json_decref(out);
    out = NULL;
    json_decref(in);

    /* schema: unknown key, bad unit */
    in = json_pack("{s:s,s:i}", "csv", "time,ax\n", "bogus", 1);
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), KEEL_EINVAL);
    assert_null(out);
    json_decref(in);
    in = json_pack("{s:s,s:s}", "csv", f->csv, "accel_unit", "furlongs");
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), KEEL_EINVAL);
    json_decref(in);

    /* bad data names row and column */
    in = json_pack("{s:s}", "csv", "time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n0.01,0,zz,9.8,0,0,0\n");
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), KEEL_EBADDATA);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "row 2"));
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "'ay'"));
    json_decref(in);
    in = json_pack("{s:s}", "csv", "time,ax,ay,az,gx,gy,gz\n");
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), KEEL_EBADDATA);
    json_decref(in);
    /* neither body nor field */
    in = json_object();
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), KEEL_EINVAL);
    json_decref(in);
    /* options: an unknown key, a value out of range, a wrong type, a
     * non-object — each invalid input naming the key (docs/compute.md
     * "aggregate options") */
    static const char *const bad[][2] = {
        { "{\"halt_rmz\": 1}", "options.halt_rmz: unknown option" },
        { "{\"halt_rms\": 99}", "options.halt_rms: must be a number between 0 and 20" },
        { "{\"rein_rate\": \"fast\"}", "options.rein_rate" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int m = 0; m < 2; m++) {
            in = json_pack("{s:s,s:o}", "csv", f->csv, "options", json_loads(bad[i][0], 0, NULL));
            assert_int_equal(keel__call_root(f->ctx, "compute", m ? "windows" : "aggregate", in, &out),
                             KEEL_EINVAL);
            assert_null(out);
            if (!strstr(keel_ctx_errmsg(f->ctx), bad[i][1]))
                fail_msg("%s: '%s' lacks '%s'", bad[i][0], keel_ctx_errmsg(f->ctx), bad[i][1]);
            json_decref(in);
        }
    }
    in = json_pack("{s:s,s:i}", "csv", f->csv, "options", 3);
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), KEEL_EINVAL);
    json_decref(in);
    /* a good one is used and recorded, in windows' answer too */
    in = json_pack("{s:s,s:{s:f}}", "csv", f->csv, "options", "jump_min_air_s", 1.5);
    assert_int_equal(keel__call_root(f->ctx, "compute", "aggregate", in, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "jump_count")), 0);
    assert_true(json_real_value(json_object_get(json_object_get(out, "options"), "jump_min_air_s")) == 1.5);
    json_decref(out);
    assert_int_equal(keel__call_root(f->ctx, "compute", "windows", in, &out), 0);
    assert_true(json_real_value(json_object_get(json_object_get(out, "options"), "jump_min_air_s")) == 1.5);
    json_decref(out);
    json_decref(in);
}

/* Thresholds travel with the call: the client in another placement gives
 * what the local implementation gives, for a result the options change (a
 * shortest flight longer than the session's ~0.95 s jump: no jump; walk
 * below a 2 m/s^2 halt threshold: halt). */
static void test_placement_options(void **state)
{
    fixture *f = *state;
    compute_params p;
    char err[160];
    json_t *o = json_pack("{s:f,s:f}", "jump_min_air_s", 1.5, "halt_rms", 2.0), *a = NULL, *b = NULL, *d = NULL;
    assert_int_equal(compute_params_from_json(&p, o, err, sizeof err), 0);
    json_decref(o);
    compute_options opt = { .params = &p };
    assert_int_equal(compute_local.aggregate_csv(f->cm, f->ctx, f->csv, f->len, NULL, &d), 0);
    assert_int_equal(compute_local.aggregate_csv(f->cm, f->ctx, f->csv, f->len, &opt, &a), 0);
    assert_int_equal(compute_client.aggregate_csv(f->cm, f->ctx, f->csv, f->len, &opt, &b), 0);
    char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);
    if (strcmp(ta, tb) != 0)
        fail_msg("local and client summaries differ:\n%s\n%s", ta, tb);
    assert_int_equal(json_integer_value(json_object_get(d, "jump_count")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "jump_count")), 0);
    assert_true(json_number_value(compute_summary_path(a, "gaits.halt.time_s")) >
                json_number_value(compute_summary_path(d, "gaits.halt.time_s")));
    /* the typed struct comes back with the thresholds used */
    compute_summary *s = malloc(sizeof *s);
    assert_int_equal(compute_summary_from_json(b, s), 0);
    assert_true(s->params.jump_min_air_s == 1.5 && s->params.halt_rms == 2.0 && s->params.window_s == 4.0);
    free(s);
    /* windows too */
    json_t *wa = NULL, *wb = NULL;
    assert_int_equal(compute_local.windows_csv(f->cm, f->ctx, f->csv, f->len, &opt, &wa), 0);
    assert_int_equal(compute_client.windows_csv(f->cm, f->ctx, f->csv, f->len, &opt, &wb), 0);
    assert_true(json_equal(wa, wb));
    json_decref(wa);
    json_decref(wb);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    json_decref(d);
}

static void test_local_vs_client(void **state)
{
    fixture *f = *state;
    json_t *a = NULL, *b = NULL;
    compute_summary *s1 = malloc(sizeof *s1), *s2 = malloc(sizeof *s2);
    keel_module_ctx *self = NULL;
    const compute_iface *c = keel_iface(f->ctx, "compute", COMPUTE_IFACE_VERSION, &self);

    assert_ptr_equal(c, &compute_local);
    assert_ptr_equal(self, f->cm);
    assert_int_equal(compute_local.aggregate_csv(f->cm, f->ctx, f->csv, f->len, NULL, &a), 0);
    assert_int_equal(compute_client.aggregate_csv(f->cm, f->ctx, f->csv, f->len, NULL, &b), 0);
    assert_true(json_equal(a, b));

    /* arrays in: parse the CSV into columns */
    size_t cap = f->len / 20, n = 0;
    double *col[7];
    for (int k = 0; k < 7; k++)
        col[k] = malloc(cap * sizeof(double));
    const char *p = strchr(f->csv, '\n') + 1, *end = f->csv + f->len;
    while (p < end && n < cap) {
        for (int k = 0; k < 7; k++) {
            const char *nx;
            int isn;
            compute_parse_number(p, end, '.', 0, &col[k][n], &nx, &isn, NULL);
            p = nx + 1;
        }
        n++;
    }
    compute_samples smp = { n, col[0], col[1], col[2], col[3], col[4], col[5], col[6] };
    assert_int_equal(compute_local.aggregate(f->cm, f->ctx, &smp, NULL, s1), 0);
    assert_int_equal(compute_client.aggregate(f->cm, f->ctx, &smp, NULL, s2), 0);
    assert_int_equal(s1->samples, (long long)n);
    assert_int_equal(s2->samples, (long long)n);
    for (int g = 0; g < COMPUTE_NGAITS; g++) {
        double tj = json_number_value(json_object_get(json_object_get(json_object_get(a, "gaits"),
                                      compute_gait_names[g]), "time_s"));
        assert_true(fabs(s1->gaits[g].time_s - tj) < 0.01);
        assert_true(fabs(s2->gaits[g].time_s - tj) < 0.01);
    }
    assert_int_equal(s2->jump_count, 1);
    compute_samples bad = { 3, col[0], NULL, col[2], col[3], col[4], col[5], col[6] };
    assert_int_equal(compute_local.aggregate(f->cm, f->ctx, &bad, NULL, s1), KEEL_EINVAL);
    assert_int_equal(compute_client.aggregate(f->cm, f->ctx, &bad, NULL, s1), KEEL_EINVAL);
    for (int k = 0; k < 7; k++)
        free(col[k]);
    json_decref(a);
    json_decref(b);
    free(s1);
    free(s2);
}

/* in[0..n) as one gzip member appended to out at *len (cap bytes) */
static void gzip_member(const char *in, size_t n, unsigned char *out, size_t cap, size_t *len)
{
    z_stream zs;

    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out + *len;
    zs.avail_out = (uInt)(cap - *len);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len += zs.total_out;
    deflateEnd(&zs);
}

/* Units and thresholds reach compute with the gzip body (as the query of
 * a raw call): the client's summary is the local one with the same options,
 * and differs from the defaults' (the options were not dropped). */
static void test_aggregate_gz_client_options(void **state)
{
    fixture *f = *state;
    size_t cap = f->len + 4096, n = 0;
    unsigned char *gz = malloc(cap);
    compute_params p;
    compute_options opt = { .time_unit = COMPUTE_TIME_S, .accel_unit = COMPUTE_ACCEL_MS2,
                            .params = &p };
    json_t *local = NULL, *client = NULL, *dflt = NULL;

    assert_non_null(gz);
    compute_params_defaults(&p);
    p.window_s = 6.0;
    gzip_member(f->csv, f->len, gz, cap, &n);
    assert_int_equal(compute_local.aggregate_csv(f->cm, f->ctx, f->csv, f->len, &opt, &local), 0);
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, gz, n, f->len, &opt, &client), 0);
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, gz, n, f->len, NULL, &dflt), 0);
    assert_true(json_equal(local, client));
    assert_false(json_equal(client, dflt));
    json_decref(local);
    json_decref(client);
    json_decref(dflt);
    free(gz);
}

/* aggregate_csv_gz (v4) is aggregate_csv of the decoded bytes, whatever the
 * members: one, or two split inside a line (the window carries the half
 * line); a cap on the decoded size, a cut member and bytes that are not
 * gzip are refused; a line longer than the window is an error, not a
 * buffer grown without end. */
static void test_aggregate_gz(void **state)
{
    fixture *f = *state;
    size_t cap = f->len + 4096, n1 = 0, n2 = 0, cut = f->len / 3;
    unsigned char *one = malloc(cap), *two = malloc(cap);
    json_t *plain = NULL, *a = NULL, *b = NULL;
    char *longline;

    assert_non_null(compute_local.aggregate_csv_gz);
    assert_non_null(compute_client.aggregate_csv_gz);
    while (f->csv[cut] != ',')  /* inside a row */
        cut++;
    gzip_member(f->csv, f->len, one, cap, &n1);
    gzip_member(f->csv, cut, two, cap, &n2);
    gzip_member(f->csv + cut, f->len - cut, two, cap, &n2);
    assert_int_equal(compute_local.aggregate_csv(f->cm, f->ctx, f->csv, f->len, NULL, &plain), 0);
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, one, n1, f->len, NULL, &a), 0);
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, two, n2, 0, NULL, &b), 0);
    assert_true(json_equal(plain, a));
    assert_true(json_equal(plain, b));
    json_decref(a);
    json_decref(b);
    /* the client (what a process with compute placed elsewhere holds) hands
     * the bytes to keel_client_call_raw: here compute is in the process, so
     * they take the gateway's gzip decoding into the JSON handler */
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, two, n2, 0, NULL, &a), 0);
    assert_true(json_equal(plain, a));
    json_decref(a);
    a = NULL;
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, one, n1 - 9, 0, NULL, &a),
                     KEEL_EBADDATA);
    assert_null(a);
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, f->csv, f->len, 0, NULL, &a),
                     KEEL_EBADDATA);
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, NULL, 0, 0, NULL, &a),
                     KEEL_EINVAL);
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, one, n1, f->len - 1, NULL, &a),
                     KEEL_ETOOBIG);
    assert_null(a);
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, one, n1 - 9, 0, NULL, &a),
                     KEEL_EBADDATA);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "gzip"));
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, f->csv, f->len, 0, NULL, &a),
                     KEEL_EBADDATA);
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, one, 0, 0, NULL, &a),
                     KEEL_EBADDATA);
    /* the header, then one row of 2 MiB */
    longline = malloc(2u << 20);
    memcpy(longline, "time,ax,ay,az,gx,gy,gz\n", 23);
    memset(longline + 23, '1', (2u << 20) - 23);
    n1 = 0;
    gzip_member(longline, 2u << 20, one, cap, &n1);
    assert_int_equal(compute_local.aggregate_csv_gz(f->cm, f->ctx, one, n1, 0, NULL, &a),
                     KEEL_EBADDATA);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "longer than"));
    free(longline);
    json_decref(plain);
    free(one);
    free(two);
}

/* Epoch timestamps with fractions and full-precision samples give the same
 * summary, bit for bit, whether compute runs in-process or behind the
 * client (which once printed samples with %.10g: 1733312345.01 became
 * 1733312345 and every row after the first was dropped as non-monotonic). */
static void test_placement_identical_epoch(void **state)
{
    fixture *f = *state;
    compute_summary *s1 = malloc(sizeof *s1), *s2 = malloc(sizeof *s2);
    size_t n = 6000;
    double *col[7];
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int k = 0; k < 7; k++)
        col[k] = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0; /* [0,1) */
        double ph = 2 * M_PI * 1.4 * (double)i / 100.0;
        col[0][i] = 1733312345.0 + (double)i / 100.0 + (u - 0.5) * 1e-3;
        col[1][i] = 0.7 * cos(ph) + u * 1e-3 / 3.0;
        col[2][i] = 1.1 * sin(ph / 2) - u / 7.0;
        col[3][i] = 9.80665 + 4.5 * cos(2 * ph) + u / 3.0;
        col[4][i] = 0.25 * cos(ph / 2) + u / 1000.0;
        col[5][i] = 0.2 * cos(ph) / 3.0;
        col[6][i] = 0.3 + u * 1e-4 / 7.0;
    }
    col[3][17] = NAN;
    compute_samples smp = { n, col[0], col[1], col[2], col[3], col[4], col[5], col[6] };
    assert_int_equal(compute_local.aggregate(f->cm, f->ctx, &smp, NULL, s1), 0);
    assert_int_equal(compute_client.aggregate(f->cm, f->ctx, &smp, NULL, s2), 0);
    assert_int_equal(s1->samples, (long long)n);
    assert_int_equal(s2->samples, (long long)n);
    assert_int_equal(s2->dropped_rows, 0);
    json_t *a = compute_summary_json(s1), *b = compute_summary_json(s2);
    char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);
    if (strcmp(ta, tb) != 0)
        fail_msg("local and client summaries differ:\n%s\n%s", ta, tb);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    for (int k = 0; k < 7; k++)
        free(col[k]);
    free(s1);
    free(s2);
}

static void test_synth_method(void **state)
{
    fixture *f = *state;
    json_t *out = NULL;
    json_t *in = json_pack("{s:s,s:i,s:f}", "plan", "walk:10,jump:0.8", "seed", 3, "rate", 50.0);
    assert_int_equal(keel__call_root(f->ctx, "compute", "synth", in, &out), 0);
    const char *csv = json_string_value(json_object_get(out, "csv"));
    assert_non_null(csv);
    assert_memory_equal(csv, "time,ax,ay,az,gx,gy,gz\n", 23);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "truth"), "jump_count")), 1);
    json_decref(out);
    out = NULL;
    json_decref(in);
    in = json_pack("{s:s}", "plan", "swim:10");
    assert_int_equal(keel__call_root(f->ctx, "compute", "synth", in, &out), KEEL_EINVAL);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "swim"));
    json_decref(in);
    in = json_pack("{s:s,s:f}", "plan", "walk:86400", "rate", 1000.0);
    assert_int_equal(keel__call_root(f->ctx, "compute", "synth", in, &out), KEEL_ELIMIT);
    json_decref(in);
}

static void test_trend(void **state)
{
    fixture *f = *state;
    json_t *sessions = json_array(), *out = NULL;
    char *nd = NULL;
    size_t ndlen = 0;
    FILE *mf = open_memstream(&nd, &ndlen);

    for (int i = 0; i < 4; i++) {
        json_t *sum = NULL;
        char date[16];
        assert_int_equal(compute_local.aggregate_csv(f->cm, f->ctx, f->csv, f->len, NULL, &sum), 0);
        snprintf(date, sizeof date, "2026-01-0%d", i + 1);
        json_t *s = json_pack("{s:i,s:s,s:o}", "horse_id", 7, "date", date, "summary", sum);
        json_dumpf(s, mf, JSON_COMPACT);
        fputc('\n', mf);
        json_array_append_new(sessions, s);
    }
    fclose(mf);
    assert_int_equal(compute_local.trend(f->cm, f->ctx, sessions, &out), 0);
    assert_true(json_is_array(json_object_get(out, "horses")));
    json_t *o2 = NULL;
    assert_int_equal(compute_client.trend(f->cm, f->ctx, sessions, &o2), 0);
    assert_true(json_equal(out, o2));
    json_decref(o2);
    o2 = NULL;
    json_t *in = json_pack("{s:s}", "ndjson", nd);
    assert_int_equal(keel__call_root(f->ctx, "compute", "trend", in, &o2), 0);
    assert_true(json_equal(out, o2));
    json_decref(in);
    json_decref(o2);
    o2 = NULL;
    in = json_pack("{s:s}", "ndjson", "{\"horse_id\":1}\nnot json\n");
    assert_int_equal(keel__call_root(f->ctx, "compute", "trend", in, &o2), KEEL_EBADDATA);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "line 2"));
    json_decref(in);
    json_decref(out);
    json_decref(sessions);
    free(nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_handler_aggregate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placement_identical_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placement_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_vs_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregate_gz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregate_gz_client_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synth_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trend, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
