/*
 * aggregate-internal.h — the aggregation stream's state, shared by
 * aggregate.c (windowing, attribution, totals) and aggregate_detect.c
 * (unit detection, sample-rate checks, window sizing).
 */
#ifndef KEEL_COMPUTE_AGGREGATE_INTERNAL_H
#define KEEL_COMPUTE_AGGREGATE_INTERNAL_H

#include "compute-internal.h"

#define DETECT_ROWS 8192
#define LINEAR_HOLD_MAX 131072  /* rows held for the linear vertical (7.6 MB) */
#define LINEAR_CHECK_ROWS 4096  /* every this many held rows: is it known? */
/* No sensor on a horse reads beyond ±200 g or ±4000 °/s (the widest IMU
 * ranges; a trunk's impacts stay under 10 g, its turns under 6 rad/s): a
 * cell past that is corrupt (aggregate_rows.c holds it like a NaN).  In SI
 * units, and the most any input unit can write (mg, °/s) for detection. */
#define ACC_RANGE_MS2 2000.0
#define RATE_RANGE_RADS 70.0
#define ACC_RAW_MAX (ACC_RANGE_MS2 / COMPUTE_G * 1000.0)
#define RATE_RAW_MAX (RATE_RANGE_RADS * 180.0 / M_PI)
#define DECIM_HZ 25.0
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
/* a step back by more than this many typical steps, then continuing from
 * there, is a clock reset (a new run); a smaller one is an out-of-order row */
#define RESET_STEPS 20.0
/* held-row flags (compute_agg.bufmask): bit k (1..6) the cell was NaN, bit
 * 8 + k there was no earlier value to hold, ROW_NEW_RUN a clock reset */
#define ROW_NOVAL(k) (1u << (8 + (k)))
#define ROW_NEW_RUN (1u << 15)

/* The declipping delay line (declip.c): rows in input units on their way
 * from admit to compute_agg_process. */
#define COMPUTE_DECLIP_DELAY 256  /* a power of two: the context before, the longest run drawn, the context after */
#define COMPUTE_DECLIP_CTX 2      /* unclipped samples on each side the curve goes through */
typedef struct compute_declip_row {
    double r[COMPUTE_NCOLS];
    unsigned char gmiss, new_run;
    unsigned char held, fixed;   /* bit k (1..3): acceleration cell k held (empty) / drawn */
} compute_declip_row;
typedef struct compute_declip {
    compute_declip_row q[COMPUTE_DECLIP_DELAY]; /* the rows sent on last, then those waiting */
    size_t head, n;              /* the front's slot, rows waiting */
    int nprev;                   /* rows sent on behind the front that are its context */
    double thr, span;            /* a rail's least |value|, a run's longest span: input units */
    size_t max_run;              /* the longest run drawn, samples at the nominal rate */
    long long samples;           /* samples drawn */
} compute_declip;

