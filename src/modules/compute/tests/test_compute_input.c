/*
 * test_compute_input.c — what real exports look like, and what breaks them:
 * aliases in any order, units (header, detection, override), ';' with ','
 * decimals, CRLF, BOM, blank lines, NaN/empty cells, gaps, non-monotonic
 * rows, short rows; header-only, empty, binary, missing column, text in a
 * number cell; the resumable chunk contract; a 3 h session streamed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "compute-internal.h"

static char *synth(const char *plan, double rate, int ms, int g, int deg, int semi, size_t *len)
{
    compute_synth_opts o = { .seed = 11, .plan = plan, .rate_hz = rate, .noise = 1, .drift = 1,
                             .time_ms = ms, .accel_g = g, .gyro_deg = deg, .semicolon = semi };
    char *csv = NULL, err[320];
    assert_int_equal(compute_synth_buffer(&o, &csv, len, NULL, err, sizeof err), 0);
    return csv;
}

static int agg(const char *csv, size_t len, compute_summary *s, char *err, size_t errlen)
{
    return compute_aggregate_buffer(csv, len, NULL, s, err, errlen);
}

static void expect_bad(const char *csv, size_t len, const char *needle)
{
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    assert_int_equal(agg(csv, len, s, err, sizeof err), KEEL_EBADDATA);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
    free(s);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    expect_bad("", 0, "no header");
    expect_bad("\n\n  \n", 4, "no header");
    expect_bad("time,ax,ay,az,gx,gy,gz\n", 23, "no data rows");
    expect_bad("time,ax,ay,az,gx,gy,gz", 22, "no data rows");
    expect_bad("time,ax,ay,az,gx,gy\n0,0,0,9.8,0,0\n", 35, "missing required column 'gz'");
    expect_bad("foo,bar\n1,2\n", 12, "missing required column 'time'");
    static const char bin[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\n\x03\x00";
    expect_bad(bin, sizeof bin - 1, "binary");
    const char *t = "time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n0.02,abc,0,9.8,0,0,0\n";
    expect_bad(t, strlen(t), "row 3");
    expect_bad(t, strlen(t), "column 'ax'");
    /* more cells than the header: named, not shifted (issue 16) */
    t = "time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0,7\n";
    expect_bad(t, strlen(t), "row 2 (line 3): 8 cells, the header has 7");
    /* a trailing delimiter is not an extra value */
    {
        compute_summary *s = malloc(sizeof *s);
        char e2[320];
        t = "time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0,\n0.01,0,0,9.8,0,0,0,\n";
        assert_int_equal(agg(t, strlen(t), s, e2, sizeof e2), 0);
        free(s);
    }
    /* a row of only NaN time: no usable data */
    t = "time,ax,ay,az,gx,gy,gz\nNaN,0,0,9.8,0,0,0\n";
    expect_bad(t, strlen(t), "no usable data rows");
}

/* Issue 15: a time step of 1e-21 s (rate 1e21 Hz) overflowed lround() when
 * the window was sized and push_decimated wrote past a few-byte buffer (an
 * ASan heap-buffer-overflow).  The rate is checked before anything is sized:
 * bad_data naming the rate, for a short file (detected at the end) and a
 * long one (detected after the first 8192 rows, with rows still coming). */
