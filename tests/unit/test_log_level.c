/* test_log_level.c — the log level per module (docs/observability.md,
 * "Log levels"): KEEL_LOG_LEVEL's grammar and its refusals, a line judged by
 * the level of the module whose call writes it, the run-time change behind
 * admin.set_log_level, and the SIGHUP re-read (config file and _FILE
 * change; the environment does not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/ctx-internal.h"
#include "core/log-internal.h"
#include "core/runtime-internal.h"

static int noop(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    (void)in;
    *out = json_object();
    return 0;
}

static const keel_method methods[] = {{.name = "m", .handler = noop}, {0}};
static const keel_module m_alpha = {.abi = KEEL_ABI, .name = "alpha", .methods = methods};
static const keel_module m_beta = {.abi = KEEL_ABI, .name = "beta", .methods = methods};
static const keel_module *const mods[] = {&m_alpha, &m_beta, NULL};

static void test_spec_grammar(void **state)
{
    keel_log_spec sp;
    char err[256];
    static const char *const bad[] = {
        "loud", "info,warn", "alpha=debug,alpha=info", "Alpha=debug", "=debug", "alpha=",
        "info,", "", "alpha=loud", "al-pha=debug", NULL};
    const char *const *b;
    (void)state;

    assert_int_equal(keel__log_spec_parse("info,compute=debug", &sp, err, sizeof err), 0);
    assert_int_equal(sp.def, KEEL_LOG_INFO);
    assert_int_equal(sp.n, 1);
    assert_string_equal(sp.mods[0].name, "compute");
    assert_int_equal(sp.mods[0].level, KEEL_LOG_DEBUG);
    /* no default item: info; spaces and case of the level word are forgiven */
    assert_int_equal(keel__log_spec_parse(" kv = WARN , compute=off", &sp, err, sizeof err), 0);
    assert_int_equal(sp.def, KEEL_LOG_INFO);
    assert_int_equal(sp.n, 2);
    assert_string_equal(sp.mods[0].name, "kv");
    assert_int_equal(sp.mods[0].level, KEEL_LOG_WARN);
    assert_int_equal(sp.mods[1].level, KEEL_LOG_OFF);
    assert_int_equal(keel__log_spec_parse("error", &sp, err, sizeof err), 0);
    assert_int_equal(sp.def, KEEL_LOG_ERROR);
    assert_int_equal(sp.n, 0);
    for (b = bad; *b != NULL; b++) {
        err[0] = '\0';
        if (keel__log_spec_parse(*b, &sp, err, sizeof err) != KEEL_ECONFIG)
            fail_msg("'%s' accepted", *b);
        assert_true(err[0] != '\0');
    }
}

static int capture(int *saved)
{
    char path[] = "/tmp/keel-test-loglevel-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    *saved = dup(STDERR_FILENO);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    return fd;
}

static const char *release(int fd, int saved)
{
    static char buf[16384];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static keel_runtime *runtime(char **envp, const char *file)
{
    keel_runtime *rt = NULL;
    char err[512];
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof err), 0);
    if (keel__rt_configure(rt, file, envp, NULL, err, sizeof err) != 0)
        fail_msg("configure: %s", err);
    return rt;
}

