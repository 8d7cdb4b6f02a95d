/*
 * gait.c — one 4 s window (decimated to ~25 Hz): gravity and body axes,
 * dynamic energy, stride from autocorrelation, 2-beat vs asymmetric
 * structure, gait class, trot symmetry and canter lead from a harmonic fit.
 * Definitions and thresholds: docs/compute.md "aggregate".
 */
#include <math.h>
#include <string.h>

#include "compute-internal.h"

/* Thresholds: compute_params (compute.h; defaults and meanings in params.c). */

const char *const compute_gait_names[COMPUTE_NGAITS] = {
    "halt", "walk", "trot", "canter", "gallop"
};

/* normalised autocorrelation of x (n) at integer lag k */
static double acf(const double *x, size_t n, size_t k, double e0)
{
    double s = 0;
    if (k >= n || e0 <= 0)
        return 0;
    for (size_t i = 0; i + k < n; i++)
        s += x[i] * x[i + k];
    return (s / (double)(n - k)) / e0;
}

/* 3-D version over d[n][3] */
static double acf3(const double *d, size_t n, size_t k, double e0)
{
    double s = 0;
    if (k >= n || e0 <= 0)
        return 0;
    for (size_t i = 0; i + k < n; i++)
        s += d[3 * i] * d[3 * (i + k)] + d[3 * i + 1] * d[3 * (i + k) + 1] +
             d[3 * i + 2] * d[3 * (i + k) + 2];
    return (s / (double)(n - k)) / e0;
}

/* y = x through a [1 2 1]/4 filter, ends held.  The bounce is looked for
 * through it: at the decimated ~25 Hz it passes a walk's or trot's bounce
 * (1.4-3.4 Hz) at 0.82-0.94 and keeps 3/8 of white sensor noise's power,
 * so a walk in 0.8 m/s^2 of noise at 50 Hz shows a rhythm (docs/compute.md
 * "aggregate", step 4). */
static void smooth121(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = 0.25 * (x[i ? i - 1 : 0] + 2 * x[i] + x[i + 1 < n ? i + 1 : i]);
}

/* smooth121 of each axis of n rows of 3 (x, y interleaved); returns the
 * mean square of y's rows (as e3 is of x's). */
static double smooth121_3(const double *x, double *y, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = i ? i - 1 : 0, b = i + 1 < n ? i + 1 : i;
        for (int k = 0; k < 3; k++) {
            y[3 * i + k] = 0.25 * (x[3 * a + k] + 2 * x[3 * i + k] + x[3 * b + k]);
            e += y[3 * i + k] * y[3 * i + k];
        }
    }
    return n ? e / (double)n : 0;
}

static double energy(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return n ? s / (double)n : 0;
}

/* Value of a 3-D acf at a fractional lag (linear interpolation). */
static double acf3_at(const double *d, size_t n, double lag, double e0)
{
    size_t k = (size_t)floor(lag);
    double fr = lag - (double)k;
    return (1 - fr) * acf3(d, n, k, e0) + fr * acf3(d, n, k + 1, e0);
}

/* Best stride lag near lag0 (±20%) on the 3-D acf, refined by a parabola. */
static double refine_peak(const double *d, size_t n, double lag0, double e0, double *val)
{
    size_t lo = (size_t)floor(lag0 * 0.8), hi = (size_t)ceil(lag0 * 1.2);
    size_t best = 0;
    double bv = -2;
    if (lo < 1)
        lo = 1;
    if (hi > n - 2)
        hi = n - 2;
    for (size_t k = lo; k <= hi; k++) {
        double v = acf3(d, n, k, e0);
        if (v > bv) {
            bv = v;
            best = k;
        }
    }
    if (best == 0) {
        *val = acf3_at(d, n, lag0, e0);
        return lag0;
    }
    double ym = acf3(d, n, best - 1, e0), yp = acf3(d, n, best + 1, e0);
    double den = ym - 2 * bv + yp;
    double off = den < 0 ? 0.5 * (ym - yp) / den : 0;
    if (off > 0.5) off = 0.5;
    if (off < -0.5) off = -0.5;
    *val = bv - 0.25 * (ym - yp) * off;
    return (double)best + off;
}

