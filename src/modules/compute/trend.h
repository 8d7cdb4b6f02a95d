/*
 * compute/trend.h — cross-session trend for one or many horses.
 *
 * A pure function: no I/O, no globals, no clock.  It turns a series of
 * per-session summaries (the output of compute.aggregate, one line per
 * session) into per-horse baselines, changes, robust z-scores, Theil–Sen
 * slopes, ISO-week aggregates, acute/chronic training load and flags.
 * Every output field and threshold is documented in docs/compute.md "## trend".
 */
#ifndef COMPUTE_TREND_H
#define COMPUTE_TREND_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

/*
 * sessions: borrowed JSON array.  Each element is an object
 *     {"horse_id": <integer|non-empty string>,
 *      "date": "YYYY-MM-DD" | RFC 3339 date-time,
 *      "session_id"?: any,
 *      "summary": {aggregate output}}
 *   or the same with the summary fields at top level beside horse_id/date.
 * options: borrowed, may be NULL; an object of the keys listed in
 *   docs/compute.md (baseline_n, z_threshold, …); an unknown key is an error.
 * *out: on success a new reference (caller frees) {"horses":[…],"options":{…}};
 *   NULL on failure.
 * err/errlen: on failure a NUL-terminated message naming the session index
 *   and field ("sessions[3].date: …"); may be NULL/0.
 * Returns 0, KEEL_EINVAL (bad arguments or options), KEEL_EBADDATA (a bad
 * session line) or KEEL_ENOMEM.
 */
/* Prints every trend option with its default, range, unit and meaning to f
 * as a table, or, when json is an object, sets json.trend = {key: {...}}. */
void compute_trend_defaults(FILE *f, json_t *json);

int compute_trend_run(const json_t *sessions, const json_t *options, json_t **out,
                      char *err, size_t errlen);

#endif /* COMPUTE_TREND_H */
