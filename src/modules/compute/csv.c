/*
 * csv.c — resumable, zero-copy CSV chunk parser for sensor sessions.
 *
 * picohttpparser's contract: the caller owns the buffer, the parser reads
 * complete lines in place and says how many bytes it consumed; an unfinished
 * last line stays with the caller until more bytes (or eof) arrive.  Cells
 * are parsed straight into doubles by a locale-independent number parser: no
 * per-row allocation, no strtod.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"

static const double pow10_tab[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static int is_word(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != w[i])
            return 0;
    }
    return 1;
}

int compute_parse_number(const char *p, const char *end, char dec1, char dec2,
                         double *out, const char **next, int *isnan, char *seen_dec)
{
    uint64_t mant = 0;
    int neg = 0, ndig = 0, scale = 0, dropped = 0, any = 0;

    *isnan = 0;
    while (p < end && (*p == ' ' || *p == '"'))
        p++;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    while (p < end && (unsigned)(*p - '0') < 10) {
        if (ndig < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant)
                ndig++;
        } else {
            dropped++;
        }
        any = 1;
        p++;
    }
    if (p < end && (*p == dec1 || (dec2 && *p == dec2))) {
        if (seen_dec && !*seen_dec)
            *seen_dec = *p;
        p++;
        while (p < end && (unsigned)(*p - '0') < 10) {
            if (ndig < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant)
                    ndig++;
                scale--;
            }
            any = 1;
            p++;
        }
    }
    if (!any) {
        /* empty cell or a NaN spelling */
        static const char *const nans[] = { "nan", "null", "na", "none", "-", NULL };
        const char *q = p;
        for (int i = 0; nans[i]; i++) {
            if (is_word(q, end, nans[i])) {
                q += strlen(nans[i]);
                break;
            }
        }
        while (q < end && (*q == ' ' || *q == '"'))
            q++;
        *isnan = 1;
        *out = NAN;
        *next = q;
        return 0;
    }
    scale += dropped;
    if (p < end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        int eneg = 0, e = 0, edig = 0;
        if (q < end && (*q == '-' || *q == '+')) {
            eneg = *q == '-';
            q++;
        }
        while (q < end && (unsigned)(*q - '0') < 10) {
            if (e < 10000)
                e = e * 10 + (*q - '0');
            edig++;
            q++;
        }
        if (edig) {
            scale += eneg ? -e : e;
            p = q;
        }
    }
    while (p < end && (*p == ' ' || *p == '"'))
        p++;
    double v;
    if (mant <= (UINT64_C(1) << 53) && scale >= -22 && scale <= 22) {
        /* Clinger's fast path: both operands exact, one rounding */
        v = (double)mant;
        if (scale < 0)
            v /= pow10_tab[-scale];
        else
            v *= pow10_tab[scale];
    } else if (mant == 0) {
        v = 0;
    } else {
        /* More than 15 significant digits or a far exponent: correctly
         * rounded by strtod on a re-spelled "<digits>e<scale>" (no decimal
         * mark, so the locale cannot matter).  Any %.17g output then reads
         * back to the same double, whoever printed it. */
        char nb[48];
        snprintf(nb, sizeof nb, "%" PRIu64 "e%d", mant, scale);
        v = strtod(nb, NULL);
    }
    *out = neg ? -v : v;
    *next = p;
    return 0;
}

void compute_csv_init(compute_csv *p, compute_agg *agg)
{
    memset(p, 0, sizeof *p);
    p->agg = agg;
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        p->map[i] = -1;
}

/* The common case "-12.345" inline: at most 18 digits, no exponent, no
 * spaces or quotes.  Returns NULL when the generic parser must decide. */
static inline const char *fast_number(const char *p, const char *end, char dec2, double *out,
                                      char *seen_dec)
{
    const char *q = p, *ds;
    uint64_t m = 0;
    int neg = 0, scale = 0;

    if (q < end && *q == '-') {
        neg = 1;
        q++;
    }
    ds = q;
    while (q < end && (unsigned)(*q - '0') < 10)
        m = m * 10 + (uint64_t)(*q++ - '0');
    size_t nd = (size_t)(q - ds);
    if (q < end && (*q == '.' || *q == dec2)) {
        if (!*seen_dec)
            *seen_dec = *q;
        const char *fs = ++q;
        while (q < end && (unsigned)(*q - '0') < 10)
            m = m * 10 + (uint64_t)(*q++ - '0');
        scale = (int)(q - fs);
        nd += (size_t)scale;
    }
    if (nd == 0 || nd > 18 || m > (UINT64_C(1) << 53) ||
        (q < end && (*q == 'e' || *q == 'E' || *q == ' ' || *q == '"')))
        return NULL;
    double v = (double)m / pow10_tab[scale];
    *out = neg ? -v : v;
    return q;
}

