/*
 * compute-internal.h — shared by the files of the compute module only.
 *
 * Pipeline: csv.c (resumable zero-copy chunk parser, header + column/unit
 * hints from columns.c) → aggregate.c + aggregate_detect.c (unit detection, quality, decimation,
 * sliding windows, time attribution) → gait.c (one window: gravity, axes,
 * autocorrelation, stride, class, symmetry, lead, yaw) + rein/jump helpers
 * in rein.c and jumps.c → compute_summary → JSON (summary.c).
 */
#ifndef COMPUTE_INTERNAL_H
#define COMPUTE_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compute.h"

#define COMPUTE_G 9.80665

/* canonical column order */
enum { COMPUTE_COL_T = 0, COMPUTE_COL_AX, COMPUTE_COL_AY, COMPUTE_COL_AZ,
       COMPUTE_COL_GX, COMPUTE_COL_GY, COMPUTE_COL_GZ, COMPUTE_NCOLS };
/* compute_column_classify: a bare axis ("x", "X-axis (g)"), + 0..2 for an
 * acceleration, + 3..5 when its unit is a rate's: taken only when no column
 * names that sensor otherwise (csv_header.c). */
#define COMPUTE_COL_BARE 16

extern const char *const compute_col_names[COMPUTE_NCOLS];
extern const char *const compute_gait_names[COMPUTE_NGAITS];

/* ---- numbers (csv.c) ---------------------------------------------------- */

/* Locale-independent decimal parser over [p, end): optional spaces, sign,
 * digits, one decimal mark (dec1 or dec2; 0 = none), exponent, or
 * nan/NaN/NA/null/empty → NaN (*isnan = 1).  Stops at the first other char;
 * *next points there.  Returns 0, or -1 when the text is not a number. */
int compute_parse_number(const char *p, const char *end, char dec1, char dec2,
                         double *out, const char **next, int *isnan, char *seen_dec);

/* ---- columns (columns.c) ------------------------------------------------ */

/* Classifies one header cell (borrowed text, len bytes).  Returns the
 * canonical column COMPUTE_COL_* or -1; *unit gets a unit the name states
 * (COMPUTE_TIME_MS, COMPUTE_ACCEL_G, COMPUTE_GYRO_DEGS, …) or AUTO. */
int compute_column_classify(const char *name, size_t len, compute_unit *unit);

/* ---- aggregate's thresholds (params.c) ---------------------------------- */

void compute_params_defaults(compute_params *p);
/* Defaults, then the keys of options (borrowed JSON object; NULL: none).
 * KEEL_EINVAL with err "options.KEY: …" naming the first bad key. */
int compute_params_from_json(compute_params *p, const json_t *options, char *err, size_t errlen);
/* Every key and its value: new object, NULL on ENOMEM. */
json_t *compute_params_json(const compute_params *p);
/* `keel compute defaults`: text to f, or json.aggregate = {key: {...}}. */
void compute_params_print(FILE *f, json_t *json);

/* ---- aggregation stream (aggregate.c) ----------------------------------- */

typedef struct compute_agg compute_agg;

/* New stream; opt may be NULL.  NULL on ENOMEM. */
compute_agg *compute_agg_new(const compute_options *opt);
void compute_agg_free(compute_agg *g);
/* One analysis window as the summary counts it (per-window output,
 * docs/compute.md "windows").  Times in seconds from the first sample.
 * NaN = unknown. */
typedef struct compute_window_row {
    double t_start, t_end;
    int    gait;            /* COMPUTE_HALT … or COMPUTE_UNCLASSIFIED */
    double confidence;      /* stride periodicity 0..1 (regularity / 10) */
    double stride_hz, cadence_spm, regularity;
    double yaw_rate;        /* rad/s, + = left; NaN without rate channels */
    int    rein;            /* +1 left, -1 right, 0 straight, 2 unknown (no rate) */
    int    lead;            /* canter: +1 left, -1 right; 0 none or not cantering */
    double dba;             /* dynamic acceleration RMS, m/s^2 */
    double symmetry_pct;    /* trot: 100 - 100|A-B|/mean(A,B); NaN otherwise */
} compute_window_row;

/* Called for every window once its gait is final, in time order; arg is the
 * caller's.  t_start..t_end is the span the summary gives the window (2 s;
 * the first and last of a segment longer), so the rows tile the session. */
