/*
 * test_auth.c — the auth module: hashing, tokens (issue, verify, expiry,
 * revocation), scope rules, the method flow through dispatch, login
 * lockout per (email, address) and the per-address rate limit in auth's
 * own tables, token trees (cascading revocation, lifetimes), the account
 * methods, and `keel auth create-admin`.  Each abuse path of the review
 * that found them has its test here.
 *
 * Runs a real runtime {kv, auth} on a SQLite file in a temp dir (kv only to
 * show that its keyspace no longer touches auth's counters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include "core/runtime-internal.h"
#include "fakes/test_runtime.h"
#include "auth/auth.h"
#include "auth/auth-internal.h"
#include "kv/kv.h"

typedef struct keel_test_rt fix;

/* The client address the next calls come from (NULL = none, as the CLI). */
static const char *g_addr;
/* retry_after_s of the last failed call, 0 if none. */
static json_int_t g_retry;

static int setup_env(void **state, const char *rate)
{
    static const keel_module *const mods[] = { &keel_module_kv, &keel_module_auth, NULL };
    const char *const env[] = { "KEEL_AUTH_ARGON2_MEMORY_KIB=64", "KEEL_AUTH_ARGON2_PASSES=1",
                                "KEEL_AUTH_LOCKOUT_BASE_S=10", rate, NULL };
    fix *f = calloc(1, sizeof *f);
    char err[512];

    if (f == NULL || keel_test_rt_start(f, "auth", mods, env, err, sizeof err) != 0)
        fail_msg("runtime: %s", f == NULL ? "out of memory" : err);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_env(state, "KEEL_AUTH_RATE_PER_MIN=1000");
}

static int setup_rate(void **state)
{
    return setup_env(state, "KEEL_AUTH_RATE_PER_MIN=8");
}

static int teardown(void **state)
{
    keel_test_rt_stop(*state);
    free(*state);
    g_addr = NULL;
    return 0;
}


/* Calls auth.<method> with input text as principal (JSON text or NULL),
 * from g_addr.  *out new ref or NULL; msg (may be NULL) gets the detail. */
static int call(fix *f, const char *principal, const char *method, const char *input,
                json_t **out, char *msg, size_t msglen)
{
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *in = json_loads(input, 0, NULL), *body;
    int rc;

    assert_non_null(ctx);
    assert_non_null(in);
    if (principal != NULL)
        keel__ctx_set_principal_new(ctx, json_loads(principal, 0, NULL));
    keel__ctx_set_client(ctx, g_addr);
    *out = NULL;
    rc = keel__call_root(ctx, "auth", method, in, out);
    if (msg != NULL)
        snprintf(msg, msglen, "%s", keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : "");
    body = rc != 0 ? keel__ctx_error_body(ctx, rc) : NULL;
    g_retry = json_integer_value(json_object_get(json_object_get(body, "error"), "retry_after_s"));
    json_decref(body);
    json_decref(in);
    keel__ctx_free(ctx);
    return rc;
}

/* authenticate through the typed iface, as the gateway does. */
static int authn(fix *f, const char *token, const char *scope, json_t **principal)
{
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_HTTP, NULL, 0);
    keel_module_ctx *self = NULL;
    const auth_iface *a = keel_iface(ctx, "auth", AUTH_IFACE_VERSION, &self);
    int rc;

    assert_non_null(a);
    assert_ptr_equal(a, &auth_local);
    assert_ptr_equal(self, keel__rt_find(f->rt, "auth"));
    rc = a->authenticate(self, ctx, token, scope, principal);
    keel__ctx_free(ctx);
    return rc;
}