/* A quoted number cell at q ('"'): "1.5", " -2 ", and in a ','-separated
 * file "1,5" (spreadsheets quote a decimal comma that would otherwise split
 * the cell; a cell with a '.' keeps ',' as text, so "1,234.5" is not a
 * number).  Returns the pointer after the closing quote (and spaces), or NULL
 * when the cell is not one quoted number (the caller's other paths decide). */
static const char *quoted_number(compute_csv *p, const char *q, const char *end, double *out)
{
    const char *cl = q + 1, *nx;
    int isn;
    while (cl < end && *cl != '"' && *cl != '\n')
        cl++;
    if (cl >= end || *cl != '"')
        return NULL;
    char d2 = p->delim == ',' ? 0 : ',';
    if (p->delim == ',' && !memchr(q + 1, '.', (size_t)(cl - q - 1)))
        d2 = ',';
    if (compute_parse_number(q + 1, cl, '.', d2, out, &nx, &isn, &p->seen_dec) < 0 || nx != cl)
        return NULL;
    for (nx = cl + 1; nx < end && *nx == ' '; nx++)
        ;
    return nx;
}

/* Data row starting at s; parses until the line end.  Returns the pointer
 * after the line end, NULL if the buffer ended first (incomplete line), or
 * sets *rc on a bad cell. */
static const char *parse_row(compute_csv *p, const char *s, const char *end, int eof, int *rc)
{
    double v[COMPUTE_NCOLS];
    double cellv[64];
    const char *q = s;
    int cell = 0;
    char dec1 = '.'; /* the decimal point is always accepted */
    char dec2 = p->delim == ',' ? 0 : ',';

    for (;;) {
        double x;
        int isn;
        const char *nx, *cstart = q;
        nx = fast_number(q, end, dec2 ? dec2 : '.', &x, &p->seen_dec);
        if (!nx && q < end && *q == '"' && !(nx = quoted_number(p, q, end, &x))) {
            nx = q; /* quoted text: the not-a-number path below decides */
            x = NAN;
        }
        if (!nx)
            compute_parse_number(q, end, dec1, dec2, &x, &nx, &isn, &p->seen_dec);
        if (cell < 64)
            cellv[cell] = x;
        cell++;
        q = nx;
        if (q >= end) {
            if (!eof)
                return NULL;
            break;
        }
        if (*q == p->delim) {
            q++;
            continue;
        }
        if (*q == '\n' || *q == '\r')
            break;
        /* something that is not a number; a quoted cell may hold delimiters */
        const char *cs = cstart, *ce;
        while (cs < end && *cs == ' ')
            cs++;
        ce = cs;
        if (ce < end && *ce == '"') {
            for (ce++; ce < end; ce++) {
                if (*ce != '"')
                    continue;
                if (ce + 1 < end && ce[1] == '"') {
                    ce++;
                    continue;
                }
                ce++;
                break;
            }
        }
        while (ce < end && *ce != p->delim && *ce != '\n' && *ce != '\r')
            ce++;
        if (ce >= end && !eof)
            return NULL;
        int col = -1;
        for (int i = 0; i < COMPUTE_NCOLS; i++)
            if (p->map[i] == cell - 1)
                col = i;
        if (col < 0) {
            /* an ignored column may hold text: skip it */
            q = ce;
            if (q < end && *q == p->delim) {
                q++;
                continue;
            }
            break;
        }
        if (col == COMPUTE_COL_T && compute_parse_datetime(cs, ce, &x) == 0) {
            /* "2024-03-01T10:00:00.125Z", "10:00:00.125": seconds */
            if (!p->time_text) {
                p->time_text = 1;
                compute_agg_time_text(p->agg);
            }
            if (cell - 1 < 64)
                cellv[cell - 1] = x;
            q = ce;
            if (q < end && *q == p->delim) {
                q++;
                continue;
            }
            break;
        }
        if (p->rows == 0 && !p->units_row) {
            const char *le = memchr(s, '\n', (size_t)(end - s));
            if (!le && !eof)
                return NULL;
            if (!le)
                le = end;
            if (compute_csv_units_row(p, s, le)) {
                p->line++;
                return le < end ? le + 1 : end;
            }
        }
        snprintf(p->err, sizeof p->err, "row %lld (line %lld), column '%s': not a number: '%.*s'",
                 p->rows + 1, p->line + 1, p->names[col], (int)(ce - cs > 40 ? 40 : ce - cs), cs);
        *rc = KEEL_EBADDATA;
        return end;
    }
    /* q at line end or eof */
    if (q < end && *q == '\r')
        q++;
    if (q < end && *q == '\n')
        q++;
    p->line++;
    if (cell <= 1 && isnan(cellv[0]))
        return q; /* a blank (or whitespace-only) line */
    p->rows++;
    if (cell > p->ncells) {
        /* more cells than the header: the columns would shift silently.
         * Empty trailing cells (a trailing delimiter) are harmless. */
        for (int i = p->ncells; i < cell && i < 64; i++) {
            if (!isnan(cellv[i])) {
                snprintf(p->err, sizeof p->err,
                         "row %lld (line %lld): %d cells, the header has %d (a delimiter inside a "
                         "value? columns would shift)", p->rows, p->line, cell, p->ncells);
                *rc = KEEL_EBADDATA;
                return end;
            }
        }
    }
    if (cell <= p->maxcell || p->maxcell >= 64) {
        compute_agg_drop(p->agg);
        return q;
    }
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        v[i] = p->map[i] >= 0 ? cellv[p->map[i]] : 0.0;
    compute_agg_push(p->agg, v);
    return q;
}

