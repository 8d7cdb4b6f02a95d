/*
 * trace.c — the vertical acceleration of a session, downsampled for a
 * picture (docs/compute.md "trace").
 *
 * Vertical is the running gravity estimate of the aggregation stream (the
 * same one DBA and the gait windows use; for linear input the vertical axis
 * compute found, with gravity added back), so the trace shows what the
 * summary saw: a·ĝ − |g|, m/s^2, + = up, 0 at rest.
 *
 * Min/max per bucket keeps every peak a plot of N pixels could show (a mean
 * would flatten a jump's landing).  The duration is not known until the
 * end, so the buckets start narrow (TRACE_W0) and, whenever a sample falls
 * beyond the last of max_points, neighbours merge pairwise and the width
 * doubles: memory stays max_points buckets whatever the length, and the
 * result has between max_points/2 and max_points of them once the session
 * is longer than max_points * TRACE_W0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate-internal.h"

#define TRACE_W0 0.01   /* s: the first bucket width, one sample at 100 Hz */

void compute_agg_on_sample(compute_agg *g, compute_sample_cb cb, void *arg)
{
    g->on_sample = cb;
    g->on_sample_arg = arg;
}

typedef struct trace_bucket {
    double mn, mx;
    long   n;        /* samples in the bucket, 0 = empty (a gap) */
} trace_bucket;

typedef struct trace_acc {
    trace_bucket *b;
    size_t cap, used;   /* buckets allowed, highest index used + 1 */
    double width;
    long long samples;
    double t_last;
} trace_acc;

/* Halves the bucket count: bucket i becomes 2i and 2i+1 merged. */
static void merge_pairs(trace_acc *tr)
{
    size_t i, half = (tr->used + 1) / 2;

    for (i = 0; i < half; i++) {
        trace_bucket m = tr->b[2 * i];
        if (2 * i + 1 < tr->used) {
            const trace_bucket *o = &tr->b[2 * i + 1];
            if (o->n > 0 && (m.n == 0 || o->mn < m.mn))
                m.mn = o->mn;
            if (o->n > 0 && (m.n == 0 || o->mx > m.mx))
                m.mx = o->mx;
            m.n += o->n;
        }
        tr->b[i] = m;
    }
    memset(tr->b + half, 0, (tr->cap - half) * sizeof *tr->b);
    tr->used = half;
    tr->width *= 2;
}

static void on_sample(void *arg, double t, const double a[3], const double grav[3])
{
    trace_acc *tr = arg;
    double gn = sqrt(grav[0] * grav[0] + grav[1] * grav[1] + grav[2] * grav[2]);
    double v, k;
    size_t i;

    if (!(gn > 0) || !isfinite(t) || t < 0)
        return;
    v = (a[0] * grav[0] + a[1] * grav[1] + a[2] * grav[2]) / gn - gn;
    while ((k = floor(t / tr->width)) >= (double)tr->cap)
        merge_pairs(tr);
    i = (size_t)k;
    if (tr->b[i].n == 0 || v < tr->b[i].mn)
        tr->b[i].mn = v;
    if (tr->b[i].n == 0 || v > tr->b[i].mx)
        tr->b[i].mx = v;
    tr->b[i].n++;
    if (i + 1 > tr->used)
        tr->used = i + 1;
    tr->samples++;
    tr->t_last = t;
}

static json_t *num(double x, double scale)
{
    return json_real(round(x * scale) / scale);
}

/* The buckets with samples (a gap leaves none) as parallel arrays. */
static json_t *trace_json(const trace_acc *tr)
{
    json_t *t = json_array(), *mn = json_array(), *mx = json_array();
    int bad = t == NULL || mn == NULL || mx == NULL;

    for (size_t i = 0; !bad && i < tr->used; i++) {
        if (tr->b[i].n == 0)
            continue;
        bad = json_array_append_new(t, num((double)i * tr->width, 1e4)) != 0
              || json_array_append_new(mn, num(tr->b[i].mn, 1e4)) != 0
              || json_array_append_new(mx, num(tr->b[i].mx, 1e4)) != 0;
    }
    if (bad) {
        json_decref(t);
        json_decref(mn);
        json_decref(mx);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:I, s:o, s:i, s:o, s:o, s:o}", "unit", "m/s2",
                     "bucket_s", num(tr->width, 1e6), "samples", (json_int_t)tr->samples,
                     "duration_s", num(tr->t_last, 1e3), "max_points", (int)tr->cap,
                     "t", t, "min", mn, "max", mx);
}

int compute_trace_buffer(const char *csv, size_t len, const compute_options *opt,
                         int max_points, json_t **trace, char *err, size_t errlen)
{
    trace_acc tr = { .cap = (size_t)max_points, .width = TRACE_W0 };
    compute_summary *s = NULL;
    compute_agg *g = NULL;
    compute_csv p;
    long long n;
    int rc;

    *trace = NULL;
    if (max_points < COMPUTE_TRACE_MIN || max_points > COMPUTE_TRACE_MAX) {
        snprintf(err, errlen, "max_points: %d is outside %d..%d", max_points, COMPUTE_TRACE_MIN,
                 COMPUTE_TRACE_MAX);
        return KEEL_EINVAL;
    }
    tr.b = calloc(tr.cap, sizeof *tr.b);
    s = malloc(sizeof *s);
    g = compute_agg_new(opt);
    if (tr.b == NULL || s == NULL || g == NULL) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    compute_csv_init(&p, g);
    compute_agg_on_sample(g, on_sample, &tr);
    n = compute_csv_feed(&p, csv, len, 1);
    if (n < 0) {
        rc = (int)n;
        snprintf(err, errlen, "%s", p.err);
        goto out;
    }
    /* the summary finishes the stream (and names a file with no usable row) */
    rc = compute_csv_summary(&p, s, err, errlen);
    if (rc == 0 && (*trace = trace_json(&tr)) == NULL) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
    }
out:
    compute_agg_free(g);
    free(s);
    free(tr.b);
    return rc;
}
