/*
 * test_compute_bouts.c — the bout timeline and the gait × rein breakdown
 * against the footfall generator (footfall.h), whose segments are the truth:
 * every change of gait or rein in the plan has a bout boundary within one
 * window (4 s); the bouts tile the session and add up to the summary's gait
 * times; time, cadence and trot symmetry per gait and rein are within the
 * session targets of the plan's.  The merging rules are checked on hand-made
 * window sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "compute-internal.h"
#include "footfall_truth.h"

#define WALK(d, f, turn, r) { FF_WALK, d, f, f, turn, r, 0, 0, 1, 0, 0, 0 }
#define TROT(d, f, turn, r, diag) { FF_TROT, d, f, f, turn, r, 0, 0, diag, 0, 0, 0 }
#define CANTER(d, f, turn, r, lead) { FF_CANTER, d, f, f, turn, r, lead, 0, 1, 0, 0, 0 }
#define HALT(d) { FF_HALT, d, 1, 1, 0, 10, 0, 0, 1, 0, 0, 0 }

static const ff_seg plan[] = {
    HALT(20), WALK(40, 0.9, 0, 0), TROT(60, 1.45, 1, 15, 1.0), TROT(50, 1.40, -1, 15, 0.9),
    WALK(30, 0.85, 1, 15), CANTER(45, 1.7, 1, 15, 1), CANTER(40, 1.65, -1, 15, -1),
    TROT(40, 1.5, 0, 0, 1.0), WALK(30, 0.88, -1, 15), HALT(15),
};
#define NSEG ((int)(sizeof plan / sizeof plan[0]))

static const int gmap[FF_NGAITS] = { COMPUTE_HALT, COMPUTE_WALK, COMPUTE_TROT, COMPUTE_CANTER,
                                     COMPUTE_GALLOP };

static compute_summary *run(const ff_opts *o, ff_truth *tr)
{
    ff_data d;
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    assert_non_null(s);
    ff_generate(plan, NSEG, o, &d, tr);
    compute_samples smp = { d.n, d.t, d.a[0], d.a[1], d.a[2], d.w[0], d.w[1], d.w[2] };
    if (compute_aggregate_samples(&smp, NULL, s, err, sizeof err) != 0)
        fail_msg("aggregate failed: %s", err);
    ff_free(&d);
    return s;
}

static void test_bouts_follow_plan(void **state)
{
    (void)state;
    ff_opts o = { 7, 100, 0.02, 0, 1, 15, -10, 90, 0.3, 0.01, 0.0005, 2 };
    ff_truth tr;
    compute_summary *s = run(&o, &tr);
    size_t n = s->bout_count;
    assert_true(n > 0 && n <= COMPUTE_MAX_BOUTS);

    /* tiling: each bout starts where the last ended (no gap in this plan),
     * from the first sample to the last */
    assert_true(fabs(s->bouts[0].start) < 1e-9);
    assert_true(fabs(s->bouts[n - 1].end - s->duration_s) < 1e-6);
    double per[COMPUTE_NGAITS + 1] = { 0 };
    for (size_t i = 0; i < n; i++) {
        assert_true(s->bouts[i].end > s->bouts[i].start);
        if (i > 0)
            assert_true(fabs(s->bouts[i].start - s->bouts[i - 1].end) < 1e-9);
        per[s->bouts[i].gait] += s->bouts[i].end - s->bouts[i].start;
    }
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        assert_true(fabs(per[g] - s->gaits[g].time_s) < 1e-6);
    assert_true(fabs(per[COMPUTE_NGAITS] - s->unclassified_s) < 1e-6);

    /* every change of gait or rein in the plan has a bout boundary within
     * one window length (4 s) */
    double t = 0, worst = 0;
    for (int k = 0; k + 1 < NSEG; k++) {
        t += plan[k].dur;
        double best = 1e9;
        for (size_t i = 1; i < n; i++)
            best = fmin(best, fabs(s->bouts[i].start - t));
        fprintf(stderr, "plan boundary %6.1f s: nearest bout boundary %.2f s away\n", t, best);
        worst = fmax(worst, best);
    }
    /* and each bout's labels are the plan's at its middle, for most of the time */
    double agree = 0, moving = 0;
    for (size_t i = 0; i < n; i++) {
        const compute_bout *b = &s->bouts[i];
        double mid = (b->start + b->end) / 2, t0 = 0;
        int k = 0;
        while (k < NSEG - 1 && mid >= t0 + plan[k].dur)
            t0 += plan[k++].dur;
        double dur = b->end - b->start;
        int ok = b->gait == gmap[plan[k].gait];
        if (plan[k].gait != FF_HALT) {
            moving += dur;
            ok = ok && b->rein == plan[k].turn;
            agree += ok ? dur : 0;
        }
        fprintf(stderr, "bout %-12s %7.1f–%7.1f rein %2d lead %2d | plan %d turn %2d%s\n",
                compute_window_gait(b->gait), b->start, b->end, b->rein, b->lead,
                plan[k].gait, plan[k].turn, ok ? "" : "  (differs)");
    }
    fprintf(stderr, "%zu bouts; worst boundary %.2f s; gait and rein as planned %.1f%% of moving time\n",
            n, worst, 100 * agree / moving);
    assert_true(worst <= 4.0);
    assert_true(agree / moving >= 0.9);
    /* no more bouts than the plan's segments need, with room for transition
     * windows (at most one short bout at each change) */
    assert_true(n <= 2 * NSEG + 2);

    /* JSON round trip keeps the timeline */
    json_t *j = compute_summary_json(s);
    compute_summary *b = malloc(sizeof *b);
    assert_int_equal(compute_summary_from_json(j, b), 0);
    assert_int_equal(b->bout_count, n);
    assert_int_equal(json_array_size(json_object_get(j, "bouts")), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(b->bouts[i].gait, s->bouts[i].gait);
        assert_int_equal(b->bouts[i].rein, s->bouts[i].rein);
        assert_true(fabs(b->bouts[i].end - s->bouts[i].end) < 1e-3);
    }
    json_decref(j);
    free(b);
    free(s);
}

