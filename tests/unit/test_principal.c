/* test_principal.c — the principal between keel processes: the service
 * token match, the forwarded principal's shape, trusted proxies and the
 * client address, and the principal helpers modules use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/runtime-internal.h"

#define SVC "0123456789abcdef0123456789abcdef-service"

static const keel_module *const no_modules[] = { NULL };

/* A configured runtime (nothing started) with env entries, or NULL + err. */
static keel_runtime *rt_with(const char *const *extra, char *err, size_t errlen)
{
    char *env[8] = { "KEEL_LOG_LEVEL=error" };
    keel_runtime *rt = NULL;
    size_t n = 1;

    for (; extra != NULL && *extra != NULL && n < 7; extra++)
        env[n++] = (char *)*extra;
    env[n] = NULL;
    assert_int_equal(keel__rt_new(no_modules, &rt, err, errlen), 0);
    if (keel__rt_configure(rt, NULL, env, NULL, err, errlen) != 0) {
        keel__rt_free(rt);
        return NULL;
    }
    return rt;
}

static void test_service_token(void **state)
{
    static const char *const env[] = { "KEEL_SERVICE_TOKEN=" SVC, NULL };
    char err[256];
    keel_runtime *rt = rt_with(env, err, sizeof err);

    (void)state;
    assert_non_null(rt);
    assert_true(keel__service_token_ok(rt, SVC));
    assert_false(keel__service_token_ok(rt, SVC "x"));                 /* longer */
    assert_false(keel__service_token_ok(rt, "0123456789abcdef"));      /* a prefix */
    assert_false(keel__service_token_ok(rt, "1123456789abcdef0123456789abcdef-service"));
    assert_false(keel__service_token_ok(rt, ""));
    assert_false(keel__service_token_ok(rt, NULL));
    assert_string_equal(keel__rt_service_token(rt), SVC);
    keel__rt_free(rt);

    /* none configured: nothing matches, not even the empty string */
    rt = rt_with(NULL, err, sizeof err);
    assert_non_null(rt);
    assert_false(keel__service_token_ok(rt, ""));
    assert_false(keel__service_token_ok(rt, SVC));
    assert_null(keel__rt_service_token(rt));
    keel__rt_free(rt);
}

static void test_service_token_too_short(void **state)
{
    static const char *const env[] = { "KEEL_SERVICE_TOKEN=secret", NULL };
    char err[256] = "";

    (void)state;
    assert_null(rt_with(env, err, sizeof err));
    assert_non_null(strstr(err, "at least 32"));
}