typedef void (*compute_window_cb)(void *arg, const compute_window_row *w);
/* Every window of this stream goes to cb (NULL: none, the default). */
void compute_agg_on_window(compute_agg *g, compute_window_cb cb, void *arg);
/* Called for every sample the stream uses, in time order: t seconds from
 * the first sample, a the specific force in m/s^2 (gravity added back for
 * linear input), grav the running gravity estimate (same axes, m/s^2). */
typedef void (*compute_sample_cb)(void *arg, double t, const double a[3], const double grav[3]);
/* Every sample of this stream goes to cb (NULL: none, the default). */
void compute_agg_on_sample(compute_agg *g, compute_sample_cb cb, void *arg);
/* The stream has no rate columns (accelerometer only). */
void compute_agg_no_gyro(compute_agg *g);
/* The time cells are dates and times (seconds): no unit to decide. */
void compute_agg_time_text(compute_agg *g);

/* Unit hints from the header (AUTO = none); an explicit option wins. */
void compute_agg_hint(compute_agg *g, compute_unit time_u, compute_unit accel_u, compute_unit gyro_u);
/* One row in input units; NaN for an empty or NaN cell.  Never fails. */
void compute_agg_push(compute_agg *g, const double v[COMPUTE_NCOLS]);
/* A row that could not be used at all (too few cells). */
void compute_agg_drop(compute_agg *g);
/* Ends the stream and fills *s (zeroed first, assumed.* left to the caller
 * except units).  KEEL_EBADDATA with err when there was no usable row. */
int compute_agg_finish(compute_agg *g, compute_summary *s, char *err, size_t errlen);

/* ---- CSV (csv.c) --------------------------------------------------------- */

typedef struct compute_csv {
    compute_agg *agg;          /* borrowed sink */
    int  have_header;
    char delim;                /* ',', ';' or '\t' */
    char seen_dec;             /* decimal mark met in data ('.' or ',') or 0 */
    int  ncells;               /* cells in the header */
    int  map[COMPUTE_NCOLS];   /* header cell index of each canonical column */
    int  maxcell;              /* highest mapped cell index */
    long long line;            /* lines consumed (1-based number of the last) */
    long long rows;            /* data rows seen */
    char names[COMPUTE_NCOLS][48];
    compute_unit hint_t, hint_a, hint_g; /* units stated by the header (or a units row) */
    int  units_row;            /* 1 if a units row followed the header */
    int  no_gyro;              /* header has no rate column at all (accelerometer only) */
    int  time_text;            /* time cells written as dates/times of day (datetime.c) */
    int  hdr_tried, hdr_named; /* lines before the header so far; most columns one named */
    char hdr_err[256];         /* that line's error (csv_header.c) */
    char err[256];
} compute_csv;

/* Lines before the header skipped at most (titles, device, rate). */
#define COMPUTE_PREAMBLE_MAX 32
/* One line where the header is still to come (csv_header.c): 0 (the header,
 * or a line before it), KEEL_EBADDATA with p->err. */
int compute_csv_header_line(compute_csv *p, const char *s, const char *e);
/* A line right after the header whose mapped cells are all units: read as
 * the units (1), or not (0). */
int compute_csv_units_row(compute_csv *p, const char *s, const char *le);
/* A time cell written as a date and time ("2024-03-01T10:00:00.125Z", with
 * or without a zone) or a time of day ("10:00:00.125"): seconds since the
 * epoch or since midnight in *out, 0; -1 if it is neither (datetime.c). */
int compute_parse_datetime(const char *s, const char *e, double *out);
/* Days since 1970-01-01 of a civil date (proleptic Gregorian), and back. */
long compute_days_from_civil(long y, int m, int d);
void compute_civil_from_days(long z, int *y, int *m, int *d);
/* Days in month m (1..12) of year y, leap years by the Gregorian rule. */
int  compute_days_in_month(long y, int m);

void compute_csv_init(compute_csv *p, compute_agg *agg);
/* Feeds buf[0..len).  Parses every complete line (and, when eof, the last
 * unterminated one).  Returns the number of bytes consumed (the caller keeps
 * buf[consumed..len) and appends more before the next call), or KEEL_EBADDATA
 * with p->err naming line/column.  Zero-copy: cells are parsed in place. */
