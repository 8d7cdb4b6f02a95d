/*
 * summary.c — compute_summary <-> JSON (the fixed shape of docs/compute.md).
 */
#include <stddef.h>
#include <math.h>
#include <string.h>

#include "compute-internal.h"

static json_t *num(double x, double scale)
{
    if (!isfinite(x))
        x = 0;
    return json_real(round(x * scale) / scale);
}

json_t *compute_summary_json(const compute_summary *s)
{
    char d[2] = { s->delimiter ? s->delimiter : ',', 0 };
    char m[2] = { s->decimal ? s->decimal : '.', 0 };
    json_t *cols = json_object(), *gaits = json_object(), *jumps = json_array();

    for (int i = 0; i < COMPUTE_NCOLS; i++)
        if (!(s->no_gyro && i >= COMPUTE_COL_GX))
            json_object_set_new(cols, compute_col_names[i], json_string(s->columns[i]));
    for (int i = 0; i < COMPUTE_NGAITS; i++) {
        const compute_gait_stats *g = &s->gaits[i];
        json_object_set_new(gaits, compute_gait_names[i],
                            json_pack("{s:o,s:o,s:o,s:o}", "time_s", num(g->time_s, 100),
                                      "share", num(g->share, 1e4), "cadence_spm",
                                      num(g->cadence_spm, 100), "regularity",
                                      num(g->regularity, 100)));
    }
    json_t *assumed_src = json_pack("{s:s,s:s,s:s}", "time_unit", s->time_src ? s->time_src : "detected",
                                    "accel_unit", s->accel_src ? s->accel_src : "detected",
                                    "gyro_unit", s->gyro_src ? s->gyro_src : "detected");
    size_t nj = s->jump_count < COMPUTE_MAX_JUMPS ? s->jump_count : COMPUTE_MAX_JUMPS;
    for (size_t i = 0; i < nj; i++)
        json_array_append_new(jumps, json_pack("{s:o,s:o,s:o}", "t", num(s->jumps[i].t, 1000),
                                               "airtime_s", num(s->jumps[i].airtime_s, 1000),
                                               "height_m", num(s->jumps[i].height_m, 1000)));
    json_t *out = json_pack(
        "{s:o,s:I,s:o,"
        "s:{s:I,s:o,s:I,s:I,s:I},"
        "s:{s:s,s:s,s:s,s:s,s:s,s:o,s:o},"
        "s:o,"
        "s:{s:o,s:o,s:o,s:o},"
        "s:o,"
        "s:{s:o,s:o,s:o,s:o},"
        "s:o,s:I,"
        "s:{s:o,s:o}}",
        "duration_s", num(s->duration_s, 1000), "samples", (json_int_t)s->samples,
        "rate_hz", num(s->rate_hz, 1000),
        "quality", "gaps", (json_int_t)s->gaps, "gap_s", num(s->gap_s, 1000),
        "dropped_rows", (json_int_t)s->dropped_rows, "nonmonotonic_rows",
        (json_int_t)s->nonmonotonic_rows, "nan_cells", (json_int_t)s->nan_cells,
        "assumed", "time_unit", s->time_unit ? s->time_unit : "s",
        "accel_unit", s->accel_unit ? s->accel_unit : "m/s2",
        "gyro_unit", s->gyro_unit ? s->gyro_unit : "rad/s", "delimiter", d, "decimal", m,
        "columns", cols, "sources", assumed_src,
        "gaits", gaits,
        "rein", "left_s", num(s->rein_left_s, 100), "right_s", num(s->rein_right_s, 100),
        "straight_s", num(s->rein_straight_s, 100), "balance", num(s->rein_balance, 1e4),
        "trot_symmetry_pct", num(s->trot_symmetry_pct, 100),
        "canter_lead", "left_s", num(s->canter_lead_left_s, 100), "right_s",
        num(s->canter_lead_right_s, 100), "true_s", num(s->canter_true_s, 100),
        "counter_s", num(s->canter_counter_s, 100),
        "jumps", jumps, "jump_count", (json_int_t)s->jump_count,
        "intensity", "mdba", num(s->mdba, 1e4), "load", num(s->load, 100));
    if (out) {
        json_object_set_new(out, "unclassified", json_pack("{s:o,s:o}",
                            "time_s", num(s->unclassified_s, 100),
                            "share", num(s->unclassified_share, 1e4)));
        compute_summary_inputs_json(s, out);
        json_object_set_new(out, "gait_rein", compute_breakdown_json(s));
        json_object_set_new(out, "bouts", compute_bouts_json(s));
        json_object_set_new(out, "bout_count", json_integer((json_int_t)s->bout_count));
    }
    if (out && s->no_gyro) {
        /* accelerometer only: no turning sense, no roll to name a lead or a
         * diagonal; unknown is null, never 0 */
        json_object_set_new(out, "rein", json_null());
        json_object_set_new(out, "canter_lead", json_null());
        json_object_set_new(out, "trot_symmetry_pct", json_null());
        json_object_set_new(out, "trot_reins", json_null());
        json_object_set_new(out, "rising_trot", json_null());
        json_object_set_new(out, "sitting_trot", json_null());
        json_object_set_new(json_object_get(out, "assumed"), "missing",
                            json_pack("[sss]", "gx", "gy", "gz"));
        json_object_set_new(out, "options", compute_params_json(&s->params));
        return out;
    }
    if (out)
        json_object_set_new(json_object_get(out, "assumed"), "missing", json_array());
    /* trot per rein: signed asymmetry of the diagonals (null: no trot there) */
    static const char *const rn[3] = { "left", "right", "straight" };
    json_t *tr = json_object();
    for (int i = 0; out && tr && i < 3; i++) {
        int has = compute_trot_rein_known(s, i);
        json_object_set_new(tr, rn[i], json_pack("{s:o,s:o,s:o}",
            "time_s", num(s->trot_rein_s[i], 100),
            "asymmetry_pct", has ? num(s->trot_rein_asym[i], 100) : json_null(),
            "symmetry_pct", has ? num(100 - fabs(s->trot_rein_asym[i]), 100) : json_null()));
    }
    /* rising (posting) trot and the rest, each with its own symmetry
     * (docs/compute.md "rising trot"); null: none there */
    json_t *rt = json_pack("{s:o,s:o,s:I,s:o}", "time_s", num(s->rising_s, 100),
        "symmetry_pct", isnan(s->rising_symmetry_pct) ? json_null() : num(s->rising_symmetry_pct, 100),
        "diagonal_changes", (json_int_t)s->diagonal_changes,
        "horse_asymmetry_pct", isnan(s->rising_horse_asym) ? json_null() : num(s->rising_horse_asym, 100));
    json_t *st = json_pack("{s:o,s:o}", "time_s", num(s->sitting_s, 100),
        "symmetry_pct", isnan(s->sitting_symmetry_pct) ? json_null() : num(s->sitting_symmetry_pct, 100));
    if (!out || !tr || json_object_set_new(out, "trot_reins", tr) != 0 ||
        json_object_set_new(out, "rising_trot", rt) != 0 ||
        json_object_set_new(out, "sitting_trot", st) != 0 ||
        json_object_set_new(out, "options", compute_params_json(&s->params)) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static int getnum(const json_t *o, const char *path, double *out)
{
    char buf[64];
    const json_t *v = o;
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    if (!json_is_number(v))
        return KEEL_EBADDATA;
    *out = json_number_value(v);
    return 0;
}

static const char *unit_str(const json_t *o, const char *key, const char *const *allowed)
{
    const char *s = json_string_value(json_object_get(json_object_get(o, "assumed"), key));
    for (int i = 0; s && allowed[i]; i++)
        if (strcmp(s, allowed[i]) == 0)
            return allowed[i];
    return allowed[0];
}

/* The per-gait numbers of a summary, by JSON name. */
static const struct { const char *name; size_t off; } gait_fields[] = {
    { "time_s",      offsetof(compute_gait_stats, time_s) },
    { "share",       offsetof(compute_gait_stats, share) },
    { "cadence_spm", offsetof(compute_gait_stats, cadence_spm) },
    { "regularity",  offsetof(compute_gait_stats, regularity) },
    { NULL, 0 }
};

int compute_summary_from_json(const json_t *j, compute_summary *s)
{
    static const char *const tu[] = { "s", "ms", "us", "ns", NULL };
    static const char *const au[] = { "m/s2", "g", "mg", NULL };
    static const char *const gu[] = { "rad/s", "deg/s", NULL };
    double x;
    char key[64];
    int rc = 0;

    memset(s, 0, sizeof *s);
    if (!json_is_object(j))
        return KEEL_EBADDATA;
#define GET(path, dst) do { if ((rc = getnum(j, path, &x)) < 0) goto out; (dst) = x; } while (0)
    GET("duration_s", s->duration_s);
    GET("samples", s->samples);
    GET("rate_hz", s->rate_hz);
    GET("quality.gaps", s->gaps);
    GET("quality.gap_s", s->gap_s);
    GET("quality.dropped_rows", s->dropped_rows);
    GET("quality.nonmonotonic_rows", s->nonmonotonic_rows);
    GET("quality.nan_cells", s->nan_cells);
    for (int i = 0; i < COMPUTE_NGAITS; i++) {
        for (int f = 0; gait_fields[f].name; f++) {
            snprintf(key, sizeof key, "gaits.%s.%s", compute_gait_names[i], gait_fields[f].name);
            if ((rc = getnum(j, key, &x)) < 0)
                goto out;
            /* the field is a double at .off: memcpy, not a char*→double* cast */
            memcpy((char *)&s->gaits[i] + gait_fields[f].off, &x, sizeof x);
        }
    }
    s->no_gyro = json_is_null(json_object_get(j, "rein"));
    if (!s->no_gyro) {
        GET("rein.left_s", s->rein_left_s);
        GET("rein.right_s", s->rein_right_s);
        GET("rein.straight_s", s->rein_straight_s);
        GET("rein.balance", s->rein_balance);
        GET("trot_symmetry_pct", s->trot_symmetry_pct);
        GET("canter_lead.left_s", s->canter_lead_left_s);
        GET("canter_lead.right_s", s->canter_lead_right_s);
    }
    GET("jump_count", s->jump_count);
    /* added later: absent in older summaries, 0 then */
    s->unclassified_s = json_number_value(json_object_get(json_object_get(j, "unclassified"), "time_s"));
    s->unclassified_share = json_number_value(json_object_get(json_object_get(j, "unclassified"), "share"));
    GET("intensity.mdba", s->mdba);
    GET("intensity.load", s->load);
#undef GET
    /* added later: absent (or null: no rate channels) reads as no rising trot */
    const json_t *rt = json_object_get(j, "rising_trot"), *st = json_object_get(j, "sitting_trot");
    s->rising_s = json_number_value(json_object_get(rt, "time_s"));
    s->diagonal_changes = json_integer_value(json_object_get(rt, "diagonal_changes"));
    const json_t *rv = json_object_get(rt, "symmetry_pct");
    s->rising_symmetry_pct = json_is_number(rv) ? json_number_value(rv) : NAN;
    rv = json_object_get(rt, "horse_asymmetry_pct");
    s->rising_horse_asym = json_is_number(rv) ? json_number_value(rv) : NAN;
    s->sitting_s = json_number_value(json_object_get(st, "time_s"));
    rv = json_object_get(st, "symmetry_pct");
    s->sitting_symmetry_pct = json_is_number(rv) ? json_number_value(rv) : NAN;
    static const char *const rn[3] = { "left", "right", "straight" };
    for (int i = 0; i < 3; i++) {
        const json_t *r = json_object_get(json_object_get(j, "trot_reins"), rn[i]);
        s->trot_rein_s[i] = json_number_value(json_object_get(r, "time_s"));
        const json_t *as = json_object_get(r, "asymmetry_pct");
        s->trot_rein_asym[i] = json_is_number(as) ? json_number_value(as) : NAN;
    }
    s->time_unit = unit_str(j, "time_unit", tu);
    s->accel_unit = unit_str(j, "accel_unit", au);
    s->gyro_unit = unit_str(j, "gyro_unit", gu);
    static const char *const srcs[] = { "detected", "header", "option", NULL };
    const json_t *sj = json_object_get(json_object_get(j, "assumed"), "sources");
    const char **sp[3] = { &s->time_src, &s->accel_src, &s->gyro_src };
    static const char *const skeys[3] = { "time_unit", "accel_unit", "gyro_unit" };
    for (int k = 0; k < 3; k++) {
        const char *v = json_string_value(json_object_get(sj, skeys[k]));
        *sp[k] = srcs[0];
        for (int q = 0; v && srcs[q]; q++)
            if (strcmp(v, srcs[q]) == 0)
                *sp[k] = srcs[q];
    }
    const json_t *as = json_object_get(j, "assumed");
    const char *dl = json_string_value(json_object_get(as, "delimiter"));
    const char *dc = json_string_value(json_object_get(as, "decimal"));
    s->delimiter = dl && *dl ? *dl : ',';
    s->decimal = dc && *dc ? *dc : '.';
    const json_t *cols = json_object_get(as, "columns");
    for (int i = 0; i < COMPUTE_NCOLS; i++) {
        const char *c = json_string_value(json_object_get(cols, compute_col_names[i]));
        snprintf(s->columns[i], sizeof s->columns[i], "%s", c ? c : "");
    }
    compute_summary_inputs_from_json(j, s);
    compute_breakdown_from_json(j, s);
    /* the thresholds used (absent: an older compute, the defaults) */
    char perr[160];
    if (compute_params_from_json(&s->params, json_object_get(j, "options"), perr, sizeof perr) < 0) {
        rc = KEEL_EBADDATA;
        goto out;
    }
    if ((rc = compute_bouts_from_json(json_object_get(j, "bouts"), s)) < 0)
        goto out;
    const json_t *jumps = json_object_get(j, "jumps");
    size_t i;
    const json_t *e;
    json_array_foreach(jumps, i, e) {
        if (i >= COMPUTE_MAX_JUMPS)
            break;
        if (getnum(e, "t", &s->jumps[i].t) < 0 || getnum(e, "airtime_s", &s->jumps[i].airtime_s) < 0 ||
            getnum(e, "height_m", &s->jumps[i].height_m) < 0) {
            rc = KEEL_EBADDATA;
            goto out;
        }
    }
out:
    return rc;
}
