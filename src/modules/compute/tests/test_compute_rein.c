/*
 * test_compute_rein.c — the rein's two pieces of bookkeeping, on windows
 * built by hand so the expected values are geometry, not the detector's
 * output:
 *
 *  - the gyro's bias followed through a turn (lead.c): a bias that drifts
 *    during a long circle must not turn the straight line after it into a
 *    circle, and a circle whose rate really changes (a spiral) must not
 *    drag the bias further than a drifting gyro could;
 *  - the step window split (rein.c): the window holding the start of a
 *    turn gives the turn the share of its span that comes after the step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "compute-internal.h"

/* A window with mean rate w about the sensor's z axis (the vertical). */
static compute_window_result win(int gait, double w)
{
    compute_window_result r;
    memset(&r, 0, sizeof r);
    r.gait = gait;
    r.up[2] = 1;
    r.wmean[2] = w;
    r.sym_log = r.amp_a = r.amp_b = NAN;
    return r;
}

/* n windows of 2 s at gait g and mean rate w, in order */
static void learn_n(compute_leadest *e, int g, double w, int n)
{
    for (int i = 0; i < n; i++) {
        compute_window_result r = win(g, w);
        compute_lead_window(e, &r, 0, 0, 2);
    }
}

/* the turning rate compute_lead_window's bias leaves for a window at w */
static double yaw_after(const compute_leadest *e, double w)
{
    return w - e->bias[2];
}

/* 20 s of halt at bias 0.01, a 100 s trot circle at 0.2 rad/s during which
 * the bias drifts to 0.06 (0.0005 rad/s per second, well inside what a
 * gyro drifting 0.002 rad/s/√s does in 100 s at 2σ: 0.04 — the cap), then
 * a straight line at the new bias: it must read straight (|yaw| below the
 * 0.045 rein threshold).  With the bias frozen through the circle it read
 * 0.05: a circle. */
static void test_bias_followed_through_turn(void **state)
{
    (void)state;
    compute_leadest e;
    memset(&e, 0, sizeof e);
    double b = 0.01;
    learn_n(&e, COMPUTE_HALT, b, 10);
    assert_true(fabs(e.bias[2] - 0.01) < 1e-9);
    for (int i = 0; i < 50; i++) {
        b = 0.01 + 0.05 * (i + 1) / 50.0;
        compute_window_result r = win(COMPUTE_TROT, 0.2 + b);
        compute_lead_window(&e, &r, 0, 0, 2);
    }
    double y = yaw_after(&e, b);
    fprintf(stderr, "after the circle: bias %.4f (true %.4f), straight line reads %+.4f rad/s\n",
            e.bias[2], b, y);
    assert_true(fabs(y) < 0.045);
    assert_int_equal(compute_rein_class(y, 0.045), 0);
    /* and the straight line then anchors it */
    learn_n(&e, COMPUTE_TROT, b, 20);
    assert_true(fabs(e.bias[2] - b) < 0.005);
}

/* A circle that tightens from 0.2 to 0.35 rad/s over 60 s with a constant
 * bias: the change is the horse's, not the gyro's.  The bias may move by at
 * most 0.004·√(turn time) (0.031 rad/s here), so the straight line after it
 * reads within that of 0 and stays straight. */
static void test_spiral_caps_the_bias(void **state)
{
    (void)state;
    compute_leadest e;
    memset(&e, 0, sizeof e);
    learn_n(&e, COMPUTE_HALT, 0.0, 10);
    for (int i = 0; i < 30; i++) {
        compute_window_result r = win(COMPUTE_CANTER, 0.2 + 0.15 * (i + 1) / 30.0);
        compute_lead_window(&e, &r, 0, 0, 2);
    }
    double y = yaw_after(&e, 0.0);
    fprintf(stderr, "after the spiral: bias %.4f (true 0), straight line reads %+.4f rad/s\n",
            e.bias[2], y);
    assert_true(fabs(e.bias[2]) <= 0.004 * sqrt(60.0) + 1e-9);
    assert_int_equal(compute_rein_class(y, 0.045), 0);
}

/* A step of the rate from one window to the next (a change of rein, 0.2 to
 * -0.2) is a new turn, not drift: the bias does not move. */