static void register_user(fix *f, const char *email, const char *password)
{
    json_t *out = NULL;
    char in[256], msg[256];

    snprintf(in, sizeof in, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    assert_int_equal(call(f, NULL, "register", in, &out, msg, sizeof msg), 0);
    json_decref(out);
}

/* login → token text (static buffer). */
static const char *login(fix *f, const char *email, const char *password, int *rc)
{
    static char token[AUTH_TOKEN_MAXLEN];
    json_t *out = NULL;
    char in[256];

    snprintf(in, sizeof in, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    *rc = call(f, NULL, "login", in, &out, NULL, 0);
    token[0] = '\0';
    if (*rc == 0)
        snprintf(token, sizeof token, "%s", json_string_value(json_object_get(out, "token")));
    json_decref(out);
    return token;
}

/* ---- pure pieces -------------------------------------------------------- */

/* argon2id: the PHC string with its parameters, a fresh salt per hash, and
 * the reference implementation's own test vector (phc-winner-argon2
 * src/test.c: "password", salt "somesalt", m=256, t=2, p=1). */
static void test_password_hash_verify(void **state)
{
    static const char reference[] =
        "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
    auth_argon2_params ap = { .m_kib = 64, .t_cost = 1, .lanes = 1 }, other = ap;
    char *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(auth_argon2_hash("correct horse", &ap, &a), 0);
    assert_int_equal(auth_argon2_hash("correct horse", &ap, &b), 0);
    assert_int_equal(strncmp(a, "$argon2id$v=19$m=64,t=1,p=1$", 28), 0);
    assert_string_not_equal(a, b);  /* per-user salt */
    assert_int_equal(auth_password_verify("correct horse", a), 0);
    assert_int_equal(auth_password_verify("correct horse", b), 0);
    assert_int_equal(auth_password_verify("correct horsf", a), KEEL_EUNAUTH);
    assert_int_equal(auth_password_verify("", a), KEEL_EUNAUTH);
    assert_true(auth_password_current(a, &ap));
    other.t_cost = 2;
    assert_false(auth_password_current(a, &other));  /* a stronger config rehashes */
    assert_int_equal(auth_password_verify("password", reference), 0);
    assert_int_equal(auth_password_verify("passwore", reference), KEEL_EUNAUTH);
    assert_int_equal(auth_password_verify("x", "$argon2id$garbage"), KEEL_EINVAL);
    assert_int_equal(auth_password_verify("x", "plain"), KEEL_EINVAL);
    assert_int_equal(auth_password_verify(NULL, a), KEEL_EINVAL);
    ap.m_kib = 4;  /* below argon2's minimum of 8 KiB per lane */
    free(b);        /* the failing call sets its out-param to NULL: free the old hash first */
    b = NULL;
    assert_int_equal(auth_argon2_hash("x", &ap, &b), KEEL_EINVAL);
    assert_null(b);
    free(a);
    free(b);
}

/* Hashes written before argon2 (PBKDF2-HMAC-SHA256, 1000 iterations here)
 * still verify: the expected value is Python's hashlib.pbkdf2_hmac, not
 * this module's own output. */
static void test_legacy_pbkdf2_verify(void **state)
{
    static const char old[] = "pbkdf2_sha256$1000$000102030405060708090a0b0c0d0e0f$"
                              "c914cc4f06cc6e8f46d157e3a1b5aa7abceebb17bb0444cd4c4ac16ca2ae9864";
    auth_argon2_params ap = { .m_kib = 64, .t_cost = 1, .lanes = 1 };

    (void)state;
    assert_int_equal(auth_password_verify("correct horse", old), 0);
    assert_int_equal(auth_password_verify("correct horsf", old), KEEL_EUNAUTH);
    assert_false(auth_password_current(old, &ap));
    assert_int_equal(auth_password_verify("x", "pbkdf2_sha256$0$00$00"), KEEL_EINVAL);
}

static void test_token_generate(void **state)
{
    char t1[AUTH_TOKEN_MAXLEN], t2[AUTH_TOKEN_MAXLEN], h[65];
    size_t i;

    (void)state;
    assert_int_equal(auth_token_generate(t1, sizeof t1), 0);
    assert_int_equal(auth_token_generate(t2, sizeof t2), 0);
    assert_int_equal(strncmp(t1, "kt_", 3), 0);
    assert_int_equal(strlen(t1), 3 + 43);  /* 256 bits in base64url, no padding */
    for (i = 3; t1[i]; i++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                           t1[i]) != NULL);
    assert_string_not_equal(t1, t2);
    auth_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_scopes(void **state)
{
    json_t *s = NULL;
    char err[160];

    (void)state;
    assert_int_equal(auth_scopes_parse("riding:write, compute:read", &s, err, sizeof err), 0);
    assert_int_equal(json_array_size(s), 2);
    assert_true(auth_scopes_grant(s, "riding:write"));
    assert_true(auth_scopes_grant(s, "riding:read"));    /* write implies read */
    assert_true(auth_scopes_grant(s, "compute:read"));
    assert_false(auth_scopes_grant(s, "compute:write")); /* read does not imply write */
    assert_false(auth_scopes_grant(s, "ridin:read"));
    assert_false(auth_scopes_grant(s, "riding_x:read"));
    assert_false(auth_scopes_grant(s, "admin"));
    assert_true(auth_scopes_grant(s, AUTH_SCOPE_SELF));
    assert_true(auth_scopes_grant(s, NULL));
    json_decref(s);

    assert_int_equal(auth_scopes_parse("admin", &s, err, sizeof err), 0);
    assert_true(auth_scopes_grant(s, "kv:write"));
    assert_true(auth_scopes_grant(s, "anything:read"));
    json_decref(s);

    assert_int_equal(auth_scopes_parse("riding:write,,riding:write", &s, err, sizeof err), 0);
    assert_int_equal(json_array_size(s), 1);  /* duplicates and empties dropped */
    json_decref(s);
    assert_int_equal(auth_scopes_parse("riding:delete", &s, err, sizeof err), KEEL_EINVAL);
    assert_non_null(strstr(err, "riding:delete"));
    assert_null(s);
    assert_int_equal(auth_scopes_parse("Riding:read", &s, err, sizeof err), KEEL_EINVAL);
    assert_int_equal(auth_scopes_parse(":read", &s, err, sizeof err), KEEL_EINVAL);
    assert_false(auth_scope_valid("superuser"));
    assert_true(auth_scope_valid("compute:read"));
}

static void test_email_shape(void **state)
{
    (void)state;
    assert_true(auth_email_valid("a@b.co"));
    assert_true(auth_email_valid("first.last+tag@example.org"));
    assert_false(auth_email_valid("nobody"));
    assert_false(auth_email_valid("@b.co"));
    assert_false(auth_email_valid("a@b"));
    assert_false(auth_email_valid("a@@b.co"));
    assert_false(auth_email_valid("a b@c.co"));
    assert_false(auth_email_valid("a@b..co"));
    assert_false(auth_email_valid("a@b.co."));
}

/* auth_iface is keel_authn_iface plus appended members: pin the layout. */
static void test_iface_layout(void **state)
{
    (void)state;
    assert_int_equal(offsetof(auth_iface, version), 0);
    assert_int_equal(offsetof(auth_iface, authenticate), offsetof(keel_authn_iface, authenticate));
    assert_int_equal(offsetof(auth_iface, authenticate), sizeof(void *));
    assert_int_equal(auth_local.version, AUTH_IFACE_VERSION);
    assert_int_equal(auth_client.version, AUTH_IFACE_VERSION);
    assert_int_equal(keel_module_auth.iface_version, AUTH_IFACE_VERSION);
    assert_true(keel_module_auth.mflags & KEEL_MOD_AUTHN);
}

/* ---- through the runtime ------------------------------------------------ */

static void test_register_login_authenticate(void **state)
{
    fix *f = *state;
    json_t *out = NULL, *p = NULL;
    char msg[256];
    const char *tok;
    int rc;

    assert_int_equal(call(f, NULL, "register", "{\"email\":\"Rider@Example.com\",\"password\":\"hunter22\"}",
                          &out, msg, sizeof msg), 0);
    assert_string_equal(json_string_value(json_object_get(out, "email")), "rider@example.com");
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "scopes"), 0)),
                        "riding:write");
    assert_null(json_object_get(out, "password_hash"));
    json_decref(out);

    assert_int_equal(call(f, NULL, "register", "{\"email\":\"rider@example.com\",\"password\":\"other123\"}",
                          &out, msg, sizeof msg), KEEL_EEXIST);
    assert_int_equal(call(f, NULL, "register", "{\"email\":\"bad-email\",\"password\":\"hunter22\"}",
                          &out, msg, sizeof msg), KEEL_EINVAL);
    assert_non_null(strstr(msg, "email"));
    assert_int_equal(call(f, NULL, "register", "{\"email\":\"x@y.zz\",\"password\":\"short\"}",
                          &out, msg, sizeof msg), KEEL_EINVAL);
    assert_int_equal(call(f, NULL, "register", "{\"email\":\"x@y.zz\"}", &out, msg, sizeof msg),
                     KEEL_EINVAL);

    login(f, "rider@example.com", "wrong-password", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);
    login(f, "nobody@example.com", "hunter22", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);
    tok = login(f, "RIDER@example.com", "hunter22", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(strncmp(tok, "kt_", 3), 0);

    assert_int_equal(authn(f, tok, "riding:write", &p), 0);
    assert_string_equal(json_string_value(json_object_get(p, "email")), "rider@example.com");
    assert_true(json_is_integer(json_object_get(p, "user_id")));
    json_decref(p);
    assert_int_equal(authn(f, tok, "riding:read", &p), 0);
    json_decref(p);
    assert_int_equal(authn(f, tok, "compute:read", &p), 0);
    json_decref(p);
    assert_int_equal(authn(f, tok, "kv:read", &p), KEEL_EFORBIDDEN);
    assert_null(p);
    assert_int_equal(authn(f, tok, "admin", &p), KEEL_EFORBIDDEN);
    assert_int_equal(authn(f, NULL, "riding:read", &p), KEEL_EUNAUTH);
    assert_int_equal(authn(f, "kt_not-a-real-token", "riding:read", &p), KEEL_EUNAUTH);
    assert_int_equal(authn(f, "Bearer xyz", "riding:read", &p), KEEL_EUNAUTH);

    /* check_token answers the principal, never secrets */
    {
        char in[160];
        snprintf(in, sizeof in, "{\"token\":\"%s\",\"scope\":\"riding:read\"}", tok);
        assert_int_equal(call(f, NULL, "check_token", in, &out, msg, sizeof msg), 0);
        assert_null(json_object_get(out, "token"));
        assert_null(json_object_get(out, "password_hash"));
        assert_string_equal(json_string_value(json_object_get(out, "email")), "rider@example.com");
        json_decref(out);
        snprintf(in, sizeof in, "{\"token\":\"%s\",\"scope\":\"admin\"}", tok);
        assert_int_equal(call(f, NULL, "check_token", in, &out, msg, sizeof msg), KEEL_EFORBIDDEN);
    }
}

