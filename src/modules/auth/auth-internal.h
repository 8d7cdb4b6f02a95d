/*
 * auth-internal.h — the auth module's private pieces, one file per job:
 *   auth_crypto.c    password hashing (argon2id; PBKDF2 verified), tokens, SHA-256
 *   auth_scope.c     scope lists and the grant rule
 *   auth_users.c     register, login, list_users, user rows
 *   auth_tokens.c    token issue / lookup / revoke, check_token, whoami
 *   auth_throttle.c  login lockout per (email, address), rate limit per address
 *   auth_cli.c       `keel auth create-admin`
 *   auth.c           descriptor, config keys, iface and client
 * Used by the module and its unit tests only.
 */
#ifndef AUTH_AUTH_INTERNAL_H
#define AUTH_AUTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "keel/keel.h"

#define AUTH_TOKEN_PREFIX  "kt_"
#define AUTH_TOKEN_BYTES   32      /* 256 random bits */
#define AUTH_TOKEN_MAXLEN  64      /* "kt_" + 43 base64url chars + NUL fits */
#define AUTH_SALT_BYTES    16
#define AUTH_HASH_BYTES    32
#define AUTH_PASSWORD_MIN  8
#define AUTH_PASSWORD_MAX  1024
#define AUTH_EMAIL_MAX     254
/* Held implicitly by every valid token: methods any signed-in user may call
 * (whoami, create_token, revoke_token). */
#define AUTH_SCOPE_SELF    "auth:self"

/* ---- auth.c ---------------------------------------------------------------- */

/* Seconds since the Unix epoch (UTC). */
int64_t auth_now(void);
/* RFC 3339 UTC text of epoch seconds t into buf (>= 21 bytes). */
void auth_rfc3339(int64_t t, char *buf, size_t len);

/* ---- auth_crypto.c --------------------------------------------------------- */

/* argon2id cost: memory in KiB, passes, lanes (threads). */
typedef struct auth_argon2_params {
    uint32_t m_kib, t_cost, lanes;
} auth_argon2_params;

/* Hashes password with argon2id and a fresh 16-byte salt, in the PHC string
 * format.  *out: new malloc'd string (caller frees) or NULL on error.  0,
 * KEEL_EINVAL (bad parameters), KEEL_ENOMEM, KEEL_EINTERNAL. */
int auth_argon2_hash(const char *password, const auth_argon2_params *ap, char **out);

/* 1 when stored is an argon2id hash with exactly the parameters ap (no
 * rehash needed), else 0. */
int auth_password_current(const char *stored, const auth_argon2_params *ap);

/* The legacy format, kept for tests and tools that need an old hash:
 * "pbkdf2_sha256$<iter>$<salt hex>$<hash hex>".  New hashes are argon2id. */
int auth_password_hash(const char *password, long long iterations, char **out);

/* 0 when password matches stored (argon2id or the legacy PBKDF2 format;
 * constant-time compare), KEEL_EUNAUTH when it does not, KEEL_EINVAL when
 * stored is not a hash this module wrote, KEEL_ENOMEM. */
int auth_password_verify(const char *password, const char *stored);

/* Writes a fresh token "kt_<base64url(32 random bytes)>" into buf
 * (len >= AUTH_TOKEN_MAXLEN).  0 or KEEL_EINTERNAL. */
int auth_token_generate(char *buf, size_t len);

/* Lower-case hex SHA-256 of data[0..len) into out (65 bytes with NUL). */
void auth_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- auth_scope.c ---------------------------------------------------------- */

/* 1 if s is a well-formed scope: "admin" or "<module>:read|write". */
int auth_scope_valid(const char *s);

/* 1 if the scope list (JSON array of strings, borrowed) grants needed:
 * "admin" grants all; "<m>:write" implies "<m>:read"; AUTH_SCOPE_SELF is held
 * by everyone; NULL/"" needed = any valid token. */
int auth_scopes_grant(const json_t *scopes, const char *needed);

/* Parses "a,b , c" into a new JSON array (caller frees) of unique, valid
 * scopes.  KEEL_EINVAL with the bad scope in err. */
int auth_scopes_parse(const char *csv, json_t **out, char *err, size_t errlen);

/* Checks a JSON array of scope strings (borrowed) the same way; new copy. */
int auth_scopes_from_json(const json_t *arr, json_t **out, char *err, size_t errlen);

/* "a,b,c" for a JSON array (borrowed); new malloc'd string or NULL (ENOMEM). */
char *auth_scopes_join(const json_t *arr);

/* ---- auth_users.c ---------------------------------------------------------- */

/* 1 if email has a plausible shape (one '@', dotted domain, no blanks). */
int auth_email_valid(const char *email);

/* Creates a user.  scopes: borrowed array.  *user new reference
 * {id,email,scopes,created_at}.  KEEL_EEXIST (email taken), KEEL_E*. */
int auth_user_create(keel_store *st, const char *email, const char *password_hash,
                     const json_t *scopes, json_t **user);

