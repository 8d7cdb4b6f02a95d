/*
 * riding_access.c — who may see and change what (docs/riding.md, "Ownership").
 *
 * Access is decided by the horse: its owner (the user who created it) and
 * the users it is shared with, as viewer or editor.  Every check is a SQL
 * predicate (RIDING_SEES_HORSE) in the query that reads the row, never a
 * filter applied after loading, so a row the caller may not see is never
 * read at all.  A horse the caller cannot see answers 404 not_found, exactly
 * like one that does not exist; a horse the caller sees with too small a
 * role answers 403.  Admins (and the operator) see everything; rows with a
 * NULL owner (made by the operator, or older than ownership) are theirs only.
 */
#include <stdio.h>
#include <string.h>

#include "riding-internal.h"

const char *riding_role_name(riding_role r)
{
    switch (r) {
    case RIDING_VIEWER: return "viewer";
    case RIDING_EDITOR: return "editor";
    case RIDING_OWNER:  return "owner";
    default:            return "none";
    }
}

int riding_role_parse(const char *s, riding_role *r)
{
    if (s != NULL && strcmp(s, "viewer") == 0)
        *r = RIDING_VIEWER;
    else if (s != NULL && strcmp(s, "editor") == 0)
        *r = RIDING_EDITOR;
    else
        return KEEL_EINVAL;
    return 0;
}

int riding_who_of(keel_ctx *ctx, riding_who *who)
{
    who->user_id = keel_ctx_user_id(ctx);
    who->admin = keel_ctx_is_admin(ctx);
    if (who->user_id == 0 && !who->admin)
        return keel_ctx_error(ctx, KEEL_EUNAUTH, "riding needs a signed-in user (bearer token)");
    return 0;
}

json_t *riding_who_params(const riding_who *who)
{
    return json_pack("[I,i]", (json_int_t)who->user_id, who->admin ? 1 : 0);
}

int riding_not_found(keel_ctx *ctx, const char *what, int64_t id)
{
    char field[48];

    snprintf(field, sizeof field, "%s_id", what);
    keel_ctx_error_field_new(ctx, field, json_integer(id));
    return keel_ctx_error(ctx, KEEL_ENOTFOUND, "%s %lld not found", what, (long long)id);
}

int riding_horse_access(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t horse_id,
                        riding_role need, riding_role *role)
{
    json_t *params = json_pack("[I,I,i]", (json_int_t)horse_id, (json_int_t)who->user_id,
                               who->admin ? 1 : 0);
    json_t *row = NULL;
    const char *shared;
    riding_role have = RIDING_NONE;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, "SELECT h.owner_id AS owner_id, (SELECT s.role FROM riding_horse_shares s "
                            "WHERE s.horse_id = h.id AND s.user_id = $2) AS shared "
                            "FROM riding_horses h WHERE h.id = $1 AND "
                            RIDING_SEES_HORSE("h", "$2", "$3"),
                        params, &row);
    json_decref(params);
    if (rc == KEEL_ENOTFOUND)
        return riding_not_found(ctx, "horse", horse_id);
    if (rc != 0)
        return rc;
    shared = json_string_value(json_object_get(row, "shared"));
    if (who->admin || (who->user_id > 0
                       && json_integer_value(json_object_get(row, "owner_id")) == who->user_id))
        have = RIDING_OWNER;
    else if (riding_role_parse(shared, &have) != 0)
        have = RIDING_NONE;  /* unreachable: the predicate let the row through */
    json_decref(row);
    if (role != NULL)
        *role = have;
    if (have < need) {
        keel_ctx_error_field_new(ctx, "horse_id", json_integer(horse_id));
        keel_ctx_error_field_new(ctx, "role", json_string(riding_role_name(have)));
        return keel_ctx_error(ctx, KEEL_EFORBIDDEN, "you are %s %s of horse %lld; this needs %s",
                              have == RIDING_EDITOR ? "an" : "a", riding_role_name(have),
                              (long long)horse_id,
                              need == RIDING_OWNER ? "its owner" : "editor rights");
    }
    return 0;
}

int riding_rider_access(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t rider_id,
                        int64_t horse_id)
{
    json_t *params = json_pack("[I,I,i,I]", (json_int_t)rider_id, (json_int_t)who->user_id,
                               who->admin ? 1 : 0, (json_int_t)horse_id);
    json_t *row = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    /* the caller's own rider, or (horse_id > 0) one already riding that horse */
    rc = keel_store_one(st, "SELECT r.id FROM riding_riders r WHERE r.id = $1 AND ($3 = 1 "
                            "OR r.owner_id = $2 OR EXISTS (SELECT 1 FROM riding_horse_riders hr "
                            "WHERE hr.rider_id = r.id AND hr.horse_id = $4))",
                        params, &row);
    json_decref(params);
    json_decref(row);
    if (rc == KEEL_ENOTFOUND)
        return riding_not_found(ctx, "rider", rider_id);
    return rc;
}

