/*
 * compute/compute.h — typed interface of the compute module.
 *
 * compute is pure: no storage, no network.  aggregate turns one riding
 * session (sensor CSV: time, ax, ay, az, gx, gy, gz) into a summary; trend
 * turns a series of summaries into baselines and changes; synth writes
 * deterministic synthetic sessions with known ground truth.
 *
 * In-process callers:
 *     keel_module_ctx *cm;
 *     const compute_iface *c = keel_iface(ctx, "compute", COMPUTE_IFACE_V2, &cm);
 *     rc = c ? c->trend(cm, ctx, sessions, &out) : KEEL_EUNAVAIL;
 * get the local implementation, or compute_client (same struct, marshals to
 * JSON over keel_call) when compute is placed in another process.  Every
 * member takes compute's own module ctx (self, from keel_iface) first and the
 * caller's ctx second.  The vtable is append-only within a version line: new
 * members go at the end under a "since vN" fence; check `version` and NULL
 * before calling a newer member.  v2 started a new line (self first).
 */
#ifndef COMPUTE_COMPUTE_H
#define COMPUTE_COMPUTE_H

#include <stddef.h>
#include <jansson.h>

#include "keel/keel.h"

#define COMPUTE_IFACE_V2      2u
#define COMPUTE_IFACE_V3      3u   /* + windows_csv, trace_csv */
#define COMPUTE_IFACE_V4      4u   /* + aggregate_csv_gz */
#define COMPUTE_IFACE_VERSION COMPUTE_IFACE_V4   /* what this header describes */

/* Bounds of a trace's bucket count (trace_csv, compute.trace). */
#define COMPUTE_TRACE_MIN 10
#define COMPUTE_TRACE_MAX 5000

/* Units of the input columns.  AUTO = from the header name, else detected
 * from magnitudes (docs/compute.md "input"). */
typedef enum compute_unit {
    COMPUTE_UNIT_AUTO  = 0,
    COMPUTE_TIME_S     = 1,
    COMPUTE_TIME_MS    = 2,
    COMPUTE_ACCEL_MS2  = 3,
    COMPUTE_ACCEL_G    = 4,
    COMPUTE_GYRO_RADS  = 5,
    COMPUTE_GYRO_DEGS  = 6,
    COMPUTE_ACCEL_MG   = 7    /* milli-g (many loggers' raw export) */
} compute_unit;

/* aggregate's thresholds (docs/compute.md "aggregate options"): every
 * detector reads them from here, never from a global.  Defaults, ranges,
 * units and meanings are params.c's table (compute_params_defaults). */
typedef struct compute_params {
    double window_s;            /* analysis window (s); rows are half of it */
    double halt_rms;            /* dynamic acceleration RMS below: halt (m/s^2) */
    double rhythm_min;          /* vertical acf peak at or below: no rhythm, halt */
    double bounce_min_hz, bounce_max_hz; /* bounce search band (Hz) */
    double side_reversal;       /* sway acf at the bounce below: 2-beat */
    double clear_reversal;      /* sway acf below: a reversal no noise makes */
    double weak_regularity;     /* stride acf below (and no clear reversal): weak */
    double noise_halt;          /* weak, no neighbour decides, energy within this
                                 * factor of the sensor's own noise: halt */
    double susp_g;              /* vertical specific force below (1 - susp_g) g: suspension */
    double susp_share;          /* share of a window in suspension to show it */
    double walk_max_hz;         /* 2-beat without suspension at or above: trot */
    double walk_max_rms;        /* 2-beat with this dynamic RMS or more: trot (m/s^2) */
    double walk_top_hz;         /* 2-beat at or above (the walk band's top) ... */
    double walk_top_rms;        /* ... with this dynamic RMS or more: trot (m/s^2) */
    double canter_max_hz;       /* one push per stride above: a 2-beat gait's bounce */
    double gallop_min_hz;       /* asymmetric stride at or above: gallop */
    double gallop_h2_ratio;     /* 2nd / 1st stride harmonic at or above: gallop */
    double asym_max_hz;         /* asymmetric stride above: 2-beat after all */
    double nosusp_asym_min_acf; /* asymmetric without suspension repeats at least this */
    double gyro_rhythm_min;     /* a weak stride whose rotation repeats less: no gait */
    double burst_max_cv;        /* a weak stride whose half strides' energies scatter more: no gait */
    double suspended_min_rms;   /* trot, canter, gallop need at least this dynamic RMS (m/s^2) */
    double rein_rate;           /* |yaw rate| above: a circle (rad/s) */
    double jump_g;              /* |a| below this many g: in the air */
    double jump_min_air_s, jump_max_air_s; /* a flight's bounds (s) */
    double bout_min_s;          /* a rein/lead change shorter than this is absorbed (s) */
    double cadence_band;        /* a gait's cadence: the mean of its windows within this
                                 * share of their median stride frequency (0: the median) */
    /* rising trot (rising.c, docs/compute.md "rising trot") */
    double rising_min_asym_pct; /* a run's asymmetry departs from the horse's own by this (%) */
    double rising_min_s;        /* shortest run on one diagonal taken as evidence (s) */
    double rising_smooth_s;     /* running median of the windows' asymmetry (s) */
} compute_params;

