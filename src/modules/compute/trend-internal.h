/*
 * compute/trend-internal.h — shared by trend.c, trend_stats.c and
 * trend_flags.c only.
 *
 * trend.c validates the session lines, groups them by horse and builds the
 * output; trend_stats.c holds the pure helpers it uses: robust statistics
 * over one metric series and proleptic Gregorian dates (no locale);
 * trend_flags.c applies the flag rules to one horse's results.
 */
#ifndef COMPUTE_TREND_INTERNAL_H
#define COMPUTE_TREND_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

#include "trend.h"

/* The options of docs/compute.md "## trend", defaults and bounds in
 * trend.c's trend_opt_keys. */
typedef struct trend_opts {
    double baseline_n, min_baseline, z_threshold, slope_max_n, symmetry_drop,
        rein_balance_max, cadence_shift_pct, regularity_drop_pct, acwr_max,
        acwr_min_days, acute_days, chronic_days;
} trend_opts;

typedef struct trend_stat {
    size_t      n, nbase;
    double      latest, baseline, change, change_pct, z, slope;
    int         has_base, has_pct, has_z, has_slope;
    const char *z_basis;
} trend_stat;

/* ---- tracked metrics: enum and table (trend.c) in the same order -------- */

enum {
    M_DURATION, M_HALT_T, M_WALK_T, M_TROT_T, M_CANTER_T, M_GALLOP_T,
    M_WALK_CAD, M_TROT_CAD, M_CANTER_CAD, M_TROT_REG, M_CANTER_REG,
    M_REIN_BAL, M_SYM, M_MDBA, M_LOAD, M_JUMPS, M_COUNT
};

typedef struct trend_metric {
    const char *name;     /* output key, dotted path into the summary */
    const char *path[3];  /* the same path split; unused tail NULL */
    /* Gate: the value is skipped (as missing) when these paths are present
     * and sum to 0 — aggregate writes 0 for cadence, regularity and symmetry
     * of a gait never seen, and 0 balance when the horse never turned. */
    const char *gate[2][3];
} trend_metric;

/* Indexed by the enum above; a zeroed row ends it. */
extern const trend_metric compute_trend_metrics[M_COUNT + 1];

/* EWMA acute/chronic load of one horse (computed in trend.c). */
typedef struct trend_load {
    double acute, chronic, acwr;
    int    has_acwr;
    long   days;
    size_t nload;
} trend_load;

/* has ? x : null, and null for a non-finite x.  New reference (NULL on
 * ENOMEM); trend.c. */
json_t *compute_trend_num(int has, double x);

/* ---- flags (trend_flags.c) ----------------------------------------------- */

/* Appends to flags the flags of docs/compute.md "## trend" raised by one
 * horse: st[m] is valid where have[m], ld its load.  0 or KEEL_ENOMEM. */
int compute_trend_flags(const trend_opts *o, const trend_stat st[M_COUNT], const int have[M_COUNT],
                        const trend_load *ld, json_t *flags);

/* ---- statistics (trend_stats.c) ------------------------------------------ */

/* Fills *st for the series (t[i], v[i]), i < n, n > 0, sorted by t: latest,
 * baseline (median of the previous o->baseline_n), change, robust z and the
 * Theil–Sen slope per 30 days over the last o->slope_max_n points.
 * scratch: room for the baseline and every slope pair (sized in trend.c). */
void compute_trend_stats(const trend_opts *o, double *scratch, const double *t, const double *v, size_t n,
                         trend_stat *st);

/* ---- dates (trend_stats.c) ----------------------------------------------- */

/* Days since 1970-01-01 of a civil date, and back: compute_days_from_civil,
 * compute_civil_from_days (compute-internal.h, datetime.c). */
/* Parses "YYYY-MM-DD" or an RFC 3339 date-time into *day (calendar day as
 * written) and *t (UTC instant in days).  Returns NULL, or static text
 * saying why not. */
const char *compute_trend_parse_date(const char *s, long *day, double *t);
/* "YYYY-MM-DD" of a day: new reference, NULL on ENOMEM. */
json_t *compute_trend_date_json(long day);

#endif /* COMPUTE_TREND_INTERNAL_H */
