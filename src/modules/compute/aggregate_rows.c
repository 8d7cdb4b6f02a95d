/*
 * aggregate_rows.c — rows on their way into the aggregator, in input units:
 * out-of-order rows and clock resets (a row that goes back in time is held
 * until the next one says which it was), NaN cells held for up to
 * COMPUTE_HOLD_MAX_S and then marked missing, and the first DETECT_ROWS rows
 * held until units and rate are detected (aggregate_detect.c), then
 * replayed (linear acceleration stays held until its vertical is known:
 * hold_linear).  A usable row then passes declip.c's delay line (accelerometer
 * peaks cut at the sensor's full scale drawn back) into aggregate.c's
 * compute_agg_process.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate-internal.h"

/* The range a cell of column k is checked against now: the detected
 * units', but the widest any rate unit allows while linear rows are held
 * with a detected rate unit (it is decided again at release,
 * compute_agg_gyro_redetect: a trot's 86 deg/s must still be there if the
 * unit widens from rad/s). */
static double range_of(const compute_agg *g, int k)
{
    if (k >= COMPUTE_COL_GX && g->lin_hold && !g->no_gyro && strcmp(g->gsrc, "detected") == 0)
        return RATE_RAW_MAX;
    return g->range_raw[k];
}

/* The held rows past detection, against the range in the units now known
 * (accept() could only check the widest any unit allows): a cell past it is
 * held from the row before, like a NaN cell, and so is a held cell whose
 * value is past it.  Called again after the range narrowed (a rate unit
 * decided again); the value held for the rows still to come is the last
 * good one. */
static void recheck_held(compute_agg *g)
{
    double last[COMPUTE_NCOLS] = { 0 };
    int have[COMPUTE_NCOLS] = { 0 };
    for (size_t i = 0; i < g->nbuf; i++) {
        double *r = g->buf[i];
        for (int k = 1; k < COMPUTE_NCOLS; k++) {
            unsigned bit = 1u << k;
            if (!(g->bufmask[i] & ROW_NOVAL(k)) && !(fabs(r[k]) <= range_of(g, k))) {
                if (!(g->bufmask[i] & bit))
                    g->nan_cells++;
                g->bufmask[i] |= (unsigned short)(bit | (have[k] ? 0 : ROW_NOVAL(k)));
                r[k] = have[k] ? last[k] : 0;
            }
            if (!(g->bufmask[i] & ROW_NOVAL(k))) {
                last[k] = r[k];
                have[k] = 1;
            }
        }
    }
    for (int k = 1; k < COMPUTE_NCOLS; k++)
        if (have[k] && g->have_val[k])
            g->hold[k] = last[k];
}

/* A row past detection: holds a NaN cell for up to COMPUTE_HOLD_MAX_S, then
 * marks the channel missing (acceleration: the row is dropped, a gap; rate:
 * zeros, and the windows there attribute no rein, lead or symmetry). */
static void admit(compute_agg *g, double *r, unsigned mask)
{
    double t = (r[0] - g->t0raw) * g->tscale;
    int drop = 0, gmiss = 0;

    for (int k = 1; k < COMPUTE_NCOLS; k++) {
        if (!(mask & (1u << k))) {
            g->nan_run[k] = 0;
            continue;
        }
        if (!g->nan_run[k]) {
            g->nan_run[k] = 1;
            g->nan_t0[k] = t;
        }
        if (t - g->nan_t0[k] > COMPUTE_HOLD_MAX_S || (mask & ROW_NOVAL(k))) {
            g->missing_s[k] += g->period;
            if (k <= COMPUTE_COL_AZ) {
                drop = 1;
            } else {
                r[k] = 0;
                gmiss = 1;
            }
        }
    }
    if (mask & ROW_NEW_RUN)
        g->new_run = 1;
    if (drop) {
        g->dropped++;
        return;
    }
    compute_agg_declip_push(g, r, gmiss, mask);
}

/* Detects units and rate from the held rows, then replays them. */
int compute_agg_detect_replay(compute_agg *g)
{
    int rc = compute_agg_detect(g);
    if (rc < 0 || g->bad_rate)
        return rc;
    free(g->wm);
    free(g->wv);
    g->wm = calloc(g->N + 1, 1);
    g->wv = calloc(g->N + 1, sizeof *g->wv);
    if (!g->wm || !g->wv) {
        g->detected = 0;
        return KEEL_ENOMEM;
    }
    g->lin_hold = g->linear;
    recheck_held(g); /* before anything reads the held rows' values */
    if (!g->lin_hold || compute_agg_linear_ready(g))
        compute_agg_release_held(g);
    return 0;
}

/* A row to hold past detection (linear acceleration): the buffer grows up
 * to LINEAR_HOLD_MAX rows; every LINEAR_CHECK_ROWS rows, are they enough? */
