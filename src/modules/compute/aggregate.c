/*
 * aggregate.c — one session, single pass, memory bounded by the window.
 *
 * Rows arrive in input units.  The first DETECT_ROWS usable rows are held to
 * decide units and the nominal sample period (aggregate_detect.c), then
 * replayed (aggregate_rows.c, which also sorts out clock resets and NaN
 * cells); after that each row is converted, checked for gaps, fed to the
 * jump detector and the DBA integrator, and averaged down to ~25 Hz into a
 * window buffer of 4 s that slides by 2 s.  Each window's class is given to
 * the 2 s in its middle (the first window also takes the segment's start,
 * the last one its end), so classified time adds up to the session minus gaps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate-internal.h"

compute_agg *compute_agg_new(const compute_options *opt)
{
    compute_agg *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    if (opt)
        g->opt = *opt;
    if (g->opt.params)
        g->P = *g->opt.params;
    else
        compute_params_defaults(&g->P);
    g->opt.params = NULL; /* borrowed from the caller: not kept */
    compute_jump_reset(&g->jd, &g->P);
    compute_tl_init(&g->tl);
    for (int k = COMPUTE_COL_AX; k < COMPUTE_NCOLS; k++) /* until units are known */
        g->range_raw[k] = k <= COMPUTE_COL_AZ ? ACC_RAW_MAX : RATE_RAW_MAX;
    compute_rein_steps_init(&g->rein, g->P.rein_rate, g->P.window_s);
    g->buf = malloc(sizeof *g->buf * DETECT_ROWS);
    g->bufmask = malloc(sizeof *g->bufmask * DETECT_ROWS);
    g->capbuf = DETECT_ROWS;
    if (!g->buf || !g->bufmask) {
        free(g->buf);
        free(g->bufmask);
        free(g);
        return NULL;
    }
    return g;
}

void compute_agg_free(compute_agg *g)
{
    if (!g)
        return;
    free(g->buf);
    free(g->bufmask);
    free(g->wm);
    free(g->wv);
    free(g->wt);
    free(g->wa);
    free(g->wg);
    free(g->work);
    compute_trotlog_free(&g->trotlog);
    free(g);
}

void compute_agg_hint(compute_agg *g, compute_unit tu, compute_unit au, compute_unit gu)
{
    g->hint_t = tu;
    g->hint_a = au;
    g->hint_g = gu;
}

void compute_agg_on_window(compute_agg *g, compute_window_cb cb, void *arg)
{
    g->on_window = cb;
    g->on_window_arg = arg;
}

void compute_agg_time_text(compute_agg *g)
{
    g->time_text = 1;
}

void compute_agg_no_gyro(compute_agg *g)
{
    g->no_gyro = 1;
}

/* A final window's rein (+1 left, -1 right, 0 straight, 2 none) and lead
 * (canter: +1 left, -1 right, 0 unknown) as the window rows and bouts give
 * them. */
static void window_labels(const compute_agg *g, const compute_tl_win *tw, int *rein, int *lead)
{
    const compute_window_result *r = &tw->r;
    int unknown = g->no_gyro || tw->gmiss;
    int weak = tw->inherited || r->gait == COMPUTE_UNCLASSIFIED;
    *rein = unknown || r->gait == COMPUTE_HALT || r->gait == COMPUTE_UNCLASSIFIED
          ? 2 : compute_rein_class(r->yaw_rate - g->rein_bias, g->P.rein_rate);
    *lead = unknown || weak || r->gait != COMPUTE_CANTER ? 0 : r->lead;
}

/* One final window (its gait decided by the timeline) to the caller: the
 * span of time it was given, so the rows tile the session like the summary. */
static void emit_window(compute_agg *g, const compute_tl_win *tw)
{
    const compute_window_result *r = &tw->r;
    compute_window_row w;
    int unknown = g->no_gyro || tw->gmiss;
    int weak = tw->inherited || r->gait == COMPUTE_UNCLASSIFIED;

    if (!g->on_window)
        return;
    w.t_start = tw->t0;
    w.t_end = tw->t0 + tw->dur;
    w.gait = r->gait;
    w.confidence = r->regularity / 10.0;
    w.regularity = weak ? NAN : r->regularity;
    w.stride_hz = weak ? NAN : r->stride_hz;
    w.cadence_spm = weak ? NAN : 60.0 * r->stride_hz;
    w.yaw_rate = unknown ? NAN : r->yaw_rate - g->rein_bias;
    window_labels(g, tw, &w.rein, &w.lead);
    w.dba = r->rms;
    w.symmetry_pct = NAN;
    if (!unknown && !weak && r->gait == COMPUTE_TROT && isfinite(r->amp_a) &&
        isfinite(r->amp_b) && r->amp_a + r->amp_b > 0)
        w.symmetry_pct = 100.0 - 100.0 * fabs(r->amp_a - r->amp_b) / ((r->amp_a + r->amp_b) / 2);
    g->on_window(g->on_window_arg, &w);
}

