/*
 * aggregate_linear.c — linear acceleration input (gravity already removed,
 * as phone "linear acceleration" sensors and many fusion loggers write it).
 *
 * Such a file has no static vector to call vertical, so the vertical is the
 * principal axis of the dynamic signal: a horse's trunk moves most up and
 * down at every gait with a suspension or a push.  The axis has no sign of
 * its own; physics gives it one.  A trunk in the air (the suspension of
 * trot, canter and gallop) falls freely: its linear acceleration is 1 g
 * straight down and nothing sideways.  At the other extreme the hooves
 * push, and braking and propulsion push along with them.  So of the two
 * ends of the axis, up is the one whose big excursions (beyond EXCURSION)
 * carry more horizontal acceleration per row.  Before either, the plainest
 * fact: a trunk can be pushed up by more than 1 g but never pulled down by
 * more (hooves only push; in the air the trunk falls at 1 g), so when one
 * end of the axis has OVER_MIN rows beyond OVER_G and the other end under
 * OVER_SHARE of that, the first end is up.  Pushes that strong come with a
 * canter's or a gallop's stance and with a hard trot's; a trot cut at +-2
 * g shows none, and the free-fall rule decides.  The horizontal rule alone
 * read a third of another trunk model's sessions (harmonic.h, whose flight
 * carries the braking and swing of the trunk at the sensor) upside down.
 * Until the ends show either (a walk has no suspension) the skew along the
 * axis decides:
 * footfalls push up in short peaks and a trunk can fall no faster than 1 g.
 * The skew alone got the sign wrong on about 60 of 200 of the independent
 * generator's sessions (their rein time off by more than 5 %): a trot's
 * short fall at -1 g against its long pushes of under +1 g skews the
 * vertical down, and +-2 g clipping cuts the pushes (docs/compute.md,
 * "linear acceleration").  Gravity is then added back along that vertical
 * (+1 g), and everything downstream (gait, jumps, intensity) sees an
 * ordinary accelerometer.  The estimate uses every row so far and is
 * refreshed every REFRESH rows; the held rows give the first one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate-internal.h"

#define REFRESH 256
#define LINEAR_RATIO 0.5   /* |mean vector| below this share of the RMS |a|: no gravity */
#define LINEAR_MG_P99 60.0 /* a trunk's 99th percentile |a| stays below 6 g: beyond, mg */
#define EXCURSION 0.6      /* g along the axis: a big excursion (a walk stays under) */
#define EXC_MIN 200        /* rows beyond it on each side before they decide the sign */
#define SKEW_MIN 0.1       /* a standardized skew below this keeps the sign it had */
#define OVER_G 1.2         /* g along the axis: beyond what a fall can reach (1 g), noise allowed */
#define OVER_SHARE 0.25    /* the other end's rows beyond OVER_G, at most this share */
#define OVER_MIN 100       /* rows beyond OVER_G at the end taken for up */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* magnitudes of the held rows, sorted (n entries); NULL on ENOMEM */
static double *sorted_mags(const compute_agg *g)
{
    double *m = malloc(sizeof *m * (g->nbuf ? g->nbuf : 1));
    if (!m)
        return NULL;
    for (size_t i = 0; i < g->nbuf; i++) {
        const double *r = g->buf[i];
        m[i] = sqrt(r[1] * r[1] + r[2] * r[2] + r[3] * r[3]);
    }
    qsort(m, g->nbuf, sizeof *m, cmp_double);
    return m;
}

int compute_agg_linear_check(const compute_agg *g)
{
    double mean[3] = { 0, 0, 0 }, ss = 0;
    size_t n = 0;
    if (g->nbuf < 16)
        return 0;
    double *m = sorted_mags(g);
    if (!m)
        return 0;
    double top = m[(size_t)(0.99 * (double)(g->nbuf - 1))];
    free(m);
    for (size_t i = 0; i < g->nbuf; i++) {
        const double *r = g->buf[i];
        double q = r[1] * r[1] + r[2] * r[2] + r[3] * r[3];
        if (!(sqrt(q) <= top))
            continue;   /* the top 1 %: a corrupt cell moves neither measure */
        for (int k = 0; k < 3; k++)
            mean[k] += r[1 + k];
        ss += q;
        n++;
    }
    if (n == 0 || !(ss > 0))
        return 0;
    double mm = sqrt(mean[0] * mean[0] + mean[1] * mean[1] + mean[2] * mean[2]) / (double)n;
    return mm < LINEAR_RATIO * sqrt(ss / (double)n);
}

