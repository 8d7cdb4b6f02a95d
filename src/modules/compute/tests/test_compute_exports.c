/*
 * test_compute_exports.c — inputs real users have (issue 16): linear
 * acceleration (gravity removed), accelerations in mg, quoted numbers with a
 * decimal comma, a clock reset mid-file, a channel empty for longer than the
 * hold, an all-NaN column.  Each case rewrites a synthetic session whose
 * truth is known; the expected values come from that truth or from the
 * physics of the rewrite (a unit change or a restarted clock changes
 * nothing the horse did), never from the implementation's own output.
 */
#include "input_util.h"

static const char *const plan3 = "walk:60,trot-left:60,canter-right:60,jump:1.0,halt:20";

typedef struct rows {
    size_t n;
    double (*v)[7];
} rows;

/* a synthetic session of plan at rate as numbers (7 columns), plus its truth */
static rows session_of(uint64_t seed, const char *pl, double rate, double roll, double pitch,
                       json_t **truth)
{
    compute_synth_opts o = { .seed = seed, .plan = pl, .rate_hz = rate, .noise = 1, .drift = 1,
                             .roll_deg = roll, .pitch_deg = pitch };
    char *csv = NULL, err[320];
    size_t len = 0;
    rows r = { 0, NULL };
    assert_int_equal(compute_synth_buffer(&o, &csv, &len, truth, err, sizeof err), 0);
    r.v = malloc(sizeof *r.v * (len / 20 + 1));
    assert_non_null(r.v);
    const char *p = (const char *)memchr(csv, '\n', len) + 1, *end = csv + len;
    while (p < end) {
        char *e;
        for (int k = 0; k < 7; k++) {
            r.v[r.n][k] = strtod(p, &e);
            p = e + 1;
        }
        r.n++;
    }
    free(csv);
    return r;
}

static rows session(uint64_t seed, double roll, double pitch, json_t **truth)
{
    return session_of(seed, plan3, 100, roll, pitch, truth);
}

/* writes rows back as CSV; cell(k, x) formats one cell into buf */
typedef void (*cell_fn)(int row, int k, double x, char *buf, size_t cap);

static void plain_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    (void)k;
    snprintf(buf, cap, "%.9g", x);
}

static char *write_csv(const rows *r, const char *header, cell_fn cell, size_t *len)
{
    char *out = NULL, c[64];
    FILE *f = open_memstream(&out, len);
    assert_non_null(f);
    fprintf(f, "%s\n", header);
    for (size_t i = 0; i < r->n; i++) {
        for (int k = 0; k < 7; k++) {
            cell((int)i, k, r->v[i][k], c, sizeof c);
            fprintf(f, "%s%s", k ? "," : "", c);
        }
        fputc('\n', f);
    }
    fclose(f);
    return out;
}

static double truth_gait(const json_t *truth, int g, const char *field)
{
    return json_number_value(json_object_get(json_object_get(json_object_get(truth, "gaits"),
                                                              compute_gait_names[g]), field));
}

static void near_truth(const compute_summary *s, const json_t *truth, const char *what)
{
    double D = json_number_value(json_object_get(truth, "duration_s"));
    for (int g = 0; g < COMPUTE_NGAITS; g++) {
        double tt = truth_gait(truth, g, "time_s"), tc = truth_gait(truth, g, "cadence_spm");
        if (fabs(s->gaits[g].time_s - tt) > 0.05 * D)
            fail_msg("%s: %s time %.1f s, truth %.1f s", what, compute_gait_names[g], s->gaits[g].time_s, tt);
        if (tt > 20 && tc > 0 && fabs(s->gaits[g].cadence_spm - tc) > 2)
            fail_msg("%s: %s cadence %.1f, truth %.1f", what, compute_gait_names[g], s->gaits[g].cadence_spm, tc);
    }
    assert_int_equal(s->jump_count, 1);
}

/* ---- mg -------------------------------------------------------------------- */

static void mg_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    snprintf(buf, cap, "%.9g", k >= 1 && k <= 3 ? x * 1000.0 / COMPUTE_G : x);
}

