/*
 * compute/trend-internal.h — shared by trend.c and trend_stats.c only.
 *
 * trend.c validates the session lines, groups them by horse and builds the
 * output; trend_stats.c holds the pure helpers it uses: robust statistics
 * over one metric series and proleptic Gregorian dates (no locale).
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

/* ---- statistics (trend_stats.c) ------------------------------------------ */

/* Fills *st for the series (t[i], v[i]), i < n, n > 0, sorted by t: latest,
 * baseline (median of the previous o->baseline_n), change, robust z and the
 * Theil–Sen slope per 30 days over the last o->slope_max_n points.
 * scratch: room for the baseline and every slope pair (sized in trend.c). */
void compute_trend_stats(const trend_opts *o, double *scratch, const double *t, const double *v, size_t n,
                         trend_stat *st);

/* ---- dates (trend_stats.c) ----------------------------------------------- */

/* Days since 1970-01-01 of a civil date, and back. */
long compute_trend_days_from_civil(long y, int m, int d);
void compute_trend_civil_from_days(long z, int *y, int *m, int *d);
/* Parses "YYYY-MM-DD" or an RFC 3339 date-time into *day (calendar day as
 * written) and *t (UTC instant in days).  Returns NULL, or static text
 * saying why not. */
const char *compute_trend_parse_date(const char *s, long *day, double *t);
/* "YYYY-MM-DD" of a day: new reference, NULL on ENOMEM. */
json_t *compute_trend_date_json(long day);

#endif /* COMPUTE_TREND_INTERNAL_H */
