/*
 * auth_tokens.c — API tokens: issue, check, revoke; whoami and check_token.
 *
 * A token is shown once ("kt_…"); the table keeps its SHA-256 only.  A token
 * carries its own scopes, capped at issue time by the scopes of whoever asked
 * for it, and on every check by its user's current scopes (demoting a user
 * demotes their tokens).  Expiry and revocation are checked on every use.
 *
 * Tokens minted by create_token remember their parent (the token that asked
 * for them): revoking a token revokes its descendants, and a child may not
 * outlive its parent unless the user's password is given in the same call
 * (then it is a root of its own).  A stolen login token therefore cannot
 * mint a year-long one, and revoking it takes its children along.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth-internal.h"

static void say(char *why, size_t len, const char *msg)
{
    if (why != NULL && len > 0)
        snprintf(why, len, "%s", msg);
}

int auth_token_issue(keel_store *st, int64_t user_id, const json_t *scopes,
                     int64_t expires_at, const char *name, int64_t parent_id, json_t **out)
{
    char token[AUTH_TOKEN_MAXLEN], hash[65], ts[32];
    json_t *params = NULL, *rows = NULL;
    char *csv = NULL;
    int64_t now = auth_now();
    int rc;

    *out = NULL;
    rc = auth_token_generate(token, sizeof token);
    if (rc != 0)
        return rc;
    auth_sha256_hex(token, strlen(token), hash);
    csv = auth_scopes_join(scopes);
    params = csv ? json_pack("[I,s,s?,s,I,I,o]", (json_int_t)user_id, hash, name, csv,
                             (json_int_t)now, (json_int_t)expires_at,
                             parent_id > 0 ? json_integer(parent_id) : json_null()) : NULL;
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(st,
        "INSERT INTO auth_tokens (user_id, token_hash, name, scopes, created_at, expires_at, "
        "parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", params, &rows);
    if (rc != 0)
        goto out;
    auth_rfc3339(expires_at, ts, sizeof ts);
    *out = json_pack("{s:s, s:O, s:s, s:O, s:s*}", "token", token,
                     "token_id", json_object_get(json_array_get(rows, 0), "id"),
                     "expires_at", ts, "scopes", scopes, "name", name);
    if (*out == NULL)
        rc = KEEL_ENOMEM;
out:
    OPENSSL_cleanse(token, sizeof token);
    json_decref(rows);
    json_decref(params);
    free(csv);
    return rc;
}

int auth_token_check(keel_store *st, const char *token, const char *needed,
                     int64_t now, json_t **principal, char *why, size_t whylen)
{
    json_t *params = NULL, *row = NULL, *tok_scopes = NULL, *user_scopes = NULL;
    json_t *eff = NULL, *v;
    char hash[65], err[128];
    size_t i, n;
    int rc;

    *principal = NULL;
    if (token == NULL || *token == '\0') {
        say(why, whylen, "missing bearer token");
        return KEEL_EUNAUTH;
    }
    n = strlen(token);
    if (n >= AUTH_TOKEN_MAXLEN || strncmp(token, AUTH_TOKEN_PREFIX, 3) != 0) {
        say(why, whylen, "malformed token");
        return KEEL_EUNAUTH;
    }
    auth_sha256_hex(token, n, hash);
    params = json_pack("[s]", hash);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st,
        "SELECT t.id AS token_id, t.user_id AS user_id, t.scopes AS scopes, "
        "t.expires_at AS expires_at, COALESCE(t.revoked_at, p.revoked_at) AS revoked_at, "
        "u.email AS email, u.scopes AS user_scopes FROM auth_tokens t "
        "JOIN auth_users u ON u.id = t.user_id LEFT JOIN auth_tokens p ON p.id = t.parent_id "
        "WHERE t.token_hash = $1", params, &row);
    if (rc == KEEL_ENOTFOUND) {
        say(why, whylen, "unknown token");
        rc = KEEL_EUNAUTH;
        goto out;
    }
    if (rc != 0)
        goto out;
    if (!json_is_null(json_object_get(row, "revoked_at"))
        && json_object_get(row, "revoked_at") != NULL) {
        say(why, whylen, "token revoked");
        rc = KEEL_EUNAUTH;
        goto out;
    }
    if (json_integer_value(json_object_get(row, "expires_at")) <= now) {
        say(why, whylen, "token expired");
        rc = KEEL_EUNAUTH;
        goto out;
    }
    if (auth_scopes_parse(json_string_value(json_object_get(row, "scopes")), &tok_scopes,
                          err, sizeof err) != 0
        || auth_scopes_parse(json_string_value(json_object_get(row, "user_scopes")),
                             &user_scopes, err, sizeof err) != 0) {
        say(why, whylen, "stored scopes unreadable");
        rc = KEEL_EINTERNAL;
        goto out;
    }
    eff = json_array();
    if (eff == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    json_array_foreach(tok_scopes, i, v)
        if (auth_scopes_grant(user_scopes, json_string_value(v)))
            json_array_append(eff, v);
    if (!auth_scopes_grant(eff, needed)) {
        if (why != NULL)
            snprintf(why, whylen, "token lacks scope '%s'", needed);
        rc = KEEL_EFORBIDDEN;
        goto out;
    }
    *principal = json_pack("{s:O, s:O, s:O, s:O}", "user_id", json_object_get(row, "user_id"),
                           "email", json_object_get(row, "email"), "scopes", eff,
                           "token_id", json_object_get(row, "token_id"));
    if (*principal == NULL)
        rc = KEEL_ENOMEM;
out:
    json_decref(eff);
    json_decref(user_scopes);
    json_decref(tok_scopes);
    json_decref(row);
    json_decref(params);
    return rc;
}

int auth_authenticate(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                      const char *scope, json_t **principal)
{
    keel_store *st = self ? keel_module_store(self) : NULL;
    char why[160] = "";
    int rc;

    *principal = NULL;
    if (st == NULL)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "auth module is not started");
    rc = auth_token_check(st, token, scope, auth_now(), principal, why, sizeof why);
    if (rc != 0 && why[0] != '\0')
        keel_ctx_error(ctx, rc, "%s", why);
    return rc;
}

/* The parent of a token minted by the calling token (*parent_id), and the
 * cap on its life: a ttl within the calling token's remaining life is fine
 * and the child is revoked with it; a longer one needs the user's password
 * (password, may be NULL), and the child is then a root (*parent_id = 0).
 * A default ttl (explicit = 0) is shortened to the remaining life instead.
 * Callers without a token (the operator's --owner) mint roots. */
