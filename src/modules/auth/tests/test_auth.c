/*
 * test_auth.c — the auth module through the runtime: register, login and
 * authenticate through dispatch and the typed iface (local and client),
 * token expiry, revocation and trees, scoped tokens, the account methods,
 * legacy hashes rehashed on login, and `keel auth create-admin`.
 * Pure pieces: test_auth_crypto.c; abuse paths: test_auth_abuse.c.
 */
#include "auth_fixture.h"

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
        cmocka_unit_test_setup_teardown(test_client_matches_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_login_authenticate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_expiry_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_token_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_all_and_change_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_rehashes_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_admin_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