/* Per gait and rein: time within 5 % of the session, cadence ±2
 * strides/min, trot symmetry ±3 points — all from the plan. */
static void test_gait_rein_breakdown(void **state)
{
    (void)state;
    ff_opts o = { 11, 200, 0.05, 0, 1, -20, 10, 200, 0.4, 0.02, 0.001, 2 };
    ff_truth tr;
    compute_summary *s = run(&o, &tr);
    double tt[FF_NGAITS][3] = { { 0 } }, tf[FF_NGAITS][3] = { { 0 } };
    for (int k = 0; k < NSEG; k++) {
        int ri = plan[k].turn > 0 ? 0 : plan[k].turn < 0 ? 1 : 2;
        tt[plan[k].gait][ri] += plan[k].dur;
        tf[plan[k].gait][ri] += plan[k].dur * plan[k].f0;
    }
    int bad = 0;
    for (int g = FF_WALK; g < FF_NGAITS; g++)
        for (int r = 0; r < 3; r++) {
            int cg = gmap[g];
            double e = fabs(s->gr_time_s[cg][r] - tt[g][r]) / tr.duration * 100;
            double cad = tt[g][r] > 0 ? 60 * tf[g][r] / tt[g][r] : 0;
            double ec = tt[g][r] > 20 ? fabs(s->gr_cadence_spm[cg][r] - cad) : 0;
            fprintf(stderr, "%-6s rein %d: time %6.1f truth %6.1f (%.1f%%) cadence %6.2f truth %6.2f\n",
                    compute_gait_names[cg], r, s->gr_time_s[cg][r], tt[g][r], e,
                    s->gr_cadence_spm[cg][r], cad);
            bad += e > 5 || ec > 2;
        }
    /* rate channels present: nothing is unknown but halt */
    for (int g = COMPUTE_WALK; g < COMPUTE_NGAITS; g++)
        assert_true(s->gr_time_s[g][3] == 0);
    for (int r = 0; r < 2; r++) {
        double truth_signed, truth = ff_rein_asym(&tr, r, &truth_signed);
        double got = fabs(s->trot_rein_asym[r]);
        fprintf(stderr, "trot rein %d asymmetry %.2f truth %.2f\n", r, got, truth);
        bad += truth >= 0 && fabs(got - truth) > 3;
    }
    double sym = ff_session_symmetry(&tr);
    fprintf(stderr, "session trot symmetry %.2f truth %.2f\n", s->trot_symmetry_pct, sym);
    bad += fabs(s->trot_symmetry_pct - sym) > 3;
    json_t *j = compute_summary_json(s);
    const json_t *tl = json_object_get(json_object_get(json_object_get(j, "gait_rein"), "trot"), "left");
    assert_true(json_is_number(json_object_get(tl, "symmetry_pct")));
    assert_true(fabs(json_number_value(json_object_get(tl, "symmetry_pct")) -
                     (100 - fabs(s->trot_rein_asym[0]))) < 0.01);
    json_decref(j);
    free(s);
    if (bad)
        fail_msg("%d gait × rein targets missed", bad);
}