static int token_lifetime(keel_ctx *ctx, const json_t *principal, int64_t user_id,
                          long long *ttlp, int explicit, const char *password, int64_t *parent_id)
{
    const json_t *tid = json_object_get(principal, "token_id");
    json_t *params, *row = NULL;
    long long ttl;
    int64_t left;
    int rc;

    *parent_id = 0;
    if (!json_is_integer(tid))
        return 0;
    params = json_pack("[O,I]", tid, (json_int_t)user_id);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(keel_ctx_store(ctx), "SELECT expires_at FROM auth_tokens WHERE id = $1 "
                                             "AND user_id = $2", params, &row);
    json_decref(params);
    left = json_integer_value(json_object_get(row, "expires_at")) - auth_now();
    json_decref(row);
    if (rc == KEEL_ENOTFOUND)
        return keel_ctx_error(ctx, KEEL_EUNAUTH, "the calling token no longer exists");
    if (rc != 0)
        return rc;
    if (!explicit && *ttlp > left && left > 0)
        *ttlp = left;
    ttl = *ttlp;
    if (ttl <= left) {
        *parent_id = json_integer_value(tid);
        return 0;
    }
    if (password == NULL) {
        keel_ctx_error_field_new(ctx, "max_ttl_s", json_integer(left > 0 ? left : 0));
        return keel_ctx_error(ctx, KEEL_EFORBIDDEN, "ttl_s %lld outlives the calling token "
                              "(%lld s left): give your password in the same call", ttl,
                              (long long)(left > 0 ? left : 0));
    }
    return auth_password_check(ctx, keel_ctx_store(ctx), keel_ctx_module(ctx), user_id, password);
}

