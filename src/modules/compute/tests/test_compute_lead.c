/*
 * test_compute_lead.c — canter lead relative to the rein (true canter vs
 * counter-canter) with the sensor turned any way about the vertical, on the
 * footfall generator (footfall.h): both reins, true and counter canter, a
 * straight canter, mounting yaw 0/90/180/270° and random angles with some
 * tilt.  Expected times come from the generator's plan (which lead each
 * segment was driven with, which way it turned), never from the code.
 * Targets as for the other times: within 5 % of the session.
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
#include "footfall.h"

#define WALK(d, f, turn, r) { FF_WALK, d, f, f, turn, r, 0, 0, 1, 0, 0, 0 }
#define TROT(d, f, turn, r) { FF_TROT, d, f, f, turn, r, 0, 0, 1, 0, 0, 0 }
#define CANTER(d, f, turn, r, lead) { FF_CANTER, d, f, f, turn, r, lead, 0, 1, 0, 0, 0 }
#define HALT(d) { FF_HALT, d, 1, 1, 0, 10, 0, 0, 1, 0, 0, 0 }

/* warm-up on both reins, then canter: true left, true right, counter on the
 * left rein (right lead), counter on the right rein (left lead), straight */
static const ff_seg plan[] = {
    HALT(20), WALK(40, 0.9, 0, 0), TROT(50, 1.45, 1, 15), TROT(50, 1.42, -1, 15),
    WALK(20, 0.88, 0, 0),
    CANTER(50, 1.7, 1, 15, 1), WALK(15, 0.88, 0, 0), CANTER(50, 1.68, -1, 15, -1),
    TROT(20, 1.45, 0, 0), CANTER(45, 1.72, 1, 18, -1), WALK(15, 0.88, 0, 0),
    CANTER(45, 1.66, -1, 18, 1), TROT(20, 1.45, 0, 0), CANTER(30, 1.7, 0, 0, 1),
    WALK(30, 0.86, 0, 0), HALT(15),
};
#define NPLAN ((int)(sizeof plan / sizeof plan[0]))

/* no circle anywhere: the axis must come from the gaits themselves */
static const ff_seg straight[] = {
    HALT(15), WALK(40, 0.9, 0, 0), TROT(60, 1.45, 0, 0), WALK(15, 0.88, 0, 0),
    CANTER(40, 1.7, 0, 0, 1), TROT(20, 1.45, 0, 0), CANTER(40, 1.68, 0, 0, -1),
    WALK(30, 0.86, 0, 0), HALT(10),
};

typedef struct lead_err { double tr, co, ll, lr, rein, gait; } lead_err;

static lead_err run_plan(const ff_seg *segs, int nseg, double yaw, double roll, double pitch,
                         uint64_t seed, int harsh);

static lead_err run(double yaw, double roll, double pitch, uint64_t seed, int harsh)
{
    return run_plan(plan, NPLAN, yaw, roll, pitch, seed, harsh);
}