/* Least normalised autocorrelation at lag k over the directions of the
 * plane spanned by x and y: the smallest generalised eigenvalue of the
 * symmetric lag-k covariance against the lag-0 covariance.  NaN when the
 * plane carries less than floor of energy. */
static double min_dir_acf(const double *x, const double *y, size_t n, size_t k, double floor_e)
{
    double a11 = 0, a22 = 0, a12 = 0, b11 = 0, b22 = 0, b12 = 0;
    if (k >= n)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        b11 += x[i] * x[i];
        b22 += y[i] * y[i];
        b12 += x[i] * y[i];
    }
    for (size_t i = 0; i + k < n; i++) {
        a11 += x[i] * x[i + k];
        a22 += y[i] * y[i + k];
        a12 += 0.5 * (x[i] * y[i + k] + y[i] * x[i + k]);
    }
    double m = (double)(n - k), nn = (double)n;
    a11 /= m; a22 /= m; a12 /= m;
    b11 /= nn; b22 /= nn; b12 /= nn;
    if (b11 + b22 < floor_e)
        return NAN;
    double db = b11 * b22 - b12 * b12;
    if (db < 1e-6 * (b11 + b22) * (b11 + b22)) {
        /* one direction only: plain autocorrelation of the stronger axis */
        return b11 >= b22 ? a11 / b11 : a22 / b22;
    }
    double c = a11 * b22 + a22 * b11 - 2 * a12 * b12, da = a11 * a22 - a12 * a12;
    double disc = c * c - 4 * db * da;
    if (disc < 0)
        disc = 0;
    return (c - sqrt(disc)) / (2 * db);
}

/* How well the rotation about the two horizontal axes repeats at lag k:
 * the normalised autocorrelation of the (roll, pitch) rate pair.  +1 (no
 * evidence against a rhythm) without rate channels or rotation. */
static double rotation_repeat(const double *roll, const double *pitch, size_t n, size_t k)
{
    double e = energy(roll, n) + energy(pitch, n);
    if (k == 0 || k >= n || !(e > 1e-12))
        return 1;
    return (acf(roll, n, k, 1) + acf(pitch, n, k, 1)) / e;   /* lagged means, over both */
}

/* How unevenly a window's dynamic energy (d: n rows of 3) falls on its
 * successive half strides of h samples: the coefficient of variation of
 * their mean squares.  Locomotion is steady: every half stride of a walk
 * carries two footfalls, every one of a trot a diagonal, and their energies
 * differ by noise and lameness (0.1-0.3).  Fidgeting comes in bursts — a
 * stamp, a shift, a toss of the head, then stillness — so a few half
 * strides hold most of it.  NaN with fewer than three half strides. */
static double burst_cv(const double *d, size_t n, size_t h)
{
    size_t ns = h > 0 ? n / h : 0;
    double sum = 0, sq = 0;
    if (ns < 3)
        return NAN;
    for (size_t k = 0; k < ns; k++) {
        double e = 0;
        for (size_t i = k * h; i < (k + 1) * h; i++)
            e += d[3 * i] * d[3 * i] + d[3 * i + 1] * d[3 * i + 1] + d[3 * i + 2] * d[3 * i + 2];
        e /= (double)h;
        sum += e;
        sq += e * e;
    }
    double mean = sum / (double)ns, var = (sq - sum * mean) / (double)(ns - 1);
    return mean > 0 ? sqrt(fmax(var, 0)) / mean : NAN;
}

/* The sway's reversal from the acceleration plane's (ra) and the rate
 * plane's (rg) least autocorrelation at the bounce, NaN where a plane has
 * no energy.  Either plane may carry it: the trunk's roll in trot is clear
 * on a gyro while its sideways sway can drown in the fore-aft surge, and an
 * accelerometer-only file has no roll at all.  The asymmetric gaits repeat
 * every bounce in both planes (acf > 0).  The lower of the two and their
 * mean. */