static char *tiny_step_csv(size_t rows, double step, size_t *len)
{
    size_t cap = 64 + rows * 64, n = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    n += (size_t)snprintf(b + n, cap - n, "time,ax,ay,az,gx,gy,gz\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(b + n, cap - n, "%.17g,0.1,0.2,9.8,0.01,0,0\n", (double)i * step);
    *len = n;
    return b;
}

static void test_implausible_rate_sized_nothing(void **state)
{
    (void)state;
    static const struct { size_t rows; double step; const char *needle; } cases[] = {
        { 200, 1e-21, "implausible sample rate 1e+21 Hz" },
        { 9000, 1e-21, "implausible sample rate 1e+21 Hz" },
        { 200, 1e-5, "implausible sample rate 1e+05 Hz" },
        { 200, 1e20, "implausible sample rate" },
        { 200, 1e-300, "implausible sample rate" },
        { 0 },
    };
    for (size_t i = 0; cases[i].rows; i++) {
        size_t len;
        char *csv = tiny_step_csv(cases[i].rows, cases[i].step, &len);
        expect_bad(csv, len, cases[i].needle);
        free(csv);
    }
    /* the written example of the report: 0e-21,1e-21,... */
    const char *t = "time,ax,ay,az,gx,gy,gz\n0e-21,0,0,9.8,0,0,0\n1e-21,0,0,9.8,0,0,0\n"
                    "2e-21,0,0,9.8,0,0,0\n3e-21,0,0,9.8,0,0,0\n";
    expect_bad(t, strlen(t), "implausible sample rate");
    /* infinite time is not a time: dropped, not a poisoned median */
    t = "time,ax,ay,az,gx,gy,gz\n1e999,0,0,9.8,0,0,0\n";
    expect_bad(t, strlen(t), "no usable data rows");
}

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
            c = memchr(c, ',', (size_t)(nl - c)) + 1;
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

static void test_numbers(void **state)
{
    static const struct { const char *s; char d2; double v; int nan; } cases[] = {
        { "1.5", 0, 1.5, 0 }, { "-0.25", 0, -0.25, 0 }, { "+7", 0, 7, 0 }, { "1e3", 0, 1000, 0 },
        { "2.5E-2", 0, 0.025, 0 }, { "  2.5 ", 0, 2.5, 0 }, { "\"3.5\"", 0, 3.5, 0 },
        { "1,5", ',', 1.5, 0 }, { "-12,125", ',', -12.125, 0 }, { ".5", 0, 0.5, 0 },
        { "NaN", 0, 0, 1 }, { "nan", 0, 0, 1 }, { "", 0, 0, 1 }, { "null", 0, 0, 1 },
        { "NA", 0, 0, 1 }, { "12345678901234567890", 0, 12345678901234567890.0, 0 },
        { NULL, 0, 0, 0 }
    };
    (void)state;
    for (int i = 0; cases[i].s; i++) {
        double v;
        const char *nx;
        int isn;
        const char *s = cases[i].s;
        assert_int_equal(compute_parse_number(s, s + strlen(s), '.', cases[i].d2, &v, &nx, &isn, NULL), 0);
        assert_int_equal(isn, cases[i].nan);
        assert_true(nx == s + strlen(s));
        if (!cases[i].nan && fabs(v - cases[i].v) > 1e-12 * fabs(cases[i].v))
            fail_msg("'%s' parsed as %.17g", s, v);
    }
}

static void test_columns(void **state)
{
    static const struct { const char *n; int col; compute_unit u; } cases[] = {
        { "t", COMPUTE_COL_T, 0 }, { "Timestamp", COMPUTE_COL_T, 0 }, { "time_ms", COMPUTE_COL_T, COMPUTE_TIME_MS },
        { "time (ms)", COMPUTE_COL_T, COMPUTE_TIME_MS }, { "time_s", COMPUTE_COL_T, COMPUTE_TIME_S },
        { "acc_x", COMPUTE_COL_AX, 0 }, { "Accel Y (g)", COMPUTE_COL_AY, COMPUTE_ACCEL_G },
        { "accZ[m/s^2]", COMPUTE_COL_AZ, COMPUTE_ACCEL_MS2 }, { "acc_z_g", COMPUTE_COL_AZ, COMPUTE_ACCEL_G },
        { "x_acc", COMPUTE_COL_AX, 0 }, { "gyro_x", COMPUTE_COL_GX, 0 },
        { "gyrY (deg/s)", COMPUTE_COL_GY, COMPUTE_GYRO_DEGS }, { "gz_dps", COMPUTE_COL_GZ, COMPUTE_GYRO_DEGS },
        { "\"gz\"", COMPUTE_COL_GZ, 0 }, { "rot_rate_z", COMPUTE_COL_GZ, 0 },
        { "mag_x", -1, 0 }, { "temperature", -1, 0 }, { "", -1, 0 }, { NULL, 0, 0 }
    };
    (void)state;
    for (int i = 0; cases[i].n; i++) {
        compute_unit u;
        int c = compute_column_classify(cases[i].n, strlen(cases[i].n), &u);
        if (c != cases[i].col || (c >= 0 && u != cases[i].u))
            fail_msg("'%s': column %d unit %d, want %d/%d", cases[i].n, c, u, cases[i].col, cases[i].u);
    }
}

/* Splits CSV text into a NULL-terminated array of malloc'ed lines. */
static char **lines_of(const char *csv, size_t len, size_t *n)
{
    size_t cap = 1024, k = 0;
    char **v = malloc(cap * sizeof *v);
    const char *p = csv, *end = csv + len;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        if (k + 2 > cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[k++] = strndup(p, (size_t)(e - p));
        p = e + 1;
    }
    v[k] = NULL;
    *n = k;
    return v;
}

static void free_lines(char **v)
{
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* Reorders the 7 cells of every line by perm, with delimiter d, line end eol. */
static char *rebuild(char **lines, size_t n, const int perm[7], const char *header, char d,
                     const char *eol, int bom, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (bom)
        fputs("\xEF\xBB\xBF", f);
    fprintf(f, "%s%s", header, eol);
    for (size_t i = 1; i < n; i++) {
        char *cells[7], *save = NULL, *dup = strdup(lines[i]);
        char sep[2] = { d == ';' ? ';' : ',', 0 };
        int c = 0;
        for (char *tok = strtok_r(dup, sep, &save); tok && c < 7; tok = strtok_r(NULL, sep, &save))
            cells[c++] = tok;
        assert_int_equal(c, 7);
        for (int k = 0; k < 7; k++)
            fprintf(f, "%s%c", cells[perm[k]], k < 6 ? d : 0);
        fseek(f, -1, SEEK_CUR);
        fputs(eol, f);
        free(dup);
    }
    fclose(f);
    return out;
}

static void same_summary(const compute_summary *a, const compute_summary *b, double tol)
{
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        assert_true(fabs(a->gaits[g].time_s - b->gaits[g].time_s) <= tol * a->duration_s + 1e-9);
    assert_true(fabs(a->rein_left_s - b->rein_left_s) <= tol * a->duration_s + 1e-9);
    assert_int_equal(a->jump_count, b->jump_count);
    assert_true(fabs(a->duration_s - b->duration_s) < 1e-6 + tol);
}

static const char *const plan = "walk:30,trot-left:30,canter-right:30,jump:1.0,halt:10";

static void test_aliases_semicolon_crlf_bom(void **state)
{
    size_t len, n, len2;
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320];
    (void)state;
    char *csv = synth(plan, 100, 0, 0, 0, 1, &len); /* ';' and ',' decimals */
    assert_int_equal(agg(csv, len, a, err, sizeof err), 0);
    assert_int_equal(a->delimiter, ';');
    assert_int_equal(a->decimal, ',');
    char **ls = lines_of(csv, len, &n);
    static const int perm[7] = { 6, 0, 3, 1, 2, 4, 5 }; /* gz,time,az,ax,ay,gx,gy */
    char *v = rebuild(ls, n, perm, "Gyro Z;Timestamp;acc_z;acc_x;acc_y;gyr_x;gyr_y", ';', "\r\n", 1, &len2);
    assert_int_equal(agg(v, len2, b, err, sizeof err), 0);
    same_summary(a, b, 0);
    assert_string_equal(b->columns[COMPUTE_COL_T], "Timestamp");
    assert_string_equal(b->columns[COMPUTE_COL_GZ], "Gyro Z");
    free(v);
    free_lines(ls);
    free(csv);
    free(a);
    free(b);
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
    memcpy(c2, "t      ", 7);
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

static void test_quality_counters(void **state)
{
    size_t len, n;
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320], *out = NULL;
    size_t olen = 0;
    (void)state;
    char *csv = synth(plan, 50, 0, 0, 0, 0, &len);
    assert_int_equal(agg(csv, len, a, err, sizeof err), 0);
    char **ls = lines_of(csv, len, &n);
    FILE *f = open_memstream(&out, &olen);
    int nans = 0, nonmono = 0, shortrows = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= 2000 && i < 2250)
            continue; /* a 5 s gap at 50 Hz */
        if (i > 0 && i % 500 == 0) {
            /* one NaN and one empty cell */
            char *c1 = strchr(ls[i], ','), *c4 = c1;
            for (int k = 0; k < 4; k++) c4 = strchr(c4 + 1, ',');
            *c1 = 0;
            char *rest = strchr(c1 + 1, ',');
            char *after4 = strchr(c4 + 1, ',');
            *c4 = 0;
            fprintf(f, "%s,NaN%s,%s\n", ls[i], rest, after4);
            nans += 2;
            continue;
        }
        fprintf(f, "%s\n", ls[i]);
        if (i > 0 && i % 700 == 0) {
            fprintf(f, "%s\n", ls[i - 5]); /* back in time */
            nonmono++;
        }
        if (i > 0 && i % 900 == 0) {
            fprintf(f, "\n   \n1.0,2.0\n"); /* blank lines, short row */
            shortrows++;
        }
    }
    fclose(f);
    assert_int_equal(agg(out, olen, b, err, sizeof err), 0);
    assert_int_equal(b->gaps, 1);
    assert_true(fabs(b->gap_s - 5.0) < 0.05);
    assert_int_equal(b->nan_cells, nans);
    assert_int_equal(b->nonmonotonic_rows, nonmono);
    assert_int_equal(b->dropped_rows, nonmono + shortrows);
    assert_true(fabs(b->duration_s - a->duration_s) < 1e-6);
    /* gait times still add up to the session minus the gap */
    double sum = 0;
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        sum += b->gaits[g].time_s;
    assert_true(fabs(sum - (b->duration_s - b->gap_s)) < 0.1);
    free(out);
    free_lines(ls);
    free(csv);
    free(a);
    free(b);
}