static void test_mg(void **state)
{
    json_t *truth = NULL;
    rows r = session(31, 0, 0, &truth);
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320] = "";
    size_t l1, l2;
    (void)state;
    char *ms2 = write_csv(&r, "time,ax,ay,az,gx,gy,gz", plain_cell, &l1);
    char *mg = write_csv(&r, "time,ax,ay,az,gx,gy,gz", mg_cell, &l2);
    assert_int_equal(agg(ms2, l1, a, err, sizeof err), 0);
    /* detected: gravity reads ~1000 */
    assert_int_equal(agg(mg, l2, b, err, sizeof err), 0);
    assert_string_equal(b->accel_unit, "mg");
    assert_string_equal(b->accel_src, "detected");
    same_summary(a, b, 0.005);
    assert_true(fabs(a->mdba - b->mdba) < 0.01 * a->mdba);
    near_truth(b, truth, "mg");
    free(mg);
    /* declared by the header */
    mg = write_csv(&r, "time,ax (mg),ay (mg),az (mg),gx,gy,gz", mg_cell, &l2);
    assert_int_equal(agg(mg, l2, b, err, sizeof err), 0);
    assert_string_equal(b->accel_unit, "mg");
    assert_string_equal(b->accel_src, "header");
    same_summary(a, b, 0.005);
    free(mg);
    mg = write_csv(&r, "time,acc_x_mg,acc_y_mg,acc_z_mg,gx,gy,gz", mg_cell, &l2);
    assert_int_equal(agg(mg, l2, b, err, sizeof err), 0);
    assert_string_equal(b->accel_src, "header");
    assert_string_equal(b->accel_unit, "mg");
    json_t *j = compute_summary_json(b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "assumed"), "accel_unit")), "mg");
    assert_int_equal(compute_summary_from_json(j, a), 0);
    assert_string_equal(a->accel_unit, "mg");
    json_decref(j);
    free(mg);
    free(ms2);
    free(r.v);
    json_decref(truth);
    free(a);
    free(b);
}

/* ---- linear acceleration ----------------------------------------------------- */

static double g_mean[3];

static void linear_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    snprintf(buf, cap, "%.9g", k >= 1 && k <= 3 ? x - g_mean[k - 1] : x);
}

static void set_g_mean(const rows *r)
{
    memset(g_mean, 0, sizeof g_mean);
    for (size_t i = 0; i < r->n; i++)
        for (int k = 0; k < 3; k++)
            g_mean[k] += r->v[i][1 + k] / (double)r->n;
}

static void linear_deg_cell(int row, int k, double x, char *buf, size_t cap)
{
    if (k >= 4)
        snprintf(buf, cap, "%.9g", x * 180 / M_PI);
    else
        linear_cell(row, k, x, buf, cap);
}

/* A fusion logger's "linear acceleration" is the specific force minus
 * gravity.  Over a session a trunk's mean specific force is gravity (the
 * horse ends where it started, vertically), so subtracting the file's mean
 * vector gives that export, and the mean's direction is the true vertical in
 * sensor axes (here tilted 15° roll, 10° pitch). */
static void test_linear_acceleration(void **state)
{
    json_t *truth = NULL;
    rows r = session(33, 15, 10, &truth);
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    size_t len;
    (void)state;
    set_g_mean(&r);
    double gm = sqrt(g_mean[0] * g_mean[0] + g_mean[1] * g_mean[1] + g_mean[2] * g_mean[2]);
    assert_true(fabs(gm - COMPUTE_G) < 0.3);
    char *csv = write_csv(&r, "time,ax,ay,az,gx,gy,gz", linear_cell, &len);
    if (agg(csv, len, s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(s->linear, 1);
    assert_string_equal(s->accel_unit, "m/s2");
    double dot = 0;
    for (int k = 0; k < 3; k++)
        dot += s->vertical[k] * g_mean[k] / gm;
    if (dot < cos(15 * M_PI / 180))
        fail_msg("vertical (%.3f %.3f %.3f) is %.1f° from the true one", s->vertical[0],
                 s->vertical[1], s->vertical[2], acos(dot) * 180 / M_PI);
    near_truth(s, truth, "linear");
    double rein_l = json_number_value(json_object_get(json_object_get(truth, "rein"), "left_s"));
    assert_true(fabs(s->rein_left_s - rein_l) < 0.05 * s->duration_s);
    json_t *j = compute_summary_json(s);
    const json_t *as = json_object_get(j, "assumed");
    assert_string_equal(json_string_value(json_object_get(as, "gravity")), "removed");
    assert_int_equal(json_array_size(json_object_get(as, "vertical")), 3);
    json_decref(j);
    free(csv);
    /* the rates in deg/s: still read as deg/s past the hold (the trot's
     * rates decide the unit again there), and the reins the same */
    double left = s->rein_left_s, right = s->rein_right_s;
    csv = write_csv(&r, "time,ax,ay,az,gx,gy,gz", linear_deg_cell, &len);
    if (agg(csv, len, s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(s->gyro_unit, "deg/s");
    assert_true(fabs(s->rein_left_s - left) < 0.01 * s->duration_s);
    assert_true(fabs(s->rein_right_s - right) < 0.01 * s->duration_s);
    free(csv);
    /* the same session with gravity in it says so */
    csv = write_csv(&r, "time,ax,ay,az,gx,gy,gz", plain_cell, &len);
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    assert_int_equal(s->linear, 0);
    j = compute_summary_json(s);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "assumed"), "gravity")), "included");
    assert_true(json_is_null(json_object_get(json_object_get(j, "assumed"), "vertical")));
    json_decref(j);
    free(csv);
    free(r.v);
    json_decref(truth);
    free(s);
}

