/*
 * riding-internal.h — the riding module's private pieces, one file per job:
 *   riding.c            descriptor, typed iface and client
 *   riding_util.c       RFC 3339 parsing, row → JSON shapes, existence checks
 *   riding_stable.c     riders and horses
 *   riding_upload.c     upload_session: hash, de-duplicate, summarize, store
 *   riding_sessions.c   list / get / delete sessions, horse_trend
 *   riding_summarize.c  the one place that asks compute for a summary
 * Used by the module and its unit tests only.
 */
#ifndef RIDING_RIDING_INTERNAL_H
#define RIDING_RIDING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "keel/keel.h"

#define RIDING_TREND_MAX 5000   /* most recent sessions fed to compute trend */

/* ---- riding_util.c ------------------------------------------------------- */

/* Parses an RFC 3339 date-time ("2026-05-01T10:00:00Z", "…+02:00", optional
 * fraction) and writes its UTC form "YYYY-MM-DDTHH:MM:SSZ" into out (>= 21
 * bytes).  0 or KEEL_EINVAL. */
int riding_rfc3339_utc(const char *in, char *out, size_t len);

/* Seconds since the Unix epoch. */
int64_t riding_now(void);

/* 0 if the row exists, else KEEL_ENOTFOUND with "<what> <id> not found" on
 * ctx (and the field "<what>_id"), or another KEEL_E*.  table: a riding_*
 * table name from the module's own code, never from input. */
int riding_exists(keel_ctx *ctx, keel_store *st, const char *table, const char *what,
                  int64_t id);

/* Runs sql(params) on st and maps each row with item (*item new reference;
 * 0 or a KEEL_E* code) into *list: a new array (caller frees), NULL on
 * failure.  Returns 0, the store's code or item's first code. */
int riding_query_list(keel_store *st, const char *sql, const json_t *params,
                      int (*item)(keel_store *st, const json_t *row, json_t **item),
                      json_t **list);

/* A stored session row → API shape {session_id, horse_id, rider_id,
 * started_at, content_hash, bytes, status, summary}.  New reference or NULL. */
json_t *riding_session_json(const json_t *row);

/* ---- riding_summarize.c -------------------------------------------------- */

/* Summary of one CSV session from compute (typed iface, local or remote).
 * *summary new reference.  compute's error (KEEL_EBADDATA with its row and
 * message on ctx), KEEL_EUNAVAIL when compute is not placed anywhere.  The
 * upload handler calls it today; the riding.session_uploaded event handler
 * will call it in the next wave. */
int riding_summarize(keel_ctx *ctx, const char *csv, size_t len, json_t **summary);

/* compute trend over sessions (borrowed array of {horse_id,date,summary}). */
int riding_trend(keel_ctx *ctx, const json_t *sessions, json_t **out);

/* ---- handlers ------------------------------------------------------------ */

int riding_h_create_rider(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_list_riders(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_create_horse(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_add_rider_to_horse(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_list_horses(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_upload_session(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_list_sessions(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_get_session(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_delete_session(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_horse_trend(keel_ctx *ctx, const json_t *in, json_t **out);

/* Stores one session row and its raw CSV in one transaction (both or
 * neither).  rider_id 0 = none; summary borrowed, NULL = pending.
 * *session_id set on success.  KEEL_ECONFLICT (same hash for the horse),
 * KEEL_EBADDATA (csv not UTF-8), KEEL_E* from the store. */
int riding_session_insert(keel_store *st, int64_t horse_id, int64_t rider_id,
                          const char *started_at, const char *hash, const char *csv, size_t len,
                          const json_t *summary, int64_t *session_id);

/* Session by id from st (API shape, new reference) or KEEL_ENOTFOUND. */
int riding_session_get(keel_store *st, int64_t session_id, json_t **session);

#endif /* RIDING_RIDING_INTERNAL_H */