/* The resumable contract: any chunking gives the same summary. */
static void test_chunked(void **state)
{
    size_t len;
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320];
    static const size_t sizes[] = { 1, 7, 64, 4096 };
    (void)state;
    char *csv = synth("walk:20,trot:20,jump:0.8", 50, 0, 0, 0, 0, &len);
    assert_int_equal(agg(csv, len, a, err, sizeof err), 0);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        compute_agg *g = compute_agg_new(NULL);
        compute_csv p;
        compute_csv_init(&p, g);
        char *buf = malloc(len + 1);
        size_t have = 0, off = 0;
        while (off < len || have) {
            size_t take = len - off < sizes[si] ? len - off : sizes[si];
            memcpy(buf + have, csv + off, take);
            have += take;
            off += take;
            int eof = off == len;
            long long used = compute_csv_feed(&p, buf, have, eof);
            assert_true(used >= 0);
            memmove(buf, buf + used, have - (size_t)used);
            have -= (size_t)used;
            if (eof) {
                assert_int_equal(have, 0);
                break;
            }
        }
        assert_int_equal(compute_csv_finish(&p), 0);
        assert_int_equal(compute_agg_finish(g, b, err, sizeof err), 0);
        same_summary(a, b, 0);
        assert_int_equal(a->samples, b->samples);
        assert_true(a->mdba == b->mdba);
        compute_agg_free(g);
        free(buf);
    }
    free(csv);
    free(a);
    free(b);
}

