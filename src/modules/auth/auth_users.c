/*
 * auth_users.c — users: register, login, list_users.
 *
 * Emails are stored lower-cased.  Login answers the same "invalid email or
 * password" for an unknown email and a wrong password, and spends the same
 * argon2id work on both, so neither the message nor the timing tells which.
 * A password hash older than the configured cost is rehashed on login.
 * Login and register are rate-limited per client address, and failed logins
 * counted per (email, address) in auth's own tables (auth_throttle.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-internal.h"

int auth_email_valid(const char *email)
{
    const char *at, *dot, *p;
    size_t n;

    if (email == NULL)
        return 0;
    n = strlen(email);
    if (n < 3 || n > AUTH_EMAIL_MAX)
        return 0;
    for (p = email; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == ',' || *p == '<'
            || *p == '>' || *p == '(' || *p == ')' || *p == ';' || *p == '\\')
            return 0;
    at = strchr(email, '@');
    if (at == NULL || at == email || strchr(at + 1, '@') != NULL)
        return 0;
    dot = strrchr(at + 1, '.');
    if (dot == NULL || dot == at + 1 || dot[1] == '\0')
        return 0;
    if (strstr(at + 1, "..") != NULL || at[1] == '.')
        return 0;
    return 1;
}

/* Lower-cased copy in the call arena, or NULL. */
static char *email_norm(keel_ctx *ctx, const char *email)
{
    char *s = keel_arena_strdup(keel_ctx_arena(ctx), email);
    char *p;
    if (s != NULL)
        for (p = s; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return s;
}

json_t *auth_user_public(const json_t *row)
{
    char ts[32], err[128];
    json_t *scopes = NULL;

    auth_rfc3339(json_integer_value(json_object_get(row, "created_at")), ts, sizeof ts);
    if (auth_scopes_parse(json_string_value(json_object_get(row, "scopes")), &scopes,
                          err, sizeof err) != 0)
        scopes = json_array();
    return json_pack("{s:I, s:s, s:o, s:s}",
                     "id", json_integer_value(json_object_get(row, "id")),
                     "email", json_string_value(json_object_get(row, "email")),
                     "scopes", scopes, "created_at", ts);
}

int auth_user_create(keel_store *st, const char *email, const char *password_hash,
                     const json_t *scopes, json_t **user)
{
    json_t *params = NULL, *rows = NULL, *row = NULL;
    char *csv = auth_scopes_join(scopes);
    int64_t now = auth_now();
    int rc;

    *user = NULL;
    if (csv == NULL)
        return KEEL_ENOMEM;
    params = json_pack("[s,s,s,I]", email, password_hash, csv, (json_int_t)now);
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(st,
        "INSERT INTO auth_users (email, password_hash, scopes, created_at) "
        "VALUES ($1, $2, $3, $4) RETURNING id", params, &rows);
    if (rc == KEEL_ECONFLICT)
        rc = KEEL_EEXIST;
    if (rc != 0)
        goto out;
    row = json_pack("{s:O, s:s, s:s, s:I}", "id", json_object_get(json_array_get(rows, 0), "id"),
                    "email", email, "scopes", csv, "created_at", (json_int_t)now);
    *user = row ? auth_user_public(row) : NULL;
    if (*user == NULL)
        rc = KEEL_ENOMEM;
out:
    json_decref(row);
    json_decref(rows);
    json_decref(params);
    free(csv);
    return rc;
}

int auth_user_find(keel_store *st, const char *email, json_t **row)
{
    json_t *params = json_pack("[s]", email);
    int rc;

    *row = NULL;
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st,
        "SELECT id, email, password_hash, scopes, created_at FROM auth_users "
        "WHERE email = $1", params, row);
    json_decref(params);
    return rc;
}