/* Accelerometer only: every moving gait's time is on the unknown rein. */
static void test_gait_rein_accel_only(void **state)
{
    (void)state;
    ff_opts o = { 3, 100, 0.02, 0, 1, 0, 0, 0, 0.3, 0.01, 0.0005, 2 };
    ff_truth tr;
    ff_data d;
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    ff_generate(plan, NSEG, &o, &d, &tr);
    compute_samples smp = { d.n, d.t, d.a[0], d.a[1], d.a[2], NULL, NULL, NULL };
    assert_int_equal(compute_aggregate_samples(&smp, NULL, s, err, sizeof err), 0);
    for (int g = COMPUTE_WALK; g < COMPUTE_NGAITS; g++) {
        assert_true(fabs(s->gr_time_s[g][3] - s->gaits[g].time_s) < 1e-6);
        for (int r = 0; r < 3; r++)
            assert_true(s->gr_time_s[g][r] == 0);
    }
    json_t *j = compute_summary_json(s);
    const json_t *b0 = json_array_get(json_object_get(j, "bouts"), 1);
    assert_true(json_is_null(json_object_get(b0, "rein")));
    assert_true(json_is_null(json_object_get(json_object_get(json_object_get(
        json_object_get(j, "gait_rein"), "trot"), "unknown"), "symmetry_pct")));
    json_decref(j);
    ff_free(&d);
    free(s);
}

/* ---- the merging rules, on hand-made windows ----------------------------- */

static compute_bouts B;

static void win(double t0, double dur, int gait, int rein, int lead)
{
    compute_bout w = { t0, t0 + dur, (signed char)gait, (signed char)rein, (signed char)lead };
    compute_bouts_add(&B, &w, 5.0); /* bout_min_s default */
}

static void test_bout_rules(void **state)
{
    (void)state;
    enum { W = COMPUTE_WALK, T = COMPUTE_TROT, C = COMPUTE_CANTER, U = COMPUTE_UNCLASSIFIED };
    memset(&B, 0, sizeof B);
    /* trot left 10 s, one straight window (absorbed), trot left 6 s */
    win(0, 3, T, 1, 0); win(3, 2, T, 1, 0); win(5, 2, T, 1, 0); win(7, 3, T, 1, 0);
    win(10, 2, T, 0, 0);
    win(12, 2, T, 1, 0); win(14, 4, T, 1, 0);
    /* a lasting change of rein: trot right 6 s */
    win(18, 2, T, -1, 0); win(20, 2, T, -1, 0); win(22, 2, T, -1, 0);
    /* a short gait change is a bout (the summary counts it) */
    win(24, 2, W, -1, 0);
    /* unclassified is its own bout */
    win(26, 2, U, 2, 0); win(28, 2, U, 2, 0);
    /* canter: a window without a lead joins; a lead read wrong once is absorbed */
    win(30, 2, C, 1, 1); win(32, 2, C, 1, 0); win(34, 2, C, 1, -1); win(36, 2, C, 1, 1);
    /* a gap (hole) ends a bout even when the labels continue */
    win(40, 2, C, 1, 1); win(42, 2, C, 1, 1);
    compute_bouts_flush(&B);
    static const struct { double s, e; int g, r, l; } want[] = {
        { 0, 18, T, 1, 0 }, { 18, 24, T, -1, 0 }, { 24, 26, W, -1, 0 }, { 26, 30, U, 2, 0 },
        { 30, 38, C, 1, 1 }, { 40, 44, C, 1, 1 },
    };
    assert_int_equal(B.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < B.n; i++) {
        assert_true(B.list[i].start == want[i].s && B.list[i].end == want[i].e);
        assert_int_equal(B.list[i].gait, want[i].g);
        assert_int_equal(B.list[i].rein, want[i].r);
        assert_int_equal(B.list[i].lead, want[i].l);
    }
    /* a short different-rein run followed by a third rein stands alone */
    memset(&B, 0, sizeof B);
    win(0, 10, T, 1, 0); win(10, 2, T, 0, 0); win(12, 10, T, -1, 0);
    compute_bouts_flush(&B);
    assert_int_equal(B.n, 3);
    assert_int_equal(B.list[1].rein, 0);
    /* bounded: past COMPUTE_MAX_BOUTS bouts are counted, not listed */
    memset(&B, 0, sizeof B);
    for (int i = 0; i < COMPUTE_MAX_BOUTS + 10; i++)
        win(2.0 * i, 2, i % 2 ? W : T, 0, 0);
    compute_bouts_flush(&B);
    assert_int_equal(B.n, COMPUTE_MAX_BOUTS + 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bout_rules),
        cmocka_unit_test(test_bouts_follow_plan),
        cmocka_unit_test(test_gait_rein_breakdown),
        cmocka_unit_test(test_gait_rein_accel_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
