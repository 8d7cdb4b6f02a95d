/*
 * test_compute_sweep.c — aggregate on 200 random sessions of the footfall
 * generator (footfall.h), drawn across the whole range the issue names:
 * breeds and ponies at every stride frequency of each gait's band (walk
 * 0.7-1.05 Hz, trot 1.15-1.7, canter 1.4-2.0, gallop 1.9-2.4), lameness of
 * 0-15 %, bouts of 6-60 s, circles of 8-20 m and straight lines, a tiring
 * horse's cadence drift, restless and still halts, 50-440 Hz with jitter and
 * gaps of up to 2 s, noise up to 0.8 m/s^2 and 0.04 rad/s with a drifting
 * gyro bias, +-2 g clipping or none, and mountings tilted up to 30 degrees at
 * any yaw.  The fixed sessions of test_compute_footfall cover what someone
 * thought of; this covers what nobody chose.  Every expected value is the
 * generator's physical truth.
 *
 * Targets per session: gait time within 5 % of the session, rein time
 * within 5 %, cadence within 2 strides/min, trot symmetry within 3 points.
 * Not every random session meets all of them (docs/compute.md, "accuracy");
 * the test holds the number that miss each to what this code achieves, with
 * a little room, so a change that makes more sessions miss fails here.  It
 * prints every miss.  Seeded: the same sessions every run.
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
#include "harmonic.h"
#include "sweep_debug.h"

#define SESSIONS 200

static uint64_t rs;
static double fixed_rate;   /* > 0: every session sampled at this rate (Hz) */
static double fusion_s;     /* > 0: gravity removed as a fusion logger does, over +-fusion_s */
static long spike_row = -1; /* >= 0: this row's ax replaced by spike (a corrupt cell) */
static double spike;
/* the generator: footfall.h's hoof forces, or harmonic.h's measured motion */
static int (*generate)(const ff_seg *, int, const ff_opts *, ff_data *, ff_truth *) = ff_generate;
static double uni(double a, double b) { return a + (b - a) * ff_u(&rs); }

/* A stride frequency near f, kept inside gait g's band. */
static double in_band(int g, double f)
{
    static const double lo[FF_NGAITS] = { 1, 0.7, 1.15, 1.4, 1.9 };
    static const double hi[FF_NGAITS] = { 1, 1.05, 1.7, 2.0, 2.4 };
    f *= uni(0.97, 1.03);
    return f < lo[g] ? lo[g] : f > hi[g] ? hi[g] : f;
}