/* Options for aggregate; a zeroed struct means "detect everything" and
 * the default thresholds. */
typedef struct compute_options {
    compute_unit time_unit;   /* AUTO, TIME_S or TIME_MS */
    compute_unit accel_unit;  /* AUTO, ACCEL_MS2, ACCEL_G or ACCEL_MG */
    compute_unit gyro_unit;   /* AUTO, GYRO_RADS or GYRO_DEGS */
    const compute_params *params; /* borrowed; NULL: the defaults */
} compute_options;

/* One session as parallel arrays of n samples (borrowed by the callee).
 * Units as in compute_options (AUTO = detected); rows need not be clean:
 * NaN cells, gaps and non-monotonic times are handled as for CSV. */
typedef struct compute_samples {
    size_t        n;
    const double *t;
    const double *ax, *ay, *az;
    const double *gx, *gy, *gz;
} compute_samples;

enum compute_gait {
    COMPUTE_HALT = 0, COMPUTE_WALK, COMPUTE_TROT, COMPUTE_CANTER, COMPUTE_GALLOP,
    COMPUTE_NGAITS
};

typedef struct compute_gait_stats {
    double time_s;       /* seconds classified as this gait */
    double share;        /* time_s / classified time (all gaits and
                          * unclassified), 0..1 */
    double cadence_spm;  /* strides per minute, 0 when no time */
    double regularity;   /* 0..10 (stride autocorrelation x 10) */
} compute_gait_stats;

typedef struct compute_jump {
    double t;            /* take-off, seconds from the first sample */
    double airtime_s;
    double height_m;     /* g * airtime^2 / 8 */
} compute_jump;

#define COMPUTE_MAX_JUMPS 256

/* One bout: a run of windows with the same gait, rein and lead (bouts.c,
 * docs/compute.md "bouts").  Times in seconds from the first sample. */
typedef struct compute_bout {
    double      start, end;
    signed char gait;    /* COMPUTE_HALT … COMPUTE_GALLOP, or COMPUTE_NGAITS: unclassified */
    signed char rein;    /* +1 left, -1 right, 0 straight, 2 none (halt,
                          * unclassified, no rate channels) */
    signed char lead;    /* canter: +1 left, -1 right; 0 unknown or not canter */
} compute_bout;

/* Bouts listed in a summary: one change of gait, rein or lead every 7 s for
 * 8 hours; later ones are counted (bout_count) but not listed, so a
 * summary's size does not grow with the file. */
#define COMPUTE_MAX_BOUTS 4096
/* The gait × rein breakdown's reins: left, right, straight, unknown (no
 * rate channels there; halt is always unknown: a horse standing has no rein) */
#define COMPUTE_NREINS 4

