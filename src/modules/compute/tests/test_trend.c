/*
 * test_trend.c — compute_trend_run: hand-computed statistics, flags, dates,
 * bad input and interleaved horses.  Every expected number below is worked
 * out in the comment next to it, not copied from the implementation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "keel/error.h"
#include "trend.h"

/* Runs trend on JSON text; returns the result (new reference) and asserts success. */
static json_t *run_ok(const char *sessions, const char *options)
{
    json_error_t je;
    char err[256];
    json_t *s = json_loads(sessions, 0, &je), *o = options ? json_loads(options, 0, &je) : NULL, *out = NULL;
    assert_non_null(s);
    int rc = compute_trend_run(s, o, &out, err, sizeof err);
    if (rc != 0) fail_msg("compute_trend_run: %d %s", rc, err);
    assert_non_null(out);
    json_decref(s);
    json_decref(o);
    return out;
}

/* Runs trend expecting failure code want and a message containing needle. */
static void run_bad(const char *sessions, const char *options, int want, const char *needle)
{
    json_error_t je;
    char err[256] = "";
    json_t *s = json_loads(sessions, JSON_DECODE_ANY, &je), *o = options ? json_loads(options, 0, &je) : NULL;
    json_t *out = (json_t *)&je; /* must be reset to NULL */
    assert_non_null(s);
    assert_int_equal(compute_trend_run(s, o, &out, err, sizeof err), want);
    assert_null(out);
    if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
    json_decref(s);
    json_decref(o);
}

static const json_t *horse(const json_t *res, size_t i)
{
    const json_t *h = json_array_get(json_object_get(res, "horses"), i);
    assert_non_null(h);
    return h;
}

static double num(const json_t *o, const char *path)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, "/", &save); k; k = strtok_r(NULL, "/", &save)) {
        o = json_object_get(o, k);
        if (!o) fail_msg("no %s (at %s)", path, k);
    }
    if (!json_is_number(o)) fail_msg("%s is not a number", path);
    return json_number_value(o);
}