static lead_err run_plan(const ff_seg *segs, int nseg, double yaw, double roll, double pitch,
                         uint64_t seed, int harsh)
{
    ff_opts o = { seed, harsh ? 50 : 100, harsh ? 0.2 : 0.02, harsh ? 2 : 0, harsh ? 1.5 : 1, roll, pitch, yaw, harsh ? 0.8 : 0.3, harsh ? 0.04 : 0.01, harsh ? 0.002 : 0.0005, 2 };
    ff_data d;
    ff_truth tr;
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    assert_non_null(s);
    ff_generate(segs, nseg, &o, &d, &tr);
    compute_samples smp = { d.n, d.t, d.a[0], d.a[1], d.a[2], d.w[0], d.w[1], d.w[2] };
    if (harsh == 2)   /* the accelerometer alone */
        smp.gx = smp.gy = smp.gz = NULL;
    if (compute_aggregate_samples(&smp, NULL, s, err, sizeof err) != 0)
        fail_msg("aggregate failed: %s", err);
    /* truth from the plan: canter on a circle with the lead to the inside
     * is true, to the outside counter; the generator's own count agrees */
    double t_true = 0, t_counter = 0;
    for (int k = 0; k < nseg; k++)
        if (segs[k].gait == FF_CANTER && segs[k].turn != 0) {
            if (segs[k].lead == segs[k].turn)
                t_true += segs[k].dur;
            else
                t_counter += segs[k].dur;
        }
    assert_true(fabs(t_counter - tr.counter) < 0.01);
    double D = tr.duration;
    lead_err e = { fabs(s->canter_true_s - t_true) / D * 100,
                   fabs(s->canter_counter_s - t_counter) / D * 100,
                   fabs(s->canter_lead_left_s - tr.lead_l) / D * 100,
                   fabs(s->canter_lead_right_s - tr.lead_r) / D * 100,
                   fmax(fabs(s->rein_left_s - tr.rein_l), fmax(fabs(s->rein_right_s - tr.rein_r),
                        fabs(s->rein_straight_s - tr.rein_s))) / D * 100, 0 };
    for (int k = 0; k < FF_NGAITS; k++)  /* the generator's gaits are compute's, in order */
        e.gait = fmax(e.gait, fabs(s->gaits[k].time_s - tr.gait_t[k]) / D * 100);
    if (harsh == 2) {   /* no rate channels: no rein, no lead */
        fprintf(stderr, "accelerometer only, harsh, yaw %6.1f roll %5.1f pitch %5.1f: gait time "
                "error %.2f %%\n", yaw, roll, pitch, e.gait);
    } else {
        fprintf(stderr, "%syaw %6.1f roll %5.1f pitch %5.1f: true %5.1f s (truth %5.1f), counter "
                "%5.1f s (truth %5.1f), lead left %5.1f (%5.1f) right %5.1f (%5.1f); canter %5.1f "
                "(%5.1f); rein l/r/s %.0f/%.0f/%.0f (%.0f/%.0f/%.0f), worst %.2f %%; gait worst "
                "%.2f %%\n", harsh ? "harsh " : "", yaw, roll, pitch, s->canter_true_s, t_true,
                s->canter_counter_s, t_counter, s->canter_lead_left_s, tr.lead_l,
                s->canter_lead_right_s, tr.lead_r, s->gaits[COMPUTE_CANTER].time_s,
                tr.gait_t[FF_CANTER], s->rein_left_s, s->rein_right_s, s->rein_straight_s,
                tr.rein_l, tr.rein_r, tr.rein_s, e.rein, e.gait);
    }
    ff_free(&d);
    free(s);
    return e;
}

static void test_lead_any_yaw(void **state)
{
    (void)state;
    uint64_t x = 0x5DEECE66DULL;
    double worst_rel = 0, worst_abs = 0, harsh_lead = 0, harsh_rel = 0, harsh_rein = 0;
    double harsh_gait = 0;
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        double yaw, roll = 0, pitch = 0;
        if (i < 4) {
            yaw = 90.0 * i;
        } else { /* random yaw, with tilt up to 20° */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            yaw = (double)(x % 36000) / 100.0;
            roll = (double)((x >> 20) % 4000) / 100.0 - 20;
            pitch = (double)((x >> 40) % 4000) / 100.0 - 20;
        }
        lead_err e = run(yaw, roll, pitch, 100 + (uint64_t)i, 0);
        worst_rel = fmax(worst_rel, fmax(e.tr, e.co));
        worst_abs = fmax(worst_abs, fmax(e.ll, e.lr));
        bad += e.tr > 5 || e.co > 5 || e.ll > 5 || e.lr > 5;
        /* 50 Hz, 0.8 m/s² and 0.04 rad/s noise, a gyro bias drifting
         * 0.002 rad/s/√s, gaps: the lead is a target (the axis comes from
         * walk and trot about the window means, which no bias moves), and
         * so is true/counter time (the bias is followed on straight lines
         * too; from halts only, a straight canter read as a circle and true
         * canter missed by 6.5 %).  So is rein time: 17.8 % worst with the
         * bias from halts only, 11 % with it frozen through turns
         * (test_compute_rein), 5.3 % while the window between a canter and
         * a walk read as halt or unclassified (timeline.c's transitions).
         * And gait time: 6.8 % on harsh sessions before the bounce was
         * looked for through a filter (gait.c) and the transitions */
        e = run(yaw, roll, pitch, 200 + (uint64_t)i, 1);
        harsh_lead = fmax(harsh_lead, fmax(e.ll, e.lr));
        harsh_rel = fmax(harsh_rel, fmax(e.tr, e.co));
        harsh_rein = fmax(harsh_rein, e.rein);
        harsh_gait = fmax(harsh_gait, e.gait);
        bad += e.ll > 5 || e.lr > 5 || e.tr > 5 || e.co > 5 || e.rein > 5 || e.gait > 5;
    }
    fprintf(stderr, "harsh sensor: worst error, %% of the session: lead left/right %.2f, "
            "true/counter %.2f, rein %.2f\n", harsh_lead, harsh_rel, harsh_rein);
    fprintf(stderr, "harsh sensor: worst gait time error %.2f %% of the session\n", harsh_gait);
    fprintf(stderr, "worst error, %% of the session: true/counter %.2f, lead left/right %.2f\n",
            worst_rel, worst_abs);
    if (bad)
        fail_msg("%d of 16 runs missed a lead, rein or gait-time target", bad);
}

