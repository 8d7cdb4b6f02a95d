/*
 * riding_stable.c — riders and horses.  A horse can have several riders
 * (riding_horse_riders).  Riders and horses belong to the user who created
 * them (owner_id; NULL when the operator did); a horse is also visible to
 * the users it is shared with (riding_access.c).  Every read here carries
 * the visibility predicate in its SQL.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "riding-internal.h"

/* INSERT … (name, created_at, owner_id) VALUES ($1, $2, $3) RETURNING id. */
static int insert_named(keel_store *st, const char *sql, const char *name, int64_t now,
                        int64_t owner_id, json_int_t *id)
{
    json_t *params = json_pack("[s,I,o]", name, (json_int_t)now,
                               owner_id > 0 ? json_integer(owner_id) : json_null());
    json_t *rows = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, sql, params, &rows);
    if (rc == 0)
        *id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    json_decref(rows);
    json_decref(params);
    return rc;
}

static json_t *named_json(json_int_t id, const char *name, int64_t created_at)
{
    char ts[32];
    time_t t = (time_t)created_at;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(ts, sizeof ts, "1970-01-01T00:00:00Z");
    return json_pack("{s:I, s:s, s:s}", "id", id, "name", name, "created_at", ts);
}

int riding_h_create_rider(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *name = json_string_value(json_object_get(in, "name"));
    int64_t now = riding_now();
    json_int_t id = 0;
    riding_who who;
    int rc;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    rc = insert_named(keel_ctx_store(ctx), "INSERT INTO riding_riders (name, created_at, owner_id) "
                                           "VALUES ($1, $2, $3) RETURNING id",
                      name, now, who.user_id, &id);
    if (rc != 0)
        return rc;
    *out = named_json(id, name, now);
    return *out ? 0 : KEEL_ENOMEM;
}

static int rider_item(keel_store *st, const json_t *row, json_t **item)
{
    *item = named_json(json_integer_value(json_object_get(row, "id")),
                       json_string_value(json_object_get(row, "name")),
                       json_integer_value(json_object_get(row, "created_at")));
    return *item != NULL ? 0 : KEEL_ENOMEM;
}

int riding_h_list_riders(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_t *list = NULL, *params;
    riding_who who;
    int rc;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    if ((params = riding_who_params(&who)) == NULL)
        return KEEL_ENOMEM;
    rc = riding_query_list(keel_ctx_store(ctx),
                           "SELECT id, name, created_at FROM riding_riders "
                           "WHERE $2 = 1 OR owner_id = $1 ORDER BY id", params,
                           rider_item, &list);
    json_decref(params);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:O}", "riders", list);
    json_decref(list);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

/* Links rider_id (the caller's own) to horse_id; linking twice is a no-op. */
static int link_rider(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t horse_id,
                      int64_t rider_id)
{
    json_t *params;
    int rc = riding_rider_access(ctx, st, who, rider_id, 0);

    if (rc != 0)
        return rc;
    params = json_pack("[I,I]", (json_int_t)horse_id, (json_int_t)rider_id);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "INSERT INTO riding_horse_riders (horse_id, rider_id) "
                             "VALUES ($1, $2) ON CONFLICT DO NOTHING", params, NULL);
    json_decref(params);
    return rc;
}

/* One horse as the caller sees it; $1 = user id, $2 = admin flag.  role is
 * owner, admin (an admin's view of someone else's horse), editor or viewer. */
#define HORSE_SELECT                                                                     \
    "SELECT h.id AS id, h.name AS name, h.created_at AS created_at, h.owner_id AS owner_id, " \
    "(SELECT count(*) FROM riding_sessions s WHERE s.horse_id = h.id) AS sessions, "     \
    "CASE WHEN h.owner_id = $1 THEN 'owner' WHEN $2 = 1 THEN 'admin' ELSE "              \
    "(SELECT x.role FROM riding_horse_shares x WHERE x.horse_id = h.id AND x.user_id = $1) " \
    "END AS role FROM riding_horses h WHERE " RIDING_SEES_HORSE("h", "$1", "$2")

/* Column values of a list of rows as a JSON array (new reference). */
static int column_list(keel_store *st, const char *sql, json_int_t id, const char *col,
                       json_t **list)
{
    json_t *params = json_pack("[I]", id), *rows = NULL, *v;
    size_t i;
    int rc;

    *list = json_array();
    if (params == NULL || *list == NULL) {
        json_decref(params);
        return KEEL_ENOMEM;
    }
    rc = keel_store_exec(st, sql, params, &rows);
    json_array_foreach(rows, i, v) {
        json_t *x = col != NULL ? json_incref(json_object_get(v, col)) : json_incref(v);
        if (json_array_append_new(*list, x) != 0)
            rc = KEEL_ENOMEM;
    }
    json_decref(rows);
    json_decref(params);
    return rc;
}

/* A HORSE_SELECT row in API shape {id,name,created_at,owner_id,role,
 * rider_ids,sessions[,shared_with]}; shared_with only for owner and admin. */
