/*
 * riding-internal.h — the riding module's private pieces, one file per job:
 *   riding.c            descriptor, typed iface and client
 *   riding_util.c       RFC 3339 parsing, row → JSON shapes, existence checks
 *   riding_access.c     ownership and sharing: who sees which horse, share_horse
 *   riding_cli.c        `keel riding assign-owner` (operator)
 *   riding_stable.c     riders and horses
 *   riding_upload.c     upload_session: check, hash, de-duplicate, store pending + emit
 *   riding_sessions.c   list / get / delete sessions, horse_trend
 *   riding_summarize.c  the one place that asks compute for a summary
 *   riding_csv.c        the stored raw CSV: gzip in, plain or gzip out; get_session_csv
 *   riding_views.c      session_windows / session_trace (pictures of a session)
 *   riding_events.c     riding.session_uploaded: the summary after the upload;
 *                       get_session's wait_ms
 * Used by the module and its unit tests only.
 */
#ifndef RIDING_RIDING_INTERNAL_H
#define RIDING_RIDING_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "keel/keel.h"
#include "keel/events.h"

#define RIDING_TREND_MAX 5000   /* most recent sessions fed to compute trend */
#define RIDING_TRACE_POINTS 1000 /* session_trace's max_points when not given */
/* upload_session checks the structure of the CSV's first bytes only (header,
 * units row, rows): a few ms whatever the session's length */
#define RIDING_CHECK_BYTES (64 * 1024)
/* Memory per CSV byte, reserved against KEEL_MAX_INFLIGHT_BYTES: an upload
 * holds the body, the JSON string the store binds and SQLite's record of it
 * (3.0-3.1 x the CSV measured at the peak, 1 h and 3 h sessions); its
 * summary the CSV read back, compute's arrays and the gzip, under the same
 * factor so that what could be uploaded can be summarized (docs/riding.md). */
#define RIDING_UPLOAD_MEM_FACTOR 3
/* A summary's working memory for a CSV of bytes (docs/riding.md "Memory"):
 * the CSV is never whole here twice — SQLite holds an identity row's text
 * while each piece of it is read, beside the gzip growing.  Measured
 * 1.98–2.0 x (1 h, 3 h) while the gzip was stored as base64 in a JSON
 * string; as bytes (keel_store_exec_blob) 1.47 x on 3 h, 1.93 x on 1 h. */
static inline int64_t riding_summary_mem(int64_t bytes)
{
    return 2 * bytes;
}
/* What riding_session_csv holds at its peak, reserved before it reads
 * (docs/riding.md "Memory"): a gzip row comes from the store as bytes
 * (keel_store_one_blob): the backend's copies of the member and ours, 2 x
 * the member on SQLite and 3 x on PostgreSQL (libpq's message, the result,
 * ours) measured by bench/blob — 3 x reserved; a row holding base64 text
 * (gz its length) less: the text twice, then the text and 3/4 of it
 * decoded; decompressed, the member and the CSV; an identity row's text,
 * SQLite's copy and ours (2 x the CSV). */
static inline int64_t riding_csv_read_mem(int is_gzip, int gzip_ok, int64_t csv, int64_t gz)
{
    int64_t row = 3 * gz;

    if (!is_gzip)
        return 2 * csv;
    if (gzip_ok)
        return row;
    return row > gz + csv ? row : gz + csv;
}
/* get_session wait_ms: re-read at least this often (a summary stored by
 * another process signals nobody here), and answer this long before the
 * call's deadline */
#define RIDING_WAIT_POLL_MS 200
#define RIDING_WAIT_MARGIN_MS 50

/* ---- riding_access.c ----------------------------------------------------- */

/* The caller's rights on a horse, in increasing order. */
typedef enum riding_role {
    RIDING_NONE   = 0,
    RIDING_VIEWER = 1,  /* read sessions, summaries, trends */
    RIDING_EDITOR = 2,  /* also upload, delete the sessions they uploaded, link own riders */
    RIDING_OWNER  = 3   /* everything, share / unshare; admins count as owners */
} riding_role;

/* The caller, from the ctx principal. */
typedef struct riding_who {
    int64_t user_id;  /* 0 = no user (operator / admin) */
    int     admin;
} riding_who;

/* SQL predicate: the horse row aliased h is visible to the user bound at
 * uid with admin flag adm (1/0), e.g. RIDING_SEES_HORSE("h", "$2", "$3").
 * Every query that reads riding rows for a caller carries it. */
#define RIDING_SEES_HORSE(h, uid, adm)                                                  \
    "(" adm " = 1 OR " h ".owner_id = " uid " OR EXISTS (SELECT 1 FROM "                \
    "riding_horse_shares sh WHERE sh.horse_id = " h ".id AND sh.user_id = " uid "))"