/* No circle in the whole session, the sensor turned any way: the fore-aft
 * axis from the walk and trot alone (before, x was assumed fore-aft and a
 * sensor at 90° read every lead wrong). */
static void test_lead_no_circle(void **state)
{
    (void)state;
    const int n = (int)(sizeof straight / sizeof straight[0]);
    int bad = 0;
    double worst = 0, worst_rein = 0, worst_gait = 0;
    for (int i = 0; i < 8; i++) {
        int harsh = i >= 4;
        double yaw = 90.0 * (i % 4) + (harsh ? 33 : 0);
        double roll = harsh ? 15 : 0, pitch = harsh ? -20 : 0;
        lead_err e = run_plan(straight, n, yaw, roll, pitch, 300 + (uint64_t)i, harsh);
        worst = fmax(worst, fmax(e.ll, e.lr));
        bad += e.ll > 5 || e.lr > 5;
        /* straight lines only: no canter is true or counter */
        bad += e.tr > 5 || e.co > 5;
        /* gait time: 0.8 m/s^2 of noise at 50 Hz makes a standstill's
         * windows read weak now and then; at the session's ends no halt is
         * beside them: 6.3 % unclassified until their energy, no more than
         * the sensor's noise (aggregate.c: noise_halt), made them halts */
        bad += e.rein > 5 || e.gait > 5;
        worst_rein = fmax(worst_rein, e.rein);
        worst_gait = fmax(worst_gait, e.gait);
    }
    fprintf(stderr, "no circle: worst lead left/right error %.2f %%, rein time %.2f %% of the "
            "session\n", worst, worst_rein);
    fprintf(stderr, "no circle: worst gait time error %.2f %% of the session\n", worst_gait);
    if (bad)
        fail_msg("%d misses without a circle", bad);
}

/* The harsh sensor's accelerometer alone (no gyro: many loggers and phone
 * exports): gait time on the same sessions, with and without circles.  No
 * roll rate shows the trunk's sway reversal; the sideways acceleration must. */
static void test_accel_only_gaits(void **state)
{
    (void)state;
    const int n = (int)(sizeof straight / sizeof straight[0]);
    double worst = 0, sum = 0;
    for (int i = 0; i < 8; i++) {
        double yaw = 45.0 * i + 33, roll = i % 2 ? 15 : -10, pitch = i % 3 ? -20 : 10;
        lead_err e = i < 4 ? run_plan(plan, NPLAN, yaw, roll, pitch, 400 + (uint64_t)i, 2)
                           : run_plan(straight, n, yaw, roll, pitch, 400 + (uint64_t)i, 2);
        worst = fmax(worst, e.gait);
        sum += e.gait;
    }
    /* the target, 5 %: 6.29 % before the filtered sway's reversal
     * kept weak walk windows classified (gait.c side_f), 5.54 % after, 3.32 %
     * since a window at a change of gait takes the gait most of it holds
     * (timeline.c boundary) */
    fprintf(stderr, "accelerometer only, harsh: worst gait time error %.2f %%, mean %.2f %%\n",
            worst, sum / 8);
    if (worst > 5)
        fail_msg("accelerometer only: gait time off by %.2f %% of the session", worst);
}

/* The signature alone: roll against pitch is the left lead, in any frame
 * whose fore-aft axis is right (either way along it). */
static void test_lead_sign(void **state)
{
    (void)state;
    /* roll = -pitch: covariance (xx, yy, zz, xy, xz, yz) in x forward */
    const double left[6] = { 1, 1, 0, -0.8, 0, 0 }, right[6] = { 1, 1, 0, 0.8, 0, 0 };
    const double f[3] = { 1, 0, 0 }, l[3] = { 0, 1, 0 }, fb[3] = { -1, 0, 0 }, lb[3] = { 0, -1, 0 };
    assert_int_equal(compute_lead_sign(left, f, l), 1);
    assert_int_equal(compute_lead_sign(right, f, l), -1);
    assert_int_equal(compute_lead_sign(left, fb, lb), 1);
    assert_int_equal(compute_lead_sign(right, fb, lb), -1);
    const double none[6] = { 1, 1, 0, 0.01, 0, 0 };
    assert_int_equal(compute_lead_sign(none, f, l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lead_sign),
        cmocka_unit_test(test_lead_any_yaw),
        cmocka_unit_test(test_lead_no_circle),
        cmocka_unit_test(test_accel_only_gaits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