/* Row of auth_users by email (new reference) or KEEL_ENOTFOUND. */
int auth_user_find(keel_store *st, const char *email, json_t **row);

/* Public shape of a user row: {id,email,scopes,created_at}; new reference. */
json_t *auth_user_public(const json_t *row);

int auth_h_register(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_login(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_list_users(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_lookup_user(keel_ctx *ctx, const json_t *in, json_t **out);

/* ---- auth_tokens.c --------------------------------------------------------- */

/* Issues a token for user_id with scopes (borrowed array) expiring at
 * expires_at (epoch s); parent_id: the token it was minted from (revoked
 * with it), 0 = a root.  *out new {token,token_id,expires_at,scopes,name?}:
 * the only place the token text ever appears.  KEEL_E*. */
int auth_token_issue(keel_store *st, int64_t user_id, const json_t *scopes,
                     int64_t expires_at, const char *name, int64_t parent_id, json_t **out);

/* Resolves token (may be NULL) at time now and checks needed scope.
 * *principal new {user_id,email,scopes,token_id}.  KEEL_EUNAUTH (missing,
 * malformed, unknown, expired, revoked), KEEL_EFORBIDDEN (scope missing),
 * KEEL_E* from the store; why (may be NULL) gets a one-line reason. */
int auth_token_check(keel_store *st, const char *token, const char *needed,
                     int64_t now, json_t **principal, char *why, size_t whylen);

/* auth_token_check on the store of self (the auth module) with the reason
 * set on ctx (the caller's): the typed iface's authenticate(). */
int auth_authenticate(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                      const char *scope, json_t **principal);

/* Revokes token_id of user_id (any user's when admin) and every token
 * minted from it.  KEEL_ENOTFOUND. */
int auth_token_revoke(keel_store *st, int64_t token_id, int64_t user_id, int admin);
/* Revokes every live token of user_id. */
int auth_token_revoke_all_of(keel_store *st, int64_t user_id);
/* Revokes token_id and its descendants, whoever owns them; *n (may be
 * NULL) = how many were live. */
int auth_token_revoke_tree(keel_store *st, int64_t token_id, json_int_t *n);

int auth_h_create_token(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_revoke_token(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_whoami(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_check_token(keel_ctx *ctx, const json_t *in, json_t **out);

/* ---- auth_account.c -------------------------------------------------------- */

/* user_id of the calling principal, or KEEL_EUNAUTH on ctx. */
int auth_caller(keel_ctx *ctx, const json_t **principal, int64_t *user_id);
/* The hashing gate (module state): init allocates it, free releases it. */
int  auth_gate_init(keel_module_ctx *mc);
void auth_gate_free(keel_module_ctx *mc);
/* The configured argon2id cost. */
auth_argon2_params auth_argon2_of(keel_module_ctx *mc);
/* A hash of password with argon2id at the configured cost (*hash new
 * malloc'd string), through the gate: KEEL_EUNAVAIL when no turn came
 * before ctx's deadline (ctx may be NULL: 10 s). */
int auth_password_new(keel_ctx *ctx, keel_module_ctx *mc, const char *password, char **hash);
/* auth_password_verify through the gate; stored NULL (no such user) spends
 * the same work and answers KEEL_EUNAUTH. */
int auth_password_matches(keel_ctx *ctx, keel_module_ctx *mc, const char *password,
                          const char *stored);
/* Checks password (may be NULL) of user_id, throttled like a login:
 * 0, KEEL_EFORBIDDEN ("wrong password"), KEEL_ELIMIT, KEEL_E*. */
int auth_password_check(keel_ctx *ctx, keel_store *st, keel_module_ctx *mc, int64_t user_id,
                        const char *password);
int auth_h_list_tokens(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_revoke_all(keel_ctx *ctx, const json_t *in, json_t **out);
int auth_h_change_password(keel_ctx *ctx, const json_t *in, json_t **out);

/* ---- auth_throttle.c ------------------------------------------------------- */

/* Counts one login/register call from the ctx's client address; KEEL_ELIMIT
 * (retry_after_s on ctx) over rate_per_min.  No address (CLI): 0. */
int  auth_rate_hit(keel_ctx *ctx, keel_store *st, keel_module_ctx *mc);
/* KEEL_ELIMIT (retry_after_s on ctx) while (email, client address) is
 * locked, else 0 or a store error. */
int  auth_lockout_check(keel_ctx *ctx, keel_store *st, const char *email);
/* Counts one failed login of email from the client address (atomic). */
void auth_lockout_fail(keel_ctx *ctx, keel_store *st, keel_module_ctx *mc, const char *email);
/* Forgets the failures of email from the client address (successful login). */
void auth_lockout_reset(keel_ctx *ctx, keel_store *st, const char *email);

/* ---- auth_cli.c ------------------------------------------------------------ */

int auth_cli(keel_ctx *ctx, int argc, char **argv);

#endif /* AUTH_AUTH_INTERNAL_H */