struct compute_agg {
    compute_options opt;         /* opt.params is NULL: P holds them */
    compute_params P;            /* the thresholds (the options) */
    compute_window_cb on_window; /* per-window output, or NULL */
    void *on_window_arg;
    compute_sample_cb on_sample; /* per-sample vertical (trace.c), or NULL */
    void *on_sample_arg;
    int no_gyro;
    int time_text;    /* time cells were dates/times: seconds, decided by the text */
    compute_unit hint_t, hint_a, hint_g;
    /* detection phase */
    double (*buf)[COMPUTE_NCOLS];
    unsigned short *bufmask;     /* ROW_* flags of each held row */
    size_t nbuf, capbuf;
    int detected;
    int lin_hold;                /* linear: held past detection until the vertical is known */
    int bad_rate;                /* nominal rate outside MIN..MAX_RATE_HZ: nothing sized */
    /* raw row bookkeeping */
    int have_last;
    double last_traw, t0raw;
    double hold[COMPUTE_NCOLS];
    int have_val[COMPUTE_NCOLS];  /* a finite value seen (to hold) */
    double range_raw[COMPUTE_NCOLS]; /* a sensor's range in input units (detection sets it) */
    long long seen[COMPUTE_NCOLS]; /* finite cells per column */
    long long samples, dropped, nonmono, nan_cells;
    /* clock resets: a candidate row waits for the next one to confirm it */
    double step_raw, toff;       /* typical step, offset added to later runs (raw units) */
    double pend[COMPUTE_NCOLS];
    int have_pend, new_run;
    int tl_new_run;              /* the next window out starts a new run */
    compute_declip declip;       /* cut peaks drawn back (declip.c) */
    long long clock_resets;
    /* channels empty/NaN beyond COMPUTE_HOLD_MAX_S */
    int nan_run[COMPUTE_NCOLS];
    double nan_t0[COMPUTE_NCOLS], missing_s[COMPUTE_NCOLS];
    /* linear acceleration (gravity removed): vertical = principal axis of
     * the dynamic signal, oriented by free fall (aggregate_linear.c);
     * gravity added back along it */
    int linear;
    double vert[3];
    double m2[6], m3[10];        /* second and third raw moments (sums) */
    long long lin_n, lin_n0;     /* rows in the moments, rows behind vert */
    double lin_u[3];             /* the principal axis, its sign kept from row to row */
    double lin_h[2], lin_c[2];   /* horizontal energy and rows at a big excursion
                                  * along lin_u: [0] below, [1] above */
    double lin_o[2];             /* rows beyond 1 g (OVER_G) along lin_u: [0] below, [1] above */
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
    double dsq[3];               /* the bin's sum of squared accelerations */
    int dmiss, last_miss;        /* rate missing in the bin being filled / the last one */
    unsigned char *wm;           /* per decimated sample: rate channels missing */
    double *wv;                  /* per decimated sample: the variance sensor noise
                                  * alone would give it (from the spread of its
                                  * bin's samples), m^2/s^4 summed over the axes;
                                  * NaN for a bin of one sample or a held one */
    int res_gmiss;               /* the analysed window lacked the rate channels */
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
    double rein_bias;            /* the bias the current window's rein takes off */
    float hist[COMPUTE_NGAITS][HIST_BINS];
    compute_rein_steps rein;     /* rein time, steps split (rein.c) */
    double lead_l, lead_r;
    /* trot symmetry per rein (0 left, 1 right, 2 straight): time-weighted
     * sums of each diagonal's step amplitude, and the trot time they cover */
    double sym_a[3], sym_b[3], sym_t[3];
    /* the same over the trot windows inside a run of trot, the evidence
     * the means are taken from (aggregate_sym.c) */
    double sym_ea[3], sym_eb[3], sym_et[3];
    double sym_ref[2];            /* sum of the named windows' sym_dir (aggregate_sym.c) */
    struct {
        int    held, run, ri;     /* a window held; trot windows in a row so far */
        double a, b, dur, end;    /* the held window's amplitudes; last window's end */
    } symq;
    /* every trot window with its diagonals' amplitudes, for rising trot at
     * the end (rising.c): 40 bytes a window, ~0.6 MB for 8 h of trot */
    compute_trotlog trotlog;
    /* gait × rein (left, right, straight, unknown): time and stride
     * histogram; canter on a circle by lead relative to the rein */
    double gr_t[COMPUTE_NGAITS][COMPUTE_NREINS];
    float gr_hist[COMPUTE_NGAITS][COMPUTE_NREINS][HIST_BINS];
    double lead_true, lead_counter;
    compute_bouts bouts;         /* the bout timeline (bouts.c) */
    compute_leadest leadest;     /* bias and left axis for the lead (lead.c) */
};

/* Decides units and the nominal sample period from the g->nbuf held rows,
 * checks the rate (out of range sets g->bad_rate and empties the buffer),
 * and sizes the window buffers.  Does not replay the held rows: the caller
 * does, when it returns 0 and g->bad_rate is not set.  KEEL_ENOMEM on
 * allocation failure (g->detected left 0). */