void compute_agg_drop(compute_agg *g)
{
    g->dropped++;
}

/* One final window (timeline.c) into the totals. */
static void account(void *arg, const compute_tl_win *w0)
{
    compute_agg *g = arg;
    compute_agg_sym_next(g, w0);
    /* the lead in the frame the session's circles have shown so far */
    compute_tl_win wl = *w0;
    g->rein_bias = g->yaw_bias;
    if (!g->no_gyro) {
        wl.r.lead = compute_lead_window(&g->leadest, &w0->r, w0->inherited, w0->gmiss, w0->dur);
        /* the bias followed on straight lines as well as at halts (lead.c):
         * a gyro that drifts between halts would turn a straight line into
         * a circle */
        if (g->leadest.bias_t > 0)
            g->rein_bias = w0->r.up[0] * g->leadest.bias[0] + w0->r.up[1] * g->leadest.bias[1] +
                           w0->r.up[2] * g->leadest.bias[2];
    }
    int named = compute_agg_sym_name(g, &wl);
    const compute_tl_win *w = &wl;
    const compute_window_result *r = &w->r;
    double dur = w->dur;
    int wrein, wlead;
    emit_window(g, w);
    window_labels(g, w, &wrein, &wlead);
    compute_bouts_add(&g->bouts, &(compute_bout){ .start = w->t0, .end = w->t0 + dur,
                      .gait = (signed char)r->gait, .rein = (signed char)wrein,
                      .lead = (signed char)wlead }, g->P.bout_min_s);
    compute_rein_win rw = { .t0 = w->t0, .dur = dur, .y = r->yaw_rate - g->rein_bias };
    if (r->gait == COMPUTE_UNCLASSIFIED) {
        g->unclass_t += dur;
        rw.rated = !w->gmiss; /* not on a rein, but its rate is a neighbour's level */
        compute_rein_steps_add(&g->rein, &rw);
        return;
    }
    g->gait_t[r->gait] += dur;
    /* gait × rein: halt, no rate channels, rate missing here → unknown */
    int gri = wrein == 1 ? 0 : wrein == -1 ? 1 : wrein == 0 ? 2 : 3;
    g->gr_t[r->gait][gri] += dur;
    if (r->gait == COMPUTE_HALT) {
        /* at a standstill the rate about the vertical is the gyro's bias:
         * follow it (it drifts) over the last ~20 s of halt */
        if (!w->inherited && !w->gmiss) {
            double k = dur / (g->bias_t + dur);
            if (k < dur / BIAS_TAU_S)
                k = dur / BIAS_TAU_S;
            g->yaw_bias += (k > 1 ? 1 : k) * (r->yaw_rate - g->yaw_bias);
            g->bias_t += dur;
        }
        /* a neighbour at rate 0 for the walk-on's step */
        rw.y = 0;
        rw.rated = !w->gmiss;
        compute_rein_steps_add(&g->rein, &rw);
        return;
    }
    /* without the rate channels here (missing > 2 s) rein, lead and
     * symmetry are unknown: counted in none of them */
    int rein = compute_rein_class(r->yaw_rate - g->rein_bias, g->P.rein_rate);
    rw.counted = rw.rated = !w->gmiss;
    compute_rein_steps_add(&g->rein, &rw);
    /* a weak window that took its neighbours' gait has no stride, regularity,
     * symmetry or lead of that gait to give */
    if (w->inherited)
        return;
    if (r->stride_hz > 0) {
        /* a moving window without rhythm has no stride to count */
        long b = lround((r->stride_hz - HIST_LO) / HIST_STEP);
        if (b < 0)
            b = 0;
        if (b >= HIST_BINS)
            b = HIST_BINS - 1;
        g->hist[r->gait][b] += (float)dur;
        g->gr_hist[r->gait][gri][b] += (float)dur;
    }
    g->gait_r[r->gait] += r->regularity * dur;
    g->gait_rt[r->gait] += dur;
    if (w->gmiss)
        return;
    if (r->gait == COMPUTE_TROT && !isnan(r->amp_a) && !isnan(r->amp_b))
        compute_agg_sym_add(g, w, rein, named);
    if (r->gait == COMPUTE_CANTER) {
        if (r->lead > 0)
            g->lead_l += dur;
        else if (r->lead < 0)
            g->lead_r += dur;
        /* on a circle: the inside fore leading is true canter */
        if (r->lead != 0 && rein != 0 && !g->no_gyro) {
            if (r->lead == rein)
                g->lead_true += dur;
            else
                g->lead_counter += dur;
        }
    }
}

