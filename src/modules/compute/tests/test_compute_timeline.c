/*
 * test_compute_timeline.c — the decisions timeline.c makes from a window's
 * neighbours, on hand-made windows: weak evidence takes the gait on both
 * sides, a halt beside it, a halt when its energy is the sensor's noise, or
 * unclassified; no rhythm between two windows of one gait is that gait when
 * its energy is above the noise; a window of change between two
 * gaits (weak, energy without rhythm, or a third gait) takes the gait whose
 * energy it mostly holds.  Expected gaits follow from the rule in docs/compute.md
 * ("aggregate", step 8) and the energies given, not from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "compute-internal.h"

enum { STRONG, WEAK, NORHYTHM, WEAK_FLOOR, NORHYTHM_ABOVE };

typedef struct out {
    int gait[16];
    int inherited[16];
    int n;
} out;

static void collect(void *arg, const compute_tl_win *w)
{
    out *o = arg;
    assert_true(o->n < 16);
    o->gait[o->n] = w->r.gait;
    o->inherited[o->n] = w->inherited;
    o->n++;
}

/* Runs windows (gait, kind, dynamic rms) through a timeline. */
static void run(const int (*spec)[2], const double *rms, int n, out *o)
{
    compute_tl tl;
    compute_tl_init(&tl);
    memset(o, 0, sizeof *o);
    for (int i = 0; i < n; i++) {
        compute_tl_win w;
        memset(&w, 0, sizeof w);
        w.r.gait = spec[i][0];
        w.r.weak = spec[i][1] == WEAK || spec[i][1] == WEAK_FLOOR;
        w.r.at_floor = spec[i][1] == WEAK_FLOOR;
        w.r.norhythm = spec[i][1] == NORHYTHM || spec[i][1] == NORHYTHM_ABOVE;
        w.r.above_floor = spec[i][1] == NORHYTHM_ABOVE;
        w.r.rms = rms[i];
        w.r.too_calm = rms[i] < 2.0;   /* gait.c, at suspended_min_rms's default */
        w.t0 = 2.0 * i;
        w.dur = 2.0;
        compute_tl_push(&tl, &w, collect, o);
    }
    compute_tl_flush(&tl, collect, o);
    assert_int_equal(o->n, n);
}

/* Canter (3.8 m/s^2) then walk (1.15): the window between them shows no
 * rhythm.  Its energy is the time-weighted mix: rms 2.3 is 70 % walk
 * ((2.3^2 - 3.8^2) / (1.15^2 - 3.8^2) = 0.70), rms 3.2 is 32 % walk. */
static void test_norhythm_between_gaits(void **state)
{
    (void)state;
    const int spec[4][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_CANTER, STRONG },
                             { COMPUTE_HALT, NORHYTHM }, { COMPUTE_WALK, STRONG } };
    const double mostly_walk[4] = { 3.8, 3.8, 2.3, 1.15 }, mostly_canter[4] = { 3.8, 3.8, 3.2, 1.15 };
    out o;

    run(spec, mostly_walk, 4, &o);
    assert_int_equal(o.gait[2], COMPUTE_WALK);
    assert_int_equal(o.inherited[2], 1);   /* its stride is not counted */
    run(spec, mostly_canter, 4, &o);
    assert_int_equal(o.gait[2], COMPUTE_CANTER);
    assert_int_equal(o.inherited[2], 1);
}

/* A weak window between two different gaits was unclassified; right
 * between them it is a transition too. */
static void test_weak_between_gaits(void **state)
{
    (void)state;
    const int spec[3][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_TROT, WEAK },
                             { COMPUTE_CANTER, STRONG } };
    const double rms[3] = { 1.2, 1.5, 3.8 };   /* 6 % of the way to canter */
    out o;

    run(spec, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_WALK);
}

/* What stays as it was: no rhythm between windows of one gait is a short
 * stop; anything beside a halt is a halt; weak windows between windows of
 * one gait are that gait. */
