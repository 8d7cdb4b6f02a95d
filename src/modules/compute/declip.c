/*
 * declip.c — accelerometer samples cut at the sensor's full scale, drawn
 * back to the curve they were cut from.
 *
 * A cheap IMU at ±2 g clips the trunk's vertical peaks at trot and canter:
 * the ADC reads its full-scale code for as long as the true value is beyond
 * it, so the file holds the same value two or more samples in a row.  The
 * stronger diagonal's push is cut most, and the trot symmetry read from the
 * peaks (aggregate_sym.c) comes out more even than the horse is: 4.6 points
 * off on a lame pony at ±2 g.
 *
 * A run is taken for clipping when one axis holds one value beyond
 * DECLIP_MIN_G for two or more samples: no accelerometer's full scale is
 * below ±2 g, and a noisy trunk signal does not repeat a value that far out
 * (a cell held because it was empty is not a repeat: those are flagged).
 * Its samples are replaced by the least-squares parabola through the
 * DECLIP_CTX samples on each side of it (a pushed trunk's peak is smooth at
 * the scale of a few samples), never nearer zero than the rail and never
 * beyond DECLIP_MAX_GAIN times it.  A smooth peak whose top two samples a
 * coarse logger (1 mg steps, four decimals) wrote alike is no cut: there the
 * curve hardly passes the value, and a run is drawn only when it passes it
 * by DECLIP_MIN_CUT of it.  Runs longer than DECLIP_MAX_RUN_S (a cut push
 * lasts less: half a stance at most) or DECLIP_MAX_RUN samples,
 * across a clock reset or a gap, or without their context (the start and
 * the end of a session) stay as they are.
 *
 * The rows pass through a delay line of COMPUTE_DECLIP_DELAY rows, so a run and the
 * samples after it are in hand when its first row leaves; what comes after
 * (compute_agg_process) sees the same rows, later.
 */
#include <math.h>
#include <string.h>

#include "aggregate-internal.h"

#define DECLIP_MIN_G    1.5   /* g: a value repeated beyond this is a rail */
#define DECLIP_CTX      COMPUTE_DECLIP_CTX
#define DECLIP_MAX_RUN_S 0.15 /* s; a longer run is not a cut push */
#define DECLIP_MAX_RUN  (COMPUTE_DECLIP_DELAY - 2 * DECLIP_CTX - 2) /* samples, whatever the rate */
#define DECLIP_MAX_GAIN 2.0   /* a drawn peak is at most this many times the rail */
#define DECLIP_SPAN_S   0.3   /* a run with its context spans at most this (no gap in it) */
#define DECLIP_MIN_CUT  0.02 /* the curve must pass the value by this share of it */

void compute_declip_init(compute_declip *d, double ascale, double tscale, double period)
{
    long run = period > 0 ? lround(DECLIP_MAX_RUN_S / period) : DECLIP_MAX_RUN;
    memset(d, 0, sizeof *d);
    d->thr = DECLIP_MIN_G * COMPUTE_G / ascale;  /* in the input's units */
    d->span = DECLIP_SPAN_S / tscale;
    d->max_run = run < 2 ? 2 : run > DECLIP_MAX_RUN ? DECLIP_MAX_RUN : (size_t)run;
}

/* the i-th row waiting (0: the front) */
static compute_declip_row *at(compute_declip *d, size_t i)
{
    return &d->q[(d->head + i) & (COMPUTE_DECLIP_DELAY - 1)];
}

/* the i-th of the DECLIP_CTX rows sent on before the front, oldest first:
 * they stay in the ring behind it (d->nprev of them are valid) */
static const compute_declip_row *before(const compute_declip *d, size_t i)
{
    return &d->q[(d->head - DECLIP_CTX + i) & (COMPUTE_DECLIP_DELAY - 1)];
}

/* Solves the 3×3 normal equations of a parabola fit; 0 if singular. */
static int solve3(double m[3][4], double c[3])
{
    for (int col = 0; col < 3; col++) {
        int pv = col;
        for (int r = col + 1; r < 3; r++)
            if (fabs(m[r][col]) > fabs(m[pv][col]))
                pv = r;
        if (fabs(m[pv][col]) < 1e-12)
            return 0;
        for (int q = 0; q < 4; q++) {
            double t = m[col][q];
            m[col][q] = m[pv][q];
            m[pv][q] = t;
        }
        for (int r = 0; r < 3; r++) {
            if (r == col)
                continue;
            double f = m[r][col] / m[col][col];
            for (int q = 0; q < 4; q++)
                m[r][q] -= f * m[col][q];
        }
    }
    for (int i = 0; i < 3; i++)
        c[i] = m[i][3] / m[i][i];
    return 1;
}

/* The run on axis k that starts at the front row (emit has seen it repeat
 * a value beyond the threshold), if it is a cut peak with its context in
 * hand: drawn back in place.  Returns the samples drawn. */