/* A synthetic session of plan at rate (tilted 10 and 5 degrees) written
 * by cell with its mean removed, aggregated into s, which must read it as
 * linear acceleration; its row count. */
static size_t linear_session(uint64_t seed, const char *pl, double rate, cell_fn cell,
                             compute_summary *s, json_t **truth)
{
    char err[320] = "";
    size_t len;
    rows r = session_of(seed, pl, rate, 10, 5, truth);
    set_g_mean(&r);
    char *csv = write_csv(&r, "time,ax,ay,az,gx,gy,gz", cell, &len);
    if (agg(csv, len, s, err, sizeof err) != 0)
        fail_msg("%s: %s", pl, err);
    assert_int_equal(s->linear, 1);
    free(csv);
    free(r.v);
    return r.n;
}

/* Linear input is held past detection until a trot or canter shows which
 * way is up (aggregate_rows.c, hold_linear), for at most LINEAR_HOLD_MAX
 * rows.  A session that never shows it: every row still counted and the
 * gaits still read, whether the input ends inside the hold (30 s at 100 Hz)
 * or runs past its cap (410 s at 440 Hz, 180,400 rows). */
static void test_linear_without_suspension(void **state)
{
    static const struct { const char *plan; double rate; } c[] = {
        { "halt:5,walk:25", 100 }, { "halt:10,walk:400", 440 } };
    compute_summary *s = malloc(sizeof *s);
    (void)state;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        json_t *truth = NULL;
        size_t n = linear_session(37 + i, c[i].plan, c[i].rate, linear_cell, s, &truth);
        assert_int_equal(s->samples, (long long)n);
        double D = json_number_value(json_object_get(truth, "duration_s"));
        for (int g = 0; g < COMPUTE_NGAITS; g++) {
            double tt = truth_gait(truth, g, "time_s");
            if (fabs(s->gaits[g].time_s - tt) > 0.05 * D)
                fail_msg("%s: %s time %.1f s, truth %.1f s", c[i].plan, compute_gait_names[g],
                         s->gaits[g].time_s, tt);
        }
        json_decref(truth);
    }
    free(s);
}

/* The rate unit of a linear file decided again past the hold (aggregate_
 * detect.c, compute_agg_gyro_redetect), in deg/s:
 *  - a halt whose gyro reads 0.01 deg/s looks like rad/s at first; the
 *    trot's 60-110 deg/s after it must not be cut at rad/s's range while
 *    held (901 cells read as corrupt before the held range was widened);
 *  - after a 1300 s halt (deg/s at first, by the standstill rule) a 10 s
 *    trot is under 1 % of the held rows: over all of them the halt's noise
 *    turned the unit to rad/s. */
static int quiet_until;     /* rows before this: the rates nearly still */
/* rows from this (the trot): the rates five times the synthetic trunk's
 * (whose trot turns at under 0.3 rad/s), a trotting trunk's 60-110 deg/s */
static int trot_from;

static void linear_deg_quiet_cell(int row, int k, double x, char *buf, size_t cap)
{
    if (k >= 4)
        snprintf(buf, cap, "%.9g", row < quiet_until ? 0.01 * ((row + k) % 3 - 1)
                                   : (row >= trot_from ? 5 : 1) * x * 180 / M_PI);
    else
        linear_cell(row, k, x, buf, cap);
}

