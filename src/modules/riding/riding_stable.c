/*
 * riding_stable.c — riders and horses.  A horse can have several riders
 * (riding_horse_riders); rider ids given for a horse must exist.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "riding-internal.h"

static int insert_named(keel_store *st, const char *sql, const char *name, int64_t now,
                        json_int_t *id)
{
    json_t *params = json_pack("[s,I]", name, (json_int_t)now), *rows = NULL;
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
    int rc;

    rc = insert_named(keel_ctx_store(ctx),
                      "INSERT INTO riding_riders (name, created_at) VALUES ($1, $2) RETURNING id",
                      name, now, &id);
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
    json_t *list = NULL;
    int rc;

    rc = riding_query_list(keel_ctx_store(ctx),
                           "SELECT id, name, created_at FROM riding_riders ORDER BY id", NULL,
                           rider_item, &list);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:O}", "riders", list);
    json_decref(list);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

/* Links rider_id to horse_id (both must exist); linking twice is a no-op. */
static int link_rider(keel_ctx *ctx, keel_store *st, int64_t horse_id, int64_t rider_id)
{
    json_t *params;
    int rc = riding_exists(ctx, st, "riding_riders", "rider", rider_id);

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

/* The horse in API shape {id,name,created_at,rider_ids,sessions}. */
static int horse_get(keel_store *st, int64_t horse_id, json_t **out)
{
    json_t *params = json_pack("[I]", (json_int_t)horse_id), *row = NULL, *rows = NULL;
    json_t *ids = json_array(), *v;
    size_t i;
    int rc;

    *out = NULL;
    if (params == NULL || ids == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_one(st, "SELECT id, name, created_at, (SELECT count(*) FROM riding_sessions s "
                            "WHERE s.horse_id = h.id) AS sessions FROM riding_horses h WHERE id = $1",
                        params, &row);
    if (rc != 0)
        goto out;
    rc = keel_store_exec(st, "SELECT rider_id FROM riding_horse_riders WHERE horse_id = $1 "
                             "ORDER BY rider_id", params, &rows);
    if (rc != 0)
        goto out;
    json_array_foreach(rows, i, v)
        json_array_append(ids, json_object_get(v, "rider_id"));
    *out = named_json(json_integer_value(json_object_get(row, "id")),
                      json_string_value(json_object_get(row, "name")),
                      json_integer_value(json_object_get(row, "created_at")));
    if (*out == NULL || json_object_set(*out, "rider_ids", ids) != 0
        || json_object_set(*out, "sessions", json_object_get(row, "sessions")) != 0)
        rc = KEEL_ENOMEM;
out:
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(ids);
    json_decref(rows);
    json_decref(row);
    json_decref(params);
    return rc;
}

struct horse_job {
    keel_ctx     *ctx;
    const json_t *in;
    json_int_t    id;
};

static int create_horse_tx(keel_store *st, void *arg)
{
    struct horse_job *job = arg;
    const json_t *ids = json_object_get(job->in, "rider_ids");
    json_t *v;
    size_t i;
    int rc;

    rc = insert_named(st, "INSERT INTO riding_horses (name, created_at) VALUES ($1, $2) "
                          "RETURNING id",
                      json_string_value(json_object_get(job->in, "name")), riding_now(), &job->id);
    if (rc != 0)
        return rc;
    json_array_foreach(ids, i, v) {
        rc = link_rider(job->ctx, st, job->id, json_integer_value(v));
        if (rc != 0)
            return rc;
    }
    return 0;
}

int riding_h_create_horse(keel_ctx *ctx, const json_t *in, json_t **out)
{
    struct horse_job job = { .ctx = ctx, .in = in };
    keel_store *st = keel_ctx_store(ctx);
    int rc = keel_store_tx(st, create_horse_tx, &job);

    return rc != 0 ? rc : horse_get(st, job.id, out);
}

int riding_h_add_rider_to_horse(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id"));
    int rc = riding_exists(ctx, st, "riding_horses", "horse", horse_id);

    if (rc == 0)
        rc = link_rider(ctx, st, horse_id, json_integer_value(json_object_get(in, "rider_id")));
    return rc != 0 ? rc : horse_get(st, horse_id, out);
}

static int horse_item(keel_store *st, const json_t *row, json_t **item)
{
    return horse_get(st, json_integer_value(json_object_get(row, "id")), item);
}

int riding_h_list_horses(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_int_t limit = 100, offset = 0;
    json_t *params, *list = NULL;
    int rc;

    if (json_is_integer(json_object_get(in, "limit")))
        limit = json_integer_value(json_object_get(in, "limit"));
    if (json_is_integer(json_object_get(in, "offset")))
        offset = json_integer_value(json_object_get(in, "offset"));
    params = json_pack("[I,I]", limit, offset);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = riding_query_list(keel_ctx_store(ctx),
                           "SELECT id FROM riding_horses ORDER BY id LIMIT $1 OFFSET $2", params,
                           horse_item, &list);
    json_decref(params);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:O}", "horses", list);
    json_decref(list);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}
