/*
 * summary_breakdown.c — the gait × rein breakdown and the bout timeline of
 * a summary, to JSON and back (docs/compute.md "Metrics": gait_rein, bouts).
 *
 * gait_rein.<g>.<r> for each moving gait (halt has no rein) and rein (left,
 * right, straight, unknown: no rate channels there): time_s, cadence_spm
 * (null when no stride was counted there), and for trot symmetry_pct (the
 * rein's diagonal symmetry as trot_reins gives it; null without trot there,
 * and always for unknown: no roll to name a diagonal).
 */
#include <math.h>
#include <string.h>

#include "compute-internal.h"

static const char *const rein_names[COMPUTE_NREINS] = { "left", "right", "straight", "unknown" };

static json_t *num(double x, double scale)
{
    return json_real(round((isfinite(x) ? x : 0) * scale) / scale);
}

json_t *compute_breakdown_json(const compute_summary *s)
{
    json_t *out = json_object();
    for (int g = COMPUTE_WALK; out && g < COMPUTE_NGAITS; g++) {
        json_t *go = json_object();
        for (int k = 0; go && k < COMPUTE_NREINS; k++) {
            double cad = s->gr_cadence_spm[g][k];
            json_t *o = json_pack("{s:o,s:o}", "time_s", num(s->gr_time_s[g][k], 100),
                                  "cadence_spm", cad > 0 ? num(cad, 100) : json_null());
            if (o && g == COMPUTE_TROT) {
                int has = k < 3 && !s->no_gyro && compute_trot_rein_known(s, k);
                json_object_set_new(o, "symmetry_pct",
                                    has ? num(100 - fabs(s->trot_rein_asym[k]), 100) : json_null());
            }
            if (!o || json_object_set_new(go, rein_names[k], o) != 0) {
                json_decref(go);
                go = NULL;
            }
        }
        if (!go || json_object_set_new(out, compute_gait_names[g], go) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

void compute_breakdown_from_json(const json_t *j, compute_summary *s)
{
    const json_t *gr = json_object_get(j, "gait_rein");
    for (int g = COMPUTE_WALK; g < COMPUTE_NGAITS; g++)
        for (int k = 0; k < COMPUTE_NREINS; k++) {
            const json_t *o = json_object_get(json_object_get(gr, compute_gait_names[g]),
                                              rein_names[k]);
            s->gr_time_s[g][k] = json_number_value(json_object_get(o, "time_s"));
            s->gr_cadence_spm[g][k] = json_number_value(json_object_get(o, "cadence_spm"));
        }
    /* halt's time has no rein: unknown */
    s->gr_time_s[COMPUTE_HALT][3] = s->gaits[COMPUTE_HALT].time_s;
    const json_t *cl = json_object_get(j, "canter_lead");
    s->canter_true_s = json_number_value(json_object_get(cl, "true_s"));
    s->canter_counter_s = json_number_value(json_object_get(cl, "counter_s"));
    const json_t *bc = json_object_get(j, "bout_count");
    s->bout_count = json_is_integer(bc) && json_integer_value(bc) > 0
                  ? (size_t)json_integer_value(bc) : 0;
}