static void test_not_transitions(void **state)
{
    (void)state;
    const int stop[3][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_HALT, NORHYTHM },
                             { COMPUTE_WALK, STRONG } };
    const int by_halt[3][2] = { { COMPUTE_HALT, STRONG }, { COMPUTE_WALK, WEAK },
                                { COMPUTE_TROT, STRONG } };
    const int same[3][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_WALK, WEAK },
                             { COMPUTE_TROT, STRONG } };
    const double rms[4] = { 1.2, 2.0, 2.5, 3.8 };
    out o;

    run(stop, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
    assert_int_equal(o.inherited[1], 0);
    run(by_halt, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
    run(same, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_TROT);
}

/* A run of undecided windows between two gaits: each by its own energy
 * (walk 1.2, canter 3.8 m/s^2: rms 1.3 is 2 % of the way, 3.5 is 83 %).
 * A run longer than the look-ahead (COMPUTE_TL_DEPTH - 1 windows) leaves
 * its first window with nothing after it in sight: unclassified. */
static void test_weak_runs(void **state)
{
    (void)state;
    const int two[4][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_TROT, WEAK },
                            { COMPUTE_HALT, NORHYTHM }, { COMPUTE_CANTER, STRONG } };
    const double rms2[4] = { 1.2, 1.3, 3.5, 3.8 };
    int longrun[COMPUTE_TL_DEPTH + 2][2];
    double rmsl[COMPUTE_TL_DEPTH + 2];
    const int n = COMPUTE_TL_DEPTH + 2;
    out o;

    run(two, rms2, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_WALK);
    assert_int_equal(o.gait[2], COMPUTE_CANTER);
    assert_int_equal(o.inherited[2], 1);

    for (int i = 0; i < n; i++) {
        longrun[i][0] = i == 0 ? COMPUTE_WALK : i == n - 1 ? COMPUTE_CANTER : COMPUTE_TROT;
        longrun[i][1] = i == 0 || i == n - 1 ? STRONG : WEAK;
        rmsl[i] = i == n - 1 ? 3.8 : 1.3;
    }
    run((const int (*)[2])longrun, rmsl, n, &o);
    assert_int_equal(o.gait[1], COMPUTE_UNCLASSIFIED);
    for (int i = 2; i < n - 1; i++)
        assert_int_equal(o.gait[i], COMPUTE_WALK);
}

/* A window without rhythm at the end of the stream has no gait after it:
 * halt, as analysed. */
static void test_norhythm_at_end(void **state)
{
    (void)state;
    const int spec[2][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_HALT, NORHYTHM } };
    const double rms[2] = { 3.8, 2.3 };
    out o;

    run(spec, rms, 2, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
}

/* Weak windows that nothing beside them decides: at a stream's start or
 * end, or more of them than the look-ahead.  Energy at the sensor's noise
 * makes them halts; above it they stay unclassified. */
static void test_noise_floor_halts(void **state)
{
    (void)state;
    const int start[3][2] = { { COMPUTE_WALK, WEAK_FLOOR }, { COMPUTE_WALK, WEAK },
                              { COMPUTE_WALK, STRONG } };
    const int end[3][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_WALK, WEAK_FLOOR },
                            { COMPUTE_WALK, WEAK_FLOOR } };
    const double rms[3] = { 1.0, 1.2, 1.2 };
    out o;

    run(start, rms, 3, &o);
    assert_int_equal(o.gait[0], COMPUTE_HALT);   /* nothing before it: its energy */
    assert_int_equal(o.gait[1], COMPUTE_HALT);   /* a halt before it now */
    assert_int_equal(o.gait[2], COMPUTE_WALK);
    run(end, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
    assert_int_equal(o.gait[2], COMPUTE_HALT);

    const int start_above[2][2] = { { COMPUTE_WALK, WEAK }, { COMPUTE_TROT, STRONG } };
    run(start_above, rms, 2, &o);
    assert_int_equal(o.gait[0], COMPUTE_UNCLASSIFIED);
}

