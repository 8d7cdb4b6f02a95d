/*
 * aggregate_detect.c — units and sample rate of one session, decided from
 * the first DETECT_ROWS usable rows (docs/compute.md "input"), and the
 * window geometry sized from that rate once it is known to be plausible.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate-internal.h"

#define MOVING_G 0.6   /* linear |a| of a moving row for the rate unit, g */
#define MOVING_MIN 200 /* moving rows the rate unit is decided again from */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static double unit_scale(compute_unit u)
{
    switch (u) {
    case COMPUTE_TIME_MS: return 1e-3;
    case COMPUTE_ACCEL_G: return COMPUTE_G;
    case COMPUTE_ACCEL_MG: return COMPUTE_G / 1000.0;
    case COMPUTE_GYRO_DEGS: return M_PI / 180.0;
    default: return 1.0;
    }
}

/* the largest of a held row's three rates (raw units), or -1 when one is
 * past any unit's range */
static double rate_max(const double *r)
{
    double m = fabs(r[4]);
    if (fabs(r[5]) > m) m = fabs(r[5]);
    if (fabs(r[6]) > m) m = fabs(r[6]);
    return m <= RATE_RAW_MAX ? m : -1;
}

static void set_gyro_unit(compute_agg *g, compute_unit gu)
{
    g->gscale = unit_scale(gu);
    g->gu = gu == COMPUTE_GYRO_DEGS ? "deg/s" : "rad/s";
    for (int k = COMPUTE_COL_GX; k < COMPUTE_NCOLS; k++)
        g->range_raw[k] = RATE_RANGE_RADS / g->gscale;
}

/* A calm walk on a circle reads like a standing horse in deg/s: little
 * variation in |a|, and rates of ~0.1-0.3 that are the turn (v/r) in rad/s
 * or sensor noise and zero-rate offset in deg/s.  The turn is a rotation
 * about the vertical: the mean rate vector lies along the mean specific
 * force (within the walk's lean into the circle, a few degrees).  An
 * offset has no reason to: a standing sensor's lies in any direction (one
 * within 14 degrees of the vertical: ~3 % of mountings).  wm, am: sums of
 * the raw rate and acceleration rows of the detection buffer, nw rows. */
static int circling(const compute_agg *g, const double wm[3], const double am[3], size_t nw)
{
    double an = sqrt(am[0] * am[0] + am[1] * am[1] + am[2] * am[2]);
    if (g->linear || nw == 0 || an <= 0)
        return 0;   /* no gravity to tell the vertical by */
    double w[3], along = 0, wn2 = 0;
    for (int k = 0; k < 3; k++) {
        w[k] = wm[k] / (double)nw;
        along += w[k] * am[k] / an;
        wn2 += w[k] * w[k];
    }
    double across = sqrt(fmax(wn2 - along * along, 0));
    return fabs(along) > 0.05 && across < 0.25 * fabs(along);
}