static int random_plan(ff_seg *seg, int cap, ff_opts *o, int sd)
{
    rs = 0x9e3779b97f4a7c15ULL ^ (uint64_t)sd * 7919;
    for (int i = 0; i < 5; i++)
        (void)ff_u(&rs);
    int pony = ff_u(&rs) < 0.3;
    double f[FF_NGAITS] = { 1, pony ? uni(0.9, 1.05) : uni(0.7, 0.95),
                            pony ? uni(1.5, 1.7) : uni(1.15, 1.5),
                            pony ? uni(1.8, 2.0) : uni(1.4, 1.8), uni(1.9, 2.3) };
    double lame = ff_u(&rs) < 0.4 ? uni(0.85, 0.97) : 1.0;
    int n = 0, prev = FF_HALT;
    seg[n++] = (ff_seg){ FF_HALT, uni(8, 25), 1, 1, 0, 10, 0, 0, 1, 0, ff_u(&rs) < 0.5, 0 };
    int ns = 8 + (int)(ff_u(&rs) * 8);
    for (int k = 0; k < ns && n < cap - 1; k++) {
        double p = ff_u(&rs);
        int g = p < 0.3 ? FF_WALK : p < 0.62 ? FF_TROT : p < 0.88 ? FF_CANTER : p < 0.93 ? FF_GALLOP : FF_HALT;
        if (g == prev)
            g = g == FF_WALK ? FF_TROT : FF_WALK;
        ff_seg s;
        memset(&s, 0, sizeof s);
        s.gait = g;
        s.dur = ff_u(&rs) < 0.25 ? uni(6, 14) : uni(15, 60);
        s.diag_right = lame;
        s.radius = 10;
        s.f0 = g == FF_HALT ? 1 : in_band(g, f[g]);
        s.f1 = ff_u(&rs) < 0.3 ? s.f0 * uni(0.9, 0.98) : s.f0;   /* tiring */
        if (g != FF_HALT && g != FF_GALLOP && ff_u(&rs) < 0.6) {
            s.turn = ff_u(&rs) < 0.5 ? 1 : -1;
            s.radius = uni(8, 20);
        }
        if (g == FF_CANTER || g == FF_GALLOP)
            s.lead = s.turn ? (ff_u(&rs) < 0.85 ? s.turn : -s.turn) : (ff_u(&rs) < 0.5 ? 1 : -1);
        if (g == FF_TROT)
            s.collected = ff_u(&rs) < 0.25;
        if (g == FF_HALT) {
            s.restless = ff_u(&rs) < 0.5;
            s.f0 = s.f1 = 1;
            s.dur = uni(5, 20);
        }
        seg[n++] = s;
        prev = g;
    }
    seg[n++] = (ff_seg){ FF_HALT, uni(5, 20), 1, 1, 0, 10, 0, 0, 1, 0, ff_u(&rs) < 0.5, 0 };
    static const double rates[4] = { 50, 100, 200, 440 };
    memset(o, 0, sizeof *o);
    o->seed = (uint64_t)sd * 31 + 7;
    o->rate = rates[(int)(ff_u(&rs) * 4)];
    if (fixed_rate > 0)
        o->rate = fixed_rate;
    o->jitter = uni(0, 0.2);
    o->ngaps = (int)(ff_u(&rs) * 3);
    o->gap_max = 2;
    double tilt = uni(0, 30), az = uni(0, 2 * M_PI);
    o->roll = tilt * cos(az);
    o->pitch = tilt * sin(az);
    o->yaw = uni(0, 360);
    double lvl = ff_u(&rs);
    o->acc_noise = 0.8 * lvl;
    o->gyro_noise = 0.04 * lvl;
    o->gyro_drift = 0.002 * lvl;
    o->sat_g = ff_u(&rs) < 0.5 ? 2 : 0;
    return n;
}

typedef struct misses { int gait, rein, cadence, symmetry, sessions; } misses;

/* A fusion logger's "linear acceleration": the specific force less its
 * gravity estimate, here the centred mean over +-h seconds (the sensor's
 * tilt changes slowly; the stride's acceleration averages out).  Written
 * from the definition, not from aggregate_linear.c. */
static void remove_gravity(ff_data *d, double h)
{
    double (*lp)[3] = malloc(sizeof *lp * d->n), sum[3] = { 0, 0, 0 };
    size_t a = 0, b = 0;

    assert_non_null(lp);
    for (size_t i = 0; i < d->n; i++) {
        for (; b < d->n && d->t[b] <= d->t[i] + h; b++)
            for (int k = 0; k < 3; k++)
                sum[k] += d->a[k][b];
        for (; d->t[a] < d->t[i] - h; a++)
            for (int k = 0; k < 3; k++)
                sum[k] -= d->a[k][a];
        for (int k = 0; k < 3; k++)
            lp[i][k] = sum[k] / (double)(b - a);
    }
    for (size_t i = 0; i < d->n; i++)
        for (int k = 0; k < 3; k++)
            d->a[k][i] -= lp[i][k];
    free(lp);
}