const char *riding_role_name(riding_role r);
/* "viewer" / "editor" → *r; KEEL_EINVAL otherwise. */
int riding_role_parse(const char *s, riding_role *r);

/* Fills who from ctx; KEEL_EUNAUTH (on ctx) when there is neither a user
 * nor an admin. */
int riding_who_of(keel_ctx *ctx, riding_who *who);

/* [user_id, admin] for queries binding $1 = user id, $2 = admin flag; new
 * reference or NULL. */
json_t *riding_who_params(const riding_who *who);

/* KEEL_ENOTFOUND with "<what> <id> not found" and the field <what>_id. */
int riding_not_found(keel_ctx *ctx, const char *what, int64_t id);

/* 0 when who sees horse_id with at least role need (*role, may be NULL,
 * gets the role held); KEEL_ENOTFOUND when the horse does not exist or is
 * not visible to who (the same answer), KEEL_EFORBIDDEN when visible with
 * a smaller role, KEEL_E* from the store.  Detail on ctx. */
int riding_horse_access(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t horse_id,
                        riding_role need, riding_role *role);

/* 0 when who owns rider_id (admins: any rider) or, with horse_id > 0, the
 * rider already rides that horse; else KEEL_ENOTFOUND. */
int riding_rider_access(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t rider_id,
                        int64_t horse_id);

/* A user id from auth (auth.lookup_user, local or remote): by email when
 * email is not NULL, else checks that id exists.  KEEL_ENOTFOUND (no such
 * user), KEEL_EUNAVAIL (auth not reachable), KEEL_E*. */
int riding_user_lookup(keel_ctx *ctx, const char *email, int64_t id, int64_t *user_id);

/* ---- riding_util.c ------------------------------------------------------- */

/* Parses an RFC 3339 date-time ("2026-05-01T10:00:00Z", "…+02:00", optional
 * fraction) and writes its UTC form "YYYY-MM-DDTHH:MM:SSZ" into out (>= 21
 * bytes).  0 or KEEL_EINVAL. */
int riding_rfc3339_utc(const char *in, char *out, size_t len);

/* Seconds since the Unix epoch. */
int64_t riding_now(void);

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
 * riding.session_uploaded handler calls it (riding_events.c). */
int riding_summarize(keel_ctx *ctx, const char *csv, size_t len, json_t **summary);

/* The same for a CSV given as one gzip member of csv_bytes decoded bytes:
 * compute inflates it as it parses (COMPUTE_IFACE_V4's aggregate_csv_gz;
 * placed remotely, its client sends the member itself as a gzip body), or,
 * with a compute older than that member, it is decompressed here first. */
int riding_summarize_gz(keel_ctx *ctx, const unsigned char *gz, size_t len, size_t csv_bytes,
                        json_t **summary);

/* compute trend over sessions (borrowed array of {horse_id,date,summary}). */
int riding_trend(keel_ctx *ctx, const json_t *sessions, json_t **out);

/* ---- riding_csv.c -------------------------------------------------------- */

/* The CSV as a JSON string for a TEXT parameter (*text new reference): 0,
 * KEEL_EBADDATA (not valid UTF-8), KEEL_ENOMEM. */
int riding_csv_text(const char *csv, size_t len, json_t **text);

/* The gzip member gz[0..n) → exactly want bytes of CSV (*out malloc'd).
 * KEEL_ESTORE (on ctx) when it does not decode to want bytes. */
int riding_csv_inflate(keel_ctx *ctx, const unsigned char *gz, size_t n, size_t want, char **out);

/* An identity row's text is read by riding_session_gz in pieces of
 * RIDING_READ_CHARS characters, or more so as to make at most
 * RIDING_READ_PIECES queries: SQLite loads the row's whole text for each
 * (1 x the CSV while the query runs), and a piece is copied twice (SQLite's
 * substr, the JSON string): 4 MiB and 16 pieces keep that under 1/8 of the
 * CSV while a 3 h session costs 16 reads of it, not 120 */
#define RIDING_READ_CHARS (4 * 1024 * 1024)
#define RIDING_READ_PIECES 16

/* The stored CSV of session_id, want bytes (riding_sessions.bytes), as one
 * gzip member, for the module's own work (no access check: the summary).
 * A gzip row's member as it is (*fresh = 0); an identity row's text read
 * RIDING_READ_CHARS at a time and compressed as it comes (*fresh = 1: the
 * caller stores it), so the CSV is never whole in memory.  *gz malloc'd.
 * KEEL_ENOTFOUND (on ctx), KEEL_ESTORE (not readable, not want bytes, or
 * compressed by another process while read: read again), KEEL_E*. */