compute_unit compute_agg_linear_unit(const compute_agg *g)
{
    double *m = sorted_mags(g);
    if (!m)
        return COMPUTE_ACCEL_MS2;
    double p99 = g->nbuf ? m[(size_t)(0.99 * (double)(g->nbuf - 1))] : 0;
    free(m);
    return p99 > LINEAR_MG_P99 ? COMPUTE_ACCEL_MG : COMPUTE_ACCEL_MS2;
}

static void moments_add(double m2[6], double m3[10], const double a[3])
{
    double x = a[0], y = a[1], z = a[2];
    m2[0] += x * x; m2[1] += x * y; m2[2] += x * z;
    m2[3] += y * y; m2[4] += y * z; m2[5] += z * z;
    m3[0] += x * x * x; m3[1] += x * x * y; m3[2] += x * x * z; m3[3] += x * y * y;
    m3[4] += x * y * z; m3[5] += x * z * z; m3[6] += y * y * y; m3[7] += y * y * z;
    m3[8] += y * z * z; m3[9] += z * z * z;
}

/* principal axis of m2 (power iteration from its largest column) in u,
 * turned to point the way prev does (prev may be 0, 0, 0).  0, or -1 with u
 * untouched when the moments are all zero. */
static int principal(const double m2[6], const double prev[3], double u[3])
{
    const double C[3][3] = { { m2[0], m2[1], m2[2] }, { m2[1], m2[3], m2[4] },
                             { m2[2], m2[4], m2[5] } };
    double w0[3];
    int best = 0;
    double bn = -1;
    for (int c = 0; c < 3; c++) {
        double n = C[0][c] * C[0][c] + C[1][c] * C[1][c] + C[2][c] * C[2][c];
        if (n > bn) {
            bn = n;
            best = c;
        }
    }
    if (!(bn > 0))
        return -1;
    for (int k = 0; k < 3; k++)
        w0[k] = C[k][best];
    for (int it = 0; it < 100; it++) {
        double w[3], n = 0;
        for (int k = 0; k < 3; k++) {
            w[k] = C[k][0] * w0[0] + C[k][1] * w0[1] + C[k][2] * w0[2];
            n += w[k] * w[k];
        }
        n = sqrt(n);
        if (!(n > 0))
            return -1;
        for (int k = 0; k < 3; k++)
            w0[k] = w[k] / n;
    }
    double sg = w0[0] * prev[0] + w0[1] * prev[1] + w0[2] * prev[2] < 0 ? -1 : 1;
    for (int k = 0; k < 3; k++)
        u[k] = sg * w0[k];
    return 0;
}

/* The skew of the moments along u: its sign. */
static double skew_along(const double m3[10], const double u[3])
{
    double x = u[0], y = u[1], z = u[2];
    return m3[0] * x * x * x + 3 * m3[1] * x * x * y + 3 * m3[2] * x * x * z +
           3 * m3[3] * x * y * y + 6 * m3[4] * x * y * z + 3 * m3[5] * x * z * z +
           m3[6] * y * y * y + 3 * m3[7] * y * y * z + 3 * m3[8] * y * z * z +
           m3[9] * z * z * z;
}

/* Counts row a at a big excursion along u (beyond EXCURSION g either way):
 * its horizontal energy on that side. */
static void excursion_add(compute_agg *g, const double a[3])
{
    const double *u = g->lin_u;
    double p = a[0] * u[0] + a[1] * u[1] + a[2] * u[2];
    if (fabs(p) < EXCURSION * COMPUTE_G)
        return;
    double h = a[0] * a[0] + a[1] * a[1] + a[2] * a[2] - p * p;
    int side = p > 0;
    g->lin_h[side] += h;
    g->lin_c[side] += 1;
    if (fabs(p) >= OVER_G * COMPUTE_G)
        g->lin_o[side] += 1;
}

/* The end of the axis that goes beyond 1 g (OVER_G) when the other does
 * not (see the top): +1 above, -1 below, 0 when the rows do not say. */
static int over_side(const double o[2])
{
    if (o[1] >= OVER_MIN && o[0] <= OVER_SHARE * o[1])
        return 1;
    if (o[0] >= OVER_MIN && o[1] <= OVER_SHARE * o[0])
        return -1;
    return 0;
}

/* vert from the moments of nrows rows: the principal axis, its sign from
 * the end that goes beyond 1 g (over_side), else from the big excursions
 * once both ends have EXC_MIN of them, else from the skew (see the top)
 * unless that is too weak to say (a halt's noise, a walk): then the sign
 * the axis had, so the added gravity does not flip from one refresh to the
 * next. */