long long compute_csv_feed(compute_csv *p, const char *buf, size_t len, int eof);
/* compute_csv_feed on a caller's buffer buf[0..*have): what it consumed is
 * dropped and the rest moved to buf's start (*have updated).  0, or the
 * error with p->err copied into err. */
int compute_csv_feed_buf(compute_csv *p, char *buf, size_t *have, int eof, char *err, size_t errlen);
/* After the last feed: KEEL_EBADDATA if there was no header. */
int compute_csv_finish(compute_csv *p);
/* After the last feed: compute_csv_finish, then compute_agg_finish of
 * p->agg into *s, plus what the parser saw (delimiter, decimal mark, column
 * names).  0 or a KEEL_E* code with err set. */
int compute_csv_summary(compute_csv *p, compute_summary *s, char *err, size_t errlen);

/* aggregate of a CSV given as gzip (one member, or several concatenated),
 * inflated a window at a time into the parser (csv_gz.c): never whole in
 * memory.  max_csv > 0: more decoded bytes is KEEL_ETOOBIG.  KEEL_EBADDATA
 * for a gzip that is not one or is cut short, and as aggregate. */
int compute_aggregate_gz(const void *gz, size_t len, size_t max_csv, const compute_options *opt,
                         compute_summary *s, char *err, size_t errlen);
/* Whole-buffer convenience: parse + aggregate into *s.  err gets the message. */
int compute_aggregate_buffer(const char *csv, size_t len, const compute_options *opt,
                             compute_summary *s, char *err, size_t errlen);
/* The same, with every analysis window to cb (in time order) as the stream
 * goes: the per-window output other modules can call. */
int compute_windows_buffer(const char *csv, size_t len, const compute_options *opt,
                           compute_window_cb cb, void *arg, compute_summary *s,
                           char *err, size_t errlen);
/* One window as a JSON object (new reference; "file" not included):
 * t_start, t_end, gait, confidence, stride_hz, cadence_spm, regularity,
 * yaw_rate, rein, lead, dba, symmetry_pct; unknown is null. */
json_t *compute_window_json(const compute_window_row *w);
/* Every window of one CSV session as a JSON array (compute_window_json
 * objects, in time order).  *windows new reference; err on failure. */
int compute_windows_json(const char *csv, size_t len, const compute_options *opt,
                         json_t **windows, char *err, size_t errlen);
/* The vertical acceleration trace of one CSV session (trace.c), at most
 * max_points buckets (COMPUTE_TRACE_MIN..MAX): *trace new reference. */
int compute_trace_buffer(const char *csv, size_t len, const compute_options *opt,
                         int max_points, json_t **trace, char *err, size_t errlen);
/* "halt" … "gallop", or "unclassified". */
const char *compute_window_gait(int gait);
/* Arrays in (compute_samples), summary out. */
int compute_aggregate_samples(const compute_samples *in, const compute_options *opt,
                              compute_summary *s, char *err, size_t errlen);

/* ---- the input report (summary_inputs.c) -------------------------------- */
/* Adds quality.clock_resets, quality.clipped_samples, quality.missing_s,
 * assumed.gravity and assumed.vertical to a summary object (borrowed) from
 * s. */
void compute_summary_inputs_json(const compute_summary *s, json_t *out);
/* The inverse: reads those keys (absent: zero) into *s. */
void compute_summary_inputs_from_json(const json_t *j, compute_summary *s);

/* ---- the summary as a flat row (summary_flat.c) ------------------------- */
/* Every scalar path of the summary JSON ("gaits.trot.cadence_spm"), in its
 * order: the CSV columns.  New array of n new strings, NULL on ENOMEM. */
char **compute_summary_columns(size_t *n);
void compute_summary_columns_free(char **names, size_t n);
/* The value at a dotted path (borrowed), or NULL. */
const json_t *compute_summary_path(const json_t *j, const char *path);

/* ---- one window (gait.c) ------------------------------------------------- */

