/*
 * test_auth_abuse.c — the abuse paths of login and register: lockout per
 * (email, address) with doubling waits, failure counts that lose no
 * increment under concurrency, and the per-address rate limit, all in
 * auth's own tables.
 */
#include "auth_fixture.h"

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


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lockout_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_counts_atomically, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_per_address, setup_rate, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
