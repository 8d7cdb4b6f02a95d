/*
 * riding_views.c — what a session looks like over time, for pictures:
 * session_windows (compute's per-window output: the gait timeline) and
 * session_trace (the vertical acceleration, min/max per bucket).
 *
 * Both recompute from the stored CSV through compute's typed interface
 * (riding_summarize.c), so they work wherever compute is placed, and store
 * nothing: a window list is ~200 bytes per 2 s, a trace depends on the
 * picture's width.  The CSV comes from riding_session_csv (riding_csv.c),
 * with get_session's visibility predicate, so a stranger's session answers
 * 404 exactly like a missing one, and a horse shared with the caller is
 * readable.
 */
#include <stdlib.h>

#include "riding-internal.h"

/* The caller's session's CSV (plain, decompressed: riding_csv.c), with
 * get_session's 404 for a session the caller does not see; *csv malloc'd. */
static int load(keel_ctx *ctx, const json_t *in, int64_t *id, char **csv, size_t *len)
{
    riding_who who;
    int rc, gz = 0;

    *csv = NULL;
    *len = 0;
    *id = json_integer_value(json_object_get(in, "session_id"));
    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    return riding_session_csv(ctx, keel_ctx_store(ctx), &who, *id, 0, csv, len, &gz);
}

int riding_h_session_windows(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_t *windows = NULL;
    char *csv = NULL;
    size_t len = 0;
    int64_t id;
    int rc = load(ctx, in, &id, &csv, &len);

    if (rc == 0)
        rc = riding_windows(ctx, csv, len, &windows);
    free(csv);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:I, s:o}", "session_id", (json_int_t)id, "count",
                     (json_int_t)json_array_size(windows), "windows", windows);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

int riding_h_session_trace(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *mp = json_object_get(in, "max_points");
    json_t *trace = NULL;
    char *csv = NULL;
    size_t len = 0;
    int64_t id;
    int rc = load(ctx, in, &id, &csv, &len);

    if (rc == 0)
        rc = riding_trace(ctx, csv, len,
                          json_is_integer(mp) ? (int)json_integer_value(mp)
                                              : RIDING_TRACE_POINTS, &trace);
    free(csv);
    if (rc != 0)
        return rc;
    if (json_object_set_new(trace, "session_id", json_integer(id)) != 0) {
        json_decref(trace);
        return KEEL_ENOMEM;
    }
    *out = trace;
    return 0;
}