/* The client vtable (what a gateway uses when auth is remote) gives the same
 * answers as the local one; here keel_call reaches the local check_token. */
static void test_client_matches_local(void **state)
{
    fix *f = *state;
    keel_ctx *ctx;
    json_t *p = NULL;
    const char *tok;
    int rc;

    register_user(f, "cli@example.com", "password1");
    tok = login(f, "cli@example.com", "password1", &rc);
    assert_int_equal(rc, 0);
    ctx = keel__ctx_new(f->rt, KEEL_TR_HTTP, NULL, 0);
    assert_int_equal(auth_client.authenticate(keel__rt_find(f->rt, "auth"), ctx, tok, "riding:read", &p), 0);
    assert_string_equal(json_string_value(json_object_get(p, "email")), "cli@example.com");
    json_decref(p);
    assert_int_equal(auth_client.authenticate(keel__rt_find(f->rt, "auth"), ctx, tok, NULL, &p), 0);
    json_decref(p);
    assert_int_equal(auth_client.authenticate(keel__rt_find(f->rt, "auth"), ctx, tok, "admin", &p), KEEL_EFORBIDDEN);
    assert_null(p);
    assert_int_equal(auth_client.authenticate(keel__rt_find(f->rt, "auth"), ctx, NULL, "riding:read", &p), KEEL_EUNAUTH);
    assert_int_equal(auth_client.authenticate(keel__rt_find(f->rt, "auth"), ctx, "kt_nope", "riding:read", &p), KEEL_EUNAUTH);
    assert_string_equal(keel_ctx_errmsg(ctx), "unknown token");
    keel__ctx_free(ctx);
}