static void run_one(int sd, int gyro, misses *m)
{
    ff_seg seg[24];
    ff_opts o;
    ff_data d;
    ff_truth tr;
    char err[320] = "";
    int n = random_plan(seg, 24, &o, sd);
    compute_summary *s = malloc(sizeof *s);

    assert_non_null(s);
    assert_int_equal(generate(seg, n, &o, &d, &tr), 0);
    if (fusion_s > 0)
        remove_gravity(&d, fusion_s);
    if (spike_row >= 0 && (size_t)spike_row < d.n)
        d.a[0][spike_row] = spike;
    if (getenv("SWEEP_DUMP"))
        dump_session(getenv("SWEEP_DUMP"), sd, seg, n, &d, gyro);
    compute_samples smp = { d.n, d.t, d.a[0], d.a[1], d.a[2], gyro ? d.w[0] : NULL,
                            gyro ? d.w[1] : NULL, gyro ? d.w[2] : NULL };
    if (compute_aggregate_samples(&smp, NULL, s, err, sizeof err) != 0)
        fail_msg("session %d: aggregate failed: %s", sd, err);
    double D = tr.duration, ge = 0, ce = 0, se = 0;
    int gw = 0;
    for (int k = 0; k < FF_NGAITS; k++) {
        double e = fabs(s->gaits[k].time_s - tr.gait_t[k]) / D * 100;
        if (e > ge) {
            ge = e;
            gw = k;
        }
        if (k > 0 && tr.gait_t[k] > 20 && s->gaits[k].time_s > 10)
            ce = fmax(ce, fabs(s->gaits[k].cadence_spm - tr.gait_ft[k] / tr.gait_t[k] * 60));
    }
    /* without the rate channels rein and symmetry are null: not judged */
    double re = !gyro ? 0 : fmax(fabs(s->rein_left_s - tr.rein_l),
                     fmax(fabs(s->rein_right_s - tr.rein_r), fabs(s->rein_straight_s - tr.rein_s))) / D * 100;
    double sym = ff_session_symmetry(&tr);
    if (gyro && sym >= 0 && tr.gait_t[FF_TROT] > 30)
        se = fabs(s->trot_symmetry_pct - sym);
    int miss = (ge > 5) + (re > 5) + (ce > 2) + (se > 3);
    if (miss)
        fprintf(stderr, "session %3d (%3.0f Hz, noise %.2f, clip %.0f g): gait %.1f %% (%s)%s, rein %.1f %%%s, "
                "cadence %.1f%s, symmetry %.1f (truth %.1f)%s\n", sd, o.rate, o.acc_noise, o.sat_g, ge,
                compute_window_gait(gw), ge > 5 ? " MISS" : "", re, re > 5 ? " MISS" : "", ce,
                ce > 2 ? " MISS" : "", s->trot_symmetry_pct, sym, se > 3 ? " MISS" : "");
    if (miss && getenv("SWEEP_DEBUG"))
        print_miss(seg, n, &tr, s);
    m->gait += ge > 5;
    m->rein += re > 5;
    m->cadence += ce > 2;
    m->symmetry += se > 3;
    m->sessions += miss > 0;
    ff_free(&d);
    free(s);
}

/* sessions 1..n with the rate channels, their misses printed and returned */
static misses run_many(int n, const char *what)
{
    misses m = { 0, 0, 0, 0, 0 };
    for (int sd = 1; sd <= n; sd++)
        run_one(sd, getenv("SWEEP_NOGYRO") == NULL, &m);
    fprintf(stderr, "%d %s: %d miss a target; gait time %d, rein time %d, cadence %d, trot symmetry %d\n",
            n, what, m.sessions, m.gait, m.rein, m.cadence, m.symmetry);
    return m;
}

/* Sessions missing a target on these 200, as the detector changed: 34 (the
 * code of 2026-12-06's morning), 13, 9 (halts placed by energy, timeline.c),
 * 6 (cadence near the median, aggregate_finish.c), 5 and 4 (the gyro bias
 * from turning halts and slow canters, lead.c), 2 (a weak stride whose
 * rotation does not repeat is no gait, gait.c gyro_rhythm_min), 1 (a window
 * too calm for a trot is none between two trots, timeline.c
 * same_gait_through).  docs/compute.md has each step's measurements. */
static void test_random_sessions(void **state)
{
    (void)state;
    misses m = run_many(SESSIONS, "random sessions");
    assert_true(m.gait <= 1);
    assert_true(m.rein <= 1);
    assert_true(m.cadence <= 1);
    assert_true(m.symmetry <= 3);
}

/* Sessions a fault was found in, each on its own: none may miss more of
 * the session than 5 % in the gait times (gait) or the rein times (rein). */
static void expect_sessions(const int *sessions, size_t n, int gyro, int gait, int rein)
{
    for (size_t i = 0; i < n; i++) {
        misses m = { 0, 0, 0, 0, 0 };
        run_one(sessions[i], gyro, &m);
        if ((gait && m.gait) || (rein && m.rein))
            fail_msg("session %d: %s time more than 5 %% of the session off", sessions[i],
                     gait && m.gait ? "gait" : "rein");
    }
}

