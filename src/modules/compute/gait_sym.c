/*
 * gait_sym.c — stride harmonics of one window: the Fourier coefficient of
 * a stride harmonic, and the trot's diagonal step amplitudes from a
 * least-squares harmonic template of the vertical acceleration.
 * Definitions: docs/compute.md "aggregate" (trot symmetry).
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "compute-internal.h"

/* Fourier coefficient of x at frequency k/T (T in samples) over n samples. */
void compute_harmonic(const double *x, size_t n, double T, int k, double *re, double *im)
{
    /* e^{-iwt} by rotation, renormalised every 64 steps */
    double sr = 0, si = 0, w = 2 * M_PI * k / T;
    double cw = cos(w), sw = sin(w), c = 1, s = 0;
    for (size_t i = 0; i < n; i++) {
        sr += x[i] * c;
        si -= x[i] * s;
        double nc = c * cw - s * sw;
        s = s * cw + c * sw;
        c = nc;
        if ((i & 63) == 63) {
            double r = 1.0 / sqrt(c * c + s * s);
            c *= r;
            s *= r;
        }
    }
    *re = 2 * sr / (double)n;
    *im = 2 * si / (double)n;
}

static double cs[200][2];
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

static void cs_init(void)
{
    for (int j = 0; j < 200; j++) {
        cs[j][0] = cos(2 * M_PI * j / 200.0);
        cs[j][1] = sin(2 * M_PI * j / 200.0);
    }
}

/* Peak ratio of the two half-strides of the vertical template. */
#define SYM_K 6 /* harmonics of the stride in the trot template */

/* Least-squares fit of x[i] ≈ c + Σk a_k cos(k w i) + b_k sin(k w i),
 * w = 2π/T, k = 1..SYM_K; exact for any window length (a DFT leaks when
 * the window is not a whole number of strides).  0, or -1 if singular. */
static int fit_harmonics(const double *x, size_t n, double T, double *a, double *b)
{
    enum { M = 2 * SYM_K + 1 };
    double A[M][M + 1];
    double w = 2 * M_PI / T, cw = cos(w), sw = sin(w), c1 = 1, s1 = 0;

    memset(A, 0, sizeof A);
    for (size_t i = 0; i < n; i++) {
        double phi[M], ck[SYM_K + 1], sk[SYM_K + 1];
        ck[0] = 1; sk[0] = 0; ck[1] = c1; sk[1] = s1;
        for (int k = 2; k <= SYM_K; k++) {
            ck[k] = 2 * c1 * ck[k - 1] - ck[k - 2];
            sk[k] = 2 * c1 * sk[k - 1] - sk[k - 2];
        }
        phi[0] = 1;
        for (int k = 1; k <= SYM_K; k++) {
            phi[2 * k - 1] = ck[k];
            phi[2 * k] = sk[k];
        }
        for (int r = 0; r < M; r++) {
            for (int c = r; c < M; c++)
                A[r][c] += phi[r] * phi[c];
            A[r][M] += phi[r] * x[i];
        }
        double nc = c1 * cw - s1 * sw;
        s1 = s1 * cw + c1 * sw;
        c1 = nc;
    }
    for (int r = 0; r < M; r++)
        for (int c = 0; c < r; c++)
            A[r][c] = A[c][r];
    for (int c = 0; c < M; c++) {
        int p = c;
        for (int r = c + 1; r < M; r++)
            if (fabs(A[r][c]) > fabs(A[p][c]))
                p = r;
        if (fabs(A[p][c]) < 1e-9)
            return -1;
        if (p != c)
            for (int k = 0; k <= M; k++) {
                double t = A[c][k];
                A[c][k] = A[p][k];
                A[p][k] = t;
            }
        for (int r = c + 1; r < M; r++) {
            double f = A[r][c] / A[c][c];
            for (int k = c; k <= M; k++)
                A[r][k] -= f * A[c][k];
        }
    }
    double sol[M] = {0};   /* zeroed for cppcheck: back substitution writes sol[k] before it reads it */
    for (int r = M - 1; r >= 0; r--) {
        double s = A[r][M];
        for (int k = r + 1; k < M; k++)
            s -= A[r][k] * sol[k];
        sol[r] = s / A[r][r];
    }
    for (int k = 1; k <= SYM_K; k++) {
        a[k] = sol[2 * k - 1];
        b[k] = sol[2 * k];
    }
    return 0;
}

/* Signed log ratio of the two diagonal steps, ln(pA / pB): pA is the
 * vertical-acceleration peak after which the trunk rolls positive (the
 * roll rate's stride component a quarter stride later), pB the peak half a
 * stride away.  The sign names the diagonal consistently across windows,
 * so averaging cancels noise instead of piling up min/max bias.  Without a
 * usable roll signal the larger peak is pA (always >= 0, biased). */
/* peak-to-trough of the template from the peak at j0: the peak minus the
 * lowest point of the half stride that follows it (the step's suspension) */
static double step_amp(const double *tpl, int j0)
{
    double lo = tpl[j0];
    for (int j = 1; j <= 100; j++)
        if (tpl[(j0 + j) % 200] < lo)
            lo = tpl[(j0 + j) % 200];
    return tpl[j0] - lo;
}