static double sway_side(double ra, double rg)
{
    double side = 0;
    int nside = 0;
    if (!isnan(ra)) {
        side += ra;
        nside++;
    }
    if (!isnan(rg)) {
        side += rg;
        nside++;
    }
    side = nside ? side / nside : 0;
    if (!isnan(ra) && ra < side) side = ra;
    if (!isnan(rg) && rg < side) side = rg;
    return side;
}

/* A 2-beat window is a trot, not a walk, when it shows a suspension, when
 * its stride is faster than any walk's (walk_max_hz), or when its trunk
 * moves harder than any walk's (walk_max_rms): a walk keeps two or three
 * hooves loaded and its trunk bounces by a tenth to a quarter of a g (1-2.5
 * m/s^2 RMS with the sway and surge; every walk window of both test
 * generators clear of a change of gait is under 3.5), a trot carries the
 * body on one diagonal at a time and bounces by most of a g even where its
 * stride is slow and its suspension too short to show (a tiring or
 * collected trot under 1.15 Hz: 4-4.7 m/s^2 on the harmonic generator,
 * read as walk by the stride alone).  Between the walk band's top (1.05
 * Hz) and the trot band's bottom (1.15) neither the stride nor the energy
 * alone decides, together they do: a stride there moving the trunk by more
 * than the top of a walk's range (walk_top_rms) is a slow, soft trot --
 * collected trots at 1.09-1.14 Hz and 2.8-3.5 m/s^2 on the harmonic
 * generator, while no walk window of either generator is there (walk
 * windows clear of a change: 99.9 % under 2.2 and 1.2 m/s^2). */
static int trot_by(const compute_window_result *r, int susp, const compute_params *p)
{
    return susp || r->stride_hz >= p->walk_max_hz || r->rms >= p->walk_max_rms ||
           (r->stride_hz >= p->walk_top_hz && r->rms >= p->walk_top_rms);
}

