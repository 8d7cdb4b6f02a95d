/*
 * test_auth_crypto.c — auth's pure pieces, no runtime: argon2id hashing and
 * legacy PBKDF2 verification, token generation, scope rules, the e-mail
 * shape check, and the pinned layout of auth_iface.
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


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_legacy_pbkdf2_verify),
        cmocka_unit_test(test_token_generate),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_email_shape),
        cmocka_unit_test(test_iface_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
