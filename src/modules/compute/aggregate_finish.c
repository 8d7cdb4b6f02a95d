/*
 * aggregate_finish.c — a finished session's totals as a compute_summary.
 *
 * aggregate.c ends the last segment and flushes the timeline and bouts
 * (compute_agg_finish); what is left is arithmetic on the totals: shares,
 * cadences (means about the median) from the stride histograms, rein times, the trot
 * symmetry by the field's definition, and rising trot split from the rest
 * (rising.c).  Kept apart so the single pass and the reporting read alone.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate-internal.h"

/* A gait's stride frequency from its windows' histogram (0: empty): the
 * time-weighted mean of the windows within `band` (a share) of the
 * median.  Cadence is strides per minute of that gait, so a mean is what
 * it estimates: the median read a horse whose trot was 1.45 Hz in one bout
 * and 1.28 Hz in the next at the longer bout's pace (4.6 strides/min off).
 * Within one gait a horse goes faster mostly by longer strides, so its
 * windows lie within a few tenths of the median; a window of another gait
 * misread as this one (a trot's 1.4 Hz in a gallop at 2.05) lies outside
 * and is left out.  band 0 is the median's bin alone. */
static double stride_hz(const float *hist, double band)
{
    double tot = 0, acc = 0, med = 0, sum = 0, w = 0;
    for (int b = 0; b < HIST_BINS; b++)
        tot += hist[b];
    if (tot <= 0)
        return 0;
    for (int b = 0; b < HIST_BINS; b++) {
        acc += hist[b];
        if (acc >= tot / 2) {
            med = HIST_LO + b * HIST_STEP;
            break;
        }
    }
    for (int b = 0; b < HIST_BINS; b++) {
        double f = HIST_LO + b * HIST_STEP;
        if (hist[b] > 0 && f >= med / (1 + band) - 1e-9 && f <= med * (1 + band) + 1e-9) {
            sum += hist[b] * f;
            w += hist[b];
        }
    }
    return w > 0 ? sum / w : med;
}

/* trot_symmetry_pct's definition over time-weighted amplitude sums per rein
 * (0 left, 1 right, 2 straight): fills each rein's signed asymmetry and
 * time (when given), returns 100 − the time-weighted mean of |asymmetry|,
 * NaN without trot, never below 0.  ea, eb, et (or NULL): the sums over the
 * windows inside runs of trot, which give the means; a rein without any
 * gets a NaN asymmetry and stays out of the session value. */
static double rein_symmetry_ev(const double a[3], const double b[3], const double t[3],
                               const double *ea, const double *eb, const double *et,
                               double *asym, double *ts)
{
    double asym_w = 0, asym_t = 0;
    for (int ri = 0; ri < 3; ri++) {
        if (t[ri] <= 0)
            continue;
        double A = a[ri] / t[ri], B = b[ri] / t[ri];
        if (et != NULL) {   /* the windows inside runs of trot */
            if (et[ri] <= 0) {
                /* only first and last windows of runs here: mixes, no
                 * asymmetry to give (null), not in the session value */
                if (asym)
                    asym[ri] = NAN;
                if (ts)
                    ts[ri] = t[ri];
                continue;
            }
            A = ea[ri] / et[ri];
            B = eb[ri] / et[ri];
        }
        if (A + B <= 0)
            continue;
        double x = 100.0 * (A - B) / ((A + B) / 2);
        if (asym)
            asym[ri] = x;
        if (ts)
            ts[ri] = t[ri];
        asym_w += fabs(x) * t[ri];
        asym_t += t[ri];
    }
    if (asym_t <= 0)
        return NAN;
    double v = 100.0 - asym_w / asym_t;
    return v < 0 ? 0 : v;
}

static double rein_symmetry(const double a[3], const double b[3], const double t[3],
                            double *asym, double *ts)
{
    return rein_symmetry_ev(a, b, t, NULL, NULL, NULL, asym, ts);
}

/* Rising trot (rising.c) and the rest of the trot, each with its own
 * symmetry by the same definition.  0 or KEEL_ENOMEM. */