int auth_h_create_token(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_module_ctx *mc = keel_ctx_module(ctx);
    const json_t *principal;
    json_t *scopes = NULL, *v;
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *password = json_string_value(json_object_get(in, "password"));
    long long ttl = keel_config_int(mc, "token_ttl_s");
    int64_t parent_id = 0;
    long long max_ttl = keel_config_int(mc, "max_token_ttl_s");
    int64_t user_id = 0;
    char err[160];
    size_t i;
    int rc;

    rc = auth_caller(ctx, &principal, &user_id);
    if (rc != 0)
        return rc;
    if (json_is_integer(json_object_get(in, "ttl_s")))
        ttl = json_integer_value(json_object_get(in, "ttl_s"));
    if (ttl < 1 || ttl > max_ttl)
        return keel_ctx_error(ctx, KEEL_EINVAL, "ttl_s: must be between 1 and %lld", max_ttl);
    rc = auth_scopes_from_json(json_object_get(in, "scopes"), &scopes, err, sizeof err);
    if (rc != 0)
        return keel_ctx_error(ctx, rc, "%s", err);
    json_array_foreach(scopes, i, v) {
        if (!auth_scopes_grant(json_object_get(principal, "scopes"), json_string_value(v))) {
            rc = keel_ctx_error(ctx, KEEL_EFORBIDDEN,
                                "cannot grant scope '%s': the caller does not hold it",
                                json_string_value(v));
            goto out;
        }
    }
    rc = token_lifetime(ctx, principal, user_id, &ttl, json_is_integer(json_object_get(in, "ttl_s")),
                        password, &parent_id);
    if (rc != 0)
        goto out;
    rc = auth_token_issue(keel_ctx_store(ctx), user_id, scopes, auth_now() + ttl, name, parent_id,
                          out);
out:
    json_decref(scopes);
    return rc;
}

int auth_h_revoke_token(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *principal;
    int64_t user_id = 0, token_id = json_integer_value(json_object_get(in, "token_id"));
    int rc;

    rc = auth_caller(ctx, &principal, &user_id);
    if (rc != 0)
        return rc;
    rc = auth_token_revoke(keel_ctx_store(ctx), token_id, user_id,
                           auth_scopes_grant(json_object_get(principal, "scopes"), "admin"));
    if (rc == KEEL_ENOTFOUND)
        return keel_ctx_error(ctx, rc, "token %lld not found", (long long)token_id);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:b}", "token_id", (json_int_t)token_id, "revoked", 1);
    return *out ? 0 : KEEL_ENOMEM;
}

int auth_token_revoke(keel_store *st, int64_t token_id, int64_t user_id, int admin)
{
    json_t *params = json_pack("[I,I,i]", (json_int_t)token_id, (json_int_t)user_id, admin ? 1 : 0);
    json_t *row = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st,
        "SELECT id FROM auth_tokens WHERE id = $1 AND (user_id = $2 OR $3 = 1)", params, &row);
    json_decref(params);
    json_decref(row);
    if (rc != 0)
        return rc;
    return auth_token_revoke_tree(st, token_id, NULL);
}

int auth_token_revoke_all_of(keel_store *st, int64_t user_id)
{
    json_t *params = json_pack("[I,I]", (json_int_t)auth_now(), (json_int_t)user_id);
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "UPDATE auth_tokens SET revoked_at = $1 WHERE user_id = $2 "
                             "AND revoked_at IS NULL", params, NULL);
    json_decref(params);
    return rc;
}

int auth_token_revoke_tree(keel_store *st, int64_t token_id, json_int_t *n)
{
    json_t *params = json_pack("[I,I]", (json_int_t)auth_now(), (json_int_t)token_id), *rows = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    /* the token and every token minted from it, at any depth */
    rc = keel_store_exec(st,
        "WITH RECURSIVE tree(id) AS (SELECT id FROM auth_tokens WHERE id = $2 "
        "UNION SELECT t.id FROM auth_tokens t JOIN tree ON t.parent_id = tree.id) "
        "UPDATE auth_tokens SET revoked_at = $1 WHERE revoked_at IS NULL "
        "AND id IN (SELECT id FROM tree) RETURNING id", params, &rows);
    if (n != NULL)
        *n = (json_int_t)json_array_size(rows);
    json_decref(rows);
    json_decref(params);
    return rc;
}

int auth_h_whoami(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *p = keel_ctx_principal(ctx);

    *out = p ? json_deep_copy(p) : json_pack("{s:b, s:[]}", "anonymous", 1, "scopes");
    return *out ? 0 : KEEL_ENOMEM;
}

int auth_h_check_token(keel_ctx *ctx, const json_t *in, json_t **out)
{
    char why[160] = "";
    int rc;

    rc = auth_token_check(keel_ctx_store(ctx), json_string_value(json_object_get(in, "token")),
                          json_string_value(json_object_get(in, "scope")), auth_now(), out,
                          why, sizeof why);
    if (rc != 0 && why[0] != '\0')
        keel_ctx_error(ctx, rc, "%s", why);
    return rc;
}