typedef struct compute_window_result {
    int    gait;          /* COMPUTE_HALT … */
    double stride_hz;     /* 0 for halt */
    double regularity;    /* 0..10 */
    double sym_log;       /* trot: signed ln(diagonal A / diagonal B) peak
                           * ratio (0 = symmetric); NaN otherwise */
    double amp_a, amp_b;  /* trot: peak-to-trough vertical acceleration of each
                           * diagonal step (a = sym_log's numerator), m/s^2; NaN otherwise */
    double sym_dir[2];    /* trot: the roll rate's phase a quarter stride after
                           * step a's peak, on the window's forward and left
                           * rate axes: points the same way in every window
                           * for the same diagonal (aggregate.c names the
                           * diagonals by it); 0, 0 when the roll shows no
                           * stride */
    int    lead;          /* canter: +1 left, -1 right, 0 none */
    double yaw_rate;      /* mean rate about the vertical, rad/s (+ = left) */
    double rms;           /* dynamic acceleration RMS, m/s^2 */
    double suspension;    /* share of samples with the vertical specific force
                           * below susp_g (a suspension phase), 0..1 */
    double side;          /* least autocorrelation of the sideways sway at the
                           * bounce lag (< 0: reverses every bounce, 2-beat) */
    int    weak;          /* moving, but the rhythm is weak and the beat
                           * structure unclear: the gait is a guess */
    int    norhythm;      /* halt for energy without a rhythm (timeline.c
                           * may make it a transition between two gaits) */
    int    at_floor;      /* its dynamic energy is the sensor's noise (under
                           * noise_halt times it; aggregate.c): weak and
                           * undecided by its neighbours, it is a halt */
    int    above_floor;   /* the noise is known and the energy is above that */
    int    too_calm;      /* dynamic RMS under suspended_min_rms: no trot,
                           * canter or gallop moves the trunk this little */
    int    sway_clear;    /* weak, but the filtered sway reverses clearly */
    /* sensor frame, for the canter lead relative to the rein (lead.c): the
     * mean angular rate (rad/s), the mean specific force's direction, and
     * the angular rate's covariance about its mean (xx, yy, zz, xy, xz, yz) */
    double wmean[3], up[3], wcov[6];
    /* walk and trot: the horizontal dynamic acceleration's (alag) and
     * angular rate's (glag) covariance at half a stride, each over its
     * energy (xx, yy, zz, xy, xz, yz; sensor frame; lead.c); zero otherwise */
    double alag[6], glag[6];
    /* a gallop read by its frequency alone (one push per stride): the
     * stride and regularity of the same window read as a trot at half of
     * it (gait.c), 0 otherwise; the trot's fields above are that reading's.
     * timeline.c takes it next to a trot of that stride */
    double alt_hz, alt_regularity;
} compute_window_result;

/* Analyses n decimated samples (a: m/s^2, g: rad/s, each [n][3]) at fs Hz
 * with the thresholds p (specific force below (1 - p->susp_g) g on the
 * vertical is a suspension phase, no hoof loaded; a window shows suspension
 * when at least p->susp_share of its samples are there; …).
 * bin: how many input samples each decimated one is the mean of (the
 * trot's step amplitudes undo that averaging).
 * work: scratch of at least 15*n doubles.  Pure. */
void compute_window_analyse(const double (*a)[3], const double (*g)[3], size_t n,
                            double fs, int bin, const compute_params *p, double *work,
                            compute_window_result *r);

/* ---- canter lead (lead.c) ------------------------------------------------ */

/* The lead from the trunk's roll and pitch rates (wcov, sensor frame) in
 * the horizontal frame f (forward or backward: the sign does not matter)
 * and l = up × f: +1 left lead, -1 right, 0 when roll and pitch barely
 * co-vary.  docs/compute.md canter_lead. */
int compute_lead_sign(const double wcov[6], const double f[3], const double l[3]);

/* The half-stride covariance of x − mean (n rows of 3) in the plane normal
 * to u, at the fractional lag `lag` (samples), over its energy (trace of
 * the lag-0 covariance): *out (xx, yy, zz, xy, xz, yz), zero when the plane
 * carries less than floor_e.  See lead.c. */
void compute_lead_halflag(const double *x, const double mean[3], size_t n, const double u[3],
                          double lag, double floor_e, double out[6]);

/* What a session teaches about the sensor's mounting: the gyro's bias
 * (from halts and straight lines; the rein takes it off too), the fore-aft
 * axis (from walk and trot's half-stride covariances) and the horse's left
 * axis (from the lean of the specific force on circles), in sensor axes. */