/* A halt between two different gaits, in noise: walk (rms 0.8), two weak
 * windows at the sensor's noise (0.55: energy 0.47 of the walk's, under
 * the 0.8 "clearly calmer" of docs/compute.md step 8), then trot (3.0).
 * A change of gait carries the energy of both sides; these carry less
 * than either: a halt.  They were read as a walk-to-trot transition (a
 * random 200-session sweep of the footfall generator: a still halt of 13 s
 * between a walk and a trot read as walk).  The same windows at 0.75, not
 * clearly calmer than the walk, stay a transition (the first walk window
 * after a canter in heavy noise is near the noise itself). */
static void test_noise_floor_between_gaits(void **state)
{
    (void)state;
    const int spec[4][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_WALK, WEAK_FLOOR },
                             { COMPUTE_WALK, WEAK_FLOOR }, { COMPUTE_TROT, STRONG } };
    const double calm[4] = { 0.8, 0.55, 0.55, 3.0 }, near[4] = { 0.8, 0.75, 0.75, 3.0 };
    out o;

    run(spec, calm, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
    assert_int_equal(o.gait[2], COMPUTE_HALT);
    run(spec, near, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_WALK);   /* 0.75^2 is 4 % of the way to the trot's */
    assert_int_equal(o.gait[2], COMPUTE_WALK);
}

/* Far calmer than both sides, above the noise: a restless halt between a
 * canter (rms 3.2) and a trot (4.2), its windows at 0.7 (energy 0.49, under
 * a quarter of the canter's 10.2).  No mix of the two gaits has less energy
 * than the calmer of them, so it is no transition: without rhythm it is what
 * it read (halt), weak it is unclassified.  Read as the canter before. */
static void test_far_calmer_between_gaits(void **state)
{
    (void)state;
    const int norhythm[4][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_HALT, NORHYTHM },
                                 { COMPUTE_HALT, NORHYTHM }, { COMPUTE_TROT, STRONG } };
    const int weak[4][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_WALK, WEAK },
                             { COMPUTE_WALK, WEAK }, { COMPUTE_TROT, STRONG } };
    const double calm[4] = { 3.2, 0.7, 0.7, 4.2 }, mix[4] = { 3.2, 3.4, 3.9, 4.2 };
    out o;

    run(norhythm, calm, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
    assert_int_equal(o.gait[2], COMPUTE_HALT);
    run(weak, calm, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_UNCLASSIFIED);
    assert_int_equal(o.gait[2], COMPUTE_UNCLASSIFIED);
    /* a real change: energies between the two, (3.4^2 - 3.2^2) / (4.2^2 - 3.2^2)
     * = 0.18 of the way to the trot, 3.9: 0.67 */
    run(norhythm, mix, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_CANTER);
    assert_int_equal(o.gait[2], COMPUTE_TROT);
}

/* At a change between a calm and a lively gait, the window holding both
 * reads as the livelier (its energy drowns the other's rhythm), so the
 * livelier gait gained a second at every change, both ways.  Its energy
 * says which gait most of it holds (docs/compute.md step 8): walk (rms 1,
 * energy 1) then trot (rms 5, energy 25).  A "trot" window at rms 2 holds
 * (4 - 1) / (25 - 1) = 12.5 % trot: walk.  After trot, a last "trot" at
 * rms 2 holds 87.5 % walk: walk; one at rms 4 holds (16 - 25) / (1 - 25) =
 * 37.5 % walk: trot.  Trot (rms 4.5) and canter (5) are too alike in
 * energy to tell so: as read. */
