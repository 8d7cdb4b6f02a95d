/* test_health.c — health priorities (docs/observability.md "Health"): a
 * failing critical module makes the process unready, a failing degraded one
 * leaves it ready and is listed under "degraded"; the descriptor's flag is
 * the default and KEEL_HEALTH_PRIORITY overrides it either way; a bad
 * KEEL_HEALTH_PRIORITY stops the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/runtime-internal.h"

static int crit_down, soft_down;

static int crit_health(keel_module_ctx *mc, json_t **detail)
{
    (void)mc;
    if (crit_down)
        *detail = json_pack("{s:s}", "why", "database unreachable");
    return crit_down ? KEEL_EUNAVAIL : 0;
}

static int soft_health(keel_module_ctx *mc, json_t **detail)
{
    (void)mc;
    (void)detail;
    return soft_down ? KEEL_ETIMEDOUT : 0;
}

static int noop(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    (void)in;
    *out = json_object();
    return 0;
}

static const keel_method methods[] = {{.name = "m", .handler = noop}, {0}};
static const keel_module m_crit = {.abi = KEEL_ABI, .name = "crit", .methods = methods,
                                   .health = crit_health};
static const keel_module m_soft = {.abi = KEEL_ABI, .name = "soft", .methods = methods,
                                   .health = soft_health, .mflags = KEEL_MOD_HEALTH_DEGRADED};
static const keel_module *const mods[] = {&m_crit, &m_soft, NULL};

static keel_runtime *start(const char *priority)
{
    char env[128], err[512];
    char *envp[] = {"KEEL_LOG_LEVEL=error", env, NULL};
    keel_runtime *rt = NULL;
    snprintf(env, sizeof env, "KEEL_HEALTH_PRIORITY=%s", priority);
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof err), 0);
    if (keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0)
        fail_msg("configure: %s", err);
    if (keel__rt_start(rt, NULL, err, sizeof err) != 0)
        fail_msg("start: %s", err);
    return rt;
}

/* /readyz's document with both modules in the given states. */
static json_t *ready(keel_runtime *rt, int crit, int soft, int *ok)
{
    crit_down = crit;
    soft_down = soft;
    return keel__rt_ready(rt, NULL, ok);
}

static const char *str(const json_t *doc, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(doc, a);
    if (b != NULL)
        v = json_object_get(v, b);
    if (c != NULL)
        v = json_object_get(v, c);
    return json_is_string(v) ? json_string_value(v) : "(absent)";
}

static void test_priorities(void **state)
{
    keel_runtime *rt = start("");
    json_t *doc;
    int ok = -1;
    (void)state;

    doc = ready(rt, 0, 0, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(str(doc, "status", NULL, NULL), "ok");
    assert_int_equal(json_array_size(json_object_get(doc, "degraded")), 0);
    assert_string_equal(str(doc, "modules", "crit", "priority"), "critical");
    assert_string_equal(str(doc, "modules", "soft", "priority"), "degraded");
    json_decref(doc);

    /* the degraded module down: still ready, named */
    doc = ready(rt, 0, 1, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(str(doc, "status", NULL, NULL), "degraded");
    assert_string_equal(str(doc, "modules", "soft", "status"), "timeout");
    assert_int_equal(json_array_size(json_object_get(doc, "degraded")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "degraded"), 0)),
                        "soft");
    json_decref(doc);

    /* the critical one down: unready, with its detail */
    doc = ready(rt, 1, 0, &ok);
    assert_int_equal(ok, 0);
    assert_string_equal(str(doc, "status", NULL, NULL), "unavailable");
    assert_string_equal(str(doc, "modules", "crit", "status"), "unavailable");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            json_object_get(doc, "modules"), "crit"), "detail"), "why")),
                        "database unreachable");
    json_decref(doc);
    doc = ready(rt, 1, 1, &ok);
    assert_int_equal(ok, 0);
    assert_string_equal(str(doc, "status", NULL, NULL), "unavailable");
    assert_int_equal(json_array_size(json_object_get(doc, "degraded")), 1);
    json_decref(doc);
    keel__rt_stop(rt);
    keel__rt_free(rt);
}

static void test_operator_override(void **state)
{
    keel_runtime *rt = start("crit=degraded, soft = critical");
    json_t *doc;
    int ok = -1;
    (void)state;

    doc = ready(rt, 1, 0, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(str(doc, "status", NULL, NULL), "degraded");
    assert_string_equal(str(doc, "modules", "crit", "priority"), "degraded");
    json_decref(doc);
    doc = ready(rt, 0, 1, &ok);
    assert_int_equal(ok, 0);
    assert_string_equal(str(doc, "modules", "soft", "priority"), "critical");
    json_decref(doc);
    keel__rt_stop(rt);
    keel__rt_free(rt);
    crit_down = soft_down = 0;
}

static void test_bad_priority(void **state)
{
    static const char *const bad[] = {"crit", "crit=low", "nosuch=degraded", "=degraded",
                                      "crit=degraded,soft", NULL};
    const char *const *b;
    (void)state;
    for (b = bad; *b != NULL; b++) {
        char env[128], err[512] = "";
        char *envp[] = {"KEEL_LOG_LEVEL=error", env, NULL};
        keel_runtime *rt = NULL;
        snprintf(env, sizeof env, "KEEL_HEALTH_PRIORITY=%s", *b);
        assert_int_equal(keel__rt_new(mods, &rt, err, sizeof err), 0);
        if (keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != KEEL_ECONFIG)
            fail_msg("'%s' accepted", *b);
        assert_non_null(strstr(err, "health_priority"));
        keel__rt_free(rt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_operator_override),
        cmocka_unit_test(test_bad_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