typedef struct compute_leadest {
    double bias[3], bias_t;
    /* the turn under way: its rate about the vertical less the bias at its
     * start (mean of its first windows), how many windows, and how far the
     * bias has been moved along the vertical during it (lead.c, "bias
     * through a turn") */
    double turn_w, turn_t, turn_db;
    int    turn_n;
    double sym[6], sym_t; /* Σ dur·(alag − glag) over walk and trot, and Σ dur */
    double lsum[3];       /* Σ over clear turns of the outward tilt, signed to point left */
} compute_leadest;

/* One final window (in time order): learns from it, and returns its lead
 * (canter, not inherited, rate present; else r->lead) in the frame of the
 * fore-aft axis learnt so far, or r->lead (sensor x forward) while none is. */
int compute_lead_window(compute_leadest *e, const compute_window_result *r, int inherited,
                        int gmiss, double dur);

/* ---- the window sequence (timeline.c) ----------------------------------- */

/* A window's final class when its evidence was weak and its neighbours
 * disagree: counted as time, never as a gait's stride, rein or symmetry. */
#define COMPUTE_UNCLASSIFIED COMPUTE_NGAITS
#define COMPUTE_TL_DEPTH 5

typedef struct compute_tl_win {
    compute_window_result r; /* r.gait is final when emitted */
    double t0, dur;          /* the span of time the window is given */
    int    gmiss;            /* the rate channels were missing here */
    int    inherited;        /* weak: the gait came from the neighbours */
    int    new_run;          /* the first window after a clock reset */
} compute_tl_win;

typedef struct compute_tl {
    compute_tl_win q[COMPUTE_TL_DEPTH];
    int nq;
    int prev_gait;           /* final gait of the last window out, -1 none */
    int prev_strong;         /* gait of the last window out decided by its own
                              * evidence, -1 none */
    double prev_e;           /* its mean square dynamic acceleration, m^2/s^4 */
    double trot_hz;          /* stride of the last window in, if a trot decided
                              * by its own evidence; 0 otherwise */
    double trot_end;         /* where that window ended */
} compute_tl;

typedef void (*compute_tl_emit)(void *arg, const compute_tl_win *w);

void compute_tl_init(compute_tl *tl);
/* Queues a copy of *w; emit(arg, …) gets every window that became final, in
 * order (none, or several at once). */
void compute_tl_push(compute_tl *tl, const compute_tl_win *w, compute_tl_emit emit, void *arg);
/* At the stream's end: emits what is left. */
void compute_tl_flush(compute_tl *tl, compute_tl_emit emit, void *arg);

/* ---- the bout timeline (bouts.c) ---------------------------------------- */

/* A run of windows that differs from the bout around it only in rein or
 * lead and lasts less than min_s (the bout_min_s option) is absorbed into that bout (a rein that
 * flickers for a window or two as the horse straightens, a lead read wrong
 * once).  A gait change always starts a bout, so bouts add up to the
 * summary's gait times.  docs/compute.md "bouts". */

typedef struct compute_bouts {
    compute_bout cur, pend;  /* the open bout, and a short run after it */
    int have_cur, have_pend;
    size_t n;                /* bouts closed (all, listed or not) */
    double min_s;            /* bout_min_s (compute_bouts_add sets it) */
    compute_bout list[COMPUTE_MAX_BOUTS];
} compute_bouts;

/* One final window, in time order (gait, rein and lead as the window rows
 * give them); start must follow the last window's end, else a hole (a gap)
 * ends the bout. */
void compute_bouts_add(compute_bouts *b, const compute_bout *w, double min_s);
/* At the stream's end: closes what is open. */
void compute_bouts_flush(compute_bouts *b);
/* The bouts as a JSON array [{gait, start, end, rein, lead}] (new ref). */
json_t *compute_bouts_json(const compute_summary *s);
/* The inverse, into s->bouts (bout_count read separately). */
int compute_bouts_from_json(const json_t *arr, compute_summary *s);

/* ---- gait × rein (summary_breakdown.c) ---------------------------------- */
/* The summary's gait_rein object (new ref), and the inverse: gait_rein,
 * canter_lead.true_s/counter_s and bout_count into *s (absent: 0). */
json_t *compute_breakdown_json(const compute_summary *s);

/* Rein ri (0 left, 1 right, 2 straight) has a trot asymmetry to report. */
static inline int compute_trot_rein_known(const compute_summary *s, int ri)
{
    return s->trot_rein_s[ri] > 0 && isfinite(s->trot_rein_asym[ri]);
}
void compute_breakdown_from_json(const json_t *j, compute_summary *s);