static void test_token_expiry_and_revoke(void **state)
{
    fix *f = *state;
    keel_store *st = keel_module_store(keel__rt_find(f->rt, "auth"));
    json_t *scopes = json_pack("[s]", "riding:read"), *issued = NULL, *p = NULL, *out = NULL;
    char principal[160], in[64], msg[256];
    json_int_t uid, tid;
    int rc;

    register_user(f, "exp@example.com", "password1");
    login(f, "exp@example.com", "password1", &rc);
    assert_int_equal(rc, 0);
    uid = 1;  /* first user in this fresh database */

    /* expired a second ago */
    assert_int_equal(auth_token_issue(st, uid, scopes, auth_now() - 1, "old", 0, &issued), 0);
    assert_int_equal(authn(f, json_string_value(json_object_get(issued, "token")), "riding:read", &p),
                     KEEL_EUNAUTH);
    assert_int_equal(auth_token_check(st, json_string_value(json_object_get(issued, "token")),
                                      "riding:read", auth_now(), &p, msg, sizeof msg), KEEL_EUNAUTH);
    assert_string_equal(msg, "token expired");
    json_decref(issued);

    /* valid, then revoked by its owner */
    assert_int_equal(auth_token_issue(st, uid, scopes, auth_now() + 3600, "ci", 0, &issued), 0);
    assert_int_equal(authn(f, json_string_value(json_object_get(issued, "token")), "riding:read", &p), 0);
    json_decref(p);
    tid = json_integer_value(json_object_get(issued, "token_id"));
    snprintf(principal, sizeof principal,
             "{\"user_id\":%lld,\"email\":\"exp@example.com\",\"scopes\":[\"riding:write\"]}",
             (long long)uid);
    snprintf(in, sizeof in, "{\"token_id\":%lld}", (long long)tid);
    /* another user cannot revoke it */
    assert_int_equal(call(f, "{\"user_id\":999,\"scopes\":[\"riding:write\"]}", "revoke_token", in,
                          &out, msg, sizeof msg), KEEL_ENOTFOUND);
    assert_int_equal(call(f, principal, "revoke_token", in, &out, msg, sizeof msg), 0);
    json_decref(out);
    assert_int_equal(auth_token_check(st, json_string_value(json_object_get(issued, "token")),
                                      "riding:read", auth_now(), &p, msg, sizeof msg), KEEL_EUNAUTH);
    assert_string_equal(msg, "token revoked");
    /* revoking twice is fine */
    assert_int_equal(call(f, principal, "revoke_token", in, &out, msg, sizeof msg), 0);
    json_decref(out);
    json_decref(issued);
    json_decref(scopes);
}