/* Two of these sessions whose gyro bias was learnt wrong, each on its own
 * (its truth is the generator's):
 *  - 93: 140 s of circles while the bias drifted 0.04 rad/s (it cannot be
 *    seen through a circle), then a canter down a long side read 0.05 rad/s
 *    — past the 0.04 a straight line needed to teach the bias — and the
 *    straight walk after it a right circle: rein time 25.7 % off.  A canter
 *    that slow is on a line (lead.c straight_max).
 *  - 125: the halt window holding a walk-on onto a circle taught the bias
 *    alone after a restless halt's weak windows: 12.2 % (lead.c
 *    halt_teaches). */
static void test_bias_sessions(void **state)
{
    static const int sessions[] = { 93, 125 };
    (void)state;
    expect_sessions(sessions, sizeof sessions / sizeof sessions[0], 1, 0, 1);
}

/* Two sessions whose restless halt read as walk: at 50 Hz with 0.46-0.65
 * m/s^2 of noise its windows were as strong and as weakly rhythmic in the
 * acceleration as the slow walk beside them (gait time 6.4 % and 5.9 % of
 * the session off).  The walk's rotation repeats at the stride, the
 * fidgeting's does not (gait.c, gyro_rhythm_min). */
static void test_restless_halt_sessions(void **state)
{
    static const int sessions[] = { 154, 177 };
    (void)state;
    expect_sessions(sessions, sizeof sessions / sizeof sessions[0], 1, 1, 0);
}

/* A restless halt of 10 s between two trots read as trot (session 48: gait
 * time 5.3 % of the session off): its windows had no rhythm and 0.55-0.6
 * m/s^2 of energy, above the sensor's 0.11 of noise, so the trot "went on
 * through" them -- at a ninth of a trot's energy, under what any trot,
 * canter or gallop moves (timeline.c same_gait_through, gait.c too_calm). */
static void test_restless_halt_between_trots(void **state)
{
    static const int sessions[] = { 48 };
    (void)state;
    expect_sessions(sessions, 1, 1, 1, 0);
}

/* Sessions whose accelerometer alone read a tiring trot as gallop (or
 * took gallop windows the trot's time was missing): a trot drifting from
 * 1.15-1.2 Hz to 1.04-1.1 bounces at 2.1-2.2 Hz, one push each, and
 * without the rate channels its sideways sway did not show the reversal
 * of a 2-beat gait; the gallop's band begins there.  Gait time was 10.3,
 * 11.2, 6.7 and 10.0 % of the session off.  No horse doubles its stride
 * frequency from one window to the next (timeline.c, "a doubled stride").
 * Over sessions 1-800 without the rate channels, those missing a target
 * went 16 → 5 with that rule (left: four restless halts read as walk, and
 * one trot's start). */
static void test_tiring_trot_accel_only(void **state)
{
    static const int sessions[] = { 241, 319, 388, 531 };
    (void)state;
    expect_sessions(sessions, sizeof sessions / sizeof sessions[0], 0, 1, 0);
}

/* Sessions whose restless halt the accelerometer alone read as walk: at 50-
 * 100 Hz with 0.46-0.73 m/s^2 of noise its windows repeat as weakly as the
 * slow walk beside them and carry as much energy (gait time 6.4, 5.9 and
 * 6.3 % of the session off).  The fidgeting comes in bursts; a walk's
 * energy is the same every half stride (gait.c burst_cv, burst_max_cv). */
static void test_restless_halt_accel_only(void **state)
{
    static const int sessions[] = { 154, 177, 786 };
    (void)state;
    expect_sessions(sessions, sizeof sessions / sizeof sessions[0], 0, 1, 0);
}

/* A logger at 25 Hz: no two samples are averaged into a 25 Hz bin, so the
 * sensor's noise reaches the analysis whole (at 50 Hz two-sample bins
 * halve its power), and a walk in 0.6-0.8 m/s^2 of noise read as halt.
 * There the rates and the stride's regularity are read through a [1 2 1]
 * filter (gait.c).  These 100 sessions at 25 Hz, measured 2026-12-07: 17
 * miss a target without the filter (gait time 16, rein 10, symmetry 3), 6
 * with it (gait 6, rein 3); the 6 are walks in 0.6-0.8 m/s^2 of noise,
 * about as strong as the noise itself. */