#define assert_near(a, b) do { double a_ = (a), b_ = (b);                               \
        if (!(fabs(a_ - b_) <= 1e-6 * (1 + fabs(b_)))) fail_msg("%s = %.9g, want %.9g", #a, a_, b_); } while (0)

static const json_t *metric(const json_t *h, const char *name)
{
    const json_t *m = json_object_get(json_object_get(h, "metrics"), name);
    if (!m) fail_msg("no metric %s", name);
    return m;
}

static size_t count_flags(const json_t *h, const char *flag)
{
    size_t i, n = 0;
    const json_t *f;
    json_array_foreach(json_object_get(h, "flags"), i, f)
        if (strcmp(json_string_value(json_object_get(f, "flag")), flag) == 0) n++;
    return n;
}

/* Six daily sessions, symmetry 90 92 95 91 93 then 80.
 * baseline = median(90,92,95,91,93) = 92; deviations 2,0,3,1,1 → MAD 1;
 * z = (80-92)/1.4826 = -8.09388; change -12, -13.0435 %.
 * Theil–Sen over t=0..5: the 15 pair slopes sorted are
 * -13 -5.5 -5 -4 -3 -2 -1 -0.5 1/3 1/3 0.75 2 2 2.5 3 → median -0.5/day → -15/30 days. */
static const char *six =
    "[{\"horse_id\":1,\"date\":\"2026-01-05\",\"summary\":{\"trot_symmetry_pct\":90}},"
    " {\"horse_id\":1,\"date\":\"2026-01-06\",\"summary\":{\"trot_symmetry_pct\":92}},"
    " {\"horse_id\":1,\"date\":\"2026-01-07\",\"summary\":{\"trot_symmetry_pct\":95}},"
    " {\"horse_id\":1,\"date\":\"2026-01-08\",\"summary\":{\"trot_symmetry_pct\":91}},"
    " {\"horse_id\":1,\"date\":\"2026-01-09\",\"summary\":{\"trot_symmetry_pct\":93}},"
    " {\"horse_id\":1,\"date\":\"2026-01-10\",\"summary\":{\"trot_symmetry_pct\":80}}]";

static void test_median_mad_theil_sen(void **state)
{
    (void)state;
    json_t *res = run_ok(six, NULL);
    const json_t *h = horse(res, 0), *m = metric(h, "trot_symmetry_pct");
    assert_near(num(m, "latest"), 80);
    assert_near(num(m, "baseline"), 92);
    assert_near(num(m, "change"), -12);
    assert_near(num(m, "change_pct"), -1200.0 / 92);
    assert_near(num(m, "z"), -12 / 1.4826);
    assert_string_equal(json_string_value(json_object_get(m, "z_basis")), "mad");
    assert_near(num(m, "slope_30d"), -15);
    assert_near(num(m, "n"), 6);
    assert_near(num(m, "baseline_n"), 5);
    assert_int_equal(num(h, "sessions"), 6);
    assert_string_equal(json_string_value(json_object_get(h, "first_date")), "2026-01-05");
    assert_string_equal(json_string_value(json_object_get(h, "last_date")), "2026-01-10");
    /* metrics absent from every summary are skipped, not zero */
    assert_null(json_object_get(json_object_get(h, "metrics"), "duration_s"));
    /* -12 points <= -5 and z <= -2.5: symmetry_drop fires once */
    assert_int_equal(count_flags(h, "symmetry_drop"), 1);
    json_decref(res);

    /* even baseline (baseline_n 4): median(92,95,91,93) = 92.5;
     * deviations .5 2.5 1.5 .5 → MAD (0.5+1.5)/2 = 1; z = -12.5/1.4826 */
    res = run_ok(six, "{\"baseline_n\":4}");
    m = metric(horse(res, 0), "trot_symmetry_pct");
    assert_near(num(m, "baseline"), 92.5);
    assert_near(num(m, "z"), -12.5 / 1.4826);
    json_decref(res);
}

static void test_mad_zero(void **state)
{
    (void)state;
    /* 10 10 10 12 10 then 11: median 10, deviations 0 0 0 2 0 → MAD 0;
     * mean absolute deviation 0.4 → scale 1.253314*0.4; z = 1/0.5013256 */
    json_t *res = run_ok(
        "[{\"horse_id\":\"a\",\"date\":\"2026-02-01\",\"jump_count\":10},"
        " {\"horse_id\":\"a\",\"date\":\"2026-02-02\",\"jump_count\":10},"
        " {\"horse_id\":\"a\",\"date\":\"2026-02-03\",\"jump_count\":10},"
        " {\"horse_id\":\"a\",\"date\":\"2026-02-04\",\"jump_count\":12},"
        " {\"horse_id\":\"a\",\"date\":\"2026-02-05\",\"jump_count\":10},"
        " {\"horse_id\":\"a\",\"date\":\"2026-02-06\",\"jump_count\":11},"
        " {\"horse_id\":\"b\",\"date\":\"2026-02-01\",\"jump_count\":4},"
        " {\"horse_id\":\"b\",\"date\":\"2026-02-02\",\"jump_count\":4},"
        " {\"horse_id\":\"b\",\"date\":\"2026-02-03\",\"jump_count\":4},"
        " {\"horse_id\":\"b\",\"date\":\"2026-02-04\",\"jump_count\":5},"
        " {\"horse_id\":\"c\",\"date\":\"2026-02-01\",\"jump_count\":4},"
        " {\"horse_id\":\"c\",\"date\":\"2026-02-02\",\"jump_count\":4},"
        " {\"horse_id\":\"c\",\"date\":\"2026-02-03\",\"jump_count\":4},"
        " {\"horse_id\":\"c\",\"date\":\"2026-02-04\",\"jump_count\":4}]", NULL);
    const json_t *m = metric(horse(res, 0), "jump_count");
    assert_near(num(m, "z"), 1 / (1.253314 * 0.4));
    assert_string_equal(json_string_value(json_object_get(m, "z_basis")), "meanad");
    /* b: identical baseline 4 4 4, latest 5: no spread → z null (not infinite) */
    m = metric(horse(res, 1), "jump_count");
    assert_true(json_is_null(json_object_get(m, "z")));
    assert_string_equal(json_string_value(json_object_get(m, "z_basis")), "none");
    /* c: identical baseline and latest: z is exactly 0 */
    m = metric(horse(res, 2), "jump_count");
    assert_near(num(m, "z"), 0);
    json_decref(res);

    /* fewer earlier sessions than min_baseline (3): baseline yes, z no */
    res = run_ok("[{\"horse_id\":1,\"date\":\"2026-02-01\",\"jump_count\":1},"
                 " {\"horse_id\":1,\"date\":\"2026-02-02\",\"jump_count\":3},"
                 " {\"horse_id\":1,\"date\":\"2026-02-03\",\"jump_count\":6}]", NULL);
    m = metric(horse(res, 0), "jump_count");
    assert_near(num(m, "baseline"), 2); /* median(1,3) */
    assert_true(json_is_null(json_object_get(m, "z")));
    assert_true(json_is_null(json_object_get(m, "z_basis")));
    json_decref(res);

    /* a single session: latest only */
    res = run_ok("[{\"horse_id\":1,\"date\":\"2026-02-01\",\"jump_count\":1}]", NULL);
    m = metric(horse(res, 0), "jump_count");
    assert_true(json_is_null(json_object_get(m, "baseline")));
    assert_true(json_is_null(json_object_get(m, "slope_30d")));
    json_decref(res);
}

static void test_theil_sen_uneven(void **state)
{
    (void)state;
    /* days 0, 2, 7: slopes 3/2 = 1.5, 10/7, 7/5 = 1.4 → median 10/7 per day.
     * RFC 3339 instants: noon UTC each, written in two offsets. */
    json_t *res = run_ok(
        "[{\"horse_id\":9,\"date\":\"2026-03-09T14:00:00+02:00\",\"intensity\":{\"mdba\":110}},"
        " {\"horse_id\":9,\"date\":\"2026-03-02T12:00:00Z\",\"intensity\":{\"mdba\":100}},"
        " {\"horse_id\":9,\"date\":\"2026-03-04T07:00:00.000-05:00\",\"intensity\":{\"mdba\":103}}]",
        NULL);
    const json_t *m = metric(horse(res, 0), "intensity.mdba");
    assert_near(num(m, "slope_30d"), 300.0 / 7);
    assert_near(num(m, "latest"), 110);
    json_decref(res);

    /* slope window: days 0,1,2 with 0,0,10 → pair slopes 0, 5, 10 → median 5/day;
     * slope_max_n 2 keeps the last pair only → 10/day.  Options are echoed. */
    const char *three = "[{\"horse_id\":9,\"date\":\"2026-03-01\",\"jump_count\":0},"
                        " {\"horse_id\":9,\"date\":\"2026-03-02\",\"jump_count\":0},"
                        " {\"horse_id\":9,\"date\":\"2026-03-03\",\"jump_count\":10}]";
    res = run_ok(three, NULL);
    assert_near(num(metric(horse(res, 0), "jump_count"), "slope_30d"), 150);
    assert_near(num(res, "options/slope_max_n"), 200);
    json_decref(res);
    res = run_ok(three, "{\"slope_max_n\":2,\"z_threshold\":3}");
    assert_near(num(metric(horse(res, 0), "jump_count"), "slope_30d"), 300);
    assert_true(json_is_integer(json_object_get(json_object_get(res, "options"), "slope_max_n")));
    assert_near(num(res, "options/z_threshold"), 3);
    json_decref(res);

    /* offsets decide the order: 23:30-02:00 on the 5th is 01:30Z on the 6th,
     * later than 00:30Z on the 6th, so it is the latest session. */
    res = run_ok("[{\"horse_id\":9,\"date\":\"2026-01-05T23:30:00-02:00\",\"jump_count\":7},"
                 " {\"horse_id\":9,\"date\":\"2026-01-06T00:30:00Z\",\"jump_count\":3}]", NULL);
    assert_near(num(metric(horse(res, 0), "jump_count"), "latest"), 7);
    json_decref(res);
}

static void test_ewma_load(void **state)
{
    (void)state;
    /* loads 100 on day 0, none on day 1, 50 on day 2.  lambda_a = 2/8, lambda_c = 2/29.
     * acute: 25 → 18.75 → 12.5 + 14.0625 = 26.5625
     * chronic: 200/29 → 5400/841 → 100/29 + 145800/24389 = 229900/24389 */
    const char *s =
        "[{\"horse_id\":1,\"date\":\"2026-01-01\",\"summary\":{\"intensity\":{\"load\":100}}},"
        " {\"horse_id\":1,\"date\":\"2026-01-03\",\"summary\":{\"intensity\":{\"load\":50}}}]";
    json_t *res = run_ok(s, NULL);
    const json_t *h = horse(res, 0);
    double chronic = 229900.0 / 24389;
    assert_near(num(h, "load/acute"), 26.5625);
    assert_near(num(h, "load/chronic"), chronic);
    assert_near(num(h, "load/acwr"), 26.5625 / chronic);
    assert_near(num(h, "load/days"), 3);
    /* ACWR 2.8 >= 1.5 but only 3 days < acwr_min_days 28: no flag */
    assert_int_equal(count_flags(h, "load_spike"), 0);
    json_decref(res);

    res = run_ok(s, "{\"acwr_min_days\":3}");
    h = horse(res, 0);
    assert_int_equal(count_flags(h, "load_spike"), 1);
    const json_t *f = json_array_get(json_object_get(h, "flags"), 0);
    assert_near(num(f, "threshold"), 1.5);
    assert_near(num(f, "observed"), 26.5625 / chronic);
    assert_non_null(strstr(json_string_value(json_object_get(f, "message")), "acute:chronic"));
    json_decref(res);

    /* ten rest days after the only load (a later session without load):
     * acute 25 * 0.75^10, chronic 200/29 * (27/29)^10 */
    res = run_ok("[{\"horse_id\":1,\"date\":\"2026-01-01\",\"intensity\":{\"load\":100}},"
                 " {\"horse_id\":1,\"date\":\"2026-01-11\",\"duration_s\":60}]", NULL);
    h = horse(res, 0);
    assert_near(num(h, "load/acute"), 25 * pow(0.75, 10));
    assert_near(num(h, "load/chronic"), 200.0 / 29 * pow(27.0 / 29, 10));
    assert_near(num(h, "load/days"), 11);
    assert_near(num(h, "load/sessions_with_load"), 1);
    json_decref(res);

    /* the widest date span is O(sessions), not O(days): 3 652 059 days */
    res = run_ok("[{\"horse_id\":1,\"date\":\"0001-01-01\",\"intensity\":{\"load\":1}},"
                 " {\"horse_id\":1,\"date\":\"9999-12-31\",\"intensity\":{\"load\":1}}]", NULL);
    assert_near(num(horse(res, 0), "load/days"), 3652059);
    assert_near(num(horse(res, 0), "load/acute"), 0.25);
    json_decref(res);
}

static void test_weekly(void **state)
{
    (void)state;
    /* 2026-01-01 (Thu) and 2026-01-03 (Sat) are ISO 2026-W01 (from Mon 2025-12-29);
     * 2026-01-05 (Mon) starts W02; 2021-01-03 (Sun) is 2020-W53; 2024-12-30 is 2025-W01. */
    json_t *res = run_ok(
        "[{\"horse_id\":1,\"date\":\"2026-01-01\",\"duration_s\":600,\"trot_symmetry_pct\":90,\"intensity\":{\"load\":10}},"
        " {\"horse_id\":1,\"date\":\"2026-01-03\",\"duration_s\":1200,\"trot_symmetry_pct\":94},"
        " {\"horse_id\":1,\"date\":\"2026-01-05\",\"duration_s\":300},"
        " {\"horse_id\":2,\"date\":\"2021-01-03\"},"
        " {\"horse_id\":2,\"date\":\"2024-12-30\"}]", NULL);
    const json_t *w = json_object_get(horse(res, 0), "weekly"), *w0 = json_array_get(w, 0);
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_object_get(w0, "week")), "2026-W01");
    assert_string_equal(json_string_value(json_object_get(w0, "start")), "2025-12-29");
    assert_near(num(w0, "sessions"), 2);
    assert_near(num(w0, "duration_s"), 1800);
    assert_near(num(w0, "load"), 10);
    assert_near(num(w0, "trot_symmetry_pct"), 92);
    const json_t *w1 = json_array_get(w, 1);
    assert_string_equal(json_string_value(json_object_get(w1, "week")), "2026-W02");
    assert_true(json_is_null(json_object_get(w1, "load")));
    assert_true(json_is_null(json_object_get(w1, "trot_symmetry_pct")));
    w = json_object_get(horse(res, 1), "weekly");
    assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "week")), "2020-W53");
    assert_string_equal(json_string_value(json_object_get(json_array_get(w, 1), "week")), "2025-W01");
    json_decref(res);
}

