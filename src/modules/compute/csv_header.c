/*
 * csv_header.c — a session CSV's header: the delimiter, which cell is which
 * canonical column and the units the names state (columns.c), a units row
 * right after it, and the lines some exports write before it.
 *
 * Lines before the header: device names, sample rates, a title ("Device:
 * MetaMotion", "Sample rate: 100 Hz").  Up to COMPUTE_PREAMBLE_MAX lines that
 * name no time and three acceleration columns are skipped until one does.
 * A line that starts like a data row (a number) ends the search: the file has
 * no usable header, and the error is that of the line that came closest (the
 * most columns recognised), so "time,ax,ay" followed by rows still says
 * "missing required column 'az'".
 */
#include <stdio.h>
#include <string.h>

#include "compute-internal.h"

/* Header line [s, e) without the line end. */
static int parse_header(compute_csv *p, const char *s, const char *e)
{
    int commas = 0, semis = 0, tabs = 0;
    compute_unit tu = COMPUTE_UNIT_AUTO, au = COMPUTE_UNIT_AUTO, gu = COMPUTE_UNIT_AUTO;

    for (const char *q = s; q < e; q++) {
        if (*q == ',') commas++;
        else if (*q == ';') semis++;
        else if (*q == '\t') tabs++;
        else if (*q == 0) {
            snprintf(p->err, sizeof p->err, "line %lld: binary data in the header", p->line);
            return KEEL_EBADDATA;
        }
    }
    p->delim = semis > commas && semis >= tabs ? ';' : tabs > commas ? '\t' : ',';
    /* bare axes ("x", "X-axis (g)"): accelerations, or rates with a rate
     * unit, when no column names them otherwise (below) */
    struct { int cell; compute_unit u; const char *c; size_t n; } bare[6];
    for (int k = 0; k < 6; k++)
        bare[k].cell = -1;
    int cell = 0;
    const char *c = s;
    for (;;) {
        const char *ce = c;
        while (ce < e && *ce != p->delim)
            ce++;
        compute_unit u = COMPUTE_UNIT_AUTO;
        int col = compute_column_classify(c, (size_t)(ce - c), &u);
        if (col >= COMPUTE_COL_BARE && col < COMPUTE_COL_BARE + 6) {
            int k = col - COMPUTE_COL_BARE;
            if (bare[k].cell < 0) {
                bare[k].cell = cell;
                bare[k].u = u;
                bare[k].c = c;
                bare[k].n = (size_t)(ce - c);
            }
            col = -1;
        }
        if (col >= 0 && col < COMPUTE_NCOLS && p->map[col] < 0) {
            p->map[col] = cell;
            size_t n = (size_t)(ce - c);
            if (n >= sizeof p->names[col])
                n = sizeof p->names[col] - 1;
            memcpy(p->names[col], c, n);
            p->names[col][n] = 0;
            if (col == COMPUTE_COL_T && u != COMPUTE_UNIT_AUTO) tu = u;
            if (col >= COMPUTE_COL_AX && col <= COMPUTE_COL_AZ && u != COMPUTE_UNIT_AUTO) au = u;
            if (col >= COMPUTE_COL_GX && u != COMPUTE_UNIT_AUTO) gu = u;
        }
        cell++;
        if (ce >= e)
            break;
        c = ce + 1;
    }
    p->ncells = cell;
    p->maxcell = 0;
    for (int grp = 0; grp < 2; grp++) {
        int first = grp ? COMPUTE_COL_GX : COMPUTE_COL_AX, named = 0;
        for (int k = 0; k < 3; k++)
            named |= p->map[first + k] >= 0;
        for (int k = 0; k < 3 && !named; k++) {
            int col = first + k;
            if (bare[3 * grp + k].cell < 0)
                continue;
            size_t n = bare[3 * grp + k].n < sizeof p->names[col] ? bare[3 * grp + k].n
                                                                  : sizeof p->names[col] - 1;
            p->map[col] = bare[3 * grp + k].cell;
            memcpy(p->names[col], bare[3 * grp + k].c, n);
            p->names[col][n] = 0;
            if (bare[3 * grp + k].u != COMPUTE_UNIT_AUTO)
                *(grp ? &gu : &au) = bare[3 * grp + k].u;
        }
    }
    /* accelerometer-only files (many loggers, phone exports) have no rate
     * column at all: accepted, with rein, lead and symmetry unknown */
    p->no_gyro = p->map[COMPUTE_COL_GX] < 0 && p->map[COMPUTE_COL_GY] < 0 &&
                 p->map[COMPUTE_COL_GZ] < 0;
    for (int i = 0; i < COMPUTE_NCOLS; i++) {
        if (p->map[i] < 0 && p->no_gyro && i >= COMPUTE_COL_GX)
            continue;
        if (p->map[i] < 0) {
            int n = (int)(e - s);
            snprintf(p->err, sizeof p->err,
                     "line %lld: missing required column '%s' (header: %.*s%s)", p->line,
                     compute_col_names[i], n > 120 ? 120 : n, s, n > 120 ? "…" : "");
            return 1; /* compute_csv_header_line decides: a preamble line, or the error */
        }
        if (p->map[i] > p->maxcell)
            p->maxcell = p->map[i];
    }
    if (p->no_gyro)
        compute_agg_no_gyro(p->agg);
    p->hint_t = tu;
    p->hint_a = au;
    p->hint_g = gu;
    compute_agg_hint(p->agg, tu, au, gu);
    p->have_header = 1;
    return 0;
}