/* The summary; the JSON form (compute_summary_json) has the same fields. */
typedef struct compute_summary {
    double duration_s;
    long long samples;
    double rate_hz;
    /* quality */
    long long gaps;
    double gap_s;
    long long dropped_rows;       /* rows not used, for any reason */
    long long nonmonotonic_rows;  /* subset of dropped_rows */
    long long nan_cells;
    /* assumed (static strings) */
    const char *time_unit, *accel_unit, *gyro_unit;
    char delimiter, decimal;
    char columns[7][48];          /* source header name of time,ax,ay,az,gx,gy,gz */
    compute_gait_stats gaits[COMPUTE_NGAITS];
    double rein_left_s, rein_right_s, rein_straight_s, rein_balance;
    double trot_symmetry_pct;     /* 100 = symmetric; 0 when no trot */
    double canter_lead_left_s, canter_lead_right_s;
    size_t jump_count;            /* all jumps; at most COMPUTE_MAX_JUMPS listed */
    compute_jump jumps[COMPUTE_MAX_JUMPS];
    double mdba;                  /* mean dynamic body acceleration, m/s^2 */
    double load;                  /* integral of DBA over minutes, m/s^2*min */
    /* how each unit was decided: "option", "header" (name or units row) or
     * "detected" (static strings; JSON assumed.sources) */
    const char *time_src, *accel_src, *gyro_src;
    /* trot per rein (0 left, 1 right, 2 straight): signed asymmetry
     * 100·(A − B)/mean(A, B) of the two diagonals' mean step amplitudes
     * (A: the same diagonal all session, which one depends on the mounting;
     * NaN when the rein's only trot is the first and last windows of runs),
     * and the trot time on that rein (0: none) */
    double trot_rein_asym[3], trot_rein_s[3];
    /* 1: the input had no angular-rate columns (accelerometer only): rein,
     * canter lead and trot symmetry are unknown (JSON null) and
     * assumed.missing lists gx, gy, gz */
    int no_gyro;
    /* moving time whose gait the evidence could not decide (a weak window
     * between two different gaits): counted in no gait's time, cadence,
     * rein or symmetry; share of the classified time like gaits.<g>.share */
    double unclassified_s, unclassified_share;
    /* the clock went back and restarted mid-file: each restart begins a new
     * run, processed after the previous one (JSON quality.clock_resets) */
    long long clock_resets;
    /* accelerometer samples cut at the sensor's full scale and drawn back
     * (declip.c; JSON quality.clipped_samples) */
    long long clipped_samples;
    /* seconds each channel (ax, ay, az, gx, gy, gz) was marked missing:
     * empty/NaN for more than COMPUTE_HOLD_MAX_S in a row (shorter runs are
     * held).  Missing acceleration drops the rows (a gap); missing rate
     * leaves rein, lead and symmetry unattributed there.  JSON
     * quality.missing_s */
    double missing_s[6];
    /* 1: the input was linear acceleration (gravity removed); vertical is the
     * dynamic signal's principal axis, oriented by its skew (impacts push
     * up), in sensor coordinates.  JSON assumed.gravity, assumed.vertical */
    int linear;
    double vertical[3];
    /* gait × rein ([gait][left, right, straight, unknown]): time, and cadence
     * (time-weighted median, 0 without strides); trot symmetry per rein is
     * trot_rein_asym */
    double gr_time_s[COMPUTE_NGAITS][COMPUTE_NREINS];
    double gr_cadence_spm[COMPUTE_NGAITS][COMPUTE_NREINS];
    /* canter on a circle by lead relative to the rein: true (leading with
     * the inside fore) and counter-canter; straight-line canter is neither */
    double canter_true_s, canter_counter_s;
    /* the bout timeline: bouts[0 .. min(bout_count, COMPUTE_MAX_BOUTS)) */
    size_t bout_count;
    compute_bout bouts[COMPUTE_MAX_BOUTS];
    /* the thresholds used (JSON "options") */
    compute_params params;
    /* rising (posting) trot and the rest (sitting trot): time, and symmetry
     * by trot_symmetry_pct's definition over that part only (NaN: none with
     * a symmetry there); how often the rider changed diagonal; the horse's
     * own signed asymmetry between the two posting states (NaN: no rising
     * trot shown).  trot_symmetry_pct stays over all trot.  JSON
     * rising_trot, sitting_trot (null without rate channels) */
    double rising_s, rising_symmetry_pct, sitting_s, sitting_symmetry_pct;
    double rising_horse_asym;
    long long diagonal_changes;
} compute_summary;