static void test_boundary_by_energy(void **state)
{
    (void)state;
    const int up[5][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_WALK, STRONG }, { COMPUTE_TROT, STRONG },
                           { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG } };
    const int down[5][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG },
                             { COMPUTE_WALK, STRONG }, { COMPUTE_WALK, STRONG } };
    const int alike[5][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG }, { COMPUTE_CANTER, STRONG },
                              { COMPUTE_CANTER, STRONG }, { COMPUTE_CANTER, STRONG } };
    const double r_up[5] = { 1, 1, 2, 5, 5 }, r_down[5] = { 5, 5, 2, 1, 1 }, r_down4[5] = { 5, 5, 4, 1, 1 };
    const double r_alike[5] = { 4.5, 4.5, 4.6, 5, 5 };
    out o;

    run(up, r_up, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_WALK);
    assert_int_equal(o.inherited[2], 1);   /* a mix: its stride is not counted */
    assert_int_equal(o.gait[3], COMPUTE_TROT);
    run(down, r_down, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_WALK);
    run(down, r_down4, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_TROT);
    assert_int_equal(o.inherited[2], 0);
    run(alike, r_alike, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_CANTER);
    assert_int_equal(o.inherited[2], 0);
}

/* A stop between two bouts of one gait: canter (rms 5), three weak windows
 * at the sensor's noise (rms 0.5, energy 0.25, a hundredth of the canter's
 * 25), canter.  The horse did not go on cantering through windows that hold
 * only noise: halt.  Weak windows of the same energy above the noise are
 * no canter either, being far too calm for one (gait.c too_calm; until
 * 2026-12-07 they kept the canter, and a restless halt between two trots
 * read as trot); with the energy a canter can have (2.9) and above the
 * noise they keep it.  One at the floor with a third of the canter's energy
 * is no stop either (a quarter is the line: timeline.c TL_APART). */
static void test_stop_between_bouts(void **state)
{
    (void)state;
    const int stop[6][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_CANTER, STRONG },
                             { COMPUTE_TROT, WEAK_FLOOR }, { COMPUTE_TROT, WEAK_FLOOR },
                             { COMPUTE_TROT, WEAK_FLOOR }, { COMPUTE_CANTER, STRONG } };
    const int weak[6][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_CANTER, STRONG },
                             { COMPUTE_TROT, WEAK }, { COMPUTE_TROT, WEAK },
                             { COMPUTE_TROT, WEAK }, { COMPUTE_CANTER, STRONG } };
    const double rms[6] = { 5, 5, 0.5, 0.5, 0.5, 5 }, third[6] = { 5, 5, 2.9, 2.9, 2.9, 5 };
    out o;

    run(stop, rms, 6, &o);
    for (int i = 2; i < 5; i++)
        assert_int_equal(o.gait[i], COMPUTE_HALT);
    run(weak, rms, 6, &o);
    for (int i = 2; i < 5; i++)
        assert_int_equal(o.gait[i], COMPUTE_HALT);
    run(weak, third, 6, &o);
    for (int i = 2; i < 5; i++)
        assert_int_equal(o.gait[i], COMPUTE_CANTER);
    run(stop, third, 6, &o);
    for (int i = 2; i < 5; i++)
        assert_int_equal(o.gait[i], COMPUTE_CANTER);
}

/* A stop and a start: the window holding both a halt (rms 0.5, energy
 * 0.25) and a trot (rms 4.5, energy 20.25) reads as trot, whose rhythm
 * drowns the halt's stillness.  Its energy places the change: rms 2 is
 * (4 - 0.25) / (20.25 - 0.25) = 19 % trot, a halt's window; rms 3.5 is
 * (12.25 - 0.25) / 20 = 60 % trot, a trot's.  Both ways, and with a halt
 * that shows energy without a rhythm (a fidgeting one) as the halt's side. */