static void test_create_token_scopes(void **state)
{
    fix *f = *state;
    json_t *out = NULL, *p = NULL;
    char msg[256];
    const char *who = "{\"user_id\":1,\"email\":\"ct@example.com\",\"scopes\":[\"riding:write\",\"compute:read\"]}";

    register_user(f, "ct@example.com", "password1");
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"admin\"]}", &out, msg, sizeof msg),
                     KEEL_EFORBIDDEN);
    assert_non_null(strstr(msg, "admin"));
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:delete\"]}", &out, msg,
                          sizeof msg), KEEL_EINVAL);
    assert_int_equal(call(f, NULL, "create_token", "{\"scopes\":[\"riding:read\"]}", &out, msg,
                          sizeof msg), KEEL_EUNAUTH);
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:read\"],\"ttl_s\":60,\"name\":\"ro\"}",
                          &out, msg, sizeof msg), 0);
    assert_int_equal(authn(f, json_string_value(json_object_get(out, "token")), "riding:read", &p), 0);
    json_decref(p);
    /* a read-only token cannot write even though its user can */
    assert_int_equal(authn(f, json_string_value(json_object_get(out, "token")), "riding:write", &p),
                     KEEL_EFORBIDDEN);
    json_decref(out);
    /* no name: no "name" key (the output schema wants a string when present) */
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"compute:read\"]}", &out, msg,
                          sizeof msg), 0);
    assert_null(json_object_get(out, "name"));
    json_decref(out);
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:read\"],\"ttl_s\":999999999}",
                          &out, msg, sizeof msg), KEEL_EINVAL);
}

/* The principal of a token, as the gateway would set it (JSON text). */
static void principal_of(fix *f, const char *token, char *buf, size_t len)
{
    json_t *p = NULL;
    char *text;

    assert_int_equal(authn(f, token, NULL, &p), 0);
    text = json_dumps(p, JSON_COMPACT);
    snprintf(buf, len, "%s", text);
    free(text);
    json_decref(p);
}

static json_int_t count(fix *f, const char *sql)
{
    json_t *rows = NULL;
    json_int_t n;

    assert_int_equal(keel_store_exec(keel_module_store(keel__rt_find(f->rt, "auth")), sql, NULL,
                                     &rows), 0);
    n = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return n;
}

/* Failures count per (email, address): after lockout_failures (5) the pair
 * waits lockout_base_s (10 here), doubling per further failure, answered at
 * once; the owner logs in from another address meanwhile. */
static void test_lockout_per_address(void **state)
{
    fix *f = *state;
    keel_store *st = keel_module_store(keel__rt_find(f->rt, "auth"));
    int i, rc;

    register_user(f, "slow@example.com", "password1");
    g_addr = "198.51.100.1";                     /* the attacker */
    for (i = 0; i < 5; i++) {
        login(f, "slow@example.com", "nope-nope", &rc);
        assert_int_equal(rc, KEEL_EUNAUTH);
    }
    login(f, "slow@example.com", "password1", &rc);
    assert_int_equal(rc, KEEL_ELIMIT);           /* locked, even with the right password */
    assert_true(g_retry == 10 || g_retry == 9);  /* a second may have ticked */
    login(f, "slow@example.com", "nope-nope", &rc);
    assert_int_equal(rc, KEEL_ELIMIT);           /* answered at once, and not counted */
    assert_int_equal(count(f, "SELECT failures AS n FROM auth_login_failures "
                              "WHERE email = 'slow@example.com'"), 5);
    g_addr = "203.0.113.9";                      /* the owner, elsewhere */
    login(f, "slow@example.com", "password1", &rc);
    assert_int_equal(rc, 0);

    /* the wait doubles: let the first one lapse, fail once more */
    assert_int_equal(keel_store_exec(st, "UPDATE auth_login_failures SET locked_until = 0", NULL,
                                     NULL), 0);
    g_addr = "198.51.100.1";
    login(f, "slow@example.com", "nope-nope", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);
    login(f, "slow@example.com", "password1", &rc);
    assert_int_equal(rc, KEEL_ELIMIT);
    assert_true(g_retry == 20 || g_retry == 19);

    /* kv's keyspace has nothing to do with it any more (a kv:write token
     * used to reset auth:fail:<email>) */
    {
        keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_LOCAL, NULL, 0);
        json_t *in = json_pack("{s:s}", "key", "auth:fail:slow@example.com"), *out = NULL;
        (void)keel__call_root(ctx, "kv", "delete", in, &out);
        json_decref(out);
        json_decref(in);
        keel__ctx_free(ctx);
    }
    login(f, "slow@example.com", "password1", &rc);
    assert_int_equal(rc, KEEL_ELIMIT);
}

