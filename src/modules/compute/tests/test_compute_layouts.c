/*
 * test_compute_layouts.c — the layouts real exports have (issue 16): lines
 * before the header, bare x/y/z columns (phone apps' accelerometer files,
 * MetaMotion's "x-axis (g)"), g-force columns, and times written as dates or
 * times of day, with zone offsets.  Each case rewrites one synthetic session:
 * the same session in another layout must give the same summary (the horse
 * did the same), and a date's value comes from the calendar (Python's
 * datetime gave the epoch seconds below), never from the code.
 */
#include "input_util.h"

static void test_datetime_values(void **state)
{
    static const struct { const char *s; double v; } ok[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "1970-01-01 00:00:01.5", 1.5 },
        { "1969-12-31T23:59:59Z", -1 },
        { "2000-03-01T00:00:00Z", 951868800 },
        { "2100-03-01T00:00:00Z", 4107542400.0 },
        { "2024-02-29T12:00:00.25+01:00", 1709204400.25 },
        { "2019-03-11T12:27:40.557", 1552307260.557 },
        { "2024/03/01 10:00:00", 1709287200 },
        { "2024-03-01T10:00:00-0500", 1709305200 },
        { "\"2024-03-01T10:00:00Z\"", 1709287200 },
        { " 2024-03-01t10:00:00z ", 1709287200 },
        { "2024-03-01", 1709251200 },
        { "10:00:00.125", 36000.125 },
        { "9:05:01", 32701 },
        { "23:59", 86340 },
        { NULL, 0 }
    };
    static const char *const bad[] = {
        "2023-02-29", "2024-13-01", "2024-04-31T00:00:00", "2024-01-01X10:00", "25:00:00",
        "10:60:00", "10:00:61", "24:00:01", "2024-03-01T10:00:00+2500", "10:00:00.",
        "2024-03-01T10:00:00Zjunk", "abc", "", "12", "2024-3-1", "10:5", NULL
    };
    (void)state;
    for (int i = 0; ok[i].s; i++) {
        double v = NAN;
        const char *s = ok[i].s;
        if (compute_parse_datetime(s, s + strlen(s), &v) != 0 || fabs(v - ok[i].v) > 1e-6)
            fail_msg("'%s' read as %.6f, the calendar says %.6f", s, v, ok[i].v);
    }
    for (int i = 0; bad[i]; i++) {
        double v;
        if (compute_parse_datetime(bad[i], bad[i] + strlen(bad[i]), &v) == 0)
            fail_msg("'%s' read as a time (%.6f)", bad[i], v);
    }
}

static void test_bare_and_gforce_columns(void **state)
{
    static const col_case cases[] = {
        { "x", COMPUTE_COL_BARE + 0, 0 }, { "Z", COMPUTE_COL_BARE + 2, 0 },
        { "x-axis (g)", COMPUTE_COL_BARE + 0, COMPUTE_ACCEL_G },
        { "y-axis (deg/s)", COMPUTE_COL_BARE + 4, COMPUTE_GYRO_DEGS },
        { "gFx", COMPUTE_COL_AX, COMPUTE_ACCEL_G }, { "gFz", COMPUTE_COL_AZ, COMPUTE_ACCEL_G },
        { "epoc (ms)", COMPUTE_COL_T, COMPUTE_TIME_MS }, { "epoch", COMPUTE_COL_T, 0 },
        { "TgF", -1, 0 }, { NULL, 0, 0 }
    };
    (void)state;
    expect_columns(cases);
}

typedef double row7[7];

/* The session's rows as numbers: time and six channels. */
static row7 *rows_of(const char *csv, size_t len, size_t *n)
{
    row7 *v = malloc(sizeof *v * (len / 20 + 1));
    size_t at = strcspn(csv, "\n") + 1; /* after the header */
    assert_non_null(v);
    *n = 0;
    while (at < len) {
        char *e;
        for (int k = 0; k < 7; k++) {
            v[*n][k] = strtod(csv + at, &e);
            at = (size_t)(e - csv) + 1;
        }
        (*n)++;
    }
    return v;
}

enum layout { CANONICAL_ACC, METAMOTION, SENSOR_LOGGER, LOCAL_DST, TIME_OF_DAY, PREAMBLE, GFORCE };

/* "hh:mm:ss.fff" of a time of day in seconds, from whole milliseconds */
static const char *hms(double secs, char *buf, size_t cap)
{
    long long ms = llround(secs * 1e3);
    snprintf(buf, cap, "%02lld:%02lld:%02lld.%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
             ms % 1000);
    return buf;
}

/* x with a decimal comma */
static const char *comma(double x, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.6f", x);
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = ',';
    return buf;
}

