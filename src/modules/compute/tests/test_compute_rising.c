/*
 * test_compute_rising.c — rising (posting) trot against the footfall
 * generator (footfall.h "Rising trot": the rider's load alternating between
 * the diagonals, the rider changing diagonal), with truth in physical terms:
 * the seconds the generated rider was posting, how often they changed the
 * sitting diagonal, and the posting steps' amplitudes.  Targets: rising
 * time within 5 % of the session (the gait-time target), a sound or lame
 * (10-15 %) horse in sitting trot not read as rising (its rising time
 * within the same 5 %, and no rising trot on compute synth's sessions), the
 * rider's diagonal changes counted, the session symmetry over all trot
 * unchanged in meaning (±3 points of the generator's), rising symmetry ±3
 * points of the posting steps' own.  Nothing here is taken from the
 * detector's output.
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

typedef struct scen {
    const char *name;
    ff_opts     o;
    ff_seg      seg[16];
    int         check_changes; /* 1: the diagonal changes must be counted exactly */
} scen;

#define WALK(d, f, turn, r) { FF_WALK, d, f, f, turn, r, 0, 0, 1, 0, 0, 0 }
/* trot: diag = right diagonal's push relative to the left (1 sound); post 0
 * sitting trot, +1 rising sitting on the left diagonal, -1 on the right */
#define TROT(d, f, turn, r, coll, diag, post) { FF_TROT, d, f, f, turn, r, 0, coll, diag, 0, 0, post }
#define CANTER(d, f, turn, r, lead) { FF_CANTER, d, f, f, turn, r, lead, 0, 1, 0, 0, 0 }
#define HALT(d) { FF_HALT, d, 1, 1, 0, 10, 0, 0, 1, 0, 1, 0 }

/* On a circle the rider rises with the outside fore: sits on the outside
 * diagonal (left rein: the right diagonal, -1). */
static const scen posting[] = {
    { "sound horse, rising both reins, sits twice on the right rein, 100 Hz",
      { 11, 100, 0.02, 0, 1, 15, 0, 60, 0.3, 0.01, 0.0005, 2 },
      { HALT(15), WALK(60, 0.9, 0, 0), TROT(90, 1.40, 1, 15, 0, 1.0, -1), WALK(30, 0.88, 0, 0),
        TROT(80, 1.38, -1, 15, 0, 1.0, +1), TROT(60, 1.38, -1, 15, 0, 1.0, -1),
        WALK(40, 0.9, 0, 0), TROT(60, 1.42, 0, 0, 0, 1.0, 0), WALK(30, 0.85, 0, 0) }, 1 },
    { "lame horse (right diagonal 0.95) rising on both reins, sitting trot too, 200 Hz tilted",
      { 14, 200, 0.05, 0, 1, 25, -15, 40, 0.5, 0.02, 0.001, 0 },
      { WALK(40, 0.85, 0, 0), TROT(60, 1.45, 0, 0, 0, 0.95, 0), TROT(90, 1.45, 1, 18, 0, 0.95, -1),
        WALK(30, 0.85, 0, 0), TROT(90, 1.42, -1, 18, 0, 0.95, +1), CANTER(40, 1.65, -1, 18, -1),
        WALK(30, 0.8, 0, 0) }, 1 },
    { "pony, 440 Hz jitter, noise 0.8, saturation, pitch 30 yaw -135",
      { 13, 440, 0.3, 1, 1.5, -10, 30, -135, 0.8, 0.04, 0.002, 2 },
      { WALK(40, 1.0, 0, 0), TROT(70, 1.62, 1, 10, 0, 1.0, -1), TROT(70, 1.6, -1, 10, 0, 1.0, +1),
        WALK(30, 1.0, 0, 0), TROT(50, 1.6, 0, 0, 0, 1.0, 0), HALT(15) }, 0 },
};

/* Below the detection limit: a collected rising trot at 1.2 Hz moves the
 * rider slowly; its effect on the trunk (about 4 % in the generator's
 * truth) is what the analysis sees least of.  Read as sitting trot (a
 * limit, docs/compute.md "rising trot"): never more rising than there was. */