static void test_linear_rate_unit(void **state)
{
    static const struct { const char *plan; int quiet, trot; } c[] = {
        { "halt:100,trot:60,walk:20", 10000, 10000 }, { "halt:1300,trot:10", 0, 130000 } };
    compute_summary *s = malloc(sizeof *s);
    (void)state;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        json_t *truth = NULL;
        quiet_until = c[i].quiet;
        trot_from = c[i].trot;
        (void)linear_session(41 + i, c[i].plan, 100, linear_deg_quiet_cell, s, &truth);
        if (strcmp(s->gyro_unit, "deg/s") != 0)
            fail_msg("%s: rates read as %s", c[i].plan, s->gyro_unit);
        if (s->nan_cells != 0)
            fail_msg("%s: %lld cells read as corrupt", c[i].plan, s->nan_cells);
        double D = json_number_value(json_object_get(truth, "duration_s"));
        double tt = truth_gait(truth, COMPUTE_TROT, "time_s");
        if (fabs(s->gaits[COMPUTE_TROT].time_s - tt) > 0.05 * D)
            fail_msg("%s: trot %.1f s, truth %.1f s", c[i].plan, s->gaits[COMPUTE_TROT].time_s, tt);
        json_decref(truth);
    }
    free(s);
}

/* ---- quoted numbers ---------------------------------------------------------- */

static void quoted_comma_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    (void)k;
    snprintf(buf, cap, "\"%.6f\"", x);
    for (char *c = buf; *c; c++)
        if (*c == '.')
            *c = ',';
}

static void quoted_dot_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    (void)k;
    snprintf(buf, cap, "\" %.6f\"", x);
}

static void six_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    (void)k;
    snprintf(buf, cap, "%.6f", x);
}

static void test_quoted_numbers(void **state)
{
    rows r = session(35, 0, 0, NULL);
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320] = "";
    size_t l0, l1;
    (void)state;
    char *plain = write_csv(&r, "time,ax,ay,az,gx,gy,gz", six_cell, &l0);
    assert_int_equal(agg(plain, l0, a, err, sizeof err), 0);
    /* "1,5" in a ','-separated file: the spreadsheet quoted a decimal comma */
    char *q = write_csv(&r, "time,ax,ay,az,gx,gy,gz", quoted_comma_cell, &l1);
    if (agg(q, l1, b, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(b->decimal, ',');
    assert_int_equal(b->samples, a->samples);
    same_summary(a, b, 0);
    free(q);
    q = write_csv(&r, "\"time\",\"ax\",\"ay\",\"az\",\"gx\",\"gy\",\"gz\"", quoted_dot_cell, &l1);
    assert_int_equal(agg(q, l1, b, err, sizeof err), 0);
    same_summary(a, b, 0);
    free(q);
    /* quoted text where a number belongs is named, not split */
    const char *t = "time,ax,ay,az,gx,gy,gz\n0,\"1,2.5\",0,9.8,0,0,0\n";
    expect_bad(t, strlen(t), "column 'ax': not a number: '\"1,2.5\"'");
    free(plain);
    free(r.v);
    free(a);
    free(b);
}

/* ---- a clock reset ----------------------------------------------------------- */

static double reset_at;

static void reset_cell(int row, int k, double x, char *buf, size_t cap)
{
    (void)row;
    snprintf(buf, cap, "%.9g", k == 0 && x >= reset_at ? x - reset_at : x);
}

/* The logger restarted its clock at 0 at t = 90 s (mid-trot): the rows after
 * it are the same ride.  Before, everything after the reset was dropped as
 * out of order. */
static void test_clock_reset(void **state)
{
    json_t *truth = NULL;
    rows r = session(37, 0, 0, &truth);
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320] = "";
    size_t l0, l1;
    (void)state;
    char *plain = write_csv(&r, "time,ax,ay,az,gx,gy,gz", plain_cell, &l0);
    assert_int_equal(agg(plain, l0, a, err, sizeof err), 0);
    reset_at = 90;
    char *rs = write_csv(&r, "time,ax,ay,az,gx,gy,gz", reset_cell, &l1);
    assert_int_equal(agg(rs, l1, b, err, sizeof err), 0);
    assert_int_equal(b->clock_resets, 1);
    assert_int_equal(b->nonmonotonic_rows, 0);
    assert_int_equal(b->samples, a->samples);
    assert_true(fabs(b->duration_s - a->duration_s) < 0.05);
    near_truth(b, truth, "reset");
    json_t *j = compute_summary_json(b);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "quality"), "clock_resets")), 1);
    json_decref(j);
    free(rs);
    /* a reset inside the first rows (before units are decided) too */
    reset_at = 5;
    rs = write_csv(&r, "time,ax,ay,az,gx,gy,gz", reset_cell, &l1);
    assert_int_equal(agg(rs, l1, b, err, sizeof err), 0);
    assert_int_equal(b->clock_resets, 1);
    near_truth(b, truth, "early reset");
    free(rs);
    /* one row from the past is out of order, not a reset */
    const char *t = "time,ax,ay,az,gx,gy,gz\n";
    char *o = NULL;
    size_t ol = 0;
    FILE *f = open_memstream(&o, &ol);
    fputs(t, f);
    for (int i = 0; i < 500; i++) {
        fprintf(f, "%.2f,0.1,0.2,9.8,0.01,0,0\n", i * 0.01);
        if (i == 300)
            fputs("0.5,0.1,0.2,9.8,0.01,0,0\n", f);
    }
    fclose(f);
    assert_int_equal(agg(o, ol, b, err, sizeof err), 0);
    assert_int_equal(b->clock_resets, 0);
    assert_int_equal(b->nonmonotonic_rows, 1);
    assert_true(fabs(b->duration_s - 4.99) < 1e-6);
    free(o);
    free(plain);
    free(r.v);
    json_decref(truth);
    free(a);
    free(b);
}