int compute_agg_detect(compute_agg *g)
{
    size_t n = g->nbuf;
    double *tmp = malloc(sizeof *tmp * (n ? n : 1));
    if (!tmp)
        return KEEL_ENOMEM;

    /* time */
    for (size_t i = 1; i < n; i++)
        tmp[i - 1] = g->buf[i][0] - g->buf[i - 1][0];
    double mdt = n > 1 ? median_of(tmp, n - 1) : 0;
    compute_unit tu = g->opt.time_unit ? g->opt.time_unit : g->hint_t;
    g->tsrc = g->opt.time_unit ? "option" : g->hint_t ? "header" : "detected";
    if (g->time_text) { /* "2024-03-01T10:00:00.125Z": seconds whatever is said */
        tu = COMPUTE_TIME_S;
        g->tsrc = "text";
    }
    if (!tu)
        tu = mdt >= 1.0 ? COMPUTE_TIME_MS : COMPUTE_TIME_S;
    g->tscale = unit_scale(tu);
    g->tu = tu == COMPUTE_TIME_MS ? "ms" : "s";
    if (!g->opt.time_unit && !g->hint_t && tu == COMPUTE_TIME_MS && mdt > 0 &&
        1.0 / (mdt * 1e-3) < MIN_RATE_HZ) {
        /* steps of thousands: microseconds (or nanoseconds, steps of
         * millions) since boot or the epoch, as many loggers write them */
        int ns = 1.0 / (mdt * 1e-6) < MIN_RATE_HZ;
        g->tscale = ns ? 1e-9 : 1e-6;
        g->tu = ns ? "ns" : "us";
    }
    g->period = mdt > 0 ? mdt * g->tscale : 0.01;
    g->median_step = mdt;
    g->alpha = g->period / (GRAV_TAU_S + g->period); /* gravity EMA per nominal sample */

    /* acceleration: median magnitude ~1 in g, ~9.8 in m/s^2, ~1000 in mg;
     * linear acceleration (no gravity) by its own rule (aggregate_linear.c) */
    g->linear = compute_agg_linear_check(g);
    /* cells no unit makes a sensor's (beyond ±200 g in mg, ±4000 °/s in
     * °/s: corrupt, aggregate_rows.c holds them) stay out of the
     * statistics: 2 % of them once read a rad/s file as deg/s */
    double mean = 0, var = 0, am[3] = { 0, 0, 0 };
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        const double *r = g->buf[i];
        double m = sqrt(r[1] * r[1] + r[2] * r[2] + r[3] * r[3]);
        if (!(m <= ACC_RAW_MAX))
            continue;
        tmp[na++] = m;
        mean += m;
        for (int k = 0; k < 3; k++)   /* the mean specific force's direction (circling) */
            am[k] += r[1 + k];
    }
    mean = na ? mean / na : 0;
    for (size_t i = 0; i < na; i++)
        var += (tmp[i] - mean) * (tmp[i] - mean);
    double sd = na ? sqrt(var / na) : 0;
    double amed = median_of(tmp, na);
    compute_unit au = g->opt.accel_unit ? g->opt.accel_unit : g->hint_a;
    g->asrc = g->opt.accel_unit ? "option" : g->hint_a ? "header" : "detected";
    if (!au)
        au = g->linear ? compute_agg_linear_unit(g) : amed > 0 && amed < 3.0 ? COMPUTE_ACCEL_G
           : amed > 200 ? COMPUTE_ACCEL_MG : COMPUTE_ACCEL_MS2;
    g->ascale = unit_scale(au);
    g->au = au == COMPUTE_ACCEL_G ? "g" : au == COMPUTE_ACCEL_MG ? "mg" : "m/s2";
    sd *= g->ascale;

    /* angular rate: a horse's trunk never turns at 6 rad/s (344 deg/s); a
     * standing horse's sensor reads ~0.005 rad/s but ~0.3 deg/s. */
    size_t ng = 0;
    double wm[3] = { 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        const double *r = g->buf[i];
        double m = rate_max(r);
        if (m >= 0) {
            tmp[ng++] = m;
            for (int k = 0; k < 3; k++)
                wm[k] += r[4 + k];
        }
    }
    qsort(tmp, ng, sizeof *tmp, cmp_double);
    double p99 = ng ? tmp[(size_t)(0.99 * (double)(ng - 1))] : 0;
    double gmed = ng ? tmp[ng / 2] : 0;
    compute_unit gu = g->opt.gyro_unit ? g->opt.gyro_unit : g->hint_g;
    g->gsrc = g->opt.gyro_unit ? "option" : g->hint_g ? "header" : "detected";
    if (!gu)
        gu = (p99 > 6.0 || (sd < 0.5 && gmed > 0.1 && !circling(g, wm, am, ng))) ?
             COMPUTE_GYRO_DEGS : COMPUTE_GYRO_RADS;
    set_gyro_unit(g, gu);
    for (int k = COMPUTE_COL_AX; k <= COMPUTE_COL_AZ; k++)
        g->range_raw[k] = ACC_RANGE_MS2 / g->ascale;
    free(tmp);

    /* The rate comes from the input: check it before anything is sized from
     * it (a 1e-21 s step once overflowed lround and sized the window to a
     * few bytes).  Rows are still counted; finish reports the rate. */
    double rate = 1.0 / g->period;
    g->detected = 1;
    if (n > 1 && !(rate >= MIN_RATE_HZ && rate <= MAX_RATE_HZ)) {
        g->bad_rate = 1;
        g->nbuf = 0;
        return 0;
    }
    /* decimation and window geometry; with rate in range D <= 200 and
     * fs in [5, 37.5] Hz, so S stays small, but keep the sizes checked */
    double dd = floor(rate / DECIM_HZ + 0.5);
    g->D = dd < 1 ? 1 : (int)dd;
    g->fs = rate / g->D;
    double sd2 = floor(g->P.window_s / 2 * g->fs + 0.5);
    g->S = sd2 < 4 ? 4 : (size_t)sd2;
    if (g->S > 4096) {
        g->bad_rate = 1;
        g->nbuf = 0;
        return 0;
    }
    g->N = 2 * g->S;
    free(g->wt);
    free(g->wa);
    free(g->wg);
    free(g->work);
    g->wt = malloc(sizeof *g->wt * (g->N + 1));
    g->wa = malloc(sizeof *g->wa * (g->N + 1));
    g->wg = malloc(sizeof *g->wg * (g->N + 1));
    g->work = malloc(sizeof *g->work * 15 * (g->N + 1));
    if (!g->wt || !g->wa || !g->wg || !g->work) {
        g->detected = 0;
        return KEEL_ENOMEM;
    }
    return 0;
}

/* Linear acceleration has no gravity for circling() to tell a turn from an
 * offset by, so a calm walk on a circle in rad/s read as a standing horse
 * in deg/s, and every turn came out 57 times too small.  When the held rows
 * are released (aggregate_rows.c) the rates of the moving rows decide
 * alone: a trotting or cantering trunk pitches and rolls at 0.5-2 rad/s,
 * 30-110 deg/s, so a 99th percentile beyond 6 is deg/s and one below it
 * rad/s.  The moving rows are those of linear |a| of MOVING_G or more; with
 * fewer than MOVING_MIN of them the first decision stands.  Not all rows:
 * after 20 minutes of halt, a trot seen in its first seconds is under 1 %
 * of them, and the halt's noise would decide. */
void compute_agg_gyro_redetect(compute_agg *g)
{
    if (g->no_gyro || strcmp(g->gsrc, "detected") != 0 || g->nbuf == 0)
        return;
    double *m = malloc(sizeof *m * g->nbuf);
    size_t n = 0;
    if (!m)
        return; /* out of memory: the first decision stands */
    for (size_t i = 0; i < g->nbuf; i++) {
        const double *r = g->buf[i];
        double a2 = (r[1] * r[1] + r[2] * r[2] + r[3] * r[3]) * g->ascale * g->ascale;
        if (!(g->bufmask[i] & (ROW_NOVAL(4) | ROW_NOVAL(5) | ROW_NOVAL(6))) &&
            a2 >= MOVING_G * MOVING_G * COMPUTE_G * COMPUTE_G && (m[n] = rate_max(r)) >= 0)
            n++;
    }
    if (n >= MOVING_MIN) {
        qsort(m, n, sizeof *m, cmp_double);
        set_gyro_unit(g, m[(size_t)(0.99 * (double)(n - 1))] > 6.0 ? COMPUTE_GYRO_DEGS
                                                                    : COMPUTE_GYRO_RADS);
    }
    free(m);
}
