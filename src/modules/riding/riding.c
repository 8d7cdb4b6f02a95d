/*
 * riding.c — the riding module: descriptor, typed iface and client.
 *
 * Riders, horses and sensor sessions (docs/riding.md).  Summaries and trends
 * come from compute through its typed interface (riding_summarize.c).  The
 * gateway checks tokens before a method runs; every handler then filters by
 * the caller's principal in SQL (riding_access.c).  auth is a dependency for
 * naming users by email (share_horse, assign-owner).
 */
#include <stdio.h>
#include <string.h>

#include "riding.h"
#include "riding-internal.h"
#include "riding_embedded.h"

/* ---- typed iface: local and client ---------------------------------------- */

static int summary_of(keel_ctx *ctx, json_t *session, int64_t session_id, json_t **summary)
{
    json_t *s = json_object_get(session, "summary");

    if (!json_is_object(s))
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "session %lld has no summary (status %s)",
                              (long long)session_id,
                              json_string_value(json_object_get(session, "status")));
    *summary = json_incref(s);
    return 0;
}

/* Under the caller's principal, like get_session: another user's session is
 * not found. */
static int local_session_summary(keel_module_ctx *self, keel_ctx *ctx, int64_t session_id,
                                 json_t **summary)
{
    KEEL_IFACE_COUNT("riding", "session_summary");
    keel_store *st = self != NULL ? keel_module_store(self) : NULL;
    json_t *session = NULL;
    riding_who who;
    int rc;

    *summary = NULL;
    if (st == NULL)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "riding module is not started");
    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    rc = riding_session_get(st, &who, session_id, &session);
    if (rc == KEEL_ENOTFOUND)
        rc = keel_ctx_error(ctx, rc, "session %lld not found", (long long)session_id);
    if (rc == 0)
        rc = summary_of(ctx, session, session_id, summary);
    json_decref(session);
    return rc;
}

/* self (riding as placed remotely) is not needed: the call goes by name. */
static int client_session_summary(keel_module_ctx *self, keel_ctx *ctx, int64_t session_id,
                                  json_t **summary)
{
    json_t *in = json_pack("{s:I}", "session_id", (json_int_t)session_id), *session = NULL;
    int rc;

    (void)self;
    *summary = NULL;
    if (in == NULL)
        return KEEL_ENOMEM;
    rc = keel_call(ctx, "riding", "get_session", in, &session);
    if (rc == 0)
        rc = summary_of(ctx, session, session_id, summary);
    json_decref(session);
    json_decref(in);
    return rc;
}

const riding_iface riding_local = {
    .version         = RIDING_IFACE_VERSION,
    .session_summary = local_session_summary,
};

const riding_iface riding_client = {
    .version         = RIDING_IFACE_VERSION,
    .session_summary = client_session_summary,
};

/* ---- lifecycle ------------------------------------------------------------- */

static int riding_health(keel_module_ctx *mc, json_t **detail)
{
    json_t *rows = NULL;
    int rc = keel_store_exec(keel_module_store(mc),
                             "SELECT (SELECT count(*) FROM riding_horses) AS horses, "
                             "(SELECT count(*) FROM riding_sessions) AS sessions", NULL, &rows);

    if (rc == 0)
        *detail = json_deep_copy(json_array_get(rows, 0));
    json_decref(rows);
    return rc;
}

/* ---- descriptor ------------------------------------------------------------ */

static const keel_topic riding_topics[] = {
    { .name = "riding.session_uploaded", .schema = riding_schema_topic_session_uploaded,
      .summary = "a session was stored as pending; its summary is computed by the subscriber" },
    {0}
};

/* Not KEEL_SUB_BATCH: the handler calls compute, maybe in another process.
 * max_attempts 0: the deployment's events_max_attempts (default 10: with the
 * default backoff, 1 s doubling to 5 min, half random, attempt 10 comes
 * 4-8.5 min after the upload; docs/riding.md), so an operator who expects
 * longer compute outages raises KEEL_EVENTS_MAX_ATTEMPTS. */
static const keel_subscription riding_subs[] = {
    { .topic = "riding.session_uploaded", .handler = riding_on_uploaded, .max_attempts = 0 },
    {0}
};

#define RO (KEEL_READONLY | KEEL_IDEMPOTENT)