long long compute_csv_feed(compute_csv *p, const char *buf, size_t len, int eof)
{
    const char *s = buf, *end = buf + len;

    while (s < end) {
        if (!p->have_header) {
            const char *e = memchr(s, '\n', (size_t)(end - s));
            if (!e && !eof)
                break;
            const char *le = e ? e : end;
            const char *hs = s;
            if (p->line == 0 && le - hs >= 3 && (unsigned char)hs[0] == 0xEF &&
                (unsigned char)hs[1] == 0xBB && (unsigned char)hs[2] == 0xBF)
                hs += 3;
            const char *he = le;
            if (he > hs && he[-1] == '\r')
                he--;
            p->line++;
            s = e ? e + 1 : end;
            const char *t = hs;
            while (t < he && (*t == ' ' || *t == '\t'))
                t++;
            if (t == he)
                continue; /* blank line before the header */
            int rc = compute_csv_header_line(p, hs, he);
            if (rc < 0)
                return rc;
            continue;
        }
        int rc = 0;
        const char *nx = parse_row(p, s, end, eof, &rc);
        if (rc < 0)
            return rc;
        if (!nx)
            break;
        s = nx;
    }
    return (long long)(s - buf);
}

int compute_csv_feed_buf(compute_csv *p, char *buf, size_t *have, int eof, char *err, size_t errlen)
{
    long long used = compute_csv_feed(p, buf, *have, eof);

    if (used < 0) {
        snprintf(err, errlen, "%s", p->err);
        return (int)used;
    }
    memmove(buf, buf + used, *have - (size_t)used);
    *have -= (size_t)used;
    return 0;
}

int compute_csv_finish(compute_csv *p)
{
    if (!p->have_header) {
        if (!p->hdr_tried)
            snprintf(p->err, sizeof p->err, "empty input: no header line");
        return KEEL_EBADDATA; /* else p->err: the likeliest header's error */
    }
    if (p->rows == 0) {
        snprintf(p->err, sizeof p->err, "no data rows after the header");
        return KEEL_EBADDATA;
    }
    return 0;
}

int compute_csv_summary(compute_csv *p, compute_summary *s, char *err, size_t errlen)
{
    int rc = compute_csv_finish(p);

    if (rc < 0) {
        snprintf(err, errlen, "%s", p->err);
        return rc;
    }
    rc = compute_agg_finish(p->agg, s, err, errlen);
    if (rc < 0)
        return rc;
    s->delimiter = p->delim;
    s->decimal = p->seen_dec ? p->seen_dec : '.';
    s->no_gyro = p->no_gyro;
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        memcpy(s->columns[i], p->names[i], sizeof s->columns[i]);
    return rc;
}

int compute_aggregate_buffer(const char *csv, size_t len, const compute_options *opt,
                             compute_summary *s, char *err, size_t errlen)
{
    return compute_windows_buffer(csv, len, opt, NULL, NULL, s, err, errlen);
}

int compute_windows_buffer(const char *csv, size_t len, const compute_options *opt,
                           compute_window_cb cb, void *arg, compute_summary *s,
                           char *err, size_t errlen)
{
    compute_csv p;
    int rc = 0;
    compute_agg *g = compute_agg_new(opt);
    if (!g) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    compute_csv_init(&p, g);
    compute_agg_on_window(g, cb, arg);
    long long n = compute_csv_feed(&p, csv, len, 1);
    if (n < 0) {
        rc = (int)n;
        snprintf(err, errlen, "%s", p.err);
        goto out;
    }
    rc = compute_csv_summary(&p, s, err, errlen);
out:
    compute_agg_free(g);
    return rc;
}