static int horse_item(keel_store *st, const json_t *row, json_t **out)
{
    json_int_t id = json_integer_value(json_object_get(row, "id"));
    const char *role = json_string_value(json_object_get(row, "role"));
    json_t *ids = NULL, *shares = NULL, *owner = json_object_get(row, "owner_id");
    int rc;

    *out = NULL;
    rc = column_list(st, "SELECT rider_id FROM riding_horse_riders WHERE horse_id = $1 "
                         "ORDER BY rider_id", id, "rider_id", &ids);
    if (rc == 0 && role != NULL && (strcmp(role, "owner") == 0 || strcmp(role, "admin") == 0))
        rc = column_list(st, "SELECT user_id, role FROM riding_horse_shares WHERE horse_id = $1 "
                             "ORDER BY user_id", id, NULL, &shares);
    if (rc != 0)
        goto out;
    *out = named_json(id, json_string_value(json_object_get(row, "name")),
                      json_integer_value(json_object_get(row, "created_at")));
    if (*out == NULL || json_object_set(*out, "rider_ids", ids) != 0
        || json_object_set(*out, "sessions", json_object_get(row, "sessions")) != 0
        || json_object_set_new(*out, "owner_id", json_is_integer(owner) ? json_incref(owner)
                                                                         : json_null()) != 0
        || json_object_set_new(*out, "role", json_string(role ? role : "none")) != 0
        || (shares != NULL && json_object_set(*out, "shared_with", shares) != 0))
        rc = KEEL_ENOMEM;
out:
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(shares);
    json_decref(ids);
    return rc;
}

/* The horse in API shape, as who sees it (KEEL_ENOTFOUND if not visible). */
static int horse_get(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t horse_id,
                     json_t **out)
{
    json_t *params = json_pack("[I,i,I]", (json_int_t)who->user_id, who->admin ? 1 : 0,
                               (json_int_t)horse_id), *row = NULL;
    int rc;

    *out = NULL;
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, HORSE_SELECT " AND h.id = $3", params, &row);
    if (rc == 0)
        rc = horse_item(st, row, out);
    else if (rc == KEEL_ENOTFOUND)
        rc = riding_not_found(ctx, "horse", horse_id);
    json_decref(row);
    json_decref(params);
    return rc;
}

struct horse_job {
    keel_ctx         *ctx;
    const json_t     *in;
    const riding_who *who;
    json_int_t        id;
};

static int create_horse_tx(keel_store *st, void *arg)
{
    struct horse_job *job = arg;
    const json_t *ids = json_object_get(job->in, "rider_ids");
    json_t *v;
    size_t i;
    int rc;

    rc = insert_named(st, "INSERT INTO riding_horses (name, created_at, owner_id) "
                          "VALUES ($1, $2, $3) RETURNING id",
                      json_string_value(json_object_get(job->in, "name")), riding_now(),
                      job->who->user_id, &job->id);
    if (rc != 0)
        return rc;
    json_array_foreach(ids, i, v) {
        rc = link_rider(job->ctx, st, job->who, job->id, json_integer_value(v));
        if (rc != 0)
            return rc;
    }
    return 0;
}

int riding_h_create_horse(keel_ctx *ctx, const json_t *in, json_t **out)
{
    riding_who who;
    struct horse_job job = { .ctx = ctx, .in = in, .who = &who };
    keel_store *st = keel_ctx_store(ctx);
    int rc = riding_who_of(ctx, &who);

    if (rc == 0)
        rc = keel_store_tx(st, create_horse_tx, &job);
    return rc != 0 ? rc : horse_get(ctx, st, &who, job.id, out);
}

int riding_h_add_rider_to_horse(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id"));
    riding_who who;
    int rc = riding_who_of(ctx, &who);

    if (rc == 0)
        rc = riding_horse_access(ctx, st, &who, horse_id, RIDING_EDITOR, NULL);
    if (rc == 0)
        rc = link_rider(ctx, st, &who, horse_id,
                        json_integer_value(json_object_get(in, "rider_id")));
    return rc != 0 ? rc : horse_get(ctx, st, &who, horse_id, out);
}

int riding_h_list_horses(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_int_t limit = 100, offset = 0;
    json_t *params, *list = NULL;
    riding_who who;
    int rc;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    if (json_is_integer(json_object_get(in, "limit")))
        limit = json_integer_value(json_object_get(in, "limit"));
    if (json_is_integer(json_object_get(in, "offset")))
        offset = json_integer_value(json_object_get(in, "offset"));
    params = json_pack("[I,i,I,I]", (json_int_t)who.user_id, who.admin ? 1 : 0, limit, offset);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = riding_query_list(keel_ctx_store(ctx), HORSE_SELECT " ORDER BY h.id LIMIT $3 OFFSET $4",
                           params, horse_item, &list);
    json_decref(params);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:O}", "horses", list);
    json_decref(list);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}