static const scen weak[] = {
    /* A horse 10 % lame whose rider posts on both reins: posting adds to the
     * lameness on one rein and takes it off on the other, and the truth's
     * posting steps are +17.9 % and +3.2 % — the weaker diagonal never
     * changes, which is what tells posting from lameness (docs/compute.md
     * "rising trot", Limits).  Read as sitting trot.  (It was read as rising
     * while the 25 Hz template overstated the posting by ~1.3×.) */
    { "lame horse (right diagonal 0.9) rising on both reins, sitting trot too, 200 Hz tilted",
      { 12, 200, 0.05, 0, 1, 25, -15, 40, 0.5, 0.02, 0.001, 0 },
      { WALK(40, 0.85, 0, 0), TROT(60, 1.45, 0, 0, 0, 0.9, 0), TROT(90, 1.45, 1, 18, 0, 0.9, -1),
        WALK(30, 0.85, 0, 0), TROT(90, 1.42, -1, 18, 0, 0.9, +1), CANTER(40, 1.65, -1, 18, -1),
        WALK(30, 0.8, 0, 0) }, 0 },
    { "collected rising trot, big horse, 50 Hz, roll 30",
      { 14, 50, 0.05, 0, 1, 30, 0, 15, 0.5, 0.02, 0.001, 0 },
      { WALK(40, 0.75, 0, 0), TROT(80, 1.2, 1, 20, 1, 1.0, -1), WALK(20, 0.75, 0, 0),
        TROT(80, 1.22, -1, 20, 1, 1.0, +1), WALK(30, 0.74, 0, 0) }, 0 },
};

/* Sitting trot only: a lame horse must not be read as rising. */
static const scen sitting[] = {
    { "lame 14 % (right diagonal 0.87), sitting trot both reins",
      { 21, 100, 0.02, 0, 1, 15, 0, 60, 0.3, 0.01, 0.0005, 0 },
      { WALK(40, 0.9, 0, 0), TROT(90, 1.40, 1, 15, 0, 0.87, 0), WALK(20, 0.88, 0, 0),
        TROT(90, 1.38, -1, 15, 0, 0.87, 0), TROT(60, 1.4, 0, 0, 0, 0.87, 0), WALK(30, 0.85, 0, 0) }, 0 },
    { "lame 10 % (right diagonal 0.9), sitting trot, noisy 50 Hz, tilted",
      { 22, 50, 0.1, 1, 2, -25, 10, 180, 0.6, 0.03, 0.001, 2 },
      { WALK(40, 0.9, 0, 0), TROT(120, 1.5, 1, 15, 0, 0.9, 0), WALK(20, 0.88, 0, 0),
        TROT(120, 1.45, -1, 15, 0, 0.9, 0), WALK(30, 0.85, 0, 0) }, 0 },
    { "lame 12 %, collected sitting trot on circles, 200 Hz",
      { 23, 200, 0.05, 0, 1, 10, 20, -90, 0.5, 0.02, 0.001, 0 },
      { WALK(30, 0.8, 0, 0), TROT(90, 1.25, 1, 12, 1, 0.89, 0), WALK(20, 0.8, 0, 0),
        TROT(90, 1.25, -1, 12, 1, 0.89, 0), WALK(20, 0.8, 0, 0) }, 0 },
    { "sound horse, sitting trot, noise 0.8, saturation",
      { 24, 100, 0.1, 1, 2, 5, 5, 30, 0.8, 0.04, 0.002, 2 },
      { WALK(30, 0.9, 0, 0), TROT(100, 1.5, 1, 15, 0, 1.0, 0), TROT(100, 1.48, -1, 15, 0, 1.0, 0),
        WALK(30, 0.88, 0, 0) }, 0 },
};

static int nsegs(const scen *s)
{
    int n = 0;
    while (n < 16 && s->seg[n].dur > 0)
        n++;
    return n;
}

/* truth: the rising steps' symmetry by the definition */
static double truth_rising_sym(const ff_truth *tr)
{
    double st = 0, sa = 0;
    for (int r = 0; r < 3; r++) {
        double a = ff_rising_asym(tr, r, NULL), t = 0;
        if (a < 0)
            continue;
        t = (double)(tr->riseN[r][0] + tr->riseN[r][1]);
        sa += a * t;
        st += t;
    }
    return st > 0 ? 100 - sa / st : -1;
}