static void test_low_rate_sessions(void **state)
{
    (void)state;
    fixed_rate = 25;
    misses m = run_many(100, "sessions at 25 Hz");
    fixed_rate = 0;
    assert_true(m.sessions <= 6);
}

/* The same sessions as linear acceleration (gravity removed over +-1 s).
 * The vertical is then the dynamic signal's principal axis, and its sign
 * decides which way every turn reads.  Measured 2026-12-07 on the first
 * 100: with the sign from the skew alone 45 miss a target (gait time 9,
 * rein time 43, cadence 1, symmetry 3); with the sign from free fall
 * (aggregate_linear.c), 13 (gait 9, rein 10, cadence 1, symmetry 2); and
 * a sign kept while the skew is too weak to say, 11 (rein 8).  Those 11
 * were sessions that open with a halt and a walk: a walk's principal axis
 * can be horizontal, and the walk read as halt until the first trot or
 * canter.  With the rows held until the vertical is shown by free fall
 * (aggregate_rows.c, hold_linear), 3 (gait 2, rein 1, cadence 1); and
 * the rate unit decided again past a suspension, 2 (rein 0; see
 * test_linear_circle_walk); and linear input told by the RMS, 1 (see
 * test_linear_quiet_start). */
static void test_linear_sessions(void **state)
{
    (void)state;
    fusion_s = 1;
    misses m = run_many(100, "sessions as linear acceleration");
    fusion_s = 0;
    assert_true(m.gait <= 2);
    assert_true(m.rein <= 1);
    assert_true(m.sessions <= 2);
}

/* Sessions as linear acceleration (gravity removed over +-1 s), each on
 * its own: gait and rein time within 5 % of the session. */
static void expect_linear(const int *sessions, size_t n)
{
    fusion_s = 1;
    expect_sessions(sessions, n, 1, 1, 1);
    fusion_s = 0;
}

/* Session 74 as linear acceleration: a halt, then a calm walk on a 10 m
 * circle turning at 0.17 rad/s.  With no gravity to show that the steady
 * rate is a turn about the vertical, the first rows read like a standing
 * horse's sensor in deg/s, every turn came out 57 times too small, and the
 * whole session straight (rein time 58 % off).  Once a trot or canter is
 * held, its rates say rad/s (aggregate_detect.c, compute_agg_gyro_redetect). */
static void test_linear_circle_walk(void **state)
{
    static const int sessions[] = { 74 };
    (void)state;
    expect_linear(sessions, 1);
}

/* Session 31 as linear acceleration opens with 11 s of a halt in 0.02
 * m/s^2 of noise, then a canter.  Linear input was told by its mean vector
 * against the median |a|, which that quiet halt put at 0.065 m/s^2: the
 * canter's residue (0.035) was more than half of it, the file was read as
 * having gravity in it, and the walk as trot (gait time 40 % off).  Against
 * the RMS |a| (3.4) the mean is 1 % (aggregate_linear.c). */
static void test_linear_quiet_start(void **state)
{
    static const int sessions[] = { 31 };
    (void)state;
    expect_linear(sessions, 1);
}

/* One corrupt cell among the first rows of a linear file (5000 m/s^2, past
 * any accelerometer's range but within the widest any unit allows before
 * units are known): the vertical was built from it before the held rows
 * were checked against the range, and its square outweighed every real
 * excursion: rein time 30.7 % and 46 % off on these two.  Checked first,
 * it is held from the row before like a NaN cell (aggregate_rows.c). */
static void test_linear_corrupt_cell(void **state)
{
    static const int sessions[] = { 8, 12 };
    (void)state;
    spike_row = 200;
    spike = 5000;
    expect_linear(sessions, 2);
    spike_row = -1;
}

/* The same 200 plans through harmonic.h: the trunk's motion written as
 * gait analysis measures it (stride harmonics, a fidgeting halt as bursts
 * of shaking), not built from hoof forces as footfall.h builds it.  On its
 * first run 176 of 200 missed a target (the generator's canter/gallop
 * table was the wrong way round, corrected once); then 35; then each
 * detector fault it showed was fixed with the sessions that showed it as
 * the tests below: 20, 16, 8 (the generator's trot truth corrected), 6
 * (gait.c walk_top_rms).  The history, and what is left (two clipped
 * symmetries, a restless halt, a gyro bias through long circles, a
 * cadence): docs/compute.md, "A third model". */
