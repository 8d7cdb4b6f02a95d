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
 * The axis, first from the symmetric gaits.  Walk and trot are left-right
 * symmetric: half a stride later the same limbs' mirror images do the same
 * thing.  So whatever is sagittal repeats every half stride — the fore-aft
 * surge of braking and propulsion, the pitch rate about the left axis — and
 * whatever is lateral reverses: the sideways sway, the roll rate about the
 * fore-aft axis.  In the horizontal plane the half-stride covariance of the
 * dynamic acceleration is therefore largest along the fore-aft axis, and
 * that of the angular rate most negative along it; acceleration minus rate
 * (each over its energy, so neither dominates by units) has its principal
 * direction fore-aft.  Both are taken about the window's means, so a gyro
 * bias, drifting or not, changes nothing, and no circle is needed: a
 * straight warm-up shows the axis.  The mounting does not move during a
 * session, so the windows' matrices are summed (weighted by time).
 *
 * Until walk and trot have shown it, the axis from circles: on a circle the
 * ground pushes the horse up and toward the centre, so the mean specific
 * force leans inward from the world vertical by atan(v·ω/g); the turn itself
 * is a rotation about the world vertical, so the window's mean angular rate
 * points along it.  The difference between the two directions points
 * outward: signed by the turning sense, it points to the horse's left.  It
 * needs the gyro's bias (taken at halts and on straight lines) removed, and
 * a bias that drifts between them tilts it, hence second.  Until a circle
 * has shown it either, the sensor's x axis is taken as the fore-aft axis.
 */
#include <math.h>

#include "compute-internal.h"

#define LEAD_MIN_RHO 0.05   /* |correlation| of roll and pitch below this: no lead */
#define TURN_CLEAR 0.15     /* rad/s: a turn whose lean is worth learning from */
#define STRAIGHT_MAX 0.04   /* rad/s: straight enough to take the mean rate as bias */
#define STRAIGHT_MAX_CANTER 0.075 /* rad/s: the same for canter and gallop (straight_max) */
#define BIAS_TAU 30.0       /* s: the bias follows the last ~30 s of halt and straight */
#define BIAS_SETTLED 4.0    /* s of halt and straight after which a halt turning faster
                             * than STRAIGHT_MAX is a turn, not the bias */
#define TURN_LEARN 3        /* windows whose mean is a turn's rate */
#define TURN_TOL 0.03       /* rad/s: a step this big is a new turn */
#define TURN_DRIFT 0.004    /* rad/s/√s: the most a turn lets the bias move */
#define LEAN_MIN 0.3        /* rad of summed outward tilt before its axis is trusted */
#define LEAN_MAX_DEG 25.0   /* a "lean" wider than this is no lean (a transition, a shy) */
#define SYM_MIN_S 20.0      /* s of walk and trot before their axis is trusted */
#define SYM_MIN_GAP 0.15    /* fore-aft minus lateral half-stride correlation, time-averaged */

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

void compute_lead_halflag(const double *x, const double mean[3], size_t n, const double u[3],
                          double lag, double floor_e, double out[6])
{
    size_t k = (size_t)floor(lag);
    double fr = lag - (double)k, e = 0, c[2][6] = { { 0 } };
    for (int j = 0; j < 6; j++)
        out[j] = 0;
    if (lag < 0 || k + 1 >= n)
        return;
    for (size_t i = 0; i < n; i++) {
        double p[3] = { x[3 * i] - mean[0], x[3 * i + 1] - mean[1], x[3 * i + 2] - mean[2] };
        double pu = dot(p, u), h[3] = { p[0] - pu * u[0], p[1] - pu * u[1], p[2] - pu * u[2] };
        e += dot(h, h);
        for (size_t m = 0; m < 2; m++) {
            if (i + k + m >= n)
                continue;
            size_t j = 3 * (i + k + m);
            double q[3] = { x[j] - mean[0], x[j + 1] - mean[1], x[j + 2] - mean[2] };
            double qu = dot(q, u), g[3] = { q[0] - qu * u[0], q[1] - qu * u[1], q[2] - qu * u[2] };
            c[m][0] += h[0] * g[0];
            c[m][1] += h[1] * g[1];
            c[m][2] += h[2] * g[2];
            c[m][3] += 0.5 * (h[0] * g[1] + h[1] * g[0]);
            c[m][4] += 0.5 * (h[0] * g[2] + h[2] * g[0]);
            c[m][5] += 0.5 * (h[1] * g[2] + h[2] * g[1]);
        }
    }
    e /= (double)n;
    if (e < floor_e)
        return;
    for (int j = 0; j < 6; j++)
        out[j] = ((1 - fr) * c[0][j] / (double)(n - k) + fr * c[1][j] / (double)(n - k - 1)) / e;
}