/* got within ±3 points of the band of truths [t1k, t20]; prints the line */
static int check_sym(const char *what, double got, double t1k, double t20, const char *end)
{
    double lo = fmin(t1k, t20) - 3, hi = fmax(t1k, t20) + 3;
    int ok = isfinite(got) && got >= lo && got <= hi;
    fprintf(stderr, "  %s %.2f truth %.2f, at 20 ms %.2f%s%s", what, got, t1k, t20,
            !ok ? " FAIL" : fabs(got - t1k) > 3 ? " (KNOWN: > 3 from the 1 kHz truth)" : "", end);
    return !ok;
}

typedef struct tally {
    double rise_err_max;   /* % of session */
    double rise_err_sum;
    int    n;
    double fp_s, trot_s;   /* sitting sessions: seconds read as rising, trot seconds */
} tally;

/* expect_rising: 1 the rising time is the target, 0 sitting trot (no
 * rising), -1 below the limit (no more rising than the truth) */
static int run(const scen *sc, tally *ty, int expect_rising)
{
    ff_data d;
    ff_truth tr;
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    int bad = 0;

    assert_non_null(s);
    ff_generate(sc->seg, nsegs(sc), &sc->o, &d, &tr);
    compute_samples smp = { d.n, d.t, d.a[0], d.a[1], d.a[2], d.w[0], d.w[1], d.w[2] };
    if (compute_aggregate_samples(&smp, NULL, s, err, sizeof err) != 0)
        fail_msg("%s: aggregate failed: %s", sc->name, err);
    double D = tr.duration, e = fabs(s->rising_s - tr.rising_t) / D * 100;
    double trot_t = tr.trot_t[0] + tr.trot_t[1] + tr.trot_t[2];
    fprintf(stderr, "%s\n  rising %6.1f s truth %6.1f (%.1f%% of session)%s; sitting %6.1f s truth %6.1f\n",
            sc->name, s->rising_s, tr.rising_t, e,
            expect_rising < 0 ? " (below the limit: sitting)" : e > 5 ? " FAIL" : "", s->sitting_s,
            trot_t - tr.rising_t);
    if (expect_rising >= 0)
        bad += e > 5;
    else
        bad += s->rising_s > tr.rising_t + 0.05 * D;
    ty->rise_err_max = fmax(ty->rise_err_max, e);
    ty->rise_err_sum += e;
    ty->n++;
    if (!expect_rising) {
        ty->fp_s += s->rising_s;
        ty->trot_s += trot_t;
    }
    for (int r = 0; r < 3; r++) {
        double sg = 0;
        if (ff_rein_asym(&tr, r, &sg) >= 0)
            fprintf(stderr, "  rein %d: all-trot asymmetry truth %+.1f%%, detected %+.1f%%\n", r, sg,
                    s->trot_rein_asym[r]);
    }
    /* Two truths: the generator's clean vertical at 1 kHz, and through a
     * 20 ms moving average (what a 100 Hz logger resolves).  Without a
     * rider posting they agree (within 0.1 point here); a posting rider
     * makes one diagonal's peak sharper than that, and the truth itself
     * then depends on the band by up to ~4 points (docs/compute.md
     * "rising trot").  Target: ±3 points around the truths — strict where
     * they agree; a miss of the 1 kHz one inside that is printed KNOWN. */
    ff_truth tr20 = ff_truth_band20(&tr);
    bad += check_sym("session symmetry (all trot)", s->trot_symmetry_pct,
                     ff_session_symmetry(&tr), ff_session_symmetry(&tr20), "\n");
    double rs = truth_rising_sym(&tr), rs20 = truth_rising_sym(&tr20);
    if (rs >= 0 && expect_rising > 0) {
        bad += check_sym("rising symmetry", s->rising_symmetry_pct, rs, rs20, "");
        fprintf(stderr, "; sitting symmetry %.2f\n", s->sitting_symmetry_pct);
    }
    fprintf(stderr, "  diagonal changes %lld truth %d%s; horse's own asymmetry %.1f%%\n",
            s->diagonal_changes, tr.diag_changes,
            sc->check_changes && s->diagonal_changes != tr.diag_changes ? " FAIL" : "",
            s->rising_horse_asym);
    if (sc->check_changes)
        bad += s->diagonal_changes != tr.diag_changes;
    /* the summary carries it, the client reads it back */
    json_t *j = compute_summary_json(s);
    compute_summary *b = malloc(sizeof *b);
    assert_non_null(b);
    assert_int_equal(compute_summary_from_json(j, b), 0);
    assert_true(fabs(b->rising_s - s->rising_s) < 0.01);
    assert_true(b->diagonal_changes == s->diagonal_changes);
    assert_true(json_is_object(json_object_get(j, "rising_trot")));
    assert_true(json_is_object(json_object_get(j, "sitting_trot")));
    free(b);
    json_decref(j);
    ff_free(&d);
    free(s);
    return bad;
}

