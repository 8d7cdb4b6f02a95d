/*
 * windows.c — one analysis window as data: the names and units of the
 * per-window output (docs/compute.md "windows"), as JSON for other modules
 * (a dashboard's session view) and as NDJSON/CSV text for the CLI.
 */
#include <math.h>
#include <stdio.h>

#include "compute-internal.h"

static json_t *num(double x, double scale)
{
    if (!isfinite(x))
        return json_null();
    return json_real(round(x * scale) / scale);
}

static const char *rein_name(int r)
{
    return r > 1 ? NULL : r > 0 ? "left" : r < 0 ? "right" : "straight";
}

static const char *lead_name(int l)
{
    return l > 0 ? "left" : l < 0 ? "right" : NULL;
}

const char *compute_window_gait(int gait)
{
    return gait >= 0 && gait < COMPUTE_NGAITS ? compute_gait_names[gait] : "unclassified";
}

json_t *compute_window_json(const compute_window_row *w)
{
    const char *rein = rein_name(w->rein), *lead = lead_name(w->lead);
    return json_pack("{s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                     "t_start", num(w->t_start, 1000), "t_end", num(w->t_end, 1000),
                     "gait", compute_window_gait(w->gait), "confidence", num(w->confidence, 1000),
                     "stride_hz", num(w->stride_hz, 1e4), "cadence_spm", num(w->cadence_spm, 100),
                     "regularity", num(w->regularity, 100), "yaw_rate", num(w->yaw_rate, 1e4),
                     "rein", rein ? json_string(rein) : json_null(),
                     "lead", lead ? json_string(lead) : json_null(),
                     "dba", num(w->dba, 1e4), "symmetry_pct", num(w->symmetry_pct, 100));
}