/* Failure counts are atomic: concurrent failed logins lose no increment. */
struct fail_thread { fix *f; int n; };

static void *fail_logins(void *arg)
{
    struct fail_thread *t = arg;
    int i, rc;

    for (i = 0; i < t->n; i++)
        login(t->f, "race@example.com", "wrong-password", &rc);
    return NULL;
}

static void test_lockout_counts_atomically(void **state)
{
    fix *f = *state;
    struct fail_thread t = { f, 2 };
    pthread_t th[2];
    int i;

    register_user(f, "race@example.com", "password1");
    g_addr = NULL;  /* in-process caller: address "" */
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fail_logins, &t), 0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(count(f, "SELECT failures AS n FROM auth_login_failures "
                              "WHERE email = 'race@example.com'"), 4);
}

/* At most rate_per_min (8 here) login/register calls per address and minute. */
static void test_rate_limit_per_address(void **state)
{
    fix *f = *state;
    json_t *out = NULL;
    char in[128], msg[256];
    int i, rc;

    /* the window is the wall-clock minute: start well inside one */
    if (auth_now() % 60 > 50)
        sleep((unsigned)(61 - auth_now() % 60));
    g_addr = "192.0.2.50";
    for (i = 0; i < 8; i++) {
        snprintf(in, sizeof in, "{\"email\":\"u%d@example.com\",\"password\":\"password1\"}", i);
        assert_int_equal(call(f, NULL, i % 2 ? "register" : "login", in, &out, msg, sizeof msg),
                         i % 2 ? 0 : KEEL_EUNAUTH);
        json_decref(out);
    }
    assert_int_equal(call(f, NULL, "register", "{\"email\":\"u9@example.com\",\"password\":"
                          "\"password1\"}", &out, msg, sizeof msg), KEEL_ELIMIT);
    assert_true(g_retry >= 1 && g_retry <= 60);
    assert_int_equal(count(f, "SELECT count(*) AS n FROM auth_users WHERE email = 'u9@example.com'"), 0);
    g_addr = "192.0.2.51";  /* another address is not affected */
    login(f, "u1@example.com", "password1", &rc);
    assert_int_equal(rc, 0);
    g_addr = NULL;          /* nor the operator (no address) */
    for (i = 0; i < 10; i++)
        login(f, "u1@example.com", "password1", &rc);
    assert_int_equal(rc, 0);
}

/* A token minted from another is revoked with it; one that outlives its
 * parent needs the password and is then a root. */
