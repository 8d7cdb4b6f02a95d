/*
 * auth.c — the auth module: descriptor, config keys, typed iface and client.
 *
 * Users, API tokens and scopes (docs/auth.md).  The descriptor sets
 * KEEL_MOD_AUTHN: the HTTP gateway checks every non-public method's bearer
 * token through auth_iface.authenticate — auth_local in this process,
 * auth_client (over keel_call → check_token) when auth is placed elsewhere.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "auth-internal.h"
#include "auth_embedded.h"

/* auth_iface must begin exactly like keel_authn_iface. */
_Static_assert(offsetof(auth_iface, version) == offsetof(keel_authn_iface, version),
               "auth_iface.version");
_Static_assert(offsetof(auth_iface, authenticate) == offsetof(keel_authn_iface, authenticate),
               "auth_iface.authenticate");

int64_t auth_now(void)
{
    return (int64_t)time(NULL);
}

void auth_rfc3339(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* ---- typed iface: local and client ---------------------------------------- */

/* self (auth as placed remotely) is not needed: the call goes by name. */
static int client_authenticate(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                               const char *scope, json_t **principal)
{
    json_t *in;
    int rc;

    (void)self;
    *principal = NULL;
    if (token == NULL || *token == '\0')
        return keel_ctx_error(ctx, KEEL_EUNAUTH, "missing bearer token");
    in = json_pack("{s:s, s:s*}", "token", token, "scope", scope);
    if (in == NULL)
        return KEEL_ENOMEM;
    rc = keel_call(ctx, "auth", "check_token", in, principal);
    json_decref(in);
    return rc;
}

/* The typed entry (counted); auth's own handlers call auth_authenticate. */
static int local_authenticate(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                              const char *scope, json_t **principal)
{
    KEEL_IFACE_COUNT("auth", "authenticate");
    return auth_authenticate(self, ctx, token, scope, principal);
}

const auth_iface auth_local = {
    .version      = AUTH_IFACE_VERSION,
    .authenticate = local_authenticate,
};

const auth_iface auth_client = {
    .version      = AUTH_IFACE_VERSION,
    .authenticate = client_authenticate,
};

/* ---- lifecycle ------------------------------------------------------------- */

static int auth_init(keel_module_ctx *mc)
{
    json_t *scopes = NULL;
    char err[160];

    if (auth_scopes_parse(keel_config_str(mc, "default_scopes"), &scopes, err, sizeof err) != 0) {
        keel_log_module("auth", KEEL_LOG_ERROR, "auth.default_scopes: %s", err);
        return KEEL_ECONFIG;
    }
    json_decref(scopes);
    /* OWASP's argon2id options run from m=47104 KiB, t=1 to m=7168 KiB, t=5:
     * memory × passes of at least 35840 KiB */
    if (keel_config_int(mc, "argon2_memory_kib") * keel_config_int(mc, "argon2_passes") < 35840)
        keel_log_module("auth", KEEL_LOG_WARN,
                        "argon2_memory_kib=%lld × argon2_passes=%lld is below OWASP's minimum "
                        "(19456 KiB × 2): fine for tests, weak in production",
                        keel_config_int(mc, "argon2_memory_kib"),
                        keel_config_int(mc, "argon2_passes"));
    return auth_gate_init(mc);
}

static void auth_stop(keel_module_ctx *mc)
{
    auth_gate_free(mc);
}

static int auth_health(keel_module_ctx *mc, json_t **detail)
{
    json_t *rows = NULL;
    int rc = keel_store_exec(keel_module_store(mc), "SELECT count(*) AS users FROM auth_users",
                             NULL, &rows);

    if (rc == 0)
        *detail = json_deep_copy(json_array_get(rows, 0));
    json_decref(rows);
    return rc;
}

/* ---- descriptor ------------------------------------------------------------ */

static const keel_config_key auth_config[] = {
    { .name = "argon2_memory_kib", .type = KEEL_CFG_INT, .def = "19456", .min = 8,
      .max = 4194304, .help = "argon2id memory per password hash, KiB (OWASP: 19456)" },
    { .name = "argon2_passes", .type = KEEL_CFG_INT, .def = "2", .min = 1, .max = 100,
      .help = "argon2id passes over that memory (OWASP: 2 with 19456 KiB)" },
    { .name = "argon2_lanes", .type = KEEL_CFG_INT, .def = "1", .min = 1, .max = 16,
      .help = "argon2id lanes (threads per hash; OWASP: 1)" },
    { .name = "hash_concurrency", .type = KEEL_CFG_INT, .def = "2", .min = 1, .max = 256,
      .help = "password hashes computed at once (each holds argon2_memory_kib); others wait" },
    { .name = "default_scopes", .type = KEEL_CFG_STRING, .def = "riding:write,compute:read",
      .help = "comma-separated scopes given to newly registered users" },
    { .name = "token_ttl_s", .type = KEEL_CFG_INT, .def = "86400", .min = 60, .max = 31536000,
      .help = "lifetime of login tokens and the default for create_token, seconds" },
    { .name = "max_token_ttl_s", .type = KEEL_CFG_INT, .def = "31536000", .min = 60,
      .max = 315360000, .help = "longest ttl_s create_token accepts, seconds" },
    { .name = "lockout_failures", .type = KEEL_CFG_INT, .def = "5", .min = 1, .max = 1000,
      .help = "failed logins per (email, client address) before each further one waits" },
    { .name = "lockout_s", .type = KEEL_CFG_INT, .def = "900", .min = 1, .max = 604800,
      .help = "failures older than this many seconds are forgotten" },
    { .name = "lockout_base_s", .type = KEEL_CFG_INT, .def = "1", .min = 1, .max = 86400,
      .help = "first wait after lockout_failures failures, seconds; doubles per failure" },
    { .name = "lockout_max_s", .type = KEEL_CFG_INT, .def = "900", .min = 1, .max = 604800,
      .help = "longest wait between failed logins, seconds" },
    { .name = "rate_per_min", .type = KEEL_CFG_INT, .def = "30", .min = 0, .max = 1000000,
      .help = "login and register calls per client address and minute (0 = no limit)" },
    {0}
};

static const keel_method auth_methods[] = {
    { .name = "register", .handler = auth_h_register, .flags = KEEL_PUBLIC | KEEL_BODY_ONLY,
      .summary = "create a user {email,password}; gets default_scopes",
      .in_schema = auth_schema_register_in, .out_schema = auth_schema_register_out },
    { .name = "login", .handler = auth_h_login, .flags = KEEL_PUBLIC | KEEL_BODY_ONLY,
      .summary = "exchange email and password for a bearer token",
      .in_schema = auth_schema_login_in, .out_schema = auth_schema_login_out },
    { .name = "create_token", .handler = auth_h_create_token, .flags = KEEL_BODY_ONLY,
      .scope = AUTH_SCOPE_SELF,
      .summary = "new API token with scopes the caller holds {scopes,ttl_s?,name?}",
      .in_schema = auth_schema_create_token_in, .out_schema = auth_schema_create_token_out },
    { .name = "revoke_token", .handler = auth_h_revoke_token,
      .flags = KEEL_IDEMPOTENT | KEEL_BODY_ONLY,
      .scope = AUTH_SCOPE_SELF, .summary = "revoke one of the caller's tokens {token_id}",
      .in_schema = auth_schema_revoke_token_in, .out_schema = auth_schema_revoke_token_out },
    { .name = "list_tokens", .handler = auth_h_list_tokens,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_BODY_ONLY, .scope = AUTH_SCOPE_SELF,
      .summary = "the caller's live tokens (ids, names, scopes, expiry; never the token)",
      .in_schema = auth_schema_list_tokens_in, .out_schema = auth_schema_list_tokens_out },
    { .name = "revoke_all", .handler = auth_h_revoke_all, .flags = KEEL_IDEMPOTENT | KEEL_BODY_ONLY,
      .scope = AUTH_SCOPE_SELF, .summary = "revoke every token of the caller (sign out everywhere)",
      .in_schema = auth_schema_revoke_all_in, .out_schema = auth_schema_revoke_all_out },
    { .name = "change_password", .handler = auth_h_change_password, .flags = KEEL_BODY_ONLY,
      .scope = AUTH_SCOPE_SELF,
      .summary = "new password {password, new_password}; the user's other tokens are revoked",
      .in_schema = auth_schema_change_password_in, .out_schema = auth_schema_change_password_out },
    { .name = "whoami", .handler = auth_h_whoami,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_BODY_ONLY,
      .scope = AUTH_SCOPE_SELF, .summary = "the calling principal",
      .in_schema = auth_schema_whoami_in, .out_schema = auth_schema_whoami_out },
    { .name = "list_users", .handler = auth_h_list_users,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_ADMIN | KEEL_BODY_ONLY,
      .summary = "users by id (admin)",
      .in_schema = auth_schema_list_users_in, .out_schema = auth_schema_list_users_out },
    { .name = "lookup_user", .handler = auth_h_lookup_user,
      .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_INTERNAL | KEEL_BODY_ONLY,
      .summary = "internal: a user's id by email, or check an id exists {email|user_id}",
      .in_schema = auth_schema_lookup_user_in, .out_schema = auth_schema_lookup_user_out },
    { .name = "check_token", .handler = auth_h_check_token,
      .flags = KEEL_PUBLIC | KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_BODY_ONLY,
      .summary = "resolve {token,scope?} to its principal (for remote gateways)",
      .in_schema = auth_schema_check_token_in, .out_schema = auth_schema_check_token_out },
    {0}
};

const keel_module keel_module_auth = {
    .abi           = KEEL_ABI,
    .name          = "auth",
    .version       = "1.0.0",
    .summary       = "users, API tokens and scopes; checks bearer tokens for the gateway",
    .methods       = auth_methods,
    .migrations    = auth_migrations,
    .config        = auth_config,
    .init          = auth_init,
    .stop          = auth_stop,
    .health        = auth_health,
    .cli           = auth_cli,
    .iface         = &auth_local,
    .iface_version = AUTH_IFACE_VERSION,
    .client        = &auth_client,
    .mflags        = KEEL_MOD_AUTHN,
};