int auth_h_register(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_module_ctx *mc = keel_ctx_module(ctx);
    const char *password = json_string_value(json_object_get(in, "password"));
    const char *raw_email = json_string_value(json_object_get(in, "email"));
    char *email, *hash = NULL;
    json_t *scopes = NULL;
    char err[160];
    int rc;

    rc = auth_rate_hit(ctx, keel_ctx_store(ctx), mc);
    if (rc != 0)
        return rc;
    if (!auth_email_valid(raw_email))
        return keel_ctx_error(ctx, KEEL_EINVAL, "email: not a valid address");
    if (password == NULL || strlen(password) < AUTH_PASSWORD_MIN)
        return keel_ctx_error(ctx, KEEL_EINVAL, "password: at least %d characters",
                              AUTH_PASSWORD_MIN);
    if (strlen(password) > AUTH_PASSWORD_MAX)
        return keel_ctx_error(ctx, KEEL_EINVAL, "password: at most %d characters",
                              AUTH_PASSWORD_MAX);
    email = email_norm(ctx, raw_email);
    if (email == NULL)
        return KEEL_ENOMEM;
    rc = auth_scopes_parse(keel_config_str(mc, "default_scopes"), &scopes, err, sizeof err);
    if (rc != 0) {
        rc = keel_ctx_error(ctx, KEEL_ECONFIG, "auth.default_scopes: %s", err);
        goto out;
    }
    rc = auth_password_new(ctx, mc, password, &hash);
    if (rc != 0)
        goto out;
    rc = auth_user_create(keel_ctx_store(ctx), email, hash, scopes, out);
    if (rc == KEEL_EEXIST)
        keel_ctx_error(ctx, rc, "a user with this email already exists");
out:
    free(hash);
    json_decref(scopes);
    return rc;
}

/* A hash older than the configured argon2id cost (a PBKDF2 one from before
 * argon2, or weaker parameters) is replaced now that the password is known.
 * A failure is logged, never fatal: the login already succeeded. */
static void rehash(keel_ctx *ctx, keel_module_ctx *mc, keel_store *st, const json_t *row,
                   const char *password)
{
    auth_argon2_params ap = auth_argon2_of(mc);
    const char *stored = json_string_value(json_object_get(row, "password_hash"));
    json_t *params;
    char *hash = NULL;
    int rc;

    if (auth_password_current(stored, &ap))
        return;
    rc = auth_password_new(ctx, mc, password, &hash);
    params = rc == 0 ? json_pack("[s,O,s]", hash, json_object_get(row, "id"), stored) : NULL;
    /* only if nobody changed it meanwhile */
    if (params != NULL)
        rc = keel_store_exec(st, "UPDATE auth_users SET password_hash = $1 WHERE id = $2 "
                                 "AND password_hash = $3", params, NULL);
    if (rc != 0)
        keel_warn(ctx, "auth: could not rehash a password on login: %s", keel_strerror(rc));
    json_decref(params);
    free(hash);
}

int auth_h_login(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_module_ctx *mc = keel_ctx_module(ctx);
    keel_store *st = keel_ctx_store(ctx);
    const char *password = json_string_value(json_object_get(in, "password"));
    const char *raw_email = json_string_value(json_object_get(in, "email"));
    json_t *row = NULL, *scopes = NULL;
    const char *stored;
    char *email;
    char err[160];
    int rc;

    if (raw_email == NULL || password == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "email and password are required");
    rc = auth_rate_hit(ctx, st, mc);
    if (rc != 0)
        return rc;
    email = email_norm(ctx, raw_email);
    if (email == NULL)
        return KEEL_ENOMEM;
    rc = auth_lockout_check(ctx, st, email);
    if (rc != 0)
        return rc;

    rc = auth_user_find(st, email, &row);
    if (rc == KEEL_ENOTFOUND) {
        /* Same argon2 cost as a real check, then the same answer. */
        rc = auth_password_matches(ctx, mc, password, NULL);
    } else if (rc == 0) {
        stored = json_string_value(json_object_get(row, "password_hash"));
        rc = auth_password_matches(ctx, mc, password, stored);
        if (rc == KEEL_EINVAL)  /* unusable stored hash: never a match */
            rc = KEEL_EUNAUTH;
    }
    if (rc == KEEL_EUNAUTH) {
        auth_lockout_fail(ctx, st, mc, email);
        rc = keel_ctx_error(ctx, rc, "invalid email or password");
        goto out;
    }
    if (rc != 0)
        goto out;
    auth_lockout_reset(ctx, st, email);
    rehash(ctx, mc, st, row, password);

    rc = auth_scopes_parse(json_string_value(json_object_get(row, "scopes")), &scopes,
                           err, sizeof err);
    if (rc != 0)
        goto out;
    rc = auth_token_issue(keel_ctx_store(ctx), json_integer_value(json_object_get(row, "id")),
                          scopes, auth_now() + keel_config_int(mc, "token_ttl_s"), "login", 0, out);
out:
    json_decref(scopes);
    json_decref(row);
    return rc;
}

