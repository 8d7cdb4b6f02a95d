/*
 * test_compute_declip.c — accelerometer peaks cut at the sensor's full
 * scale, drawn back (declip.c).  The signal is written here from the
 * physics, not from any generator the detectors were tuned on: at trot
 * each diagonal's stance pushes the trunk with a vertical ground reaction
 * close to a half sine, and between stances the trunk is in the air
 * (specific force 0).  Over a stride the mean specific force is 1 g, so a
 * 0.2 s stance every 0.385 s (2.6 pushes a second, a brisk pony's trot)
 * peaks at g·(π/2)·(0.385/0.2) ≈ 3 g, which a ±2 g sensor sampling at
 * 100 Hz cuts for about 0.1 s.  What comes out of the row pipeline (the
 * per-sample hook trace.c uses) is compared with the formula.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "compute-internal.h"

#define N    6000                 /* 60 s at 100 Hz */
#define RAIL (2.0 * COMPUTE_G)    /* ±2 g */

typedef struct seen { double az[N]; size_t n; } seen;

static void on_sample(void *arg, double t, const double a[3], const double grav[3])
{
    seen *s = arg;
    (void)t;
    (void)grav;
    if (s->n < N)
        s->az[s->n++] = a[2];
}

static double rate = 100;     /* Hz */
static double stance = 0.2;   /* s; test_smooth_peaks_untouched lengthens it */
static double quantum = 0;    /* the logger's resolution (m/s², 0: none) */

/* the true vertical specific force at time t (m/s²) */
static double truth(double t)
{
    const double P = 1 / 2.6;   /* push period (s) */
    double tau = fmod(t, P);
    return tau < stance ? COMPUTE_G * (M_PI / 2) * (P / stance) * sin(M_PI * tau / stance) : 0;
}

/* Feeds N rows (az clipped at rail, NaN where nan_at says), collects what
 * reaches the aggregator; returns quality.clipped_samples. */
static long long run(double rail, seen *out, int (*nan_at)(size_t))
{
    /* units stated: a trunk in the air half the time has a median |a|
     * below 3, which detection would take for g */
    compute_options opt = { .time_unit = COMPUTE_TIME_S, .accel_unit = COMPUTE_ACCEL_MS2,
                            .gyro_unit = COMPUTE_GYRO_RADS };
    compute_agg *g = compute_agg_new(&opt);
    compute_summary *s = malloc(sizeof *s);
    char err[256];
    assert_non_null(g);
    assert_non_null(s);
    memset(out, 0, sizeof *out);
    compute_agg_on_sample(g, on_sample, out);
    for (size_t i = 0; i < N; i++) {
        double t = (double)i / rate, az = truth(t);
        if (az > rail)
            az = rail;
        if (quantum > 0)
            az = quantum * round(az / quantum);
        if (nan_at && nan_at(i))
            az = NAN;
        double v[COMPUTE_NCOLS] = { t, 0.6 * sin(2 * M_PI * 1.3 * t), 0.4 * cos(2 * M_PI * 2.6 * t), az,
                                    0.01, -0.02, 0.005 };
        compute_agg_push(g, v);
    }
    assert_int_equal(compute_agg_finish(g, s, err, sizeof err), 0);
    long long n = s->clipped_samples;
    compute_agg_free(g);
    free(s);
    assert_int_equal(out->n, N);
    return n;
}

/* Clipped at 2 g, the pushes lose up to 1 g; drawn back, what is left of
 * that error over the cut samples is at most a quarter, and every cut run
 * but those at the very ends is drawn. */
static void cut_pushes_drawn_back(double hz)
{
    static seen o;
    rate = hz;
    long long drawn = run(RAIL, &o, NULL);
    size_t cut = 0;
    double err_clipped = 0, err_drawn = 0;
    for (size_t i = 2; i + 2 < N; i++) {
        double tv = truth((double)i / rate);
        if (tv <= RAIL)
            continue;
        cut++;
        err_clipped += tv - RAIL;
        err_drawn += fabs(o.az[i] - tv);
    }
    print_message("%.0f Hz: cut %zu samples, drawn %lld; mean error clipped %.3f g, drawn %.3f g\n", hz,
                  cut, drawn, err_clipped / (double)cut / COMPUTE_G, err_drawn / (double)cut / COMPUTE_G);
    rate = 100;
    assert_true(cut > 500);
    assert_true(drawn >= (long long)(0.95 * (double)cut) && drawn <= (long long)cut);
    assert_true(err_drawn <= 0.25 * err_clipped);
    /* nothing drawn beyond twice the rail */
    for (size_t i = 0; i < N; i++)
        assert_true(o.az[i] <= 2 * RAIL + 1e-9);
}

static void test_cut_pushes_drawn_back(void **state)
{
    (void)state;
    cut_pushes_drawn_back(100);
}

/* At 440 Hz the same cut lasts ~47 samples: a limit counted in samples
 * (40) left every push cut; the limit is 0.15 s */
static void test_cut_pushes_drawn_back_440hz(void **state)
{
    (void)state;
    cut_pushes_drawn_back(440);
}

/* A value repeated below 1.5 g is no rail: a sensor standing still, or a
 * trunk signal quantised by the logger, comes through untouched. */
static void test_low_repeats_untouched(void **state)
{
    (void)state;
    static seen o;
    const double rail = 1.4 * COMPUTE_G;
    assert_int_equal(run(rail, &o, NULL), 0);
    for (size_t i = 0; i < N; i++) {
        double tv = truth((double)i / rate);
        assert_true(o.az[i] == (tv > rail ? rail : tv));
    }
}

/* empty cells in the middle of every push: held at the last value, which
 * repeats beyond 1.5 g, but a held cell is no clipping */
static int in_push(size_t i)
{
    double v = truth((double)i / rate), before = truth((double)(i - (i > 0)) / rate);
    return v > 2.5 * COMPUTE_G && before > 2.5 * COMPUTE_G;
}

static void test_held_cells_not_drawn(void **state)
{
    (void)state;
    static seen o;
    long long drawn = run(1e9, &o, in_push);   /* no clipping, only holds */
    assert_int_equal(drawn, 0);
    for (size_t i = 1; i < N; i++)
        if (in_push(i))
            assert_true(o.az[i] == o.az[i - 1]);
}

/* A broad push (0.3 s stance: 2 g peaks, never cut) logged at 1 mg steps
 * and 440 Hz: its top samples differ by less than a step, so the file
 * repeats a value beyond 1.5 g at every peak.  The curve through the flanks
 * hardly passes it there: nothing is drawn (a synthetic 200 Hz session with
 * four decimals had 4 samples "drawn" before that rule). */
static void test_smooth_peaks_untouched(void **state)
{
    (void)state;
    static seen o;
    rate = 440;
    stance = 0.3;
    quantum = COMPUTE_G / 1000;
    assert_int_equal(run(1e9, &o, NULL), 0);
    for (size_t i = 0; i < N; i++)
        assert_true(o.az[i] == quantum * round(truth((double)i / rate) / quantum));
    rate = 100;
    stance = 0.2;
    quantum = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_pushes_drawn_back),
        cmocka_unit_test(test_cut_pushes_drawn_back_440hz),
        cmocka_unit_test(test_low_repeats_untouched),
        cmocka_unit_test(test_held_cells_not_drawn),
        cmocka_unit_test(test_smooth_peaks_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