#define COMPUTE_HOLD_MAX_S 2.0

typedef struct compute_iface {
    unsigned version; /* COMPUTE_IFACE_VERSION */
    /* since v2 — self: compute's module ctx (keel_iface); ctx: the caller's */
    /* One CSV session (borrowed, len bytes, need not be NUL-terminated) to
     * its summary.  opt may be NULL.  *summary new reference (caller frees),
     * NULL on error.  KEEL_EBADDATA with a ctx message naming row/column. */
    int (*aggregate_csv)(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                         const compute_options *opt, json_t **summary);
    /* Arrays in, struct out (caller-owned *out, filled on success). */
    int (*aggregate)(keel_module_ctx *self, keel_ctx *ctx, const compute_samples *samples,
                     const compute_options *opt, compute_summary *out);
    /* sessions: borrowed array of {horse_id, date, summary}; *out new ref. */
    int (*trend)(keel_module_ctx *self, keel_ctx *ctx, const json_t *sessions, json_t **out);

    /* since v3 — check version >= COMPUTE_IFACE_V3 before calling */

    /* The per-window output (docs/compute.md "windows") of one CSV session:
     * *windows new array of {t_start, t_end, gait, confidence, stride_hz,
     * cadence_spm, regularity, yaw_rate, rein, lead, dba, symmetry_pct}.
     * Errors as aggregate_csv. */
    int (*windows_csv)(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                       const compute_options *opt, json_t **windows);
    /* The vertical acceleration (m/s^2, gravity removed, + = up) of one CSV
     * session, min and max per time bucket, at most max_points buckets
     * (COMPUTE_TRACE_MIN..MAX, else KEEL_EINVAL): *trace new object
     * {unit, bucket_s, samples, duration_s, t[], min[], max[]} (docs/compute.md
     * "trace").  Errors as aggregate_csv. */
    int (*trace_csv)(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                     const compute_options *opt, int max_points, json_t **trace);

    /* since v4 — check version >= COMPUTE_IFACE_V4 before calling */

    /* aggregate_csv of a CSV given as gzip (borrowed: one RFC 1952 member,
     * or several concatenated, len bytes), never whole in memory: locally
     * inflated a 1 MiB window at a time into the parser; remotely sent as
     * it is, a Content-Encoding: gzip body (docs/compute.md "Streaming").
     * max_csv > 0: a gzip decoding to more bytes is KEEL_ETOOBIG (the caller
     * knows the size it stored; a bomb then costs neither memory nor time).
     * Errors as aggregate_csv; KEEL_EBADDATA when gz is not gzip or is cut
     * short. */
    int (*aggregate_csv_gz)(keel_module_ctx *self, keel_ctx *ctx, const void *gz, size_t len,
                            size_t max_csv, const compute_options *opt, json_t **summary);
} compute_iface;

/* Local implementation and remote client (marshals over keel_call). */
extern const compute_iface compute_local;
extern const compute_iface compute_client;

/* The summary as JSON (the fixed shape in docs/compute.md).  New reference. */
json_t *compute_summary_json(const compute_summary *s);
/* Inverse, for the client: fills *s from a summary object (borrowed).
 * KEEL_EBADDATA if a required key is missing. */
int compute_summary_from_json(const json_t *j, compute_summary *s);

/* The structure of a sensor CSV's first max_bytes (cut at a line end): the
 * header names the columns aggregate needs, a units row (if any) is
 * understood, and the rows in the prefix parse — with aggregate's own parser,
 * in this process, whether or not compute runs here (a pure function, like
 * the two above).  A file that passes can still fail aggregate on something
 * past the prefix or in the whole (too short, a column all NaN).  0, or
 * KEEL_EBADDATA with err naming the line and column (as aggregate's), or
 * KEEL_ENOMEM. */
int compute_csv_check(const char *csv, size_t len, size_t max_bytes, char *err, size_t errlen);

#endif /* COMPUTE_COMPUTE_H */