/* The fore-aft axis the walk and trot have shown, in the plane normal to u:
 * the principal direction of the summed half-stride covariance.  0 when
 * there is too little of it or it does not tell fore-aft from lateral. */
static int sym_axis(const compute_leadest *e, const double u[3], double f[3])
{
    if (e->sym_t < SYM_MIN_S)
        return 0;
    /* a basis of the horizontal plane: the sensor axis least along u */
    int ax = fabs(u[0]) <= fabs(u[1]) && fabs(u[0]) <= fabs(u[2]) ? 0 : fabs(u[1]) <= fabs(u[2]) ? 1 : 2;
    double b1[3] = { 0, 0, 0 };
    b1[ax] = 1;
    double bu = dot(b1, u);
    for (int i = 0; i < 3; i++)
        b1[i] -= bu * u[i];
    double bn = sqrt(dot(b1, b1));
    for (int i = 0; i < 3; i++)
        b1[i] /= bn;
    double b2[3] = { u[1] * b1[2] - u[2] * b1[1], u[2] * b1[0] - u[0] * b1[2], u[0] * b1[1] - u[1] * b1[0] };
    double p = quad(e->sym, b1, b1) / e->sym_t, q = quad(e->sym, b2, b2) / e->sym_t;
    double r = quad(e->sym, b1, b2) / e->sym_t;
    double gap = sqrt((p - q) * (p - q) + 4 * r * r); /* λ1 − λ2 */
    if (gap < SYM_MIN_GAP)
        return 0;
    /* the eigenvector of the larger eigenvalue */
    double th = 0.5 * atan2(2 * r, p - q), c = cos(th), s = sin(th);
    for (int i = 0; i < 3; i++)
        f[i] = c * b1[i] + s * b2[i];
    return 1;
}

/* The bias through a turn.  A gyro's bias drifts slowly; a rider's turn
 * changes the rate in a step (onto a circle, off it, onto the other rein).
 * So a turn's rate about the vertical is taken, relative to the bias at its
 * start, from its first TURN_LEARN windows, and held: while the measured
 * rate stays within TURN_TOL of that level the turn goes on, and what it
 * moves by is the bias drifting, followed like on a straight line.  Without
 * this the bias froze for a whole circle and a straight line after a long
 * one began beyond STRAIGHT_MAX, read as a circle until the next halt.  A
 * real circle's rate also changes slowly (a spiral, a faster canter), which
 * this would take for drift, so the bias may move during one turn by at
 * most TURN_DRIFT·√(turn time) (a random walk's 2σ at 0.002 rad/s/√s, the
 * worst gyro the tests model): a circle that tightens costs at most that
 * when it ends, below STRAIGHT_MAX, and the straight line re-anchors. */
static void follow_turn(compute_leadest *e, const compute_window_result *r, double yaw,
                        double dur)
{
    if (e->turn_n == 0 || fabs(yaw - e->turn_w) > TURN_TOL) {
        e->turn_w = yaw; /* a new turn (or a step within one) */
        e->turn_n = 1;
        e->turn_t = dur;
        e->turn_db = 0;
        return;
    }
    e->turn_t += dur;
    if (e->turn_n < TURN_LEARN) {
        e->turn_w += (yaw - e->turn_w) / ++e->turn_n;
        return;
    }
    double k = dur / BIAS_TAU, step = k > 1 ? 1 : k;
    double db = step * (yaw - e->turn_w), cap = TURN_DRIFT * sqrt(e->turn_t);
    if (e->turn_db + db > cap)
        db = cap - e->turn_db;
    if (e->turn_db + db < -cap)
        db = -cap - e->turn_db;
    e->turn_db += db;
    for (int i = 0; i < 3; i++)
        e->bias[i] += db * r->up[i];
}