static void test_line_follows_its_module(void **state)
{
    char *envp[] = {"KEEL_LOG_LEVEL=warn,alpha=debug", NULL};
    keel_runtime *rt = runtime(envp, NULL);
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, "lvl-1", 0);
    json_t *lv = NULL;
    const char *out;
    int saved, fd;
    (void)state;

    keel__log_set_format(1);
    fd = capture(&saved);
    ctx->mc = keel__rt_find(rt, "alpha");
    keel_log(ctx, KEEL_LOG_DEBUG, "A1 alpha debug");
    ctx->mc = keel__rt_find(rt, "beta");
    keel_log(ctx, KEEL_LOG_INFO, "B1 beta info");
    keel_log(ctx, KEEL_LOG_WARN, "B2 beta warn");
    ctx->mc = NULL;
    keel_log(ctx, KEEL_LOG_INFO, "N1 no module info");
    keel_log_module("alpha", KEEL_LOG_DEBUG, "A2 alpha by name");
    keel_log_module("beta", KEEL_LOG_INFO, "B3 beta by name");
    keel_log_module("gamma", KEEL_LOG_WARN, "G1 unknown name: default");

    /* at run time: beta to debug, then back to the default */
    ctx->mc = keel__rt_find(rt, "alpha");  /* the admin method runs as some module */
    assert_int_equal(keel_log_set_level(ctx, "beta", "debug"), 0);
    keel_log_module("beta", KEEL_LOG_DEBUG, "B4 beta debug now");
    assert_int_equal(keel_log_levels(ctx, &lv), 0);
    assert_string_equal(json_string_value(json_object_get(lv, "level")),
                        "warn,alpha=debug,beta=debug");
    assert_string_equal(json_string_value(json_object_get(lv, "default")), "warn");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lv, "modules"), "beta")), "debug");
    json_decref(lv);
    assert_int_equal(keel_log_set_level(ctx, "beta", "default"), 0);
    keel_log_module("beta", KEEL_LOG_INFO, "B5 beta info after default");
    assert_int_equal(keel_log_set_level(ctx, NULL, "error"), 0);
    keel_log_module("beta", KEEL_LOG_WARN, "B6 beta warn under error");
    keel_log_module("alpha", KEEL_LOG_DEBUG, "A3 alpha keeps debug");
    assert_int_equal(keel_log_set_level(ctx, "nosuch", "debug"), KEEL_ENOTFOUND);
    assert_int_equal(keel_log_set_level(ctx, "beta", "loud"), KEEL_EINVAL);
    assert_int_equal(keel_log_set_level(ctx, NULL, "default"), KEEL_EINVAL);
    assert_int_equal(keel_log_levels(ctx, &lv), 0);
    assert_string_equal(json_string_value(json_object_get(lv, "level")), "error,alpha=debug");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lv, "modules"), "beta")), "error");
    json_decref(lv);
    out = release(fd, saved);

    assert_non_null(strstr(out, "A1 alpha debug"));
    assert_null(strstr(out, "B1 beta"));
    assert_non_null(strstr(out, "B2 beta warn"));
    assert_null(strstr(out, "N1 no module"));
    assert_non_null(strstr(out, "A2 alpha by name"));
    assert_null(strstr(out, "B3 beta"));
    assert_non_null(strstr(out, "G1 unknown name"));
    assert_non_null(strstr(out, "B4 beta debug now"));
    assert_null(strstr(out, "B5 beta"));
    assert_null(strstr(out, "B6 beta"));
    assert_non_null(strstr(out, "A3 alpha keeps debug"));
    /* every change is logged, judged by the level before it */
    assert_non_null(strstr(out, "log level: beta=debug by the operator"));
    assert_non_null(strstr(out, "log level: default=error by the operator"));
    keel__ctx_free(ctx);
    keel__rt_free(rt);
    keel__log_set_format(-1);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_reload(void **state)
{
    char dir[] = "/tmp/keel-test-loglevel-XXXXXX", cfg[128], lf[128], err[512];
    char env_lf[160];
    char *envp_file[] = {NULL};
    char *envp_env[] = {"KEEL_LOG_LEVEL=warn", NULL};
    char *envp_lf[] = {env_lf, NULL};
    keel_runtime *rt;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(cfg, sizeof cfg, "%s/keel.json", dir);
    snprintf(lf, sizeof lf, "%s/level", dir);
    snprintf(env_lf, sizeof env_lf, "KEEL_LOG_LEVEL_FILE=%s", lf);

    /* the config file changes: SIGHUP takes the new levels */
    put(cfg, "{\"log_level\": \"info,alpha=debug\"}");
    rt = runtime(envp_file, cfg);
    assert_int_equal(keel__log_level_named("alpha"), KEEL_LOG_DEBUG);
    assert_int_equal(keel__log_level_named("beta"), KEEL_LOG_INFO);
    put(cfg, "{\"log_level\": \"error,beta=debug\"}");
    assert_int_equal(keel__rt_reload_log_level(rt, err, sizeof err), 0);
    assert_int_equal(keel__log_level_named("alpha"), KEEL_LOG_ERROR);
    assert_int_equal(keel__log_level_named("beta"), KEEL_LOG_DEBUG);
    /* a bad value is refused and changes nothing */
    put(cfg, "{\"log_level\": \"info,nosuch=debug\"}");
    assert_int_equal(keel__rt_reload_log_level(rt, err, sizeof err), KEEL_ECONFIG);
    assert_non_null(strstr(err, "nosuch"));
    assert_int_equal(keel__log_level_named("beta"), KEEL_LOG_DEBUG);
    /* a level set at run time lasts until the re-read */
    assert_int_equal(keel__log_set_module_level("alpha", KEEL_LOG_WARN), 0);
    put(cfg, "{\"log_level\": \"info\"}");
    assert_int_equal(keel__rt_reload_log_level(rt, err, sizeof err), 0);
    assert_int_equal(keel__log_level_named("alpha"), KEEL_LOG_INFO);
    assert_int_equal(keel__log_level_named("beta"), KEEL_LOG_INFO);
    keel__rt_free(rt);

    /* the environment outranks the file, and does not change */
    put(cfg, "{\"log_level\": \"debug\"}");
    rt = runtime(envp_env, cfg);
    assert_int_equal(keel__log_default_level(), KEEL_LOG_WARN);
    put(cfg, "{\"log_level\": \"error\"}");
    assert_int_equal(keel__rt_reload_log_level(rt, err, sizeof err), 0);
    assert_int_equal(keel__log_default_level(), KEEL_LOG_WARN);
    keel__rt_free(rt);

    /* KEEL_LOG_LEVEL_FILE: its contents are read again */
    put(lf, "warn,beta=debug\n");
    rt = runtime(envp_lf, NULL);
    assert_int_equal(keel__log_level_named("beta"), KEEL_LOG_DEBUG);
    put(lf, "debug\n");
    assert_int_equal(keel__rt_reload_log_level(rt, err, sizeof err), 0);
    assert_int_equal(keel__log_level_named("alpha"), KEEL_LOG_DEBUG);
    assert_int_equal(keel__log_level_named("beta"), KEEL_LOG_DEBUG);
    assert_int_equal(keel__log_default_level(), KEEL_LOG_DEBUG);
    keel__rt_free(rt);

    unlink(cfg);
    unlink(lf);
    rmdir(dir);
    keel__log_set_level(KEEL_LOG_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_grammar),
        cmocka_unit_test(test_line_follows_its_module),
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