/* The decimator's bin is the mean of bin samples 1/bin of a decimated
 * sample apart: it passes harmonic k of a stride of T decimated samples
 * with gain sin(πk/T) / (bin·sin(πk/(T·bin))) (1 for bin 1, → sinc).  At
 * 25 Hz that is 0.83 for the 6th harmonic of a 1.4 Hz trot: the template
 * would flatten the sharp peaks, and a posting rider's effect, which adds
 * to one diagonal's peak only, read ~1.3× its size against the peaks at
 * the source rate.  Undone per harmonic. */
static double bin_gain(int k, double T, int bin)
{
    if (bin <= 1)
        return 1;
    double x = M_PI * k / T;
    return sin(x) / ((double)bin * sin(x / bin));
}

double compute_trot_symmetry(const double *v, const double *roll, const double *pitch,
                            size_t n, double T, int bin, double *amp_a, double *amp_b,
                            double dir[2])
{
    double re[SYM_K + 1], im[SYM_K + 1], sn[SYM_K + 1];
    *amp_a = *amp_b = NAN;
    dir[0] = dir[1] = 0;
    if ((double)n < 2 * T || T < 2 * SYM_K + 1)
        return NAN;
    if (fit_harmonics(v, n, T, re, sn) < 0)
        return NAN;
    for (int k = 1; k <= SYM_K; k++) {
        double gk = bin_gain(k, T, bin);
        re[k] /= gk;
        im[k] = -sn[k] / gk;
    }
    pthread_once(&cs_once, cs_init);
    double tpl[200];
    int imax = 0;
    for (int j = 0; j < 200; j++) {
        double s = 0;
        for (int k = 1; k <= SYM_K; k++) {
            int q = (k * j) % 200;
            s += re[k] * cs[q][0] - im[k] * cs[q][1];
        }
        tpl[j] = s;
        if (s > tpl[imax])
            imax = j;
    }
    double p2 = -1e300;
    int i2 = imax;
    for (int j = -30; j <= 30; j++) {
        int q = (imax + 100 + j + 200) % 200;
        if (tpl[q] > p2) {
            p2 = tpl[q];
            i2 = q;
        }
    }
    /* each diagonal step's A = peak-to-trough vertical acceleration */
    double a1 = step_amp(tpl, imax), a2 = step_amp(tpl, i2);
    if (a1 <= 0 || a2 <= 0)
        return NAN;
    double lr = log(a1 / a2);
    /* the horizontal rate axis carrying the stride frequency (roll when the
     * sensor's x points forward; any axis when it is turned about z), its
     * sign fixed by the sensor frame so it is the same in every window */
    /* over whole strides (n >= 2T here): over a fraction of one the
     * step's strong rocking leaks into the stride's harmonic and would
     * pass for a roll once that rocking is left out of the yardstick */
    size_t nn = (size_t)lround(floor((double)n / T) * T);
    if (nn > n)
        nn = n;
    double xr, xi, yr, yi, er = 0;
    for (size_t i = 0; i < nn; i++)
        er += roll[i] * roll[i] + pitch[i] * pitch[i];
    compute_harmonic(roll, nn, T, 1, &xr, &xi);
    compute_harmonic(pitch, nn, T, 1, &yr, &yi);
    double m11 = xr * xr + xi * xi, m22 = yr * yr + yi * yi, m12 = xr * yr + xi * yi;
    double th = 0.5 * atan2(2 * m12, m11 - m22), e1 = cos(th), e2 = sin(th);
    if (e1 + 0.5 * e2 < 0) {
        e1 = -e1;
        e2 = -e2;
    }
    double rr = e1 * xr + e2 * yr, ri = e1 * xi + e2 * yi;
    double amp = sqrt(rr * rr + ri * ri);
    /* The pitch (and roll) at the step, twice a stride, is the 2-beat
     * bounce's own rocking and the same for both diagonals: it says
     * nothing about which is which, so it is not counted against the
     * stride's roll.  A trunk that rocks hard at every step and rolls
     * gently once a stride (most of the trot's rotation is pitch) still
     * names its diagonals by that roll. */
    double x2r, x2i, y2r, y2i;
    compute_harmonic(roll, nn, T, 2, &x2r, &x2i);
    compute_harmonic(pitch, nn, T, 2, &y2r, &y2i);
    er -= (double)nn * (x2r * x2r + x2i * x2i + y2r * y2r + y2i * y2i) / 2;
    int named = 1;
    if (!(er <= 0 || amp * amp / 2 < 0.2 * er / (double)nn)) {
        /* roll fundamental a quarter stride after the larger peak, on each
         * rate axis and on the stride's axis */
        int q = (imax + 50) % 200;
        double vx = xr * cs[q][0] - xi * cs[q][1], vy = yr * cs[q][0] - yi * cs[q][1];
        double after = e1 * vx + e2 * vy;
        named = after >= 0;
        dir[0] = named ? vx : -vx;
        dir[1] = named ? vy : -vy;
    }
    *amp_a = named ? a1 : a2;
    *amp_b = named ? a2 : a1;
    return named ? lr : -lr;
}