/* ---- rising trot (rising.c) ---------------------------------------------- */
/* One trot window with both diagonals' step amplitudes (a: the diagonal
 * after whose step the trunk rolls positive), its span and rein (+1 left,
 * -1 right, 0 straight). */
typedef struct compute_trotwin {
    double t0, dur, a, b;
    signed char rein;
} compute_trotwin;
typedef struct compute_trotlog {
    compute_trotwin *w;
    size_t n, cap;
} compute_trotlog;
/* Appends one window (beyond 65536 windows they are not kept: counted as
 * sitting).  0, or -1 on ENOMEM (the window is not kept). */
int compute_trotlog_add(compute_trotlog *l, double t0, double dur, int rein, double a, double b);
void compute_trotlog_free(compute_trotlog *l);
/* Rising (posting) trot: rising[i] = 1 for the windows read as rising trot
 * (docs/compute.md "rising trot"); *horse_asym = the horse's own signed
 * asymmetry (%) between the two posting states, NaN when rising trot was not
 * shown.  Returns the rider's diagonal changes (>= 0) or KEEL_ENOMEM.  w in
 * time order. */
int compute_rising_detect(const compute_trotwin *w, size_t n, const compute_params *p,
                          unsigned char *rising, double *horse_asym);

/* ---- stride harmonics (gait_sym.c) -------------------------------------- */

/* Fourier coefficient (2/n-scaled) of x at k cycles per T samples. */
void compute_harmonic(const double *x, size_t n, double T, int k, double *re, double *im);
/* Trot: signed ln ratio of the two diagonal steps' peak-to-trough vertical
 * acceleration (v, world vertical, n samples, stride T samples, each the
 * mean of bin input samples); *amp_a and *amp_b get the amplitudes, the
 * roll/pitch rates name the diagonal (dir: see sym_dir).  NaN when the
 * window is too short or the fit singular. */
double compute_trot_symmetry(const double *v, const double *roll, const double *pitch,
                             size_t n, double T, int bin, double *amp_a, double *amp_b,
                             double dir[2]);

/* ---- rein and jumps (rein.c, jumps.c) ------------------------------------ */

/* -1 right, 0 straight, +1 left: |yaw_rate| above rate (rad/s, the
 * rein_rate option) is a circle */
int compute_rein_class(double yaw_rate, double rate);
double compute_rein_balance(double left_s, double right_s);

/* Rein time with the step windows split (rein.c): a window that holds the
 * start or end of a turn has a mean rate between the levels before and
 * after; its time goes to their two reins in proportion instead of wholly
 * to the one its mean crosses into.  The levels are read two windows away
 * (a window is analysed over twice the span it is given, so those do not
 * overlap it); windows come in time order and each is settled when the
 * second after it is known. */
typedef struct compute_rein_win {
    double t0, dur, y;       /* span given, turning rate less the bias */
    int    counted, rated;   /* moving with a rate; has a rate (halt: y 0) */
    int    done;
} compute_rein_win;

#define COMPUTE_REIN_CTX 5   /* two before, the window, two after */

typedef struct compute_rein_steps {
    double rate, window_s;   /* rein_rate, window_s options */
    double t[3];             /* left, right, straight seconds */
    compute_rein_win q[COMPUTE_REIN_CTX];
    int    n;                /* contiguous windows held, oldest first */
} compute_rein_steps;

void compute_rein_steps_init(compute_rein_steps *rs, double rate, double window_s);
/* One window in time order (t0, dur, y, counted, rated set). */
void compute_rein_steps_add(compute_rein_steps *rs, const compute_rein_win *w);
void compute_rein_steps_flush(compute_rein_steps *rs);

typedef struct compute_jumpdet {
    int    in_air;
    int    pending;       /* in air, above the threshold since t_end */
    double t_start, t_end;
    double prev_t, prev_mag; /* prev_mag: squared */
    int    have_prev;
    double th, min_air, max_air; /* m/s^2 and s: jump_g, jump_min/max_air_s */
} compute_jumpdet;

#define COMPUTE_JUMP_BRIDGE_S 0.04 /* a flight survives noise spikes shorter than this */
/* Feeds one sample (t seconds, |a|^2 in (m/s^2)^2).  Returns 1 and fills *j when a
 * jump just ended. */
