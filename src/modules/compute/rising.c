/*
 * rising.c — rising (posting) trot from the session's trot windows.
 *
 * Physics.  In rising trot the rider sits through one diagonal's stance and
 * stands in the stirrups through the other's, so the rider's load on the
 * trunk alternates from step to step: a component at the stride frequency
 * (half the step frequency) that makes the two diagonals' steps differ, on
 * top of whatever difference the horse's own gait has.  A lame horse's
 * difference has the same form, so one stretch of trot cannot tell them
 * apart.  What lameness does not do is change diagonal: the weaker limb is
 * the same limb all session.  A rider does — at a change of rein, and
 * whenever they sit one step twice.  So rising trot is read from that
 * structure, never from the size of one stretch's asymmetry:
 *
 *   1. each trot window's signed diagonal asymmetry s = 100·(a − b)/mean
 *      (the diagonals named by the trunk's roll, stable across windows),
 *      smoothed by a running median over rising_smooth_s of continuous trot;
 *   2. three states: the horse alone at its own asymmetry L, and the rider
 *      sitting on one diagonal or the other, L ± P; L is the midpoint of
 *      the two posting states (seeded by a two-centre split of the smoothed
 *      values) and each window takes the nearest state;
 *   3. runs of continuous trot in one posting state; a run is evidence
 *      when it lasts rising_min_s and its own asymmetry (means first)
 *      departs from L by rising_min_asym_pct;
 *   4. rising trot is shown only when such runs exist on both sides of L,
 *      each side for rising_min_s, and the weaker diagonal really changes
 *      (one side's mean asymmetry at least rising_min_asym_pct / 2 above 0,
 *      the other's as far below).  Then L and P are re-estimated from the
 *      two sides and 3-4 repeat.  Else everything is sitting trot: weak
 *      evidence is never called rising.
 *
 * Docs: docs/compute.md "rising trot".  Heuristic: the thresholds are
 * options (compute_params), defaults argued there, not fitted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"

#define TL_MAX_WIN 65536 /* 36 h of trot in 2 s windows; later ones count as sitting */
#define SMOOTH_MAX 64

int compute_trotlog_add(compute_trotlog *l, double t0, double dur, int rein, double a, double b)
{
    if (l->n == l->cap) {
        if (l->cap >= TL_MAX_WIN)
            return 0;
        size_t nc = l->cap ? l->cap * 2 : 256;
        compute_trotwin *nw = realloc(l->w, nc * sizeof *nw);
        if (!nw)
            return -1;
        l->w = nw;
        l->cap = nc;
    }
    l->w[l->n++] = (compute_trotwin){ t0, dur, a, b, (signed char)rein };
    return 0;
}

void compute_trotlog_free(compute_trotlog *l)
{
    free(l->w);
    memset(l, 0, sizeof *l);
}

static double wasym(const compute_trotwin *w)
{
    return 100.0 * (w->a - w->b) / ((w->a + w->b) / 2);
}

/* w[i] follows w[i-1] without a break (windows tile a bout) */
static int joined(const compute_trotwin *w, size_t i)
{
    return i > 0 && w[i].t0 - (w[i - 1].t0 + w[i - 1].dur) < 0.5;
}

static int cmpd(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Running median of the windows' asymmetries over ±half s of continuous trot. */
static void smooth(const compute_trotwin *w, size_t n, double half, double *sm)
{
    size_t b0 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!joined(w, i))
            b0 = i;
        double buf[SMOOTH_MAX];
        int k = 0;
        double ti = w[i].t0 + w[i].dur / 2;
        for (size_t j = i; j >= b0 && k < SMOOTH_MAX / 2; j--) {
            if (ti - (w[j].t0 + w[j].dur / 2) > half)
                break;
            buf[k++] = wasym(&w[j]);
            if (j == 0)
                break;
        }
        for (size_t j = i + 1; j < n && joined(w, j) && k < SMOOTH_MAX; j++) {
            if (w[j].t0 + w[j].dur / 2 - ti > half)
                break;
            buf[k++] = wasym(&w[j]);
        }
        qsort(buf, (size_t)k, sizeof *buf, cmpd);
        sm[i] = k % 2 ? buf[k / 2] : (buf[k / 2 - 1] + buf[k / 2]) / 2;
    }
}

/* Two-centre split of the smoothed values (time-weighted 1-D k-means): the
 * first guess of the two posting states, *lo and *hi. */
