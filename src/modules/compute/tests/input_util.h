/*
 * input_util.h — helpers shared by the compute input tests
 * (test_compute_input.c, test_compute_units.c, test_compute_runs.c):
 * synthetic sessions, aggregation of a buffer, CSV line surgery.
 */
#ifndef COMPUTE_TEST_INPUT_UTIL_H
#define COMPUTE_TEST_INPUT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "compute-internal.h"

static inline char *synth(const char *plan, double rate, int ms, int g, int deg, int semi, size_t *len)
{
    compute_synth_opts o = { .seed = 11, .plan = plan, .rate_hz = rate, .noise = 1, .drift = 1,
                             .time_ms = ms, .accel_g = g, .gyro_deg = deg, .semicolon = semi };
    char *csv = NULL, err[320];
    assert_int_equal(compute_synth_buffer(&o, &csv, len, NULL, err, sizeof err), 0);
    return csv;
}

static inline int agg(const char *csv, size_t len, compute_summary *s, char *err, size_t errlen)
{
    return compute_aggregate_buffer(csv, len, NULL, s, err, errlen);
}

static inline void expect_bad(const char *csv, size_t len, const char *needle)
{
    compute_summary *s = malloc(sizeof *s);
    char err[320] = "";
    assert_int_equal(agg(csv, len, s, err, sizeof err), KEEL_EBADDATA);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
    free(s);
}

/* Splits CSV text into a NULL-terminated array of malloc'ed lines. */
static inline char **lines_of(const char *csv, size_t len, size_t *n)
{
    size_t cap = 1024, k = 0;
    char **v = malloc(cap * sizeof *v);
    const char *p = csv, *end = csv + len;
    assert_non_null(v);
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        if (k + 2 > cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *v);
            assert_non_null(nv);
            v = nv;
        }
        v[k++] = strndup(p, (size_t)(e - p));
        p = e + 1;
    }
    v[k] = NULL;
    *n = k;
    return v;
}

static inline void free_lines(char **v)
{
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* Reorders the 7 cells of every line by perm, with delimiter d, line end eol. */
static inline char *rebuild(char **lines, size_t n, const int perm[7], const char *header, char d,
                     const char *eol, int bom, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (bom)
        fputs("\xEF\xBB\xBF", f);
    fprintf(f, "%s%s", header, eol);
    for (size_t i = 1; i < n; i++) {
        char *cells[7] = { 0 }, *save = NULL, *dup = strdup(lines[i]);
        char sep[2] = { d == ';' ? ';' : ',', 0 };
        int c = 0;
        for (char *tok = strtok_r(dup, sep, &save); tok && c < 7; tok = strtok_r(NULL, sep, &save))
            cells[c++] = tok;
        assert_int_equal(c, 7);
        for (int k = 0; k < 7; k++)
            fprintf(f, "%s%c", cells[perm[k]], k < 6 ? d : 0);
        fseek(f, -1, SEEK_CUR);
        fputs(eol, f);
        free(dup);
    }
    fclose(f);
    return out;
}

static inline void same_summary(const compute_summary *a, const compute_summary *b, double tol)
{
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        assert_true(fabs(a->gaits[g].time_s - b->gaits[g].time_s) <= tol * a->duration_s + 1e-9);
    assert_true(fabs(a->rein_left_s - b->rein_left_s) <= tol * a->duration_s + 1e-9);
    assert_int_equal(a->jump_count, b->jump_count);
    assert_true(fabs(a->duration_s - b->duration_s) < 1e-6 + tol);
}

/* Header cells and the canonical column and unit each must classify as. */
typedef struct col_case {
    const char  *n;
    int          col;
    compute_unit u;
} col_case;

static inline void expect_columns(const col_case *cases)
{
    for (int i = 0; cases[i].n; i++) {
        compute_unit u;
        int c = compute_column_classify(cases[i].n, strlen(cases[i].n), &u);
        if (c != cases[i].col || (c >= 0 && u != cases[i].u))
            fail_msg("'%s': column %d unit %d, want %d/%d", cases[i].n, c, u, cases[i].col, cases[i].u);
    }
}

static const char *const plan = "walk:30,trot-left:30,canter-right:30,jump:1.0,halt:10";

#endif