static void test_rising_sessions(void **state)
{
    (void)state;
    tally ty = { 0 };
    int bad = 0;
    for (size_t i = 0; i < sizeof posting / sizeof posting[0]; i++)
        bad += run(&posting[i], &ty, 1);
    fprintf(stderr, "rising time error: max %.2f%%, mean %.2f%% of session over %d sessions\n",
            ty.rise_err_max, ty.rise_err_sum / ty.n, ty.n);
    if (bad)
        fail_msg("%d targets missed on rising trot", bad);
}

static void test_sitting_lame_not_rising(void **state)
{
    (void)state;
    tally ty = { 0 };
    int bad = 0;
    for (size_t i = 0; i < sizeof sitting / sizeof sitting[0]; i++)
        bad += run(&sitting[i], &ty, 0);
    fprintf(stderr, "sitting trot read as rising: %.1f s of %.1f s of trot (%.2f%%)\n", ty.fp_s,
            ty.trot_s, 100 * ty.fp_s / ty.trot_s);
    if (bad)
        fail_msg("%d targets missed on sitting trot", bad);
}

/* A rider who rises on one diagonal all session looks like a lame horse
 * (the diagonal never changes): the evidence is weak, so it is sitting
 * trot — documented in docs/compute.md "rising trot" as a limit. */
static void test_weak_posting_not_invented(void **state)
{
    (void)state;
    tally ty = { 0 };
    int bad = 0;
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
        bad += run(&weak[i], &ty, -1);
    if (bad)
        fail_msg("%d targets missed on weak rising trot", bad);
}

static void test_one_diagonal_is_sitting(void **state)
{
    (void)state;
    const ff_seg seg[] = { WALK(30, 0.9, 0, 0), TROT(120, 1.4, 1, 15, 0, 1.0, -1),
                           WALK(20, 0.9, 0, 0), TROT(120, 1.4, -1, 15, 0, 1.0, -1) };
    ff_opts o = { 31, 100, 0.02, 0, 1, 10, 0, 0, 0.3, 0.01, 0.0005, 0 };
    ff_data d;
    ff_truth tr;
    compute_summary *s = malloc(sizeof *s);
    char err[320];
    ff_generate(seg, 4, &o, &d, &tr);
    compute_samples smp = { d.n, d.t, d.a[0], d.a[1], d.a[2], d.w[0], d.w[1], d.w[2] };
    assert_int_equal(compute_aggregate_samples(&smp, NULL, s, err, sizeof err), 0);
    assert_int_equal(tr.diag_changes, 0);
    assert_true(s->rising_s == 0);
    assert_true(isnan(s->rising_horse_asym));
    ff_free(&d);
    free(s);
}

/* compute synth's sessions have one trot asymmetry all session (no rider
 * posting): no rising trot, and the session symmetry as before. */