/* The rows written as one exporter would; accelerometer only but PREAMBLE. */
static char *write_layout(row7 *v, size_t n, enum layout l, size_t *len)
{
    static const char *const head[] = {
        "time,ax,ay,az",
        "epoc (ms),timestamp (+0100),elapsed (s),x-axis (g),y-axis (g),z-axis (g)",
        "time,seconds_elapsed,z,y,x",
        "Time,Acc_X,Acc_Y,Acc_Z",
        "\"Time\";\"AccX\";\"AccY\";\"AccZ\"",
        "MetaWear export\nSample rate: 100 Hz\n\ntime,ax,ay,az,gx,gy,gz",
        "time,gFx,gFy,gFz,TgF",
    };
    const double g0 = 9.80665;
    char *out = NULL, b[4][32];
    FILE *f = open_memstream(&out, len);
    assert_non_null(f);
    fprintf(f, "%s\n", head[l]);
    for (size_t i = 0; i < n; i++) {
        const double *r = v[i];
        double t = r[0];
        switch (l) {
        case CANONICAL_ACC:
            fprintf(f, "%.5f,%.6f,%.6f,%.6f\n", t, r[1], r[2], r[3]);
            break;
        case METAMOTION: /* from 2024-03-01 09:59:30+01:00 = 1709283570 s since the epoch */
            fprintf(f, "%.0f,2024-03-01T%s,%.3f,%.8f,%.8f,%.8f\n", 1709283570e3 + t * 1e3,
                    hms(35970 + t, b[0], sizeof b[0]), t, r[1] / g0, r[2] / g0, r[3] / g0);
            break;
        case SENSOR_LOGGER: /* ns since the epoch; axes in the app's z,y,x order */
            fprintf(f, "%.0f,%.6f,%.6f,%.6f,%.6f\n", 1709283570e9 + t * 1e9, t, r[3], r[2], r[1]);
            break;
        case LOCAL_DST: { /* Europe's spring change at 01:00Z: 02:00+01:00 is 03:00+02:00 */
            double utc = 3570 + t; /* from 00:59:30Z */
            int summer = utc >= 3600;
            fprintf(f, "2024-03-31T%s%s,%.6f,%.6f,%.6f\n", hms(utc + (summer ? 7200 : 3600), b[0], sizeof b[0]),
                    summer ? "+02:00" : "+01:00", r[1], r[2], r[3]);
            break;
        }
        case TIME_OF_DAY: /* 09:59:30.000 on, ';' separated, decimal comma */
            fprintf(f, "%s;%s;%s;%s\n", hms(35970 + t, b[0], sizeof b[0]), comma(r[1], b[1], sizeof b[1]),
                    comma(r[2], b[2], sizeof b[2]), comma(r[3], b[3], sizeof b[3]));
            break;
        case PREAMBLE:
            fprintf(f, "%.5f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", t, r[1], r[2], r[3], r[4], r[5], r[6]);
            break;
        case GFORCE:
            fprintf(f, "%.5f,%.8f,%.8f,%.8f,1\n", t, r[1] / g0, r[2] / g0, r[3] / g0);
            break;
        }
    }
    fclose(f);
    return out;
}

static void test_same_session_every_layout(void **state)
{
    size_t len, n, ol;
    char *csv = synth(plan, 100, 0, 0, 0, 0, &len), err[320];
    row7 *v = rows_of(csv, len, &n);
    compute_summary *base = malloc(sizeof *base), *acc = malloc(sizeof *acc), *s = malloc(sizeof *s);
    (void)state;
    assert_int_equal(agg(csv, len, base, err, sizeof err), 0);
    char *out = write_layout(v, n, CANONICAL_ACC, &ol);
    assert_int_equal(agg(out, ol, acc, err, sizeof err), 0);
    free(out);
    for (int l = METAMOTION; l <= GFORCE; l++) {
        out = write_layout(v, n, (enum layout)l, &ol);
        if (agg(out, ol, s, err, sizeof err) != 0)
            fail_msg("layout %d: %s", l, err);
        /* the rows are the same, so is what the horse did; the layouts
         * round cells differently (g, 1 ms), hence a 0.5 % tolerance */
        same_summary(l == PREAMBLE ? base : acc, s, 0.005);
        assert_int_equal(s->no_gyro, l != PREAMBLE);
        if (l == LOCAL_DST || l == TIME_OF_DAY)
            assert_string_equal(s->time_src, "text");
        if (l == METAMOTION || l == GFORCE)
            assert_string_equal(s->accel_unit, "g");
        free(out);
    }
    free(v);
    free(csv);
    free(base);
    free(acc);
    free(s);
}

static void test_header_errors(void **state)
{
    static const struct { const char *csv; const char *needle; } cases[] = {
        /* the closest line to a header is named, not the data after it */
        { "Device: X\ntime,ax,ay\n0,1,2\n0.01,1,2\n", "line 2: missing required column 'az' (header: time,ax,ay)" },
        { "Title\n", "line 1: missing required column 'time' (header: Title)" },
        { "0.0,1,2,3\n0.01,1,2,3\n", "line 1: missing required column 'time'" },
        /* a rate-only file: bare axes with a rate unit are not accelerations */
        { "time,x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)\n0,1,2,3\n", "missing required column 'ax'" },
        { "time,ax,ay,az\n2024-13-01T10:00:00,1,2,9.8\n", "column 'time': not a number: '2024-13-01T10:00:00'" },
        { NULL, NULL }
    };
    (void)state;
    for (int i = 0; cases[i].csv; i++)
        expect_bad(cases[i].csv, strlen(cases[i].csv), cases[i].needle);
    /* no header within the lines skipped before one */
    size_t len;
    char *csv = synth(plan, 100, 0, 0, 0, 0, &len), *big = malloc(len + 40 * 16);
    size_t o = 0;
    assert_non_null(big);
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(big + o, "note %d\n", i);
    memcpy(big + o, csv, len);
    expect_bad(big, o + len, "no header naming time and three accelerations in lines 1-32");
    free(big);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime_values),
        cmocka_unit_test(test_bare_and_gforce_columns),
        cmocka_unit_test(test_same_session_every_layout),
        cmocka_unit_test(test_header_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
