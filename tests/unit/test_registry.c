/* test_registry.c — registry checks, start order, lifecycle, placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/runtime-internal.h"

static char events[512];

static void ev(const char *what, keel_module_ctx *mc)
{
    size_t n = strlen(events);
    snprintf(events + n, sizeof(events) - n, "%s:%s ", what, keel_module_name(mc));
}

static int h_init(keel_module_ctx *mc) { ev("init", mc); return 0; }
static int h_start(keel_module_ctx *mc) { ev("start", mc); return 0; }
static void h_stop(keel_module_ctx *mc) { ev("stop", mc); }
static int h_fail(keel_module_ctx *mc) { ev("fail", mc); return KEEL_EIO; }

static const char *const dep_a[] = {"a", NULL};
static const char *const dep_b[] = {"b", NULL};
static const char *const dep_c[] = {"c", NULL};
static const char *const dep_x[] = {"x", NULL};

#define MOD(sym, nm, dp) \
    static const keel_module sym = {.abi = KEEL_ABI, .name = (nm), .deps = (dp), \
        .init = h_init, .start = h_start, .stop = h_stop}

MOD(m_a, "a", NULL);
MOD(m_b_on_a, "b", dep_a);
MOD(m_c_on_b, "c", dep_b);
MOD(m_d, "d", NULL);
MOD(m_a_on_c, "a", dep_c);
MOD(m_b_on_x, "b", dep_x);
static const keel_module m_a_b = {.abi = KEEL_ABI, .name = "a_b"};
static const keel_module m_bad_abi = {.abi = KEEL_ABI + 1, .name = "old"};
static const keel_module m_bad_name = {.abi = KEEL_ABI, .name = "Bad-Name"};
/* names whose storage namespace is the core's (keel_*) or SQLite's (sqlite_*) */
static const keel_module m_keel = {.abi = KEEL_ABI, .name = "keel"};
static const keel_module m_keel_x = {.abi = KEEL_ABI, .name = "keel_x"};
static const keel_module m_sqlite = {.abi = KEEL_ABI, .name = "sqlite"};
static const keel_module m_sqlitex = {.abi = KEEL_ABI, .name = "sqlitex"};
static const keel_module m_kv = {.abi = KEEL_ABI, .name = "kv"};
static const keel_module m_kv_x = {.abi = KEEL_ABI, .name = "kv_x"};
static const keel_module m_fail = {.abi = KEEL_ABI, .name = "f", .deps = dep_a,
    .init = h_init, .start = h_fail, .stop = h_stop};

static keel_runtime *start(const keel_module *const *mods)
{
    keel_runtime *rt;
    char err[512];
    char *env[] = {NULL};
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof(err)), 0);
    assert_int_equal(keel__rt_configure(rt, NULL, env, NULL, err, sizeof(err)), 0);
    return rt;
}

static void test_topological_stable_order(void **state)
{
    /* Listed c, d, b, a: dependencies come first, otherwise list order. */
    const keel_module *mods[] = {&m_c_on_b, &m_d, &m_b_on_a, &m_a, NULL};
    keel_runtime *rt = start(mods);
    char err[512];
    (void)state;
    assert_string_equal(keel_module_name(keel__rt_at(rt, 0)), "d");
    assert_string_equal(keel_module_name(keel__rt_at(rt, 1)), "a");
    assert_string_equal(keel_module_name(keel__rt_at(rt, 2)), "b");
    assert_string_equal(keel_module_name(keel__rt_at(rt, 3)), "c");
    events[0] = '\0';
    assert_int_equal(keel__rt_start(rt, NULL, err, sizeof(err)), 0);
    keel__rt_stop(rt);
    assert_string_equal(events, "init:d init:a init:b init:c start:d start:a start:b start:c "
                                "stop:c stop:b stop:a stop:d ");
    keel__rt_free(rt);
}

