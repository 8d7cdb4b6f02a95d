/*
 * summary_inputs.c — the summary's input-handling report (docs/compute.md
 * "input"): clock resets and missing channels under quality, gravity and
 * the vertical under assumed.  Both directions, so a summary that crossed
 * the wire reads back the same.
 */
#include <math.h>
#include <string.h>

#include "compute-internal.h"

static json_t *num(double x, double scale)
{
    if (!isfinite(x))
        x = 0;
    return json_real(round(x * scale) / scale);
}

void compute_summary_inputs_json(const compute_summary *s, json_t *out)
{
    json_t *q = json_object_get(out, "quality"), *as = json_object_get(out, "assumed");
    json_t *miss = json_object();

    for (int k = 0; k < 6; k++) {
        int absent = s->no_gyro && k >= 3;
        json_object_set_new(miss, compute_col_names[1 + k],
                            absent ? json_null() : num(s->missing_s[k], 100));
    }
    json_object_set_new(q, "clock_resets", json_integer(s->clock_resets));
    json_object_set_new(q, "clipped_samples", json_integer(s->clipped_samples));
    json_object_set_new(q, "missing_s", miss);
    json_object_set_new(as, "gravity", json_string(s->linear ? "removed" : "included"));
    json_object_set_new(as, "vertical", s->linear ? json_pack("[o,o,o]", num(s->vertical[0], 1e4),
                                                              num(s->vertical[1], 1e4),
                                                              num(s->vertical[2], 1e4))
                                                  : json_null());
}

void compute_summary_inputs_from_json(const json_t *j, compute_summary *s)
{
    const json_t *q = json_object_get(j, "quality"), *as = json_object_get(j, "assumed");
    const json_t *miss = json_object_get(q, "missing_s");

    s->clock_resets = (long long)json_number_value(json_object_get(q, "clock_resets"));
    s->clipped_samples = (long long)json_number_value(json_object_get(q, "clipped_samples"));
    for (int k = 0; k < 6; k++)
        s->missing_s[k] = json_number_value(json_object_get(miss, compute_col_names[1 + k]));
    const char *gr = json_string_value(json_object_get(as, "gravity"));
    s->linear = gr && strcmp(gr, "removed") == 0;
    const json_t *v = json_object_get(as, "vertical");
    for (int k = 0; k < 3; k++)
        s->vertical[k] = json_number_value(json_array_get(v, (size_t)k));
}
