/*
 * auth_throttle.c — login lockout and the per-address rate limit, in auth's
 * own tables (migration 0002): nothing another module's token can reset.
 *
 * Lockout (auth_login_failures): failures are counted per (email, client
 * address), so an attacker guessing from one address cannot lock the owner
 * out of another.  After lockout_failures failures within lockout_s the pair
 * waits lockout_base_s, doubling with every further failure up to
 * lockout_max_s; a login during the wait is answered at once with 429 and
 * Retry-After — the connection is never held.  A success clears the pair.
 *
 * Rate limit (auth_rate): at most rate_per_min login and register calls per
 * client address and minute (0 = off), whatever the emails.
 *
 * Every count is one atomic statement (an INSERT … ON CONFLICT DO UPDATE …
 * RETURNING), so concurrent failures never lose an increment.  Calls with
 * no client address (CLI, in-process) count under the address "".
 */
#include <stdio.h>
#include <string.h>

#include "auth-internal.h"

static const char *addr_of(keel_ctx *ctx)
{
    const char *a = keel_ctx_client_addr(ctx);
    return a != NULL ? a : "";
}

/* KEEL_ELIMIT with retry_after_s on ctx. */
static int limited(keel_ctx *ctx, int64_t wait_s, const char *what)
{
    if (wait_s < 1)
        wait_s = 1;
    keel_ctx_error_field_new(ctx, "retry_after_s", json_integer(wait_s));
    return keel_ctx_error(ctx, KEEL_ELIMIT, "%s; try again in %lld s", what, (long long)wait_s);
}

int auth_rate_hit(keel_ctx *ctx, keel_store *st, keel_module_ctx *mc)
{
    long long limit = keel_config_int(mc, "rate_per_min");
    int64_t now = auth_now(), window = now - now % 60;
    json_t *params, *rows = NULL;
    json_int_t hits;
    int rc;

    if (limit <= 0 || keel_ctx_client_addr(ctx) == NULL)
        return 0;
    params = json_pack("[s,I]", addr_of(ctx), (json_int_t)window);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "INSERT INTO auth_rate (addr, window_start, hits) VALUES ($1, $2, 1) "
                             "ON CONFLICT (addr) DO UPDATE SET hits = CASE WHEN "
                             "auth_rate.window_start = $2 THEN auth_rate.hits + 1 ELSE 1 END, "
                             "window_start = $2 RETURNING hits", params, &rows);
    json_decref(params);
    hits = json_integer_value(json_object_get(json_array_get(rows, 0), "hits"));
    json_decref(rows);
    if (rc != 0)
        return rc;
    if (hits == 1) {  /* a new minute for this address: forget other addresses' old ones */
        params = json_pack("[I]", (json_int_t)window);
        if (params != NULL)
            (void)keel_store_exec(st, "DELETE FROM auth_rate WHERE window_start < $1", params, NULL);
        json_decref(params);
    }
    if (hits > limit)
        return limited(ctx, window + 60 - now, "too many login and register calls from this "
                                               "address");
    return 0;
}

int auth_lockout_check(keel_ctx *ctx, keel_store *st, const char *email)
{
    json_t *params = json_pack("[s,s]", email, addr_of(ctx)), *row = NULL;
    int64_t until, now = auth_now();
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, "SELECT locked_until FROM auth_login_failures WHERE email = $1 "
                            "AND addr = $2", params, &row);
    json_decref(params);
    until = json_integer_value(json_object_get(row, "locked_until"));
    json_decref(row);
    if (rc == KEEL_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (until > now)
        return limited(ctx, until - now, "too many failed logins for this email from this "
                                         "address");
    return 0;
}

struct fail_job {
    keel_module_ctx *mc;
    const char      *email, *addr;
    int64_t          now, wait;  /* wait: out, seconds locked (0 = not locked) */
    json_int_t       failures;   /* out */
};

static int fail_tx(keel_store *st, void *arg)
{
    struct fail_job *j = arg;
    long long free_n = keel_config_int(j->mc, "lockout_failures");
    long long window = keel_config_int(j->mc, "lockout_s");
    long long base = keel_config_int(j->mc, "lockout_base_s");
    long long cap = keel_config_int(j->mc, "lockout_max_s");
    json_t *params = json_pack("[s,s,I,I]", j->email, j->addr, (json_int_t)j->now,
                               (json_int_t)(j->now - window)), *rows = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "INSERT INTO auth_login_failures (email, addr, failures, last_at, "
                             "locked_until) VALUES ($1, $2, 1, $3, 0) ON CONFLICT (email, addr) "
                             "DO UPDATE SET failures = CASE WHEN auth_login_failures.last_at < $4 "
                             "THEN 1 ELSE auth_login_failures.failures + 1 END, last_at = $3 "
                             "RETURNING failures", params, &rows);
    json_decref(params);
    j->failures = json_integer_value(json_object_get(json_array_get(rows, 0), "failures"));
    json_decref(rows);
    if (rc != 0)
        return rc;
    if (j->failures < free_n)
        return 0;
    j->wait = base;
    for (json_int_t k = free_n; k < j->failures && j->wait < cap; k++)
        j->wait *= 2;
    if (j->wait > cap)
        j->wait = cap;
    params = json_pack("[s,s,I]", j->email, j->addr, (json_int_t)j->now + (json_int_t)j->wait);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "UPDATE auth_login_failures SET locked_until = CASE WHEN "
                             "locked_until > $3 THEN locked_until ELSE $3 END "
                             "WHERE email = $1 AND addr = $2", params, NULL);
    json_decref(params);
    return rc;
}

void auth_lockout_fail(keel_ctx *ctx, keel_store *st, keel_module_ctx *mc, const char *email)
{
    struct fail_job j = { .mc = mc, .email = email, .addr = addr_of(ctx), .now = auth_now() };
    json_t *params;
    int rc = keel_store_tx(st, fail_tx, &j);

    if (rc != 0) {
        keel_warn(ctx, "auth: could not count a failed login: %s", keel_strerror(rc));
        return;
    }
    if (j.failures == 1) {  /* keep the table small: pairs quiet for a whole window go */
        params = json_pack("[I,I]", (json_int_t)(j.now - keel_config_int(mc, "lockout_s")),
                           (json_int_t)j.now);
        if (params != NULL)
            (void)keel_store_exec(st, "DELETE FROM auth_login_failures WHERE last_at < $1 "
                                      "AND locked_until < $2", params, NULL);
        json_decref(params);
    }
    if (j.wait > 0)
        keel_warn(ctx, "auth: %s from %s locked for %llds after %lld failed logins", email,
                  j.addr[0] ? j.addr : "(no address)", (long long)j.wait, (long long)j.failures);
}

void auth_lockout_reset(keel_ctx *ctx, keel_store *st, const char *email)
{
    json_t *params = json_pack("[s,s]", email, addr_of(ctx));

    if (params != NULL)
        (void)keel_store_exec(st, "DELETE FROM auth_login_failures WHERE email = $1 AND addr = $2",
                              params, NULL);
    json_decref(params);
}