int compute_agg_detect(compute_agg *g);
/* Linear acceleration, its held rows at their release: the rate unit
 * decided again from their moving rows, if it was detected
 * (aggregate_detect.c). */
void compute_agg_gyro_redetect(compute_agg *g);
/* aggregate.c: one usable row past detection, in input units after the NaN
 * hold (gmiss: the rate channels are missing, zeros in the row) — unit
 * conversion, gaps, jumps, DBA and the decimated window buffer.
 * aggregate_rows.c calls it for every row it admits. */
void compute_agg_process(compute_agg *g, const double *r, int gmiss);
/* declip.c: the delay line between admit and compute_agg_process */
void compute_declip_init(compute_declip *d, double ascale, double tscale, double period);
void compute_agg_declip_push(compute_agg *g, const double *r, int gmiss, unsigned mask);
void compute_agg_declip_flush(compute_agg *g);
/* aggregate_rows.c: detects units and rate from the rows held so far and
 * replays them (finish calls it for a session shorter than DETECT_ROWS);
 * KEEL_ENOMEM, else 0 (a bad rate is flagged in g->bad_rate).  Linear
 * acceleration stays held (g->lin_hold) until compute_agg_linear_ready. */
int compute_agg_detect_replay(compute_agg *g);
/* aggregate_rows.c: replays the rows still held (linear acceleration at the
 * end of the input). */
void compute_agg_release_held(compute_agg *g);
/* aggregate_finish.c: the totals into s after the pass has ended (s zeroed,
 * s->params set by compute_agg_finish).  0 or KEEL_ENOMEM. */
int compute_agg_fill(compute_agg *g, compute_summary *s);

/* ---- linear acceleration (aggregate_linear.c) ---------------------------- */
/* From the held rows (input units): 1 if they are linear acceleration (the
 * mean vector is small next to the typical magnitude: no gravity in it). */
int compute_agg_linear_check(const compute_agg *g);
/* Unit of linear acceleration nobody stated: mg when the 99th percentile
 * magnitude is beyond any trunk's (60 m/s^2), else m/s^2. */
compute_unit compute_agg_linear_unit(const compute_agg *g);
/* After g->ascale is known: 1 once the held rows show the vertical's sign
 * (one end of its axis goes beyond 1 g and the other does not, or both ends
 * have big excursions for the free-fall rule), else 0.
 * aggregate_rows.c holds rows past detection until then, or until
 * LINEAR_HOLD_MAX rows, so a session that opens with a halt and a walk
 * (whose principal axis can be horizontal) gets the vertical its first
 * trot or canter shows. */
int compute_agg_linear_ready(const compute_agg *g);
/* After g->ascale is known: the vertical from the held rows. */
void compute_agg_linear_init(compute_agg *g);
/* One row's acceleration (m/s^2) into the moments; re-estimates the vertical
 * now and then; adds gravity back along it (a is updated in place). */
void compute_agg_linear_apply(compute_agg *g, double a[3]);

/* ---- trot symmetry bookkeeping (aggregate_sym.c) ------------------------- */

/* Every final window, first thing (account): the run of trot it continues
 * or ends, and the held window that run confirms. */
void compute_agg_sym_next(compute_agg *g, const compute_tl_win *w);
/* A counted trot window (own evidence, rate channels present, both step
 * amplitudes): names its diagonals as the trot windows before it, swapping
 * w->r's amplitudes if need be.  1 if named by the roll, 0 otherwise (also
 * for any other window). */
int compute_agg_sym_name(compute_agg *g, compute_tl_win *w);
/* A counted trot window's amplitudes into rein's sums (rein -1, 0, +1);
 * named: compute_agg_sym_name's answer. */
void compute_agg_sym_add(compute_agg *g, const compute_tl_win *w, int rein, int named);

#endif