static void test_harmonic_sessions(void **state)
{
    (void)state;
    generate = hm_generate;
    misses m = run_many(SESSIONS, "harmonic sessions");
    generate = ff_generate;
    assert_true(m.gait <= 2);
    assert_true(m.rein <= 3);
    assert_true(m.cadence <= 2);
    assert_true(m.symmetry <= 3);
    assert_true(m.sessions <= 8);
}

/* expect_sessions on the harmonic generator's sessions */
static void expect_harmonic(const int *sessions, size_t n, int gait, int rein)
{
    generate = hm_generate;
    expect_sessions(sessions, n, 1, gait, rein);
    generate = ff_generate;
}

/* Harmonic sessions whose trots at 1.11-1.23 Hz, tiring ones among them,
 * read as walk: no suspension showed (the trough of a slow trot's bounce
 * stays above -0.4 g) and the stride was under walk_max_hz, yet the trunk
 * moved at 4-4.7 m/s^2 RMS, twice any walk's (gait time 6.4, 5.8 and 6.6 %
 * of the session off; gait.c walk_max_rms). */
static void test_harmonic_slow_trot(void **state)
{
    static const int sessions[] = { 75, 98, 101 };
    (void)state;
    expect_harmonic(sessions, sizeof sessions / sizeof sessions[0], 1, 0);
}

/* Harmonic sessions whose collected trots at 1.07-1.18 Hz read as walk
 * for 23 and 59 s (gait time 7.8 and 15.0 % of the session off): their
 * windows' strides came out at 1.09-1.14 Hz, under walk_max_hz, and their
 * trunks moved at 2.8-3.5 m/s^2 RMS, under walk_max_rms, yet above every
 * walk window of both generators clear of a change of gait (99.9 % under
 * 2.2 m/s^2), and over the walk band's top (gait.c walk_top_hz,
 * walk_top_rms). */
static void test_harmonic_collected_trot(void **state)
{
    static const int sessions[] = { 5, 172 };
    (void)state;
    expect_harmonic(sessions, sizeof sessions / sizeof sessions[0], 1, 0);
}

/* Harmonic sessions whose restless halt read as trot, each on its own:
 * fidgeting bursts of 0.5-1.4 m/s^2 RMS repeating at about a trot's bounce
 * (gait time 6.5 % and 5.1 % of the session off; 35 % of the windows of
 * the 200 sessions' restless halts were read as trot, canter or gallop).
 * Every trot window of both generators clear of a change of gait has a
 * dynamic RMS of 2.8 m/s^2 or more (gait.c suspended_min_rms). */
static void test_harmonic_restless_halt(void **state)
{
    static const int sessions[] = { 65, 67 };
    (void)state;
    expect_harmonic(sessions, sizeof sessions / sizeof sessions[0], 1, 1);
}

/* Harmonic sessions of a sound horse whose trot rocks hard at every step
 * (pitch at twice the stride) and rolls gently once a stride: the roll
 * was measured against all the rotation, the diagonals went unnamed in
 * every window but one or two mixed ones at a run's end, and the session's
 * symmetry was theirs: 76.5 and 96.3 for 99.8 and 100 (gait_sym.c). */
static void test_harmonic_unnamed_diagonals(void **state)
{
    static const int sessions[] = { 56, 93 };
    (void)state;
    generate = hm_generate;
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        misses m = { 0, 0, 0, 0, 0 };
        run_one(sessions[i], 1, &m);
        if (m.symmetry)
            fail_msg("session %d: trot symmetry more than 3 points off", sessions[i]);
    }
    generate = ff_generate;
}

/* Harmonic sessions as linear acceleration (gravity removed over +-1 s)
 * whose vertical came out upside down, every turn the wrong way (rein time
 * 15.0, 6.4 and 32.3 % of the session off): on this model the trunk at the
 * sensor brakes and swings as hard near the bottom of a canter's or a
 * gallop's bounce as at the push, so the free-fall rule (more horizontal
 * acceleration at the pushing end) had nothing to go by, and read the
 * wrong end.  The end that goes beyond 1 g is up: a trunk is never pulled
 * down faster than it falls (aggregate_linear.c).  Over the 200 harmonic
 * sessions as linear acceleration, rein time more than 5 % off in 31 -> 21
 * (most of the rest clipped at +-2 g, where no push reaches 1 g beyond
 * gravity); the footfall sessions as before. */
