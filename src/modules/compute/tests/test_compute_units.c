/*
 * test_compute_units.c — units and channels of real exports: accelerometer
 * only, µs/ns timestamps, units from the header, a units row or magnitudes
 * (and an option over both), the summary's JSON round trip, and a 3 h
 * session streamed through a 64 KiB window.
 */
#include "input_util.h"
#include "footfall.h"

/* ---- 3 h at 100 Hz, generated and parsed through a 64 KiB window --------- */

typedef struct sink {
    compute_csv p;
    char buf[1 << 16];
    size_t have;
    int failed;
} sink;

/* An accelerometer-only export (time and three accelerations, no rate
 * columns): accepted; gaits from synth's truth; rein, lead and symmetry
 * null, assumed.missing names the absent channels.  One or two rate columns
 * of three is still a missing column. */
static void test_accel_only(void **state)
{
    (void)state;
    compute_synth_opts o = { .seed = 21, .plan = "walk:60,trot-left:60,canter-right:60,jump:1.0,halt:20",
                             .rate_hz = 100, .noise = 1, .drift = 1 };
    char *csv = NULL, err[320] = "";
    size_t len = 0;
    json_t *truth = NULL;
    assert_int_equal(compute_synth_buffer(&o, &csv, &len, &truth, err, sizeof err), 0);
    /* keep the first four cells of every line */
    char *out = malloc(len + 1), *w = out;
    for (const char *p = csv; p < csv + len;) {
        const char *nl = memchr(p, '\n', (size_t)(csv + len - p));
        const char *c = p;
        for (int k = 0; k < 4; k++)
            c = (const char *)memchr(c, ',', (size_t)(nl - c)) + 1;
        memcpy(w, p, (size_t)(c - 1 - p));
        w += c - 1 - p;
        *w++ = '\n';
        p = nl + 1;
    }
    compute_summary *s = malloc(sizeof *s);
    assert_int_equal(agg(out, (size_t)(w - out), s, err, sizeof err), 0);
    assert_int_equal(s->no_gyro, 1);
    double D = s->duration_s;
    const json_t *tg = json_object_get(truth, "gaits");
    for (int g = 0; g < COMPUTE_NGAITS; g++) {
        double tt = json_number_value(json_object_get(json_object_get(tg, compute_gait_names[g]), "time_s"));
        if (fabs(s->gaits[g].time_s - tt) / D * 100 > 5)
            fail_msg("accel-only %s time %.1f vs truth %.1f", compute_gait_names[g], s->gaits[g].time_s, tt);
    }
    assert_int_equal(s->jump_count, 1);
    json_t *js = compute_summary_json(s);
    assert_true(json_is_null(json_object_get(js, "rein")));
    assert_true(json_is_null(json_object_get(js, "canter_lead")));
    assert_true(json_is_null(json_object_get(js, "trot_symmetry_pct")));
    json_t *miss = json_object_get(json_object_get(js, "assumed"), "missing");
    assert_int_equal(json_array_size(miss), 3);
    assert_string_equal(json_string_value(json_array_get(miss, 0)), "gx");
    /* and back: the client reads a null rein as accelerometer-only */
    compute_summary *s2 = malloc(sizeof *s2);
    assert_int_equal(compute_summary_from_json(js, s2), 0);
    assert_int_equal(s2->no_gyro, 1);
    json_decref(js);
    /* a file with rate columns says so: missing is empty */
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    js = compute_summary_json(s);
    assert_int_equal(json_array_size(json_object_get(json_object_get(js, "assumed"), "missing")), 0);
    assert_true(json_is_object(json_object_get(js, "rein")));
    json_decref(js);
    const char *t = "time,ax,ay,az,gz\n0,0,0,9.8,0\n";
    expect_bad(t, strlen(t), "missing required column 'gx'");
    free(s2);
    free(s);
    free(out);
    free(csv);
    json_decref(truth);
}

/* Microsecond and nanosecond timestamps (since boot or the epoch) are
 * detected: a step of thousands read as ms would be an implausible rate. */