static void test_synth_no_rising(void **state)
{
    (void)state;
    const double asym[3] = { 0, 0.08, 0.2 };
    for (int i = 0; i < 3; i++) {
        compute_synth_opts o = { .seed = (uint64_t)(40 + i),
                                 .plan = "halt:10,walk:60,trot-left:90,walk:20,trot-right:90,"
                                         "canter-left:40,trot:60,walk:20",
                                 .rate_hz = 100, .noise = 1, .drift = 1, .roll_deg = 20 * i,
                                 .yaw_deg = 45 * i, .trot_asym = asym[i] };
        char *csv = NULL, err[320] = "";
        size_t len = 0;
        json_t *truth = NULL;
        compute_summary *s = malloc(sizeof *s);
        assert_int_equal(compute_synth_buffer(&o, &csv, &len, &truth, err, sizeof err), 0);
        assert_int_equal(compute_aggregate_buffer(csv, len, NULL, s, err, sizeof err), 0);
        fprintf(stderr, "synth asym %.2f: rising %.1f s, sitting %.1f s, trot %.1f s\n", asym[i],
                s->rising_s, s->sitting_s, s->gaits[COMPUTE_TROT].time_s);
        assert_true(s->rising_s == 0);
        assert_true(fabs(s->sitting_s - s->gaits[COMPUTE_TROT].time_s) < 1e-9);
        free(csv);
        json_decref(truth);
        free(s);
    }
}

/* The detector on hand-made windows: what it reads is the structure. */
static void fill(compute_trotwin *w, size_t from, size_t to, double asym_pct, int rein)
{
    for (size_t i = from; i < to; i++) {
        double b = 10, a = b * (200 + asym_pct) / (200 - asym_pct); /* 100(a-b)/mean = asym */
        w[i] = (compute_trotwin){ 2.0 * (double)i, 2.0, a, b, (signed char)rein };
    }
}

static void test_detect_structure(void **state)
{
    (void)state;
    compute_params p;
    compute_params_defaults(&p);
    compute_trotwin w[60];
    unsigned char r[60];
    double L;
    /* +20 then -20 (a change of diagonal): 60 windows rising, one change,
     * the horse's own asymmetry 0 */
    fill(w, 0, 30, 20, 1);
    fill(w, 30, 60, -20, 1);
    assert_int_equal(compute_rising_detect(w, 60, &p, r, &L), 1);
    for (int i = 0; i < 60; i++)
        assert_int_equal(r[i], 1);
    assert_true(fabs(L) < 0.5);
    /* a lame horse with rein-dependent asymmetry (15 % and 5 %, same
     * weaker diagonal): sitting */
    fill(w, 0, 30, 15, 1);
    fill(w, 30, 60, 5, -1);
    assert_int_equal(compute_rising_detect(w, 60, &p, r, &L), 0);
    for (int i = 0; i < 60; i++)
        assert_int_equal(r[i], 0);
    assert_true(isnan(L));
    /* lame +10 with posting ±15: +25 and -5; then sitting trot at +10 */
    fill(w, 0, 20, 25, 1);
    fill(w, 20, 40, -5, -1);
    fill(w, 40, 60, 10, 0);
    assert_int_equal(compute_rising_detect(w, 60, &p, r, &L), 1);
    assert_true(fabs(L - 10) < 0.5);
    for (int i = 0; i < 60; i++)
        assert_int_equal(r[i], i < 40);
    /* sound on one rein, lame 13 % on the other: the weaker diagonal does
     * not change (one state near 0), so sitting (read as rising before the
     * change had to reach rising_min_asym_pct / 2 on both sides of 0) */
    fill(w, 0, 30, -0.5, 1);
    fill(w, 30, 60, 13, -1);
    assert_int_equal(compute_rising_detect(w, 60, &p, r, &L), 0);
    for (int i = 0; i < 60; i++)
        assert_int_equal(r[i], 0);
    /* posting bouts shorter than rising_min_s: not evidence */
    fill(w, 0, 7, 20, 1);
    fill(w, 7, 14, -20, 1);
    assert_int_equal(compute_rising_detect(w, 14, &p, r, &L), 0);
    /* a posting difference below rising_min_asym_pct: sitting */
    fill(w, 0, 30, 4, 1);
    fill(w, 30, 60, -4, 1);
    assert_int_equal(compute_rising_detect(w, 60, &p, r, &L), 0);
    /* nothing and one window */
    assert_int_equal(compute_rising_detect(w, 0, &p, r, &L), 0);
    assert_int_equal(compute_rising_detect(w, 1, &p, r, &L), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_structure),
        cmocka_unit_test(test_rising_sessions),
        cmocka_unit_test(test_sitting_lame_not_rising),
        cmocka_unit_test(test_weak_posting_not_invented),
        cmocka_unit_test(test_one_diagonal_is_sitting),
        cmocka_unit_test(test_synth_no_rising),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