/* The current window's class for dur seconds from g->range_start. */
static void attribute(compute_agg *g, double dur)
{
    if (dur <= 0)
        return;
    compute_tl_win w = { .r = g->res, .t0 = g->range_start, .dur = dur, .gmiss = g->res_gmiss,
                         .new_run = g->tl_new_run };
    g->tl_new_run = 0;
    compute_tl_push(&g->tl, &w, account, g);
}

static void push_decimated(compute_agg *g, const double *m, int miss, double nv);

/* the window's rate channels were missing for most of it */
static int window_gmiss(const compute_agg *g, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += g->wm[i];
    return c * 2 > n;
}

/* How the window's dynamic energy compares with what the sensor's noise
 * alone gives it: white noise of variance s^2 per axis leaves s^2/k in the
 * mean of a bin of k samples, and the spread of the k samples about their
 * mean tells s^2 (an unbiased estimate; a horse's trunk moves too little in
 * one 1/25 s bin to add to it at a standstill).  NaN when under half of
 * the bins had two samples or more (input at or below ~25 Hz, gaps). */
static double window_noise_ratio(const compute_agg *g, size_t n, double rms)
{
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(g->wv[i])) {
            sum += g->wv[i];
            k++;
        }
    if (k * 2 < n || !(sum > 0))
        return NAN;
    return rms * rms / (sum / (double)k);
}

static void floor_mark(compute_window_result *r, double ratio, double limit)
{
    r->at_floor = ratio < limit;
    r->above_floor = ratio >= limit;   /* NaN: neither */
    /* a clear reversal of the filtered sway keeps a weakly repeating
     * stride classified when there is more than noise to reverse */
    if (r->weak && r->sway_clear && r->above_floor)
        r->weak = 0;
}

/* The decimator bins samples on a uniform 1/fs grid from the segment start
 * (jitter and lost samples do not stretch the windows); a bin's value is
 * the mean of its samples, an empty bin (a bridged gap) holds the last one. */
static void flush_bin(compute_agg *g)
{
    double m[COMPUTE_NCOLS];
    if (g->dcount == 0)
        return;
    for (int k = 1; k < COMPUTE_NCOLS; k++)
        m[k] = g->dsum[k] / g->dcount;
    m[0] = g->seg_start + ((double)g->bin + 0.5) / g->fs;
    memcpy(g->last_m, m, sizeof m);
    g->last_miss = g->dmiss > 0;
    double nv = NAN;
    if (g->dcount >= 2) {
        double k = (double)g->dcount, ss = 0;
        for (int i = 0; i < 3; i++)
            ss += g->dsq[i] - g->dsum[1 + i] * g->dsum[1 + i] / k;
        nv = (ss > 0 ? ss : 0) / (k - 1) / k;
    }
    push_decimated(g, m, g->last_miss, nv);
    g->dcount = 0;
    g->dmiss = 0;
    memset(g->dsum, 0, sizeof g->dsum);
    memset(g->dsq, 0, sizeof g->dsq);
}

static void bin_sample(compute_agg *g, double t, const double *a, const double *w, int gmiss)
{
    long long k = (long long)floor((t - g->seg_start) * g->fs);
    if (g->dcount > 0 && k != g->bin) {
        long long last = g->bin;
        flush_bin(g);
        for (long long e = last + 1; e < k; e++) {
            double m[COMPUTE_NCOLS];
            memcpy(m, g->last_m, sizeof m);
            m[0] = g->seg_start + ((double)e + 0.5) / g->fs;
            push_decimated(g, m, g->last_miss, NAN);
        }
    }
    g->bin = k;
    g->dmiss += gmiss;
    for (int i = 0; i < 3; i++) {
        g->dsum[1 + i] += a[i];
        g->dsum[4 + i] += w[i];
        g->dsq[i] += a[i] * a[i];
    }
    g->dcount++;
}

