/*
 * auth_account.c — what a signed-in user does with their own account:
 * list_tokens, revoke_all, change_password; the password checks shared
 * with create_token (a password given in a call is throttled exactly like
 * a login, per (email, client address)); and the gate around hashing.
 *
 * The gate: an argon2id hash holds argon2_memory_kib (19 MiB by default)
 * for its duration, and handlers run on the worker pool, so without a cap
 * a burst of logins would hold workers × 19 MiB.  At most hash_concurrency
 * hashes run at once; the others wait their turn, bounded by the call's
 * deadline (then 503 with Retry-After: 1).  Hashing never runs on an event
 * loop: login and the account methods are not KEEL_CHEAP, so they run on
 * the handler worker pool (docs/architecture.md, wave-2 decision 2).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth-internal.h"

#define AUTH_GATE_WAIT_MS 10000   /* longest wait for a turn without a deadline */

typedef struct auth_gate {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             busy, max;
} auth_gate;

int auth_gate_init(keel_module_ctx *mc)
{
    auth_gate *g = calloc(1, sizeof *g);
    pthread_condattr_t ca;

    if (g == NULL)
        return KEEL_ENOMEM;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    g->max = (int)keel_config_int(mc, "hash_concurrency");
    keel_module_set_state(mc, g);
    return 0;
}

void auth_gate_free(keel_module_ctx *mc)
{
    auth_gate *g = keel_module_state(mc);

    if (g == NULL)
        return;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
    keel_module_set_state(mc, NULL);
}

/* Waits for a hashing turn: 0, or KEEL_EUNAVAIL (retry_after_s on ctx). */
static int gate_enter(keel_ctx *ctx, keel_module_ctx *mc)
{
    auth_gate *g = keel_module_state(mc);
    int64_t left = ctx ? keel_ctx_remaining_ms(ctx) : AUTH_GATE_WAIT_MS;
    struct timespec until;
    int rc = 0;

    if (g == NULL)
        return 0;  /* not started (a unit test calling the hash directly) */
    if (left > AUTH_GATE_WAIT_MS)
        left = AUTH_GATE_WAIT_MS;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(left / 1000);
    until.tv_nsec += (long)(left % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->mu);
    while (g->busy >= g->max && rc == 0)
        if (left <= 0 || pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT)
            rc = KEEL_EUNAVAIL;
    if (rc == 0)
        g->busy++;
    pthread_mutex_unlock(&g->mu);
    if (rc != 0 && ctx != NULL) {
        keel_ctx_error_field_new(ctx, "retry_after_s", json_integer(1));
        keel_ctx_error(ctx, rc, "too many password checks at once; try again");
    }
    return rc;
}

static void gate_leave(keel_module_ctx *mc)
{
    auth_gate *g = keel_module_state(mc);

    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->busy--;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

auth_argon2_params auth_argon2_of(keel_module_ctx *mc)
{
    auth_argon2_params ap = {
        .m_kib = (uint32_t)keel_config_int(mc, "argon2_memory_kib"),
        .t_cost = (uint32_t)keel_config_int(mc, "argon2_passes"),
        .lanes = (uint32_t)keel_config_int(mc, "argon2_lanes"),
    };
    return ap;
}

int auth_password_new(keel_ctx *ctx, keel_module_ctx *mc, const char *password, char **hash)
{
    auth_argon2_params ap = auth_argon2_of(mc);
    int rc;

    *hash = NULL;
    if ((rc = gate_enter(ctx, mc)) != 0)
        return rc;
    rc = auth_argon2_hash(password, &ap, hash);
    gate_leave(mc);
    return rc;
}

int auth_password_matches(keel_ctx *ctx, keel_module_ctx *mc, const char *password,
                          const char *stored)
{
    int rc;

    if ((rc = gate_enter(ctx, mc)) != 0)
        return rc;
    if (stored != NULL) {
        rc = auth_password_verify(password, stored);
    } else {
        /* no such user: the same argon2 work, then the same answer */
        auth_argon2_params ap = auth_argon2_of(mc);
        char *h = NULL;
        rc = auth_argon2_hash(password ? password : "", &ap, &h);
        free(h);
        if (rc == 0)
            rc = KEEL_EUNAUTH;
    }
    gate_leave(mc);
    return rc;
}

int auth_caller(keel_ctx *ctx, const json_t **principal, int64_t *user_id)
{
    const json_t *p = keel_ctx_principal(ctx);
    json_t *id = json_object_get(p, "user_id");

    *principal = p;
    if (!json_is_integer(id))
        return keel_ctx_error(ctx, KEEL_EUNAUTH,
                              "this call needs a signed-in user (bearer token); the operator "
                              "uses `keel auth create-admin` or `keel --owner EMAIL`");
    *user_id = json_integer_value(id);
    return 0;
}

int auth_password_check(keel_ctx *ctx, keel_store *st, keel_module_ctx *mc, int64_t user_id,
                        const char *password)
{
    json_t *params = json_pack("[I]", (json_int_t)user_id), *row = NULL;
    const char *email;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, "SELECT email, password_hash FROM auth_users WHERE id = $1", params,
                        &row);
    json_decref(params);
    if (rc == KEEL_ENOTFOUND)
        rc = keel_ctx_error(ctx, KEEL_EUNAUTH, "the user of this token no longer exists");
    if (rc != 0)
        goto out;
    email = json_string_value(json_object_get(row, "email"));
    rc = auth_lockout_check(ctx, st, email);
    if (rc != 0)
        goto out;
    rc = auth_password_matches(ctx, mc, password,
                               json_string_value(json_object_get(row, "password_hash")));
    if (rc == KEEL_EINVAL)
        rc = KEEL_EUNAUTH;
    if (rc == KEEL_EUNAUTH) {
        auth_lockout_fail(ctx, st, mc, email);
        rc = keel_ctx_error(ctx, KEEL_EFORBIDDEN, "wrong password");
    } else if (rc == 0) {
        auth_lockout_reset(ctx, st, email);
    }
out:
    json_decref(row);
    return rc;
}