/* ---- missing channels ---------------------------------------------------------- */

static void missing_cell(int row, int k, double x, char *buf, size_t cap)
{
    double t = row * 0.01; /* 100 Hz from 0 */
    (void)row;
    if ((k >= 4 && t >= 70 && t < 90) ||    /* rate channels gone 20 s, on the left rein */
        (k == 1 && t >= 130 && t < 140) ||  /* ax gone 10 s, in the canter */
        (k == 6 && t >= 30 && t < 31)) {    /* gz gone 1 s: held */
        snprintf(buf, cap, "%s", row % 2 ? "" : "NaN");
        return;
    }
    snprintf(buf, cap, "%.9g", x);
}

static void test_missing_channels(void **state)
{
    json_t *truth = NULL;
    rows r = session(39, 0, 0, &truth);
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    size_t len;
    (void)state;
    char *csv = write_csv(&r, "time,ax,ay,az,gx,gy,gz", missing_cell, &len);
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    /* held for the first 2 s of each run, missing after */
    assert_true(fabs(s->missing_s[3] - 18) < 0.05);
    assert_true(fabs(s->missing_s[5] - 18) < 0.05);
    assert_true(fabs(s->missing_s[0] - 8) < 0.05);
    assert_true(s->missing_s[1] == 0 && s->missing_s[2] == 0);
    /* missing acceleration is a gap */
    assert_int_equal(s->gaps, 1);
    assert_true(fabs(s->gap_s - 8) < 0.05);
    /* the canter lost the 8 s gap; the rest is held to the gait-time target */
    double canter = truth_gait(truth, COMPUTE_CANTER, "time_s");
    if (fabs(s->gaits[COMPUTE_CANTER].time_s - (canter - 8)) > 0.05 * s->duration_s)
        fail_msg("canter %.2f, truth %.2f - 8 s gap", s->gaits[COMPUTE_CANTER].time_s, canter);
    /* the left rein lasted 60 s; 18 of them have no rate: not attributed,
     * where a held rate would have called all 60 s left */
    assert_true(fabs(s->rein_left_s - 42) < 3);
    json_t *j = compute_summary_json(s);
    const json_t *m = json_object_get(json_object_get(j, "quality"), "missing_s");
    assert_true(fabs(json_number_value(json_object_get(m, "gx")) - 18) < 0.05);
    json_decref(j);
    free(csv);
    free(r.v);
    json_decref(truth);
    free(s);
}

static void test_all_nan_column(void **state)
{
    (void)state;
    const char *t = "time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,,0\n0.01,0,0,9.8,0,NaN,0\n0.02,0,0,9.8,0,,0\n";
    expect_bad(t, strlen(t), "column 'gy' has no number in any of its 3 rows");
    t = "time,ax,ay,az,gx,gy,gz\n0,nan,0,9.8,0,0,0\n0.01,,0,9.8,0,0,0\n";
    expect_bad(t, strlen(t), "column 'ax' has no number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mg),
        cmocka_unit_test(test_linear_acceleration),
        cmocka_unit_test(test_linear_without_suspension),
        cmocka_unit_test(test_linear_rate_unit),
        cmocka_unit_test(test_quoted_numbers),
        cmocka_unit_test(test_clock_reset),
        cmocka_unit_test(test_missing_channels),
        cmocka_unit_test(test_all_nan_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