int auth_h_list_users(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_int_t limit = 100, offset = 0;
    json_t *params = NULL, *rows = NULL, *users = NULL, *v;
    size_t i;
    int rc;

    if (json_is_integer(json_object_get(in, "limit")))
        limit = json_integer_value(json_object_get(in, "limit"));
    if (json_is_integer(json_object_get(in, "offset")))
        offset = json_integer_value(json_object_get(in, "offset"));
    params = json_pack("[I,I]", limit, offset);
    users = json_array();
    if (params == NULL || users == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(keel_ctx_store(ctx),
        "SELECT id, email, scopes, created_at FROM auth_users ORDER BY id LIMIT $1 OFFSET $2",
        params, &rows);
    if (rc != 0)
        goto out;
    json_array_foreach(rows, i, v) {
        if (json_array_append_new(users, auth_user_public(v)) != 0) {
            rc = KEEL_ENOMEM;
            goto out;
        }
    }
    *out = json_pack("{s:O}", "users", users);
    if (*out == NULL)
        rc = KEEL_ENOMEM;
out:
    json_decref(users);
    json_decref(rows);
    json_decref(params);
    return rc;
}

/* Internal: other modules name users by email (riding's share_horse, the
 * CLI's --owner).  Not served to end users: it would tell anyone which
 * emails are registered. */
int auth_h_lookup_user(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *raw_email = json_string_value(json_object_get(in, "email"));
    const json_t *id = json_object_get(in, "user_id");
    json_t *params, *row = NULL, *scopes = NULL;
    char err[160];
    int rc;

    if ((raw_email != NULL) == json_is_integer(id))
        return keel_ctx_error(ctx, KEEL_EINVAL, "give exactly one of email and user_id");
    if (raw_email != NULL) {
        char *email = email_norm(ctx, raw_email);
        if (email == NULL)
            return KEEL_ENOMEM;
        rc = auth_user_find(keel_ctx_store(ctx), email, &row);
    } else {
        params = json_pack("[O]", id);
        if (params == NULL)
            return KEEL_ENOMEM;
        rc = keel_store_one(keel_ctx_store(ctx), "SELECT id, email, scopes FROM auth_users "
                                                 "WHERE id = $1", params, &row);
        json_decref(params);
    }
    if (rc == KEEL_ENOTFOUND) {
        rc = keel_ctx_error(ctx, rc, "no user with this %s", raw_email ? "email" : "id");
        goto out;
    }
    if (rc != 0)
        goto out;
    rc = auth_scopes_parse(json_string_value(json_object_get(row, "scopes")), &scopes, err,
                           sizeof err);
    if (rc != 0)
        goto out;
    *out = json_pack("{s:O, s:O, s:O}", "user_id", json_object_get(row, "id"), "email",
                     json_object_get(row, "email"), "scopes", scopes);
    if (*out == NULL)
        rc = KEEL_ENOMEM;
out:
    json_decref(scopes);
    json_decref(row);
    return rc;
}
