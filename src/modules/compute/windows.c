/*
 * windows.c — one analysis window as data: the names and units of the
 * per-window output (docs/compute.md "windows"), as JSON for other modules
 * (a dashboard's session view) and as NDJSON/CSV text for the CLI.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

typedef struct win_list {
    json_t *arr;
    int     oom;   /* a window could not be added */
} win_list;

static void collect(void *arg, const compute_window_row *w)
{
    win_list *l = arg;
    if (json_array_append_new(l->arr, compute_window_json(w)) != 0)
        l->oom = 1;
}

int compute_windows_json(const char *csv, size_t len, const compute_options *opt,
                         json_t **windows, char *err, size_t errlen)
{
    compute_summary *s = malloc(sizeof *s);
    win_list l = { json_array(), 0 };
    int rc;

    *windows = NULL;
    if (s == NULL || l.arr == NULL) {
        rc = KEEL_ENOMEM;
    } else {
        rc = compute_windows_buffer(csv, len, opt, collect, &l, s, err, errlen);
        if (rc == 0 && l.oom)
            rc = KEEL_ENOMEM;
    }
    free(s);
    if (rc == KEEL_ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc < 0) {
        json_decref(l.arr);
        return rc;
    }
    *windows = l.arr;
    return 0;
}