/* The calling token's id from the principal, 0 when the call has none. */
static int64_t caller_token(const json_t *principal)
{
    const json_t *t = json_object_get(principal, "token_id");
    return json_is_integer(t) ? json_integer_value(t) : 0;
}

static json_t *token_item(const json_t *row, int64_t current)
{
    char created[32], expires[32], err[128];
    json_t *scopes = NULL, *parent = json_object_get(row, "parent_id");
    json_int_t id = json_integer_value(json_object_get(row, "id"));
    const char *name = json_string_value(json_object_get(row, "name"));

    auth_rfc3339(json_integer_value(json_object_get(row, "created_at")), created, sizeof created);
    auth_rfc3339(json_integer_value(json_object_get(row, "expires_at")), expires, sizeof expires);
    if (auth_scopes_parse(json_string_value(json_object_get(row, "scopes")), &scopes, err,
                          sizeof err) != 0)
        scopes = json_array();
    return json_pack("{s:I, s:o, s:o, s:s, s:s, s:o, s:b}", "token_id", id,
                     "name", name ? json_string(name) : json_null(), "scopes", scopes,
                     "created_at", created, "expires_at", expires,
                     "parent_id", json_is_integer(parent) ? json_incref(parent) : json_null(),
                     "current", id == current);
}

int auth_h_list_tokens(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *principal;
    json_t *params = NULL, *rows = NULL, *list = NULL, *v;
    int64_t user_id = 0;
    size_t i;
    int rc = auth_caller(ctx, &principal, &user_id);

    if (rc != 0)
        return rc;
    params = json_pack("[I,I]", (json_int_t)user_id, (json_int_t)auth_now());
    list = json_array();
    if (params == NULL || list == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(keel_ctx_store(ctx),
        "SELECT id, name, scopes, created_at, expires_at, parent_id FROM auth_tokens "
        "WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY id", params, &rows);
    if (rc != 0)
        goto out;
    json_array_foreach(rows, i, v) {
        if (json_array_append_new(list, token_item(v, caller_token(principal))) != 0) {
            rc = KEEL_ENOMEM;
            goto out;
        }
    }
    *out = json_pack("{s:O}", "tokens", list);
    if (*out == NULL)
        rc = KEEL_ENOMEM;
out:
    json_decref(list);
    json_decref(rows);
    json_decref(params);
    return rc;
}

/* Revokes every live token of user_id except keep (0 = none); *n counted. */
static int revoke_user_tokens(keel_store *st, int64_t user_id, int64_t keep, json_int_t *n)
{
    json_t *params = json_pack("[I,I,I]", (json_int_t)auth_now(), (json_int_t)user_id,
                               (json_int_t)keep), *rows = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "UPDATE auth_tokens SET revoked_at = $1 WHERE user_id = $2 "
                             "AND revoked_at IS NULL AND id <> $3 RETURNING id", params, &rows);
    *n = (json_int_t)json_array_size(rows);
    json_decref(rows);
    json_decref(params);
    return rc;
}

int auth_h_revoke_all(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const json_t *principal;
    int64_t user_id = 0;
    json_int_t n = 0;
    int rc = auth_caller(ctx, &principal, &user_id);

    if (rc == 0)
        rc = revoke_user_tokens(keel_ctx_store(ctx), user_id, 0, &n);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I}", "revoked", n);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

struct password_job {
    int64_t     user_id, keep;
    const char *hash;
    json_int_t  revoked;  /* out */
};

static int password_tx(keel_store *st, void *arg)
{
    struct password_job *j = arg;
    json_t *params = json_pack("[s,I]", j->hash, (json_int_t)j->user_id);
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "UPDATE auth_users SET password_hash = $1 WHERE id = $2", params, NULL);
    json_decref(params);
    return rc != 0 ? rc : revoke_user_tokens(st, j->user_id, j->keep, &j->revoked);
}

int auth_h_change_password(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_module_ctx *mc = keel_ctx_module(ctx);
    keel_store *st = keel_ctx_store(ctx);
    const char *old_pw = json_string_value(json_object_get(in, "password"));
    const char *new_pw = json_string_value(json_object_get(in, "new_password"));
    struct password_job j = {0};
    const json_t *principal;
    char *hash = NULL;
    int rc = auth_caller(ctx, &principal, &j.user_id);

    if (rc != 0)
        return rc;
    if (new_pw == NULL || strlen(new_pw) < AUTH_PASSWORD_MIN || strlen(new_pw) > AUTH_PASSWORD_MAX)
        return keel_ctx_error(ctx, KEEL_EINVAL, "new_password: %d to %d characters",
                              AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
    rc = auth_password_check(ctx, st, mc, j.user_id, old_pw);
    if (rc != 0)
        return rc;
    rc = auth_password_new(ctx, mc, new_pw, &hash);
    if (rc != 0)
        return rc;
    j.hash = hash;
    j.keep = caller_token(principal);  /* the session that changed it stays signed in */
    rc = keel_store_tx(st, password_tx, &j);
    free(hash);
    if (rc != 0)
        return rc;
    keel_info(ctx, "auth: user %lld changed their password; %lld other token(s) revoked",
              (long long)j.user_id, (long long)j.revoked);
    *out = json_pack("{s:b, s:I}", "changed", 1, "revoked", j.revoked);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}