static void test_token_tree(void **state)
{
    fix *f = *state;
    json_t *out = NULL, *p = NULL;
    char who[512], child_who[512], msg[256], in[160];
    char child[AUTH_TOKEN_MAXLEN], grand[AUTH_TOKEN_MAXLEN], root[AUTH_TOKEN_MAXLEN];
    const char *tok;
    int rc;

    register_user(f, "tree@example.com", "password1");
    tok = login(f, "tree@example.com", "password1", &rc);   /* 24 h */
    assert_int_equal(rc, 0);
    principal_of(f, tok, who, sizeof who);

    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:read\"],\"ttl_s\":3600}",
                          &out, msg, sizeof msg), 0);
    snprintf(child, sizeof child, "%s", json_string_value(json_object_get(out, "token")));
    json_decref(out);
    principal_of(f, child, child_who, sizeof child_who);
    assert_int_equal(call(f, child_who, "create_token", "{\"scopes\":[\"riding:read\"],"
                          "\"ttl_s\":600}", &out, msg, sizeof msg), 0);
    snprintf(grand, sizeof grand, "%s", json_string_value(json_object_get(out, "token")));
    json_decref(out);

    /* a year from a 24 h login: refused without the password, and with a wrong one */
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:read\"],"
                          "\"ttl_s\":31536000}", &out, msg, sizeof msg), KEEL_EFORBIDDEN);
    assert_non_null(strstr(msg, "password"));
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:read\"],"
                          "\"ttl_s\":604800,\"password\":\"guess-guess\"}", &out, msg, sizeof msg),
                     KEEL_EFORBIDDEN);
    assert_string_equal(msg, "wrong password");
    /* the documented 7-day dashboard token, with the password */
    assert_int_equal(call(f, who, "create_token", "{\"scopes\":[\"riding:read\"],"
                          "\"ttl_s\":604800,\"password\":\"password1\",\"name\":\"dash\"}", &out,
                          msg, sizeof msg), 0);
    snprintf(root, sizeof root, "%s", json_string_value(json_object_get(out, "token")));
    json_decref(out);

    /* list_tokens shows them, the calling one marked, never the token text */
    assert_int_equal(call(f, who, "list_tokens", "{}", &out, msg, sizeof msg), 0);
    assert_int_equal(json_array_size(json_object_get(out, "tokens")), 4);
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(out, "tokens"), 0),
                                             "current")));
    {
        char *text = json_dumps(out, JSON_COMPACT);
        assert_null(strstr(text, "kt_"));
        free(text);
    }
    json_decref(out);

    /* revoke the login token: child and grandchild go, the password-made one stays */
    p = json_loads(who, 0, NULL);
    snprintf(in, sizeof in, "{\"token_id\":%lld}",
             (long long)json_integer_value(json_object_get(p, "token_id")));
    json_decref(p);
    p = NULL;
    assert_int_equal(call(f, who, "revoke_token", in, &out, msg, sizeof msg), 0);
    json_decref(out);
    assert_int_equal(authn(f, tok, NULL, &p), KEEL_EUNAUTH);
    assert_int_equal(authn(f, child, NULL, &p), KEEL_EUNAUTH);
    assert_int_equal(authn(f, grand, NULL, &p), KEEL_EUNAUTH);
    assert_int_equal(authn(f, root, NULL, &p), 0);
    json_decref(p);
}

static void test_revoke_all_and_change_password(void **state)
{
    fix *f = *state;
    json_t *out = NULL, *p = NULL;
    char who[512], msg[256];
    char t1[AUTH_TOKEN_MAXLEN], t2[AUTH_TOKEN_MAXLEN];
    int rc;

    register_user(f, "acct@example.com", "password1");
    snprintf(t1, sizeof t1, "%s", login(f, "acct@example.com", "password1", &rc));
    snprintf(t2, sizeof t2, "%s", login(f, "acct@example.com", "password1", &rc));
    principal_of(f, t1, who, sizeof who);

    assert_int_equal(call(f, who, "change_password", "{\"password\":\"wrong-one\","
                          "\"new_password\":\"password2\"}", &out, msg, sizeof msg), KEEL_EFORBIDDEN);
    assert_int_equal(call(f, who, "change_password", "{\"password\":\"password1\","
                          "\"new_password\":\"short\"}", &out, msg, sizeof msg), KEEL_EINVAL);
    assert_int_equal(call(f, who, "change_password", "{\"password\":\"password1\","
                          "\"new_password\":\"password2\"}", &out, msg, sizeof msg), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "revoked")), 1);  /* t2 */
    json_decref(out);
    assert_int_equal(authn(f, t1, NULL, &p), 0);   /* the session that changed it */
    json_decref(p);
    assert_int_equal(authn(f, t2, NULL, &p), KEEL_EUNAUTH);
    login(f, "acct@example.com", "password1", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);
    login(f, "acct@example.com", "password2", &rc);
    assert_int_equal(rc, 0);

    assert_int_equal(call(f, who, "revoke_all", "{}", &out, msg, sizeof msg), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "revoked")), 2);  /* t1 + the new login */
    json_decref(out);
    assert_int_equal(authn(f, t1, NULL, &p), KEEL_EUNAUTH);
    assert_int_equal(call(f, NULL, "revoke_all", "{}", &out, msg, sizeof msg), KEEL_EUNAUTH);
}

/* A user stored with a PBKDF2 hash logs in with it once; the hash is then
 * argon2id at the configured cost. */
