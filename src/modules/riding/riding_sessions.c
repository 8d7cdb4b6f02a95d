/*
 * riding_sessions.c — reading and deleting sessions, and a horse's trend.
 *
 * horse_trend feeds the ready sessions' summaries (oldest first, at most
 * RIDING_TREND_MAX of the most recent) to compute's trend as
 * [{horse_id, date, session_id, summary}] and answers compute's result unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riding-internal.h"

#define SESSION_COLUMNS \
    "s.id AS id, s.horse_id AS horse_id, s.rider_id AS rider_id, s.started_at AS started_at, " \
    "s.content_hash AS content_hash, s.bytes AS bytes, s.summary AS summary, " \
    "s.uploaded_by AS uploaded_by, s.status AS status, s.error AS error"

/* Sessions joined with their horse, visible to $1 = user id, $2 = admin. */
#define SESSION_FROM \
    " FROM riding_sessions s JOIN riding_horses h ON h.id = s.horse_id WHERE " \
    RIDING_SEES_HORSE("h", "$1", "$2")

int riding_session_get(keel_store *st, const riding_who *who, int64_t session_id,
                       json_t **session)
{
    json_t *params = json_pack("[I,i,I]", (json_int_t)who->user_id, who->admin ? 1 : 0,
                               (json_int_t)session_id), *row = NULL;
    int rc;

    *session = NULL;
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, "SELECT " SESSION_COLUMNS SESSION_FROM " AND s.id = $3", params, &row);
    if (rc == 0) {
        *session = riding_session_json(row);
        if (*session == NULL)
            rc = KEEL_ENOMEM;
    }
    json_decref(row);
    json_decref(params);
    return rc;
}

int riding_h_get_session(keel_ctx *ctx, const json_t *in, json_t **out)
{
    int64_t id = json_integer_value(json_object_get(in, "session_id"));
    int64_t wait_ms = json_integer_value(json_object_get(in, "wait_ms"));  /* 0..30000 */
    riding_who who;
    int rc = riding_who_of(ctx, &who);

    if (rc == 0)
        rc = riding_session_wait(ctx, keel_ctx_store(ctx), &who, id, wait_ms, out);
    if (rc == KEEL_ENOTFOUND)
        return riding_not_found(ctx, "session", id);
    return rc;
}

static int session_item(keel_store *st, const json_t *row, json_t **item)
{
    *item = riding_session_json(row);
    return *item != NULL ? 0 : KEEL_ENOMEM;
}

int riding_h_list_sessions(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id"));
    json_int_t limit = 100;
    json_t *params, *list = NULL;
    riding_who who;
    int rc;

    if (json_is_integer(json_object_get(in, "limit")))
        limit = json_integer_value(json_object_get(in, "limit"));
    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    rc = riding_horse_access(ctx, st, &who, horse_id, RIDING_VIEWER, NULL);
    if (rc != 0)
        return rc;
    params = json_pack("[I,i,I,I]", (json_int_t)who.user_id, who.admin ? 1 : 0,
                       (json_int_t)horse_id, limit);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = riding_query_list(st, "SELECT " SESSION_COLUMNS SESSION_FROM " AND s.horse_id = $3 "
                               "ORDER BY s.started_at DESC, s.id DESC LIMIT $4", params,
                           session_item, &list);
    json_decref(params);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:O}", "horse_id", (json_int_t)horse_id, "sessions", list);
    json_decref(list);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

static int delete_tx(keel_store *st, void *arg)
{
    json_t *params = arg;
    int rc = keel_store_exec(st, "DELETE FROM riding_session_data WHERE session_id = $1",
                             params, NULL);
    if (rc == 0)
        rc = keel_store_exec(st, "DELETE FROM riding_sessions WHERE id = $1", params, NULL);
    return rc;
}

/* Owners (and admins) delete any session of the horse, editors the ones
 * they uploaded, viewers none (403: they can see it). */
int riding_h_delete_session(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t id = json_integer_value(json_object_get(in, "session_id"));
    json_t *params = NULL, *session = NULL;
    riding_role role = RIDING_NONE;
    riding_who who;
    int rc = riding_who_of(ctx, &who);

    if (rc == 0)
        rc = riding_session_get(st, &who, id, &session);
    if (rc == KEEL_ENOTFOUND)
        return riding_not_found(ctx, "session", id);
    if (rc == 0)
        rc = riding_horse_access(ctx, st, &who,
                                 json_integer_value(json_object_get(session, "horse_id")),
                                 RIDING_EDITOR, &role);
    if (rc == 0 && role < RIDING_OWNER
        && json_integer_value(json_object_get(session, "uploaded_by")) != who.user_id) {
        keel_ctx_error_field_new(ctx, "session_id", json_integer(id));
        rc = keel_ctx_error(ctx, KEEL_EFORBIDDEN, "session %lld was uploaded by another user: "
                            "only the horse's owner may delete it", (long long)id);
    }
    json_decref(session);
    if (rc != 0)
        return rc;
    params = json_pack("[I]", (json_int_t)id);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_tx(st, delete_tx, params);
    json_decref(params);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:b}", "session_id", (json_int_t)id, "deleted", 1);
    return *out ? 0 : KEEL_ENOMEM;
}

int riding_h_horse_trend(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id"));
    json_t *params = NULL, *rows = NULL, *sessions = NULL, *v;
    riding_who who;
    size_t i;
    int rc;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    rc = riding_horse_access(ctx, st, &who, horse_id, RIDING_VIEWER, NULL);
    if (rc != 0)
        return rc;
    params = json_pack("[I,i,I,i]", (json_int_t)who.user_id, who.admin ? 1 : 0,
                       (json_int_t)horse_id, RIDING_TREND_MAX);
    sessions = json_array();
    if (params == NULL || sessions == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* the most recent RIDING_TREND_MAX, then oldest first */
    rc = keel_store_exec(st, "SELECT s.id AS id, s.started_at AS started_at, s.summary AS summary"
                             SESSION_FROM " AND s.horse_id = $3 AND s.status = 'ready' "
                             "ORDER BY s.started_at DESC, s.id DESC LIMIT $4", params, &rows);
    if (rc != 0)
        goto out;
    if (json_array_size(rows) == 0) {
        keel_ctx_error_field_new(ctx, "horse_id", json_integer(horse_id));
        rc = keel_ctx_error(ctx, KEEL_ENOTFOUND, "horse %lld has no summarized sessions yet",
                            (long long)horse_id);
        goto out;
    }
    for (i = json_array_size(rows); i-- > 0;) {
        json_t *summary;
        v = json_array_get(rows, i);
        summary = json_loads(json_string_value(json_object_get(v, "summary")), 0, NULL);
        if (summary == NULL) {
            rc = keel_ctx_error(ctx, KEEL_EINTERNAL, "stored summary of a session is not JSON");
            goto out;
        }
        if (json_array_append_new(sessions,
                                  json_pack("{s:I, s:O, s:O, s:o}", "horse_id", (json_int_t)horse_id,
                                            "date", json_object_get(v, "started_at"),
                                            "session_id", json_object_get(v, "id"),
                                            "summary", summary)) != 0) {
            rc = KEEL_ENOMEM;
            goto out;
        }
    }
    rc = riding_trend(ctx, sessions, out);
out:
    json_decref(sessions);
    json_decref(rows);
    json_decref(params);
    return rc;
}