static int rising_split(compute_agg *g, compute_summary *s)
{
    const compute_trotlog *l = &g->trotlog;
    unsigned char *rising = malloc(l->n ? l->n : 1);
    if (!rising)
        return KEEL_ENOMEM;
    int ch = compute_rising_detect(l->w, l->n, &g->P, rising, &s->rising_horse_asym);
    if (ch < 0) {
        free(rising);
        return ch;
    }
    double a[2][3] = { { 0 } }, b[2][3] = { { 0 } }, t[2][3] = { { 0 } };
    for (size_t i = 0; i < l->n; i++) {
        const compute_trotwin *w = &l->w[i];
        int ri = w->rein > 0 ? 0 : w->rein < 0 ? 1 : 2, k = rising[i];
        a[k][ri] += w->a * w->dur;
        b[k][ri] += w->b * w->dur;
        t[k][ri] += w->dur;
        if (k)
            s->rising_s += w->dur;
    }
    free(rising);
    s->diagonal_changes = ch;
    s->sitting_s = g->gait_t[COMPUTE_TROT] - s->rising_s;
    if (s->sitting_s < 0)
        s->sitting_s = 0;
    s->sitting_symmetry_pct = rein_symmetry(a[0], b[0], t[0], NULL, NULL);
    s->rising_symmetry_pct = rein_symmetry(a[1], b[1], t[1], NULL, NULL);
    return 0;
}

/* Everything after the single pass: g's totals into s (memset by the
 * caller, params set).  0 or KEEL_ENOMEM. */
int compute_agg_fill(compute_agg *g, compute_summary *s)
{
    s->duration_s = g->t_prev;
    s->samples = g->samples;
    s->rate_hz = 1.0 / g->period;
    s->gaps = g->gaps;
    s->gap_s = g->gap_s;
    s->dropped_rows = g->dropped;
    s->nonmonotonic_rows = g->nonmono;
    s->nan_cells = g->nan_cells;
    s->clock_resets = g->clock_resets;
    s->clipped_samples = g->declip.samples;
    for (int k = 1; k < COMPUTE_NCOLS; k++)
        s->missing_s[k - 1] = g->missing_s[k];
    s->linear = g->linear;
    memcpy(s->vertical, g->vert, sizeof s->vertical);
    s->time_unit = g->tu;
    s->accel_unit = g->au;
    s->gyro_unit = g->gu;
    s->time_src = g->tsrc;
    s->accel_src = g->asrc;
    s->gyro_src = g->gsrc;
    s->delimiter = ',';
    s->decimal = '.';
    double total = g->unclass_t;
    for (int i = 0; i < COMPUTE_NGAITS; i++)
        total += g->gait_t[i];
    for (int i = 0; i < COMPUTE_NGAITS; i++) {
        compute_gait_stats *st = &s->gaits[i];
        st->time_s = g->gait_t[i];
        st->share = total > 0 ? g->gait_t[i] / total : 0;
        st->cadence_spm = 60.0 * stride_hz(g->hist[i], g->P.cadence_band);
        for (int k = 0; k < COMPUTE_NREINS; k++) {
            s->gr_time_s[i][k] = g->gr_t[i][k];
            s->gr_cadence_spm[i][k] = 60.0 * stride_hz(g->gr_hist[i][k], g->P.cadence_band);
        }
        st->regularity = g->gait_rt[i] > 0 ? g->gait_r[i] / g->gait_rt[i] : 0;
    }
    s->unclassified_s = g->unclass_t;
    s->unclassified_share = total > 0 ? g->unclass_t / total : 0;
    s->rein_left_s = g->rein.t[0];
    s->rein_right_s = g->rein.t[1];
    s->rein_straight_s = g->rein.t[2];
    s->rein_balance = compute_rein_balance(g->rein.t[0], g->rein.t[1]);
    /* Per rein: A and B are the means of each diagonal's amplitudes (means
     * first, so noise does not inflate the difference); asymmetry =
     * 100·|A − B| / mean(A, B).  The session value is the trot-time-weighted
     * mean of the reins' asymmetries, so opposite signs never cancel. */
    s->trot_symmetry_pct = rein_symmetry_ev(g->sym_a, g->sym_b, g->sym_t, g->sym_ea, g->sym_eb,
                                            g->sym_et, s->trot_rein_asym, s->trot_rein_s);
    if (isnan(s->trot_symmetry_pct))   /* no window inside a run of trot: all of them */
        s->trot_symmetry_pct = rein_symmetry(g->sym_a, g->sym_b, g->sym_t, s->trot_rein_asym,
                                             s->trot_rein_s);
    if (isnan(s->trot_symmetry_pct))
        s->trot_symmetry_pct = 0;
    int rc = rising_split(g, s);
    if (rc < 0)
        return rc;
    s->canter_lead_left_s = g->lead_l;
    s->canter_lead_right_s = g->lead_r;
    s->canter_true_s = g->lead_true;
    s->canter_counter_s = g->lead_counter;
    s->bout_count = g->bouts.n;
    memcpy(s->bouts, g->bouts.list, sizeof s->bouts);
    s->jump_count = g->njumps;
    memcpy(s->jumps, g->jumps, sizeof s->jumps);
    s->mdba = g->dba_n ? g->dba_sum / (double)g->dba_n : 0;
    s->load = g->load;
    return 0;
}