static void test_start_only_needed(void **state)
{
    const keel_module *mods[] = {&m_c_on_b, &m_d, &m_b_on_a, &m_a, NULL};
    const char *only[] = {"b", NULL};
    keel_runtime *rt = start(mods);
    char err[512];
    (void)state;
    events[0] = '\0';
    assert_int_equal(keel__rt_start(rt, only, err, sizeof(err)), 0);
    assert_string_equal(events, "init:a init:b start:a start:b ");
    assert_true(keel__mc_started(keel__rt_find(rt, "b")));
    assert_false(keel__mc_started(keel__rt_find(rt, "d")));
    keel__rt_free(rt); /* frees stop too */
}

static void test_refusals(void **state)
{
    keel_runtime *rt = NULL;
    char err[512];
    const keel_module *cycle[] = {&m_a_on_c, &m_b_on_a, &m_c_on_b, NULL};
    const keel_module *unknown[] = {&m_b_on_x, NULL};
    const keel_module *dup[] = {&m_a, &m_a, NULL};
    const keel_module *abi[] = {&m_bad_abi, NULL};
    const keel_module *name[] = {&m_bad_name, NULL};
    const keel_module *prefix[] = {&m_a, &m_a_b, NULL};
    (void)state;

    assert_int_equal(keel__rt_new(cycle, &rt, err, sizeof(err)), KEEL_EDEP);
    assert_null(rt);
    assert_non_null(strstr(err, "cycle"));
    assert_non_null(strstr(err, "a"));
    assert_non_null(strstr(err, "c -> "));

    assert_int_equal(keel__rt_new(unknown, &rt, err, sizeof(err)), KEEL_EDEP);
    assert_non_null(strstr(err, "'b'"));
    assert_non_null(strstr(err, "'x'"));

    assert_int_equal(keel__rt_new(dup, &rt, err, sizeof(err)), KEEL_EDEP);
    assert_non_null(strstr(err, "twice"));

    assert_int_equal(keel__rt_new(abi, &rt, err, sizeof(err)), KEEL_EVERSION);
    assert_non_null(strstr(err, "old"));

    assert_int_equal(keel__rt_new(name, &rt, err, sizeof(err)), KEEL_EDEP);
    assert_non_null(strstr(err, "Bad-Name"));

    assert_int_equal(keel__rt_new(prefix, &rt, err, sizeof(err)), KEEL_EDEP);
    assert_non_null(strstr(err, "namespace"));
}

/* A typo in store_sync stops every command before a store opens. */
static void test_store_sync_checked(void **state)
{
    const keel_module *mods[] = {&m_a, NULL};
    char *bad[] = {"KEEL_STORE_SYNC=fast", NULL}, *good[] = {"KEEL_STORE_SYNC=normal", NULL};
    keel_runtime *rt = NULL;
    char err[512];
    (void)state;
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof(err)), 0);
    assert_int_equal(keel__rt_configure(rt, NULL, bad, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "store_sync=fast"));
    assert_int_equal(keel__rt_configure(rt, NULL, good, NULL, err, sizeof(err)), 0);
    keel__rt_free(rt);
}

static void test_reserved_names(void **state)
{
    const keel_module *const *sets[] = {
        (const keel_module *const[]){&m_keel, NULL},
        (const keel_module *const[]){&m_keel_x, NULL},
        (const keel_module *const[]){&m_sqlite, NULL},
        (const keel_module *const[]){&m_sqlitex, NULL},
        NULL
    };
    const keel_module *kv_pair[] = {&m_kv_x, &m_kv, NULL};
    keel_runtime *rt = NULL;
    char err[512];
    int i;
    (void)state;

    for (i = 0; sets[i] != NULL; i++) {
        err[0] = '\0';
        assert_int_equal(keel__rt_new(sets[i], &rt, err, sizeof(err)), KEEL_EDEP);
        assert_null(rt);
        assert_non_null(strstr(err, sets[i][0]->name));
        assert_non_null(strstr(err, "reserved"));
    }
    /* either order: kv would reach kv_x_* */
    assert_int_equal(keel__rt_new(kv_pair, &rt, err, sizeof(err)), KEEL_EDEP);
    assert_non_null(strstr(err, "'kv' and 'kv_x'"));
}