static void test_time_us_ns(void **state)
{
    (void)state;
    static const struct { double t0, step; const char *unit; } cases[] = {
        { 0, 10000, "us" }, { 1733312345000000.0, 10000, "us" }, { 0, 1e7, "ns" },
        { 0, 10, "ms" }, { 1733312345.0, 0.01, "s" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t cap = 64 + 600 * 80, n = 0;
        char *b = malloc(cap);
        n += (size_t)snprintf(b + n, cap - n, "time,ax,ay,az,gx,gy,gz\n");
        for (int i = 0; i < 600; i++)
            n += (size_t)snprintf(b + n, cap - n, "%.17g,0.1,0.2,9.8,0.01,0,0\n",
                                  cases[c].t0 + i * cases[c].step);
        compute_summary *s = malloc(sizeof *s);
        char err[320] = "";
        if (agg(b, n, s, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[c].unit, err);
        assert_string_equal(s->time_unit, cases[c].unit);
        assert_true(fabs(s->rate_hz - 100) < 0.01);
        assert_true(fabs(s->duration_s - 5.99) < 1e-6);
        free(s);
        free(b);
    }
}

static void test_units_detected_and_forced(void **state)
{
    size_t l1, l2;
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320];
    (void)state;
    char *c1 = synth(plan, 100, 0, 0, 0, 0, &l1);
    char *c2 = synth(plan, 100, 1, 1, 1, 0, &l2);
    assert_int_equal(agg(c1, l1, a, err, sizeof err), 0);
    assert_string_equal(a->time_unit, "s");
    assert_string_equal(a->accel_unit, "m/s2");
    assert_string_equal(a->gyro_unit, "rad/s");
    /* header says time_ms; g and deg/s are detected from magnitudes */
    assert_int_equal(agg(c2, l2, b, err, sizeof err), 0);
    assert_string_equal(b->time_unit, "ms");
    assert_string_equal(b->accel_unit, "g");
    assert_string_equal(b->gyro_unit, "deg/s");
    assert_string_equal(b->time_src, "header");
    assert_string_equal(b->accel_src, "detected");
    assert_string_equal(b->gyro_src, "detected");
    same_summary(a, b, 0.01);
    /* rename time_ms → t: ms detected from the step size */
    memset(c2, ' ', 7); /* rename the header cell "time_ms" */
    c2[0] = 't';
    assert_int_equal(agg(c2, l2, b, err, sizeof err), 0);
    assert_string_equal(b->time_unit, "ms");
    /* an explicit option wins over detection */
    compute_options o = { .accel_unit = COMPUTE_ACCEL_MS2 };
    assert_int_equal(compute_aggregate_buffer(c2, l2, &o, b, err, sizeof err), 0);
    assert_string_equal(b->accel_unit, "m/s2");
    assert_string_equal(b->accel_src, "option");
    free(c1);
    free(c2);
    free(a);
    free(b);
}

/* Exports with a units row under the header; implausible rates. */
/* ff's samples as CSV text, rates multiplied by wscale and offset by wbias
 * (a zero-rate offset, in the written unit). */
static char *ff_csv(const ff_data *d, double wscale, const double wbias[3], size_t *len)
{
    size_t cap = 64 + d->n * 120, n = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    n += (size_t)snprintf(b, cap, "t,ax,ay,az,gx,gy,gz\n");
    for (size_t i = 0; i < d->n; i++)
        n += (size_t)snprintf(b + n, cap - n, "%.6f,%.5f,%.5f,%.5f,%.6f,%.6f,%.6f\n", d->t[i],
                              d->a[0][i], d->a[1][i], d->a[2][i], d->w[0][i] * wscale + wbias[0],
                              d->w[1][i] * wscale + wbias[1], d->w[2][i] * wscale + wbias[2]);
    *len = n;
    return b;
}

/* The rate unit when the first 8192 rows are a calm walk on a circle: a
 * pony's sensor at 440 Hz holds 9 s of halt and 10 s of walk on a 10 m
 * circle there, |a| varies little and the rates are ~0.16 rad/s — what a
 * standing horse's sensor reads in deg/s.  Was read as deg/s (every rate
 * 57x too small: the whole session straight).  The turn is about the
 * vertical, an offset is not: rad/s.  The same session written in deg/s
 * is still deg/s, and so is a standing start in deg/s with a zero-rate
 * offset of a cheap gyro (0.4, -0.3, 0.2 deg/s). */
static void test_rate_unit_on_a_calm_circle(void **state)
{
    static const ff_seg circle[] = {
        { FF_HALT, 9, 1, 1, 0, 10, 0, 0, 1, 0, 0, 0 },
        { FF_WALK, 60, 0.98, 0.98, 1, 10, 0, 0, 1, 0, 0, 0 },
        { FF_TROT, 40, 1.55, 1.55, -1, 12, 0, 0, 1, 0, 0, 0 },
        { FF_WALK, 30, 0.98, 0.98, 0, 10, 0, 0, 1, 0, 0, 0 },
    };
    static const ff_seg still[] = {
        { FF_HALT, 30, 1, 1, 0, 10, 0, 0, 1, 0, 0, 0 },
        { FF_WALK, 40, 0.98, 0.98, 1, 10, 0, 0, 1, 0, 0, 0 },
    };
    const ff_opts o = { 74, 440, 0.1, 0, 1, 12, -14, 120, 0.3, 0.015, 0.0005, 0 };
    const double none[3] = { 0, 0, 0 }, offset[3] = { 0.4, -0.3, 0.2 };
    ff_data d;
    ff_truth tr;
    size_t len;
    char err[320];
    compute_summary *s = malloc(sizeof *s);
    (void)state;

    assert_int_equal(ff_generate(circle, 4, &o, &d, &tr), 0);
    char *csv = ff_csv(&d, 1, none, &len);
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    assert_string_equal(s->gyro_unit, "rad/s");
    /* the rates count: the circles are found (rein within 5 % of the session) */
    assert_true(fabs(s->rein_left_s - tr.rein_l) < 0.05 * tr.duration);
    assert_true(fabs(s->rein_right_s - tr.rein_r) < 0.05 * tr.duration);
    free(csv);
    csv = ff_csv(&d, 180 / M_PI, none, &len);
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    assert_string_equal(s->gyro_unit, "deg/s");
    assert_true(fabs(s->rein_left_s - tr.rein_l) < 0.05 * tr.duration);
    free(csv);
    ff_free(&d);

    assert_int_equal(ff_generate(still, 2, &o, &d, &tr), 0);
    csv = ff_csv(&d, 180 / M_PI, offset, &len);
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    assert_string_equal(s->gyro_unit, "deg/s");
    free(csv);
    ff_free(&d);
    free(s);
}

static void test_units_row_and_rate(void **state)
{
    size_t len, n;
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320] = "", *out = NULL;
    size_t olen = 0;
    (void)state;
    char *csv = synth(plan, 100, 0, 1, 1, 0, &len); /* g and deg/s */
    assert_int_equal(agg(csv, len, a, err, sizeof err), 0);
    char **ls = lines_of(csv, len, &n);
    FILE *f = open_memstream(&out, &olen);
    fprintf(f, "%s\n[s],g,g,g,deg/s,deg/s,deg/s\n", ls[0]);
    for (size_t i = 1; i < n; i++)
        fprintf(f, "%s\n", ls[i]);
    fclose(f);
    assert_int_equal(agg(out, olen, b, err, sizeof err), 0);
    assert_string_equal(b->accel_unit, "g");
    assert_string_equal(b->gyro_unit, "deg/s");
    assert_int_equal(b->samples, a->samples);
    same_summary(a, b, 0);
    /* a units row that contradicts the column is not one: bad data */
    out[strlen(ls[0]) + 5] = 'x'; /* "[s],g," → "[s],x," (the text stays terminated) */
    assert_int_equal(agg(out, olen, b, err, sizeof err), KEEL_EBADDATA);
    assert_non_null(strstr(err, "row 1"));
    free(out);
    /* time in µs read as ms: 0.1 Hz is refused with a hint */
    const char *t = "t_ms,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n10000,0,0,9.8,0,0,0\n20000,0,0,9.8,0,0,0\n";
    assert_int_equal(agg(t, strlen(t), b, err, sizeof err), KEEL_EBADDATA);
    assert_non_null(strstr(err, "implausible sample rate"));
    free_lines(ls);
    free(csv);
    free(a);
    free(b);
}