static void hold_linear(compute_agg *g, double *r, unsigned mask)
{
    if (g->nbuf == g->capbuf) {
        size_t cap = g->capbuf * 2;
        double (*b)[COMPUTE_NCOLS] = realloc(g->buf, sizeof *b * cap);
        if (b)
            g->buf = b;
        unsigned short *m = b ? realloc(g->bufmask, sizeof *m * cap) : NULL;
        if (m)
            g->bufmask = m;
        if (!b || !m) { /* out of memory: go on with the vertical they give */
            compute_agg_release_held(g);
            admit(g, r, mask);
            return;
        }
        g->capbuf = cap;
    }
    memcpy(g->buf[g->nbuf], r, sizeof *g->buf);
    g->bufmask[g->nbuf++] = (unsigned short)mask;
    if (g->nbuf % LINEAR_CHECK_ROWS != 0)
        return;
    if (g->nbuf >= LINEAR_HOLD_MAX || compute_agg_linear_ready(g))
        compute_agg_release_held(g);
}

void compute_agg_release_held(compute_agg *g)
{
    if (g->linear)
        compute_agg_gyro_redetect(g);
    g->lin_hold = 0;
    recheck_held(g); /* again: the rate unit may have been decided again */
    if (g->linear)
        compute_agg_linear_init(g);
    compute_declip_init(&g->declip, g->ascale, g->tscale, g->period);
    for (size_t i = 0; i < g->nbuf; i++)
        admit(g, g->buf[i], g->bufmask[i]);
    g->nbuf = 0;
}

/* A row in time order (raw units, clock offset applied by the caller). */
static void accept(compute_agg *g, const double *v, unsigned mask)
{
    double r[COMPUTE_NCOLS];

    r[0] = v[0];
    for (int k = 1; k < COMPUTE_NCOLS; k++) {
        /* a cell past any sensor's range (range_raw: the widest any unit
         * allows until detection, then the detected units') is a corrupt
         * one: held like a NaN cell.  One 1e6 in the rate columns had moved
         * the gyro's bias for the rest of the session. */
        if (isfinite(v[k]) && fabs(v[k]) <= range_of(g, k)) {
            r[k] = v[k];
            g->hold[k] = v[k];
            g->have_val[k] = 1;
            continue;
        }
        g->nan_cells++;
        mask |= 1u << k;
        if (g->have_val[k]) {
            r[k] = g->hold[k];
        } else {
            mask |= ROW_NOVAL(k);
            r[k] = 0;
        }
    }
    if (mask & (ROW_NOVAL(1) | ROW_NOVAL(2) | ROW_NOVAL(3))) {
        /* no acceleration yet: nothing to hold, the row cannot be used (its
         * time still counts, so what follows sees the gap) */
        g->dropped++;
        if (!g->have_last)
            return;
        g->last_traw = r[0];
        return;
    }
    if (g->have_last) {
        double d = r[0] - g->last_traw;
        g->step_raw = g->step_raw > 0 ? 0.9 * g->step_raw + 0.1 * d : d;
    } else {
        g->t0raw = r[0];
    }
    g->have_last = 1;
    g->last_traw = r[0];
    if (g->lin_hold) {
        hold_linear(g, r, mask);
        return;
    }
    if (g->detected) {
        admit(g, r, mask);
        return;
    }
    memcpy(g->buf[g->nbuf], r, sizeof r);
    g->bufmask[g->nbuf++] = (unsigned short)mask;
    if (g->nbuf == DETECT_ROWS && compute_agg_detect_replay(g) < 0)
        g->nbuf = 0; /* out of memory: reported by finish */
}

void compute_agg_push(compute_agg *g, const double v[COMPUTE_NCOLS])
{
    double r[COMPUTE_NCOLS];
    if (g->bad_rate) {
        g->samples++;
        return;
    }
    if (!isfinite(v[0])) {
        g->dropped++;
        return;
    }
    for (int k = 0; k < COMPUTE_NCOLS; k++)
        g->seen[k] += isfinite(v[k]) != 0;
    if (g->have_pend) {
        /* the row before went back in time: a clock reset if this one
         * continues from it, else it was one row out of order */
        double d = v[0] - g->pend[0];
        g->have_pend = 0;
        if (d > 0 && d <= RESET_STEPS * g->step_raw) {
            g->clock_resets++;
            g->toff = g->last_traw + g->step_raw - g->pend[0];
            memcpy(r, g->pend, sizeof r);
            r[0] += g->toff;
            accept(g, r, ROW_NEW_RUN);
        } else {
            g->nonmono++;
            g->dropped++;
        }
    }
    memcpy(r, v, sizeof r);
    r[0] += g->toff;
    if (g->have_last && !(r[0] > g->last_traw)) {
        if (g->step_raw > 0 && g->last_traw - r[0] > RESET_STEPS * g->step_raw) {
            memcpy(g->pend, v, sizeof g->pend);
            g->have_pend = 1;
            return;
        }
        g->nonmono++;
        g->dropped++;
        return;
    }
    accept(g, r, 0);
}
