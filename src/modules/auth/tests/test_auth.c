/*
 * test_auth.c — the auth module: hashing, tokens (issue, verify, expiry,
 * revocation), scope rules, the method flow through dispatch, login
 * throttling through kv, and `keel auth create-admin`.
 *
 * Runs a real runtime {kv, auth} on a SQLite file in a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/runtime-internal.h"
#include "fakes/test_runtime.h"
#include "auth/auth.h"
#include "auth/auth-internal.h"
#include "kv/kv.h"

typedef struct keel_test_rt fix;

static int setup(void **state)
{
    static const keel_module *const mods[] = { &keel_module_kv, &keel_module_auth, NULL };
    static const char *const env[] = { "KEEL_AUTH_PBKDF2_ITERATIONS=1000", NULL };
    fix *f = calloc(1, sizeof *f);
    char err[512];

    if (f == NULL || keel_test_rt_start(f, "auth", mods, env, err, sizeof err) != 0)
        fail_msg("runtime: %s", f == NULL ? "out of memory" : err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    keel_test_rt_stop(*state);
    free(*state);
    return 0;
}

/* Calls auth.<method> with input text as principal (JSON text or NULL).
 * *out new ref or NULL; msg (may be NULL) gets the error detail. */
static int call(fix *f, const char *principal, const char *method, const char *input,
                json_t **out, char *msg, size_t msglen)
{
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *in = json_loads(input, 0, NULL);
    int rc;

    assert_non_null(ctx);
    assert_non_null(in);
    if (principal != NULL)
        keel__ctx_set_principal_new(ctx, json_loads(principal, 0, NULL));
    *out = NULL;
    rc = keel__call_root(ctx, "auth", method, in, out);
    if (msg != NULL)
        snprintf(msg, msglen, "%s", keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : "");
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

static void test_password_hash_verify(void **state)
{
    char *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(auth_password_hash("correct horse", 1000, &a), 0);
    assert_int_equal(auth_password_hash("correct horse", 1000, &b), 0);
    assert_non_null(strstr(a, "pbkdf2_sha256$1000$"));
    assert_string_not_equal(a, b);  /* per-user salt */
    assert_int_equal(auth_password_verify("correct horse", a), 0);
    assert_int_equal(auth_password_verify("correct horse", b), 0);
    assert_int_equal(auth_password_verify("correct horsf", a), KEEL_EUNAUTH);
    assert_int_equal(auth_password_verify("", a), KEEL_EUNAUTH);
    assert_int_equal(auth_password_verify("x", "md5$abc"), KEEL_EINVAL);
    assert_int_equal(auth_password_verify("x", "pbkdf2_sha256$0$00$00"), KEEL_EINVAL);
    assert_int_equal(auth_password_verify("x", "pbkdf2_sha256$10$zz$00"), KEEL_EINVAL);
    free(b);
    assert_int_equal(auth_password_hash("x", 0, &b), KEEL_EINVAL);
    assert_null(b);
    free(a);
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
    assert_int_equal(auth_token_issue(st, uid, scopes, auth_now() - 1, "old", &issued), 0);
    assert_int_equal(authn(f, json_string_value(json_object_get(issued, "token")), "riding:read", &p),
                     KEEL_EUNAUTH);
    assert_int_equal(auth_token_check(st, json_string_value(json_object_get(issued, "token")),
                                      "riding:read", auth_now(), &p, msg, sizeof msg), KEEL_EUNAUTH);
    assert_string_equal(msg, "token expired");
    json_decref(issued);

    /* valid, then revoked by its owner */
    assert_int_equal(auth_token_issue(st, uid, scopes, auth_now() + 3600, "ci", &issued), 0);
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

static void test_login_throttle(void **state)
{
    fix *f = *state;
    int i, rc;

    register_user(f, "slow@example.com", "password1");
    for (i = 0; i < 10; i++) {
        login(f, "slow@example.com", "nope-nope", &rc);
        assert_int_equal(rc, KEEL_EUNAUTH);
    }
    login(f, "slow@example.com", "password1", &rc);
    assert_int_equal(rc, KEEL_ELIMIT);   /* locked even with the right password */
    /* another email is not affected; a success clears its count */
    register_user(f, "fast@example.com", "password1");
    for (i = 0; i < 9; i++)
        login(f, "fast@example.com", "nope-nope", &rc);
    login(f, "fast@example.com", "password1", &rc);
    assert_int_equal(rc, 0);
    login(f, "fast@example.com", "nope-nope", &rc);
    assert_int_equal(rc, KEEL_EUNAUTH);
    login(f, "fast@example.com", "password1", &rc);
    assert_int_equal(rc, 0);
}

static void test_create_admin_cli(void **state)
{
    fix *f = *state;
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_CLI, NULL, 0);
    char *argv_bad[] = { "create-admin", "--email", "not-an-email", NULL };
    char *argv_none[] = { "create-admin", NULL };
    char *argv_other[] = { "register", NULL };
    char *argv_ok[] = { "create-admin", "--email", "boss@example.com", "--password=bosspass1", NULL };
    json_t *out = NULL, *want;
    int rc;

    keel__ctx_set_callee(ctx, keel__rt_find(f->rt, "auth"));   /* as `keel auth …` does */
    assert_int_equal(auth_cli(ctx, 1, argv_other), KEEL_CLI_PASS);
    assert_int_equal(auth_cli(ctx, 1, argv_none), 2);
    assert_int_equal(auth_cli(ctx, 3, argv_bad), 3);
    assert_int_equal(auth_cli(ctx, 4, argv_ok), 0);
    /* promoting an existing user keeps working */
    register_user(f, "later@example.com", "password1");
    {
        char *argv_promote[] = { "create-admin", "--email=later@example.com", NULL };
        assert_int_equal(auth_cli(ctx, 2, argv_promote), 0);
    }
    keel__ctx_free(ctx);

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
        cmocka_unit_test(test_token_generate),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_email_shape),
        cmocka_unit_test(test_iface_layout),
        cmocka_unit_test_setup_teardown(test_client_matches_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_login_authenticate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_expiry_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_token_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_throttle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_admin_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