static void test_boundary_at_a_stop(void **state)
{
    (void)state;
    const int start[5][2] = { { COMPUTE_HALT, STRONG }, { COMPUTE_HALT, STRONG }, { COMPUTE_TROT, STRONG },
                              { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG } };
    const int stop[5][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG }, { COMPUTE_TROT, STRONG },
                             { COMPUTE_HALT, NORHYTHM }, { COMPUTE_HALT, NORHYTHM } };
    const double r_start[5] = { 0.5, 0.5, 2, 4.5, 4.5 }, r_start_late[5] = { 0.5, 0.5, 3.5, 4.5, 4.5 };
    const double r_stop[5] = { 4.5, 4.5, 2, 0.5, 0.5 }, r_stop_late[5] = { 4.5, 4.5, 3.5, 0.5, 0.5 };
    out o;

    run(start, r_start, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_HALT);
    assert_int_equal(o.inherited[2], 1);
    run(start, r_start_late, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_TROT);
    run(stop, r_stop, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_HALT);
    run(stop, r_stop_late, 5, &o);
    assert_int_equal(o.gait[2], COMPUTE_TROT);
    assert_int_equal(o.gait[3], COMPUTE_HALT);
}

/* No rhythm between two windows of one gait: a short stop when the noise
 * floor is unknown or reached (the test above), that gait when the window
 * has more energy than the sensor's noise gives (the noise hid the rhythm
 * for a window; a horse standing still would be at the noise). */
static void test_rhythm_hidden_by_noise(void **state)
{
    (void)state;
    const int spec[4][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_HALT, NORHYTHM_ABOVE },
                             { COMPUTE_HALT, NORHYTHM_ABOVE }, { COMPUTE_WALK, STRONG } };
    const int by_halt[3][2] = { { COMPUTE_HALT, STRONG }, { COMPUTE_HALT, NORHYTHM_ABOVE },
                                { COMPUTE_WALK, STRONG } };
    const double rms[4] = { 1.2, 1.15, 1.18, 1.2 };
    out o;

    run(spec, rms, 4, &o);
    assert_int_equal(o.gait[1], COMPUTE_WALK);
    assert_int_equal(o.inherited[1], 1);
    assert_int_equal(o.gait[2], COMPUTE_WALK);
    run(by_halt, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_HALT);
}

/* A trot went on through windows of weak or hidden rhythm beside it --
 * unless they move the trunk less than any trot can (gait.c too_calm, under
 * 2 m/s^2): then the horse stopped between two bouts and fidgeted, a halt.
 * A walk is not judged by that energy (1-2.5 m/s^2). */
static void test_too_calm_between_bouts(void **state)
{
    (void)state;
    const int spec[4][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_HALT, NORHYTHM_ABOVE },
                             { COMPUTE_TROT, WEAK }, { COMPUTE_TROT, STRONG } };
    const int walks[4][2] = { { COMPUTE_WALK, STRONG }, { COMPUTE_HALT, NORHYTHM_ABOVE },
                              { COMPUTE_WALK, WEAK }, { COMPUTE_WALK, STRONG } };
    const double fidget[4] = { 6.7, 0.55, 0.6, 6.7 }, hidden[4] = { 6.7, 3.1, 3.4, 6.7 };
    const double walk[4] = { 1.2, 0.55, 0.6, 1.2 };
    /* the two middle windows' final gait, for each case */
    const struct { const int (*spec)[2]; const double *rms; int gait; } cases[] = {
        { spec, fidget, COMPUTE_HALT }, { spec, hidden, COMPUTE_TROT }, { walks, walk, COMPUTE_WALK },
    };
    out o;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run(cases[i].spec, cases[i].rms, 4, &o);
        assert_int_equal(o.gait[1], cases[i].gait);
        assert_int_equal(o.gait[2], cases[i].gait);
    }
}

/* One window of a third gait between two others, each decided by its own
 * evidence: a canter's end and a trot's start read as two pushes a stride
 * (gallop).  It is a transition like a weak one; between two windows of one
 * gait it stays as read. */