void compute_window_analyse(const double (*a)[3], const double (*g)[3], size_t n,
                            double fs, int bin, const compute_params *p, double *work,
                            compute_window_result *r)
{
    double ma[3] = { 0, 0, 0 };
    double *d = work, *v = work + 3 * n, *lat = work + 4 * n, *roll = work + 5 * n;
    double *fw = work + 6 * n, *pitch = work + 7 * n, *vw = work + 8 * n;
    double *vs = work + 9 * n;

    memset(r, 0, sizeof *r);
    r->gait = COMPUTE_HALT;
    r->sym_log = r->amp_a = r->amp_b = NAN;
    if (n < 4)
        return;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            ma[k] += a[i][k];
    for (int k = 0; k < 3; k++)
        ma[k] /= (double)n;
    double gn = sqrt(ma[0] * ma[0] + ma[1] * ma[1] + ma[2] * ma[2]);
    double u[3] = { 0, 0, 1 };
    if (gn > 1.0)
        for (int k = 0; k < 3; k++)
            u[k] = ma[k] / gn;
    /* forward: the sensor's x axis in the horizontal plane; left = up × forward */
    double f[3] = { 1 - u[0] * u[0], -u[0] * u[1], -u[0] * u[2] };
    double fl = sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
    if (fl < 0.3) {
        f[0] = -u[1] * u[0]; f[1] = 1 - u[1] * u[1]; f[2] = -u[1] * u[2];
        fl = sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
    }
    for (int k = 0; k < 3; k++)
        f[k] /= fl;
    double l[3] = { u[1] * f[2] - u[2] * f[1], u[2] * f[0] - u[0] * f[2], u[0] * f[1] - u[1] * f[0] };

    double yaw = 0, e3 = 0;
    for (size_t i = 0; i < n; i++) {
        double dd[3] = { a[i][0] - ma[0], a[i][1] - ma[1], a[i][2] - ma[2] };
        memcpy(d + 3 * i, dd, sizeof dd);
        v[i] = dd[0] * u[0] + dd[1] * u[1] + dd[2] * u[2];
        lat[i] = dd[0] * l[0] + dd[1] * l[1] + dd[2] * l[2];
        fw[i] = dd[0] * f[0] + dd[1] * f[1] + dd[2] * f[2];
        roll[i] = g[i][0] * f[0] + g[i][1] * f[1] + g[i][2] * f[2];
        pitch[i] = g[i][0] * l[0] + g[i][1] * l[1] + g[i][2] * l[2];
        yaw += g[i][0] * u[0] + g[i][1] * u[1] + g[i][2] * u[2];
        e3 += dd[0] * dd[0] + dd[1] * dd[1] + dd[2] * dd[2];
    }
    r->yaw_rate = yaw / (double)n;
    /* World vertical for the trot's step amplitudes.  On a circle the horse
     * leans in, so the mean specific force (u) is tilted from the vertical
     * by atan(v·ω/g) and u would mix the stride-frequency sideways sway into
     * one diagonal's steps.  The turn itself is a rotation about the world
     * vertical: the window's mean angular rate points along it.  Used when
     * the turn is clear (|ω| > 0.2 rad/s, a gyro bias of 0.02 then tilts it
     * by < 6°) and within 20° of u; else u. */
    double uv[3] = { u[0], u[1], u[2] }, mg[3] = { 0, 0, 0 };
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            mg[k] += g[i][k];
    double mgn = sqrt(mg[0] * mg[0] + mg[1] * mg[1] + mg[2] * mg[2]) / (double)n;
    /* what lead.c needs from every window: mean rate, up, rate covariance */
    for (int k = 0; k < 3; k++) {
        r->wmean[k] = mg[k] / (double)n;
        r->up[k] = u[k];
    }
    for (size_t i = 0; i < n; i++) {
        double e[3] = { g[i][0] - r->wmean[0], g[i][1] - r->wmean[1], g[i][2] - r->wmean[2] };
        r->wcov[0] += e[0] * e[0]; r->wcov[1] += e[1] * e[1]; r->wcov[2] += e[2] * e[2];
        r->wcov[3] += e[0] * e[1]; r->wcov[4] += e[0] * e[2]; r->wcov[5] += e[1] * e[2];
    }
    for (int k = 0; k < 6; k++)
        r->wcov[k] /= (double)n;
    if (fabs(r->yaw_rate) > 0.2 && mgn > 0 && fabs(r->yaw_rate) / mgn > cos(20 * M_PI / 180)) {
        double sg = r->yaw_rate > 0 ? 1 : -1;
        for (int k = 0; k < 3; k++)
            uv[k] = sg * mg[k] / (double)n / mgn;
    }
    for (size_t i = 0; i < n; i++)
        vw[i] = d[3 * i] * uv[0] + d[3 * i + 1] * uv[1] + d[3 * i + 2] * uv[2];
    e3 /= (double)n;
    r->rms = sqrt(e3);
    r->too_calm = r->rms < p->suspended_min_rms;
    size_t nsusp = 0;
    for (size_t i = 0; i < n; i++)
        nsusp += vw[i] < -p->susp_g * COMPUTE_G;
    r->suspension = (double)nsusp / (double)n;
    if (r->rms < p->halt_rms)
        return;
    /* roll and pitch rate without their means (turning tilts the trunk) */
    double mr = 0, mp = 0;
    for (size_t i = 0; i < n; i++) {
        mr += roll[i];
        mp += pitch[i];
    }
    mr /= (double)n;
    mp /= (double)n;
    for (size_t i = 0; i < n; i++) {
        roll[i] -= mr;
        pitch[i] -= mp;
    }

    /* A file at or under ~37 Hz is not averaged into 25 Hz bins (bin 1):
     * its noise reaches the analysis whole, where at 50 Hz two-sample bins
     * halve its power.  There the rates and, for the stride's regularity,
     * the acceleration (dr) go through the [1 2 1] filter first: white
     * noise's power x 0.375, while a 2 Hz walk bounce keeps 94 % of its
     * amplitude at 25 Hz (zero phase: the trot's roll phase and the lead
     * are unchanged).  On the footfall generator at 25 Hz, sessions
     * missing a target 39 -> 18 of 200 (accelerometer only 47 -> 24; at
     * 35 Hz 23 -> 7): a walk in 0.6-0.8 m/s^2 of noise read as halt. */
    const double *dr = d;
    double e3r = e3;
    if (bin <= 1) {
        double *t = work + 12 * n;
        memcpy(t, roll, n * sizeof *t);
        smooth121(t, roll, n);
        memcpy(t, pitch, n * sizeof *t);
        smooth121(t, pitch, n);
        e3r = smooth121_3(d, t, n);
        dr = t;
    }

    /* bounce period: first strong peak of the vertical acf */
    smooth121(v, vs, n);
    v = vs;
    double ev = energy(v, n);
    size_t kmin = (size_t)floor(fs / p->bounce_max_hz), kmax = (size_t)ceil(fs / p->bounce_min_hz);
    if (kmin < 1)
        kmin = 1;
    if (kmax > n / 2)
        kmax = n / 2;
    double rv[256];
    double best = -2;
    /* The peak search below reads rv[kmax + 1]: keep that inside rv.  fs is
     * the decimated rate (~25 Hz), so kmax is ~20 in practice; the cap only
     * guards the array if that ever changes. */
    if (kmax > 254)
        kmax = 254;
    for (size_t k = kmin - 1; k <= kmax + 1 && k < 256; k++) {
        rv[k] = acf(v, n, k, ev);
        if (k >= kmin && k <= kmax && rv[k] > best)
            best = rv[k];
    }
    size_t P = 0;
    for (size_t k = kmin; k <= kmax; k++) {
        /* rv[kmin - 1 .. kmax + 1] were all written above (kmax + 1 <= 255);
         * cppcheck assumes the fill loop may not run, but then neither does
         * this one (kmin > kmax) */
        // cppcheck-suppress uninitvar
        if (rv[k] >= rv[k - 1] && rv[k] >= rv[k + 1] && rv[k] >= 0.7 * best) {
            P = k;
            break;
        }
    }
    if (P == 0 || best <= p->rhythm_min) {
        /* Energy without a rhythm is not locomotion: a horse that stamps,
         * shifts its weight or tosses its head at a standstill.  Halt —
         * unless it lies between two gaits (timeline.c): a window that
         * holds half a canter and half a walk shows neither rhythm. */
        r->norhythm = 1;
        return;
    }
    double den = rv[P - 1] - 2 * rv[P] + rv[P + 1];
    double Pf = (double)P + (den < 0 ? 0.5 * (rv[P - 1] - rv[P + 1]) / den : 0);

    /* 2-beat (walk, trot) vs asymmetric (canter, gallop): in a 2-beat gait
     * the side sway (lateral acceleration, roll rate) reverses every bounce.
     * Taken as the least autocorrelation at lag P over all horizontal
     * directions, so a sensor turned about the vertical changes nothing. */
    double rg = min_dir_acf(roll, pitch, n, P, 1e-4);
    double side = sway_side(min_dir_acf(fw, lat, n, P, 0.01), rg);
    r->side = side;
    int two_beat = side < p->side_reversal;
    /* Suspension (a stretch of near free fall on the vertical) is what trot,
     * canter and gallop have and a walk never has: every walk stride keeps
     * two or three hooves loaded. */
    int susp = r->suspension >= p->susp_share;
    /* No horse canters or gallops at more than asym_max_hz strides a second
     * (a racehorse's gallop is ~2.4 Hz): a faster "asymmetric" bounce is a
     * 2-beat gait whose sideways reversal the window did not show.  Nor
     * without suspension: a bounce that barely repeats and never comes near
     * free fall is a walk's half stride whose small sway drowned in noise. */
    if (!two_beat && 2 * Pf <= (double)n - 4 &&
        (fs / Pf > p->asym_max_hz || (!susp && acf3_at(dr, n, Pf, e3r) < p->nosusp_asym_min_acf)))
        two_beat = 1;
    double T0 = two_beat ? 2 * Pf : Pf;
    if (T0 > (double)n - 4)
        T0 = Pf;
    double rT;
    double T = refine_peak(dr, n, T0, e3r, &rT), T2 = 0;
    if (rT < 0)
        rT = 0;
    if (rT > 1)
        rT = 1;
    r->regularity = 10 * rT;
    r->stride_hz = fs / T;
    /* With the rate channels, a rhythm also shows in the rotation: a
     * walking or trotting trunk rolls and pitches with every stride, and
     * the sway of a 2-beat gait reverses every step.  A window whose
     * vertical barely repeats (under nosusp_asym_min_acf), whose sway does
     * not reverse and whose rotation does not repeat at the stride either
     * (under gyro_rhythm_min) is no gait: a horse stamping, shifting its
     * weight or tossing its head at a standstill — as a window without any
     * rhythm, halt unless it lies between two gaits (timeline.c).  Noise
     * at 50 Hz and 0.65 m/s^2 made such windows look like a slow walk in
     * the vertical alone (a restless halt read as 10-20 s of walk). */
    /* Without the rate channels (and with them too) the acceleration tells
     * fidgeting by how it comes: in bursts, where a gait's energy is the
     * same every half stride (burst_cv; burst_max_cv).  On the footfall
     * generator's weakly rhythmic windows (regularity under 3) a restless
     * halt's scatter was 0.45 at the median and a walk's 0.2, 0.34 at its
     * 95th percentile. */
    if (rT < p->nosusp_asym_min_acf && side > p->side_reversal &&
        (rotation_repeat(roll, pitch, n, (size_t)lround(T)) < p->gyro_rhythm_min ||
         burst_cv(dr, n, (size_t)lround(T / 2)) > p->burst_max_cv)) {
        r->norhythm = 1;
        r->regularity = 0;
        r->stride_hz = 0;
        r->side = 0;
        return;
    }
    /* Weak evidence: the stride barely repeats (noise or fidgeting makes up
     * most of the energy) and the sway shows no clear reversal.  The class
     * below is then a guess; aggregate.c decides such windows from their
     * neighbours (docs/compute.md "unclassified"). */
    r->weak = rT < p->weak_regularity && side > p->clear_reversal;
    if (r->weak) {
        /* The reversal read again on the sway through the [1 2 1] filter
         * (it is at the bounce, 1.4-3.4 Hz): in 0.8 m/s^2 of noise a walk's
         * sideways sway drowns.  aggregate.c takes a clear one only when
         * the window has more energy than the sensor's noise: filtered
         * noise reverses "clearly" now and then at a random lag. */
        double *fws = work + 10 * n, *lats = work + 11 * n;
        smooth121(fw, fws, n);
        smooth121(lat, lats, n);
        r->sway_clear = sway_side(min_dir_acf(fws, lats, n, P, 0.01), rg) <= p->clear_reversal;
    }

    if (two_beat) {
        /* trot has suspension, walk none; a low-energy (collected) trot
         * whose suspension the sensor does not show is told by its stride,
         * faster than any walk's, or by its bounce, harder than any
         * walk's (trot_by) */
        r->gait = trot_by(r, susp, p) ? COMPUTE_TROT : COMPUTE_WALK;
    } else {
        /* 3-beat canter or 4-beat gallop.  In canter the diagonal pair lands
         * between the outside hind and the leading fore: one broad vertical
         * push per stride.  In gallop the hind pair and then the fore pair
         * land apart: two pushes per stride, so the stride's second harmonic
         * of the vertical rivals its first.  Stride frequencies overlap
         * (canter 1.4-2.0 Hz, gallop from 1.9), so the frequency decides
         * only above the canter's range. */
        double h1r, h1i, h2r, h2i;
        size_t strides = (size_t)floor((double)n / T);
        size_t nu = strides ? (size_t)lround((double)strides * T) : n;
        if (nu > n)
            nu = n;
        compute_harmonic(vw, nu, T, 1, &h1r, &h1i);
        compute_harmonic(vw, nu, T, 2, &h2r, &h2i);
        double h1 = hypot(h1r, h1i), h2 = hypot(h2r, h2i);
        int two_push = h2 >= p->gallop_h2_ratio * h1;
        if (!two_push && r->stride_hz > p->canter_max_hz && 2 * Pf <= (double)n - 4) {
            /* one push per stride, faster than any canter, and not the two
             * pushes of a gallop: a 2-beat gait (a collected trot's weak
             * roll) whose bounce is half its stride */
            T = refine_peak(dr, n, 2 * Pf, e3r, &rT);
            if (rT < 0) rT = 0;
            if (rT > 1) rT = 1;
            r->regularity = 10 * rT;
            r->stride_hz = fs / T;
            r->gait = trot_by(r, susp, p) ? COMPUTE_TROT : COMPUTE_WALK;
        } else {
            r->gait = (two_push || r->stride_hz >= p->gallop_min_hz) ? COMPUTE_GALLOP : COMPUTE_CANTER;
            if (r->gait == COMPUTE_GALLOP && !two_push && 2 * Pf <= (double)n - 4) {
                /* a gallop by its frequency alone: one push per stride
                 * between gallop_min_hz and canter_max_hz is also the
                 * bounce of a trot at half that stride (a tiring trot
                 * drifting under 1.15 Hz) whose sway reversal the window
                 * did not show.  Its trot reading is kept beside it; the
                 * timeline (timeline.c) takes it when a trot at that
                 * stride is next to it: no horse doubles its stride
                 * frequency from one window to the next */
                double rT2;
                T2 = refine_peak(dr, n, 2 * Pf, e3r, &rT2);
                r->alt_hz = fs / T2;
                r->alt_regularity = 10 * fmin(fmax(rT2, 0), 1);
            }
        }
    }

    /* Trot, canter and gallop carry the body on two limbs or fewer with a
     * suspension (or nearly one) every step or stride: the trunk's vertical
     * swings through most of a g, a dynamic RMS of 2.8 m/s^2 and more even
     * in a collected trot (both test generators, windows clear of a change
     * of gait).  A window read as one of them with under
     * suspended_min_rms is fidgeting at a halt whose bursts happened to
     * repeat (a stamp, a shake every half second): no gait, a halt unless
     * it lies between two gaits (timeline.c).  Walks (1-2 m/s^2) are not
     * judged by it. */
    if (r->gait >= COMPUTE_TROT && r->too_calm) {
        if (r->weak) {
            r->sway_clear = 0; /* left to its neighbours; a clear sway must not make it strong */
        } else {
            r->gait = COMPUTE_HALT;
            r->norhythm = 1;
            r->regularity = 0;
            r->stride_hz = 0;
            r->alt_hz = 0;
            r->side = 0;
            return;
        }
    }

    /* the trot's fields also for a trot reading kept beside the gait */
    double Tt = r->gait == COMPUTE_TROT ? T : T2;
    if (r->gait == COMPUTE_TROT || r->alt_hz > 0)
        r->sym_log = compute_trot_symmetry(vw, roll, pitch, n, Tt, bin, &r->amp_a, &r->amp_b,
                                           r->sym_dir);
    /* the symmetric gaits show the fore-aft axis (lead.c) */
    if (r->gait == COMPUTE_WALK || r->gait == COMPUTE_TROT || r->alt_hz > 0) {
        const double zero[3] = { 0, 0, 0 };
        double Th = r->gait == COMPUTE_WALK ? T : Tt;
        compute_lead_halflag(d, zero, n, u, Th / 2, 0.01, r->alag);
        compute_lead_halflag(&g[0][0], r->wmean, n, u, Th / 2, 1e-4, r->glag);
    }
    /* lead in the frame of the sensor's x axis (forward or backward);
     * lead.c redoes it in the frame the session's circles show */
    if (r->gait == COMPUTE_CANTER)
        r->lead = compute_lead_sign(r->wcov, f, l);
}