static int fix_run(compute_declip *d, int k)
{
    const compute_declip_row *f = at(d, 0);
    const unsigned bit = 1u << k;
    double v = f->r[k];
    size_t e = 0;

    if ((f->held | f->fixed) & bit || f->new_run)
        return 0;
    if (d->nprev < DECLIP_CTX || before(d, DECLIP_CTX - 1)->r[k] == v)
        return 0; /* no context before it, or the front is inside a run */
    while (e + 1 < d->n && e + 1 < d->max_run) {
        const compute_declip_row *x = at(d, e + 1);
        if (x->new_run || (x->held & bit) || x->r[k] != v)
            break;
        e++;
    }
    if (e == 0 || e + DECLIP_CTX >= d->n)
        return 0; /* one sample is no run; a run to the end of the line has no after */
    for (size_t j = 1; j <= e + DECLIP_CTX; j++)
        if (at(d, j)->new_run || (j > e && (at(d, j)->held & bit)) ||
            !(at(d, j)->r[0] > at(d, j - 1)->r[0]))
            return 0;
    double t0 = f->r[0], sg = v > 0 ? 1 : -1;
    if (at(d, e + DECLIP_CTX)->r[0] - before(d, 0)->r[0] > d->span)
        return 0; /* a gap in it */
    /* least squares: Σ x^p and Σ y x^p over the context, x from the run's start */
    double S[5] = { 0 }, T[3] = { 0 };
    for (int i = 0; i < 2 * DECLIP_CTX; i++) {
        const compute_declip_row *c = i < DECLIP_CTX ? before(d, (size_t)i)
                                                     : at(d, e + 1 + (size_t)(i - DECLIP_CTX));
        const double *r = c->r;
        double x = r[0] - t0, p = 1;
        if ((i < DECLIP_CTX && (c->held & bit)) || sg * r[k] >= sg * v)
            return 0; /* the context must be the signal itself, inside the range */
        for (int m = 0; m < 5; m++) {
            S[m] += p;
            if (m < 3)
                T[m] += p * r[k];
            p *= x;
        }
    }
    double M[3][4] = { { S[0], S[1], S[2], T[0] }, { S[1], S[2], S[3], T[1] },
                       { S[2], S[3], S[4], T[2] } }, c[3];
    if (!solve3(M, c))
        return 0;
    double y[DECLIP_MAX_RUN], top = 0;
    for (size_t j = 0; j <= e; j++) {
        double t = at(d, j)->r[0] - t0;
        y[j] = c[0] + c[1] * t + c[2] * t * t;
        if (sg * y[j] < sg * v)
            y[j] = v;
        if (sg * y[j] > DECLIP_MAX_GAIN * sg * v)
            y[j] = DECLIP_MAX_GAIN * v;
        if (sg * (y[j] - v) > top)
            top = sg * (y[j] - v);
    }
    if (top < DECLIP_MIN_CUT * fabs(v))
        return 0; /* the curve hardly leaves the value: a smooth peak read twice */
    for (size_t j = 0; j <= e; j++) {
        at(d, j)->r[k] = y[j];
        at(d, j)->fixed |= (unsigned char)bit;
    }
    return (int)e + 1;
}

/* The front row out: its cut peaks drawn first, then on to the aggregator. */
static void emit(compute_agg *g)
{
    compute_declip *d = &g->declip;
    const compute_declip_row *front = at(d, 0);
    for (int k = COMPUTE_COL_AX; k <= COMPUTE_COL_AZ; k++)
        if (d->n > 1 && at(d, 1)->r[k] == front->r[k] && fabs(front->r[k]) >= d->thr)
            d->samples += fix_run(d, k); /* a repeat beyond 1.5 g: look closer */
    d->head = (d->head + 1) & (COMPUTE_DECLIP_DELAY - 1);
    d->n--;
    /* the rows before a clock reset are no context for the ones after */
    d->nprev = front->new_run ? 1 : d->nprev < DECLIP_CTX ? d->nprev + 1 : DECLIP_CTX;
    g->new_run = front->new_run;
    compute_agg_process(g, front->r, front->gmiss);
}

void compute_agg_declip_push(compute_agg *g, const double *r, int gmiss, unsigned mask)
{
    compute_declip *d = &g->declip;
    if (d->n == COMPUTE_DECLIP_DELAY - DECLIP_CTX)
        emit(g); /* the last DECLIP_CTX rows sent on stay behind the front */
    compute_declip_row *x = at(d, d->n++);
    memcpy(x->r, r, sizeof x->r);
    x->gmiss = (unsigned char)(gmiss != 0);
    x->new_run = (unsigned char)(g->new_run != 0);
    g->new_run = 0;
    x->held = (unsigned char)(mask & ((1u << COMPUTE_COL_AX) | (1u << COMPUTE_COL_AY) |
                                      (1u << COMPUTE_COL_AZ)));
    x->fixed = 0;
}

void compute_agg_declip_flush(compute_agg *g)
{
    while (g->declip.n > 0)
        emit(g);
}

_Static_assert((COMPUTE_DECLIP_DELAY & (COMPUTE_DECLIP_DELAY - 1)) == 0 &&
               COMPUTE_DECLIP_DELAY - DECLIP_CTX > DECLIP_MAX_RUN + DECLIP_CTX,
               "the delay line holds a whole run and its context after, and is a power of two");