static void test_lone_window_between_gaits(void **state)
{
    (void)state;
    const int spec[4][2] = { { COMPUTE_CANTER, STRONG }, { COMPUTE_CANTER, STRONG },
                             { COMPUTE_GALLOP, STRONG }, { COMPUTE_TROT, STRONG } };
    const int same[3][2] = { { COMPUTE_TROT, STRONG }, { COMPUTE_CANTER, STRONG },
                             { COMPUTE_TROT, STRONG } };
    /* canter 4.0, trot 6.4 m/s^2: rms 5.8 is (33.6 - 16) / (41 - 16) = 70 % trot */
    const double rms[4] = { 4.0, 4.0, 5.8, 6.4 };
    out o;

    run(spec, rms, 4, &o);
    assert_int_equal(o.gait[2], COMPUTE_TROT);
    assert_int_equal(o.inherited[2], 1);
    assert_int_equal(o.gait[3], COMPUTE_TROT);
    assert_int_equal(o.inherited[3], 0);
    run(same, rms, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_CANTER);
    assert_int_equal(o.inherited[1], 0);
}

static int gap_before = -1; /* >= 0: gap_s without data before this window */
static double gap_s;
static int new_run_at = -1; /* >= 0: this window starts a new run (a clock reset) */

/* Windows (gait, stride, trot reading at half the stride or 0) through a
 * timeline, all strong, with a trot's energy. */
static void push_hz(const int *gait, const double *hz, const double *alt, int n,
                    compute_tl_emit emit, void *arg)
{
    compute_tl tl;
    compute_tl_init(&tl);
    for (int i = 0; i < n; i++) {
        compute_tl_win w;
        memset(&w, 0, sizeof w);
        w.r.gait = gait[i];
        w.r.stride_hz = hz[i];
        w.r.regularity = 9;
        w.r.alt_hz = alt[i];
        w.r.alt_regularity = alt[i] > 0 ? 8 : 0;
        w.r.rms = 6.0;
        w.t0 = 2.0 * i + (gap_before >= 0 && i >= gap_before ? gap_s : 0.0);
        w.dur = 2.0;
        w.new_run = i == new_run_at;
        compute_tl_push(&tl, &w, emit, arg);
    }
    compute_tl_flush(&tl, emit, arg);
}

static void run_hz(const int *gait, const double *hz, const double *alt, int n, out *o)
{
    memset(o, 0, sizeof *o);
    push_hz(gait, hz, alt, n, collect, o);
    assert_int_equal(o->n, n);
}

/* The stride of each window out, by its place. */
static void collect_hz(void *arg, const compute_tl_win *w)
{
    double *hz = arg;
    hz[(int)(w->t0 / 2.0 + 0.5)] = w->r.stride_hz;
}

/* With a break (*at: where the gap or the new run comes) between the trot
 * and the readings, forward (break at 1) and backward (break at 3), the
 * readings stay gallops. */
