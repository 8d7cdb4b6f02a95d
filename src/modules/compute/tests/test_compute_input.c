/*
 * test_compute_input.c — what real exports look like, and what breaks the
 * parser: aliases in any order, ';' with ',' decimals, CRLF, BOM, blank
 * lines, NaN/empty cells, gaps, non-monotonic rows, short rows; header-only,
 * empty, binary, missing column, text in a number cell, quoted text; the
 * resumable chunk contract; fuzzed input.  Units: test_compute_units.c;
 * runs, resets and missing channels: test_compute_runs.c.
 */
#include "input_util.h"

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
    static const col_case cases[] = {
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
    expect_columns(cases);
}

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

/* 4 s of the rate (first 4) or acceleration (first 1) columns of a synth
 * session (time,ax,ay,az,gx,gy,gz; header line 0) replaced by `cell` from
 * row `from` */
static char *corrupt(const char *csv, size_t len, size_t from, int first, const char *cell,
                     size_t *olen)
{
    size_t n;
    char **ls = lines_of(csv, len, &n), *out = NULL;
    FILE *f = open_memstream(&out, olen);
    for (size_t i = 0; i < n; i++) {
        if (i < from || i >= from + 400) {
            fprintf(f, "%s\n", ls[i]);
            continue;
        }
        char *save = NULL, *tok = strtok_r(ls[i], ",", &save);
        for (int k = 0; tok; k++, tok = strtok_r(NULL, ",", &save))
            fprintf(f, "%s%s", k ? "," : "", k >= first && k < first + 3 ? cell : tok);
        fputc('\n', f);
    }
    fclose(f);
    free_lines(ls);
    return out;
}

/* A cell no sensor can read (1e6 rad/s, 1e300 m/s²) is a corrupt one: held
 * and counted like a NaN cell, so the summary is the NaN file's.  Before,
 * 4 s of 1e6 in the rate columns moved the gyro's bias for the rest of
 * the session (every later turn read straight), and inside the first 8192
 * rows read the whole file's rate as deg/s. */
static void test_corrupt_cells_held(void **state)
{
    (void)state;
    const char *p = "halt:10,walk:40,trot-left:60,walk:20,trot:40,trot-right:60,walk:20";
    size_t len, ln, lc;
    char *csv = synth(p, 100, 0, 0, 0, 0, &len);
    compute_summary *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    char err[320];
    const size_t at[2] = { 8000, 12000 }; /* inside, then after the detection rows */
    for (int i = 0; i < 2; i++) {
        for (int acc = 0; acc < 2; acc++) {
            char *nan = corrupt(csv, len, at[i], acc ? 1 : 4, "NaN", &ln);
            char *bad = corrupt(csv, len, at[i], acc ? 1 : 4, acc ? "1e300" : "1e6", &lc);
            assert_int_equal(agg(nan, ln, a, err, sizeof err), 0);
            assert_int_equal(agg(bad, lc, b, err, sizeof err), 0);
            fprintf(stderr, "%s from row %zu: rein l/r/s %.1f/%.1f/%.1f (NaN: %.1f/%.1f/%.1f), "
                    "cells %lld (%lld)\n", acc ? "acceleration" : "rate", at[i], b->rein_left_s,
                    b->rein_right_s, b->rein_straight_s, a->rein_left_s, a->rein_right_s,
                    a->rein_straight_s, b->nan_cells, a->nan_cells);
            assert_int_equal(b->nan_cells, a->nan_cells);
            assert_true(b->rein_left_s > 50 && b->rein_right_s > 50);
            assert_true(fabs(b->rein_left_s - a->rein_left_s) < 0.01);
            assert_true(fabs(b->rein_right_s - a->rein_right_s) < 0.01);
            assert_true(fabs(b->gaits[COMPUTE_TROT].time_s - a->gaits[COMPUTE_TROT].time_s) < 0.01);
            free(nan);
            free(bad);
        }
    }
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
        cmocka_unit_test(test_implausible_rate_sized_nothing),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_aliases_semicolon_crlf_bom),
        cmocka_unit_test(test_quality_counters),
        cmocka_unit_test(test_corrupt_cells_held),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_quoted_text_column),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