static void estimate(compute_agg *g, const double m2[6], const double m3[10], double nrows)
{
    double u[3];
    if (principal(m2, g->lin_u, u) != 0)
        return;
    double prev = g->vert[0] * u[0] + g->vert[1] * u[1] + g->vert[2] * u[2];
    memcpy(g->lin_u, u, sizeof u);
    double var = m2[0] * u[0] * u[0] + m2[3] * u[1] * u[1] + m2[5] * u[2] * u[2] +
                 2 * (m2[1] * u[0] * u[1] + m2[2] * u[0] * u[2] + m2[4] * u[1] * u[2]);
    double sk = var > 0 ? skew_along(m3, u) / var * sqrt(nrows / var) : 0;
    int sgn = over_side(g->lin_o);   /* the end beyond 1 g is up */
    if (sgn == 0) {
        if (g->lin_c[0] >= EXC_MIN && g->lin_c[1] >= EXC_MIN)
            sgn = g->lin_h[1] / g->lin_c[1] >= g->lin_h[0] / g->lin_c[0] ? 1 : -1;
        else if (fabs(sk) < SKEW_MIN && fabs(prev) > 0.5)
            sgn = prev < 0 ? -1 : 1;   /* no evidence: no flip */
        else
            sgn = sk < 0 ? -1 : 1;
    }
    for (int k = 0; k < 3; k++)
        g->vert[k] = sgn * u[k];
}

/* held row i's acceleration in m/s^2 */
static void held(const compute_agg *g, size_t i, double a[3])
{
    for (int k = 0; k < 3; k++)
        a[k] = g->buf[i][1 + k] * g->ascale;
}

/* The moments of the held rows into m2, m3 (zeroed by the caller) and
 * their principal axis into u, turned the way prev points: 0, or -1. */
static int held_axis(const compute_agg *g, double m2[6], double m3[10], const double prev[3],
                     double u[3])
{
    double a[3];
    for (size_t i = 0; i < g->nbuf; i++) {
        held(g, i, a);
        moments_add(m2, m3, a);
    }
    return principal(m2, prev, u);
}

int compute_agg_linear_ready(const compute_agg *g)
{
    double m2[6] = { 0 }, m3[10] = { 0 }, u[3], none[3] = { 0, 0, 0 }, a[3];
    long long c[2] = { 0, 0 };
    double o[2] = { 0, 0 };
    if (held_axis(g, m2, m3, none, u) != 0)
        return 0;
    for (size_t i = 0; i < g->nbuf; i++) {
        held(g, i, a);
        double p = a[0] * u[0] + a[1] * u[1] + a[2] * u[2];
        if (fabs(p) >= EXCURSION * COMPUTE_G)
            c[p > 0]++;
        if (fabs(p) >= OVER_G * COMPUTE_G)
            o[p > 0] += 1;
    }
    return over_side(o) != 0 || (c[0] >= EXC_MIN && c[1] >= EXC_MIN);
}

void compute_agg_linear_init(compute_agg *g)
{
    double m2[6] = { 0 }, m3[10] = { 0 }, a[3];
    g->vert[0] = g->vert[1] = 0;
    g->vert[2] = 1;
    memset(g->lin_u, 0, sizeof g->lin_u);
    memset(g->lin_h, 0, sizeof g->lin_h);
    memset(g->lin_c, 0, sizeof g->lin_c);
    memset(g->lin_o, 0, sizeof g->lin_o);
    if (held_axis(g, m2, m3, g->lin_u, g->lin_u) == 0)
        for (size_t i = 0; i < g->nbuf; i++) {
            held(g, i, a);
            excursion_add(g, a);
        }
    estimate(g, m2, m3, (double)g->nbuf);
    g->lin_n0 = (long long)g->nbuf;
    g->lin_n = 0;
    memset(g->m2, 0, sizeof g->m2);
    memset(g->m3, 0, sizeof g->m3);
}

void compute_agg_linear_apply(compute_agg *g, double a[3])
{
    moments_add(g->m2, g->m3, a);
    g->lin_n++;
    if (g->lin_n > g->lin_n0) { /* the held rows' excursions are counted */
        excursion_add(g, a);
        if (g->lin_n % REFRESH == 0)
            estimate(g, g->m2, g->m3, (double)g->lin_n);
    }
    for (int k = 0; k < 3; k++)
        a[k] += COMPUTE_G * g->vert[k];
}