/* How slowly a window may turn and still be taken for a straight line.
 * The slowest circle is a slow walk on 20 m (0.056 rad/s), hence 0.04.  A
 * canter is faster: collected (3 m/s) on the widest riding circle (20 m)
 * it turns at 0.15 rad/s, so one turning at half that has a radius beyond
 * 40 m — a line, or the gentlest curve — and what it reads is the bias.
 * A canter down a long side after minutes of circles once read 0.05 rad/s
 * (the bias had drifted 0.04 through the circles, where it cannot be
 * seen), and the walk after it read as a circle until the next halt. */
static double straight_max(int gait)
{
    return gait == COMPUTE_CANTER || gait == COMPUTE_GALLOP ? STRAIGHT_MAX_CANTER : STRAIGHT_MAX;
}

/* The bias at a standstill.  A standing horse does not turn, so a halt's
 * mean rate is the bias — except in the window that holds a walk-on onto a
 * circle, or a turn about the forehand: once BIAS_SETTLED s have taught the
 * bias, a halt turning faster than STRAIGHT_MAX teaches nothing (a drift of
 * 0.002 rad/s/√s moves it by 0.003 rad/s between two windows).  Otherwise
 * the first window taught alone: after a restless halt whose windows the
 * timeline had read as weak, the walk-on onto a circle at 0.1 rad/s became
 * the bias, and the straight lines of the session read as circles. */
static int halt_teaches(const compute_leadest *e, double yaw)
{
    return e->bias_t < BIAS_SETTLED || fabs(yaw) < STRAIGHT_MAX;
}

static void learn(compute_leadest *e, const compute_window_result *r, double yaw, double dur)
{
    if (!isfinite(yaw))
        return; /* nothing to learn, and a NaN would stay in the bias for good */
    if (r->gait != COMPUTE_HALT && fabs(yaw) >= straight_max(r->gait))
        follow_turn(e, r, yaw, dur);
    else
        e->turn_n = 0;
    if (r->gait == COMPUTE_HALT && !halt_teaches(e, yaw))
        return;
    if (r->gait == COMPUTE_HALT || fabs(yaw) < straight_max(r->gait)) {
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
                        int gmiss, double dur)
{
    if (gmiss || r->gait == COMPUTE_UNCLASSIFIED)
        return r->lead;
    /* turning rate less the bias followed at halts and on straight lines */
    double yaw = dot(r->wmean, r->up) - dot(e->bias, r->up);
    if (inherited) {
        /* a weak window its neighbours made halt (a restless halt) is
         * still standing: its rate is the bias; no other weak window
         * teaches or has a lead of its own */
        if (r->gait == COMPUTE_HALT)
            learn(e, r, yaw, dur);
        return r->lead;
    }
    learn(e, r, yaw, dur);
    if (r->gait == COMPUTE_WALK || r->gait == COMPUTE_TROT) {
        /* the rate along the fore-aft axis is the roll rate, which reverses:
         * the rate's half-stride covariance counts against, the
         * acceleration's for.  On a circle the bounce runs along the world
         * vertical, not along the mean specific force, and leaks into the
         * lateral: there the acceleration is left out */
        double ka = fabs(yaw) < TURN_CLEAR ? 1 : 0;
        for (int i = 0; i < 6; i++)
            e->sym[i] += dur * (ka * r->alag[i] - r->glag[i]);
        e->sym_t += dur;
    }
    if (r->gait != COMPUTE_CANTER)
        return r->lead;
    const double *u = r->up;
    double f[3];
    if (sym_axis(e, u, f)) {
        double l[3] = { u[1] * f[2] - u[2] * f[1], u[2] * f[0] - u[0] * f[2], u[0] * f[1] - u[1] * f[0] };
        return compute_lead_sign(r->wcov, f, l);
    }
    double lu = dot(e->lsum, r->up), l[3];
    for (int i = 0; i < 3; i++)
        l[i] = e->lsum[i] - lu * r->up[i];
    double ln = sqrt(dot(l, l));
    if (ln < LEAN_MIN)
        return r->lead;
    for (int i = 0; i < 3; i++)
        l[i] /= ln;
    f[0] = l[1] * u[2] - l[2] * u[1];
    f[1] = l[2] * u[0] - l[0] * u[2];
    f[2] = l[0] * u[1] - l[1] * u[0];
    return compute_lead_sign(r->wcov, f, l);
}