/* Five earlier sessions with trot cadence 150 152 148 151 149 (median 150,
 * MAD 1) and rein balance 0.05, then the latest. */
static json_t *cadence_run(double cadence, double balance)
{
    char buf[2048];
    size_t off = 0;
    const double cad[] = {150, 152, 148, 151, 149};
    off += (size_t)snprintf(buf + off, sizeof buf - off, "[");
    for (int i = 0; i < 5; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off,
                                "{\"horse_id\":3,\"date\":\"2026-04-0%d\",\"summary\":{\"gaits\":{\"trot\":"
                                "{\"cadence_spm\":%g}},\"rein\":{\"balance\":0.05}}},", i + 1, cad[i]);
    snprintf(buf + off, sizeof buf - off,
             "{\"horse_id\":3,\"date\":\"2026-04-06\",\"summary\":{\"gaits\":{\"trot\":"
             "{\"cadence_spm\":%g}},\"rein\":{\"balance\":%g}}}]", cadence, balance);
    return run_ok(buf, NULL);
}

static void test_flags_fire_or_not(void **state)
{
    (void)state;
    /* 165 spm: +10 % >= 8 % and z = 15/1.4826 >= 2.5 → cadence_shift; |0.35| >= 0.2 → rein_imbalance */
    json_t *res = cadence_run(165, -0.35);
    const json_t *h = horse(res, 0);
    assert_int_equal(count_flags(h, "cadence_shift"), 1);
    assert_int_equal(count_flags(h, "rein_imbalance"), 1);
    const json_t *f = json_array_get(json_object_get(h, "flags"), 1);
    assert_string_equal(json_string_value(json_object_get(f, "flag")), "cadence_shift");
    assert_string_equal(json_string_value(json_object_get(f, "metric")), "gaits.trot.cadence_spm");
    assert_near(num(f, "value"), 165);
    assert_near(num(f, "observed"), 10);
    assert_near(num(f, "threshold"), 8);
    assert_near(num(f, "z"), 15 / 1.4826);
    json_decref(res);

    /* 153 spm: +2 % < 8 %; balance 0.1 < 0.2 → no flags at all */
    res = cadence_run(153, 0.1);
    assert_int_equal(json_array_size(json_object_get(horse(res, 0), "flags")), 0);
    json_decref(res);

    /* symmetry 95 95 94 96 95 then 93: -2 points < 5 → no symmetry_drop although z = -2/1.4826 */
    res = run_ok("[{\"horse_id\":1,\"date\":\"2026-01-01\",\"trot_symmetry_pct\":95},"
                 " {\"horse_id\":1,\"date\":\"2026-01-02\",\"trot_symmetry_pct\":95},"
                 " {\"horse_id\":1,\"date\":\"2026-01-03\",\"trot_symmetry_pct\":94},"
                 " {\"horse_id\":1,\"date\":\"2026-01-04\",\"trot_symmetry_pct\":96},"
                 " {\"horse_id\":1,\"date\":\"2026-01-05\",\"trot_symmetry_pct\":95},"
                 " {\"horse_id\":1,\"date\":\"2026-01-06\",\"trot_symmetry_pct\":93}]", NULL);
    assert_int_equal(count_flags(horse(res, 0), "symmetry_drop"), 0);
    json_decref(res);
}