/* One cell of a units row ("s", "ms", "g", "m/s^2", "deg/s", "rad/s" …). */
static compute_unit unit_cell(const char *s, const char *e)
{
    char u[16];
    size_t n = 0;
    for (; s < e; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == ' ' || ch == '"' || ch == '(' || ch == ')' || ch == '[' || ch == ']' || ch == '^')
            continue;
        if (n + 1 >= sizeof u)
            return COMPUTE_UNIT_AUTO;
        u[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    u[n] = 0;
    static const struct { const char *n; compute_unit u; } t[] = {
        { "s", COMPUTE_TIME_S }, { "sec", COMPUTE_TIME_S }, { "ms", COMPUTE_TIME_MS },
        { "g", COMPUTE_ACCEL_G }, { "mg", COMPUTE_ACCEL_MG }, { "m/s2", COMPUTE_ACCEL_MS2 }, { "ms2", COMPUTE_ACCEL_MS2 },
        { "mps2", COMPUTE_ACCEL_MS2 }, { "m/s\xc2\xb2", COMPUTE_ACCEL_MS2 },
        { "deg/s", COMPUTE_GYRO_DEGS }, { "dps", COMPUTE_GYRO_DEGS }, { "\xc2\xb0/s", COMPUTE_GYRO_DEGS },
        { "rad/s", COMPUTE_GYRO_RADS }, { "rads", COMPUTE_GYRO_RADS }, { NULL, COMPUTE_UNIT_AUTO }
    };
    for (int i = 0; t[i].n; i++)
        if (strcmp(u, t[i].n) == 0)
            return t[i].u;
    return COMPUTE_UNIT_AUTO;
}

/* A line right after the header whose mapped cells are all units (or
 * empty): read it as a units row.  Returns 1 if it was one. */
int compute_csv_units_row(compute_csv *p, const char *s, const char *le)
{
    compute_unit u[COMPUTE_NCOLS] = { 0 };
    int cell = 0, known = 0;
    const char *c = s;
    for (;;) {
        const char *ce = c;
        while (ce < le && *ce != p->delim)
            ce++;
        for (int i = 0; i < COMPUTE_NCOLS; i++) {
            if (p->map[i] != cell)
                continue;
            const char *t = c;
            while (t < ce && (*t == ' ' || *t == '\r'))
                t++;
            if (t == ce || (ce - t == 1 && *t == '\r'))
                continue;
            u[i] = unit_cell(c, ce > c && ce[-1] == '\r' ? ce - 1 : ce);
            if (u[i] == COMPUTE_UNIT_AUTO)
                return 0;
            known++;
        }
        cell++;
        if (ce >= le)
            break;
        c = ce + 1;
    }
    if (!known)
        return 0;
    for (int i = 0; i < COMPUTE_NCOLS; i++) {
        compute_unit want = u[i];
        if (!want)
            continue;
        int ok = i == COMPUTE_COL_T ? (want == COMPUTE_TIME_S || want == COMPUTE_TIME_MS)
               : i <= COMPUTE_COL_AZ ? (want == COMPUTE_ACCEL_G || want == COMPUTE_ACCEL_MS2 ||
                                        want == COMPUTE_ACCEL_MG)
               : (want == COMPUTE_GYRO_DEGS || want == COMPUTE_GYRO_RADS);
        if (!ok)
            return 0;
        if (i == COMPUTE_COL_T && !p->hint_t) p->hint_t = want;
        if (i >= COMPUTE_COL_AX && i <= COMPUTE_COL_AZ && !p->hint_a) p->hint_a = want;
        if (i >= COMPUTE_COL_GX && !p->hint_g) p->hint_g = want;
    }
    compute_agg_hint(p->agg, p->hint_t, p->hint_a, p->hint_g);
    p->units_row = 1;
    return 1;
}


/* How many canonical columns the failed header candidate named. */
static int named_columns(const compute_csv *p)
{
    int n = 0;
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        n += p->map[i] >= 0;
    return n;
}

/* A line that starts like a data row: a number, signed or quoted. */
static int looks_like_data(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '"'))
        s++;
    if (s < e && (*s == '-' || *s == '+'))
        s++;
    if (s < e && *s == '.')
        s++;
    return s < e && (unsigned)(*s - '0') <= 9;
}

int compute_csv_header_line(compute_csv *p, const char *s, const char *e)
{
    int rc = parse_header(p, s, e), named;

    if (rc <= 0)
        return rc;
    named = named_columns(p);
    if (!p->hdr_tried || named > p->hdr_named) {
        snprintf(p->hdr_err, sizeof p->hdr_err, "%s", p->err);
        p->hdr_named = named;
    }
    p->hdr_tried++;
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        p->map[i] = -1;
    /* the error stands if the input ends here, or now */
    if (p->hdr_tried == 1)
        snprintf(p->err, sizeof p->err, "%s", p->hdr_err);
    else
        snprintf(p->err, sizeof p->err, "no header naming time and three accelerations in "
                 "lines 1-%lld; the closest: %.180s", p->line, p->hdr_err);
    return p->hdr_tried >= COMPUTE_PREAMBLE_MAX || looks_like_data(s, e) ? KEEL_EBADDATA : 0;
}