static void test_summary_json_roundtrip(void **state)
{
    size_t len;
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320];
    (void)state;
    char *csv = synth(plan, 100, 0, 0, 0, 0, &len);
    assert_int_equal(agg(csv, len, a, err, sizeof err), 0);
    json_t *j = compute_summary_json(a);
    assert_non_null(j);
    static const char *const keys[] = { "duration_s", "samples", "rate_hz", "quality", "assumed",
        "gaits", "rein", "trot_symmetry_pct", "canter_lead", "jumps", "jump_count", "intensity", NULL };
    for (int i = 0; keys[i]; i++)
        assert_non_null(json_object_get(j, keys[i]));
    assert_int_equal(compute_summary_from_json(j, b), 0);
    same_summary(a, b, 0.001);
    assert_string_equal(b->accel_unit, a->accel_unit);
    assert_string_equal(b->gyro_src, a->gyro_src);
    json_object_del(j, "rein");
    assert_int_equal(compute_summary_from_json(j, b), KEEL_EBADDATA);
    json_decref(j);
    free(csv);
    free(a);
    free(b);
}

static ssize_t sink_write(void *cookie, const char *data, size_t n)
{
    sink *s = cookie;
    size_t done = 0;
    while (done < n) {
        size_t take = sizeof s->buf - s->have;
        if (take > n - done)
            take = n - done;
        memcpy(s->buf + s->have, data + done, take);
        s->have += take;
        done += take;
        long long used = compute_csv_feed(&s->p, s->buf, s->have, 0);
        if (used < 0) {
            s->failed = 1;
            return -1;
        }
        memmove(s->buf, s->buf + used, s->have - (size_t)used);
        s->have -= (size_t)used;
    }
    return (ssize_t)n;
}

