/*
 * compute/trend.c — cross-session trend (contract in trend.h, definitions of
 * every output and threshold in docs/compute.md "## trend").
 *
 * One pass validates and groups the session lines by horse; each horse is then
 * sorted by instant and reduced metric by metric: latest, baseline (median of
 * the previous N), change, robust z (MAD), Theil–Sen slope, plus ISO-week
 * aggregates and EWMA acute/chronic load; the flags are raised by
 * trend_flags.c.  Depends on jansson and keel/error.h only.
 */
#include "trend-internal.h"
#include "compute-internal.h"
#include "options.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"

/* ---- options (the table code: options.c) ------------------------------- */

#define TREND_OPT(n, i, d, lo, hi, u, m) COMPUTE_OPT(trend_opts, n, i, d, lo, hi, u, m)
static const compute_optkey trend_opt_keys[] = {
    TREND_OPT(baseline_n,          1, 5,   1,   1000, "sessions", "earlier sessions in the baseline"),
    TREND_OPT(min_baseline,        1, 3,   1,   1000, "sessions", "earlier values needed before a z-score is given"),
    TREND_OPT(z_threshold,         0, 2.5, 0.1, 100, "robust z", "|z| needed by the z-gated flags"),
    TREND_OPT(slope_max_n,         1, 200, 2,   2000, "sessions", "most recent sessions in the Theil-Sen slope"),
    TREND_OPT(symmetry_drop,       0, 5,   0,   100, "points", "trot symmetry lost for symmetry_drop"),
    TREND_OPT(rein_balance_max,    0, 0.2, 0,   1, "-", "|rein balance| for rein_imbalance"),
    TREND_OPT(cadence_shift_pct,   0, 8,   0,   1000, "%", "cadence change for cadence_shift"),
    TREND_OPT(regularity_drop_pct, 0, 10,  0,   100, "%", "regularity lost for regularity_drop"),
    TREND_OPT(acwr_max,            0, 1.5, 0,   100, "ratio", "acute:chronic workload ratio for load_spike"),
    TREND_OPT(acwr_min_days,       1, 28,  1,   3660, "days", "history needed before load_spike"),
    TREND_OPT(acute_days,          1, 7,   1,   365, "days", "acute EWMA span"),
    TREND_OPT(chronic_days,        1, 28,  1,   3660, "days", "chronic EWMA span (>= acute_days)"),
    {0}
};

void compute_trend_defaults(FILE *f, json_t *json)
{
    compute_opts_print(f, "trend", trend_opt_keys, json);
}

/* ---- tracked metrics (enum and struct: trend-internal.h) --------------- */

#define TREND_GAIT(g) {{"gaits", g, "time_s"}}
const trend_metric compute_trend_metrics[M_COUNT + 1] = {
    {"duration_s",               {"duration_s"},                      {{0}}},
    {"gaits.halt.time_s",        {"gaits", "halt", "time_s"},         {{0}}},
    {"gaits.walk.time_s",        {"gaits", "walk", "time_s"},         {{0}}},
    {"gaits.trot.time_s",        {"gaits", "trot", "time_s"},         {{0}}},
    {"gaits.canter.time_s",      {"gaits", "canter", "time_s"},       {{0}}},
    {"gaits.gallop.time_s",      {"gaits", "gallop", "time_s"},       {{0}}},
    {"gaits.walk.cadence_spm",   {"gaits", "walk", "cadence_spm"},    TREND_GAIT("walk")},
    {"gaits.trot.cadence_spm",   {"gaits", "trot", "cadence_spm"},    TREND_GAIT("trot")},
    {"gaits.canter.cadence_spm", {"gaits", "canter", "cadence_spm"},  TREND_GAIT("canter")},
    {"gaits.trot.regularity",    {"gaits", "trot", "regularity"},     TREND_GAIT("trot")},
    {"gaits.canter.regularity",  {"gaits", "canter", "regularity"},   TREND_GAIT("canter")},
    {"rein.balance",             {"rein", "balance"},                 {{"rein", "left_s"}, {"rein", "right_s"}}},
    {"trot_symmetry_pct",        {"trot_symmetry_pct"},               TREND_GAIT("trot")},
    {"intensity.mdba",           {"intensity", "mdba"},               {{0}}},
    {"intensity.load",           {"intensity", "load"},               {{0}}},
    {"jump_count",               {"jump_count"},                      {{0}}},
    {0}
};
#undef TREND_GAIT