static void test_interleaved_horses(void **state)
{
    (void)state;
    /* out of date order and interleaved; 7 and "7" are different horses */
    json_t *res = run_ok(
        "[{\"horse_id\":7,\"date\":\"2026-05-03\",\"session_id\":\"s3\",\"duration_s\":30},"
        " {\"horse_id\":\"7\",\"date\":\"2026-05-01\",\"duration_s\":100},"
        " {\"horse_id\":7,\"date\":\"2026-05-01\",\"session_id\":\"s1\",\"duration_s\":10},"
        " {\"horse_id\":\"7\",\"date\":\"2026-05-09\",\"duration_s\":300},"
        " {\"horse_id\":7,\"date\":\"2026-05-02\",\"session_id\":\"s2\",\"duration_s\":20},"
        " {\"horse_id\":\"7\",\"date\":\"2026-05-05\",\"duration_s\":200}]", NULL);
    assert_int_equal(json_array_size(json_object_get(res, "horses")), 2);
    const json_t *a = horse(res, 0), *b = horse(res, 1);
    assert_true(json_is_integer(json_object_get(a, "horse_id")));
    assert_string_equal(json_string_value(json_object_get(b, "horse_id")), "7");
    assert_near(num(a, "sessions"), 3);
    assert_near(num(metric(a, "duration_s"), "latest"), 30);
    assert_near(num(metric(a, "duration_s"), "baseline"), 15);
    assert_near(num(metric(a, "duration_s"), "slope_30d"), 300); /* +10 per day */
    assert_string_equal(json_string_value(json_object_get(a, "last_session_id")), "s3");
    assert_near(num(metric(b, "duration_s"), "latest"), 300);
    assert_string_equal(json_string_value(json_object_get(b, "first_date")), "2026-05-01");
    assert_string_equal(json_string_value(json_object_get(b, "last_date")), "2026-05-09");
    json_decref(res);

    res = run_ok("[]", NULL);
    assert_int_equal(json_array_size(json_object_get(res, "horses")), 0);
    json_decref(res);
}