static const keel_method riding_methods[] = {
    { .name = "create_rider", .handler = riding_h_create_rider,
      .summary = "new rider {name}",
      .in_schema = riding_schema_create_rider_in, .out_schema = riding_schema_create_rider_out },
    { .name = "list_riders", .handler = riding_h_list_riders, .flags = RO,
      .summary = "every rider",
      .in_schema = riding_schema_list_riders_in, .out_schema = riding_schema_list_riders_out },
    { .name = "create_horse", .handler = riding_h_create_horse,
      .summary = "new horse {name, rider_ids?}",
      .in_schema = riding_schema_create_horse_in, .out_schema = riding_schema_create_horse_out },
    { .name = "add_rider_to_horse", .handler = riding_h_add_rider_to_horse,
      .flags = KEEL_IDEMPOTENT, .summary = "link a rider to a horse {horse_id, rider_id}",
      .in_schema = riding_schema_add_rider_to_horse_in,
      .out_schema = riding_schema_add_rider_to_horse_out },
    { .name = "list_horses", .handler = riding_h_list_horses, .flags = RO,
      .summary = "horses you own or that are shared with you, with your role {limit?, offset?}",
      .in_schema = riding_schema_list_horses_in, .out_schema = riding_schema_list_horses_out },
    { .name = "upload_session", .handler = riding_h_upload_session, .flags = KEEL_RAW_IN,
      .summary = "upload a sensor CSV for a horse {horse_id, started_at, rider_id?} + text/csv",
      .in_schema = riding_schema_upload_session_in,
      .out_schema = riding_schema_upload_session_out,
      .raw_types = "text/csv", .raw_field = "csv",
      .mem_factor = RIDING_UPLOAD_MEM_FACTOR },
    { .name = "list_sessions", .handler = riding_h_list_sessions, .flags = RO,
      .summary = "a horse's sessions with status and summaries, newest first {horse_id, limit?}",
      .in_schema = riding_schema_list_sessions_in, .out_schema = riding_schema_list_sessions_out },
    { .name = "get_session", .handler = riding_h_get_session, .flags = RO,
      .summary = "one session with its status and summary; wait_ms blocks while pending "
                 "{session_id, wait_ms?}",
      .in_schema = riding_schema_get_session_in, .out_schema = riding_schema_get_session_out },
    { .name = "get_session_csv", .handler = riding_h_get_session_csv, .flags = RO | KEEL_RAW_OUT,
      .summary = "download a session's raw CSV {session_id} → text/csv (gzip if accepted)",
      .in_schema = riding_schema_get_session_csv_in,
      .out_schema = riding_schema_get_session_csv_out, .raw_types = "text/csv" },
    { .name = "session_windows", .handler = riding_h_session_windows, .flags = RO,
      .summary = "compute's analysis windows of a stored session: the gait timeline {session_id}",
      .in_schema = riding_schema_session_windows_in,
      .out_schema = riding_schema_session_windows_out },
    { .name = "session_trace", .handler = riding_h_session_trace, .flags = RO,
      .summary = "a stored session's vertical acceleration, min/max per bucket "
                 "{session_id, max_points?}",
      .in_schema = riding_schema_session_trace_in, .out_schema = riding_schema_session_trace_out },
    { .name = "delete_session", .handler = riding_h_delete_session,
      .summary = "delete a session and its raw data {session_id}",
      .in_schema = riding_schema_delete_session_in,
      .out_schema = riding_schema_delete_session_out },
    { .name = "horse_trend", .handler = riding_h_horse_trend, .flags = RO,
      .summary = "compute trend over a horse's ready sessions' summaries {horse_id}",
      .in_schema = riding_schema_horse_trend_in,
      .out_schema = riding_schema_horse_trend_out },
    { .name = "share_horse", .handler = riding_h_share_horse, .flags = KEEL_IDEMPOTENT,
      .summary = "share your horse with a user as viewer or editor {horse_id, email|user_id, role}",
      .in_schema = riding_schema_share_horse_in, .out_schema = riding_schema_share_horse_out },
    { .name = "unshare_horse", .handler = riding_h_unshare_horse, .flags = KEEL_IDEMPOTENT,
      .summary = "stop sharing a horse with a user {horse_id, email|user_id}",
      .in_schema = riding_schema_unshare_horse_in, .out_schema = riding_schema_unshare_horse_out },
    {0}
};

/* auth: share_horse and --owner name users by email (auth.lookup_user). */
static const char *const riding_deps[] = { "compute", "auth", NULL };

const keel_module keel_module_riding = {
    .abi           = KEEL_ABI,
    .name          = "riding",
    .version       = "1.0.0",
    .summary       = "riders, horses and sensor sessions with compute summaries and trends",
    .deps          = riding_deps,
    .methods       = riding_methods,
    .migrations    = riding_migrations,
    .init          = riding_init,
    .stop          = riding_stop,
    .health        = riding_health,
    .cli           = riding_cli,
    .iface         = &riding_local,
    .iface_version = RIDING_IFACE_VERSION,
    .client        = &riding_client,
    .topics        = riding_topics,
    .subs          = riding_subs,
};