/* ---- run state (trend_opts, trend_stat, trend_load: trend-internal.h) ---- */

typedef struct trend_sess {
    double        t;    /* UTC instant in days since 1970-01-01 (sorting, slopes) */
    long          day;  /* calendar day as written, days since 1970-01-01 */
    size_t        idx;  /* index in the input array (ties, messages) */
    const json_t *line; /* borrowed */
    const json_t *sum;  /* borrowed: "summary" or the line itself */
} trend_sess;

typedef struct trend_horse {
    const json_t *id;   /* borrowed */
    trend_sess   *s;
    size_t        n, cap;
} trend_horse;

typedef struct trend_run {
    trend_opts   o;
    trend_horse *h;
    size_t       nh, caph;
    double      *t, *v, *scratch; /* per-horse work arrays */
    char        *err;
    size_t       errlen;
} trend_run;

static int trend_fail(trend_run *r, int code, const char *fmt, ...)
{
    va_list ap;
    if (r->err && r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- input --------------------------------------------------------------- */

static int trend_options(trend_run *r, const json_t *options, json_t **echo)
{
    char err[160];
    int rc;

    compute_opts_init(trend_opt_keys, &r->o);
    if ((rc = compute_opts_set(trend_opt_keys, &r->o, options, err, sizeof err)) != 0)
        return trend_fail(r, rc, "%s", err);
    if (r->o.acute_days > r->o.chronic_days)
        return trend_fail(r, KEEL_EINVAL, "options.acute_days: must not exceed chronic_days");
    *echo = compute_opts_echo(trend_opt_keys, &r->o);
    return *echo ? 0 : KEEL_ENOMEM;
}

/* Validates line i and appends it to its horse (map: key → horse index). */
static int trend_add(trend_run *r, json_t *map, size_t i, const json_t *line)
{
    char key[256];
    const json_t *id = json_object_get(line, "horse_id"), *date = json_object_get(line, "date");
    const json_t *sum = json_object_get(line, "summary");
    const char *why;
    trend_sess s = {.idx = i, .line = line, .sum = sum ? sum : line};
    trend_horse *h;

    if (!json_is_object(line)) return trend_fail(r, KEEL_EBADDATA, "sessions[%zu]: must be an object", i);
    if (!id || json_is_null(id)) return trend_fail(r, KEEL_EBADDATA, "sessions[%zu]: missing horse_id", i);
    if (json_is_integer(id)) {
        snprintf(key, sizeof key, "i:%" JSON_INTEGER_FORMAT, json_integer_value(id));
    } else if (json_is_string(id) && json_string_length(id) > 0 && json_string_length(id) < 200 &&
               strlen(json_string_value(id)) == json_string_length(id)) {
        snprintf(key, sizeof key, "s:%s", json_string_value(id));
    } else {
        return trend_fail(r, KEEL_EBADDATA,
                          "sessions[%zu].horse_id: must be an integer or a non-empty string (< 200 bytes)", i);
    }
    if (!date || json_is_null(date)) return trend_fail(r, KEEL_EBADDATA, "sessions[%zu]: missing date", i);
    if (!json_is_string(date)) return trend_fail(r, KEEL_EBADDATA, "sessions[%zu].date: must be a string", i);
    if ((why = compute_trend_parse_date(json_string_value(date), &s.day, &s.t)))
        return trend_fail(r, KEEL_EBADDATA, "sessions[%zu].date: \"%.40s\": %s", i,
                          json_string_value(date), why);
    if (sum && !json_is_object(sum))
        return trend_fail(r, KEEL_EBADDATA, "sessions[%zu].summary: must be an object", i);

    json_t *slot = json_object_get(map, key);
    if (slot) {
        h = &r->h[json_integer_value(slot)];
    } else {
        if (r->nh == r->caph) {
            size_t cap = r->caph ? 2 * r->caph : 16;
            trend_horse *nh = realloc(r->h, cap * sizeof *nh);
            if (!nh) return KEEL_ENOMEM;
            r->h = nh;
            r->caph = cap;
        }
        if (json_object_set_new(map, key, json_integer((json_int_t)r->nh))) return KEEL_ENOMEM;
        h = &r->h[r->nh++];
        *h = (trend_horse){.id = id};
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        trend_sess *ns = realloc(h->s, cap * sizeof *ns);
        if (!ns) return KEEL_ENOMEM;
        h->s = ns;
        h->cap = cap;
    }
    h->s[h->n++] = s;
    return 0;
}

static int trend_sess_cmp(const void *pa, const void *pb)
{
    const trend_sess *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Value at a path: 1 and *v set when present, 0 when absent or null, -1
 * when something on the path has the wrong type. */
static int trend_path(const json_t *j, const char *const path[3], double *v)
{
    for (int i = 0; i < 3 && path[i]; i++) {
        if (!json_is_object(j)) return -1;
        j = json_object_get(j, path[i]);
        if (!j || json_is_null(j)) return 0;
    }
    if (!json_is_number(j)) return -1;
    *v = json_number_value(j);
    return 1;
}

/* A metric of one summary: 1 present, 0 absent/null/gated off, -1 bad type. */
static int trend_get(const json_t *sum, const trend_metric *m, double *v)
{
    double g, gsum = 0;
    int rc = trend_path(sum, m->path, v), gated = 0;
    for (int i = 0; rc > 0 && i < 2 && m->gate[i][0]; i++)
        if (trend_path(sum, m->gate[i], &g) > 0) {
            gated = 1;
            gsum += g;
        }
    return rc > 0 && gated && gsum <= 0 ? 0 : rc;
}

/* ---- output -------------------------------------------------------------- */

json_t *compute_trend_num(int has, double x)
{
    return has && isfinite(x) ? json_real(x) : json_null();
}

static json_t *trend_stat_json(const trend_stat *st)
{
    return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:s?,s:o}",
                     "n", (json_int_t)st->n, "baseline_n", (json_int_t)st->nbase,
                     "latest", compute_trend_num(1, st->latest),
                     "baseline", compute_trend_num(st->has_base, st->baseline),
                     "change", compute_trend_num(st->has_base, st->change),
                     "change_pct", compute_trend_num(st->has_pct, st->change_pct),
                     "z", compute_trend_num(st->has_z, st->z), "z_basis", st->z_basis,
                     "slope_30d", compute_trend_num(st->has_slope, st->slope));
}

typedef struct trend_week {
    long   monday;
    size_t n, ndur, nload, nsym;
    double dur, load, sym;
} trend_week;

static int trend_week_cmp(const void *pa, const void *pb)
{
    const trend_week *a = pa, *b = pb;
    return a->monday < b->monday ? -1 : a->monday > b->monday;
}

/* ISO-week aggregates of one horse, oldest first.  New reference or NULL. */
static json_t *trend_weekly(const trend_horse *h)
{
    trend_week *w = calloc(h->n, sizeof *w);
    json_t *arr = json_array(), *res = NULL;
    size_t nw = 0, j;
    double x;
    char label[16];
    int y, mo, d;

    if (!w || !arr) goto out;
    for (size_t i = 0; i < h->n; i++) {
        const trend_sess *s = &h->s[i];
        long mon = s->day - ((s->day % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
        for (j = 0; j < nw && w[nw - 1 - j].monday != mon; j++) {}
        if (j == nw) {
            j = nw++;
            w[j].monday = mon;
        } else {
            j = nw - 1 - j;
        }
        w[j].n++;
        if (trend_get(s->sum, &compute_trend_metrics[M_DURATION], &x) > 0) { w[j].dur += x; w[j].ndur++; }
        if (trend_get(s->sum, &compute_trend_metrics[M_LOAD], &x) > 0) { w[j].load += x; w[j].nload++; }
        if (trend_get(s->sum, &compute_trend_metrics[M_SYM], &x) > 0) { w[j].sym += x; w[j].nsym++; }
    }
    qsort(w, nw, sizeof *w, trend_week_cmp);
    for (j = 0; j < nw; j++) {
        long thu = w[j].monday + 3; /* the ISO year is the year of the week's Thursday */
        compute_civil_from_days(thu, &y, &mo, &d);
        snprintf(label, sizeof label, "%04d-W%02d", y,
                 (int)((thu - compute_days_from_civil(y, 1, 1)) / 7 + 1));
        json_t *o = json_pack("{s:s,s:o,s:I,s:o,s:o,s:o}", "week", label,
                              "start", compute_trend_date_json(w[j].monday), "sessions", (json_int_t)w[j].n,
                              "duration_s", compute_trend_num(w[j].ndur > 0, w[j].dur),
                              "load", compute_trend_num(w[j].nload > 0, w[j].load),
                              "trot_symmetry_pct",
                              compute_trend_num(w[j].nsym > 0, w[j].sym / (double)(w[j].nsym ? w[j].nsym : 1)));
        if (json_array_append_new(arr, o)) goto out;
    }
    res = arr;
    arr = NULL;
out:
    free(w);
    json_decref(arr);
    return res;
}

typedef struct trend_day {
    long   day;
    double load;
} trend_day;

static int trend_day_cmp(const void *pa, const void *pb)
{
    const trend_day *a = pa, *b = pb;
    return a->day < b->day ? -1 : a->day > b->day;
}

/* EWMA acute/chronic load over every calendar day from the horse's first
 * session to its last (days without a session count 0).  0 or KEEL_ENOMEM. */
static int trend_loads(const trend_run *r, const trend_horse *h, trend_load *ld, long *first, long *last)
{
    trend_day *dl = malloc(h->n * sizeof *dl);
    double la = 2.0 / (r->o.acute_days + 1), lc = 2.0 / (r->o.chronic_days + 1), x;
    size_t k = 0, p = 0;

    if (!dl) return KEEL_ENOMEM;
    memset(ld, 0, sizeof *ld);
    *first = *last = h->s[0].day;
    for (size_t i = 0; i < h->n; i++) {
        if (h->s[i].day < *first) *first = h->s[i].day;
        if (h->s[i].day > *last) *last = h->s[i].day;
        if (trend_get(h->s[i].sum, &compute_trend_metrics[M_LOAD], &x) > 0)
            dl[k++] = (trend_day){h->s[i].day, x};
    }
    qsort(dl, k, sizeof *dl, trend_day_cmp);
    /* Day by day this is EWMA_d = λ·load_d + (1−λ)·EWMA_{d−1}; a run of g
     * days without load just multiplies by (1−λ)^g, so the cost is O(sessions),
     * not O(days): a horse dated 0001 and 9999 cannot stall the call. */
    long prev = *first - 1;
    while (p < k) {
        long d = dl[p].day;
        double day_load = 0;
        while (p < k && dl[p].day == d) day_load += dl[p++].load;
        ld->acute = la * day_load + (1 - la) * ld->acute * pow(1 - la, (double)(d - prev - 1));
        ld->chronic = lc * day_load + (1 - lc) * ld->chronic * pow(1 - lc, (double)(d - prev - 1));
        prev = d;
    }
    ld->acute *= pow(1 - la, (double)(*last - prev));
    ld->chronic *= pow(1 - lc, (double)(*last - prev));
    ld->days = *last - *first + 1;
    ld->nload = k;
    if (k > 0 && ld->chronic > 0) {
        ld->acwr = ld->acute / ld->chronic;
        ld->has_acwr = 1;
    }
    free(dl);
    return 0;
}

/* One horse's output object (*out new reference).  0 or a KEEL_E* code. */
static int trend_horse_out(trend_run *r, trend_horse *h, json_t **out)
{
    trend_stat st[M_COUNT];
    int have[M_COUNT] = {0}, rc = KEEL_ENOMEM;
    json_t *metrics = json_object(), *flags = json_array(), *weekly = NULL, *ho = NULL;
    const json_t *sid;
    trend_load ld;
    long first, last;

    if (!metrics || !flags) goto out;
    qsort(h->s, h->n, sizeof *h->s, trend_sess_cmp);
    for (int m = 0; m < M_COUNT; m++) {
        size_t k = 0;
        for (size_t i = 0; i < h->n; i++) {
            int g = trend_get(h->s[i].sum, &compute_trend_metrics[m], &r->v[k]);
            if (g < 0) {
                rc = trend_fail(r, KEEL_EBADDATA, "sessions[%zu].%s%s: must be a number or null",
                                h->s[i].idx, h->s[i].sum == h->s[i].line ? "" : "summary.",
                                compute_trend_metrics[m].name);
                goto out;
            }
            if (g) r->t[k++] = h->s[i].t;
        }
        if (k == 0) continue;
        compute_trend_stats(&r->o, r->scratch, r->t, r->v, k, &st[m]);
        have[m] = 1;
        if (json_object_set_new(metrics, compute_trend_metrics[m].name, trend_stat_json(&st[m]))) goto out;
    }
    if (!(weekly = trend_weekly(h))) goto out;
    if (trend_loads(r, h, &ld, &first, &last) || compute_trend_flags(&r->o, st, have, &ld, flags)) goto out;
    sid = json_object_get(h->s[h->n - 1].line, "session_id");
    ho = json_pack("{s:o,s:I,s:o,s:o,s:o,s:O,s:O,s:{s:o,s:o,s:o,s:I,s:o,s:I},s:O}",
                   "horse_id", json_deep_copy(h->id), "sessions", (json_int_t)h->n,
                   "first_date", compute_trend_date_json(first), "last_date", compute_trend_date_json(last),
                   "last_session_id", sid ? json_deep_copy(sid) : json_null(),
                   "metrics", metrics, "weekly", weekly,
                   "load", "acute", compute_trend_num(ld.nload > 0, ld.acute),
                   "chronic", compute_trend_num(ld.nload > 0, ld.chronic),
                   "acwr", compute_trend_num(ld.has_acwr, ld.acwr),
                   "days", (json_int_t)ld.days, "as_of", compute_trend_date_json(last),
                   "sessions_with_load", (json_int_t)ld.nload,
                   "flags", flags);
    rc = ho ? 0 : KEEL_ENOMEM;
out:
    json_decref(metrics);
    json_decref(flags);
    json_decref(weekly);
    *out = ho;
    return rc;
}

int compute_trend_run(const json_t *sessions, const json_t *options, json_t **out,
                      char *err, size_t errlen)
{
    trend_run r = {.err = err, .errlen = errlen};
    json_t *map = NULL, *res = NULL, *horses = NULL, *echo = NULL;
    size_t maxn = 0, pairs;
    int rc;

    if (err && errlen) err[0] = '\0';
    if (!out) return trend_fail(&r, KEEL_EINVAL, "out: must not be NULL");
    *out = NULL;
    if (!json_is_array(sessions)) {
        rc = trend_fail(&r, KEEL_EINVAL, "sessions: must be a JSON array");
        goto out;
    }
    if ((rc = trend_options(&r, options, &echo))) goto out;
    map = json_object();
    if (!map) { rc = KEEL_ENOMEM; goto out; }
    for (size_t i = 0; i < json_array_size(sessions); i++)
        if ((rc = trend_add(&r, map, i, json_array_get(sessions, i)))) goto out;
    for (size_t i = 0; i < r.nh; i++)
        if (r.h[i].n > maxn) maxn = r.h[i].n;
    pairs = maxn < (size_t)r.o.slope_max_n ? maxn : (size_t)r.o.slope_max_n;
    pairs = pairs * (pairs - (pairs > 0)) / 2 + maxn + 1;
    r.t = malloc((maxn + 1) * sizeof *r.t);
    r.v = malloc((maxn + 1) * sizeof *r.v);
    r.scratch = malloc(pairs * sizeof *r.scratch);
    res = json_object();
    horses = json_array();
    if (!r.t || !r.v || !r.scratch || !res || !horses) { rc = KEEL_ENOMEM; goto out; }
    for (size_t i = 0; i < r.nh; i++) {
        json_t *ho = NULL;
        if ((rc = trend_horse_out(&r, &r.h[i], &ho))) goto out;
        if (json_array_append_new(horses, ho)) { rc = KEEL_ENOMEM; goto out; }
    }
    if (json_object_set(res, "horses", horses) || json_object_set(res, "options", echo)) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    *out = res;
    res = NULL;
    rc = 0;
out:
    if (rc == KEEL_ENOMEM) trend_fail(&r, rc, "out of memory");
    for (size_t i = 0; i < r.nh; i++) free(r.h[i].s);
    free(r.h);
    free(r.t);
    free(r.v);
    free(r.scratch);
    json_decref(map);
    json_decref(res);
    json_decref(horses);
    json_decref(echo);
    return rc;
}