static void test_gated_zero(void **state)
{
    (void)state;
    /* aggregate writes 0 symmetry/cadence for a gait never seen and 0 balance
     * without turns: those are missing values, not drops to zero */
    json_t *res = run_ok(
        "[{\"horse_id\":1,\"date\":\"2026-06-01\",\"trot_symmetry_pct\":96,\"rein\":{\"left_s\":10,\"right_s\":30,\"balance\":-0.5},"
        "  \"gaits\":{\"trot\":{\"time_s\":60,\"cadence_spm\":150}}},"
        " {\"horse_id\":1,\"date\":\"2026-06-02\",\"trot_symmetry_pct\":0,\"rein\":{\"left_s\":0,\"right_s\":0,\"balance\":0},"
        "  \"gaits\":{\"trot\":{\"time_s\":0,\"cadence_spm\":0}}}]", NULL);
    const json_t *h = horse(res, 0);
    assert_near(num(metric(h, "trot_symmetry_pct"), "latest"), 96);
    assert_near(num(metric(h, "trot_symmetry_pct"), "n"), 1);
    assert_near(num(metric(h, "gaits.trot.cadence_spm"), "latest"), 150);
    assert_near(num(metric(h, "rein.balance"), "latest"), -0.5);
    assert_near(num(metric(h, "gaits.trot.time_s"), "latest"), 0); /* time itself is a value */
    assert_int_equal(count_flags(h, "symmetry_drop"), 0);
    assert_int_equal(count_flags(h, "rein_imbalance"), 1);
    json_decref(res);
}