static void test_long_session_streamed(void **state)
{
    compute_synth_opts o = { .seed = 5, .rate_hz = 100, .noise = 1, .drift = 1,
        .plan = "walk:1200,trot-left:1800,canter-left:600,trot-right:1800,canter-right:600,"
                "gallop:300,walk:1200,trot:1500,jump:1.0,halt:600,walk:1200" };
    char err[320];
    json_t *truth = NULL;
    compute_summary *s = malloc(sizeof *s);
    sink *k = calloc(1, sizeof *k);
    compute_agg *g = compute_agg_new(NULL);
    (void)state;
    compute_csv_init(&k->p, g);
    cookie_io_functions_t io = { .write = sink_write };
    FILE *f = fopencookie(k, "w", io);
    assert_non_null(f);
    assert_int_equal(compute_synth(&o, f, &truth, err, sizeof err), 0);
    fclose(f);
    assert_false(k->failed);
    assert_true(compute_csv_feed(&k->p, k->buf, k->have, 1) >= 0);
    assert_int_equal(compute_agg_finish(g, s, err, sizeof err), 0);
    double D = json_number_value(json_object_get(truth, "duration_s"));
    assert_true(D > 10800);
    assert_true(fabs(s->duration_s - D) < 0.01);
    assert_int_equal(s->samples, (long long)llround(D * 100) + 1);
    const json_t *tg = json_object_get(truth, "gaits");
    for (int i = 0; i < COMPUTE_NGAITS; i++) {
        double t = json_number_value(json_object_get(json_object_get(tg, compute_gait_names[i]), "time_s"));
        if (fabs(s->gaits[i].time_s - t) > 0.05 * D)
            fail_msg("%s: %.0f s vs %.0f s", compute_gait_names[i], s->gaits[i].time_s, t);
    }
    assert_int_equal(s->jump_count, 1);
    json_decref(truth);
    compute_agg_free(g);
    free(k);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accel_only),
        cmocka_unit_test(test_time_us_ns),
        cmocka_unit_test(test_units_detected_and_forced),
        cmocka_unit_test(test_units_row_and_rate),
        cmocka_unit_test(test_rate_unit_on_a_calm_circle),
        cmocka_unit_test(test_summary_json_roundtrip),
        cmocka_unit_test(test_long_session_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