/* ---- share_horse / unshare_horse ------------------------------------------ */

/* The user named by in (user_id or email), checked with auth: a share never
 * names a user that does not exist (yet). */
static int share_target(keel_ctx *ctx, const json_t *in, int64_t *user_id)
{
    const json_t *id = json_object_get(in, "user_id");
    const char *email = json_string_value(json_object_get(in, "email"));

    if (json_is_integer(id) == (email != NULL))
        return keel_ctx_error(ctx, KEEL_EINVAL, "give exactly one of user_id and email");
    return riding_user_lookup(ctx, email, json_is_integer(id) ? json_integer_value(id) : 0,
                              user_id);
}

int riding_user_lookup(keel_ctx *ctx, const char *email, int64_t id, int64_t *user_id)
{
    json_t *in = email != NULL ? json_pack("{s:s}", "email", email)
                               : json_pack("{s:I}", "user_id", (json_int_t)id);
    json_t *out = NULL;
    int rc;

    *user_id = 0;
    if (in == NULL)
        return KEEL_ENOMEM;
    rc = keel_call(ctx, "auth", "lookup_user", in, &out);
    json_decref(in);
    if (rc == 0)
        *user_id = json_integer_value(json_object_get(out, "user_id"));
    json_decref(out);
    if (rc == 0 && *user_id <= 0)
        rc = keel_ctx_error(ctx, KEEL_EINTERNAL, "auth.lookup_user answered without a user_id");
    return rc;
}

int riding_h_share_horse(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id")), user_id = 0;
    const char *role_text = json_string_value(json_object_get(in, "role"));
    riding_role role;
    riding_who who;
    json_t *params, *rows = NULL;
    int rc;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    if (riding_role_parse(role_text, &role) != 0)
        return keel_ctx_error(ctx, KEEL_EINVAL, "role: 'viewer' or 'editor'");
    if ((rc = riding_horse_access(ctx, st, &who, horse_id, RIDING_OWNER, NULL)) != 0)
        return rc;
    if ((rc = share_target(ctx, in, &user_id)) != 0)
        return rc;
    params = json_pack("[I,I,s,I]", (json_int_t)horse_id, (json_int_t)user_id, role_text,
                       (json_int_t)riding_now());
    if (params == NULL)
        return KEEL_ENOMEM;
    /* the owner cannot be demoted to a share of their own horse: no row */
    rc = keel_store_exec(st, "INSERT INTO riding_horse_shares (horse_id, user_id, role, created_at) "
                             "SELECT $1, $2, $3, $4 FROM riding_horses h WHERE h.id = $1 "
                             "AND (h.owner_id IS NULL OR h.owner_id <> $2) "
                             "ON CONFLICT (horse_id, user_id) DO UPDATE SET role = excluded.role "
                             "RETURNING user_id", params, &rows);
    json_decref(params);
    if (rc == 0 && json_array_size(rows) == 0)
        rc = keel_ctx_error(ctx, KEEL_EINVAL, "user %lld owns horse %lld", (long long)user_id,
                            (long long)horse_id);
    json_decref(rows);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:I, s:s}", "horse_id", (json_int_t)horse_id, "user_id",
                     (json_int_t)user_id, "role", role_text);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

int riding_h_unshare_horse(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id")), user_id = 0;
    riding_role role = RIDING_NONE;
    riding_who who;
    json_t *params, *rows = NULL;
    int rc, self;

    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    if ((rc = share_target(ctx, in, &user_id)) != 0)
        return rc;
    /* the owner removes anyone; a user may leave a horse shared with them */
    self = who.user_id > 0 && user_id == who.user_id;
    rc = riding_horse_access(ctx, st, &who, horse_id, self ? RIDING_VIEWER : RIDING_OWNER, &role);
    if (rc != 0)
        return rc;
    params = json_pack("[I,I]", (json_int_t)horse_id, (json_int_t)user_id);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "DELETE FROM riding_horse_shares WHERE horse_id = $1 AND user_id = $2 "
                             "RETURNING user_id", params, &rows);
    json_decref(params);
    if (rc == 0)
        *out = json_pack("{s:I, s:I, s:b}", "horse_id", (json_int_t)horse_id, "user_id",
                         (json_int_t)user_id, "removed", json_array_size(rows) > 0);
    json_decref(rows);
    if (rc != 0)
        return rc;
    return *out != NULL ? 0 : KEEL_ENOMEM;
}