static void split(const compute_trotwin *w, const double *sm, size_t n, double *plo, double *phi)
{
    double lo = sm[0], hi = sm[0];
    for (size_t i = 1; i < n; i++) {
        if (sm[i] < lo) lo = sm[i];
        if (sm[i] > hi) hi = sm[i];
    }
    for (int it = 0; it < 30; it++) {
        double mid = (lo + hi) / 2, s0 = 0, t0 = 0, s1 = 0, t1 = 0;
        for (size_t i = 0; i < n; i++) {
            if (sm[i] < mid) { s0 += sm[i] * w[i].dur; t0 += w[i].dur; }
            else { s1 += sm[i] * w[i].dur; t1 += w[i].dur; }
        }
        if (t0 <= 0 || t1 <= 0)
            break;
        double nlo = s0 / t0, nhi = s1 / t1;
        if (fabs(nlo - lo) < 1e-6 && fabs(nhi - hi) < 1e-6)
            break;
        lo = nlo;
        hi = nhi;
    }
    *plo = lo;
    *phi = hi;
}

/* Three states: the horse alone (L) and the rider sitting on either
 * diagonal (L - P, L + P); each window takes the nearest.  Runs of
 * continuous trot in one state: a run in a posting state is evidence when
 * it lasts rising_min_s and its own asymmetry (means first) departs from L
 * by rising_min_asym_pct on its side.  Marks each window with its run's
 * verdict (+1 / -1, 0 none) and sums each side's evidence (time-weighted
 * asymmetry and time; [0] below L, [1] above). */
static void runs(const compute_trotwin *w, const double *sm, size_t n, double L, double P,
                 const compute_params *p, signed char *mark, double side_s[2], double side_t[2])
{
    side_s[0] = side_s[1] = side_t[0] = side_t[1] = 0;
    size_t i = 0;
#define STATE(x) ((x) >= L + P / 2 ? 1 : (x) <= L - P / 2 ? -1 : 0)
    while (i < n) {
        int sg = STATE(sm[i]);
        size_t j = i + 1;
        while (j < n && joined(w, j) && STATE(sm[j]) == sg)
            j++;
        double A = 0, B = 0, T = 0;
        for (size_t k = i; k < j; k++) {
            A += w[k].a * w[k].dur;
            B += w[k].b * w[k].dur;
            T += w[k].dur;
        }
        signed char v = 0;
        if (sg != 0 && T >= p->rising_min_s && A + B > 0) {
            double as = 100.0 * (A - B) / ((A + B) / 2);
            if (fabs(as - L) >= p->rising_min_asym_pct && (as > L ? 1 : -1) == sg) {
                v = (signed char)sg;
                side_s[sg > 0] += as * T;
                side_t[sg > 0] += T;
            }
        }
        for (size_t k = i; k < j; k++)
            mark[k] = v;
        i = j;
    }
#undef STATE
}

int compute_rising_detect(const compute_trotwin *w, size_t n, const compute_params *p,
                          unsigned char *rising, double *horse_asym)
{
    memset(rising, 0, n);
    *horse_asym = NAN;
    if (n < 2)
        return 0;
    double *sm = malloc(n * sizeof *sm);
    signed char *mark = malloc(n);
    if (!sm || !mark) {
        free(sm);
        free(mark);
        return KEEL_ENOMEM;
    }
    smooth(w, n, p->rising_smooth_s / 2, sm);
    double lo, hi, side_s[2], side_t[2];
    split(w, sm, n, &lo, &hi);
    double L = (lo + hi) / 2, P = (hi - lo) / 2;
    int shown = 0;
    for (int it = 0; it < 8; it++) {
        runs(w, sm, n, L, P, p, mark, side_s, side_t);
        shown = side_t[0] >= p->rising_min_s && side_t[1] >= p->rising_min_s;
        if (!shown)
            break;
        double mp = side_s[1] / side_t[1], mn = side_s[0] / side_t[0];
        /* the weaker diagonal must change, clearly (each state at least
         * half the threshold on its own side of 0): lameness never does
         * that, and a horse sound on one rein and lame on the other (one
         * state near 0) must not pass for it */
        double m = p->rising_min_asym_pct / 2;
        if (!(mp >= m && mn <= -m)) {
            shown = 0;
            break;
        }
        double nl = (mp + mn) / 2, np = (mp - mn) / 2;
        if (fabs(nl - L) < 0.05 && fabs(np - P) < 0.05)
            break;
        L = nl;
        P = np;
    }
    int changes = 0;
    if (shown) {
        *horse_asym = L;
        int last = 0;
        for (size_t i = 0; i < n; i++) {
            int m = mark[i] > 0 ? 1 : mark[i] < 0 ? -1 : 0;
            rising[i] = m != 0;
            if (m && last && m != last)
                changes++;
            if (m)
                last = m;
        }
    }
    free(sm);
    free(mark);
    return changes;
}