/* Ends the current continuous segment at time t_end (last sample). */
static void end_segment(compute_agg *g, double t_end)
{
    flush_bin(g);
    if (g->seg_windows == 0) {
        if (g->wn * 2 >= g->S && g->wn >= 4) {
            compute_window_analyse((const double (*)[3])g->wa, (const double (*)[3])g->wg,
                                   g->wn, g->fs, g->D, &g->P, g->work, &g->res);
            floor_mark(&g->res, window_noise_ratio(g, g->wn, g->res.rms), g->P.noise_halt);
            g->res_gmiss = window_gmiss(g, g->wn);
            g->have_res = 1;
        } else if (!g->have_res) {
            memset(&g->res, 0, sizeof g->res);
            g->res.gait = COMPUTE_HALT;
            g->res.sym_log = g->res.amp_a = g->res.amp_b = NAN;
            g->have_res = 1;
        }
    }
    attribute(g, t_end - g->range_start);
    g->wn = 0;
    g->assigned = 0;
    g->seg_windows = 0;
    g->dcount = 0;
    g->dmiss = 0;
    memset(g->dsum, 0, sizeof g->dsum);
    memset(g->dsq, 0, sizeof g->dsq);
}

static void push_decimated(compute_agg *g, const double *m, int miss, double nv)
{
    g->wt[g->wn] = m[0];
    g->wm[g->wn] = (unsigned char)miss;
    g->wv[g->wn] = nv;
    for (int k = 0; k < 3; k++) {
        g->wa[g->wn][k] = m[1 + k];
        g->wg[g->wn][k] = m[4 + k];
    }
    g->wn++;
    if (g->wn < g->N)
        return;
    compute_window_analyse((const double (*)[3])g->wa, (const double (*)[3])g->wg, g->N,
                           g->fs, g->D, &g->P, g->work, &g->res);
    floor_mark(&g->res, window_noise_ratio(g, g->N, g->res.rms), g->P.noise_halt);
    g->res_gmiss = window_gmiss(g, g->N);
    g->have_res = 1;
    size_t i1 = g->S / 2 + g->S;
    attribute(g, g->wt[i1] - g->range_start);
    g->range_start = g->wt[i1];
    g->seg_windows++;
    /* slide by S */
    size_t keep = g->wn - g->S;
    memmove(g->wt, g->wt + g->S, keep * sizeof *g->wt);
    memmove(g->wa, g->wa + g->S, keep * sizeof *g->wa);
    memmove(g->wg, g->wg + g->S, keep * sizeof *g->wg);
    memmove(g->wm, g->wm + g->S, keep * sizeof *g->wm);
    memmove(g->wv, g->wv + g->S, keep * sizeof *g->wv);
    g->wn = keep;
}

static void end_jumps(compute_agg *g)
{
    compute_jump jl;
    if (compute_jump_flush(&g->jd, &jl)) {
        if (g->njumps < COMPUTE_MAX_JUMPS)
            g->jumps[g->njumps] = jl;
        g->njumps++;
    }
    compute_jump_reset(&g->jd, &g->P);
}

/* One usable row in input units (after NaN hold); gmiss: the rate
 * channels are missing (zeros in r). */
void compute_agg_process(compute_agg *g, const double *r, int gmiss)
{
    double t = (r[0] - g->t0raw) * g->tscale;
    double a[3] = { r[1] * g->ascale, r[2] * g->ascale, r[3] * g->ascale };
    double w[3] = { r[4] * g->gscale, r[5] * g->gscale, r[6] * g->gscale };
    double dt = 0;

    if (g->linear)
        compute_agg_linear_apply(g, a);
    g->samples++;
    if (!g->have_prev) {
        g->have_prev = 1;
        g->seg_start = g->range_start = t;
        memcpy(g->grav, a, sizeof g->grav);
    } else if (g->new_run) {
        /* after a clock reset: a new run, never bridged to the last one */
        end_segment(g, g->t_prev);
        end_jumps(g);
        g->tl_new_run = 1;
        g->seg_start = g->range_start = t;
    } else {
        dt = t - g->t_prev;
        if (dt > GAP_FACTOR * g->period) {
            g->gaps++;
            g->gap_s += dt - g->period;
            if (dt > BRIDGE_MAX_S) {
                end_segment(g, g->t_prev);
                end_jumps(g);
                g->seg_start = g->range_start = t;
            }
            dt = 0;
        }
    }
    g->new_run = 0;
    g->t_prev = t;

    double mag2 = a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
    compute_jump j;
    if (compute_jump_feed(&g->jd, t, mag2, &j)) {
        if (g->njumps < COMPUTE_MAX_JUMPS)
            g->jumps[g->njumps] = j;
        g->njumps++;
    }

    double alpha = dt > 0 ? g->alpha : 0;
    double d2 = 0;
    for (int k = 0; k < 3; k++) {
        g->grav[k] += alpha * (a[k] - g->grav[k]);
        double d = a[k] - g->grav[k];
        d2 += d * d;
    }
    if (g->on_sample)
        g->on_sample(g->on_sample_arg, t, a, g->grav);
    double dba = sqrt(d2);
    g->dba_sum += dba;
    g->dba_n++;
    g->load += dba * dt / 60.0;

    bin_sample(g, t, a, w, gmiss);
}