static void test_bad_input(void **state)
{
    (void)state;
    run_bad("{\"horse_id\":1}", NULL, KEEL_EINVAL, "must be a JSON array");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01\"},{\"date\":\"2026-01-02\"}]", NULL, KEEL_EBADDATA,
            "sessions[1]: missing horse_id");
    run_bad("[{\"horse_id\":1.5,\"date\":\"2026-01-01\"}]", NULL, KEEL_EBADDATA, "sessions[0].horse_id");
    run_bad("[{\"horse_id\":\"\",\"date\":\"2026-01-01\"}]", NULL, KEEL_EBADDATA, "sessions[0].horse_id");
    run_bad("[{\"horse_id\":1}]", NULL, KEEL_EBADDATA, "sessions[0]: missing date");
    run_bad("[{\"horse_id\":1,\"date\":20260101}]", NULL, KEEL_EBADDATA, "must be a string");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-02-29\"}]", NULL, KEEL_EBADDATA, "day out of range");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-13-01\"}]", NULL, KEEL_EBADDATA, "month out of range");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-1-01\"}]", NULL, KEEL_EBADDATA, "expected YYYY-MM-DD");
    run_bad("[{\"horse_id\":1,\"date\":\"26-01-01\"}]", NULL, KEEL_EBADDATA, "expected YYYY-MM-DD");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01T10:00:00\"}]", NULL, KEEL_EBADDATA, "missing time zone");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01T24:00:00Z\"}]", NULL, KEEL_EBADDATA, "out of range");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01T10:00:00+2:00\"}]", NULL, KEEL_EBADDATA, "bad UTC offset");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01 \"}]", NULL, KEEL_EBADDATA, "expected THH:MM:SS");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01\",\"summary\":[]}]", NULL, KEEL_EBADDATA,
            "sessions[0].summary: must be an object");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01\",\"summary\":{\"trot_symmetry_pct\":\"high\"}}]", NULL,
            KEEL_EBADDATA, "sessions[0].summary.trot_symmetry_pct");
    run_bad("[{\"horse_id\":1,\"date\":\"2026-01-01\",\"gaits\":{\"trot\":3}}]", NULL, KEEL_EBADDATA,
            "sessions[0].gaits.trot");
    run_bad("[3]", NULL, KEEL_EBADDATA, "sessions[0]: must be an object");
    run_bad("[]", "{\"baseline\":3}", KEEL_EINVAL, "options.baseline: unknown option");
    run_bad("[]", "{\"baseline_n\":0}", KEEL_EINVAL, "options.baseline_n");
    run_bad("[]", "{\"baseline_n\":2.5}", KEEL_EINVAL, "an integer");
    run_bad("[]", "{\"z_threshold\":\"2\"}", KEEL_EINVAL, "options.z_threshold");
    run_bad("[]", "{\"acute_days\":30}", KEEL_EINVAL, "chronic_days");
    run_bad("[]", "[1]", KEEL_EINVAL, "options: must be an object");

    /* leap day is fine in a leap year, and NULL err is allowed */
    json_t *s = json_loads("[{\"horse_id\":1,\"date\":\"2024-02-29\"}]", 0, NULL), *out = NULL;
    assert_int_equal(compute_trend_run(s, NULL, &out, NULL, 0), 0);
    json_decref(out);
    assert_int_equal(compute_trend_run(s, NULL, NULL, NULL, 0), KEEL_EINVAL);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_mad_theil_sen),
        cmocka_unit_test(test_mad_zero),
        cmocka_unit_test(test_theil_sen_uneven),
        cmocka_unit_test(test_ewma_load),
        cmocka_unit_test(test_weekly),
        cmocka_unit_test(test_flags_fire_or_not),
        cmocka_unit_test(test_interleaved_horses),
        cmocka_unit_test(test_gated_zero),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