static void readings_stay_gallops(const int *fwd, const double *fwd_hz, const double *fwd_alt,
                                  const int *back, const double *back_hz, const double *back_alt,
                                  int *at)
{
    out o;
    *at = 1;
    run_hz(fwd, fwd_hz, fwd_alt, 4, &o);
    assert_int_equal(o.gait[0], COMPUTE_TROT);
    for (int i = 1; i < 4; i++)
        assert_int_equal(o.gait[i], COMPUTE_GALLOP);
    *at = 3;
    run_hz(back, back_hz, back_alt, 4, &o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(o.gait[i], COMPUTE_GALLOP);
    assert_int_equal(o.gait[3], COMPUTE_TROT);
}

/* A tiring trot: 1.13 Hz strides bounce at 2.26 Hz, then 1.11 and 1.10
 * Hz at 2.22 and 2.20, which read alone as a one-push gallop (with the
 * trot reading at half kept beside it).  No horse doubles its stride
 * frequency from one 2 s window to the next, so they are that trot, at
 * their trot strides; the same forward (a trot, then the readings) and
 * backward (the readings, then the trot they speed up into).  Beside a
 * canter, or beside a trot whose stride the reading does not continue
 * (1.45 Hz against 1.10), a gallop stays a gallop. */
static void test_doubled_stride(void **state)
{
    (void)state;
    const int fwd[4] = { COMPUTE_TROT, COMPUTE_GALLOP, COMPUTE_GALLOP, COMPUTE_GALLOP };
    const double fwd_hz[4] = { 1.13, 2.22, 2.20, 2.21 }, fwd_alt[4] = { 0, 1.11, 1.10, 1.105 };
    const int back[4] = { COMPUTE_GALLOP, COMPUTE_GALLOP, COMPUTE_GALLOP, COMPUTE_TROT };
    const double back_hz[4] = { 2.18, 2.20, 2.22, 1.12 }, back_alt[4] = { 1.09, 1.10, 1.11, 0 };
    const int cant[3] = { COMPUTE_CANTER, COMPUTE_GALLOP, COMPUTE_GALLOP };
    const double cant_hz[3] = { 1.95, 2.15, 2.2 }, cant_alt[3] = { 0, 1.075, 1.1 };
    const int fast[3] = { COMPUTE_TROT, COMPUTE_GALLOP, COMPUTE_TROT };
    const double fast_hz[3] = { 1.45, 2.2, 1.45 }, fast_alt[3] = { 0, 1.1, 0 };
    double hz[4] = { 0 };
    out o;

    run_hz(fwd, fwd_hz, fwd_alt, 4, &o);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.gait[i], COMPUTE_TROT);
    run_hz(back, back_hz, back_alt, 4, &o);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.gait[i], COMPUTE_TROT);
    run_hz(cant, cant_hz, cant_alt, 3, &o);
    assert_int_equal(o.gait[0], COMPUTE_CANTER);
    assert_int_equal(o.gait[1], COMPUTE_GALLOP);
    assert_int_equal(o.gait[2], COMPUTE_GALLOP);
    run_hz(fast, fast_hz, fast_alt, 3, &o);
    assert_int_equal(o.gait[1], COMPUTE_GALLOP);

    /* the strides that come out are the trot's */
    push_hz(back, back_hz, back_alt, 4, collect_hz, hz);
    for (int i = 0; i < 3; i++)
        assert_float_equal(hz[i], back_alt[i], 1e-12);
    assert_float_equal(hz[3], 1.12, 1e-12);

    /* across 10 s without data the horse may have done anything: the
     * readings stay gallops, forward and backward; across 1 s they do not */
    gap_before = 1;
    gap_s = 1.0;
    run_hz(fwd, fwd_hz, fwd_alt, 4, &o);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.gait[i], COMPUTE_TROT);
    gap_s = 10.0;
    readings_stay_gallops(fwd, fwd_hz, fwd_alt, back, back_hz, back_alt, &gap_before);
    gap_before = -1;
    /* nor across a clock reset, however close the times it gives */
    readings_stay_gallops(fwd, fwd_hz, fwd_alt, back, back_hz, back_alt, &new_run_at);
    new_run_at = -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norhythm_between_gaits),
        cmocka_unit_test(test_weak_between_gaits),
        cmocka_unit_test(test_not_transitions),
        cmocka_unit_test(test_weak_runs),
        cmocka_unit_test(test_norhythm_at_end),
        cmocka_unit_test(test_noise_floor_halts),
        cmocka_unit_test(test_noise_floor_between_gaits),
        cmocka_unit_test(test_far_calmer_between_gaits),
        cmocka_unit_test(test_boundary_by_energy),
        cmocka_unit_test(test_stop_between_bouts),
        cmocka_unit_test(test_boundary_at_a_stop),
        cmocka_unit_test(test_lone_window_between_gaits),
        cmocka_unit_test(test_rhythm_hidden_by_noise),
        cmocka_unit_test(test_too_calm_between_bouts),
        cmocka_unit_test(test_doubled_stride),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
