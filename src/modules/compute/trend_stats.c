/*
 * compute/trend_stats.c — the pure helpers of trend.c (declared in
 * trend-internal.h): robust statistics over one metric series (median,
 * MAD z-score, Theil–Sen slope) and proleptic Gregorian dates.
 */
#include "trend-internal.h"
#include "compute-internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- statistics ---------------------------------------------------------- */

/* Partially orders a[0..n) so that a[k] is the k-th smallest (Hoare select). */
static double trend_select(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double tmp = a[i]; a[i] = a[j]; a[j] = tmp;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return a[k];
}

/* Median of a[0..n), n > 0; reorders a. */
static double trend_median(double *a, size_t n)
{
    double hi = trend_select(a, n, n / 2), lo = hi;
    if (n % 2 == 0) {
        lo = a[0];
        for (size_t i = 1; i < n / 2; i++)
            if (a[i] > lo) lo = a[i];
        return (lo + hi) / 2;
    }
    return hi;
}

/* Fills st for the series (t[i], v[i]), i < n, n > 0, sorted by t. */
void compute_trend_stats(const trend_opts *o, double *scratch, const double *t, const double *v, size_t n,
                         trend_stat *st)
{
    size_t nb = n - 1, m, k = 0;
    double *a = scratch, scale = 0;

    memset(st, 0, sizeof *st);
    st->n = n;
    st->latest = v[n - 1];
    if (nb > (size_t)o->baseline_n) nb = (size_t)o->baseline_n;
    st->nbase = nb;
    if (nb > 0) {
        const double *b = v + (n - 1 - nb);
        memcpy(a, b, nb * sizeof *a);
        st->baseline = trend_median(a, nb);
        st->change = st->latest - st->baseline;
        st->has_base = 1;
        if (st->baseline != 0) {
            st->change_pct = 100.0 * st->change / fabs(st->baseline);
            st->has_pct = 1;
        }
        if (nb >= (size_t)o->min_baseline) {
            double meanad = 0;
            for (size_t i = 0; i < nb; i++) {
                a[i] = fabs(b[i] - st->baseline);
                meanad += a[i] / (double)nb;
            }
            double mad = trend_median(a, nb);
            if (mad > 0) {
                scale = 1.4826 * mad;
                st->z_basis = "mad";
            } else if (meanad > 0) {
                scale = 1.253314 * meanad;
                st->z_basis = "meanad";
            } else {
                st->z_basis = "none";
            }
            if (scale > 0) {
                st->z = st->change / scale;
                st->has_z = 1;
            } else if (st->change == 0) {
                st->z = 0;
                st->has_z = 1;
            }
        }
    }
    m = n > (size_t)o->slope_max_n ? (size_t)o->slope_max_n : n;
    for (size_t i = n - m; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (t[j] > t[i])
                a[k++] = (v[j] - v[i]) / (t[j] - t[i]);
    if (k > 0) {
        st->slope = 30.0 * trend_median(a, k);
        st->has_slope = 1;
    }
}

/* ---- dates (proleptic Gregorian, no locale; days: datetime.c) ------------ */

static int trend_digits(const char *s, int n, int *out)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return 0;
}

/* Parses "YYYY-MM-DD" or an RFC 3339 date-time.  Returns NULL, or why not. */
const char *compute_trend_parse_date(const char *s, long *day, double *t)
{
    int y, mo, d, hh = 0, mi = 0, ss = 0, oh = 0, om = 0, sign = 0;
    double frac = 0, scale = 0.1;
    const char *p = s + 10;

    if (trend_digits(s, 4, &y) || s[4] != '-' || trend_digits(s + 5, 2, &mo) || s[7] != '-' ||
        trend_digits(s + 8, 2, &d))
        return "expected YYYY-MM-DD or an RFC 3339 date-time";
    if (y < 1) return "year out of range (0001-9999)";
    if (mo < 1 || mo > 12) return "month out of range (01-12)";
    if (d < 1 || d > compute_days_in_month(y, mo)) return "day out of range for its month";
    if (*p) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || trend_digits(p + 1, 2, &hh) || p[3] != ':' ||
            trend_digits(p + 4, 2, &mi) || p[6] != ':' || trend_digits(p + 7, 2, &ss))
            return "expected THH:MM:SS after the date";
        if (hh > 23 || mi > 59 || ss > 60) return "time of day out of range";
        p += 9;
        if (*p == '.') {
            if (p[1] < '0' || p[1] > '9') return "expected digits after '.'";
            for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) frac += (*p - '0') * scale;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            if (trend_digits(p + 1, 2, &oh) || p[3] != ':' || trend_digits(p + 4, 2, &om))
                return "bad UTC offset (expected +HH:MM or -HH:MM)";
            if (oh > 23 || om > 59) return "UTC offset out of range";
            p += 6;
        } else {
            return "missing time zone (Z or +HH:MM)";
        }
        if (*p) return "unexpected characters after the date-time";
    }
    *day = compute_days_from_civil(y, mo, d);
    *t = (double)*day +
         (hh * 3600.0 + mi * 60.0 + ss + frac - sign * (oh * 3600.0 + om * 60.0)) / 86400.0;
    return NULL;
}

json_t *compute_trend_date_json(long day)
{
    char buf[16];
    int y, m, d;
    compute_civil_from_days(day, &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return json_string(buf);
}