int riding_session_gz(keel_ctx *ctx, keel_store *st, int64_t session_id, size_t want,
                      unsigned char **gz, size_t *gzlen, int *fresh);

/* The stored CSV of session_id as who sees it (another user's session, or a
 * missing one: KEEL_ENOTFOUND "session N not found", as get_session).  With
 * gzip_ok and a gzip row, *data is the stored gzip member as it is
 * (*is_gzip = 1); else the plain CSV, decompressed into one buffer of its
 * exact size.  *data malloc'd (caller frees).  KEEL_ESTORE when the stored
 * bytes do not decode to the recorded size. */
int riding_session_csv(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t session_id,
                       int gzip_ok, char **data, size_t *len, int *is_gzip);
/* compute's per-window output (*windows new array) and vertical trace
 * (*trace new object, at most max_points buckets) of one CSV session;
 * KEEL_EUNAVAIL when compute is absent or older than COMPUTE_IFACE_V3. */
int riding_windows(keel_ctx *ctx, const char *csv, size_t len, json_t **windows);
int riding_trace(keel_ctx *ctx, const char *csv, size_t len, int max_points, json_t **trace);

/* ---- handlers ------------------------------------------------------------ */

int riding_h_create_rider(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_list_riders(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_create_horse(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_add_rider_to_horse(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_list_horses(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_upload_session(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_list_sessions(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_get_session(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_get_session_csv(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_delete_session(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_horse_trend(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_share_horse(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_unshare_horse(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_session_windows(keel_ctx *ctx, const json_t *in, json_t **out);
int riding_h_session_trace(keel_ctx *ctx, const json_t *in, json_t **out);

/* ---- riding_events.c ----------------------------------------------------- */

/* Module state: the waiters of get_session's wait_ms. */
typedef struct riding_state {
    pthread_mutex_t mu;
    pthread_cond_t  cv;    /* CLOCK_MONOTONIC */
    uint64_t        gen;   /* bumped after every stored outcome */
} riding_state;

int  riding_init(keel_module_ctx *mc);
void riding_stop(keel_module_ctx *mc);

/* The handler of riding.session_uploaded. */
int riding_on_uploaded(keel_ctx *ctx, const keel_event *ev);

/* Summarizes stored session id and stores the outcome: 'ready' with the
 * summary, or 'failed' with compute's message when compute calls the file
 * bad (0 is returned: nothing to retry).  Transient failures (compute
 * unavailable, a timeout) return the error and leave the session pending,
 * except at ev's last attempt, which marks it 'failed' first.  With ev
 * (a delivery) the outcome is written through keel_event_tx; with ev NULL
 * (the CLI's inline summary) in a plain transaction.  A session already
 * ready, or gone, is 0 with nothing done. */
int riding_summarize_session(keel_ctx *ctx, int64_t id, const keel_event *ev);

/* riding_session_get, and while the session is pending wait up to wait_ms
 * (never past ctx's deadline less RIDING_WAIT_MARGIN_MS) for its outcome:
 * woken by this process's handler, re-reading every RIDING_WAIT_POLL_MS.
 * *session: the last read (maybe still pending). */
int riding_session_wait(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t id,
                        int64_t wait_ms, json_t **session);

/* ---- riding_cli.c -------------------------------------------------------- */

int riding_cli(keel_ctx *ctx, int argc, char **argv);

/* Stores one session row and its raw CSV, uncompressed (the handler
 * compresses it later), in one transaction (both or neither).  rider_id 0 = none; uploaded_by 0 = the operator; summary
 * borrowed: the session is 'ready' with it; NULL = 'pending', and with ctx
 * not NULL riding.session_uploaded is emitted in the same transaction (a
 * pending session without its event would stay pending).  *session_id set
 * on success.  KEEL_ECONFLICT
 * (same hash for the horse), KEEL_EBADDATA (csv not UTF-8), KEEL_E* from
 * the store. */
int riding_session_insert(keel_ctx *ctx, keel_store *st, int64_t horse_id, int64_t rider_id,
                          int64_t uploaded_by, const char *started_at, const char *hash,
                          const char *csv, size_t len, const json_t *summary,
                          int64_t *session_id);

/* Session by id as who sees it (API shape, new reference), or
 * KEEL_ENOTFOUND when it does not exist or its horse is not visible to who. */
int riding_session_get(keel_store *st, const riding_who *who, int64_t session_id,
                       json_t **session);

#endif /* RIDING_RIDING_INTERNAL_H */