static void test_change_of_rein_is_a_step(void **state)
{
    (void)state;
    compute_leadest e;
    memset(&e, 0, sizeof e);
    learn_n(&e, COMPUTE_HALT, 0.0, 1);
    learn_n(&e, COMPUTE_TROT, 0.2, 10);
    learn_n(&e, COMPUTE_TROT, -0.2, 10);
    assert_true(fabs(e.bias[2]) < 1e-9);
}

/* A window whose mean rate is not a number (an overflow in the sums)
 * teaches nothing: the bias and the lean sum stay finite. */
static void test_nan_window_learns_nothing(void **state)
{
    (void)state;
    compute_leadest e;
    memset(&e, 0, sizeof e);
    learn_n(&e, COMPUTE_HALT, 0.01, 1);
    learn_n(&e, COMPUTE_TROT, 0.21, 3);
    learn_n(&e, COMPUTE_TROT, NAN, 1);
    learn_n(&e, COMPUTE_TROT, 0.21, 2);
    assert_true(isfinite(e.bias[2]));
    assert_true(isfinite(e.turn_w));
    /* nor the circles' lean (the lead's axis): NaN there once stayed */
    assert_true(isfinite(e.lsum[0]) && isfinite(e.lsum[1]) && isfinite(e.lsum[2]));
    assert_true(fabs(e.bias[2] - 0.01) < 0.005);
}

static void feed(compute_rein_steps *rs, double t0, double y)
{
    compute_rein_win w = { .t0 = t0, .dur = 2, .y = y, .counted = 1, .rated = 1 };
    compute_rein_steps_add(rs, &w);
}

/* Windows of 4 s every 2 s, each given its middle 2 s.  Straight until a
 * turn at 0.2 rad/s starts at time S; the window analysed over [c-2, c+2]
 * reads 0.2·(c+2-S)/4.  The split must give the turn exactly the time
 * after S, whatever S is within the window. */
static void test_step_split(void **state)
{
    (void)state;
    const double starts[] = { 21.0, 21.5, 22.0, 22.5, 23.0 };
    for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
        double S = starts[k];
        compute_rein_steps rs;
        compute_rein_steps_init(&rs, 0.045, 4.0);
        for (double t0 = 0; t0 < 50; t0 += 2) {
            double c = t0 + 1, in = (c + 2 - S) / 4;
            in = in < 0 ? 0 : in > 1 ? 1 : in;
            feed(&rs, t0, 0.2 * in);
        }
        compute_rein_steps_flush(&rs);
        fprintf(stderr, "turn from %.1f s: left %.2f s (truth %.2f), straight %.2f s (truth %.2f)\n",
                S, rs.t[0], 50 - S, rs.t[2], S);
        assert_true(fabs(rs.t[0] - (50 - S)) < 1e-6);
        assert_true(fabs(rs.t[2] - S) < 1e-6);
        assert_true(rs.t[1] == 0);
    }
}

/* No step, no split: a window between levels on the same rein keeps its
 * own class (a wobble on a circle), and so does a blip that is not between
 * its levels; a hole between windows is no step either. */
static void test_no_split_without_a_step(void **state)
{
    (void)state;
    compute_rein_steps rs;
    compute_rein_steps_init(&rs, 0.045, 4.0);
    const double y[] = { 0.2, 0.2, 0.1, 0.2, 0.2, 0.0, 0.0, 0.3, 0.0, 0.0 };
    for (int i = 0; i < 10; i++)
        feed(&rs, 2.0 * i, y[i]);
    /* a hole of 6 s, then a window at 0.1 between 0 (before the hole) and
     * 0.2: read on its own, left */
    feed(&rs, 26, 0.1);
    feed(&rs, 28, 0.2);
    feed(&rs, 30, 0.2);
    compute_rein_steps_flush(&rs);
    fprintf(stderr, "left %.2f straight %.2f right %.2f\n", rs.t[0], rs.t[2], rs.t[1]);
    assert_true(fabs(rs.t[0] - 18) < 1e-9);
    assert_true(fabs(rs.t[2] - 8) < 1e-9);
    assert_true(rs.t[1] == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bias_followed_through_turn),
        cmocka_unit_test(test_spiral_caps_the_bias),
        cmocka_unit_test(test_change_of_rein_is_a_step),
        cmocka_unit_test(test_nan_window_learns_nothing),
        cmocka_unit_test(test_step_split),
        cmocka_unit_test(test_no_split_without_a_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