static void test_harmonic_linear_sign(void **state)
{
    static const int sessions[] = { 6, 11, 18 };
    (void)state;
    generate = hm_generate;
    expect_linear(sessions, sizeof sessions / sizeof sessions[0]);
    generate = ff_generate;
}

/* The harmonic sessions without the rate channels: 18 missed a target
 * before suspended_min_rms, 6 with it (gait time 4, cadence 3), 5 with
 * walk_max_rms (gait 3, cadence 2), 3 with walk_top_rms (gait 1, cadence
 * 2). */
static void test_harmonic_accel_only(void **state)
{
    (void)state;
    generate = hm_generate;
    misses m = { 0, 0, 0, 0, 0 };
    for (int sd = 1; sd <= SESSIONS; sd++)
        run_one(sd, 0, &m);
    generate = ff_generate;
    fprintf(stderr, "%d harmonic sessions without the rate channels: %d miss a target; gait time %d, cadence %d\n",
            SESSIONS, m.sessions, m.gait, m.cadence);
    assert_true(m.sessions <= 4);
}

/* Four parts, so that ctest can run them side by side (the sanitizer
 * build takes minutes over all of it): KEEL_SWEEP_PART=whole runs the
 * 200 footfall sessions as recorded, =variants the same sessions rewritten
 * (25 Hz, linear acceleration), =harmonic the same plans through
 * harmonic.h, =harmonic_accel those without the rate channels; unset,
 * all.  Debugging aids: SWEEP_DEBUG=1 and SWEEP_DUMP=DIR (sweep_debug.h),
 * SWEEP_NOGYRO=1 drops the rate channels from the random sweeps. */
/* Each test starts from the footfall generator and the sessions as
 * recorded, whatever a failed test before it left set. */
static int reset(void **state)
{
    (void)state;
    generate = ff_generate;
    fixed_rate = 0;
    fusion_s = 0;
    spike_row = -1;
    return 0;
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
    const struct CMUnitTest whole[] = {
        T(test_random_sessions),
        T(test_bias_sessions),
        T(test_restless_halt_sessions),
        T(test_restless_halt_between_trots),
        T(test_tiring_trot_accel_only),
        T(test_restless_halt_accel_only),
    };
    const struct CMUnitTest variants[] = {
        T(test_low_rate_sessions),
        T(test_linear_sessions),
        T(test_linear_circle_walk),
        T(test_linear_quiet_start),
        T(test_linear_corrupt_cell),
    };
    const struct CMUnitTest harmonic[] = {
        T(test_harmonic_sessions),
        T(test_harmonic_restless_halt),
        T(test_harmonic_unnamed_diagonals),
        T(test_harmonic_slow_trot),
        T(test_harmonic_collected_trot),
        T(test_harmonic_linear_sign),
    };
    const struct CMUnitTest harmonic_accel[] = {
        T(test_harmonic_accel_only),
    };
    const char *part = getenv("KEEL_SWEEP_PART");
    int failed = 0;
    if (part != NULL && strcmp(part, "whole") != 0 && strcmp(part, "variants") != 0 &&
        strcmp(part, "harmonic") != 0 && strcmp(part, "harmonic_accel") != 0) {
        fprintf(stderr, "KEEL_SWEEP_PART=%s: not whole, variants, harmonic or harmonic_accel\n", part);
        return 1;
    }
    if (part == NULL || strcmp(part, "whole") == 0)
        failed += cmocka_run_group_tests_name("sweep", whole, NULL, NULL);
    if (part == NULL || strcmp(part, "variants") == 0)
        failed += cmocka_run_group_tests_name("sweep variants", variants, NULL, NULL);
    if (part == NULL || strcmp(part, "harmonic") == 0)
        failed += cmocka_run_group_tests_name("sweep harmonic", harmonic, NULL, NULL);
    if (part == NULL || strcmp(part, "harmonic_accel") == 0)
        failed += cmocka_run_group_tests_name("sweep harmonic, accelerometer only", harmonic_accel,
                                              NULL, NULL);
    return failed;
}