static void test_failed_start_unwinds(void **state)
{
    const keel_module *mods[] = {&m_a, &m_fail, NULL};
    keel_runtime *rt = start(mods);
    char err[512];
    (void)state;
    events[0] = '\0';
    assert_int_equal(keel__rt_start(rt, NULL, err, sizeof(err)), KEEL_EIO);
    assert_non_null(strstr(err, "'f'"));
    /* a was started and f was initialised: both are stopped, in reverse. */
    assert_string_equal(events, "init:a init:f start:a fail:f stop:f stop:a ");
    keel__rt_free(rt);
}

static void test_placement(void **state)
{
    const keel_module *mods[] = {&m_a, &m_b_on_a, &m_d, NULL};
    keel_runtime *rt;
    char err[512];
    char *env[] = {"KEEL_MODULES_LOCAL=b", "KEEL_REMOTE_A=http://127.0.0.1:1", NULL};
    char *bad[] = {"KEEL_MODULES_LOCAL=b,zz", NULL};
    char *badurl[] = {"KEEL_REMOTE_A=ftp://x", NULL};
    const char *only_d[] = {"d", NULL};
    (void)state;
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof(err)), 0);
    assert_int_equal(keel__rt_configure(rt, NULL, env, NULL, err, sizeof(err)), 0);
    assert_int_equal(keel__mc_placement(keel__rt_find(rt, "a")), KEEL_PLACE_REMOTE);
    assert_string_equal(keel__mc_remote_url(keel__rt_find(rt, "a")), "http://127.0.0.1:1");
    assert_int_equal(keel__mc_placement(keel__rt_find(rt, "b")), KEEL_PLACE_LOCAL);
    assert_int_equal(keel__mc_placement(keel__rt_find(rt, "d")), KEEL_PLACE_NONE);
    /* d runs nowhere: asking for it names the fix. */
    assert_int_equal(keel__rt_start(rt, only_d, err, sizeof(err)), KEEL_EDEP);
    assert_non_null(strstr(err, "KEEL_REMOTE_D"));
    events[0] = '\0';
    assert_int_equal(keel__rt_start(rt, NULL, err, sizeof(err)), 0);
    assert_string_equal(events, "init:b start:b ");
    assert_int_equal(keel__rt_configure(rt, NULL, bad, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "zz"));
    assert_int_equal(keel__rt_configure(rt, NULL, badurl, NULL, err, sizeof(err)), KEEL_ECONFIG);
    keel__rt_free(rt);
}

/* The deps a module declares to CMake (configure refuses a KEEL_MODULES list
 * without them) are exactly its descriptor's deps, in order. */
static void test_cmake_deps_match_descriptors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; keel_builtin_modules[i] != NULL; i++) {
        const keel_module *m = keel_builtin_modules[i];
        char want[512] = "";
        size_t k, len = 0;

        assert_non_null(keel_builtin_cmake_deps[i]);
        for (k = 0; m->deps != NULL && m->deps[k] != NULL; k++)
            len += (size_t)snprintf(want + len, sizeof want - len, "%s%s", k ? "," : "",
                                    m->deps[k]);
        if (strcmp(want, keel_builtin_cmake_deps[i]) != 0)
            fail_msg("module %s: descriptor deps \"%s\" but keel_add_module(... DEPS) says \"%s\" "
                     "(src/modules/%s/CMakeLists.txt)", m->name, want, keel_builtin_cmake_deps[i],
                     m->name);
    }
    assert_null(keel_builtin_cmake_deps[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topological_stable_order),
        cmocka_unit_test(test_start_only_needed),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_reserved_names),
        cmocka_unit_test(test_store_sync_checked),
        cmocka_unit_test(test_failed_start_unwinds),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_cmake_deps_match_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