/* A column with no number in any row is named: nothing can be held. */
static int all_nan_column(const compute_agg *g, char *err, size_t errlen)
{
    long long rows = g->seen[0];
    if (rows == 0)
        return 0;
    for (int k = 1; k < COMPUTE_NCOLS; k++) {
        if (g->seen[k] == 0) {
            snprintf(err, errlen, "column '%s' has no number in any of its %lld rows (all empty or "
                     "NaN)%s", compute_col_names[k], rows,
                     k >= COMPUTE_COL_GX ? "; drop the rate columns to read the file as "
                     "accelerometer-only" : "");
            return KEEL_EBADDATA;
        }
    }
    return 0;
}

int compute_agg_finish(compute_agg *g, compute_summary *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->params = g->P;
    if (g->have_pend) { /* the last row went back in time: out of order */
        g->have_pend = 0;
        g->nonmono++;
        g->dropped++;
    }
    int rc = all_nan_column(g, err, errlen);
    if (rc < 0)
        return rc;
    if (!g->detected && g->nbuf == 0) {
        snprintf(err, errlen, "no usable data rows (%lld dropped, %lld NaN cells)",
                 g->dropped, g->nan_cells);
        return KEEL_EBADDATA;
    }
    if (!g->detected && compute_agg_detect_replay(g) < 0) {
        snprintf(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    if (g->lin_hold)
        compute_agg_release_held(g);
    if (g->bad_rate) {
        snprintf(err, errlen, "implausible sample rate %.3g Hz (median time step %g %s); "
                 "is the time column in %s? (time_unit / --time-unit)", 1.0 / g->period,
                 g->median_step, g->tu, strcmp(g->tu, "s") == 0 ? "ms" : "s");
        return KEEL_EBADDATA;
    }
    if (!g->wt) {
        snprintf(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    compute_agg_declip_flush(g);
    compute_jump jl;
    if (compute_jump_flush(&g->jd, &jl)) { /* a landing at the very end */
        if (g->njumps < COMPUTE_MAX_JUMPS)
            g->jumps[g->njumps] = jl;
        g->njumps++;
    }
    end_segment(g, g->t_prev);
    compute_tl_flush(&g->tl, account, g);
    compute_rein_steps_flush(&g->rein);
    compute_bouts_flush(&g->bouts);

    rc = compute_agg_fill(g, s);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

int compute_aggregate_samples(const compute_samples *in, const compute_options *opt,
                              compute_summary *s, char *err, size_t errlen)
{
    int rc;
    compute_agg *g = compute_agg_new(opt);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    int no_gyro = in && !in->gx && !in->gy && !in->gz;
    if (!in || !in->t || !in->ax || !in->ay || !in->az ||
        (!no_gyro && (!in->gx || !in->gy || !in->gz))) {
        snprintf(err, errlen, "samples: t, ax, ay, az are required, and gx, gy, gz all or none");
        rc = KEEL_EINVAL;
        goto out;
    }
    if (no_gyro) /* as the CSV path does for a file without rate columns */
        compute_agg_no_gyro(g);
    for (size_t i = 0; i < in->n; i++) {
        double v[COMPUTE_NCOLS] = { in->t[i], in->ax[i], in->ay[i], in->az[i],
                                    no_gyro ? 0 : in->gx[i], no_gyro ? 0 : in->gy[i],
                                    no_gyro ? 0 : in->gz[i] };
        compute_agg_push(g, v);
    }
    rc = compute_agg_finish(g, s, err, errlen);
    if (rc == 0)
        s->no_gyro = no_gyro;
    for (int i = 0; rc == 0 && i < COMPUTE_NCOLS; i++)
        snprintf(s->columns[i], sizeof s->columns[i], "%s", compute_col_names[i]);
out:
    compute_agg_free(g);
    return rc;
}