int  compute_jump_feed(compute_jumpdet *d, double t, double mag, compute_jump *j);
/* A fresh detector with p's jump thresholds (NULL: the defaults). */
void compute_jump_reset(compute_jumpdet *d, const compute_params *p);
/* At a segment's or the stream's end: 1 and *j when a landing was waiting
 * out its COMPUTE_JUMP_BRIDGE_S. */
int  compute_jump_flush(compute_jumpdet *d, compute_jump *j);

/* ---- synth (synth.c) ----------------------------------------------------- */

typedef struct compute_synth_opts {
    uint64_t    seed;
    const char *plan;        /* "walk:120,trot-left:60,jump:1.1,…" */
    double      rate_hz;     /* 50..200 typical; 10..1000 accepted */
    double      noise;       /* multiplier of the default sensor noise, 0..10 */
    double      roll_deg, pitch_deg, yaw_deg; /* sensor mounting */
    double      trot_asym;   /* 0..0.5: right diagonal amplitude (1-asym) */
    double      drift;       /* multiplier of gyro drift, 0..10 */
    int         time_ms, accel_g, gyro_deg, semicolon; /* output variants */
} compute_synth_opts;

/* Writes the CSV to out (may be NULL: truth only) and, if truth != NULL,
 * sets *truth to a new reference.  KEEL_EINVAL with err on a bad plan. */
int compute_synth(const compute_synth_opts *o, FILE *out, json_t **truth,
                  char *err, size_t errlen);
/* Same into a malloc'ed buffer (*csv, *len; caller frees). */
int compute_synth_buffer(const compute_synth_opts *o, char **csv, size_t *len,
                         json_t **truth, char *err, size_t errlen);

/* ---- CLI (cli.c, cli_aggregate.c) -------------------------------------------- */
int compute_cli(keel_ctx *ctx, int argc, char **argv);
int compute_cli_aggregate(int argc, char **argv);
int compute_cli_windows(int argc, char **argv);
/* One CSV session from fd (1 MiB chunks) into *s; every window to cb when
 * it is not NULL.  0 or a KEEL_E* code with err set. */
int compute_cli_read_fd(int fd, const compute_options *opt, compute_window_cb cb, void *arg,
                        compute_summary *s, char *err, size_t errlen);
/* Prints text (usage) to stdout and returns 0 when fmt is NULL; else the
 * message fmt/arg and the usage to stderr, returning exit status 2. */
int compute_cli_usage(const char *text, const char *fmt, const char *arg);
/* "--name value" / "--name=value" / "-jN" at argv[*i] (advanced past the
 * value); NULL if argv[*i] is another flag, or *missing = 1 if no value. */
const char *compute_cli_flag(int argc, char **argv, int *i, const char *name, int *missing);
/* "s", "ms", "m/s2", "g", "rad/s", "deg/s" → unit; else AUTO. */
compute_unit compute_cli_unit(const char *s);

/* The option flags of a tunable command (cli_opts.c): --options-file F,
 * --options JSON, --opt key=value (repeatable); zero-initialised. */
typedef struct compute_cli_opts {
    const char *file, *json;
    json_t *sets;
} compute_cli_opts;
/* argv[*i] is one of them: 1 (taken, *i advanced); not one: 0 (*missing
 * set when a flag lacks its value); -1 with *bad the value when --opt is
 * not key=value (a usage error), or on ENOMEM with *bad NULL. */
int compute_cli_opts_flag(compute_cli_opts *o, int argc, char **argv, int *i, int *missing,
                          const char **bad);
/* The object they make (the file's keys, then --options', then --opt's:
 * the later wins): *out new ref, NULL when none was given.  0, or an exit
 * status (2: a file or --options that is not a JSON object, said on
 * stderr as "keel compute <cmd>: …"; 1: ENOMEM). */
int compute_cli_opts_merge(const compute_cli_opts *o, const char *cmd, json_t **out);
void compute_cli_opts_free(compute_cli_opts *o);
/* aggregate's thresholds from them into *p (defaults where not given): 0,
 * or an exit status with the reason on stderr — 3 for an unknown key or a
 * bad value ("keel compute <cmd>: invalid_input: options.KEY: …"), 2 or 1
 * as compute_cli_opts_merge. */
int compute_cli_params(const compute_cli_opts *o, const char *cmd, compute_params *p);

#endif /* COMPUTE_INTERNAL_H */
