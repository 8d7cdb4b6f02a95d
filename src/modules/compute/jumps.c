/*
 * jumps.c — jumps by free-fall detection.
 *
 * In ballistic flight the accelerometer reads no specific force: |a| falls
 * from ~1 g to ~0.  A run of samples with |a| < 0.3 g lasting 0.25–2 s (by
 * default: the jump_g, jump_min_air_s and jump_max_air_s options) is a jump; its start and end are interpolated at the threshold crossings, and
 * the height of the centre of mass follows from the airtime:
 * h = g·t²/8 (rise for t/2 under g).  A flight that spans a gap in the
 * samples as long as the shortest flight is not counted: nothing shows the
 * horse was in the air through it.
 */
#include <math.h>

#include "compute-internal.h"

void compute_jump_reset(compute_jumpdet *d, const compute_params *p)
{
    compute_params def;
    if (!p) {
        compute_params_defaults(&def);
        p = &def;
    }
    d->th = p->jump_g * COMPUTE_G;
    d->min_air = p->jump_min_air_s;
    d->max_air = p->jump_max_air_s;
    d->in_air = d->pending = 0;
    d->have_prev = 0;
}

/* time where the segment (t0,m0)–(t1,m1) crosses the threshold */
static double crossing(double th, double t0, double m0, double t1, double m1)
{
    if (m1 == m0)
        return t1;
    double f = (th - m0) / (m1 - m0);
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return t0 + f * (t1 - t0);
}

/* A flight ends when |a| has stayed above the threshold for
 * COMPUTE_JUMP_BRIDGE_S: a cheap IMU's noise lifts single samples of a
 * free fall above 0.3 g, which must not cut the flight in pieces.  The
 * landing is the crossing that began the excursion. */
static int finish(compute_jumpdet *d, compute_jump *j)
{
    double air = d->t_end - d->t_start;
    d->in_air = d->pending = 0;
    if (air >= d->min_air && air <= d->max_air) {
        j->t = d->t_start;
        j->airtime_s = air;
        j->height_m = COMPUTE_G * air * air / 8.0;
        return 1;
    }
    return 0;
}

int compute_jump_feed(compute_jumpdet *d, double t, double mag2, compute_jump *j)
{
    const double th2 = d->th * d->th;
    int done = 0;
    int below = mag2 < th2;

    if (d->have_prev && t - d->prev_t >= d->min_air) {
        /* samples missing for as long as the shortest flight: nothing shows
         * the horse was in the air through the gap.  A landing already seen
         * before it stands; a flight still open is dropped; this sample
         * starts afresh. */
        if (d->in_air && d->pending)
            done = finish(d, j);
        d->pending = 0;
        d->in_air = below;
        d->t_start = t;
    } else if (!d->have_prev) {
        d->have_prev = 1;
        d->in_air = d->pending = 0;
    } else if (!d->in_air && below) {
        d->in_air = 1;
        d->pending = 0;
        d->t_start = crossing(d->th, d->prev_t, sqrt(d->prev_mag), t, sqrt(mag2));
    } else if (d->in_air && !below) {
        if (!d->pending) {
            d->pending = 1;
            d->t_end = crossing(d->th, d->prev_t, sqrt(d->prev_mag), t, sqrt(mag2));
        }
        if (t - d->t_end >= COMPUTE_JUMP_BRIDGE_S)
            done = finish(d, j);
    } else if (d->in_air && below) {
        d->pending = 0;
    }
    d->prev_t = t;
    d->prev_mag = mag2;
    return done;
}

int compute_jump_flush(compute_jumpdet *d, compute_jump *j)
{
    if (!d->in_air || !d->pending)
        return 0;
    return finish(d, j);
}
