/*
 * footfall_truth.h — reading the footfall generator's trot truth
 * (footfall.h's ff_truth): each rein's diagonal asymmetry by the issue's
 * definition (means first), the same over the posting steps, the session
 * value, and the truth as a 100 Hz logger shows it (ff_truth_band20).
 * Split from the generator so a test that does not judge symmetry does not
 * carry them.
 */
#ifndef COMPUTE_TESTS_FOOTFALL_TRUTH_H
#define COMPUTE_TESTS_FOOTFALL_TRUTH_H

#include "footfall.h"

/* 100·(A_L − A_R) / mean(A_L, A_R) over the means of each diagonal's step
 * amplitudes (sums A, counts N) of rein group r into *signed_out; returns
 * its size, −1 if either diagonal has fewer than two steps there. */
static inline double ff_asym_of(const double A[3][2], const long N[3][2], int r,
                                double *signed_out)
{
    if (N[r][0] < 2 || N[r][1] < 2)
        return -1;
    double al = A[r][0] / N[r][0], ar = A[r][1] / N[r][1];
    double s = 100 * (al - ar) / ((al + ar) / 2);
    if (signed_out)
        *signed_out = s;
    return fabs(s);
}

/* Asymmetry (%) of one rein group from the truth, −1 if no trot there. */
static inline double ff_rein_asym(const ff_truth *tr, int r, double *signed_out)
{
    return ff_asym_of(tr->diagA, tr->diagN, r, signed_out);
}

/* The same over the posting steps only (rising trot), −1 if none there. */
static inline double ff_rising_asym(const ff_truth *tr, int r, double *signed_out)
{
    return ff_asym_of(tr->riseA, tr->riseN, r, signed_out);
}

/* The truth as a 100 Hz logger would show it: tr with the step amplitudes
 * of the 20 ms moving average in place of the 1 kHz ones. */
static inline ff_truth ff_truth_band20(const ff_truth *tr)
{
    ff_truth b = *tr;
    memcpy(b.diagA, tr->diagA20, sizeof b.diagA);
    memcpy(b.riseA, tr->riseA20, sizeof b.riseA);
    return b;
}

/* Session trot symmetry %: 100 − trot-time-weighted mean of the reins' asymmetries. */
static inline double ff_session_symmetry(const ff_truth *tr)
{
    double st = 0, sa = 0;
    for (int r = 0; r < 3; r++) {
        double a = ff_rein_asym(tr, r, NULL);
        if (a < 0)
            continue;
        sa += a * tr->trot_t[r];
        st += tr->trot_t[r];
    }
    return st > 0 ? 100 - sa / st : -1;
}

#endif /* COMPUTE_TESTS_FOOTFALL_TRUTH_H */