static void test_principal_parse(void **state)
{
    static const char *const bad[] = {
        "not json", "[]", "{}", "{\"user_id\":1}",                       /* no scopes */
        "{\"user_id\":0,\"scopes\":[]}", "{\"user_id\":\"1\",\"scopes\":[]}",
        "{\"user_id\":-4,\"scopes\":[]}", "{\"scopes\":[\"admin\"]}",    /* neither */
        "{\"user_id\":1,\"scopes\":[\"admin\\n\"]}", "{\"user_id\":1,\"scopes\":[1]}",
        "{\"user_id\":1,\"scopes\":\"admin\"}",
        "{\"operator\":true,\"user_id\":3,\"scopes\":[\"admin\"]}",
        "{\"user_id\":1,\"user_id\":2,\"scopes\":[]}",                   /* duplicate key */
        NULL
    };
    json_t *p = NULL;
    char *big;
    size_t i;

    (void)state;
    assert_int_equal(keel__principal_parse(
        "{\"user_id\":7,\"email\":\"a@b.c\",\"scopes\":[\"riding:write\"],\"token_id\":3}", &p), 0);
    assert_int_equal(json_integer_value(json_object_get(p, "user_id")), 7);
    json_decref(p);
    assert_int_equal(keel__principal_parse("{\"operator\":true,\"scopes\":[\"admin\"]}", &p), 0);
    assert_true(json_is_true(json_object_get(p, "operator")));
    json_decref(p);
    assert_int_equal(keel__principal_parse(NULL, &p), 0);
    assert_null(p);
    assert_int_equal(keel__principal_parse("", &p), 0);
    assert_null(p);
    for (i = 0; bad[i] != NULL; i++) {
        p = (json_t *)1;
        if (keel__principal_parse(bad[i], &p) != KEEL_EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_null(p);
    }
    big = malloc(KEEL_PRINCIPAL_MAX + 64);
    assert_non_null(big);
    memset(big, ' ', KEEL_PRINCIPAL_MAX + 63);
    memcpy(big, "{\"user_id\":1,\"scopes\":[]}", 25);
    big[KEEL_PRINCIPAL_MAX + 63] = '\0';
    assert_int_equal(keel__principal_parse(big, &p), KEEL_EINVAL);
    free(big);
}

static void test_client_addr(void **state)
{
    static const char *const env[] = { "KEEL_TRUSTED_PROXIES=10.1.0.0/16, 192.0.2.7 ,fd00::/8",
                                       NULL };
    char err[256], out[64];
    keel_runtime *rt = rt_with(env, err, sizeof err);

    (void)state;
    assert_non_null(rt);
    /* untrusted peer: its X-Forwarded-For is the client's own word */
    assert_int_equal(keel__client_addr(rt, "203.0.113.5", "1.2.3.4", out, sizeof out), 0);
    assert_string_equal(out, "203.0.113.5");
    /* trusted proxies: the last hop (the one the proxy appended) */
    assert_int_equal(keel__client_addr(rt, "10.1.200.3", "6.6.6.6, 198.51.100.9", out, sizeof out), 1);
    assert_string_equal(out, "198.51.100.9");
    assert_int_equal(keel__client_addr(rt, "192.0.2.7", "198.51.100.10", out, sizeof out), 1);
    assert_string_equal(out, "198.51.100.10");
    assert_int_equal(keel__client_addr(rt, "fd12::1", "2001:db8::5", out, sizeof out), 1);
    assert_string_equal(out, "2001:db8::5");
    /* just outside the block, a neighbour of the single address */
    assert_int_equal(keel__client_addr(rt, "10.2.0.1", "198.51.100.9", out, sizeof out), 0);
    assert_string_equal(out, "10.2.0.1");
    assert_int_equal(keel__client_addr(rt, "192.0.2.8", "198.51.100.9", out, sizeof out), 0);
    /* a trusted proxy with a last hop that is not an address, or none */
    assert_int_equal(keel__client_addr(rt, "10.1.0.1", "1.2.3.4, evil", out, sizeof out), 0);
    assert_string_equal(out, "10.1.0.1");
    assert_int_equal(keel__client_addr(rt, "10.1.0.1", NULL, out, sizeof out), 0);
    assert_string_equal(out, "10.1.0.1");
    keel__rt_free(rt);
}

static void test_proxies_parse(void **state)
{
    static const char *const bad[] = { "10.0.0.0/33", "nope", "10.0.0.1/", "::1/129",
                                       "1.2.3.4/8x", NULL };
    keel_netmask *m = NULL;
    size_t n = 9, i;
    char err[160];

    (void)state;
    assert_int_equal(keel__proxies_parse("", &m, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    free(m);
    assert_int_equal(keel__proxies_parse(" 127.0.0.1 , ::1,10.0.0.0/8", &m, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    free(m);
    for (i = 0; bad[i] != NULL; i++) {
        if (keel__proxies_parse(bad[i], &m, &n, err, sizeof err) != KEEL_ECONFIG)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, "trusted_proxies"));
    }
}

static void test_ctx_helpers(void **state)
{
    char err[256];
    keel_runtime *rt = rt_with(NULL, err, sizeof err);
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);

    (void)state;
    assert_int_equal(keel_ctx_user_id(ctx), 0);      /* nobody */
    assert_int_equal(keel_ctx_is_admin(ctx), 0);
    assert_null(keel_ctx_client_addr(ctx));
    keel__ctx_set_principal_new(ctx, json_pack("{s:I, s:[s]}", "user_id", (json_int_t)42,
                                               "scopes", "riding:write"));
    assert_int_equal(keel_ctx_user_id(ctx), 42);
    assert_int_equal(keel_ctx_is_admin(ctx), 0);
    keel__ctx_set_principal_new(ctx, json_pack("{s:b, s:[s]}", "operator", 1, "scopes", "admin"));
    assert_int_equal(keel_ctx_user_id(ctx), 0);
    assert_int_equal(keel_ctx_is_admin(ctx), 1);
    keel__ctx_set_principal_new(ctx, json_pack("{s:s, s:[s]}", "user_id", "42", "scopes", "x"));
    assert_int_equal(keel_ctx_user_id(ctx), 0);      /* not an integer: no user */
    keel__ctx_set_client(ctx, "198.51.100.9");
    assert_string_equal(keel_ctx_client_addr(ctx), "198.51.100.9");
    keel__ctx_free(ctx);
    keel__rt_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_token),
        cmocka_unit_test(test_service_token_too_short),
        cmocka_unit_test(test_principal_parse),
        cmocka_unit_test(test_client_addr),
        cmocka_unit_test(test_proxies_parse),
        cmocka_unit_test(test_ctx_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