/* ---- 3 h at 100 Hz, generated and parsed through a 64 KiB window --------- */

typedef struct sink {
    compute_csv p;
    char buf[1 << 16];
    size_t have;
    int failed;
} sink;

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

/* Exports with a units row under the header; implausible rates. */
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
    memcpy(out + strlen(ls[0]) + 1, "[s],x,", 6);
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

/* An ignored text column may be quoted and hold the delimiter. */
static void test_quoted_text_column(void **state)
{
    const char *t = "time,note,ax,ay,az,gx,gy,gz\n"
                    "0,\"a, b\",0,0,9.8,0,0,0\n"
                    "0.01,\"say \"\"hi\"\", ok\",0,0,9.8,0,0,0\n"
                    "0.02,plain,0,0,9.8,0,0,0\n";
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    (void)state;
    assert_int_equal(agg(t, strlen(t), s, err, sizeof err), 0);
    assert_int_equal(s->samples, 3);
    assert_int_equal(s->dropped_rows, 0);
    free(s);
}

/* Mutated inputs: every outcome is a summary or bad_data, never a crash
 * (run under ASan in the sanitizer build). */
static void test_fuzz(void **state)
{
    size_t len;
    char err[320];
    compute_summary *s = malloc(sizeof *s);
    uint64_t x = 0x1234567;
    static const char junk[] = ",;\n\r\"-.eE0123456789 \tnaN\xEF\xBB\xBF\x00\xff";
    (void)state;
    char *csv = synth("walk:3,trot:3,jump:0.5", 50, 0, 0, 0, 0, &len);
    size_t cut = len < 4000 ? len : 4000;
    char *m = malloc(cut + 64);
    for (int round = 0; round < 3000; round++) {
        memcpy(m, csv, cut);
        size_t n = cut;
        int edits = 1 + (int)(x % 8);
        for (int e = 0; e < edits; e++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(x >> 33) % n;
            switch ((x >> 20) % 4) {
            case 0: m[at] = junk[(x >> 8) % (sizeof junk - 1)]; break;
            case 1: n = at + 1; break;
            case 2: m[at] = (char)(x >> 40); break;
            default: memmove(m + at + 1, m + at, n - at); m[at] = junk[(x >> 8) % (sizeof junk - 1)]; n++; break;
            }
            if (n > cut + 32)
                n = cut + 32;
        }
        int rc = agg(m, n, s, err, sizeof err);
        if (rc != 0 && rc != KEEL_EBADDATA)
            fail_msg("round %d: rc %d (%s)", round, rc, err);
        if (rc == 0) {
            assert_true(s->duration_s >= 0);
            assert_true(s->gaits[0].share >= 0 && s->gaits[0].share <= 1.0 + 1e-9);
            json_t *j = compute_summary_json(s);
            assert_non_null(j);
            json_decref(j);
        }
    }
    free(m);
    free(csv);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_implausible_rate_sized_nothing),
        cmocka_unit_test(test_accel_only),
        cmocka_unit_test(test_time_us_ns),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_aliases_semicolon_crlf_bom),
        cmocka_unit_test(test_units_detected_and_forced),
        cmocka_unit_test(test_quality_counters),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_summary_json_roundtrip),
        cmocka_unit_test(test_units_row_and_rate),
        cmocka_unit_test(test_quoted_text_column),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_long_session_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
