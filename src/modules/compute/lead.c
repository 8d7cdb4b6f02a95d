/*
 * lead.c — the canter lead, with the sensor turned any way about the
 * vertical.
 *
 * The signature.  In canter the hooves land outside hind, then the
 * diagonal pair, then the leading fore: the centre of the vertical ground
 * reaction runs diagonally under the trunk, from the back of the outside to
 * the front of the leading side.  A vertical force at (x forward, y left)
 * of the centre of mass turns the trunk with moment (y·F, −x·F, 0): roll
 * toward the unloaded side and pitch nose-down as the load moves forward.
 * On the left lead x and y grow together, so the roll and pitch rates move
 * against each other (covariance < 0); on the right lead they move together.
 * The sign of that covariance does not change when forward and left are
 * both reversed, so only the horse's fore-aft axis is needed, not which way
 * along it the horse goes.
 *
 * The axis.  On a circle the ground pushes the horse up and toward the
 * centre, so the mean specific force leans inward from the world vertical by
 * atan(v·ω/g); the turn itself is a rotation about the world vertical, so
 * the window's mean angular rate points along it.  The difference between
 * the two directions points outward: signed by the turning sense, it points
 * to the horse's left, whatever the mounting.  The mounting does not move
 * during a session, so the left axis is summed over every clear turn (any
 * gait), with the gyro's bias — taken at halts and on straight lines, where
 * the mean rate is the bias — removed first.  Until a circle has shown it,
 * the sensor's x axis is taken as the fore-aft axis.
 */
#include <math.h>

#include "compute-internal.h"

#define LEAD_MIN_RHO 0.05   /* |correlation| of roll and pitch below this: no lead */
#define TURN_CLEAR 0.15     /* rad/s: a turn whose lean is worth learning from */
#define STRAIGHT_MAX 0.04   /* rad/s: straight enough to take the mean rate as bias */
#define BIAS_TAU 30.0       /* s: the bias follows the last ~30 s of halt and straight */
#define LEAN_MIN 0.3        /* rad of summed outward tilt before its axis is trusted */
#define LEAN_MAX_DEG 25.0   /* a "lean" wider than this is no lean (a transition, a shy) */

static double dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* v^T S w with S the symmetric matrix (xx, yy, zz, xy, xz, yz) */
static double quad(const double s[6], const double v[3], const double w[3])
{
    double sw[3] = { s[0] * w[0] + s[3] * w[1] + s[4] * w[2],
                     s[3] * w[0] + s[1] * w[1] + s[5] * w[2],
                     s[4] * w[0] + s[5] * w[1] + s[2] * w[2] };
    return dot(v, sw);
}

int compute_lead_sign(const double wcov[6], const double f[3], const double l[3])
{
    double vf = quad(wcov, f, f), vl = quad(wcov, l, l), c = quad(wcov, f, l);
    if (!(vf > 0 && vl > 0))
        return 0;
    double rho = c / sqrt(vf * vl);
    if (fabs(rho) < LEAD_MIN_RHO)
        return 0;
    return rho < 0 ? 1 : -1;
}

static void learn(compute_leadest *e, const compute_window_result *r, double yaw, double dur)
{
    if (r->gait == COMPUTE_HALT || fabs(yaw) < STRAIGHT_MAX) {
        /* no turn: the mean rate is the gyro's bias (it drifts: follow the
         * last ~BIAS_TAU s) */
        double k = dur / (e->bias_t + dur);
        if (k < dur / BIAS_TAU)
            k = dur / BIAS_TAU;
        if (k > 1)
            k = 1;
        for (int i = 0; i < 3; i++)
            e->bias[i] += k * (r->wmean[i] - e->bias[i]);
        e->bias_t += dur;
        return;
    }
    if (fabs(yaw) < TURN_CLEAR)
        return;
    double m[3] = { r->wmean[0] - e->bias[0], r->wmean[1] - e->bias[1], r->wmean[2] - e->bias[2] };
    double mn = sqrt(dot(m, m)), sg = yaw > 0 ? 1 : -1;
    if (mn <= 0)
        return;
    double d[3];
    for (int i = 0; i < 3; i++)
        d[i] = sg * m[i] / mn; /* the world vertical, sensor axes */
    if (dot(d, r->up) < cos(LEAN_MAX_DEG * M_PI / 180))
        return;
    double du = dot(d, r->up) - 1;
    for (int i = 0; i < 3; i++) {
        d[i] -= r->up[i];           /* outward tilt … */
        d[i] -= du * r->up[i];      /* … in the horizontal plane */
        /* outward on a left turn is right; weighted by the turning rate:
         * the lean grows with it, a bias error does not */
        e->lsum[i] -= sg * d[i] * fabs(yaw) / TURN_CLEAR;
    }
}

int compute_lead_window(compute_leadest *e, const compute_window_result *r, int inherited,
                        int gmiss, double yaw_bias, double dur)
{
    if (inherited || gmiss || r->gait == COMPUTE_UNCLASSIFIED)
        return r->lead;
    (void)yaw_bias;
    /* turning rate less this file's own bias estimate: the halt-only yaw
     * bias can be stale by the time the horse goes straight */
    learn(e, r, dot(r->wmean, r->up) - dot(e->bias, r->up), dur);
    if (r->gait != COMPUTE_CANTER)
        return r->lead;
    double lu = dot(e->lsum, r->up), l[3];
    for (int i = 0; i < 3; i++)
        l[i] = e->lsum[i] - lu * r->up[i];
    double ln = sqrt(dot(l, l));
    if (ln < LEAN_MIN)
        return r->lead;
    for (int i = 0; i < 3; i++)
        l[i] /= ln;
    const double *u = r->up;
    double f[3] = { l[1] * u[2] - l[2] * u[1], l[2] * u[0] - l[0] * u[2], l[0] * u[1] - l[1] * u[0] };
    return compute_lead_sign(r->wcov, f, l);
}