static void test_login_rehashes_legacy(void **state)
{
    fix *f = *state;
    keel_store *st = keel_module_store(keel__rt_find(f->rt, "auth"));
    json_t *scopes = json_pack("[s]", "riding:write"), *user = NULL, *rows = NULL;
    const char *stored;
    int rc;

    assert_int_equal(auth_user_create(st, "old@example.com",
                                      "pbkdf2_sha256$1000$000102030405060708090a0b0c0d0e0f$"
                                      "c914cc4f06cc6e8f46d157e3a1b5aa7abceebb17bb0444cd4c4ac16ca2ae9864",
                                      scopes, &user), 0);
    login(f, "old@example.com", "correct horse", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(keel_store_exec(st, "SELECT password_hash FROM auth_users "
                                         "WHERE email = 'old@example.com'", NULL, &rows), 0);
    stored = json_string_value(json_object_get(json_array_get(rows, 0), "password_hash"));
    assert_int_equal(strncmp(stored, "$argon2id$v=19$m=64,t=1,p=1$", 28), 0);
    assert_int_equal(auth_password_verify("correct horse", stored), 0);
    login(f, "old@example.com", "correct horse", &rc);
    assert_int_equal(rc, 0);
    login(f, "old@example.com", "correct horsf", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);
    json_decref(rows);
    json_decref(user);
    json_decref(scopes);
}

/* create-admin: a new user; an existing one only with --password, which
 * resets the password and revokes every token the account held. */
static void test_create_admin_cli(void **state)
{
    fix *f = *state;
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_CLI, NULL, 0);
    char *argv_bad[] = { "create-admin", "--email", "not-an-email", NULL };
    char *argv_none[] = { "create-admin", NULL };
    char *argv_other[] = { "register", NULL };
    char *argv_ok[] = { "create-admin", "--email", "boss@example.com", "--password=bosspass1", NULL };
    char *argv_squat[] = { "create-admin", "--email=ops@example.com", NULL };
    char *argv_take[] = { "create-admin", "--email=ops@example.com", "--password", "realops-1", NULL };
    json_t *out = NULL, *p = NULL, *want;
    char squat[AUTH_TOKEN_MAXLEN];
    int rc;

    keel__ctx_set_callee(ctx, keel__rt_find(f->rt, "auth"));   /* as `keel auth …` does */
    assert_int_equal(auth_cli(ctx, 1, argv_other), KEEL_CLI_PASS);
    assert_int_equal(auth_cli(ctx, 1, argv_none), 2);
    assert_int_equal(auth_cli(ctx, 3, argv_bad), 3);
    assert_int_equal(auth_cli(ctx, 4, argv_ok), 0);

    /* an attacker registered ops@ first and holds a token */
    register_user(f, "ops@example.com", "attacker1");
    snprintf(squat, sizeof squat, "%s", login(f, "ops@example.com", "attacker1", &rc));
    assert_int_equal(auth_cli(ctx, 2, argv_squat), 2);  /* refused: would keep their password */
    assert_int_equal(authn(f, squat, "admin", &p), KEEL_EFORBIDDEN);  /* and not promoted */
    assert_int_equal(auth_cli(ctx, 4, argv_take), 0);
    keel__ctx_free(ctx);
    assert_int_equal(authn(f, squat, NULL, &p), KEEL_EUNAUTH);  /* their token is revoked */
    login(f, "ops@example.com", "attacker1", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);                          /* their password is gone */
    login(f, "ops@example.com", "realops-1", &rc);
    assert_int_equal(rc, 0);

    login(f, "boss@example.com", "bosspass1", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(call(f, "{\"user_id\":1,\"scopes\":[\"admin\"]}", "list_users", "{}", &out,
                          NULL, 0), 0);
    assert_int_equal(json_array_size(json_object_get(out, "users")), 2);
    assert_true(auth_scopes_grant(json_object_get(json_array_get(json_object_get(out, "users"), 0),
                                                  "scopes"), "admin"));
    want = json_pack("[s,s,s]", "riding:write", "compute:read", "admin");
    assert_true(json_equal(json_object_get(json_array_get(json_object_get(out, "users"), 1), "scopes"),
                           want));
    json_decref(want);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_legacy_pbkdf2_verify),
        cmocka_unit_test(test_token_generate),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_email_shape),
        cmocka_unit_test(test_iface_layout),
        cmocka_unit_test_setup_teardown(test_client_matches_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_login_authenticate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_expiry_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_token_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_counts_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_per_address, setup_rate, teardown),
        cmocka_unit_test_setup_teardown(test_token_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_all_and_change_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_rehashes_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_admin_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
