/*
 * datetime.c — a time cell written as a date and time of day, as loggers and
 * sensor apps export it: "2024-03-01T10:00:00.125Z", "2024-03-01 10:00:00.125",
 * "2019-03-11T12:27:40.557" (local time, no zone), "2024/03/01 10:00:00",
 * "…+01:00" / "…-0500", or a time of day alone ("10:00:00.125").
 *
 * Read as seconds since 1970-01-01 (the proleptic Gregorian calendar; an
 * offset is subtracted, a time without one is taken as UTC — only the
 * differences between rows matter), a time of day alone as seconds since its
 * midnight.  A double holds today's epoch seconds to 0.24 µs.
 */
#include "compute-internal.h"

/* n digits at *p, advancing it; -1 if one is not a digit. */
static int digits(const char **p, const char *e, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= e || (unsigned)(**p - '0') > 9)
            return -1;
        v = v * 10 + (*(*p)++ - '0');
    }
    return v;
}

/* H. Hinnant's days_from_civil and civil_from_days (proleptic Gregorian). */
long compute_days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void compute_civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int compute_days_in_month(long y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* "hh:mm[:ss[.fff]]" at *p: seconds since midnight, or -1. */
static double time_of_day(const char **p, const char *e)
{
    int h = digits(p, e, 1), mi, s = 0;
    double frac = 0;

    if (h >= 0 && *p < e && (unsigned)(**p - '0') <= 9) /* "9:05:01" and "09:05:01" */
        h = h * 10 + (*(*p)++ - '0');
    if (h < 0 || h > 24 || *p >= e || **p != ':')
        return -1;
    (*p)++;
    if ((mi = digits(p, e, 2)) < 0 || mi > 59)
        return -1;
    if (*p < e && **p == ':') {
        (*p)++;
        if ((s = digits(p, e, 2)) < 0 || s > 60) /* 60: a leap second */
            return -1;
        if (*p < e && (**p == '.' || **p == ',')) {
            double scale = 0.1;
            const char *f = ++*p;
            for (; *p < e && (unsigned)(**p - '0') <= 9; (*p)++, scale *= 0.1)
                frac += (**p - '0') * scale;
            if (*p == f)
                return -1;
        }
    }
    if (h == 24 && (mi || s || frac > 0))
        return -1;
    return h * 3600.0 + mi * 60.0 + s + frac;
}

int compute_parse_datetime(const char *s, const char *e, double *out)
{
    const char *p = s;
    double secs = 0;

    while (p < e && (*p == ' ' || *p == '"'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '"'))
        e--;
    if (e - p >= 10 && (p[4] == '-' || p[4] == '/') && p[7] == p[4]) {
        int y = digits(&p, e, 4), m, d;
        p++;
        m = digits(&p, e, 2);
        p++;
        d = digits(&p, e, 2);
        if (y < 0 || m < 1 || m > 12 || d < 1 || d > compute_days_in_month(y, m))
            return -1;
        secs = (double)compute_days_from_civil(y, m, d) * 86400.0;
        if (p < e) {
            if (*p != 'T' && *p != 't' && *p != ' ')
                return -1;
            p++;
            double tod = time_of_day(&p, e);
            if (tod < 0)
                return -1;
            secs += tod;
        }
    } else {
        double tod = time_of_day(&p, e);
        if (tod < 0)
            return -1;
        secs = tod;
    }
    /* the zone: Z, or an offset ±hh[[:]mm] */
    if (p < e && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < e && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if ((oh = digits(&p, e, 2)) < 0 || oh > 23)
            return -1;
        if (p < e && *p == ':')
            p++;
        if (p < e && (om = digits(&p, e, 2)) < 0)
            return -1;
        if (om > 59)
            return -1;
        secs -= sign * (oh * 3600.0 + om * 60.0);
    }
    if (p != e)
        return -1;
    *out = secs;
    return 0;
}
