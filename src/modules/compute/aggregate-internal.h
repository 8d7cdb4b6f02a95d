/*
 * aggregate-internal.h — the aggregation stream's state, shared by
 * aggregate.c (windowing, attribution, totals) and aggregate_detect.c
 * (unit detection, sample-rate checks, window sizing).
 */
#ifndef KEEL_COMPUTE_AGGREGATE_INTERNAL_H
#define KEEL_COMPUTE_AGGREGATE_INTERNAL_H

#include "compute-internal.h"

#define DETECT_ROWS 8192
#define DECIM_HZ 25.0
#define WIN_S 4.0
#define GAP_FACTOR 2.5
#define BRIDGE_MAX_S 1.0 /* shorter gaps are bridged; longer ones end a segment */
#define GRAV_TAU_S 2.0
#define MIN_RATE_HZ 5.0
#define MAX_RATE_HZ 5000.0
/* stride-frequency histogram for the per-gait (time-weighted) median */
#define HIST_LO 0.3
#define HIST_STEP 0.005
#define HIST_BINS 640
#define BIAS_TAU_S 20.0 /* the yaw bias follows the last ~20 s of halt */

struct compute_agg {
    compute_options opt;
    compute_unit hint_t, hint_a, hint_g;
    /* detection phase */
    double (*buf)[COMPUTE_NCOLS];
    size_t nbuf;
    int detected;
    int bad_rate;                /* nominal rate outside MIN..MAX_RATE_HZ: nothing sized */
    /* raw row bookkeeping */
    int have_last;
    double last_traw, t0raw;
    double hold[COMPUTE_NCOLS];
    int have_hold;
    long long samples, dropped, nonmono, nan_cells;
    /* units */
    double tscale, ascale, gscale, period, alpha;
    double median_step;          /* in input time units */
    const char *tu, *au, *gu;
    const char *tsrc, *asrc, *gsrc;
    /* stream */
    int have_prev;
    double t_prev, seg_start, range_start;
    long long gaps;
    double gap_s;
    compute_jumpdet jd;
    size_t njumps;
    compute_jump jumps[COMPUTE_MAX_JUMPS];
    double grav[3];
    double dba_sum, load;
    long long dba_n;
    /* decimation and window */
    int D, dcount;
    long long bin;               /* index of the time bin being filled */
    double dsum[COMPUTE_NCOLS], last_m[COMPUTE_NCOLS];
    double fs;
    size_t N, S, wn, assigned;
    double *wt;
    double (*wa)[3], (*wg)[3];
    double *work;
    int seg_windows, have_res;
    compute_window_result res;
    /* totals */
    compute_tl tl;               /* windows waiting for their neighbours */
    double gait_t[COMPUTE_NGAITS], gait_r[COMPUTE_NGAITS];
    double gait_rt[COMPUTE_NGAITS]; /* time behind gait_r (not inherited) */
    double unclass_t;
    double yaw_bias, bias_t;     /* gyro bias about the vertical from halts */
    float hist[COMPUTE_NGAITS][HIST_BINS];
    double rein_l, rein_r, rein_s, lead_l, lead_r;
    /* trot symmetry per rein (0 left, 1 right, 2 straight): time-weighted
     * sums of each diagonal's step amplitude, and the trot time they cover */
    double sym_a[3], sym_b[3], sym_t[3];
};

/* Decides units and the nominal sample period from the g->nbuf held rows,
 * checks the rate (out of range sets g->bad_rate and empties the buffer),
 * and sizes the window buffers.  Does not replay the held rows: the caller
 * does, when it returns 0 and g->bad_rate is not set.  KEEL_ENOMEM on
 * allocation failure (g->detected left 0). */
int compute_agg_detect(compute_agg *g);

#endif
